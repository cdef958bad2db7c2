"""vmanage_license_info: read-only facts in one session, the fewest requests, never the secret."""
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import VMANAGE_LICENSE_INFO
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.license_info import run_license_info

from .conftest import CLIENT_ID, SSM_URL, FakeClients, Harness, error, module_params


def test_default_reads_settings_and_user_settings_only(harness, vmanage):
    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO))

    assert vmanage.names() == ["license_settings", "user_settings"]
    assert result == dict(
        changed=False, release="20.12.1", mode="on-prem", ssm_url=SSM_URL, client_id=CLIENT_ID, client_secret_stored=True,
        credentials_stored=True, ssm_username="admin",
        last_sync=dict(time="2026-11-26T09:00:00Z", age_s=60, ok=True, error=None, reported=True), dialect={})


def test_gather_accounts_adds_accounts_only(harness, vmanage):
    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO, gather=["accounts"]))

    assert vmanage.names() == ["license_settings", "user_settings", "fetch_accounts"]
    assert [account["name"] for account in result["accounts"]] == ["lab-onprem"]
    assert "licenses" not in result


def test_gather_licenses_reads_every_virtual_account(harness, vmanage):
    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO, gather=["licenses"]))

    assert [call for call in vmanage.calls if call[0] == "licenses"] == [("licenses", "1"), ("licenses", "2")]
    assert result["licenses"] == [dict(display_name="DNA Advantage", in_use=3, virtual_account_id="1")]
    assert "accounts" in result


def test_release_without_licence_api_returns_null_licenses_and_warns(harness, vmanage):
    vmanage.licenses_by_va = None

    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO, gather=["licenses"]))

    assert result["licenses"] is None and result["accounts"]
    assert any("20.15" in warning for warning in harness.warnings)


def test_unconfigured_vmanage_reports_nulls(harness, vmanage):
    vmanage.settings = dict(mode=None, ssm_url=None, client_id=None, secret_stored=False)
    vmanage.user.update(credentials_stored=False, user=None, last_sync=dict(time=None, age_s=None, ok=None, error=None))

    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO))

    assert (result["mode"], result["client_id"], result["client_secret_stored"], result["credentials_stored"]) == (None, None, False, False)
    assert result["last_sync"]["time"] is None


def test_login_failure_is_a_failed_result_with_the_cause():
    harness = Harness(FakeClients(vmanage_login_error=error("VMANAGE_AUTH_FAILED", "vManage refused the login of user 'admin'")))

    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO))

    assert result["failed"] is True
    assert result["cause"] == "VMANAGE_AUTH_FAILED"
    assert "refused the login" in result["msg"] and result["remedy"]


def test_read_error_after_login_fails_with_its_cause(harness, vmanage):
    vmanage.failures["user_settings"] = error("VMANAGE_RATE_LIMITED", "vManage answered HTTP 429")

    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO))

    assert (result["failed"], result["cause"]) == (True, "VMANAGE_RATE_LIMITED")


def test_ssm_check_lets_vmanage_ask_ssm_now_with_one_read_more(harness, vmanage):
    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO, gather=["ssm_check"]))

    assert vmanage.names() == ["license_settings", "user_settings", "fetch_accounts"]
    assert result["ssm_check"]["ok"] is True and result["ssm_check"]["cause"] is None
    assert "accounts" not in result


def test_ssm_check_failure_is_a_fact_with_its_cause_not_a_failed_module(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("DNS_MISSING", "vManage could not fetch the accounts from SSM On-Prem: "
                                                              "java.net.UnknownHostException: localhost")

    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO, gather=["ssm_check"]))

    assert "failed" not in result
    assert result["ssm_check"] == dict(ok=False, cause="DNS_MISSING", detail=vmanage.failures["fetch_accounts"].detail)
    assert result["last_sync"]["ok"] is True


def test_a_failed_ssm_check_leaves_accounts_and_licences_null_instead_of_failing_on_a_second_try(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", "Grant not found")

    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO, gather=["ssm_check", "licenses"]))

    assert "failed" not in result and vmanage.names().count("fetch_accounts") == 1
    assert (result["ssm_check"]["cause"], result["accounts"], result["licenses"]) == ("GRANT_NOT_FOUND", None, None)
    assert harness.warnings == ["accounts and licenses are null: vManage could not fetch its accounts from SSM On-Prem "
                                "(GRANT_NOT_FOUND)"]


def test_ssm_check_is_not_asked_when_the_settings_show_it_cannot_work(harness, vmanage):
    vmanage.settings = dict(mode="online", ssm_url=None, client_id=None, secret_stored=False)

    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO, gather=["ssm_check"]))

    assert "fetch_accounts" not in vmanage.names()
    assert result["ssm_check"]["ok"] is None and "on-prem mode" in result["ssm_check"]["detail"]


def test_ssm_check_with_accounts_asks_once(harness, vmanage):
    result = harness.run(run_license_info, module_params(VMANAGE_LICENSE_INFO, gather=["ssm_check", "accounts"]))

    assert vmanage.names().count("fetch_accounts") == 1
    assert result["ssm_check"]["ok"] is True and result["accounts"][0]["name"] == "lab-onprem"
