# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cisco Smart Software Manager On-Prem client: OAuth token, Admin Workspace session, API Toolkit grants, licences.

FOR INTERNAL COLLECTION USE ONLY. Facts and their sources: the token endpoint and its ``invalid_client`` 403
(``Grant not found``) as SSM On-Prem's logs show them (Cisco TAC document 222117), centreon/centreon-plugins
src/apps/cisco/ssms/restapi/ (token, ``/api/v1/accounts/{account}/licenses``), rapid7/metasploit-framework
cisco_ssm_onprem_account.rb (Admin Workspace login), docs/dev/interfaces.md section 4 and docs/lab.md's
"Endpoints and where their behaviour comes from" table (API Toolkit grants have no public source).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from urllib.parse import quote, unquote

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError

TOKEN_PATH = '/backend/oauth/token'
BOOTSTRAP_PATH = '/backend/settings/oauth_adfs'
ADMIN_LOGIN_PATH = '/backend/auth/identity/callback'
LICENSES_PATH = '/api/v1/accounts/{account}/licenses'
XSRF_COOKIE = 'XSRF-TOKEN'
SESSION_COOKIE = '_lic_engine_session'
XSRF_HEADER = 'X-Xsrf-Token'
# nginx's answers while the Rails backend is down (the "backend alive" probe).
BACKEND_DOWN_STATUSES = (502, 504)
# [I] Rails' refusal of a missing or wrong X-Xsrf-Token (docs/lab.md, inferred behaviour 7).
_XSRF_REFUSAL = re.compile(r'(?i)invalid_authenticity_token|authenticity token|\bCSRF\b|\bXSRF\b')

# INFERRED: SSM On-Prem does not publish its API Toolkit (grant) and local-account endpoints; these
# are the lab's choice (docs/dev/interfaces.md section 4). Replace them here, and only here, once a
# HAR capture of a real Admin Workspace shows the real ones.
GRANT_API = {
    'list': ('GET', '/backend/api_toolkit/grants'),
    'get': ('GET', '/backend/api_toolkit/grants/{id}'),
    'create': ('POST', '/backend/api_toolkit/grants'),
    'delete': ('DELETE', '/backend/api_toolkit/grants/{id}'),
    'regenerate_secret': ('POST', '/backend/api_toolkit/grants/{id}/regenerate_secret'),
    'accounts': ('GET', '/backend/accounts'),
}
GRANT_TYPES = ('resource_owner', 'client_credentials')
# The calls whose 404/405 means that the grant API itself is missing (a 404 of one grant's path only means that grant).
_API_PROBING_OPERATIONS = ('list', 'create', 'accounts')

_GRANT_FIELDS = ('id: id, name: name, type: type, client_id: client_id, description: description, '
                 'created: created_at, account_id: account_id')
_SELECT = {
    'grants': 'grants[].{%s}' % _GRANT_FIELDS,
    'grant': '{%s, client_secret: client_secret}' % _GRANT_FIELDS,
    'accounts': 'accounts[].{id: id, name: name, default: default || `false`}',
    'licenses': 'licenses[].{license: license, status: status, quantity: quantity, in_use: inUse, available: available}',
}
# The container each answer must have (HttpClient.json ``shape``): a wrong shape is BAD_RESPONSE, never "none".
_SHAPES = {
    'grants': ('grants', list),
    'grant': ('@', dict),
    'accounts': ('accounts', list),
    'licenses': ('licenses', list),
}

# OAuth error code of the token endpoint -> cause (400 without a known code: SSM_BAD_REQUEST).
_TOKEN_ERROR_CAUSES = {
    'invalid_client': 'GRANT_NOT_FOUND',
    'invalid_grant': 'SSM_BAD_USER_CREDENTIALS',
    'unauthorized_client': 'SSM_GRANT_TYPE_MISMATCH',
    'unsupported_grant_type': 'SSM_BAD_REQUEST',
    'invalid_request': 'SSM_BAD_REQUEST',
}


