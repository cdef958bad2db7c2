"""Fleet compliance run (playbooks/license_compliance.yml) against a `fleet-mixed` lab.

One lab of FLEET_SIZE vManage per module, plus two hosts the controller cannot use (a closed port,
a wrong password). The playbook runs once normally (at -vvv, to prove no secret is printed) and
once in check mode; the tests read its reports, the lab's truth and the lab's request counters.
The HTML report is opened in Debian's Chromium through Playwright; the screenshot is kept in
tests/output/.
"""
import json
from xml.etree import ElementTree
from pathlib import Path

import pytest
import xmlschema
import yaml

from ..conftest import REPO, closed_port

FLEET_SIZE = 50
FLEET_SEED = 7
MAX_REQUESTS_PER_VMANAGE = 7  # 6 reads, and the device list (license_compliance_device_check, on by default)
JUNIT_XSD = REPO / "tests" / "schemas" / "junit.xsd"
SCREENSHOTS = REPO / "tests" / "output"
UNREACHABLE_HOST = "vmanage-closed-port"
AUTH_FAILED_HOST = "vmanage-wrong-password"

# The cause a session-capped vManage gives is not about licensing: the run reports that host as an error.
STATE_OF_LOGIN_CAUSE = {"VMANAGE_SESSION_CAP": "error"}


def expected_state(cause):
    if cause is None:
        return "compliant"
    return STATE_OF_LOGIN_CAUSE.get(cause, "broken")


@pytest.fixture(scope="module")
def fleet(module_lab, tmp_path_factory, run_playbook):
    """The lab, its truth, and both runs (normal and --check) with their reports and request counters.

    The inventory gets what an operator's vault holds: the client id and secret of the grant each
    vManage uses, plus two hosts the controller cannot use (a closed port, a wrong password).
    """
    lab = module_lab(scenario="fleet-mixed", vmanage=FLEET_SIZE, seed=FLEET_SEED)
    work = tmp_path_factory.mktemp("compliance")
    inventory = yaml.safe_load(lab.inventory.read_text())
    hosts = inventory["all"]["children"]["vmanage"]["hosts"]
    secrets = lab.grant_secrets()
    for name, vmanage in lab.state()["vmanage"].items():
        client_id = vmanage["settings"].get("ssmClientId")
        if client_id in secrets:
            hosts[name].update(ssm_client_id=client_id, ssm_client_secret=secrets[client_id])
    template = dict(next(iter(hosts.values())))
    hosts[UNREACHABLE_HOST] = dict(template, vmanage_host="127.0.0.1", vmanage_port=closed_port())
    hosts[AUTH_FAILED_HOST] = dict(template, vmanage_password="not-the-lab-password")
    inventory_path = work / "inventory.yml"
    inventory_path.write_text(yaml.safe_dump(inventory))

    before = lab.state()
    access_log = Path(lab.info["ssm"]["logs"]["access"])
    log_start = access_log.stat().st_size
    runs = {}
    for mode, check in (("run", False), ("check", True)):
        report_dir = work / mode
        runs[mode] = run_playbook(REPO / "playbooks" / "license_compliance.yml", inventory_path, check=check,
                                  verbosity=3 if mode == "run" else 0,
                                  extra_vars={"license_compliance_report_dir": str(report_dir)})
        runs[mode].reports = report_dir
        runs[mode].document = json.loads((report_dir / "latest.json").read_text()) if runs[mode].rc == 0 else None
    after = lab.state()
    with access_log.open("rb") as log:
        log.seek(log_start)
        ssm_log = log.read().decode("utf-8", "replace").splitlines()
    return dict(lab=lab, before=before, after=after, runs=runs, inventory=inventory_path, ssm_log=ssm_log)


def records(fleet, mode="run"):
    run = fleet["runs"][mode]
    assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return {record["host"]: record for record in run.document["hosts"]}


def test_run_succeeds_and_changes_nothing(fleet):
    run = fleet["runs"]["run"]
    assert run.rc == 0, run.stdout[-4000:]
    assert run.changed() == 0
    assert set(run.stats) == set(records(fleet))


