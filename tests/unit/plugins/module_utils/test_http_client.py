"""HttpClient: input normalisation, TLS, proxies, timeouts, retries and every error branch."""
import socket
import subprocess
import sys
import warnings
from email.utils import formatdate
from pathlib import Path

import pytest
import urllib3.util.connection

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import http_client as http_module
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import HttpClient, normalize_base_url

from ansible_collections.sdwan_ops.license_sync.tests.unit.plugins.module_utils.harness import Reply, ScriptedServer

NGINX_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
             "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def raises(cause, call, *args, **kwargs):
    with pytest.raises(LicenseSyncError) as info:
        call(*args, **kwargs)
    assert info.value.cause == cause, str(info.value)
    return info.value


# --- URL / host normalisation -------------------------------------------------------------------

@pytest.mark.parametrize("value, port, expected", [
    ("vmanage.example.com", None, "https://vmanage.example.com:443"),
    ("VManage.Example.com.", None, "https://vmanage.example.com.:443"),
    ("10.0.0.1", None, "https://10.0.0.1:443"),
    ("10.0.0.1", 8443, "https://10.0.0.1:8443"),
    ("10.0.0.1:8443", None, "https://10.0.0.1:8443"),
    ("2001:db8::1", None, "https://[2001:db8::1]:443"),
    ("[2001:DB8::1]", None, "https://[2001:db8::1]:443"),
    ("[2001:db8::1]:8443", None, "https://[2001:db8::1]:8443"),
    ("https://[2001:db8::1]:9443/", None, "https://[2001:db8::1]:9443"),
    ("https://vmanage.example.com:8443", None, "https://vmanage.example.com:8443"),
    ("https://vmanage.example.com:8443", 8443, "https://vmanage.example.com:8443"),
    ("  HTTPS://vmanage.example.com/  ", None, "https://vmanage.example.com:443"),
])
def test_vmanage_host_forms_normalise_to_one_url(value, port, expected):
    assert normalize_base_url(value, "vmanage_host", 443, port=port, port_option="vmanage_port") == expected


def test_ssm_url_defaults_to_port_8443():
    assert normalize_base_url("ssm.example.com", "ssm_url", 8443) == "https://ssm.example.com:8443"
    assert normalize_base_url("https://ssm.example.com", "ssm_url", 8443) == "https://ssm.example.com:8443"


@pytest.mark.parametrize("value, port, words", [
    ("", None, "vmanage_host is empty"),
    ("   ", None, "vmanage_host is empty"),
    (None, None, "vmanage_host is empty"),
    ("http://vmanage.example.com", None, "only https:// is supported"),
    ("ftp://vmanage.example.com", None, "uses ftp://"),
    ("https://vmanage.example.com/dataservice", None, "must not contain a path"),
    ("vmanage.example.com/", None, None),
    ("https://vmanage.example.com?x=1", None, "must not contain a path, query or fragment"),
    ("https://admin:pw@vmanage.example.com", None, "must not contain user credentials"),
    ("vmanage example.com", None, "contains white space"),
    ("https://vmanage.example.com:8443", 443, "names port 8443 but vmanage_port is 443"),
    ("vmanage.example.com:99999", None, "outside 1-65535"),
    ("vmanage.example.com:http", None, "invalid port"),
    ("[2001:db8::zz]", None, "invalid IPv6 address"),
    ("2001:db8::zz", None, "invalid IPv6 address"),
    ("[2001:db8::1", None, "malformed bracketed IPv6"),
    ("vmanage_!.example.com", None, "invalid host name"),
    ("https://", None, "has no host name"),
])
def test_bad_host_values_are_invalid_input_naming_the_option(value, port, words):
    if words is None:
        assert normalize_base_url(value, "vmanage_host", 443) == "https://vmanage.example.com:443"
        return
    error = raises("INVALID_INPUT", normalize_base_url, value, "vmanage_host", 443, port=port, port_option="vmanage_port")
    assert words in error.message
    assert "vmanage_host" in error.message
    assert error.remedy


def test_credentials_in_the_url_are_not_echoed():
    error = raises("INVALID_INPUT", normalize_base_url, "https://admin:Sup3rS3cret@vm.example.com", "vmanage_host", 443)
    assert "Sup3rS3cret" not in error.message


def test_client_rejects_missing_ca_file(tmp_path):
    error = raises("INVALID_INPUT", HttpClient, "vm.example.com", product="vmanage", ca_path=str(tmp_path / "nope.pem"))
    assert "vmanage_ca_path" in error.message


