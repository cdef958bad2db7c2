"""SsmClient over real HTTPS against a scripted SSM On-Prem: token, admin session, grants, licences."""
import json
import secrets
from urllib.parse import quote, unquote

import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.ssm import GRANT_API, SsmClient
from ansible_collections.sdwan_ops.license_sync.tests.unit.plugins.module_utils.harness import Reply

ADMIN = "admin"
ADMIN_PASSWORD = "fake-admin-Pa55!"
USER_PASSWORD = "fake-user-Pa55?"
CLIENT_ID = "fake-client-id-0001"
CLIENT_SECRET = "fake-client-secret-0001"
ACCESS_TOKEN = "fake-access-token-abcdef"
GRANT_NOT_FOUND = {"error": "invalid_client", "error_message": "Grant not found. Ensure that the given grant details are correct."}
NGINX_502 = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>" \
            "<hr><center>nginx</center></body></html>"
GRANT = {"id": 7, "name": "vmanage-prod", "type": "resource_owner", "client_id": CLIENT_ID, "description": "vManage",
         "created_at": "2026-01-01T00:00:00Z", "account_id": "1"}


def cookies_of(recorded):
    return dict(part.strip().split("=", 1) for part in recorded.headers.get("Cookie", "").split(";") if "=" in part)


class FakeSsmAdmin:
    """The Admin Workspace session of SSM On-Prem: bootstrap cookies, XSRF double submit, rotation."""

    def __init__(self, server):
        self.server = server
        self.session = secrets.token_hex(16)
        self.xsrf = None
        self.logged_in = False
        server.route("GET", "/backend/settings/oauth_adfs", self.bootstrap)
        server.route("POST", "/backend/auth/identity/callback", self.login)

    def rotate(self):
        self.xsrf = secrets.token_urlsafe(24) + "+/=="
        return [("Set-Cookie", "XSRF-TOKEN=%s; Path=/" % quote(self.xsrf, safe="")),
                ("Set-Cookie", "_lic_engine_session=%s; Path=/; HttpOnly" % self.session)]

    def bootstrap(self, recorded):
        return Reply(200, {}, headers=self.rotate())

    def xsrf_ok(self, recorded):
        return cookies_of(recorded).get("_lic_engine_session") == self.session and recorded.headers.get("X-Xsrf-Token") == self.xsrf

    def login(self, recorded):
        if not self.xsrf_ok(recorded):
            return Reply(403, {"error_message": "Invalid authenticity token"})
        body = recorded.json()
        if body != {"username": ADMIN, "password": ADMIN_PASSWORD}:
            return Reply(401, {"error_message": "Invalid username or password: %s" % body.get("password")})
        self.logged_in = True
        return Reply(200, {"uid": ADMIN}, headers=self.rotate())

    def api(self, method, path, reply):
        def answer(recorded):
            if not self.logged_in or (method != "GET" and not self.xsrf_ok(recorded)):
                return Reply(401, {"error_message": "Not logged in"})
            return reply(recorded) if callable(reply) else reply
        self.server.route(method, path, answer)


@pytest.fixture
def ssm(make_http):
    return SsmClient(make_http("ssm"))


@pytest.fixture
def admin(server):
    return FakeSsmAdmin(server)


def raises(cause, call, *args, **kwargs):
    with pytest.raises(LicenseSyncError) as info:
        call(*args, **kwargs)
    assert info.value.cause == cause, str(info.value)
    return info.value


# --- token -------------------------------------------------------------------------------------

def test_token_request_sends_credentials_in_the_form_body_never_the_url(server, ssm, channels):
    server.route("POST", "/backend/oauth/token", Reply(200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer",
                                                             "expires_in": 7200, "created_at": 1700000000}))
    token = ssm.request_token(CLIENT_ID, CLIENT_SECRET, username="admin", password=USER_PASSWORD)
    assert token["access_token"] == ACCESS_TOKEN and token["expires_in"] == 7200
    request, = server.requests
    assert request.query == {}
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                              "username": "admin", "password": USER_PASSWORD}
    for secret in (CLIENT_SECRET, USER_PASSWORD, ACCESS_TOKEN):
        assert secret not in channels.text()
        assert secret not in ssm.http.redactor.text("x %s y" % secret)


