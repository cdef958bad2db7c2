"""vmanage_license_auth against the lab: fixes the seed, then no write; never touches vManage with bad credentials."""
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from .module_runs import assert_idempotent, four_steps, run_module

MODULE = "vmanage_license_auth"
PUT = "PUT /dataservice/settings/configuration/smartLicensing"
AUTHENTICATE = "POST /dataservice/smartLicensing/authenticate"


def settings(lab):
    return lab.state()["vmanage"]["vmanage-001"]["settings"]


def test_seed_is_fixed_then_idempotent(lab, run_playbook):
    seed = lab("seed")
    broken_client_id = settings(seed)["ssmClientId"]

    runs = four_steps(seed, run_playbook, MODULE)

    check, real = runs[0], runs[1]
    assert check.result["changed"] is True and check.writes["vmanage-001"] == {}
    assert check.result["settings"]["client_id"] != broken_client_id
    assert real.result["changed"] is True and real.result["authenticated"] is True
    assert real.writes["vmanage-001"] == {PUT: 1, AUTHENTICATE: 1}
    assert settings(seed)["ssmClientId"] == real.result["settings"]["client_id"] != broken_client_id
    assert_idempotent(runs)
    assert runs[3].result["authenticated"] is True
    assert "GET /dataservice/smartLicensing/fetchAccounts" in runs[3].vmanage_requests()


def test_diff_masks_the_secret(lab, run_playbook):
    run = run_module(lab("seed"), run_playbook, MODULE, check=True, diff=True)

    assert '"ssmClientSecret": "(hidden, changed)"' in run.playbook.stdout
    assert '"ssmClientSecret": "(hidden)"' in run.playbook.stdout


def test_unconfigured_vmanage_is_switched_to_on_prem(lab, run_playbook):
    unconfigured = lab("unconfigured")

    run = run_module(unconfigured, run_playbook, MODULE)

    assert run.result["changed"] is True and settings(unconfigured)["mode"] == "on-prem"


def test_old_release_is_refused_without_a_write(lab, run_playbook):
    run = run_module(lab("old-release"), run_playbook, MODULE)

    assert run.result["cause"] == "RELEASE_TOO_OLD" and run.writes["vmanage-001"] == {}


def test_unknown_grant_never_touches_vmanage(lab, run_playbook):
    seed = lab("seed")
    before = settings(seed)

    run = run_module(seed, run_playbook, MODULE, grant_client_id="lab-fake-client-id", grant_client_secret="lab-fake-client-secret")

    assert run.result["cause"] == "GRANT_NOT_FOUND" and run.writes["vmanage-001"] == {}
    assert settings(seed) == before


def test_wrong_ssm_user_password_never_touches_vmanage(lab, run_playbook):
    seed = lab("seed")
    run_module(seed, run_playbook, "ssm_grant")

    run = run_module(seed, run_playbook, MODULE, ssm_password="lab-fake-wrong-password")

    assert run.result["cause"] == "SSM_BAD_USER_CREDENTIALS" and run.writes["vmanage-001"] == {}


def test_vmanage_that_cannot_reach_its_ssm_is_left_untouched(lab, run_playbook):
    seed = lab("seed")
    before = settings(seed)
    seed.fault("vmanage-001", "ssm-unreachable-from-vmanage")

    run = run_module(seed, run_playbook, MODULE)

    assert (run.result["failed"], run.result["cause"]) == (True, "SSM_UNREACHABLE_FROM_VMANAGE")
    assert run.writes["vmanage-001"] == {}
    assert settings(seed) == before


def test_failed_authenticate_keeps_the_proven_settings_and_never_the_old_client_id(lab, run_playbook):
    seed = lab("seed")
    old_client_id = settings(seed)["ssmClientId"]
    other_spelling = seed.info["ssm"]["url"].replace("127.0.0.1", "localhost")  # a new URL: vManage is not asked beforehand
    seed.fault("vmanage-001", "ssm-unreachable-from-vmanage")

    run = run_module(seed, run_playbook, MODULE, ssm_url=other_spelling)

    assert (run.result["failed"], run.result["cause"], run.result["restored"]) == (True, "SSM_UNREACHABLE_FROM_VMANAGE", False)
    assert run.writes["vmanage-001"] == {PUT: 1, AUTHENTICATE: 1}
    left = settings(seed)
    assert left["ssmClientId"] == run.result["settings"]["client_id"] != old_client_id
    assert "vManage now stores the new settings" in run.result["msg"] and "was not put back" in run.result["msg"]
    seed.fault("vmanage-001", "ssm-unreachable-from-vmanage", clear=True)

    again = run_module(seed, run_playbook, MODULE, ssm_url=other_spelling)

    # The next run, once the cause is gone, converges on the grant the failed run left (the seed's stored SSM user differs,
    # so it writes that user once more).
    assert again.result["authenticated"] is True and again.result["settings"]["client_id"] == left["ssmClientId"]


def test_stale_stored_ssm_password_is_written_again(lab, run_playbook):
    healthy = lab("healthy")
    run_module(healthy, run_playbook, MODULE)
    healthy.fault("vmanage-001", "wrong-ssm-password")

    run = run_module(healthy, run_playbook, MODULE)

    assert run.result["changed"] is True and run.result["authenticated"] is True
    assert run.writes["vmanage-001"] == {PUT: 1, AUTHENTICATE: 1}


def test_update_secret_always_writes_every_run(lab, run_playbook):
    seed = lab("seed")
    run_module(seed, run_playbook, MODULE)

    run = run_module(seed, run_playbook, MODULE, update_secret="always")

    assert run.result["changed"] is True and run.writes["vmanage-001"] == {PUT: 1, AUTHENTICATE: 1}


@pytest.mark.parametrize("release", ["20.9.1", "20.15.1"])
def test_releases(lab, run_playbook, release):
    seed = lab("seed", release=release)

    first = run_module(seed, run_playbook, MODULE)
    second = run_module(seed, run_playbook, MODULE)

    assert first.result["changed"] is True and first.result.get("failed") is not True, first.result
    assert second.result["changed"] is False and second.total_writes() == 0


def test_no_secret_in_the_output_at_vvvv(lab, run_playbook):
    seed = lab("seed")

    run = run_module(seed, run_playbook, MODULE, verbosity=4, diff=True)

    assert run.result["authenticated"] is True
    # vManage sends the grant's secret to SSM in the query string, which SSM's access log keeps (as SSM On-Prem's nginx does)
    access_log = Path(seed.info["ssm"]["logs"]["access"]).read_text()
    grant_secrets = set(re.findall(r"client_secret=([^&\s\"]+)", access_log))
    assert grant_secrets
    output = run.playbook.stdout + run.playbook.stderr
    for secret in grant_secrets | {seed.info["ssm"]["password"], seed.info["ssm"]["admin_password"], seed.info["vmanage"][0]["password"]}:
        assert unquote(secret) not in output
