"""Fake vManage and SSM On-Prem clients for the module runners.

The fakes implement the client interfaces of docs/dev/interfaces.md section 7 over in-memory state,
raise the real LicenseSyncError with the cause a real client raises, and record every call, so a
test can assert what a runner read, what it wrote and in which order. The clients themselves are
tested over real HTTPS in tests/unit/plugins/module_utils; the whole stack against the lab in
tests/integration.
"""
import contextlib
import copy
from dataclasses import dataclass, field

import pytest

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import argspec
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import RunContext, run
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.vmanage import parse_release


WRITES = ("put_license_settings", "authenticate", "sync", "create", "delete", "regenerate_secret")
SSM_URL = "https://ssm.lab.example:8443"
CLIENT_ID = "client-id-of-the-grant"
CLIENT_SECRET = "lab-fake-client-secret-0001"
SSM_PASSWORD = "lab-fake-ssm-password"
VMANAGE_PASSWORD = "lab-fake-vmanage-password"

SEED_ERROR = ("vManage could not authenticate to SSM On-Prem: Failed to authenticate Smart Account credentials.: "
              "Failed to authenticate user - 'admin'. {\"error\":\"invalid_client\",\"error_message\":\"Grant not found. "
              "Ensure that the given grant details are correct.\"}")


def error(cause, detail="simulated failure"):
    return LicenseSyncError(cause, detail)


@dataclass
class FakeVManage:
    release: str = "20.12.1"
    settings: dict = field(default_factory=lambda: dict(mode="on-prem", ssm_url=SSM_URL, client_id=CLIENT_ID, secret_stored=True))
    user: dict = field(default_factory=lambda: dict(
        credentials_stored=True, mode="on-prem", user="admin",
        last_sync=dict(time="2026-11-26T09:00:00Z", age_s=60, ok=True, error=None)))
    ready_flag: bool = True
    dns: list = field(default_factory=lambda: ["192.0.2.53"])
    reachable: bool = True
    accounts: list = field(default_factory=lambda: [dict(account_id="1", name="lab-onprem", virtual_accounts=[
        dict(virtual_account_id="1", name="Default", default=True),
        dict(virtual_account_id="2", name="Branches", default=False)])])
    licenses_by_va: dict = field(default_factory=lambda: {"1": [dict(display_name="DNA Advantage", in_use=3)], "2": []})
    failures: dict = field(default_factory=dict)  # method name -> LicenseSyncError (or a list of them, consumed in order)
    sync_records: list = field(default_factory=list)  # last_sync records user_settings returns after a sync, in order
    reports_last_sync: bool = True  # False: user settings as Cisco documents them, without last-sync fields
    calls: list = field(default_factory=list)
    observed: dict = field(default_factory=dict)

    @property
    def version(self):
        return parse_release(self.release)

    def _call(self, name, *args):
        self.calls.append((name,) + args)
        failure = self.failures.get(name)
        if isinstance(failure, list):
            failure = failure.pop(0) if failure else None
        if failure:
            raise failure

    def names(self):
        return [call[0] for call in self.calls]

    def writes(self):
        return [call for call in self.calls if call[0] in WRITES]

    def ready(self):
        self._call("ready")
        return self.ready_flag

    def license_settings(self):
        self._call("license_settings")
        return dict(self.settings)

    def put_license_settings(self, mode, ssm_url, client_id, client_secret=None):
        self._call("put_license_settings", mode, ssm_url, client_id, client_secret)
        self.settings.update(mode=mode, ssm_url=ssm_url, client_id=client_id)
        if client_secret is not None:
            self.settings["secret_stored"] = True
        return dict(self.settings)

    def authenticate(self, username, password):
        self._call("authenticate", username, password)
        self.user.update(credentials_stored=True, user=username)

    def user_settings(self):
        self._call("user_settings")
        if self.sync_records and any(call[0] == "sync" for call in self.calls):
            self.user["last_sync"] = self.sync_records.pop(0) if len(self.sync_records) > 1 else self.sync_records[0]
        user = copy.deepcopy(self.user)
        user["last_sync"] = dict(user["last_sync"], reported=True) if self.reports_last_sync else dict(
            time=None, age_s=None, ok=None, error=None, reported=False)
        return user

    def fetch_accounts(self):
        self._call("fetch_accounts")
        return copy.deepcopy(self.accounts)

    def sync(self, account, virtual_account, license_type=None):
        self._call("sync", account["account_id"], virtual_account["virtual_account_id"], license_type)

    def licenses(self, virtual_account_id, license_type="prepaid"):
        self._call("licenses", virtual_account_id)
        return None if self.licenses_by_va is None else list(self.licenses_by_va.get(virtual_account_id, []))

    def dns_servers(self):
        self._call("dns_servers")
        return list(self.dns)

    def nping_tcp(self, host, port, vpn="0"):
        self._call("nping_tcp", host, port, vpn)
        return dict(reachable=self.reachable, raw=[] if self.reachable else ["TCP %s:%s: timed out" % (host, port)])


class FakeHttp:
    """The part of HttpClient precheck uses directly (GET / on SSM)."""

    def __init__(self, ssm):
        self._ssm = ssm

    def request(self, method, path, **kwargs):
        self._ssm._call("front_page", method, path)


