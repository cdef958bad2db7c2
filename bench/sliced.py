"""Sliced compliance run, the way AWX / Automation Controller runs a job template with job slicing, then the aggregation.

AWX's split (ansible/awx awx/main/models/inventory.py, Inventory.get_sliced_hosts): the inventory's enabled hosts ordered
by name; slice k of N (1-based) gets the hosts at positions k-1, k-1+N, k-1+2N, ... Each slice is a job of its own: here
a separate `ansible-runner run` with its own private data directory (project, an inventory of its hosts only, env),
one after another (AWX runs them side by side on as many execution nodes). A job's artefacts are the set_stats data of
its playbook_on_stats event (awx/main/tasks/callback.py); the next workflow node gets the slices' artefacts merged by one
shallow dict.update per slice in the order they finished, failed slices included (awx/main/models/workflow.py,
WorkflowJob.get_effective_artifacts), as extra variables. That node here is playbooks/license_compliance_aggregate.yml.

`run_sliced(size, slices, workdir, ...)` starts a `fleet-mixed` lab, runs the slices and the aggregation, measures each
run (wall time, peak RSS of the ansible-runner process tree, CPU), and compares the merged report with an unsliced run
of the same lab (host for host and the totals). CLI: `python bench/sliced.py --size 2000 --slices 4`. The helpers
(`awx_slice`, `slice_inventory`, `merge_artifacts`, `run_job`, `report_differences`) are also what
tests/integration/test_sliced_compliance.py drives.
"""
import argparse
import copy
import datetime
import importlib.util
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
VENV_BIN = Path(sys.executable).parent
COMPLIANCE = "playbooks/license_compliance.yml"
AGGREGATE = "playbooks/license_compliance_aggregate.yml"
# Text of the reports that depends on when vManage was read, not on what it answered: a sliced and an unsliced run
# read the same vManage seconds or minutes apart.
_AGE = re.compile(r"\b\d+ (?:s|min|h|days) ago\b|, \d+ (?:s|min|h|days) ago")


