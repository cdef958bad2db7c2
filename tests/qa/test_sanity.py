"""`ansible-test sanity` over the whole collection, with no ignore file."""
import subprocess
import sys


def test_ansible_test_sanity_passes_without_ignore_files(repo_root):
    assert not list((repo_root / "tests" / "sanity").glob("ignore-*.txt")), "sanity ignore files hide findings"
    proc = subprocess.run(
        [sys.executable, str(repo_root / "tools" / "run_ansible_test.py"), "sanity", "--python", "3.11", "--local"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-4000:]
