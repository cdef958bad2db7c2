"""History between two reports (_compliance.compare_with_previous) and the Prometheus metrics file (_report)."""
import calendar
import json
import os

from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils import _report as report
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._compliance import compare_with_previous, totals


def record(host, state="compliant", cause=None, age=60, **extra):
    causes = [dict(code=cause, title=cause, remedy="do it", fixable=True, detail="d")] if cause else []
    value = dict(host=host, state=state, cause=cause, causes=causes, fixable=True if cause else None, release="20.12.1",
                 mode="on-prem", ssm_url="https://ssm", client_id="c", credentials_stored=True, grant_valid=True,
                 last_sync=dict(time="2026-11-26T05:59:00Z", age_s=age, ok=True, error=None, reported=True),
                 ssm_reachable_from_vmanage=True, devices=None, remedy=None, checks=[])
    value.update(extra)
    return value


def doc(records, generated):
    return dict(generated=generated, title="t", max_sync_age=86400, min_release="20.9.1", totals=totals(records), grants=[],
                ssm_servers=[], hosts=records, duration_s=12.5)


def test_a_first_report_has_no_previous_one_and_names_no_change():
    first = compare_with_previous(doc([record("a"), record("b", "broken", "SYNC_STALE")], "2026-11-26T06:00:00Z"), None)
    assert first["history"]["previous"] is None and first["history"]["changed"] == []
    assert [r["history"]["change"] for r in first["hosts"]] == [None, None]
    assert first["hosts"][1]["history"]["broken_runs"] == 1


def test_history_names_newly_broken_fixed_and_changed_causes_and_counts_the_runs_still_broken():
    before = compare_with_previous(doc([record("ok-then-broken"), record("broken-then-ok", "broken", "GRANT_NOT_FOUND"),
                                        record("cause", "broken", "SYNC_STALE"), record("same", "broken", "DNS_MISSING"),
                                        record("steady"), record("gone")], "2026-11-26T06:00:00Z"), None)
    before = json.loads(json.dumps(before))  # as read back from latest.json
    after = compare_with_previous(doc([record("ok-then-broken", "broken", "GRANT_NOT_FOUND"), record("broken-then-ok"),
                                       record("cause", "unreachable", "VMANAGE_UNREACHABLE"),
                                       record("same", "broken", "DNS_MISSING"), record("steady"), record("added")],
                                      "2026-11-27T06:00:00Z"), before)
    history = after["history"]
    assert history["previous"] == "2026-11-26T06:00:00Z"
    assert (history["newly_broken"], history["fixed"], history["cause_changed"]) == (["ok-then-broken"], ["broken-then-ok"], ["cause"])
    assert sorted(history["changed"]) == ["broken-then-ok", "cause", "ok-then-broken"]
    assert (history["new"], history["removed"], history["still_broken"]) == (["added"], ["gone"], {"same": 2})
    changes = dict((r["host"], r["history"]) for r in after["hosts"])
    assert changes["cause"] == dict(change="cause_changed", previous_state="broken", previous_cause="SYNC_STALE", broken_runs=2)
    assert changes["steady"]["change"] == "still_compliant" and changes["steady"]["broken_runs"] == 0


def test_an_unprocessed_host_keeps_its_last_known_state_and_is_not_called_fixed_or_broken():
    first = json.loads(json.dumps(compare_with_previous(doc([record("a", "broken", "SYNC_STALE")], "2026-11-26T06:00:00Z"), None)))
    second = json.loads(json.dumps(compare_with_previous(doc([record("a", "unprocessed", "NOT_PROCESSED")], "2026-11-27T06:00:00Z"), first)))
    assert second["hosts"][0]["history"] == dict(change="unprocessed", previous_state="broken", previous_cause="SYNC_STALE", broken_runs=1)
    assert second["history"]["changed"] == [] and second["history"]["unprocessed"] == ["a"]
    third = compare_with_previous(doc([record("a", "broken", "SYNC_STALE")], "2026-11-28T06:00:00Z"), second)
    assert third["hosts"][0]["history"]["change"] == "still_broken" and third["hosts"][0]["history"]["broken_runs"] == 2


