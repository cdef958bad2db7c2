"""The files of a lab directory, shared by the CLI and the lab process."""

import json
import os
from pathlib import Path


class LabDir:
    def __init__(self, path):
        self.root = Path(path).resolve()
        self.lab_json = self.root / "lab.json"
        self.inventory = self.root / "inventory.yml"
        self.control_json = self.root / "control.json"
        self.ca_pem = self.root / "ca.pem"
        self.pki = self.root / "pki"
        self.logs = self.root / "logs"
        self.ssm_logs = self.logs / "ssm"
        self.lab_log = self.logs / "lab.log"
        self.nginx = self.root / "nginx"

    def vmanage_log(self, name):
        return self.logs / name / "vmanage-server.log"

    def create(self):
        for directory in (self.root, self.pki, self.ssm_logs):
            directory.mkdir(parents=True, exist_ok=True)

    def remove_run_files(self):
        """Forget a previous lab: clients must never read the URLs of a lab that is gone."""
        for path in (self.lab_json, self.control_json):
            path.unlink(missing_ok=True)

    def read_json(self, path):
        return json.loads(path.read_text())

    def write_json(self, path, data, private=False):
        write_atomically(path, json.dumps(data, indent=2) + "\n", private)


def write_atomically(path, text, private=False):
    """Readers never see a half-written file; a private one is never readable by others, even briefly."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(descriptor, "w") as output:
        output.write(text)
    os.replace(temporary, path)


def lab_process_alive(pid, lab_dir):
    """True while `pid` is a running (not zombie) process of `lab_dir` (the lab or its nginx).

    Checking the command line guards against a recycled PID; checking the state guards against a
    zombie whose parent (the container's init here) never reaps it.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        words = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    state = stat.rpartition(")")[2].split()[0]
    root = str(lab_dir.root)
    return state not in ("Z", "X") and any(word == root or word.startswith(root + "/") for word in words)
