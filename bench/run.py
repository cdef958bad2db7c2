"""Fleet benchmark of the compliance run (`make bench`, `make bench SIZES=200`).

For each fleet size: one `fleet-mixed` lab on 127.0.0.1, one inventory, and for each forks value,
side by side: the debug floor, a no-op module floor, the compliance playbook and the uri baseline.
Per run: wall time, peak RSS of ansible-playbook with all its workers, peak RSS of the lab (its
Python process and its nginx), and from `sdwan-lab state`: requests per vManage and writes.
Then a fleet fix of `seed` vManage, its rerun (changed=0, zero writes) and a compliance check, and the compliance run
of a large fleet in AWX job slices plus the aggregation, against its unsliced run (bench/sliced.py).
Every lab started here is stopped here; every run has a time limit.
"""
import argparse
import datetime
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent
LAB = str(VENV_BIN / "sdwan-lab")
COLLECTIONS = REPO / ".build" / "collections"
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PLAYBOOKS = dict(
    floor=BENCH / "playbooks" / "floor_debug.yml",
    module_floor=BENCH / "playbooks" / "floor_module.yml",
    compliance=REPO / "playbooks" / "license_compliance.yml",
    uri_baseline=BENCH / "baseline" / "license_compliance_uri.yml",
)


def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


class PeakRss:
    """Samples, every `interval` s, the summed RSS of the process trees under `root_pids`."""

    def __init__(self, root_pids, interval=0.2):
        self.root_pids, self.interval = set(root_pids), interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self.sample())
            self._stop.wait(self.interval)

    def sample(self):
        parents, rss = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path("/proc/%s/stat" % entry).read_text()
                statm = Path("/proc/%s/statm" % entry).read_text().split()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(statm[1]) * PAGE_KB
        members, frontier = set(), set(self.root_pids)
        while frontier:
            members |= frontier
            frontier = {pid for pid, parent in parents.items() if parent in frontier} - members
        return sum(rss.get(pid, 0) for pid in members)


def environment():
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LIBRARY=str(BENCH / "playbooks" / "library"),
        PATH="%s%s%s" % (VENV_BIN, os.pathsep, env.get("PATH", "")),
    )
    return env


def lab(*args, directory):
    proc = subprocess.run([LAB, *args, "--dir", str(directory)], capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError("sdwan-lab %s: %s%s" % (" ".join(args), proc.stdout, proc.stderr))
    return proc.stdout


def lab_counts(directory):
    """{vmanage name: requests}, writes on every listener, SSM token requests and all SSM requests, from `sdwan-lab state`."""
    state = json.loads(lab("state", directory=directory))
    per_vmanage = {name: sum(vm.get("requests", {}).values()) for name, vm in state["vmanage"].items()}
    writes = state["ssm"].get("writes", 0) + sum(vm.get("writes", 0) for vm in state["vmanage"].values())
    tokens = sum(count for key, count in state["ssm"].get("requests", {}).items() if "/oauth/token" in key)
    return per_vmanage, writes, tokens, sum(state["ssm"].get("requests", {}).values())


def run_playbook(playbook, inventory, forks, time_limit, lab_dir, extra_vars=None, args=()):
    """Run one playbook; returns wall seconds, peak RSS (MiB) of ansible-playbook's tree and of the lab, rc, output."""
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "-f", str(forks), str(playbook), *args]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    output = tempfile.TemporaryFile(mode="w+")
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=str(REPO), env=environment(), stdout=output, stderr=subprocess.STDOUT, text=True)
    info = json.loads((Path(lab_dir) / "lab.json").read_text())
    lab_pids = [info["pid"]] + ([info["ssm"]["nginx_pid"]] if info["ssm"].get("nginx_pid") else [])
    children_before, lab_cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_seconds(lab_pids)
    with PeakRss([proc.pid]) as ansible_rss, PeakRss(lab_pids, interval=0.5) as lab_rss:
        try:
            rc = proc.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = None
    wall = time.monotonic() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ansible_cpu = (children_after.ru_utime - children_before.ru_utime) + (children_after.ru_stime - children_before.ru_stime)
    lab_cpu = cpu_seconds(lab_pids) - lab_cpu_before
    output.seek(0)
    text = output.read()
    output.close()
    return dict(wall_s=round(wall, 2), rc=rc, timed_out=rc is None, ansible_cpu_s=round(ansible_cpu, 2), lab_cpu_s=round(lab_cpu, 2),
                ansible_peak_rss_mb=round(ansible_rss.peak_kb / 1024.0, 1),
                lab_peak_rss_mb=round(lab_rss.peak_kb / 1024.0, 1), recap=recap(text), tail=text[-3000:])


