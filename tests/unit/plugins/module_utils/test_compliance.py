"""Compliance assessment and report files (plugin_utils._compliance, plugin_utils._report) over the one check model.

Inputs are vmanage_license_info results as the module returns them; the grant check goes over
real TLS to the scripted SSM server of this directory's conftest.
"""
import json
from xml.etree import ElementTree
from pathlib import Path

import pytest
import xmlschema

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import LICENSE_REPORT
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import RunContext
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils import _report as compliance_report
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._compliance import (
    CHECKS as COMPLIANCE_CHECKS, assess_host, plan_grant_checks, run_compliance, totals,
)
from ansible_collections.sdwan_ops.license_sync.tests.unit.plugins.module_utils.harness import Reply

JUNIT_XSD = Path(__file__).resolve().parents[3] / "schemas" / "junit.xsd"
SEED_ERROR = ("Failed to authenticate Smart Account credentials.: Failed to authenticate user - 'admin'. "
              '{"error":"invalid_client","error_message":"Grant not found. Ensure that the given grant details are correct."}')
SECRET = "fake-lab-client-secret-0123"
DAY = 86400


def info(**overrides):
    """A healthy vManage as vmanage_license_info reports it."""
    result = dict(
        changed=False, release="20.12.1", mode="on-prem", ssm_url="https://ssm.example.test:8443", client_id="client-a",
        client_secret_stored=True, credentials_stored=True, ssm_username="admin",
        last_sync=dict(time="2026-11-26T05:00:00Z", age_s=3600, ok=True, error=None),
    )
    result.update(overrides)
    return result


def ssm_vars(**overrides):
    values = dict(ssm_url="https://ssm.example.test:8443", ssm_username="admin", ssm_password="fake-ssm-password")
    values.update(overrides)
    return values


def assess(info_result, ssm=None, verdict=None, max_age=DAY, server=None):
    return assess_host("vm1", info_result, ssm if ssm is not None else ssm_vars(), verdict, max_age, "20.9.1", server)


def live(cause=None, detail="vManage could not fetch the accounts from SSM On-Prem: ..."):
    """The ssm_check of vmanage_license_info: vManage asked SSM On-Prem now (cause None: it worked)."""
    if cause is None:
        return dict(ok=True, cause=None, detail="SSM On-Prem gave vManage a token and 1 smart account(s)")
    return dict(ok=False, cause=cause, detail=detail)


def server(probe_cause=None, client_ids=None):
    """A checked entry of plan_ssm_checks: the controller's look at SSM On-Prem and the grant list."""
    url = "https://ssm.example.test:8443"
    if probe_cause is None:
        controller = dict(ok=True, cause=None, detail="up", reached=True, backend=True, url=url)
    elif probe_cause == "SSM_BACKEND_DOWN":
        controller = dict(ok=True, cause=None, detail="front answers, backend does not", reached=True, backend=False, url=url)
    else:
        controller = dict(ok=False, cause=probe_cause, detail="probe failed", reached=False, backend=None, url=url)
    return dict(ssm_url=url, hosts=["vm1"], controller=controller, client_ids=client_ids, grants_detail="listed")


def verdict(ok, cause=None, detail="token request"):
    """The outcome of a token request from the controller for the host's grant."""
    return dict(ok=ok, cause=cause, detail=detail, remedy=None)


def statuses(record):
    return dict((check["name"], check["status"]) for check in record["checks"])


def codes(record):
    return [cause["code"] for cause in record["causes"]]


def test_healthy_vmanage_is_compliant_with_every_check_passing():
    record = assess(info(ssm_check=live()), verdict=verdict(True, detail="token issued"),
                    server=server(client_ids={"client-a": "vmanage-grant"}))
    assert record["state"] == "compliant"
    assert record["causes"] == [] and record["cause"] is None
    assert record["grant_valid"] is True
    assert record["ssm_reachable_from_vmanage"] is True
    assert statuses(record) == {
        "login": "pass", "release": "pass", "mode": "pass", "ssm_url": "pass", "credentials": "pass", "dns": "skip",
        "vmanage_to_ssm": "pass", "controller_to_ssm": "pass", "ssm_backend": "pass", "stored_auth": "pass", "grant": "pass",
        "ssm_user": "pass", "last_sync": "pass"}


