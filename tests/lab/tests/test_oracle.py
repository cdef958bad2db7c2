"""Cisco's generated SDK models (catalystwan-v20-15, catalystwan-v20-16 on PyPI) as an oracle of the lab.

The models are found the way a reader would: the `*_builder.py` files name each operation's method, path,
return type and payload model. In the `documented` dialect every lab answer of an endpoint the collection
uses that has a model must validate: every key is a field (alias or name) of the dataclass, recursively;
the keys the lab claims to document are there; JSON types match the annotations. The few places where
another Cisco source contradicts the generated model are listed in ALLOWANCES, with that source, and the
test checks that each allowance is still needed.
"""

import dataclasses
import importlib
import importlib.util
import re
import typing
from pathlib import Path

import pytest

PACKAGES = ("v20_15", "v20_16")
RELEASES = ("20.12.1", "20.15.1")
# (method, path, query or JSON body, the keys the lab documents for it (docs/lab.md), first release)
ENDPOINTS = {
    "user-settings": ("GET", "/dataservice/v1/smart-licensing/user-settings", None,
                      {"isPresentCredentials", "mode", "multipleEntitlement", "uname"}, "20.15"),
    "fetchAccounts": ("GET", "/dataservice/smartLicensing/fetchAccounts", {"mode": "on-prem"},
                      {"account_id", "name", "virtual_accounts", "virtual_accounts[].virtual_account_id",
                       "virtual_accounts[].name", "virtual_accounts[].default"}, "20.9.1"),
    "license": ("GET", "/dataservice/v1/smart-licensing/license", {"virtual_account_id": "1"},
                {"[].subscription_id", "[].billing_model", "[].billing_type", "[].licenses",
                 "[].licenses[].display_name", "[].licenses[].tag", "[].licenses[].Purchased",
                 "[].licenses[].Available", "[].licenses[].inUse", "[].licenses[].quantity"}, "20.15"),
    "nping": ("POST", "/dataservice/device/tools/nping/{deviceIP}", None,
              {"rawOutput", "packetsTransmitted", "packetsReceived", "lossPercentage", "minRoundTrip",
               "maxRoundTrip", "avgRoundTrip"}, "20.9.1"),
    "device/vmanage": ("GET", "/dataservice/device/vmanage", None, {"data.ipAddress", "header.generatedOn"},
                       "20.9.1"),
    "client/server": ("GET", "/dataservice/client/server", None,
                      {"data.platformVersion", "data.CSRFToken", "header.generatedOn"}, "20.9.1"),
    "client/token": ("GET", "/dataservice/client/token", {"json": "true"}, {"token"}, "20.9.1"),
}
EXPECTED_MODELS = {
    "user-settings": "UserSettingsResponse", "fetchAccounts": "SmartLicensingfetchAccountsResp",
    "license": "List[GetLicenseResponseInner]", "nping": "NPingResponse", "device/vmanage": "DeviceVmanageResponse",
    "client/server": "ClientServerInfoResponse", "client/token": "ClientTokenResponse",
}
CATALYSTWAN = "CiscoDevNet/catalystwan 0.41.6"
# Where Cisco's classic SDK (catalystwan, which validates real answers with pydantic) contradicts the
# generated model: (model, wire key) -> what is allowed and the source.
ALLOWANCES = {
    ("ClientServerResponseData", "VSessionId"): ("extra key", f"{CATALYSTWAN} catalystwan/endpoints/client.py ServerInfo"),
    ("ClientServerResponseData", "providerDomain"): ("extra key", f"{CATALYSTWAN} catalystwan/endpoints/client.py ServerInfo"),
    **{("NPingResponse", key): ("number", f"{CATALYSTWAN} catalystwan/endpoints/troubleshooting_tools/"
                                          "device_connectivity.py NPingResult (float)")
       for key in ("lossPercentage", "minRoundTrip", "maxRoundTrip", "avgRoundTrip")},
}


# ----------------------------------------------------------------- finding the models in the builders

def package_root(version):
    spec = importlib.util.find_spec(f"catalystwan.versions.{version}")
    assert spec is not None, f"catalystwan-{version.replace('_', '-')} is not installed (requirements-dev.txt)"
    return Path(next(iter(spec.submodule_search_locations)))


