"""Dialects: every axis value observable over real HTTPS, the SPEC parser, `sdwan-lab dialects`, presets."""

import json
from pathlib import Path

import pytest
import yaml

from sdwan_lab.dialects import AXES, DEFAULT_DIALECT, NO_SOURCE, PRESETS, DialectError, dialect_spec, parse_dialect

RELEASE = "20.15.1"
USER_SETTINGS_V1 = "/dataservice/v1/smart-licensing/user-settings"
USER_SETTINGS_LEGACY = "/dataservice/smartLicensing/getUserSettings"
SETTINGS = "/dataservice/settings/configuration/smartLicensing"
FETCH_ACCOUNTS = "/dataservice/smartLicensing/fetchAccounts"
SYNC_V1 = "/dataservice/v1/smart-licensing/sync"
SYNC_LEGACY = "/dataservice/smartLicensing/syncLicenses"
DOCUMENTED_FIELDS = {"isPresentCredentials", "mode", "multipleEntitlement", "uname"}
# Every non-default, non-documented value, in a preset-plus-override SPEC and a plain override SPEC.
VARIANTS = ("documented,user-settings-mode=on-prem,mode-token=onPrem,authenticate-failure-status=401,"
            "fetch-accounts-shape=capture,ssm-grant-api=absent")
PLAIN_VARIANTS = "user-settings-mode=onprem,authenticate-failure-status=500"


@pytest.fixture(scope="module")
def labs(start_lab):
    options = ("--scenario", "healthy", "--release", RELEASE, "--front", "builtin")
    return {
        "default": start_lab(*options, name="dialect-default"),
        "documented": start_lab(*options, "--dialect", "documented", name="dialect-documented"),
        "variants": start_lab(*options, "--dialect", VARIANTS, name="dialect-variants"),
        "plain": start_lab(*options, "--dialect", PLAIN_VARIANTS, name="dialect-plain"),
    }


def sync(api, path=SYNC_V1, mode="onprem", parts=("data",), account_id="1", virtual_account_id="1"):
    data = {"mode": mode, "multipleEntitlement": False,
            "smartAccounts": [{"account_id": account_id, "virtual_accounts": [{"virtual_account_id": virtual_account_id}]}]}
    files = {"data": (None, json.dumps(data), "application/json")}
    if "name" in parts:
        files["name"] = ("sync.bin", b"", "application/octet-stream")
    return api.post(path, files=files)


def authenticate(lab, api, password=None, **body):
    ssm = lab.info["ssm"]
    return api.post("/dataservice/smartLicensing/authenticate",
                    json={"username": ssm["username"], "password": password or ssm["password"], **body})


# ----------------------------------------------------------------- the SPEC parser and the table

def test_no_spec_is_the_default_and_documented_is_the_preset():
    assert parse_dialect(None) == parse_dialect("") == DEFAULT_DIALECT
    assert parse_dialect("documented") == PRESETS["documented"]
    assert DEFAULT_DIALECT["user-settings-fields"] == "full" and PRESETS["documented"]["user-settings-fields"] == "documented"


def test_overrides_apply_to_the_default_or_after_the_preset():
    assert parse_dialect("sync-answer=text") == {**DEFAULT_DIALECT, "sync-answer": "text"}
    merged = parse_dialect("documented, fetch-accounts-shape=capture ,sync-answer=json")
    assert merged == {**PRESETS["documented"], "fetch-accounts-shape": "capture", "sync-answer": "json"}
    for dialect in (DEFAULT_DIALECT, PRESETS["documented"], merged, parse_dialect(PLAIN_VARIANTS)):
        assert parse_dialect(dialect_spec(dialect)) == dialect
    assert dialect_spec(PRESETS["documented"]) == "documented" and dialect_spec(DEFAULT_DIALECT) == ""


