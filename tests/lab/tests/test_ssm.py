"""The SSM On-Prem simulator over real HTTPS: token endpoint, admin session, API Toolkit, licences."""

import base64
from concurrent.futures import ThreadPoolExecutor

import pytest

GRANT_NOT_FOUND = {"error": "invalid_client",
                   "error_message": "Grant not found. Ensure that the given grant details are correct."}


@pytest.fixture(scope="module")
def lab(start_lab):
    return start_lab("--scenario", "healthy", name="ssm")


@pytest.fixture(scope="module")
def admin(lab):
    return lab.ssm()


@pytest.fixture(scope="module")
def grants(admin):
    return {"owner": admin.create_grant("test-owner"),
            "client": admin.create_grant("test-client", "client_credentials")}


def password_grant(lab, grant, **overrides):
    params = {"grant_type": "password", "client_id": grant["client_id"], "client_secret": grant["client_secret"],
              "username": lab.info["ssm"]["username"], "password": lab.info["ssm"]["password"], **overrides}
    return {key: value for key, value in params.items() if value is not None}


def test_password_grant_in_the_query_string_gets_doorkeepers_body(lab, admin, grants):
    response = admin.token(**password_grant(lab, grants["owner"]))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 7200 and isinstance(body["created_at"], int)
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"


