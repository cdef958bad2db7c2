"""The execution-environment definition yields a build context with exact pins and this collection,
while the collection itself only states lower bounds (`ansible-builder create`; no image build here)."""
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from ansible.module_utils.compat.version import LooseVersion


def dev_pins(repo_root):
    pins = {}
    for line in (repo_root / "requirements-dev.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if match:
            pins[match[1].lower()] = match[2]
    return pins


@pytest.fixture(scope="module")
def ee_context(repo_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("ee")
    proc = subprocess.run(
        [sys.executable, str(repo_root / "tools" / "ee_context.py"), str(out)],
        check=False, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out / "context"


def build_arg(containerfile, name):
    return re.search(rf'^ARG {name}="([^"]*)"$', containerfile, re.M)[1]


def test_base_image_is_pinned_to_a_tag_or_digest(ee_context, repo_root):
    definition = yaml.safe_load((repo_root / "extensions" / "ee" / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    base = definition["images"]["base_image"]["name"]
    assert re.fullmatch(r"[a-z0-9.\-]+(/[a-z0-9._\-]+)+(:[A-Za-z0-9._\-]+|@sha256:[0-9a-f]{64})", base), base
    assert not base.endswith(":latest")
    assert build_arg((ee_context / "Containerfile").read_text(), "EE_BASE_IMAGE") == base


def test_ansible_core_and_runner_pinned_to_the_versions_the_tests_use(ee_context, repo_root):
    install_refs = build_arg((ee_context / "Containerfile").read_text(), "ANSIBLE_INSTALL_REFS").split()
    pins = dev_pins(repo_root)
    assert sorted(install_refs) == sorted([f"ansible-core=={pins['ansible-core']}", f"ansible-runner=={pins['ansible-runner']}"])
    pycmd = build_arg((ee_context / "Containerfile").read_text(), "PYCMD")
    assert pycmd == "/usr/bin/python{0}.{1}".format(*sys.version_info[:2]), "the image's Python differs from the tested one"


def test_context_installs_this_collections_tarball(ee_context, repo_root):
    requirements = yaml.safe_load((ee_context / "_build" / "requirements.yml").read_text())
    (entry,) = requirements["collections"]
    assert entry["type"] == "file"
    containerfile = (ee_context / "Containerfile").read_text()
    # The Containerfile copies _build/ to /build before `ansible-galaxy collection install -r requirements.yml`.
    assert "COPY _build /build" in containerfile
    tarball = ee_context / "_build" / entry["name"].removeprefix("/build/")
    with tarfile.open(tarball) as archive:
        manifest = json.load(archive.extractfile("MANIFEST.json"))
        names = set(archive.getnames())
    galaxy = yaml.safe_load((repo_root / "galaxy.yml").read_text())
    assert (manifest["collection_info"]["namespace"], manifest["collection_info"]["name"]) == ("sdwan_ops", "license_sync")
    assert manifest["collection_info"]["version"] == galaxy["version"]
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= names


def test_collection_requirements_reach_the_image_with_lower_bounds_only(installed_collection, repo_root):
    """What ansible-builder's introspection (run inside the image build) reads from our collection."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-builder"), "introspect", "--sanitize", str(installed_collection)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    found = yaml.safe_load(proc.stdout.split("\n", 1)[1])
    ours = "# from collection sdwan_ops.license_sync"
    python = [line.split("#")[0].strip() for line in found["python"] if line.endswith(ours)]
    system = [line.split("#")[0].strip() for line in found["system"] if line.endswith(ours)]
    runtime = [line.strip() for line in (repo_root / "requirements.txt").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert python == runtime and {r.split(">=")[0] for r in python} == {"requests", "jmespath"}
    assert all(re.fullmatch(r"[a-z0-9_\-]+>=[0-9.]+", r) for r in python), "the collection pins exact versions"
    assert any(line.startswith("ca-certificates") for line in system)
    meta = yaml.safe_load((repo_root / "meta" / "execution-environment.yml").read_text())
    assert set(meta["dependencies"]) == {"python", "system"}, "ansible-core/runner pins belong to the EE definition"


def test_tested_ansible_core_satisfies_requires_ansible(repo_root):
    runtime = yaml.safe_load((repo_root / "meta" / "runtime.yml").read_text())
    minimum = runtime["requires_ansible"].removeprefix(">=")
    assert LooseVersion(dev_pins(repo_root)["ansible-core"]) >= LooseVersion(minimum)
