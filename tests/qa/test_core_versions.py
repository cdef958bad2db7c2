"""The oldest and the newest supported ansible-core, each in its own virtualenv: sanity, the unit tests, and a fix run.

meta/runtime.yml claims ansible-core >= 2.16; the action base (plugins/plugin_utils/_action.py), the filters and
module_utils rely on ansible-core APIs that change between releases. So besides the suite's own ansible-core
(requirements-dev.txt), `make test` runs under 2.16 on Python 3.11 and under the newest release on Python 3.12 (the
machine's pyenv), each pinned in tests/qa/requirements-core-<version>.txt:

- ansible-test sanity (every test) on the collection as that core's ansible-galaxy builds and installs it, that is
  what users install and what certification checks: plugins/, roles/, playbooks/, meta/, docs/, extensions/. The
  checkout's own tests/, tools/ and bench/ are linted by tests/qa/test_sanity.py under the suite's core;
- the unit tests (tests/unit);
- playbooks/fix_license_sync.yml against the lab's `seed` scenario: a fix, then a rerun that changes nothing.

The virtualenvs live in .build/venv-core-<version> and are reused while their inputs (interpreter, pins,
requirements.txt, tests/lab/pyproject.toml) do not change; ansible-test keeps its sanity virtualenvs in
~/.ansible/test/venv, keyed by its own requirements.
"""
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ..conftest import REPO, collection_environment

HERE = Path(__file__).resolve().parent
# (Python, ansible-core): the oldest release the collection supports and the newest release there is.
CORES = [("3.11", "2.16"), ("3.12", "2.21")]
# What tests/unit and tests/integration/test_fix_playbook.py import besides ansible-core, requirements.txt and the
# lab, at the versions requirements-dev.txt pins.
TEST_TOOLS = ("pytest", "pytest-xdist", "xmlschema", "trustme", "aiohttp")
FIX_TESTS = ["tests/integration/test_fix_playbook.py::test_seed_is_fixed_and_synced",
             "tests/integration/test_fix_playbook.py::test_seed_rerun_changes_nothing_and_writes_nothing"]
INSTALL_TIMEOUT_S = 900
RUN_TIMEOUT_S = 900


def core_requirements(core):
    return HERE / f"requirements-core-{core}.txt"


def pinned_core(core):
    """The exact ansible-core version tests/qa/requirements-core-<core>.txt pins."""
    pins = re.findall(r"^ansible-core==([0-9][0-9.]*)\s*$", core_requirements(core).read_text(), re.MULTILINE)
    assert len(pins) == 1, f"{core_requirements(core)} must pin ansible-core exactly once (ansible-core==X.Y.Z)"
    return pins[0]


def suites_core():
    """The ansible-core requirements-dev.txt pins for the suite itself."""
    return re.search(r"^ansible-core==([0-9.]+)\s*$", (REPO / "requirements-dev.txt").read_text(), re.MULTILINE).group(1)


def python_for(version):
    """The interpreter of a Python minor version: pyenv's newest build of it, else pythonX.Y on PATH."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    builds = sorted((path for path in pyenv.glob(f"{version}.*") if (path / "bin" / "python").exists()),
                    key=lambda path: [int(part) for part in path.name.split(".") if part.isdigit()])
    found = str(builds[-1] / "bin" / "python") if builds else shutil.which(f"python{version}")
    if found:
        probe = subprocess.run([found, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=60, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return found
    pytest.fail(f"no working Python {version} on this machine (pyenv's {pyenv}/{version}.* or python{version} on PATH, "
                f"with the venv module): the ansible-core matrix needs it; install it (pyenv install {version})")


def tool_pins():
    """TEST_TOOLS at the exact versions requirements-dev.txt pins."""
    pins = {}
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==\S+$", line.strip())
        if match:
            pins[match.group(1).lower()] = line.strip()
    missing = [tool for tool in TEST_TOOLS if tool.lower() not in pins]
    assert not missing, f"requirements-dev.txt pins none of {missing}"
    return [pins[tool.lower()] for tool in TEST_TOOLS]


def core_venv(python_version, core):
    """.build/venv-core-<core> with the pinned ansible-core, requirements.txt, the test tools and the lab (cached)."""
    venv = REPO / ".build" / f"venv-core-{core}"
    python = os.path.realpath(python_for(python_version))
    requirements = ["-r", str(core_requirements(core)), "-r", str(REPO / "requirements.txt"), *tool_pins(),
                    "-e", str(REPO / "tests" / "lab")]
    inputs = [python, requirements] + [path.read_text() for path in (
        core_requirements(core), REPO / "requirements.txt", REPO / "tests" / "lab" / "pyproject.toml")]
    stamp_text = hashlib.sha256(json.dumps(inputs).encode()).hexdigest()
    stamp = venv / ".installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    # Another pytest session of this checkout may be building the same venv.
    with open(venv.parent / f"venv-core-{core}.lock", "w") as lock:
        wait_for_lock(lock, INSTALL_TIMEOUT_S)
        if stamp.exists() and stamp.read_text() == stamp_text:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=INSTALL_TIMEOUT_S)
        for command in (["install", "-q", *requirements], ["check"]):
            proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", *command],
                                  capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
            assert proc.returncode == 0, f"pip {command[0]} in {venv}:\n" + proc.stdout[-3000:] + proc.stderr[-3000:]
        stamp.write_text(stamp_text)
    return venv


def wait_for_lock(lock, timeout):
    """Take the exclusive lock of ``lock`` within ``timeout`` seconds, or fail saying who may hold it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                pytest.fail(f"{lock.name} stayed locked for {timeout} s: another pytest session of this checkout is "
                            "building that virtualenv, or hangs; end it and run again")
            time.sleep(1)


