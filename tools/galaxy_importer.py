"""Run galaxy-importer (Galaxy's upload checks) on this checkout's tarball, offline, no containers.

galaxy-importer lives in its own venv (requirements-importer.txt, `make galaxy-importer` creates
it) because its pins would hold back the dev venv. It logs most findings as warnings and still
"completes successfully"; here any WARNING or ERROR line fails the run.

Usage: python tools/galaxy_importer.py --importer-python .venv-importer/bin/python OUT_DIR
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from collection_tarball import REPO, build_collection

CONFIG = REPO / "tools" / "galaxy-importer.cfg"
RESULT_FILE = "importer_result.json"


def run_importer(importer_python, out_dir):
    """Returns (returncode, findings, result dict or None, log text, seconds)."""
    out_dir = Path(out_dir).absolute()
    tarball = build_collection(out_dir)
    (out_dir / RESULT_FILE).unlink(missing_ok=True)
    importer_bin = Path(importer_python).parent
    # Offline, ansible-lint caches (and at exit deletes) its mock modules in $ANSIBLE_HOME: keep this run's own.
    env = dict(os.environ, GALAXY_IMPORTER_CONFIG=str(CONFIG), PATH=f"{importer_bin}{os.pathsep}{os.environ['PATH']}",
               ANSIBLE_HOME=str(out_dir / "ansible-home"))
    for variable in ("ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_CONFIG"):
        env.pop(variable, None)
    started = time.monotonic()
    proc = subprocess.run(
        [str(importer_python), "-m", "galaxy_importer.main", str(tarball)],
        cwd=out_dir, env=env, check=False, capture_output=True, text=True, timeout=600,
    )
    seconds = time.monotonic() - started
    log = proc.stdout + proc.stderr
    findings = [line for line in log.splitlines() if line.startswith(("WARNING:", "ERROR:", "CRITICAL:"))]
    result_path = out_dir / RESULT_FILE
    result = json.loads(result_path.read_text()) if result_path.exists() else None
    return proc.returncode, findings, result, log, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--importer-python", required=True)
    parser.add_argument("out_dir")
    args = parser.parse_args()
    returncode, findings, result, log, seconds = run_importer(Path(args.importer_python).absolute(), args.out_dir)
    if returncode != 0 or findings or result is None:
        print(log)
        print(f"galaxy-importer: FAILED (rc={returncode}, {len(findings)} finding(s)) in {seconds:.1f} s")
        return 1
    contents = sorted(f"{c['content_type']}:{c['name']}" for c in result["contents"])
    print(f"galaxy-importer: passed in {seconds:.1f} s; {len(contents)} content items: {', '.join(contents)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