def _bench_run():
    """bench/run.py (PeakRss, lab(), environment(), log()), loaded by path: this file is also imported by the tests."""
    spec = importlib.util.spec_from_file_location("sdwan_bench_run", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def awx_slice(names, number, count):
    """The hosts of slice ``number`` (1-based) of ``count``, as AWX picks them: sorted by name, every count-th from number-1.

    AWX orders by the database's collation; for host names that differ only in digits and ASCII letters of one case,
    as here, that is Python's order.
    """
    return sorted(names)[number - 1::count]


def groups_of(inventory):
    """Every group (dict) of a YAML inventory (dict), children included."""
    pending = [group for group in inventory.values() if isinstance(group, dict)]
    while pending:
        group = pending.pop()
        yield group
        pending.extend(child for child in (group.get("children") or {}).values() if isinstance(child, dict))


def slice_inventory(inventory, hosts):
    """A copy of a YAML inventory (dict) with only ``hosts`` left in every group, as AWX filters a slice's inventory."""
    keep = set(hosts)
    sliced = copy.deepcopy(inventory)
    for group in groups_of(sliced):
        if isinstance(group.get("hosts"), dict):
            group["hosts"] = {name: values for name, values in group["hosts"].items() if name in keep}
    return sliced


def inventory_hosts(inventory):
    """Every host name of a YAML inventory (dict)."""
    return sorted({name for group in groups_of(inventory) for name in (group.get("hosts") or {})})


def merge_artifacts(artifacts):
    """The artefacts the next workflow node gets from a sliced job: one shallow update per slice, in finish order."""
    merged = {}
    for slice_artifacts in artifacts:
        merged.update(slice_artifacts)
    return merged


def run_job(private_data_dir, playbook, inventory, extravars, env=None, forks=50, time_limit=1800, ident="job", args=()):
    """One AWX-style job: ``ansible-runner run`` in its own private data directory (project: this checkout's playbooks);
    ``args``: more ansible-playbook options (``--check``, ``--diff``), as a job template's job type and diff mode add them.

    Returns ``{status, rc, wall_s, cpu_s, peak_rss_mb, artifacts, stdout_tail, dir}``; ``artifacts`` is the set_stats data
    of the playbook_on_stats event ({} when the playbook ended before it). Peak RSS is summed over ansible-runner's
    process tree (ansible-playbook and its workers), sampled every 0.2 s.
    """
    bench_run = _bench_run()
    pdd = Path(private_data_dir)
    (pdd / "inventory").mkdir(parents=True, exist_ok=True)
    (pdd / "env").mkdir(exist_ok=True)
    if not (pdd / "project").exists():
        # The project checkout AWX makes per job: relative paths (the default report directory) stay inside it.
        shutil.copytree(REPO / "playbooks", pdd / "project" / "playbooks")
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    (pdd / "env" / "extravars").write_text(json.dumps(extravars))
    command = [str(VENV_BIN / "ansible-runner"), "run", str(pdd), "-p", playbook, "--ident", ident, "--forks", str(forks)]
    if args:
        command.append("--cmdline=" + " ".join(args))  # one token: argparse would take "--check" for an option
    environment = dict(bench_run.environment(), **(env or {}))
    environment.pop("ANSIBLE_LIBRARY", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    runner_log = open(pdd / "runner.log", "wb")  # ansible-runner's own output (the playbook's is in the artifacts)
    proc = subprocess.Popen(command, cwd=str(pdd), env=environment, stdout=runner_log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    timed_out = False
    with bench_run.PeakRss([proc.pid]) as rss:
        try:
            proc.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    runner_log.close()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    artifact_dir = pdd / "artifacts" / ident
    status = "timeout" if timed_out else (artifact_dir / "status").read_text().strip() if (artifact_dir / "status").exists() else "error"
    rc = (artifact_dir / "rc").read_text().strip() if (artifact_dir / "rc").exists() else None
    stdout = (artifact_dir / "stdout" if (artifact_dir / "stdout").exists() else pdd / "runner.log").read_text(errors="replace")
    return dict(status=status, rc=None if rc is None else int(rc), wall_s=round(wall, 2),
                cpu_s=round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
                peak_rss_mb=round(rss.peak_kb / 1024.0, 1), artifacts=job_artifacts(artifact_dir),
                stdout_tail=stdout[-4000:], dir=str(pdd))


def job_artifacts(artifact_dir):
    """What AWX stores as the job's artefacts: artifact_data of the playbook_on_stats event (ansible-runner's events)."""
    events = Path(artifact_dir) / "job_events"
    # Event files are <counter>-<uuid>.json; the stats event is one of the last.
    paths = sorted(events.glob("*.json"), key=lambda path: -int(path.name.split("-", 1)[0])) if events.is_dir() else []
    for path in paths:
        event = json.loads(path.read_text())
        if event.get("event") == "playbook_on_stats":
            return event.get("event_data", {}).get("artifact_data") or {}
    return {}


def comparable(record):
    """A host record without what depends on when vManage was read (the last sync's age and the texts that quote it)."""
    record = json.loads(json.dumps(record))
    record.pop("history", None)
    (record.get("last_sync") or {}).pop("age_s", None)
    for item in record.get("checks", []) + record.get("causes", []):
        item["detail"] = _AGE.sub(" (age)", item.get("detail") or "")
    return record


def report_differences(first, second):
    """The hosts whose records differ between two JSON reports (comparable()), and the totals when they differ."""
    a = dict((record["host"], comparable(record)) for record in first["hosts"])
    b = dict((record["host"], comparable(record)) for record in second["hosts"])
    differences = [dict(host=host, first=a.get(host), second=b.get(host)) for host in sorted(set(a) | set(b)) if a.get(host) != b.get(host)]
    if first["totals"] != second["totals"]:
        differences.append(dict(host=None, first=first["totals"], second=second["totals"]))
    return differences


def run_sliced(size, slices, workdir, seed=1, forks=50, compare_size=None, time_limit=1800, log=print):
    """The benchmark row: ``size`` vManage of a fleet-mixed lab in ``slices`` slices run one after another, then the
    aggregation; the merged report compared with an unsliced run over ``compare_size`` vManage (default: ``size``; a
    smaller size compares on a lab of its own, sliced the same way, when the unsliced run of ``size`` is too slow)."""
    bench_run = _bench_run()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    row = dict(size=size, slices=slices, forks=forks, seed=seed)
    lab_dir = workdir / ("lab-%d" % size)
    started = time.monotonic()
    bench_run.lab("up", "--scenario", "fleet-mixed", "--vmanage", str(size), "--seed", str(seed), directory=lab_dir)
    row["lab_up_s"] = round(time.monotonic() - started, 2)
    try:
        info = json.loads((lab_dir / "lab.json").read_text())
        lab_pids = [info["pid"]] + ([info["ssm"]["nginx_pid"]] if info["ssm"].get("nginx_pid") else [])
        with bench_run.PeakRss(lab_pids, interval=1.0) as lab_rss:
            sliced = sliced_run(lab_dir, slices, workdir / "sliced", forks, time_limit, log)
            row.update((key, value) for key, value in sliced.items() if key != "report")
            if compare_size in (None, size):
                log("unsliced run of %d vManage" % size)
                unsliced = unsliced_run(lab_dir, workdir / "unsliced", forks, time_limit)
        row["lab_peak_rss_mb"] = round(lab_rss.peak_kb / 1024.0, 1)
    finally:
        bench_run.lab("down", directory=lab_dir)
    if compare_size not in (None, size):
        log("comparison on a lab of %d vManage" % compare_size)
        compare_dir = workdir / ("lab-%d" % compare_size)
        bench_run.lab("up", "--scenario", "fleet-mixed", "--vmanage", str(compare_size), "--seed", str(seed), directory=compare_dir)
        try:
            sliced = sliced_run(compare_dir, slices, workdir / "compare-sliced", forks, time_limit, log)
            unsliced = unsliced_run(compare_dir, workdir / "compare-unsliced", forks, time_limit)
        finally:
            bench_run.lab("down", directory=compare_dir)
    differences = report_differences(sliced["report"], unsliced["report"]) if sliced["report"] and unsliced["report"] else None
    row.update(sliced_sequential_s=round(row["slices_wall_s"] + row["aggregation_s"], 2),
               sliced_on_n_nodes_s=round(row["slice_wall_max_s"] + row["aggregation_s"], 2),
               note="The %d slices ran one after another on this machine (sliced_sequential_s). AWX runs them side by side on "
                    "up to %d execution nodes, so the wall time there is about the slowest slice plus the aggregation "
                    "(sliced_on_n_nodes_s); with N nodes a slice holds size/N hosts and takes roughly that share of one run "
                    "plus a fixed job start of a few seconds, while the aggregation (one job, no vManage request) grows "
                    "with the fleet, not with N." % (slices, slices))
    row.update(compared_size=compare_size or size, unsliced_s=unsliced["job"]["wall_s"],
               unsliced_peak_rss_mb=unsliced["job"]["peak_rss_mb"], unsliced_cpu_s=unsliced["job"]["cpu_s"],
               merged_equals_unsliced=differences == [], differences=(differences or [])[:5])
    return row


def sliced_run(lab_dir, slices, workdir, forks, time_limit, log=print):
    """The slices one after another, their artefacts merged as AWX merges them, the aggregation: figures and its report."""
    inventory = yaml.safe_load((Path(lab_dir) / "inventory.yml").read_text())
    names = inventory_hosts(inventory)
    runs, artifacts = [], []
    for number in range(1, slices + 1):
        hosts = awx_slice(names, number, slices)
        log("slice %d of %d: %d vManage" % (number, slices, len(hosts)))
        pdd = Path(workdir) / ("slice-%d" % number)
        job = run_job(pdd, COMPLIANCE, slice_inventory(inventory, hosts), dict(license_compliance_report_dir=str(pdd / "reports")),
                      forks=forks, time_limit=time_limit, ident="slice-%d" % number)
        artifacts.append(job["artifacts"])
        runs.append(dict(slice=number, hosts=len(hosts), status=job["status"], wall_s=job["wall_s"], cpu_s=job["cpu_s"],
                         peak_rss_mb=job["peak_rss_mb"], records=len(job["artifacts"]),
                         artifacts_kb=round(len(json.dumps(job["artifacts"])) / 1024.0, 1)))
    merged = merge_artifacts(artifacts)
    reports = Path(workdir) / "reports"
    log("aggregation of %d records" % len(merged))
    aggregation = run_job(Path(workdir) / "aggregate", AGGREGATE, inventory,
                          dict(merged, license_compliance_report_dir=str(reports)), forks=forks, time_limit=time_limit,
                          ident="aggregate")
    report = json.loads((reports / "latest.json").read_text()) if (reports / "latest.json").exists() else None
    return dict(slice_runs=runs, slices_wall_s=round(sum(run["wall_s"] for run in runs), 2),
                slice_wall_max_s=max(run["wall_s"] for run in runs), slice_peak_rss_mb=max(run["peak_rss_mb"] for run in runs),
                aggregation_s=aggregation["wall_s"], aggregation_status=aggregation["status"],
                aggregation_cpu_s=aggregation["cpu_s"], aggregation_peak_rss_mb=aggregation["peak_rss_mb"],
                merged_artifacts_kb=round(len(json.dumps(merged)) / 1024.0, 1),
                totals=report["totals"] if report else None, report=report)


def unsliced_run(lab_dir, workdir, forks, time_limit):
    inventory = yaml.safe_load((Path(lab_dir) / "inventory.yml").read_text())
    reports = Path(workdir) / "reports"
    job = run_job(workdir, COMPLIANCE, inventory, dict(license_compliance_report_dir=str(reports)), forks=forks,
                  time_limit=time_limit, ident="unsliced")
    report = json.loads((reports / "latest.json").read_text()) if (reports / "latest.json").exists() else None
    return dict(job=job, report=report)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--slices", type=int, default=4)
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare-size", type=int, help="vManage of the unsliced comparison (default: --size)")
    parser.add_argument("--time-limit", type=int, default=1800, help="seconds per ansible-runner job")
    parser.add_argument("--workdir", help="kept when given; default: a temporary directory under bench/results/tmp, removed")
    options = parser.parse_args()
    workdir = Path(options.workdir) if options.workdir else BENCH / "results" / "tmp" / ("sliced-%d" % os.getpid())

    def log(message):
        print("[sliced %s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)

    try:
        row = run_sliced(options.size, options.slices, workdir, options.seed, options.forks, options.compare_size,
                         options.time_limit, log=log)
    finally:
        if not options.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    row["date"] = datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
