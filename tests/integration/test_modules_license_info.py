"""vmanage_license_info against the lab: five requests (six with ssm_check), read-only, every release, the faults it can meet."""
import pytest

from .module_runs import assert_idempotent, four_steps, run_module

MODULE = "vmanage_license_info"
# A read-only session: the XSRF token comes with the server info (CSRFToken), no GET /dataservice/client/token.
FIVE_REQUESTS = {
    "POST /j_security_check": 1,
    "GET /dataservice/client/server": 1,
    "GET /dataservice/settings/configuration/smartLicensing": 1,
    "GET /dataservice/smartLicensing/getUserSettings": 1,
    "POST /logout": 1,
}


def test_check_real_idempotent_with_five_requests_and_no_write(lab, run_playbook):
    seed = lab("seed")

    runs = four_steps(seed, run_playbook, MODULE)

    for run in runs:
        assert run.changed() == 0 and run.total_writes() == 0
        assert run.vmanage_requests() == FIVE_REQUESTS
        assert run.requests["ssm"] == {}
    assert_idempotent(runs)
    result = runs[1].result
    vmanage = seed.state()["vmanage"]["vmanage-001"]
    assert (result["mode"], result["ssm_url"], result["client_id"]) == (
        "on-prem", vmanage["settings"]["ssmServerUrl"], vmanage["settings"]["ssmClientId"])
    assert result["client_secret_stored"] is True and result["release"] == "20.12.1"
    assert result["last_sync"]["ok"] is False and "Grant not found" in result["last_sync"]["error"]


def test_release_20_15_uses_the_v1_user_settings(lab, run_playbook):
    run = run_module(lab("healthy", release="20.15.1"), run_playbook, MODULE)

    assert "GET /dataservice/v1/smart-licensing/user-settings" in run.vmanage_requests()
    assert sum(run.vmanage_requests().values()) == 5
    assert run.result["last_sync"]["ok"] is True and run.result["last_sync"]["age_s"] >= 0


def test_release_20_9_logs_out_with_get(lab, run_playbook):
    run = run_module(lab("healthy", release="20.9.1"), run_playbook, MODULE)

    assert run.vmanage_requests().get("GET /logout") == 1 and "POST /logout" not in run.vmanage_requests()


def test_gather_accounts_and_licenses(lab, run_playbook):
    run = run_module(lab("healthy", release="20.15.1"), run_playbook, MODULE, gather=["accounts", "licenses"])

    assert run.result.get("failed") is not True, run.result
    assert [account["name"] for account in run.result["accounts"]][:1] == ["SDWAN-LAB"]
    assert run.result["licenses"] and all("virtual_account_id" in row for row in run.result["licenses"])
    assert run.total_writes() == 0


def test_ssm_check_proves_the_path_to_ssm_now_in_six_requests_without_a_write(module_lab, run_playbook):
    healthy = module_lab("healthy")
    run = run_module(healthy, run_playbook, MODULE, gather=["ssm_check"])
    assert run.result["ssm_check"]["ok"] is True, run.result
    assert sum(run.vmanage_requests().values()) == 6 and run.total_writes() == 0

    healthy.fault("vmanage-001", "ssm-unreachable-from-vmanage")
    try:
        run = run_module(healthy, run_playbook, MODULE, gather=["ssm_check"])
    finally:
        healthy.fault("vmanage-001", "ssm-unreachable-from-vmanage", clear=True)
    assert run.result.get("failed") is not True, run.result
    assert run.result["last_sync"]["ok"] is True
    assert (run.result["ssm_check"]["ok"], run.result["ssm_check"]["cause"]) == (False, "SSM_UNREACHABLE_FROM_VMANAGE")
    assert "connect timed out" in run.result["ssm_check"]["detail"] and run.total_writes() == 0


def test_unconfigured_vmanage(lab, run_playbook):
    result = run_module(lab("unconfigured"), run_playbook, MODULE).result

    assert result["mode"] == "online" and result.get("failed") is not True


@pytest.mark.parametrize("fault, options, cause", [
    ("session-cap", {}, "VMANAGE_SESSION_CAP"),
    ("wrong-cert", {"variant": "other-ca"}, "VMANAGE_TLS_UNTRUSTED"),
    ("wrong-cert", {"variant": "wrong-host"}, "VMANAGE_TLS_UNTRUSTED"),
])
def test_vmanage_faults_fail_with_their_cause(module_lab, run_playbook, fault, options, cause):
    healthy = module_lab("healthy")
    healthy.fault("vmanage-001", fault, **options)
    try:
        run = run_module(healthy, run_playbook, MODULE)
    finally:
        healthy.fault("vmanage-001", fault, clear=True)

    assert (run.result["failed"], run.result["cause"]) == (True, cause)
    assert run.result["remedy"]


def test_wrong_password_is_vmanage_auth_failed(lab, run_playbook):
    run = run_module(lab("healthy"), run_playbook, MODULE, vmanage_password="lab-fake-wrong-password")

    assert run.result["cause"] == "VMANAGE_AUTH_FAILED"
    assert "lab-fake-wrong-password" not in run.playbook.stdout


def test_rate_limit_is_retried_with_a_warning(lab, run_playbook):
    healthy = lab("healthy")
    healthy.fault("vmanage-001", "rate-limit", every=3, retry_after=1)

    run = run_module(healthy, run_playbook, MODULE)

    assert run.result.get("failed") is not True, run.result
    assert sum(run.vmanage_requests().values()) > 5
    output = run.playbook.stdout + run.playbook.stderr
    assert "429" in output and "retry 1 of 3" in output