def test_client_credentials_token_sends_no_user(server, ssm):
    server.route("POST", "/backend/oauth/token", Reply(200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer"}))
    ssm.request_token(CLIENT_ID, CLIENT_SECRET, grant_type="client_credentials")
    assert server.requests[0].form() == {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


@pytest.mark.parametrize("reply, cause, words", [
    (Reply(403, GRANT_NOT_FOUND), "GRANT_NOT_FOUND", "Grant not found. Ensure that the given grant details are correct."),
    (Reply(401, {"error": "invalid_grant", "error_message": "Invalid user credentials"}), "SSM_BAD_USER_CREDENTIALS",
     "Invalid user credentials"),
    (Reply(403, {"error": "unauthorized_client", "error_message": "Grant type not allowed"}), "SSM_GRANT_TYPE_MISMATCH",
     "Grant type not allowed"),
    (Reply(400, {"error": "unsupported_grant_type", "error_message": "Unsupported grant type"}), "SSM_BAD_REQUEST",
     "Unsupported grant type"),
    (Reply(400, "bad", content_type="text/plain"), "SSM_BAD_REQUEST", "HTTP 400"),
    (Reply(401, b""), "HTTP_ERROR", "HTTP 401"),
    (Reply(502, NGINX_502, content_type="text/html"), "SSM_BACKEND_DOWN", "nginx front"),
])
def test_token_errors_map_to_causes_with_ssm_words(server, ssm, channels, sleeps, reply, cause, words):
    server.route("POST", "/backend/oauth/token", reply)
    error = raises(cause, ssm.request_token, CLIENT_ID, CLIENT_SECRET, username="admin", password=USER_PASSWORD)
    assert words in error.message
    assert CLIENT_ID in error.message or cause == "SSM_BACKEND_DOWN"
    assert server.count() == (4 if reply.status == 502 else 1)  # a token request is safe to repeat: 502 is retried
    for secret in (CLIENT_SECRET, USER_PASSWORD):
        assert secret not in error.message + json.dumps(error.to_result()) + channels.text()


def test_password_grant_without_user_is_invalid_input_before_any_request(server, ssm):
    error = raises("INVALID_INPUT", ssm.request_token, CLIENT_ID, CLIENT_SECRET)
    assert "ssm_username and ssm_password" in error.message
    assert server.count() == 0


def test_token_answer_without_access_token_is_bad_response(server, ssm):
    server.route("POST", "/backend/oauth/token", Reply(200, {"token_type": "Bearer"}))
    raises("BAD_RESPONSE", ssm.request_token, CLIENT_ID, CLIENT_SECRET, grant_type="client_credentials")


# --- backend probe -----------------------------------------------------------------------------

def test_backend_alive(server, ssm, admin):
    assert ssm.backend_alive() is True
    assert server.requests[0].query == {"hostname": ["127.0.0.1"]}
    assert ssm.http.session.headers["X-Xsrf-Token"] == admin.xsrf


def test_backend_down_is_false_at_once(server, ssm, sleeps):
    server.route("GET", "/backend/settings/oauth_adfs", Reply(502, NGINX_502, content_type="text/html"))
    assert ssm.backend_alive() is False
    assert server.count() == 1 and sleeps == []


def test_backend_probe_retries_a_transient_500(server, ssm, admin, sleeps):
    server.route("GET", "/backend/settings/oauth_adfs", Reply(500, {"status": 500, "error": "Internal Server Error"}), admin.bootstrap)
    assert ssm.backend_alive() is True
    assert server.count() == 2 and sleeps == [1.0]


def test_unreachable_ssm_is_not_backend_down(make_http, closed_port, sleeps):
    ssm = SsmClient(make_http("ssm", base_url="https://127.0.0.1:%d" % closed_port))
    raises("SSM_UNREACHABLE", ssm.backend_alive)


# --- admin session and grants ------------------------------------------------------------------

def test_admin_login_echoes_the_decoded_xsrf_cookie_and_follows_rotation(server, ssm, admin):
    first_token = None

    def create(recorded):
        assert recorded.headers["X-Xsrf-Token"] == admin.xsrf
        return Reply(201, dict(GRANT, client_secret=CLIENT_SECRET), headers=admin.rotate())

    admin.api("POST", GRANT_API["create"][1], create)
    ssm.admin_login(ADMIN, ADMIN_PASSWORD)
    callback = server.calls("POST", "/backend/auth/identity/callback")[0]
    first_token = unquote(cookies_of(callback)["XSRF-TOKEN"])
    assert callback.headers["X-Xsrf-Token"] == first_token and "%" not in first_token
    ssm.grants.create("vmanage-prod", "resource_owner")
    ssm.grants.create("vmanage-prod", "resource_owner")  # after the create answer rotated the cookie again
    assert [r.headers["X-Xsrf-Token"] for r in server.calls("POST", GRANT_API["create"][1])][0] != first_token


def test_bad_admin_login(server, ssm, admin, channels):
    error = raises("SSM_ADMIN_AUTH_FAILED", ssm.admin_login, ADMIN, "wrong-" + ADMIN_PASSWORD)
    assert "refused the Admin Workspace login of user 'admin'" in error.message
    assert "Invalid username or password" in error.message
    assert ADMIN_PASSWORD not in error.message + channels.text()


@pytest.mark.parametrize("reply, cause", [
    (Reply(200, {"error_message": "Invalid username or password"}), "SSM_ADMIN_AUTH_FAILED"),
    (Reply(200, {"error": "unauthorized", "error_message": "Invalid username or password"}), "SSM_ADMIN_AUTH_FAILED"),
    (Reply(200, {"status": "ok"}), "BAD_RESPONSE"),
    (Reply(200, b""), "BAD_RESPONSE"),
])
def test_an_admin_login_answered_200_is_a_session_only_with_its_uid(server, ssm, admin, reply, cause):
    """Success carries uid (rapid7/metasploit-framework cisco_ssm_onprem_account.rb); neighbours answer 200 + error_message."""
    server.route("POST", "/backend/auth/identity/callback", reply)
    error = raises(cause, ssm.admin_login, ADMIN, ADMIN_PASSWORD)
    assert "Admin Workspace login of user 'admin'" in error.message


def test_admin_login_is_retried_through_ssm_transient_failures(server, ssm, admin, sleeps, channels):
    rate_limited = Reply(429, {"error": "rate_limited", "error_message": "Rate limit exceeded"}, headers=[("Retry-After", "1")])
    server_error = Reply(500, {"status": 500, "error": "Internal Server Error"})
    server.route("GET", "/backend/settings/oauth_adfs", rate_limited, admin.bootstrap)
    server.route("POST", "/backend/auth/identity/callback", server_error, admin.login)
    ssm.admin_login(ADMIN, ADMIN_PASSWORD)
    assert admin.logged_in and sleeps == [1.0, 1.0]
    assert len([w for w in channels.warnings if "retry 1 of 3" in w]) == 2


def test_grant_create_is_retried_on_429_but_not_on_500(server, ssm, admin, sleeps):
    created = Reply(201, dict(GRANT, client_secret=CLIENT_SECRET))
    rate_limited = Reply(429, {"error": "rate_limited", "error_message": "Rate limit exceeded"}, headers=[("Retry-After", "1")])
    answers = [rate_limited, created]
    admin.api("POST", GRANT_API["create"][1], lambda recorded: answers.pop(0))
    ssm.admin_login(ADMIN, ADMIN_PASSWORD)
    assert ssm.grants.create("vmanage-prod", "resource_owner")["client_secret"] == CLIENT_SECRET
    assert server.count("POST", GRANT_API["create"][1]) == 2 and sleeps == [1.0]
    admin.api("POST", GRANT_API["create"][1], Reply(500, {"status": 500, "error": "Internal Server Error"}))
    raises("HTTP_ERROR", ssm.grants.create, "vmanage-prod", "resource_owner")
    assert server.count("POST", GRANT_API["create"][1]) == 3


def test_xsrf_refusal_is_its_own_cause_not_a_password_problem(server, ssm, admin):
    csrf = Reply(403, {"error": "invalid_authenticity_token", "error_message": "Can't verify CSRF token authenticity."})
    admin.api("POST", GRANT_API["create"][1], csrf)
    ssm.admin_login(ADMIN, ADMIN_PASSWORD)
    error = raises("SSM_XSRF_REJECTED", ssm.grants.create, "vmanage-prod", "resource_owner")
    assert "did not accept the XSRF token" in error.message and "Can't verify CSRF token authenticity" in error.message
    assert "password" not in error.remedy.replace("The password is not", "") and "X-Xsrf-Token" in error.remedy
    server.route("POST", "/backend/auth/identity/callback", csrf)
    raises("SSM_XSRF_REJECTED", ssm.admin_login, ADMIN, ADMIN_PASSWORD)


@pytest.mark.parametrize("path, body, call", [
    ("/backend/api_toolkit/grants", {"grants": "none"}, lambda ssm: ssm.grants.list()),
    ("/backend/api_toolkit/grants", {"error_message": "maintenance"}, lambda ssm: ssm.grants.list()),
    ("/backend/accounts", {"accounts": [["1", "Local"]]}, lambda ssm: ssm.accounts()),
])
def test_answers_of_another_shape_are_bad_responses_not_empty_lists(server, ssm, admin, path, body, call):
    admin.api("GET", path, Reply(200, body))
    ssm.admin_login(ADMIN, ADMIN_PASSWORD)
    assert "JSON of another shape than expected" in raises("BAD_RESPONSE", call, ssm).message


def test_grant_api_uses_the_inferred_table(server, ssm, admin):
    admin.api("GET", "/backend/api_toolkit/grants", Reply(200, {"grants": [GRANT]}))
    admin.api("GET", "/backend/api_toolkit/grants/7", Reply(200, dict(GRANT, client_secret=CLIENT_SECRET)))
    admin.api("POST", "/backend/api_toolkit/grants", Reply(201, dict(GRANT, client_secret=CLIENT_SECRET)))
    admin.api("POST", "/backend/api_toolkit/grants/7/regenerate_secret", Reply(200, dict(GRANT, client_secret="fake-new-secret")))
    admin.api("DELETE", "/backend/api_toolkit/grants/7", Reply(204, b""))
    admin.api("DELETE", "/backend/api_toolkit/grants/8", Reply(404, {"error_message": "Not found"}))
    admin.api("GET", "/backend/accounts", Reply(200, {"accounts": [{"id": "1", "name": "Local", "default": True},
                                                                   {"id": "2", "name": "Lab"}]}))
    ssm.admin_login(ADMIN, ADMIN_PASSWORD)
    listed = dict(GRANT, created=GRANT["created_at"])
    del listed["created_at"]
    assert ssm.grants.list(account="1") == [listed]
    assert server.calls("GET", "/backend/api_toolkit/grants")[0].query == {"account_id": ["1"]}
    assert ssm.grants.get(7) == dict(listed, client_secret=CLIENT_SECRET)
    assert ssm.grants.create("vmanage-prod", "resource_owner", description="vManage", account="1")["client_secret"] == CLIENT_SECRET
    assert server.calls("POST", "/backend/api_toolkit/grants")[0].json() == {
        "name": "vmanage-prod", "type": "resource_owner", "description": "vManage", "account_id": "1"}
    assert ssm.grants.regenerate_secret(7)["client_secret"] == "fake-new-secret"
    assert ssm.grants.delete(7) is True
    assert ssm.grants.delete(8) is False
    assert ssm.accounts() == [{"id": "1", "name": "Local", "default": True}, {"id": "2", "name": "Lab", "default": False}]
    for secret in (CLIENT_SECRET, "fake-new-secret"):
        assert secret not in ssm.http.redactor.text(secret)


@pytest.mark.parametrize("status", [404, 405])
def test_an_ssm_without_the_grant_api_says_so_and_how_to_make_the_grant_by_hand(server, ssm, admin, status):
    admin.api("GET", "/backend/api_toolkit/grants", Reply(status, {"status": status, "error": "Not Found"}))
    admin.api("POST", "/backend/api_toolkit/grants", Reply(status, {"status": status, "error": "Not Found"}))
    admin.api("DELETE", "/backend/api_toolkit/grants/7", Reply(404, {"status": 404, "error": "Not Found"}))
    ssm.admin_login(ADMIN, ADMIN_PASSWORD)
    for call in (ssm.grants.list, lambda: ssm.grants.create("vmanage-prod", "resource_owner")):
        error = raises("SSM_GRANT_API_UNAVAILABLE", call)
        assert "HTTP %d" % status in error.message and "ssm_client_id and ssm_client_secret" in error.remedy
    assert ssm.grants.delete(7) is False  # one grant's 404 means that grant is gone, not the API


def test_grant_calls_without_admin_session_fail_as_admin_auth(server, ssm, admin):
    admin.api("GET", "/backend/api_toolkit/grants", Reply(200, {"grants": []}))
    assert "Not logged in" in raises("SSM_ADMIN_AUTH_FAILED", ssm.grants.list).message


def test_unknown_grant_type_is_invalid_input(server, ssm):
    raises("INVALID_INPUT", ssm.grants.create, "x", "implicit")
    assert server.count() == 0


def test_grant_answer_without_client_id_is_bad_response(server, ssm, admin):
    admin.api("GET", "/backend/api_toolkit/grants/7", Reply(200, {"id": 7}))
    ssm.admin_login(ADMIN, ADMIN_PASSWORD)
    raises("BAD_RESPONSE", ssm.grants.get, 7)


# --- licences ----------------------------------------------------------------------------------

def test_licenses_with_bearer_token(server, ssm, channels):
    server.route("POST", "/api/v1/accounts/Local%20Account/licenses", Reply(200, {"licenses": [
        {"license": "DNA Advantage", "status": "In Compliance", "quantity": 10, "inUse": 4, "available": 6, "extra": 1}]}))
    assert ssm.licenses("Local Account", ACCESS_TOKEN) == [
        {"license": "DNA Advantage", "status": "In Compliance", "quantity": 10, "in_use": 4, "available": 6}]
    request, = server.requests
    assert request.headers["Authorization"] == "Bearer %s" % ACCESS_TOKEN
    assert request.json() == {"limit": -1}
    assert ACCESS_TOKEN not in channels.text()