def resolve(version, builder, name):
    """The class `name` as the builder imports it (`from .models import X`, relative to its package)."""
    package = "catalystwan.versions." + version + "." + ".".join(builder.parent.relative_to(package_root(version)).parts)
    for module, names in re.findall(r"^from (\.[\w.]*) import ([^\n]+)$", builder.read_text(), re.M):
        if name in [part.strip() for part in names.split(",")]:
            return getattr(importlib.import_module(importlib.util.resolve_name(module, package)), name)
    raise LookupError(f"{builder}: {name} is not imported")


def builder_index(version):
    """{(METHOD, path): {"returns": annotation text, "payload": class name, "builder": Path}}."""
    index = {}
    for builder in sorted(package_root(version).rglob("*_builder.py")):
        for function in re.split(r"\n    def ", builder.read_text()):
            call = re.search(r'request\(\s*"(\w+)",\s*"([^"]+)"(.*?)\)\n', function, re.S)
            if not call:
                continue
            returns = re.search(r"return_type=([\w\[\]]+)", call.group(3))
            payload = re.search(r"payload: (\w+)", function)
            index[(call.group(1), call.group(2))] = {
                "returns": returns.group(1) if returns else None,
                "payload": payload.group(1) if payload and payload.group(1) not in ("Any", "Optional") else None,
                "builder": builder}
    return index


@pytest.fixture(scope="module")
def models():
    """{version: {endpoint name: annotation}} and the sync payload models."""
    found = {}
    for version in PACKAGES:
        index = builder_index(version)
        found[version] = {}
        for name, (method, path, *_rest) in ENDPOINTS.items():
            operation = index[(method, path)]
            text = operation["returns"]
            inner = re.fullmatch(r"List\[(\w+)\]", text)
            model = resolve(version, operation["builder"], inner.group(1) if inner else text)
            found[version][name] = (typing.List[model] if inner else model, text)
        for name, path in (("sync-v1", "/dataservice/v1/smart-licensing/sync"),
                           ("sync-legacy", "/dataservice/smartLicensing/syncLicenses")):
            operation = index[("POST", path)]
            found[version][name] = (resolve(version, operation["builder"], operation["payload"]), operation["payload"])
    return found


# ----------------------------------------------------------------- validation

def wire_name(field):
    return field.metadata.get("alias", field.name)


def validate(value, annotation, path="", used=None):
    """Errors of `value` against `annotation` (a dataclass, List[...], Optional[...] or a scalar)."""
    used = set() if used is None else used
    errors = []
    if typing.get_origin(annotation) is typing.Union:
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if value is None:
            return errors
        annotation = options[0]
    where = path or "(root)"
    if annotation is typing.Any:
        return errors
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__} where {annotation.__name__} needs an object"]
        fields = {wire_name(field): field for field in dataclasses.fields(annotation)}
        hints = typing.get_type_hints(annotation)
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            if key not in fields:
                if ALLOWANCES.get((annotation.__name__, key), ("",))[0] == "extra key":
                    used.add((annotation.__name__, key))
                else:
                    errors.append(f"{child_path}: not a field of {annotation.__name__}")
                continue
            if hints[fields[key].name] in (typing.Optional[int], int) and isinstance(child, float) and \
                    ALLOWANCES.get((annotation.__name__, key), ("",))[0] == "number":
                used.add((annotation.__name__, key))
                continue
            errors += validate(child, hints[fields[key].name], child_path, used)
        return errors
    if typing.get_origin(annotation) in (list, typing.List):
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__} where a list is needed"]
        for item in value:
            errors += validate(item, typing.get_args(annotation)[0], f"{path}[]", used)
        return errors
    expected = {str: (str,), bool: (bool,), int: (int,), float: (int, float), dict: (dict,)}.get(annotation)
    if expected is None:
        return [f"{where}: the oracle cannot check {annotation!r}"]
    if not isinstance(value, expected) or (annotation is not bool and isinstance(value, bool)):
        return [f"{where}: {type(value).__name__} where the model has {annotation.__name__}"]
    return errors


def key_paths(value, path=""):
    """The dotted key paths of a JSON value (list items as `[]`)."""
    paths = set()
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            paths |= {child_path} | key_paths(child, child_path)
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, f"{path}[]")
    return paths


def model_paths(annotation, path=""):
    if typing.get_origin(annotation) is typing.Union:
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    if typing.get_origin(annotation) in (list, typing.List):
        return model_paths(typing.get_args(annotation)[0], f"{path}[]")
    if not dataclasses.is_dataclass(annotation):
        return set()
    paths = set()
    hints = typing.get_type_hints(annotation)
    for field in dataclasses.fields(annotation):
        child = f"{path}.{wire_name(field)}" if path else wire_name(field)
        paths |= {child} | model_paths(hints[field.name], child)
    return paths


