# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vManage (Catalyst SD-WAN Manager) client: session login, XSRF token, release, licensing calls, logout.

FOR INTERNAL COLLECTION USE ONLY.

API_VARIANTS is the only place that knows how releases differ (paths, response fields, mode
spellings, logout method). Facts and their sources: ../shared/reference/vmanage_api.md and
docs/dev/interfaces.md section 4.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import json
import re
import time
from collections import namedtuple
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError

ApiVariant = namedtuple('ApiVariant', ['since', 'until', 'onprem_supported', 'logout_method', 'paths', 'select', 'shapes',
                                       'modes', 'request_mode'])

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
}
_LEGACY_PATHS = dict(_COMMON_PATHS, user_settings='/dataservice/smartLicensing/getUserSettings',
                     sync='/dataservice/smartLicensing/syncLicenses')
_V1_PATHS = dict(_COMMON_PATHS, user_settings='/dataservice/v1/smart-licensing/user-settings',
                 sync='/dataservice/v1/smart-licensing/sync', licenses='/dataservice/v1/smart-licensing/license')

_USER_SETTINGS_FIELDS = ('{credentials_stored: isPresentCredentials, mode: mode, user: uname, '
                         'last_sync_time: lastSyncTime, last_sync_status: lastSyncStatus, last_sync_error: lastSyncError}')
_COMMON_SELECT = {
    'server': 'data.{release: platformVersion, server: server, tenancy_mode: tenancyMode, user: user, csrf_token: CSRFToken}',
    'ready': 'isServerReady',
    'settings': "data[0].{mode: mode, ssm_url: ssmServerUrl, client_id: ssmClientId, "
                "secret_stored: ssmClientSecret != null && ssmClientSecret != ''}",
    'accounts': 'accounts[].{account_id: account_id, name: name, virtual_accounts: virtual_accounts[].'
                '{virtual_account_id: virtual_account_id || vaaccountid, name: name, default: default || `false`}}',
    'system_ip': 'data.ipAddress',
    'nping': '{transmitted: packetsTransmitted, received: packetsReceived, raw: rawOutput}',
    'proxy': 'data[0].{enabled: proxy, host: proxyIp, port: proxyPort}',
}
_LEGACY_SELECT = dict(_COMMON_SELECT, user_settings='data[0].' + _USER_SETTINGS_FIELDS)
_V1_SELECT = dict(_COMMON_SELECT, user_settings=_USER_SETTINGS_FIELDS,
                  licenses='[].licenses[].{display_name: display_name, tag: tag, purchased: Purchased, available: Available, '
                           'in_use: inUse}')
# The container each answer must have (HttpClient.json ``shape``), checked before the selectors above read it.
_COMMON_SHAPES = {
    'server': ('data', dict),
    'ready': ('@', dict),
    'settings': ('data', list),
    'accounts': ('accounts', list),
    'system_ip': ('data', dict),
    'nping': ('@', dict),
    'proxy': ('data', list),
}
_LEGACY_SHAPES = dict(_COMMON_SHAPES, user_settings=('data', list))
_V1_SHAPES = dict(_COMMON_SHAPES, user_settings=('@', dict), licenses=('@', list))

# Server spellings of the licensing mode -> the settings spelling used everywhere in the collection.
_SETTINGS_MODES = {'on-prem': 'on-prem', 'online': 'online', 'offline': 'offline'}
_LEGACY_MODES = dict(_SETTINGS_MODES, onprem='on-prem')
_V1_MODES = dict(_SETTINGS_MODES, onPrem='on-prem', onprem='on-prem')

API_VARIANTS = (
    ApiVariant((0,), (20, 9, 1), False, 'GET', _LEGACY_PATHS, _LEGACY_SELECT, _LEGACY_SHAPES, _LEGACY_MODES, 'onprem'),
    ApiVariant((20, 9, 1), (20, 12), True, 'GET', _LEGACY_PATHS, _LEGACY_SELECT, _LEGACY_SHAPES, _LEGACY_MODES, 'onprem'),
    ApiVariant((20, 12), (20, 15), True, 'POST', _LEGACY_PATHS, _LEGACY_SELECT, _LEGACY_SHAPES, _LEGACY_MODES, 'onprem'),
    ApiVariant((20, 15), None, True, 'POST', _V1_PATHS, _V1_SELECT, _V1_SHAPES, _V1_MODES, 'onprem'),
)

