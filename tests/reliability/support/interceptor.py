"""An HTTPS interceptor for reliability tests: sees, counts, holds or rewrites every HTTP exchange.

Two ways to put it in the path of the collection's traffic:

* forward proxy (``Interceptor(mode="forward")``): the collection's ``vmanage_proxy`` /
  ``ssm_proxy`` point at ``proxy_url``; each CONNECT tunnel is terminated with a certificate of
  the interceptor's own CA (``ca_pem``, add it to ``*_ca_path``) and re-originated to the real
  lab listener, verified with the lab CA. The URLs the collection pushes to vManage stay the real
  ones, so vManage's own calls to SSM are untouched.
* reverse proxy / stand-in server (``mode="reverse"``): listens on ``url`` as if it were the
  product; forwards to ``upstream`` (or to nothing: every answer then comes from the policy).

A policy ``policy(exchange) -> Action | None`` decides per request: forward (None), answer with
a response of its own, hold the request before or after the server saw it (the kill tests), or
rewrite the server's answer (hostile responses). Every exchange is recorded in ``exchanges``;
``wire_secrets()`` lists the session cookies, XSRF tokens, access tokens, passwords and client
secrets that crossed the wire, so leak tests search for the actual values.
"""
import http.client
import http.server
import json
import socket
import socketserver
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"}
UPSTREAM_TIMEOUT_S = 120
HOLD_LIMIT_S = 600


@dataclass
class Exchange:
    seq: int
    target: str  # "host:port" the request is for
    method: str
    path: str
    headers: list
    body: bytes
    status: int = 0
    response_headers: list = field(default_factory=list)
    response_body: bytes = b""

    def header(self, name, response=False):
        wanted = name.lower()
        for key, value in self.response_headers if response else self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def route(self):
        return self.path.split("?", 1)[0]

    def __str__(self):
        return f"#{self.seq} {self.method} {self.route} -> {self.status or '(none)'}"