# ----------------------------------------------------------------- the labs

@pytest.fixture(scope="module")
def labs(start_lab):
    return {release: start_lab("--scenario", "healthy", "--release", release, "--front", "builtin",
                               "--dialect", "documented", name=f"oracle-{release}")
            for release in RELEASES}


def answer(lab, api, name):
    method, path, params, _claimed, _since = ENDPOINTS[name]
    if name == "nping":
        path = path.replace("{deviceIP}", lab.info["vmanage"][0]["system_ip"])
        response = api.post(path, json={"host": "127.0.0.1", "vpn": "0", "probeType": "tcp", "count": "2",
                                        "destPort": lab.info["ssm"]["url"].rsplit(":", 1)[1]})
    else:
        response = api.request(method, path, params=params)
    assert response.status_code == 200, (name, response.text)
    return response.json()


def available(name, release):
    from sdwan_lab.releases import Release

    return Release(release) >= ENDPOINTS[name][4]


def test_the_builders_name_a_model_for_every_endpoint_the_collection_uses(models):
    for version in PACKAGES:
        assert {name: text for name, (_model, text) in models[version].items()} == {
            **EXPECTED_MODELS, "sync-v1": "SyncRequest", "sync-legacy": "LicenseUplodFile"}


@pytest.mark.parametrize("version", PACKAGES)
@pytest.mark.parametrize("release", RELEASES)
def test_documented_lab_answers_validate_against_ciscos_models(labs, models, release, version):
    lab = labs[release]
    api = lab.vmanage()
    errors, used, checked = [], set(), []
    for name, (model, _text) in models[version].items():
        if name.startswith("sync") or not available(name, release):
            continue
        body = answer(lab, api, name)
        errors += [f"{name}: {error}" for error in validate(body, model, used=used)]
        claimed = ENDPOINTS[name][3]
        errors += [f"{name}: the lab documents {key} but does not send it" for key in claimed - key_paths(body)]
        errors += [f"{name}: the lab documents {key}, the model has no such field" for key in claimed - model_paths(model)]
        checked.append(name)
    assert errors == []
    expected = {"fetchAccounts", "nping", "device/vmanage", "client/server", "client/token"}
    assert set(checked) == (expected | {"user-settings", "license"} if available("license", release) else expected)
    assert used == set(ALLOWANCES), "an allowance is no longer needed: remove it"


@pytest.mark.parametrize("release", RELEASES)
def test_the_sync_the_documented_lab_accepts_has_exactly_the_parts_of_ciscos_model(labs, models, release):
    import json

    lab = labs[release]
    api = lab.vmanage()
    data = json.dumps({"mode": "onprem", "multipleEntitlement": False,
                       "smartAccounts": [{"account_id": "1", "name": "sjc24_onprem_sle",
                                          "virtual_accounts": [{"virtual_account_id": "1"}]}]})
    syncs = [("sync-legacy", "/dataservice/smartLicensing/syncLicenses")]
    if available("license", release):
        syncs.append(("sync-v1", "/dataservice/v1/smart-licensing/sync"))
    for name, path in syncs:
        parts = [wire_name(field) for field in dataclasses.fields(models["v20_15"][name][0])]
        assert parts == ["data", "name"]
        values = {"data": (None, data, "application/json"), "name": ("license.bin", b"", "application/octet-stream")}
        assert api.post(path, files={part: values[part] for part in parts}).status_code == 200
        for missing in parts:
            refused = api.post(path, files={part: values[part] for part in parts if part != missing})
            assert refused.status_code == 400
            assert refused.json()["error"]["details"] == f"Missing multipart part '{missing}'"


def test_in_the_default_dialect_user_settings_do_not_validate(start_lab, models):
    lab = start_lab("--scenario", "healthy", "--release", "20.15.1", "--front", "builtin", name="oracle-default")
    body = answer(lab, lab.vmanage(), "user-settings")
    model = models["v20_15"]["user-settings"][0]
    assert validate(body, model) == [f"{key}: not a field of UserSettingsResponse"
                                     for key in ("lastSyncTime", "lastSyncStatus", "lastSyncError")]
    license_errors = validate(answer(lab, lab.vmanage(), "license"), models["v20_15"]["license"][0])
    assert "[].licenses[].Available: int where the model has str" in license_errors
