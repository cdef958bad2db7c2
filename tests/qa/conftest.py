"""QA fixtures: the checkout staged as a collection, the built tarball, and tools/ helpers."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import REPO

VENV_BIN = Path(sys.executable).parent


def load_tool(name):
    """Import tools/<name>.py (tools/ is not a package; its scripts import each other as top-level modules)."""
    if str(REPO / "tools") not in sys.path:
        sys.path.append(str(REPO / "tools"))
    spec = importlib.util.spec_from_file_location(f"tools_{name}", REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tool():
    """tools/<name>.py as a module: tool("ee_context").write_context(...)."""
    return load_tool


@pytest.fixture
def staged_collection(tmp_path):
    """A copy of the checkout (files git lists) at <tmp>/collections/ansible_collections/sdwan_ops/license_sync."""
    stage = tmp_path / "collections" / "ansible_collections" / "sdwan_ops" / "license_sync"
    load_tool("run_ansible_test").stage_checkout(stage)
    return stage


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory):
    """The tarball `ansible-galaxy collection build` makes from the checkout."""
    return load_tool("collection_tarball").build_collection(tmp_path_factory.mktemp("dist"))


def install_collection(tarball, collections_path):
    subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--force", str(tarball), "-p", str(collections_path)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    return collections_path


@pytest.fixture
def installed_collection(collection_tarball, tmp_path):
    """A fresh collections path that holds only the installed tarball."""
    return install_collection(collection_tarball, tmp_path / "installed")
