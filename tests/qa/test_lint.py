"""ansible-lint's production profile passes on the whole collection, offline, with no unexplained skips."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

VENV_BIN = Path(sys.executable).parent
LINTED_TREES = ("roles", "playbooks", "extensions", "meta", "changelogs", "docs", "tests/integration", "tests/molecule")


def readme_text(repo_root):
    readme = repo_root / "README.md"
    return readme.read_text() if readme.exists() else ""


def test_lint_config_is_production_without_unexplained_skips(repo_root):
    config = yaml.safe_load((repo_root / ".ansible-lint").read_text())
    assert config["profile"] == "production"
    assert config.get("offline") is True
    readme = readme_text(repo_root)
    skipped = list(config.get("skip_list", [])) + list(config.get("warn_list", []))
    unexplained = [rule for rule in skipped if rule not in readme]
    assert not unexplained, f"rules skipped in .ansible-lint without a reason in README.md: {unexplained}"


def test_no_inline_lint_skips_without_a_reason_in_the_readme(repo_root):
    readme = readme_text(repo_root)
    inline = {}
    for tree in LINTED_TREES:
        for path in (repo_root / tree).rglob("*.y*ml") if (repo_root / tree).is_dir() else ():
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for rule in re.findall(r"#\s*noqa:?\s*([\w\[\]\-, ]+)", line):
                    for name in filter(None, (r.strip() for r in rule.split(","))):
                        if name not in readme:
                            inline.setdefault(name, []).append(f"{path.relative_to(repo_root)}:{number}")
    assert not inline, f"`# noqa` without a reason in README.md: {inline}"


@pytest.mark.slow
def test_ansible_lint_production_profile_passes(repo_root, collection_env, tmp_path):
    """Offline, ansible-lint keeps its cache in $ANSIBLE_HOME (default ~/.ansible) and deletes its mock modules
    there when it ends: a private ANSIBLE_HOME keeps it apart from galaxy-importer's ansible-lint in another worker."""
    env = dict(collection_env, PATH=f"{VENV_BIN}{os.pathsep}{collection_env['PATH']}", NO_COLOR="1",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-lint"), "--offline", "--nocolor", "--format", "pep8"],
        cwd=repo_root, env=env, check=False, capture_output=True, text=True, timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    assert "Profile 'production' was required, and it passed" in output, output[-3000:]
