"""Render docs/reliability.md from the results of the reliability tests (tests/reliability/).

The tests write one JSON file per case under tests/output/reliability/<part>/ (and the
aggregates tests/output/fault_matrix.json, tests/output/reliability.json); this script turns what
is on disk into the published matrix and figures. Nothing here is typed by hand: run the tests,
then `make reliability-docs` (or `python tools/render_reliability.py [--output PATH]`).
"""
import argparse
import datetime
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS_MODULE = REPO / "tests" / "reliability" / "support" / "results.py"
DOC = REPO / "docs" / "reliability.md"
PASS, FAIL = "✅", "❌"


def load_results(output=None):
    spec = importlib.util.spec_from_file_location("reliability_results", RESULTS_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load(output or module.OUTPUT)


def cell(entry):
    if entry is None:
        return "—"
    if entry["passed"]:
        return f"{PASS} {entry['expected']}"
    return f"{FAIL} expected {entry['expected']}, got **{entry['observed']}**"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(value).replace("|", "\\|").replace("\n", " ") for value in row) + " |" for row in rows]
    return "\n".join(lines)


def matrix_section(cases):
    if not cases:
        return ["_The fault matrix has not run: `make test` (or `pytest tests/reliability/test_fault_matrix.py`)._"]
    runs = ("precheck", "compliance", "fix", "fix after clearing")
    rows, failures = [], []
    for case in sorted(cases, key=lambda case: case["order"]):
        cells = {(c["host"], c["run"]): c for c in case["cells"]}
        fault = f"`{case['fault']}` on {case['target']}" if case["fault"] else f"scenario `{case['scenario']}`"
        if case["options"]:
            fault += " (" + ", ".join(f"{k}={v}" for k, v in sorted(case["options"].items())) + ")"
        row = [case["title"], fault]
        for run in runs:
            row.append("<br>".join(f"{host}: {cell(cells.get((host, run)))}" for host in ("field", "healthy") if (host, run) in cells))
        row.append(f"{FAIL} " + "; ".join(case["not_worse"]) if case["not_worse"] else PASS)
        row.append(PASS if case["passed"] else FAIL)
        rows.append(row)
        failures += [f"`{case['case']}`: {problem.split(' — ')[0]}" for problem in case["problems"]]
    cells_total = sum(len(case["cells"]) for case in cases)
    cells_passed = sum(c["passed"] for case in cases for c in case["cells"])
    lines = [
        f"{len(cases)} faults × (precheck, compliance, fix, fix after clearing) on a vManage in the *Grant not found* "
        f"state (**field**) and on a healthy one (**healthy**): {cells_total} outcomes asserted, {cells_passed} as expected.",
        "",
        table(["Fault", "Lab", "Precheck", "Compliance", "Fix", "Fix after clearing", "No vManage worse than before", "Result"], rows),
    ]
    if failures:
        lines += ["", "Cells that do not hold yet (each one a failing test):", ""] + [f"- {failure}" for failure in failures]
    return lines


def secrets_section(entries):
    if not entries:
        return ["_The secret-leak search has not run._"]
    lines = []
    for entry in entries:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(entry["secrets_by_kind"].items()))
        lines += [
            f"Runs searched: {', '.join(entry['runs'])}.",
            "",
            table(["Figure", "Value"], [
                ["actual secret values searched", f"{entry['secrets_searched']} ({kinds})"],
                ["HTTP exchanges seen by the interceptor", entry["wire_exchanges"]],
                ["output files and streams searched", entry["sources_searched"]],
                ["bytes searched", f"{entry['bytes_searched']:,}"],
                ["SSM access-log lines of the collection's requests", entry["collection_access_log_lines"]],
                ["hits", f"**{entry['hits']}** {PASS if entry['passed'] else FAIL}"],
            ]),
        ]
        lines += [f"- {FAIL} {problem}" for problem in entry["problems"][:20]]
    return lines


def races_section(entries):
    if not entries:
        return ["_The race tests have not run._"]
    rows = [[e["mode"], e["concurrent_runs"], e["vmanage"], ", ".join(f"{n}: {c}" for n, c in sorted(e["grants"].items())),
             PASS if e["one_grant_per_name"] else FAIL, PASS if e["vmanage_synced"] else FAIL,
             f"{e['runs_all_fixed']}/{e['concurrent_runs']}", f"{e['rerun_changed']} changed, {e['rerun_writes']} writes",
             PASS if e["passed"] else FAIL] for e in entries]
    lines = [table(["Round", "Concurrent fix runs", "vManage", "Grants at the end", "One grant per name", "vManage synced and authenticating",
                    "Runs ending with every vManage fixed", "Next run", "Result"], rows)]
    for entry in entries:
        lines += [f"- {FAIL} {entry['mode']}: {problem.split(':')[0]}: {problem.split(':', 1)[1][:160]}" for problem in entry["problems"][:6]]
    return lines


