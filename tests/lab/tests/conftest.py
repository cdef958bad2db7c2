"""Fixtures and helpers of the lab's own tests: labs started through the CLI, real HTTPS to them.

REQUESTS_CA_BUNDLE is set in this environment and would override a session's `verify`, so every
request passes `verify=<lab ca.pem>` explicitly.
"""

import contextlib
import io
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import requests

from sdwan_lab.cli import main as sdwan_lab
from sdwan_lab.ssm_front import find_nginx

HTTP_TIMEOUT_S = 30


def run_cli(*args):
    """`sdwan-lab ARGS` in this process; returns (exit code, stdout)."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = sdwan_lab([str(arg) for arg in args])
    return code, output.getvalue()


class HttpApi:
    def __init__(self, base_url, ca):
        self.base_url = base_url
        self.ca = ca
        self.session = requests.Session()

    def request(self, method, path, **options):
        options.setdefault("verify", self.ca)
        options.setdefault("timeout", HTTP_TIMEOUT_S)
        return self.session.request(method, self.base_url + path, **options)

    def get(self, path, **options):
        return self.request("GET", path, **options)

    def post(self, path, **options):
        return self.request("POST", path, **options)

    def put(self, path, **options):
        return self.request("PUT", path, **options)

    def delete(self, path, **options):
        return self.request("DELETE", path, **options)

    def close(self):
        self.session.close()


class VManageApi(HttpApi):
    def __init__(self, entry, ca):
        super().__init__(entry["url"], ca)
        self.entry = entry

    def login(self):
        response = self.post("/j_security_check",
                             data={"j_username": self.entry["username"], "j_password": self.entry["password"]})
        assert response.status_code == 200 and response.text == "", response.text[:200]
        token = self.get("/dataservice/client/token")
        assert token.status_code == 200
        self.session.headers["X-XSRF-TOKEN"] = token.text
        return self

    def authenticate(self, username, password):
        return self.post("/dataservice/smartLicensing/authenticate",
                         json={"username": username, "password": password, "mode": "onprem"})

    def sync(self, path="/dataservice/smartLicensing/syncLicenses", account_id="1", virtual_account_id="1"):
        data = {"mode": "onprem", "licenseType": "prepaid", "multipleEntitlement": False,
                "smartAccounts": [{"account_id": account_id,
                                   "virtual_accounts": [{"virtual_account_id": virtual_account_id}]}]}
        return self.post(path, files={"data": (None, json.dumps(data), "application/json")})


class SsmApi(HttpApi):
    def __init__(self, ssm, ca):
        super().__init__(ssm["url"], ca)
        self.ssm = ssm
        self.xsrf = ""

    def start_session(self):
        response = self.get("/backend/settings/oauth_adfs", params={"hostname": "lab"})
        assert response.status_code == 200
        self.xsrf = urllib.parse.unquote(self.session.cookies["XSRF-TOKEN"])
        return self

    def login(self, username=None, password=None):
        self.start_session()
        response = self.post("/backend/auth/identity/callback", headers={"X-Xsrf-Token": self.xsrf},
                             json={"username": username or self.ssm["admin_username"],
                                   "password": password or self.ssm["admin_password"]})
        assert response.status_code == 200, response.text
        return self

    def write(self, method, path, **options):
        headers = {"X-Xsrf-Token": self.xsrf, **options.pop("headers", {})}
        return self.request(method, path, headers=headers, **options)

    def create_grant(self, name, grant_type="resource_owner"):
        response = self.write("POST", "/backend/api_toolkit/grants", json={"name": name, "type": grant_type})
        assert response.status_code == 201, response.text
        return response.json()

    def token(self, **params):
        return self.post("/backend/oauth/token", params=params)


class Lab:
    """A lab started by `sdwan-lab up`; `stop()` runs `sdwan-lab down`."""

    def __init__(self, directory, *options):
        self.dir = directory
        code, output = run_cli("up", "--dir", directory, *options)
        assert code == 0, output
        self.info = json.loads((directory / "lab.json").read_text())
        self.ca = self.info["ca_cert"]

    def stop(self):
        assert run_cli("down", "--dir", self.dir)[0] == 0

    def state(self):
        code, output = run_cli("state", "--dir", self.dir)
        assert code == 0
        return json.loads(output)

    def fault(self, target, name, clear=False, **options):
        args = ["fault", "--dir", self.dir, "--target", target, name]
        args += ["--clear"] if clear else []
        for option, value in options.items():
            args += [f"--{option.replace('_', '-')}", value]
        code, output = run_cli(*args)
        assert code == 0, output
        return json.loads(output)

    @contextlib.contextmanager
    def faulted(self, target, name, **options):
        """The fault switched on for the `with` block, and off again whatever happens in it."""
        effect = self.fault(target, name, **options)
        try:
            yield effect
        finally:
            self.fault(target, name, clear=True)

    def vmanage(self, index=0, login=True):
        api = VManageApi(self.info["vmanage"][index], self.ca)
        return api.login() if login else api

    def ssm(self, login=True):
        api = SsmApi(self.info["ssm"], self.ca)
        return api.login() if login else api

    def log(self, name):
        return (self.dir / "logs" / name).read_text()


@pytest.fixture(scope="module")
def start_lab(tmp_path_factory):
    """Factory for labs that live as long as the test module; all are stopped at its end."""
    labs = []

    def start(*options, name="lab"):
        lab = Lab(tmp_path_factory.mktemp(name), *options)
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        lab.stop()


@pytest.fixture(scope="module", params=["nginx", "builtin"])
def front(request):
    """Both SSM fronts: Debian's nginx (skipped where it is not installed) and the built-in emulation."""
    if request.param == "nginx" and not find_nginx():
        pytest.skip("nginx is not installed")
    return request.param


@pytest.fixture
def cli():
    """`sdwan-lab` run in this process: cli(*args) -> (exit code, stdout)."""
    return run_cli


@pytest.fixture
def command():
    """`sdwan-lab` as the separate console command users run: command(*args) -> CompletedProcess."""
    executable = Path(sys.executable).with_name("sdwan-lab")

    def run(*args, timeout=120):
        return subprocess.run([str(executable), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                              check=False)

    return run