@pytest.mark.parametrize("spec, message", [
    ("no-such-axis=1", "unknown dialect axis 'no-such-axis'; axes: user-settings-fields, user-settings-mode"),
    ("sync-parts=everything", "unknown value 'everything' of dialect axis sync-parts; values: data, data+name"),
    ("mode-token=ONPREM", "values: onprem, on-prem, onPrem"),
    ("cisco", "unknown dialect preset 'cisco'; presets: documented; or AXIS=VALUE with user-settings-fields=full|"),
    ("sync-answer=text,documented", "the preset 'documented' must be the first item"),
    ("documented,,sync-answer=text", "empty item"),
])
def test_a_bad_spec_names_what_is_valid(spec, message):
    with pytest.raises(DialectError) as raised:
        parse_dialect(spec)
    assert message in str(raised.value)


def test_up_refuses_a_bad_dialect_before_anything_starts(tmp_path, cli, capsys):
    assert cli("up", "--dir", tmp_path, "--dialect", "user-settings-mode=OnPrem")[0] == 1
    error = capsys.readouterr().err
    assert "unknown value 'OnPrem' of dialect axis user-settings-mode; values: by-path, onPrem, onprem, on-prem" in error
    assert not (tmp_path / "logs").exists()


def test_dialects_lists_every_axis_value_default_preset_and_source(cli):
    code, text = cli("dialects")
    assert code == 0
    for name, axis in AXES.items():
        assert f"\n{name}: {axis.meaning}\n  default {axis.default}, documented {axis.documented}\n" in text
        for value, source in axis.values.items():
            assert f"  {value} " in text and source in text
    code, output = cli("dialects", "--json")
    table = json.loads(output)
    assert list(table["axes"]) == list(AXES) and len(AXES) >= 12
    assert table["presets"]["default"] == DEFAULT_DIALECT and table["presets"]["documented"] == PRESETS["documented"]
    for name, axis in table["axes"].items():
        assert [value for value, row in axis["values"].items() if row["default"]] == [axis["default"]]
        assert [value for value, row in axis["values"].items() if row["documented"]] == [axis["documented"]]
        for row in axis["values"].values():
            assert row["source"].startswith((NO_SOURCE, "https://", "catalystwan-v20-15==2.0.0a1 "))
    # A documented value cites something public unless the record has nothing (then it says so).
    assert table["axes"]["user-settings-fields"]["values"]["documented"]["source"].startswith("catalystwan-v20-15")
    assert table["axes"]["authenticate-failure-status"]["values"]["401"]["source"].startswith(NO_SOURCE)


def test_lab_files_status_and_state_carry_the_effective_dialect(labs, cli):
    lab = labs["variants"]
    expected = {**PRESETS["documented"], "user-settings-mode": "on-prem", "mode-token": "onPrem",
                "authenticate-failure-status": "401", "fetch-accounts-shape": "capture", "ssm-grant-api": "absent"}
    assert lab.info["dialect"] == expected
    assert json.loads(cli("status", "--dir", lab.dir)[1])["dialect"] == expected
    assert lab.state()["dialect"] == expected
    inventory = yaml.safe_load((lab.dir / "inventory.yml").read_text())
    assert inventory["all"]["children"]["vmanage"]["vars"]["lab_dialect"] == expected
    assert labs["default"].info["dialect"] == DEFAULT_DIALECT


# ----------------------------------------------------------------- vManage axes

def test_user_settings_fields_full_adds_last_sync_fields_documented_has_exactly_four(labs):
    full = labs["default"].vmanage()
    assert set(full.get(USER_SETTINGS_V1).json()) == DOCUMENTED_FIELDS | {"lastSyncTime", "lastSyncStatus", "lastSyncError"}
    lab = labs["documented"]
    api = lab.vmanage()
    assert set(api.get(USER_SETTINGS_V1).json()) == DOCUMENTED_FIELDS
    assert set(api.get(USER_SETTINGS_LEGACY).json()) == DOCUMENTED_FIELDS
    syncs = len(lab.state()["vmanage"]["vmanage-001"]["syncs"])
    assert sync(api, parts=("data", "name")).status_code == 200
    recorded = lab.state()["vmanage"]["vmanage-001"]["syncs"]
    assert len(recorded) == syncs + 1 and recorded[-1]["ok"] is True


