"""The Grant not found failure, reproduced over real HTTPS, and its manual fix turning `seed` into synced."""

import re

import pytest

GRANT_NOT_FOUND_BODY = '{"error":"invalid_client","error_message":"Grant not found. Ensure that the given grant details are correct."}'
SEED_GUI_MESSAGE = ("Failed to authenticate Smart Account credentials.: Failed to authenticate user - 'admin'. "
                    + GRANT_NOT_FOUND_BODY)


@pytest.fixture(scope="module")
def seed_lab(front, start_lab):
    return start_lab("--scenario", "seed", "--front", front, name=f"seed-{front}")


def gui_message(response):
    error = response.json()["error"]
    return f"{error['message']}: {error['details']}"


def test_lab_runs_the_front_it_was_asked_for(seed_lab, front):
    assert seed_lab.info["ssm"]["front"] == seed_lab.state()["ssm"]["front"] == front
    assert "<title>On-Prem License Workspace</title>" in seed_lab.ssm(login=False).get("/").text


def test_authenticate_shows_the_grant_not_found_gui_message(seed_lab):
    vmanage = seed_lab.vmanage()
    response = vmanage.authenticate("admin", seed_lab.info["ssm"]["admin_password"])
    assert response.status_code == 400
    assert gui_message(response) == SEED_GUI_MESSAGE
    assert response.json()["error"]["code"] == "SLIC0001"


def test_authenticate_names_the_user_it_was_given(seed_lab):
    response = seed_lab.vmanage().authenticate("ptundalw", "Carnation#21")
    assert gui_message(response) == SEED_GUI_MESSAGE.replace("'admin'", "'ptundalw'")


def test_sync_fails_with_the_same_message_and_records_it(seed_lab):
    vmanage = seed_lab.vmanage()
    response = vmanage.sync()
    assert response.status_code == 400
    assert gui_message(response) == SEED_GUI_MESSAGE
    user_settings = vmanage.get("/dataservice/smartLicensing/getUserSettings").json()["data"][0]
    assert user_settings["lastSyncStatus"] == "Failure"
    assert user_settings["lastSyncError"] == SEED_GUI_MESSAGE
    last_sync = seed_lab.state()["vmanage"]["vmanage-001"]["syncs"][-1]
    assert last_sync["ok"] is False and last_sync["error"] == SEED_GUI_MESSAGE


def test_vmanage_server_log_has_the_smart_licensing_failure_lines(seed_lab):
    seed_lab.vmanage().authenticate("admin", "whatever")
    log = seed_lab.log("vmanage-001/vmanage-server.log")
    for line in (
        r"INFO \[vmanage-001\] \[SmartLicensingIntegrationManager\] \(default task-\d+\) \|default\| user is using in On Prem mode",
        r"\[SmartLicensingIntegrationManager\] \(default task-\d+\) \|default\| Authenticating on-prem server",
        r"\[AbstractSettingsManager\] .* Found smart licensing mode is onprem",
        r"\[SmartLicensingUtil\] .* intializing client Map \{clientUrl=https://127\.0\.0\.1:\d+, client_secret=\S+, client_id=\S+\}",
        r"\[SmartLicensingUtil\] .* Query Smart Account: backend/oauth/token\?grant_type=password"
        r"&client_id=\S+&client_secret=\S+&username=admin&password=\*{7}",
        r"ERROR \[vmanage-001\] \[RestAPIClient\] .* Failed to process POST request uri: backend/oauth/token\?\S+&password=\*{7} \. Code: 403 Message: "
        + re.escape(GRANT_NOT_FOUND_BODY),
        r"ERROR \[vmanage-001\] \[SmartLicensingUtil\] .* Failed to authenticate user - 'admin'\.",
        r"ERROR .* \[SmartLicensingIntegrationRestfulResource\] .* Smart Account User Authentication failed\.",
    ):
        assert re.search(line, log), line


