"""playbooks/fix_license_sync.yml against the lab: each scenario and fault gets its expected outcome (fixed and synced,
left unchanged, or stopped before any change)."""
import json
import re
from pathlib import Path

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import SSM_GRANT
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.grant import run_ssm_grant
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import RunContext

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "fix_license_sync.yml"
HOST = "vmanage-001"
OUR_GRANT = "license-sync-vmanage-001"
SEED_ERROR = '{"error":"invalid_client","error_message":"Grant not found. Ensure that the given grant details are correct."}'
SHOW_STATS = {"ANSIBLE_SHOW_CUSTOM_STATS": "1"}
STOPPED = "stopped before any change"
AUTHENTICATE = "POST /dataservice/smartLicensing/authenticate"


def vmanage(state):
    return state["vmanage"][HOST]


def grants(state):
    return sorted((grant["name"], grant["client_id"]) for grant in state["ssm"]["grants"])


def custom_stats(run):
    """The set_stats data of the run (ANSIBLE_SHOW_CUSTOM_STATS=1), as the callback prints it."""
    match = re.search(r"^\s*RUN: (\{.*\})\s*$", run.stdout, re.MULTILINE)
    assert match, run.stdout[-3000:]
    return json.loads(match.group(1))["fix_license_sync"]


def assert_stopped(run, cause):
    assert run.rc != 0 and run.failed_hosts() == [HOST], run.stdout[-3000:]
    assert run.changed(HOST) == 0
    stop_lines = [line for line in run.stdout.splitlines() if STOPPED in line and cause in line]
    assert stop_lines, run.stdout[-3000:]
    return stop_lines[0]


@pytest.fixture(scope="module")
def seed_runs(module_lab, run_playbook):
    """A vManage in the `seed` state (Grant not found): a fix run and a rerun, with the lab's state before and after each."""
    lab = module_lab("seed")
    states = [lab.state()]
    runs = []
    for _run in range(2):
        runs.append(run_playbook(PLAYBOOK, lab.inventory, env=SHOW_STATS))
        states.append(lab.state())
    return lab, runs, states


def test_seed_is_fixed_and_synced(seed_runs):
    lab, (fix, _rerun), (before, after, _after_rerun) = seed_runs

    assert fix.rc == 0 and fix.failed_hosts() == [], fix.stdout[-3000:]
    assert fix.changed(HOST) > 0
    # The precheck verdict names the error vManage shows (Grant not found) and its cause.
    assert "GRANT_NOT_FOUND" in fix.stdout and SEED_ERROR.replace('"', '\\"') in fix.stdout
    new = [grant for grant in grants(after) if grant not in grants(before)]
    assert [name for name, _client_id in new] == [OUR_GRANT]
    assert vmanage(after)["settings"]["ssmClientId"] == new[0][1] != vmanage(before)["settings"]["ssmClientId"]
    assert vmanage(after)["syncs"][-1]["ok"] is True and len(vmanage(after)["syncs"]) > len(vmanage(before)["syncs"])
    summary = custom_stats(fix)[HOST]
    assert summary["state_before"] == "fixable" and summary["state_after"] == "synced"
    assert "GRANT_NOT_FOUND" in summary["causes"]
    assert summary["actions"] == ["grant_created", "settings_stored", "authenticated", "synced"]
    assert summary["grant_name"] == OUR_GRANT and summary["client_id"] == new[0][1]
    # One authenticate (the push's proof; the sync that follows relies on it), SSM's default account synced, no warning.
    assert vmanage(after)["write_requests"][AUTHENTICATE] - vmanage(before)["write_requests"].get(AUTHENTICATE, 0) == 1
    assert [(row["account_id"], row["virtual_account_id"]) for row in vmanage(after)["syncs"][-1]["accounts"]] == [("1", "1")]
    assert "[WARNING]" not in fix.stdout + fix.stderr, fix.stderr


def test_seed_rerun_changes_nothing_and_writes_nothing(seed_runs):
    lab, (_fix, rerun), (_before, after_fix, after_rerun) = seed_runs

    assert rerun.rc == 0 and rerun.changed(HOST) == 0, rerun.stdout[-3000:]
    assert lab.total_writes(after_rerun) == lab.total_writes(after_fix)
    assert grants(after_rerun) == grants(after_fix)
    summary = custom_stats(rerun)[HOST]
    assert summary["state_before"] == "healthy" and summary["state_after"] == "unchanged" and summary["actions"] == []


def test_no_password_reaches_the_output(seed_runs):
    lab, runs, _states = seed_runs
    info = lab.info
    secrets = [info["ssm"]["password"], info["ssm"]["admin_password"]] + [host["password"] for host in info["vmanage"]]

    for run in runs:
        assert not [secret for secret in secrets if secret in run.stdout + run.stderr]


