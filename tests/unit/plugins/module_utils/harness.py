"""A scripted HTTPS server on 127.0.0.1 for transport-level tests of the module_utils clients.

Real sockets and real TLS; each test scripts the answers per (method, path) and reads back what
the client really sent.
"""
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: object = b""
    headers: list = field(default_factory=list)
    content_type: str = None
    delay: float = 0.0
    truncate: bool = False  # declare more bytes than are sent, then close
    no_length: bool = False  # no Content-Length: the body ends when the connection closes
    drop: bool = False  # close the connection without any answer

    def encoded(self):
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode(), self.content_type or "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "text/plain"
        return self.body, self.content_type or "application/octet-stream"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    def form(self):
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


class _QuietServer(ThreadingHTTPServer):
    """Clients that reject the server's certificate are what many tests want: no traceback on stderr."""

    def handle_error(self, request, client_address):
        pass


class ScriptedServer:
    """HTTPS server whose answers the test scripts; records every request it receives."""

    def __init__(self, server_cert, host="127.0.0.1"):
        self.routes = {}
        self.requests = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_cert.configure_cert(context)
        self.httpd = _QuietServer((host, 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        self.url = "https://%s:%d" % (host, self.port)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def route(self, method, path, *replies):
        """Answer method+path with the replies in order (the last one repeats); a reply may be a callable(Recorded)."""
        self.routes[(method, path)] = list(replies)

    def calls(self, method=None, path=None):
        return [r for r in self.requests if (method is None or r.method == method) and (path is None or r.path == path)]

    def count(self, method=None, path=None):
        return len(self.calls(method, path))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _answer(self, recorded):
        replies = self.routes.get((recorded.method, recorded.path))
        if not replies:
            return Reply(404, {"error": {"message": "Not found", "details": "%s %s" % (recorded.method, recorded.path),
                                         "code": "HTTP404", "type": "error"}})
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return reply(recorded) if callable(reply) else reply

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                    dict(self.headers.items()), body)
                server.requests.append(recorded)
                reply = server._answer(recorded)
                if reply.delay:
                    threading.Event().wait(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                payload, content_type = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                for name, value in reply.headers:
                    self.send_header(name, value)
                if reply.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(len(payload) + (100 if reply.truncate else 0)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                    self.wfile.flush()
                except OSError:
                    pass
                if reply.truncate:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        return Handler


@dataclass
class Channels:
    """What a run would show the user: warnings and debug lines."""

    warnings: list = field(default_factory=list)
    debug: list = field(default_factory=list)

    def text(self):
        return "\n".join(self.warnings + self.debug)
