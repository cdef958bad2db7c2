"""History, metrics and device licence compliance of the compliance run, against a `fleet-mixed` lab.

Two runs of playbooks/license_compliance.yml into the same report directory, with the device check and every format.
Between them three faults switch: a compliant vManage gets a wrong stored SSM password (newly broken), the session-capped
vManage lets logins in again (fixed) and the vManage that could not reach SSM On-Prem reaches it again (its cause
changes: the last sync still failed). The second report must name exactly those hosts. The Prometheus file is read
with prometheus_client's parser; the HTML page with its history is opened in Debian's Chromium through Playwright
(the screenshot is kept in tests/output/).
"""
import json
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..conftest import REPO

PLAYBOOK = REPO / "playbooks" / "license_compliance.yml"
FLEET_SIZE = 14  # every host state of fleet-mixed appears from 12 vManage on
SEED = 7
MAX_REQUESTS_WITH_DEVICES = 7
# vManage's device lists: v1 "Licensing - Next Generation" from 20.15, msla before (plugins/module_utils/vmanage.py).
DEVICE_PATHS = ("/dataservice/v1/licensing/devices", "/dataservice/msla/devices")
SCREENSHOTS = REPO / "tests" / "output"
PREFIX = "sdwan_license_compliance_"


def host_in(lab, scenario):
    return next(vm["name"] for vm in lab.info["vmanage"] if vm["scenario"] == scenario)


@pytest.fixture(scope="module")
def runs(module_lab, tmp_path_factory, run_playbook):
    lab = module_lab(scenario="fleet-mixed", vmanage=FLEET_SIZE, seed=SEED)
    reports = tmp_path_factory.mktemp("history") / "reports"
    extra = {"license_compliance_report_dir": str(reports), "license_compliance_device_check": True,
             "license_compliance_report_formats": ["json", "junit", "html", "prometheus"]}
    changes = {"newly_broken": host_in(lab, "healthy"), "fixed": host_in(lab, "session-cap"),
               "cause_changed": host_in(lab, "ssm-unreachable-from-vmanage")}
    before = lab.state()
    first = run_playbook(PLAYBOOK, lab.inventory, extra_vars=extra)
    after_first = lab.state()
    first.document = json.loads((reports / "latest.json").read_text()) if first.rc == 0 else None
    first.prom_inode = (reports / "latest.prom").stat().st_ino if first.rc == 0 else None
    lab.fault(changes["newly_broken"], "wrong-ssm-password")
    lab.fault(changes["fixed"], "session-cap", clear=True)
    lab.fault(changes["cause_changed"], "ssm-unreachable-from-vmanage", clear=True)
    second = run_playbook(PLAYBOOK, lab.inventory, extra_vars=extra)
    second.document = json.loads((reports / "latest.json").read_text()) if second.rc == 0 else None
    return dict(lab=lab, reports=reports, first=first, second=second, changes=changes, before=before, after_first=after_first,
                truth=lab.state())


def document(runs, which):
    run = runs[which]
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run.document


def records(runs, which):
    return {record["host"]: record for record in document(runs, which)["hosts"]}


def test_the_first_report_says_there_is_nothing_to_compare_with(runs):
    history = document(runs, "first")["history"]
    assert history["previous"] is None and history["changed"] == []


def test_the_second_report_names_exactly_the_hosts_that_changed_and_how(runs):
    first, second = document(runs, "first"), document(runs, "second")
    history = second["history"]
    changes = runs["changes"]
    assert history["previous"] == first["generated"]
    assert sorted(history["changed"]) == sorted(changes.values())
    for change, host in changes.items():
        assert history[change] == [host], (change, history)
    found = records(runs, "second")
    assert (found[changes["newly_broken"]]["state"], found[changes["newly_broken"]]["cause"]) == ("broken", "SSM_BAD_USER_CREDENTIALS")
    assert found[changes["fixed"]]["state"] == "compliant"
    assert found[changes["cause_changed"]]["history"]["previous_cause"] == "SSM_UNREACHABLE_FROM_VMANAGE"
    assert found[changes["cause_changed"]]["cause"] != "SSM_UNREACHABLE_FROM_VMANAGE"
    unchanged = set(found) - set(changes.values())
    assert set(history["still_broken"]) == {host for host in unchanged if found[host]["state"] != "compliant"}
    assert all(runs_broken == 2 for runs_broken in history["still_broken"].values())
    assert {found[host]["history"]["change"] for host in unchanged} <= {"still_broken", "still_compliant"}


def test_each_vmanage_reports_its_devices_out_of_licence_compliance_and_why(runs):
    found, truth = records(runs, "first"), runs["after_first"]["vmanage"]
    checked = 0
    for vm in runs["lab"].info["vmanage"]:
        record = found[vm["name"]]
        if record["state"] in ("error", "unreachable", "auth_failed"):
            assert record["devices"] is None
            continue
        v1 = tuple(int(part) for part in vm["release"].split(".")[:2]) >= (20, 15)
        licensed = bool(truth[vm["name"]]["licenses"])
        reason = "Unassigned" if v1 else "Subscription Needed"
        assert record["devices"] == dict(total=2, out_of_compliance=0 if licensed else 2, unknown=0,
                                         reasons={} if licensed else {reason: 2}), vm["name"]
        check = next(check for check in record["checks"] if check["name"] == "device_licenses")
        assert check["status"] == ("pass" if licensed else "warn")
        checked += 1
    assert checked and any(record["devices"] and record["devices"]["out_of_compliance"] for record in found.values())