def test_client_rejects_bad_proxy_and_timeout():
    assert "ssm_proxy" in raises("INVALID_INPUT", HttpClient, "ssm.example.com", product="ssm", proxy="socks5://p:1080").message
    assert "timeout" in raises("INVALID_INPUT", HttpClient, "ssm.example.com", product="ssm", timeout=0).message


# --- TLS ----------------------------------------------------------------------------------------

def test_ca_path_is_used_even_when_requests_ca_bundle_points_elsewhere(make_http, server, other_ca_file, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_file)
    monkeypatch.setenv("CURL_CA_BUNDLE", other_ca_file)
    server.route("GET", "/ok", Reply(200, {"ok": True}))
    client = make_http()
    assert client.json(client.request("GET", "/ok")) == {"ok": True}
    assert client.json(client.request("GET", "/ok")) == {"ok": True}


def test_without_ca_path_the_environment_bundle_is_trusted_and_named(make_http, server, ca_file, other_ca_file, monkeypatch):
    server.route("GET", "/ok", Reply(200, {"ok": True}))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    assert make_http(ca_path=None).request("GET", "/ok").status_code == 200
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_file)
    error = raises("VMANAGE_TLS_UNTRUSTED", make_http(ca_path=None).request, "GET", "/ok")
    assert "REQUESTS_CA_BUNDLE" in error.message and other_ca_file in error.message


def test_untrusted_certificate_names_the_ca_that_was_used(make_http, server, other_ca_file):
    error = raises("SSM_TLS_UNTRUSTED", make_http("ssm", ca_path=other_ca_file).request, "GET", "/x")
    assert "not trusted" in error.message
    assert "ssm_ca_path %s" % other_ca_file in error.message
    assert error.remedy.startswith("Give the CA")


def test_hostname_mismatch_is_reported_as_such(ca, ca_file, channels):
    wrong_name = ScriptedServer(ca.issue_cert("ssm.lab.example"))
    try:
        client = HttpClient(wrong_name.url, product="ssm", ca_path=ca_file, warn=channels.warnings.append)
        error = raises("SSM_TLS_UNTRUSTED", client.request, "GET", "/x")
        assert "does not match the host name '127.0.0.1'" in error.message
        assert "subject alternative names" in error.remedy
        assert wrong_name.count() == 0
    finally:
        wrong_name.close()