def run(venv, *command, cwd=REPO, env=None, timeout=RUN_TIMEOUT_S):
    """A command with the core's venv first on PATH and the checkout as sdwan_ops.license_sync."""
    environment = collection_environment({"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                                          "ANSIBLE_PYTHON_INTERPRETER": str(venv / "bin" / "python"), **(env or {})})
    for name in ("PYTHONPATH", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        environment.pop(name, None)
    return subprocess.run(command, capture_output=True, text=True, cwd=str(cwd), env=environment, timeout=timeout,
                          check=False)


def pytest_in(venv, *args):
    return run(venv, str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-o", "addopts=--import-mode=importlib --strict-markers", *args)


@pytest.fixture(scope="class")
def core(request):
    """(Python, venv, ansible-core version) of the test class's PYTHON and CORE."""
    python_version, core_version = request.cls.PYTHON, request.cls.CORE
    venv = core_venv(python_version, core_version)
    proc = run(venv, str(venv / "bin" / "ansible"), "--version")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = re.search(r"\[core ([^\]]+)\]", proc.stdout).group(1)
    assert version == pinned_core(core_version), proc.stdout
    assert re.search(r"python version = %s\.\d+" % re.escape(python_version), proc.stdout), proc.stdout
    return python_version, venv, version


class _CoreChecks:
    """The checks of one (Python, ansible-core); a class per core, so xdist's loadscope runs the cores side by side."""

    PYTHON = CORE = None

    def test_the_unit_tests_pass(self, core):
        _python, venv, version = core
        proc = pytest_in(venv, "-n", "2", "tests/unit")
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        assert proc.returncode == 0 and re.match(r"\d+ passed", last), \
            f"ansible-core {version}:\n" + proc.stdout[-6000:] + proc.stderr[-2000:]

    def test_the_fix_playbook_fixes_and_a_rerun_changes_nothing(self, core):
        _python, venv, version = core
        proc = pytest_in(venv, "-n", "0", *FIX_TESTS)
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        assert proc.returncode == 0 and re.match(r"%d passed" % len(FIX_TESTS), last), \
            f"ansible-core {version}:\n" + proc.stdout[-6000:] + proc.stderr[-2000:]

    def test_ansible_test_sanity_passes_on_the_collection_as_built_and_installed(self, core, tmp_path):
        python_version, venv, version = core
        galaxy = str(venv / "bin" / "ansible-galaxy")
        proc = run(venv, galaxy, "collection", "build", "--force", "--output-path", str(tmp_path / "dist"), timeout=300)
        assert proc.returncode == 0, f"ansible-core {version}: ansible-galaxy collection build:\n" + proc.stdout + proc.stderr
        (tarball,) = (tmp_path / "dist").glob("sdwan_ops-license_sync-*.tar.gz")
        proc = run(venv, galaxy, "collection", "install", "--force", str(tarball), "-p", str(tmp_path / "installed"),
                   timeout=300)
        assert proc.returncode == 0, f"ansible-core {version}: ansible-galaxy collection install:\n" + proc.stdout + proc.stderr
        collection = tmp_path / "installed" / "ansible_collections" / "sdwan_ops" / "license_sync"
        assert (collection / "plugins" / "plugin_utils" / "_action.py").is_file()
        # ansible-test's get-pip bootstrap is fetched from a host this machine cannot reach: tools/run_ansible_test.py's
        # offline stand-in, for the pip version this core's ansible-test pins.
        proc = run(venv, str(venv / "bin" / "python"), "-c",
                   "import sys; sys.path.insert(0, sys.argv[1]); import run_ansible_test; run_ansible_test.install_get_pip_stand_in()",
                   str(REPO / "tools"))
        assert proc.returncode == 0, proc.stderr
        proc = run(venv, str(venv / "bin" / "ansible-test"), "sanity", "--python", python_version, "--local", "--color", "no",
                   cwd=collection, env={"ANSIBLE_TEST_PREFER_PODMAN": "0"})
        assert proc.returncode == 0, f"ansible-core {version}:\n" + proc.stdout[-6000:] + proc.stderr[-3000:]


class TestAnsibleCore216(_CoreChecks):
    """The oldest ansible-core the collection claims (meta/runtime.yml), on Python 3.11."""

    PYTHON, CORE = CORES[0]


class TestAnsibleCore221(_CoreChecks):
    """The newest ansible-core release, on Python 3.12."""

    PYTHON, CORE = CORES[1]


def test_the_matrix_brackets_the_suites_own_core_and_tests_the_claimed_oldest():
    """The oldest core tested is the one meta/runtime.yml's requires_ansible names; the suite's own lies in between."""
    claim = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["requires_ansible"]
    pinned = sorted(Version(pinned_core(core)) for _python, core in CORES)
    assert all(version in SpecifierSet(claim) for version in pinned), (claim, pinned)
    lowest = min(Version(spec.version) for spec in SpecifierSet(claim) if spec.operator in (">=", ">", "=="))
    assert pinned[0].release[:2] == lowest.release[:2], f"requires_ansible {claim}, oldest tested {pinned[0]}"
    own = Version(suites_core())
    assert pinned[0] < own <= pinned[-1], (pinned, own)
