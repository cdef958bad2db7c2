"""The lab process: every listener of SSM and the vManage fleet on one aiohttp runner, plus nginx.

Requests are dispatched by the local port they arrived on. A small admin endpoint (port and token in
DIR/control.json) serves `state`, `status` and `fault` to the CLI; it is not part of any product API.
"""

import asyncio
import json
import logging
import os
import resource
import secrets
import signal
import ssl
import time
from datetime import datetime, timezone

import aiohttp
from aiohttp import web

from .dialects import DEFAULT_DIALECT
from .fault_state import ActiveFaults
from .faults import FAULTS, LAB_CERT, SSM, VMANAGE, FaultError, FaultOptions
from .labdir import write_atomically
from .network import Network
from .pki import LabPki
from .provisioning import configure
from .scenarios import ConfigurationError, plan_hosts
from .ssm import GRANT_FLOWS, SsmError, SsmOnPrem, SsmUser, rails_json
from .ssm_front import BuiltinFront, NginxFront, find_nginx
from .vmanage import VManage, envelope

log = logging.getLogger("sdwan_lab")

# Few connections at a time, each closed after its request: TLS buffers of hundreds of idle
# connections would dominate the lab's memory.
SELF_CHECK_CONCURRENCY = 16
MAX_REQUEST_BYTES = 1024 * 1024


class Listener:
    """One 127.0.0.1 port of the lab; it keeps its port across close/open (faults reopen it)."""

    def __init__(self, runner, pki):
        self._runner = runner
        self._pki = pki
        self._site = None
        self.port = 0
        self.certificate = None

    @property
    def is_open(self):
        return self._site is not None

    async def open(self, certificate=None):
        """Listen with TLS and the named certificate, or plain HTTP when None."""
        if self._site is not None:
            if certificate == self.certificate:
                return
            await self.close()
        context = self._pki.server_context(certificate) if certificate else None
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=context, reuse_address=True,
                           backlog=512)
        await site.start()
        self._site, self.port, self.certificate = site, site.port, certificate

    async def close(self):
        """Stop listening and end the connections already accepted, as a stopped server would."""
        if self._site is None:
            return
        await self._site.stop()
        self._site = None
        for handler in self._runner.server.connections:
            if local_port(handler.transport) == self.port:
                handler.close()


def local_port(transport):
    """The lab port a connection came in on (None once the connection is closing)."""
    sockname = transport.get_extra_info("sockname") if transport else None
    return sockname[1] if sockname else None


def generated_password(prefix):
    # '!' and '#' travel URL-encoded (%21, %23) in vManage's query string, as SSM On-Prem's access log shows them.
    return f"{prefix}!{secrets.token_hex(5)}#1"


