# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed failures of the collection: one stable cause code, what failed, where, and what to do.

FOR INTERNAL COLLECTION USE ONLY. The codes are documented in docs/troubleshooting and listed in
docs/dev/interfaces.md section 3; never rename one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import Redactor

Cause = namedtuple('Cause', ['title', 'remedy', 'fixable'])

_TOOLKIT = ('In SSM On-Prem open Admin Workspace > API Toolkit and create a Resource Owner Grant '
            '(or run sdwan_ops.license_sync.ssm_grant), store its client id and secret on vManage '
            '(sdwan_ops.license_sync.vmanage_license_auth), then run "Sync Licenses & Refresh Devices" again.')

CAUSES = {
    'GRANT_NOT_FOUND': Cause(
        'SSM On-Prem has no grant for this client id and secret', _TOOLKIT, True),
    'SSM_BAD_USER_CREDENTIALS': Cause(
        'SSM On-Prem rejected the user name or password of the token request',
        'Check ssm_username/ssm_password: they must be an SSM On-Prem local user with access to the local account '
        'of the grant (the user vManage sends with "Sync Licenses"). Reset the password in SSM On-Prem if needed.', False),
    'SSM_GRANT_TYPE_MISMATCH': Cause(
        'the grant exists but does not allow this grant type',
        'vManage uses the Resource Owner (password) grant: create a Resource Owner Grant in SSM On-Prem API Toolkit '
        '(ssm_grant grant_type: resource_owner) instead of a Client Credential grant, and store its id and secret on vManage.', True),
    'SSM_BAD_REQUEST': Cause(
        'SSM On-Prem rejected the token request as malformed',
        'Check that grant_type, client id and secret (and for a Resource Owner grant the user name and password) are all set.', False),
    'SSM_ADMIN_AUTH_FAILED': Cause(
        'SSM On-Prem rejected the Admin Workspace login',
        'Check ssm_admin_username/ssm_admin_password (default: ssm_username/ssm_password) by logging in to the SSM On-Prem '
        'Admin Workspace in a browser.', False),
    'SSM_XSRF_REJECTED': Cause(
        'SSM On-Prem rejected the XSRF token of the Admin Workspace session',
        'The login itself was not refused: SSM On-Prem did not accept the X-Xsrf-Token header that echoes its XSRF-TOKEN '
        'cookie. Check that no proxy or load balancer between the controller and SSM On-Prem drops or rewrites that header or '
        'the XSRF-TOKEN/_lic_engine_session cookies (ssm_proxy, HTTPS_PROXY), and that ssm_url reaches SSM On-Prem directly; '
        'then run again.', False),
    'SSM_GRANT_API_UNAVAILABLE': Cause(
        "SSM On-Prem offers no API Toolkit grant management that this collection can drive",
        'Create the Resource Owner Grant by hand: in SSM On-Prem open Admin Workspace > API Toolkit > Resource Owner Grant, '
        'save it, and pass its Client ID and Client Secret as ssm_client_id and ssm_client_secret (inventory, vault, extra '
        'vars or SSM_CLIENT_ID/SSM_CLIENT_SECRET); the fix playbook then proves, stores and syncs with that grant and '
        'manages no grant itself.', False),
    'SSM_BUSY': Cause(
        'SSM On-Prem answered with a transient failure (rate limit or server error) even after the retries',
        'Nothing needs to change on vManage or in the grant: SSM On-Prem rate-limited (HTTP 429) or failed (HTTP 5xx) the '
        'requests, also those vManage sent for the collection. Run again later, with fewer forks against the same SSM '
        'On-Prem, or with more retries (retries, LICENSE_SYNC_RETRIES); if it persists, ask the SSM On-Prem team to check '
        'its load and logs.', False),
    'SSM_BACKEND_DOWN': Cause(
        "SSM On-Prem's web front answers but its backend is down (nginx 502/504)",
        'Ask the SSM On-Prem team to restart the SSM On-Prem services (the Rails backend behind nginx on 8443; '
        'nginx logs "connect() failed (111: Connection refused) while connecting to upstream"). Nothing on vManage can fix this.', False),
    'SSM_UNREACHABLE': Cause(
        'SSM On-Prem cannot be reached from the controller',
        'Check ssm_url (host and port, default 8443), DNS, routing, firewalls and ssm_proxy between the Ansible controller '
        'and SSM On-Prem.', False),
    'SSM_UNREACHABLE_FROM_VMANAGE': Cause(
        'vManage cannot reach SSM On-Prem',
        'Check routing and firewalls from vManage (VPN 0) to the SSM On-Prem host on port 8443 (tcpdump on vManage shows '
        'whether SYNs leave and get answered), and the proxy configured on vManage (Administration > Settings > Proxy).', False),
    'SSM_TLS_UNTRUSTED': Cause(
        'the TLS certificate of SSM On-Prem is not trusted',
        'Give the CA that signed the SSM On-Prem certificate with ssm_ca_path (PEM) and make sure the certificate names the '
        'host used in ssm_url; on vManage install that CA as well. ssm_validate_certs: false is only for a lab.', False),
    'SSM_URL_MISSING': Cause(
        'vManage has no SSM On-Prem URL configured',
        'Set the SSM On-Prem URL on vManage (sdwan_ops.license_sync.vmanage_license_auth with ssm_url).', True),
    'SSM_URL_MISMATCH': Cause(
        'vManage points at another SSM On-Prem URL than expected',
        'Store the right SSM On-Prem URL on vManage (sdwan_ops.license_sync.vmanage_license_auth with ssm_url).', True),
    'RELEASE_TOO_OLD': Cause(
        'this vManage release cannot use SSM On-Prem',
        'Upgrade vManage (Catalyst SD-WAN Manager) to 20.9.1 or later; on-prem licensing mode does not exist before.', False),
    'MODE_NOT_ONPREM': Cause(
        'vManage smart licensing is not in on-prem mode',
        'Switch vManage licensing to on-prem mode (sdwan_ops.license_sync.vmanage_license_auth).', True),
    'CREDENTIALS_MISSING': Cause(
        'vManage has no SSM On-Prem client id/secret or user credentials stored',
        'Store the grant and the SSM On-Prem user on vManage (sdwan_ops.license_sync.vmanage_license_auth).', True),
    'DNS_MISSING': Cause(
        'vManage cannot resolve the SSM On-Prem host name',
        'Configure DNS servers on vManage (VPN 0/512) that resolve the SSM On-Prem host name, or use its IP address in the '
        'SSM On-Prem URL.', False),
    'VMANAGE_UNREACHABLE': Cause(
        'vManage cannot be reached from the controller',
        'Check vmanage_host/vmanage_port, DNS, routing, firewalls and vmanage_proxy between the Ansible controller and vManage.',
        False),
    'VMANAGE_TLS_UNTRUSTED': Cause(
        'the TLS certificate of vManage is not trusted',
        'Give the CA that signed the vManage web certificate with vmanage_ca_path (PEM) and connect with a name the certificate '
        'carries. vmanage_validate_certs: false is only for a lab.', False),
    'VMANAGE_AUTH_FAILED': Cause(
        'vManage rejected the login',
        'Check vmanage_username/vmanage_password by logging in to the vManage GUI; the user needs the netadmin role.', False),
    'VMANAGE_NOT_READY': Cause(
        'vManage is not ready to serve API requests',
        'Wait until vManage has finished starting (GET /dataservice/client/server/ready answers true) and run again.', False),
    'VMANAGE_SESSION_CAP': Cause(
        'vManage refused a new session: the user has reached its maximum number of sessions',
        'Log out other sessions of this user (Administration > Manage Users > sessions) or raise maxSessionsPerUser '
        '(Administration > Settings > Max Sessions Per User), then run again.', False),
    'VMANAGE_RATE_LIMITED': Cause(
        'vManage rate-limited the API requests (HTTP 429)',
        'Run with fewer forks against the same vManage or raise retries; vManage allows about 100 requests per second.', False),
    'VMANAGE_XSRF_REJECTED': Cause(
        'vManage rejected the XSRF token of the session',
        'Check that no proxy or load balancer between the controller and vManage drops the X-XSRF-TOKEN header or the '
        'JSESSIONID cookie, then run again.', False),
    'VMANAGE_SESSION_EXPIRED': Cause(
        'the vManage session expired and a new login did not help',
        'Check the vManage session timeouts (Administration > Settings) and that the user is not logged out by another tool.',
        False),
    'SYNC_FAILED': Cause(
        'vManage could not synchronise licences with SSM On-Prem',
        'Read the message from vManage above; run sdwan_ops.license_sync.vmanage_precheck for a diagnosis of every step.', True),
    'SYNC_STALE': Cause(
        'the last successful licence synchronisation is older than allowed',
        'Run sdwan_ops.license_sync.vmanage_license_sync (or "Sync Licenses & Refresh Devices") and check its result.', True),
    'SYNC_TIMEOUT': Cause(
        'the licence synchronisation did not finish in time',
        'Raise wait_timeout, or check the sync result later with sdwan_ops.license_sync.vmanage_license_info.', False),
    'HTTP_ERROR': Cause(
        'the server answered with an HTTP error',
        'Read the status and the response excerpt; run with -vvv to see every request.', False),
    'BAD_RESPONSE': Cause(
        'the server answered something this collection does not understand',
        'Check that the URL points at the product itself (not a proxy, load balancer or login portal); run with -vvv to see '
        'every request.', False),
    'INVALID_INPUT': Cause(
        'an option has an invalid value',
        'Fix the option named in the message.', False),
    'TIMEOUT': Cause(
        'the server did not answer in time',
        'Check that the server is up and not overloaded, or raise timeout (LICENSE_SYNC_TIMEOUT).', False),
    'PROXY_ERROR': Cause(
        'the HTTP proxy failed',
        'Check the proxy option (or HTTPS_PROXY/NO_PROXY in the environment): the proxy must be reachable and allow CONNECT to '
        'the target host and port.', False),
    'MISSING_LIBRARY': Cause(
        'a required Python library is missing',
        'Install the Python requirements of the collection (requests, jmespath) for the Python that runs Ansible.', False),
}