@pytest.mark.parametrize("lab_name, legacy, v1", [
    ("default", "onprem", "onPrem"), ("documented", "onPrem", "onPrem"), ("variants", "on-prem", "on-prem"),
    ("plain", "onprem", "onprem")])
def test_user_settings_mode_spells_on_prem_by_path_or_everywhere_alike(labs, lab_name, legacy, v1):
    api = labs[lab_name].vmanage()
    legacy_answer = api.get(USER_SETTINGS_LEGACY).json()
    legacy_settings = legacy_answer["data"][0] if "data" in legacy_answer else legacy_answer
    assert (legacy_settings["mode"], api.get(USER_SETTINGS_V1).json()["mode"]) == (legacy, v1)


def test_user_settings_envelope_is_a_data_list_or_the_bare_object(labs):
    listed = labs["default"].vmanage().get(USER_SETTINGS_LEGACY).json()
    assert list(listed) == ["data"] and isinstance(listed["data"], list) and listed["data"][0]["isPresentCredentials"]
    bare = labs["documented"].vmanage().get(USER_SETTINGS_LEGACY).json()
    assert bare["isPresentCredentials"] is True and "data" not in bare


def test_settings_secret_masked_or_omitted_and_settings_data_list_or_object(labs, cli):
    masked = labs["default"].vmanage().get(SETTINGS).json()["data"]
    assert isinstance(masked, list) and masked[0]["ssmClientSecret"] == "********"
    lab = labs["documented"]
    api = lab.vmanage()
    shown = api.get(SETTINGS).json()["data"]
    assert isinstance(shown, dict) and "ssmClientSecret" not in shown and shown["ssmClientId"]
    assert isinstance(api.get("/dataservice/settings/configuration/proxyHttpServer").json()["data"], dict)
    # PUT stores the secret although no answer shows it: a new grant's credentials authenticate.
    grant = json.loads(cli("grant", "--dir", lab.dir, "--name", "documented-put")[1])
    put = api.put(SETTINGS, json={"mode": "on-prem", "ssmServerUrl": lab.info["ssm"]["url"],
                                  "ssmClientId": grant["client_id"], "ssmClientSecret": grant["client_secret"]})
    assert put.status_code == 200 and put.json()["data"]["ssmClientId"] == grant["client_id"]
    assert "ssmClientSecret" not in put.json()["data"]
    assert lab.state()["vmanage"]["vmanage-001"]["settings"]["ssmClientSecret"] == "********"
    assert authenticate(lab, api, mode="on-prem").status_code == 200


@pytest.mark.parametrize("lab_name, accepted, refused", [
    ("default", "onprem", "on-prem"), ("documented", "on-prem", "onprem"), ("variants", "onPrem", "onprem")])
def test_mode_token_is_the_only_on_prem_spelling_authenticate_and_fetch_accounts_accept(labs, lab_name, accepted,
                                                                                        refused):
    lab = labs[lab_name]
    api = lab.vmanage()
    assert authenticate(lab, api, mode=accepted).status_code == 200
    assert authenticate(lab, api).status_code == 200  # without mode, the stored mode applies
    wrong = authenticate(lab, api, mode=refused)
    assert wrong.status_code == 400 and wrong.json()["error"]["details"] == f"Invalid mode '{refused}'"
    assert api.get(FETCH_ACCOUNTS, params={"mode": accepted}).status_code == 200
    answer = api.get(FETCH_ACCOUNTS, params={"mode": refused})
    assert answer.status_code == 400 and f"Invalid mode '{refused}'" in answer.json()["error"]["details"]
    parts = ("data", "name") if lab.info["dialect"]["sync-parts"] == "data+name" else ("data",)
    # Sync takes Cisco's documented `onprem` and the token of the dialect.
    assert sync(api, mode="onprem", parts=parts).status_code == 200
    assert sync(api, mode=accepted, parts=parts).status_code == 200


