"""The SSM On-Prem back end: the Rails application behind the front (docs/dev/interfaces.md section 4).

Every request arrives here with its public path (`/backend/...` or `/api/...`); the Rails log shows the
path as the application sees it behind nginx (`/backend` stripped), as SSM On-Prem's Rails log shows it.
"""

import base64
import binascii
import hmac
import itertools
import json
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone

from aiohttp import web

from .dialects import DEFAULT_DIALECT
from .fault_state import ActiveFaults
from .logs import LogFile, rails_line
from .routing import RequestCounters, Router

RESOURCE_OWNER = "resource_owner"
CLIENT_CREDENTIALS = "client_credentials"
# The OAuth flow each API Toolkit grant type allows.
GRANT_FLOWS = {RESOURCE_OWNER: "password", CLIENT_CREDENTIALS: "client_credentials"}

GRANT_NOT_FOUND = {
    "error": "invalid_client",
    "error_message": "Grant not found. Ensure that the given grant details are correct.",
}
# [I] Doorkeeper's default lifetime; SSM's own is not public.
TOKEN_LIFETIME_S = 7200
# Bounds for what long benchmarks accumulate; the oldest entries go first.
MAX_UI_SESSIONS = 10_000
MAX_ACCESS_TOKENS = 100_000
SPA_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>On-Prem License Workspace</title>'
    '</head><body><div id="app"></div></body></html>'
)

ACCOUNTS = (
    {"id": 1, "name": "SDWAN-LAB", "default": True,
     "virtual_accounts": ({"id": 1, "name": "DEFAULT", "default": True},
                          {"id": 2, "name": "BRANCHES", "default": False})},
    {"id": 2, "name": "LAB-TENANT-B", "default": False,
     "virtual_accounts": ({"id": 3, "name": "DEFAULT", "default": True},)},
)
LICENSES = (
    # license name, tag, quantity, in use, virtual account id
    ("Cisco Catalyst SD-WAN Essentials: Tier 0", "regid.2020-05.com.cisco.DNA_NWStack_T0", 100, 42, 1),
    ("Cisco Catalyst SD-WAN Advantage: Tier 1", "regid.2020-05.com.cisco.DNA_NWStack_T1", 50, 12, 1),
    ("Cisco Catalyst SD-WAN Essentials: Tier 2", "regid.2020-05.com.cisco.DNA_NWStack_T2", 20, 20, 2),
    ("Cisco Catalyst SD-WAN Essentials: Tier 0", "regid.2020-05.com.cisco.DNA_NWStack_T0", 10, 3, 3),
)


class SsmError(Exception):
    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status, error, message):
    return SsmError(status, {"error": error, "error_message": message})


def _message(status, message):
    return SsmError(status, {"error_message": message})


