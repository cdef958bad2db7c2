# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vManage (Catalyst SD-WAN Manager) client: session login, XSRF token, release, licensing calls, logout.

FOR INTERNAL COLLECTION USE ONLY.

API_VARIANTS is the only place that knows how releases differ (paths, response fields, mode
spellings, logout method). Facts and their sources: Cisco's SD-WAN API reference (developer.cisco.com/docs/sdwan),
Cisco's SDKs catalystwan, catalystwan-v20-15 and catalystwan-v20-16 (PyPI), CiscoDevNet/sastre, docs/dev/interfaces.md
section 4 and docs/lab.md's "Endpoints and where their behaviour comes from" table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re
import time
from collections import namedtuple
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError, plain_text
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import is_ip_address

ApiVariant = namedtuple('ApiVariant', ['since', 'until', 'onprem_supported', 'logout_method', 'paths'])

_COMMON_PATHS = {
    'login': '/j_security_check',
    'token': '/dataservice/client/token',
    'server': '/dataservice/client/server',
    'ready': '/dataservice/client/server/ready',
    'logout': '/logout',
    'settings': '/dataservice/settings/configuration/smartLicensing',
    'authenticate': '/dataservice/smartLicensing/authenticate',
    'accounts': '/dataservice/smartLicensing/fetchAccounts',
    'system_ip': '/dataservice/device/vmanage',
    'nping': '/dataservice/device/tools/nping/{ip}',
    'device_config': '/dataservice/device/config',
    'proxy': '/dataservice/settings/configuration/proxyHttpServer',
    # Per-device licence status, no reason field (oshafran/pied-piper-openapi-client-go api/openapi.yaml,
    # a 20.9-era spec: rows with licenseStatus; catalystwan-v20-15 msla/devices/models.py: License_status).
    'msla_devices': '/dataservice/msla/devices',
}
_LEGACY_PATHS = dict(_COMMON_PATHS, user_settings='/dataservice/smartLicensing/getUserSettings',
                     sync='/dataservice/smartLicensing/syncLicenses')
# v1 smart-licensing paths: developer.cisco.com SD-WAN 20.16/20.18 API reference (get-user-settings, sync-licenses-2) and
# catalystwan-v20-15 catalystwan/versions/v20_15/v1/smart_licensing/*; absent from the 20.9-era reference, so from 20.15.
_V1_PATHS = dict(_COMMON_PATHS, user_settings='/dataservice/v1/smart-licensing/user-settings',
                 sync='/dataservice/v1/smart-licensing/sync', licenses='/dataservice/v1/smart-licensing/license',
                 # "Licensing - Next Generation" getMSLADevices: devices with complianceStatus and inCompliantReason
                 # (developer.cisco.com SD-WAN 20.16 get-msla-devices; catalystwan-v20-15 v1/licensing/devices/models.py).
                 licensing_devices='/dataservice/v1/licensing/devices')

# Documented answers read with jmespath (catalystwan endpoints/client.py ServerInfo; catalystwan-v20-15
# v1/smart_licensing/license/models.py GetLicenseResponseInner; device/tools/nping/models.py).
_SELECT = {
    'server': 'data.{release: platformVersion, server: server, tenancy_mode: tenancyMode, user: user, csrf_token: CSRFToken}',
    'ready': 'isServerReady',
    'system_ip': 'data.ipAddress',
    'nping': '{transmitted: packetsTransmitted, received: packetsReceived, raw: rawOutput}',
    'licenses': '[].licenses[].{display_name: display_name, tag: tag, purchased: Purchased, available: Available, in_use: inUse}',
}
# The container each of those answers must have (HttpClient.json ``shape``), checked before the selectors read it.
_SHAPES = {
    'server': ('data', dict),
    'ready': ('@', dict),
    'system_ip': ('data', dict),
    'nping': ('@', dict),
    'licenses': ('@', list),
}

API_VARIANTS = (
    ApiVariant((0,), (20, 9, 1), False, 'GET', _LEGACY_PATHS),
    ApiVariant((20, 9, 1), (20, 12), True, 'GET', _LEGACY_PATHS),
    ApiVariant((20, 12), (20, 15), True, 'POST', _LEGACY_PATHS),
    ApiVariant((20, 15), None, True, 'POST', _V1_PATHS),
)

