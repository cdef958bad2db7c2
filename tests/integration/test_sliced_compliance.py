"""A compliance job sliced as AWX slices it, then the aggregation: one fleet report equal to the unsliced run's.

Over a `fleet-mixed` lab of FLEET_SIZE vManage: the inventory split into SLICES as AWX splits it (hosts sorted by name,
every SLICES-th host to a slice), each slice a separate ansible-runner job with its own private data directory, their
set_stats artefacts merged with one shallow dict.update per slice (AWX's WorkflowJob.get_effective_artifacts), then
playbooks/license_compliance_aggregate.yml as the next workflow node with the merged artefacts as extra variables. The
same lab is also checked by one unsliced run. Then slice 2 fails completely (an invalid variable stops it before it
publishes anything) and the aggregation runs over what AWX would merge. The slicing code is bench/sliced.py, which the
benchmark runs at 2,000 vManage.
"""
import json

import pytest
import yaml

FLEET_SIZE = 60
SLICES = 3
SEED = 7
JOB_TIMEOUT_S = 600
PREFIX = "license_compliance_host_"


@pytest.fixture(scope="module")
def fleet(module_lab, tmp_path_factory, sliced):
    lab = module_lab(scenario="fleet-mixed", vmanage=FLEET_SIZE, seed=SEED)
    work = tmp_path_factory.mktemp("sliced")
    inventory = yaml.safe_load(lab.inventory.read_text())
    names = sliced.inventory_hosts(inventory)

    def job(name, playbook, hosts, extra_vars):
        part = inventory if hosts is None else sliced.slice_inventory(inventory, hosts)
        return sliced.run_job(work / name, playbook, part, extra_vars, forks=20, time_limit=JOB_TIMEOUT_S, ident=name)

    shares = [sliced.awx_slice(names, number, SLICES) for number in range(1, SLICES + 1)]
    slices = [job("slice-%d" % number, sliced.COMPLIANCE, hosts, {"license_compliance_report_dir": str(work / ("slice-%d-reports" % number))})
              for number, hosts in enumerate(shares, 1)]
    unsliced = job("unsliced", sliced.COMPLIANCE, None, {"license_compliance_report_dir": str(work / "unsliced-reports")})
    merged = sliced.merge_artifacts(run["artifacts"] for run in slices)
    aggregate = job("aggregate", sliced.AGGREGATE, None, dict(merged, license_compliance_report_dir=str(work / "fleet-reports")))
    # Fails before it publishes anything: the role rejects the variable before any vManage is read.
    broken_vars = {"license_compliance_report_dir": str(work / "failed-reports"), "license_compliance_max_sync_age": "not a number"}
    failed = job("slice-2-failed", sliced.COMPLIANCE, shares[1], broken_vars)
    partial = sliced.merge_artifacts([slices[0]["artifacts"], failed["artifacts"], slices[2]["artifacts"]])
    degraded = job("aggregate-degraded", sliced.AGGREGATE, None, dict(partial, license_compliance_report_dir=str(work / "degraded-reports")))
    return dict(lab=lab, work=work, names=names, shares=shares, slices=slices, unsliced=unsliced, merged=merged,
                aggregate=aggregate, failed=failed, degraded=degraded)


def report(fleet, name):
    return json.loads((fleet["work"] / name / "latest.json").read_text())


def records(document):
    return {record["host"]: record for record in document["hosts"]}


def test_every_job_of_the_sliced_run_succeeds(fleet):
    for name in ("unsliced", "aggregate", "degraded"):
        assert fleet[name]["status"] == "successful", fleet[name]["stdout_tail"]
    for run in fleet["slices"]:
        assert run["status"] == "successful", run["stdout_tail"]


def test_each_slice_holds_the_hosts_awx_gives_it_and_publishes_one_record_per_host_and_no_totals(fleet, sliced):
    assert sorted(host for share in fleet["shares"] for host in share) == fleet["names"]
    assert [len(share) for share in fleet["shares"]] == [FLEET_SIZE // SLICES] * SLICES
    for share, run in zip(fleet["shares"], fleet["slices"]):
        published = run["artifacts"]
        assert all(key.startswith(PREFIX) for key in published), sorted(key for key in published if not key.startswith(PREFIX))
        assert sorted(record["host"] for record in published.values()) == share


def test_the_merged_report_equals_the_unsliced_report_host_for_host_and_in_its_totals(fleet, sliced):
    merged, unsliced = report(fleet, "fleet-reports"), report(fleet, "unsliced-reports")
    assert sliced.report_differences(merged, unsliced) == []
    assert merged["totals"] == unsliced["totals"] and merged["totals"]["hosts"] == FLEET_SIZE
    assert merged["totals"]["unprocessed"] == 0 and merged["source"] == "stats"
    assert (fleet["work"] / "fleet-reports" / "latest-broken.txt").read_text() == \
        (fleet["work"] / "unsliced-reports" / "latest-broken.txt").read_text()


def test_the_aggregation_publishes_the_unsliced_runs_records_plus_the_fleet_totals_and_the_hosts_to_fix(fleet, sliced):
    published, unsliced = fleet["aggregate"]["artifacts"], fleet["unsliced"]["artifacts"]
    assert sorted(key for key in published if key.startswith(PREFIX)) == sorted(unsliced)

    def verdicts(stats):
        return {key: (value["host"], value["state"], value["cause"], value["ssm"]) for key, value in stats.items() if key.startswith(PREFIX)}
    assert verdicts(published) == verdicts(unsliced)
    merged = report(fleet, "fleet-reports")
    assert published["license_compliance"] == dict(merged["totals"], generated=merged["generated"])
    assert published["fix_license_sync_hosts"] == (fleet["work"] / "fleet-reports" / "latest-broken.txt").read_text().split()


def test_a_slice_that_fails_completely_leaves_its_hosts_unprocessed_never_compliant(fleet):
    assert fleet["failed"]["status"] == "failed" and fleet["failed"]["artifacts"] == {}
    lost = set(fleet["shares"][1])
    degraded, unsliced = records(report(fleet, "degraded-reports")), records(report(fleet, "unsliced-reports"))
    assert {host for host, record in degraded.items() if record["state"] == "unprocessed"} == lost
    assert all(degraded[host]["cause"] == "NOT_PROCESSED" and not degraded[host]["fixable"] for host in lost)
    assert {host: (r["state"], r["cause"]) for host, r in degraded.items() if host not in lost} == \
        {host: (r["state"], r["cause"]) for host, r in unsliced.items() if host not in lost}
    totals = report(fleet, "degraded-reports")["totals"]
    assert totals["unprocessed"] == len(lost) and totals["hosts"] == FLEET_SIZE
    assert not lost & set(fleet["degraded"]["artifacts"]["fix_license_sync_hosts"])
    assert not lost & set((fleet["work"] / "degraded-reports" / "latest-broken.txt").read_text().split())


def test_no_secret_reaches_what_the_slices_publish_or_the_fleet_reports(fleet):
    info = fleet["lab"].info
    secrets = {info["ssm"]["password"], info["ssm"]["admin_password"]} | {vm["password"] for vm in info["vmanage"]}
    published = json.dumps([run["artifacts"] for run in fleet["slices"]] + [fleet["aggregate"]["artifacts"]])
    reports = [path.read_text() for path in (fleet["work"] / "fleet-reports").iterdir() if path.is_file()]
    assert not {secret for secret in secrets if secret in published or any(secret in text for text in reports)}
