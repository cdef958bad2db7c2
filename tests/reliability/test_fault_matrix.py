"""Fault matrix: every lab fault x (precheck, compliance, fix), on a vManage in the Grant not found
state and on a healthy one, then the fault cleared: the expected outcome of each cell,
asserted. FAULT_MATRIX below is the single source; the results land in
tests/output/reliability/fault_matrix/ and tools/render_reliability.py renders docs/reliability.md.

Per lab: vManage "field" starts in the `seed` state (grant unknown to SSM), vManage "healthy" is
fixed by hand first (the manual procedure: API Toolkit grant, settings, authenticate, sync; its own grant). Then the fault is
switched on; precheck + compliance run (one playbook), the fix runs; the fault is cleared, the
healthy vManage must still authenticate, and a second fix must converge. Faults on vManage share
one lab (two vManage per fault); each SSM fault gets its own lab (SSM is shared by all vManage).

Outcome texts: see tests/reliability/support/outcomes.py. "fixed" under an every-k fault also
requires that the lab answered at least one request of the run with the fault (it was retried
through, not avoided).
"""
import concurrent.futures
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

FIELD, HEALTHY = "field", "healthy"
EVERY_K_FAULTS = ("flapping-5xx", "rate-limit")


@dataclass(frozen=True)
class FaultCase:
    id: str
    title: str
    fault: str  # lab fault name, or "" for a scenario-only case
    target: str  # "ssm" or "vmanage" (then applied to both vManage of the case)
    field_host: tuple  # expected (precheck, compliance, fix) on the field vManage
    healthy_host: tuple  # the same on the healthy vManage; () when the scenario has none
    after: tuple = ("converged", "converged")  # fix after the fault is cleared (field, healthy)
    options: dict = field(default_factory=dict)
    scenario: str = "seed"
    host_vars: dict = field(default_factory=dict)
    ssm_host_name: bool = False  # ssm_url names SSM by host name (localhost), so DNS matters
    clears: bool = True  # False: a one-shot fault whose --clear would undo history (grant-deleted)

    @property
    def group(self):
        return "vmanage-faults" if self.target == "vmanage" and self.scenario == "seed" else self.id


