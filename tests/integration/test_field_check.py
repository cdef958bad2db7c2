"""The field check (playbooks/field_check.yml) against labs whose dialect is known.

Four labs and three runs of the playbook, each with its traces in a directory of its own (field_check_dir):
  default     the lab's default dialect: two healthy vManage 20.15.1 (v1 paths) sharing one SSM On-Prem
  documented  the `documented` preset: a healthy vManage 20.12.1 (legacy paths) and one 20.15.1, each in a lab of its
              own, checked as one fleet (the two releases read user settings on different paths)
  field-note  the field note's state (the grant vManage stores does not exist) with two axes changed, one answered by
              vManage (the failure status) and one by SSM On-Prem (no API Toolkit grant paths); plus a host for the same
              vManage whose password is wrong
The tests read what the playbook prints, the labs' request and write counters, the HAR files, and what
`sdwan-lab conformance` makes of those files.
"""
import concurrent.futures
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from sdwan_lab.dialects import DEFAULT_DIALECT, PRESETS, parse_dialect

from ..conftest import LAB_COMMAND, REPO, secret_forms

FIELD_CHECK = REPO / "playbooks" / "field_check.yml"
MARKER = "__REDACTED__"
LABS = {
    "default": dict(scenario="healthy", vmanage=2, release="20.15.1"),
    "documented-20.12": dict(scenario="healthy", release="20.12.1", dialect="documented"),
    "documented-20.15": dict(scenario="healthy", release="20.15.1", dialect="documented"),
    "field-note": dict(scenario="seed", dialect="authenticate-failure-status=403,ssm-grant-api=absent"),
}
RUNS = {"default": ("default",), "documented": ("documented-20.12", "documented-20.15"), "field-note": ("field-note",)}
REFUSED = "refused-login"
WRONG_PASSWORD = "Wrong!vmanage#password-4242"
# What a healthy vManage shows of its dialect to the field check's reads. 20.12.1: settings, legacy user settings
# (fields, mode spelling, envelope), the accounts vManage fetches (the accepted mode token, their shape); no licence API.
# 20.15.1: v1 user settings have no legacy envelope, and the licences' counts show their type.
SHOWN_AT_20_12 = ("user-settings-fields", "user-settings-mode", "user-settings-envelope", "settings-secret",
                  "settings-data", "mode-token", "fetch-accounts-shape")
SHOWN_AT_20_15 = ("user-settings-fields", "user-settings-mode", "settings-secret", "settings-data", "mode-token",
                  "fetch-accounts-shape", "license-counts")
# Requests one healthy vManage 20.15.1 answers in a field check (measured): two read-only sessions (vmanage_license_info,
# vmanage_precheck), each with login, server info, licensing settings, user settings, fetchAccounts and logout (12); the
# licences of each virtual account (the lab's two smart accounts have three: 3); the precheck's readiness, system IP,
# running config and nping (4).
REQUESTS_PER_HEALTHY_VMANAGE = 12 + 3 + 4
DIFFERENCE = re.compile(r"(?P<axis>[\w-]+)=(?P<seen>\S+) \(lab: (?P<lab>[^)]*)\)")
SECRET_HEADERS = ("authorization", "proxy-authorization", "x-xsrf-token", "x-csrf-token")
COOKIE_ATTRIBUTES = ("path", "domain", "expires", "max-age", "samesite", "priority", "secure", "httponly")
SECRET_KEYS = ("password", "j_password", "client_secret", "CSRFToken", "token", "accessToken", "access_token",
               "refresh_token")


def fleet_inventory(path, labs):
    """One inventory over the one vManage of each lab, named after its lab, each with its own lab's variables."""
    hosts = {}
    for name, lab in labs.items():
        group = yaml.safe_load(lab.inventory.read_text())["all"]["children"]["vmanage"]
        (host_vars,) = group["hosts"].values()
        hosts[name] = dict(group["vars"], **host_vars)
    path.write_text(yaml.safe_dump({"all": {"children": {"vmanage": {"hosts": hosts}}}}))
    return path


