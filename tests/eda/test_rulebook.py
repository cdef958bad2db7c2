"""ansible-rulebook runs the collection's CLI rulebook against a lab whose vManage is healthy.

SSM On-Prem loses the grant (lab fault): the rulebook notices it within two poll intervals, runs the fix playbook on
that vManage, and the vManage syncs again. The same fault again within the throttle window starts no second fix; a
cause no playbook fixes (SSM's backend down) is only reported. Nothing the rulebook printed holds a secret.
The measured times go to tests/output/eda/detection.json.
"""
import ast
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from ..conftest import VENV_BIN, collection_environment

INTERVAL_S = 3
RULEBOOK = "sdwan_ops.license_sync.license_sync_watch"
HOST = "vmanage-001"
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "eda"
# Java's start, the rulebook's, ansible-playbook's: generous, so that a loaded CI machine does not fail the test.
START_TIMEOUT_S = 90
FIX_TIMEOUT_S = 90
# The fix playbook's own run after detection (a few seconds on the lab; more on a loaded machine).
FIX_ALLOWANCE_S = 30
EVENT_BLOCK = re.compile(r"\[received event\] \*+\nRuleset: [^\n]*\nEvent:\n(.*?)\n\*{20,}", re.S)


def java_home():
    """JAVA_HOME for ansible-rulebook: the environment's, else the one of the `java` on PATH (Java 17 or later)."""
    java = shutil.which("java")
    if not java:
        pytest.fail("no java: ansible-rulebook needs a Java 17 runtime; tools/system-deps.sh installs openjdk-17-jre-headless")
    version = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False).stderr
    major = re.search(r'version "(\d+)', version)
    if not major or int(major.group(1)) < 17:
        pytest.fail(f"ansible-rulebook needs Java 17 or later, found: {version.strip()}; tools/system-deps.sh installs it")
    return os.environ.get("JAVA_HOME") or str(Path(os.path.realpath(java)).parents[1])


class Rulebook:
    """One ansible-rulebook process; its output goes to files the test reads while it runs."""

    def __init__(self, workdir, inventory):
        self.stdout_path, self.stderr_path = workdir / "rulebook.out", workdir / "rulebook.err"
        variables = workdir / "vars.yml"
        variables.write_text(yaml.safe_dump({"license_status_inventory": str(inventory), "license_status_interval": INTERVAL_S}))
        env = collection_environment({"JAVA_HOME": java_home(), "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp")})
        command = [str(VENV_BIN / "ansible-rulebook"), "-i", str(inventory), "-r", RULEBOOK, "--vars", str(variables),
                   "--print-events", "-v"]
        with open(self.stdout_path, "w") as stdout, open(self.stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=stdout, stderr=stderr)  # noqa: S603

    @property
    def stdout(self):
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def events(self):
        """The license_status events the rulebook received, in order."""
        found = []
        for block in EVENT_BLOCK.findall(self.stdout):
            try:
                event = ast.literal_eval(block)
            except (SyntaxError, ValueError):
                continue
            if isinstance(event, dict) and "license_status" in event:
                found.append(event)
        return found

    def polls(self):
        return len(re.findall(r"license_status - INFO - poll \d+:", self.stdout))

    def wait_for(self, what, check, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"ansible-rulebook ended ({self.proc.returncode}) waiting for {what}:\n"
                                     f"{self.stdout[-4000:]}\n{self.stderr[-4000:]}")
            value = check()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"no {what} within {timeout} s:\n{self.stdout[-6000:]}\n{self.stderr[-3000:]}")

    def wait_polls(self, count, timeout=60):
        target = self.polls() + count
        self.wait_for(f"{count} more polls", lambda: self.polls() >= target, timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(20)


@pytest.fixture
def rulebook(tmp_path):
    started = []

    def start(inventory):
        run = Rulebook(tmp_path, inventory)
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()


def broken_events(run):
    return [event["license_status"] for event in run.events() if event["license_status"]["state"] == "broken"]


def received_at(status_event):
    stamp = status_event["meta"]["received_at"].rstrip("Z")
    return datetime.datetime.fromisoformat(stamp).replace(tzinfo=datetime.timezone.utc).timestamp()


def synced_after(lab, count):
    syncs = lab.state()["vmanage"][HOST]["syncs"]
    return len(syncs) > count and syncs[-1]["ok"]


def grant_creations(lab):
    return lab.state()["ssm"]["write_requests"].get("POST /backend/api_toolkit/grants", 0)


def test_the_cli_rulebook_fixes_a_deleted_grant_once_within_its_throttle_window(lab, rulebook, lab_secrets, leaks):
    fleet = lab("healthy", vmanage=1)
    secrets = set(lab_secrets(fleet))
    run = rulebook(fleet.inventory)
    run.wait_for("first poll", lambda: run.polls() >= 1, START_TIMEOUT_S)
    syncs_before = len(fleet.state()["vmanage"][HOST]["syncs"])

    faulted = time.time()
    fleet.fault("ssm", "grant-deleted")
    run.wait_for("sync after the fix", lambda: synced_after(fleet, syncs_before), FIX_TIMEOUT_S)
    fixed = time.time()
    detected = received_at(next(event for event in run.events() if event["license_status"]["state"] == "broken"))
    run.wait_for("recovery event", lambda: "RECOVERED vmanage-001 is compliant again (was broken)" in run.stdout, 30)
    secrets |= set(lab_secrets(fleet))  # the grant the fix created

    timing = dict(interval_s=INTERVAL_S, fault_to_detection_s=round(detected - faulted, 1),
                  detection_to_fixed_s=round(fixed - detected, 1), fault_to_fixed_s=round(fixed - faulted, 1))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "detection.json").write_text(json.dumps(timing, indent=2) + "\n")
    print(f"EDA lab timing: {timing}")
    assert detected - faulted <= 2 * INTERVAL_S, timing
    assert fixed - faulted <= 2 * INTERVAL_S + FIX_ALLOWANCE_S, timing
    [first] = broken_events(run)
    assert (first["host"], first["cause"], first["fixable"]) == (HOST, "GRANT_NOT_FOUND", True)
    assert run.stdout.count("FIX vmanage-001: GRANT_NOT_FOUND") == 1
    assert grant_creations(fleet) == 1
    settings = fleet.state()["vmanage"][HOST]["settings"]
    assert settings["mode"] == "on-prem" and settings["ssmClientId"]

    # The same break within the throttle window (a flapping host): reported, not fixed again.
    syncs_after_fix = len(fleet.state()["vmanage"][HOST]["syncs"])
    fleet.fault("ssm", "grant-deleted")
    run.wait_for("second break", lambda: len(broken_events(run)) >= 2, 4 * INTERVAL_S + 30)
    run.wait_polls(2)
    assert run.stdout.count("FIX vmanage-001") == 1
    assert grant_creations(fleet) == 1
    assert len(fleet.state()["vmanage"][HOST]["syncs"]) == syncs_after_fix

    # A cause no playbook fixes: only reported.
    fleet.fault("ssm", "ssm-backend-down")
    run.wait_for("notification", lambda: "NOTIFY vmanage-001 is broken: SSM_BACKEND_DOWN" in run.stdout, 4 * INTERVAL_S + 30)
    assert run.stdout.count("FIX vmanage-001") == 1
    assert run.proc.poll() is None, "ansible-rulebook ended"

    run.stop()
    hits = leaks(sorted(secrets), {"rulebook stdout": run.stdout, "rulebook stderr": run.stderr,
                                   "events": json.dumps(run.events())})
    assert not hits, hits