FAULT_MATRIX = [
    FaultCase("grant-deleted", "grant deleted on SSM after a good run", "grant-deleted", "ssm", clears=False,
              field_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "fixed"),
              healthy_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "fixed")),
    FaultCase("ssm-backend-down", "SSM backend down (nginx 502)", "ssm-backend-down", "ssm",
              field_host=("blocked SSM_BACKEND_DOWN", "broken", "stopped SSM_BACKEND_DOWN"),
              healthy_host=("blocked SSM_BACKEND_DOWN", "broken SSM_BACKEND_DOWN", "stopped SSM_BACKEND_DOWN")),
    FaultCase("ssm-listener-closed", "SSM listener closed", "ssm-listener-closed", "ssm",
              field_host=("blocked SSM_UNREACHABLE", "broken", "stopped SSM_UNREACHABLE"),
              healthy_host=("blocked SSM_UNREACHABLE", "broken SSM_UNREACHABLE", "stopped SSM_UNREACHABLE")),
    FaultCase("ssm-wrong-cert-ca", "wrong certificate on SSM (other CA)", "wrong-cert", "ssm", options={"variant": "other-ca"},
              field_host=("blocked SSM_TLS_UNTRUSTED", "broken", "stopped SSM_TLS_UNTRUSTED"),
              healthy_host=("blocked SSM_TLS_UNTRUSTED", "broken SSM_TLS_UNTRUSTED", "stopped SSM_TLS_UNTRUSTED")),
    FaultCase("ssm-wrong-cert-host", "wrong certificate on SSM (other host name)", "wrong-cert", "ssm", options={"variant": "wrong-host"},
              field_host=("blocked SSM_TLS_UNTRUSTED", "broken", "stopped SSM_TLS_UNTRUSTED"),
              healthy_host=("blocked SSM_TLS_UNTRUSTED", "broken SSM_TLS_UNTRUSTED", "stopped SSM_TLS_UNTRUSTED")),
    FaultCase("ssm-slow", "slow SSM responses (300 ms)", "slow", "ssm", options={"ms": 300},
              field_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "fixed"),
              healthy_host=("healthy", "compliant", "unchanged")),
    FaultCase("ssm-flapping-5xx", "flapping 5xx on SSM (every 5th request: 500)", "flapping-5xx", "ssm", options={"every": 5},
              field_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "fixed"),
              healthy_host=("healthy", "compliant", "unchanged")),
    FaultCase("ssm-rate-limit", "rate limit on SSM (every 5th request: 429)", "rate-limit", "ssm", options={"every": 5, "retry_after": 1},
              field_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "fixed"),
              healthy_host=("healthy", "compliant", "unchanged")),
    FaultCase("ssm-xsrf-mismatch", "XSRF mismatch on SSM (every admin write refused)", "xsrf-mismatch", "ssm",
              field_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "stopped SSM_XSRF_REJECTED"),
              healthy_host=("healthy", "compliant", "unchanged")),
    FaultCase("ssm-wrong-password", "wrong SSM password (the SSM user's password changed)", "wrong-ssm-password", "ssm",
              field_host=("fixable GRANT_NOT_FOUND", "broken", "stopped SSM_BAD_USER_CREDENTIALS"),
              healthy_host=("blocked SSM_BAD_USER_CREDENTIALS", "broken SSM_BAD_USER_CREDENTIALS", "stopped SSM_BAD_USER_CREDENTIALS")),
    FaultCase("vmanage-wrong-cert", "wrong certificate on vManage (other CA)", "wrong-cert", "vmanage", options={"variant": "other-ca"},
              field_host=("blocked VMANAGE_TLS_UNTRUSTED", "unreachable VMANAGE_TLS_UNTRUSTED", "stopped VMANAGE_TLS_UNTRUSTED"),
              healthy_host=("blocked VMANAGE_TLS_UNTRUSTED", "unreachable VMANAGE_TLS_UNTRUSTED", "stopped VMANAGE_TLS_UNTRUSTED")),
    FaultCase("vmanage-slow", "slow vManage responses (200 ms)", "slow", "vmanage", options={"ms": 200},
              field_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "fixed"),
              healthy_host=("healthy", "compliant", "unchanged")),
    FaultCase("vmanage-timeout", "vManage slower than the timeout (3 s, timeout 1 s)", "slow", "vmanage", options={"ms": 3000},
              host_vars={"license_sync_timeout": 1, "license_sync_retries": 1},
              field_host=("blocked TIMEOUT", "unreachable TIMEOUT", "stopped TIMEOUT"),
              healthy_host=("blocked TIMEOUT", "unreachable TIMEOUT", "stopped TIMEOUT")),
    FaultCase("vmanage-flapping-5xx", "flapping 5xx on vManage (every 5th request: 503)", "flapping-5xx", "vmanage", options={"every": 5},
              field_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "fixed"),
              healthy_host=("healthy", "compliant", "unchanged")),
    FaultCase("vmanage-rate-limit", "rate limit on vManage (every 5th request: 429)", "rate-limit", "vmanage", options={"every": 5, "retry_after": 1},
              field_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "fixed"),
              healthy_host=("healthy", "compliant", "unchanged")),
    FaultCase("vmanage-xsrf-mismatch", "XSRF mismatch on vManage (every write refused)", "xsrf-mismatch", "vmanage",
              # vManage's own request to SSM (a GET) answers GRANT_NOT_FOUND, so the fix skips the diagnosis (and its
              # one POST, nping) and finds the refused writes at the first one, after creating the grant on SSM: that
              # grant is the one the next run reuses (by name), so nothing is left worse.
              field_host=("blocked VMANAGE_XSRF_REJECTED", "broken GRANT_NOT_FOUND", "failed VMANAGE_XSRF_REJECTED"),
              # A healthy vManage needs no write: the fix only reads, so the refused writes never matter to it.
              healthy_host=("blocked VMANAGE_XSRF_REJECTED", "compliant", "unchanged")),
    FaultCase("vmanage-session-cap", "vManage session cap reached", "session-cap", "vmanage",
              field_host=("blocked VMANAGE_SESSION_CAP", "error VMANAGE_SESSION_CAP", "stopped VMANAGE_SESSION_CAP"),
              healthy_host=("blocked VMANAGE_SESSION_CAP", "error VMANAGE_SESSION_CAP", "stopped VMANAGE_SESSION_CAP")),
    FaultCase("vmanage-dns-missing", "DNS missing on vManage (SSM URL by host name)", "dns-missing", "vmanage", ssm_host_name=True,
              field_host=("blocked DNS_MISSING", "broken", "stopped DNS_MISSING"),
              healthy_host=("blocked DNS_MISSING", "broken DNS_MISSING", "stopped DNS_MISSING")),
    FaultCase("vmanage-ssm-unreachable", "SSM unreachable from vManage", "ssm-unreachable-from-vmanage", "vmanage",
              field_host=("blocked SSM_UNREACHABLE_FROM_VMANAGE", "broken", "stopped SSM_UNREACHABLE_FROM_VMANAGE"),
              healthy_host=("blocked SSM_UNREACHABLE_FROM_VMANAGE", "broken SSM_UNREACHABLE_FROM_VMANAGE", "stopped SSM_UNREACHABLE_FROM_VMANAGE")),
    FaultCase("vmanage-wrong-password", "wrong SSM password stored on vManage", "wrong-ssm-password", "vmanage",
              field_host=("fixable GRANT_NOT_FOUND", "broken GRANT_NOT_FOUND", "fixed"),
              healthy_host=("blocked SSM_BAD_USER_CREDENTIALS", "broken SSM_BAD_USER_CREDENTIALS", "stopped SSM_BAD_USER_CREDENTIALS")),
    FaultCase("old-release", "old release (vManage 20.6.4)", "", "vmanage", scenario="old-release",
              field_host=("blocked RELEASE_TOO_OLD", "broken RELEASE_TOO_OLD", "stopped RELEASE_TOO_OLD"), healthy_host=(),
              after=("stopped RELEASE_TOO_OLD",)),
]
RUNS = ("precheck", "compliance", "fix")
FIX_VARS = {"fix_license_sync_batch_size": "100%", "fix_license_sync_max_fail_percentage": 100}
PARALLEL_LABS = 2


