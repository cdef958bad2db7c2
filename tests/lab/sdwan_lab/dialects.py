"""Dialects: the variants of the real products the lab can play, selected per lab (docs/lab.md "Dialects").

Where no public source fixes a behaviour, the lab can answer in each plausible variant. This module is
the one table of them: every axis with its values, the default (the lab's historical behaviour, so that
a lab started without --dialect answers exactly as before), the value of the `documented` preset (what
Cisco's published API reference and generated SDK models show), and the source of every value. The
simulators read `self.dialect[AXIS]` where they differ; each value without a public source is marked
`[I]` there.

A dialect SPEC is `documented` (the preset), `AXIS=VALUE[,AXIS=VALUE...]` (overrides of the default),
or `documented,AXIS=VALUE...` (the preset, then overrides).
"""

from dataclasses import dataclass

from .scenarios import ConfigurationError

NO_SOURCE = "no public source (plausible variant)"
DEVNET = "https://developer.cisco.com/docs/sdwan/20-16"
SDK_15 = "catalystwan-v20-15==2.0.0a1 catalystwan/versions/v20_15"
CATALYSTWAN = "https://github.com/CiscoDevNet/catalystwan"
DOCUMENTED = "documented"


class DialectError(ConfigurationError):
    """A dialect SPEC that names an unknown axis, value or preset."""


@dataclass(frozen=True)
class Axis:
    name: str
    meaning: str
    values: dict  # value -> its source; the order is the documentation order, default first
    default: str
    documented: str

    def source(self, value):
        return self.values[value]