def test_ssm_logs_show_the_call_as_nginx_and_rails_log_it(seed_lab):
    settings = seed_lab.state()["vmanage"]["vmanage-001"]["settings"]
    seed_lab.vmanage().authenticate("admin", "CiscoLab!234567")
    access = seed_lab.log("ssm/access.log")
    # vManage puts the secret and the password in the query string; nginx logs the URL as it came.
    assert re.search(
        r'127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "POST /backend/oauth/token\?grant_type=password'
        rf"&client_id={re.escape(settings['ssmClientId'])}&client_secret=\S+&username=admin&password=CiscoLab%21234567 "
        r'HTTP/1\.1" 403 121 "-" "Apache-HttpClient/4\.5\.11 \(Java/11\.0\.7\)" "-"', access)
    rails = seed_lab.log("ssm/production.log")
    assert re.search(r"method=POST path=/oauth/token format=json controller=Doorkeeper::OauthTokensController "
                     r"action=create status=403 duration=[\d.]+ view=[\d.]+ db=[\d.]+", rails)
    assert "CiscoLab" not in rails


def test_manual_fix_by_raw_http_turns_seed_into_synced(seed_lab):
    """Last in this module: it leaves the seed lab fixed."""
    lab = seed_lab
    requests_before = lab.state()["vmanage"]["vmanage-001"]["write_requests"]
    vmanage = lab.vmanage()
    ssm = lab.ssm()
    assert vmanage.sync().status_code == 400

    grant = ssm.create_grant("vmanage-onprem")
    assert grant["type"] == "resource_owner" and len(grant["client_secret"]) == 64
    shown = ssm.get(f"/backend/api_toolkit/grants/{grant['id']}").json()
    assert (shown["client_id"], shown["client_secret"]) == (grant["client_id"], grant["client_secret"])
    put = vmanage.put("/dataservice/settings/configuration/smartLicensing", json={
        "mode": "on-prem", "ssmServerUrl": lab.info["ssm"]["url"],
        "ssmClientId": grant["client_id"], "ssmClientSecret": grant["client_secret"]})
    assert put.status_code == 200
    assert put.json()["data"][0]["ssmClientSecret"] == "********"
    auth = vmanage.authenticate(lab.info["ssm"]["username"], lab.info["ssm"]["password"])
    assert auth.status_code == 200 and auth.json()["accessToken"]
    accounts = vmanage.get("/dataservice/smartLicensing/fetchAccounts", params={"mode": "onprem"}).json()
    assert accounts["accounts"][0]["account_id"] == "1"
    assert vmanage.sync().status_code == 200

    settings = vmanage.get("/dataservice/smartLicensing/getUserSettings").json()["data"][0]
    assert settings["isPresentCredentials"] is True and settings["uname"] == lab.info["ssm"]["username"]
    assert settings["lastSyncStatus"] == "Success" and settings["lastSyncError"] is None
    state = lab.state()
    host = state["vmanage"]["vmanage-001"]
    assert host["syncs"][-1]["ok"] is True
    assert host["licenses"]["1"] > 0
    assert {key: count - requests_before.get(key, 0) for key, count in host["write_requests"].items()} == {
        "POST /dataservice/smartLicensing/authenticate": 1,
        "POST /dataservice/smartLicensing/syncLicenses": 2,
        "PUT /dataservice/settings/configuration/smartLicensing": 1,
    }
    assert host["writes"] == sum(host["write_requests"].values())
    assert state["ssm"]["write_requests"] == {"POST /backend/api_toolkit/grants": 1}
    assert [g["name"] for g in state["ssm"]["grants"]] == ["monitoring", "vmanage-onprem"]
    assert all(g["client_secret"] == "********" for g in state["ssm"]["grants"])
    # Every authenticate, fetchAccounts and sync of the module asked SSM for a token.
    host_calls = host["requests"]
    assert state["ssm"]["requests"]["POST /backend/oauth/token"] == sum(
        host_calls.get(f"{method} /dataservice/smartLicensing/{path}", 0)
        for method, path in (("POST", "authenticate"), ("GET", "fetchAccounts"), ("POST", "syncLicenses")))