@pytest.mark.parametrize("cause, check", [
    ("GRANT_NOT_FOUND", "grant"), ("SSM_BAD_USER_CREDENTIALS", "ssm_user"), ("SSM_BACKEND_DOWN", "ssm_backend"),
    ("DNS_MISSING", "dns"), ("SSM_UNREACHABLE_FROM_VMANAGE", "vmanage_to_ssm"), ("SSM_TLS_UNTRUSTED", "vmanage_to_ssm"),
])
def test_what_broke_after_the_last_good_sync_breaks_the_host_when_vmanage_asks_ssm_now(cause, check):
    record = assess(info(ssm_check=live(cause)), server=server())
    assert record["state"] == "broken"
    assert record["cause"] == cause
    assert (statuses(record)[check], statuses(record)["stored_auth"], statuses(record)["last_sync"]) == ("fail", "fail", "pass")


@pytest.mark.parametrize("cause", ["SSM_BUSY", "SYNC_FAILED", "HTTP_ERROR", "VMANAGE_NOT_READY", "TIMEOUT"])
def test_a_passing_failure_of_the_live_check_keeps_a_healthy_host_compliant_with_a_warning(cause):
    record = assess(info(ssm_check=live(cause, "SSM On-Prem answered vManage HTTP 429")), server=server())
    assert record["state"] == "compliant"
    assert (statuses(record)["stored_auth"], statuses(record)["ssm_user"]) == ("warn", "warn")


def test_backend_down_seen_by_the_controller_breaks_a_host_vmanage_could_not_prove_healthy():
    record = assess(info(ssm_check=live("SSM_BUSY")), server=server("SSM_BACKEND_DOWN"))
    assert (record["state"], record["cause"]) == ("broken", "SSM_BACKEND_DOWN")


@pytest.mark.parametrize("probe_cause, vmanage_cause", [("SSM_UNREACHABLE", "SSM_UNREACHABLE_FROM_VMANAGE"),
                                                        ("SSM_TLS_UNTRUSTED", "SSM_TLS_UNTRUSTED")])
def test_ssm_down_or_untrusted_for_controller_and_vmanage_alike_names_ssm_first(probe_cause, vmanage_cause):
    record = assess(info(ssm_check=live(vmanage_cause)), server=server(probe_cause))
    assert (record["state"], record["cause"]) == ("broken", probe_cause)
    assert vmanage_cause in codes(record)


@pytest.mark.parametrize("probe_cause", ["SSM_UNREACHABLE", "SSM_TLS_UNTRUSTED", "SSM_BACKEND_DOWN"])
def test_what_only_the_controller_sees_does_not_break_a_host_whose_vmanage_reaches_ssm_now(probe_cause):
    record = assess(info(ssm_check=live()), server=server(probe_cause))
    assert record["state"] == "compliant"
    shown_by = "ssm_backend" if probe_cause == "SSM_BACKEND_DOWN" else "controller_to_ssm"
    assert statuses(record)[shown_by] == "warn"


def test_client_id_missing_from_the_ssm_grant_list_is_grant_not_found_and_listed_is_a_pass():
    record = assess(info(), server=server(client_ids={"client-b": "other"}))
    assert (record["state"], record["cause"], record["grant_valid"]) == ("broken", "GRANT_NOT_FOUND", False)
    assert "API Toolkit has no grant with client id client-a" in record["causes"][0]["detail"]
    record = assess(info(), server=server(client_ids={"client-a": "vmanage-grant"}))
    assert record["state"] == "compliant"
    assert [c["status"] for c in record["checks"] if c["name"] == "grant"] == ["pass"]


def test_failed_last_sync_whose_cause_is_gone_now_asks_for_a_new_sync():
    record = assess(info(last_sync=dict(time=None, age_s=None, ok=False, error=SEED_ERROR), ssm_check=live()))
    assert codes(record) == ["SYNC_FAILED"]
    assert record["fixable"] is True and record["grant_valid"] is True


