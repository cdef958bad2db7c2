"""ssm_grant: idempotent by name, race-safe creation, rotation, deletion, proof by token; the secret only under no_log."""
import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import SSM_GRANT
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.grant import run_ssm_grant

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError

from .conftest import CLIENT_ID, CLIENT_SECRET, SSM_PASSWORD, SSM_URL, error, module_params

NAME = "vmanage-vm1"
WINNER = dict(id="50", name=NAME, type="resource_owner", description=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
              created="2026-11-26T09:59:59Z", account_id=None)


def params(**values):
    values.setdefault("ssm_url", SSM_URL)
    values.setdefault("ssm_username", "admin")
    values.setdefault("ssm_password", SSM_PASSWORD)
    return module_params(SSM_GRANT, **values)


def existing_grant(ssm, grant_id="7", name=NAME, grant_type="resource_owner", created="2026-11-01T00:00:00Z"):
    grant = dict(id=grant_id, name=name, type=grant_type, description=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                 created=created, account_id=None)
    ssm.grants_store.append(grant)
    return grant


def test_missing_grant_is_created_proven_and_returned(harness, ssm):
    result = harness.run(run_ssm_grant, params(name=NAME, description="for vm1"), no_log=True)

    assert result["changed"] is True and result["verified"] is True
    assert result["grant"] == dict(id="101", name=NAME, type="resource_owner", client_id="new-client-101", created="2026-11-26T10:00:41Z",
                                   account_id=None)
    assert (result["client_id"], result["client_secret"]) == ("new-client-101", "lab-fake-new-secret-101")
    assert ssm.writes() == [("create", NAME, "resource_owner", "for vm1", None)]
    assert ("request_token", "new-client-101", "password", "admin") in ssm.calls


def test_existing_grant_is_unchanged_and_its_secret_read_back(harness, ssm):
    existing_grant(ssm)

    result = harness.run(run_ssm_grant, params(name=NAME), no_log=True)

    assert (result["changed"], result["verified"], result["client_id"], result["client_secret"]) == (False, False, CLIENT_ID, CLIENT_SECRET)
    assert ssm.writes() == []
    assert ssm.names() == ["admin_login", "list", "get"]


def test_secret_is_left_out_and_warned_about_without_no_log(harness, ssm):
    existing_grant(ssm)

    result = harness.run(run_ssm_grant, params(name=NAME))

    assert "client_secret" not in result and result["client_id"] == CLIENT_ID
    assert any("no_log" in warning for warning in harness.warnings)
    assert "get" not in ssm.names()


def test_check_mode_reads_the_secret_of_an_existing_grant_under_no_log(harness, ssm):
    existing_grant(ssm)

    result = harness.run(run_ssm_grant, params(name=NAME), check_mode=True, no_log=True)

    assert (result["changed"], result["client_id"], result["client_secret"]) == (False, CLIENT_ID, CLIENT_SECRET)
    assert ssm.names() == ["admin_login", "list", "get"] and ssm.writes() == []


def test_check_mode_leaves_the_secret_out_without_no_log(harness, ssm):
    existing_grant(ssm)

    result = harness.run(run_ssm_grant, params(name=NAME), check_mode=True)

    assert "client_secret" not in result and result["client_id"] == CLIENT_ID
    assert any("no_log" in warning for warning in harness.warnings) and "get" not in ssm.names()


def test_check_mode_reports_the_creation_without_writing(harness, ssm):
    result = harness.run(run_ssm_grant, params(name=NAME), check_mode=True, diff=True, no_log=True)

    assert result["changed"] is True and "client_secret" not in result and "grant" not in result
    assert result["diff"] == dict(before={}, after=dict(name=NAME, type="resource_owner", client_id=None, client_secret="(hidden, changed)"))
    assert ssm.writes() == []


