"""ModuleAction: the one way the modules run - options from task, inventory or environment, validation, masking, results."""
import json
from unittest import mock

import pytest
from ansible.errors import AnsibleError

from ansible_collections.sdwan_ops.license_sync.plugins.action import vmanage_license_info as info_action
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import argspec, runner
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._action import ModuleAction

from ..modules.conftest import FakeClients, FakeVManage

MODULE = "sdwan_ops.license_sync.vmanage_license_info"
PASSWORD = "lab-fake-vmanage-password"
MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
ARGS = dict(vmanage_host="vmanage.lab.example", vmanage_username="admin", vmanage_password=PASSWORD)


class Recorder:
    """A runner that records what it was given and returns what the test wants."""

    def __init__(self, result=None, error=None, warning=None):
        self.result = result or dict(changed=False)
        self.error = error
        self.warning = warning
        self.params = None
        self.ctx = None

    def __call__(self, params, ctx):
        self.params, self.ctx = params, ctx
        if self.warning:
            ctx.warn(self.warning)
        if self.error:
            raise self.error
        return dict(self.result)


def make_action(args, runner_function, spec=None, check_mode=False, diff=False, no_log=False,
                environment=None, inventory_options=None):
    class Action(ModuleAction):
        RUNNER = staticmethod(runner_function)
        SPEC = spec or argspec.VMANAGE_LICENSE_INFO
        INVENTORY_OPTIONS = inventory_options

    task = mock.MagicMock(args=dict(args), check_mode=check_mode, diff=diff, no_log=no_log, environment=environment,
                          async_val=0, action=MODULE)
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/nonexistent"
    connection._shell.env_prefix.return_value = ""
    templar = mock.MagicMock()
    templar.template.side_effect = template
    return Action(task, connection, mock.MagicMock(), None, templar, None)


def template(value):
    """The templar of a play: '{{ name }}' of an undefined variable fails, anything else is already templated."""
    if isinstance(value, str) and value.startswith("{{"):
        raise AnsibleError("'%s' is undefined" % value.strip("{} "))
    return value


def run_action(args, runner_function=None, task_vars=None, **options):
    runner_function = runner_function or Recorder()
    return make_action(args, runner_function, **options).run(task_vars=task_vars or {}), runner_function