def test_seed_error_is_grant_not_found_with_the_api_toolkit_remedy_and_proves_reachability():
    record = assess(info(last_sync=dict(time=None, age_s=None, ok=False, error=SEED_ERROR)))
    assert record["state"] == "broken"
    assert record["cause"] == "GRANT_NOT_FOUND"
    assert "API Toolkit" in record["remedy"]
    assert record["grant_valid"] is False
    assert record["ssm_reachable_from_vmanage"] is True
    assert record["fixable"] is True


def test_refused_connection_in_last_sync_proves_ssm_unreachable_from_vmanage():
    error = "Failed to authenticate Smart Account credentials.: Connection refused (Connection refused)"
    record = assess(info(last_sync=dict(time=None, age_s=None, ok=False, error=error)))
    assert record["ssm_reachable_from_vmanage"] is False
    assert record["cause"] == "SSM_UNREACHABLE_FROM_VMANAGE"
    assert record["fixable"] is False


def test_without_sync_history_reachability_stays_unknown_and_never_synced_is_stale():
    record = assess(info(last_sync=dict(time=None, age_s=None, ok=None, error=None)))
    assert record["ssm_reachable_from_vmanage"] is None
    assert codes(record) == ["SYNC_STALE"]


def test_a_vmanage_that_reports_no_last_sync_is_compliant_when_it_reaches_ssm_now_and_never_called_never_synced():
    unreported = dict(time=None, age_s=None, ok=None, error=None, reported=False)
    record = assess(info(last_sync=unreported, ssm_check=live()))
    last_sync = [c for c in record["checks"] if c["name"] == "last_sync"][0]
    assert record["state"] == "compliant" and last_sync["status"] == "skip"
    assert "does not report its last sync" in last_sync["detail"] and "just now" in last_sync["detail"]
    assert "never" not in json.dumps(record)
    broken = assess(info(last_sync=unreported, ssm_check=live("GRANT_NOT_FOUND")))
    assert (broken["state"], broken["cause"], broken["fixable"]) == ("broken", "GRANT_NOT_FOUND", True)
    document = _document()
    assert "not reported" in compliance_report.render_html(dict(document, hosts=[record], totals=totals([record])))


def test_old_sync_is_stale_and_fresh_enough_is_not():
    assert codes(assess(info(last_sync=dict(time="2026-11-20T00:00:00Z", age_s=5 * DAY, ok=True, error=None)))) == ["SYNC_STALE"]
    assert assess(info(last_sync=dict(time="2026-11-20T00:00:00Z", age_s=5 * DAY, ok=True, error=None)), max_age=7 * DAY)["state"] == "compliant"


def test_unconfigured_vmanage_lists_every_missing_setting_mode_first():
    record = assess(info(mode="online", ssm_url=None, client_id=None, credentials_stored=False, client_secret_stored=False,
                         last_sync=dict(time=None, age_s=None, ok=None, error=None)))
    assert codes(record)[:3] == ["MODE_NOT_ONPREM", "SSM_URL_MISSING", "CREDENTIALS_MISSING"]
    assert record["fixable"] is True


def test_old_release_stops_the_assessment_with_a_cause_the_operator_must_fix():
    record = assess(info(release="20.6.3", mode=None, ssm_url=None, client_id=None, credentials_stored=False))
    assert codes(record) == ["RELEASE_TOO_OLD"]
    assert record["fixable"] is False
    assert [c["status"] for c in record["checks"][2:]] == ["skip"] * (len(record["checks"]) - 2)


def test_url_differing_from_the_inventory_is_a_mismatch_but_spelling_is_not():
    assert codes(assess(info(ssm_url="https://other.example.test:8443")))[0] == "SSM_URL_MISMATCH"
    assert assess(info(ssm_url="HTTPS://ssm.example.test:8443/"))["state"] == "compliant"


@pytest.mark.parametrize("cause, state", [
    ("VMANAGE_UNREACHABLE", "unreachable"), ("VMANAGE_TLS_UNTRUSTED", "unreachable"), ("TIMEOUT", "unreachable"),
    ("VMANAGE_AUTH_FAILED", "auth_failed"), ("VMANAGE_SESSION_CAP", "error"),
])
def test_failed_fact_gathering_becomes_a_state_with_the_cause(cause, state):
    record = assess(dict(failed=True, cause=cause, msg="vManage at https://vm1:443: no answer", remedy="do this"))
    assert record["state"] == state
    assert record["cause"] == cause
    assert record["checks"][0]["status"] == "fail"


