"""What Galaxy users get: the built tarball holds the collection and nothing else, installs into a
clean collections path, runs the fix playbook by FQCN, and passes galaxy-importer."""
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

VENV_BIN = Path(sys.executable).parent
# Development files that must never reach users (galaxy.yml build_ignore keeps them out).
DEV_PREFIXES = (
    "tests/", "tools/", "bench/", ".build/", ".venv", ".ci/", ".git", ".lab/", ".ansible/", ".pytest_cache/",
    "extensions/ee/", "extensions/molecule/", "docs/dev/", "docs/build/", "collections/", "dist/", "reports/",
)
DEV_FILES = {"ansible.cfg", "Makefile", "pytest.ini", "requirements-dev.txt", "requirements-importer.txt",
             ".gitignore", "changelogs/.plugin-cache.yaml"}


def tarball_files(tarball):
    with tarfile.open(tarball) as archive:
        return {m.name for m in archive.getmembers() if m.isfile()}


def git_listed(repo_root):
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=repo_root, check=True, capture_output=True).stdout.decode()
    return {p for p in out.split("\0") if p and (repo_root / p).is_file()}


def test_tarball_holds_the_collection_and_no_dev_files(collection_tarball, repo_root):
    files = tarball_files(collection_tarball) - {"MANIFEST.json", "FILES.json"}
    dev = sorted(f for f in files if f.startswith(DEV_PREFIXES) or f in DEV_FILES or f.endswith((".pyc", ".tar.gz")))
    assert not dev, f"development files in the tarball: {dev}"
    stray = sorted(files - git_listed(repo_root))
    assert not stray, f"files in the tarball that are not part of the source tree (ignored or generated): {stray}"
    modules = {str(p.relative_to(repo_root)) for p in (repo_root / "plugins" / "modules").glob("*.py")}
    playbooks = {str(p.relative_to(repo_root)) for p in (repo_root / "playbooks").glob("*.yml")}
    required = {"README.md", "meta/runtime.yml", "meta/execution-environment.yml", "requirements.txt",
                "bindep.txt", "changelogs/changelog.yaml", "docs/docsite/extra-docs.yml",
                "extensions/awx/credential_types/vmanage.yml", "extensions/awx/credential_types/ssm_onprem.yml"}
    missing = sorted((required | modules | playbooks) - files)
    assert not missing, f"missing from the tarball: {missing}"


def test_installed_tarball_runs_the_fix_playbook_by_fqcn(lab, installed_collection, run_playbook, collection_env, tmp_path):
    empty_cfg = tmp_path / "ansible.cfg"
    empty_cfg.write_text("[defaults]\n")
    only_installed = {
        "ANSIBLE_COLLECTIONS_PATH": str(installed_collection),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_CONFIG": str(empty_cfg),
    }
    listed = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "list", "sdwan_ops.license_sync", "--format", "json"],
        check=False, capture_output=True, text=True, timeout=120, env={**collection_env, **only_installed},
    )
    assert list(json.loads(listed.stdout)) == [str(installed_collection / "ansible_collections")], listed.stdout + listed.stderr

    seed = lab(scenario="seed")
    run = run_playbook("sdwan_ops.license_sync.fix_license_sync", seed.inventory, env=only_installed)
    assert run.rc == 0 and not run.failed_hosts(), run.stdout[-6000:] + run.stderr[-3000:]
    assert run.changed() > 0
    (vmanage_state,) = seed.state()["vmanage"].values()
    assert vmanage_state["syncs"] and vmanage_state["syncs"][-1]["ok"], vmanage_state


@pytest.mark.slow
def test_galaxy_importer_passes_offline_without_containers(repo_root, tmp_path, tool):
    """Galaxy's import checks (ansible-doc, changelog, ansible-lint) in galaxy-importer's own venv."""
    made = subprocess.run(["make", "--no-print-directory", ".venv-importer/.installed"], cwd=repo_root,
                          check=False, capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    importer = tool("galaxy_importer")
    returncode, findings, result, log, _seconds = importer.run_importer(
        repo_root / ".venv-importer" / "bin" / "python", tmp_path)
    assert returncode == 0 and not findings and result, log[-8000:]
    assert result["metadata"]["namespace"] == "sdwan_ops" and result["metadata"]["name"] == "license_sync"
    imported = {(c["content_type"], c["name"]) for c in result["contents"]}
    expected = {("module", p.stem) for p in (repo_root / "plugins" / "modules").glob("*.py")}
    expected |= {("role", p.parent.name) for p in (repo_root / "roles").glob("*/tasks")}
    assert expected <= imported, sorted(expected - imported)
    docs = {(c["content_type"], c["content_name"]): c for c in result["docs_blob"]["contents"]}
    undocumented = sorted(name for kind, name in expected if kind == "module" and not docs.get((kind, name), {}).get("doc_strings"))
    assert not undocumented, f"galaxy would show these modules without documentation: {undocumented}"
    galaxy = yaml.safe_load((repo_root / "galaxy.yml").read_text())
    assert result["metadata"]["version"] == galaxy["version"]
