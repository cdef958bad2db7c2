"""vmanage_license_sync: idempotent by freshness, authenticate -> fetchAccounts -> sync, waited for with a bound."""
import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import license_sync
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import VMANAGE_LICENSE_SYNC
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.license_sync import run_license_sync

from .conftest import SEED_ERROR, SSM_PASSWORD, error, module_params

STALE = dict(time="2026-11-24T09:00:00Z", age_s=2 * 86400, ok=True, error=None)
NEW_OK = dict(time="2026-11-26T10:00:00Z", age_s=0, ok=True, error=None)


def params(**values):
    values.setdefault("ssm_username", "admin")
    values.setdefault("ssm_password", SSM_PASSWORD)
    return module_params(VMANAGE_LICENSE_SYNC, **values)


@pytest.fixture
def clock(monkeypatch):
    """time.time/time.sleep of the wait loop, simulated."""
    state = dict(now=1000.0, sleeps=[])

    def sleep(seconds):
        state["sleeps"].append(seconds)
        state["now"] += seconds

    monkeypatch.setattr(license_sync.time, "time", lambda: state["now"])
    monkeypatch.setattr(license_sync.time, "sleep", sleep)
    return state


@pytest.fixture
def stale(vmanage):
    vmanage.user["last_sync"] = dict(STALE)
    vmanage.sync_records = [dict(NEW_OK)]
    return vmanage


def test_fresh_sync_changes_nothing_and_writes_nothing(harness, vmanage):
    result = harness.run(run_license_sync, params())

    assert result == dict(changed=False, synced=False, last_sync=dict(vmanage.user["last_sync"], reported=True))
    assert vmanage.names() == ["user_settings"]


def test_stale_sync_authenticates_fetches_syncs_and_waits(harness, stale, clock):
    result = harness.run(run_license_sync, params())

    assert stale.names() == ["user_settings", "authenticate", "fetch_accounts", "sync", "user_settings", "licenses"]
    assert stale.writes() == [("authenticate", "admin", SSM_PASSWORD), ("sync", "1", "1", "prepaid")]
    assert (result["changed"], result["synced"], result["last_sync"]) == (True, True, dict(NEW_OK, reported=True))
    assert result["accounts"][0]["virtual_accounts"] == [dict(virtual_account_id="1", name="Default", default=True)]
    assert result["licenses"] == [dict(display_name="DNA Advantage", in_use=3)]


# --- a vManage that reports no last sync (user settings as Cisco documents them) --------------------------------

@pytest.fixture
def documented(vmanage):
    vmanage.reports_last_sync = False
    return vmanage


def test_without_a_reported_last_sync_a_working_stored_grant_makes_a_rerun_write_nothing(harness, documented, clock):
    result = harness.run(run_license_sync, params())

    assert documented.names() == ["user_settings", "fetch_accounts"]
    assert documented.writes() == [] and clock["sleeps"] == []
    assert (result["changed"], result["synced"], result["verified_by"]) == (False, False, "fetchAccounts")
    assert result["last_sync"] == dict(time=None, age_s=None, ok=None, error=None, reported=False)
    assert len(harness.warnings) == 1 and "does not report its last licence sync" in harness.warnings[0]


def test_without_a_reported_last_sync_a_refused_stored_grant_syncs_and_never_polls(harness, documented, clock):
    documented.failures["fetch_accounts"] = [error("GRANT_NOT_FOUND")]
    result = harness.run(run_license_sync, params())

    assert documented.names() == ["user_settings", "fetch_accounts", "authenticate", "fetch_accounts", "sync", "licenses"]
    assert clock["sleeps"] == []
    assert (result["changed"], result["synced"]) == (True, True)
    assert result["last_sync"]["ok"] is True and result["last_sync"]["reported"] is False and result["last_sync"]["time"]


def test_without_a_reported_last_sync_force_syncs_and_the_sync_answer_is_the_result(harness, documented, clock):
    result = harness.run(run_license_sync, params(force=True, authenticate=False, ssm_username=None, ssm_password=None))

    assert documented.names() == ["user_settings", "fetch_accounts", "sync", "licenses"]
    assert documented.writes() == [("sync", "1", "1", "prepaid")] and clock["sleeps"] == []
    assert result["synced"] is True and result["last_sync"]["ok"] is True