def test_validate_certs_false_warns_once_and_silences_only_this_session(make_http, server, channels):
    server.route("GET", "/ok", Reply(200, {"ok": True}))
    filters_before = list(warnings.filters)
    client = make_http(validate_certs=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.request("GET", "/ok")
        client.request("GET", "/ok")
    assert [w for w in caught if "InsecureRequest" in type(w.message).__name__] == []
    disabled = [w for w in channels.warnings if "verification is disabled" in w]
    assert len(disabled) == 1 and "vmanage_ca_path" in disabled[0]
    assert warnings.filters == filters_before


def test_plain_http_port_is_a_handshake_failure_not_a_trust_problem(make_http, closed_port):
    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen(1)
    try:
        port = plain.getsockname()[1]

        def answer_in_clear_text():
            conn, _addr = plain.accept()
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

        import threading
        threading.Thread(target=answer_in_clear_text, daemon=True).start()
        error = raises("VMANAGE_UNREACHABLE", make_http(base_url="127.0.0.1:%d" % port, retries=0).request, "GET", "/x")
        assert "TLS handshake" in error.message
    finally:
        plain.close()


# --- connection failures ------------------------------------------------------------------------

def test_connection_refused_is_unreachable_and_retried_for_get(make_http, closed_port, sleeps, channels):
    client = make_http(base_url="127.0.0.1:%d" % closed_port)
    error = raises("VMANAGE_UNREACHABLE", client.request, "GET", "/dataservice/client/server")
    assert "refused" in error.message and "127.0.0.1:%d" % closed_port in error.message
    assert sleeps == [1.0, 2.0, 4.0]
    retries = [w for w in channels.warnings if "retry" in w]
    assert len(retries) == 3
    assert "vManage: GET https://127.0.0.1:%d/dataservice/client/server failed (connection refused); retry 1 of 3" % closed_port \
        in retries[0]


def test_dns_failure_is_named_and_not_retried(make_http, monkeypatch, sleeps):
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        if host == "vmanage.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    error = raises("VMANAGE_UNREACHABLE", make_http(base_url="vmanage.invalid").request, "GET", "/x")
    assert "DNS lookup of 'vmanage.invalid' failed" in error.message
    assert "vmanage_host" in error.remedy
    assert sleeps == []


def test_connect_timeout_says_which_timeout(make_http, monkeypatch, sleeps, channels):
    attempts = []

    def silent_network(address, *args, **kwargs):
        attempts.append(address)
        raise socket.timeout("timed out")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", silent_network)
    error = raises("TIMEOUT", make_http(timeout=30, retries=2).request, "GET", "/x")
    assert "within 10 s (connect timeout)" in error.message
    assert len(attempts) == 3
    assert "connect timeout after 10 s" in channels.warnings[-1]


def test_read_timeout_says_which_timeout_and_retries(make_http, server, sleeps):
    server.route("GET", "/slow", Reply(200, {"ok": True}, delay=1.0))
    error = raises("TIMEOUT", make_http(timeout=0.3, retries=1).request, "GET", "/slow")
    assert "no answer within 0.3 s (read timeout)" in error.message
    assert server.count("GET", "/slow") == 2


def test_connection_dropped_without_answer(make_http, server, sleeps):
    server.route("GET", "/drop", Reply(drop=True))
    error = raises("VMANAGE_UNREACHABLE", make_http(retries=0).request, "GET", "/drop")
    assert "closed the connection without an answer" in error.message


def test_explicit_proxy_failure_is_proxy_error_without_its_password(make_http, closed_port, sleeps):
    proxy = "http://proxyuser:Pr0xyPa55@127.0.0.1:%d" % closed_port
    error = raises("PROXY_ERROR", make_http(proxy=proxy).request, "GET", "/x")
    assert "Pr0xyPa55" not in error.message
    assert "http://127.0.0.1:%d" % closed_port in error.message
    assert sleeps == []


def test_environment_proxy_is_used_when_none_is_given(make_http, closed_port, monkeypatch, sleeps):
    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % closed_port)
    error = raises("PROXY_ERROR", make_http().request, "GET", "/x")
    assert "environment" in error.message