# The licensing mode is spelled three ways: settings use 'on-prem' (catalystwan endpoints/configuration_settings.py
# SmartLicensingSetting); v1 user-settings documents 'online', 'offline' or 'onPrem' (catalystwan-v20-15
# v1/smart_licensing/user_settings/models.py); Cisco's sync example sends 'onprem' (developer.cisco.com SD-WAN 20.16
# syncrequest). The collection reads any of them and says 'on-prem' everywhere.
_MODES = {'onprem': 'on-prem', 'online': 'online', 'offline': 'offline'}
# What authenticate, fetchAccounts and sync may be sent for on-prem mode, in the order tried. Only the sync example is
# public ('onprem'); authenticate's and fetchAccounts' on-prem token is not, so a 400 that refuses the mode makes the
# client try the next spelling and keep the one vManage accepts for the rest of the run.
MODE_TOKENS = ('onprem', 'on-prem', 'onPrem')
_MODE_REFUSED = re.compile(r'(?i)(?:invalid|unsupported|unknown|illegal|not (?:a )?(?:valid|supported))\W+(?:\w+\W+){0,3}?mode\b|'
                           r'\bmode\b\W+(?:\w+\W+){0,4}?(?:is )?(?:invalid|not (?:a )?(?:valid|supported)|unknown|unsupported)')
# The last-sync fields some vManage put in user settings. No public schema has them (UserSettingsResponse documents
# exactly isPresentCredentials, mode, multipleEntitlement and uname), so the collection never relies on them.
LAST_SYNC_FIELDS = ('lastSyncTime', 'lastSyncStatus', 'lastSyncError')
# An answer's envelope (unwrap_record) in the lab's dialect vocabulary of each axis (docs/lab.md, Dialects); an envelope
# an axis does not name is observed as it is.
_ENVELOPES = {'settings-data': {'list': 'list', 'data-object': 'object'},
              'user-settings-envelope': {'list': 'list', 'bare': 'object'}}
# The ``name`` part of SyncRequest (type binary in the spec, the file of an offline upload); on-prem sends no file.
SYNC_NAME_PART = ''
_ABSENT = object()


def normalize_mode(value):
    """'on-prem', 'online' or 'offline' from any spelling vManage uses (onprem, onPrem, on-prem, ON_PREM...); None if unset."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _MODES.get(re.sub(r'[^a-z]', '', value.lower()), value)


def mode_refused(text):
    """True when vManage's error text refuses the licensing mode token it was sent."""
    return bool(_MODE_REFUSED.search(text or ''))


def unwrap_record(document):
    """(the one record, envelope) of a settings or user-settings answer, or (None, None) for another shape.

    vManage wraps these as ``{"data": [{...}]}`` (envelope ``list``) or ``{"data": {...}}`` (``data-object``):
    catalystwan endpoints/configuration_settings.py reads ``data`` as a list or an object; or it sends the bare object
    (``bare``; v1 user-settings, UserSettingsResponse). An empty list is an empty record.
    """
    envelope = 'bare'
    if isinstance(document, dict) and 'data' in document:
        document = document['data']
        envelope = 'data-object'
    if isinstance(document, list):
        if not all(isinstance(item, dict) for item in document):
            return None, None
        return (document[0] if document else {}), 'list'
    return (document, envelope) if isinstance(document, dict) else (None, None)


def unwrap_accounts(document):
    """(accounts, shape) of a fetchAccounts answer, or (None, None) for another shape.

    Cisco's schema is one account object (catalystwan-v20-15 smart_licensing/fetch_accounts/models.py
    SmartLicensingfetchAccountsResp); a public capture of a live vManage shows ``{"accounts": [...]}`` whose virtual
    accounts carry ``vaaccountid`` (github.com/dafrey243/sdwan getSmartLicFetchAllSa.py). Both are read; a bare list or ``data`` too.
    """
    shape = None
    if isinstance(document, dict):
        for key in ('accounts', 'data'):
            if isinstance(document.get(key), list):
                document, shape = document[key], key
                break
        else:
            if 'account_id' in document:
                document, shape = [document], 'object'
    elif isinstance(document, list):
        shape = 'list'
    if shape is None or not all(isinstance(item, dict) for item in document):
        return None, None
    accounts = []
    for account in document:
        virtual_accounts = []
        for item in account.get('virtual_accounts') or []:
            if not isinstance(item, dict):
                continue
            if 'vaaccountid' in item and 'virtual_account_id' not in item:
                shape = 'capture'
            va_id = item.get('virtual_account_id', item.get('vaaccountid'))
            virtual_accounts.append({'virtual_account_id': None if va_id is None else str(va_id), 'name': item.get('name'),
                                     'default': item.get('default') in (True, 'true', 'True')})
        account_id = account.get('account_id')
        accounts.append({'account_id': None if account_id is None else str(account_id), 'name': account.get('name'),
                         'virtual_accounts': virtual_accounts})
    return accounts, shape


