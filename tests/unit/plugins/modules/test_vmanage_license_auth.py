"""vmanage_license_auth: prove first, write only when something differs, restore on a failed authenticate."""
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import VMANAGE_LICENSE_AUTH
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.license_auth import run_license_auth

from .conftest import CLIENT_ID, CLIENT_SECRET, SEED_ERROR, SSM_PASSWORD, SSM_URL, error, module_params

NEW_ID = "new-client-id"
NEW_SECRET = "lab-fake-new-secret"


def params(**values):
    base = dict(ssm_url=SSM_URL, ssm_client_id=CLIENT_ID, ssm_client_secret=CLIENT_SECRET, ssm_username="admin",
                ssm_password=SSM_PASSWORD)
    base.update(values)
    return module_params(VMANAGE_LICENSE_AUTH, **base)


def new_grant(ssm):
    ssm.valid[NEW_ID] = NEW_SECRET
    return params(ssm_client_id=NEW_ID, ssm_client_secret=NEW_SECRET)


def test_matching_configuration_changes_nothing_and_writes_nothing(harness, vmanage, ssm):
    result = harness.run(run_license_auth, params(), diff=True)

    assert result["changed"] is False and result["authenticated"] is True and result["restored"] is False
    assert result["settings"] == dict(mode="on-prem", ssm_url=SSM_URL, client_id=CLIENT_ID)
    assert result["diff"]["before"] == result["diff"]["after"]
    assert vmanage.names() == ["license_settings", "user_settings", "fetch_accounts"]
    assert vmanage.writes() == []
    assert ssm.names() == ["request_token"]