def test_check_diff_on_seed_writes_nothing(lab, run_playbook):
    seed = lab("seed")
    before = seed.state()

    run = run_playbook(PLAYBOOK, seed.inventory, check=True, diff=True)

    after = seed.state()
    assert run.rc == 0 and run.changed(HOST) > 0, run.stdout[-3000:]
    assert f"grant {OUR_GRANT} would be created" in run.stdout
    assert seed.total_writes(after) == 0
    assert grants(after) == grants(before) and vmanage(after)["settings"] == vmanage(before)["settings"]


def test_check_diff_previews_vmanage_with_an_existing_grant(lab, run_playbook):
    seed = lab("seed")
    # A grant of ours exists already, for example left by a run that stopped before vManage.
    existing = create_grant_as_the_ssm_team(seed, OUR_GRANT)
    before = seed.state()

    run = run_playbook(PLAYBOOK, seed.inventory, check=True, diff=True)

    after = seed.state()
    assert run.rc == 0 and run.changed(HOST) > 0, run.stdout[-3000:]
    assert "not previewed" not in run.stdout
    assert "settings would be stored: client id %s -> %s" % (vmanage(before)["settings"]["ssmClientId"], existing["client_id"]) in run.stdout
    assert "licence sync would run" in run.stdout
    assert existing["client_secret"] not in run.stdout + run.stderr
    assert seed.total_writes(after) == seed.total_writes(before)
    assert grants(after) == grants(before) and vmanage(after)["settings"] == vmanage(before)["settings"]


def test_healthy_vmanage_is_left_alone(lab, run_playbook):
    healthy = lab("healthy")
    before = healthy.state()

    run = run_playbook(PLAYBOOK, healthy.inventory)

    after = healthy.state()
    assert run.rc == 0 and run.changed(HOST) == 0, run.stdout[-3000:]
    assert healthy.total_writes(after) == 0
    assert grants(after) == grants(before) and vmanage(after)["settings"] == vmanage(before)["settings"]
    assert vmanage(after)["syncs"] == vmanage(before)["syncs"]


def test_unconfigured_vmanage_is_configured_and_synced(lab, run_playbook):
    unconfigured = lab("unconfigured")
    assert vmanage(unconfigured.state())["settings"]["mode"] != "on-prem"

    run = run_playbook(PLAYBOOK, unconfigured.inventory)

    after = unconfigured.state()
    assert run.rc == 0 and run.changed(HOST) > 0, run.stdout[-3000:]
    ours = dict(grants(after))[OUR_GRANT]
    assert vmanage(after)["settings"]["mode"] == "on-prem" and vmanage(after)["settings"]["ssmClientId"] == ours
    assert vmanage(after)["syncs"][-1]["ok"] is True


def test_old_release_stops_and_creates_nothing_on_ssm(lab, run_playbook):
    old = lab("old-release")
    before = old.state()

    run = run_playbook(PLAYBOOK, old.inventory)

    stop = assert_stopped(run, "RELEASE_TOO_OLD")
    assert "20.9.1" in stop and "Upgrade vManage" in stop
    after = old.state()
    assert old.total_writes(after) == 0 and grants(after) == grants(before)


def test_ssm_backend_down_stops_naming_the_backend(lab, run_playbook):
    backend_down = lab("ssm-backend-down")
    before = backend_down.state()

    run = run_playbook(PLAYBOOK, backend_down.inventory)

    stop = assert_stopped(run, "SSM_BACKEND_DOWN")
    assert "backend" in stop and "restart" in stop
    after = backend_down.state()
    assert backend_down.total_writes(after) == 0
    assert vmanage(after)["settings"] == vmanage(before)["settings"] and vmanage(after)["syncs"] == vmanage(before)["syncs"]


def test_grant_deleted_after_a_good_run_is_recreated_and_pushed(lab, run_playbook):
    seed = lab("seed")
    assert run_playbook(PLAYBOOK, seed.inventory).rc == 0
    first_client_id = vmanage(seed.state())["settings"]["ssmClientId"]
    seed.fault("ssm", "grant-deleted")
    assert OUR_GRANT not in dict(grants(seed.state()))

    run = run_playbook(PLAYBOOK, seed.inventory)

    after = seed.state()
    assert run.rc == 0 and run.changed(HOST) > 0, run.stdout[-3000:]
    recreated = dict(grants(after))[OUR_GRANT]
    assert vmanage(after)["settings"]["ssmClientId"] == recreated != first_client_id
    assert vmanage(after)["syncs"][-1]["ok"] is True


