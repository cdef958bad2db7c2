"""Write the execution-environment build context for this checkout (no container engine needed).

Builds the collection tarball, puts it beside a copy of extensions/ee/execution-environment.yml
under the name that definition expects, and runs `ansible-builder create`. `make ee` calls this;
tests/qa/test_execution_environment.py checks what it produces.

Usage: python tools/ee_context.py OUT_DIR      -> OUT_DIR/context/Containerfile + _build/
"""
import shutil
import subprocess
import sys
from pathlib import Path

from collection_tarball import REPO, VENV_BIN, build_collection

EE_SOURCE = REPO / "extensions" / "ee"
TARBALL_NAME = "sdwan_ops-license_sync.tar.gz"


def write_context(out_dir):
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    definition = out_dir / "definition"
    shutil.copytree(EE_SOURCE, definition)
    build_collection(out_dir / "dist").rename(definition / TARBALL_NAME)
    context = out_dir / "context"
    subprocess.run(
        [str(VENV_BIN / "ansible-builder"), "create", "--file", str(definition / "execution-environment.yml"),
         "--context", str(context), "--output-filename", "Containerfile"],
        check=True, capture_output=True, text=True, timeout=300,
    )
    return context


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(write_context(sys.argv[1]) / "Containerfile")
