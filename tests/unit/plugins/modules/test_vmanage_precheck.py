"""vmanage_precheck: every check of the troubleshooting list, its cause code, what it skips, and the fix plan."""
import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import VMANAGE_PRECHECK
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.checks import CHECKS
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.precheck import run_precheck

from .conftest import CLIENT_ID, CLIENT_SECRET, SEED_ERROR, SSM_PASSWORD, SSM_URL, FakeClients, Harness, error, module_params

WITH_USER = dict(ssm_username="admin", ssm_password=SSM_PASSWORD)
WITH_GRANT = dict(WITH_USER, ssm_client_id=CLIENT_ID, ssm_client_secret=CLIENT_SECRET)


def params(**values):
    return module_params(VMANAGE_PRECHECK, **values)


def statuses(result):
    return dict((check["name"], check["status"]) for check in result["checks"])


def check(result, name):
    return next(entry for entry in result["checks"] if entry["name"] == name)


def codes(result):
    return [finding["code"] for finding in result["findings"]]


def test_healthy_vmanage_passes_every_check(harness, vmanage, ssm):
    result = harness.run(run_precheck, params(ssm_url=SSM_URL, **WITH_GRANT))

    assert statuses(result) == dict((name, "skip" if name == "supplied_grant" else "pass") for name in CHECKS)
    assert [entry["name"] for entry in result["checks"]] == list(CHECKS)
    assert (result["verdict"], result["findings"], result["changed"], result["release"]) == ("healthy", [], False, "20.12.1")
    assert result["plan"]["text"].startswith("NOTHING TO DO") and not result["plan"]["sync"]
    assert "failed" not in result
    assert "fetch_accounts" in vmanage.names() and vmanage.writes() == []
    assert ("request_token", CLIENT_ID, "password", "admin") in ssm.calls  # the supplied grant is the stored one


def test_a_healthy_vmanage_needs_no_diagnosis_when_asked_to_diagnose_on_failure_only(harness, vmanage, ssm):
    result = harness.run(run_precheck, params(ssm_url=SSM_URL, diagnose="on_failure", **WITH_GRANT))

    assert vmanage.names() == ["license_settings", "user_settings", "fetch_accounts"] and ssm.calls == []
    assert result["verdict"] == "healthy" and result["findings"] == []
    assert check(result, "dns")["detail"].startswith("not needed: vManage authenticated to SSM On-Prem")


def test_an_unexplained_failure_is_diagnosed_in_full_even_when_asked_to_diagnose_on_failure_only(harness, vmanage, ssm):
    vmanage.failures["fetch_accounts"] = error("SSM_UNREACHABLE_FROM_VMANAGE", "connect timed out")
    vmanage.reachable = False

    result = harness.run(run_precheck, params(ssm_url=SSM_URL, diagnose="on_failure", **WITH_USER))

    assert {"ready", "dns_servers", "nping_tcp"} <= set(vmanage.names()) and "backend_alive" in ssm.names()
    assert result["verdict"] == "blocked"


def test_ssm_on_prems_own_verdict_needs_only_the_controllers_look_when_diagnosing_on_failure_only(harness, vmanage, ssm):
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", SEED_ERROR)

    result = harness.run(run_precheck, params(ssm_url=SSM_URL, diagnose="on_failure", **WITH_USER))

    assert vmanage.names() == ["license_settings", "user_settings", "fetch_accounts"] and ssm.names() == ["backend_alive"]
    assert result["plan"]["configure"] is True and result["plan"]["update_secret"] == "always"
    assert "SSM On-Prem answered vManage just now (GRANT_NOT_FOUND)" in [c for c in result["checks"] if c["name"] == "dns"][0]["detail"]