def test_without_a_reported_last_sync_check_mode_says_it_would_sync_a_refused_grant(harness, documented, clock):
    documented.failures["fetch_accounts"] = [error("GRANT_NOT_FOUND")]
    result = harness.run(run_license_sync, params(), check_mode=True)

    assert result["changed"] is True and documented.writes() == []


def test_without_a_reported_last_sync_a_busy_ssm_is_not_read_as_a_broken_grant(harness, documented, clock):
    documented.failures["fetch_accounts"] = [error("SSM_BUSY")]
    result = harness.run(run_license_sync, params())

    assert result["cause"] == "SSM_BUSY" and documented.writes() == []


def test_authenticate_false_syncs_with_what_vmanage_stores(harness, stale, clock):
    result = harness.run(run_license_sync, params(authenticate=False, ssm_username=None, ssm_password=None))

    assert stale.names() == ["user_settings", "fetch_accounts", "sync", "user_settings", "licenses"]
    assert stale.writes() == [("sync", "1", "1", "prepaid")] and result["synced"] is True


def test_authenticate_needs_the_ssm_user():
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    rules = dict(required_if=VMANAGE_LICENSE_SYNC["required_if"])
    validation = ArgumentSpecValidator(VMANAGE_LICENSE_SYNC["argument_spec"], **rules).validate(
        dict(vmanage_host="vmanage.lab.example", vmanage_username="admin", vmanage_password="lab-fake-vmanage-password"))

    assert "authenticate is True" in validation.error_messages[0] and "ssm_username" in validation.error_messages[0]


def test_failed_last_sync_is_not_fresh(harness, vmanage, clock):
    vmanage.user["last_sync"] = dict(time="2026-11-26T09:59:00Z", age_s=60, ok=False, error=SEED_ERROR)
    vmanage.sync_records = [dict(NEW_OK)]

    assert harness.run(run_license_sync, params())["synced"] is True


def test_never_synced_is_not_fresh(harness, vmanage, clock):
    vmanage.user["last_sync"] = dict(time=None, age_s=None, ok=None, error=None)
    vmanage.sync_records = [dict(NEW_OK)]

    assert harness.run(run_license_sync, params())["changed"] is True


def test_force_syncs_a_fresh_vmanage(harness, vmanage, clock):
    vmanage.sync_records = [dict(NEW_OK)]

    result = harness.run(run_license_sync, params(force=True))

    assert result["synced"] is True and "sync" in vmanage.names()


def test_max_age_decides_freshness(harness, stale):
    assert harness.run(run_license_sync, params(max_age=3 * 86400))["changed"] is False


def test_check_mode_reports_would_sync_without_writing(harness, stale):
    result = harness.run(run_license_sync, params(), check_mode=True)

    assert (result["changed"], result["synced"]) == (True, False)
    assert stale.writes() == []


def test_seed_error_on_authenticate_is_grant_not_found(harness, stale):
    stale.failures["authenticate"] = error("GRANT_NOT_FOUND", SEED_ERROR)

    result = harness.run(run_license_sync, params())

    assert (result["failed"], result["cause"]) == (True, "GRANT_NOT_FOUND")
    assert "Grant not found" in result["msg"] and "API Toolkit" in result["remedy"]
    assert "sync" not in stale.names()


def test_sync_rejected_by_vmanage_fails_with_its_cause(harness, stale):
    stale.failures["sync"] = error("SSM_BACKEND_DOWN", "vManage could not sync licences from SSM On-Prem: 502 Bad Gateway")

    assert harness.run(run_license_sync, params())["cause"] == "SSM_BACKEND_DOWN"


def test_recorded_failure_is_classified(harness, stale, clock):
    stale.sync_records = [dict(time="2026-11-26T10:00:00Z", age_s=0, ok=False, error=SEED_ERROR)]

    result = harness.run(run_license_sync, params())

    assert (result["failed"], result["cause"]) == (True, "GRANT_NOT_FOUND")


def test_recorded_failure_without_known_words_is_sync_failed(harness, stale, clock):
    stale.sync_records = [dict(time="2026-11-26T10:00:00Z", age_s=0, ok=False, error="internal error")]

    assert harness.run(run_license_sync, params())["cause"] == "SYNC_FAILED"


def test_wait_polls_until_the_new_sync_is_recorded(harness, stale, clock):
    stale.sync_records = [dict(STALE), dict(STALE), dict(NEW_OK)]

    result = harness.run(run_license_sync, params(wait_sleep=2))

    assert result["synced"] is True
    assert clock["sleeps"] == [2, 2]