def refused_login_host(path, lab):
    """An inventory that adds, beside the lab's vmanage-001, a host for the same vManage with a wrong password."""
    (host,) = yaml.safe_load(lab.inventory.read_text())["all"]["children"]["vmanage"]["hosts"].values()
    host = dict(host, vmanage_password=WRONG_PASSWORD)
    path.write_text(yaml.safe_dump({"all": {"children": {"vmanage": {"hosts": {REFUSED: host}}}}}))
    return path


@pytest.fixture(scope="module")
def checked(module_lab, run_playbook, tmp_path_factory):
    """{run: (its labs {name: lab}, the field check's run, its field_check_dir)}; labs and runs side by side."""
    labs = dict(zip(LABS, module_lab.many(list(LABS.values()))))
    directories = {run: tmp_path_factory.mktemp(f"field-check-{run}") for run in RUNS}
    inventories = {run: [labs[names[0]].inventory] if len(names) == 1 else
                   [fleet_inventory(directories[run] / "inventory.yml", {name: labs[name] for name in names})]
                   for run, names in RUNS.items()}
    inventories["field-note"].append(refused_login_host(directories["field-note"] / "refused.yml", labs["field-note"]))
    traces = {run: directories[run] / "traces" for run in RUNS}
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(RUNS)) as pool:
        runs = dict(zip(RUNS, pool.map(lambda run: run_playbook(FIELD_CHECK, inventories[run], extra_vars={
            "field_check_dir": str(traces[run])}), RUNS)))
    return {run: ({name: labs[name] for name in names}, runs[run], traces[run]) for run, names in RUNS.items()}


def summary(run):
    """The lines the field check prints last (the msg of its task "Say what differs from the lab")."""
    tail = run.stdout.split("TASK [Say what differs from the lab]", 1)[1]
    start = tail.index("=> {") + len("=> ")
    return json.loads(tail[start:tail.index("\n}\n", start) + 2])["msg"]


def line_of(lines, source):
    """The summary's one line about a host or an SSM On-Prem URL."""
    found = [line for line in lines if line.startswith(f"{source} ")]
    assert len(found) == 1, f"no line, or more than one, about {source}: {lines}"
    return found[0]


def differences(line):
    """{axis: (what the product answered, the lab's default)} of one "answered unlike the lab" line."""
    return {match["axis"]: (match["seen"], match["lab"]) for match in DIFFERENCE.finditer(line)}


def suggested_spec(lines):
    found = [line for line in lines if line.startswith("the lab dialect that answers like this: ")]
    assert len(found) == 1, lines
    line = found[0]
    return line.split("--dialect ", 1)[1] if "--dialect " in line else ""


def hars(directory):
    return sorted(Path(directory).glob("*.har"))


