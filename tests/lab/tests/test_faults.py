"""Every fault: its observable effect while on, and the recovery once cleared."""

import ssl
import time

import pytest
import requests

GRANT_NOT_FOUND = "Grant not found. Ensure that the given grant details are correct."


@pytest.fixture(scope="module")
def front_lab(front, start_lab):
    """For the faults of SSM's front, which nginx and the emulation implement differently."""
    return start_lab("--scenario", "healthy", "--front", front, name=f"front-faults-{front}")


@pytest.fixture(scope="module")
def lab(start_lab):
    return start_lab("--scenario", "healthy", "--vmanage", "2", name="faults")


def authenticate(lab, index=0, **credentials):
    api = lab.vmanage(index)
    response = api.authenticate(credentials.get("username", lab.info["ssm"]["username"]),
                                credentials.get("password", lab.info["ssm"]["password"]))
    return response.status_code, response.json().get("error", {}).get("details", "")


def nping_ssm(lab, index=0):
    api = lab.vmanage(index)
    port = lab.info["ssm"]["url"].rsplit(":", 1)[1]
    return api.post(f"/dataservice/device/tools/nping/{lab.info['vmanage'][index]['system_ip']}",
                    json={"host": "127.0.0.1", "vpn": "0", "probeType": "tcp", "destPort": port, "count": "1"}).json()


def ssm_get(lab, path="/", **options):
    options.setdefault("verify", lab.ca)
    return requests.get(lab.info["ssm"]["url"] + path, timeout=10, **options)


def test_grant_deleted_on_ssm_deletes_every_grant_until_cleared(lab):
    with lab.faulted("ssm", "grant-deleted") as effect:
        assert effect["effects"][0]["grants"] == ["monitoring", "vmanage-grant-01"]
        assert lab.state()["ssm"]["grants"] == []
        status, details = authenticate(lab)
        assert status == 400 and details.endswith(GRANT_NOT_FOUND + '"}')
    assert [grant["name"] for grant in lab.state()["ssm"]["grants"]] == ["monitoring", "vmanage-grant-01"]
    assert authenticate(lab) == (200, "")


def test_grant_deleted_on_a_vmanage_deletes_the_grant_it_stores(lab):
    with lab.faulted("vmanage-002", "grant-deleted") as effect:
        assert effect["effects"] == [{"target": "vmanage-002", "grants": ["vmanage-grant-01"]}]
        assert [grant["name"] for grant in lab.state()["ssm"]["grants"]] == ["monitoring"]
        # Both vManage share the grant, as several hosts of a fleet do.
        assert GRANT_NOT_FOUND in authenticate(lab, 0)[1]
    assert authenticate(lab, 1) == (200, "")


def test_ssm_backend_down_gives_nginxs_502_and_error_log_line(front_lab):
    with front_lab.faulted("ssm", "ssm-backend-down"):
        probe = ssm_get(front_lab, "/backend/settings/oauth_adfs", params={"hostname": "x"})
        assert probe.status_code == 502
        assert "<title>502 Bad Gateway</title>" in probe.text and "<center>nginx</center>" in probe.text
        assert probe.headers["Server"] == "nginx"
        assert ssm_get(front_lab).status_code == 200
        assert front_lab.state()["ssm"]["backend_up"] is False
        status, details = authenticate(front_lab)
        assert status == 400 and "502 Bad Gateway" in details
        error_log = front_lab.log("ssm/error.log")
        assert "connect() failed (111: Connection refused) while connecting to upstream" in error_log
        assert 'request: "POST /backend/oauth/token?grant_type=password&client_id=' in error_log
        assert 'upstream: "http://127.0.0.1:' in error_log and '/oauth/token?grant_type=password' in error_log
    assert ssm_get(front_lab, "/backend/settings/oauth_adfs", params={"hostname": "x"}).status_code == 200
    assert authenticate(front_lab) == (200, "")