@pytest.fixture(autouse=True)
def no_connection_env(monkeypatch):
    for name in ("VMANAGE_HOST", "VMANAGE_PORT", "VMANAGE_USERNAME", "VMANAGE_PASSWORD", "VMANAGE_VALIDATE_CERTS",
                 "LICENSE_SYNC_TIMEOUT", "LICENSE_SYNC_RETRIES"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_vmanage(monkeypatch):
    vmanage = FakeVManage()
    monkeypatch.setattr(runner, "Clients", lambda ctx: FakeClients(vmanage=vmanage))
    return vmanage


def test_missing_required_option_fails_before_the_runner_with_ansibles_words(fake_vmanage):
    result, recorder = run_action(dict(vmanage_host="vmanage.lab.example"))

    assert result["failed"] is True and recorder.params is None
    assert result["msg"] == "missing required arguments: vmanage_password, vmanage_username"


def test_unsupported_option_is_named_with_the_module(fake_vmanage):
    result, _recorder = run_action(dict(ARGS, vmanage_pasword="typo"))

    assert result["msg"].startswith("Unsupported parameters for (%s) module: vmanage_pasword." % MODULE)
    assert "Supported parameters include:" in result["msg"]


@pytest.mark.parametrize("args, words", [
    (dict(ARGS, gather=["firmware"]), "Got no match for: firmware"),
    (dict(ARGS, vmanage_port="https"), "argument 'vmanage_port' is of type"),
    (dict(ARGS, vmanage_validate_certs="maybe"), "argument 'vmanage_validate_certs' is of type"),
])
def test_invalid_values_fail_before_the_runner(fake_vmanage, args, words):
    result, recorder = run_action(args)

    assert result["failed"] is True and recorder.params is None
    assert words in result["msg"]


INVENTORY = dict(inventory_hostname="vmanage-emea", vmanage_host="inventory.lab.example", vmanage_username="inventory-admin",
                 vmanage_password=PASSWORD, license_sync_timeout=9, license_sync_trace_dir="")


def test_options_the_task_leaves_out_come_from_the_inventory_variables_of_the_same_name(monkeypatch):
    monkeypatch.setenv("VMANAGE_HOST", "env.lab.example")

    result, recorder = run_action({}, task_vars=INVENTORY)

    assert (recorder.params["vmanage_host"], recorder.params["vmanage_username"], recorder.params["timeout"]) == (
        "inventory.lab.example", "inventory-admin", 9)
    assert recorder.params["trace_dir"] is None  # an empty variable counts as unset
    assert result["invocation"]["module_args"]["vmanage_password"] == MASKED


def test_the_task_beats_the_inventory_which_beats_the_environment(monkeypatch):
    monkeypatch.setenv("VMANAGE_USERNAME", "env-admin")
    monkeypatch.setenv("VMANAGE_PORT", "8443")

    _result, recorder = run_action(dict(vmanage_host="task.lab.example"), task_vars=dict(INVENTORY, vmanage_username=None))

    assert (recorder.params["vmanage_host"], recorder.params["vmanage_username"], recorder.params["vmanage_port"]) == (
        "task.lab.example", "env-admin", 8443)


def test_an_inventory_variable_that_cannot_be_templated_is_named_in_the_failure():
    result, recorder = run_action({}, task_vars=dict(INVENTORY, vmanage_password="{{ vault_vmanage_password }}"))

    assert result["failed"] is True and recorder.params is None
    assert "inventory variable vmanage_password (for the option vmanage_password)" in result["msg"]
    assert "vault_vmanage_password" in result["msg"]


def test_an_action_can_limit_which_options_read_the_inventory():
    _result, recorder = run_action(dict(ARGS), task_vars=dict(INVENTORY, vmanage_port=8443), inventory_options=("timeout",))

    assert recorder.params["vmanage_port"] is None and recorder.params["timeout"] == 9


def test_required_if_is_enforced():
    result, recorder = run_action(dict(ssm_url="https://ssm.lab.example:8443", ssm_username="admin", state="verified"),
                                  spec=argspec.SSM_GRANT)

    assert result["failed"] is True and recorder.params is None
    assert result["msg"] == "state is verified but all of the following are missing: ssm_client_id, ssm_client_secret"


def test_defaults_and_types_reach_the_runner():
    result, recorder = run_action(dict(ARGS, vmanage_port="8443", vmanage_validate_certs="no"))

    assert (recorder.params["vmanage_port"], recorder.params["vmanage_validate_certs"]) == (8443, False)
    assert (recorder.params["timeout"], recorder.params["retries"], recorder.params["gather"]) == (30, 3, [])
    assert result["changed"] is False


def test_environment_fallbacks_from_the_controller(monkeypatch):
    monkeypatch.setenv("VMANAGE_HOST", "env-vmanage.lab.example")
    monkeypatch.setenv("VMANAGE_USERNAME", "env-admin")
    monkeypatch.setenv("VMANAGE_PASSWORD", PASSWORD)
    monkeypatch.setenv("LICENSE_SYNC_TIMEOUT", "7")

    result, recorder = run_action({})

    assert (recorder.params["vmanage_host"], recorder.params["vmanage_username"], recorder.params["timeout"]) == (
        "env-vmanage.lab.example", "env-admin", 7)
    assert result["invocation"]["module_args"]["vmanage_password"] == MASKED


def test_task_environment_overrides_the_controller_environment_as_for_a_module(monkeypatch):
    monkeypatch.setenv("VMANAGE_HOST", "controller.lab.example")

    _result, recorder = run_action(dict(vmanage_username="admin"), environment=[
        dict(VMANAGE_HOST="play.lab.example", VMANAGE_PASSWORD=PASSWORD), dict(VMANAGE_HOST="task.lab.example")])

    assert recorder.params["vmanage_host"] == "task.lab.example"
    assert recorder.params["vmanage_password"] == PASSWORD


def test_empty_environment_variables_count_as_unset(monkeypatch):
    """AWX injects an empty optional credential field as an empty variable: the default must win."""
    monkeypatch.setenv("VMANAGE_PORT", "")
    monkeypatch.setenv("LICENSE_SYNC_TIMEOUT", "")

    result, recorder = run_action(ARGS, environment=[dict(VMANAGE_CA_PATH="")])

    assert "failed" not in result
    assert (recorder.params["vmanage_port"], recorder.params["timeout"], recorder.params["vmanage_ca_path"]) == (None, 30, None)


def test_explicit_option_beats_the_environment(monkeypatch):
    monkeypatch.setenv("VMANAGE_HOST", "env.lab.example")

    _result, recorder = run_action(ARGS, environment=[dict(VMANAGE_HOST="task-env.lab.example")])

    assert recorder.params["vmanage_host"] == "vmanage.lab.example"


def test_no_log_values_are_masked_in_the_whole_result_and_the_invocation():
    leaky = Recorder(result=dict(changed=False, note="password %s seen" % PASSWORD, nested=[dict(value=PASSWORD)]),
                     warning="vManage said %s" % PASSWORD)

    result, _recorder = run_action(ARGS, leaky)

    text = json.dumps(result)
    assert PASSWORD not in text
    assert result["invocation"]["module_args"]["vmanage_password"] == MASKED
    assert result["nested"][0]["value"] == MASKED
    assert result["warnings"] == ["vManage said ********"]


def test_no_log_value_from_the_environment_is_masked_too(monkeypatch):
    monkeypatch.setenv("VMANAGE_PASSWORD", PASSWORD)

    result, _recorder = run_action(dict(vmanage_host="vmanage.lab.example", vmanage_username="admin"),
                                   Recorder(result=dict(changed=False, echo=PASSWORD)))

    assert result["echo"] == MASKED


def test_invocation_holds_the_validated_options_with_secrets_masked(fake_vmanage):
    result, _recorder = run_action(ARGS, info_action.ActionModule.RUNNER)

    assert result["invocation"]["module_args"]["vmanage_host"] == "vmanage.lab.example"
    assert result["invocation"]["module_args"]["vmanage_password"] == MASKED
    assert result["client_id"] == fake_vmanage.settings["client_id"] and result["changed"] is False


def test_a_failed_login_is_a_failed_result_with_cause_url_status_and_remedy(monkeypatch):
    monkeypatch.setattr(runner, "Clients", lambda ctx: FakeClients(
        vmanage_login_error=LicenseSyncError("VMANAGE_AUTH_FAILED", "vManage refused the login of user 'admin'",
                                             url="https://vmanage.lab.example:443/j_security_check", status=200)))

    result, _recorder = run_action(ARGS, info_action.ActionModule.RUNNER)

    assert (result["failed"], result["cause"], result["status"]) == (True, "VMANAGE_AUTH_FAILED", 200)
    assert result["url"] == "https://vmanage.lab.example:443/j_security_check" and result["remedy"]


@pytest.mark.parametrize("check_mode, diff", [(True, False), (False, True), (True, True)])
def test_check_and_diff_mode_come_from_the_task(check_mode, diff):
    _result, recorder = run_action(ARGS, check_mode=check_mode, diff=diff)

    assert (recorder.ctx.check_mode, recorder.ctx.diff) == (check_mode, diff)


def test_no_log_of_the_task_reaches_the_runner():
    _result, recorder = run_action(ARGS, no_log=True)

    assert recorder.ctx.no_log is True


def test_license_sync_error_becomes_a_failed_result():
    error = LicenseSyncError("GRANT_NOT_FOUND", "Grant not found", url="https://ssm.lab.example:8443/backend/oauth/token", status=403)

    result, _recorder = run_action(ARGS, Recorder(error=error))

    assert result["failed"] is True and result["changed"] is False
    assert (result["cause"], result["status"], result["url"]) == ("GRANT_NOT_FOUND", 403, "https://ssm.lab.example:8443/backend/oauth/token")
    assert "API Toolkit" in result["remedy"] and result["msg"].startswith("Grant not found")


def test_every_action_plugin_runs_its_modules_runner_and_spec():
    from ansible_collections.sdwan_ops.license_sync.plugins.action import (
        ssm_grant, vmanage_license_auth, vmanage_license_sync, vmanage_precheck)
    from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import grant, license_auth, license_info, license_sync, precheck

    wiring = [
        (vmanage_precheck, precheck.run_precheck, argspec.VMANAGE_PRECHECK),
        (ssm_grant, grant.run_ssm_grant, argspec.SSM_GRANT),
        (vmanage_license_auth, license_auth.run_license_auth, argspec.VMANAGE_LICENSE_AUTH),
        (vmanage_license_sync, license_sync.run_license_sync, argspec.VMANAGE_LICENSE_SYNC),
        (info_action, license_info.run_license_info, argspec.VMANAGE_LICENSE_INFO),
    ]
    for action, runner_function, spec in wiring:
        assert action.ActionModule.RUNNER is runner_function
        assert action.ActionModule.SPEC is spec