class SsmClient:
    """Calls to one SSM On-Prem over one HttpClient (product 'ssm')."""

    def __init__(self, http):
        self.http = http
        self.grants = GrantApi(self)
        # What this SSM On-Prem answered where the public record is silent, by the lab's dialect axes (docs/lab.md, Dialects).
        self.observed = {}

    def request_token(self, client_id, client_secret, grant_type='password', username=None, password=None):
        """An OAuth token from the documented endpoint; credentials go in the form body, never in the URL.

        Raises GRANT_NOT_FOUND, SSM_BAD_USER_CREDENTIALS, SSM_GRANT_TYPE_MISMATCH, SSM_BAD_REQUEST,
        SSM_BACKEND_DOWN ... with SSM's own words.
        """
        self.http.redactor.add(client_secret)
        self.http.redactor.add(password)
        if grant_type == 'password' and not (username and password):
            raise LicenseSyncError('INVALID_INPUT', 'ssm_username and ssm_password are required for a Resource Owner '
                                   '(password grant) token request', remedy='Set ssm_username and ssm_password (SSM_USERNAME, '
                                                                            'SSM_PASSWORD) to the SSM On-Prem local user.')
        form = {'grant_type': grant_type, 'client_id': client_id, 'client_secret': client_secret}
        if grant_type == 'password':
            form.update(username=username, password=password)
        response = self.http.request('POST', TOKEN_PATH, data=form, idempotent=True, allow_status=(400, 401, 403))
        if response.status_code >= 300:
            code = self._oauth_error_code(response)
            cause = _TOKEN_ERROR_CAUSES.get(code) or ('SSM_BAD_REQUEST' if response.status_code == 400 else 'HTTP_ERROR')
            words = self.http.error_text(response) or 'HTTP %d' % response.status_code
            raise self.http.response_error(response, cause, 'SSM On-Prem refused a %s token for client id %r: %s'
                                           % (grant_type, client_id, words))
        token = self.http.json(response)
        if not isinstance(token, dict) or not token.get('access_token'):
            raise self.http.response_error(response, 'BAD_RESPONSE', 'SSM On-Prem answered the token request without an '
                                           'access_token')
        self.http.redactor.add(token['access_token'])
        self.http.redactor.add(token.get('refresh_token'))
        return token

    def _oauth_error_code(self, response):
        try:
            document = self.http.json(response)
        except LicenseSyncError:
            return None
        return document.get('error') if isinstance(document, dict) else None

    def backend_alive(self):
        """False when SSM's front answers 502/504 for its backend (the nginx page); True when the backend answers.

        Reachability and TLS failures still raise: they are not "backend down". Transient answers (429,
        500, 503) are retried like any read; 502/504 are the answer, not retried.
        """
        response = self.http.request('GET', BOOTSTRAP_PATH, params={'hostname': self.http.host}, allow_status=BACKEND_DOWN_STATUSES)
        if response.status_code in BACKEND_DOWN_STATUSES:
            return False
        self._refresh_xsrf()
        return True

    def admin_login(self, username, password):
        """Admin Workspace session: bootstrap cookies, then the identity callback with the XSRF header.

        Success is a 200 whose JSON carries ``uid`` (rapid7/metasploit-framework
        modules/auxiliary/admin/http/cisco_ssm_onprem_account.rb relies on it); SSM On-Prem's neighbouring endpoints answer
        a refusal with 200 and ``error_message``, so a 2xx without ``uid`` is a refused login, never a session.
        """
        self.http.redactor.add(password)
        self.http.request('GET', BOOTSTRAP_PATH, params={'hostname': self.http.host})
        self._refresh_xsrf()
        response = self.http.request('POST', ADMIN_LOGIN_PATH, json={'username': username, 'password': password},
                                     idempotent=True, allow_status=(401, 403))
        self._refresh_xsrf()
        what = 'SSM On-Prem refused the Admin Workspace login of user %r' % username
        if response.status_code >= 300:
            self.observed['ssm-admin-login-failure'] = str(response.status_code)
            raise self._refusal(response, what)
        try:
            document = self.http.json(response)
        except LicenseSyncError:
            document = None
        if not (isinstance(document, dict) and document.get('uid')):
            if isinstance(document, dict) and (document.get('error_message') or document.get('error')):
                self.observed['ssm-admin-login-failure'] = '200-error'
                raise self._refusal(response, what)
            raise self.http.response_error(response, 'BAD_RESPONSE', 'SSM On-Prem answered the Admin Workspace login of user %r '
                                           'without the uid of a session' % username)

    def _refresh_xsrf(self):
        """Echo the (possibly rotated) XSRF-TOKEN cookie, URL-decoded, in the X-Xsrf-Token header."""
        cookies = self.http.session.cookies
        self.http.redactor.add(cookies.get(SESSION_COOKIE))
        raw = cookies.get(XSRF_COOKIE)
        if raw:
            self.http.redactor.add(raw)
            self.http.session.headers[XSRF_HEADER] = unquote(raw)

    def admin_request(self, operation, path_args=None, allow_status=(), **kwargs):
        """A GRANT_API call in the admin session; 401/403 become SSM_ADMIN_AUTH_FAILED.

        The API Toolkit's own paths have no public trace: 404/405 on a listing or a creation means this SSM On-Prem does
        not offer them (SSM_GRANT_API_UNAVAILABLE: the grant must be made by hand in the Admin Workspace).
        """
        method, template = GRANT_API[operation]
        path = template.format(**dict((key, quote(str(value), safe='')) for key, value in (path_args or {}).items()))
        missing = (404, 405) if operation in _API_PROBING_OPERATIONS else ()
        response = self.http.request(method, path, allow_status=tuple(allow_status) + (401, 403) + missing, **kwargs)
        self._refresh_xsrf()
        if response.status_code in (401, 403) and response.status_code not in allow_status:
            raise self._refusal(response, 'SSM On-Prem refused %s %s in the Admin Workspace session' % (method, path))
        if operation in _API_PROBING_OPERATIONS:
            self.observed['ssm-grant-api'] = 'absent' if response.status_code in missing else 'present'
        if response.status_code in missing and response.status_code not in allow_status:
            raise self.http.response_error(response, 'SSM_GRANT_API_UNAVAILABLE', 'SSM On-Prem answered %s %s with HTTP %d: it '
                                           'offers no API Toolkit grant management this collection knows'
                                           % (method, path, response.status_code))
        return response

    def _refusal(self, response, what):
        """SSM_XSRF_REJECTED when SSM refused the session's XSRF token, else SSM_ADMIN_AUTH_FAILED (the login itself)."""
        words = self.http.error_text(response) or 'HTTP %d' % response.status_code
        if _XSRF_REFUSAL.search(response.content[:4096].decode('utf-8', 'replace')):
            return self.http.response_error(response, 'SSM_XSRF_REJECTED', '%s: it did not accept the XSRF token of the '
                                            'session (%s)' % (what, words))
        return self.http.response_error(response, 'SSM_ADMIN_AUTH_FAILED', '%s: %s' % (what, words))

    def accounts(self):
        """Local accounts: ``[{id, name, default}]`` (admin session)."""
        return self.http.json(self.admin_request('accounts'), _SELECT['accounts'], _SHAPES['accounts'])

    def licenses(self, account, token):
        """Licences of a local account: ``[{license, status, quantity, in_use, available}]`` (Bearer ``token``)."""
        self.http.redactor.add(token)
        response = self.http.request('POST', LICENSES_PATH.format(account=quote(str(account), safe='')),
                                     json={'limit': -1}, headers={'Authorization': 'Bearer %s' % token}, idempotent=True)
        return self.http.json(response, _SELECT['licenses'], _SHAPES['licenses'])