def test_the_previous_report_is_read_from_the_destination_and_anything_else_is_ignored_with_a_reason(tmp_path):
    assert report.read_previous(str(tmp_path)) == (None, None)
    (tmp_path / "latest.json").write_text("{not json")
    previous, why = report.read_previous(str(tmp_path))
    assert previous is None and "no history this time" in why
    (tmp_path / "latest.json").write_text(json.dumps(doc([record("a")], "2026-11-26T06:00:00Z")))
    assert report.read_previous(str(tmp_path))[0]["generated"] == "2026-11-26T06:00:00Z"


def test_metrics_escape_what_hosts_are_called_and_leave_out_what_is_not_known():
    """The text format's escapes in label values: backslash, double quote, line feed (prometheus.io exposition formats).
    tests/integration/test_compliance_history.py reads a whole file with prometheus_client's parser."""
    odd = 'vm "quoted" \\ back\nslash'
    records = [record("a", devices=dict(total=3, out_of_compliance=1, unknown=0, reasons={"Unassigned": 1})),
               record(odd, "broken", "GRANT_NOT_FOUND")]
    records[1]["last_sync"]["age_s"] = None
    text = report.render_prometheus(compare_with_previous(doc(records, "2026-11-26T06:00:00Z"), None))
    lines = text.splitlines()
    assert text.endswith("\n") and all(line.startswith("sdwan_license_compliance_") or line.startswith("# ") for line in lines)
    escaped = 'vm \\"quoted\\" \\\\ back\\nslash'
    assert 'sdwan_license_compliance_host_state{host="%s",state="broken"} 1' % escaped in lines
    assert 'sdwan_license_compliance_host_cause{host="%s",cause="GRANT_NOT_FOUND",fixable="true"} 1' % escaped in lines
    assert not [line for line in lines if line.startswith('sdwan_license_compliance_host_last_sync_age_seconds{host="%s"' % escaped)]
    assert 'sdwan_license_compliance_devices_out_of_compliance{host="a",reason="Unassigned"} 1' in lines
    assert "sdwan_license_compliance_run_duration_seconds 12.5" in lines
    assert "sdwan_license_compliance_report_timestamp_seconds %d" % calendar.timegm((2026, 11, 26, 6, 0, 0)) in lines


def test_the_metrics_file_has_one_stable_name_and_is_replaced_by_a_rename(tmp_path):
    document = compare_with_previous(doc([record("a")], "2026-11-26T06:00:00Z"), None)
    report.write_reports(document, str(tmp_path), ["prometheus"], "20261126T060000Z")
    first = os.stat(tmp_path / "latest.prom").st_ino
    report.write_reports(document, str(tmp_path), ["prometheus"], "20261126T070000Z")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".prom") == ["latest.prom"]
    assert os.stat(tmp_path / "latest.prom").st_ino != first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_the_html_page_opens_with_what_changed_since_the_previous_report():
    before = json.loads(json.dumps(compare_with_previous(doc([record("a"), record("b", "broken", "SYNC_STALE")], "2026-11-26T06:00:00Z"), None)))
    after = compare_with_previous(doc([record("a", "broken", "GRANT_NOT_FOUND"), record("b", "broken", "SYNC_STALE")],
                                      "2026-11-27T06:00:00Z"), before)
    html = report.render_html(after)
    assert html.index('id="history"') < html.index('aria-label="Totals"')
    assert "Changes since the previous report (2026-11-26T06:00:00Z)" in html
    assert 'data-change="newly_broken"' in html and "now BROKEN (GRANT_NOT_FOUND)" in html
    assert "BROKEN (SYNC_STALE) for 2 runs" in html
