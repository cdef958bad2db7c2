"""The ssm_url option: every module that takes it gets https://host:port, whatever spelling the operator used."""
import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import argspec
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.license_auth import run_license_auth
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import RunContext, run

from .conftest import CLIENT_ID, CLIENT_SECRET, SSM_PASSWORD, module_params

SPECS_WITH_SSM_URL = dict((name, spec) for name, spec in sorted(vars(argspec).items())
                          if isinstance(spec, dict) and "ssm_url" in spec.get("argument_spec", {}))
REQUIRED = dict(ssm_client_id=CLIENT_ID, ssm_client_secret=CLIENT_SECRET, ssm_username="admin", ssm_password=SSM_PASSWORD,
                ssm_admin_username="admin", ssm_admin_password=SSM_PASSWORD, name="grant")


def params_of(spec, ssm_url):
    values = dict((key, value) for key, value in REQUIRED.items() if key in spec["argument_spec"])
    return module_params(spec, ssm_url=ssm_url, **values)


def seen_by_the_runner(spec, ssm_url):
    seen = []
    result = run(lambda params, ctx: seen.append(params["ssm_url"]) or dict(changed=False), params_of(spec, ssm_url), RunContext())
    return result, seen


def test_every_module_taking_ssm_url_is_covered():
    assert set(SPECS_WITH_SSM_URL) >= {"VMANAGE_PRECHECK", "SSM_GRANT", "VMANAGE_LICENSE_AUTH", "VMANAGE_LICENSE_SYNC"}


@pytest.mark.parametrize("spec_name", sorted(SPECS_WITH_SSM_URL))
@pytest.mark.parametrize("given, normalized", [
    ("127.0.0.1:8443", "https://127.0.0.1:8443"),
    ("ssm.lab.example", "https://ssm.lab.example:8443"),
    (" HTTPS://SSM.lab.example:9443/ ", "https://ssm.lab.example:9443"),
    ("[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
])
def test_runner_gets_an_https_url(spec_name, given, normalized):
    result, seen = seen_by_the_runner(SPECS_WITH_SSM_URL[spec_name], given)

    assert seen == [normalized] and "failed" not in result


@pytest.mark.parametrize("spec_name", sorted(SPECS_WITH_SSM_URL))
@pytest.mark.parametrize("given, problem", [
    ("http://127.0.0.1:8443", "only https:// is supported"),
    ("https://127.0.0.1:8443/backend", "must not contain a path"),
    ("https://netops:lab-fake-pw@127.0.0.1:8443", "must not contain user credentials"),
    ("ftp://ssm.lab.example", "only https:// is supported"),
])
def test_other_schemes_paths_and_credentials_are_rejected_before_the_runner(spec_name, given, problem):
    result, seen = seen_by_the_runner(SPECS_WITH_SSM_URL[spec_name], given)

    assert seen == []
    assert (result["failed"], result["cause"]) == (True, "INVALID_INPUT")
    assert "ssm_url" in result["msg"] and problem in result["msg"] and "lab-fake-pw" not in repr(result)


def test_vmanage_is_given_the_url_with_its_scheme(harness, vmanage, ssm):
    vmanage.settings.update(ssm_url=None)

    result = harness.run(run_license_auth, params_of(argspec.VMANAGE_LICENSE_AUTH, "127.0.0.1:8443"))

    assert result["changed"] is True
    assert vmanage.writes()[0][:3] == ("put_license_settings", "on-prem", "https://127.0.0.1:8443")
