"""Interruptions: a fix run SIGKILLed (its whole process group) after request k, then the next run.

The run goes through the interceptor, which numbers the collection's requests exactly as the lab
counts them and stops the run at request k in one of two ways:
  processed  request k reaches the lab and is carried out, its answer never reaches the run;
  answered   request k is answered, request k+1 never leaves (the run dies between two requests).
The test then SIGKILLs the ansible-playbook process group and runs the fix again (directly, as an
operator would): the vManage must end fixed and synced, its settings must authenticate, and SSM
must hold exactly one grant per name and no grant that no vManage uses (no orphan).

`make test` kills at a sample of the riskiest points (the writes); `make kill-sweep` sets
RELIABILITY_KILL_SWEEP=full and kills after every request of a fix run, in both ways.
"""
import os
import time
from collections import Counter

import pytest

FIX_VARS = {"fix_license_sync_batch_size": "100%", "fix_license_sync_max_fail_percentage": 100}
REACH_TIMEOUT_S = 180
VARIANTS = ("processed", "answered")
# The sample: each write of a fix run, hit in the way that hurts most.
SAMPLE = (
    ("POST /backend/api_toolkit/grants", "processed"),  # grant created, the run never learns its secret
    ("POST /backend/api_toolkit/grants", "answered"),  # secret known, the run dies before vManage hears of it
    ("PUT /dataservice/settings/configuration/smartLicensing", "processed"),  # new secret stored, never authenticated
    ("POST /dataservice/smartLicensing/syncLicenses", "processed"),  # sync under way when the run dies
)


class KillAt:
    """Interceptor policy: stop the run at request k (see the module docstring)."""

    def __init__(self, rel, k, variant):
        self.rel, self.k, self.variant = rel, k, variant

    def __call__(self, exchange):
        Action = self.rel.interceptor.Action
        if self.variant == "processed" and exchange.seq == self.k:
            return Action.hold_after()
        if self.variant == "answered" and exchange.seq == self.k + 1:
            return Action.hold_before()
        return None


def bundle_for(lab, proxy, directory):
    bundle = directory / "ca-bundle.pem"
    bundle.write_bytes((lab.dir / "ca.pem").read_bytes() + proxy.ca_pem)
    return {"vmanage_proxy": proxy.proxy_url, "ssm_proxy": proxy.proxy_url, "vmanage_ca_path": str(bundle), "ssm_ca_path": str(bundle)}


def baseline(lab, interceptors, ansible, rel, directory):
    """The requests of one uninterrupted fix run of a `seed` vManage, in order, as 'METHOD /route'."""
    one = lab(scenario="seed", vmanage=1)
    proxy = interceptors(upstream_ca_path=one.info["ca_cert"])
    run = ansible.run(rel.runs.PLAYBOOKS / "fix_license_sync.yml", one.inventory, extra_vars=dict(FIX_VARS, **bundle_for(one, proxy, directory)))
    assert run.rc == 0, run.stdout[-3000:]
    state = one.state()
    vmanage_name = one.info["vmanage"][0]["name"]
    seen_by_lab = sum(state["vmanage"][vmanage_name]["requests"].values())
    vmanage_port = str(one.info["vmanage"][0]["port"])
    seen_by_proxy = sum(1 for e in proxy.exchanges if e.target.endswith(":" + vmanage_port))
    assert seen_by_proxy == seen_by_lab, f"interceptor counted {seen_by_proxy} vManage requests, the lab {seen_by_lab}"
    return [f"{e.method} {e.route}" for e in proxy.exchanges]


def kill_points(requests):
    if os.environ.get("RELIABILITY_KILL_SWEEP") == "full":
        # "answered" at the last request would kill a run that has already ended.
        return [(k, variant) for k in range(1, len(requests) + 1) for variant in VARIANTS if k < len(requests) or variant == "processed"]
    points = []
    for signature, variant in SAMPLE:
        k = next((index for index, request in enumerate(requests, 1) if request == signature), None)
        assert k, f"a fix run of a seed vManage no longer sends {signature}: update SAMPLE"
        points.append((k, variant))
    return points