def test_diff_never_shows_the_secret(harness, ssm):
    existing_grant(ssm)

    result = harness.run(run_ssm_grant, params(name=NAME, rotate=True), diff=True, no_log=True)

    assert result["diff"]["before"]["client_secret"] == "(hidden)"
    assert result["diff"]["after"]["client_secret"] == "(hidden, changed)"
    assert CLIENT_SECRET not in repr(result["diff"])


def test_rotate_regenerates_and_proves_the_new_secret(harness, ssm):
    existing_grant(ssm)

    result = harness.run(run_ssm_grant, params(name=NAME, rotate=True), no_log=True)

    assert result["changed"] is True and result["verified"] is True
    assert result["client_secret"] == "lab-fake-rotated-secret-7"
    assert ssm.writes() == [("regenerate_secret", "7")]


def test_rotate_in_check_mode_writes_nothing(harness, ssm):
    existing_grant(ssm)

    result = harness.run(run_ssm_grant, params(name=NAME, rotate=True), check_mode=True, no_log=True)

    assert result["changed"] is True and result["client_id"] == CLIENT_ID
    assert "client_secret" not in result  # the secret a rotation would issue does not exist yet
    assert ssm.writes() == []


def test_race_keeps_the_older_grant_and_deletes_this_runs_copy(harness, ssm):
    ssm.racing_grant = dict(id="50", name=NAME, type="resource_owner", description=None, client_id=CLIENT_ID,
                            client_secret=CLIENT_SECRET, created="2026-11-26T09:59:59Z", account_id=None)

    result = harness.run(run_ssm_grant, params(name=NAME), no_log=True)

    assert [grant["id"] for grant in ssm.grants_store] == ["50"]
    assert ssm.writes() == [("create", NAME, "resource_owner", None, None), ("delete", "101")]
    assert (result["client_id"], result["client_secret"], result["grant"]["id"]) == (CLIENT_ID, CLIENT_SECRET, "50")
    assert any("another run" in warning for warning in harness.warnings)


def refuse_creation_as_name_taken(ssm, winner):
    """SSM On-Prem's uniqueness check: a parallel run's grant lands first and this run's creation gets HTTP 422."""
    def create(name, grant_type, description=None, account=None):
        ssm.calls.append(("create", name, grant_type, description, account))
        if winner:
            ssm.grants_store.append(dict(winner))
        raise LicenseSyncError("HTTP_ERROR", "SSM On-Prem answered POST /backend/api_toolkit/grants with HTTP 422",
                               status=422, body='{"errors":{"name":["has already been taken"]}}')
    ssm.grants.create = create


def test_losing_a_creation_race_uses_the_winners_grant(harness, ssm):
    refuse_creation_as_name_taken(ssm, WINNER)

    result = harness.run(run_ssm_grant, params(name=NAME), no_log=True)

    assert "failed" not in result
    assert (result["client_id"], result["client_secret"], result["grant"]["id"]) == (CLIENT_ID, CLIENT_SECRET, "50")
    assert (result["changed"], result["verified"]) == (False, True)
    assert [grant["id"] for grant in ssm.grants_store] == ["50"]
    assert ssm.writes() == [("create", NAME, "resource_owner", None, None)]
    assert any("another run created grant" in warning for warning in harness.warnings)


def test_losing_a_creation_race_to_a_grant_whose_secret_is_unreadable_returns_no_secret(harness, ssm):
    refuse_creation_as_name_taken(ssm, dict(WINNER, client_secret=None))

    result = harness.run(run_ssm_grant, params(name=NAME), no_log=True)

    assert "failed" not in result and "client_secret" not in result
    assert (result["client_id"], result["changed"], result["verified"]) == (CLIENT_ID, False, False)
    assert "request_token" not in ssm.names()


