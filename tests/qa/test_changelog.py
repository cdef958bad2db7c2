"""Changelog fragments are valid, and `make changelog-release` turns them into the first release's notes."""
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

VENV = Path(sys.executable).parent.parent
RELEASE_DATE = "2026-12-01"


def test_changelog_fragments_lint_clean(repo_root):
    proc = subprocess.run(
        [str(VENV / "bin" / "antsibull-changelog"), "lint"], cwd=repo_root, check=False, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_changelog_yaml_is_valid(repo_root):
    proc = subprocess.run(
        [str(VENV / "bin" / "antsibull-changelog"), "lint-changelog-yaml", "changelogs/changelog.yaml"],
        cwd=repo_root, check=False, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def fragment_entries(fragments_dir):
    entries = {}
    for fragment in sorted(fragments_dir.glob("*.yml")) + sorted(fragments_dir.glob("*.yaml")):
        for section, items in yaml.safe_load(fragment.read_text()).items():
            if section.startswith("add "):
                continue
            for item in [items] if isinstance(items, str) else items:
                entries.setdefault(section, []).append(" ".join(item.split()))
    return entries


def changelog_section(rst, title):
    match = re.search(rf"^{title}\n-+\n(.*?)(?=^\S[^\n]*\n[-=]+\n|\Z)", rst, re.M | re.S)
    return match[1] if match else ""


def test_release_target_writes_the_first_release_notes(staged_collection, repo_root):
    """Runs the documented target in a copy, so the working tree keeps its fragments."""
    fragments_before = sorted(p.name for p in (repo_root / "changelogs" / "fragments").iterdir())
    expected = fragment_entries(staged_collection / "changelogs" / "fragments")
    assert expected.get("release_summary"), "the release needs a release_summary fragment"
    staged_fragments = sorted(p.name for p in (staged_collection / "changelogs" / "fragments").glob("*.y*ml"))
    version = yaml.safe_load((staged_collection / "galaxy.yml").read_text())["version"]

    proc = subprocess.run(
        ["make", "--no-print-directory", "-o", "venv", "changelog-release", f"VENV={VENV}",
         f"ANSIBLE_COLLECTIONS_PATH={staged_collection.parents[2]}", f"RELEASE_DATE={RELEASE_DATE}"],
        cwd=staged_collection, check=False, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    rst = (staged_collection / "CHANGELOG.rst").read_text()
    notes = " ".join(rst.split())
    assert "sdwan\\_ops.license\\_sync Release Notes" in notes
    assert f"v{version} ======" in notes
    for section, items in expected.items():
        if section == "trivial":
            continue
        for item in items:
            assert item in notes, f"{section} entry missing from CHANGELOG.rst: {item}"
    modules = sorted(p.stem for p in (staged_collection / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    for module in modules:
        assert f"sdwan_ops.license_sync.{module} - " in changelog_section(rst, "New Modules"), f"new module {module} not listed"
    # Roles and playbooks are listed from `add object.role` / `add object.playbook` fragments.
    roles = sorted(p.parent.name for p in (staged_collection / "roles").glob("*/tasks"))
    for role in roles:
        assert f"sdwan_ops.license_sync.{role} - " in changelog_section(rst, "New Roles"), f"new role {role} not listed"
    playbooks = sorted(p.stem for p in (staged_collection / "playbooks").glob("*.yml"))
    for playbook in playbooks:
        assert f"sdwan_ops.license_sync.{playbook} - " in changelog_section(rst, "New Playbooks"), f"new playbook {playbook} not listed"

    changes = yaml.safe_load((staged_collection / "changelogs" / "changelog.yaml").read_text())
    release = changes["releases"][version]
    assert release["release_date"] == RELEASE_DATE
    assert sorted(release["fragments"]) == staged_fragments
    assert not list((staged_collection / "changelogs" / "fragments").glob("*.y*ml")), "release keeps fragments"
    assert sorted(p.name for p in (repo_root / "changelogs" / "fragments").iterdir()) == fragments_before
