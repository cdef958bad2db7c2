"""What a user observes per host after a precheck, compliance or fix run, as one short text.

Observed texts (and the expected texts of the tests' tables) read:
  precheck     "healthy" | "fixable CAUSE" | "blocked CAUSE" | "failed CAUSE"
  compliance   "compliant" | "broken CAUSE" | "unreachable CAUSE" | "auth_failed CAUSE" | "error CAUSE"
  fix          "fixed" | "unchanged" | "stopped CAUSE" (failed, nothing written) | "failed CAUSE" (failed after a write)
               expected only: "converged" (fixed or unchanged)
An expected text matches when the state word is the same and its cause (if any) is among the
causes observed for the host.
"""
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES

VERDICT_LINE = re.compile(r"^verdict: (\w+)")
CHECK_LINE = re.compile(r"^\[(FAIL|WARN)\] (\w+): .*\((?P<cause>[A-Z_]+)\)\s*$")
STATED_CAUSE = re.compile(r"Cause: ([A-Z_]+)")
CAUSE_WORD = re.compile(r"\b(" + "|".join(sorted(CAUSES, key=len, reverse=True)) + r")\b")


@dataclass
class Observed:
    state: str
    causes: list = field(default_factory=list)
    detail: str = ""

    @property
    def text(self):
        return f"{self.state} {self.causes[0]}" if self.causes else self.state

    def matches(self, expected):
        state, _sep, cause = expected.partition(" ")
        if state == "converged":  # a fix run that ends with the host synced, whether it had work to do or not
            return self.state in ("fixed", "unchanged")
        return self.state == state and (not cause or cause in self.causes)


def causes_in(text):
    return list(dict.fromkeys(CAUSE_WORD.findall(text or "")))


def failure_text(run, host):
    """The messages of the tasks that failed the host (task results; the recap decides what counts)."""
    return " | ".join(str(r["result"].get("msg", "")) for r in run.failures(host))


def precheck(run, host):
    for record in run.host_records(host):
        if record["task"].endswith("Show the verdict") and isinstance(record["result"].get("msg"), list):
            lines = record["result"]["msg"]
            verdict = VERDICT_LINE.match(lines[0]).group(1).lower()
            causes = [m.group("cause") for m in map(CHECK_LINE.match, lines) if m and m.group(1) == "FAIL"]
            causes += [m.group("cause") for m in map(CHECK_LINE.match, lines) if m and m.group(1) == "WARN"]
            return Observed(verdict, list(dict.fromkeys(causes)), "\n".join(lines))
    text = failure_text(run, host)
    return Observed("failed", causes_in(text), text or "no verdict shown")


def compliance_report(report_dir):
    return json.loads((Path(report_dir) / "latest.json").read_text())


def compliance(report, host):
    for entry in report["hosts"]:
        if entry["host"] == host:
            causes = list(entry.get("causes") or [])
            codes = [c["code"] if isinstance(c, dict) else c for c in causes]
            return Observed(entry["state"], codes, json.dumps({k: entry.get(k) for k in ("state", "cause", "remedy", "last_sync")}))
    return Observed("missing", [], f"{host} is not in the report")


def fix_summary(run, host):
    return (run.custom_stats.get("_run", {}).get("fix_license_sync") or {}).get(host) or {}


def fix(run, host, wrote):
    """The fix run's outcome for ``host``; ``wrote``: whether the lab saw a write for this host during the run."""
    summary = fix_summary(run, host)
    text = failure_text(run, host)
    if not run.failed(host):
        state = {"synced": "fixed", "unchanged": "unchanged"}.get(summary.get("state_after"), summary.get("state_after") or "no summary")
        return Observed(state, list(summary.get("causes") or []), json.dumps(summary))
    stated = [c for c in STATED_CAUSE.findall(text) if c in CAUSES]  # the "Cause: X" of the error that stopped the run
    causes = list(summary.get("causes") or []) + causes_in(text)
    ordered = stated + [c for c in causes if not CAUSES[c].fixable] + causes
    return Observed("failed" if wrote else "stopped", list(dict.fromkeys(ordered)), text or json.dumps(summary))
