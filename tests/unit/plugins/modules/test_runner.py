"""runner: what every module run shares (real clients, failure results, secrets masked, the wire trace)."""
import json

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import http_client, runner
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import SSM_GRANT, VMANAGE_LICENSE_INFO
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.grant import run_ssm_grant
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.license_info import run_license_info

from .conftest import CLIENT_ID, CLIENT_SECRET, SSM_PASSWORD, SSM_URL, FakeClients, FakeSsm, module_params


def test_missing_requests_fails_with_missing_library(monkeypatch):
    monkeypatch.setattr(http_client, "HAS_REQUESTS", False)
    monkeypatch.setattr(http_client, "REQUESTS_IMPORT_ERROR", "ModuleNotFoundError: No module named 'requests'")

    result = runner.run(run_license_info, module_params(VMANAGE_LICENSE_INFO), runner.RunContext())

    assert (result["failed"], result["cause"]) == (True, "MISSING_LIBRARY")
    assert "requests" in result["msg"] and "Install" in result["remedy"]


def test_invalid_vmanage_host_fails_before_any_request():
    params = module_params(VMANAGE_LICENSE_INFO, vmanage_host="http://vmanage.lab.example")

    result = runner.run(run_license_info, params, runner.RunContext())

    assert (result["failed"], result["cause"]) == (True, "INVALID_INPUT")
    assert "vmanage_host" in result["msg"]


def test_secrets_given_to_the_context_are_masked_in_warnings():
    warnings = []
    ctx = runner.RunContext(warn=warnings.append, secrets=[SSM_PASSWORD])

    ctx.warn("SSM said %s" % SSM_PASSWORD)

    assert warnings == ["SSM said ********"]


def test_context_and_http_client_share_one_masking_output_channel():
    seen = []
    ctx = runner.RunContext(warn=seen.append, debug=seen.append, secrets=[SSM_PASSWORD])
    http = http_client.HttpClient(SSM_URL, product="ssm", warn=seen.append, debug=seen.append, redactor=ctx.redactor)
    ctx.redactor.add(CLIENT_SECRET)  # a secret learnt during the run is masked from then on

    for output in (ctx.warn, ctx.debug, http.warn, http.debug, ctx.redactor.channel(seen.append)):
        output("%s / %s" % (SSM_PASSWORD, CLIENT_SECRET))
    ctx.redactor.channel(None)("no callback: dropped")

    assert seen == ["******** / ********"] * 5


def run_grant(no_log):
    ssm = FakeSsm()
    ssm.grants_store.append(dict(id="7", name="vm1", type="resource_owner", description=None, client_id=CLIENT_ID,
                                 client_secret=CLIENT_SECRET, created="2026-11-01T00:00:00Z", account_id=None))
    warnings = []
    ctx = runner.RunContext(no_log=no_log, warn=warnings.append, secrets=[SSM_PASSWORD], clients=FakeClients(ssm=ssm))
    params = module_params(SSM_GRANT, ssm_url=SSM_URL, ssm_username="admin", ssm_password=SSM_PASSWORD, name="vm1")
    return runner.run(run_ssm_grant, params, ctx), warnings


def test_the_grant_secret_is_returned_only_under_no_log():
    hidden, _warnings = run_grant(no_log=True)
    shown, warnings = run_grant(no_log=False)

    assert hidden["client_secret"] == CLIENT_SECRET
    assert "client_secret" not in shown
    assert any("client_secret is returned only when the task sets no_log" in warning for warning in warnings)
    assert SSM_PASSWORD not in json.dumps(shown)