def cpu_seconds(pids):
    """User + system CPU seconds used so far by these processes (0 for one that is gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / float(ticks)
    return total


def recap(text):
    totals = {}
    in_recap = False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
        elif in_recap and ":" in line and "=" in line:
            for pair in line.split(":", 1)[1].split():
                key, _sep, value = pair.partition("=")
                if value.isdigit():
                    totals[key] = totals.get(key, 0) + int(value)
    return totals


def measured(name, playbook, inventory, forks, time_limit, lab_dir, extra_vars=None):
    before, writes_before, tokens_before, ssm_before = lab_counts(lab_dir)
    result = run_playbook(playbook, inventory, forks, time_limit, lab_dir, extra_vars)
    after, writes_after, tokens_after, ssm_after = lab_counts(lab_dir)
    deltas = [after[name_] - before.get(name_, 0) for name_ in after]
    result.update(requests_per_host_max=max(deltas) if deltas else 0,
                  requests_per_host_mean=round(sum(deltas) / float(len(deltas)), 2) if deltas else 0,
                  ssm_requests_per_host=round((ssm_after - ssm_before) / float(len(deltas)), 2) if deltas else 0,
                  writes=writes_after - writes_before, ssm_token_requests=tokens_after - tokens_before)
    log("  %-13s %7.1f s  cpu %6.1f s (lab %5.1f s)  rc=%s  ansible %6.0f MiB  lab %5.0f MiB  requests/vManage max %s  writes %s  SSM tokens %s" % (
        name, result["wall_s"], result["ansible_cpu_s"], result["lab_cpu_s"], result["rc"], result["ansible_peak_rss_mb"], result["lab_peak_rss_mb"],
        result["requests_per_host_max"], result["writes"], result["ssm_token_requests"]))
    if result["rc"] != 0:
        log("  %s did not succeed:\n%s" % (name, result["tail"]))
    return result


def bench_size(size, forks_values, seed, time_limit, work):
    lab_dir = work / ("fleet-%d" % size)
    log("lab fleet-mixed, %d vManage" % size)
    started = time.monotonic()
    lab("up", "--scenario", "fleet-mixed", "--vmanage", str(size), "--seed", str(seed), directory=lab_dir)
    lab_up_s = round(time.monotonic() - started, 2)
    rows = []
    try:
        inventory = lab_dir / "inventory.yml"
        truth = json.loads((lab_dir / "lab.json").read_text())
        for forks in forks_values:
            log("size %d, forks %d" % (size, forks))
            runs = {}
            for name in ("floor", "module_floor", "compliance", "uri_baseline"):
                extra = dict(license_compliance_report_dir=str(lab_dir / "reports"), baseline_report_dir=str(lab_dir / "baseline"))
                runs[name] = measured(name, PLAYBOOKS[name], inventory, forks, time_limit, lab_dir, extra)
            report = json.loads((lab_dir / "reports" / "latest.json").read_text())
            compliance = runs["compliance"]
            rows.append(dict(
                size=size, forks=forks,
                compliance_s=compliance["wall_s"], floor_s=runs["floor"]["wall_s"],
                module_floor_s=runs["module_floor"]["wall_s"], uri_baseline_s=runs["uri_baseline"]["wall_s"],
                compliance_vs_floor=round(compliance["wall_s"] / runs["floor"]["wall_s"], 2),
                compliance_cpu_s=compliance["ansible_cpu_s"], floor_cpu_s=runs["floor"]["ansible_cpu_s"],
                compliance_vs_floor_cpu=round(compliance["ansible_cpu_s"] / runs["floor"]["ansible_cpu_s"], 2),
                lab_cpu_s=compliance["lab_cpu_s"],
                uri_baseline_vs_compliance=round(runs["uri_baseline"]["wall_s"] / compliance["wall_s"], 1),
                requests_per_host=compliance["requests_per_host_max"],
                requests_per_host_mean=compliance["requests_per_host_mean"],
                writes=compliance["writes"], ssm_token_requests=compliance["ssm_token_requests"],
                ansible_peak_rss_mb=compliance["ansible_peak_rss_mb"], lab_peak_rss_mb=compliance["lab_peak_rss_mb"],
                lab_up_s=lab_up_s, totals=report["totals"], truth_hosts=len(truth["vmanage"]),
                runs={name: {k: v for k, v in run.items() if k != "tail"} for name, run in runs.items()},
            ))
    finally:
        lab("down", directory=lab_dir)
    return rows


def bench_fix(size, forks, time_limit, work):
    """A fleet fix of `size` seed vManage, its rerun (changed=0, zero writes) and, on the same now healthy fleet and
    inventory, the compliance run the fix is compared with (targets: rerun <= 2x and fix <= 5x that compliance run,
    rerun requests per host <= 2x the compliance run's)."""
    lab_dir = work / ("fix-%d" % size)
    log("lab seed, %d vManage: fleet fix" % size)
    lab("up", "--scenario", "seed", "--vmanage", str(size), directory=lab_dir)
    try:
        inventory = lab_dir / "inventory.yml"
        fix_playbook = REPO / "playbooks" / "fix_license_sync.yml"
        first = measured("fix", fix_playbook, inventory, forks, time_limit, lab_dir)
        rerun = measured("fix rerun", fix_playbook, inventory, forks, time_limit, lab_dir)
        check = measured("compliance", PLAYBOOKS["compliance"], inventory, forks, time_limit, lab_dir,
                         dict(license_compliance_report_dir=str(lab_dir / "reports")))
        report = json.loads((lab_dir / "reports" / "latest.json").read_text())
    finally:
        lab("down", directory=lab_dir)
    compliance_s = check["wall_s"]
    return dict(size=size, forks=forks, fix_s=first["wall_s"], fix_rc=first["rc"], fix_changed=first["recap"].get("changed"),
                fix_writes=first["writes"], fix_requests_per_host=first["requests_per_host_mean"],
                fix_ssm_requests_per_host=first["ssm_requests_per_host"], fix_ssm_token_requests=first["ssm_token_requests"],
                fix_rerun_s=rerun["wall_s"], fix_rerun_rc=rerun["rc"], fix_rerun_changed=rerun["recap"].get("changed"),
                fix_rerun_writes=rerun["writes"], fix_rerun_requests_per_host=rerun["requests_per_host_mean"],
                fix_rerun_ssm_requests_per_host=rerun["ssm_requests_per_host"],
                compliance_s=compliance_s, compliance_requests_per_host=check["requests_per_host_mean"],
                fix_vs_compliance=round(first["wall_s"] / compliance_s, 2), fix_rerun_vs_compliance=round(rerun["wall_s"] / compliance_s, 2),
                fix_rerun_requests_vs_compliance=round(rerun["requests_per_host_mean"] / check["requests_per_host_mean"], 2),
                fix_cpu_s=first["ansible_cpu_s"], fix_rerun_cpu_s=rerun["ansible_cpu_s"], compliance_cpu_s=check["ansible_cpu_s"],
                compliant_after=report["totals"]["compliant"], hosts=report["totals"]["hosts"],
                fix_peak_rss_mb=first["ansible_peak_rss_mb"],
                targets=dict(fix_rerun_vs_compliance=2.0, fix_vs_compliance=5.0, fix_rerun_requests_vs_compliance=2.0,
                             fix_rerun_writes=0))


def bench_sliced(size, slices, forks, seed, time_limit, work):
    """The compliance run of a fleet-mixed lab in AWX job slices plus the aggregation (bench/sliced.py), compared with the
    unsliced run of the same lab: the merged report must equal it host for host."""
    log("lab fleet-mixed, %d vManage: %d slices and the aggregation" % (size, slices))
    spec = importlib.util.spec_from_file_location("sdwan_bench_sliced", BENCH / "sliced.py")
    sliced = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sliced)
    row = sliced.run_sliced(size, slices, work / ("sliced-%d" % size), seed=seed, forks=forks, time_limit=time_limit, log=log)
    row["sliced_on_n_nodes_vs_unsliced"] = round(row["sliced_on_n_nodes_s"] / row["unsliced_s"], 2)
    return row


