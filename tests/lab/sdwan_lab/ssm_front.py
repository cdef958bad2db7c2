"""SSM On-Prem's TLS front: a real nginx where Debian's nginx is installed, else an emulation of it.

Both serve `GET /` themselves, pass `/backend/` (prefix stripped, as the upstream URL in SSM On-Prem's nginx error log shows)
and `/api/` to the Rails back end, answer nginx's 502 page when the back end refuses connections, and
write nginx's access and error logs under DIR/logs/ssm/.
"""

import asyncio
import ctypes
import os
import shutil
import signal
import socket
import ssl
import time
from pathlib import Path

from aiohttp import web

from .logs import NGINX_ACCESS_FORMAT, NginxLogs
from .faults import LAB_CERT
from .ssm import SPA_PAGE

STATE_CHANGE_TIMEOUT_S = 10
NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
PR_SET_PDEATHSIG = 1


def nginx_page(status, reason):
    return web.Response(text=NGINX_PAGE.format(status=status, reason=reason), status=status,
                        content_type="text/html", headers={"Server": "nginx"})


def find_nginx():
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None)


def upstream_path(path):
    """The path nginx passes to the back end: `/backend` stripped, `/api/...` unchanged."""
    return path[len("/backend"):] if path.startswith("/backend/") else path


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_until(condition, what):
    deadline = time.monotonic() + STATE_CHANGE_TIMEOUT_S
    while not await condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def served_certificate(port):
    """The DER certificate the port presents, or None when nothing listens."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        writer = (await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=context), 2))[1]
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        return None
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    return der


class BuiltinFront:
    """The emulation, run on one of the lab's own listeners."""

    kind = "builtin"

    def __init__(self, listener, backend, ssm, logs_dir):
        self._listener = listener
        self._backend = backend
        self._ssm = ssm
        self._logs = NginxLogs(logs_dir / "access.log", logs_dir / "error.log")
        self.pid = None

    @property
    def port(self):
        return self._listener.port

    async def start(self):
        await self._listener.open(LAB_CERT)

    async def set_state(self, listening, certificate):
        if listening:
            await self._listener.open(certificate)
        else:
            await self._listener.close()

    async def stop(self):
        self._logs.close()

    async def handle(self, request):
        # [I] The front serves the SPA page itself and nginx's 404 page outside /backend/ and /api/.
        path = request.path
        if request.method in ("GET", "HEAD") and path == "/":
            response = web.Response(text=SPA_PAGE, content_type="text/html", headers={"Server": "nginx"})
        elif path.startswith(("/backend/", "/api/")):
            if self._backend.is_open:
                response = await self._ssm.handle(request, path)
                response.headers["Server"] = "nginx"
            else:
                upstream = f"http://127.0.0.1:{self._backend.port}{upstream_path(request.raw_path)}"
                self._logs.log_upstream_refused(request, upstream)
                response = nginx_page(502, "Bad Gateway")
        else:
            response = nginx_page(404, "Not Found")
        self._logs.log_access(request, response.status, body_bytes_sent(response))
        return response


def body_bytes_sent(response):
    """nginx's $body_bytes_sent: the body, plus the chunk framing when sent chunked."""
    size = len(response.body or b"")
    if response.chunked and size:
        return size + len(f"{size:x}\r\n\r\n") + len("0\r\n\r\n")
    return size


class NginxFront:
    """A real nginx, configured under DIR/nginx and run as a child of the lab process."""

    kind = "nginx"

    def __init__(self, executable, lab_dir, pki, backend_port):
        self._executable = executable
        self._dir = lab_dir.nginx
        self._logs_dir = lab_dir.ssm_logs
        self._pki = pki
        self._backend_port = backend_port
        self._process = None
        self.port = free_port()

    @property
    def pid(self):
        return self._process.pid if self._process else None

    async def start(self):
        for path in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self._dir / "temp" / path).mkdir(parents=True, exist_ok=True)
        self._write_config(listening=True, certificate=LAB_CERT)
        with open(self._dir / "nginx.out", "ab") as output:
            self._process = await asyncio.create_subprocess_exec(
                self._executable, "-p", str(self._dir), "-c", str(self._dir / "nginx.conf"),
                "-e", str(self._logs_dir / "error.log"),
                stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=asyncio.subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        await self._wait_for_state(True, LAB_CERT)

    async def set_state(self, listening, certificate):
        """Reload nginx with the new configuration; returns once no old worker can accept a connection."""
        old_workers = self._workers()
        self._write_config(listening, certificate)
        self._process.send_signal(signal.SIGHUP)
        await wait_until(self._gone(old_workers), "the old nginx workers to exit")
        await self._wait_for_state(listening, certificate)

    def _workers(self):
        """PIDs of the master's children (its workers), from /proc."""
        workers = set()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == self._process.pid:
                workers.add(entry.name)
        return workers

    def _gone(self, workers):
        async def condition():
            return not workers & self._workers()
        return condition

    async def _wait_for_state(self, listening, certificate):
        expected = self._pki.leaf_der(certificate) if listening else None

        async def reached():
            if self._process.returncode is not None:
                output = (self._dir / "nginx.out").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"nginx exited with {self._process.returncode}: {output}")
            return await served_certificate(self.port) == expected

        await wait_until(reached, f"nginx {'serving' if listening else 'closing'} port {self.port}")

    async def stop(self):
        if self._process is None or self._process.returncode is not None:
            return
        self._process.send_signal(signal.SIGTERM)  # nginx's fast shutdown: in-flight requests are cut
        try:
            await asyncio.wait_for(self._process.wait(), STATE_CHANGE_TIMEOUT_S)
        except asyncio.TimeoutError:
            self._process.kill()
            await self._process.wait()

    def _write_config(self, listening, certificate):
        files = self._pki.files[certificate]
        proxy_headers = "proxy_set_header Host $http_host; proxy_set_header X-Forwarded-Proto https;"
        server = f"""
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {files.cert};
        ssl_certificate_key {files.key};
        location = / {{ default_type text/html; return 200 '{SPA_PAGE}'; }}
        location / {{ return 404; }}
        location /backend/ {{ proxy_pass http://lic_engine/; {proxy_headers} }}
        location /api/ {{ proxy_pass http://lic_engine; {proxy_headers} }}
    }}""" if listening else ""
        temp = self._dir / "temp"
        config = f"""# Written by sdwan-lab; rewritten and reloaded (SIGHUP) by its faults.
worker_processes 1;
worker_shutdown_timeout 2s;
daemon off;
pid {self._dir / "nginx.pid"};
error_log {self._logs_dir / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    server_tokens off;
    log_format main '{NGINX_ACCESS_FORMAT}';
    access_log {self._logs_dir / "access.log"} main;
    client_body_temp_path {temp / "client_body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    client_body_buffer_size 1m;
    proxy_max_temp_file_size 0;
    proxy_http_version 1.1;
    upstream lic_engine {{ server 127.0.0.1:{self._backend_port}; }}{server}
}}
"""
        (self._dir / "nginx.conf").write_text(config)


def _die_with_parent():
    """Let the kernel end nginx if the lab process dies without stopping it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
