"""Fleet under stress: `fleet-mixed` with 5 % flapping 5xx (every 20th request) and rate limiting
(every 25th request answered 429, Retry-After 1 s) on every listener, SSM and each vManage.

The fix runs over the whole fleet, then the compliance run, both with the faults on. Every host
must end in its correct state within the configured retries: fixable hosts fixed and synced,
healthy ones unchanged, the others stopped with their cause and untouched; and the compliance
report must call no host compliant that is not (judged from the lab's own state).

`make test` runs it over 500 vManage; `make fleet` runs it alone (RELIABILITY_FLEET_SIZE=30 for a quick look).
"""
import datetime
import os
import time
from collections import Counter

import pytest

FLEET_SIZE = int(os.environ.get("RELIABILITY_FLEET_SIZE", "500"))  # 30 and up hold every fleet-mixed state at seed 8
FLEET_SEED = 8
FAULTS = (("flapping-5xx", {"every": 20}), ("rate-limit", {"every": 25, "retry_after": 1}))
# The configured retries: a sync is several SSM requests, any of which the faults may hit, so it takes more
# attempts than the default 3 to get through every 20th/25th request failing on a 500-vManage fleet.
RETRIES = 8
FIX_VARS = {"fix_license_sync_max_fail_percentage": 100, "license_sync_retries": RETRIES}
FORKS = 10
RUN_TIMEOUT_S = max(900, 6 * FLEET_SIZE)  # ansible-playbook over the fleet: the harness kills a run that takes longer
MAX_SYNC_AGE_S = 86400  # license_compliance_max_sync_age's default


def truly_compliant(state, host, cause, causes, grant_ids):
    """The lab's truth: a host whose cause nobody can fix from here is not compliant; any other host is
    when it is on-prem, points at this SSM with a grant that exists, and its last sync is recent and fine."""
    if cause and not causes[cause].fixable:
        return False
    vmanage = state["vmanage"][host]
    settings, last = vmanage["settings"], (vmanage.get("syncs") or [{}])[-1]
    synced_at = datetime.datetime.strptime(last["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc) if last.get("time") else None
    fresh = synced_at is not None and (datetime.datetime.now(datetime.timezone.utc) - synced_at).total_seconds() < MAX_SYNC_AGE_S
    return (settings.get("mode") == "on-prem" and settings.get("ssmServerUrl", "").rstrip("/") == state["ssm"]["url"].rstrip("/")
            and settings.get("ssmClientId") in grant_ids and bool(last.get("ok")) and fresh)


def expected_fix(cause, causes):
    if cause is None:
        return "unchanged"
    return "fixed" if causes[cause].fixable else f"stopped {cause}"


@pytest.mark.slow
def test_fleet_under_flapping_5xx_and_rate_limits_ends_correct(lab, ansible, tmp_path, rel):
    from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES

    started = time.monotonic()
    rel.results.forget("fleet", keep=[f"fleet-mixed-{FLEET_SIZE}"])
    fleet = lab(scenario="fleet-mixed", vmanage=FLEET_SIZE, seed=FLEET_SEED)
    truth = {vm["name"]: vm["expected_cause"] for vm in fleet.info["vmanage"]}
    states = sorted({vm["scenario"] for vm in fleet.info["vmanage"]})
    lab_up_s = time.monotonic() - started
    for name, options in FAULTS:
        fleet.fault("all", name, **options)
    before = fleet.state()

    mark = time.monotonic()
    fix = ansible.run(rel.runs.PLAYBOOKS / "fix_license_sync.yml", fleet.inventory, extra_vars=FIX_VARS, forks=FORKS, timeout=RUN_TIMEOUT_S)
    fix_s = time.monotonic() - mark
    after_fix = fleet.state()
    mark = time.monotonic()
    report_dir = tmp_path / "reports"
    compliance = ansible.run(rel.runs.PLAYBOOKS / "license_compliance.yml", fleet.inventory, forks=FORKS, timeout=RUN_TIMEOUT_S,
                             extra_vars={"license_compliance_report_dir": str(report_dir), "license_sync_retries": RETRIES})
    compliance_s = time.monotonic() - mark
    for name, _options in FAULTS:
        fleet.fault("all", name, clear=True)
    state = fleet.state()
    report = rel.outcomes.compliance_report(report_dir)
    grant_ids = {grant["client_id"] for grant in state["ssm"]["grants"]}

    problems, tally, as_expected, false_compliant = [], Counter(), 0, 0
    problems += [f"traceback: {t[:200]}" for run in (fix, compliance) for t in run.tracebacks()]
    problems += [f"the {name} run did not finish within {RUN_TIMEOUT_S} s" for name, run in (("fix", fix), ("compliance", compliance))
                 if run.timed_out]
    processed = {record["host"] for record in fix.records if record.get("kind") == "task"}
    not_processed = sorted(set(truth) - processed)
    if not_processed:
        problems.append(f"{len(not_processed)} hosts never processed by the fix (the play ended before their batch): "
                        f"{', '.join(not_processed[:10])}{' ...' if len(not_processed) > 10 else ''}")
    for host, cause in sorted(truth.items()):
        wrote = after_fix["vmanage"][host]["writes"] > before["vmanage"][host]["writes"]
        observed = rel.outcomes.fix(fix, host, wrote)
        expected = expected_fix(cause, CAUSES)
        ok = observed.matches(expected)
        as_expected += ok
        tally[f"{expected.partition(' ')[0]}: {'as expected' if ok else 'NOT as expected'}"] += 1
        if not ok:
            problems.append(f"{host} ({cause or 'healthy'}): fix expected {expected!r}, observed {observed.text!r}: {observed.detail[:300]}")
        reported = rel.outcomes.compliance(report, host)
        really = truly_compliant(state, host, cause, CAUSES, grant_ids)
        if reported.state == "compliant" and not really:
            false_compliant += 1
            problems.append(f"{host} ({cause or 'healthy'}): reported compliant but the lab says it is not")
        if really and reported.state != "compliant":
            problems.append(f"{host} ({cause or 'healthy'}): reported {reported.text!r} but the lab says it is compliant")
        if cause and not CAUSES[cause].fixable and cause not in reported.causes:
            problems.append(f"{host}: compliance does not name its cause {cause}: {reported.text!r}")
    rel.results.record("fleet", f"fleet-mixed-{FLEET_SIZE}", dict(
        size=FLEET_SIZE, seed=FLEET_SEED, faults=dict(FAULTS), forks=FORKS,
        truth=dict(Counter(cause or "healthy" for cause in truth.values())), states=states, tally=dict(tally),
        hosts_as_expected=as_expected, false_compliant=false_compliant, hosts_not_processed=len(not_processed),
        compliance_totals=report.get("totals"), lab_up_s=round(lab_up_s, 1), fix_s=round(fix_s, 1),
        compliance_s=round(compliance_s, 1), ssm_requests=sum(state["ssm"]["requests"].values()), problems=problems[:200], problem_count=len(problems),
        seconds=round(time.monotonic() - started, 1), passed=not problems))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])
