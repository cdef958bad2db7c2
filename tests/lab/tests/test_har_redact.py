"""sdwan-lab redact: a browser capture made safe to share, without changing what conformance compares."""

import json
import stat
import urllib.parse

from .test_conformance import FIXTURE, har_entry, json_post, run_in_process, write_har

VMANAGE = "https://vmanage.example.net:8443"
SSM = "https://ssm.example.net:8443"
SECRETS = dict(
    vmanage_password="Vm@nage pass/1", jsessionid="JSESSIONIDvalue0123456789.abcdef", xsrf="f00dXSRFtoken+/=ab12cd34",
    ssm_password="Ssm p@ss&word", client_secret="cs_9f8e7d6c5b4a39281706f5e4", access_token="at.eyJhbGciOiJIUzI1NiJ9.x",
    rails_session="RailsSession%3D%3Dabc123", ssm_uid="uid-77aa88bb99cc",
)


def browser_capture(path):
    """What a browser saves on the vManage GUI and SSM's Admin Workspace: the page, the login, the session's calls."""
    s = SECRETS
    cookie = [("Cookie", f"JSESSIONID={s['jsessionid']}; path=/"), ("X-XSRF-TOKEN", s["xsrf"])]
    entries = [
        har_entry("GET", f"{VMANAGE}/index.html", 200, "<html>vManage</html>", mime="text/html"),
        har_entry("POST", f"{VMANAGE}/j_security_check", 200, "", mime="text/html",
                  post={"mimeType": "application/x-www-form-urlencoded",
                        "text": urllib.parse.urlencode({"j_username": "admin", "j_password": s["vmanage_password"]}),
                        "params": [{"name": "j_username", "value": "admin"},
                                   {"name": "j_password", "value": s["vmanage_password"]}]}),
        har_entry("GET", f"{VMANAGE}/dataservice/client/token", 200, s["xsrf"], mime="text/plain",
                  headers=[("Cookie", f"JSESSIONID={s['jsessionid']}")]),
        har_entry("GET", f"{VMANAGE}/dataservice/client/server", 200,
                  {"data": {"platformVersion": "20.15.1", "CSRFToken": s["xsrf"], "userMode": "tenant"}}, headers=cookie),
        har_entry("PUT", f"{VMANAGE}/dataservice/settings/configuration/smartLicensing", 200, {"data": []},
                  headers=cookie, post=json_post({"mode": "on-prem", "ssmServerUrl": SSM, "ssmClientId": "client-1",
                                                  "ssmClientSecret": s["client_secret"]})),
        har_entry("POST", f"{VMANAGE}/dataservice/smartLicensing/authenticate", 200, {"status": "ok"}, headers=cookie,
                  post=json_post({"mode": "on-prem", "username": "netops", "password": s["ssm_password"]})),
        har_entry("POST", f"{SSM}/backend/auth/identity/callback", 200, {"uid": s["ssm_uid"], "user": "admin"},
                  post=json_post({"username": "admin", "password": s["ssm_password"]})),
        har_entry("POST", f"{SSM}/oauth/token?grant_type=password&client_secret={urllib.parse.quote(s['client_secret'])}",
                  200, {"access_token": s["access_token"], "token_type": "bearer", "expires_in": 3600},
                  post={"mimeType": "application/x-www-form-urlencoded",
                        "text": urllib.parse.urlencode({"username": "netops", "password": s["ssm_password"]})}),
        # A later call that echoes the session in its URL: caught by the value pass, not by a key.
        har_entry("GET", f"{SSM}/backend/api/v1/grants?session={urllib.parse.quote(s['rails_session'])}", 200,
                  [{"name": "vmanage-grant", "client_id": "client-1", "client_secret": s["client_secret"]}],
                  headers=[("Cookie", f"_lic_engine_session={s['rails_session']}"), ("X-CSRF-Token", s["xsrf"])]),
    ]
    entries[3]["response"]["headers"] = [{"name": "Set-Cookie", "value": f"JSESSIONID={s['jsessionid']}; Path=/; Secure"}]
    return write_har(path, "WebInspector", entries)


def test_a_browser_capture_keeps_no_secret_in_any_form_and_only_its_api_calls(command, tmp_path):
    capture = browser_capture(tmp_path / "vmanage-gui.har")

    run = command("redact", capture)

    assert run.returncode == 0, run.stderr
    output = tmp_path / "vmanage-gui.redacted.har"
    text = output.read_text()
    for name, secret in SECRETS.items():
        for form in (secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret), json.dumps(secret)[1:-1]):
            assert form not in text, f"{name} left as {form!r}"
    urls = [entry["request"]["url"] for entry in json.loads(text)["log"]["entries"]]
    assert len(urls) == 8 and not any(url.endswith("/index.html") for url in urls)
    assert "1 entries that are not API calls left out" in run.stdout
    assert stat.S_IMODE(output.stat().st_mode) == 0o600


def test_a_redacted_capture_keeps_user_names_modes_and_the_shape_of_every_answer(tmp_path):
    from sdwan_lab.har_redact import MARKER, redact_har

    redacted, kinds, _dropped = redact_har(json.loads(browser_capture(tmp_path / "gui.har").read_text()))

    entries = {urllib.parse.urlsplit(entry["request"]["url"]).path: entry for entry in redacted["log"]["entries"]}
    server = json.loads(entries["/dataservice/client/server"]["response"]["content"]["text"])
    assert server == {"data": {"platformVersion": "20.15.1", "CSRFToken": MARKER, "userMode": "tenant"}}
    put = json.loads(entries["/dataservice/settings/configuration/smartLicensing"]["request"]["postData"]["text"])
    assert put == {"mode": "on-prem", "ssmServerUrl": SSM, "ssmClientId": "client-1", "ssmClientSecret": MARKER}
    login = entries["/j_security_check"]["request"]["postData"]
    assert urllib.parse.parse_qs(login["text"]) == {"j_username": ["admin"], "j_password": [MARKER]}
    assert entries["/dataservice/client/token"]["response"]["content"]["text"] == MARKER
    assert kinds["JSON field ssmClientSecret"] == 1 and kinds["header X-XSRF-TOKEN"] >= 1


def test_bad_input_exits_2_and_names_the_file(command, tmp_path):
    not_har = tmp_path / "notes.json"
    not_har.write_text('{"entries": []}')

    run = command("redact", not_har)

    assert run.returncode == 2 and "notes.json: not a HAR file" in run.stderr


def test_redaction_changes_nothing_conformance_compares(tmp_path):
    from sdwan_lab.cli import main
    from sdwan_lab.har_redact import redact_har

    document = json.loads(FIXTURE.read_text())
    for entry in document["log"]["entries"]:  # the fixture's redacted session, as a browser would have saved it
        entry["request"]["headers"] = [{"name": "Cookie", "value": "JSESSIONID=0123456789abcdef"}]
    redacted, _kinds, dropped = redact_har(document)
    path = tmp_path / "redacted.har"
    path.write_text(json.dumps(redacted))

    before, after = run_in_process(main, str(FIXTURE)), run_in_process(main, str(path))

    assert dropped == 0 and "0123456789abcdef" not in path.read_text()
    assert after[0] == before[0] == 1
    assert [(e["endpoint"], e["differences"]) for e in after[1]["endpoints"]] == \
        [(e["endpoint"], e["differences"]) for e in before[1]["endpoints"]]
    assert after[1]["suggested_spec"] == before[1]["suggested_spec"] and "settings-secret=omitted" in after[1]["suggested_spec"]
