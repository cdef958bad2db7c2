"""sdwan-lab conformance: a HAR replayed against a temporary lab, differences per endpoint, the dialect it shows."""

import base64
import json
from pathlib import Path

import pytest

from sdwan_lab.dialects import DEFAULT_DIALECT, PRESETS, parse_dialect

FIXTURE = Path(__file__).parent / "fixtures" / "cisco_documented.har"
R = "__REDACTED__"
VMANAGE = "https://vmanage.example.com:8443"
SSM = "https://ssm-onprem.example.local"


def conformance(cli, *args):
    """(exit code, report) of `sdwan-lab conformance --json ARGS`."""
    code, output = cli("conformance", *args, "--json")
    return code, (json.loads(output) if output.strip() else None)


def differences(report):
    return {item["endpoint"]: item["differences"] for item in report["endpoints"] if item["differences"]}


def har_entry(method, url, status, body="", mime="application/json", comment=None, post=None, headers=(),
              base64_body=False, **extra):
    text = body if isinstance(body, str) else json.dumps(body)
    content = {"size": len(text), "mimeType": mime, "text": text}
    if base64_body:
        content.update(text=base64.b64encode(text.encode()).decode(), encoding="base64")
    request = {"method": method, "url": url, "httpVersion": "HTTP/1.1", "cookies": [], "queryString": [],
               "headers": [{"name": name, "value": value} for name, value in headers], "headersSize": -1,
               "bodySize": -1}
    if post is not None:
        request["postData"] = post
    entry = {"startedDateTime": "2026-12-01T10:00:00.000Z", "time": 10, "request": request,
             "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
                          "headers": [], "content": content, "redirectURL": "", "headersSize": -1, "bodySize": -1},
             "cache": {}, "timings": {"send": 1, "wait": 8, "receive": 1}, **extra}
    if comment:
        entry["comment"] = comment
    return entry


def write_har(path, creator, entries):
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": creator, "version": "1"},
                                        "entries": entries}}))
    return path


def json_post(body):
    return {"mimeType": "application/json", "text": json.dumps(body)}


@pytest.fixture(scope="module")
def against_default():
    from sdwan_lab.cli import main  # in this process, as the `cli` fixture does

    return run_in_process(main, str(FIXTURE))


@pytest.fixture(scope="module")
def against_documented():
    from sdwan_lab.cli import main

    return run_in_process(main, str(FIXTURE), "--dialect", "documented", "--release", "20.15.1")


def run_in_process(main, *args):
    import contextlib
    import io

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main(["conformance", *args, "--json"])
    return code, json.loads(output.getvalue())


# ----------------------------------------------------------------- Cisco's published examples

def test_the_fixture_is_a_har_of_cisco_examples_citing_a_source_on_every_entry():
    har = json.loads(FIXTURE.read_text())
    assert har["log"]["version"] == "1.2" and len(har["log"]["entries"]) >= 10
    for entry in har["log"]["entries"]:
        assert entry["comment"].startswith("vmanage. ")
        assert "developer.cisco.com/docs/sdwan" in entry["comment"] or "github.com/CiscoDevNet" in entry["comment"]
    text = FIXTURE.read_text()
    for example in ('\\"isPresentCredentials\\": true, \\"mode\\": \\"onPrem\\"', "3QTD4madnNiu4q4c6YTmrprhAkvM",
                    '\\"account_id\\": \\"276200\\", \\"name\\": \\"testaccount3.viptela.com\\"',
                    'sjc24_onprem_sle', '\\"platformVersion\\": \\"20.15.1\\"', '\\"CSRFToken\\": \\"__REDACTED__\\"'):
        assert example in text, example
    settings = next(entry for entry in har["log"]["entries"]
                    if entry["request"]["url"].endswith("/settings/configuration/smartLicensing"))
    assert "ssmClientSecret" not in json.loads(settings["response"]["content"]["text"])["data"]


