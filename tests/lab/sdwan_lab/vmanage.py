"""The vManage simulator: one instance per listener (docs/dev/interfaces.md section 4).

JSON types follow what Cisco's SDK catalystwan 0.41.6 (PyPI) parses exactly (strings stay strings). Calls to SSM
are real HTTPS requests through `network.Network`.
"""

import asyncio
import itertools
import json
import secrets
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from aiohttp import web

from .dialects import DEFAULT_DIALECT
from .fault_state import ActiveFaults
from .logs import VManageServerLog
from .network import OutboundError, Vantage, resolve
from .routing import RequestCounters, Router

MASK = "********"
SETTING_MODES = ("online", "offline", "on-prem")
# The settings under /dataservice/settings/configuration/<name> and their factory values.
SETTINGS = {"smartLicensing": {"mode": "online"}, "proxyHttpServer": {"proxy": False}}
AUTH_FAILED = "Failed to authenticate Smart Account credentials."
# [I] The message of a sync that fails after authentication; vManage's wording is not public.
SYNC_FAILED = "Failed to sync licenses."
XSRF_REJECTED = ("SessionTokenFilter: Token provided via HTTP Header does not match the token generated "
                 "by the server.")
# [I] The default of serverSessionTimeout (10-30 minutes) is not public; the lab takes the maximum.
SESSION_IDLE_TIMEOUT_S = 30 * 60
LOGIN_FORM = (
    '<form name="loginForm" method="POST" action="j_security_check">'
    '<input type="text" name="j_username"/><input type="password" name="j_password"/></form>'
)
LOGIN_PAGE = f"<html><head><title>Cisco Catalyst SD-WAN</title></head><body>{LOGIN_FORM}</body></html>"
# [I] How vManage words a refused login at the session cap (docs/dev/interfaces.md section 4).
SESSION_CAP_PAGE = (
    "<html><head><title>Cisco Catalyst SD-WAN</title></head><body>"
    '<div class="errorMessage">Maximum number of concurrent sessions reached for this user. '
    f"Log out of an existing session and try again.</div>{LOGIN_FORM}</body></html>"
)
FINISHED_TASKS_KEPT = 50
SYNC_HISTORY_KEPT = 50
# A bound for what benchmarks that never log out accumulate; the oldest session goes first.
MAX_SESSIONS = 10_000


class VManageError(Exception):
    def __init__(self, status, message, details, code):
        super().__init__(message)
        self.status, self.message, self.details, self.code = status, message, details, code

    def response(self):
        return envelope(self.status, self.message, self.details, self.code)


class LicensingFailure(Exception):
    """A failed authenticate/fetchAccounts/sync: vManage's message and the details behind it."""

    def __init__(self, message, details):
        super().__init__(f"{message}: {details}")
        self.message, self.details = message, details


def vmanage_json(data, status=200):
    return web.Response(text=json.dumps(data, separators=(",", ":")), status=status,
                        content_type="application/json")


def envelope(status, message, details, code):
    return vmanage_json({"error": {"message": message, "details": details, "code": code, "type": "error"}}, status)


def bad_request(details):
    return VManageError(400, "Bad Request", details, "HTTP400")


def epoch_ms(moment=None):
    return int((moment or datetime.now(timezone.utc)).timestamp() * 1000)


def iso_time(moment):
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def collapse(text):
    """One-line form of a response body, as vManage's RestAPIClient logs it."""
    return " ".join(text.split())


@dataclass
class SsmCredentials:
    username: str
    password: str


@dataclass
class SyncRecord:
    time: datetime
    ok: bool
    error: str | None
    accounts: list = field(default_factory=list)

    def as_json(self):
        return {"time": iso_time(self.time), "ok": self.ok, "error": self.error, "accounts": self.accounts}


@dataclass
class Session:
    username: str
    xsrf_token: str
    last_used: float = field(default_factory=time.monotonic)


async def json_object(request):
    text = await request.text()
    try:
        body = json.loads(text)
    except ValueError:
        raise bad_request("Invalid JSON in request body") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


def required_string(body, key):
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise bad_request(f"Missing or invalid field '{key}'")
    return value


