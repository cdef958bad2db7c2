"""vmanage_precheck against the lab: read-only, the seed's error as GRANT_NOT_FOUND, every fault as its cause."""
import pytest

from .module_runs import assert_idempotent, four_steps, run_module

MODULE = "vmanage_precheck"


def checks(result):
    return dict((check["name"], (check["status"], check["cause"])) for check in result["checks"])


def codes(result):
    return [finding["code"] for finding in result["findings"]]


def test_seed_is_grant_not_found_in_every_mode_without_a_write(lab, run_playbook):
    seed = lab("seed")

    runs = four_steps(seed, run_playbook, MODULE)

    for run in runs:
        result = run.result
        assert run.changed() == 0 and run.total_writes() == 0, run.writes
        assert checks(result)["stored_auth"] == ("fail", "GRANT_NOT_FOUND")
        assert codes(result) == ["GRANT_NOT_FOUND"] and result["verdict"] == "fixable"
        assert "Grant not found" in result["findings"][0]["detail"] and "API Toolkit" in result["findings"][0]["remedy"]
        assert result.get("failed") is not True
    assert_idempotent(runs)


def test_healthy_with_a_proven_grant(lab, run_playbook):
    run = run_module(lab("healthy"), run_playbook, MODULE, with_new_grant=True)

    results = checks(run.result)
    grant = results.pop("grant")
    assert set(status for status, _cause in results.values()) == {"pass"}, run.result["checks"]
    # the new grant works, but it is not the one vManage stores: a warning without a cause
    assert grant == ("warn", None)
    assert run.result["verdict"] == "healthy" and run.result["findings"] == []
    assert run.writes["vmanage-001"] == {}


def test_fail_on_fails_the_task_with_the_report(lab, run_playbook):
    run = run_module(lab("seed"), run_playbook, MODULE, fail_on=["GRANT_NOT_FOUND"])

    assert run.result["failed"] is True and "GRANT_NOT_FOUND" in run.result["msg"]
    assert run.playbook.stats["vmanage-001"]["ignored"] == 1 and run.result["verdict"] == "fixable"


@pytest.mark.parametrize("scenario, check, cause, verdict", [
    ("old-release", "release", "RELEASE_TOO_OLD", "blocked"),
    ("unconfigured", "mode", "MODE_NOT_ONPREM", "fixable"),
    ("ssm-backend-down", "ssm_backend", "SSM_BACKEND_DOWN", "blocked"),
])
def test_scenarios(lab, run_playbook, scenario, check, cause, verdict):
    run = run_module(lab(scenario), run_playbook, MODULE)

    assert checks(run.result)[check] == ("fail", cause)
    assert cause in codes(run.result) and run.result["verdict"] == verdict
    assert run.total_writes() == 0


@pytest.mark.parametrize("target, fault, options, check, status, cause", [
    ("ssm", "ssm-listener-closed", {}, "ssm_reach", "fail", "SSM_UNREACHABLE"),
    ("ssm", "wrong-cert", {"variant": "other-ca"}, "ssm_reach", "fail", "SSM_TLS_UNTRUSTED"),
    ("ssm", "ssm-backend-down", {}, "ssm_backend", "fail", "SSM_BACKEND_DOWN"),
    ("ssm", "grant-deleted", {}, "stored_auth", "fail", "GRANT_NOT_FOUND"),
    ("vmanage-001", "ssm-unreachable-from-vmanage", {}, "reach_from_vmanage", "fail", "SSM_UNREACHABLE_FROM_VMANAGE"),
    ("vmanage-001", "dns-missing", {}, "dns", "warn", "DNS_MISSING"),
    ("vmanage-001", "wrong-ssm-password", {}, "stored_auth", "fail", "SSM_BAD_USER_CREDENTIALS"),
    ("vmanage-001", "session-cap", {}, "login", "fail", "VMANAGE_SESSION_CAP"),
    ("vmanage-001", "wrong-cert", {"variant": "other-ca"}, "login", "fail", "VMANAGE_TLS_UNTRUSTED"),
    ("vmanage-001", "xsrf-mismatch", {}, "reach_from_vmanage", "fail", "VMANAGE_XSRF_REJECTED"),
])
def test_faults(module_lab, run_playbook, target, fault, options, check, status, cause):
    healthy = module_lab("healthy")
    healthy.fault(target, fault, **options)
    try:
        run = run_module(healthy, run_playbook, MODULE)
    finally:
        healthy.fault(target, fault, clear=True)

    assert checks(run.result)[check] == (status, cause), run.result["checks"]
    assert cause in codes(run.result)
    assert run.result.get("failed") is not True and run.changed() == 0