def test_the_documented_fixture_differs_from_the_default_dialect(against_default):
    code, report = against_default
    assert code == 1 and report["release"] == "20.15.1" and report["dialect"] == DEFAULT_DIALECT
    found = differences(report)
    assert found["GET /dataservice/v1/smart-licensing/user-settings"] == [
        "only in the lab: lastSyncError (null)", "only in the lab: lastSyncStatus (string)",
        "only in the lab: lastSyncTime (integer)"]
    assert found["GET /dataservice/settings/configuration/smartLicensing"] == [
        "type of data: recorded object, lab array"]
    assert found["GET /dataservice/smartLicensing/fetchAccounts"] == [
        "status: recorded 200, lab 400 (Invalid mode 'on-prem')"]
    assert found["POST /dataservice/v1/smart-licensing/sync"] == [
        "answer: recorded text (text/plain), lab JSON (application/json)"]
    assert "type of [].licenses[].Available: recorded string, lab integer" in \
        found["GET /dataservice/v1/smart-licensing/license"]
    assert "GET /dataservice/client/server" not in found and "POST /j_security_check" not in found


def test_the_documented_fixture_matches_the_documented_dialect(against_documented):
    code, report = against_documented
    assert code == 0 and report["differences"] == 0 and differences(report) == {}
    assert report["dialect"] == PRESETS["documented"] and report["dialect_spec"] == "documented"
    assert report["entries"] == {"total": 10, "api": 10, "replayed": 10, "ignored": {}}
    assert report["unknown_endpoints"] == []


def test_the_fixture_suggests_the_documented_value_of_every_axis_it_shows(against_default, against_documented):
    suggested = against_documented[1]["suggested_dialect"]
    assert suggested == against_default[1]["suggested_dialect"]  # from the recorded answers alone
    assert set(suggested) >= {"user-settings-fields", "user-settings-mode", "settings-secret", "settings-data",
                              "mode-token", "fetch-accounts-shape", "sync-parts", "sync-answer", "license-counts"}
    assert suggested == {axis: PRESETS["documented"][axis] for axis in suggested}
    assert parse_dialect(against_documented[1]["suggested_spec"]) == {**DEFAULT_DIALECT, **suggested}


def test_the_text_report_names_each_endpoint_and_a_ready_to_use_dialect(cli):
    code, text = cli("conformance", FIXTURE)
    assert code == 1
    assert "GET /dataservice/smartLicensing/fetchAccounts (1 request): differs\n" \
           "  - status: recorded 200, lab 400 (Invalid mode 'on-prem')" in text
    assert "GET /dataservice/client/server (1 request): same" in text
    assert "suggested dialect (what the recorded answers show): --dialect user-settings-fields=documented," in text
    assert "not shown by this HAR: user-settings-envelope, authenticate-failure-status" in text


# ----------------------------------------------------------------- the collection's traces and browser HARs

