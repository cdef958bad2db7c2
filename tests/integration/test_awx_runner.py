"""The AWX way: the workflows' job templates run by ansible-runner against the lab.

As AWX / Automation Controller does it: a private data directory per job, the project checked out
into project/, an inventory without credentials, survey answers as extra vars, the credentials
injected as environment variables by rendering the credential types' injectors
(extensions/awx/credential_types/*.yml) the way AWX renders them, and each job's set_stats
artefacts handed to the next node of the workflow (extensions/awx/controller_objects.yml).
A sliced job template runs as AWX slices it (bench/sliced.py: AWX's split of the inventory, one
ansible-runner job per slice, the slices' artefacts merged with one shallow update each).
"""
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import types
from pathlib import Path
from urllib.parse import unquote, urlsplit

import ansible_runner
import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..conftest import REPO

AWX = REPO / "extensions" / "awx"
JOB_TIMEOUT_S = 600


def load_yaml(path):
    return yaml.safe_load(path.read_text())


def inject_credential(credential_type, inputs, private_data_dir):
    """Environment variables of one credential, rendered as AWX's CredentialType.inject_credential does.

    AWX leaves empty inputs out of the template namespace, defaults missing booleans to False,
    writes each `file` injector to a 0600 file under env/ and exposes its path as
    tower.filename[.<name>], and renders with Jinja's ImmutableSandboxedEnvironment.
    """
    tower = types.SimpleNamespace()
    namespace = {"tower": tower}
    for field in credential_type["inputs"]["fields"]:
        value = inputs.get(field["id"])
        if field.get("type") == "boolean":
            namespace[field["id"]] = bool(value)
        elif value:
            namespace[field["id"]] = value
    sandbox = ImmutableSandboxedEnvironment()
    for label, template in credential_type["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=private_data_dir / "env")
        with os.fdopen(handle, "w") as file:
            file.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." in label:
            tower.filename = getattr(tower, "filename", None) or types.SimpleNamespace()
            setattr(tower.filename, label.split(".", 1)[1], path)
        else:
            tower.filename = path
    return {name: sandbox.from_string(template).render(**namespace)
            for name, template in credential_type["injectors"]["env"].items()}


def credential_inputs(info):
    """What an operator types into the two AWX credentials for this lab (no client id: the fix creates the grant)."""
    ca_pem = Path(info["ca_cert"]).read_text()
    (vmanage,) = info["vmanage"]
    url = urlsplit(vmanage["url"])
    ssm = info["ssm"]
    return {
        "vmanage.yml": {
            "vmanage_host": url.hostname,
            "vmanage_port": str(url.port),
            "vmanage_username": vmanage["username"],
            "vmanage_password": vmanage["password"],
            "vmanage_ca_cert": ca_pem,
        },
        "ssm_onprem.yml": {
            "ssm_url": ssm["url"],
            "ssm_username": ssm["username"],
            "ssm_password": ssm["password"],
            "ssm_admin_username": ssm["admin_username"],
            "ssm_admin_password": ssm["admin_password"],
            "ssm_ca_cert": ca_pem,
        },
    }


def test_credentials_with_only_the_required_fields_give_values_the_modules_accept(tmp_path, monkeypatch):
    """AWX renders an empty optional field as an empty string: the injected variables must still validate."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import SSM_OPTIONS, VMANAGE_OPTIONS

    (tmp_path / "env").mkdir()
    required = {
        "vmanage.yml": {"vmanage_host": "vmanage.example.net", "vmanage_username": "automation", "vmanage_password": "pw-1"},
        "ssm_onprem.yml": {"ssm_url": "https://ssm.example.net:8443", "ssm_username": "licensing", "ssm_password": "pw-2"},
    }
    env = {}
    for name, inputs in required.items():
        credential_type = load_yaml(AWX / "credential_types" / name)
        assert sorted(credential_type["inputs"]["required"]) == sorted(inputs)
        assert all(f.get("secret") for f in credential_type["inputs"]["fields"] if "password" in f["id"] or "secret" in f["id"])
        env.update(inject_credential(credential_type, inputs, tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = ArgumentSpecValidator({**VMANAGE_OPTIONS, **SSM_OPTIONS}).validate({})
    assert not result.error_messages, result.error_messages
    params = result.validated_parameters
    assert params["vmanage_port"] == 443 and params["vmanage_validate_certs"] and params["ssm_validate_certs"]
    assert not params["vmanage_ca_path"] and not params["ssm_ca_path"], "no CA given: the trust store must apply"
    assert (params["ssm_admin_username"], params["ssm_admin_password"]) == ("licensing", "pw-2")
    assert not params["ssm_client_id"] and not params["ssm_client_secret"]


def lab_secrets(info):
    """The lab's passwords, and every grant secret vManage sent to SSM On-Prem (its access log has them, as a real
    SSM On-Prem's nginx access log does): the stale one of the seed and the one the fix created."""
    secrets = {info["ssm"]["password"], info["ssm"]["admin_password"]}
    secrets |= {vmanage["password"] for vmanage in info["vmanage"]}
    access_log = Path(info["ssm"]["logs"]["access"]).read_text()
    secrets |= {unquote(s) for s in re.findall(r"client_secret=([^&\s\"]+)", access_log)}
    return sorted(s for s in secrets if s)


class AwxJob:
    """One job template launched the way AWX launches it."""

    def __init__(self, base, template, info, extra_vars):
        self.template = template
        self.dir = Path(tempfile.mkdtemp(prefix="awx_job_", dir=base))
        (self.dir / "env").mkdir()
        shutil.copytree(REPO / "playbooks", self.dir / "project" / "playbooks")  # the project checkout
        self.inventory = self.dir / "inventory" / "hosts.yml"
        self.inventory.parent.mkdir()
        hosts = {vmanage["name"]: {} for vmanage in info["vmanage"]}
        # Connection facts of the controller, nothing about vManage or SSM: those come from the credentials.
        self.inventory.write_text(yaml.safe_dump({"vmanage": {"hosts": hosts, "vars": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}))
        self.env = {
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),  # the execution environment's collection
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # ansible-playbook of the EE
        }
        self.injected = {}
        for name, inputs in credential_inputs(info).items():
            self.injected.update(inject_credential(load_yaml(AWX / "credential_types" / name), inputs, self.dir))
        self.env.update(self.injected)
        self.extra_vars = extra_vars
        self.run = None

    def launch(self):
        cmdline = []
        if self.template["job_type"] == "check":
            cmdline.append("--check")
        if self.template.get("diff_mode"):
            cmdline.append("--diff")
        self.run = ansible_runner.run(
            private_data_dir=str(self.dir),
            playbook=self.template["playbook"],
            inventory=str(self.inventory),
            envvars=self.env,
            extravars=self.extra_vars,
            cmdline=" ".join(cmdline) or None,
            quiet=True,
            timeout=JOB_TIMEOUT_S,
        )
        return self

    @property
    def artifacts_dir(self):
        return Path(self.run.config.artifact_dir)

    @property
    def stdout(self):
        return (self.artifacts_dir / "stdout").read_text()

    def set_stats(self):
        """The job's artefacts as AWX stores them (job.artifacts): set_stats data of the playbook_on_stats event."""
        for event in self.run.events:
            if event["event"] == "playbook_on_stats":
                return event["event_data"].get("artifact_data", {})
        return {}


def survey_answers(template, answers=None):
    """The survey's defaults, or the operator's ``answers``, as AWX passes them: extra vars."""
    if not template.get("survey_enabled"):
        return {}
    return {question["variable"]: (answers or {}).get(question["variable"], question["default"])
            for question in template["survey_spec"]["spec"]}


@pytest.fixture(scope="module")
def awx_objects():
    return load_yaml(AWX / "controller_objects.yml")


def walk_workflow(workflow, templates, launch, answers=None):
    """The nodes of a workflow in the order AWX runs them (a chain, as these workflows are): each job gets the template's
    extra vars, the survey answers and every earlier job's set_stats data as extra vars, in that order of precedence, and
    the edge taken follows its status. ``launch(node_id, template, extra_vars) -> (status, artifacts, job)``."""
    nodes = {n["identifier"]: n for n in workflow["workflow_nodes"]}
    children = {child["identifier"] for n in nodes.values() for edge in n.get("related", {}).values() for child in edge}
    (node_id,) = [identifier for identifier in nodes if identifier not in children]
    jobs, artifacts = {}, {}
    while node_id:
        node = nodes[node_id]
        template = templates[node["unified_job_template"]["name"]]
        extra_vars = {**template.get("extra_vars", {}), **survey_answers(template, answers), **artifacts}
        status, job_artifacts, jobs[node_id] = launch(node_id, template, extra_vars)
        artifacts.update(job_artifacts)
        edge = "success_nodes" if status == "successful" else "failure_nodes"
        following = node.get("related", {}).get(edge, []) + node.get("related", {}).get("always_nodes", [])
        node_id = following[0]["identifier"] if following else None
    return jobs


def run_workflow(awx_objects, info, base, after_job=lambda node_id: None):
    """precheck -> fix -> report, each node getting its parents' set_stats data as extra vars."""
    templates = {t["name"]: t for t in awx_objects["license_sync_awx_job_templates"]}

    def launch(node_id, template, extra_vars):
        job = AwxJob(base, template, info, extra_vars).launch()
        after_job(node_id)
        return job.run.status, job.set_stats(), job

    return walk_workflow(awx_objects["license_sync_awx_workflow"], templates, launch)


def test_workflow_fixes_the_seed_lab_with_credentials_only_in_the_environment(lab, tmp_path, awx_objects):
    seed = lab(scenario="seed")
    info = seed.info
    writes = {}
    jobs = run_workflow(awx_objects, info, tmp_path, after_job=lambda node_id: writes.update({node_id: seed.total_writes()}))

    assert list(jobs) == ["precheck", "fix", "report"], {k: (j.run.status, j.stdout[-3000:]) for k, j in jobs.items()}
    for node_id, job in jobs.items():
        assert job.run.status == "successful", f"{node_id}:\n{job.stdout[-6000:]}"

    (host,) = (vmanage["name"] for vmanage in info["vmanage"])
    # The precheck (check mode) changed nothing and said what the fix would do.
    assert writes["precheck"] == 0
    precheck = jobs["precheck"].set_stats()["fix_license_sync"][host]
    assert precheck["check_mode"] and precheck["state_after"] == "would_change" and "GRANT_NOT_FOUND" in precheck["causes"]
    # The fix worked and its artefacts say so; the report job (read-only) sees every host compliant; the lab agrees.
    fix_stats = jobs["fix"].set_stats()
    fix = fix_stats["fix_license_sync"][host]
    assert not fix["check_mode"] and fix["state_before"] == "fixable" and fix["state_after"] == "synced", fix
    assert writes["report"] == writes["fix"] > 0
    # The report job publishes one record per host (merge-safe if AWX slices it); the totals come from the aggregation.
    report_stats = jobs["report"].set_stats()
    assert sorted(record["host"] for record in report_stats.values()) == sorted(vm["name"] for vm in info["vmanage"])
    assert {record["state"] for record in report_stats.values()} == {"compliant"}
    (vmanage_state,) = seed.state()["vmanage"].values()
    assert vmanage_state["syncs"] and vmanage_state["syncs"][-1]["ok"]
    # The report job received the fix job's artefacts as extra vars, as the workflow passes them.
    report_extra_vars = json.loads((jobs["report"].dir / "env" / "extravars").read_text())
    assert all(report_extra_vars[key] == value for key, value in fix_stats.items())

    secrets = lab_secrets(info)
    assert len(secrets) >= 5, "expected 3 lab passwords, the seed's stale grant secret and the new grant's secret"
    for node_id, job in jobs.items():
        assert not any(s in json.dumps(job.extra_vars) for s in secrets), f"{node_id}: a secret in extra vars"
        assert not any(s in job.inventory.read_text() for s in secrets), f"{node_id}: a secret in the inventory"
        for path in sorted(p for p in job.artifacts_dir.rglob("*") if p.is_file()):
            text = path.read_text(errors="replace")
            if path.name == "command":
                # ansible-runner's record of the job environment (0600), where the credential put them, and nowhere else.
                record = json.loads(text)
                assert not any(s in json.dumps(record["command"]) for s in secrets), f"{node_id}: a secret on the command line"
                leaked = sorted(k for k, v in record["env"].items() if any(s in str(v) for s in secrets))
                # The search finds them where the credentials put them (so it would find them anywhere else).
                assert {"VMANAGE_PASSWORD", "SSM_PASSWORD", "SSM_ADMIN_PASSWORD"} <= set(leaked) <= set(job.injected), leaked
                assert stat.S_IMODE(path.stat().st_mode) == 0o600
                continue
            found = [s for s in secrets if s in text]
            assert not found, f"{node_id}: a lab secret in {path.relative_to(job.artifacts_dir)}"
        events = json.dumps(list(job.run.events))
        assert not any(s in events for s in secrets), f"{node_id}: a lab secret in the job events"


def test_sliced_workflow_reports_once_fixes_the_broken_hosts_and_finds_them_fixed(lab, tmp_path, awx_objects, sliced):
    """compliance sliced -> aggregate -> fix of the hosts the aggregate found fixable -> compliance sliced -> aggregate.

    The inventory carries the logins here (the lab's per-vManage passwords; vault-encrypted in production); every
    artefact a job publishes goes to AWX's database, so none may carry a secret.
    """
    seed = lab(scenario="seed", vmanage=3)
    info = seed.info
    inventory = yaml.safe_load(seed.inventory.read_text())
    names = sliced.inventory_hosts(inventory)
    templates = {t["name"]: t for t in awx_objects["license_sync_awx_job_templates"]}
    reports = tmp_path / "durable-reports"

    def launch(node_id, template, extra_vars):
        # JobTemplate.get_effective_slice_ct: no more slices than hosts.
        count = min(template.get("job_slice_count", 1), len(names))
        args = ["--check"] if template["job_type"] == "check" else []
        args += ["--diff"] if template.get("diff_mode") else []
        jobs = [sliced.run_job(tmp_path / ("%s-%d" % (node_id, number)), template["playbook"],
                               sliced.slice_inventory(inventory, sliced.awx_slice(names, number, count)) if count > 1 else inventory,
                               extra_vars, forks=10, time_limit=JOB_TIMEOUT_S, ident=node_id, args=args)
                for number in range(1, count + 1)]
        status = "successful" if all(job["status"] == "successful" for job in jobs) else "failed"
        return status, sliced.merge_artifacts(job["artifacts"] for job in jobs), dict(jobs=jobs, extra_vars=extra_vars)

    jobs = walk_workflow(awx_objects["license_sync_awx_sliced_workflow"], templates, launch,
                         answers={"license_compliance_report_dir": str(reports)})

    assert list(jobs) == ["compliance", "aggregate", "fix", "compliance_again", "aggregate_again"]
    assert [len(jobs[node]["jobs"]) for node in jobs] == [3, 1, 1, 3, 1], "the compliance jobs run as 3 slices"
    for node_id, run in jobs.items():
        assert all(job["status"] == "successful" for job in run["jobs"]), f"{node_id}:\n{run['jobs'][0]['stdout_tail']}"
    # The aggregate found every seed vManage broken and fixable and named them as the fix job's host pattern.
    first = jobs["aggregate"]["jobs"][0]["artifacts"]
    assert first["license_compliance"]["hosts"] == first["license_compliance"]["broken"] == 3
    assert sorted(jobs["fix"]["extra_vars"]["fix_license_sync_hosts"]) == names
    assert all(vm["syncs"] and vm["syncs"][-1]["ok"] for vm in seed.state()["vmanage"].values())
    # The second aggregate, in the same durable directory, finds them compliant and says they were fixed.
    last = json.loads((reports / "latest.json").read_text())
    assert last["totals"]["compliant"] == 3 and last["totals"]["unprocessed"] == 0
    assert sorted(last["history"]["fixed"]) == names and last["history"]["changed"] == last["history"]["fixed"]
    assert jobs["aggregate_again"]["jobs"][0]["artifacts"]["fix_license_sync_hosts"] == []
    secrets = lab_secrets(info)
    published = json.dumps([job["artifacts"] for run in jobs.values() for job in run["jobs"]])
    assert not [s for s in secrets if s in published], "a lab secret in the artefacts AWX would store"
