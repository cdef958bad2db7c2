"""ssm_grant against the lab: idempotent by name, race-safe, rotation, deletion, proof; never printing a secret."""
import json
import threading

import pytest

from .module_runs import assert_idempotent, four_steps, run_module

MODULE = "ssm_grant"
NAME = "vmanage-vmanage-001"
CREATE = "POST /backend/api_toolkit/grants"


def grants_named(lab, name=NAME):
    return [grant for grant in lab.state()["ssm"]["grants"] if grant["name"] == name]


def test_check_real_idempotent(lab, run_playbook):
    seed = lab("seed")

    runs = four_steps(seed, run_playbook, MODULE)

    check, real = runs[0], runs[1]
    assert check.result["changed"] is True and check.total_writes() == 0
    assert real.result["changed"] is True and real.writes["ssm"] == {CREATE: 1}
    assert real.result["verified"] is True and real.result["client_secret"] is True
    assert real.result["grant"]["name"] == NAME and real.result["client_id"] == grants_named(seed)[0]["client_id"]
    assert_idempotent(runs)
    assert runs[3].result["client_id"] == real.result["client_id"] and runs[3].result["client_secret"] is True
    assert len(grants_named(seed)) == 1


def test_no_secret_in_the_output_at_vvv(lab, run_playbook):
    seed = lab("seed")
    secrets = [seed.info["ssm"]["password"], seed.info["ssm"]["admin_password"], seed.info["vmanage"][0]["password"]]

    run = run_module(seed, run_playbook, MODULE, verbosity=3)

    assert run.result["client_secret"] is True
    output = run.playbook.stdout + run.playbook.stderr
    assert "censored" in output
    for secret in secrets:
        assert secret not in output


def test_rotate_changes_the_secret_every_run(lab, run_playbook):
    seed = lab("seed")
    run_module(seed, run_playbook, MODULE)

    runs = [run_module(seed, run_playbook, MODULE, rotate=True) for _run in range(2)]

    for run in runs:
        assert run.result["changed"] is True and run.result["verified"] is True
        assert run.writes["ssm"] == {"POST /backend/api_toolkit/grants/{id}/regenerate_secret": 1}


def test_absent_deletes_then_changes_nothing(lab, run_playbook):
    seed = lab("seed")
    run_module(seed, run_playbook, MODULE)

    first = run_module(seed, run_playbook, MODULE, grant_state="absent")
    second = run_module(seed, run_playbook, MODULE, grant_state="absent")

    assert first.result["changed"] is True and first.writes["ssm"] == {"DELETE /backend/api_toolkit/grants/{id}": 1}
    assert second.result["changed"] is False and second.total_writes() == 0
    assert grants_named(seed) == []


def test_parallel_runs_leave_one_grant(lab, run_playbook):
    seed = lab("seed")
    runs = []

    def create():
        runs.append(run_module(seed, run_playbook, MODULE))

    threads = [threading.Thread(target=create) for _thread in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)

    assert len(runs) == 3 and all(run.result.get("failed") is not True for run in runs), [run.result for run in runs]
    remaining = grants_named(seed)
    assert len(remaining) == 1
    assert set(run.result["client_id"] for run in runs) == {remaining[0]["client_id"]}


def test_verified_proves_or_fails_with_the_cause(lab, run_playbook):
    seed = lab("seed")

    run = run_module(seed, run_playbook, MODULE, grant_state="verified", grant_client_id="lab-fake-client-id",
                     grant_client_secret="lab-fake-client-secret")

    assert (run.result["failed"], run.result["cause"]) == (True, "GRANT_NOT_FOUND")
    assert run.requests["ssm"] == {"POST /backend/oauth/token": 1}


def test_grant_whose_proof_fails_is_deleted_again(lab, run_playbook):
    seed = lab("seed")
    before = seed.state()["ssm"]["grants"]
    seed.fault("ssm", "wrong-ssm-password")

    run = run_module(seed, run_playbook, MODULE)

    assert (run.result["failed"], run.result["cause"], run.result["changed"]) == (True, "SSM_BAD_USER_CREDENTIALS", False)
    assert "deleted it again" in run.result["msg"]
    assert run.writes["ssm"] == {CREATE: 1, "DELETE /backend/api_toolkit/grants/{id}": 1}
    assert seed.state()["ssm"]["grants"] == before


def test_client_credentials_grant(lab, run_playbook):
    run = run_module(lab("seed"), run_playbook, MODULE, grant_name="monitoring-2", grant_type="client_credentials")

    assert run.result["grant"]["type"] == "client_credentials" and run.result["verified"] is True


def test_existing_grant_of_another_type_is_refused(lab, run_playbook):
    seed = lab("seed")

    run = run_module(seed, run_playbook, MODULE, grant_name="monitoring")

    assert run.result["cause"] == "SSM_GRANT_TYPE_MISMATCH" and run.total_writes() == 0


def test_wrong_admin_password(lab, run_playbook):
    run = run_module(lab("seed"), run_playbook, MODULE, ssm_admin_password="lab-fake-wrong-password")

    assert run.result["cause"] == "SSM_ADMIN_AUTH_FAILED" and run.total_writes() == 0


@pytest.mark.parametrize("fault, options, cause", [
    ("ssm-backend-down", {}, "SSM_BACKEND_DOWN"),
    ("ssm-listener-closed", {}, "SSM_UNREACHABLE"),
    ("wrong-cert", {"variant": "wrong-host"}, "SSM_TLS_UNTRUSTED"),
    ("wrong-ssm-password", {}, "SSM_BAD_USER_CREDENTIALS"),
])
def test_faults(module_lab, run_playbook, fault, options, cause):
    seed = module_lab("seed")
    seed.fault("ssm", fault, **options)
    try:
        run = run_module(seed, run_playbook, MODULE, grant_name="fault-%s" % fault)
    finally:
        seed.fault("ssm", fault, clear=True)

    assert (run.result["failed"], run.result["cause"]) == (True, cause), json.dumps(run.result)