def test_ssm_listener_closed_refuses_connections(front_lab):
    with front_lab.faulted("ssm", "ssm-listener-closed"):
        with pytest.raises(requests.ConnectionError):
            ssm_get(front_lab)
        status, details = authenticate(front_lab)
        assert status == 400
        assert "org.apache.http.conn.HttpHostConnectException: Connect to 127.0.0.1:" in details
        assert "failed: Connection refused (Connection refused)" in details
        assert any("Connection refused" in line for line in nping_ssm(front_lab)["rawOutput"])
    assert ssm_get(front_lab).status_code == 200


@pytest.mark.parametrize("variant, java_error", [
    ("other-ca", "javax.net.ssl.SSLHandshakeException: PKIX path building failed"),
    ("wrong-host", "javax.net.ssl.SSLPeerUnverifiedException: Certificate for <127.0.0.1> doesn't match any of "
                   "the subject alternative names: [ssm.wrong-host.invalid]"),
])
def test_wrong_certificate_on_ssm(front_lab, variant, java_error):
    with front_lab.faulted("ssm", "wrong-cert", variant=variant):
        with pytest.raises(requests.exceptions.SSLError):
            ssm_get(front_lab)
        port = int(front_lab.info["ssm"]["url"].rsplit(":", 1)[1])
        served = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))
        assert served == ssl.PEM_cert_to_DER_cert((front_lab.dir / "pki" / f"{variant}.crt").read_text())
        status, details = authenticate(front_lab)
        assert status == 400 and java_error in details
    assert ssm_get(front_lab).status_code == 200


def test_wrong_certificate_on_a_vmanage(lab):
    url = lab.info["vmanage"][1]["url"] + "/dataservice/client/server/ready"
    with lab.faulted("vmanage-002", "wrong-cert", variant="wrong-host"):
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url, verify=lab.ca, timeout=10)
        assert lab.vmanage(0).get("/dataservice/client/server/ready").status_code == 200
    assert requests.get(url, verify=lab.ca, timeout=10).status_code == 200


def test_slow_delays_responses(lab):
    api = lab.vmanage(0, login=False)

    def elapsed():
        started = time.monotonic()
        assert api.get("/dataservice/client/server/ready").status_code == 200
        return time.monotonic() - started

    with lab.faulted("vmanage-001", "slow", ms=400):
        assert elapsed() >= 0.4
    assert elapsed() < 0.4


def test_flapping_5xx_fails_every_kth_request(lab):
    api = lab.vmanage(0, login=False)
    with lab.faulted("vmanage-001", "flapping-5xx", every=2):
        statuses = [api.get("/dataservice/client/server/ready").status_code for _request in range(4)]
        assert statuses == [200, 503, 200, 503]
    with lab.faulted("ssm", "flapping-5xx", every=1):
        assert ssm_get(lab, "/backend/settings/oauth_adfs").status_code == 500
    assert api.get("/dataservice/client/server/ready").status_code == 200


def test_rate_limit_answers_429_with_retry_after(lab):
    api = lab.vmanage(0, login=False)
    with lab.faulted("vmanage-001", "rate-limit", every=3, retry_after=7):
        responses = [api.get("/dataservice/client/server/ready") for _request in range(3)]
        assert [response.status_code for response in responses] == [200, 200, 429]
        assert responses[2].headers["Retry-After"] == "7"
        assert responses[2].json()["error"]["code"] == "HTTP429"
    assert api.get("/dataservice/client/server/ready").status_code == 200


def test_xsrf_mismatch_rejects_writes_only(lab):
    api = lab.vmanage(0)
    ssm = lab.ssm()
    with lab.faulted("all", "xsrf-mismatch") as effect:
        assert len(effect["effects"]) == 3
        put = api.put("/dataservice/settings/configuration/proxyHttpServer", json={"proxy": False})
        assert put.status_code == 403 and put.text.startswith("SessionTokenFilter:")
        assert api.get("/dataservice/settings/configuration/proxyHttpServer").status_code == 200
        create = ssm.write("POST", "/backend/api_toolkit/grants", json={"name": "blocked", "type": "resource_owner"})
        assert create.status_code == 403 and create.json()["error"] == "invalid_authenticity_token"
    assert api.put("/dataservice/settings/configuration/proxyHttpServer", json={"proxy": False}).status_code == 200