def test_losing_a_creation_race_to_a_grant_of_another_type_is_a_type_mismatch(harness, ssm):
    refuse_creation_as_name_taken(ssm, dict(WINNER, type="client_credentials"))

    result = harness.run(run_ssm_grant, params(name=NAME), no_log=True)

    assert (result["failed"], result["cause"]) == (True, "SSM_GRANT_TYPE_MISMATCH") and "client_secret" not in result


def fail_creation_with_server_errors(ssm, failures, lands):
    """SSM On-Prem answers HTTP 500 to the first ``failures`` creations; ``lands``: the grant was stored all the same."""
    real_create = ssm.grants.create

    def create(name, grant_type, description=None, account=None):
        if len([call for call in ssm.calls if call[0] == "create"]) >= failures:
            return real_create(name, grant_type, description, account)
        ssm.calls.append(("create", name, grant_type, description, account))
        if lands:
            ssm.grants_store.append(dict(WINNER))
        raise LicenseSyncError("HTTP_ERROR", "SSM On-Prem answered POST /backend/api_toolkit/grants with HTTP 500", status=500)
    ssm.grants.create = create


def test_creation_answered_500_but_stored_is_adopted_not_created_twice(harness, ssm):
    fail_creation_with_server_errors(ssm, failures=1, lands=True)

    result = harness.run(run_ssm_grant, params(name=NAME), no_log=True)

    assert "failed" not in result and result["grant"]["id"] == "50"
    assert [grant["id"] for grant in ssm.grants_store] == ["50"]
    assert any("HTTP 500 to the creation" in warning for warning in harness.warnings)


def test_creation_answered_500_and_not_stored_is_retried(harness, ssm):
    fail_creation_with_server_errors(ssm, failures=1, lands=False)

    result = harness.run(run_ssm_grant, params(name=NAME), no_log=True)

    assert "failed" not in result and result["changed"] is True and result["grant"]["id"] == "101"
    assert [call[0] for call in ssm.calls].count("create") == 2


def test_creation_failing_with_500_every_time_stops_after_the_retries(harness, ssm):
    fail_creation_with_server_errors(ssm, failures=100, lands=False)

    result = harness.run(run_ssm_grant, params(name=NAME, retries=2))

    assert (result["failed"], result["status"]) == (True, 500)
    assert [call[0] for call in ssm.calls].count("create") == 3 and ssm.grants_store == []


def test_creation_refused_for_another_reason_fails_with_ssms_answer(harness, ssm):
    refuse_creation_as_name_taken(ssm, None)

    result = harness.run(run_ssm_grant, params(name=NAME))

    assert (result["failed"], result["cause"], result["status"]) == (True, "HTTP_ERROR", 422)
    assert "grant %r" % NAME in result["msg"]


def test_failures_name_the_grant(harness, ssm):
    ssm.failures["list"] = error("SSM_BACKEND_DOWN", "SSM On-Prem answered 502")

    result = harness.run(run_ssm_grant, params(name=NAME))

    assert result["cause"] == "SSM_BACKEND_DOWN"
    assert result["msg"].startswith("grant %r (state present): SSM On-Prem answered 502" % NAME)


@pytest.mark.parametrize("name, problem", [
    ("g" * 101, "101 characters"),
    ("licence\nsync\tname", "control"),
    ("licence-sync\x7f", "control"),
    (" licence-sync", "white space"),
    ("   ", "empty"),
])
def test_unusable_names_are_refused_before_any_request(harness, ssm, name, problem):
    result = harness.run(run_ssm_grant, params(name=name))

    assert (result["failed"], result["cause"]) == (True, "INVALID_INPUT")
    assert problem in result["msg"] and "ssm_grant option name" in result["msg"] and "100 printable characters" in result["remedy"]
    assert ssm.calls == []


@pytest.mark.parametrize("name", ["licence-sync-Zürich-Łódź-東京", "g" * 100, "vManage licence sync (lab 1)"])
def test_printable_names_of_any_script_are_accepted(harness, ssm, name):
    result = harness.run(run_ssm_grant, params(name=name))

    assert result["changed"] is True and ssm.writes()[0][:2] == ("create", name)


