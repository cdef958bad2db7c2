"""Build the collection tarball from this checkout (`ansible-galaxy collection build`).

Shared by tools/ee_context.py, tools/galaxy_importer.py and the QA tests.
"""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def build_collection(output_dir):
    """Build into output_dir (created if needed); returns the tarball's path."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for old in output_dir.glob("sdwan_ops-license_sync-*.tar.gz"):
        old.unlink()
    subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(output_dir)],
        cwd=REPO, check=True, capture_output=True, text=True, timeout=300,
    )
    (tarball,) = output_dir.glob("sdwan_ops-license_sync-*.tar.gz")
    return tarball
