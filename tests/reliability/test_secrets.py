"""No secret anywhere: full fix and compliance runs at -vvvv, with ANSIBLE_DEBUG=1, with --diff and
--check, and under ansible-runner, with the wire trace on (trace_dir), searched for the ACTUAL secret
values of the run.

The runs go through the HTTPS interceptor (the collection's own vmanage_proxy/ssm_proxy options),
which records every session cookie, XSRF token, access token, password and client secret that
crossed the wire; the lab adds its passwords and, at the end, every grant's secret as the API
Toolkit shows it. Searched: stdout, stderr, the callback records, ANSIBLE_LOG_PATH, the
compliance reports, the HAR wire traces, ansible-runner's whole private data directory, and the lines of SSM's nginx
access log that the collection caused (vManage's own token call carries the secret in its query
string: that is vManage's behaviour, logged with vManage's user agent, and excluded by it).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

VMANAGE_USER_AGENT = "Apache-HttpClient/"
COLLECTION_USER_AGENT = "sdwan_ops.license_sync"
DEBUG_ENV = {"ANSIBLE_DEBUG": "1"}
ANSIBLE_DEBUG_LINE = re.compile(r"(?m)^ *\d+ \d+\.\d+: ")
SECRET_VARIABLES = ("vmanage_password", "ssm_password", "ssm_admin_password", "ssm_client_secret")
# The caller's input, not output: env/ is where AWX/the test puts the credentials, and
# artifacts/<id>/command is ansible-runner's own 0600 copy of that environment, written before
# ansible-playbook starts. Everything else in the private data dir is searched.
RUNNER_INPUTS = re.compile(r"private-data-dir/(env/|artifacts/[^/]+/command$)")


class LeakHunt:
    """One lab, one interceptor; runs accumulate their output files; `verdict()` searches them all."""

    def __init__(self, lab, interceptor, ansible, workdir, rel):
        self.lab, self.interceptor, self.ansible, self.rel = lab, interceptor, ansible, rel
        self.workdir = Path(workdir)
        self.bundle = self.workdir / "ca-bundle.pem"
        self.bundle.write_bytes(Path(lab.info["ca_cert"]).read_bytes() + interceptor.ca_pem)
        self.runs = []  # (name, {source: text})
        self.timings = {}

    @property
    def via_interceptor(self):
        return {"vmanage_proxy": self.interceptor.proxy_url, "ssm_proxy": self.interceptor.proxy_url,
                "vmanage_ca_path": str(self.bundle), "ssm_ca_path": str(self.bundle)}

    def playbook(self, name, playbook, inventory=None, extra_vars=None, env=None, direct=False, **options):
        """A run through the interceptor, or ``direct`` (then only the lab's own secrets are known for it)."""
        log_path = self.workdir / f"{name}.log"
        report_dir = self.workdir / f"{name}-reports"
        trace_dir = self.workdir / f"{name}-traces"
        variables = dict({} if direct else self.via_interceptor, license_compliance_report_dir=str(report_dir),
                         license_sync_trace_dir=str(trace_dir), **(extra_vars or {}))
        started = time.monotonic()
        run = self.ansible.run(playbook, inventory or self.lab.inventory, extra_vars=variables,
                               env=dict({"ANSIBLE_LOG_PATH": str(log_path)}, **(env or {})), **options)
        self.timings[name] = round(time.monotonic() - started, 1)
        sources = {f"{name}/stdout": run.stdout, f"{name}/stderr": run.stderr}
        sources.update(self.rel.leaks.read_tree(run.files["records"], f"{name}/callback-records"))
        if log_path.exists():
            sources.update(self.rel.leaks.read_tree(log_path, f"{name}/ansible.log"))
        if report_dir.exists():
            sources.update(self.rel.leaks.read_tree(report_dir, f"{name}/reports"))
        if trace_dir.exists():
            sources.update(self.rel.leaks.read_tree(trace_dir, f"{name}/traces"))
        self.runs.append((name, sources))
        return run

    def runner(self, name, playbook, inventory, envvars):
        """The playbook as AWX runs it: ansible-runner, private data dir, credentials only in env/envvars
        (the interceptor's proxy and CA bundle as extra vars, like a job template's)."""
        private = self.workdir / f"{name}-runner"
        (private / "env").mkdir(parents=True)
        (private / "inventory").mkdir()
        shutil.copy(inventory, private / "inventory" / "hosts.yml")
        base = {key: value for key, value in self.ansible.base_env.items() if key.startswith("ANSIBLE_")}
        record_file = self.workdir / f"{name}.jsonl"
        base.update(self.rel.runs.recorder_environment({}, record_file))
        (private / "env" / "envvars").write_text(yaml.safe_dump(dict(base, **envvars)))
        (private / "env" / "settings").write_text(yaml.safe_dump({"process_isolation": False}))
        (private / "env" / "extravars").write_text(yaml.safe_dump(dict(
            self.via_interceptor, license_compliance_report_dir=str(private / "reports"), license_sync_trace_dir=str(private / "traces"))))
        started = time.monotonic()
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-runner"), "run", str(private), "-p", str(playbook),
             "--project-dir", str(Path(playbook).parent)],
            capture_output=True, text=True, env=dict(os.environ, PATH=self.ansible.base_env["PATH"], **base), timeout=900, check=False)
        self.timings[name] = round(time.monotonic() - started, 1)
        sources = {f"{name}/stdout": proc.stdout, f"{name}/stderr": proc.stderr}
        sources.update({where: text for where, text in self.rel.leaks.read_tree(private, f"{name}/private-data-dir").items()
                        if not RUNNER_INPUTS.search(where)})
        sources.update(self.rel.leaks.read_tree(record_file, f"{name}/callback-records") if record_file.exists() else {})
        self.runs.append((name, sources))
        status = (next((private / "artifacts").glob("*/status")).read_text().strip()
                  if (private / "artifacts").is_dir() else "no artifacts")
        return proc, status, sources

    def collection_access_log_lines(self):
        text = Path(self.lab.info["ssm"]["logs"]["access"]).read_text()
        return [line for line in text.splitlines() if VMANAGE_USER_AGENT not in line]

    def secrets(self):
        leaks = self.rel.leaks
        info = self.lab.info
        found = [leaks.Secret("password", info["ssm"]["admin_password"]), leaks.Secret("password", info["ssm"]["password"])]
        found += [leaks.Secret("password", vm["password"]) for vm in info["vmanage"]]
        found += [leaks.Secret("client secret", grant["client_secret"]) for grant in self.rel.labhttp.LabHttp(info).grants()]
        found += [leaks.Secret(kind, value) for value, kind in self.interceptor.wire_secrets().items()]
        return leaks.dedupe(found)