@pytest.mark.parametrize("lab_name, status", [("default", 400), ("documented", 403), ("variants", 401), ("plain", 500)])
def test_authenticate_failure_status_keeps_the_slic0001_envelope(labs, lab_name, status):
    lab = labs[lab_name]
    api = lab.vmanage()
    failed = authenticate(lab, api, password="not-the-password")
    assert failed.status_code == status and failed.headers["Content-Type"].startswith("application/json")
    error = failed.json()["error"]
    assert error["code"] == "SLIC0001" and error["message"] == "Failed to authenticate Smart Account credentials."
    assert "invalid_grant" in error["details"]
    parts = ("data", "name") if lab.info["dialect"]["sync-parts"] == "data+name" else ("data",)
    unknown_account = sync(api, mode="onprem", parts=parts, account_id="42")
    assert unknown_account.status_code == status and unknown_account.json()["error"]["code"] == "SLIC0001"
    # A 401 here is no expired session: the session still works.
    assert api.get("/dataservice/client/server").status_code == 200


def test_fetch_accounts_shape_accounts_object_or_capture(labs):
    listed = labs["default"].vmanage().get(FETCH_ACCOUNTS, params={"mode": "onprem"}).json()
    assert [account["account_id"] for account in listed["accounts"]] == ["1", "2"]
    assert set(listed["accounts"][0]["virtual_accounts"][0]) == {"virtual_account_id", "name", "default"}
    one = labs["documented"].vmanage().get(FETCH_ACCOUNTS, params={"mode": "on-prem"}).json()
    assert set(one) == {"account_id", "name", "virtual_accounts"} and (one["account_id"], one["name"]) == ("1", "SDWAN-LAB")
    assert [va["virtual_account_id"] for va in one["virtual_accounts"]] == ["1", "2"]
    capture = labs["variants"].vmanage().get(FETCH_ACCOUNTS, params={"mode": "onPrem"}).json()
    assert set(capture["accounts"][0]["virtual_accounts"][0]) == {"vaaccountid", "name", "default"}


def test_sync_parts_data_alone_or_data_and_name(labs):
    assert sync(labs["default"].vmanage(), parts=("data",)).status_code == 200
    api = labs["documented"].vmanage()
    for path in (SYNC_V1, SYNC_LEGACY):
        missing = sync(api, path, parts=("data",))
        assert missing.status_code == 400
        assert missing.json()["error"]["details"] == "Missing multipart part 'name'"
        assert sync(api, path, parts=("data", "name")).status_code == 200


def test_sync_answer_json_or_text_on_v1_and_legacy_stays_an_empty_object(labs):
    default = labs["default"].vmanage()
    assert sync(default).json() == {"status": "Success"}
    assert sync(default, SYNC_LEGACY).json() == {}
    api = labs["documented"].vmanage()
    text = sync(api, parts=("data", "name"))
    assert (text.status_code, text.text) == (200, "Success") and text.headers["Content-Type"].startswith("text/plain")
    assert sync(api, SYNC_LEGACY, parts=("data", "name")).json() == {}


def test_license_counts_are_integers_or_strings(labs):
    default = labs["default"].vmanage().get("/dataservice/v1/smart-licensing/license").json()
    documented = labs["documented"].vmanage().get("/dataservice/v1/smart-licensing/license").json()
    row, documented_row = default[0]["licenses"][0], documented[0]["licenses"][0]
    assert all(isinstance(row[key], int) for key in ("Available", "inUse", "quantity", "Purchased"))
    assert all(isinstance(documented_row[key], str) for key in ("Available", "inUse", "quantity"))
    assert isinstance(documented_row["Purchased"], int) and documented_row["Available"] == str(row["Available"])