def test_wait_timeout_names_the_task_and_the_last_status(harness, stale, clock):
    stale.sync_records = [dict(STALE)]

    result = harness.run(run_license_sync, params(wait_timeout=10, wait_sleep=3))

    assert (result["failed"], result["cause"]) == (True, "SYNC_TIMEOUT")
    assert "Sync Licenses & Refresh Devices" in result["msg"] and STALE["time"] in result["msg"]
    assert sum(clock["sleeps"]) <= 10 and stale.names().count("user_settings") <= 5


def test_wait_false_returns_after_the_sync(harness, stale):
    result = harness.run(run_license_sync, params(wait=False))

    assert (result["changed"], result["synced"]) == (True, False)
    assert stale.names()[-1] == "sync"


def test_not_on_prem_is_refused(harness, vmanage):
    vmanage.user["mode"] = "online"

    result = harness.run(run_license_sync, params(force=True))

    assert result["cause"] == "MODE_NOT_ONPREM" and vmanage.writes() == []


def test_release_below_20_9_1_is_refused(harness, vmanage):
    vmanage.release = "20.8.1"

    assert harness.run(run_license_sync, params())["cause"] == "RELEASE_TOO_OLD"


@pytest.mark.parametrize("smart_account, virtual_account, expected", [
    ("lab-onprem", "Branches", ("sync", "1", "2", "prepaid")),
    ("1", "2", ("sync", "1", "2", "prepaid")),
    (None, None, ("sync", "1", "1", "prepaid")),
])
def test_account_selection_by_name_id_or_default(harness, stale, clock, smart_account, virtual_account, expected):
    harness.run(run_license_sync, params(smart_account=smart_account, virtual_account=virtual_account))

    assert stale.writes()[-1] == expected


@pytest.fixture
def two_accounts(stale):
    stale.accounts.append(dict(account_id="2", name="tenant-b", virtual_accounts=[dict(virtual_account_id="9", name="B", default=True)]))
    return stale


def test_only_account_is_synced_without_a_warning(harness, stale, clock):
    harness.run(run_license_sync, params())

    assert stale.writes()[-1] == ("sync", "1", "1", "prepaid") and harness.warnings == []


def test_first_of_several_accounts_is_synced_with_a_warning_when_nothing_decides(harness, two_accounts, clock):
    harness.run(run_license_sync, params())

    assert two_accounts.writes()[-1] == ("sync", "1", "1", "prepaid")
    assert len(harness.warnings) == 1 and "tenant-b (id 2)" in harness.warnings[0] and "smart_account" in harness.warnings[0]


def test_virtual_account_of_one_account_decides_the_smart_account(harness, two_accounts, clock):
    harness.run(run_license_sync, params(virtual_account="B"))

    assert two_accounts.writes()[-1] == ("sync", "2", "9", "prepaid") and harness.warnings == []


def test_smart_account_by_id_among_several_is_synced_without_a_warning(harness, two_accounts, clock):
    harness.run(run_license_sync, params(smart_account="1"))

    assert two_accounts.writes()[-1] == ("sync", "1", "1", "prepaid") and harness.warnings == []


def test_ssm_account_is_the_default_smart_account(harness, two_accounts, clock):
    harness.run(run_license_sync, params(ssm_account="tenant-b"))

    assert two_accounts.writes()[-1] == ("sync", "2", "9", "prepaid") and harness.warnings == []


def test_unknown_virtual_account_lists_the_known_ones(harness, stale):
    result = harness.run(run_license_sync, params(virtual_account="Nope"))

    assert result["cause"] == "INVALID_INPUT"
    assert "Default (id 1)" in result["msg"] and "Branches (id 2)" in result["msg"]
    assert "sync" not in stale.names()


def test_no_default_virtual_account_asks_for_one(harness, stale):
    for virtual_account in stale.accounts[0]["virtual_accounts"]:
        virtual_account["default"] = False

    result = harness.run(run_license_sync, params())

    assert result["cause"] == "INVALID_INPUT" and "no default virtual account" in result["msg"]


def test_postpaid_is_passed_to_the_sync(harness, stale, clock):
    harness.run(run_license_sync, params(license_type="postpaid"))

    assert stale.writes()[-1] == ("sync", "1", "1", "postpaid")