_RELEASE = re.compile(r'(?<![\d.])(\d{1,3})\.(\d{1,3})(?:\.(\d{1,5}))?(?:\.(\d{1,5}))?')
_SESSION_CAP = re.compile(r'(?i)maximum number of (?:concurrent )?sessions|maxSessionsPerUser|too many sessions|session limit')
_LOGIN_PAGE = re.compile(r'(?i)j_security_check|<title>[^<]*(?:log ?in|sign ?in)')
_LOGIN_LOCATION = re.compile(r'(?i)login|j_security_check|welcome|index\.html')
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)

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

    def __init__(self, http, username, password, xsrf_from_server_info=False):
        self.http = http
        self.username = username
        self._password = password
        self._xsrf_from_server_info = xsrf_from_server_info
        http.redactor.add(password)
        self._server = None
        self._session_open = False
        self._system_ip = None
        self.release = None
        self.version = None
        self.api = None

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

        With ``xsrf_from_server_info`` (read-only sessions) the XSRF token is the server info's CSRFToken, a documented
        field of the answer read anyway, which saves one request; GET /dataservice/client/token only when it is absent.
        """
        self._open_session(fetch_xsrf_token=not self._xsrf_from_server_info)
        try:
            response = self._call('GET', 'server')
        except LicenseSyncError as error:
            if error.cause != 'VMANAGE_XSRF_REJECTED' or 'X-XSRF-TOKEN' in self.http.session.headers:
                raise
            self._fetch_xsrf_token()  # this vManage wants the token on reads too
            response = self._call('GET', 'server')
        server = self.http.json(response, _COMMON_SELECT['server'], _COMMON_SHAPES['server'])
        token = server.pop('csrf_token', None)
        if 'X-XSRF-TOKEN' not in self.http.session.headers:
            if isinstance(token, str) and token.strip():
                self._use_xsrf_token(token.strip())
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
        self._use_xsrf_token(token)

    def _use_xsrf_token(self, token):
        self.http.redactor.add(token)
        self.http.session.headers['X-XSRF-TOKEN'] = token

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

    def _call(self, method, operation, path_args=None, allow_status=(), **kwargs):
        """One API request in the session: re-login once if the session expired, then the same request once more."""
        paths = self.api.paths if self.api else _COMMON_PATHS
        path = paths[operation].format(**dict((key, quote(str(value), safe='')) for key, value in (path_args or {}).items()))
        allowed = tuple(allow_status) + (401, 403) + _REDIRECT_STATUSES
        for attempt in (1, 2):
            response = self.http.request(method, path, allow_status=allowed, **kwargs)
            if not self._session_expired(response):
                break
            if attempt == 2:
                raise self.http.response_error(response, 'VMANAGE_SESSION_EXPIRED', 'vManage ended the session again right after '
                                               'a new login (%s %s)' % (method, path))
            self.http.debug('vManage session expired at %s %s; logging in again' % (method, path))
            self._open_session()
        status = response.status_code
        if status == 403 and b'SessionTokenFilter' in response.content:
            raise self.http.response_error(response, 'VMANAGE_XSRF_REJECTED', 'vManage rejected the XSRF token of the session '
                                           '(%s %s)' % (method, path))
        if status >= 300 and status not in allow_status:
            raise self.http.status_error(response)
        return response

    def _session_expired(self, response):
        status = response.status_code
        if status == 401:
            return True
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

    def _mode(self, value):
        return self.api.modes.get(value, value) if value else value

    def license_settings(self):
        """``{mode, ssm_url, client_id, secret_stored}`` of the smart licensing settings (the secret itself is never read)."""
        return self._settings(self._read(self._call('GET', 'settings'), 'settings'))

    def _settings(self, selected):
        settings = selected or {}
        return {
            'mode': self._mode(settings.get('mode')),
            'ssm_url': settings.get('ssm_url') or None,
            'client_id': settings.get('client_id') or None,
            'secret_stored': bool(settings.get('secret_stored')),
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
        selected = self.http.json(response, self.api.select['settings']) if response.content.strip() else None
        return self._settings(selected) if selected else self.license_settings()

    def _read(self, response, operation):
        """The API variant's selection of ``operation`` from ``response``; BAD_RESPONSE when the answer has another shape."""
        return self.http.json(response, self.api.select[operation], self.api.shapes[operation])

    def authenticate(self, username, password):
        """vManage's own authenticate call to SSM On-Prem with the stored grant and this SSM user; raises with the cause."""
        self.http.redactor.add(password)
        response = self._licensing_call('POST', 'authenticate', 'vManage could not authenticate to SSM On-Prem', idempotent=True,
                                        json={'username': username, 'password': password, 'mode': self.api.request_mode})
        if response.content.strip():
            self.http.redactor.add(self.http.json(response, 'accessToken'))

    def user_settings(self):
        """``{credentials_stored, mode, user, last_sync: {time, age_s, ok, error}}`` of smart licensing."""
        fields = self._read(self._call('GET', 'user_settings'), 'user_settings') or {}
        sync_time, age_s = _epoch_ms_to_time(fields.get('last_sync_time'))
        status = fields.get('last_sync_status')
        return {
            'credentials_stored': bool(fields.get('credentials_stored')),
            'mode': self._mode(fields.get('mode')),
            'user': fields.get('user') or None,
            'last_sync': {
                'time': sync_time,
                'age_s': age_s,
                'ok': None if status is None else str(status).lower() == 'success',
                'error': fields.get('last_sync_error') or None,
            },
        }

    def fetch_accounts(self):
        """Smart accounts known through SSM On-Prem: ``[{account_id, name, virtual_accounts: [{virtual_account_id, name, default}]}]``."""
        response = self._licensing_call('GET', 'accounts', 'vManage could not fetch the accounts from SSM On-Prem',
                                        params={'mode': self.api.request_mode})
        return self._read(response, 'accounts')

    def sync(self, account, virtual_account, license_type=None):
        """"Sync Licenses & Refresh Devices" for one account and virtual account (dicts as fetch_accounts returns them)."""
        payload = {
            'mode': self.api.request_mode,
            'multipleEntitlement': False,
            'smartAccounts': [{
                'account_id': account['account_id'],
                'name': account.get('name'),
                'virtual_accounts': [{'virtual_account_id': virtual_account['virtual_account_id']}],
            }],
        }
        if license_type:
            payload['licenseType'] = license_type
        self._licensing_call('POST', 'sync', 'vManage could not sync licences from SSM On-Prem',
                             files={'data': (None, json.dumps(payload), 'application/json')})

    def licenses(self, virtual_account_id, license_type='prepaid'):
        """Licences vManage holds for a virtual account, every subscription's rows flattened:
        ``[{display_name, tag, purchased, available, in_use}]``; None on releases without that call (before 20.15).
        """
        if 'licenses' not in self.api.paths:
            return None
        response = self._call('GET', 'licenses', params={'virtual_account_id': virtual_account_id, 'licenseType': license_type})
        return self._read(response, 'licenses')

    def _licensing_call(self, method, operation, what, **kwargs):
        """authenticate, fetchAccounts or sync: vManage asks SSM On-Prem and relays SSM's failures in its error answer.

        A relayed transient failure (SSM_BUSY: SSM's 429 or 5xx) is retried within the run's retries, with the
        back-off and warning of HttpClient; any other failure raises at once with its cause.
        """
        budget = self.http.retries
        attempt = 0
        while True:
            attempt += 1
            response = self._call(method, operation, allow_status=(400, 403, 500), **kwargs)
            if response.status_code < 300:
                return response
            error = self._licensing_error(response, what)
            if error.cause != 'SSM_BUSY' or attempt > budget:
                raise error
            self.http.pause_before_retry(method, response.url, 'vManage relayed a transient failure of SSM On-Prem: %s'
                                         % (self.http.error_text(response) or 'HTTP %d' % response.status_code), attempt, budget)

    def _licensing_error(self, response, what):
        words = self.http.error_text(response) or response.content.decode('utf-8', 'replace').strip()[:300]
        return self.http.response_error(response, classify_vmanage_error(words), '%s: %s' % (what, words))

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
                    if _is_ip(word) and word not in servers:
                        servers.append(word)
        return servers

    def proxy_settings(self):
        """``{enabled, host, port}`` of vManage's HTTP proxy setting (what it uses to reach SSM On-Prem)."""
        proxy = self._read(self._call('GET', 'proxy'), 'proxy') or {}
        return {
            'enabled': proxy.get('enabled') in (True, 'true', 'True'),
            'host': proxy.get('host') or None,
            'port': str(proxy['port']) if proxy.get('port') not in (None, '') else None,
        }


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


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