def test_the_device_check_costs_one_request_per_vmanage_and_changes_no_host_state(runs):
    before, after = runs["before"]["vmanage"], runs["after_first"]["vmanage"]
    per_host = {name: sum(after[name]["requests"].values()) - sum(before[name]["requests"].values()) for name in after}
    assert max(per_host.values()) <= MAX_REQUESTS_WITH_DEVICES

    def device_reads(state):
        return sum(count for key, count in state["requests"].items() if key.endswith(DEVICE_PATHS))
    reads = {name: device_reads(after[name]) - device_reads(before[name]) for name in after}
    listed = {host for host, record in records(runs, "first").items() if record["devices"]}
    assert listed and {name for name, count in reads.items() if count} == listed
    assert set(reads.values()) <= {0, 1}
    truth = {vm["name"]: vm["expected_cause"] for vm in runs["lab"].info["vmanage"]}
    assert {host: record["cause"] for host, record in records(runs, "first").items()} == truth


def families(text):
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(found, name, **labels):
    return next(sample.value for sample in found[PREFIX + name].samples if sample.labels == labels)


def test_the_prometheus_file_parses_and_agrees_with_the_json_report(runs):
    text = (runs["reports"] / "latest.prom").read_text()
    doc = document(runs, "second")
    found = families(text)
    totals = doc["totals"]
    for state in ("compliant", "broken", "unreachable", "auth_failed", "error", "unprocessed"):
        assert value(found, "hosts", state=state) == totals[state]
    assert {s.labels["cause"]: s.value for s in found[PREFIX + "hosts_by_cause"].samples} == totals["by_cause"]
    assert value(found, "hosts_fixable") == totals["fixable"] and value(found, "hosts_needing_operator") == totals["needs_operator"]
    for record in doc["hosts"]:
        states = {s.labels["state"]: s.value for s in found[PREFIX + "host_state"].samples if s.labels["host"] == record["host"]}
        assert [state for state, flag in states.items() if flag == 1] == [record["state"]]
        causes = {s.labels["cause"] for s in found[PREFIX + "host_cause"].samples if s.labels["host"] == record["host"]}
        assert causes == {cause["code"] for cause in record["causes"]}
        ages = [s.value for s in found[PREFIX + "host_last_sync_age_seconds"].samples if s.labels["host"] == record["host"]]
        assert ages == ([record["last_sync"]["age_s"]] if record["last_sync"]["age_s"] is not None else [])
        reasons = {s.labels["reason"]: s.value for s in found[PREFIX + "devices_out_of_compliance"].samples
                   if s.labels["host"] == record["host"]}
        assert reasons == ((record["devices"] or {}).get("reasons") or {})
    assert value(found, "run_duration_seconds") == doc["duration_s"] > 0
    assert value(found, "host_broken_runs", host=runs["changes"]["newly_broken"]) == 1


def test_the_prometheus_file_keeps_the_rules_the_lax_parser_does_not_check(runs):
    """One HELP and TYPE before each family's samples, a family's lines together, unique series, no timestamps (node_exporter
    rejects a file with any), a final newline; replaced by a rename, never rewritten in place."""
    text = (runs["reports"] / "latest.prom").read_text()
    assert text.endswith("\n")
    seen, series, current = [], set(), None
    for line in text.splitlines():
        kind = re.match(r"# (HELP|TYPE) (\S+)", line)
        if kind:
            if kind[1] == "HELP":
                assert kind[2] not in seen, "a second HELP for %s" % kind[2]
                seen.append(kind[2])
                current = kind[2]
            else:
                assert kind[2] == current and line.endswith(" gauge")
            continue
        name, labels, number = re.fullmatch(r"([a-z_]+)(\{.*\})? (\S+)", line).groups()
        assert name == current, "%s outside its family" % name
        assert (name, labels) not in series
        series.add((name, labels))
        float(number)
    assert all(name.startswith(PREFIX) for name in seen)
    assert (runs["reports"] / "latest.prom").stat().st_ino != runs["first"].prom_inode
    assert not list(runs["reports"].glob(".tmp-*")) and not list(runs["reports"].glob("license-compliance-*.prom"))


def test_the_html_page_opens_with_what_changed_and_still_sorts_and_filters(browser, runs):
    doc = document(runs, "second")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto((runs["reports"] / "latest.html").as_uri())
        first_section = page.eval_on_selector("main > section", "s => s.id")
        assert first_section == "history", "what changed is not at the top of the page"
        assert page.text_content('[data-change-count="changed"]') == "3"
        for change, host in runs["changes"].items():
            assert page.eval_on_selector_all('#changes tr[data-change="%s"] .chg' % change,
                                             "spans => spans.map(s => s.dataset.host)") == [host]
        assert page.is_visible('#changes tr[data-change="newly_broken"] .chg')
        assert int(page.text_content('[data-total="compliant"]')) == doc["totals"]["compliant"]
        assert page.get_attribute('#hosts th[data-key="devices"]', "data-type") == "num"
        page.select_option("#state-filter", "broken")
        shown = page.eval_on_selector_all("#hosts tbody tr:not([hidden]) td:first-child", "cells => cells.map(c => c.textContent.trim())")
        assert sorted(shown) == sorted(r["host"] for r in doc["hosts"] if r["state"] == "broken")
        page.select_option("#state-filter", "")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "compliance-report-history.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 1400, "the report is wider than a 1400 px window"
    finally:
        page.close()