def test_a_controller_that_cannot_reach_ssm_on_prem_blocks_the_fix_even_when_vmanage_reaches_it(harness, vmanage, ssm):
    # vManage got SSM On-Prem's verdict, but the fix's first step (the grant) runs on the controller.
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", SEED_ERROR)
    ssm.failures["backend_alive"] = error("SSM_UNREACHABLE")

    result = harness.run(run_precheck, params(ssm_url=SSM_URL, diagnose="on_failure", **WITH_USER))

    assert (check(result, "controller_to_ssm")["status"], check(result, "controller_to_ssm")["cause"]) == ("fail", "SSM_UNREACHABLE")
    assert result["verdict"] == "blocked" and result["plan"]["blocking"]


def test_a_new_ssm_url_is_probed_even_when_ssm_on_prem_answered_vmanage_at_the_stored_one(harness, vmanage, ssm):
    # vManage reached SSM On-Prem at its stored IP address; the fix would store a host name vManage cannot resolve.
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", SEED_ERROR)
    vmanage.settings["ssm_url"] = "https://127.0.0.1:8443"
    vmanage.dns = []

    result = harness.run(run_precheck, params(ssm_url=SSM_URL, diagnose="on_failure", **WITH_USER))

    assert {"dns_servers", "nping_tcp"} <= set(vmanage.names())
    assert (check(result, "dns")["status"], check(result, "dns")["cause"]) == ("fail", "DNS_MISSING")
    assert result["verdict"] == "blocked" and result["plan"]["blocking"]


