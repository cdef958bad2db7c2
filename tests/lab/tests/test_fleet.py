"""A fleet of 200 vManage in one lab: up, reproducible mix of states, each state's truth, down."""

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from sdwan_lab.labdir import LabDir, lab_process_alive
from sdwan_lab.scenarios import plan_hosts

FLEET_SIZE = 200
EXPECTED_CAUSES = {
    "healthy": None,
    "seed": "GRANT_NOT_FOUND",
    "unconfigured": "MODE_NOT_ONPREM",
    "old-release": "RELEASE_TOO_OLD",
    "dns-missing": "DNS_MISSING",
    "ssm-unreachable-from-vmanage": "SSM_UNREACHABLE_FROM_VMANAGE",
    "wrong-ssm-password": "SSM_BAD_USER_CREDENTIALS",
    "stale-sync": "SYNC_STALE",
    "credentials-missing": "CREDENTIALS_MISSING",
    "url-missing": "SSM_URL_MISSING",
    "url-mismatch": "SSM_URL_MISMATCH",
    "session-cap": "VMANAGE_SESSION_CAP",
}


@pytest.fixture(scope="module")
def fleet(start_lab):
    started = time.monotonic()
    lab = start_lab("--scenario", "fleet-mixed", "--vmanage", FLEET_SIZE, "--seed", "11", name="fleet")
    lab.up_seconds = time.monotonic() - started
    return lab


def first_of_each_state(fleet):
    found = {}
    for index, entry in enumerate(fleet.info["vmanage"]):
        found.setdefault(entry["scenario"], index)
    return found


def test_one_lab_serves_the_whole_fleet(fleet):
    entries = fleet.info["vmanage"]
    assert [entry["name"] for entry in entries] == [f"vmanage-{n:03d}" for n in range(1, FLEET_SIZE + 1)]
    assert len({entry["port"] for entry in entries} | {fleet.info["ssm"]["url"]}) == FLEET_SIZE + 1
    assert fleet.up_seconds < 20
    state = fleet.state()
    assert len(state["vmanage"]) == FLEET_SIZE
    assert all(host["requests"] == {} for host in state["vmanage"].values())


def test_every_state_is_present_with_its_expected_cause(fleet):
    entries = fleet.info["vmanage"]
    assert {entry["scenario"] for entry in entries} == set(EXPECTED_CAUSES)
    assert all(entry["expected_cause"] == EXPECTED_CAUSES[entry["scenario"]] for entry in entries)
    state = fleet.state()["vmanage"]
    assert all(state[e["name"]]["expected_cause"] == e["expected_cause"] for e in entries)
    assert sum(entry["scenario"] == "healthy" for entry in entries) > FLEET_SIZE / 8
    releases = {entry["release"] for entry in entries if entry["scenario"] != "old-release"}
    assert {"20.9.3", "20.12.1", "20.15.1"} <= releases


def test_several_hosts_share_one_grant(fleet):
    state = fleet.state()
    stored = [host["settings"].get("ssmClientId") for host in state["vmanage"].values()]
    grant_ids = {grant["client_id"] for grant in state["ssm"]["grants"]}
    users = [stored.count(client_id) for client_id in grant_ids if client_id in stored]
    assert users and max(users) > 1 and sum(users) == sum(client_id in grant_ids for client_id in stored)


def test_the_mix_is_reproducible_by_seed(fleet):
    planned = [(plan.state.name, str(plan.release)) for plan in plan_hosts("fleet-mixed", FLEET_SIZE, seed=11)]
    assert planned == [(entry["scenario"], entry["release"]) for entry in fleet.info["vmanage"]]
    other = [plan.state.name for plan in plan_hosts("fleet-mixed", FLEET_SIZE, seed=12)]
    assert other != [name for name, _release in planned]
    assert plan_hosts("fleet-mixed", 30) == plan_hosts("fleet-mixed", 30, seed=0)


