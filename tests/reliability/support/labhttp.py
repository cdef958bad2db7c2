"""Raw HTTPS access to a lab, as an operator with a browser would do it (never through the
collection): read grants with their secrets as the API Toolkit page shows them, prove that a
vManage's stored settings authenticate, and do the manual fix (API Toolkit grant, settings, authenticate, sync).

Paths are the lab's of docs/dev/interfaces.md section 4.
"""
import contextlib
import json
import urllib.parse

import requests

TIMEOUT_S = 30


class LabHttp:
    def __init__(self, info):
        self.info = info
        self.ca = info["ca_cert"]
        self.ssm_url = info["ssm"]["url"]

    def vmanage(self, name):
        return next(vm for vm in self.info["vmanage"] if vm["name"] == name)

    def _session(self):
        session = requests.Session()
        session.verify = self.ca
        return session

    # ----------------------------------------------------------------- SSM On-Prem (Admin Workspace)

    @contextlib.contextmanager
    def ssm_admin(self):
        session = self._session()
        try:
            session.get(f"{self.ssm_url}/backend/settings/oauth_adfs", params={"hostname": "lab"}, verify=self.ca, timeout=TIMEOUT_S)
            xsrf = urllib.parse.unquote(session.cookies.get("XSRF-TOKEN", ""))
            session.headers["X-Xsrf-Token"] = xsrf
            response = session.post(f"{self.ssm_url}/backend/auth/identity/callback", verify=self.ca, timeout=TIMEOUT_S,
                                    json={"username": self.info["ssm"]["admin_username"], "password": self.info["ssm"]["admin_password"]})
            response.raise_for_status()
            yield session
        finally:
            session.close()

    def grants(self):
        """Every grant of every local account, with client id and secret (GET of each grant)."""
        with self.ssm_admin() as session:
            accounts = session.get(f"{self.ssm_url}/backend/accounts", verify=self.ca, timeout=TIMEOUT_S).json()["accounts"]
            found = []
            for account in accounts:
                listed = session.get(f"{self.ssm_url}/backend/api_toolkit/grants", params={"account_id": account["id"]},
                                     verify=self.ca, timeout=TIMEOUT_S).json()["grants"]
                for grant in listed:
                    found.append(session.get(f"{self.ssm_url}/backend/api_toolkit/grants/{grant['id']}", verify=self.ca,
                                             timeout=TIMEOUT_S).json())
            return found

    def create_grant(self, name):
        with self.ssm_admin() as session:
            response = session.post(f"{self.ssm_url}/backend/api_toolkit/grants", verify=self.ca, timeout=TIMEOUT_S,
                                    json={"name": name, "type": "resource_owner", "description": "reliability test"})
            response.raise_for_status()
            return response.json()

    # ----------------------------------------------------------------- vManage

    @contextlib.contextmanager
    def vmanage_session(self, name):
        vm = self.vmanage(name)
        session = self._session()
        base = vm["url"]
        try:
            response = session.post(f"{base}/j_security_check", data={"j_username": vm["username"], "j_password": vm["password"]},
                                    verify=self.ca, timeout=TIMEOUT_S)
            if response.text.strip() or "JSESSIONID" not in session.cookies:
                raise RuntimeError(f"{name}: lab login refused: {response.text[:200]}")
            session.headers["X-XSRF-TOKEN"] = session.get(f"{base}/dataservice/client/token", verify=self.ca, timeout=TIMEOUT_S).text
            yield session, base
        finally:
            with contextlib.suppress(requests.RequestException):
                if session.post(f"{base}/logout", verify=self.ca, timeout=TIMEOUT_S).status_code in (404, 405):
                    session.get(f"{base}/logout", verify=self.ca, timeout=TIMEOUT_S)  # releases before 20.12
            session.close()

    def authenticate(self, name):
        """(ok, details): does the configuration stored on vManage authenticate to SSM (vManage's own call)?"""
        with self.vmanage_session(name) as (session, base):
            response = session.post(f"{base}/dataservice/smartLicensing/authenticate", verify=self.ca, timeout=TIMEOUT_S,
                                    json={"username": self.info["ssm"]["username"], "password": self.info["ssm"]["password"], "mode": "onprem"})
        if response.status_code == 200:
            return True, ""
        try:
            return False, response.json()["error"]["details"]
        except (ValueError, KeyError, TypeError):
            return False, f"HTTP {response.status_code}: {response.text[:300]}"

    def settings(self, name):
        with self.vmanage_session(name) as (session, base):
            return session.get(f"{base}/dataservice/settings/configuration/smartLicensing", verify=self.ca,
                               timeout=TIMEOUT_S).json()["data"][0]

    def manual_fix(self, name, grant_name, ssm_url=None):
        """The manual fix of Grant not found: grant on SSM, settings on vManage, authenticate, sync. Returns the grant."""
        grant = self.create_grant(grant_name)
        with self.vmanage_session(name) as (session, base):
            session.put(f"{base}/dataservice/settings/configuration/smartLicensing", verify=self.ca, timeout=TIMEOUT_S,
                        json={"mode": "on-prem", "ssmServerUrl": ssm_url or self.ssm_url, "ssmClientId": grant["client_id"],
                              "ssmClientSecret": grant["client_secret"]}).raise_for_status()
            session.post(f"{base}/dataservice/smartLicensing/authenticate", verify=self.ca, timeout=TIMEOUT_S,
                         json={"username": self.info["ssm"]["username"], "password": self.info["ssm"]["password"],
                               "mode": "onprem"}).raise_for_status()
            sync = {"mode": "onprem", "licenseType": "prepaid", "multipleEntitlement": False, "smartAccounts": []}
            session.post(f"{base}/dataservice/smartLicensing/syncLicenses", verify=self.ca, timeout=TIMEOUT_S,
                         files={"data": (None, json.dumps(sync), "application/json")}).raise_for_status()
        return grant
