"""Shared test harness: the checkout as `sdwan_ops.license_sync`, the lab, and playbook runs.

Fixtures (see docs/dev/interfaces.md §6):
  lab           factory for labs that live as long as the test
  module_lab    the same, living as long as the test module
  run_playbook  runs ansible-playbook against the checkout and parses the recap
"""
import concurrent.futures
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO / ".build" / "collections"
COLLECTION_LINK = COLLECTIONS_ROOT / "ansible_collections" / "sdwan_ops" / "license_sync"
VENV_BIN = Path(sys.executable).parent
LAB_COMMAND = str(VENV_BIN / "sdwan-lab")
LAB_TIMEOUT_S = 120
PLAYBOOK_TIMEOUT_S = 900


def _link_collection():
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    if not COLLECTION_LINK.is_symlink():
        COLLECTION_LINK.symlink_to(os.path.relpath(REPO, COLLECTION_LINK.parent))


def _install_collection_finder():
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[str(COLLECTIONS_ROOT)])._install()


_link_collection()
_install_collection_finder()


def collection_environment(extra=None):
    """Environment for a child ansible process that uses the checkout as the collection."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_ROOT),
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def collection_env():
    return collection_environment()


class Lab:
    """One running `sdwan-lab` instance in its own directory."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.inventory = directory / "inventory.yml"

    def command(self, *args, check=True):
        proc = subprocess.run(
            [LAB_COMMAND, *args, "--dir", str(self.dir)],
            capture_output=True,
            text=True,
            timeout=LAB_TIMEOUT_S,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"sdwan-lab {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def up(self, scenario, vmanage, release, seed, dialect=None):
        args = ["up", "--scenario", scenario, "--vmanage", str(vmanage)]
        if release:
            args += ["--release", release]
        if seed is not None:
            args += ["--seed", str(seed)]
        if dialect:
            args += ["--dialect", dialect]
        self.command(*args)
        return self

    def down(self):
        self.command("down", check=False)

    @property
    def info(self):
        return json.loads((self.dir / "lab.json").read_text())

    def state(self):
        return json.loads(self.command("state").stdout)

    def fault(self, target, name, clear=False, **options):
        args = ["fault", "--target", target, name]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        if clear:
            args.append("--clear")
        self.command(*args)

    def writes(self, state=None):
        """Write requests per listener ({"ssm": n, "vmanage-001": n, ...}) from `sdwan-lab state`."""
        state = state or self.state()
        counts = {"ssm": state["ssm"].get("writes", 0)}
        for name, vmanage in state["vmanage"].items():
            counts[name] = vmanage.get("writes", 0)
        return counts

    def total_writes(self, state=None):
        return sum(self.writes(state).values())

    def grants(self):
        """Every grant on the lab's SSM On-Prem with its secret, as the lab's operator sees them (the control API: no
        request reaches the products' counters, and it works in the dialect where SSM On-Prem has no grant API)."""
        from sdwan_lab.cli import control
        from sdwan_lab.labdir import LabDir

        return control(LabDir(self.dir), "GET", "/grants")

    def grant_secrets(self):
        """{client_id: client_secret} of every grant on the lab's SSM On-Prem."""
        return {grant["client_id"]: grant["client_secret"] for grant in self.grants()}

    def secrets(self):
        """{value: what it is}: every password of the lab and the client secret of every grant on its SSM On-Prem."""
        info = self.info
        found = {info["ssm"]["admin_password"]: "SSM admin password", info["ssm"]["password"]: "SSM user password"}
        found.update((vmanage["password"], f"{vmanage['name']} password") for vmanage in info["vmanage"])
        found.update((grant["client_secret"], f"client secret of grant {grant['name']}") for grant in self.grants())
        return found


def secret_forms(value):
    """How a secret can appear in text: raw, URL-encoded both ways (the SSM passwords hold '!' and '#'), JSON-escaped."""
    return {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value, safe=""), json.dumps(value)[1:-1]}


def closed_port():
    """A port of 127.0.0.1 that nothing listens on (bound once by the OS, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _LabPool:
    def __init__(self, base: Path):
        self.base = base
        self.labs = []

    def __call__(self, scenario="seed", vmanage=1, release=None, seed=None, dialect=None):
        directory = Path(tempfile.mkdtemp(prefix=f"lab-{scenario}-", dir=self.base))
        lab = Lab(directory)
        self.labs.append(lab)
        return lab.up(scenario, vmanage, release, seed, dialect)

    def many(self, specs):
        """Labs started side by side: ``specs`` is a list of keyword dicts of __call__; returns the labs in order."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda spec: self(**spec), specs))

    def close(self):
        for lab in self.labs:
            lab.down()


@pytest.fixture
def lab(tmp_path):
    pool = _LabPool(tmp_path)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory):
    pool = _LabPool(tmp_path_factory.mktemp("labs"))
    yield pool
    pool.close()


RECAP_LINE = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counts>(?:\w+=\d+\s*)+)$")


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    stats: dict = field(default_factory=dict)

    def changed(self, host=None):
        hosts = [host] if host else list(self.stats)
        return sum(self.stats[h]["changed"] for h in hosts)

    def failed_hosts(self):
        return sorted(h for h, s in self.stats.items() if s["failed"] or s["unreachable"])


def parse_recap(stdout):
    stats = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        match = RECAP_LINE.match(line.strip()) if in_recap else None
        if match:
            stats[match["host"]] = {k: int(v) for k, v in (p.split("=") for p in match["counts"].split())}
    return stats


def playbook_command(playbook, inventory, extra_vars=None, check=False, diff=False, verbosity=0, args=()):
    """The ansible-playbook command line; ``inventory``: one source or a list of sources (later ones win)."""
    sources = inventory if isinstance(inventory, (list, tuple)) else [inventory]
    command = [str(VENV_BIN / "ansible-playbook")]
    for source in sources:
        command += ["-i", str(source)]
    command.append(str(playbook))
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if verbosity:
        command.append("-" + "v" * verbosity)
    return command + list(args)


def run_ansible_playbook(playbook, inventory, extra_vars=None, check=False, diff=False, env=None, verbosity=0, args=()):
    command = playbook_command(playbook, inventory, extra_vars, check, diff, verbosity, args)
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=collection_environment(env),
        cwd=str(REPO),
        timeout=PLAYBOOK_TIMEOUT_S,
        check=False,
    )
    return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, parse_recap(proc.stdout))


@pytest.fixture(scope="session")
def run_playbook():
    return run_ansible_playbook


@pytest.fixture(scope="session")
def ansible_playbook_command():
    """playbook_command(): the ansible-playbook command line the harness runs."""
    return playbook_command


@pytest.fixture(scope="session")
def repo_root():
    return REPO


def require_program(program):
    path = shutil.which(program)
    if not path:
        pytest.fail(f"{program} is not installed; `.ci/run` installs it (apt-get install {program})")
    return path
