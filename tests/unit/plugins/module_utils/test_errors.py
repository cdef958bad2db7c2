"""LicenseSyncError and the cause table."""
import re
from pathlib import Path

import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES, LicenseSyncError, body_excerpt
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import Redactor

INTERFACES = Path(__file__).resolve().parents[4] / "docs" / "dev" / "interfaces.md"
FIXABLE = {"GRANT_NOT_FOUND", "MODE_NOT_ONPREM", "SSM_URL_MISSING", "SSM_URL_MISMATCH", "CREDENTIALS_MISSING", "SYNC_FAILED",
           "SYNC_STALE", "SSM_GRANT_TYPE_MISMATCH"}


def documented_causes():
    text = INTERFACES.read_text()
    section = text.split("## 3. Cause codes", 1)[1].split("Non-fixable", 1)[0]
    return set(re.findall(r"\b[A-Z][A-Z_]+[A-Z]\b", section)) - {"CAUSES"}


def test_cause_table_is_exactly_the_documented_contract():
    assert set(CAUSES) == documented_causes()


def test_every_cause_has_title_remedy_and_the_documented_fixability():
    for code, cause in CAUSES.items():
        assert cause.title and cause.remedy.endswith("."), code
        assert cause.fixable == (code in FIXABLE), code


def test_message_says_what_where_why_and_what_to_do():
    error = LicenseSyncError("GRANT_NOT_FOUND", "vManage could not authenticate to SSM On-Prem: Grant not found.",
                             url="https://vm:443/dataservice/smartLicensing/authenticate", status=400)
    assert error.message == (
        "vManage could not authenticate to SSM On-Prem: Grant not found. [https://vm:443/dataservice/smartLicensing/authenticate, "
        "HTTP 400] Cause: GRANT_NOT_FOUND (SSM On-Prem has no grant for this client id and secret). Remedy: " + CAUSES[
            "GRANT_NOT_FOUND"].remedy)
    assert str(error) == error.message
    assert error.to_result() == {"msg": error.message, "cause": "GRANT_NOT_FOUND", "remedy": CAUSES["GRANT_NOT_FOUND"].remedy,
                                 "url": "https://vm:443/dataservice/smartLicensing/authenticate", "status": 400,
                                 "body_excerpt": None}
    assert error.fixable is True


def test_remedy_can_be_specific():
    assert LicenseSyncError("TIMEOUT", "slow", remedy="Wait.").remedy == "Wait."


def test_unknown_cause_is_a_programming_error():
    with pytest.raises(ValueError):
        raise LicenseSyncError("NO_SUCH_CAUSE", "x")


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        raise LicenseSyncError("TIMEOUT", "x", "https://h")  # pylint: disable=too-many-function-args


def test_every_text_is_redacted():
    redactor = Redactor(["Zz-registered-99"])
    error = LicenseSyncError(
        "HTTP_ERROR", "failed with Zz-registered-99", url="https://u:pw@h:1/p?client_secret=abc&q=Zz-registered-99",
        status=500, body='{"password": "hunter22", "echo": "Zz-registered-99"}', remedy="not Zz-registered-99", redactor=redactor)
    text = " ".join(str(value) for value in error.to_result().values())
    for secret in ("Zz-registered-99", "hunter22", "abc", ":pw@"):
        assert secret not in text
    assert error.url == "https://h:1/p?client_secret=********&q=********"


def test_body_excerpt_of_html_is_its_text_and_short():
    page = "<html><head><title>502 Bad Gateway</title><style>b{}</style></head><body><center>nginx</center></body></html>"
    assert body_excerpt(page, Redactor()) == "502 Bad Gateway nginx"
    long_excerpt = body_excerpt("a" * 1000, Redactor())
    assert len(long_excerpt) == 300 and long_excerpt.endswith("...")
    assert body_excerpt(b"", Redactor()) is None


def test_secret_cut_by_the_excerpt_limit_does_not_leak():
    secret = "S" * 40
    excerpt = body_excerpt("x" * 280 + secret, Redactor([secret]))
    assert "S" * 5 not in excerpt