class Lab:
    def __init__(self, lab_dir, scenario, vmanage_count, release=None, seed=None, front="auto", dialect=None):
        self.dir = lab_dir
        self.scenario = scenario
        self.dialect = dict(dialect or DEFAULT_DIALECT)
        self.seed = seed
        self.plans = plan_hosts(scenario, vmanage_count, release, seed)
        self.nginx_executable = find_nginx() if front in ("auto", "nginx") else None
        if front == "nginx" and self.nginx_executable is None:
            raise ConfigurationError("--front nginx: nginx is not installed")
        self.ssm_admin = SsmUser("admin", generated_password("Admin"), admin=True)
        self.ssm_user = SsmUser("netops", generated_password("Lab"), admin=False)
        self.ssm = SsmOnPrem([self.ssm_admin, self.ssm_user], lab_dir.ssm_logs / "production.log", self.dialect)
        self.vmanages = []
        self.vmanage_listeners = {}
        self._handlers = {}
        self._fault_lock = asyncio.Lock()
        self._control_token = secrets.token_urlsafe(24)
        self._stopped = asyncio.Event()
        self.inventory_overrides = {}
        self.started_at = time.time()
        self.runner = self.network = self.front = None

    @property
    def ssm_url(self):
        return f"https://127.0.0.1:{self.front.port}"

    # ----------------------------------------------------------------- start / stop

    async def start(self):
        _raise_open_file_limit()
        self.pki = LabPki(self.dir)
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # In-flight requests (a slow fault, a sync waiting for SSM) must not hold up `down`.
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self.runner.setup()
        self.network = Network(self.pki.client_context())
        await self.network.start()

        self.backend = await self._listener(lambda request: self.ssm.handle(request, backend_public_path(request)),
                                            _ssm_error, None)
        if self.nginx_executable:
            self.front = NginxFront(self.nginx_executable, self.dir, self.pki, self.backend.port)
        else:
            front_listener = Listener(self.runner, self.pki)
            self.front = BuiltinFront(front_listener, self.backend, self.ssm, self.dir.ssm_logs)
        await self.front.start()
        if isinstance(self.front, BuiltinFront):
            self._handlers[self.front.port] = (self.front.handle, _ssm_error)
        ssm_ports = frozenset({self.front.port, self.backend.port})

        for index, plan in enumerate(self.plans, start=1):
            name = f"vmanage-{index:03d}"
            vmanage = VManage(name=name, index=index, plan=plan, username="admin",
                              password=f"vmanage-{secrets.token_hex(6)}", ssm_ports=ssm_ports,
                              network=self.network, log_path=self.dir.vmanage_log(name), dialect=self.dialect)
            self.vmanage_listeners[name] = await self._listener(vmanage.handle, _vmanage_error, LAB_CERT)
            self.vmanages.append(vmanage)
        self.vmanage_by_name = {vmanage.name: vmanage for vmanage in self.vmanages}
        self.control = await self._listener(self._control, _control_error, None)

        await self._check_every_listener_answers()
        self.inventory_overrides, startup_faults = configure(self)
        for target, fault in startup_faults:
            await self.apply_fault(target, fault, clear=False, raw_options={})
        self._write_files()

    async def _listener(self, handler, internal_error, certificate):
        """A new listener (TLS with `certificate`, or plain HTTP for None) served by `handler`."""
        listener = Listener(self.runner, self.pki)
        await listener.open(certificate)
        self._handlers[listener.port] = (handler, internal_error)
        return listener

    async def _check_every_listener_answers(self):
        """Real requests to every listener, then counters reset so clients start from zero."""
        context = ssl.create_default_context(cafile=str(self.dir.ca_pem))
        limit = asyncio.Semaphore(SELF_CHECK_CONCURRENCY)
        connector = aiohttp.TCPConnector(ssl=context, limit=SELF_CHECK_CONCURRENCY, force_close=True)
        async with aiohttp.ClientSession(connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=30)) as session:
            async def answers(url):
                async with limit, session.get(url) as response:
                    if response.status != 200:
                        raise RuntimeError(f"self-check: {url} answered {response.status}")

            await asyncio.gather(
                answers(f"{self.ssm_url}/"),
                answers(f"http://127.0.0.1:{self.backend.port}/settings/oauth_adfs"),
                *(answers(f"https://127.0.0.1:{listener.port}/dataservice/client/server/ready")
                  for listener in self.vmanage_listeners.values()),
            )
        self.ssm.counters.requests.clear()
        for vmanage in self.vmanages:
            vmanage.counters.requests.clear()

    async def run(self):
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopped.set)
        try:
            await self.start()
            log.info("lab up in %.1f s: %s, %d vManage, front %s", time.time() - self.started_at,
                     self.ssm_url, len(self.vmanages), self.front.kind)
            await self._stopped.wait()
        finally:
            await self.stop()

    async def stop(self):
        self._remove_control_file()
        if self.front:
            await self.front.stop()
        if self.runner:
            await self.runner.cleanup()
        if self.network:
            await self.network.close()

    # ----------------------------------------------------------------- dispatch

    async def _dispatch(self, request):
        port = local_port(request.transport)
        handler, internal_error = self._handlers.get(port, (None, _control_error))
        try:
            if handler is None:
                raise web.HTTPMisdirectedRequest()
            return await handler(request)
        except web.HTTPException as error:
            return internal_error(error.status, error.reason)
        except Exception:
            log.exception("unhandled error serving %s %s on port %s", request.method, request.path, port)
            return internal_error(500, "Internal Server Error")

    # ----------------------------------------------------------------- files for clients

    def info(self):
        ca = str(self.dir.ca_pem)
        return {
            "dir": str(self.dir.root),
            "pid": os.getpid(),
            "scenario": self.scenario,
            "seed": self.seed,
            "dialect": dict(self.dialect),
            "created": datetime.fromtimestamp(self.started_at, timezone.utc).isoformat(timespec="seconds"),
            "ca_cert": ca,
            "inventory": str(self.dir.inventory),
            "ssm": {
                "url": self.ssm_url,
                "admin_username": self.ssm_admin.username,
                "admin_password": self.ssm_admin.password,
                "username": self.ssm_user.username,
                "password": self.ssm_user.password,
                "account": {key: self.ssm.account()[key] for key in ("id", "name")},
                "front": self.front.kind,
                "nginx_pid": self.front.pid,
                "backend_url": f"http://127.0.0.1:{self.backend.port}",
                "logs": {name: str(self.dir.ssm_logs / f"{name}.log") for name in ("access", "error", "production")},
            },
            "vmanage": [
                {
                    "name": vmanage.name,
                    "url": f"https://127.0.0.1:{self.vmanage_listeners[vmanage.name].port}",
                    "host": "127.0.0.1",
                    "port": self.vmanage_listeners[vmanage.name].port,
                    "username": vmanage.username,
                    "password": vmanage.password,
                    "release": str(vmanage.release),
                    "scenario": vmanage.scenario,
                    "expected_cause": vmanage.expected_cause,
                    "system_ip": vmanage.system_ip,
                    "log": str(self.dir.vmanage_log(vmanage.name)),
                    "inventory_overrides": self.inventory_overrides.get(vmanage.name, {}),
                }
                for vmanage in self.vmanages
            ],
        }

    def inventory(self):
        ca = str(self.dir.ca_pem)
        group_vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "vmanage_validate_certs": True,
            "vmanage_ca_path": ca,
            "ssm_url": self.ssm_url,
            "ssm_username": self.ssm_user.username,
            "ssm_password": self.ssm_user.password,
            "ssm_admin_username": self.ssm_admin.username,
            "ssm_admin_password": self.ssm_admin.password,
            "ssm_validate_certs": True,
            "ssm_ca_path": ca,
            "lab_dir": str(self.dir.root),
            "lab_dialect": dict(self.dialect),
        }
        lines = [f"# Written by sdwan-lab for the lab in {self.dir.root} (scenario {self.scenario}).",
                 "all:", "  children:", "    vmanage:", "      vars:"]
        lines += [f"        {key}: {json.dumps(value)}" for key, value in group_vars.items()]
        lines.append("      hosts:")
        for vmanage in self.vmanages:
            host_vars = {
                "vmanage_host": "127.0.0.1",
                "vmanage_port": self.vmanage_listeners[vmanage.name].port,
                "vmanage_username": vmanage.username,
                "vmanage_password": vmanage.password,
                **self.inventory_overrides.get(vmanage.name, {}),
                "lab_release": str(vmanage.release),
                "lab_scenario": vmanage.scenario,
                "lab_expected_cause": vmanage.expected_cause,
            }
            lines.append(f"        {vmanage.name}:")
            lines += [f"          {key}: {json.dumps(value)}" for key, value in host_vars.items()]
        return "\n".join(lines) + "\n"

    def _write_files(self):
        self.dir.write_json(self.dir.lab_json, self.info(), private=True)
        write_atomically(self.dir.inventory, self.inventory(), private=True)
        self.dir.write_json(self.dir.control_json, {
            "pid": os.getpid(), "port": self.control.port, "token": self._control_token,
            "nginx_pid": self.front.pid}, private=True)

    def _remove_control_file(self):
        """Only ours: the directory may have been wiped and reused by another lab meanwhile."""
        try:
            if self.dir.read_json(self.dir.control_json)["pid"] == os.getpid():
                self.dir.control_json.unlink()
        except (FileNotFoundError, ValueError, KeyError):
            pass

    # ----------------------------------------------------------------- state and faults

    def state(self):
        return {
            "scenario": self.scenario,
            "dialect": dict(self.dialect),
            "ssm": {
                **self.ssm.snapshot(),
                "url": self.ssm_url,
                "front": self.front.kind,
                "backend_up": self.backend.is_open,
            },
            "vmanage": {vmanage.name: vmanage.snapshot() for vmanage in self.vmanages},
        }

    def status(self):
        return {"running": True, "pid": os.getpid(), "scenario": self.scenario, "dialect": dict(self.dialect),
                "ssm_url": self.ssm_url,
                "front": self.front.kind, "nginx_pid": self.front.pid, "vmanage": len(self.vmanages),
                "uptime_s": round(time.time() - self.started_at, 1)}

    def _targets(self, target, spec):
        if target == "all":
            found = ([(SSM, None)] if SSM in spec.targets else []) + \
                    ([(VMANAGE, vmanage) for vmanage in self.vmanages] if VMANAGE in spec.targets else [])
        elif target == SSM:
            found = [(SSM, None)]
        elif target in self.vmanage_by_name:
            found = [(VMANAGE, self.vmanage_by_name[target])]
        else:
            raise FaultError(f"unknown target {target!r}: use ssm, all or a vManage name "
                             f"({self.vmanages[0].name} ... {self.vmanages[-1].name})")
        if any(kind not in spec.targets for kind, _vmanage in found):
            raise FaultError(f"fault {spec.name} applies to {' and '.join(sorted(spec.targets))} only")
        return found

    async def apply_fault(self, target, name, clear, raw_options):
        if name not in FAULTS:
            raise FaultError(f"unknown fault {name!r}; choose from {', '.join(FAULTS)}")
        options = FaultOptions.parse(raw_options)
        effects = []
        async with self._fault_lock:
            for kind, vmanage in self._targets(target, FAULTS[name]):
                if kind == SSM:
                    effects.append(await self._apply_to_ssm(name, options, clear))
                else:
                    effects.append(await self._apply_to_vmanage(vmanage, name, options, clear))
        return {"target": target, "fault": name, "active": not clear, "effects": effects}

    async def _apply_to_ssm(self, name, options, clear):
        faults = self.ssm.faults
        _switch(faults, name, options, clear)
        effect = {"target": SSM}
        if name == "grant-deleted":
            changed = self.ssm.restore_grants_deleted_by_fault() if clear else self.ssm.delete_grants_by_fault()
            effect["grants"] = changed
        elif name == "ssm-backend-down":
            await (self.backend.open() if clear else self.backend.close())
        elif name in ("ssm-listener-closed", "wrong-cert"):
            certificate = faults.options("wrong-cert").variant if "wrong-cert" in faults else LAB_CERT
            await self.front.set_state("ssm-listener-closed" not in faults, certificate)
        elif name == "wrong-ssm-password":
            if clear:
                self.ssm.restore_password(self.ssm_user.username)
            else:
                self.ssm.replace_password(self.ssm_user.username)
        return effect

    async def _apply_to_vmanage(self, vmanage, name, options, clear):
        _switch(vmanage.faults, name, options, clear)
        effect = {"target": vmanage.name}
        if name == "grant-deleted":
            client_id = vmanage.settings["smartLicensing"].get("ssmClientId")
            if not client_id:
                effect["grants"] = []
            elif clear:
                effect["grants"] = self.ssm.restore_grants_deleted_by_fault(client_id)
            else:
                effect["grants"] = self.ssm.delete_grants_by_fault(client_id)
        elif name == "wrong-cert":
            await self.vmanage_listeners[vmanage.name].open(LAB_CERT if clear else options.variant)
        elif name == "wrong-ssm-password":
            if clear and vmanage.credentials_replaced_by_fault:
                vmanage.credentials.password = vmanage.credentials_replaced_by_fault
                vmanage.credentials_replaced_by_fault = None
            elif not clear and vmanage.credentials and not vmanage.credentials_replaced_by_fault:
                vmanage.credentials_replaced_by_fault = vmanage.credentials.password
                vmanage.credentials.password = generated_password("Stale")
        return effect

    async def _control(self, request):
        if not secrets.compare_digest(request.headers.get("Authorization", ""), f"Bearer {self._control_token}"):
            return _control_error(401, "missing or wrong control token")
        if request.method == "GET" and request.path == "/status":
            return web.json_response(self.status())
        if request.method == "GET" and request.path == "/state":
            return web.json_response(self.state())
        if request.method == "POST" and request.path == "/fault":
            body = await request.json()
            try:
                return web.json_response(await self.apply_fault(
                    body["target"], body["fault"], bool(body.get("clear")), body.get("options") or {}))
            except FaultError as error:
                return _control_error(400, str(error))
        if request.method == "POST" and request.path == "/grant":
            return self._control_create_grant(await request.json())
        if request.method == "GET" and request.path == "/grants":
            # The operator's view of SSM's grants with their secrets (the control token is in a 0600 file).
            return web.json_response([grant.as_json(with_secret=True) for grant in self.ssm.grants.values()])
        return _control_error(404, f"no control action {request.method} {request.path}")

    def _control_create_grant(self, body):
        """A grant made by hand in SSM's Admin Workspace (`sdwan-lab grant`): not an API request to SSM."""
        if body.get("type") not in GRANT_FLOWS:
            return _control_error(400, f"unknown grant type {body.get('type')!r}; choose from {', '.join(GRANT_FLOWS)}")
        try:
            grant = self.ssm.create_grant(body.get("name"), body["type"], body.get("description") or "")
        except SsmError as error:
            return _control_error(400, (error.body or {}).get("error_message", f"SSM answered {error.status}"))
        return web.json_response({"id": grant.id, "name": grant.name, "client_id": grant.client_id,
                                  "client_secret": grant.client_secret, "type": grant.type})


def _switch(faults: ActiveFaults, name, options, clear):
    if clear:
        faults.clear(name)
    else:
        faults.set(name, options)


def backend_public_path(request):
    """Undo nginx's rewrite: the back end sees `/oauth/token` for the public `/backend/oauth/token`."""
    path = request.path
    return path if path.startswith("/api/") else "/backend" + path


def _vmanage_error(status, reason):
    return envelope(status, reason, reason, f"HTTP{status}")


def _ssm_error(status, reason):
    return rails_json({"status": status, "error": reason}, status)


def _control_error(status, message):
    return web.json_response({"error": message}, status=status)


def _raise_open_file_limit():
    """A fleet needs a descriptor per listener plus its connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