AXES = {axis.name: axis for axis in (
    Axis(
        "user-settings-fields",
        "the fields of GET smartLicensing/getUserSettings and v1/smart-licensing/user-settings",
        {
            "full": f"{NO_SOURCE}: the four documented fields plus lastSyncTime, lastSyncStatus, lastSyncError",
            "documented": f"{SDK_15}/v1/smart_licensing/user_settings/models.py UserSettingsResponse; "
                          f"{DEVNET}/usersettingsresponse (exactly isPresentCredentials, mode, "
                          "multipleEntitlement, uname)",
        },
        "full", "documented"),
    Axis(
        "user-settings-mode",
        "how user settings spell the on-prem mode (every path)",
        {
            "by-path": f"{NO_SOURCE}: legacy getUserSettings 'onprem', v1 user-settings 'onPrem'",
            "onPrem": f"{SDK_15}/v1/smart_licensing/user_settings/models.py UserSettingsResponse "
                      f"(\"'online', 'offline' or 'onPrem'\"); {DEVNET}/usersettingsresponse",
            "onprem": f"{NO_SOURCE}: the spelling of Cisco's sync example, {DEVNET}/syncrequest",
            "on-prem": f"{NO_SOURCE}: the spelling of the settings enum, {CATALYSTWAN} "
                       "catalystwan/endpoints/configuration_settings.py",
        },
        "by-path", "onPrem"),
    Axis(
        "user-settings-envelope",
        "whether legacy getUserSettings wraps its object in {\"data\": [...]}",
        {
            "list": f"{NO_SOURCE}: {{\"data\": [{{...}}]}} as other legacy GETs; getUserSettings has no "
                    f"response schema ({DEVNET}/getuser-settings)",
            "object": f"{NO_SOURCE} for the legacy path: the bare object the v1 path answers "
                      f"({SDK_15}/v1/smart_licensing/user_settings/models.py UserSettingsResponse)",
        },
        "list", "object"),
    Axis(
        "settings-secret",
        "ssmClientSecret in GET/PUT answers of settings/configuration/smartLicensing",
        {
            "masked": f"{NO_SOURCE}: \"ssmClientSecret\": \"********\"",
            "omitted": "https://github.com/cisco-open/ansible-collection-catalystwan "
                       "plugins/modules/administration_settings.py (settings GET returns no password "
                       "content); the key is absent",
        },
        "masked", "omitted"),
    Axis(
        "settings-data",
        "the `data` of GET/PUT settings/configuration/* answers",
        {
            "list": f"{CATALYSTWAN} catalystwan/endpoints/configuration_settings.py (reads `data` as a "
                    "list or an object): {\"data\": [{...}]}",
            "object": f"{CATALYSTWAN} catalystwan/endpoints/configuration_settings.py (reads `data` as a "
                      "list or an object): {\"data\": {...}}",
        },
        "list", "object"),
    Axis(
        "mode-token",
        "the on-prem token authenticate's body `mode` and fetchAccounts?mode= accept (sync also takes onprem)",
        {
            "onprem": f"{NO_SOURCE}: the spelling of Cisco's sync example, {DEVNET}/syncrequest",
            "on-prem": f"{NO_SOURCE}: the spelling of the settings enum, {CATALYSTWAN} "
                       "catalystwan/endpoints/configuration_settings.py",
            "onPrem": f"{NO_SOURCE}: the spelling of the user-settings description, {DEVNET}/usersettingsresponse",
        },
        "onprem", "on-prem"),
    Axis(
        "authenticate-failure-status",
        "the HTTP status of a failed authenticate, fetchAccounts or sync (body: the SLIC0001 envelope)",
        {
            "400": f"{DEVNET}/sleauthenticate (documented statuses 400, 403, 500; the body is not)",
            "403": f"{DEVNET}/sleauthenticate (documented statuses 400, 403, 500; the body is not)",
            "500": f"{DEVNET}/sleauthenticate (documented statuses 400, 403, 500; the body is not)",
            "401": f"{NO_SOURCE}: a 401 with the JSON envelope, not an expired session",
        },
        "400", "403"),
    Axis(
        "fetch-accounts-shape",
        "the answer of GET smartLicensing/fetchAccounts",
        {
            "accounts": f"{NO_SOURCE}: {{\"accounts\": [{{account_id, name, virtual_accounts: "
                        "[{virtual_account_id, name, default}]}]}",
            "object": f"{SDK_15}/smart_licensing/fetch_accounts/models.py SmartLicensingfetchAccountsResp; "
                      f"{DEVNET}/fetch-sava-accounts: one object {{account_id, name, virtual_accounts}} "
                      "(the default account)",
            "capture": "https://github.com/dafrey243/sdwan getSmartLicFetchAllSa.py (a live capture): "
                       "{\"accounts\": [...]} with `vaaccountid` in virtual accounts",
        },
        "accounts", "object"),
    Axis(
        "sync-parts",
        "the multipart parts syncLicenses and v1/smart-licensing/sync require",
        {
            "data": f"{NO_SOURCE}: only `data` (a live script sends `data` and a part named `file`, "
                    "https://github.com/dafrey243/sdwan postSyncSaVa.py)",
            "data+name": f"{SDK_15}/v1/smart_licensing/sync/models.py SyncRequest, "
                         f"{SDK_15}/smart_licensing/sync_licenses/models.py LicenseUplodFile; "
                         f"{DEVNET}/syncrequest: `data` and `name`",
        },
        "data", "data+name"),
    Axis(
        "sync-answer",
        "the body of a successful POST v1/smart-licensing/sync (legacy syncLicenses always answers {})",
        {
            "json": f"{NO_SOURCE}: {{\"status\": \"Success\"}}",
            "text": f"{DEVNET}/sync-licenses-2 (200 \"Success\", no schema): text/plain `Success`",
        },
        "json", "text"),
    Axis(
        "ssm-admin-login-failure",
        "SSM's answer to a bad Admin Workspace login (POST /backend/auth/identity/callback)",
        {
            "401": f"{NO_SOURCE}: 401 {{\"error_message\"}} (Metasploit's cisco_ssm_onprem_account.rb only "
                   "checks for a 200 with `uid`)",
            "200-error": f"{NO_SOURCE}: 200 {{\"error_message\"}} without `uid`, as neighbouring SSM "
                         "endpoints answer errors",
        },
        "401", "200-error"),
    Axis(
        "ssm-grant-api",
        "whether SSM serves the API Toolkit grant paths under /backend/api_toolkit/",
        {
            "present": f"{NO_SOURCE}: the lab's grant API (docs/dev/interfaces.md section 4)",
            "absent": f"{NO_SOURCE}: every /backend/api_toolkit/ path is an unknown Rails route (404); "
                      "grants are made by hand (sdwan-lab grant)",
        },
        "present", "present"),
    Axis(
        "license-counts",
        "the JSON type of Available, inUse and quantity in GET v1/smart-licensing/license (Purchased is an integer)",
        {
            "integer": f"{NO_SOURCE}: the integers SSM reports, passed through",
            "string": f"{SDK_15}/v1/smart_licensing/license/models.py LicenseInfo; {DEVNET}/getlicenseresponseinner",
        },
        "integer", "string"),
)}

DEFAULT_DIALECT = {name: axis.default for name, axis in AXES.items()}
PRESETS = {DOCUMENTED: {name: axis.documented for name, axis in AXES.items()}}


