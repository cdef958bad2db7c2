"""Redactor: registered values and secret keys are masked in text, data and URLs."""
import json

import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import MASK, Redactor, is_secret_key

PASSWORD = "p@ss w0rd&=/"
TOKEN = "4f7c0f9e6b1d2a3c"


@pytest.mark.parametrize("key", [
    "password", "j_password", "client_secret", "ssmClientSecret", "access_token", "accessToken", "refresh_token", "token",
    "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-XSRF-TOKEN", "X-Xsrf-Token", "XSRF-TOKEN",
    "JSESSIONID", "_lic_engine_session", "CSRFToken", "ssm_admin_password", "vmanage_password", "auth_token",
])
def test_secret_keys(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["username", "client_id", "secret_stored", "credentials_stored", "token_type", "expires_in",
                                 "isPresentCredentials", "error_message", "mode"])
def test_ordinary_keys(key):
    assert not is_secret_key(key)


def test_registered_value_is_masked_in_every_encoding():
    redactor = Redactor([PASSWORD])
    encoded = "j_password=p%40ss+w0rd%26%3D%2F and p%40ss%20w0rd%26%3D%2F"
    assert PASSWORD not in redactor.text("failed for %s" % PASSWORD)
    masked = redactor.text(encoded)
    assert "w0rd" not in masked
    escaped = json.dumps({"details": 'said "%s"' % PASSWORD.replace("/", "\\/")})
    assert "w0rd" not in Redactor([PASSWORD, 'p@ss w0rd&=\\/']).text(escaped)


def test_longest_secret_is_masked_first():
    redactor = Redactor(["abc", "abcdef-long"])
    assert redactor.text("x abcdef-long y") == "x %s y" % MASK


@pytest.mark.parametrize("text, hidden", [
    ("grant_type=password&client_id=c1&client_secret=S1&username=admin&password=P1", ["S1", "P1"]),
    ('{"username": "admin", "password": "P2", "ssmClientSecret": "S2"}', ["P2", "S2"]),
    ('{"details": "{\\"client_secret\\":\\"S3\\",\\"x\\":1}"}', ["S3"]),
    ("{'password': 'P4', 'user': 'u'}", ["P4"]),
    ("Authorization: Bearer eyJhbGciOi.abc.def\nAccept: */*", ["eyJhbGciOi"]),
    ("Cookie: JSESSIONID=ABCDEF0123; _lic_engine_session=22b193146b9071bb", ["ABCDEF0123", "22b193146b9071bb"]),
    ("Set-Cookie: XSRF-TOKEN=RAjYUE7a%2BRw%3D%3D; path=/", ["RAjYUE7a"]),
    ("x-xsrf-token: 9f8e7d6c5b4a", ["9f8e7d6c5b4a"]),
    ("proxy https://user:Pr0xyPa55@proxy:3128 failed", ["Pr0xyPa55"]),
    ("sent token 0123456789 with Bearer zzzzzzzzzzz", ["zzzzzzzzzzz"]),
])
def test_secret_key_values_are_masked_in_text(text, hidden):
    masked = Redactor().text(text)
    for secret in hidden:
        assert secret not in masked
    assert MASK in masked


def test_text_without_secrets_is_unchanged():
    seed = ("Failed to authenticate Smart Account credentials.: Failed to authenticate user - 'admin'. "
            '{"error":"invalid_client","error_message":"Grant not found. Ensure that the given grant details are correct."}')
    assert Redactor([TOKEN]).text(seed) == seed


def test_nested_data_is_masked_by_key_and_value():
    data = {
        "headers": {"Set-Cookie": "JSESSIONID=x", "X-XSRF-TOKEN": TOKEN, "Accept": "application/json"},
        "items": [{"ssmClientSecret": "whatever", "note": "token %s leaked" % TOKEN}, ("t", TOKEN)],
        "secret_stored": True,
        "password": None,
        "client_secret": "",
        "count": 3,
    }
    masked = Redactor([TOKEN]).data(data)
    assert TOKEN not in json.dumps(masked)
    assert masked["headers"] == {"Set-Cookie": MASK, "X-XSRF-TOKEN": MASK, "Accept": "application/json"}
    assert masked["items"][0] == {"ssmClientSecret": MASK, "note": "token %s leaked" % MASK}
    assert masked["items"][1] == ("t", MASK)
    assert masked["secret_stored"] is True and masked["password"] is None and masked["client_secret"] == ""
    assert masked["count"] == 3
    assert data["headers"]["X-XSRF-TOKEN"] == TOKEN  # the input is not modified


def test_url_loses_userinfo_and_secret_query_values():
    redactor = Redactor([TOKEN])
    url = "https://admin:pw@ssm:8443/backend/oauth/token?grant_type=password&client_id=c&client_secret=S&password=P&x=%s" % TOKEN
    assert redactor.url(url) == (
        "https://ssm:8443/backend/oauth/token?grant_type=password&client_id=c&client_secret=********&password=********&x=********")


def test_empty_and_boolean_values_are_not_registered():
    redactor = Redactor(["", None, True, False])
    assert redactor.text("True False none") == "True False none"