def test_race_where_this_run_is_older_keeps_its_grant(harness, ssm):
    ssm.racing_grant = dict(id="150", name=NAME, type="resource_owner", description=None, client_id="racer",
                            client_secret="lab-fake-racer", created="2026-11-26T11:00:00Z", account_id=None)

    result = harness.run(run_ssm_grant, params(name=NAME), no_log=True)

    assert result["client_id"] == "new-client-101"
    assert [call[0] for call in ssm.writes()] == ["create"]


def test_several_existing_grants_of_the_name_use_the_oldest(harness, ssm):
    existing_grant(ssm, grant_id="9", created="2026-11-02T00:00:00Z")
    existing_grant(ssm, grant_id="8", created="2026-11-01T00:00:00Z")

    result = harness.run(run_ssm_grant, params(name=NAME))

    assert result["grant"]["id"] == "8"
    assert any("2 grants are named" in warning for warning in harness.warnings)


def test_existing_grant_of_another_type_is_not_replaced(harness, ssm):
    existing_grant(ssm, grant_type="client_credentials")

    result = harness.run(run_ssm_grant, params(name=NAME))

    assert (result["failed"], result["cause"]) == (True, "SSM_GRANT_TYPE_MISMATCH")
    assert ssm.writes() == []


def test_absent_deletes_every_grant_of_the_name(harness, ssm):
    existing_grant(ssm, grant_id="8")
    existing_grant(ssm, grant_id="9")
    existing_grant(ssm, grant_id="10", name="other")

    result = harness.run(run_ssm_grant, params(name=NAME, state="absent"), diff=True)

    assert result["changed"] is True
    assert ssm.writes() == [("delete", "8"), ("delete", "9")]
    assert result["diff"]["after"] == {} and result["diff"]["before"]["client_secret"] == "(hidden)"


def test_absent_when_missing_changes_nothing(harness, ssm):
    result = harness.run(run_ssm_grant, params(name=NAME, state="absent"))

    assert result["changed"] is False and ssm.writes() == []


def test_absent_in_check_mode_writes_nothing(harness, ssm):
    existing_grant(ssm)

    result = harness.run(run_ssm_grant, params(name=NAME, state="absent"), check_mode=True)

    assert result["changed"] is True and ssm.writes() == []


def test_verified_proves_given_credentials_without_the_admin_session(harness, ssm):
    result = harness.run(run_ssm_grant, params(state="verified", ssm_client_id=CLIENT_ID, ssm_client_secret=CLIENT_SECRET))

    assert result == dict(changed=False, verified=True, client_id=CLIENT_ID)
    assert ssm.names() == ["request_token"]


@pytest.mark.parametrize("secret, password, cause", [
    ("lab-fake-wrong-secret", SSM_PASSWORD, "GRANT_NOT_FOUND"),
    (CLIENT_SECRET, "lab-fake-wrong-password", "SSM_BAD_USER_CREDENTIALS"),
])
def test_verified_fails_with_the_cause(harness, secret, password, cause):
    result = harness.run(run_ssm_grant, params(state="verified", ssm_client_id=CLIENT_ID, ssm_client_secret=secret, ssm_password=password))

    assert (result["failed"], result["cause"]) == (True, cause)


def test_client_credentials_grant_is_proven_without_a_user(harness, ssm):
    harness.run(run_ssm_grant, params(state="verified", grant_type="client_credentials", ssm_client_id=CLIENT_ID,
                                      ssm_client_secret=CLIENT_SECRET))

    assert ssm.calls == [("request_token", CLIENT_ID, "client_credentials", None)]


def test_admin_login_failure(harness, ssm):
    result = harness.run(run_ssm_grant, params(name=NAME, ssm_admin_username="admin", ssm_admin_password="lab-fake-wrong"))

    assert (result["failed"], result["cause"]) == (True, "SSM_ADMIN_AUTH_FAILED")
    assert ssm.writes() == []