def conformance(har, *args):
    """(exit code, JSON report) of `sdwan-lab conformance --json HAR ARGS`, as a maintainer runs it on a sent trace."""
    proc = subprocess.run([LAB_COMMAND, "conformance", str(har), "--json", *args], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.stdout.strip(), f"sdwan-lab conformance exited {proc.returncode}: {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def credentials_in_clear(har):
    """Where a HAR shows a session cookie, an XSRF/CSRF token, a bearer token or a password other than as the marker."""
    found = []
    for number, entry in enumerate(har["log"]["entries"], 1):
        for side in ("request", "response"):
            for header in entry[side]["headers"]:
                name = header["name"].lower()
                if name in SECRET_HEADERS and header["value"] != MARKER:
                    found.append(f"entry {number} {side} header {header['name']}")
                elif name in ("cookie", "set-cookie"):
                    for part in re.split(r"[;,]\s*", header["value"]):
                        cookie, _equals, value = part.partition("=")
                        if value and cookie.strip().lower() not in COOKIE_ATTRIBUTES and value != MARKER:
                            found.append(f"entry {number} {side} cookie {cookie.strip()}")
        texts = [entry["response"]["content"].get("text") or "", (entry["request"].get("postData") or {}).get("text") or ""]
        texts += [param["value"] for param in (entry["request"].get("postData") or {}).get("params") or []]
        for text in texts:
            try:
                document = json.loads(text)
            except ValueError:
                continue
            found += [f"entry {number} JSON {key}" for key, value in walk(document)
                      if key in SECRET_KEYS and isinstance(value, str) and value not in (MARKER, "")]
        for param in (entry["request"].get("postData") or {}).get("params") or []:
            if param["name"] in SECRET_KEYS and param["value"] not in (MARKER, ""):
                found.append(f"entry {number} form field {param['name']}")
    return found


def walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from walk(value)
            else:
                yield key, value
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# ----------------------------------------------------------------- what the field check says

def test_products_that_answer_as_the_lab_does_are_told_so_for_every_vmanage_and_the_ssm(checked):
    labs, run, _directory = checked["default"]
    info = labs["default"].info
    assert run.rc == 0 and run.failed_hosts() == [], run.stdout[-4000:]
    lines = summary(run)

    for vmanage in info["vmanage"]:
        assert line_of(lines, vmanage["name"]) == (f"{vmanage['name']} answered as the lab does by default "
                                                   f"({len(SHOWN_AT_20_15)} points compared)")
    assert line_of(lines, info["ssm"]["url"]).startswith(f"{info['ssm']['url']} answered as the lab does by default")
    assert "the lab dialect that answers like this: the default" in lines
    assert not [line for line in lines if "differently by different hosts" in line]


def test_documented_vmanage_of_two_releases_are_told_each_differing_axis_with_the_labs_value_and_one_dialect(checked):
    labs, run, _directory = checked["documented"]
    assert run.rc == 0 and run.failed_hosts() == [], run.stdout[-4000:]
    lines = summary(run)
    documented = PRESETS["documented"]

    assert differences(line_of(lines, "documented-20.12")) == {
        axis: (documented[axis], DEFAULT_DIALECT[axis]) for axis in SHOWN_AT_20_12}
    # v1 user settings spell the mode 'onPrem' in the default dialect too: 20.15.1 cannot tell that axis apart.
    assert differences(line_of(lines, "documented-20.15")) == {
        axis: (documented[axis], DEFAULT_DIALECT[axis]) for axis in SHOWN_AT_20_15 if axis != "user-settings-mode"}
    for lab in labs.values():
        ssm = lab.info["ssm"]["url"]
        assert line_of(lines, ssm).startswith(f"{ssm} answered as the lab does by default")
    # One dialect for the fleet: what each release shows, the 20.12.1 mode spelling included (no false conflict).
    assert not [line for line in lines if "differently by different hosts" in line], lines
    assert parse_dialect(suggested_spec(lines)) == {
        **DEFAULT_DIALECT, **{axis: documented[axis] for axis in SHOWN_AT_20_12 + SHOWN_AT_20_15}}


def test_in_the_field_notes_state_the_check_completes_and_names_the_axis_of_vmanage_and_the_one_of_ssm(checked):
    labs, run, _directory = checked["field-note"]
    ssm = labs["field-note"].info["ssm"]["url"]
    assert run.rc == 0 and run.failed_hosts() == [], run.stdout[-4000:]
    lines = summary(run)

    assert differences(line_of(lines, "vmanage-001")) == {"authenticate-failure-status": ("403", "400")}
    assert differences(line_of(lines, ssm)) == {"ssm-grant-api": ("absent", "present")}
    assert suggested_spec(lines) == "authenticate-failure-status=403,ssm-grant-api=absent"


def test_a_vmanage_that_refuses_the_login_is_said_to_show_nothing_and_is_not_asked_again(checked):
    _labs, run, directory = checked["field-note"]

    assert line_of(summary(run), REFUSED) == f"{REFUSED} showed nothing to compare with the lab (VMANAGE_AUTH_FAILED)"
    (har,) = [har for har in hars(directory) if har.name.startswith(f"{REFUSED}-")]
    logins = [entry for entry in json.loads(har.read_text())["log"]["entries"]
              if entry["request"]["url"].endswith("/j_security_check")]
    assert len(logins) == 2  # the facts and the precheck; no second read of the facts after a refused login


# ----------------------------------------------------------------- read-only, and how much it reads

def test_the_field_check_writes_nothing_on_any_vmanage_or_ssm(checked):
    writes = {name: lab.writes() for labs, _run, _directory in checked.values() for name, lab in labs.items()}

    assert writes == {name: dict.fromkeys(listeners, 0) for name, listeners in writes.items()}
    assert all(len(listeners) > 1 for listeners in writes.values())  # SSM and every vManage of each lab


def test_each_healthy_vmanage_answers_the_measured_number_of_requests_and_ssm_sees_one_admin_login(checked):
    labs, _run, _directory = checked["default"]
    state = labs["default"].state()

    per_vmanage = {name: sum(vmanage["requests"].values()) for name, vmanage in state["vmanage"].items()}
    assert per_vmanage == dict.fromkeys(["vmanage-001", "vmanage-002"], REQUESTS_PER_HEALTHY_VMANAGE), {
        name: vmanage["requests"] for name, vmanage in state["vmanage"].items()}
    assert state["ssm"]["requests"].get("POST /backend/auth/identity/callback") == 1


# ----------------------------------------------------------------- the wire traces

def test_each_vmanage_and_the_look_at_ssm_leave_a_trace_that_the_summary_names(checked):
    for run_name, (labs, run, directory) in checked.items():
        hosts = ([vmanage["name"] for vmanage in labs[run_name].info["vmanage"]] if len(labs) == 1 else list(labs))
        hosts += [REFUSED] if run_name == "field-note" else []
        assert sorted(har.name.rsplit("-", 2)[0] for har in hars(directory)) == sorted(["license_report", *hosts]), run_name
        named = sorted(line.rsplit(": ", 1)[1] for line in summary(run) if line.startswith("wire trace "))
        assert named == [str(har) for har in hars(directory)], run_name
        for har in hars(directory):
            document = json.loads(har.read_text())
            assert document["log"]["creator"]["name"] == "sdwan_ops.license_sync" and document["log"]["entries"], har


def test_no_password_client_secret_session_or_token_reaches_the_trace_directory(checked):
    for run_name, (labs, _run, directory) in checked.items():
        secrets = {value: what for lab in labs.values() for value, what in lab.secrets().items()}
        secrets[WRONG_PASSWORD] = f"{REFUSED}'s (wrong) password"
        files = {str(path): path.read_text(errors="replace") for path in sorted(Path(directory).rglob("*")) if path.is_file()}
        assert len(files) > len(hars(directory))  # the HARs and the report beside them are searched

        leaks = [f"{what} in {path}" for value, what in secrets.items() for form in secret_forms(value)
                 for path, text in files.items() if form in text]
        assert leaks == [], run_name
        assert {har.name: credentials_in_clear(json.loads(har.read_text())) for har in hars(directory)} == {
            har.name: [] for har in hars(directory)}


def test_conformance_finds_no_difference_in_the_traces_of_a_lab_that_plays_the_default(checked):
    _labs, _run, directory = checked["default"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        results = dict(zip(hars(directory), pool.map(conformance, hars(directory))))

    assert {har.name: (code, report["differences"]) for har, (code, report) in results.items()} == {
        har.name: (0, 0) for har in results}
    assert all(report["entries"]["replayed"] == report["entries"]["api"] > 0 for _code, report in results.values())


def test_conformance_suggests_the_documented_dialect_from_a_documented_trace_and_finds_no_difference_with_it(checked):
    _labs, run, directory = checked["documented"]
    (har,) = [har for har in hars(directory) if har.name.startswith("documented-20.12-")]

    code, report = conformance(har)
    assert code == 1 and report["differences"] > 0  # against the lab's default
    assert report["suggested_dialect"] == {axis: PRESETS["documented"][axis] for axis in SHOWN_AT_20_12}
    field_check = parse_dialect(suggested_spec(summary(run)))
    assert {axis: field_check[axis] for axis in report["suggested_dialect"]} == report["suggested_dialect"]  # they agree

    code, again = conformance(har, "--dialect", report["suggested_spec"])
    assert (code, again["differences"]) == (0, 0), [item for item in again["endpoints"] if item["differences"]]