def test_every_host_state_and_first_cause_match_the_lab_truth(fleet):
    truth = fleet["lab"].info["vmanage"]
    found = records(fleet)
    mismatches = {}
    for vmanage in truth:
        cause = vmanage["expected_cause"]
        record = found[vmanage["name"]]
        if (record["state"], record["cause"]) != (expected_state(cause), cause):
            mismatches[vmanage["name"]] = dict(lab=(vmanage["scenario"], cause), report=(record["state"], record["cause"]))
    assert mismatches == {}
    assert len(truth) == FLEET_SIZE


def test_hosts_the_controller_cannot_use_are_reported_without_losing_the_others(fleet):
    found = records(fleet)
    assert found[UNREACHABLE_HOST]["state"] == "unreachable"
    assert found[UNREACHABLE_HOST]["cause"] == "VMANAGE_UNREACHABLE"
    assert found[AUTH_FAILED_HOST]["state"] == "auth_failed"
    assert found[AUTH_FAILED_HOST]["cause"] == "VMANAGE_AUTH_FAILED"
    assert len(found) == FLEET_SIZE + 2


def test_no_write_request_reaches_any_listener(fleet):
    lab = fleet["lab"]
    before, after = lab.writes(fleet["before"]), lab.writes(fleet["after"])
    assert {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)} == {}


def test_each_vmanage_answers_at_most_seven_requests_per_run(fleet):
    before, after = fleet["before"]["vmanage"], fleet["after"]["vmanage"]
    per_host = {name: sum(after[name]["requests"].values()) - sum(before[name]["requests"].values()) for name in after}
    # The wrong-password host of the fixture logs in to vmanage-001's listener too: that listener serves two inventory hosts.
    inventory = yaml.safe_load(fleet["inventory"].read_text())["all"]["children"]["vmanage"]["hosts"]
    ports = [host_vars["vmanage_port"] for host_vars in inventory.values()]
    port_of = {vm["name"]: vm["port"] for vm in fleet["lab"].info["vmanage"]}
    runs = len(fleet["runs"])
    over = {name: count for name, count in per_host.items() if count > MAX_REQUESTS_PER_VMANAGE * runs * ports.count(port_of[name])}
    assert over == {}
    assert max(per_host.values()) > 0


def collection_requests(fleet, path):
    """SSM's access-log lines of requests the collection itself sent (vManage's own calls to SSM carry its user agent)."""
    return [line for line in fleet["ssm_log"] if path in line and '"sdwan_ops.license_sync"' in line]


def test_each_distinct_grant_is_checked_once_not_once_per_host(fleet):
    document = fleet["runs"]["run"].document
    token_requests = len(collection_requests(fleet, "/backend/oauth/token"))
    checked = [grant for grant in document["grants"] if grant["verified"] is not None]
    assert 0 < token_requests <= len(fleet["runs"]) * len(checked)
    assert len(checked) < sum(grant["hosts"] for grant in checked)


def test_ssm_is_probed_and_its_grants_listed_once_per_run_not_once_per_host(fleet):
    servers = fleet["runs"]["run"].document["ssm_servers"]
    assert len(servers) == 2  # the lab's SSM by IP address, and by host name for the dns-missing hosts
    assert all(server["ok"] for server in servers) and sum(server["hosts"] for server in servers) > len(servers)
    runs = len(fleet["runs"])
    accounts = len(fleet["after"]["ssm"]["accounts"])
    assert len(collection_requests(fleet, "GET /backend/api_toolkit/grants")) == runs * len(servers) * accounts
    assert len(collection_requests(fleet, "POST /backend/auth/identity/callback")) == runs * len(servers)


def test_vmanage_that_lost_its_path_to_ssm_after_a_good_sync_is_broken_with_the_cause(fleet):
    """The defect the live check closes: a good last sync, then the stored SSM password stops working."""
    found = records(fleet)
    wrong_password = [vm["name"] for vm in fleet["lab"].info["vmanage"] if vm["scenario"] == "wrong-ssm-password"]
    assert wrong_password
    for name in wrong_password:
        assert found[name]["last_sync"]["ok"] is True
        assert (found[name]["state"], found[name]["cause"]) == ("broken", "SSM_BAD_USER_CREDENTIALS")
        assert {c["name"]: c["status"] for c in found[name]["checks"]}["ssm_user"] == "fail"