def test_host_ansible_never_reached_is_unreachable():
    assert assess(dict(failed=True, unreachable=True, msg="no result"))["state"] == "unreachable"


def test_grant_rejected_by_ssm_breaks_a_host_whose_last_sync_was_good():
    record = assess(info(), verdict=verdict(False, "GRANT_NOT_FOUND", "grant deleted"))
    assert record["state"] == "broken" and record["cause"] == "GRANT_NOT_FOUND" and record["grant_valid"] is False


def test_controller_that_cannot_reach_ssm_does_not_break_a_host():
    record = assess(info(), verdict=verdict(False, "SSM_UNREACHABLE", "connection refused"))
    assert record["state"] == "compliant"
    assert [c["status"] for c in record["checks"] if c["name"] == "grant"] == ["warn"]


def test_grants_are_planned_once_per_client_id_with_a_secret_from_a_matching_host():
    hosts = {
        "vm1": dict(info=info(client_id="shared"), ssm=ssm_vars(ssm_client_id="other", ssm_client_secret="wrong-secret")),
        "vm2": dict(info=info(client_id="shared"), ssm=ssm_vars(ssm_client_secret=SECRET)),
        "vm3": dict(info=info(client_id="shared", ssm_url="https://SSM.example.test:8443/"), ssm=ssm_vars()),
        "vm4": dict(info=info(client_id="lonely"), ssm=ssm_vars()),
        "vm5": dict(info=dict(failed=True, cause="VMANAGE_UNREACHABLE"), ssm=ssm_vars(ssm_client_secret=SECRET)),
    }
    plan = plan_grant_checks(hosts)
    assert [(e["client_id"], e["hosts"]) for e in plan] == [("shared", ["vm1", "vm2", "vm3"]), ("lonely", ["vm4"])]
    assert plan[0]["params"]["ssm_client_secret"] == SECRET
    assert plan[1]["params"] is None


def _params(**overrides):
    params = dict((name, spec.get("default")) for name, spec in LICENSE_REPORT["argument_spec"].items())
    params.update(overrides)
    return params


def test_run_makes_one_token_request_per_distinct_grant_and_returns_no_secret(server, ca_file):
    server.route("POST", "/backend/oauth/token", compliance_reply_for_secret(SECRET))
    ssm = ssm_vars(ssm_url=server.url, ssm_ca_path=ca_file, ssm_client_secret=SECRET)
    hosts = dict(("vm%d" % n, dict(info=info(client_id="shared", ssm_url=server.url), ssm=dict(ssm))) for n in range(1, 6))
    hosts["vm6"] = dict(info=info(client_id="deleted", ssm_url=server.url), ssm=dict(ssm))
    document = run_compliance(_params(), RunContext(), hosts)
    assert server.count("POST", "/backend/oauth/token") == 2
    assert all(SECRET not in r.path for r in server.requests)
    states = dict((r["host"], (r["state"], r["cause"])) for r in document["hosts"])
    assert states["vm1"] == ("compliant", None)
    assert states["vm6"] == ("broken", "GRANT_NOT_FOUND")
    assert document["totals"]["compliant"] == 5 and document["totals"]["broken"] == 1
    assert SECRET not in json.dumps(document)