def test_counters_count_every_dialect_alike(labs):
    lab = labs["plain"]
    before = lab.state()["vmanage"]["vmanage-001"]
    api = lab.vmanage()
    sync(api)
    api.get(USER_SETTINGS_LEGACY)
    after = lab.state()["vmanage"]["vmanage-001"]
    added = {key: count - before["write_requests"].get(key, 0) for key, count in after["write_requests"].items()
             if count != before["write_requests"].get(key, 0)}
    assert added == {f"POST {SYNC_V1}": 1} and after["writes"] == before["writes"] + 1
    assert after["requests"][f"GET {USER_SETTINGS_LEGACY}"] == before["requests"].get(f"GET {USER_SETTINGS_LEGACY}", 0) + 1


# ----------------------------------------------------------------- SSM axes

def test_ssm_admin_login_failure_401_or_200_without_uid(labs):
    for lab_name, status in (("default", 401), ("documented", 200)):
        lab = labs[lab_name]
        ssm = lab.ssm(login=False).start_session()
        wrong = ssm.write("POST", "/backend/auth/identity/callback",
                          json={"username": lab.info["ssm"]["admin_username"], "password": "nope"})
        assert wrong.status_code == status and "uid" not in wrong.json() and wrong.json()["error_message"]
        assert ssm.get("/backend/api_toolkit/grants").status_code == 401
        good = ssm.write("POST", "/backend/auth/identity/callback",
                         json={"username": lab.info["ssm"]["admin_username"],
                               "password": lab.info["ssm"]["admin_password"]})
        assert good.status_code == 200 and good.json()["uid"] == "admin"


def test_without_the_grant_api_grants_are_made_by_hand(labs, cli):
    lab = labs["variants"]
    ssm = lab.ssm()
    paths = [("GET", "/backend/api_toolkit/grants"), ("POST", "/backend/api_toolkit/grants"),
             ("GET", "/backend/api_toolkit/grants/1"), ("DELETE", "/backend/api_toolkit/grants/1"),
             ("POST", "/backend/api_toolkit/grants/1/regenerate_secret")]
    for method, path in paths:
        answer = ssm.write(method, path, json={"name": "x", "type": "resource_owner"})
        assert (answer.status_code, answer.json()) == (404, {"status": 404, "error": "Not Found"}), path
    requests = lab.state()["ssm"]["requests"]
    assert all(requests[f"{method} {path}"] >= 1 for method, path in paths)
    assert labs["documented"].ssm().get("/backend/api_toolkit/grants").status_code == 200

    code, output = cli("grant", "--dir", lab.dir, "--name", "by-hand")
    grant = json.loads(output)
    assert code == 0 and set(grant) == {"id", "name", "client_id", "client_secret", "type"}
    assert grant["type"] == "resource_owner" and grant["name"] == "by-hand"
    code, output = cli("grant", "--dir", lab.dir, "--name", "by-hand-client", "--type", "client_credentials")
    assert code == 0 and json.loads(output)["type"] == "client_credentials"
    assert cli("grant", "--dir", lab.dir, "--name", "by-hand")[0] == 1  # names stay unique
    token = ssm.token(grant_type="password", client_id=grant["client_id"], client_secret=grant["client_secret"],
                      username=lab.info["ssm"]["username"], password=lab.info["ssm"]["password"])
    assert token.status_code == 200
    assert "by-hand" in [g["name"] for g in lab.state()["ssm"]["grants"]]


def test_the_dialects_table_of_docs_lab_md_matches_the_module():
    docs = (Path(__file__).parents[3] / "docs" / "lab.md").read_text()
    section = docs.split("\n## Dialects\n", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(" `"): line for line in section.splitlines() if line.startswith("| `")}
    assert list(rows) == list(AXES)
    for name, axis in AXES.items():
        cells = [cell.strip() for cell in rows[name].split(" | ")]
        assert cells[1].replace("\\|", "|").split(" | ") == [f"`{value}`" for value in axis.values]
        assert (cells[2], cells[3]) == (f"`{axis.default}`", f"`{axis.documented}`")
