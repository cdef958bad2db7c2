"""Results of the reliability tests, one JSON file per case, for tools/render_reliability.py.

Layout: tests/output/reliability/<part>/<case>.json. At the end of a session the conftest also
writes tests/output/fault_matrix.json (the fault matrix alone) and tests/output/reliability.json
(every part).
"""
import json
import os
import re
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
OUTPUT = REPO / "tests" / "output" / "reliability"
PARTS = ("fault_matrix", "secrets", "races", "interruptions", "fleet", "hostile_input", "static")


def case_file(part, case):
    return OUTPUT / part / (re.sub(r"[^A-Za-z0-9_.-]+", "_", case) + ".json")


def record(part, case, data):
    """Write (replace) the result of one case; ``data`` must be JSON-serialisable."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}")
    path = case_file(part, case)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dict(data, case=case, recorded=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return path


def forget(part, keep=None, prefix=None):
    """Delete results of ``part`` left by earlier versions of a test: every case not in ``keep``,
    or every case starting with ``prefix``. A test calls this before it records its cases."""
    directory = OUTPUT / part
    for path in directory.glob("*.json") if directory.is_dir() else []:
        name = path.stem
        if (keep is not None and name not in {case_file(part, case).stem for case in keep}) or (prefix and name.startswith(prefix)):
            path.unlink()


def load(output=OUTPUT):
    """{part: [case results sorted by case id]} of what is on disk."""
    loaded = {}
    for part in PARTS:
        directory = Path(output) / part
        files = sorted(directory.glob("*.json")) if directory.is_dir() else []
        loaded[part] = [json.loads(path.read_text()) for path in files]
    return loaded


def write_aggregates(output=OUTPUT):
    """The two aggregate files; written atomically (pytest-xdist workers and the controller all finish a session)."""
    loaded = load(output)
    base = Path(output).parent
    for name, data in (("reliability.json", loaded), ("fault_matrix.json", loaded["fault_matrix"])):
        temporary = base / f".{name}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(temporary, base / name)