def test_admin_credentials_default_to_the_ssm_user(harness, ssm):
    harness.run(run_ssm_grant, params(name=NAME))

    assert ssm.calls[0] == ("admin_login", "admin")


def test_failed_proof_after_create_deletes_the_new_grant(harness, ssm):
    result = harness.run(run_ssm_grant, params(name=NAME, ssm_admin_password=SSM_PASSWORD, ssm_password="lab-fake-wrong-password"), no_log=True)

    assert (result["failed"], result["cause"], result["changed"]) == (True, "SSM_BAD_USER_CREDENTIALS", False)
    assert "deleted it again" in result["msg"] and "new-client-101" in result["msg"]
    assert "client_secret" not in result
    assert ssm.writes() == [("create", NAME, "resource_owner", None, None), ("delete", "101")]
    assert ssm.grants_store == []


def test_failed_delete_after_a_failed_proof_says_what_is_left(harness, ssm):
    ssm.failures.update(request_token=error("SSM_BACKEND_DOWN"), delete=error("SSM_BACKEND_DOWN"))

    result = harness.run(run_ssm_grant, params(name=NAME))

    assert (result["failed"], result["cause"], result["changed"]) == (True, "SSM_BACKEND_DOWN", True)
    assert "could not delete it" in result["msg"] and "new-client-101" in result["msg"]
    assert [grant["name"] for grant in ssm.grants_store] == [NAME]


def test_failed_proof_after_a_racing_create_keeps_the_other_runs_grant(harness, ssm):
    ssm.racing_grant = dict(id="50", name=NAME, type="resource_owner", description=None, client_id=CLIENT_ID,
                            client_secret=CLIENT_SECRET, created="2026-11-26T09:59:59Z", account_id=None)

    result = harness.run(run_ssm_grant, params(name=NAME, ssm_admin_password=SSM_PASSWORD, ssm_password="lab-fake-wrong-password"))

    assert (result["failed"], result["cause"]) == (True, "SSM_BAD_USER_CREDENTIALS")
    assert [grant["id"] for grant in ssm.grants_store] == ["50"]
    assert ssm.writes() == [("create", NAME, "resource_owner", None, None), ("delete", "101")]


def test_failed_proof_after_rotate_keeps_the_grant_and_reports_the_change(harness, ssm):
    existing_grant(ssm)

    result = harness.run(run_ssm_grant, params(name=NAME, rotate=True, ssm_admin_password=SSM_PASSWORD, ssm_password="lab-fake-wrong-password"), no_log=True)

    assert (result["failed"], result["cause"], result["changed"]) == (True, "SSM_BAD_USER_CREDENTIALS", True)
    assert "was rotated" in result["msg"] and "kept" in result["msg"]
    assert (result["client_id"], result["grant"]["id"]) == (CLIENT_ID, "7") and "client_secret" not in result
    assert ssm.writes() == [("regenerate_secret", "7")] and [grant["id"] for grant in ssm.grants_store] == ["7"]


def test_verify_false_skips_the_proof(harness, ssm):
    result = harness.run(run_ssm_grant, params(name=NAME, verify=False))

    assert result["verified"] is False and "request_token" not in ssm.names()


def test_account_by_name_scopes_the_grants(harness, ssm):
    harness.run(run_ssm_grant, params(name=NAME, ssm_account="lab-onprem"))

    assert ("list", "1") in ssm.calls and ssm.writes()[0] == ("create", NAME, "resource_owner", None, "1")


def test_unknown_account_is_invalid_input(harness, ssm):
    result = harness.run(run_ssm_grant, params(name=NAME, ssm_account="nope"))

    assert (result["failed"], result["cause"]) == (True, "INVALID_INPUT")
    assert "lab-onprem" in result["msg"] and ssm.writes() == []
