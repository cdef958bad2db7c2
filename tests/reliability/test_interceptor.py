"""The reliability harness's own interceptor: the kill, race and leak tests are only as good as it.

A tiny HTTPS upstream (its own trustme CA) stands for a product; `requests` stands for the
collection, through the interceptor as a proxy or in front of the upstream.
"""
import http.server
import json
import ssl
import threading

import pytest
import requests
import trustme


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    processed = []

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet."""

    def _answer(self, status, payload, cookie=None):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # pylint: disable=invalid-name
        Upstream.processed.append(("GET", self.path))
        self._answer(200, {"path": self.path, "access_token": "upstream-access-token-1"}, cookie="JSESSIONID=UPSTREAMSESSION42; Path=/")

    def do_POST(self):  # pylint: disable=invalid-name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Upstream.processed.append(("POST", self.path))
        self._answer(201, {"echo": body.decode()})


@pytest.fixture
def upstream(tmp_path):
    ca = trustme.CA()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Upstream.processed = []
    ca_path = tmp_path / "upstream-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    yield f"https://127.0.0.1:{server.server_address[1]}", ca_path, ca
    server.shutdown()
    server.server_close()


def trust(tmp_path, *pems):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"".join(pems))
    return str(bundle)


def test_forward_proxy_relays_counts_and_harvests_the_wire_secrets(upstream, interceptors, tmp_path):
    url, ca_path, ca = upstream
    proxy = interceptors(upstream_ca_path=str(ca_path))
    verify = trust(tmp_path, ca.cert_pem.bytes(), proxy.ca_pem)
    session = requests.Session()
    proxies = {"https": proxy.proxy_url}
    assert session.get(url + "/a?x=1", proxies=proxies, verify=verify, timeout=10).json()["path"] == "/a?x=1"
    answer = session.post(url + "/token", data={"client_secret": "form-secret-123", "user": "u"}, headers={"X-XSRF-TOKEN": "xsrf-value-789"},
                          proxies=proxies, verify=verify, timeout=10)
    assert answer.status_code == 201
    assert [str(e) for e in proxy.exchanges] == ["#1 GET /a -> 200", "#2 POST /token -> 201"]
    harvested = proxy.wire_secrets()
    assert {"UPSTREAMSESSION42", "upstream-access-token-1", "form-secret-123", "xsrf-value-789"} <= set(harvested)
    assert harvested["xsrf-value-789"] == "XSRF token"


def test_hold_after_lets_the_server_act_but_never_answers(upstream, interceptors, tmp_path):
    url, ca_path, ca = upstream
    proxy = interceptors(upstream_ca_path=str(ca_path), policy=lambda e: interceptors.action.hold_after() if e.route == "/write" else None)
    verify = trust(tmp_path, ca.cert_pem.bytes(), proxy.ca_pem)
    outcome = {}

    def client():
        try:
            requests.post(url + "/write", json={"a": 1}, proxies={"https": proxy.proxy_url}, verify=verify, timeout=30)
            outcome["answered"] = True
        except requests.RequestException:
            outcome["answered"] = False

    thread = threading.Thread(target=client)
    thread.start()
    assert proxy.held.wait(10), "the interceptor never reached the request to hold"
    assert ("POST", "/write") in Upstream.processed, "hold_after must let the server carry the request out"
    assert "answered" not in outcome
    proxy.stop()
    thread.join(10)
    assert outcome == {"answered": False}


def test_hold_before_keeps_the_request_from_the_server(upstream, interceptors, tmp_path):
    url, ca_path, ca = upstream
    proxy = interceptors(upstream_ca_path=str(ca_path), policy=lambda e: interceptors.action.hold_before())
    verify = trust(tmp_path, ca.cert_pem.bytes(), proxy.ca_pem)
    outcome = {}

    def client():
        try:
            outcome["status"] = requests.get(url + "/never", proxies={"https": proxy.proxy_url}, verify=verify, timeout=30).status_code
        except requests.RequestException:
            outcome["status"] = None

    thread = threading.Thread(target=client)
    thread.start()
    assert proxy.held.wait(10)
    proxy.stop()
    thread.join(10)
    assert outcome == {"status": None}
    assert Upstream.processed == []


def test_reverse_mode_rewrites_answers_and_presents_the_certificate_it_is_given(upstream, interceptors, tmp_path):
    url, ca_path, ca = upstream
    port = int(url.rsplit(":", 1)[1])

    def shout(exchange):
        exchange.response_body = exchange.response_body.upper()

    stand_in = interceptors(mode="reverse", upstream_ca_path=str(ca_path), upstream=("127.0.0.1", port),
                            policy=lambda e: interceptors.action.rewritten(shout))
    verify = trust(tmp_path, stand_in.ca_pem)
    assert requests.get(stand_in.url + "/x", verify=verify, timeout=10).json()["PATH"] == "/X"
    other_host = interceptors(mode="reverse", upstream_ca_path=str(ca_path), upstream=("127.0.0.1", port), server_names=("other.example",))
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(other_host.url + "/x", verify=verify, timeout=10)