def inventory_without_passwords(lab, directory, host):
    """The lab's inventory of ``host`` minus every secret: AWX injects them as environment variables."""
    data = yaml.safe_load(Path(lab.inventory).read_text())
    group = data["all"]["children"]["vmanage"]
    group["hosts"] = {host: group["hosts"][host]}
    for variables in [group["vars"], *group["hosts"].values()]:
        for name in SECRET_VARIABLES:
            variables.pop(name, None)
    path = Path(directory) / "inventory-no-secrets.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def inventory_with_grant(lab, directory, host, grant):
    """A second inventory source giving ``host`` the client id/secret of its grant (compliance verifies it)."""
    path = Path(directory) / "grant-vars.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"vmanage": {"hosts": {host: {
        "ssm_client_id": grant["client_id"], "ssm_client_secret": grant["client_secret"]}}}}}}))
    return [lab.inventory, path]


@pytest.mark.slow
def test_no_secret_in_any_output_of_full_runs(lab, interceptors, ansible, tmp_path, rel):
    started = time.monotonic()
    one = lab(scenario="seed", vmanage=3)
    hunt = LeakHunt(one, interceptors(upstream_ca_path=one.info["ca_cert"]), ansible, tmp_path, rel)
    fix, compliance = rel.runs.PLAYBOOKS / "fix_license_sync.yml", rel.runs.PLAYBOOKS / "license_compliance.yml"
    first, second, third = (vm["name"] for vm in one.info["vmanage"])

    runs = {
        "fix --check --diff -vvvv": hunt.playbook("fix-check-diff", fix, check=True, diff=True, verbosity=4, limit=first),
        "fix --diff -vvvv ANSIBLE_DEBUG=1": hunt.playbook("fix-debug", fix, diff=True, verbosity=4, env=DEBUG_ENV, limit=first),
        "fix rerun -vvvv": hunt.playbook("fix-rerun", fix, verbosity=4, limit=first),
        "fix -vvvv without the interceptor": hunt.playbook("fix-direct", fix, verbosity=4, limit=third, direct=True),
    }
    grant = next(g for g in rel.labhttp.LabHttp(one.info).grants() if g["name"].endswith(first))
    runs["precheck with the grant's id/secret -vvvv"] = hunt.playbook(
        "precheck-grant", rel.runs.OWN_PLAYBOOKS / "precheck.yml", inventory=inventory_with_grant(one, tmp_path, first, grant), verbosity=4)
    runs["compliance -vvvv ANSIBLE_DEBUG=1 (grant verified)"] = hunt.playbook(
        "compliance-debug", compliance, inventory=inventory_with_grant(one, tmp_path, first, grant), verbosity=4, env=DEBUG_ENV)
    runs["compliance --check --diff -vvvv"] = hunt.playbook("compliance-check", compliance, check=True, diff=True, verbosity=4)

    no_secrets = inventory_without_passwords(one, tmp_path, second)
    credentials = {"VMANAGE_PASSWORD": next(vm["password"] for vm in one.info["vmanage"] if vm["name"] == second),
                   "SSM_PASSWORD": one.info["ssm"]["password"], "SSM_ADMIN_PASSWORD": one.info["ssm"]["admin_password"]}
    runner_fix = hunt.runner("runner-fix", fix, no_secrets, credentials)
    runner_compliance = hunt.runner("runner-compliance", compliance, no_secrets, credentials)

    usable, too_short = hunt.secrets()
    sources = {}
    for _name, run_sources in hunt.runs:
        sources.update(run_sources)
    access_lines = hunt.collection_access_log_lines()
    sources["ssm nginx access log (collection's requests)"] = "\n".join(access_lines)
    hits = rel.leaks.search(usable, sources)

    problems = [str(hit) for hit in hits[:40]]
    problems += [f"secret too short to search reliably ({s.kind}, {len(s.value)} chars)" for s in too_short]
    for label, run in runs.items():
        if run.tracebacks() or run.rc not in (0, 2):
            problems.append(f"{label}: rc {run.rc}, tracebacks {run.tracebacks()[:1]}: {run.stderr[-500:]}")
    for label, (proc, status, _sources) in {"runner fix": runner_fix, "runner compliance": runner_compliance}.items():
        if status != "successful":
            problems.append(f"{label}: ansible-runner status {status}: {proc.stdout[-800:]}")
    debug_run = runs["fix --diff -vvvv ANSIBLE_DEBUG=1"]
    if debug_run.failed(first) or not debug_run.changed(first):
        problems.append("the fix under ANSIBLE_DEBUG did not fix the vManage, so the search misses the secrets of a real fix")
    if not ANSIBLE_DEBUG_LINE.search(debug_run.stdout + debug_run.stderr):
        problems.append("the ANSIBLE_DEBUG run shows no Ansible debug lines: the variable did not take effect")
    traces = [where for where in sources if "/traces/" in where and where.endswith(".har")]
    if len(traces) < len(runs):
        problems.append(f"only {len(traces)} wire traces for {len(runs)} runs: the trace search proved little")
    if not any("__REDACTED__" in sources[where] for where in traces):
        problems.append("no redaction marker in any wire trace: the traces hold no credential to hide, or were not written")
    if not any(COLLECTION_USER_AGENT in line for line in access_lines):
        problems.append("no request of the collection in SSM's access log: the access-log search proved nothing")
    token_lines = [line for line in access_lines if "/backend/oauth/token" in line]
    if not token_lines:
        problems.append("no token request of the collection in SSM's access log: the query-string check proved nothing")
    problems += [f"collection token request with a query string: {line[:160]}" for line in token_lines if "/backend/oauth/token?" in line]
    kinds = {}
    for secret in usable:
        kinds[secret.kind] = kinds.get(secret.kind, 0) + 1
    rel.results.record("secrets", "full-runs", dict(
        runs=sorted(list(runs) + ["ansible-runner fix (credentials in env)", "ansible-runner compliance (credentials in env)"]),
        secrets_searched=len(usable), secrets_by_kind=kinds, sources_searched=len(sources),
        wire_traces_searched=len([where for where in sources if where.endswith(".har")]),
        bytes_searched=sum(len(text) for text in sources.values()), hits=len(hits), hit_samples=[str(h) for h in hits[:10]],
        wire_exchanges=len(hunt.interceptor.exchanges), collection_access_log_lines=len(access_lines),
        timings=hunt.timings, seconds=round(time.monotonic() - started, 1), problems=problems, passed=not problems))
    assert len(usable) >= 10, f"too few secrets collected to prove anything: {len(usable)}"
    assert not problems, "\n".join(problems)


def test_leak_search_finds_planted_secrets(rel):
    """The search itself can fail: a secret planted raw, URL-encoded or JSON-escaped is found."""
    secret = rel.leaks.Secret("password", "p@ss w/rd+\"x\"1")
    texts = {"raw": f"user=admin pw={secret.value}", "urlencoded": "password=" + urllib.parse.quote_plus(secret.value, safe=""),
             "json": json.dumps({"x": secret.value}), "clean": "nothing here ********"}
    found = {hit.where for hit in rel.leaks.search([secret], texts)}
    assert found == {"raw", "urlencoded", "json"}
    assert all(secret.value not in str(hit) for hit in rel.leaks.search([secret], texts))