def test_run_probes_each_ssm_and_lists_its_grants_once_not_once_per_host(server, ca_file):
    server.route("GET", "/backend/settings/oauth_adfs", Reply(200, {}, headers=[("Set-Cookie", "XSRF-TOKEN=fake-xsrf; Path=/")]))
    server.route("POST", "/backend/auth/identity/callback", Reply(200, {"uid": "admin"}))
    server.route("GET", "/backend/accounts", Reply(200, {"accounts": [{"id": 1, "name": "lab", "default": True}]}))
    server.route("GET", "/backend/api_toolkit/grants", Reply(200, {"grants": [
        {"id": 7, "name": "vmanage-grant", "type": "resource_owner", "client_id": "shared", "account_id": 1}]}))
    ssm = ssm_vars(ssm_url=server.url, ssm_ca_path=ca_file)
    hosts = dict(("vm%d" % n, dict(info=info(client_id="shared", ssm_url=server.url, ssm_check=live()), ssm=dict(ssm)))
                 for n in range(1, 6))
    hosts["vm6"] = dict(info=info(client_id="deleted", ssm_url=server.url), ssm=dict(ssm))
    hosts["vm7"] = dict(info=info(client_id="shared", ssm_url="https://127.0.0.2:8443"), ssm=dict(ssm))
    document = run_compliance(_params(), RunContext(), hosts)
    assert (server.count("GET", "/backend/settings/oauth_adfs"), server.count("POST", "/backend/auth/identity/callback"),
            server.count("GET", "/backend/api_toolkit/grants")) == (2, 1, 1)
    states = dict((r["host"], (r["state"], r["cause"])) for r in document["hosts"])
    assert states["vm1"] == ("compliant", None)
    assert states["vm6"] == ("broken", "GRANT_NOT_FOUND")
    assert states["vm7"] == ("broken", "SSM_URL_MISMATCH")
    assert [(s["ssm_url"], s["hosts"], s["ok"]) for s in document["ssm_servers"]] == [(server.url, 6, True)]
    assert "fake-ssm-password" not in json.dumps(document)


def compliance_reply_for_secret(secret):
    def reply(request):
        if request.form().get("client_id") == "shared" and request.form().get("client_secret") == secret:
            return Reply(200, {"access_token": "fake-token", "token_type": "Bearer", "expires_in": 3600})
        return Reply(403, {"error": "invalid_client", "error_message": "Grant not found. Ensure that the given grant details are correct."})
    return reply


def _document():
    records = [
        assess_host("vm-ok", info(), ssm_vars(), verdict(True, detail="ok"), DAY, "20.9.1"),
        assess_host("vm-seed", info(last_sync=dict(time=None, age_s=None, ok=False, error=SEED_ERROR)), ssm_vars(), None, DAY, "20.9.1"),
        assess_host("vm-old", info(release="20.6.3"), ssm_vars(), None, DAY, "20.9.1"),
        assess_host("vm-down", dict(failed=True, cause="VMANAGE_UNREACHABLE", msg="refused <script>x</script>"), ssm_vars(), None, DAY, "20.9.1"),
        assess_host("vm-auth", dict(failed=True, cause="VMANAGE_AUTH_FAILED", msg="login refused"), ssm_vars(), None, DAY, "20.9.1"),
    ]
    return dict(generated="2026-11-26T06:00:00Z", title="Fleet <test>", max_sync_age=DAY, min_release="20.9.1",
                totals=totals(records), grants=[], hosts=records)


def test_junit_has_one_testcase_per_host_and_check_and_validates_against_the_ci_schema():
    document = _document()
    text = compliance_report.render_junit(document)
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(text)
    root = ElementTree.fromstring(text)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [r["host"] for r in document["hosts"]]
    assert all(len(s.findall("testcase")) == len(COMPLIANCE_CHECKS) for s in suites)
    seed = suites[1]
    failures = [c.find("failure") for c in seed.findall("testcase") if c.find("failure") is not None]
    assert {f.get("type") for f in failures} == {"GRANT_NOT_FOUND"}
    assert "API Toolkit" in failures[0].text
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites) > 0


def test_limit_file_lists_only_hosts_the_fix_playbook_can_repair():
    assert compliance_report.render_limit_file(_document()) == "vm-seed\n"


def test_html_is_self_contained_and_escapes_what_hosts_report():
    html = compliance_report.render_html(_document())
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "Fleet &lt;test&gt;" in html
    for external in ("http://", "https://", "src=", "@import", "url("):
        assert external not in html.replace("https://ssm.example.test:8443", "")


def test_reports_are_written_with_timestamped_names_and_latest_copies(tmp_path):
    written = compliance_report.write_reports(_document(), str(tmp_path / "out"), ["json", "junit", "html"], "20261126T060000Z")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["broken-20261126T060000Z.txt", "latest-broken.txt", "latest.html", "latest.json", "latest.xml",
                     "license-compliance-20261126T060000Z.html", "license-compliance-20261126T060000Z.json",
                     "license-compliance-20261126T060000Z.xml"]
    assert json.loads(Path(written["json"]).read_text())["totals"]["hosts"] == 5
    assert (tmp_path / "out" / "latest.json").read_text() == Path(written["json"]).read_text()