def rails_json(data, status=200, headers=None):
    return web.Response(
        text=json.dumps(data, separators=(",", ":")),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def iso_time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def random_credential():
    # The length of the client id and secret in SSM On-Prem's and vManage's logs of the reported failure (64 characters, URL-safe).
    return secrets.token_urlsafe(48)


def _routes():
    router = Router()
    for method, template, handler, controller in (
        ("GET", "/backend/settings/oauth_adfs", "oauth_adfs", "SettingsController#oauth_adfs"),
        ("POST", "/backend/auth/identity/callback", "login", "SessionsController#create"),
        ("GET", "/backend/sessions/get_user", "get_user", "SessionsController#get_user"),
        ("POST", "/backend/oauth/token", "token", "Doorkeeper::OauthTokensController#create"),
        # [I] The API Toolkit paths are not public; these are the lab's (docs/dev/interfaces.md section 4).
        ("GET", "/backend/accounts", "list_accounts", "AccountsController#index"),
        ("GET", "/backend/api_toolkit/grants", "list_grants", "ApiToolkit::GrantsController#index"),
        ("POST", "/backend/api_toolkit/grants", "create_grant_request", "ApiToolkit::GrantsController#create"),
        ("GET", "/backend/api_toolkit/grants/{id}", "show_grant", "ApiToolkit::GrantsController#show"),
        ("DELETE", "/backend/api_toolkit/grants/{id}", "delete_grant", "ApiToolkit::GrantsController#destroy"),
        ("POST", "/backend/api_toolkit/grants/{id}/regenerate_secret", "regenerate_secret",
         "ApiToolkit::GrantsController#regenerate_secret"),
        # [I] vManage's calls after the token are not public; /api/v1/accounts is the lab's choice.
        ("POST", "/api/v1/accounts", "api_accounts", "Api::V1::AccountsController#index"),
        ("POST", "/api/v1/accounts/{account}/licenses", "api_licenses", "Api::V1::LicensesController#index"),
        ("POST", "/api/v1/accounts/{account}/alerts", "api_alerts", "Api::V1::AlertsController#index"),
    ):
        # [I] (ssm-grant-api absent) an SSM without the grant API: its paths are unknown Rails routes (404).
        available = grant_api_present if template.startswith("/backend/api_toolkit/") else None
        router.add(method, template, handler, label=controller, available=available)
    return router


def grant_api_present(ssm):
    return ssm.dialect["ssm-grant-api"] == "present"


@dataclass
class SsmUser:
    username: str
    password: str
    admin: bool


@dataclass
class Grant:
    id: int
    name: str
    type: str
    client_id: str
    client_secret: str
    description: str
    account_id: int
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def as_json(self, with_secret):
        data = {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "client_id": self.client_id,
            "description": self.description,
            "created_at": iso_time(self.created_at),
            "account_id": self.account_id,
        }
        if with_secret:
            data["client_secret"] = self.client_secret
        return data


@dataclass
class AccessToken:
    grant_id: int
    account_id: int
    username: str | None
    expires_at: float


@dataclass
class AdminSession:
    xsrf_token: str
    username: str | None = None


class SsmOnPrem:
    """State and HTTP handlers of the Rails back end.

    The lab runs on one asyncio loop and no handler awaits between reading and changing this state, so
    parallel requests (e.g. parallel grant creation) see and leave it consistent.
    """

    def __init__(self, users, log_path, dialect=None):
        # The variant of SSM this lab plays where public sources leave a choice (dialects.py).
        self.dialect = dict(dialect or DEFAULT_DIALECT)
        self.users = {user.username: user for user in users}
        self.accounts = ACCOUNTS
        self.grants = {}
        self.grants_deleted_by_fault = {}
        self._grant_ids = itertools.count(1)
        self._tokens = {}
        self._sessions = {}
        self._replaced_passwords = {}
        self.faults = ActiveFaults()
        self.counters = RequestCounters()
        self._log = LogFile(log_path)

    # ----------------------------------------------------------------- state changes

    def create_grant(self, name, grant_type, description="", account_id=None):
        account = self.account(account_id)
        if not isinstance(name, str) or not name.strip():
            raise _message(422, "Name can't be blank")
        # [I] Grant names are unique per local account (a Rails uniqueness validation).
        if any(grant.name == name and grant.account_id == account["id"] for grant in self.grants.values()):
            raise _message(422, "Name has already been taken")
        if grant_type not in GRANT_FLOWS:
            raise _message(422, "Type is not included in the list")
        if description is not None and not isinstance(description, str):
            raise _message(422, "Description is invalid")
        grant = Grant(
            id=next(self._grant_ids),
            name=name,
            type=grant_type,
            client_id=random_credential(),
            client_secret=random_credential(),
            description=description or "",
            account_id=account["id"],
        )
        self.grants[grant.id] = grant
        return grant

    def remove_grant(self, grant_id):
        grant = self.grants.pop(grant_id)
        self._revoke_tokens(grant_id)
        return grant

    def delete_grants_by_fault(self, client_id=None):
        """The grant-deleted fault: remove the grants (all, or the one with `client_id`)."""
        doomed = [grant for grant in self.grants.values() if client_id in (None, grant.client_id)]
        for grant in doomed:
            self.grants_deleted_by_fault[grant.id] = self.remove_grant(grant.id)
        return [grant.name for grant in doomed]

    def restore_grants_deleted_by_fault(self, client_id=None):
        restored = [grant for grant in self.grants_deleted_by_fault.values()
                    if client_id in (None, grant.client_id)]
        for grant in restored:
            self.grants[grant.id] = self.grants_deleted_by_fault.pop(grant.id)
        return [grant.name for grant in restored]

    def replace_password(self, username):
        """The wrong-ssm-password fault on SSM: the user's password changes behind everyone's back."""
        user = self.users[username]
        self._replaced_passwords.setdefault(username, user.password)
        user.password = "changed-" + secrets.token_hex(6)

    def restore_password(self, username):
        if username in self._replaced_passwords:
            self.users[username].password = self._replaced_passwords.pop(username)

    def _revoke_tokens(self, grant_id):
        for value in [value for value, token in self._tokens.items() if token.grant_id == grant_id]:
            del self._tokens[value]

    def account(self, account_id=None):
        """The local account by id or name; the default one when not given."""
        # [I] Local accounts have small integer ids; the API accepts the id or the name.
        for account in self.accounts:
            if account_id in (None, "") and account["default"]:
                return account
            if str(account_id) in (str(account["id"]), account["name"]):
                return account
        raise _message(404, f"Account {account_id} not found")

    def snapshot(self):
        return {
            "grants": [
                {
                    "id": grant.id,
                    "name": grant.name,
                    "client_id": grant.client_id,
                    "client_secret": "********",
                    "type": grant.type,
                    "description": grant.description,
                    "account_id": grant.account_id,
                    "created": iso_time(grant.created_at),
                }
                for grant in self.grants.values()
            ],
            "accounts": [{"id": account["id"], "name": account["name"], "default": account["default"]}
                         for account in self.accounts],
            "faults": self.faults.names(),
            **self.counters.snapshot(),
        }

    # ----------------------------------------------------------------- request handling

    async def handle(self, request, path):
        """Serve one request that reached the back end; `path` is the public path."""
        started = time.monotonic()
        match = ROUTES.match(request.method, path, self)
        self.counters.count(match.key)
        session_id, session, new_session = self._session_of(request, match)
        response = await self.faults.before_request(
            lambda: rails_json({"status": 500, "error": "Internal Server Error"}, 500),
            lambda: rails_json({"error": "rate_limited", "error_message": "Rate limit exceeded"}, 429),
        )
        if response is None:
            response = await self._respond(request, match, session)
        if new_session:
            self._set_session_cookies(response, session_id, session)
        if response.body is not None and request.version >= (1, 1):
            # Rails streams its bodies: nginx's byte count then includes the chunk framing, as SSM On-Prem's
            # access log shows (`403 121` for the 110-byte Grant not found body).
            response.enable_chunked_encoding()
        self._log_request(request, path, match, response.status, started, session.username)
        return response

    async def _respond(self, request, match, session):
        if match.route is None:
            # [I] Rails' JSON error body for an unknown route.
            status, reason = (404, "Not Found") if match.method_allowed else (405, "Method Not Allowed")
            return rails_json({"status": status, "error": reason}, status)
        try:
            if request.method != "GET" and is_ui_route(match.route.template):
                self._check_xsrf(request, session)
            return await getattr(self, match.route.handler)(request, session, **match.params)
        except SsmError as error:
            if error.body is None:
                return web.Response(status=error.status, headers=error.headers)
            return rails_json(error.body, error.status, error.headers)

    def _log_request(self, request, path, match, status, started, uid):
        duration_ms = (time.monotonic() - started) * 1000
        label = match.route.label if match.route else "ActionController::RoutingError#not_found"
        controller_name, action = label.split("#")
        rails_path = path[len("/backend"):] if path.startswith("/backend/") else path
        self._log.write("[active_model_serializers] Rendered ActiveModel::Serializer::Null with Hash (0.09ms)")
        self._log.write(rails_line(request.method, rails_path, controller_name, action, status, duration_ms, uid))

    # ----------------------------------------------------------------- admin session

    def _session_of(self, request, match):
        """The UI session of the request: (id, session, newly created)."""
        if match.route is None or not is_ui_route(match.route.template):
            return None, AdminSession(xsrf_token=""), False
        session_id = request.cookies.get("_lic_engine_session")
        if session_id in self._sessions:
            return session_id, self._sessions[session_id], False
        if len(self._sessions) >= MAX_UI_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
        session_id = secrets.token_hex(16)
        session = AdminSession(xsrf_token=base64.b64encode(secrets.token_bytes(64)).decode())
        self._sessions[session_id] = session
        return session_id, session, True

    @staticmethod
    def _set_session_cookies(response, session_id, session):
        response.set_cookie("XSRF-TOKEN", urllib.parse.quote(session.xsrf_token, safe=""), path="/",
                            secure=True)
        response.set_cookie("_lic_engine_session", session_id, path="/", secure=True, httponly=True)

    def _check_xsrf(self, request, session):
        presented = request.headers.get("X-Xsrf-Token", "")
        # [I] A missing or wrong X-Xsrf-Token: 403 with Rails' CSRF message.
        if "xsrf-mismatch" in self.faults or not hmac.compare_digest(presented, session.xsrf_token):
            raise _error(403, "invalid_authenticity_token", "Can't verify CSRF token authenticity.")

    def _require_admin(self, session):
        # [I] Devise's 401 without a session; 403 for a user without the admin role.
        if session.username is None:
            raise _message(401, "You need to sign in or sign up before continuing.")
        if not self.users[session.username].admin:
            raise _message(403, "You are not authorized to perform this action.")

    async def oauth_adfs(self, request, session):
        return rails_json({})

    async def login(self, request, session):
        params = await request_params(request)
        user = self.users.get(params.get("username"))
        if user is None or not hmac.compare_digest(str(params.get("password", "")), user.password):
            # [I] The answer to a failed login is not public (Metasploit only checks for a 200 with `uid`):
            # 401 (ssm-admin-login-failure 401) or 200 without `uid` (200-error).
            if self.dialect["ssm-admin-login-failure"] == "200-error":
                return rails_json({"error_message": "Invalid username or password"})
            raise _message(401, "Invalid username or password")
        session.username = user.username
        return rails_json({"uid": user.username, "username": user.username,
                           "role": "admin" if user.admin else "user"})

    async def get_user(self, request, session):
        if session.username is None:
            raise _message(401, "You need to sign in or sign up before continuing.")
        return rails_json({"uid": session.username})

    # ----------------------------------------------------------------- OAuth token (Doorkeeper)

    async def token(self, request, session):
        params = {**await request_params(request)}
        grant_type = params.get("grant_type")
        if not grant_type:
            # [I] The error bodies below other than "Grant not found" are Doorkeeper's codes with SSM's
            # `error_message` key; their statuses are the lab's choice.
            raise _error(400, "invalid_request", "Missing required parameter: grant_type.")
        if grant_type not in GRANT_FLOWS.values():
            raise _error(400, "unsupported_grant_type",
                         "The authorization grant type is not supported by the authorization server.")
        client_id, client_secret = basic_credentials(request) or (params.get("client_id"), params.get("client_secret"))
        if not client_id or not client_secret:
            raise _error(400, "invalid_request", "Missing required parameter: client_id or client_secret.")
        grant = next((grant for grant in self.grants.values() if grant.client_id == client_id), None)
        if grant is None or not hmac.compare_digest(str(client_secret), grant.client_secret):
            raise SsmError(403, GRANT_NOT_FOUND)
        if GRANT_FLOWS[grant.type] != grant_type:
            raise _error(403, "unauthorized_client",
                         "The client is not authorized to perform this request using this method.")
        username = None
        if grant_type == "password":
            username, password = params.get("username"), params.get("password")
            if not username or not password:
                raise _error(400, "invalid_request", "Missing required parameter: username or password.")
            user = self.users.get(username)
            if user is None or not hmac.compare_digest(str(password), user.password):
                raise _error(401, "invalid_grant",
                             "The provided authorization grant is invalid, expired, revoked, does not match "
                             "the redirection URI used in the authorization request, or was issued to another "
                             "client.")
        value = secrets.token_urlsafe(32)
        if len(self._tokens) >= MAX_ACCESS_TOKENS:
            del self._tokens[next(iter(self._tokens))]
        self._tokens[value] = AccessToken(grant.id, grant.account_id, username, time.time() + TOKEN_LIFETIME_S)
        return rails_json(
            {"access_token": value, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S,
             "created_at": int(time.time())},
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    # ----------------------------------------------------------------- API Toolkit (admin)

    async def list_accounts(self, request, session):
        self._require_admin(session)
        return rails_json({"accounts": [
            {"id": account["id"], "name": account["name"], "default": account["default"],
             "virtual_accounts": [dict(va) for va in account["virtual_accounts"]]}
            for account in self.accounts
        ]})

    async def list_grants(self, request, session):
        self._require_admin(session)
        account = self.account(request.query.get("account_id"))
        return rails_json({"grants": [grant.as_json(with_secret=False) for grant in self.grants.values()
                                      if grant.account_id == account["id"]]})

    async def create_grant_request(self, request, session):
        self._require_admin(session)
        params = await request_params(request)
        grant = self.create_grant(params.get("name"), params.get("type", RESOURCE_OWNER),
                                  params.get("description"), params.get("account_id"))
        return rails_json(grant.as_json(with_secret=True), 201)

    def _grant(self, grant_id):
        grant = self.grants.get(int(grant_id)) if grant_id.isdigit() else None
        if grant is None:
            raise _message(404, "Grant not found")
        return grant

    async def show_grant(self, request, session, id):
        self._require_admin(session)
        return rails_json(self._grant(id).as_json(with_secret=True))

    async def delete_grant(self, request, session, id):
        self._require_admin(session)
        self.remove_grant(self._grant(id).id)
        return web.Response(status=204)

    async def regenerate_secret(self, request, session, id):
        self._require_admin(session)
        grant = self._grant(id)
        grant.client_secret = random_credential()
        self._revoke_tokens(grant.id)
        return rails_json(grant.as_json(with_secret=True))

    # ----------------------------------------------------------------- resource API (Bearer)

    def _bearer(self, request):
        header = request.headers.get("Authorization", "")
        token = self._tokens.get(header[len("Bearer "):]) if header.startswith("Bearer ") else None
        if token is None or token.expires_at < time.time():
            # [I] Doorkeeper's default answer: empty body, the reason in WWW-Authenticate.
            raise SsmError(401, headers={
                "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                                    'error_description="The access token is invalid"'})
        return token

    def _account_for(self, token, account_id):
        account = self.account(account_id)
        # [I] A client-credentials token sees only its grant's local account.
        if token.username is None and account["id"] != token.account_id:
            raise _error(403, "forbidden", f"The grant has no access to account {account_id}")
        return account

    async def api_accounts(self, request, session):
        token = self._bearer(request)
        visible = [account for account in self.accounts
                   if token.username is not None or account["id"] == token.account_id]
        return rails_json({"accounts": [
            {"id": account["id"], "name": account["name"], "default": account["default"],
             "virtualAccounts": [dict(va) for va in account["virtual_accounts"]]}
            for account in visible
        ]})

    async def api_licenses(self, request, session, account):
        token = self._bearer(request)
        found = self._account_for(token, urllib.parse.unquote(account))
        await request_params(request)
        return rails_json({"licenses": self.license_rows(found)})

    @staticmethod
    def license_rows(account):
        virtual_accounts = {va["id"]: va["name"] for va in account["virtual_accounts"]}
        return [
            {"license": name, "tag": tag, "status": "In Compliance", "quantity": quantity, "inUse": in_use,
             "available": quantity - in_use, "virtualAccountId": va_id,
             "virtualAccount": virtual_accounts[va_id], "licenseType": "PERPETUAL"}
            for name, tag, quantity, in_use, va_id in LICENSES if va_id in virtual_accounts
        ]

    async def api_alerts(self, request, session, account):
        self._account_for(self._bearer(request), urllib.parse.unquote(account))
        return rails_json({"alerts": []})


def is_ui_route(template):
    """The session-based UI calls (cookies, forgery protection), unlike the OAuth and Bearer APIs."""
    return template.startswith("/backend/") and template != "/backend/oauth/token"


def basic_credentials(request):
    # [I] Doorkeeper's default also reads client credentials from HTTP Basic; the lab keeps it.
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        client_id, separator, client_secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not separator:
        return None
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(client_secret)


async def request_params(request):
    """Rails' `params`: query string, form body and JSON body merged."""
    params = dict(request.query)
    if request.content_type == "application/json":
        text = await request.text()
        if text.strip():
            try:
                body = json.loads(text)
            except ValueError:
                raise _error(400, "invalid_request", "The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise _error(400, "invalid_request", "The request body must be a JSON object.")
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        params.update({key: value for key, value in (await request.post()).items() if isinstance(value, str)})
    return params


ROUTES = _routes()