@pytest.mark.parametrize("scenario", ["seed", "healthy"])
def test_wrong_ssm_user_password_stops_and_keeps_vmanage_settings(scenario, lab, run_playbook):
    broken = lab(scenario)
    broken.fault("ssm", "wrong-ssm-password")
    before = broken.state()

    run = run_playbook(PLAYBOOK, broken.inventory)

    assert run.rc != 0 and run.failed_hosts() == [HOST], run.stdout[-3000:]
    assert "SSM_BAD_USER_CREDENTIALS" in run.stdout and "Check ssm_username/ssm_password" in run.stdout
    after = broken.state()
    assert vmanage(after)["settings"] == vmanage(before)["settings"]
    assert grants(after) == grants(before)  # a grant that never worked is not left behind
    assert sum(vmanage(after)["write_requests"].values()) == sum(vmanage(before)["write_requests"].values())


def test_a_systemic_cause_the_diagnosis_sees_stops_every_vmanage_before_any_batch_and_any_change(lab, run_playbook):
    fleet = lab("ssm-backend-down", vmanage=4)

    run = run_playbook(PLAYBOOK, fleet.inventory,
                       extra_vars={"fix_license_sync_batch_size": 2, "fix_license_sync_max_fail_percentage": 50})

    hosts = ["vmanage-001", "vmanage-002", "vmanage-003", "vmanage-004"]
    assert run.rc != 0 and run.failed_hosts() == hosts, run.stdout[-3000:]
    assert "4 of 4 vManage stopped:" in run.stdout and all(f"{host}: SSM_BACKEND_DOWN" in run.stdout for host in hosts)
    assert "Fix licence sync between vManage and SSM On-Prem, in batches" in run.stdout and "not processed" not in run.stdout
    assert fleet.total_writes() == 0


def test_fleet_fix_stops_after_a_batch_broken_by_a_systemic_cause(lab, run_playbook):
    fleet = lab("seed", vmanage=4)
    fleet.fault("ssm", "xsrf-mismatch")  # the diagnosis only reads; every grant creation is refused

    run = run_playbook(PLAYBOOK, fleet.inventory,
                       extra_vars={"fix_license_sync_batch_size": 2, "fix_license_sync_max_fail_percentage": 50})

    assert run.rc != 0
    # The first batch stops on SSM_XSRF_REJECTED; the run ends before the second batch, and says so.
    assert run.failed_hosts() == ["vmanage-001", "vmanage-002"], run.stdout[-3000:]
    assert "2 of 4 vManage stopped" in run.stdout and "not processed (the run stopped before their batch): vmanage-003, vmanage-004" in run.stdout
    assert "2 vManage not processed" in run.stdout
    assert fleet.total_writes() == 0


def test_fleet_fix_with_max_fail_percentage_100_processes_every_batch(lab, run_playbook):
    fleet = lab("ssm-backend-down", vmanage=4)

    run = run_playbook(PLAYBOOK, fleet.inventory, env=SHOW_STATS,
                       extra_vars={"fix_license_sync_batch_size": 2, "fix_license_sync_max_fail_percentage": 100})

    # Every batch stopped completely, yet the run goes on; it still fails, and names every host and its cause.
    hosts = ["vmanage-001", "vmanage-002", "vmanage-003", "vmanage-004"]
    assert run.rc != 0 and sorted(custom_stats(run)) == hosts, run.stdout[-3000:]
    assert run.failed_hosts() == hosts and run.changed() == 0
    assert all(f"{host}: SSM_BACKEND_DOWN" in run.stdout for host in hosts) and "4 of 4 vManage stopped:" in run.stdout
    assert "not processed" not in run.stdout
    assert fleet.total_writes() == 0


def test_fleet_fix_goes_on_after_a_batch_within_max_fail_percentage(lab, run_playbook):
    fleet = lab("seed", vmanage=4)
    fleet.fault("vmanage-002", "ssm-unreachable-from-vmanage")

    run = run_playbook(PLAYBOOK, fleet.inventory,
                       extra_vars={"fix_license_sync_batch_size": 2, "fix_license_sync_max_fail_percentage": 50})

    assert run.rc != 0 and run.failed_hosts() == ["vmanage-002"], run.stdout[-3000:]
    assert "vmanage-002: SSM_UNREACHABLE_FROM_VMANAGE" in run.stdout and "not processed" not in run.stdout
    after = fleet.state()
    assert [host for host, state in sorted(after["vmanage"].items()) if (state["syncs"] or [{}])[-1].get("ok")] == [
        "vmanage-001", "vmanage-003", "vmanage-004"]


def create_grant_as_the_ssm_team(lab, name):
    """A Resource Owner grant made outside the playbook, as the SSM team would hand it over (id and secret)."""
    ssm, ca_cert = lab.info["ssm"], lab.info["ca_cert"]
    options = {"ssm_url": ssm["url"], "ssm_username": ssm["username"], "ssm_password": ssm["password"],
               "ssm_admin_username": ssm["admin_username"], "ssm_admin_password": ssm["admin_password"],
               "ssm_ca_path": ca_cert, "name": name}
    validation = ArgumentSpecValidator(SSM_GRANT["argument_spec"]).validate(options)
    assert not validation.error_messages
    return run_ssm_grant(validation.validated_parameters, RunContext(no_log=True))


