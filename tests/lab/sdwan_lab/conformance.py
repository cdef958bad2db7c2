"""sdwan-lab conformance: replay a HAR against a temporary lab and compare the answers' structure.

Inputs: the collection's own traces (HAR 1.2, secrets replaced by `__REDACTED__`, multipart bodies in
`postData.params` and/or `postData.text`, entry comments `vmanage`/`ssm`) and HARs saved from a browser
on the vManage GUI or SSM's Admin Workspace (other hosts, static files and websockets are ignored;
base64 bodies are decoded). Each API request is sent to a lab started for the run (scenario healthy,
one vManage) with the lab's own credentials, host names and ports; the recorded answer and the lab's
are compared per endpoint (METHOD + path template): status, JSON keys as dotted paths (list items by
the union of their keys) and JSON types, plus the values that spell a dialect (the user-settings mode).
The dialect the recorded answers show is suggested as a ready-to-use --dialect SPEC.
"""

import argparse
import base64
import binascii
import email.parser
import email.policy
import http.cookiejar
import json
import re
import secrets
import shutil
import ssl
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from .cli import CommandError, control, start_lab, stop_lab
from .dialects import AXES, dialect_spec, parse_dialect
from .labdir import LabDir
from .releases import DEFAULT_RELEASE, Release
from .scenarios import ConfigurationError
from .ssm import ACCOUNTS
from .ssm import ROUTES as SSM_ROUTES
from .vmanage import ROUTES as VMANAGE_ROUTES

MARKER = "__REDACTED__"
EXIT_SAME, EXIT_DIFFERENT, EXIT_BAD_INPUT = 0, 1, 2
HTTP_TIMEOUT_S = 30
ONPREM_SPELLINGS = ("onprem", "onPrem", "on-prem")
LAST_SYNC_FIELDS = ("lastSyncTime", "lastSyncStatus", "lastSyncError")
DOCUMENTED_USER_SETTINGS = {"isPresentCredentials", "mode", "multipleEntitlement", "uname"}
SETTINGS_PREFIX = "/dataservice/settings/configuration/"
SECRET_MASK = "********"

USER_SETTINGS_LEGACY = "GET /dataservice/smartLicensing/getUserSettings"
USER_SETTINGS_V1 = "GET /dataservice/v1/smart-licensing/user-settings"
AUTHENTICATE = "POST /dataservice/smartLicensing/authenticate"
FETCH_ACCOUNTS = "GET /dataservice/smartLicensing/fetchAccounts"
SYNC_LEGACY = "POST /dataservice/smartLicensing/syncLicenses"
SYNC_V1 = "POST /dataservice/v1/smart-licensing/sync"
LICENSE_V1 = "GET /dataservice/v1/smart-licensing/license"
SMART_LICENSING_PUT = "PUT /dataservice/settings/configuration/smartLicensing"
SSM_LOGIN = "POST /backend/auth/identity/callback"
LICENSING_CALLS = (AUTHENTICATE, FETCH_ACCOUNTS, SYNC_LEGACY, SYNC_V1)


class BadInput(Exception):
    """A HAR, release or dialect the command cannot work with (exit 2)."""


# ----------------------------------------------------------------- the HAR

@dataclass
class Entry:
    number: int  # position in the HAR, from 1
    product: str  # "vmanage" or "ssm"
    method: str
    raw_path: str  # as recorded (percent-encoded)
    path: str  # decoded, as the lab's routers see it
    query: list  # [(name, value)]
    request_headers: dict  # lower-case name -> value
    request_mime: str
    request_text: str | None
    params: list | None  # multipart/form fields [{name, value, fileName, contentType}]
    status: int
    response_mime: str
    response_text: str
    endpoint: str = ""
    known: bool = True


@dataclass
class Har:
    path: str
    creator: str
    total: int
    entries: list
    ignored: Counter


def product_of(path):
    if path.startswith("/dataservice/") or path in ("/j_security_check", "/logout"):
        return "vmanage"
    if path.startswith(("/backend/", "/api/v1/")):
        return "ssm"
    return None


def _decoded_content(content):
    text = content.get("text") or ""
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
    return text