def kill_and_recover(k, variant, requests, lab, interceptors, ansible, rel, directory):
    """One interruption; returns the facts and the problems found."""
    one = lab(scenario="seed", vmanage=1)
    try:
        return _kill_and_recover(one, k, variant, requests, interceptors, ansible, rel, directory)
    finally:
        one.down()


def _kill_and_recover(one, k, variant, requests, interceptors, ansible, rel, directory):
    host = one.info["vmanage"][0]["name"]
    proxy = interceptors(upstream_ca_path=one.info["ca_cert"], policy=KillAt(rel, k, variant))
    process = ansible.start(rel.runs.PLAYBOOKS / "fix_license_sync.yml", one.inventory,
                            extra_vars=dict(FIX_VARS, **bundle_for(one, proxy, directory)))
    deadline = time.monotonic() + REACH_TIMEOUT_S
    while not proxy.held.is_set() and process.proc.poll() is None and time.monotonic() < deadline:
        proxy.held.wait(0.2)
    reached = proxy.held.is_set()
    process.kill()
    killed = process.wait(timeout=60)
    proxy.stop()
    facts = dict(k=k, variant=variant, request=requests[k - 1] if k <= len(requests) else "?", reached=reached,
                 killed_rc=killed.rc, sessions_left_open=one.state()["vmanage"][host]["sessions"])
    problems = [] if reached else [f"k={k} {variant}: the run never reached request {k} (it ended rc {killed.rc})"]

    recovery = ansible.run(rel.runs.PLAYBOOKS / "fix_license_sync.yml", one.inventory, extra_vars=FIX_VARS)
    observed = rel.outcomes.fix(recovery, host, wrote=True)
    state = one.state()
    http = rel.labhttp.LabHttp(one.info)
    grants = http.grants()
    used = {vm["settings"].get("ssmClientId") for vm in state["vmanage"].values()}
    ours = [g for g in grants if g["name"].startswith("license-sync-")]
    authenticated, detail = http.authenticate(host)
    last = (state["vmanage"][host].get("syncs") or [{}])[-1]
    facts.update(recovery=observed.text, recovery_state=observed.state, grants=[g["name"] for g in ours], authenticates=authenticated,
                 last_sync_ok=bool(last.get("ok")))
    label = f"k={k} ({facts['request']}, {variant})"
    if observed.state != "fixed" and observed.state != "unchanged":
        problems.append(f"{label}: the next run did not converge: {observed.text}: {observed.detail[:400]}")
    problems += [f"{label}: traceback in the next run: {t[:200]}" for t in recovery.tracebacks()]
    problems += [f"{label}: {n} grants named {name}" for name, n in Counter(g["name"] for g in grants).items() if n > 1]
    problems += [f"{label}: orphan grant {g['name']} (no vManage uses it)" for g in ours if g["client_id"] not in used]
    if not authenticated:
        problems.append(f"{label}: settings do not authenticate after the next run: {detail}")
    if not last.get("ok"):
        problems.append(f"{label}: last sync not successful after the next run: {last}")
    return facts, problems


@pytest.mark.slow
def test_killed_fix_run_converges_on_the_next_run(lab, interceptors, ansible, tmp_path, rel):
    started = time.monotonic()
    requests = baseline(lab, interceptors, ansible, rel, tmp_path)
    points = kill_points(requests)
    mode = "full sweep" if len(points) == 2 * len(requests) - 1 else "sample"
    family = "sweep" if mode == "full sweep" else "sample"
    rel.results.forget("interruptions", prefix=f"{family}-")
    rel.results.forget("interruptions", prefix=f"summary-{family}")
    all_facts, problems = [], []
    for k, variant in points:
        facts, found = kill_and_recover(k, variant, requests, lab, interceptors, ansible, rel, tmp_path)
        all_facts.append(facts)
        problems += found
        rel.results.record("interruptions", f"{family}-k{k:03d}-{variant}", dict(facts, problems=found, passed=not found))
    survived = sum(1 for facts in all_facts if facts["recovery_state"] in ("fixed", "unchanged") and facts["authenticates"] and facts["last_sync_ok"])
    rel.results.record("interruptions", f"summary-{family}", dict(
        mode=mode, requests_per_fix_run=len(requests), requests=requests, kills=len(points), survived=survived,
        seconds=round(time.monotonic() - started, 1), problems=problems, passed=not problems))
    assert not problems, "\n".join(problems)