def test_token_parameters_may_come_as_form_json_or_basic_auth(lab, admin, grants):
    client = grants["client"]
    form = {"grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]}
    assert admin.post("/backend/oauth/token", data=form).status_code == 200
    assert admin.post("/backend/oauth/token", json=form).status_code == 200
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    assert admin.post("/backend/oauth/token", data={"grant_type": "client_credentials"},
                      headers={"Authorization": f"Basic {basic}"}).status_code == 200


@pytest.mark.parametrize("overrides, status, error", [
    ({"grant_type": None}, 400, "invalid_request"),
    ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ({"client_secret": None}, 400, "invalid_request"),
    ({"username": None}, 400, "invalid_request"),
    ({"password": "not-the-password"}, 401, "invalid_grant"),
    ({"username": "nobody"}, 401, "invalid_grant"),
])
def test_token_errors_are_distinct(lab, admin, grants, overrides, status, error):
    response = admin.token(**password_grant(lab, grants["owner"], **overrides))
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.json()["error_message"]


def test_unknown_client_or_wrong_secret_gets_exactly_the_grant_not_found_403(lab, admin, grants):
    for params in (password_grant(lab, grants["owner"], client_id="no-such-client"),
                   password_grant(lab, grants["owner"], client_secret="wrong-secret")):
        response = admin.token(**params)
        assert response.status_code == 403
        assert response.text == ('{"error":"invalid_client","error_message":"Grant not found. Ensure that the '
                                 'given grant details are correct."}')


def test_a_grant_only_allows_its_own_flow(lab, admin, grants):
    response = admin.token(**password_grant(lab, grants["client"]))
    assert (response.status_code, response.json()["error"]) == (403, "unauthorized_client")


def test_malformed_json_and_unknown_paths_get_rails_errors(admin):
    response = admin.post("/backend/oauth/token", data="{not json", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    response = admin.get("/backend/no/such/thing")
    assert (response.status_code, response.json()) == (404, {"status": 404, "error": "Not Found"})
    page = admin.get("/oauth/token")
    assert page.status_code == 404 and "<center>nginx</center>" in page.text
    assert "Traceback" not in response.text + page.text


def test_admin_login_needs_the_xsrf_header_and_valid_credentials(lab):
    ssm = lab.ssm(login=False).start_session()
    credentials = {"username": lab.info["ssm"]["admin_username"], "password": lab.info["ssm"]["admin_password"]}
    no_header = ssm.post("/backend/auth/identity/callback", json=credentials)
    assert (no_header.status_code, no_header.json()["error"]) == (403, "invalid_authenticity_token")
    wrong = ssm.write("POST", "/backend/auth/identity/callback", json={**credentials, "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error_message"]
    assert ssm.get("/backend/api_toolkit/grants").status_code == 401
    good = ssm.write("POST", "/backend/auth/identity/callback", json=credentials)
    assert good.status_code == 200 and good.json()["uid"] == "admin"
    assert ssm.get("/backend/sessions/get_user").json() == {"uid": "admin"}


def test_a_local_user_is_not_an_api_toolkit_admin(lab):
    ssm = lab.ssm(login=False).login(lab.info["ssm"]["username"], lab.info["ssm"]["password"])
    assert ssm.get("/backend/api_toolkit/grants").status_code == 403


def test_grants_list_without_secrets_and_show_with_them(admin, grants):
    listed = admin.get("/backend/api_toolkit/grants").json()["grants"]
    names = {grant["name"]: grant for grant in listed}
    assert {"monitoring", "vmanage-grant-01", "test-owner", "test-client"} <= set(names)
    assert all("client_secret" not in grant for grant in listed)
    assert set(names["test-owner"]) == {"id", "name", "type", "client_id", "description", "created_at", "account_id"}
    shown = admin.get(f"/backend/api_toolkit/grants/{grants['owner']['id']}").json()
    assert shown["client_secret"] == grants["owner"]["client_secret"]
    assert admin.get("/backend/api_toolkit/grants/99999").status_code == 404


@pytest.mark.parametrize("body, message", [
    ({"name": "test-owner", "type": "resource_owner"}, "Name has already been taken"),
    ({"name": " ", "type": "resource_owner"}, "Name can't be blank"),
    ({"name": "other", "type": "implicit"}, "Type is not included in the list"),
])
def test_invalid_grants_are_refused(admin, grants, body, message):
    response = admin.write("POST", "/backend/api_toolkit/grants", json=body)
    assert (response.status_code, response.json()["error_message"]) == (422, message)


def test_grants_belong_to_a_local_account(admin):
    accounts = admin.get("/backend/accounts").json()["accounts"]
    assert [(account["id"], account["default"]) for account in accounts] == [(1, True), (2, False)]
    created = admin.write("POST", "/backend/api_toolkit/grants",
                          json={"name": "tenant-b", "type": "client_credentials", "account_id": 2}).json()
    assert created["account_id"] == 2
    default_names = [g["name"] for g in admin.get("/backend/api_toolkit/grants").json()["grants"]]
    tenant_names = [g["name"] for g in admin.get("/backend/api_toolkit/grants", params={"account_id": "LAB-TENANT-B"}).json()["grants"]]
    assert "tenant-b" not in default_names and tenant_names == ["tenant-b"]
    assert admin.get("/backend/api_toolkit/grants", params={"account_id": 7}).status_code == 404


def test_delete_and_regenerate_revoke_the_old_credentials(lab, admin):
    grant = admin.create_grant("short-lived")
    old = password_grant(lab, grant)
    assert admin.token(**old).status_code == 200
    regenerated = admin.write("POST", f"/backend/api_toolkit/grants/{grant['id']}/regenerate_secret").json()
    assert regenerated["client_id"] == grant["client_id"] and regenerated["client_secret"] != grant["client_secret"]
    assert admin.token(**old).json() == GRANT_NOT_FOUND
    assert admin.token(**password_grant(lab, regenerated)).status_code == 200
    assert admin.write("DELETE", f"/backend/api_toolkit/grants/{grant['id']}").status_code == 204
    assert admin.get(f"/backend/api_toolkit/grants/{grant['id']}").status_code == 404
    assert admin.token(**password_grant(lab, regenerated)).json() == GRANT_NOT_FOUND


def test_parallel_grant_creation_keeps_state_consistent(lab):
    def create(name):
        session = lab.ssm()
        try:
            return session.write("POST", "/backend/api_toolkit/grants", json={"name": name, "type": "resource_owner"})
        finally:
            session.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        distinct = list(pool.map(create, [f"parallel-{index:02d}" for index in range(32)]))
        same = list(pool.map(create, ["contended"] * 16))
    assert [response.status_code for response in distinct] == [201] * 32
    assert len({r.json()["id"] for r in distinct}) == 32 and len({r.json()["client_id"] for r in distinct}) == 32
    assert sorted(response.status_code for response in same) == [201] + [422] * 15
    grants = lab.state()["ssm"]["grants"]
    names = [grant["name"] for grant in grants]
    assert len(names) == len(set(names)) and names.count("contended") == 1
    assert {f"parallel-{index:02d}" for index in range(32)} <= set(names)


def test_licences_need_a_valid_bearer_token(lab, admin, grants):
    token = admin.token(**password_grant(lab, grants["owner"])).json()["access_token"]
    licenses = admin.post("/api/v1/accounts/1/licenses", json={"limit": -1},
                          headers={"Authorization": f"Bearer {token}"})
    assert licenses.status_code == 200
    row = licenses.json()["licenses"][0]
    assert {"license", "status", "quantity", "inUse", "available"} <= set(row)
    assert row["status"] == "In Compliance" and row["available"] == row["quantity"] - row["inUse"]
    by_name = admin.post("/api/v1/accounts/SDWAN-LAB/licenses", json={"limit": -1},
                         headers={"Authorization": f"Bearer {token}"})
    assert by_name.json() == licenses.json()
    refused = admin.post("/api/v1/accounts/1/licenses", json={"limit": -1}, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


def test_a_client_credentials_token_sees_only_its_account(admin, grants):
    client = grants["client"]
    token = admin.post("/backend/oauth/token", json={
        "grant_type": "client_credentials", "client_id": client["client_id"],
        "client_secret": client["client_secret"]}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert admin.post("/api/v1/accounts/1/alerts", json={"limit": -1}, headers=headers).json() == {"alerts": []}
    assert admin.post("/api/v1/accounts/2/licenses", json={"limit": -1}, headers=headers).status_code == 403