def test_explicit_proxy_carries_the_requests(make_http, server, sleeps):
    """A CONNECT proxy on 127.0.0.1 that tunnels to the scripted server."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    seen = []

    def tunnel():
        conn, _addr = listener.accept()
        request = conn.recv(4096)
        seen.append(request.split(b"\r\n")[0])
        upstream = socket.create_connection(("127.0.0.1", server.port))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for source, target in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=_pump, args=(source, target), daemon=True).start()

    threading.Thread(target=tunnel, daemon=True).start()
    server.route("GET", "/ok", Reply(200, {"ok": True}))
    try:
        client = make_http(proxy="127.0.0.1:%d" % listener.getsockname()[1])
        assert client.json(client.request("GET", "/ok")) == {"ok": True}
        assert seen[0].startswith(b"CONNECT 127.0.0.1:%d HTTP/" % server.port)
    finally:
        listener.close()


def _pump(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.close()
            except OSError:
                pass


# --- answers that are not what was asked for ---------------------------------------------------

def test_nginx_502_from_ssm_is_backend_down_not_unreachable(make_http, server, sleeps):
    server.route("GET", "/backend/settings/oauth_adfs", Reply(502, NGINX_502, content_type="text/html"))
    error = raises("SSM_BACKEND_DOWN", make_http("ssm").request, "GET", "/backend/settings/oauth_adfs")
    assert "nginx front" in error.message
    assert error.status == 502
    assert error.body_excerpt == "502 Bad Gateway 502 Bad Gateway nginx"
    assert server.count() == 4  # an idempotent GET is retried first
    assert "restart" in error.remedy


def test_vmanage_502_is_an_http_error(make_http, server, sleeps):
    server.route("GET", "/x", Reply(502, NGINX_502, content_type="text/html"))
    assert raises("HTTP_ERROR", make_http(retries=0).request, "GET", "/x").status == 502


def test_html_where_json_was_expected_is_bad_response(make_http, server):
    server.route("GET", "/dataservice/client/server", Reply(200, "<html><head><title>Portal login</title></head></html>",
                                                            content_type="text/html"))
    client = make_http()
    error = raises("BAD_RESPONSE", client.json, client.request("GET", "/dataservice/client/server"))
    assert "an HTML page ('Portal login') where JSON was expected" in error.message


@pytest.mark.parametrize("body", [b'{"data": {"platformVersion": "20.1', b"not json", b"[1, 2,"])
def test_invalid_or_cut_json_is_bad_response(make_http, server, body):
    server.route("GET", "/j", Reply(200, body, content_type="application/json"))
    client = make_http()
    assert "invalid or truncated JSON" in raises("BAD_RESPONSE", client.json, client.request("GET", "/j")).message


@pytest.mark.parametrize("body, shape, words", [
    ({"data": "isPresentCredentials=true"}, ("data", list), '"data" is a string, not a list of objects'),
    ({"data": ["x"]}, ("data", list), '"data" is a list of other things than objects'),
    ({"grants": None}, ("grants", list), '"grants" is missing or null'),
    (["a"], ("@", dict), "the answer is a list of other things than objects, not an object"),
    ({"data": {"ok": 1}}, ("data", list), '"data" is an object, not a list of objects'),
])
def test_json_of_another_shape_is_bad_response(make_http, server, body, shape, words):
    server.route("GET", "/x", Reply(200, body))
    client = make_http()
    error = raises("BAD_RESPONSE", client.json, client.request("GET", "/x"), "data[0].mode", shape)
    assert "vManage answered GET /x with JSON of another shape than expected: " + words in error.message


@pytest.mark.parametrize("body, shape", [({"data": []}, ("data", list)), ({"data": [{"mode": "m"}]}, ("data", list)),
                                         ({"mode": "m"}, ("@", dict))])
def test_json_of_the_expected_shape_is_read(make_http, server, body, shape):
    server.route("GET", "/x", Reply(200, body))
    client = make_http()
    assert client.json(client.request("GET", "/x"), "data[0].mode || mode", shape) == (None if body == {"data": []} else "m")


def test_empty_body_where_json_was_expected(make_http, server):
    server.route("GET", "/j", Reply(200, b"", content_type="application/json"))
    client = make_http()
    assert "empty body" in raises("BAD_RESPONSE", client.json, client.request("GET", "/j")).message


def test_connection_closed_mid_body_is_a_truncated_response(make_http, server, sleeps):
    server.route("GET", "/cut", Reply(200, b'{"data": [1, 2', content_type="application/json", truncate=True))
    error = raises("BAD_RESPONSE", make_http(retries=0).request, "GET", "/cut")
    assert "truncated response" in error.message


def test_redirect_to_another_host_is_refused(make_http, server, second_server):
    second_server.route("GET", "/dataservice/client/server", Reply(200, {"data": {}}))
    server.route("GET", "/dataservice/client/server", Reply(302, headers=[("Location", second_server.url + "/dataservice/client/server")]))
    error = raises("BAD_RESPONSE", make_http().request, "GET", "/dataservice/client/server")
    assert "redirect to another host" in error.message
    assert "vmanage_host" in error.remedy
    assert second_server.count() == 0


def test_redirect_to_the_default_port_of_another_port_is_another_host(make_http, server):
    server.route("GET", "/a", Reply(302, headers=[("Location", "https://127.0.0.1/a")]))
    assert "redirect to another host" in raises("BAD_RESPONSE", make_http().request, "GET", "/a").message


def test_same_host_redirect_is_not_followed_either(make_http, server):
    server.route("GET", "/a", Reply(301, headers=[("Location", "/b")]))
    server.route("GET", "/b", Reply(200, {}))
    assert "unexpected redirect to %s/b" % server.url in raises("BAD_RESPONSE", make_http().request, "GET", "/a").message
    assert server.count("GET", "/b") == 0


def test_huge_bodies_are_not_read_past_the_cap(make_http, server, monkeypatch):
    monkeypatch.setattr(HttpClient, "MAX_BODY_BYTES", 4096)
    server.route("GET", "/declared", Reply(200, b"x" * 5000))
    server.route("GET", "/streamed", Reply(200, b"y" * 200000, no_length=True))
    client = make_http()
    for path in ("/declared", "/streamed"):
        error = raises("BAD_RESPONSE", client.request, "GET", path)
        assert "larger than" in error.message and "stopped reading" in error.message
    server.route("GET", "/fits", Reply(200, b"z" * 4096))
    assert len(client.request("GET", "/fits").content) == 4096


def test_error_excerpt_is_short(make_http, server):
    server.route("GET", "/big-error", Reply(500, {"error": {"message": "Boom", "details": "x" * 5000}}))
    error = raises("HTTP_ERROR", make_http(retries=0).request, "GET", "/big-error")
    assert len(error.body_excerpt) <= 300
    assert "Boom: xxx" in error.message


def test_allow_status_returns_the_response(make_http, server):
    server.route("POST", "/x", Reply(403, {"error": "invalid_client", "error_message": "Grant not found."}))
    client = make_http()
    response = client.request("POST", "/x", allow_status=(403,))
    assert response.status_code == 403
    assert client.error_text(response) == "Grant not found. (invalid_client)"


# --- retries ------------------------------------------------------------------------------------

def test_get_is_retried_on_503_then_succeeds(make_http, server, sleeps, channels):
    server.route("GET", "/dataservice/x", Reply(503), Reply(503), Reply(200, {"ok": 1}))
    client = make_http()
    assert client.json(client.request("GET", "/dataservice/x")) == {"ok": 1}
    assert server.count() == 3
    assert sleeps == [1.0, 2.0]
    retry_warnings = [w for w in channels.warnings if "retry" in w]
    assert retry_warnings == [
        "vManage: GET %s/dataservice/x failed (HTTP 503 Service Unavailable); retry 1 of 3 in 1 s" % server.url,
        "vManage: GET %s/dataservice/x failed (HTTP 503 Service Unavailable); retry 2 of 3 in 2 s" % server.url,
    ]


def test_retries_are_bounded(make_http, server, sleeps):
    server.route("GET", "/x", Reply(503))
    assert raises("VMANAGE_NOT_READY", make_http(retries=3).request, "GET", "/x").status == 503
    assert server.count() == 4


@pytest.mark.parametrize("retry_after, expected_sleep", [("2", 2.0), ("120", 30.0)])
def test_429_honours_retry_after_capped(make_http, server, sleeps, channels, retry_after, expected_sleep):
    server.route("GET", "/x", Reply(429, headers=[("Retry-After", retry_after)]), Reply(200, {}))
    make_http().request("GET", "/x")
    assert sleeps == [expected_sleep]
    assert ("Retry-After %s s" % retry_after) in channels.warnings[-1]
    assert ("capped at 30 s" in channels.warnings[-1]) == (expected_sleep == 30.0)


def test_429_retry_after_as_http_date(make_http, server, sleeps):
    import time
    server.route("GET", "/x", Reply(429, headers=[("Retry-After", formatdate(time.time() + 5, usegmt=True))]), Reply(200, {}))
    make_http().request("GET", "/x")
    assert 3.0 <= sleeps[0] <= 5.0


def test_429_without_retry_after_backs_off(make_http, server, sleeps):
    server.route("GET", "/x", Reply(429), Reply(200, {}))
    make_http().request("GET", "/x")
    assert sleeps == [1.0]


def test_rate_limit_after_retries_is_vmanage_rate_limited(make_http, server, sleeps):
    server.route("GET", "/x", Reply(429, headers=[("Retry-After", "1")]))
    error = raises("VMANAGE_RATE_LIMITED", make_http(retries=2).request, "GET", "/x")
    assert error.status == 429 and server.count() == 3


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limit_or_unavailable_on_ssm_is_ssm_busy(make_http, server, sleeps, status):
    server.route("GET", "/x", Reply(status))
    error = raises("SSM_BUSY", make_http("ssm", retries=0).request, "GET", "/x")
    assert error.status == status and not error.fixable


def test_get_is_retried_on_500_then_succeeds(make_http, server, sleeps, channels):
    server.route("GET", "/backend/settings/oauth_adfs", Reply(500, {"status": 500, "error": "Internal Server Error"}), Reply(200, {}))
    make_http("ssm").request("GET", "/backend/settings/oauth_adfs")
    assert server.count() == 2 and sleeps == [1.0]
    assert "failed (HTTP 500 Internal Server Error); retry 1 of 3 in 1 s" in channels.warnings[-1]


def test_post_is_retried_on_429_only_honouring_retry_after(make_http, server, sleeps, channels):
    server.route("POST", "/grants", Reply(429, {"error": "rate_limited"}, headers=[("Retry-After", "1")]), Reply(201, {"id": 1}))
    client = make_http("ssm")
    assert client.request("POST", "/grants", json={"name": "g"}).status_code == 201
    assert server.count("POST", "/grants") == 2 and sleeps == [1.0]
    assert "POST %s/grants failed (HTTP 429 Too Many Requests (rate limited; Retry-After 1 s)); retry 1 of 3" % server.url \
        in channels.warnings[-1]
    server.route("POST", "/late", Reply(429, headers=[("Retry-After", "120")]))
    raises("SSM_BUSY", client.request, "POST", "/late", json={})
    assert server.count("POST", "/late") == 4 and sleeps[1:] == [30.0, 30.0, 30.0]
    server.route("POST", "/failed", Reply(500))
    raises("HTTP_ERROR", client.request, "POST", "/failed", json={})
    assert server.count("POST", "/failed") == 1


def test_delete_is_idempotent_and_retried(make_http, server, sleeps):
    server.route("DELETE", "/grants/7", Reply(503), Reply(204, b""))
    assert make_http("ssm").request("DELETE", "/grants/7").status_code == 204
    assert server.count() == 2


def test_an_allowed_status_is_returned_not_retried(make_http, server, sleeps):
    server.route("GET", "/probe", Reply(502, "<center>nginx</center>", content_type="text/html"))
    assert make_http("ssm").request("GET", "/probe", allow_status=(502,)).status_code == 502
    assert server.count() == 1 and sleeps == []


def test_post_is_not_retried_unless_marked_idempotent(make_http, server, sleeps):
    server.route("POST", "/write", Reply(502))
    client = make_http()
    raises("HTTP_ERROR", client.request, "POST", "/write", json={})
    assert server.count("POST", "/write") == 1
    server.route("POST", "/check", Reply(502), Reply(200, {}))
    client.request("POST", "/check", json={}, idempotent=True)
    assert server.count("POST", "/check") == 2


def test_a_write_answered_503_or_429_was_not_processed_and_is_retried(make_http, server, sleeps):
    """503 Service Unavailable and 429 Too Many Requests say the server did not process the request (RFC 9110, RFC 6585)."""
    server.route("POST", "/sync", Reply(503), Reply(429, b"", headers=[("Retry-After", "1")]), Reply(200, {}))
    make_http().request("POST", "/sync", json={})
    assert server.count("POST", "/sync") == 3 and sleeps == [1.0, 1.0]


def test_post_is_not_retried_after_connection_refused(make_http, closed_port, sleeps):
    raises("VMANAGE_UNREACHABLE", make_http(base_url="127.0.0.1:%d" % closed_port).request, "POST", "/x")
    assert sleeps == []


def test_per_call_retry_override(make_http, server, sleeps):
    server.route("GET", "/x", Reply(503))
    raises("VMANAGE_NOT_READY", make_http().request, "GET", "/x", retries=0)
    assert server.count() == 1 and sleeps == []


# --- what the user sees -------------------------------------------------------------------------

def test_one_debug_line_per_request_without_query_secrets(make_http, server, channels):
    server.route("GET", "/x", Reply(200, b"12345"))
    make_http().request("GET", "/x", params={"client_secret": "Qz9-secret", "account": "a1"})
    line, = [d for d in channels.debug if "/x" in d]
    assert line.startswith("vManage GET %s/x?client_secret=********&account=a1 -> HTTP 200 (5 bytes) in " % server.url)
    assert line.endswith(" s")
    assert "Qz9-secret" not in channels.text()


def test_imports_work_without_requests_and_jmespath(repo_root):
    """Modules must import cleanly and then report missing_required_lib; the flags tell them."""
    program = "\n".join([
        "import sys",
        "sys.modules['requests'] = None",
        "sys.modules['jmespath'] = None",
        "from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder",
        "_AnsibleCollectionFinder(paths=[%r])._install()" % str(Path(repo_root) / ".build" / "collections"),
        "from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import errors, redact, http_client, vmanage, ssm",
        "print(http_client.HAS_REQUESTS, http_client.HAS_JMESPATH, 'requests' in http_client.REQUESTS_IMPORT_ERROR,"
        " 'jmespath' in http_client.JMESPATH_IMPORT_ERROR)",
        "try:",
        "    http_client.HttpClient('h', product='ssm')",
        "except errors.LicenseSyncError as error:",
        "    print(error.cause)",
    ])
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True", "True", "MISSING_LIBRARY"]


def test_select_uses_jmespath():
    assert http_module.select("data[0].{a: x}", {"data": [{"x": 1}]}) == {"a": 1}