def test_session_cap_refuses_new_logins(lab):
    existing = lab.vmanage(0)
    entry = lab.info["vmanage"][0]
    with lab.faulted("vmanage-001", "session-cap"):
        refused = lab.vmanage(0, login=False).post(
            "/j_security_check", data={"j_username": entry["username"], "j_password": entry["password"]})
        assert refused.status_code == 200 and "Maximum number of concurrent sessions" in refused.text
        assert "JSESSIONID" not in refused.cookies
        assert existing.get("/dataservice/device").status_code == 200
    lab.vmanage(0)


def test_dns_missing_removes_dns_and_name_resolution(lab):
    api = lab.vmanage(0)
    system_ip = lab.info["vmanage"][0]["system_ip"]
    by_name = lab.info["ssm"]["url"].replace("127.0.0.1", "localhost")
    settings_path = "/dataservice/settings/configuration/smartLicensing"
    assert api.put(settings_path, json={"ssmServerUrl": by_name}).status_code == 200
    try:
        with lab.faulted("vmanage-001", "dns-missing"):
            assert " dns " not in api.get("/dataservice/device/config", params={"deviceId": system_ip}).text
            status, details = authenticate(lab)
            assert details.endswith("java.net.UnknownHostException: localhost: Name or service not known")
            nping = api.post(f"/dataservice/device/tools/nping/{system_ip}",
                             json={"host": "localhost", "vpn": "0", "probeType": "icmp"}).json()
            assert nping["rawOutput"][1] == "Failed to resolve given hostname/IP: localhost."
        assert authenticate(lab) == (200, "")
    finally:
        api.put(settings_path, json={"ssmServerUrl": lab.info["ssm"]["url"]})


def test_ssm_unreachable_from_vmanage_only(lab):
    with lab.faulted("vmanage-001", "ssm-unreachable-from-vmanage"):
        nping = nping_ssm(lab)
        assert nping["packetsReceived"] == 0 and not any("RCVD" in line for line in nping["rawOutput"])
        status, details = authenticate(lab)
        assert "org.apache.http.conn.ConnectTimeoutException" in details and "connect timed out" in details
        assert ssm_get(lab).status_code == 200
        assert authenticate(lab, 1) == (200, "")
    assert nping_ssm(lab)["packetsReceived"] == 1


def test_wrong_ssm_password_on_ssm(lab):
    with lab.faulted("ssm", "wrong-ssm-password"):
        status, details = authenticate(lab)
        assert status == 400 and '"error":"invalid_grant"' in details
    assert authenticate(lab) == (200, "")


def test_wrong_ssm_password_stored_on_a_vmanage_breaks_its_sync(lab):
    api = lab.vmanage(1)
    with lab.faulted("vmanage-002", "wrong-ssm-password"):
        sync = api.sync()
        assert sync.status_code == 400 and '"error":"invalid_grant"' in sync.json()["error"]["details"]
    assert api.sync().status_code == 200


def test_active_faults_show_in_state(lab):
    with lab.faulted("all", "slow", ms=1):
        state = lab.state()
        assert state["ssm"]["faults"] == ["slow"]
        assert all(host["faults"] == ["slow"] for host in state["vmanage"].values())
    assert lab.state()["ssm"]["faults"] == []


@pytest.mark.parametrize("args, message", [
    (["--target", "vmanage-999", "slow"], "unknown target 'vmanage-999'"),
    (["--target", "ssm", "session-cap"], "fault session-cap applies to vmanage only"),
    (["--target", "vmanage-001", "ssm-backend-down"], "fault ssm-backend-down applies to ssm only"),
    (["--target", "ssm", "flapping-5xx", "--every", "0"], "--every >= 1"),
])
def test_fault_requests_that_cannot_apply_fail_clearly(lab, cli, capsys, args, message):
    assert cli("fault", "--dir", lab.dir, *args)[0] == 1
    assert message in capsys.readouterr().err