class GrantApi:
    """API Toolkit grants (the paths are GRANT_API's); needs SsmClient.admin_login() first."""

    def __init__(self, ssm):
        self._ssm = ssm

    def _grant(self, response):
        grant = self._ssm.http.json(response, _SELECT['grant'], _SHAPES['grant'])
        if not isinstance(grant, dict) or not grant.get('client_id'):
            raise self._ssm.http.response_error(response, 'BAD_RESPONSE', 'SSM On-Prem answered without the grant')
        self._ssm.http.redactor.add(grant.get('client_secret'))
        return grant

    def list(self, account=None):
        """Grants (without secrets): ``[{id, name, type, client_id, description, created, account_id}]``."""
        params = {'account_id': account} if account else None
        return self._ssm.http.json(self._ssm.admin_request('list', params=params), _SELECT['grants'], _SHAPES['grants'])

    def get(self, grant_id):
        """One grant including its client_secret."""
        return self._grant(self._ssm.admin_request('get', {'id': grant_id}))

    def create(self, name, grant_type, description=None, account=None):
        """A new grant including its client_secret (``grant_type``: resource_owner or client_credentials)."""
        if grant_type not in GRANT_TYPES:
            raise LicenseSyncError('INVALID_INPUT', 'grant_type %r is not one of %s' % (grant_type, ', '.join(GRANT_TYPES)),
                                   remedy='Use grant_type resource_owner for vManage.')
        body = {'name': name, 'type': grant_type}
        if description is not None:
            body['description'] = description
        if account:
            body['account_id'] = account
        return self._grant(self._ssm.admin_request('create', json=body))

    def delete(self, grant_id):
        """Delete a grant; False when it was already gone."""
        return self._ssm.admin_request('delete', {'id': grant_id}, allow_status=(404,)).status_code != 404

    def regenerate_secret(self, grant_id):
        """The grant with a new client_secret (the old one stops working)."""
        return self._grant(self._ssm.admin_request('regenerate_secret', {'id': grant_id}))
