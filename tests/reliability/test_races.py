"""Races: four fix runs started at once against the same vManage and SSM On-Prem.

At the end there must be exactly one grant per name, each vManage stores that grant, authenticates
with it and has synced; every run ends with every vManage fixed (ssm_grant is idempotent by name:
a run that finds the grant another run just created uses it), no traceback; and a fifth run
afterwards changes nothing.

Two rounds: "natural" (four processes started together) and "lined-up", where the interceptor
holds every grant creation until all four runs have sent theirs for the same name, so the four
creations reach SSM together: the worst case, made certain rather than left to timing.
"""
import threading
import time
import json
from collections import Counter

import pytest

CONCURRENT_RUNS = 4
# The lab records a sync before it answers the sync request, so a run that waits longer than a few polls for its
# result waits for something that will not come: bound the wait well below the role's 300 s default.
SYNC_WAIT_S = 30
FIX_VARS = {"fix_license_sync_batch_size": "100%", "fix_license_sync_max_fail_percentage": 100,
            "vmanage_license_wait_timeout": SYNC_WAIT_S}
GATE_WAIT_S = 45


class LineUp:
    """Interceptor policy: hold each grant creation until CONCURRENT_RUNS of the same name wait (or GATE_WAIT_S)."""

    def __init__(self, rel):
        self.rel = rel
        self.gates, self.arrivals = {}, Counter()
        self.lock = threading.Lock()

    def __call__(self, exchange):
        if exchange.method != "POST" or exchange.route != "/backend/api_toolkit/grants":
            return None
        name = json.loads(exchange.body or b"{}").get("name", "")
        with self.lock:
            self.arrivals[name] += 1
            if name not in self.gates:
                self.gates[name] = threading.Event()
                threading.Timer(GATE_WAIT_S, self.gates[name].set).start()
            if self.arrivals[name] >= CONCURRENT_RUNS:
                self.gates[name].set()
            return self.rel.interceptor.Action.gated(self.gates[name])

    def release(self):
        for gate in self.gates.values():
            gate.set()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["natural", "lined-up"])
def test_four_concurrent_fix_runs_leave_one_grant_per_name_and_vmanage_synced(mode, lab, ansible, interceptors, tmp_path, rel):
    started = time.monotonic()
    rel.results.forget("races", keep=[f"four-concurrent-fix-runs-{m}" for m in ("natural", "lined-up")])
    one = lab(scenario="seed", vmanage=2)
    hosts = [vm["name"] for vm in one.info["vmanage"]]
    playbook = rel.runs.PLAYBOOKS / "fix_license_sync.yml"
    extra_vars, line_up = dict(FIX_VARS), None
    if mode == "lined-up":
        line_up = LineUp(rel)
        proxy = interceptors(upstream_ca_path=one.info["ca_cert"], policy=line_up)
        bundle = tmp_path / "ca-bundle.pem"
        bundle.write_bytes((one.dir / "ca.pem").read_bytes() + proxy.ca_pem)
        extra_vars.update(vmanage_proxy=proxy.proxy_url, ssm_proxy=proxy.proxy_url, vmanage_ca_path=str(bundle), ssm_ca_path=str(bundle))
    processes = [ansible.start(playbook, one.inventory, extra_vars=extra_vars) for _run in range(CONCURRENT_RUNS)]
    runs = [process.wait() for process in processes]
    if line_up:
        line_up.release()
    race_seconds = time.monotonic() - started

    http = rel.labhttp.LabHttp(one.info)
    grants = http.grants()
    state = one.state()
    per_name = Counter(grant["name"] for grant in grants)
    end_state = {host: end_state_of(host, grants, state, http) for host in hosts}
    problems = [f"{count} grants named {name}" for name, count in per_name.items() if count > 1]
    problems += [f"{host}: {fact}" for host, facts in end_state.items() for fact, ok in facts.items() if not ok]
    outcomes = []
    for index, run in enumerate(runs, 1):
        problems += [f"run {index}: traceback {t[:200]}" for t in run.tracebacks()]
        for host in hosts:
            observed = rel.outcomes.fix(run, host, wrote=True)
            outcomes.append(f"run {index} {host}: {observed.text}")
            if observed.state != "fixed":
                # Idempotent by name: a run that finds the grant created by another one uses it.
                problems.append(f"run {index} {host} did not end fixed ({observed.text}): {observed.detail[:300]}")

    writes_before = one.total_writes()
    rerun = ansible.run(playbook, one.inventory, extra_vars=FIX_VARS)
    rerun_writes = one.total_writes() - writes_before
    if rerun.rc != 0 or any(rerun.changed(host) for host in hosts) or rerun_writes:
        problems.append(f"run after the race: rc {rerun.rc}, changed {[rerun.changed(h) for h in hosts]}, {rerun_writes} writes")

    creations = state["ssm"]["requests"].get("POST /backend/api_toolkit/grants", 0)
    if line_up and any(line_up.arrivals[name] < CONCURRENT_RUNS for name in line_up.arrivals):
        problems.append(f"the four runs did not all try to create the grants together: {dict(line_up.arrivals)}")
    rel.results.record("races", f"four-concurrent-fix-runs-{mode}", dict(
        mode=mode, concurrent_runs=CONCURRENT_RUNS, vmanage=len(hosts), grants=dict(per_name), end_state=end_state,
        one_grant_per_name=all(count == 1 for count in per_name.values()) and all(f["one grant for it"] for f in end_state.values()),
        vmanage_synced=all(all(f.values()) for f in end_state.values()), outcomes=outcomes,
        runs_all_fixed=sum(1 for index in range(1, CONCURRENT_RUNS + 1)
                           if all(f"run {index} {host}: fixed" in " | ".join(outcomes) for host in hosts)),
        grant_creations_sent=creations, lined_up=dict(line_up.arrivals) if line_up else None, race_seconds=round(race_seconds, 1),
        rerun_changed=sum(rerun.changed(h) for h in hosts), rerun_writes=rerun_writes,
        seconds=round(time.monotonic() - started, 1), problems=problems, passed=not problems))
    assert not problems, "\n".join(problems + outcomes)


def end_state_of(host, grants, state, http):
    """What the lab shows for one vManage after the race, as named facts that must all hold."""
    mine = [grant for grant in grants if grant["name"].endswith(host)]
    last = (state["vmanage"][host].get("syncs") or [{}])[-1]
    return {
        "one grant for it": len(mine) == 1,
        "stores its grant's client id": len(mine) == 1 and state["vmanage"][host]["settings"].get("ssmClientId") == mine[0]["client_id"],
        "last sync successful": bool(last.get("ok")),
        "stored settings authenticate": http.authenticate(host)[0],
    }