def groups():
    found = {}
    for case in FAULT_MATRIX:
        found.setdefault(case.group, []).append(case)
    return found


def test_the_matrix_covers_every_lab_fault():
    from sdwan_lab.faults import FAULTS  # the lab's own list of faults

    covered = {case.fault for case in FAULT_MATRIX}
    assert set(FAULTS) <= covered, f"lab faults without a matrix row: {sorted(set(FAULTS) - covered)}"
    assert any(case.scenario == "old-release" for case in FAULT_MATRIX)


class GroupRun:
    """One lab for a group of cases: set up, fault, precheck+compliance, fix, clear, fix again."""

    def __init__(self, name, cases, labs, ansible_factory, rel, workdir):
        self.name, self.cases, self.rel = name, cases, rel
        self.labs, self.ansible_factory, self.workdir = labs, ansible_factory, Path(workdir)
        self.hosts = {}  # case id -> {"field": host, "healthy": host}
        self.timings = {}

    def execute(self):
        started = time.monotonic()
        per_case = 1 if self.cases[0].scenario == "old-release" else 2
        lab = self.labs(scenario=self.cases[0].scenario, vmanage=per_case * len(self.cases))
        names = [vm["name"] for vm in lab.info["vmanage"]]
        for index, case in enumerate(self.cases):
            pair = names[per_case * index:per_case * index + per_case]
            self.hosts[case.id] = dict(zip((FIELD, HEALTHY), pair))
        self.timings["lab_up_s"] = time.monotonic() - started
        http = self.rel.labhttp.LabHttp(lab.info)
        inventory = self._inventory(lab)
        for case in self.cases:
            healthy = self.hosts[case.id].get(HEALTHY)
            if healthy:
                http.manual_fix(healthy, f"operator-{healthy}", self._ssm_url(lab, case))
        states = {"before_fault": lab.state()}
        for case in self.cases:
            self._fault(lab, case)
        states["fault_on"] = lab.state()
        ansible = self.ansible_factory(self.workdir / self.name)
        report_dir = self.workdir / self.name / "reports"
        mark = time.monotonic()
        checks = ansible.run(self.rel.runs.OWN_PLAYBOOKS / "precheck.yml", inventory, extra_vars={"license_compliance_report_dir": str(report_dir)})
        self.timings["precheck_compliance_s"] = time.monotonic() - mark
        states["before_fix"] = lab.state()
        mark = time.monotonic()
        fix = ansible.run(self.rel.runs.PLAYBOOKS / "fix_license_sync.yml", inventory, extra_vars=FIX_VARS)
        self.timings["fix_s"] = time.monotonic() - mark
        states["after_fix"] = lab.state()
        for case in self.cases:
            if case.clears:
                self._fault(lab, case, clear=True)
        authenticates = {host: http.authenticate(host) for case in self.cases for host in self.hosts[case.id].values()}
        states["cleared"] = lab.state()
        mark = time.monotonic()
        after = ansible.run(self.rel.runs.PLAYBOOKS / "fix_license_sync.yml", inventory, extra_vars=FIX_VARS)
        self.timings["fix_after_clear_s"] = time.monotonic() - mark
        states["end"] = lab.state()
        self.timings["group_s"] = time.monotonic() - started
        return dict(checks=checks, report=self.rel.outcomes.compliance_report(report_dir), fix=fix, after=after, states=states,
                    writes={key: lab.writes(state) for key, state in states.items()}, authenticates=authenticates, grants=http.grants())

    @staticmethod
    def _ssm_url(lab, case):
        url = lab.info["ssm"]["url"]
        return url.replace("127.0.0.1", "localhost") if case.ssm_host_name else url

    def _fault(self, lab, case, clear=False):
        if not case.fault:
            return
        targets = ["ssm"] if case.target == "ssm" else list(self.hosts[case.id].values())
        for target in targets:
            lab.fault(target, case.fault, clear=clear, **({} if clear else case.options))

    def _inventory(self, lab):
        """The lab's inventory plus the cases' host variables (a second inventory source)."""
        host_vars = {}
        for case in self.cases:
            for host in self.hosts[case.id].values():
                variables = dict(case.host_vars)
                if case.ssm_host_name:
                    variables["ssm_url"] = self._ssm_url(lab, case)
                if variables:
                    host_vars[host] = variables
        extra = self.workdir / self.name / "case_vars.yml"
        extra.parent.mkdir(parents=True, exist_ok=True)
        extra.write_text(yaml.safe_dump({"all": {"children": {"vmanage": {"hosts": host_vars}}}}))
        return [lab.inventory, extra] if host_vars else lab.inventory