def test_grant_supplied_by_the_ssm_team_is_proven_and_pushed(lab, run_playbook):
    unconfigured = lab("unconfigured")
    supplied = create_grant_as_the_ssm_team(unconfigured, "ssm-team-grant")
    before = unconfigured.state()

    # As an AWX credential injects them.
    run = run_playbook(PLAYBOOK, unconfigured.inventory,
                       env={"SSM_CLIENT_ID": supplied["client_id"], "SSM_CLIENT_SECRET": supplied["client_secret"]})

    after = unconfigured.state()
    assert run.rc == 0 and run.changed(HOST) > 0, run.stdout[-3000:]
    assert "grant supplied by the SSM team" in run.stdout
    assert grants(after) == grants(before)
    assert vmanage(after)["settings"]["ssmClientId"] == supplied["client_id"]
    assert vmanage(after)["syncs"][-1]["ok"] is True


def test_supplied_grant_that_does_not_exist_stops_before_vmanage(lab, run_playbook):
    unconfigured = lab("unconfigured")
    before = unconfigured.state()

    run = run_playbook(PLAYBOOK, unconfigured.inventory,
                       env={"SSM_CLIENT_ID": "lab-fake-client-id", "SSM_CLIENT_SECRET": "lab-fake-client-secret"})

    assert run.rc != 0 and run.failed_hosts() == [HOST], run.stdout[-3000:]
    assert "stopped before any change; this playbook cannot fix GRANT_NOT_FOUND" in run.stdout
    after = unconfigured.state()
    assert unconfigured.total_writes(after) == 0 and grants(after) == grants(before)
    assert vmanage(after)["settings"] == vmanage(before)["settings"]


def test_shared_grant_serves_several_vmanage(lab, run_playbook):
    fleet = lab("seed", vmanage=3)
    before = fleet.state()

    run = run_playbook(PLAYBOOK, fleet.inventory, extra_vars={"ssm_grant_shared": True, "fix_license_sync_batch_size": 3})

    after = fleet.state()
    assert run.rc == 0 and run.failed_hosts() == [], run.stdout[-3000:]
    new = [grant for grant in grants(after) if grant not in grants(before)]
    assert [name for name, _client_id in new] == ["license-sync-shared"]
    assert {vmanage["settings"]["ssmClientId"] for vmanage in after["vmanage"].values()} == {new[0][1]}
    assert all(vmanage["syncs"][-1]["ok"] for vmanage in after["vmanage"].values())


COMPLIANCE_PLAYBOOK = PLAYBOOK.parent / "license_compliance.yml"


def test_fleet_fix_of_the_compliance_runs_broken_hosts_in_batches(lab, run_playbook, tmp_path):
    """Compliance, then fix: the compliance run lists the broken hosts the fix can repair; the fix works on them in batches,
    stops early while SSM On-Prem is down, then fixes every one of them and touches no other host."""
    fleet = lab("fleet-mixed", vmanage=12, seed=8)
    reports = tmp_path / "reports"
    assert run_playbook(COMPLIANCE_PLAYBOOK, fleet.inventory, extra_vars={"license_compliance_report_dir": str(reports)}).rc == 0
    broken = (reports / "latest-broken.txt").read_text().split()
    assert len(broken) >= 4, broken
    limit = ("--limit", f"@{reports / 'latest-broken.txt'}")
    batches = {"fix_license_sync_batch_size": 2, "fix_license_sync_max_fail_percentage": 50}
    before = fleet.writes()

    fleet.fault("ssm", "ssm-backend-down")
    stopped = run_playbook(PLAYBOOK, fleet.inventory, extra_vars=batches, args=limit)

    # The diagnosis of the whole fleet comes first and is read-only: every broken host stops on SSM_BACKEND_DOWN.
    assert stopped.rc != 0 and stopped.failed_hosts() == broken, stopped.stdout[-3000:]
    assert all(f"{host}: SSM_BACKEND_DOWN" in stopped.stdout for host in broken)
    assert fleet.writes() == before

    fleet.fault("ssm", "ssm-backend-down", clear=True)
    fixed = run_playbook(PLAYBOOK, fleet.inventory, extra_vars=batches, args=limit)

    assert fixed.rc == 0 and sorted(fixed.stats) == broken and fixed.failed_hosts() == [], fixed.stdout[-3000:]
    after = fleet.state()
    assert all(after["vmanage"][host]["syncs"][-1]["ok"] for host in broken)
    others = sorted(set(after["vmanage"]) - set(broken))
    assert [fleet.writes(after)[host] for host in others] == [before[host] for host in others]
