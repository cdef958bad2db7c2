"""The vManage simulator over real HTTPS: session, XSRF, JSON types, settings, licensing, releases, errors."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.fixture(scope="module")
def lab(start_lab):
    return start_lab("--scenario", "healthy", "--vmanage", "2", "--front", "builtin", name="vmanage")


@pytest.fixture(scope="module")
def vmanage(lab):
    return lab.vmanage()


def test_login_answers_like_j_security_check(lab):
    entry = lab.info["vmanage"][0]
    api = lab.vmanage(login=False)
    wrong = api.post("/j_security_check", data={"j_username": entry["username"], "j_password": "wrong"})
    assert wrong.status_code == 200 and "<html>" in wrong.text and "JSESSIONID" not in wrong.cookies
    good = api.post("/j_security_check", data={"j_username": entry["username"], "j_password": entry["password"]})
    assert good.status_code == 200 and good.text == ""
    cookie = good.headers["Set-Cookie"]
    assert cookie.startswith("JSESSIONID=") and "Secure" in cookie and "HttpOnly" in cookie


def test_without_a_session_every_api_call_is_401_json(lab):
    api = lab.vmanage(login=False)
    for path in ("/dataservice/device", "/dataservice/client/token", "/dataservice/no/such/path"):
        response = api.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "AUTH0001"
    assert api.get("/dataservice/client/server/ready").json() == {"isServerReady": True}


def test_a_session_belongs_to_its_vmanage(lab, vmanage):
    other = lab.vmanage(1, login=False)
    other.session.cookies.update(vmanage.session.cookies)
    assert other.get("/dataservice/device").status_code == 401


def test_xsrf_token_as_text_or_json_and_required_on_writes(lab, vmanage):
    token = vmanage.session.headers["X-XSRF-TOKEN"]
    assert len(token) == 128
    assert vmanage.get("/dataservice/client/token", params={"json": "true"}).json() == {"token": token}
    body = {"proxy": False}
    without = vmanage.put("/dataservice/settings/configuration/proxyHttpServer", json=body,
                          headers={"X-XSRF-TOKEN": "not-the-token"})
    assert without.status_code == 403 and without.headers["Content-Type"].startswith("text/plain")
    assert without.text.startswith("SessionTokenFilter: Token provided via HTTP Header does not match")
    assert vmanage.put("/dataservice/settings/configuration/proxyHttpServer", json=body).status_code == 200


def test_json_types_are_those_real_vmanage_sends(vmanage):
    server = vmanage.get("/dataservice/client/server").json()["data"]
    assert server["platformVersion"] == "20.12.1"
    assert (server["cloudx"], server["reverseproxy"]) == ("false", "false")
    assert server["isSamlUser"] is False and server["roles"] == ["netadmin"]
    assert (server["tenancyMode"], server["userMode"], server["viewMode"]) == ("SingleTenant", "tenant", "tenant")
    about = vmanage.get("/dataservice/client/about").json()["data"]
    assert set(about) == {"title", "version", "applicationVersion", "applicationServer", "copyright", "time",
                          "timeZone", "logo"}
    devices = vmanage.get("/dataservice/device").json()["data"]
    assert {row["personality"] for row in devices} == {"vmanage", "vsmart", "vbond", "vedge"}
    for row in devices:
        assert all(isinstance(row[key], str) for key in ("deviceId", "site-id", "latitude", "controlConnections"))
        assert isinstance(row["lastupdated"], int) and isinstance(row["device-groups"], list)
    system_ip = vmanage.get("/dataservice/device/vmanage").json()["data"]["ipAddress"]
    assert system_ip == devices[0]["deviceId"]
    info = vmanage.get("/dataservice/device/system/info", params={"deviceId": [system_ip, devices[3]["deviceId"]]})
    assert [row["personality"] for row in info.json()["data"]] == ["vmanage", "vedge"]
    assert vmanage.get("/dataservice/system/device/vedges").json()["data"] == []


def test_head_is_answered_like_get(lab):
    api = lab.vmanage(login=False)
    response = api.request("HEAD", "/")
    assert response.status_code == 200 and response.text == ""
    assert lab.state()["vmanage"]["vmanage-001"]["requests"]["HEAD /"] >= 1


def test_settings_mask_the_secret_and_keep_it_when_the_mask_is_written_back(lab, vmanage):
    settings = vmanage.get("/dataservice/settings/configuration/smartLicensing").json()["data"][0]
    assert settings["mode"] == "on-prem" and settings["ssmClientSecret"] == "********"
    assert vmanage.put("/dataservice/settings/configuration/smartLicensing", json=settings).status_code == 200
    auth = vmanage.authenticate(lab.info["ssm"]["username"], lab.info["ssm"]["password"])
    assert auth.status_code == 200


@pytest.mark.parametrize("body, details", [
    ("{broken", "Invalid JSON in request body"),
    ("[1, 2]", "The request body must be a JSON object"),
    ('{"mode": "onprem"}', "Invalid mode 'onprem'; expected one of online, offline, on-prem"),
    ('{"ssmClientId": 42}', "Field 'ssmClientId' must be a string"),
])
def test_bad_settings_get_a_400_envelope(vmanage, body, details):
    response = vmanage.put("/dataservice/settings/configuration/smartLicensing", data=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Bad Request", "details": details, "code": "HTTP400",
                                         "type": "error"}}


def test_unknown_paths_methods_and_bodies_never_leak_a_traceback(vmanage):
    cases = [
        vmanage.get("/dataservice/no/such/path"),
        vmanage.delete("/dataservice/settings/configuration/smartLicensing"),
        vmanage.post("/dataservice/smartLicensing/authenticate", data="\x00\xff", headers={"Content-Type": "application/json"}),
        vmanage.post("/dataservice/smartLicensing/syncLicenses", json={"mode": "onprem"}),
        vmanage.post("/dataservice/smartLicensing/syncLicenses", files={"data": (None, "{nope", "application/json")}),
        vmanage.post("/dataservice/device/tools/nping/1.1.0.1", json={"host": "127.0.0.1"}),
        vmanage.put("/dataservice/settings/configuration/proxyHttpServer", data="x" * (1024 * 1024 + 1),
                    headers={"Content-Type": "application/json"}),
    ]
    assert [response.status_code for response in cases] == [404, 405, 400, 400, 400, 400, 413]
    for response in cases:
        assert set(response.json()["error"]) == {"message", "details", "code", "type"}
        assert "Traceback" not in response.text


def test_healthy_vmanage_authenticates_fetches_and_syncs_for_real(lab, vmanage):
    before = lab.state()["ssm"]["requests"].get("POST /backend/oauth/token", 0)
    user_settings = vmanage.get("/dataservice/smartLicensing/getUserSettings").json()["data"][0]
    assert user_settings["mode"] == "onprem" and user_settings["isPresentCredentials"] is True
    assert user_settings["lastSyncStatus"] == "Success"
    assert vmanage.authenticate(lab.info["ssm"]["username"], lab.info["ssm"]["password"]).status_code == 200
    accounts = vmanage.get("/dataservice/smartLicensing/fetchAccounts", params={"mode": "onprem"}).json()
    assert [account["name"] for account in accounts["accounts"]] == ["SDWAN-LAB", "LAB-TENANT-B"]
    assert vmanage.post("/dataservice/smartLicensing/removeSaVaSelection",
                        json={"smartAccountsToBeDeleted": []}).status_code == 200
    assert vmanage.sync(account_id="2", virtual_account_id="3").status_code == 200
    state = lab.state()
    host = state["vmanage"]["vmanage-001"]
    assert host["syncs"][-1]["ok"] is True and host["syncs"][-1]["accounts"] == [
        {"account_id": "2", "virtual_account_id": "3", "licenses": 1}]
    assert state["ssm"]["requests"]["POST /backend/oauth/token"] == before + 3
    count = vmanage.get("/dataservice/msla/monitoring/licensedDeviceCount").json()["data"][0]
    assert count == {"totalDevices": 2, "licensedDevice": 2}


@pytest.mark.parametrize("account_id, virtual_account_id", [("42", "1"), ("2", "1")])
def test_a_sync_of_an_unknown_account_fails_and_is_recorded(lab, vmanage, account_id, virtual_account_id):
    response = vmanage.sync(account_id=account_id, virtual_account_id=virtual_account_id)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Failed to sync licenses."
    assert "not found" in response.json()["error"]["details"]
    assert lab.state()["vmanage"]["vmanage-001"]["syncs"][-1]["ok"] is False


def test_nping_makes_a_real_tcp_connect(lab, vmanage):
    system_ip = lab.info["vmanage"][0]["system_ip"]
    ssm_port = lab.info["ssm"]["url"].rsplit(":", 1)[1]
    open_port = vmanage.post(f"/dataservice/device/tools/nping/{system_ip}",
                             json={"host": "127.0.0.1", "vpn": "0", "probeType": "tcp", "destPort": ssm_port,
                                   "count": "2"}).json()
    assert (open_port["packetsTransmitted"], open_port["packetsReceived"], open_port["lossPercentage"]) == (2, 2, 0.0)
    assert any("Handshake with 127.0.0.1" in line for line in open_port["rawOutput"])
    closed = vmanage.post(f"/dataservice/device/tools/nping/{system_ip}",
                          json={"host": "localhost", "vpn": "512", "probeType": "tcp", "destPort": "1",
                                "count": "1"}).json()
    assert closed["packetsReceived"] == 0 and any("Connection refused" in line for line in closed["rawOutput"])
    outside = vmanage.post(f"/dataservice/device/tools/nping/{system_ip}",
                           json={"host": "192.0.2.10", "vpn": "0", "probeType": "tcp", "destPort": "443",
                                 "count": "1"}).json()
    assert outside["lossPercentage"] == 100.0


def test_running_config_carries_the_dns_lines(lab, vmanage):
    system_ip = lab.info["vmanage"][0]["system_ip"]
    config = vmanage.get("/dataservice/device/config", params={"deviceId": system_ip})
    assert config.headers["Content-Type"].startswith("text/plain")
    assert " dns 127.0.0.53 primary" in config.text and f"system-ip {system_ip}" in config.text
    assert vmanage.get("/dataservice/device/config", params={"deviceId": "9.9.9.9"}).status_code == 400


def test_task_status_follows_a_slow_sync(lab):
    api = lab.vmanage(1)
    lab.fault("ssm", "slow", ms=600)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(api.sync)
            deadline = time.monotonic() + 5
            running = []
            while not running and time.monotonic() < deadline:
                running = api.get("/dataservice/device/action/status/tasks").json()["runningTasks"]
                time.sleep(0.05)
            assert pending.result().status_code == 200
    finally:
        lab.fault("ssm", "slow", clear=True)
    assert running[0]["name"] == "Sync Licenses"
    status = api.get(f"/dataservice/device/action/status/{running[0]['processId']}").json()
    assert status["data"][0]["status"] == "Success" and status["data"][0]["statusId"] == "success"


def test_logout_ends_the_session(lab):
    api = lab.vmanage()
    assert api.get("/logout").status_code == 405
    assert api.post("/logout").status_code == 200
    assert api.get("/dataservice/device").status_code == 401


@pytest.fixture(scope="module")
def releases(start_lab):
    return {release: start_lab("--scenario", "healthy", "--release", release, "--front", "builtin",
                               name=f"release-{release}")
            for release in ("20.9.3", "20.15.1")}


def test_labs_run_side_by_side_on_their_own_ports(releases):
    old, new = releases.values()
    assert old.info["ssm"]["url"] != new.info["ssm"]["url"]
    assert old.info["vmanage"][0]["port"] != new.info["vmanage"][0]["port"]
    assert old.vmanage().get("/dataservice/client/server").json()["data"]["platformVersion"] == "20.9.3"


def test_before_20_12_logout_is_a_get_and_v1_paths_are_absent(releases):
    api = releases["20.9.3"].vmanage()
    assert api.get("/dataservice/v1/smart-licensing/user-settings").status_code == 404
    assert api.post("/dataservice/v1/smart-licensing/sync").status_code == 404
    assert api.get("/dataservice/smartLicensing/getUserSettings").status_code == 200
    assert api.post("/logout").status_code == 405
    assert api.get("/logout").status_code == 200


def test_from_20_15_the_v1_licensing_paths_exist(releases):
    lab = releases["20.15.1"]
    api = lab.vmanage()
    settings = api.get("/dataservice/v1/smart-licensing/user-settings").json()
    assert settings["mode"] == "onPrem" and settings["isPresentCredentials"] is True
    assert api.sync("/dataservice/v1/smart-licensing/sync").json() == {"status": "Success"}
    licenses = api.get("/dataservice/v1/smart-licensing/license", params={"virtual_account_id": "1"}).json()
    assert licenses[0]["subscription_id"] == "onprem-va-1" and licenses[0]["licenses"]
    assert lab.state()["vmanage"]["vmanage-001"]["write_requests"] == {"POST /dataservice/v1/smart-licensing/sync": 1}


def test_below_20_9_1_on_prem_mode_is_refused(start_lab):
    lab = start_lab("--scenario", "old-release", "--front", "builtin", name="old-release")
    assert lab.info["vmanage"][0]["release"] == "20.6.4"
    api = lab.vmanage()
    response = api.put("/dataservice/settings/configuration/smartLicensing",
                       json={"mode": "on-prem", "ssmServerUrl": lab.info["ssm"]["url"]})
    assert response.status_code == 400 and response.json()["error"]["code"] == "SETT0001"
    assert "20.9.1" in response.json()["error"]["details"]
    auth = api.authenticate(lab.info["ssm"]["username"], lab.info["ssm"]["password"])
    assert auth.status_code == 400 and "not supported in release 20.6.4" in auth.json()["error"]["details"]
    assert api.get("/dataservice/client/server").json()["data"]["platformVersion"] == "20.6.4"
    assert api.get("/logout").status_code == 200
    assert json.loads((lab.dir / "lab.json").read_text())["vmanage"][0]["expected_cause"] == "RELEASE_TOO_OLD"