_BODY_EXCERPT_CHARS = 300
_REDACTION_WINDOW_CHARS = 4096
_HTML_DROP = re.compile(r'(?is)<(script|style)\b.*?</\1\s*>')
_HTML_TAG = re.compile(r'(?s)<[^>]*>')
_SPACES = re.compile(r'\s+')


def plain_text(text):
    """``text`` with the tags of an HTML page (an nginx error page quoted by vManage, say) removed and spaces collapsed."""
    if '<' in text and '>' in text and re.search(r'(?i)<(html|body|head|title|center|h1)\b', text):
        text = _HTML_TAG.sub(' ', _HTML_DROP.sub(' ', text))
    return _SPACES.sub(' ', text).strip()


def body_excerpt(body, redactor):
    """A short redacted quote of a response body (tags of an HTML page removed)."""
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    text = plain_text(redactor.text(body[:_REDACTION_WINDOW_CHARS]))
    if len(text) > _BODY_EXCERPT_CHARS:
        text = text[:_BODY_EXCERPT_CHARS - 3] + '...'
    return text or None


class LicenseSyncError(Exception):
    """A failure with a cause code (errors.CAUSES), a detail, and where relevant the URL, status and body.

    Every text is redacted: with ``redactor`` (which knows the run's secrets) when given, otherwise
    by the secret-key rules alone. ``body_quoted``: ``detail`` already quotes the server's words from
    ``body``, so the message does not repeat them (``body_excerpt`` keeps the raw text).
    """

    def __init__(self, cause, detail, *, url=None, status=None, body=None, remedy=None, redactor=None, body_quoted=False):
        if cause not in CAUSES:
            raise ValueError('unknown cause code %r' % (cause,))
        redactor = redactor or Redactor()
        self.cause = cause
        self.title = CAUSES[cause].title
        self.fixable = CAUSES[cause].fixable
        self.detail = redactor.text(detail)
        self.url = redactor.url(url) if url else None
        self.status = status
        self.body_excerpt = body_excerpt(body, redactor)
        self.body_quoted = body_quoted or (self.body_excerpt is not None and self.body_excerpt in self.detail)
        self.remedy = redactor.text(remedy or CAUSES[cause].remedy)
        super(LicenseSyncError, self).__init__(self.message)

    @property
    def message(self):
        """What failed, where, why (cause code) and what to do, in one line."""
        text = self.detail.rstrip()
        where = []
        if self.url:
            where.append(self.url)
        if self.status is not None:
            where.append('HTTP %s' % self.status)
        if where:
            text += ' [%s]' % ', '.join(where)
        if self.body_excerpt and not self.body_quoted:
            text += ' Response: %s' % self.body_excerpt
        if not text.endswith(('.', '!', '?', '}', ']')):
            text += '.'
        return '%s Cause: %s (%s). Remedy: %s' % (text, self.cause, self.title, self.remedy)

    def to_result(self):
        """The failure fields of a module result."""
        return {
            'msg': self.message,
            'cause': self.cause,
            'remedy': self.remedy,
            'url': self.url,
            'status': self.status,
            'body_excerpt': self.body_excerpt,
        }


def failure_result(error, **extra):
    """The failed module result of a LicenseSyncError (msg, cause, remedy, url, status...) plus ``extra``."""
    result = dict(failed=True, changed=False)
    result.update((key, value) for key, value in error.to_result().items() if value is not None)
    result.update(extra)
    return result