def collection_trace(path):
    ssm, vmanage = "ssm", "vmanage"
    grant = {"id": 7, "name": "vmanage-trace", "type": "resource_owner", "client_id": R, "client_secret": R,
             "description": "", "created_at": "2026-12-01T10:00:00.000Z", "account_id": 1}
    sync_data = json.dumps({"mode": "onprem", "licenseType": "prepaid", "multipleEntitlement": False,
                            "smartAccounts": [{"account_id": "1", "virtual_accounts": [{"virtual_account_id": "1"}]}]})
    boundary = "trace-boundary"
    multipart = (f'--{boundary}\r\nContent-Disposition: form-data; name="data"\r\nContent-Type: application/json'
                 f"\r\n\r\n{sync_data}\r\n--{boundary}--\r\n")
    license_row = {"license": "Tier 0", "tag": "regid.x", "status": "In Compliance", "quantity": 100, "inUse": 42,
                   "available": 58, "virtualAccountId": 1, "virtualAccount": "DEFAULT", "licenseType": "PERPETUAL"}
    return write_har(path, "sdwan_ops.license_sync", [
        har_entry("GET", f"{SSM}/backend/settings/oauth_adfs?hostname=ssm", 200, {}, comment=ssm),
        har_entry("POST", f"{SSM}/backend/auth/identity/callback", 200,
                  {"uid": "admin", "username": "admin", "role": "admin"}, comment=ssm,
                  post=json_post({"username": R, "password": R}), headers=[("X-Xsrf-Token", R), ("Cookie", R)]),
        har_entry("POST", f"{SSM}/backend/api_toolkit/grants", 201, grant, comment=ssm,
                  post=json_post({"name": "vmanage-trace", "type": "resource_owner"})),
        har_entry("GET", f"{SSM}/backend/api_toolkit/grants/7", 200, grant, comment=ssm),
        har_entry("POST", f"{SSM}/backend/oauth/token?grant_type=password&client_id={R}&client_secret={R}"
                          f"&username={R}&password={R}", 200,
                  {"access_token": R, "token_type": "Bearer", "expires_in": 7200, "created_at": 1764583200},
                  comment=ssm),
        har_entry("POST", f"{SSM}/api/v1/accounts/EXAMPLE-ACCOUNT/licenses", 200, {"licenses": [license_row]},
                  comment=ssm, post=json_post({"limit": -1}), headers=[("Authorization", f"Bearer {R}")]),
        har_entry("POST", f"{VMANAGE}/j_security_check", 200, "", mime="text/html", comment=vmanage,
                  post={"mimeType": "application/x-www-form-urlencoded",
                        "params": [{"name": "j_username", "value": R}, {"name": "j_password", "value": R}]}),
        har_entry("GET", f"{VMANAGE}/dataservice/client/token", 200, R, mime="text/plain", comment=vmanage),
        har_entry("GET", f"{VMANAGE}/dataservice/smartLicensing/getUserSettings", 200, {"data": [{
            "isPresentCredentials": True, "mode": "onprem", "multipleEntitlement": False, "uname": R,
            "lastSyncTime": 1764583200000, "lastSyncStatus": "Success", "lastSyncError": None}]}, comment=vmanage),
        har_entry("PUT", f"{VMANAGE}/dataservice/settings/configuration/smartLicensing", 200, {"data": [{
            "mode": "on-prem", "ssmServerUrl": SSM, "ssmClientId": R, "ssmClientSecret": "********"}]},
            comment=vmanage, post=json_post({"mode": "on-prem", "ssmServerUrl": SSM, "ssmClientId": R,
                                             "ssmClientSecret": R})),
        har_entry("POST", f"{VMANAGE}/dataservice/smartLicensing/authenticate", 200, {"accessToken": R},
                  comment=vmanage, post=json_post({"username": R, "password": R, "mode": "onprem"})),
        har_entry("GET", f"{VMANAGE}/dataservice/smartLicensing/fetchAccounts?mode=onprem", 200, {"accounts": [{
            "account_id": "1", "name": "EXAMPLE", "virtual_accounts": [
                {"virtual_account_id": "1", "name": "DEFAULT", "default": True}]}]}, comment=vmanage),
        har_entry("POST", f"{VMANAGE}/dataservice/smartLicensing/syncLicenses", 200, {}, comment=vmanage,
                  post={"mimeType": f"multipart/form-data; boundary={boundary}", "text": multipart}),
        har_entry("GET", f"{VMANAGE}/dataservice/settings/configuration/smartLicensing", 200, {"data": [{
            "mode": "on-prem", "ssmServerUrl": SSM, "ssmClientId": R, "ssmClientSecret": "********"}]},
            comment=vmanage),
        har_entry("POST", f"{VMANAGE}/logout", 200, "", mime="text/html", comment=vmanage),
    ])


def test_a_collection_trace_with_redacted_secrets_replays_cleanly(tmp_path, cli):
    code, report = conformance(cli, collection_trace(tmp_path / "trace.har"), "--release", "20.12.1")
    assert (code, differences(report)) == (0, {}), report
    assert report["creator"] == "sdwan_ops.license_sync" and report["entries"]["replayed"] == 15
    suggested = report["suggested_dialect"]
    assert suggested.pop("user-settings-mode") == "onprem"  # only the legacy path shows it
    assert suggested == {axis: DEFAULT_DIALECT[axis] for axis in (
        "user-settings-fields", "user-settings-envelope", "settings-secret", "settings-data", "mode-token",
        "fetch-accounts-shape", "sync-parts", "ssm-grant-api")}


