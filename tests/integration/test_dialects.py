"""The collection against vManage and SSM On-Prem as Cisco documents them, and against every plausible variant.

One lab per dialect: the `documented` preset at 20.12.1 (legacy paths) and 20.15.1 (v1 paths), and a pairwise covering
set of every dialect axis and both releases (sdwan_lab.dialects.pairwise). Every lab starts in the `seed` state (Grant not found);
their vManage run as one fleet through fix -> rerun -> compliance -> precheck, and every run must end in the lab's true
state: synced, a rerun with no change and no write, compliant, healthy. Where the dialect has no grant API, the grant is
made by hand and supplied as ssm_client_id/ssm_client_secret, as the remedy of SSM_GRANT_API_UNAVAILABLE says.
"""
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from sdwan_lab.dialects import dialect_spec, pairwise

from ..conftest import LAB_COMMAND, REPO, VENV_BIN

FIX = REPO / "playbooks" / "fix_license_sync.yml"
COMPLIANCE = REPO / "playbooks" / "license_compliance.yml"
PRECHECK = Path(__file__).resolve().parent / "playbooks" / "roles" / "precheck_results.yml"
RELEASES = ["20.12.1", "20.15.1"]
ROWS = [dict(name="documented-%s" % release, spec="documented", release=release) for release in RELEASES] + [
    dict(name="pairwise-%02d" % number, spec=dialect_spec({k: v for k, v in row.items() if k != "release"}),
         release=row["release"], grant_api=row["ssm-grant-api"])
    for number, row in enumerate(pairwise({"release": RELEASES}), 1)]


def grant_by_hand(lab, name="made-by-hand"):
    """The operator's API Toolkit step: a Resource Owner grant made in the Admin Workspace, its id and secret copied."""
    proc = subprocess.run([LAB_COMMAND, "grant", "--dir", str(lab.dir), "--name", name], capture_output=True, text=True,
                          check=True, timeout=60)
    return json.loads(proc.stdout)


def fleet_inventory(path, labs, supplied):
    """One inventory over the vManage of every lab: each host with its own lab's vManage and SSM variables."""
    hosts = {}
    for name, lab in labs.items():
        group = yaml.safe_load(lab.inventory.read_text())["all"]["children"]["vmanage"]
        (host_vars,) = group["hosts"].values()
        hosts[name] = dict(group["vars"], **host_vars)
        if name in supplied:
            hosts[name].update(ssm_client_id=supplied[name]["client_id"], ssm_client_secret=supplied[name]["client_secret"])
    path.write_text(yaml.safe_dump({"all": {"children": {"vmanage": {"hosts": hosts}}}}))
    return path


@pytest.fixture(scope="module")
def fleet(module_lab, tmp_path_factory):
    labs = dict(zip([row["name"] for row in ROWS],
                    module_lab.many([dict(scenario="seed", release=row["release"], dialect=row["spec"]) for row in ROWS])))
    supplied = {row["name"]: grant_by_hand(labs[row["name"]]) for row in ROWS if row.get("grant_api") == "absent"}
    directory = tmp_path_factory.mktemp("dialects")
    return labs, fleet_inventory(directory / "inventory.yml", labs, supplied), directory


def synced(lab):
    (vmanage,) = lab.state()["vmanage"].values()
    return bool(vmanage["syncs"]) and vmanage["syncs"][-1]["ok"] is True and vmanage["credentials"]["present"]


def test_every_axis_value_meets_every_other_in_the_matrix():
    covered = {(a, b) for row in pairwise({"release": RELEASES}) for a in row.items() for b in row.items() if a < b}
    assert ((("mode-token", "onPrem"), ("user-settings-mode", "on-prem")) in covered
            and (("authenticate-failure-status", "401"), ("release", "20.15.1")) in covered)
    assert len(ROWS) <= 26  # small enough for one fleet run