def test_stored_configuration_that_no_longer_authenticates_is_written_again(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("GRANT_NOT_FOUND", SEED_ERROR)

    result = harness.run(run_license_auth, params())

    assert result["changed"] is True and result["authenticated"] is True
    assert vmanage.writes() == [("put_license_settings", "on-prem", SSM_URL, CLIENT_ID, CLIENT_SECRET),
                                ("authenticate", "admin", SSM_PASSWORD)]


def test_wrong_stored_ssm_password_is_written_again(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("SSM_BAD_USER_CREDENTIALS", "invalid_grant")

    assert harness.run(run_license_auth, params())["changed"] is True


def test_vmanage_that_cannot_reach_ssm_is_not_written(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("SSM_UNREACHABLE_FROM_VMANAGE", "connect timed out")

    result = harness.run(run_license_auth, params())

    assert (result["failed"], result["cause"]) == (True, "SSM_UNREACHABLE_FROM_VMANAGE")
    assert vmanage.writes() == []


def test_url_spelling_differences_are_not_a_change(harness, vmanage):
    result = harness.run(run_license_auth, params(ssm_url="https://SSM.lab.example:8443/"))

    assert result["changed"] is False and vmanage.writes() == []


def test_new_grant_is_proven_then_written_then_authenticated(harness, vmanage, ssm):
    result = harness.run(run_license_auth, new_grant(ssm), diff=True)

    assert result["changed"] is True and result["authenticated"] is True
    assert vmanage.writes() == [("put_license_settings", "on-prem", SSM_URL, NEW_ID, NEW_SECRET), ("authenticate", "admin", SSM_PASSWORD)]
    assert ssm.calls == [("request_token", NEW_ID, "password", "admin")]
    assert result["diff"] == dict(
        before=dict(mode="on-prem", ssmServerUrl=SSM_URL, ssmClientId=CLIENT_ID, ssmClientSecret="(hidden)"),
        after=dict(mode="on-prem", ssmServerUrl=SSM_URL, ssmClientId=NEW_ID, ssmClientSecret="(hidden, changed)"))
    assert NEW_SECRET not in repr(result)


def test_unconfigured_vmanage_is_configured(harness, vmanage):
    vmanage.settings = dict(mode="online", ssm_url=None, client_id=None, secret_stored=False)
    vmanage.user.update(credentials_stored=False, user=None)

    result = harness.run(run_license_auth, params(), diff=True)

    assert result["changed"] is True
    assert result["diff"]["before"] == dict(mode="online", ssmServerUrl=None, ssmClientId=None, ssmClientSecret=None)
    assert [call[0] for call in vmanage.writes()] == ["put_license_settings", "authenticate"]


def test_other_stored_ssm_user_is_a_change(harness, vmanage):
    vmanage.user["user"] = "someone-else"

    assert harness.run(run_license_auth, params())["changed"] is True


def test_update_secret_always_writes_every_run(harness, vmanage):
    result = harness.run(run_license_auth, params(update_secret="always"))

    assert result["changed"] is True
    assert vmanage.writes()[0] == ("put_license_settings", "on-prem", SSM_URL, CLIENT_ID, CLIENT_SECRET)


def test_check_mode_proves_but_writes_nothing(harness, vmanage, ssm):
    result = harness.run(run_license_auth, new_grant(ssm), check_mode=True, diff=True)

    assert result["changed"] is True and result["authenticated"] is False
    assert result["settings"]["client_id"] == NEW_ID
    assert vmanage.writes() == [] and ssm.names() == ["request_token"]


def test_release_below_20_9_1_is_refused_before_anything_else(harness, vmanage, ssm):
    vmanage.release = "20.6.3"

    result = harness.run(run_license_auth, params())

    assert (result["failed"], result["cause"]) == (True, "RELEASE_TOO_OLD")
    assert "20.6.3" in result["msg"]
    assert vmanage.calls == [] and ssm.calls == []


def test_unknown_grant_never_touches_vmanage(harness, vmanage):
    result = harness.run(run_license_auth, params(ssm_client_id="deleted-grant", ssm_client_secret="lab-fake-old"))

    assert (result["failed"], result["cause"]) == (True, "GRANT_NOT_FOUND")
    assert vmanage.writes() == []


def test_wrong_ssm_user_never_touches_vmanage(harness, vmanage):
    result = harness.run(run_license_auth, params(ssm_password="lab-fake-wrong"))

    assert (result["failed"], result["cause"]) == (True, "SSM_BAD_USER_CREDENTIALS")
    assert vmanage.writes() == []


def test_failed_authenticate_never_puts_back_a_client_id_without_its_secret(harness, vmanage, ssm):
    vmanage.failures["authenticate"] = error("SSM_UNREACHABLE_FROM_VMANAGE", "connect timed out")

    result = harness.run(run_license_auth, new_grant(ssm))

    assert (result["failed"], result["cause"], result["restored"], result["changed"]) == (True, "SSM_UNREACHABLE_FROM_VMANAGE", False, True)
    # The only write is the new client id with its own (proven) secret: the old id would go back with the new secret.
    assert vmanage.writes() == [("put_license_settings", "on-prem", SSM_URL, NEW_ID, NEW_SECRET), ("authenticate", "admin", SSM_PASSWORD)]
    assert vmanage.settings["client_id"] == NEW_ID
    assert result["settings"] == dict(mode="on-prem", ssm_url=SSM_URL, client_id=NEW_ID)
    assert "vManage now stores the new settings" in result["msg"] and NEW_ID in result["msg"]
    assert "previous client id %s was not put back" % CLIENT_ID in result["msg"] and "run again" in result["msg"]
    assert NEW_SECRET not in repr(result)


def test_failed_authenticate_with_the_same_grant_puts_back_the_previous_url(harness, vmanage, ssm):
    vmanage.failures["authenticate"] = error("DNS_MISSING", "vManage cannot resolve ssm-new.lab.example")
    new_url = "https://ssm-new.lab.example:8443"

    result = harness.run(run_license_auth, params(ssm_url=new_url))

    assert (result["failed"], result["cause"], result["restored"]) == (True, "DNS_MISSING", True)
    assert vmanage.writes() == [("put_license_settings", "on-prem", new_url, CLIENT_ID, CLIENT_SECRET), ("authenticate", "admin", SSM_PASSWORD),
                                ("put_license_settings", "on-prem", SSM_URL, CLIENT_ID, CLIENT_SECRET)]
    assert result["settings"] == dict(mode="on-prem", ssm_url=SSM_URL, client_id=CLIENT_ID)
    assert "previous mode and SSM URL were put back" in result["msg"]


def test_failed_authenticate_with_the_same_settings_writes_nothing_more(harness, vmanage, ssm):
    vmanage.failures["authenticate"] = error("SSM_BACKEND_DOWN", "SSM On-Prem answered 502")

    result = harness.run(run_license_auth, params(update_secret="always"))

    assert (result["failed"], result["cause"], result["restored"]) == (True, "SSM_BACKEND_DOWN", False)
    assert [call[0] for call in vmanage.writes()] == ["put_license_settings", "authenticate"]
    assert result["settings"]["client_id"] == CLIENT_ID and "as before this run" in result["msg"]


def test_failed_restore_is_reported(harness, vmanage, ssm):
    vmanage.failures["authenticate"] = error("DNS_MISSING", "vManage cannot resolve ssm-new.lab.example")
    vmanage.failures["put_license_settings"] = [None, error("HTTP_ERROR", "vManage answered HTTP 500")]

    result = harness.run(run_license_auth, params(ssm_url="https://ssm-new.lab.example:8443"))

    assert (result["failed"], result["cause"], result["restored"]) == (True, "DNS_MISSING", False)
    assert "failed as well" in result["msg"] and "vManage answered HTTP 500" in result["msg"]
    assert any("putting back" in warning for warning in harness.warnings)


def test_new_grant_is_not_written_when_vmanage_cannot_reach_the_ssm_it_uses(harness, vmanage, ssm):
    vmanage.failures["fetch_accounts"] = error("SSM_UNREACHABLE_FROM_VMANAGE", "connect timed out")

    result = harness.run(run_license_auth, new_grant(ssm))

    assert (result["failed"], result["cause"]) == (True, "SSM_UNREACHABLE_FROM_VMANAGE")
    assert vmanage.writes() == [] and vmanage.settings["client_id"] == CLIENT_ID


def test_new_ssm_url_is_written_even_when_the_old_ssm_is_gone(harness, vmanage):
    vmanage.failures["fetch_accounts"] = error("SSM_UNREACHABLE_FROM_VMANAGE", "connect timed out")
    new_url = "https://ssm-new.lab.example:8443"

    result = harness.run(run_license_auth, params(ssm_url=new_url))

    assert result["changed"] is True and result["authenticated"] is True
    assert "fetch_accounts" not in vmanage.names()
    assert vmanage.writes()[0] == ("put_license_settings", "on-prem", new_url, CLIENT_ID, CLIENT_SECRET)


def test_write_rejected_by_vmanage_fails_with_its_cause(harness, vmanage, ssm):
    vmanage.failures["put_license_settings"] = error("VMANAGE_XSRF_REJECTED", "vManage rejected the XSRF token")

    result = harness.run(run_license_auth, new_grant(ssm))

    assert (result["failed"], result["cause"]) == (True, "VMANAGE_XSRF_REJECTED")
    assert "authenticate" not in vmanage.names()