@dataclass
class FakeSsm:
    grants_store: list = field(default_factory=list)
    valid: dict = field(default_factory=lambda: {CLIENT_ID: CLIENT_SECRET})  # client id -> secret that issues tokens
    users: dict = field(default_factory=lambda: {"admin": SSM_PASSWORD})
    backend: bool = True
    local_accounts: list = field(default_factory=lambda: [dict(id="1", name="lab-onprem", default=True)])
    failures: dict = field(default_factory=dict)
    racing_grant: dict = None  # a grant another run creates at the same moment as ours
    calls: list = field(default_factory=list)
    next_id: int = 100

    def __post_init__(self):
        self.http = FakeHttp(self)
        self.grants = FakeGrants(self)

    _call = FakeVManage._call
    names = FakeVManage.names
    writes = FakeVManage.writes

    def request_token(self, client_id, client_secret, grant_type="password", username=None, password=None):
        self._call("request_token", client_id, grant_type, username)
        if self.valid.get(client_id) != client_secret:
            raise error("GRANT_NOT_FOUND", "SSM On-Prem refused a %s token for client id %r: Grant not found." % (grant_type, client_id))
        if grant_type == "password" and self.users.get(username) != password:
            raise error("SSM_BAD_USER_CREDENTIALS", "SSM On-Prem refused the user %r (invalid_grant)" % username)
        return dict(access_token="lab-fake-access-token", token_type="Bearer")

    def backend_alive(self):
        self._call("backend_alive")
        return self.backend

    def admin_login(self, username, password):
        self._call("admin_login", username)
        if self.users.get(username) != password:
            raise error("SSM_ADMIN_AUTH_FAILED", "SSM On-Prem refused the Admin Workspace login of user %r" % username)

    def accounts(self):
        self._call("accounts")
        return copy.deepcopy(self.local_accounts)


class FakeGrants:
    def __init__(self, ssm):
        self._ssm = ssm

    def _public(self, grant):
        return dict((key, value) for key, value in grant.items() if key != "client_secret")

    def list(self, account=None):
        self._ssm._call("list", account)
        return [self._public(grant) for grant in self._ssm.grants_store]

    def get(self, grant_id):
        self._ssm._call("get", grant_id)
        return dict(next(grant for grant in self._ssm.grants_store if grant["id"] == grant_id))

    def create(self, name, grant_type, description=None, account=None):
        self._ssm._call("create", name, grant_type, description, account)
        ssm = self._ssm
        if ssm.racing_grant:
            ssm.grants_store.append(ssm.racing_grant)
        ssm.next_id += 1
        grant = dict(id=str(ssm.next_id), name=name, type=grant_type, description=description, client_id="new-client-%d" % ssm.next_id,
                     client_secret="lab-fake-new-secret-%d" % ssm.next_id, created="2026-11-26T10:00:%02dZ" % (ssm.next_id % 60),
                     account_id=account)
        ssm.grants_store.append(grant)
        ssm.valid[grant["client_id"]] = grant["client_secret"]
        return dict(grant)

    def delete(self, grant_id):
        self._ssm._call("delete", grant_id)
        self._ssm.grants_store[:] = [grant for grant in self._ssm.grants_store if grant["id"] != grant_id]
        return True

    def regenerate_secret(self, grant_id):
        self._ssm._call("regenerate_secret", grant_id)
        grant = next(grant for grant in self._ssm.grants_store if grant["id"] == grant_id)
        grant["client_secret"] = "lab-fake-rotated-secret-" + grant_id
        self._ssm.valid[grant["client_id"]] = grant["client_secret"]
        return dict(grant)


class FakeClients:
    """Stands in for runner.Clients: hands out the fakes (or raises the login failure)."""

    def __init__(self, vmanage=None, ssm=None, vmanage_login_error=None):
        self.vmanage_client = vmanage or FakeVManage()
        self.ssm_client = ssm or FakeSsm()
        self.vmanage_login_error = vmanage_login_error
        self.ssm_urls = []

    @contextlib.contextmanager
    def vmanage(self, params):
        if self.vmanage_login_error:
            raise self.vmanage_login_error
        yield self.vmanage_client

    @contextlib.contextmanager
    def ssm(self, params, url=None):
        self.ssm_urls.append(url or params["ssm_url"])
        yield self.ssm_client


def module_params(spec, **values):
    """Validated parameters of a module spec (defaults filled in), as the action hands them to a runner."""
    base = dict(vmanage_host="vmanage.lab.example", vmanage_username="admin", vmanage_password=VMANAGE_PASSWORD)
    base = dict((key, value) for key, value in base.items() if key in spec["argument_spec"])
    base.update(values)
    result = argspec.validator(spec).validate(base)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


@dataclass
class Harness:
    clients: FakeClients
    warnings: list = field(default_factory=list)

    def run(self, runner, params, check_mode=False, diff=False, no_log=False):
        ctx = RunContext(check_mode=check_mode, diff=diff, no_log=no_log, warn=self.warnings.append,
                         secrets=[params.get(name) for name in ("vmanage_password", "ssm_password", "ssm_client_secret")],
                         clients=self.clients)
        return run(runner, params, ctx)


@pytest.fixture
def vmanage():
    return FakeVManage()


@pytest.fixture
def ssm():
    return FakeSsm()


@pytest.fixture
def harness(vmanage, ssm):
    return Harness(FakeClients(vmanage, ssm))


@pytest.fixture
def spec():
    return argspec