SLICED_COLUMNS = (("size", "vManage"), ("slices", "slices"), ("forks", "forks"), ("unsliced_s", "unsliced s"),
                  ("slice_wall_max_s", "slowest slice s"), ("aggregation_s", "aggregation s"),
                  ("sliced_sequential_s", "slices one after another + aggregation s"),
                  ("sliced_on_n_nodes_s", "on N nodes s (slowest slice + aggregation)"),
                  ("sliced_on_n_nodes_vs_unsliced", "÷ unsliced"), ("merged_artifacts_kb", "merged artefacts KiB"),
                  ("merged_equals_unsliced", "merged report = unsliced"))


FIX_COLUMNS = (("size", "vManage"), ("forks", "forks"), ("compliance_s", "compliance s"), ("fix_s", "fix s"),
               ("fix_vs_compliance", "fix ÷ compliance (≤ 5)"), ("fix_rerun_s", "rerun s"),
               ("fix_rerun_vs_compliance", "rerun ÷ compliance (≤ 2)"), ("compliance_requests_per_host", "compliance requests/vManage"),
               ("fix_requests_per_host", "fix requests/vManage"), ("fix_rerun_requests_per_host", "rerun requests/vManage"),
               ("fix_ssm_requests_per_host", "fix SSM requests/vManage"), ("fix_writes", "fix writes"),
               ("fix_rerun_writes", "rerun writes"), ("compliant_after", "compliant after"))