def requests_of(state, listener):
    counters = state["ssm"] if listener == "ssm" else state["vmanage"][listener]
    return sum((counters.get("requests") or {}).values())


def host_grants(state, host):
    return sorted((g["name"], g["client_id"]) for g in state["ssm"]["grants"] if g["name"].endswith(host))


def settings_of(state, host):
    settings = dict(state["vmanage"][host]["settings"])
    settings.pop("ssmClientSecret", None)
    return settings


def fault_answers(case, states, listener):
    """How many requests of the fix run the lab answered with an every-k fault."""
    if case.fault not in EVERY_K_FAULTS:
        return 0
    every = case.options["every"]
    on, before, after = (requests_of(states[key], listener) for key in ("fault_on", "before_fix", "after_fix"))
    return (after - on) // every - (before - on) // every


def observe(case, hosts, result, rel):
    """Expected vs observed for every cell of one case; plus the 'no worse than before' facts."""
    outcomes, states, writes = rel.outcomes, result["states"], result["writes"]
    cells, facts = [], {}
    for role, expected_runs in ((FIELD, case.field_host), (HEALTHY, case.healthy_host)):
        if not expected_runs:
            continue
        host = hosts[role]
        listener = "ssm" if case.target == "ssm" else host
        wrote = (writes["after_fix"][host] > writes["before_fix"][host]
                 or host_grants(states["after_fix"], host) != host_grants(states["before_fix"], host))
        observed = {
            "precheck": outcomes.precheck(result["checks"], host),
            "compliance": outcomes.compliance(result["report"], host),
            "fix": outcomes.fix(result["fix"], host, wrote),
        }
        answers = fault_answers(case, states, listener)
        for run, expected in zip(RUNS, expected_runs):
            passed = observed[run].matches(expected)
            if run == "fix" and case.fault in EVERY_K_FAULTS and expected == "fixed":
                passed = passed and answers > 0
            cells.append(dict(host=role, run=run, expected=expected, observed=observed[run].text, causes=observed[run].causes,
                              passed=passed, detail=observed[run].detail[:1500]))
        after_wrote = writes["end"][host] > writes["cleared"][host]
        after = outcomes.fix(result["after"], host, after_wrote)
        expected_after = case.after[0 if role == FIELD else 1]
        cells.append(dict(host=role, run="fix after clearing", expected=expected_after, observed=after.text, causes=after.causes,
                          passed=after.matches(expected_after), detail=after.detail[:1500]))
        facts[role] = dict(
            host=host,
            fault_answers_during_fix=answers,
            settings_kept=settings_of(states["after_fix"], host) == settings_of(states["before_fix"], host),
            vmanage_writes_during_fix=writes["after_fix"][host] - writes["before_fix"][host],
            grants_during_fix=[grant[0] for grant in host_grants(states["after_fix"], host)],
        )
        facts[role]["authenticates_after_clearing"] = result["authenticates"][host][0]
        facts[role]["authenticate_detail"] = result["authenticates"][host][1]
    return cells, facts


