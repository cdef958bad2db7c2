"""The sdwan-lab command: contract files, lifecycle, refusals, foreground serve."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdwan_lab.labdir import LabDir, lab_process_alive

FAULT_NAMES = ["grant-deleted", "ssm-backend-down", "ssm-listener-closed", "wrong-cert", "slow", "flapping-5xx",
               "rate-limit", "xsrf-mismatch", "session-cap", "dns-missing", "ssm-unreachable-from-vmanage",
               "wrong-ssm-password"]
SCENARIO_NAMES = ["seed", "healthy", "unconfigured", "old-release", "ssm-backend-down", "fleet-mixed"]


def test_console_command_lifecycle_and_contract_files(tmp_path, command):
    up = command("up", "--dir", tmp_path, "--vmanage", "2", "--scenario", "healthy")
    assert up.returncode == 0, up.stderr
    try:
        info = json.loads((tmp_path / "lab.json").read_text())
        assert Path(info["ca_cert"]).is_absolute() and Path(info["ca_cert"]) == tmp_path / "ca.pem"
        assert {"url", "admin_username", "admin_password", "username", "password"} <= set(info["ssm"])
        assert info["ssm"]["url"].startswith("https://127.0.0.1:")
        for entry in info["vmanage"]:
            assert {"name", "url", "username", "password", "release", "scenario"} <= set(entry)
            assert entry["url"].startswith("https://127.0.0.1:") and entry["release"] == "20.12.1"
        assert (tmp_path / "inventory.yml").stat().st_mode & 0o077 == 0
        assert (tmp_path / "logs").is_dir()

        status = command("status", "--dir", tmp_path)
        assert status.returncode == 0 and json.loads(status.stdout)["running"] is True
        state = json.loads(command("state", "--dir", tmp_path).stdout)
        grant = state["ssm"]["grants"][0]
        assert {"name", "client_id", "type", "created"} <= set(grant) and grant["client_secret"] == "********"
        assert isinstance(state["ssm"]["requests"], dict) and isinstance(state["ssm"]["writes"], int)
        host = state["vmanage"]["vmanage-001"]
        assert {"settings", "syncs", "requests", "writes", "write_requests"} <= set(host)
        assert {"time", "ok", "error"} <= set(host["syncs"][0])

        again = command("up", "--dir", tmp_path)
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        control = json.loads((tmp_path / "control.json").read_text())
        down = command("down", "--dir", tmp_path)
    assert down.returncode == 0
    assert not lab_process_alive(control["pid"], LabDir(tmp_path))
    assert command("status", "--dir", tmp_path).returncode == 3
    assert command("down", "--dir", tmp_path).stdout.startswith("no lab was running")
    assert command("state", "--dir", tmp_path).returncode == 1


@pytest.mark.parametrize("args, message", [
    (["--scenario", "seed", "--release", "20.6.1"], "state seed needs a release 20.9.1 or later, not 20.6.1"),
    (["--scenario", "old-release", "--release", "20.12.1"], "state old-release needs a release below 20.9.1"),
    (["--vmanage", "0"], "--vmanage must be at least 1"),
    (["--release", "latest"], "not a vManage release: 'latest'"),
])
def test_impossible_labs_are_refused_before_anything_starts(tmp_path, cli, capsys, args, message):
    assert cli("up", "--dir", tmp_path, *args)[0] == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()


def test_help_lists_the_fault_and_scenario_names(command):
    fault_help = command("fault", "--help").stdout
    assert all(f"\n  {name} " in fault_help for name in FAULT_NAMES)
    up_help = command("up", "--help").stdout
    assert all(f"\n  {name} " in up_help for name in SCENARIO_NAMES)


def test_serve_runs_in_the_foreground_until_sigterm(tmp_path):
    serve = subprocess.Popen([sys.executable, "-m", "sdwan_lab", "serve", "--dir", str(tmp_path), "--scenario",
                              "ssm-backend-down"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "control.json").exists():
            assert serve.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        control = json.loads((tmp_path / "control.json").read_text())
        assert control["pid"] == serve.pid
        assert json.loads((tmp_path / "lab.json").read_text())["vmanage"][0]["expected_cause"] == "SSM_BACKEND_DOWN"
    finally:
        serve.send_signal(signal.SIGTERM)
        errors = serve.communicate(timeout=30)[1]
    assert serve.returncode == 0, errors
    assert "lab up in" in errors and "Traceback" not in errors
    assert not (tmp_path / "control.json").exists()
    if control["nginx_pid"]:
        assert not lab_process_alive(control["nginx_pid"], LabDir(tmp_path))