def test_stored_configuration_is_tested_without_writing(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", SEED_ERROR)

    result = harness.run(run_precheck, params(**WITH_USER))

    assert check(result, "stored_auth")["cause"] == check(result, "grant")["cause"] == "GRANT_NOT_FOUND"
    assert vmanage.writes() == []


@pytest.mark.parametrize("given", [WITH_USER, {}], ids=["ssm user given", "no ssm user given"])
def test_grant_stored_without_an_ssm_user_is_credentials_missing_without_a_write(harness, vmanage, given):
    vmanage.user.update(credentials_stored=False, user=None)

    result = harness.run(run_precheck, params(**given))

    stored = check(result, "credentials")
    assert (stored["status"], stored["cause"]) == ("fail", "CREDENTIALS_MISSING")
    assert CLIENT_ID in stored["detail"] and "no SSM On-Prem user" in stored["detail"]
    assert result["findings"][0]["fixable"] is True and result["verdict"] == "fixable" and result["plan"]["configure"]
    assert vmanage.writes() == [] and "authenticate" not in vmanage.names() and "fetch_accounts" not in vmanage.names()


def test_seed_error_is_grant_not_found_with_the_api_toolkit_remedy(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", SEED_ERROR)

    result = harness.run(run_precheck, params(**WITH_USER))

    grant = check(result, "grant")
    assert (grant["status"], grant["cause"]) == ("fail", "GRANT_NOT_FOUND")
    assert "Grant not found" in grant["detail"] and "API Toolkit" in grant["remedy"]
    assert codes(result) == ["GRANT_NOT_FOUND"]
    assert result["findings"][0]["fixable"] is True
    assert (result["verdict"], result["plan"]["configure"], result["plan"]["update_secret"]) == ("fixable", True, "always")
    assert "failed" not in result


def test_fail_on_fails_the_task_and_keeps_the_report(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", SEED_ERROR)

    result = harness.run(run_precheck, params(fail_on=["GRANT_NOT_FOUND"], **WITH_USER))

    assert result["failed"] is True
    assert "GRANT_NOT_FOUND" in result["msg"]
    assert result["verdict"] == "fixable" and len(result["checks"]) == len(CHECKS)


def test_fail_on_any_and_an_unrelated_code(harness, vmanage):
    vmanage.settings["mode"] = "online"

    assert harness.run(run_precheck, params(fail_on=["any"]))["failed"] is True
    assert "failed" not in harness.run(run_precheck, params(fail_on=["SSM_BACKEND_DOWN"]))


def test_unknown_fail_on_code_is_invalid_input(harness, vmanage):
    result = harness.run(run_precheck, params(fail_on=["GRANT_MISSING"]))

    assert (result["failed"], result["cause"]) == (True, "INVALID_INPUT")
    assert "GRANT_MISSING" in result["msg"]
    assert vmanage.calls == []


def test_bad_min_release_is_invalid_input(harness):
    result = harness.run(run_precheck, params(min_release="latest"))

    assert (result["failed"], result["cause"]) == (True, "INVALID_INPUT")


def test_old_release_blocks_and_skips_what_needs_on_prem_licensing(harness, vmanage):
    vmanage.release = "20.6.3"

    result = harness.run(run_precheck, params(**WITH_USER))

    assert check(result, "release")["cause"] == "RELEASE_TOO_OLD"
    assert check(result, "stored_auth")["status"] == "skip"
    assert check(result, "stored_auth")["detail"] == "on-prem licensing needs release 20.9.1 or later"
    assert result["verdict"] == "blocked" and result["plan"]["text"] == "STOP - RELEASE_TOO_OLD cannot be fixed by this playbook"
    assert vmanage.writes() == [] and vmanage.names() == []


def test_min_release_is_configurable(harness, vmanage):
    result = harness.run(run_precheck, params(min_release="20.15"))

    assert check(result, "release")["status"] == "fail"


def test_login_failure_skips_vmanage_checks_but_probes_the_given_ssm(ssm):
    clients = FakeClients(ssm=ssm, vmanage_login_error=error("VMANAGE_AUTH_FAILED", "vManage refused the login"))

    result = Harness(clients).run(run_precheck, params(ssm_url=SSM_URL, **WITH_GRANT))

    assert statuses(result)["login"] == "fail"
    vmanage_checks = ("release", "ready", "mode", "ssm_url", "credentials", "dns", "vmanage_to_ssm", "stored_auth", "grant")
    assert [statuses(result)[name] for name in vmanage_checks] == ["skip"] * len(vmanage_checks)
    assert [statuses(result)[name] for name in ("controller_to_ssm", "ssm_backend", "supplied_grant")] == ["pass"] * 3
    assert codes(result) == ["VMANAGE_AUTH_FAILED"] and result["verdict"] == "blocked" and result["release"] is None


def test_not_ready(harness, vmanage):
    vmanage.ready_flag = False

    assert check(harness.run(run_precheck, params()), "ready")["cause"] == "VMANAGE_NOT_READY"


def test_mode_not_on_prem_is_fixable_and_vmanage_is_not_asked_to_reach_ssm(harness, vmanage):
    vmanage.settings["mode"] = "online"

    result = harness.run(run_precheck, params(**WITH_USER))

    assert codes(result) == ["MODE_NOT_ONPREM"] and result["verdict"] == "fixable"
    assert check(result, "stored_auth")["detail"] == "not asked: vManage has no on-prem mode"
    assert "fetch_accounts" not in vmanage.names()


def test_missing_ssm_url_probes_the_given_one(harness, vmanage, ssm):
    vmanage.settings["ssm_url"] = None

    result = harness.run(run_precheck, params(ssm_url=SSM_URL, **WITH_USER))

    assert check(result, "ssm_url")["cause"] == "SSM_URL_MISSING"
    assert ("nping_tcp", "ssm.lab.example", 8443, "0") in vmanage.calls
    assert statuses(result)["stored_auth"] == "skip"
    assert harness.clients.ssm_urls == [SSM_URL]


def test_ssm_url_mismatch_probes_the_url_the_fix_will_store(harness, vmanage):
    result = harness.run(run_precheck, params(ssm_url="https://other-ssm.lab.example:8443"))

    assert check(result, "ssm_url")["cause"] == "SSM_URL_MISMATCH"
    assert ("nping_tcp", "other-ssm.lab.example", 8443, "0") in vmanage.calls
    assert not any(call[:2] == ("nping_tcp", "ssm.lab.example") for call in vmanage.calls)


def test_same_ssm_url_with_default_port_and_trailing_slash_matches(harness, vmanage):
    vmanage.settings["ssm_url"] = "https://SSM.lab.example/"

    result = harness.run(run_precheck, params(ssm_url="https://ssm.lab.example:8443"))

    assert check(result, "ssm_url")["status"] == "pass"


def test_dns_missing_fails_for_a_host_name(harness, vmanage):
    vmanage.dns = []

    result = harness.run(run_precheck, params())

    assert (check(result, "dns")["status"], check(result, "dns")["cause"]) == ("fail", "DNS_MISSING")
    assert result["verdict"] == "blocked"


def test_dns_missing_only_warns_for_an_ip_address(harness, vmanage):
    vmanage.dns = []
    vmanage.settings["ssm_url"] = "https://127.0.0.1:8443"

    result = harness.run(run_precheck, params())

    assert (check(result, "dns")["status"], codes(result)) == ("warn", ["DNS_MISSING"])
    assert result["findings"][0]["blocking"] is False and result["verdict"] == "healthy"


def test_unreachable_from_vmanage_blocks_with_the_vpn_it_tried(harness, vmanage):
    vmanage.reachable = False
    vmanage.failures["fetch_accounts"] = error("SSM_UNREACHABLE_FROM_VMANAGE", "connect timed out")

    result = harness.run(run_precheck, params(vpn="512", **WITH_USER))

    reach = check(result, "vmanage_to_ssm")
    assert reach["cause"] == "SSM_UNREACHABLE_FROM_VMANAGE" and "VPN 512" in reach["detail"]
    assert result["verdict"] == "blocked"
    assert vmanage.writes() == []


@pytest.mark.parametrize("cause", ["SSM_UNREACHABLE", "SSM_TLS_UNTRUSTED"])
def test_ssm_unreachable_from_the_controller_blocks_and_skips_the_backend_and_the_tokens(harness, ssm, cause):
    ssm.failures["backend_alive"] = error(cause)

    result = harness.run(run_precheck, params(**WITH_GRANT))

    assert check(result, "controller_to_ssm")["cause"] == cause and result["verdict"] == "blocked"
    assert statuses(result)["ssm_backend"] == "skip" and "request_token" not in ssm.names()


def test_backend_down_is_not_unreachable(harness, ssm, vmanage):
    ssm.backend = False
    vmanage.failures["fetch_accounts"] = error("SSM_BACKEND_DOWN", "502 Bad Gateway")

    result = harness.run(run_precheck, params(**WITH_GRANT))

    assert statuses(result)["controller_to_ssm"] == "pass"
    assert check(result, "ssm_backend")["cause"] == "SSM_BACKEND_DOWN"
    assert "request_token" not in ssm.names()
    assert result["verdict"] == "blocked"
    assert vmanage.writes() == []


def test_the_supplied_grant_is_skipped_when_none_is_given(harness, vmanage):
    result = harness.run(run_precheck, params())

    assert check(result, "supplied_grant")["detail"] == "no other client id and secret supplied (ssm_client_id)"
    assert vmanage.writes() == []


def test_nothing_stored_on_vmanage_is_credentials_missing(harness, vmanage):
    vmanage.settings.update(client_id=None, secret_stored=False)

    result = harness.run(run_precheck, params(**WITH_USER))

    assert check(result, "credentials")["cause"] == "CREDENTIALS_MISSING" and result["plan"]["configure"]
    assert vmanage.writes() == []


def test_a_secret_vmanage_does_not_show_is_proven_by_its_use(harness, vmanage):
    vmanage.settings["secret_stored"] = None

    result = harness.run(run_precheck, params(**WITH_USER))

    assert check(result, "credentials")["status"] == "pass" and "does not show" in check(result, "credentials")["detail"]
    assert check(result, "stored_auth")["status"] == "pass" and result["verdict"] == "healthy"


@pytest.mark.parametrize("secret, user_password, cause", [
    ("lab-fake-wrong-secret", SSM_PASSWORD, "GRANT_NOT_FOUND"),
    (CLIENT_SECRET, "lab-fake-wrong-password", "SSM_BAD_USER_CREDENTIALS"),
])
def test_a_supplied_grant_other_than_the_stored_one_is_proven_from_the_controller(harness, ssm, secret, user_password, cause):
    ssm.valid["other-client"] = CLIENT_SECRET
    result = harness.run(run_precheck, params(ssm_client_id="other-client", ssm_client_secret=secret, ssm_username="admin",
                                              ssm_password=user_password, checks=["supplied_grant"], ssm_url=SSM_URL))

    supplied = check(result, "supplied_grant")
    assert supplied["cause"] == cause and "leave them unset" in supplied["remedy"]
    assert result["verdict"] == "blocked"  # the fix cannot repair a grant it is given


def test_the_supplied_grant_when_it_is_the_stored_one_proves_the_stored_grant(harness, ssm):
    ssm.valid[CLIENT_ID] = "lab-fake-rotated"
    result = harness.run(run_precheck, params(ssm_client_id=CLIENT_ID, ssm_client_secret=CLIENT_SECRET, **WITH_USER))

    assert check(result, "grant")["cause"] == "GRANT_NOT_FOUND" and "token request from the controller" in check(result, "grant")["detail"]


def test_working_grant_that_vmanage_does_not_store_passes_and_names_the_stored_one(harness, ssm):
    ssm.valid["other-client"] = "lab-fake-other-secret"

    result = harness.run(run_precheck, params(ssm_client_id="other-client", ssm_client_secret="lab-fake-other-secret", **WITH_USER))

    supplied = check(result, "supplied_grant")
    assert supplied["status"] == "pass" and CLIENT_ID in supplied["detail"] and supplied["cause"] is None


def test_selected_checks_only_plus_login(harness, vmanage, ssm):
    result = harness.run(run_precheck, params(checks=["release", "ssm_backend"]))

    assert [entry["name"] for entry in result["checks"]] == ["login", "release", "ssm_backend"]
    assert vmanage.names() == ["license_settings", "user_settings", "fetch_accounts"]  # vManage's view of SSM's backend


def test_ssm_only_checks_with_an_ssm_url_do_not_log_in_to_vmanage(ssm):
    clients = FakeClients(ssm=ssm, vmanage_login_error=AssertionError("no vManage session expected"))

    result = Harness(clients).run(run_precheck, params(ssm_url=SSM_URL, checks=["controller_to_ssm", "ssm_backend"]))

    assert statuses(result) == dict(controller_to_ssm="pass", ssm_backend="pass")


def test_settings_read_error_fails_the_checks_that_need_them(harness, vmanage):
    vmanage.failures["license_settings"] = error("HTTP_ERROR", "vManage answered HTTP 500")

    result = harness.run(run_precheck, params(ssm_url=SSM_URL))

    assert check(result, "mode")["cause"] == check(result, "ssm_url")["cause"] == "HTTP_ERROR"
    assert vmanage.names().count("license_settings") == 1


def test_check_mode_runs_the_same_checks(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", SEED_ERROR)
    normal = harness.run(run_precheck, params(**WITH_USER))
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", SEED_ERROR)

    checked = harness.run(run_precheck, params(**WITH_USER), check_mode=True)

    assert checked == normal


def test_every_cause_a_check_reports_is_documented():
    assert set(["RELEASE_TOO_OLD", "VMANAGE_NOT_READY", "MODE_NOT_ONPREM", "SSM_URL_MISSING", "SSM_URL_MISMATCH", "DNS_MISSING",
                "SSM_UNREACHABLE_FROM_VMANAGE", "SSM_BACKEND_DOWN", "CREDENTIALS_MISSING"]) <= set(CAUSES)


@pytest.mark.parametrize("cause", ["SSM_UNREACHABLE_FROM_VMANAGE", "DNS_MISSING", "SSM_TLS_UNTRUSTED", "SSM_BACKEND_DOWN"])
def test_stored_url_unreachable_does_not_block_when_the_fix_replaces_the_url(harness, vmanage, cause):
    # vManage stores a stale SSM URL it cannot reach; the fix stores the given one, which the other checks probe.
    vmanage.failures["fetch_accounts"] = error(cause, "vManage could not fetch the accounts from SSM On-Prem: Connection refused")

    result = harness.run(run_precheck, params(ssm_url="https://other-ssm.lab.example:8443", **WITH_USER))

    stored = check(result, "stored_auth")
    assert (stored["status"], stored["cause"]) == ("warn", cause)
    assert "https://other-ssm.lab.example:8443" in stored["detail"]
    assert [(f["code"], f["blocking"]) for f in result["findings"]] == [("SSM_URL_MISMATCH", True), (cause, False)]
    assert result["verdict"] == "fixable"


def test_stored_url_unreachable_blocks_when_it_is_the_url_the_fix_keeps(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("SSM_UNREACHABLE_FROM_VMANAGE", "vManage could not fetch the accounts: Connection refused")

    result = harness.run(run_precheck, params(ssm_url=SSM_URL, **WITH_USER))

    assert (check(result, "stored_auth")["status"], result["verdict"]) == ("fail", "blocked")


def test_vmanage_error_of_the_stored_auth_still_blocks_on_a_url_mismatch(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("VMANAGE_SESSION_EXPIRED", "vManage ended the session")

    result = harness.run(run_precheck, params(ssm_url="https://other-ssm.lab.example:8443", **WITH_USER))

    assert (check(result, "stored_auth")["status"], result["verdict"]) == ("fail", "blocked")


def test_an_unexplained_failure_of_the_stored_grant_is_fixed_by_writing_it_again(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("SYNC_FAILED", "vManage could not fetch the accounts: something new")

    result = harness.run(run_precheck, params(**WITH_USER))

    assert (result["verdict"], result["plan"]["configure"], result["plan"]["sync"]) == ("fixable", True, True)


# --- freshness and the plan (the last-sync check) ---------------------------------------------------------------

def test_a_stale_last_sync_is_fixed_by_a_sync_alone(harness, vmanage):
    vmanage.user["last_sync"] = dict(time="2026-11-20T09:00:00Z", age_s=7200, ok=True, error=None)

    result = harness.run(run_precheck, params(max_age=3600, **WITH_USER))

    assert check(result, "last_sync")["cause"] == "SYNC_STALE"
    assert (result["plan"]["configure"], result["plan"]["sync"], result["plan"]["text"][:4]) == (False, True, "SYNC")


def test_a_vmanage_that_reports_no_last_sync_is_healthy_when_its_stored_grant_works(harness, vmanage):
    vmanage.reports_last_sync = False

    result = harness.run(run_precheck, params(**WITH_USER))

    last_sync = check(result, "last_sync")
    assert last_sync["status"] == "skip" and "does not report its last sync" in last_sync["detail"]
    assert result["plan"]["sync"] is False and result["verdict"] == "healthy"
    assert result["last_sync"]["reported"] is False


def test_a_vmanage_that_was_not_asked_to_reach_ssm_is_diagnosed_in_full_when_diagnosing_on_failure(harness, vmanage, ssm):
    vmanage.settings["mode"] = "online"

    result = harness.run(run_precheck, params(ssm_url=SSM_URL, diagnose="on_failure", **WITH_USER))

    assert "nping_tcp" in vmanage.names() and "backend_alive" in ssm.names()
    assert result["plan"]["configure"] is True