def not_worse_failures(case, cells, facts):
    """No fault leaves a vManage worse than before.

    healthy vManage: a fix run that fails leaves its settings exactly as they were, and once the
    fault is cleared they still authenticate. field vManage (broken before): a failed run may
    only have replaced its settings by ones that authenticate once the fault is cleared.
    """
    problems = []
    for role, fact in facts.items():
        fix_cell = next(c for c in cells if c["host"] == role and c["run"] == "fix")
        failed = fix_cell["observed"].split(" ")[0] in ("stopped", "failed")
        if fix_cell["observed"].startswith("stopped") and fact["vmanage_writes_during_fix"]:
            problems.append(f"{role}: {fact['vmanage_writes_during_fix']} vManage writes in a run that stopped")
        if role == HEALTHY and failed and not fact["settings_kept"]:
            problems.append("healthy: a failed fix run replaced the vManage settings that worked")
        if not case.clears:
            continue
        if role == HEALTHY and not fact["authenticates_after_clearing"]:
            problems.append(f"healthy: stored settings no longer authenticate after the fault was cleared: {fact['authenticate_detail']}")
        if role == FIELD and failed and not fact["settings_kept"] and not fact["authenticates_after_clearing"]:
            problems.append(f"field: a failed fix run left settings that do not authenticate: {fact['authenticate_detail']}")
    return problems


@pytest.fixture(scope="module")
def matrix_results(request, module_lab, rel, tmp_path_factory, collection_env, ansible_playbook_command):
    """Runs every group with a selected case once (two labs at a time) and keeps each group's result or error."""
    rel.results.forget("fault_matrix", keep=[case.id for case in FAULT_MATRIX])
    selected = {item.callspec.params["case"].group for item in request.session.items
                if item.originalname == "test_fault_matrix" and hasattr(item, "callspec")}
    workdir = tmp_path_factory.mktemp("matrix")
    runners = {name: GroupRun(name, cases, module_lab, lambda d: rel.runs.Ansible(d, collection_env, ansible_playbook_command), rel, workdir)
               for name, cases in groups().items() if name in selected}
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL_LABS) as pool:
        futures = {pool.submit(runner.execute): name for name, runner in runners.items()}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            try:
                results[name] = future.result()
            except Exception as error:  # pylint: disable=broad-except  # reported by each case of the group
                results[name] = error
    return runners, results


@pytest.mark.slow
@pytest.mark.parametrize("case", FAULT_MATRIX, ids=lambda case: case.id)
def test_fault_matrix(case, matrix_results, rel):
    runners, results = matrix_results
    runner, result = runners[case.group], results[case.group]
    if isinstance(result, Exception):
        raise result
    hosts = runner.hosts[case.id]
    cells, facts = observe(case, hosts, result, rel)
    problems = [f"{c['host']} {c['run']}: expected {c['expected']!r}, observed {c['observed']!r} — {c['detail'][:400]}"
                for c in cells if not c["passed"]]
    not_worse = not_worse_failures(case, cells, facts)
    problems += not_worse
    tracebacks = [run.tracebacks() for run in (result["checks"], result["fix"], result["after"])]
    problems += [f"traceback in output: {t[:200]}" for found in tracebacks for t in found]
    names = [g["name"] for g in result["grants"]]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"more than one grant with the same name: {duplicates}")
    rel.results.record("fault_matrix", case.id, dict(
        title=case.title, fault=case.fault, target=case.target, options=case.options, scenario=case.scenario,
        order=FAULT_MATRIX.index(case), group=case.group, hosts=hosts, cells=cells, facts=facts, not_worse=not_worse, problems=problems,
        group_timings={k: round(v, 1) for k, v in runner.timings.items()}, group_cases=len(runner.cases),
        passed=not problems))
    assert not problems, f"{case.id}:\n  " + "\n  ".join(problems)


def test_matrix_outcome_texts_are_well_formed():
    """Every expected text uses a state the harness can observe and a real cause code."""
    from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES

    states = {"precheck": {"healthy", "fixable", "blocked", "failed"},
              "compliance": {"compliant", "broken", "unreachable", "auth_failed", "error"},
              "fix": {"fixed", "unchanged", "stopped", "failed"}}
    for case in FAULT_MATRIX:
        for expected_runs in (case.field_host, case.healthy_host):
            for run, expected in zip(RUNS, expected_runs):
                state, _sep, cause = expected.partition(" ")
                assert state in states[run], (case.id, run, expected)
                assert not cause or cause in CAUSES, (case.id, run, expected)


def test_published_matrix_has_every_case(repo_root):
    """docs/reliability.md is rendered from this table's results: a case missing there means a stale page."""
    page = (repo_root / "docs" / "reliability.md").read_text()
    missing = [case.title for case in FAULT_MATRIX if f"| {case.title} |" not in page]
    assert not missing, f"run the reliability tests, then `make reliability-docs`: docs/reliability.md lacks {missing}"