_RELEASE = re.compile(r'(?<![\d.])(\d{1,3})\.(\d{1,3})(?:\.(\d{1,5}))?(?:\.(\d{1,5}))?')
_SESSION_CAP = re.compile(r'(?i)maximum number of (?:concurrent )?sessions|maxSessionsPerUser|too many sessions|session limit')
_LOGIN_PAGE = re.compile(r'(?i)j_security_check|<title>[^<]*(?:log ?in|sign ?in)')
_LOGIN_LOCATION = re.compile(r'(?i)login|j_security_check|welcome|index\.html')
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# Words of a licensing failure (vManage's or SSM On-Prem's) as opposed to a session refusal.
_LICENSING_ANSWER = re.compile(r'(?i)smart ?account|licens|on-?prem|\bSSM\b|failed to authenticate user|\bSLIC\d+|invalid_client|'
                               r'invalid_grant|grant not found')
# The status codes of a failed authenticate, fetchAccounts or sync (the documented 400, 403, 500 and a 401 with a licensing
# error), answered by vManage with SSM On-Prem's verdict.
_LICENSING_FAILURE_STATUSES = (400, 401, 403, 500)

# vManage's text for a failed authenticate/sync (SSM's answer or the Java exception quoted inside) -> cause.
_VMANAGE_ERROR_CAUSES = (
    (re.compile(r'invalid_client|Grant not found', re.I), 'GRANT_NOT_FOUND'),
    (re.compile(r'invalid_grant|bad credentials|invalid (?:user ?name|user|password)', re.I), 'SSM_BAD_USER_CREDENTIALS'),
    (re.compile(r'unauthorized_client', re.I), 'SSM_GRANT_TYPE_MISMATCH'),
    (re.compile(r'unsupported_grant_type|invalid_request', re.I), 'SSM_BAD_REQUEST'),
    (re.compile(r'\b502\b|Bad Gateway', re.I), 'SSM_BACKEND_DOWN'),
    # SSM's transient answers relayed: its token endpoint's body after "Failed to authenticate user - '<user>'.", or
    # "Code: <status> Message: <body>" of a later call [I: docs/lab.md inferred behaviours 11, 12].
    (re.compile(r'Code: (?:429|50[0134])\b|"status":\s*(?:429|50[0134])\b|rate_limited|Rate limit exceeded|Too Many Requests|'
                r'Internal Server Error|Service Unavailable|Gateway Time-?out', re.I), 'SSM_BUSY'),
    # vManage's own refusals before it calls SSM On-Prem [I: docs/lab.md inferred behaviour 11].
    (re.compile(r'server URL is not configured|URL (?:is )?not (?:configured|set)', re.I), 'SSM_URL_MISSING'),
    (re.compile(r'Client ID and Client Secret are not configured|credentials are not present|Authenticate first', re.I),
     'CREDENTIALS_MISSING'),
    (re.compile(r'UnknownHost|Name or service not known|unknown host|could not resolve', re.I), 'DNS_MISSING'),
    (re.compile(r'PKIX|certificate|SSLHandshake|unable to find valid certification path', re.I), 'SSM_TLS_UNTRUSTED'),
    (re.compile(r'Connection refused|timed out|No route to host|Network is unreachable|ConnectException|'
                r'SocketTimeout|Connection reset', re.I), 'SSM_UNREACHABLE_FROM_VMANAGE'),
)


def classify_vmanage_error(message_details):
    """The cause code behind vManage's "message: details" text of a failed authenticate or sync.

    SSM_BUSY (SSM's rate limit or server error, relayed) is transient: the stored settings are not at fault.
    """
    for pattern, cause in _VMANAGE_ERROR_CAUSES:
        if pattern.search(message_details or ''):
            return cause
    return 'SYNC_FAILED'


def parse_release(value):
    """``(major, minor, patch[, build])`` from platformVersion strings such as '20.12.0-144-li' or 'smart-li-20.15.1'."""
    match = _RELEASE.search(value) if isinstance(value, str) else None
    if not match:
        raise LicenseSyncError('BAD_RESPONSE', 'vManage reported the release %r, which is not a version this collection can read'
                               % (value,), remedy='Report the platformVersion of GET /dataservice/client/server to the '
                                                  'collection maintainers.')
    numbers = tuple(int(part) for part in match.groups() if part is not None)
    return numbers + (0,) * (3 - len(numbers))


def api_variant(version):
    """The API_VARIANTS row for a release tuple."""
    for variant in API_VARIANTS:
        if variant.since <= version and (variant.until is None or version < variant.until):
            return variant
    raise ValueError('no API variant for release %r' % (version,))