MD_COLUMNS = (("size", "vManage"), ("forks", "forks"), ("compliance_s", "compliance s"), ("floor_s", "debug floor s"),
              ("compliance_vs_floor", "× floor"), ("compliance_cpu_s", "compliance CPU s"), ("floor_cpu_s", "floor CPU s"),
              ("compliance_vs_floor_cpu", "× floor (CPU)"), ("module_floor_s", "no-op module s"), ("uri_baseline_s", "uri baseline s"),
              ("uri_baseline_vs_compliance", "baseline ÷ compliance"), ("requests_per_host", "requests/vManage (max)"),
              ("writes", "writes"), ("ssm_token_requests", "SSM token requests"), ("ansible_peak_rss_mb", "ansible peak RSS MiB"),
              ("lab_peak_rss_mb", "lab peak RSS MiB"))


def table(rows, columns):
    """A markdown table of ``rows`` (dicts) with ``columns`` ((key, title), ...)."""
    return (["| " + " | ".join(title for _key, title in columns) + " |", "|" + "---|" * len(columns)] +
            ["| " + " | ".join(str(row[key]) for key, _title in columns) + " |" for row in rows])


def markdown(document):
    lines = ["# Fleet benchmark — %s" % document["date"], "",
             "Machine: %s. `make bench` (bench/run.py); lab `fleet-mixed` on 127.0.0.1; targets: compliance over 500 within "
             "3× the debug floor and ≥ 10× faster than the uri baseline." % document["machine"], ""]
    lines += table(document["sizes"], MD_COLUMNS)
    if document.get("fix"):
        lines += ["", "Fleet fix of `seed` vManage, its rerun and the compliance run over the same (then healthy) fleet, "
                  "side by side on one lab and inventory:", ""] + table(document["fix"], FIX_COLUMNS)
    if document.get("sliced"):
        lines += ["", "Compliance run in AWX job slices (bench/sliced.py: `ansible-runner` jobs, artefacts merged as AWX "
                  "merges them, then playbooks/license_compliance_aggregate.yml), against the unsliced run of the same lab:",
                  ""] + table(document["sliced"], SLICED_COLUMNS)
    lines += ["", "CPU is user + system seconds of ansible-playbook and all its workers (the lab's own CPU is in latest.json): "
              "on a shared 2-core machine it is steadier than wall time.",
              "RSS is summed over the process tree (shared pages count once per process), sampled every 0.2 s; "
              "requests per vManage and writes come from `sdwan-lab state` before and after each run.",
              "SSM token requests are all that reached SSM On-Prem's token endpoint: in the compliance run, each vManage "
              "with a stored grant for this SSM asks for a token itself (its fetchAccounts, the live check); the "
              "controller's own token check runs once per distinct grant whose secret the inventory holds (none here). "
              "The uri baseline makes the same vManage calls plus a separate XSRF-token request (7 per vManage)."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[50, 200, 500])
    parser.add_argument("--forks", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fix-size", type=int, default=200, help="seed vManage for the fleet fix (0: skip)")
    parser.add_argument("--sliced-size", type=int, default=2000, help="vManage of the sliced compliance row (0: skip)")
    parser.add_argument("--slices", type=int, default=4, help="AWX job slices of the sliced compliance row")
    parser.add_argument("--time-limit", type=int, default=1800, help="seconds per playbook run")
    options = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tmp").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=str(RESULTS / "tmp")))
    document = dict(date=datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),
                    machine="%d cores, Python %s" % (os.cpu_count(), sys.version.split()[0]),
                    seed=options.seed, sizes=[], fix=[], sliced=[])
    try:
        for size in options.sizes:
            document["sizes"].extend(bench_size(size, options.forks, options.seed, options.time_limit, work))
        if options.fix_size:
            document["fix"].append(bench_fix(options.fix_size, options.forks[0], options.time_limit, work))
        if options.sliced_size:
            document["sliced"].append(bench_sliced(options.sliced_size, options.slices, options.forks[-1], options.seed,
                                                   options.time_limit, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stamp = document["date"].replace(":", "-")
    for path in (RESULTS / ("%s.json" % stamp), RESULTS / "latest.json"):
        path.write_text(json.dumps(document, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(document))
    print(markdown(document))


if __name__ == "__main__":
    main()
