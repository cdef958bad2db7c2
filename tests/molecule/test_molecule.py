"""Runs every molecule scenario of extensions/molecule (default driver, against the lab) with `molecule test`."""
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import REPO

SCENARIOS_DIR = REPO / "extensions" / "molecule"
SCENARIOS = sorted(path.parent.name for path in SCENARIOS_DIR.glob("*/molecule.yml"))
MOLECULE_TIMEOUT_S = 300
OUTPUT_TAIL_LINES = 80


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, tmp_path, collection_env):
    env = dict(collection_env)
    # Each run gets its own ephemeral directory (and so its own lab) under pytest's tmp_path.
    env["MOLECULE_EPHEMERAL_DIRECTORY"] = str(tmp_path / "molecule")
    env.pop("ANSIBLE_CONFIG", None)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "molecule"), "test", "--scenario-name", scenario],
        cwd=str(REPO),
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=MOLECULE_TIMEOUT_S,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-OUTPUT_TAIL_LINES:])
        pytest.fail(f"molecule test -s {scenario} failed (rc {proc.returncode}); last lines:\n{tail}", pytrace=False)