def _epoch_ms_to_time(value):
    """(ISO-8601 UTC time to the millisecond, age in seconds) of an epoch-milliseconds value, or (None, None).

    Milliseconds are kept: runs that sync one vManage at once must tell apart syncs of the same second."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None, None
    seconds = value / 1000.0
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z', max(0, int(time.time() - seconds))


class VManageClient:
    """A logged-in vManage session; as a context manager it logs in on enter and always logs out on exit."""

    def __init__(self, http, username, password):
        self.http = http
        self.username = username
        self._password = password
        # Where the session's XSRF token came from: 'server' (the CSRFToken of GET client/server), 'token' (GET
        # client/token), or None before the login.
        self._xsrf_source = None
        http.redactor.add(password)
        self._server = None
        self._session_open = False
        self._system_ip = None
        self.release = None
        self.version = None
        self.api = None
        self._mode_token = None
        # What this vManage answered where vManage releases (or the public record and the lab) differ, by the lab's
        # dialect axis names (docs/lab.md, Dialects); vmanage_license_info and vmanage_precheck return it.
        self.observed = {}

    def __enter__(self):
        try:
            self.login()
        except BaseException:
            self.logout()
            raise
        return self

    def __exit__(self, *exc_info):
        self.logout()
        return False

    def login(self):
        """Session login, XSRF token, then the release (which picks the API variant).

        The XSRF token is the CSRFToken of the server info, which the login reads anyway (catalystwan endpoints/client.py
        ServerInfo.CSRFToken; CiscoDevNet/sastre cisco_sdwan/base/rest_api.py sends it as X-XSRF-TOKEN): one request less
        than GET /dataservice/client/token, which is asked only when that field is missing or vManage refuses it.
        """
        self._open_session(fetch_xsrf_token=False)
        self._xsrf_source = 'server'  # a refusal of the (missing) token on this first read fetches one (_call)
        response = self._call('GET', 'server')
        server = self.http.json(response, _SELECT['server'], _SHAPES['server'])
        token = server.pop('csrf_token', None)
        if 'X-XSRF-TOKEN' not in self.http.session.headers:
            if isinstance(token, str) and token.strip():
                self._use_xsrf_token(token.strip(), 'server')
            else:
                self._fetch_xsrf_token()
        self.version = parse_release(server.get('release'))
        self.release = server['release']
        self.api = api_variant(self.version)
        self._server = dict(server, version=list(self.version))

    def _open_session(self, fetch_xsrf_token=True):
        http = self.http
        http.session.headers.pop('X-XSRF-TOKEN', None)
        response = http.request('POST', _COMMON_PATHS['login'], data={'j_username': self.username, 'j_password': self._password},
                                idempotent=True, allow_status=(401, 403) + _REDIRECT_STATUSES)
        body = response.content.decode('utf-8', 'replace').strip()
        cookie = response.cookies.get('JSESSIONID')
        http.redactor.add(cookie)
        if _SESSION_CAP.search(body):
            raise http.response_error(response, 'VMANAGE_SESSION_CAP', 'vManage refused a new session for user %r: it already '
                                      'has the maximum number of concurrent sessions' % self.username)
        if response.status_code == 200 and not body and cookie:
            self._session_open = True
        else:
            if response.status_code in _REDIRECT_STATUSES:
                why = 'a redirect to %s' % http.redactor.url(response.headers.get('Location', ''))
            elif body:
                why = 'its login page again' if body.startswith('<') else 'a non-empty body'
            elif not cookie:
                why = 'no JSESSIONID session cookie'
            else:
                why = 'HTTP %d' % response.status_code
            raise http.response_error(response, 'VMANAGE_AUTH_FAILED', 'vManage refused the login of user %r (it answered with %s)'
                                      % (self.username, why))
        if fetch_xsrf_token:
            self._fetch_xsrf_token()

    def _fetch_xsrf_token(self):
        response = self.http.request('GET', _COMMON_PATHS['token'], allow_status=(401, 403))
        token = response.content.decode('utf-8', 'replace').strip()
        if response.status_code != 200 or not token or '<html' in token.lower():
            raise self.http.response_error(response, 'VMANAGE_AUTH_FAILED', 'vManage accepted the login of user %r but gave no '
                                           'XSRF token (GET %s)' % (self.username, _COMMON_PATHS['token']))
        self._use_xsrf_token(token, 'token')

    def _use_xsrf_token(self, token, source):
        self.http.redactor.add(token)
        self.http.session.headers['X-XSRF-TOKEN'] = token
        self._xsrf_source = source

    def logout(self):
        """End the session (POST /logout from 20.12, GET before; both tried when the release is unknown). Never raises."""
        if not self._session_open:
            return
        methods = (self.api.logout_method,) if self.api else ('POST', 'GET')
        try:
            for method in methods:
                response = self.http.request(method, _COMMON_PATHS['logout'], idempotent=True,
                                             allow_status=_REDIRECT_STATUSES + (404, 405))
                if response.status_code not in (404, 405):
                    break
            else:
                self.http.warn('vManage did not accept the logout (HTTP %d); the session ends at its timeout' % response.status_code)
        except LicenseSyncError as error:
            self.http.warn('vManage logout failed; the session ends at its timeout: %s' % error)
        finally:
            self._session_open = False
            self.http.session.headers.pop('X-XSRF-TOKEN', None)
            self.http.session.cookies.clear()

    def _call(self, method, operation, path_args=None, allow_status=(), licensing=False, **kwargs):
        """One API request in the session: re-login once if the session expired, then the same request once more.

        ``licensing``: a call that vManage answers with SSM On-Prem's verdict, whose documented failure statuses (400, 403,
        500; developer.cisco.com SD-WAN 20.16 sleauthenticate) a vManage may extend to 401: a 401 that carries a licensing
        error is that error, not an expired session.
        """
        paths = self.api.paths if self.api else _COMMON_PATHS
        path = paths[operation].format(**dict((key, quote(str(value), safe='')) for key, value in (path_args or {}).items()))
        allowed = tuple(allow_status) + (401, 403) + _REDIRECT_STATUSES
        for attempt in (1, 2):
            response = self.http.request(method, path, allow_status=allowed, **kwargs)
            if not self._session_expired(response, licensing):
                break
            if attempt == 2:
                raise self.http.response_error(response, 'VMANAGE_SESSION_EXPIRED', 'vManage ended the session again right after '
                                               'a new login (%s %s)' % (method, path))
            self.http.debug('vManage session expired at %s %s; logging in again' % (method, path))
            self._open_session()
        status = response.status_code
        if status == 403 and b'SessionTokenFilter' in response.content:
            if self._xsrf_source == 'server':
                # vManage refused the server info's token (or wants one on reads): the token of its own, then once more.
                self.http.debug('vManage refused the XSRF token of the server info at %s %s; asking %s'
                                % (method, path, _COMMON_PATHS['token']))
                self._fetch_xsrf_token()
                return self._call(method, operation, path_args, allow_status, licensing, **kwargs)
            raise self.http.response_error(response, 'VMANAGE_XSRF_REJECTED', 'vManage rejected the XSRF token of the session '
                                           '(%s %s)' % (method, path))
        if status >= 300 and status not in allow_status:
            raise self.http.status_error(response)
        return response

    def _session_expired(self, response, licensing=False):
        status = response.status_code
        if status == 401:
            return not (licensing and _LICENSING_ANSWER.search(response.content[:4096].decode('utf-8', 'replace')))
        if status in _REDIRECT_STATUSES:
            location = response.headers.get('Location', '')
            if 'passwordReset' in location:
                raise self.http.response_error(response, 'VMANAGE_AUTH_FAILED', 'vManage requires user %r to change its default '
                                               'password first' % self.username,
                                               remedy='Log in to the vManage GUI once as this user and set a new password.')
            return bool(_LOGIN_LOCATION.search(urlsplit(location).path))
        if _expired_session_cookie(response):
            return True
        return status == 200 and response.content.lstrip()[:1] == b'<' and bool(_LOGIN_PAGE.search(
            response.content[:4096].decode('utf-8', 'replace')))

    def server_info(self):
        """``{release, version, server, tenancy_mode, user}`` read at login."""
        return dict(self._server)

    def ready(self):
        """Whether vManage reports itself ready (GET /dataservice/client/server/ready)."""
        response = self._call('GET', 'ready')
        value = self._read(response, 'ready')
        if not isinstance(value, bool):
            raise self.http.response_error(response, 'BAD_RESPONSE', 'vManage answered GET %s without isServerReady'
                                           % self.api.paths['ready'])
        return value

    def _read(self, response, operation):
        """The documented selection of ``operation`` from ``response``; BAD_RESPONSE when the answer has another shape."""
        return self.http.json(response, _SELECT[operation], _SHAPES[operation])

    def _record(self, response, axis):
        """The one record of a settings or user-settings answer, whatever its envelope (unwrap_record)."""
        record, envelope = unwrap_record(self.http.json(response))
        if record is None:
            raise self.http.response_error(response, 'BAD_RESPONSE', 'vManage answered %s %s with JSON of another shape than '
                                           'expected: neither an object nor {"data": [object]}'
                                           % (response.request.method, urlsplit(response.url).path))
        if axis:
            self.observed[axis] = _ENVELOPES[axis].get(envelope, envelope)
        return record

    def license_settings(self):
        """``{mode, ssm_url, client_id, secret_stored}`` of the smart licensing settings (the secret itself is never read).

        ``secret_stored`` is True when vManage shows a (masked) secret, False when it shows an empty one, and None when its
        answer leaves the secret out: whether a vManage returns the stored secret on GET is not documented (cisco.catalystwan's
        administration_settings says the settings GET returns no password), so None means "ask vManage to use it".
        """
        return self._settings(self._record(self._call('GET', 'settings'), 'settings-data'))

    def _settings(self, record):
        secret = record.get('ssmClientSecret', _ABSENT)
        if record.get('ssmClientId'):
            self.observed['settings-secret'] = 'omitted' if secret is _ABSENT else 'masked'
        return {
            'mode': normalize_mode(record.get('mode')),
            'ssm_url': record.get('ssmServerUrl') or None,
            'client_id': record.get('ssmClientId') or None,
            'secret_stored': None if secret is _ABSENT else bool(secret),
        }

    def put_license_settings(self, mode, ssm_url, client_id, client_secret=None):
        """Store mode, SSM URL and client id (and the secret when given; vManage keeps the old one otherwise).

        Returns the settings as license_settings() does, from the PUT answer or, when that is empty, a new GET.
        """
        body = {'mode': mode, 'ssmServerUrl': ssm_url, 'ssmClientId': client_id}
        if client_secret is not None:
            self.http.redactor.add(client_secret)
            body['ssmClientSecret'] = client_secret
        response = self._call('PUT', 'settings', json=body)
        if response.content.strip():
            record, _envelope = unwrap_record(self.http.json(response))
            if record:
                return self._settings(record)
        return self.license_settings()

    def authenticate(self, username, password):
        """vManage's own authenticate call to SSM On-Prem with the stored grant and this SSM user; raises with the cause."""
        self.http.redactor.add(password)
        response = self._licensing_call('POST', 'authenticate', 'vManage could not authenticate to SSM On-Prem', idempotent=True,
                                        mode_in=lambda token: dict(json={'username': username, 'password': password, 'mode': token}))
        if response.content.strip():
            try:
                document = self.http.json(response)
            except LicenseSyncError:
                return
            if isinstance(document, dict):
                self.http.redactor.add(document.get('accessToken'))

    def user_settings(self):
        """``{credentials_stored, mode, user, last_sync: {time, age_s, ok, error, reported}}`` of smart licensing.

        ``last_sync.reported`` is False when vManage's answer has none of the last-sync fields (LAST_SYNC_FIELDS): the
        documented answer has none, so no decision may wait for them.
        """
        legacy = 'licenses' not in self.api.paths
        record = self._record(self._call('GET', 'user_settings'), 'user-settings-envelope' if legacy else None)
        reported = any(key in record for key in LAST_SYNC_FIELDS)
        self.observed['user-settings-fields'] = 'full' if reported else 'documented'
        if normalize_mode(record.get('mode')) == 'on-prem':
            spelling = record['mode']
            self.observed['user-settings-mode'] = 'by-path' if spelling == ('onprem' if legacy else 'onPrem') else spelling
        sync_time, age_s = _epoch_ms_to_time(record.get('lastSyncTime'))
        status = record.get('lastSyncStatus')
        return {
            'credentials_stored': bool(record.get('isPresentCredentials')),
            'mode': normalize_mode(record.get('mode')),
            'user': record.get('uname') or None,
            'last_sync': {
                'time': sync_time,
                'age_s': age_s,
                'ok': None if status is None else str(status).lower() == 'success',
                'error': record.get('lastSyncError') or None,
                'reported': reported,
            },
        }

    def fetch_accounts(self):
        """Smart accounts known through SSM On-Prem: ``[{account_id, name, virtual_accounts: [{virtual_account_id, name, default}]}]``.

        A read that makes vManage request a token from SSM On-Prem with its stored grant and SSM user.
        """
        response = self._licensing_call('GET', 'accounts', 'vManage could not fetch the accounts from SSM On-Prem',
                                        mode_in=lambda token: dict(params={'mode': token}))
        accounts, shape = unwrap_accounts(self.http.json(response))
        if accounts is None:
            raise self.http.response_error(response, 'BAD_RESPONSE', 'vManage answered GET %s with JSON of another shape than '
                                           'expected: neither an account, a list of accounts nor {"accounts": [...]}'
                                           % self.api.paths['accounts'])
        self.observed['fetch-accounts-shape'] = shape
        return accounts

    def sync(self, account, virtual_account, license_type=None):
        """"Sync Licenses & Refresh Devices" for one account and virtual account (dicts as fetch_accounts returns them).

        The request is Cisco's SyncRequest (catalystwan-v20-15 v1/smart_licensing/sync/models.py): multipart parts ``data``
        (the JSON of Cisco's on-prem example, developer.cisco.com SD-WAN 20.16 syncrequest) and ``name``. Its answer is a
        documented 200 without a schema: the call's status is the result; the body is not read.
        """
        payload = {
            'multipleEntitlement': False,
            'smartAccounts': [{
                'account_id': account['account_id'],
                'name': account.get('name'),
                'virtual_accounts': [{'virtual_account_id': virtual_account['virtual_account_id']}],
            }],
        }
        if license_type:
            payload['licenseType'] = license_type

        def parts(token):
            return dict(files={'data': (None, json.dumps(dict(payload, mode=token)), 'application/json'),
                               'name': (None, SYNC_NAME_PART)})
        response = self._licensing_call('POST', 'sync', 'vManage could not sync licences from SSM On-Prem', mode_in=parts)
        if 'licenses' in self.api.paths:
            try:
                json.loads(response.content)
            except ValueError:
                self.observed['sync-answer'] = 'text'
            else:
                self.observed['sync-answer'] = 'json'

    def licenses(self, virtual_account_id, license_type='prepaid'):
        """Licences vManage holds for a virtual account, every subscription's rows flattened:
        ``[{display_name, tag, purchased, available, in_use}]``; None on releases without that call (before 20.15).
        """
        if 'licenses' not in self.api.paths:
            return None
        response = self._call('GET', 'licenses', params={'virtual_account_id': virtual_account_id, 'licenseType': license_type})
        rows = self._read(response, 'licenses')
        counts = [row.get('available') for row in rows if row.get('available') is not None]
        if counts:
            self.observed['license-counts'] = 'string' if isinstance(counts[0], str) else 'integer'
        return rows

    def _licensing_call(self, method, operation, what, mode_in, **kwargs):
        """authenticate, fetchAccounts or sync: vManage asks SSM On-Prem and relays SSM's failures in its error answer.

        ``mode_in(token)`` gives the request arguments that carry the on-prem mode token. A refusal of the token (HTTP 400
        naming the mode) makes the call try the next spelling of MODE_TOKENS once; the accepted one is kept for the rest
        of the session. A relayed transient failure (SSM_BUSY: SSM's 429 or 5xx) is retried within the run's retries,
        with the back-off and warning of HttpClient; any other failure raises at once with its cause.
        """
        tokens = [self._mode_token] if self._mode_token else list(MODE_TOKENS)
        budget = self.http.retries
        busy = 0
        while True:
            response = self._call(method, operation, allow_status=_LICENSING_FAILURE_STATUSES, licensing=True,
                                  **dict(kwargs, **mode_in(tokens[0])))
            if response.status_code < 300:
                self._mode_token = self.observed['mode-token'] = tokens[0]
                return response
            words = plain_text(self.http.error_text(response) or response.content.decode('utf-8', 'replace')[:4096])[:600]
            if response.status_code == 400 and len(tokens) > 1 and mode_refused(words):
                self.http.debug('vManage refused the licensing mode token %r (%s); trying %r' % (tokens[0], words, tokens[1]))
                tokens.pop(0)
                continue
            error = self.http.response_error(response, classify_vmanage_error(words), '%s: %s' % (what, words))
            self.observed['authenticate-failure-status'] = str(response.status_code)
            busy += 1
            if error.cause != 'SSM_BUSY' or busy > budget:
                raise error
            self.http.pause_before_retry(method, response.url, 'vManage relayed a transient failure of SSM On-Prem: %s'
                                         % words, busy, budget)

    def system_ip(self):
        """vManage's own system IP (GET /dataservice/device/vmanage), the device id of its tools and config."""
        if self._system_ip is None:
            response = self._call('GET', 'system_ip')
            value = self._read(response, 'system_ip')
            if not value or not isinstance(value, str):
                raise self.http.response_error(response, 'BAD_RESPONSE', 'vManage answered GET %s without data.ipAddress'
                                               % self.api.paths['system_ip'])
            self._system_ip = value
        return self._system_ip

    def nping_tcp(self, host, port, vpn='0'):
        """A TCP connect test from vManage itself to host:port: ``{reachable, transmitted, received, raw}``."""
        body = {'host': host, 'vpn': str(vpn), 'probeType': 'tcp', 'destPort': str(port), 'count': '3'}
        response = self._call('POST', 'nping', path_args={'ip': self.system_ip()}, json=body, idempotent=True)
        result = self._read(response, 'nping')
        try:
            received = int(result.get('received') or 0)
        except (TypeError, ValueError):
            raise self.http.response_error(response, 'BAD_RESPONSE', 'vManage answered nping with packetsReceived %r'
                                           % result.get('received'))
        return {'reachable': received > 0, 'transmitted': result.get('transmitted'), 'received': received,
                'raw': result.get('raw') or []}

    def dns_servers(self):
        """Name servers in vManage's running configuration (``ip name-server`` / ``dns ... primary``)."""
        response = self._call('GET', 'device_config', params={'deviceId': self.system_ip()})
        servers = []
        for line in response.content.decode('utf-8', 'replace').splitlines():
            words = line.split()
            if words[:2] == ['ip', 'name-server'] or words[:1] in (['dns'], ['name-server']):
                for word in words[1:]:
                    if is_ip_address(word) and word not in servers:
                        servers.append(word)
        return servers

    def proxy_settings(self):
        """``{enabled, host, port}`` of vManage's HTTP proxy setting (what it uses to reach SSM On-Prem)."""
        proxy = self._record(self._call('GET', 'proxy'), 'settings-data')
        return {
            'enabled': proxy.get('proxy') in (True, 'true', 'True'),
            'host': proxy.get('proxyIp') or None,
            'port': str(proxy['proxyPort']) if proxy.get('proxyPort') not in (None, '') else None,
        }

    def device_licenses(self):
        """How many devices vManage manages and how many are out of licence compliance, and why, in one request:
        ``{source, total, out_of_compliance, unknown, reasons: {reason: devices}}``.

        From 20.15, GET /dataservice/v1/licensing/devices: ``devices`` with ``complianceStatus`` ("compliant", "Out Of
        Compliance") and ``inCompliantReason`` (for example "Unassigned"), with no ``data`` wrapper (developer.cisco.com
        SD-WAN 20.16 get-msla-devices; catalystwan-v20-15 v1/licensing/devices/models.py DevicesDetails). Before 20.15,
        GET /dataservice/msla/devices: ``data`` rows with only a licence status (``licenseStatus``, e.g. "Subscription
        Needed", in the 20.9-era API reference; ``License_status``, e.g. "subscribed", in catalystwan-v20-15
        msla/devices/models.py), which is then the reason. A device without a status counts as ``unknown``.
        """
        operation = 'licensing_devices' if 'licensing_devices' in self.api.paths else 'msla_devices'
        response = self._call('GET', operation)
        document = self.http.json(response)
        rows = self._device_rows(document)
        if rows is None:
            raise self.http.response_error(response, 'BAD_RESPONSE', 'vManage answered GET %s with JSON of another shape than '
                                           'a list of devices' % self.api.paths[operation])
        result = dict(source=self.api.paths[operation], total=len(rows), out_of_compliance=0, unknown=0, reasons={})
        for row in rows:
            status = self._first_text(row, ('complianceStatus', 'License_status', 'licenseStatus', 'license_status'))
            reason = self._first_text(row, ('inCompliantReason',))
            spelling = re.sub(r'[^a-z]', '', (status or '').lower())
            if spelling in self.DEVICE_OUT_OF_COMPLIANCE or reason and spelling not in self.DEVICE_IN_COMPLIANCE:
                result['out_of_compliance'] += 1
                result['reasons'][reason or status] = result['reasons'].get(reason or status, 0) + 1
            elif spelling not in self.DEVICE_IN_COMPLIANCE:
                # No status, or one no public example shows: counted, never guessed either way.
                result['unknown'] += 1
        return result

    # Licence statuses, letters only, lower case, as the public examples spell them. In compliance: v1 "compliant"
    # (developer.cisco.com SD-WAN 20.16 get-msla-devices), "In Compliance" (SSM On-Prem's wording), MSLA "subscribed"
    # (catalystwan-v20-15 msla/devices/models.py example). Out of compliance: v1 "Out Of Compliance" (get-msla-devices),
    # MSLA "Subscription Needed" (the 20.9-era API reference). Any other status, without an inCompliantReason, counts as
    # unknown; a device with an inCompliantReason is out of compliance whatever its status says.
    DEVICE_IN_COMPLIANCE = frozenset(('compliant', 'incompliance', 'subscribed'))
    DEVICE_OUT_OF_COMPLIANCE = frozenset(('outofcompliance', 'subscriptionneeded'))

    @staticmethod
    def _device_rows(document):
        """The rows of a device licence answer: ``{"devices": [...]}``, ``{"data": [...]}`` (also nested) or a list."""
        for _depth in range(3):
            if isinstance(document, dict):
                document = document.get('devices', document.get('data'))
            if isinstance(document, list):
                return [row for row in document if isinstance(row, dict)]
        return None

    @staticmethod
    def _first_text(row, keys):
        for key in keys:
            value = row.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None


def _expired_session_cookie(response):
    """True when the response expires JSESSIONID (Max-Age=0 or Expires in the past)."""
    raw = getattr(response.raw, 'headers', None)
    values = raw.getlist('Set-Cookie') if hasattr(raw, 'getlist') else [response.headers.get('Set-Cookie', '')]
    for value in values:
        if not value.strip().startswith('JSESSIONID='):
            continue
        attributes = dict((name.strip().lower(), item.strip()) for name, _sep, item in
                          (part.partition('=') for part in value.split(';')[1:]))
        if attributes.get('max-age') == '0':
            return True
        try:
            expires = parsedate_to_datetime(attributes['expires']) if 'expires' in attributes else None
        except (TypeError, ValueError, IndexError):
            expires = None
        if expires is not None and expires.timestamp() < time.time():
            return True
    return False