def test_check_mode_gives_the_same_result(fleet):
    def comparable(found):
        return {host: (r["state"], r["cause"], r["release"], r["mode"], r["grant_valid"]) for host, r in found.items()}
    assert comparable(records(fleet, "check")) == comparable(records(fleet))


def test_no_secret_in_output_or_reports(fleet):
    lab = fleet["lab"].info
    secrets = {lab["ssm"]["password"], lab["ssm"]["admin_password"]} | {vm["password"] for vm in lab["vmanage"]}
    secrets |= set(fleet["lab"].grant_secrets().values())
    run = fleet["runs"]["run"]
    texts = [run.stdout, run.stderr] + [path.read_text() for path in run.reports.iterdir() if path.is_file()]
    leaked = {secret for secret in secrets if secret and any(secret in text for text in texts)}
    assert leaked == set()


def test_limit_file_holds_exactly_the_fixable_broken_hosts(fleet):
    found = records(fleet)
    listed = (fleet["runs"]["run"].reports / "latest-broken.txt").read_text().split()
    assert listed == sorted(host for host, r in found.items() if r["state"] == "broken" and r["fixable"])
    assert listed


def test_junit_report_validates_and_has_one_case_per_host_and_check(fleet):
    text = (fleet["runs"]["run"].reports / "latest.xml").read_text()
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(text)
    root = ElementTree.fromstring(text)
    found = records(fleet)
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert set(suites) == set(found)
    for host, record in found.items():
        failures = [case.find("failure").get("type") for case in suites[host].findall("testcase") if case.find("failure") is not None]
        assert len(suites[host].findall("testcase")) == len(record["checks"])
        assert (record["state"] == "compliant") == (failures == [])


@pytest.fixture
def page(browser, fleet):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto((fleet["runs"]["run"].reports / "latest.html").as_uri())
    yield page
    page.close()


def visible_hosts(page):
    return page.eval_on_selector_all("#hosts tbody tr:not([hidden]) td:first-child", "cells => cells.map(c => c.textContent.trim())")


def test_html_renders_with_the_totals_of_the_json(page, fleet):
    totals = fleet["runs"]["run"].document["totals"]
    shown = {key: int(page.text_content('[data-total="%s"]' % key)) for key in
             ("hosts", "compliant", "broken", "unreachable", "auth_failed", "error")}
    assert shown == {key: totals[key] for key in shown}
    assert len(visible_hosts(page)) == totals["hosts"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "compliance-report.png"))
    page.screenshot(path=str(SCREENSHOTS / "compliance-report-full.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400, "the report is wider than a 1400 px window"


def test_html_filters_by_state_and_by_cause(page, fleet):
    found = records(fleet)
    page.select_option("#state-filter", "broken")
    assert sorted(visible_hosts(page)) == sorted(h for h, r in found.items() if r["state"] == "broken")
    assert page.text_content("#shown") == str(len(visible_hosts(page)))
    page.select_option("#state-filter", "")
    page.select_option("#cause-filter", "GRANT_NOT_FOUND")
    assert sorted(visible_hosts(page)) == sorted(h for h, r in found.items() if "GRANT_NOT_FOUND" in [c["code"] for c in r["causes"]])
    assert visible_hosts(page)


def test_html_sorts_by_host_and_by_state(page, fleet):
    found = records(fleet)
    page.click('#hosts th[data-key="host"] button')
    assert visible_hosts(page) == sorted(found)
    page.click('#hosts th[data-key="host"] button')
    assert visible_hosts(page) == sorted(found, reverse=True)
    assert page.get_attribute('#hosts th[data-key="host"]', "aria-sort") == "descending"
    page.click('#hosts th[data-key="state"] button')
    states = page.eval_on_selector_all("#hosts tbody tr", "rows => rows.map(r => r.dataset.state)")
    order = ["compliant", "broken", "unreachable", "auth_failed", "error"]
    assert states == sorted(states, key=order.index)


def test_html_shows_each_broken_host_with_its_cause_and_remedy(page, fleet):
    found = records(fleet)
    seed_host = next(host for host, r in found.items() if r["cause"] == "GRANT_NOT_FOUND")
    row = page.locator("#hosts tbody tr", has_text=seed_host).first
    text = row.text_content()
    assert "BROKEN" in text and "GRANT_NOT_FOUND" in text and "API Toolkit" in text