def test_inventory_matches_lab_json(fleet):
    inventory = yaml.safe_load((fleet.dir / "inventory.yml").read_text())
    group = inventory["all"]["children"]["vmanage"]
    assert group["vars"]["ansible_connection"] == "local"
    assert group["vars"]["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    assert group["vars"]["ssm_url"] == fleet.info["ssm"]["url"]
    assert group["vars"]["ssm_ca_path"] == group["vars"]["vmanage_ca_path"] == fleet.info["ca_cert"]
    assert len(group["hosts"]) == FLEET_SIZE
    for entry in fleet.info["vmanage"]:
        host = group["hosts"][entry["name"]]
        assert (host["vmanage_host"], host["vmanage_port"]) == ("127.0.0.1", entry["port"])
        assert host["vmanage_password"] == entry["password"]
        assert host["lab_expected_cause"] == entry["expected_cause"]
        for key, value in entry["inventory_overrides"].items():
            assert host[key] == value


def check_state(fleet, index):
    """Observe over HTTP what the host's state promises; returns the state name."""
    entry = fleet.info["vmanage"][index]
    name = entry["scenario"]
    ssm = fleet.info["ssm"]
    if name == "session-cap":
        refused = fleet.vmanage(index, login=False).post(
            "/j_security_check", data={"j_username": entry["username"], "j_password": entry["password"]})
        assert "Maximum number of concurrent sessions" in refused.text
        return name
    api = fleet.vmanage(index)
    settings = api.get("/dataservice/settings/configuration/smartLicensing").json()["data"][0]
    password = entry["inventory_overrides"].get("ssm_password", ssm["password"])
    auth = api.authenticate(ssm["username"], password)
    details = auth.json().get("error", {}).get("details", "")
    expected_failure = {
        "seed": '"error":"invalid_client"',
        "unconfigured": "Smart licensing mode is online, not on-prem.",
        "old-release": "On-prem mode is not supported in release 20.6.4.",
        "dns-missing": "java.net.UnknownHostException: localhost",
        "ssm-unreachable-from-vmanage": "connect timed out",
        "wrong-ssm-password": '"error":"invalid_grant"',
        "credentials-missing": "Client ID and Client Secret are not configured.",
        "url-missing": "The on-prem server URL is not configured.",
        "url-mismatch": "Connection refused",
    }.get(name)
    if expected_failure:
        assert auth.status_code == 400 and expected_failure in details, (name, details)
    else:
        assert auth.status_code == 200, (name, details)
    if name == "url-mismatch":
        assert settings["ssmServerUrl"] != ssm["url"]
    if name == "stale-sync":
        last = api.get("/dataservice/smartLicensing/getUserSettings").json()["data"][0]["lastSyncTime"]
        assert datetime.now(timezone.utc).timestamp() - last / 1000 > 86400
    return name


def test_hosts_that_cannot_reach_ssm_start_with_the_failed_sync_vmanage_would_show(fleet):
    """A vManage without DNS or without a path to SSM cannot have synced since: its last sync failed, quoting why."""
    state = fleet.state()["vmanage"]
    why = {"dns-missing": "java.net.UnknownHostException: localhost: Name or service not known",
           "ssm-unreachable-from-vmanage": "failed: connect timed out"}
    checked = set()
    for entry in fleet.info["vmanage"]:
        syncs = state[entry["name"]]["syncs"]
        if entry["scenario"] in why:
            assert [sync["ok"] for sync in syncs] == [True, False]
            assert syncs[-1]["error"].startswith("Failed to authenticate Smart Account credentials.: Failed to authenticate user")
            assert why[entry["scenario"]] in syncs[-1]["error"]
            checked.add(entry["scenario"])
        elif entry["scenario"] == "healthy":
            assert syncs[-1]["ok"] is True
    assert checked == set(why)


def test_each_state_behaves_as_its_expected_cause_says(fleet):
    checked = [check_state(fleet, index) for index in first_of_each_state(fleet).values()]
    assert set(checked) == set(EXPECTED_CAUSES)


def test_down_stops_the_lab_and_its_nginx(fleet, cli):
    control = json.loads((fleet.dir / "control.json").read_text())
    lab_dir = LabDir(fleet.dir)
    started = time.monotonic()
    assert cli("down", "--dir", fleet.dir)[0] == 0
    assert time.monotonic() - started < 15
    assert not lab_process_alive(control["pid"], lab_dir)
    if control["nginx_pid"]:
        assert not lab_process_alive(control["nginx_pid"], lab_dir)
    assert not Path(fleet.dir / "control.json").exists()
    assert cli("status", "--dir", fleet.dir)[0] == 3