def browser_har(path):
    user_settings = {"isPresentCredentials": True, "mode": "onPrem", "multipleEntitlement": False, "uname": "netops"}
    return write_har(path, "WebInspector", [
        har_entry("GET", f"{VMANAGE}/", 200, "<html></html>", mime="text/html", _resourceType="document"),
        har_entry("GET", f"{VMANAGE}/static/app.3f2a.js", 200, "var a;", mime="application/javascript"),
        har_entry("GET", f"{VMANAGE}/images/logo.png", 200, "\x89PNG", mime="image/png", base64_body=True),
        har_entry("GET", "https://fonts.example.net/css?family=x", 200, "body{}", mime="text/css"),
        har_entry("GET", "wss://vmanage.example.com:8443/websocket", 101, "", _resourceType="websocket"),
        har_entry("GET", f"{VMANAGE}/dataservice/smartLicensing/getUserSettings", 200, user_settings,
                  base64_body=True),
        har_entry("GET", f"{VMANAGE}/dataservice/alarms/count", 200, {"data": [{"count": 0}]}),
        har_entry("GET", f"{SSM}/backend/settings/oauth_adfs?hostname=ssm-onprem", 200, {}),
        har_entry("POST", f"{SSM}/backend/auth/identity/callback", 200,
                  {"error_message": "Invalid username or password"}, post=json_post({"username": "admin",
                                                                                     "password": "typo"})),
        har_entry("POST", f"{SSM}/backend/auth/identity/callback", 200, {"uid": "admin", "username": "admin", "role": "admin"},
                  post=json_post({"username": "admin", "password": "Secret#1"})),
        har_entry("GET", f"{SSM}/backend/api_toolkit/grants", 404, {"status": 404, "error": "Not Found"}),
    ])


def test_a_browser_har_is_filtered_decoded_and_read_for_its_dialect(tmp_path, cli):
    har = browser_har(tmp_path / "browser.har")
    code, report = conformance(cli, har)
    assert code == 1 and report["release"] == "20.12.1"
    assert report["entries"]["ignored"] == {"not an API path of vManage or SSM": 4, "websocket": 1}
    assert report["unknown_endpoints"] == [{"endpoint": "GET /dataservice/alarms/count", "requests": 1}]
    found = differences(report)
    assert found["GET /dataservice/smartLicensing/getUserSettings"] == [
        "only in the lab: data (array)", "missing in the lab: isPresentCredentials (boolean)",
        "missing in the lab: mode (string)", "missing in the lab: multipleEntitlement (boolean)",
        "missing in the lab: uname (string)", "value of mode: recorded 'onPrem', lab 'onprem'"]
    assert found["POST /backend/auth/identity/callback"] == ["status: recorded 200, lab 401 (Invalid username or password)"]
    assert found["GET /backend/api_toolkit/grants"] == ["status: recorded 404, lab 200"]
    spec = report["suggested_spec"]
    assert report["suggested_dialect"] == {
        "user-settings-fields": "documented", "user-settings-mode": "onPrem", "user-settings-envelope": "object",
        "ssm-admin-login-failure": "200-error", "ssm-grant-api": "absent"}
    # Against the dialect it suggests, the browser HAR conforms (the unknown endpoint is only reported).
    code, report = conformance(cli, har, "--dialect", spec)
    assert (code, differences(report)) == (0, {})


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ("{not json", "is not JSON"),
    ('{"log": {}}', "is not a HAR file: no log.entries"),
    ('{"log": {"entries": [{"request": {}}]}}', "entry 1 has no request method/url or no response"),
    (json.dumps({"log": {"entries": [har_entry("GET", f"{VMANAGE}/index.html", 200, "<html/>", mime="text/html")]}}),
     "no request to a vManage or SSM API path among 1 entries"),
])
def test_bad_input_exits_2_before_any_lab_starts(tmp_path, cli, capsys, content, message):
    har = tmp_path / "input.har"
    if content is not None:
        har.write_text(content)
    assert cli("conformance", har)[0] == 2
    assert message in capsys.readouterr().err


def test_a_bad_dialect_or_release_exits_2(cli, capsys):
    assert cli("conformance", FIXTURE, "--dialect", "sync-answer=xml")[0] == 2
    assert "unknown value 'xml' of dialect axis sync-answer" in capsys.readouterr().err
    assert cli("conformance", FIXTURE, "--release", "latest")[0] == 2
    assert "not a vManage release: 'latest'" in capsys.readouterr().err
    assert cli("conformance", FIXTURE, "--release", "20.6.1")[0] == 2
    assert "needs a release 20.9.1 or later" in capsys.readouterr().err