def test_fix_rerun_compliance_and_precheck_end_in_the_true_state_of_every_dialect(fleet, run_playbook):
    labs, inventory, directory = fleet
    hosts = sorted(labs)

    fix = run_playbook(FIX, inventory, extra_vars={"fix_license_sync_batch_size": len(hosts)}, args=("--forks", "12"))
    assert fix.rc == 0 and fix.failed_hosts() == [], fix.stdout[-4000:]
    assert [host for host in hosts if not synced(labs[host])] == []
    writes = {host: lab.total_writes() for host, lab in labs.items()}

    rerun = run_playbook(FIX, inventory, extra_vars={"fix_license_sync_batch_size": len(hosts)}, args=("--forks", "12"))
    assert rerun.rc == 0 and rerun.changed() == 0, rerun.stdout[-4000:]
    assert {host: lab.total_writes() for host, lab in labs.items()} == writes

    reports = directory / "reports"
    compliance = run_playbook(COMPLIANCE, inventory, extra_vars={"license_compliance_report_dir": str(reports)},
                              args=("--forks", "12"))
    assert compliance.rc == 0, compliance.stdout[-4000:]
    states = {record["host"]: (record["state"], record["cause"]) for record in json.loads((reports / "latest.json").read_text())["hosts"]}
    assert states == {host: ("compliant", None) for host in hosts}

    results = directory / "precheck"
    results.mkdir()
    precheck = run_playbook(PRECHECK, inventory, extra_vars={"precheck_results_dir": str(results)}, args=("--forks", "12"))
    assert precheck.rc == 0, precheck.stdout[-4000:]
    verdicts = {host: json.loads((results / f"{host}.json").read_text()) for host in hosts}
    assert {host: (result["verdict"], result["plan"]["sync"]) for host, result in verdicts.items()} == {
        host: ("healthy", False) for host in hosts}
    assert {host: lab.total_writes() for host, lab in labs.items()} == writes
    # What the collection saw matches what each lab played (the field check's vocabulary is the lab's).
    for row in ROWS:
        seen, played = verdicts[row["name"]]["dialect"], labs[row["name"]].info["dialect"]
        assert seen["user-settings-fields"] == played["user-settings-fields"]
        assert seen["settings-secret"] == played["settings-secret"]


@pytest.mark.parametrize("how", ["inventory", "extra_vars", "vault", "environment"])
def test_a_grant_made_by_hand_fixes_a_vmanage_whose_ssm_has_no_grant_api(lab, run_playbook, tmp_path, how):
    absent = lab("seed", dialect="documented,ssm-grant-api=absent")
    grant = grant_by_hand(absent)
    ids = {"ssm_client_id": grant["client_id"], "ssm_client_secret": grant["client_secret"]}
    inventory, extra_vars, env, args = [absent.inventory], {}, {}, ()
    if how == "inventory":
        group_vars = tmp_path / "group_vars"
        group_vars.mkdir()
        (group_vars / "vmanage.yml").write_text(yaml.safe_dump(ids))
        inventory = [absent.inventory, tmp_path / "hosts.yml"]
        (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"vmanage": {"hosts": {"vmanage-001": {}}}}}}))
    elif how == "extra_vars":
        extra_vars = ids
    elif how == "vault":
        password = tmp_path / "vault-password"
        password.write_text("lab-fake-vault-password\n")
        vault = tmp_path / "vault.yml"
        vault.write_text(yaml.safe_dump(ids))
        subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt", str(vault), "--vault-password-file", str(password)],
                       check=True, capture_output=True, timeout=60)
        args = ("-e", f"@{vault}", "--vault-password-file", str(password))
    else:
        env = {"SSM_CLIENT_ID": grant["client_id"], "SSM_CLIENT_SECRET": grant["client_secret"]}

    fix = run_playbook(FIX, inventory, extra_vars=extra_vars, env=env, args=args)

    assert fix.rc == 0 and fix.failed_hosts() == [], fix.stdout[-4000:]
    assert "grant supplied by the SSM team" in fix.stdout
    assert synced(absent)
    (vmanage,) = absent.state()["vmanage"].values()
    assert vmanage["settings"]["ssmClientId"] == grant["client_id"]
    assert grant["client_secret"] not in fix.stdout + fix.stderr


def test_without_a_grant_api_and_no_grant_supplied_the_fix_stops_with_the_remedy_and_writes_nothing(lab, run_playbook):
    absent = lab("seed", dialect="documented,ssm-grant-api=absent")

    fix = run_playbook(FIX, absent.inventory)

    assert fix.rc != 0 and fix.failed_hosts() == ["vmanage-001"]
    assert "SSM_GRANT_API_UNAVAILABLE" in fix.stdout and "pass its Client ID and Client Secret" in fix.stdout
    (vmanage,) = absent.state()["vmanage"].values()
    assert vmanage["writes"] == 0 and not synced(absent)