class VManage:
    """State and handlers of one vManage. Only this asyncio loop touches it; its licensing
    operations (which await SSM) are serialised by `_licensing_lock`."""

    def __init__(self, *, name, index, plan, username, password, ssm_ports, network, log_path, dialect=None):
        self.name = name
        # The variant of vManage this instance plays where public sources leave a choice (dialects.py).
        self.dialect = dict(dialect or DEFAULT_DIALECT)
        self.system_ip = f"1.1.{index // 256}.{index % 256}"
        self.release = plan.release
        self.scenario = plan.state.name
        self.expected_cause = plan.state.expected_cause
        self.startup_faults = plan.state.startup_faults
        self.username = username
        self.password = password
        self._ssm_ports = ssm_ports
        self._network = network
        self.log = VManageServerLog(log_path, name)
        self.settings = {setting: dict(default) for setting, default in SETTINGS.items()}
        self.credentials = None
        self.credentials_replaced_by_fault = None
        self.syncs = []
        self.licenses = {}
        self.sessions = {}
        self.running_tasks = {}
        self.finished_tasks = {}
        self._task_ids = itertools.count(1)
        self._licensing_lock = asyncio.Lock()
        self.faults = ActiveFaults()
        self.counters = RequestCounters()

    # ----------------------------------------------------------------- request handling

    async def handle(self, request):
        match = ROUTES.match(request.method, request.path, self)
        self.counters.count(match.key)
        # [I] The bodies of 503 and 429 (statuses documented, bodies not).
        response = await self.faults.before_request(
            lambda: envelope(503, "Service Unavailable", "The server is restarting. Try again later.", "HTTP503"),
            lambda: envelope(429, "Too Many Requests", "API rate limit exceeded.", "HTTP429"),
        )
        if response is not None:
            return response
        try:
            return await self._dispatch(request, match)
        except VManageError as error:
            return error.response()

    async def _dispatch(self, request, match):
        public = match.route is not None and match.route.public
        session = self._session_of(request)
        if not public and session is None:
            raise VManageError(401, "Authentication required", "No valid session (JSESSIONID)", "AUTH0001")
        if match.route is None:
            if not match.method_allowed:
                raise VManageError(405, "Method Not Allowed",
                                   f"{request.method} is not supported by {request.path}", "HTTP405")
            raise VManageError(404, "Not found", f"{request.method} {request.path} is not implemented", "HTTP404")
        if not public and request.method != "GET":
            presented = request.headers.get("X-XSRF-TOKEN", "")
            if "xsrf-mismatch" in self.faults or not secrets.compare_digest(presented, session.xsrf_token):
                return web.Response(status=403, text=XSRF_REJECTED, content_type="text/plain")
        if session is not None:
            session.last_used = time.monotonic()
        return await getattr(self, match.route.handler)(request, session, **match.params)

    def _session_of(self, request):
        session = self.sessions.get(request.cookies.get("JSESSIONID"))
        if session and time.monotonic() - session.last_used > SESSION_IDLE_TIMEOUT_S:
            return None
        return session

    # ----------------------------------------------------------------- login / logout

    async def login_page(self, request, session):
        return web.Response(text=LOGIN_PAGE, content_type="text/html")

    async def login(self, request, session):
        form = await request.post()
        username, password = form.get("j_username"), form.get("j_password")
        if username != self.username or not secrets.compare_digest(str(password or ""), self.password):
            return web.Response(text=LOGIN_PAGE, content_type="text/html")
        if "session-cap" in self.faults:
            return web.Response(text=SESSION_CAP_PAGE, content_type="text/html")
        self._expire_idle_sessions()
        if len(self.sessions) >= MAX_SESSIONS:
            del self.sessions[next(iter(self.sessions))]
        session_id = secrets.token_hex(16).upper()  # [I] JBoss-style session id
        self.sessions[session_id] = Session(username, secrets.token_hex(64))
        response = web.Response(body=b"")
        response.set_cookie("JSESSIONID", session_id, path="/", secure=True, httponly=True)
        return response

    def _expire_idle_sessions(self):
        now = time.monotonic()
        for session_id in [key for key, value in self.sessions.items()
                           if now - value.last_used > SESSION_IDLE_TIMEOUT_S]:
            del self.sessions[session_id]

    async def logout(self, request, session):
        # [I] The logout method of the other releases answers 405 (the SDK's choice by release is documented).
        self.sessions.pop(request.cookies.get("JSESSIONID"), None)
        return web.Response(body=b"")

    # ----------------------------------------------------------------- client / device

    async def server_ready(self, request, session):
        return vmanage_json({"isServerReady": True})

    async def xsrf_token(self, request, session):
        if request.query.get("json") == "true":
            return vmanage_json({"token": session.xsrf_token})
        return web.Response(text=session.xsrf_token, content_type="text/plain")

    def _header(self):
        return {"generatedOn": epoch_ms()}

    async def server_info(self, request, session):
        return vmanage_json({"header": self._header(), "data": {
            "server": self.name, "tenancyMode": "SingleTenant", "userMode": "tenant", "viewMode": "tenant",
            "VSessionId": "none", "isSamlUser": False, "isRbacVpnUser": False, "vpns": [],
            "CSRFToken": session.xsrf_token, "providerDomain": "", "tenantId": "default", "capabilities": [],
            "user": session.username, "description": "", "locale": "en_US", "roles": ["netadmin"],
            "externalUser": False, "platformVersion": str(self.release), "generalTemplate": True,
            "disableFullConfigPush": False, "enableServerEvents": False, "cloudx": "false",
            "reverseproxy": "false", "vmanageMode": "",
        }})

    async def about(self, request, session):
        return vmanage_json({"data": {
            "title": "Cisco Catalyst SD-WAN Manager", "version": str(self.release),
            "applicationVersion": f"{self.release}-lab", "applicationServer": self.name,
            "copyright": "Copyright (c) 2013-2024 by Cisco Systems, Inc. All rights reserved.",
            "time": iso_time(datetime.now(timezone.utc)), "timeZone": "UTC", "logo": "/dataservice/client/logo",
        }})

    def _device_rows(self):
        booted = epoch_ms() - 86_400_000
        rows = []
        for personality, model, host, system_ip, version in (
            ("vmanage", "vmanage", self.name, self.system_ip, str(self.release)),
            ("vsmart", "vsmart", f"{self.name}-vsmart", self.system_ip.replace("1.1.", "1.2.", 1), str(self.release)),
            ("vbond", "vedge-cloud", f"{self.name}-vbond", self.system_ip.replace("1.1.", "1.3.", 1), str(self.release)),
            ("vedge", "vedge-C8000V", f"{self.name}-edge1", self.system_ip.replace("1.1.", "10.1.", 1), "17.12.04"),
            ("vedge", "vedge-C8000V", f"{self.name}-edge2", self.system_ip.replace("1.1.", "10.2.", 1), "17.12.04"),
        ):
            rows.append({
                "deviceId": system_ip, "system-ip": system_ip, "host-name": host, "reachability": "reachable",
                "status": "normal", "personality": personality, "device-type": personality,
                "device-model": model, "uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, host)), "version": version,
                "site-id": "100" if personality != "vedge" else "200", "local-system-ip": system_ip,
                "lastupdated": booted, "uptime-date": booted, "latitude": "37.666684",
                "longitude": "-122.777023", "controlConnections": "2", "device-groups": ["No groups"],
                "connectedVManages": [self.system_ip], "state": "green",
                "state_description": "All daemons up", "validity": "valid",
            })
        return rows

    async def devices(self, request, session):
        return vmanage_json({"header": self._header(), "data": self._device_rows()})

    async def system_info(self, request, session):
        wanted = set(request.query.getall("deviceId", []))
        keys = ("deviceId", "uuid", "personality", "host-name", "reachability", "local-system-ip", "device-model",
                "site-id")
        return vmanage_json({"header": self._header(), "data": [
            {key: row[key] for key in keys} for row in self._device_rows() if row["deviceId"] in wanted]})

    async def wan_edge_inventory(self, request, session):
        # [I] Every WAN edge of the lab is in the device list, so none is inventory-only.
        return vmanage_json({"header": self._header(), "data": []})

    async def vmanage_ip(self, request, session):
        return vmanage_json({"header": self._header(), "data": {"ipAddress": self.system_ip}})

    def _known_device(self, device_ip):
        if device_ip not in {row["deviceId"] for row in self._device_rows()}:
            raise bad_request(f"Invalid deviceId {device_ip}")

    async def running_config(self, request, session):
        # [I] The running configuration's content; DNS as Viptela OS `dns <ip> primary` lines in VPN 0.
        device_id = request.query.get("deviceId")
        if not device_id:
            raise bad_request("Missing query parameter deviceId")
        self._known_device(device_id)
        dns = "" if "dns-missing" in self.faults else " dns 127.0.0.53 primary\n dns 127.0.0.54 secondary\n"
        return web.Response(content_type="text/plain", text=(
            f"system\n host-name {self.name}\n system-ip {device_id}\n site-id 100\n"
            f" organization-name sdwan-lab\n vbond 127.0.0.1\n!\n"
            f"vpn 0\n{dns} interface eth0\n  ip address 127.0.0.1/8\n  tunnel-interface\n  no shutdown\n !\n"
            f" ip route 0.0.0.0/0 127.0.0.1\n!\nvpn 512\n interface eth1\n  ip address 127.0.0.1/8\n"
            f"  no shutdown\n !\n!\n"
        ))

    def _vantage(self):
        proxy = self.settings["proxyHttpServer"]
        return Vantage(
            dns_configured="dns-missing" not in self.faults,
            filtered_ports=self._ssm_ports if "ssm-unreachable-from-vmanage" in self.faults else frozenset(),
            proxy=(proxy.get("proxyIp"), int(proxy.get("proxyPort"))) if proxy.get("proxy") else None,
        )

    async def nping(self, request, session, deviceIP):
        self._known_device(deviceIP)
        body = await json_object(request)
        host, vpn = required_string(body, "host"), required_string(body, "vpn")
        if vpn not in ("0", "512"):
            raise bad_request(f"Invalid VPN {vpn}")
        probe_type = body.get("probeType", "icmp")
        try:
            count = min(max(int(body.get("count", "3")), 1), 5)
            port = int(body["destPort"]) if probe_type == "tcp" else None
        except (KeyError, TypeError, ValueError):
            raise bad_request("count and, for probeType tcp, destPort must be numbers") from None
        if probe_type not in ("icmp", "tcp", "udp"):
            raise bad_request(f"Invalid probeType {probe_type}")
        return vmanage_json(await self._run_nping(host, probe_type, port, count))

    async def _run_nping(self, host, probe_type, port, count):
        started = time.monotonic()
        lines = [f"Starting Nping 0.7.80 ( https://nmap.org/nping ) at "
                 f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"]
        vantage = self._vantage()
        try:
            address = resolve(host, vantage)
        except OutboundError:
            lines += [f"Failed to resolve given hostname/IP: {host}.",
                      "Cannot find a valid target. Please make sure the specified hosts are either IP "
                      "addresses in standard notation or hostnames that can be resolved with DNS"]
            return {"rawOutput": lines, "packetsTransmitted": 0, "packetsReceived": 0,
                    "lossPercentage": 100.0, "minRoundTrip": 0.0, "maxRoundTrip": 0.0, "avgRoundTrip": 0.0}
        rtts = []
        for _probe in range(count):
            elapsed = f"{time.monotonic() - started:.4f}s"
            if port is None:
                # [I] ICMP/UDP probes are emulated: loopback answers, anything else is lost.
                lines.append(f"SENT ({elapsed}) {probe_type.upper()} > {host}")
                if address is not None:
                    rtts.append(0.05)
                    lines.append(f"RCVD ({elapsed}) {probe_type.upper()} reply from {address}")
                continue
            lines.append(f"SENT ({elapsed}) Starting TCP Handshake > {host}:{port}")
            outcome, rtt = await self._network.tcp_probe(address, port, vantage)
            if outcome == "connected":
                rtts.append(rtt)
                lines.append(f"RCVD ({time.monotonic() - started:.4f}s) Handshake with {host}:{port} completed")
            elif outcome == "refused":
                lines.append(f"RCVD ({time.monotonic() - started:.4f}s) Possible TCP RST received from "
                             f"{host}:{port} --> Connection refused")
        lost = 100.0 * (count - len(rtts)) / count
        summary = (min(rtts), max(rtts), sum(rtts) / len(rtts)) if rtts else (0.0, 0.0, 0.0)
        lines += [
            f"Max rtt: {summary[1]:.3f}ms | Min rtt: {summary[0]:.3f}ms | Avg rtt: {summary[2]:.3f}ms",
            f"{'TCP connection attempts' if port else 'Raw packets sent'}: {count} | "
            f"{'Successful connections' if port else 'Rcvd'}: {len(rtts)} | Failed: {count - len(rtts)} "
            f"({lost:.2f}%)",
            f"Nping done: 1 IP address pinged in {time.monotonic() - started:.2f} seconds",
        ]
        return {"rawOutput": lines, "packetsTransmitted": count, "packetsReceived": len(rtts),
                "lossPercentage": lost, "minRoundTrip": round(summary[0], 3), "maxRoundTrip": round(summary[1], 3),
                "avgRoundTrip": round(summary[2], 3)}

    async def tasks(self, request, session):
        return vmanage_json({"runningTasks": list(self.running_tasks.values())})

    async def task_status(self, request, session, id):
        # [I] A sync shows as a running task while it waits for SSM, then as a finished one.
        if id in self.running_tasks:
            status, status_id = "In progress", "in_progress"
        elif id in self.finished_tasks:
            status, status_id = self.finished_tasks[id]
        else:
            raise VManageError(404, "Not found", f"No task with id {id}", "HTTP404")
        return vmanage_json({
            "header": self._header(),
            "data": [{"status": status, "statusId": status_id, "action": "sync_licenses",
                      "activity": [f"[{self.name}] {status}"], "currentActivity": status,
                      "uuid": self.system_ip, "host-name": self.name}],
            "summary": {"action": "sync_licenses", "status": "in_progress" if status_id == "in_progress" else "done",
                        "count": {status: 1}, "total": 1},
            "isCancelEnabled": False,
        })

    # ----------------------------------------------------------------- settings

    def masked_setting(self, setting):
        """The setting with its secret masked (the lab's state view, whatever the dialect)."""
        value = dict(self.settings[setting])
        if value.get("ssmClientSecret"):
            value["ssmClientSecret"] = MASK
        return value

    def shown_setting(self, setting):
        """The setting as GET and PUT answers show it: the secret masked or omitted (dialect settings-secret)."""
        if self.dialect["settings-secret"] == "omitted":
            # Documented by analogy: Cisco's collection says the settings GET returns no password content.
            value = dict(self.settings[setting])
            value.pop("ssmClientSecret", None)
            return value
        # [I] vManage does not give the stored secret back; the lab masks it (settings-secret=masked).
        return self.masked_setting(setting)

    def _setting_answer(self, setting):
        shown = self.shown_setting(setting)
        # catalystwan reads `data` as a list or an object (dialect settings-data).
        return vmanage_json({"data": [shown] if self.dialect["settings-data"] == "list" else shown})

    async def get_setting(self, request, session, setting):
        return self._setting_answer(setting)

    async def put_setting(self, request, session, setting):
        body = await json_object(request)
        if setting == "smartLicensing":
            self._validate_smart_licensing(body)
            if body.get("ssmClientSecret") == MASK:
                # [I] Writing back the mask keeps the stored secret.
                body.pop("ssmClientSecret")
            keys = ("mode", "ssmServerUrl", "ssmClientId", "ssmClientSecret")
        else:
            if not isinstance(body.get("proxy"), bool):
                raise bad_request("Field 'proxy' (boolean) is required")
            if body["proxy"] and not (isinstance(body.get("proxyIp"), str) and str(body.get("proxyPort", "")).isdigit()):
                raise bad_request("proxyIp and proxyPort are required when proxy is enabled")
            keys = ("proxy", "proxyIp", "proxyPort")
        self.settings[setting].update({key: body[key] for key in keys if key in body})
        return self._setting_answer(setting)

    def _validate_smart_licensing(self, body):
        for key in ("mode", "ssmServerUrl", "ssmClientId", "ssmClientSecret"):
            if key in body and not isinstance(body[key], str):
                raise bad_request(f"Field '{key}' must be a string")
        if "mode" in body and body["mode"] not in SETTING_MODES:
            raise bad_request(f"Invalid mode '{body['mode']}'; expected one of {', '.join(SETTING_MODES)}")
        if body.get("mode") == "on-prem" and not self.release.supports_onprem:
            # [I] The refusal's envelope and code (the 20.9.1 minimum is documented).
            raise VManageError(400, "Invalid smart licensing mode",
                               f"On-prem mode requires Cisco Catalyst SD-WAN Manager 20.9.1 or later; this is "
                               f"{self.release}.", "SETT0001")

    # ----------------------------------------------------------------- smart licensing

    def user_settings(self, path):
        """The user settings as `path` ("legacy" getUserSettings or "v1" user-settings) shows them."""
        mode = self.settings["smartLicensing"].get("mode", "online")
        spelling = self.dialect["user-settings-mode"]
        if spelling == "by-path":
            # [I] Legacy 'onprem' is the lab's choice; v1 'onPrem' is documented (UserSettingsResponse).
            spelling = "onprem" if path == "legacy" else "onPrem"
        # [I] (user-settings-mode onprem, on-prem) other spellings of the mode on every path.
        settings = {
            "isPresentCredentials": self.credentials is not None,
            "mode": spelling if mode == "on-prem" else mode,
            "multipleEntitlement": False,
            "uname": self.credentials.username if self.credentials else "",
        }
        if self.dialect["user-settings-fields"] == "full":
            last = self.syncs[-1] if self.syncs else None
            # [I] The last-sync fields are the lab's (docs/dev/interfaces.md section 4); no public schema has
            # them. The lab records every sync in its state (`syncs`) whatever the dialect.
            settings.update({
                "lastSyncTime": epoch_ms(last.time) if last else None,
                "lastSyncStatus": ("Success" if last.ok else "Failure") if last else None,
                "lastSyncError": last.error if last else None,
            })
        return settings

    async def user_settings_legacy(self, request, session):
        settings = self.user_settings("legacy")
        # [I] getUserSettings has no public response schema: {"data": [...]} (list) or the bare object.
        return vmanage_json({"data": [settings]} if self.dialect["user-settings-envelope"] == "list" else settings)

    async def user_settings_v1(self, request, session):
        return vmanage_json(self.user_settings("v1"))

    def _log(self, task, level, logger, message):
        self.log.write(task, level, logger, message)

    def _onprem_configuration(self, task, user):
        """The stored settings an on-prem call needs, or the failure vManage reports."""
        settings = self.settings["smartLicensing"]
        mode = settings.get("mode", "online")
        self._log(task, "INFO", "AbstractSettingsManager",
                  f"Found smart licensing mode is {'onprem' if mode == 'on-prem' else mode}")
        if not self.release.supports_onprem:
            problem = f"On-prem mode is not supported in release {self.release}."
        elif mode != "on-prem":
            problem = f"Smart licensing mode is {mode}, not on-prem."
        elif not settings.get("ssmServerUrl"):
            problem = "The on-prem server URL is not configured."
        elif not settings.get("ssmClientId") or not settings.get("ssmClientSecret"):
            problem = "The on-prem Client ID and Client Secret are not configured."
        else:
            return settings
        self._log(task, "ERROR", "SmartLicensingUtil", problem)
        raise LicensingFailure(AUTH_FAILED, f"Failed to authenticate user - '{user}'. {problem}")

    async def _ssm_token(self, task, username, password):
        """The password grant against SSM, exactly as vmanage-server.log and SSM On-Prem's access log show it:
        POST <ssmServerUrl>/backend/oauth/token?grant_type=password&client_id=..&client_secret=..&username=..&password=..

        [I] Every authenticate, fetchAccounts and sync asks SSM for a new token; sync and fetchAccounts use
        the SSM user and password of the last successful authenticate.
        """
        settings = self._onprem_configuration(task, username)
        server_url = settings["ssmServerUrl"].rstrip("/")
        self._log(task, "INFO", "SmartLicensingUtil",
                  f"intializing client Map {{clientUrl={server_url}, client_secret={settings['ssmClientSecret']}, "
                  f"client_id={settings['ssmClientId']}}}")
        self._log(task, "INFO", "SmartLicensingUtil", "Getting onPrem server details")
        vantage = self._vantage()
        proxy_host, proxy_port = vantage.proxy or ("", "")
        self._log(task, "INFO", "RestAPIClient", f"RestAPI proxy host {proxy_host}".rstrip())
        self._log(task, "INFO", "RestAPIClient", f"RestAPI proxy port {proxy_port}".rstrip())
        query = [("grant_type", "password"), ("client_id", settings["ssmClientId"]),
                 ("client_secret", settings["ssmClientSecret"]), ("username", username)]
        uri = "backend/oauth/token?" + urllib.parse.urlencode(query + [("password", password)])
        masked_uri = "backend/oauth/token?" + urllib.parse.urlencode(query) + "&password=*******"
        self._log(task, "INFO", "SmartLicensingUtil", f"URL {uri}")
        self._log(task, "INFO", "SmartLicensingUtil", f"Query Smart Account: {masked_uri}")
        try:
            status, text = await self._network.post(f"{server_url}/{uri}", vantage)
        except OutboundError as error:
            self._log(task, "ERROR", "RestAPIClient",
                      f"Failed to process POST request uri: {masked_uri} . Exception: {error}")
            self._authentication_failed(task, username, str(error))
        if status != 200:
            self._log(task, "ERROR", "RestAPIClient",
                      f"Failed to process POST request uri: {masked_uri} . Code: {status} Message: {collapse(text)}")
            self._authentication_failed(task, username, collapse(text))
        try:
            return json.loads(text)["access_token"]
        except (ValueError, KeyError, TypeError):
            self._authentication_failed(task, username, f"Invalid token response: {collapse(text)[:200]}")

    def _authentication_failed(self, task, username, reason):
        self._log(task, "ERROR", "SmartLicensingUtil", f"Failed to authenticate user - '{username}'.")
        self._log(task, "ERROR", "SmartLicensingIntegrationRestfulResource",
                  "Smart Account User Authentication failed.")
        raise LicensingFailure(AUTH_FAILED, f"Failed to authenticate user - '{username}'. {reason}")

    async def _ssm_api(self, task, token, path):
        settings = self.settings["smartLicensing"]
        url = settings["ssmServerUrl"].rstrip("/") + path
        try:
            status, text = await self._network.post(url, self._vantage(), headers={
                "Authorization": f"Bearer {token}", "Accept": "application/json"}, json_body={"limit": -1})
            if status == 200:
                return json.loads(text)
            reason = f"Code: {status} Message: {collapse(text)}"
        except OutboundError as error:
            reason = str(error)
        except ValueError:
            reason = "Invalid JSON from the on-prem server"
        self._log(task, "ERROR", "RestAPIClient", f"Failed to process POST request uri: {path.lstrip('/')} . {reason}")
        raise LicensingFailure(SYNC_FAILED, reason)

    def _check_mode_token(self, mode, user, also=()):
        if mode == "online":
            # The lab is offline: Cisco's cloud never resolves.
            raise LicensingFailure(AUTH_FAILED, f"Failed to authenticate user - '{user}'. "
                                                "java.net.UnknownHostException: cloudsso.cisco.com: "
                                                "Name or service not known")
        # [I] The on-prem token of authenticate and fetchAccounts (dialect mode-token): no public source.
        if mode not in (self.dialect["mode-token"], *also):
            raise bad_request(f"Invalid mode '{mode}'")

    def _failure_status(self):
        # [I] The status of a failed authenticate/fetchAccounts/sync (dialect authenticate-failure-status):
        # 400, 403 and 500 are documented statuses, the envelope is not; 401 keeps the JSON envelope.
        return int(self.dialect["authenticate-failure-status"])

    def _start_operation(self, what):
        task = self.log.task()
        self._log(task, "INFO", "SmartLicensingIntegrationManager", "user is using in On Prem mode")
        self._log(task, "INFO", "SmartLicensingIntegrationManager", what)
        return task

    async def authenticate(self, request, session):
        body = await json_object(request)
        username, password = required_string(body, "username"), required_string(body, "password")
        try:
            # [I] The on-prem mode token of authenticate; without `mode` the stored mode applies.
            stored_mode = self.settings["smartLicensing"].get("mode", "online")
            mode_token = self.dialect["mode-token"]
            self._check_mode_token(body.get("mode", mode_token if stored_mode == "on-prem" else stored_mode), username)
            async with self._licensing_lock:
                task = self._start_operation("Authenticating on-prem server")
                token = await self._ssm_token(task, username, password)
                self.credentials = SsmCredentials(username, password)
                self.credentials_replaced_by_fault = None
        except LicensingFailure as failure:
            # [I] A failed authenticate: code SLIC0001; the GUI shows "<message>: <details>".
            raise VManageError(self._failure_status(), failure.message, failure.details, "SLIC0001") from None
        return vmanage_json({"accessToken": token})

    def _stored_credentials(self):
        if self.credentials is None:
            raise LicensingFailure(AUTH_FAILED, "Smart Account credentials are not present. Authenticate first.")
        return self.credentials

    async def fetch_accounts(self, request, session):
        mode = request.query.get("mode")
        if not mode:
            raise bad_request("Missing query parameter mode")
        try:
            self._check_mode_token(mode, self.credentials.username if self.credentials else "")
            async with self._licensing_lock:
                credentials = self._stored_credentials()
                task = self._start_operation("Fetching accounts from on-prem server")
                token = await self._ssm_token(task, credentials.username, credentials.password)
                accounts = (await self._ssm_api(task, token, "/api/v1/accounts"))["accounts"]
        except LicensingFailure as failure:
            raise VManageError(self._failure_status(), failure.message, failure.details, "SLIC0001") from None
        shape = self.dialect["fetch-accounts-shape"]
        # [I] (shape accounts) the envelope of the live capture with the field names of Cisco's schema.
        va_key = "vaaccountid" if shape == "capture" else "virtual_account_id"
        listed = [
            {"account_id": str(account["id"]), "name": account["name"], "virtual_accounts": [
                {va_key: str(va["id"]), "name": va["name"], "default": va["default"]}
                for va in account["virtualAccounts"]]}
            for account in accounts
        ]
        if shape == "object":
            # Cisco's schema (SmartLicensingfetchAccountsResp): one object, here the default account's.
            default = next((listed[index] for index, account in enumerate(accounts) if account["default"]),
                           listed[0] if listed else {"account_id": "", "name": "", "virtual_accounts": []})
            return vmanage_json(default)
        return vmanage_json({"accounts": listed})

    async def remove_selection(self, request, session):
        # [I] Clearing the selection drops the licences synced for it.
        await json_object(request)
        self.licenses.clear()
        return vmanage_json({})

    async def sync_legacy(self, request, session):
        await self._sync(request)
        return vmanage_json({})

    async def sync_v1(self, request, session):
        await self._sync(request)
        if self.dialect["sync-answer"] == "text":
            # Documented: 200 "Success" without a schema.
            return web.Response(text="Success", content_type="text/plain")
        # [I] (sync-answer json) the v1 sync's "Success" as a JSON object.
        return vmanage_json({"status": "Success"})

    async def _sync_request(self, request):
        if request.content_type != "multipart/form-data":
            raise bad_request("Expected multipart/form-data with a 'data' part")
        form = await request.post()
        part = form.get("data")
        if part is None:
            raise bad_request("Missing multipart part 'data'")
        # [I] (sync-parts data) only `data` required; Cisco's SyncRequest/LicenseUplodFile has `data` and `name`.
        if self.dialect["sync-parts"] == "data+name" and form.get("name") is None:
            raise bad_request("Missing multipart part 'name'")
        raw = part.file.read() if hasattr(part, "file") else part
        try:
            data = json.loads(raw)
        except ValueError:
            raise bad_request("Invalid JSON in part 'data'") from None
        if not isinstance(data, dict) or not isinstance(data.get("smartAccounts", []), list):
            raise bad_request("Part 'data' must be a JSON object with a list 'smartAccounts'")
        return data

    async def _sync(self, request):
        data = await self._sync_request(request)
        process_id = f"sync_licenses-{uuid.uuid4()}"
        try:
            # Cisco's sync example spells the mode `onprem`; the authenticate token is accepted too.
            self._check_mode_token(data.get("mode"), self.credentials.username if self.credentials else "",
                                   also=("onprem",))
            async with self._licensing_lock:
                self.running_tasks[process_id] = {
                    "processId": process_id, "name": "Sync Licenses", "action": "sync_licenses",
                    "status": "In progress", "startTime": epoch_ms()}
                try:
                    accounts = await self._sync_from_ssm(data.get("smartAccounts") or [])
                finally:
                    del self.running_tasks[process_id]
        except LicensingFailure as failure:
            self._finish_task(process_id, ("Failure", "failure"))
            self._record_sync(SyncRecord(datetime.now(timezone.utc), False, f"{failure.message}: {failure.details}"))
            raise VManageError(self._failure_status(), failure.message, failure.details, "SLIC0001") from None
        self._finish_task(process_id, ("Success", "success"))
        self._record_sync(SyncRecord(datetime.now(timezone.utc), True, None, accounts))

    def _record_sync(self, record):
        self.syncs = [*self.syncs[-(SYNC_HISTORY_KEPT - 1):], record]

    def _finish_task(self, process_id, outcome):
        self.finished_tasks[process_id] = outcome
        while len(self.finished_tasks) > FINISHED_TASKS_KEPT:
            del self.finished_tasks[next(iter(self.finished_tasks))]

    async def _sync_from_ssm(self, selection):
        credentials = self._stored_credentials()
        task = self._start_operation("Syncing licenses with on-prem server")
        token = await self._ssm_token(task, credentials.username, credentials.password)
        accounts = {str(account["id"]): account
                    for account in (await self._ssm_api(task, token, "/api/v1/accounts"))["accounts"]}
        # [I] An empty selection syncs the default virtual account of the default local account.
        selection = selection or [{"account_id": next(key for key, account in accounts.items() if account["default"])}]
        synced = {}
        for chosen in selection:
            account = accounts.get(str(chosen.get("account_id"))) if isinstance(chosen, dict) else None
            if account is None:
                raise LicensingFailure(SYNC_FAILED, f"Smart account {chosen!r} not found on the on-prem server")
            known = {str(va["id"]): va for va in account["virtualAccounts"]}
            wanted = [str(va.get("virtual_account_id")) for va in chosen.get("virtual_accounts") or []] or [
                key for key, va in known.items() if va["default"]]
            missing = [va_id for va_id in wanted if va_id not in known]
            if missing:
                raise LicensingFailure(SYNC_FAILED, f"Virtual account(s) {', '.join(missing)} not found in smart "
                                                    f"account {account['id']} on the on-prem server")
            licenses = await self._ssm_api(task, token, f"/api/v1/accounts/{account['id']}/licenses")
            for va_id in wanted:
                synced[(str(account["id"]), va_id)] = [
                    lic for lic in licenses["licenses"] if str(lic["virtualAccountId"]) == va_id]
        self.licenses = {va_id: rows for (_account_id, va_id), rows in synced.items()}
        self._log(task, "INFO", "SmartLicensingIntegrationManager",
                  f"Synced {sum(map(len, synced.values()))} licenses for virtual accounts {sorted(self.licenses)}")
        return [{"account_id": account_id, "virtual_account_id": va_id, "licenses": len(rows)}
                for (account_id, va_id), rows in synced.items()]

    async def synced_licenses(self, request, session):
        wanted = request.query.get("virtual_account_id")
        billing = request.query.get("licenseType", "prepaid")
        # [I] (license-counts integer) SSM's integer counts passed through; Cisco's LicenseInfo has strings.
        count = str if self.dialect["license-counts"] == "string" else int
        return vmanage_json([
            {"subscription_id": f"onprem-va-{va_id}", "billing_model": billing, "billing_type": "onprem",
             "licenses": [{"display_name": lic["license"], "tag": lic["tag"], "Purchased": lic["quantity"],
                           "Available": count(lic["available"]), "inUse": count(lic["inUse"]),
                           "quantity": count(lic["quantity"])}
                          for lic in licenses]}
            for va_id, licenses in self.licenses.items() if wanted in (None, va_id)
        ])

    async def licensed_device_count(self, request, session):
        # [I] The edges count as licensed once licences are synced.
        total = sum(1 for row in self._device_rows() if row["personality"] == "vedge")
        return vmanage_json({"data": [{"totalDevices": total, "licensedDevice": total if self.licenses else 0}]})

    def _edge_licences(self):
        """(edge row, in licence compliance) per WAN edge.

        [I] An edge is in licence compliance once the vManage holds synced licences, else out of compliance because no
        licence is assigned (Cisco's example reason "Unassigned"; how vManage decides is not public).
        """
        return [(row, bool(self.licenses)) for row in self._device_rows() if row["personality"] == "vedge"]

    async def licensing_devices(self, request, session):
        # GET /v1/licensing/devices (>= 20.15, "Licensing - Next Generation" getMSLADevices): DevicesDetails, no data
        # wrapper (catalystwan-v20-15 v1/licensing/devices/models.py; developer.cisco.com SD-WAN 20.16 get-msla-devices,
        # whose example has "complianceStatus": "Out Of Compliance", "inCompliantReason": "Unassigned").
        return vmanage_json({"devices": [{
            "complianceStatus": "compliant" if licensed else "Out Of Compliance",
            "inCompliantReason": "" if licensed else "Unassigned",
            "configuredSystemIP": row["system-ip"], "deviceModel": row["device-model"], "deviceTags": [],
            "hostName": row["host-name"], "hsecCompatible": "false", "hsecLicenseStatus": "", "hsecStatus": "",
            "licenses": [], "noOfTenantsOnBoarded": 0, "uuid": row["uuid"],
        } for row, licensed in self._edge_licences()]})

    async def msla_devices(self, request, session):
        # GET /msla/devices: {"data": [...]} rows with a licence status and no reason; the status key is licenseStatus in
        # the 20.9-era spec (oshafran/pied-piper-openapi-client-go api/openapi.yaml, example "Subscription Needed") and
        # License_status from 20.15 (catalystwan-v20-15 msla/devices/models.py; developer.cisco.com SD-WAN 20.18 example
        # "subscribed"). [I] "subscribed" for a licensed edge before 20.15 too.
        key = "License_status" if self.release.has_v1_smart_licensing else "licenseStatus"
        name = "hostName" if self.release.has_v1_smart_licensing else "configuredHostname"
        return vmanage_json({"data": [{
            key: "subscribed" if licensed else "Subscription Needed", name: row["host-name"], "UUID": row["uuid"],
            "deviceModel": row["device-model"], "configuredSystemIP": row["system-ip"],
        } for row, licensed in self._edge_licences()]})

    # ----------------------------------------------------------------- lab state

    def snapshot(self):
        return {
            "release": str(self.release),
            "scenario": self.scenario,
            "expected_cause": self.expected_cause,
            "system_ip": self.system_ip,
            "settings": self.masked_setting("smartLicensing"),
            "proxy": self.masked_setting("proxyHttpServer"),
            "credentials": {"present": self.credentials is not None,
                            "username": self.credentials.username if self.credentials else None},
            "syncs": [record.as_json() for record in self.syncs],
            "licenses": {va: len(items) for va, items in self.licenses.items()},
            "sessions": len(self.sessions),
            "faults": self.faults.names(),
            **self.counters.snapshot(),
        }


def has_v1(vmanage):
    return vmanage.release.has_v1_smart_licensing


def _routes():
    router = Router()
    data = "/dataservice"
    router.add("GET", "/", "login_page", public=True)
    router.add("POST", "/j_security_check", "login", public=True)
    for method in ("GET", "POST"):
        router.add(method, "/logout", "logout", public=True,
                   available=lambda vmanage, method=method: vmanage.release.logout_method == method)
    router.add("GET", f"{data}/client/server/ready", "server_ready", public=True)
    router.add("GET", f"{data}/client/token", "xsrf_token")
    router.add("GET", f"{data}/client/server", "server_info")
    router.add("GET", f"{data}/client/about", "about")
    router.add("GET", f"{data}/device", "devices")
    router.add("GET", f"{data}/device/system/info", "system_info")
    router.add("GET", f"{data}/system/device/vedges", "wan_edge_inventory")
    router.add("GET", f"{data}/device/vmanage", "vmanage_ip")
    router.add("GET", f"{data}/device/config", "running_config")
    router.add("POST", f"{data}/device/tools/nping/{{deviceIP}}", "nping")
    router.add("GET", f"{data}/device/action/status/tasks", "tasks")
    router.add("GET", f"{data}/device/action/status/{{id}}", "task_status")
    for setting in SETTINGS:
        router.add("GET", f"{data}/settings/configuration/{setting}", "get_setting", defaults={"setting": setting})
        router.add("PUT", f"{data}/settings/configuration/{setting}", "put_setting", defaults={"setting": setting})
    router.add("GET", f"{data}/smartLicensing/getUserSettings", "user_settings_legacy")
    router.add("GET", f"{data}/v1/smart-licensing/user-settings", "user_settings_v1", available=has_v1)
    router.add("POST", f"{data}/smartLicensing/authenticate", "authenticate")
    router.add("GET", f"{data}/smartLicensing/fetchAccounts", "fetch_accounts")
    router.add("POST", f"{data}/smartLicensing/removeSaVaSelection", "remove_selection")
    router.add("POST", f"{data}/smartLicensing/syncLicenses", "sync_legacy")
    router.add("POST", f"{data}/v1/smart-licensing/sync", "sync_v1", available=has_v1)
    router.add("GET", f"{data}/v1/smart-licensing/license", "synced_licenses", available=has_v1)
    router.add("GET", f"{data}/msla/monitoring/licensedDeviceCount", "licensed_device_count")
    router.add("GET", f"{data}/msla/devices", "msla_devices")
    router.add("GET", f"{data}/v1/licensing/devices", "licensing_devices", available=has_v1)
    return router


ROUTES = _routes()