def _valid_axes():
    return "; ".join(f"{name}={'|'.join(axis.values)}" for name, axis in AXES.items())


def parse_dialect(spec):
    """The effective dialect {axis: value} of SPEC (None or "" = the default)."""
    dialect = dict(DEFAULT_DIALECT)
    if not spec:
        return dialect
    items = [item.strip() for item in spec.split(",")]
    for position, item in enumerate(items):
        if not item:
            raise DialectError(f"empty item in dialect {spec!r}")
        if "=" not in item:
            if item in PRESETS and position == 0:
                dialect.update(PRESETS[item])
                continue
            if item in PRESETS:
                raise DialectError(f"the preset {item!r} must be the first item of the dialect")
            raise DialectError(f"unknown dialect preset {item!r}; presets: {', '.join(PRESETS)}; "
                               f"or AXIS=VALUE with {_valid_axes()}")
        name, value = (part.strip() for part in item.split("=", 1))
        axis = AXES.get(name)
        if axis is None:
            raise DialectError(f"unknown dialect axis {name!r}; axes: {', '.join(AXES)}")
        if value not in axis.values:
            raise DialectError(f"unknown value {value!r} of dialect axis {name}; values: {', '.join(axis.values)}")
        dialect[name] = value
    return dialect


def dialect_spec(dialect):
    """The shortest SPEC for `dialect`: only the axes that differ from the default or the preset."""
    plain = [f"{name}={value}" for name, value in dialect.items() if value != DEFAULT_DIALECT[name]]
    preset = [DOCUMENTED] + [f"{name}={value}" for name, value in dialect.items()
                             if value != PRESETS[DOCUMENTED][name]]
    return ",".join(preset if len(preset) < len(plain) else plain)


def table():
    """Every axis as data (sdwan-lab dialects --json)."""
    return {
        "axes": {
            name: {
                "meaning": axis.meaning,
                "default": axis.default,
                "documented": axis.documented,
                "values": {value: {"source": source, "default": value == axis.default,
                                   "documented": value == axis.documented}
                           for value, source in axis.values.items()},
            }
            for name, axis in AXES.items()
        },
        "presets": {"default": dict(DEFAULT_DIALECT), **{name: dict(values) for name, values in PRESETS.items()}},
        "spec": "documented | AXIS=VALUE[,AXIS=VALUE...] | documented,AXIS=VALUE[,...]",
    }


def render_table():
    """Every axis as text (sdwan-lab dialects)."""
    lines = ["Dialect axes (--dialect documented | AXIS=VALUE[,...] | documented,AXIS=VALUE[,...]).",
             "[default] is the lab's behaviour without --dialect; [documented] the value of the documented preset.",
             ""]
    for name, axis in AXES.items():
        lines.append(f"{name}: {axis.meaning}")
        lines.append(f"  default {axis.default}, documented {axis.documented}")
        width = max(map(len, axis.values))
        for value, source in axis.values.items():
            marks = "".join(mark for mark, wanted in (("[default]", axis.default), ("[documented]", axis.documented))
                            if value == wanted)
            lines.append(f"  {value:{width}}  {marks:21} {source}")
        lines.append("")
    return "\n".join(lines)


def pairwise(extra=None):
    """A small set of dialects in which every pair of values of any two axes appears at least once (a covering array).

    ``extra``: further axes to cover with the dialect axes, {name: [values]} (for example vManage releases); each row
    is a dict {axis: value}. Greedy and deterministic (the same rows on every call): each new row starts from the
    first uncovered pair and picks, axis by axis, the value that covers the most pairs not yet covered.
    """
    dimensions = [(name, list(axis.values)) for name, axis in AXES.items()] + sorted((extra or {}).items())
    uncovered = {((i, a), (j, b)) for i in range(len(dimensions)) for j in range(i + 1, len(dimensions))
                 for a in dimensions[i][1] for b in dimensions[j][1]}
    rows = []
    while uncovered:
        (first, a), (second, b) = min(uncovered)
        row = {first: a, second: b}
        for index, (_name, values) in enumerate(dimensions):
            if index in row:
                continue

            def gain(value, index=index):
                return sum(1 for other, chosen in row.items()
                           if (min((index, value), (other, chosen)), max((index, value), (other, chosen))) in uncovered)
            row[index] = max(values, key=lambda value: (gain(value), -values.index(value)))
        uncovered -= {((i, row[i]), (j, row[j])) for i in row for j in row if i < j}
        rows.append({dimensions[index][0]: value for index, value in sorted(row.items())})
    return rows