RULEBOOKS = Path(__file__).resolve().parents[2] / "extensions" / "eda" / "rulebooks"
CONTROLLER_OBJECTS = Path(__file__).resolve().parents[2] / "extensions" / "awx" / "controller_objects.yml"


def fixing_rules(rulebook):
    return [rule for ruleset in rulebook for rule in ruleset["rules"]
            if "fixable == true" in rule["condition"]]


@pytest.mark.parametrize("name", ["license_sync_watch", "license_sync_watch_controller"])
def test_both_rulebooks_parse_and_fix_each_host_and_cause_at_most_once_per_window(name):
    from ansible_rulebook.rules_parser import parse_rules
    from ansible_rulebook.validators import Validate

    rulebook = yaml.safe_load((RULEBOOKS / f"{name}.yml").read_text())
    Validate.rulebook(rulebook)
    assert len(parse_rules(rulebook[0]["rules"], {})) == 3  # conditions, throttles and actions as the engine reads them
    [source] = rulebook[0]["sources"]
    assert "sdwan_ops.license_sync.license_status" in source
    [rule] = fixing_rules(rulebook)
    assert rule["throttle"]["once_within"] == "30 minutes"
    assert rule["throttle"]["group_by_attributes"] == ["event.license_status.host", "event.license_status.cause"]


def test_the_controller_rulebook_launches_the_shipped_fix_template_limited_to_the_broken_host():
    rulebook = yaml.safe_load((RULEBOOKS / "license_sync_watch_controller.yml").read_text())
    [rule] = fixing_rules(rulebook)
    launch = rule["action"]["run_job_template"]
    templates = {template["name"]: template
                 for template in yaml.safe_load(CONTROLLER_OBJECTS.read_text())["license_sync_awx_job_templates"]}
    template = templates[launch["name"]]
    assert template["playbook"] == "playbooks/fix_license_sync.yml" and template["job_type"] == "run"
    assert template["ask_limit_on_launch"] is True
    assert launch["job_args"]["limit"] == "{{ event.license_status.host }}"
    # Only survey answers go with the launch: the template does not prompt for other variables.
    assert launch["include_events"] is False
    questions = {question["variable"] for question in template["survey_spec"]["spec"]}
    assert set(launch["job_args"]["extra_vars"]) <= questions
