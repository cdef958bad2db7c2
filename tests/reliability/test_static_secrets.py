"""Secrets by construction: secret-bearing options are no_log, roles and playbooks never put a
secret into a fact, a stat or an un-no_log'd task, and ansible-lint's no-log-password holds."""
import re
import subprocess
import sys
from pathlib import Path

import yaml

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import argspec
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import is_secret_key

from ..conftest import REPO

MODULE_SPECS = {name: value for name, value in vars(argspec).items() if isinstance(value, dict) and "argument_spec" in value}
SET_FACT = {"set_fact", "ansible.builtin.set_fact", "ansible.legacy.set_fact"}
SET_STATS = {"set_stats", "ansible.builtin.set_stats", "ansible.legacy.set_stats"}
TASK_KEYWORDS = {
    "name", "when", "register", "loop", "loop_control", "vars", "tags", "no_log", "notify", "become", "delegate_to",
    "run_once", "ignore_errors", "ignore_unreachable", "changed_when", "failed_when", "until", "retries", "delay",
    "environment", "check_mode", "diff", "module_defaults", "block", "rescue", "always", "listen", "args", "any_errors_fatal",
    "throttle", "timeout", "delegate_facts", "local_action", "connection", "collections", "become_user", "debugger",
}
# Modules whose results carry a secret: registering them needs no_log on the task.
SECRET_RESULT_MODULES = ("ssm_grant",)


def exempt_from_no_log(settings):
    """``no_log=False`` stated on an option with fixed choices (e.g. update_secret: on_create|always): no secret."""
    return settings.get("no_log") is False and bool(settings.get("choices"))


# Option names (and the role variables named after them, e.g. fix_license_sync_plan.update_secret) that are no secret.
NOT_SECRETS = {option for spec in MODULE_SPECS.values() for option, settings in spec["argument_spec"].items() if exempt_from_no_log(settings)}


SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:password|passwd|secret|token)\b", re.I)


def yaml_files(*roots):
    for root in roots:
        yield from sorted((REPO / root).rglob("*.yml"))


def tasks_in(node):
    """Every task dict of a tasks file or play list, blocks and handlers included."""
    if isinstance(node, list):
        for item in node:
            yield from tasks_in(item)
    elif isinstance(node, dict):
        if "hosts" in node:  # a play
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                yield from tasks_in(node.get(section) or [])
            return
        yield node
        for section in ("block", "rescue", "always"):
            yield from tasks_in(node.get(section) or [])


def task_files():
    for path in yaml_files("roles", "playbooks"):
        if "/tasks/" in str(path) or "/handlers/" in str(path) or path.parent.name == "playbooks":
            yield path


def load_yaml(path):
    return yaml.safe_load(path.read_text()) or []


def action_of(task):
    modules = [key for key in task if key not in TASK_KEYWORDS]
    return modules[0] if modules else None


def secret_name(name):
    """A secret-looking name, except options that only look like one (update_secret: on_create|always)."""
    return is_secret_key(name) and not any(name == exempt or name.endswith("_" + exempt) for exempt in NOT_SECRETS)


def mentions_secret(value):
    """True when a task argument is secret-named or templates a secret-named variable or field."""
    if isinstance(value, dict):
        return any(secret_name(key) or mentions_secret(item) for key, item in value.items())
    if isinstance(value, list):
        return any(mentions_secret(item) for item in value)
    if isinstance(value, str) and "{{" in value:
        return any(secret_name(name) for name in SECRET_NAME.findall(value))
    return False


def no_log_on(task):
    value = task.get("no_log", False)
    return value is True or (isinstance(value, str) and (value.strip().lower() in ("true", "yes") or "{{" in value))


def test_every_secret_bearing_module_option_is_no_log():
    assert MODULE_SPECS, "no module argument specs found in module_utils/argspec.py"
    leaking = [f"{spec}.{option}" for spec, value in MODULE_SPECS.items()
               for option, settings in value["argument_spec"].items()
               if is_secret_key(option) and not settings.get("no_log") and not exempt_from_no_log(settings)]
    assert not leaking, f"secret-bearing options without no_log: {leaking}"


def test_roles_and_playbooks_never_set_fact_or_set_stats_a_secret():
    offending = []
    for path in task_files():
        for task in tasks_in(load_yaml(path)):
            action = action_of(task)
            if action in SET_FACT | SET_STATS and mentions_secret(task[action]):
                offending.append(f"{path.relative_to(REPO)}: {task.get('name', action)}")
    assert not offending, "tasks that put a secret into a fact or a stat: " + "; ".join(offending)


def test_every_task_handling_a_secret_is_no_log():
    offending = []
    for path in task_files():
        for task in tasks_in(load_yaml(path)):
            action = action_of(task)
            if not action or action in ("block", "include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role"):
                continue
            handles_secret = mentions_secret(task[action]) or mentions_secret(task.get("vars") or {})
            returns_secret = action.split(".")[-1] in SECRET_RESULT_MODULES and "register" in task
            if (handles_secret or returns_secret) and not no_log_on(task):
                offending.append(f"{path.relative_to(REPO)}: {task.get('name', action)}")
    assert not offending, "tasks that handle a secret without no_log: " + "; ".join(offending)


def test_ansible_lint_no_log_password_holds(collection_env):
    targets = ["roles", "playbooks"]
    for target in targets:
        assert any((REPO / target).rglob("*.yml")), f"{target}/ has no YAML: nothing to lint"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-lint"), "--offline", "--nocolor", "--enable-list", "no-log-password",
         "--tags", "no-log-password", *targets],
        cwd=str(REPO), capture_output=True, text=True, env=collection_env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "no-log-password" not in proc.stdout


def test_the_static_checks_can_fail(tmp_path):
    """The detectors above flag what they must (a check that cannot fail proves nothing)."""
    tasks = yaml.safe_load(
        """
        - name: Leaks a secret into a fact
          ansible.builtin.set_fact:
            grant_secret: "{{ grant.client_secret }}"
        - name: Pushes a secret without no_log
          sdwan_ops.license_sync.vmanage_license_auth:
            ssm_client_secret: "{{ fix_client_secret }}"
        - name: Registers a grant without no_log
          sdwan_ops.license_sync.ssm_grant:
            name: x
          register: grant
        - name: Fine
          sdwan_ops.license_sync.vmanage_license_auth:
            ssm_client_secret: "{{ fix_client_secret }}"
          no_log: true
        """)
    found = list(tasks_in(tasks))
    assert mentions_secret(found[0]["ansible.builtin.set_fact"])
    assert mentions_secret(found[1]["sdwan_ops.license_sync.vmanage_license_auth"]) and not no_log_on(found[1])
    assert action_of(found[2]).endswith("ssm_grant") and not no_log_on(found[2])
    assert no_log_on(found[3])
    assert not mentions_secret({"name": "{{ inventory_hostname }}", "msg": "{{ precheck_result.verdict }}"})
