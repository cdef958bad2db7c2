"""The set_stats records of a compliance run and their aggregation (plugin_utils._compliance), without Ansible.

AWX merges the artefacts of a sliced job's slices with one shallow dict.update per slice and hands them to the next
workflow node as extra variables: the records must survive that merge, be valid variable names, carry no secret, and
every host the aggregation cannot vouch for must come out unprocessed, never compliant.
"""
import json
import keyword
import re

import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import checks as model
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._compliance import (
    assess_host, fleet_from_records, publish, records_in, stats_key, totals,
)

DAY = 86400
SECRET = "fake-client-secret-of-the-inventory"
PASSWORD = "fake-ssm-password-of-the-inventory"


def info(**overrides):
    result = dict(
        changed=False, release="20.12.1", mode="on-prem", ssm_url="https://ssm.example.test:8443", client_id="client-a",
        client_secret_stored=True, credentials_stored=True, ssm_username="admin", dialect={"mode-token": "onprem"},
        invocation={"module_args": {"vmanage_password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}},
        last_sync=dict(time="2026-11-26T05:00:00Z", age_s=3600, ok=True, error=None),
        ssm_check=dict(ok=True, cause=None, detail="SSM On-Prem gave vManage a token and 1 smart account(s)"),
    )
    result.update(overrides)
    return result


def ssm_vars(**overrides):
    values = dict(ssm_url="https://ssm.example.test:8443", ssm_username="admin", ssm_password=PASSWORD,
                  ssm_admin_password=PASSWORD, ssm_client_id="client-a", ssm_client_secret=SECRET, ssm_ca_path="/node/a/ca.pem")
    values.update(overrides)
    return values


def document(fleet, generated="2026-11-26T06:00:00Z"):
    records = [assess_host(name, fleet[name]["info"], fleet[name]["ssm"], None, DAY, "20.9.1") for name in sorted(fleet)]
    return dict(generated=generated, totals=totals(records), hosts=records)


def slice_stats(names, generated="2026-11-26T06:00:00Z", started=1796000000.0):
    fleet = dict((name, dict(info=info(), ssm=ssm_vars())) for name in names)
    return publish(document(fleet, generated), fleet, "facts", started)


@pytest.mark.parametrize("host", ["vmanage-001", "vmanage.emea.example.net", "vm_1", "vm-1", "vm\u00e9", "1st vManage", "v:m/1"])
def test_every_host_name_becomes_a_valid_variable_name_that_gives_the_host_back(host):
    key = stats_key(host)
    # What ansible.utils.vars.validate_variable_name accepts (ansible-core 2.19): an ASCII identifier, no keyword.
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) and not keyword.iskeyword(key)
    assert key.startswith("license_compliance_host_")
    assert records_in({key: dict(host=host, info={})}) == {host: dict(host=host, info={})}


def test_host_names_that_differ_never_share_a_key():
    names = ["vm-1", "vm_1", "vm.1", "vm_2d1", "vm_5f1", "vm1", "VM-1"]
    assert len({stats_key(name) for name in names}) == len(names)


def test_slices_merged_shallowly_keep_the_record_of_every_host_of_every_slice():
    hosts = ["vmanage-%03d" % n for n in range(1, 10)]
    merged = {}
    for number in range(3):
        merged.update(slice_stats(hosts[number::3]))  # awx WorkflowJob.get_effective_artifacts
    assert sorted(records_in(merged)) == hosts


def test_a_run_publishes_host_records_only_never_totals_or_a_secret():
    stats = slice_stats(["vm-a", "vm-b"])
    assert all(key.startswith("license_compliance_host_") for key in stats)
    text = json.dumps(stats)
    assert SECRET not in text and PASSWORD not in text and "invocation" not in text and "/node/a/ca.pem" not in text
    record = stats[stats_key("vm-a")]
    assert (record["host"], record["state"], record["ssm"]["ssm_client_id"]) == ("vm-a", "compliant", "client-a")


def test_the_aggregation_publishes_the_same_records_plus_the_fleet_totals_and_the_hosts_to_fix():
    names = ["vm-a", "vm-b"]
    merged = slice_stats(names)
    fleet = fleet_from_records(names, records_in(merged), {}, {})
    fleet["vm-b"]["info"] = dict(fleet["vm-b"]["info"], mode="online")
    aggregated = publish(document(fleet, "2026-11-26T06:05:00Z"), fleet, "stats")
    assert aggregated["license_compliance"]["broken"] == 1 and aggregated["license_compliance"]["generated"] == "2026-11-26T06:05:00Z"
    assert aggregated["fix_license_sync_hosts"] == ["vm-b"]
    assert aggregated[stats_key("vm-a")] == merged[stats_key("vm-a")], "a record keeps when its facts were read"


def test_a_host_no_slice_reported_is_unprocessed_never_compliant():
    merged = slice_stats(["vm-a"])
    fleet = fleet_from_records(["vm-a", "vm-lost"], records_in(merged), {}, {})
    records = dict((record["host"], record) for record in document(fleet)["hosts"])
    assert records["vm-a"]["state"] == "compliant"
    lost = records["vm-lost"]
    assert (lost["state"], lost["cause"], lost["fixable"]) == ("unprocessed", "NOT_PROCESSED", False)
    assert "run the compliance job again" in lost["remedy"]
    assert totals(list(records.values()))["unprocessed"] == 1
    assert "vm-lost" not in json.dumps(publish(document(fleet), fleet, "stats")["fix_license_sync_hosts"])


def test_a_record_an_earlier_run_left_in_the_workflow_is_stale_and_its_host_unprocessed():
    merged = slice_stats(["vm-a"], generated="2026-11-26T06:00:00Z")
    merged.update(slice_stats(["vm-b"], generated="2026-11-26T07:00:00Z"))
    fleet = fleet_from_records(["vm-a", "vm-b"], records_in(merged), {}, {}, stale_before="2026-11-26T06:30:00Z")
    states = dict((record["host"], record["state"]) for record in document(fleet)["hosts"])
    assert states == {"vm-a": "unprocessed", "vm-b": "compliant"}
    assert "2026-11-26T06:00:00Z" in fleet["vm-a"]["info"]["msg"]


@pytest.mark.parametrize("devices", [{"ok": True}, {"total": "5", "out_of_compliance": 1, "unknown": 0, "reasons": {}},
                                     {"total": 5, "out_of_compliance": 1, "unknown": 0, "reasons": ["Unassigned"]}])
def test_a_hand_made_record_whose_devices_cannot_be_read_leaves_its_host_unprocessed(devices):
    merged = slice_stats(["vm-a"])
    merged[stats_key("vm-a")]["info"]["devices"] = devices
    fleet = fleet_from_records(["vm-a"], records_in(merged), {}, {})
    (record,) = document(fleet)["hosts"]
    assert (record["state"], record["cause"]) == ("unprocessed", "NOT_PROCESSED")
    assert "cannot be read" in fleet["vm-a"]["info"]["msg"]


def test_a_stale_before_that_is_not_a_report_time_is_refused_with_the_format_to_use():
    with pytest.raises(LicenseSyncError) as error:
        fleet_from_records(["vm-a"], records_in(slice_stats(["vm-a"])), {}, {}, stale_before="yesterday")
    assert error.value.cause == "INVALID_INPUT" and "YYYY-MM-DDTHH:MM:SSZ" in str(error.value)


def test_the_aggregating_inventory_gives_secrets_and_node_paths_and_the_record_the_rest():
    merged = slice_stats(["vm-a"])
    own = {"vm-a": dict(ssm_client_secret="secret-of-the-aggregating-job", ssm_ca_path="/node/b/ca.pem", ssm_url=None)}
    fleet = fleet_from_records(["vm-a"], records_in(merged), dict(ssm_validate_certs=True), own)
    ssm = fleet["vm-a"]["ssm"]
    assert ssm["ssm_client_secret"] == "secret-of-the-aggregating-job" and ssm["ssm_ca_path"] == "/node/b/ca.pem"
    assert ssm["ssm_url"] == "https://ssm.example.test:8443" and ssm["ssm_client_id"] == "client-a"
    assert ssm["ssm_validate_certs"] is True


def test_variables_that_only_look_like_records_are_not_read():
    key = stats_key("vm-a")
    assert records_in({key: dict(host="vm-b", info={}), stats_key("vm-c"): "text", "license_compliance": {"hosts": 1},
                       "license_compliance_host_x": dict(host="y", info={})}) == {}
    assert records_in({key: dict(host="vm-a", info={})}) == {"vm-a": dict(host="vm-a", info={})}


def test_devices_out_of_licence_compliance_warn_with_how_many_and_why_and_keep_the_host_compliant():
    devices = dict(ok=True, cause=None, detail="2 of 5", source="/dataservice/v1/licensing/devices", total=5,
                   out_of_compliance=2, unknown=1, reasons={"Unassigned": 2})
    record = assess_host("vm-a", info(devices=devices), ssm_vars(), None, DAY, "20.9.1")
    check = record["checks"][-1]
    assert (record["state"], check["name"], check["status"]) == ("compliant", "device_licenses", "warn")
    assert check["detail"] == "2 of 5 devices out of licence compliance (1 without a licence status it recognises): Unassigned: 2"
    assert record["devices"] == dict(total=5, out_of_compliance=2, unknown=1, reasons={"Unassigned": 2})
    failed = model.device_licenses(dict(ok=False, cause="BAD_RESPONSE", detail="HTML"))
    assert failed["status"] == "warn" and "BAD_RESPONSE" in failed["detail"]
    assert model.device_licenses(dict(ok=True, total=2, out_of_compliance=0, unknown=0, reasons={}))["status"] == "pass"


def test_a_run_without_the_device_check_reports_no_device_check():
    record = assess_host("vm-a", info(), ssm_vars(), None, DAY, "20.9.1")
    assert "device_licenses" not in [check["name"] for check in record["checks"]] and record["devices"] is None


def test_a_record_of_another_shape_leaves_its_host_unprocessed_instead_of_failing_the_report():
    merged = slice_stats(["vm-a", "vm-b"])
    merged[stats_key("vm-b")]["info"]["last_sync"] = "yesterday"
    fleet = fleet_from_records(["vm-a", "vm-b"], records_in(merged), {}, {})
    states = dict((record["host"], record["state"]) for record in document(fleet)["hosts"])
    assert states == {"vm-a": "compliant", "vm-b": "unprocessed"}