@dataclass
class Action:
    kind: str  # forward | respond | hold_before | hold_after | rewrite | drop | gate
    status: int = 200
    headers: list = field(default_factory=list)
    body: bytes = b""
    rewrite: object = None  # callable(exchange) -> None, edits exchange.status/response_headers/response_body
    gate: object = None  # threading.Event the request waits for before it is forwarded

    @classmethod
    def respond(cls, status, body=b"", content_type="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        return cls("respond", status=status, headers=[("Content-Type", content_type), *headers], body=body)

    @classmethod
    def hold_before(cls):
        """Never let the request reach the server; the client waits until the interceptor stops."""
        return cls("hold_before")

    @classmethod
    def hold_after(cls):
        """Let the server process the request, but never deliver its answer to the client."""
        return cls("hold_after")

    @classmethod
    def rewritten(cls, rewrite):
        return cls("rewrite", rewrite=rewrite)

    @classmethod
    def gated(cls, gate):
        """Forward the request only once ``gate`` (a threading.Event) is set: lines requests up for a race."""
        return cls("gate", gate=gate)

    @classmethod
    def drop(cls):
        """Close the connection without an answer (after the server processed the request)."""
        return cls("drop")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "interceptor"
    target = None
    upstream = None

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: exchanges are recorded, not logged."""

    def setup(self):
        super().setup()
        self.server.track(self.connection)
        if self.server.interceptor.mode == "reverse":
            self._start_tls()
            self.target = self.server.interceptor.upstream

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        if self.upstream is not None:
            self.upstream.close()

    def _start_tls(self):
        self.connection = self.server.interceptor.server_context.wrap_socket(self.connection, server_side=True)
        self.server.track(self.connection)
        self.rfile = self.connection.makefile("rb", self.rbufsize)
        self.wfile = socketserver._SocketWriter(self.connection)  # pylint: disable=protected-access

    def do_CONNECT(self):  # pylint: disable=invalid-name
        host, _sep, port = self.path.rpartition(":")
        try:
            self.upstream = self.server.interceptor.open_upstream(host.strip("[]"), int(port))
            self.upstream.connect()
        except (OSError, ValueError) as error:
            self.send_error(502, f"interceptor: cannot reach {self.path}: {error}")
            return
        self.target = (host.strip("[]"), int(port))
        self.send_response(200, "Connection established")
        self.end_headers()
        try:
            self._start_tls()
        except (OSError, ssl.SSLError):
            self.close_connection = True
            return
        self.close_connection = False

    def _read_body(self):
        length = self.headers.get("Content-Length")
        if length:
            return self.rfile.read(int(length))
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return b""

    def _relay(self):
        interceptor = self.server.interceptor
        exchange = interceptor.record(
            target="%s:%s" % self.target if self.target else "",
            method=self.command,
            path=self.path,
            headers=list(self.headers.items()),
            body=self._read_body(),
        )
        action = interceptor.decide(exchange) or Action("forward")
        if action.kind == "respond":
            exchange.status, exchange.response_headers, exchange.response_body = action.status, list(action.headers), action.body
        elif action.kind == "hold_before":
            interceptor.hold(exchange)
            self.close_connection = True
            return
        else:
            if action.kind == "gate":
                action.gate.wait(HOLD_LIMIT_S)
            self._forward(exchange)
            if action.kind == "hold_after":
                interceptor.hold(exchange)
                self.close_connection = True
                return
            if action.kind == "drop":
                self.close_connection = True
                return
            if action.kind == "rewrite":
                action.rewrite(exchange)
        self._answer(exchange)

    def _forward(self, exchange):
        if not self.target:
            exchange.status, exchange.response_body = 502, b"interceptor: no upstream"
            exchange.response_headers = [("Content-Type", "text/plain")]
            return
        if self.upstream is None:
            self.upstream = self.server.interceptor.open_upstream(*self.target)
        headers = {}
        for key, value in exchange.headers:
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                headers[key] = value
        try:
            self.upstream.request(exchange.method, exchange.path, body=exchange.body or None, headers=headers)
            response = self.upstream.getresponse()
            exchange.response_body = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.upstream.close()
            self.upstream = None
            exchange.status, exchange.response_body = 502, f"interceptor: upstream failed: {error}".encode()
            exchange.response_headers = [("Content-Type", "text/plain")]
            return
        exchange.status = response.status
        exchange.response_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]

    def _answer(self, exchange):
        self.send_response(exchange.status)
        for key, value in exchange.response_headers:
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(exchange.response_body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(exchange.response_body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _relay


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, interceptor):
        self.interceptor = interceptor
        self._sockets = set()
        self._sockets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, sock):
        with self._sockets_lock:
            self._sockets.add(sock)

    def close_all(self):
        with self._sockets_lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def handle_error(self, request, client_address):
        """A client that went away (killed run) is expected here; nothing to report."""


class Interceptor:
    """See the module docstring. Use as a context manager; ``stop()`` releases every hold."""

    def __init__(self, ca, upstream_ca_path=None, mode="forward", upstream=None, server_names=("127.0.0.1", "localhost"), policy=None):
        self.mode = mode
        self.upstream = upstream
        self.policy = policy
        self.exchanges = []
        self.held = threading.Event()
        self.held_exchange = None
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._ca = ca
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*server_names).configure_cert(self.server_context)
        self._upstream_context = ssl.create_default_context(cafile=upstream_ca_path) if upstream_ca_path else None
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="interceptor", daemon=True)

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    @property
    def proxy_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca_pem(self):
        return self._ca.cert_pem.bytes()

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._released.set()
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def open_upstream(self, host, port):
        if self._upstream_context is None:
            raise OSError("interceptor has no upstream CA")
        return http.client.HTTPSConnection(host, port, context=self._upstream_context, timeout=UPSTREAM_TIMEOUT_S)

    def record(self, **fields):
        with self._lock:
            exchange = Exchange(seq=len(self.exchanges) + 1, **fields)
            self.exchanges.append(exchange)
            return exchange

    def decide(self, exchange):
        return self.policy(exchange) if self.policy else None

    def hold(self, exchange):
        self.held_exchange = exchange
        self.held.set()
        self._released.wait(HOLD_LIMIT_S)

    def wire_secrets(self):
        """{value: kind} of every credential that crossed the wire, request or response side."""
        with self._lock:
            exchanges = list(self.exchanges)
        found = {}
        for exchange in exchanges:
            for kind, value in secrets_in_exchange(exchange):
                found.setdefault(value, kind)
        return found


SECRET_FIELDS = {
    "password": "password", "j_password": "password", "client_secret": "client secret", "ssmClientSecret": "client secret",
    "access_token": "access token", "refresh_token": "access token", "accessToken": "access token", "id_token": "access token",
    "token": "XSRF token", "CSRFToken": "XSRF token",
}
SECRET_HEADERS = {"x-xsrf-token": "XSRF token", "x-csrf-token": "XSRF token", "authorization": "access token"}


def _secret_fields(data):
    if isinstance(data, dict):
        for key, value in data.items():
            if key in SECRET_FIELDS and isinstance(value, str):
                yield SECRET_FIELDS[key], value
            else:
                yield from _secret_fields(value)
    elif isinstance(data, list):
        for item in data:
            yield from _secret_fields(item)


def _body_values(body, content_type):
    if not body:
        return []
    text = body.decode("utf-8", "replace")
    if "json" in (content_type or "") or text.lstrip().startswith(("{", "[")):
        try:
            return list(_secret_fields(json.loads(text)))
        except ValueError:
            return []
    if "x-www-form-urlencoded" in (content_type or ""):
        return [(SECRET_FIELDS[key], value) for key, value in urllib.parse.parse_qsl(text) if key in SECRET_FIELDS]
    if "multipart" in (content_type or ""):
        return [found for part in text.split("\r\n\r\n")[1:] for found in _body_values(part.split("\r\n--")[0].encode(), "application/json")]
    return []


def secrets_in_exchange(exchange):
    """(kind, value) of the session cookies, XSRF tokens, bearer tokens, passwords and secrets of one exchange."""
    found = []
    for key, value in exchange.headers:
        lowered = key.lower()
        if lowered == "cookie":
            found += [("session cookie", part.split("=", 1)[1].strip()) for part in value.split(";") if "=" in part]
        elif lowered in SECRET_HEADERS:
            found.append((SECRET_HEADERS[lowered], value.split(" ", 1)[-1]))
    for key, value in exchange.response_headers:
        if key.lower() == "set-cookie":
            found.append(("session cookie", value.split(";", 1)[0].split("=", 1)[-1]))
    query = urllib.parse.urlsplit(exchange.path).query
    found += [(SECRET_FIELDS[key], value) for key, value in urllib.parse.parse_qsl(query) if key in SECRET_FIELDS]
    found += _body_values(exchange.body, exchange.header("Content-Type"))
    found += _body_values(exchange.response_body, exchange.header("Content-Type", response=True))
    if exchange.route.endswith("/client/token") and exchange.status == 200 and not exchange.response_body.lstrip().startswith(b"{"):
        found.append(("XSRF token", exchange.response_body.decode("utf-8", "replace").strip()))
    found += [(kind, urllib.parse.unquote(value)) for kind, value in found]
    return [(kind, value) for kind, value in found if value and value.strip() and value not in ("deleted", "null") and set(value) != {"*"}]