def interruptions_section(entries):
    summaries = [e for e in entries if e["case"].startswith("summary-")]
    points = [e for e in entries if not e["case"].startswith("summary-")]
    if not summaries:
        return ["_The interruption tests have not run._"]
    lines = []
    for summary in summaries:
        lines.append(f"{summary['mode']}: a fix run of a `seed` vManage makes {summary['requests_per_fix_run']} requests; "
                     f"{summary['kills']} kills, {summary['survived']} converged on the next run "
                     f"({summary['seconds']} s).")
    rows = [[e["case"].split("-")[0], e["k"], f"`{e['request']}`", e["variant"], e["recovery"], ", ".join(e["grants"]), e["sessions_left_open"],
             PASS if e["passed"] else FAIL] for e in sorted(points, key=lambda e: (e["case"].split("-")[0], e["k"], e["variant"]))]
    lines += ["", table(["Set", "k", "Request k", "Killed", "Next run", "Grants after", "vManage sessions left open", "Result"], rows)]
    return lines


def fleet_section(entries):
    if not entries:
        return ["_The fleet test has not run._"]
    rows = [[e["size"], e["seed"], ", ".join(f"{k} every {v['every']}" for k, v in sorted(e["faults"].items())),
             ", ".join(f"{k}: {v}" for k, v in sorted(e["tally"].items())), e["problem_count"],
             f"fix {e['fix_s']} s, compliance {e['compliance_s']} s", PASS if e["passed"] else FAIL] for e in entries]
    lines = [table(["Hosts", "Seed", "Faults on every listener", "Fix outcomes", "Problems", "Time", "Result"], rows)]
    for entry in entries:
        lines += [f"- {FAIL} {problem.split(': ', 1)[0]}: {problem.split(': ', 1)[1][:150] if ': ' in problem else ''}"
                  for problem in entry["problems"][:12]]
        if entry["problem_count"] > 12:
            lines.append(f"- … {entry['problem_count'] - 12} more in tests/output/reliability/fleet/")
    return lines


def hostile_section(entries):
    cases = [e for e in entries if e["case"] != "_summary"]
    if not cases:
        return ["_The hostile-input test has not run._"]
    rows = [[f"`{e['case']}`", e["title"], " or ".join(e["expected"]), e["observed"], PASS if e["passed"] else FAIL] for e in cases]
    return [f"{len(cases)} cases tried, {sum(e['passed'] for e in cases)} as expected.", "",
            table(["Case", "Input or answer", "Expected", "Observed", "Result"], rows)]


def figures(loaded):
    matrix, secrets, races = loaded["fault_matrix"], loaded["secrets"], loaded["races"]
    interruptions = [e for e in loaded["interruptions"] if e["case"].startswith("summary-")]
    hostile = [e for e in loaded["hostile_input"] if e["case"] != "_summary"]
    rows = []
    if matrix:
        cells = [c for case in matrix for c in case["cells"]]
        rows.append(["Fault matrix", f"{len(matrix)} faults, {len(cells)} outcomes asserted, {sum(c['passed'] for c in cells)} as expected"])
    for entry in secrets:
        rows.append(["Secrets", f"{entry['secrets_searched']} actual values searched in {entry['bytes_searched']:,} bytes of "
                                f"{len(entry['runs'])} runs: {entry['hits']} hits"])
    for entry in races:
        rows.append([f"Races ({entry['mode']})", f"{entry['concurrent_runs']} concurrent fix runs: one grant per name "
                                                 f"{PASS if entry['one_grant_per_name'] else FAIL}, vManage synced "
                                                 f"{PASS if entry['vmanage_synced'] else FAIL}, "
                                                 f"{entry['runs_all_fixed']}/{entry['concurrent_runs']} runs ended with every vManage fixed"])
    for entry in interruptions:
        rows.append([f"Interruptions ({entry['mode']})", f"{entry['kills']} SIGKILLs, {entry['survived']} converged on the next run"])
    for entry in loaded["fleet"]:
        rows.append([f"Fleet ({entry['size']})", f"{entry['hosts_as_expected']}/{entry['size']} vManage in their correct state after the "
                                                 f"fix under flapping 5xx and rate limits ({entry['hosts_not_processed']} never "
                                                 f"processed); {entry['false_compliant']} reported compliant although not"])
    if hostile:
        rows.append(["Hostile input", f"{len(hostile)} cases, {sum(e['passed'] for e in hostile)} as expected"])
    return table(["Part", "Figure"], rows) if rows else "_No results yet._"


