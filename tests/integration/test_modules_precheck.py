"""vmanage_precheck against the lab: read-only, the seed's error as GRANT_NOT_FOUND, every fault as its cause."""
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import SSM_GRANT, VMANAGE_LICENSE_INFO
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.grant import run_ssm_grant
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import RunContext

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
    assert set(status for status, _cause in results.values()) == {"pass"}, run.result["checks"]
    # the new grant works, but it is not the one vManage stores, which keeps working: the detail names both
    supplied = next(check for check in run.result["checks"] if check["name"] == "supplied_grant")
    assert "vManage stores client id" in supplied["detail"]
    assert run.result["verdict"] == "healthy" and run.result["findings"] == []
    assert run.writes["vmanage-001"] == {}


def validated(spec, options):
    validation = ArgumentSpecValidator(spec["argument_spec"]).validate(options)
    assert not validation.error_messages, validation.error_messages
    return validation.validated_parameters


def store_a_grant_without_an_ssm_user(lab):
    """vManage stores the client id and secret of a working grant but has never authenticated with them."""
    ssm, host, ca_cert = lab.info["ssm"], lab.info["vmanage"][0], lab.info["ca_cert"]
    grant = run_ssm_grant(validated(SSM_GRANT, {
        "ssm_url": ssm["url"], "ssm_username": ssm["username"], "ssm_password": ssm["password"], "ssm_ca_path": ca_cert,
        "ssm_admin_username": ssm["admin_username"], "ssm_admin_password": ssm["admin_password"], "name": "no-user-yet"}),
        RunContext(no_log=True))
    ctx = RunContext()
    with ctx.clients.vmanage(validated(VMANAGE_LICENSE_INFO, {
            "vmanage_host": host["host"], "vmanage_port": host["port"], "vmanage_username": host["username"],
            "vmanage_password": host["password"], "vmanage_ca_path": ca_cert})) as vmanage:
        vmanage.put_license_settings("on-prem", ssm["url"], grant["client_id"], grant["client_secret"])
    return grant["client_id"]


def test_grant_without_a_stored_ssm_user_is_credentials_missing_without_a_write(lab, run_playbook):
    unconfigured = lab("unconfigured")
    client_id = store_a_grant_without_an_ssm_user(unconfigured)
    assert unconfigured.state()["vmanage"]["vmanage-001"]["credentials"]["present"] is False

    run = run_module(unconfigured, run_playbook, MODULE)

    assert checks(run.result)["credentials"] == ("fail", "CREDENTIALS_MISSING"), run.result["checks"]
    assert client_id in run.result["findings"][0]["detail"] and run.result["verdict"] == "fixable"
    assert run.total_writes() == 0, run.writes
    assert unconfigured.state()["vmanage"]["vmanage-001"]["credentials"]["present"] is False


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
    ("ssm", "ssm-listener-closed", {}, "controller_to_ssm", "fail", "SSM_UNREACHABLE"),
    ("ssm", "wrong-cert", {"variant": "other-ca"}, "controller_to_ssm", "fail", "SSM_TLS_UNTRUSTED"),
    ("ssm", "ssm-backend-down", {}, "ssm_backend", "fail", "SSM_BACKEND_DOWN"),
    ("ssm", "grant-deleted", {}, "stored_auth", "fail", "GRANT_NOT_FOUND"),
    ("vmanage-001", "ssm-unreachable-from-vmanage", {}, "vmanage_to_ssm", "fail", "SSM_UNREACHABLE_FROM_VMANAGE"),
    ("vmanage-001", "dns-missing", {}, "dns", "warn", "DNS_MISSING"),
    ("vmanage-001", "wrong-ssm-password", {}, "stored_auth", "fail", "SSM_BAD_USER_CREDENTIALS"),
    ("vmanage-001", "session-cap", {}, "login", "fail", "VMANAGE_SESSION_CAP"),
    ("vmanage-001", "wrong-cert", {"variant": "other-ca"}, "login", "fail", "VMANAGE_TLS_UNTRUSTED"),
    ("vmanage-001", "xsrf-mismatch", {}, "vmanage_to_ssm", "fail", "VMANAGE_XSRF_REJECTED"),
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
