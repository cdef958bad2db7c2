"""vmanage_license_sync against the lab: the seed's error as GRANT_NOT_FOUND, a real sync, idempotent by freshness."""
import time

import pytest

from .module_runs import assert_idempotent, four_steps, run_module

MODULE = "vmanage_license_sync"
AUTHENTICATE = "POST /dataservice/smartLicensing/authenticate"
SYNC_LEGACY = "POST /dataservice/smartLicensing/syncLicenses"
SYNC_V1 = "POST /dataservice/v1/smart-licensing/sync"


def syncs(lab):
    return lab.state()["vmanage"]["vmanage-001"]["syncs"]


def test_seed_fails_with_grant_not_found(lab, run_playbook):
    seed = lab("seed")
    recorded = len(syncs(seed))

    check = run_module(seed, run_playbook, MODULE, check=True)
    real = run_module(seed, run_playbook, MODULE)

    assert check.result["changed"] is True and check.total_writes() == 0
    assert (real.result["failed"], real.result["cause"]) == (True, "GRANT_NOT_FOUND")
    assert "Grant not found" in real.result["msg"] and "API Toolkit" in real.result["remedy"]
    # vManage's words once in the message; the raw body stays in its own field
    assert real.result["msg"].count("Grant not found") == 1 and "Grant not found" in real.result["body_excerpt"]
    assert SYNC_LEGACY not in real.writes["vmanage-001"] and len(syncs(seed)) == recorded


def test_fixed_seed_syncs_then_is_idempotent(lab, run_playbook):
    seed = lab("seed")
    run_module(seed, run_playbook, "vmanage_license_auth")

    runs = four_steps(seed, run_playbook, MODULE)

    check, real = runs[0], runs[1]
    assert check.result["changed"] is True and check.total_writes() == 0
    assert real.result["synced"] is True and real.result["last_sync"]["ok"] is True
    assert real.writes["vmanage-001"] == {AUTHENTICATE: 1, SYNC_LEGACY: 1}
    assert real.result["accounts"][0]["name"] == "SDWAN-LAB"
    assert real.result["licenses"] is None  # 20.12 has no licence list API
    assert syncs(seed)[-1]["ok"] is True
    assert_idempotent(runs)
    assert runs[3].result["last_sync"] == real.result["last_sync"] or runs[3].result["last_sync"]["time"] == real.result["last_sync"]["time"]


def test_fresh_sync_is_left_alone_and_force_syncs(lab, run_playbook):
    healthy = lab("healthy", release="20.15.1")

    fresh = run_module(healthy, run_playbook, MODULE)
    forced = run_module(healthy, run_playbook, MODULE, force=True, smart_account="SDWAN-LAB")

    assert fresh.result["changed"] is False and fresh.total_writes() == 0
    # Login, server info (which carries the XSRF token), user settings, logout: nothing else when the last sync is fresh.
    assert fresh.vmanage_requests() == dict.fromkeys(['POST /j_security_check', 'GET /dataservice/client/server',
                                                      'GET /dataservice/v1/smart-licensing/user-settings', 'POST /logout'], 1)
    assert forced.result["synced"] is True and SYNC_V1 in forced.writes["vmanage-001"]
    assert forced.result["licenses"] and {"display_name", "in_use"} <= set(forced.result["licenses"][0])


@pytest.mark.parametrize("scenario, cause", [
    ("unconfigured", "MODE_NOT_ONPREM"),
    ("old-release", "RELEASE_TOO_OLD"),
    ("ssm-backend-down", "SSM_BACKEND_DOWN"),
])
def test_scenarios_fail_with_their_cause(lab, run_playbook, scenario, cause):
    run = run_module(lab(scenario), run_playbook, MODULE, force=True)

    assert (run.result["failed"], run.result["cause"]) == (True, cause), run.result
    assert run.writes["vmanage-001"].get(SYNC_LEGACY) is None


def test_unknown_virtual_account(lab, run_playbook):
    healthy = lab("healthy")

    run = run_module(healthy, run_playbook, MODULE, force=True, virtual_account="NOPE")

    assert run.result["cause"] == "INVALID_INPUT" and "DEFAULT" in run.result["msg"]


@pytest.mark.parametrize("release, sync_path", [("20.12.1", SYNC_LEGACY), ("20.15.1", SYNC_V1)])
def test_a_vmanage_that_reports_no_last_sync_is_left_alone_while_its_grant_works_and_a_forced_sync_waits_for_nothing(
        lab, run_playbook, release, sync_path):
    documented = lab("healthy", release=release, dialect="documented")
    recorded = len(syncs(documented))

    left_alone = four_steps(documented, run_playbook, MODULE, wait_timeout=120, wait_sleep=60)
    started = time.monotonic()
    forced = run_module(documented, run_playbook, MODULE, force=True, wait_timeout=120, wait_sleep=60)

    assert_idempotent(left_alone)
    assert [run.result["changed"] for run in left_alone] == [False] * 4 and left_alone[1].result["verified_by"] == "fetchAccounts"
    assert left_alone[1].result["last_sync"]["reported"] is False
    run = left_alone[1].playbook
    assert (run.stdout + run.stderr).count("does not report its last licence sync") == 1
    assert forced.result["synced"] is True and forced.result["last_sync"]["ok"] is True
    assert forced.writes["vmanage-001"].get(sync_path) == 1 and len(syncs(documented)) == recorded + 1
    assert time.monotonic() - started < 60  # the sync's answer is the result: no poll for a field vManage does not send
