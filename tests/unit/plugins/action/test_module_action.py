"""ModuleAction: controller-side execution that validates, masks and reports exactly as the module would."""
import json
from unittest import mock

import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.action import vmanage_license_info as info_action
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import argspec, runner
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.modules import vmanage_license_info as info_module
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils.module_action import ModuleAction

from ..modules.conftest import FakeClients, FakeVManage, module_args

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
                environment=None):
    class Action(ModuleAction):
        RUNNER = staticmethod(runner_function)
        SPEC = spec or argspec.VMANAGE_LICENSE_INFO

    task = mock.MagicMock(args=dict(args), check_mode=check_mode, diff=diff, no_log=no_log, environment=environment,
                          async_val=0, action=MODULE)
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/nonexistent"
    connection._shell.env_prefix.return_value = ""
    templar = mock.MagicMock()
    templar.template.side_effect = lambda value: value
    return Action(task, connection, mock.MagicMock(), None, templar, None)


def run_action(args, runner_function=None, **options):
    runner_function = runner_function or Recorder()
    return make_action(args, runner_function, **options).run(task_vars={}), runner_function


def run_module(args, capsys):
    """The same arguments through the module file's main() and AnsibleModule; its JSON result."""
    with module_args(dict(args, _ansible_module_name=MODULE)), pytest.raises(SystemExit):
        info_module.main()
    return json.loads(capsys.readouterr().out)


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


def test_missing_required_option_fails_like_the_module(capsys, fake_vmanage):
    args = dict(vmanage_host="vmanage.lab.example")

    result, recorder = run_action(args)
    module_result = run_module(args, capsys)

    assert result["failed"] is True and recorder.params is None
    assert result["msg"] == module_result["msg"] == "missing required arguments: vmanage_password, vmanage_username"


def test_unsupported_option_fails_like_the_module(capsys, fake_vmanage):
    args = dict(ARGS, vmanage_pasword="typo")

    result, _recorder = run_action(args)
    module_result = run_module(args, capsys)

    assert result["msg"] == module_result["msg"]
    assert result["msg"].startswith("Unsupported parameters for (%s) module: vmanage_pasword." % MODULE)


@pytest.mark.parametrize("args", [
    dict(ARGS, gather=["devices"]),
    dict(ARGS, vmanage_port="https"),
    dict(ARGS, vmanage_validate_certs="maybe"),
])
def test_invalid_values_fail_like_the_module(capsys, fake_vmanage, args):
    result, _recorder = run_action(args)

    assert result["failed"] is True
    assert result["msg"] == run_module(args, capsys)["msg"]


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


def test_invocation_is_what_the_module_returns(capsys, fake_vmanage):
    result, _recorder = run_action(ARGS, info_action.ActionModule.RUNNER)
    module_result = run_module(ARGS, capsys)

    assert result["invocation"] == module_result["invocation"]
    assert result["invocation"]["module_args"]["vmanage_password"] == MASKED


def test_action_and_module_return_the_same_result(capsys, fake_vmanage):
    result, _recorder = run_action(ARGS, info_action.ActionModule.RUNNER)
    module_result = run_module(ARGS, capsys)

    assert result == module_result
    assert result["client_id"] == fake_vmanage.settings["client_id"]


def test_module_failure_matches_the_action_failure(capsys, monkeypatch):
    monkeypatch.setattr(runner, "Clients", lambda ctx: FakeClients(
        vmanage_login_error=LicenseSyncError("VMANAGE_AUTH_FAILED", "vManage refused the login of user 'admin'",
                                             url="https://vmanage.lab.example:443/j_security_check", status=200)))

    result, _recorder = run_action(ARGS, info_action.ActionModule.RUNNER)
    module_result = run_module(ARGS, capsys)

    assert result == module_result
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
