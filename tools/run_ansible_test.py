"""Run ansible-test on a staged copy of this checkout, offline.

ansible-test needs the collection under `.../ansible_collections/<namespace>/<name>`, and it
bootstraps pip in its sanity venvs from a host this machine cannot reach. This script stages
the files git knows about (tracked and untracked-but-not-ignored) into
`.build/ansible-test/ansible_collections/sdwan_ops/license_sync`, puts an offline stand-in for
the get-pip bootstrap into ansible-test's cache, and runs `ansible-test ARGS...` there.

Usage: python tools/run_ansible_test.py sanity --python 3.11 --local [--test NAME]
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGE = REPO / ".build" / "ansible-test" / "ansible_collections" / "sdwan_ops" / "license_sync"

GET_PIP_STAND_IN = '''\
# Offline stand-in for ansible-test's get-pip bootstrap (written by tools/run_ansible_test.py).
import subprocess, sys
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q"] + args)
'''


def pinned_pip_version():
    import ansible_test

    source = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    return re.search(r"pip='([0-9.]+)'", source.read_text()).group(1)


def install_get_pip_stand_in():
    version = pinned_pip_version().replace(".", "_")
    cache = Path.home() / ".ansible" / "test" / "cache" / f"get_pip_{version}.py"
    cache.parent.mkdir(parents=True, exist_ok=True)
    if not cache.exists() or cache.read_text() != GET_PIP_STAND_IN:
        cache.write_text(GET_PIP_STAND_IN)


def stage_checkout(stage=STAGE):
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    if stage.exists():
        shutil.rmtree(stage)
    for relative in filter(None, listed):
        source = REPO / relative
        if not source.is_file():
            continue
        target = stage / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    # Its own git root, so ansible-test lists these files instead of the enclosing checkout's.
    subprocess.run(["git", "init", "-q"], cwd=stage, check=True)


def main(argv):
    install_get_pip_stand_in()
    stage_checkout()
    ansible_test = Path(sys.executable).parent / "ansible-test"
    env = dict(os.environ, ANSIBLE_TEST_PREFER_PODMAN="0")
    return subprocess.call([str(ansible_test), *argv, "--color", "no"], cwd=STAGE, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
