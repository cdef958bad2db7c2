"""Playbook runs for the reliability tests: started as a process group (so a test can SIGKILL
the whole run), every task result recorded by the `result_recorder` callback, and the
per-host outcome read from those records."""
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
REPO = HERE.parent.parent
CALLBACK_DIR = HERE / "callback_plugins"
PLAYBOOKS = REPO / "playbooks"
OWN_PLAYBOOKS = HERE / "playbooks"
RUN_TIMEOUT_S = 900
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\bException\b.*\n\s+File \"|MODULE FAILURE|AnsibleError: Unexpected")


@dataclass
class Run:
    """One finished ansible-playbook (or ansible-runner) run."""

    command: list
    rc: int
    stdout: str
    stderr: str
    records: list
    seconds: float
    files: dict = field(default_factory=dict)  # extra output files (name -> path) to search for secrets
    timed_out: bool = False  # the harness killed the run after its timeout

    def host_records(self, host):
        return [r for r in self.records if r.get("kind") == "task" and r["host"] == host]

    @property
    def summary(self):
        """Per-host recap counts as the callback saw them ({host: {ok, changed, failures, ...}})."""
        for record in self.records:
            if record.get("kind") == "stats":
                return record["summary"]
        return {}

    @property
    def custom_stats(self):
        for record in self.records:
            if record.get("kind") == "stats":
                return record.get("custom") or {}
        return {}

    def failed(self, host):
        counts = self.summary.get(host, {})
        return bool(counts.get("failures") or counts.get("unreachable"))

    def changed(self, host):
        return self.summary.get(host, {}).get("changed", 0)

    def failures(self, host):
        """The task results that failed the host (ignored and rescued failures excluded by the recap)."""
        return [r for r in self.host_records(host) if r["status"] in ("failed", "item_failed") and not r["ignore_errors"]]

    def results_of(self, host, action_suffix):
        return [r["result"] for r in self.host_records(host) if r["action"].endswith(action_suffix)]

    def text(self):
        return self.stdout + "\n" + self.stderr

    def tracebacks(self):
        return [m.group(0) for m in TRACEBACK.finditer(self.text())]


class PlaybookProcess:
    """A running ansible-playbook; `wait()` gives the Run, `kill()` SIGKILLs its process group."""

    def __init__(self, command, env, record_file, cwd=REPO):
        self.command = command
        self.record_file = Path(record_file)
        self.record_file.unlink(missing_ok=True)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            command, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self, timeout=RUN_TIMEOUT_S):
        timed_out = False
        try:
            stdout, stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            stdout, stderr = self.proc.communicate()
            timed_out = True
        return Run(self.command, self.proc.returncode, stdout, stderr, read_records(self.record_file),
                   time.monotonic() - self.started, files={"records": str(self.record_file)}, timed_out=timed_out)


def read_records(path):
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def recorder_environment(base_env, record_file, extra=None):
    env = dict(base_env)
    env.update({
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
        "ANSIBLE_CALLBACKS_ENABLED": "result_recorder",
        "RESULT_RECORDER_FILE": str(record_file),
    })
    env.update(extra or {})
    return env


class Ansible:
    """Runs playbooks with the result recorder; every run's records land in ``directory``."""

    def __init__(self, directory, base_env, playbook_command):
        """``playbook_command``: the harness's command-line builder (tests/conftest.py)."""
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.base_env = base_env
        self.playbook_command = playbook_command
        self._count = 0

    def start(self, playbook, inventory, env=None, limit=None, forks=None, **options):
        self._count += 1
        record_file = self.directory / f"{self._count:03d}-{Path(str(playbook)).stem}.jsonl"
        args = (["--limit", limit] if limit else []) + (["--forks", str(forks)] if forks else [])
        command = self.playbook_command(playbook, inventory, args=args, **options)
        return PlaybookProcess(command, recorder_environment(self.base_env, record_file, env), record_file)

    def run(self, playbook, inventory, env=None, timeout=RUN_TIMEOUT_S, **options):
        return self.start(playbook, inventory, env=env, **options).wait(timeout)