def load_har(path):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"cannot read {path}: {error}") from None
    try:
        har = json.loads(text)
    except ValueError as error:
        raise BadInput(f"{path} is not JSON: {error}") from None
    log = har.get("log") if isinstance(har, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise BadInput(f"{path} is not a HAR file: no log.entries")
    creator = log["creator"].get("name", "") if isinstance(log.get("creator"), dict) else ""
    entries, ignored = [], Counter()
    for number, raw in enumerate(log["entries"], start=1):
        request = raw.get("request") if isinstance(raw, dict) else None
        response = raw.get("response") if isinstance(raw, dict) else None
        if not isinstance(request, dict) or not isinstance(response, dict) or not request.get("url") \
                or not request.get("method"):
            raise BadInput(f"{path}: entry {number} has no request method/url or no response")
        url = urllib.parse.urlsplit(request["url"])
        method = str(request["method"]).upper()
        status = response.get("status") or 0
        if url.scheme in ("ws", "wss") or raw.get("_resourceType") == "websocket" or status == 101:
            ignored["websocket"] += 1
            continue
        decoded_path = urllib.parse.unquote(url.path or "/")
        product = product_of(decoded_path)
        if product is None:
            ignored["not an API path of vManage or SSM"] += 1
            continue
        if method == "OPTIONS":
            ignored["CORS preflight"] += 1
            continue
        if not isinstance(status, int) or status <= 0:
            ignored["no recorded answer"] += 1
            continue
        content = response.get("content") if isinstance(response.get("content"), dict) else {}
        response_text = _decoded_content(content)
        if response_text is None:
            ignored["undecodable base64 body"] += 1
            continue
        post = request.get("postData") if isinstance(request.get("postData"), dict) else {}
        headers = {str(header.get("name", "")).lower(): str(header.get("value", ""))
                   for header in request.get("headers") or [] if isinstance(header, dict)}
        params = post.get("params") if isinstance(post.get("params"), list) and post.get("params") else None
        entries.append(Entry(
            number=number, product=product, method=method, raw_path=url.path or "/", path=decoded_path,
            query=urllib.parse.parse_qsl(url.query, keep_blank_values=True), request_headers=headers,
            request_mime=str(post.get("mimeType") or headers.get("content-type", "")),
            request_text=post.get("text"), params=params, status=status,
            response_mime=str(content.get("mimeType") or ""), response_text=response_text,
        ))
    if not entries:
        raise BadInput(f"{path}: no request to a vManage or SSM API path among {len(log['entries'])} entries")
    for entry in entries:
        routes = VMANAGE_ROUTES if entry.product == "vmanage" else SSM_ROUTES
        template = routes.template(entry.method, entry.path)
        entry.known = template is not None
        entry.endpoint = f"{entry.method} {template or entry.path}"
    return Har(str(path), creator, len(log["entries"]), entries, ignored)


def har_release(entries):
    """The release the HAR's GET /dataservice/client/server answer shows (data.platformVersion)."""
    for entry in entries:
        if entry.method == "GET" and entry.path == "/dataservice/client/server":
            kind, body = body_of(entry.response_mime, entry.response_text)
            version = body.get("data", {}).get("platformVersion") if kind == "json" and isinstance(body, dict) \
                and isinstance(body.get("data"), dict) else None
            found = re.search(r"\d+\.\d+(?:\.\d+)*", str(version or ""))
            if found:
                return found.group()
    return None


# ----------------------------------------------------------------- bodies

def body_of(mime, text):
    """(kind, parsed JSON or None): kind is json, text, html or empty."""
    stripped = (text or "").strip()
    if not stripped:
        return "empty", None
    if "json" in mime or stripped[:1] in "{[":
        try:
            return "json", json.loads(stripped)
        except ValueError:
            pass
    if "html" in mime or stripped.startswith("<"):
        return "html", None
    return "text", None


def form_fields(entry):
    """The recorded form or multipart fields: [{name, value, fileName?, contentType?}]."""
    if entry.params:
        return [{"name": str(param.get("name", "")), "value": str(param.get("value", "")),
                 **{key: param[key] for key in ("fileName", "contentType") if param.get(key)}}
                for param in entry.params if isinstance(param, dict)]
    text = entry.request_text or ""
    if entry.request_mime.startswith("multipart/"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {entry.request_mime}\r\n\r\n".encode() + text.encode())
        if not message.is_multipart():
            return []
        fields = []
        for part in message.iter_parts():
            payload = part.get_payload(decode=True) or b""
            field = {"name": part.get_param("name", header="content-disposition") or "",
                     "value": payload.decode("utf-8", "replace")}
            if part.get_filename():
                field["fileName"] = part.get_filename()
            if part.get("Content-Type"):
                field["contentType"] = part.get_content_type()
            fields.append(field)
        return fields
    return [{"name": name, "value": value} for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True)]


def encode_multipart(fields):
    boundary = f"----sdwan-lab-{secrets.token_hex(12)}"
    chunks = []
    for field in fields:
        disposition = f'form-data; name="{field["name"]}"'
        if field.get("fileName"):
            disposition += f'; filename="{field["fileName"]}"'
        chunk = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if field.get("contentType"):
            chunk += f"Content-Type: {field['contentType']}\r\n"
        chunks.append(chunk + "\r\n" + field["value"] + "\r\n")
    chunks.append(f"--{boundary}--\r\n")
    return "".join(chunks).encode(), f"multipart/form-data; boundary={boundary}"


def unredacted(value):
    """Markers left in a body the replay has no lab value for."""
    if isinstance(value, dict):
        return {key: unredacted(child) for key, child in value.items()}
    if isinstance(value, list):
        return [unredacted(child) for child in value]
    if isinstance(value, str) and MARKER in value:
        return value.replace(MARKER, "redacted")
    return value


# ----------------------------------------------------------------- HTTP to the lab

@dataclass
class Answer:
    status: int
    mime: str
    text: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Http:
    """One client per product: cookies are per host, not per port, and both listen on 127.0.0.1."""

    def __init__(self, base_url, ca_file):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        context = ssl.create_default_context(cafile=ca_file)
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context),
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect())

    def cookie(self, name):
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)

    def send(self, method, path, query=(), body=None, headers=None):
        url = self.base_url + path + ("?" + urllib.parse.urlencode(list(query)) if query else "")
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with self._opener.open(request, timeout=HTTP_TIMEOUT_S) as response:
                return Answer(response.status, _mime(response.headers), response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            return Answer(error.code, _mime(error.headers), error.read().decode("utf-8", "replace"))
        except (urllib.error.URLError, OSError) as error:
            return Answer(0, "", str(getattr(error, "reason", error)))


def _mime(headers):
    return (headers.get("Content-Type") or "").split(";")[0].strip() if headers else ""


# ----------------------------------------------------------------- replay

class Replayer:
    """Sends the HAR's requests to the lab with the lab's credentials, ids, hosts and ports."""

    def __init__(self, info, grants):
        self.info = info
        self.host = info["vmanage"][0]
        self.vmanage = Http(self.host["url"], info["ca_cert"])
        self.ssm = Http(info["ssm"]["url"], info["ca_cert"])
        self.xsrf = None
        self.vmanage_session = False
        self.ssm_session = False
        # The lab's grants by type (healthy: vmanage-grant-01 resource owner, monitoring client credentials).
        self.lab_grants = {}
        for grant in grants:
            self.lab_grants.setdefault(grant["type"], grant)
        self.grant_ids = {}  # recorded grant id -> lab grant id
        self.values = {}  # recorded client id/secret -> the lab's
        self.latest_grant = None  # the last grant the replay created, shown or regenerated (with secret)
        self.access_token = None

    # -- vManage

    def _login_vmanage(self, valid=True):
        password = self.host["password"] if valid else f"wrong-{secrets.token_hex(4)}"
        answer = self.vmanage.send("POST", "/j_security_check", body=urllib.parse.urlencode(
            {"j_username": self.host["username"], "j_password": password}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        if answer.status == 200 and not answer.text.strip():
            token = self.vmanage.send("GET", "/dataservice/client/token")
            self.xsrf = token.text.strip() if token.status == 200 else None
            self.vmanage_session = True
        return answer

    def replay(self, entry):
        if entry.product == "vmanage":
            return self._replay_vmanage(entry)
        return self._replay_ssm(entry)

    def _replay_vmanage(self, entry):
        if entry.path == "/j_security_check":
            return self._login_vmanage(valid=entry.status == 200 and not entry.response_text.strip())
        if entry.path == "/logout":
            answer = self.vmanage.send(entry.method, entry.raw_path, headers=self._xsrf_header())
            if answer.status == 200:
                self.vmanage_session = False
            return answer
        if not self.vmanage_session and entry.path != "/dataservice/client/server/ready":
            self._login_vmanage()
        path, query = entry.raw_path, self._query(entry)
        if entry.endpoint == "POST /dataservice/device/tools/nping/{deviceIP}":
            path = path.rsplit("/", 1)[0] + "/" + self.host["system_ip"]
        if entry.endpoint == "GET /dataservice/device/config":
            query = [(name, self.host["system_ip"] if name == "deviceId" else value) for name, value in query]
        if entry.endpoint == LICENSE_V1:
            query = [(name, self._virtual_account("1", value)[1] if name == "virtual_account_id" else value)
                     for name, value in query]
        body, content_type = self._vmanage_body(entry)
        headers = self._xsrf_header()
        if content_type:
            headers["Content-Type"] = content_type
        if entry.request_headers.get("accept"):
            headers["Accept"] = entry.request_headers["accept"]
        return self.vmanage.send(entry.method, path, query, body, headers)

    def _xsrf_header(self):
        return {"X-XSRF-TOKEN": self.xsrf} if self.xsrf else {}

    def _query(self, entry):
        return [(name, "redacted" if MARKER in value else value) for name, value in entry.query]

    def _vmanage_body(self, entry):
        mime = entry.request_mime
        if mime.startswith("multipart/"):
            fields = form_fields(entry)
            if entry.endpoint in (SYNC_LEGACY, SYNC_V1):
                fields = [{**field, "value": self._sync_data(field["value"])} if field["name"] == "data" else field
                          for field in fields]
            return encode_multipart([{**field, "value": unredacted(field["value"])} for field in fields])
        if entry.request_text is None and not entry.params:
            return None, None
        if mime.startswith("application/x-www-form-urlencoded"):
            fields = [(field["name"], unredacted(field["value"])) for field in form_fields(entry)]
            return urllib.parse.urlencode(fields).encode(), mime
        kind, body = body_of(mime, entry.request_text or "")
        if kind != "json":
            return unredacted(entry.request_text or "").encode(), mime or None
        succeeded = 200 <= entry.status < 300
        if entry.endpoint == AUTHENTICATE and isinstance(body, dict):
            ssm = self.info["ssm"]
            body = {**body, "username": ssm["username"],
                    "password": ssm["password"] if succeeded else f"wrong-{secrets.token_hex(4)}"}
        elif entry.endpoint == SMART_LICENSING_PUT and isinstance(body, dict):
            body = self._smart_licensing_setting(body)
        return json.dumps(unredacted(body)).encode(), mime or "application/json"

    def _smart_licensing_setting(self, body):
        """The lab's SSM URL; the client id/secret of a grant the replay made, else the lab's own (keys left out)."""
        body = dict(body)
        if "ssmServerUrl" in body:
            body["ssmServerUrl"] = self.info["ssm"]["url"]
        for key, field in (("ssmClientId", "client_id"), ("ssmClientSecret", "client_secret")):
            value = body.get(key)
            if value is None or value == SECRET_MASK:
                continue
            mapped = self.values.get(value) or (self.latest_grant or {}).get(field)
            if mapped:
                body[key] = mapped
            else:
                del body[key]  # the lab keeps the grant it has: the replay never breaks it
        return body

    def _virtual_account(self, account_id, va_id):
        """A lab (account id, virtual account id) for recorded ones the lab does not have."""
        account = next((a for a in ACCOUNTS if str(a["id"]) == str(account_id)), None) or \
            next(a for a in ACCOUNTS if a["default"])
        ids = [str(va["id"]) for va in account["virtual_accounts"]]
        default = next(str(va["id"]) for va in account["virtual_accounts"] if va["default"])
        return str(account["id"]), str(va_id) if str(va_id) in ids else default

    def _sync_data(self, text):
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if not isinstance(data, dict) or not isinstance(data.get("smartAccounts"), list):
            return text
        accounts = []
        for chosen in data["smartAccounts"]:
            if not isinstance(chosen, dict):
                accounts.append(chosen)
                continue
            account_id = self._virtual_account(chosen.get("account_id"), None)[0]
            vas = [{**va, "virtual_account_id": self._virtual_account(account_id, va.get("virtual_account_id"))[1]}
                   for va in chosen.get("virtual_accounts") or [] if isinstance(va, dict)]
            accounts.append({**chosen, "account_id": account_id, "virtual_accounts": vas})
        return json.dumps({**data, "smartAccounts": accounts})

    # -- SSM

    def _ssm_xsrf(self):
        value = self.ssm.cookie("XSRF-TOKEN")
        return {"X-Xsrf-Token": urllib.parse.unquote(value)} if value else {}

    def _login_ssm(self, valid=True, as_form=False):
        if not self.ssm.cookie("XSRF-TOKEN"):
            self.ssm.send("GET", "/backend/settings/oauth_adfs", [("hostname", "sdwan-lab")])
        ssm = self.info["ssm"]
        credentials = {"username": ssm["admin_username"],
                       "password": ssm["admin_password"] if valid else f"wrong-{secrets.token_hex(4)}"}
        if as_form:
            body, content_type = urllib.parse.urlencode(credentials).encode(), "application/x-www-form-urlencoded"
        else:
            body, content_type = json.dumps(credentials).encode(), "application/json"
        answer = self.ssm.send("POST", "/backend/auth/identity/callback", body=body,
                               headers={**self._ssm_xsrf(), "Content-Type": content_type})
        kind, parsed = body_of(answer.mime, answer.text)
        if answer.status == 200 and kind == "json" and isinstance(parsed, dict) and "uid" in parsed:
            self.ssm_session = True
        return answer

    def _replay_ssm(self, entry):
        if entry.endpoint == SSM_LOGIN:
            kind, recorded = body_of(entry.response_mime, entry.response_text)
            valid = entry.status == 200 and isinstance(recorded, dict) and "uid" in recorded
            return self._login_ssm(valid, as_form=entry.request_mime.startswith("application/x-www-form"))
        if entry.endpoint == "POST /backend/oauth/token":
            return self._token(entry)
        headers = {}
        path = entry.raw_path
        if entry.path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {self._bearer()}"
            found = re.match(r"(/api/v1/accounts/)([^/]+)(/.*)?$", entry.path)
            if found:
                account = urllib.parse.unquote(found.group(2))
                if not any(account in (str(a["id"]), a["name"]) for a in ACCOUNTS):
                    account = next(a["name"] for a in ACCOUNTS if a["default"])
                path = found.group(1) + urllib.parse.quote(account) + (found.group(3) or "")
        elif entry.path != "/backend/settings/oauth_adfs":
            if not self.ssm_session:
                self._login_ssm()
            found = re.match(r"(/backend/api_toolkit/grants/)(\d+)(.*)$", entry.path)
            if found and found.group(2) in self.grant_ids:
                path = found.group(1) + self.grant_ids[found.group(2)] + found.group(3)
        if entry.method != "GET":
            headers.update(self._ssm_xsrf())
        body, content_type = self._ssm_body(entry)
        if content_type:
            headers["Content-Type"] = content_type
        answer = self.ssm.send(entry.method, path, self._query(entry), body, headers)
        if entry.path.startswith("/backend/api_toolkit/grants"):
            self._learn_grant(entry, answer)
        return answer

    def _ssm_body(self, entry):
        if entry.request_text is None and not entry.params:
            return None, None
        mime = entry.request_mime
        if mime.startswith(("application/x-www-form-urlencoded", "multipart/")):
            fields = [(field["name"], unredacted(field["value"])) for field in form_fields(entry)]
            return urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
        kind, body = body_of(mime, entry.request_text or "")
        if kind == "json":
            return json.dumps(unredacted(body)).encode(), "application/json"
        return unredacted(entry.request_text or "").encode(), mime or None

    def _learn_grant(self, entry, answer):
        recorded = body_of(entry.response_mime, entry.response_text)[1]
        lab = body_of(answer.mime, answer.text)[1]
        if not isinstance(recorded, dict) or not isinstance(lab, dict):
            return
        if "id" in recorded and "id" in lab:
            self.grant_ids[str(recorded["id"])] = str(lab["id"])
        for key in ("client_id", "client_secret"):
            if key in recorded and key in lab and recorded[key] != MARKER:
                self.values[recorded[key]] = lab[key]
        if lab.get("client_id") and lab.get("client_secret"):
            self.latest_grant = {"client_id": lab["client_id"], "client_secret": lab["client_secret"],
                                 "type": lab.get("type")}

    def _lab_grant(self, grant_type):
        wanted = "client_credentials" if grant_type == "client_credentials" else "resource_owner"
        if self.latest_grant and self.latest_grant.get("type") in (None, wanted):
            return self.latest_grant
        return self.lab_grants.get(wanted) or {}

    def _token_params(self, params, succeeded):
        grant = self._lab_grant(params.get("grant_type"))
        ssm = self.info["ssm"]
        out = dict(params)
        for key in ("client_id", "client_secret"):
            if key not in out:
                continue
            if succeeded:
                out[key] = self.values.get(out[key]) or grant.get(key, out[key])
            elif MARKER in out[key]:
                out[key] = f"wrong-{secrets.token_hex(4)}"
        if "username" in out:
            out["username"] = ssm["username"]
        if "password" in out:
            out["password"] = ssm["password"] if succeeded else f"wrong-{secrets.token_hex(4)}"
        return out

    def _token(self, entry):
        succeeded = 200 <= entry.status < 300
        query = dict(entry.query)
        headers = {}
        body = None
        basic = entry.request_headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            grant = self._lab_grant(query.get("grant_type"))
            pair = f"{grant.get('client_id', '')}:{grant.get('client_secret', '') if succeeded else 'wrong'}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        query = self._token_params(query, succeeded) if query else {}
        mime = entry.request_mime
        if entry.request_text is not None or entry.params:
            if mime.startswith("application/x-www-form-urlencoded"):
                fields = dict((field["name"], field["value"]) for field in form_fields(entry))
                body = urllib.parse.urlencode(self._token_params(fields, succeeded)).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                kind, parsed = body_of(mime, entry.request_text or "")
                if kind == "json" and isinstance(parsed, dict):
                    body = json.dumps(self._token_params(parsed, succeeded)).encode()
                    headers["Content-Type"] = "application/json"
        answer = self.ssm.send("POST", entry.raw_path, list(query.items()), body, headers)
        kind, parsed = body_of(answer.mime, answer.text)
        if answer.status == 200 and isinstance(parsed, dict) and parsed.get("access_token"):
            self.access_token = parsed["access_token"]
        return answer

    def _bearer(self):
        if self.access_token is None:
            grant = self.lab_grants.get("resource_owner") or {}
            ssm = self.info["ssm"]
            answer = self.ssm.send("POST", "/backend/oauth/token", [
                ("grant_type", "password"), ("client_id", grant.get("client_id", "")),
                ("client_secret", grant.get("client_secret", "")), ("username", ssm["username"]),
                ("password", ssm["password"])])
            parsed = body_of(answer.mime, answer.text)[1]
            self.access_token = parsed.get("access_token", "none") if isinstance(parsed, dict) else "none"
        return self.access_token


# ----------------------------------------------------------------- comparison

def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape(value):
    """{dotted path: set of JSON types}, and the array paths whose lists never had an item."""
    paths, arrays = {}, set()

    def walk(node, path):
        paths.setdefault(path, set()).add(json_type(node))
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            arrays.add(path)
            for item in node:
                walk(item, f"{path}[]")

    walk(value, "")
    return paths, {path for path in arrays if f"{path}[]" not in paths}


def _label(path):
    return path or "(root)"


def _types(types):
    return "|".join(sorted(types))


def _is_under(path, parent):
    if parent == "":
        return path != ""
    return path.startswith(parent + ".") or path.startswith(parent + "[]")


def compare_json(recorded, lab):
    recorded_paths, recorded_empty = shape(recorded)
    lab_paths, lab_empty = shape(lab)
    differences, stop_at = [], list(recorded_empty | lab_empty)
    for path in sorted(set(recorded_paths) | set(lab_paths)):
        if any(_is_under(path, parent) for parent in stop_at):
            continue
        if path not in lab_paths:
            differences.append(f"missing in the lab: {_label(path)} ({_types(recorded_paths[path])})")
        elif path not in recorded_paths:
            differences.append(f"only in the lab: {_label(path)} ({_types(lab_paths[path])})")
        elif recorded_paths[path] != lab_paths[path]:
            differences.append(f"type of {_label(path)}: recorded {_types(recorded_paths[path])}, "
                               f"lab {_types(lab_paths[path])}")
            if recorded_paths[path] & lab_paths[path]:
                continue
        else:
            continue
        stop_at.append(path)
    return differences


def values_at(node, key):
    if isinstance(node, dict):
        return [value for name, child in node.items() for value in
                ([child] if name == key and isinstance(child, str) else []) + values_at(child, key)]
    if isinstance(node, list):
        return [value for child in node for value in values_at(child, key)]
    return []


KIND_LABELS = {"json": "JSON", "text": "text", "html": "HTML", "empty": "an empty body"}


def _lab_detail(kind, body):
    if kind != "json" or not isinstance(body, dict):
        return ""
    error = body.get("error")
    detail = error.get("details") or error.get("message") if isinstance(error, dict) else body.get("error_message")
    return f" ({str(detail)[:160]})" if detail else ""


def compare(entry, answer):
    if answer.status == 0:
        return [f"the lab did not answer: {answer.text}"]
    recorded_kind, recorded = body_of(entry.response_mime, entry.response_text)
    lab_kind, lab = body_of(answer.mime, answer.text)
    if entry.status != answer.status:
        return [f"status: recorded {entry.status}, lab {answer.status}{_lab_detail(lab_kind, lab)}"]
    if recorded_kind != lab_kind:
        return [f"answer: recorded {KIND_LABELS[recorded_kind]} ({entry.response_mime or 'no type'}), "
                f"lab {KIND_LABELS[lab_kind]} ({answer.mime or 'no type'})"]
    if recorded_kind != "json":
        return []
    differences = compare_json(recorded, lab)
    if entry.endpoint in (USER_SETTINGS_LEGACY, USER_SETTINGS_V1):
        # The dialect-relevant value: how the on-prem mode is spelled.
        spelled = {value for value in values_at(recorded, "mode") if value in ONPREM_SPELLINGS}
        lab_spelled = {value for value in values_at(lab, "mode") if value in ONPREM_SPELLINGS}
        if spelled and lab_spelled and spelled != lab_spelled:
            differences.append(f"value of mode: recorded {', '.join(map(repr, sorted(spelled)))}, "
                               f"lab {', '.join(map(repr, sorted(lab_spelled)))}")
    return differences


# ----------------------------------------------------------------- the dialect the recorded answers show

def _request_json(entry):
    kind, body = body_of(entry.request_mime, entry.request_text or "")
    return body if kind == "json" and isinstance(body, dict) else {}


def _licensing_failure(body):
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and (error.get("code") == "SLIC0001" or
                                        str(error.get("message", "")).startswith("Failed to"))


def detect_dialect(entries):
    """{axis: [(value, evidence)]} from the recorded requests and answers alone."""
    seen = defaultdict(list)
    modes = {"legacy": set(), "v1": set()}
    for entry in entries:
        if not entry.known:
            continue
        kind, body = body_of(entry.response_mime, entry.response_text)
        ok = 200 <= entry.status < 300
        where = f"{entry.endpoint} (entry {entry.number})"
        endpoint = entry.endpoint
        if endpoint in (USER_SETTINGS_LEGACY, USER_SETTINGS_V1) and ok and kind == "json":
            settings = body
            if endpoint == USER_SETTINGS_LEGACY and isinstance(body, dict) and "data" in body:
                data = body["data"]
                if isinstance(data, list):
                    seen["user-settings-envelope"].append(("list", f"{where}: {{\"data\": [...]}}"))
                settings = data[0] if isinstance(data, list) and data else data
            elif endpoint == USER_SETTINGS_LEGACY and isinstance(body, dict):
                seen["user-settings-envelope"].append(("object", f"{where}: a bare object"))
            if isinstance(settings, dict) and settings:
                if any(key in settings for key in LAST_SYNC_FIELDS):
                    seen["user-settings-fields"].append(("full", f"{where}: last-sync fields"))
                elif set(settings) <= DOCUMENTED_USER_SETTINGS:
                    seen["user-settings-fields"].append(("documented", f"{where}: only {sorted(settings)}"))
                if settings.get("mode") in ONPREM_SPELLINGS:
                    modes["legacy" if endpoint == USER_SETTINGS_LEGACY else "v1"].add(settings["mode"])
        elif entry.path.startswith(SETTINGS_PREFIX) and entry.method in ("GET", "PUT") and ok and kind == "json" \
                and isinstance(body, dict) and "data" in body:
            data = body["data"]
            if isinstance(data, (list, dict)):
                seen["settings-data"].append(("list" if isinstance(data, list) else "object",
                                              f"{where}: data is {'a list' if isinstance(data, list) else 'an object'}"))
            setting = data[0] if isinstance(data, list) and data else data
            if entry.path.endswith("/smartLicensing") and isinstance(setting, dict):
                if "ssmClientSecret" in setting:
                    seen["settings-secret"].append(("masked", f"{where}: ssmClientSecret present"))
                elif setting.get("ssmClientId"):
                    seen["settings-secret"].append(("omitted", f"{where}: no ssmClientSecret beside ssmClientId"))
        if endpoint in LICENSING_CALLS and entry.status >= 400 and _licensing_failure(body) \
                and str(entry.status) in AXES["authenticate-failure-status"].values:
            seen["authenticate-failure-status"].append((str(entry.status), f"{where}: a failure answered {entry.status}"))
        if endpoint == AUTHENTICATE and ok and _request_json(entry).get("mode") in ONPREM_SPELLINGS:
            mode = _request_json(entry)["mode"]
            seen["mode-token"].append((mode, f"{where}: mode {mode!r} accepted"))
        if endpoint == FETCH_ACCOUNTS and ok:
            mode = dict(entry.query).get("mode")
            if mode in ONPREM_SPELLINGS:
                seen["mode-token"].append((mode, f"{where}: mode {mode!r} accepted"))
            if kind == "json" and isinstance(body, dict):
                if isinstance(body.get("accounts"), list):
                    vas = [va for account in body["accounts"] if isinstance(account, dict)
                           for va in account.get("virtual_accounts") or [] if isinstance(va, dict)]
                    value = "capture" if any("vaaccountid" in va for va in vas) else "accounts"
                    seen["fetch-accounts-shape"].append((value, f"{where}: {{\"accounts\": [...]}}"
                                                         + (" with vaaccountid" if value == "capture" else "")))
                elif "account_id" in body:
                    seen["fetch-accounts-shape"].append(("object", f"{where}: one account object"))
        if endpoint in (SYNC_LEGACY, SYNC_V1):
            names = {field["name"] for field in form_fields(entry)} if entry.request_mime.startswith(
                "multipart/") or entry.params else set()
            if ok and "data" in names:
                value = "data+name" if "name" in names else "data"
                seen["sync-parts"].append((value, f"{where}: parts {sorted(names)} accepted"))
            elif entry.status == 400 and "'name'" in entry.response_text:
                seen["sync-parts"].append(("data+name", f"{where}: refused for want of part 'name'"))
            if endpoint == SYNC_V1 and ok and kind in ("json", "text"):
                seen["sync-answer"].append((kind, f"{where}: answered {KIND_LABELS[kind]}"))
        if endpoint == LICENSE_V1 and ok and kind == "json" and isinstance(body, list):
            counts = {json_type(row.get(key)) for item in body if isinstance(item, dict)
                      for row in item.get("licenses") or [] if isinstance(row, dict)
                      for key in ("Available", "inUse", "quantity") if key in row}
            if counts in ({"string"}, {"integer"}):
                value = counts.pop()
                seen["license-counts"].append((value, f"{where}: Available/inUse/quantity are {value}s"))
        if endpoint == SSM_LOGIN:
            if entry.status == 401:
                seen["ssm-admin-login-failure"].append(("401", f"{where}: a failed login answered 401"))
            elif entry.status == 200 and kind == "json" and isinstance(body, dict) and "uid" not in body \
                    and "error_message" in body:
                seen["ssm-admin-login-failure"].append(("200-error", f"{where}: 200 with error_message, no uid"))
        if entry.path.startswith("/backend/api_toolkit/"):
            if ok:
                seen["ssm-grant-api"].append(("present", f"{where}: answered {entry.status}"))
            elif entry.status == 404:
                seen["ssm-grant-api"].append(("absent", f"{where}: answered 404"))
    if modes["legacy"] == {"onprem"} and modes["v1"] == {"onPrem"}:
        seen["user-settings-mode"].append(("by-path", "user settings' mode: legacy 'onprem', v1 'onPrem'"))
    else:
        for path, spellings in modes.items():
            for spelling in sorted(spellings):
                seen["user-settings-mode"].append((spelling, f"{path} user settings' mode {spelling!r}"))
    return seen


def suggest(seen):
    suggested, evidence, conflicts = {}, {}, {}
    for axis in AXES:
        if axis not in seen:
            continue
        counts = Counter(pair[0] for pair in seen[axis])
        suggested[axis] = counts.most_common(1)[0][0]
        evidence[axis] = sorted({pair[1] for pair in seen[axis]})
        if len(counts) > 1:
            conflicts[axis] = sorted(counts)
    spec = ",".join(f"{axis}={value}" for axis, value in suggested.items())
    return suggested, spec, evidence, conflicts


# ----------------------------------------------------------------- the command

def conform(har, release, dialect):
    directory = Path(tempfile.mkdtemp(prefix="sdwan-lab-conformance-"))
    lab_dir = LabDir(directory)
    endpoints, unknown = {}, {}
    try:
        start_lab(argparse.Namespace(dir=str(directory), scenario="healthy", vmanage=1, release=release, seed=None,
                                     front="builtin", dialect=dialect_spec(dialect), timeout=120), lab_dir)
        info = lab_dir.read_json(lab_dir.lab_json)
        replayer = Replayer(info, control(lab_dir, "GET", "/grants"))
        for entry in har.entries:
            if not entry.known:
                unknown.setdefault(entry.endpoint, 0)
                unknown[entry.endpoint] += 1
                continue
            found = endpoints.setdefault(entry.endpoint, {"endpoint": entry.endpoint, "requests": 0,
                                                          "entries": [], "differences": []})
            found["requests"] += 1
            found["entries"].append(entry.number)
            for difference in compare(entry, replayer.replay(entry)):
                if difference not in found["differences"]:
                    found["differences"].append(difference)
    finally:
        stop_lab(lab_dir)
        shutil.rmtree(directory, ignore_errors=True)
    suggested, spec, evidence, conflicts = suggest(detect_dialect(har.entries))
    return {
        "har": har.path,
        "creator": har.creator,
        "release": release,
        "dialect": dialect,
        "dialect_spec": dialect_spec(dialect),
        "entries": {"total": har.total, "api": len(har.entries),
                    "replayed": sum(item["requests"] for item in endpoints.values()),
                    "ignored": dict(har.ignored)},
        "endpoints": list(endpoints.values()),
        "unknown_endpoints": [{"endpoint": name, "requests": count} for name, count in unknown.items()],
        "differences": sum(len(item["differences"]) for item in endpoints.values()),
        "suggested_dialect": suggested,
        "suggested_spec": spec,
        "evidence": evidence,
        "conflicts": conflicts,
        "not_shown": [axis for axis in AXES if axis not in suggested],
    }


def render(report):
    entries = report["entries"]
    ignored = ", ".join(f"{count} {reason}" for reason, count in entries["ignored"].items())
    lines = [f"HAR {report['har']}" + (f" (creator {report['creator']})" if report["creator"] else "")
             + f": {entries['total']} entries, {entries['api']} API requests, {entries['replayed']} replayed"
             + (f"; ignored: {ignored}" if ignored else ""),
             f"lab: scenario healthy, release {report['release']}, dialect "
             f"{report['dialect_spec'] or 'default'}", ""]
    for item in report["endpoints"]:
        head = f"{item['endpoint']} ({item['requests']} request{'s' if item['requests'] != 1 else ''})"
        lines.append(f"{head}: {'differs' if item['differences'] else 'same'}")
        lines += [f"  - {difference}" for difference in item["differences"]]
    for item in report["unknown_endpoints"]:
        lines.append(f"{item['endpoint']} ({item['requests']}): unknown to the lab, not compared")
    lines.append("")
    if report["suggested_dialect"]:
        lines.append(f"suggested dialect (what the recorded answers show): --dialect {report['suggested_spec']}")
        for axis, value in report["suggested_dialect"].items():
            conflict = f" [conflicting: {', '.join(report['conflicts'][axis])}]" if axis in report["conflicts"] else ""
            lines.append(f"  {axis}={value}{conflict}: {'; '.join(report['evidence'][axis])}")
    else:
        lines.append("suggested dialect: the recorded answers show no dialect axis")
    if report["not_shown"]:
        lines.append(f"  not shown by this HAR: {', '.join(report['not_shown'])}")
    changed = sum(1 for item in report["endpoints"] if item["differences"])
    lines.append(f"{report['differences']} difference(s) in {changed} of {len(report['endpoints'])} endpoint(s)")
    return "\n".join(lines)


def run_conformance(args):
    try:
        dialect = parse_dialect(args.dialect)
        har = load_har(args.har)
        release = args.release or har_release(har.entries) or DEFAULT_RELEASE
        try:
            Release(release)
        except ValueError as error:
            raise BadInput(str(error)) from None
        report = conform(har, release, dialect)
    except (BadInput, ConfigurationError, CommandError) as error:
        print(f"sdwan-lab conformance: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(report, indent=2) if args.json else render(report))
    return EXIT_DIFFERENT if report["differences"] else EXIT_SAME