def render(loaded):
    recorded = sorted(e.get("recorded", "") for part in loaded.values() for e in part)
    lines = [
        "# Reliability and security: what is proven",
        "",
        "<!-- Generated by tools/render_reliability.py from tests/output/reliability/ (the reliability tests' results). "
        "Do not edit: run the tests, then `make reliability-docs`. -->",
        "",
        "Every figure and every cell below comes from a test in `tests/reliability/` that ran against the lab "
        "(`tests/lab`, real HTTPS listeners) and asserted it; a ❌ is a test that fails today.",
        f"Results recorded {recorded[0] if recorded else 'never'} … {recorded[-1] if recorded else ''}; "
        f"rendered {datetime.date.today().isoformat()}.",
        "",
        "## Figures",
        "",
        figures(loaded),
        "",
        "## Fault matrix",
        "",
        "Per fault, one lab: the **field** vManage starts in the *Grant not found* state (`seed`: grant unknown to SSM), "
        "the **healthy** one was fixed by hand first (API Toolkit grant, settings, authenticate, sync). The fault is switched "
        "on; the precheck role and the compliance playbook run (one playbook), then `fix_license_sync.yml`; the fault is "
        "cleared and the fix runs again. Outcomes: precheck verdict and cause; compliance state and cause; fix `fixed`, "
        "`unchanged`, `stopped CAUSE` (failed, nothing written) or `failed CAUSE` (failed after a write); `converged` = fixed "
        "or unchanged. Under an every-k fault `fixed` also requires that the lab answered requests of that run with the fault. "
        "*No vManage worse than before*: a failed run leaves a healthy vManage's settings as they were and they still "
        "authenticate once the fault is cleared; on the field vManage a failed run may only leave settings that authenticate.",
        "",
        *matrix_section(loaded["fault_matrix"]),
        "",
        "## Secrets",
        "",
        "Full fix and compliance runs at `-vvvv`, with `ANSIBLE_DEBUG=1`, `--diff`, `--check`, with a grant's client "
        "id/secret in the inventory, and under ansible-runner with the credentials injected as environment variables. The "
        "runs go through the test's HTTPS interceptor (the collection's own `vmanage_proxy`/`ssm_proxy` options), which "
        "records every session cookie, XSRF token, access token, password and client secret that crossed the wire; the "
        "lab adds its passwords and every grant's secret. Searched for those exact values (raw, URL-encoded, JSON-escaped, "
        "base64): stdout, stderr, the callback's records, `ANSIBLE_LOG_PATH`, the compliance reports, ansible-runner's "
        "private data directory (except the inputs: `env/` and ansible-runner's own copy of the environment in "
        "`artifacts/*/command`) and the lines of SSM's nginx access log caused by the collection (vManage's own token "
        "request carries the secret in its query string: that is vManage's behaviour). Static checks: every "
        "secret-bearing module option is `no_log`; no role or playbook task puts a secret into a fact or a stat, and every "
        "task that handles one is `no_log`; ansible-lint `no-log-password` passes.",
        "",
        *secrets_section(loaded["secrets"]),
        "",
        "## Races",
        "",
        "Four `fix_license_sync.yml` runs started at once against the same two vManage and SSM. *lined-up*: the interceptor "
        "holds every grant creation until all four runs have sent theirs, so they reach SSM together.",
        "",
        *races_section(loaded["races"]),
        "",
        "## Interruptions",
        "",
        "A fix run SIGKILLed (its whole process group) at request k — *processed*: request k carried out by the server, its "
        "answer never delivered; *answered*: request k answered, request k+1 never sent — then the next fix run. It must "
        "converge, the settings must authenticate, the last sync must be good, and SSM must hold one grant per name and no "
        "grant that no vManage uses. `make test` kills at the writes; `make kill-sweep` after every request, both ways.",
        "",
        *interruptions_section(loaded["interruptions"]),
        "",
        "## Fleet",
        "",
        "`fleet-mixed` with flapping 5xx and rate limiting on every listener; the fix and then the compliance run over the "
        "whole fleet. Every host must end in its correct state (fixable: fixed; healthy: unchanged; otherwise stopped with "
        "its cause) and no host may be reported compliant unless the lab's state says it is. `make test` runs 500 hosts "
        "(`make fleet` runs this test alone).",
        "",
        *fleet_section(loaded["fleet"]),
        "",
        "## Hostile and bad input",
        "",
        "Inputs an operator may type (host variables) and answers a server, or a box in front of it, may give (served by "
        "the test's interceptor). Each must end in a clear error naming a cause code and a remedy, with no traceback and no "
        "write on its vManage, or, where the input is merely unusual, in a working fix.",
        "",
        *hostile_section(loaded["hostile_input"]),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DOC)
    parser.add_argument("--results", type=Path, default=None, help="results directory (default tests/output/reliability)")
    args = parser.parse_args(argv)
    loaded = load_results(args.results)
    args.output.write_text(render(loaded))
    print(f"wrote {args.output} from {sum(len(v) for v in loaded.values())} results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
