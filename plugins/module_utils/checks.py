# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one check model: which checks exist, how facts become pass/fail/warn/skip with a cause, and the fix plan.

FOR INTERNAL COLLECTION USE ONLY.

vmanage_precheck (one vManage, probing actively) and license_report (a fleet, from vmanage_license_info results and
one probe per SSM On-Prem and per grant) gather facts in their own way and hand them to ``assess``; the fix playbook
acts on ``plan`` of precheck's checks, and the compliance report's ``fixable`` is the same plan's. So the report, the
precheck and the fix can never disagree about a host.

Facts (each optional; a missing fact makes the checks that need it ``skip``), every outcome a dict
``{ok: True|False|None, cause, detail, remedy}`` (``ok`` None: asked, but the answer proves nothing):

- ``login``: outcome of the vManage login; ``release``: its release string.
- ``ready``: outcome with ``ready`` (bool).
- ``settings``: ``{mode, ssm_url, client_id, secret_stored}`` or a failed outcome; ``user``: ``{credentials_stored,
  user, last_sync}`` or a failed outcome.
- ``dns``: outcome with ``servers``; ``nping``: outcome with ``host``, ``port``, ``vpn``, ``reachable``, ``raw``.
- ``live``: vManage asking SSM On-Prem now with what it stores (fetchAccounts, a read): outcome.
- ``controller``: the controller's look at SSM On-Prem: outcome with ``reached`` (bool: TCP and TLS worked) and
  ``backend`` (bool or None).
- ``stored_grant``: a token request from the controller for the client id vManage stores: outcome; ``listed``:
  ``{client_id: grant name}`` of the API Toolkit, or None, with ``listed_detail``.
- ``supplied_grant``: a token request for the client id the run was given, when it differs from the stored one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict
from urllib.parse import urlsplit

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES, LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import is_ip_address, same_url, ssm_base_url
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.vmanage import classify_vmanage_error, parse_release

# The release that brought on-prem licensing (Cisco TAC document 222117; Catalyst SD-WAN 20.9 licensing guide).
ON_PREM_MIN_RELEASE = '20.9.1'

# Every check, in the order of the troubleshooting list, with the label reports show.
CHECKS = OrderedDict((
    ('login', 'vManage login'),
    ('release', 'Release'),
    ('ready', 'vManage ready'),
    ('mode', 'Licensing mode'),
    ('ssm_url', 'SSM URL'),
    ('credentials', 'Grant and SSM user stored'),
    ('dns', 'DNS on vManage'),
    ('vmanage_to_ssm', 'SSM reachable from vManage'),
    ('controller_to_ssm', 'SSM reachable from the controller'),
    ('ssm_backend', 'SSM On-Prem backend up'),
    ('stored_auth', 'vManage authenticates to SSM now'),
    ('grant', 'Stored grant valid on SSM'),
    ('supplied_grant', 'Supplied grant valid on SSM'),
    ('ssm_user', 'SSM user accepted'),
    ('last_sync', 'Last sync'),
))

# Root causes first: the first cause of a host is the one to act on.
CAUSE_ORDER = (
    'VMANAGE_UNREACHABLE', 'VMANAGE_TLS_UNTRUSTED', 'VMANAGE_AUTH_FAILED', 'RELEASE_TOO_OLD', 'VMANAGE_NOT_READY',
    'MODE_NOT_ONPREM', 'SSM_URL_MISSING', 'SSM_URL_MISMATCH', 'CREDENTIALS_MISSING', 'SSM_UNREACHABLE', 'DNS_MISSING',
    'SSM_UNREACHABLE_FROM_VMANAGE', 'SSM_TLS_UNTRUSTED', 'SSM_BACKEND_DOWN', 'GRANT_NOT_FOUND', 'SSM_BAD_USER_CREDENTIALS',
    'SSM_GRANT_TYPE_MISMATCH', 'SSM_BAD_REQUEST', 'SYNC_FAILED', 'SYNC_STALE',
)
# What vManage's live check (fetchAccounts) may fail with, and the check that shows it. Any other failure of it (SSM or
# vManage busy, a timeout) proves nothing about the host: the checks that would use it say so with a warning.
_LIVE_CHECK_OF_CAUSE = {
    'GRANT_NOT_FOUND': 'grant', 'SSM_GRANT_TYPE_MISMATCH': 'grant',
    'SSM_BAD_USER_CREDENTIALS': 'ssm_user', 'SSM_BAD_REQUEST': 'ssm_user',
    'CREDENTIALS_MISSING': 'credentials', 'SSM_URL_MISSING': 'ssm_url',
    'DNS_MISSING': 'dns',
    'SSM_UNREACHABLE_FROM_VMANAGE': 'vmanage_to_ssm', 'SSM_TLS_UNTRUSTED': 'vmanage_to_ssm',
    'SSM_BACKEND_DOWN': 'ssm_backend',
}
# SSM On-Prem's own verdict on a token request (its OAuth error): SSM On-Prem answered, its backend included.
SSM_VERDICT_CAUSES = frozenset(('GRANT_NOT_FOUND', 'SSM_BAD_USER_CREDENTIALS', 'SSM_GRANT_TYPE_MISMATCH', 'SSM_BAD_REQUEST'))
# Causes whose text proves that SSM On-Prem answered vManage, and those that prove it did not.
_SSM_ANSWERED = SSM_VERDICT_CAUSES | frozenset(('SSM_BACKEND_DOWN',))
_SSM_NOT_REACHED = frozenset(('SSM_UNREACHABLE_FROM_VMANAGE', 'DNS_MISSING', 'SSM_TLS_UNTRUSTED'))
# A token request from the controller that fails for one of these says nothing about the grant.
CONTROLLER_SIDE_CAUSES = frozenset(('SSM_UNREACHABLE', 'SSM_TLS_UNTRUSTED', 'PROXY_ERROR', 'TIMEOUT', 'INVALID_INPUT', 'SSM_BUSY'))
# The controller's failure that vManage's confirms: SSM down or untrusted for both sides, not a path of vManage's.
_CONFIRMED_BY_VMANAGE = {'SSM_UNREACHABLE': 'SSM_UNREACHABLE_FROM_VMANAGE', 'SSM_TLS_UNTRUSTED': 'SSM_TLS_UNTRUSTED'}
# Causes of vManage failing to use the SSM URL it stores: when the run will store another URL, they say nothing about it.
_STORED_URL_CAUSES = frozenset(('SSM_UNREACHABLE_FROM_VMANAGE', 'DNS_MISSING', 'SSM_TLS_UNTRUSTED', 'SSM_BACKEND_DOWN'))


def outcome(ok, detail, cause=None, remedy=None, **facts):
    """A probe's outcome (see the module docstring)."""
    result = dict(ok=ok, detail=detail, cause=cause, remedy=remedy or (CAUSES[cause].remedy if cause in CAUSES else None))
    result.update(facts)
    return result


def failed(error, **facts):
    """The failed outcome of a probe that raised ``error`` (a LicenseSyncError)."""
    return outcome(False, error.detail, error.cause, error.remedy, **facts)


def probe(call, *args, **kwargs):
    """(value, None) of ``call``, or (None, failed outcome) when it raised a LicenseSyncError."""
    try:
        return call(*args, **kwargs), None
    except LicenseSyncError as error:
        return None, failed(error)


def live_check(vmanage, settings, user):
    """vManage asking SSM On-Prem for its accounts with the grant and SSM user it stores (fetchAccounts, a read): an outcome.

    It proves now what a last sync cannot: DNS, the path and TLS from vManage, SSM's backend, the grant and the stored
    SSM user. Not asked (``ok`` None) when the settings show that it cannot work.
    """
    missing = [what for what, present in (
        ('on-prem mode', settings['mode'] == 'on-prem'), ('an SSM URL', settings['ssm_url']),
        ('a client id and secret', settings['client_id'] and settings['secret_stored'] is not False),
        ('an SSM user', user['credentials_stored'])) if not present]
    if missing:
        return outcome(None, 'not asked: vManage has no %s' % ', '.join(missing)), None
    accounts, failure = probe(vmanage.fetch_accounts)
    if failure:
        return failure, None
    return outcome(True, 'SSM On-Prem gave vManage a token and %d smart account(s)' % len(accounts)), accounts


def controller_look(ssm, url):
    """The controller's look at SSM On-Prem in one request: reached (TCP, trusted TLS, an answer) and its backend up."""
    alive, failure = probe(ssm.backend_alive)
    if failure:
        return dict(failure, reached=False, backend=None, url=url)
    detail = ('SSM On-Prem answers over trusted TLS and its backend is up' if alive else
              "SSM On-Prem's front answers, its backend does not (HTTP 502/504)")
    return outcome(True, detail, reached=True, backend=alive, url=url)


def require_on_prem_release(vmanage, minimum=ON_PREM_MIN_RELEASE):
    """Raise RELEASE_TOO_OLD below the release that introduced on-prem licensing (for the modules that write)."""
    if vmanage.version < parse_release(minimum):
        raise LicenseSyncError('RELEASE_TOO_OLD', 'vManage runs release %s; on-prem licensing (SSM On-Prem) needs %s or later'
                               % (vmanage.release, minimum))


def ssm_endpoint(url):
    """(host, port) of an SSM URL."""
    parts = urlsplit(ssm_base_url(url))
    return parts.hostname, parts.port


def duration(seconds):
    """A short human duration: '90 s', '12 min', '5 h', '3 days'."""
    seconds = int(seconds)
    if seconds < 120:
        return '%d s' % seconds
    if seconds < 7200:
        return '%d min' % (seconds // 60)
    if seconds < 172800:
        return '%d h' % (seconds // 3600)
    return '%d days' % (seconds // 86400)


class Assessment:
    """The checks of one host, built from its facts (``assess``)."""

    def __init__(self, facts, expected):
        self.facts = facts
        self.expected = expected
        self.checks = OrderedDict()

    def record(self, name, status, detail, cause=None, remedy=None):
        if cause and not remedy:
            remedy = CAUSES[cause].remedy if cause in CAUSES else None
        self.checks[name] = dict(name=name, label=CHECKS[name], status=status, detail=detail, cause=cause, remedy=remedy)

    def from_outcome(self, name, result, status='fail'):
        self.record(name, status, result['detail'], result.get('cause'), result.get('remedy'))

    @property
    def not_probed(self):
        """Why a probe's fact is missing (facts ``not_probed``: a run that probes only when something fails)."""
        return self.facts.get('not_probed') or 'not probed'

    # -- facts shared by the checks

    @property
    def settings(self):
        settings = self.facts.get('settings')
        return settings if settings is not None and 'ok' not in settings else None

    @property
    def user(self):
        user = self.facts.get('user')
        return user if user is not None and 'ok' not in user else None

    @property
    def live(self):
        """vManage's live check with ``check``: the check its failure shows (None when it proves nothing), or None."""
        live = self.facts.get('live')
        if live is None:
            return None
        return dict(live, check=_LIVE_CHECK_OF_CAUSE.get(live['cause']) if live['ok'] is False else None)

    def live_shows(self, check):
        live = self.live
        return live is not None and live['check'] == check

    def url_replaced(self):
        """Whether vManage stores another SSM URL than the run's: failures of vManage with its stored URL then do not block."""
        ssm_url = self.checks.get('ssm_url')
        return bool(ssm_url) and ssm_url['cause'] == 'SSM_URL_MISMATCH'

    def live_failure(self, check):
        """Record vManage's live failure as ``check``: a warning when it concerns the stored URL that the run replaces."""
        live = self.live
        status = 'warn' if live['cause'] in _STORED_URL_CAUSES and self.url_replaced() else 'fail'
        detail = 'vManage asking SSM On-Prem now: %s' % live['detail']
        if status == 'warn':
            detail = 'vManage fails with the SSM URL it stores, which the fix replaces with %s: %s' % (
                self.expected.get('ssm_url'), live['detail'])
        self.record(check, status, detail, live['cause'], live.get('remedy'))


def assess(facts, expected):
    """The checks of one host, in CHECKS order.

    ``expected``: ``ssm_url`` (the SSM URL the run names, or None), ``min_release``, ``max_age`` (seconds a last
    sync stays fresh), ``purpose`` (``fix``: a run that will act on the host and talk to SSM On-Prem itself, so the
    controller's failure to reach SSM On-Prem and any failure of vManage's live check block it; ``report``: those are
    warnings unless vManage's own answers confirm them), ``supplied_client_id``.
    """
    host = Assessment(facts, expected)
    login = facts.get('login')
    reason = 'vManage not asked'
    if login is not None:
        _login(host, login)
        reason = 'vManage could not be read'
        if login['ok']:
            reason = None if _release(host) else 'on-prem licensing needs release %s or later' % expected['min_release']
    for check in CHECKS:
        if check in host.checks:
            continue
        if reason and check not in ('controller_to_ssm', 'ssm_backend', 'supplied_grant'):
            host.record(check, 'skip', reason)
            continue
        _CHECK_FUNCTIONS[check](host)
    return list(host.checks.values())


def _login(host, login):
    if login['ok']:
        host.record('login', 'pass', login['detail'])
    else:
        host.from_outcome('login', login)


def _release(host):
    release, minimum = host.facts.get('release'), host.expected['min_release']
    if not release:
        host.record('release', 'warn', 'vManage did not report its release')
        return True
    if parse_release(release) < parse_release(minimum):
        host.record('release', 'fail', 'vManage runs %s; on-prem licensing needs %s or later' % (release, minimum), 'RELEASE_TOO_OLD')
        return False
    host.record('release', 'pass', 'vManage runs %s (>= %s)' % (release, minimum))
    return True


def _ready(host):
    ready = host.facts.get('ready')
    if ready is None:
        host.record('ready', 'skip', host.not_probed)
    elif ready['ok'] is False:
        host.from_outcome('ready', ready)
    elif ready.get('ready'):
        host.record('ready', 'pass', 'vManage reports it is ready')
    else:
        host.record('ready', 'fail', 'vManage reports it is not ready (client/server/ready)', 'VMANAGE_NOT_READY')


def _unreadable(host, check, fact):
    """Record the failure to read ``fact`` (settings, user) as ``check``; True when it was not read."""
    value = host.facts.get(fact)
    if value is None:
        host.record(check, 'skip', 'not read')
        return True
    if 'ok' in value:
        host.from_outcome(check, value)
        return True
    return False


def _mode(host):
    if _unreadable(host, 'mode', 'settings'):
        return
    mode = host.settings['mode']
    if mode == 'on-prem':
        host.record('mode', 'pass', 'smart licensing mode is on-prem')
    else:
        host.record('mode', 'fail', 'smart licensing mode is %s, not on-prem' % (mode or 'not set'), 'MODE_NOT_ONPREM')


def _ssm_url(host):
    if _unreadable(host, 'ssm_url', 'settings'):
        return
    stored, expected = host.settings['ssm_url'], host.expected.get('ssm_url')
    if not stored:
        host.record('ssm_url', 'fail', 'vManage has no SSM On-Prem URL configured', 'SSM_URL_MISSING')
    elif expected and not same_url(stored, expected):
        host.record('ssm_url', 'fail', 'vManage uses SSM On-Prem at %s, expected %s' % (stored, expected), 'SSM_URL_MISMATCH')
    else:
        host.record('ssm_url', 'pass', 'vManage uses SSM On-Prem at %s' % stored)


def _credentials(host):
    if _unreadable(host, 'credentials', 'settings'):
        return
    settings = host.settings
    if not settings['client_id'] or settings['secret_stored'] is False:
        host.record('credentials', 'fail', 'vManage stores no SSM On-Prem client id and secret', 'CREDENTIALS_MISSING')
        return
    if host.live_shows('credentials'):
        host.live_failure('credentials')
        return
    user = host.user
    if user is None:
        if not _unreadable(host, 'credentials', 'user'):
            host.record('credentials', 'skip', 'user settings not read')
        return
    if not user['credentials_stored']:
        host.record('credentials', 'fail', 'vManage stores client id %s but no SSM On-Prem user: it has not authenticated to '
                    'SSM On-Prem with this grant yet' % settings['client_id'], 'CREDENTIALS_MISSING')
        return
    secret = '' if settings['secret_stored'] else ' (vManage does not show whether it stores the secret)'
    host.record('credentials', 'pass', 'vManage stores client id %s%s and the SSM user %r' % (settings['client_id'], secret, user['user']))


def _dns(host):
    if host.live_shows('dns'):
        host.live_failure('dns')
        return
    dns = host.facts.get('dns')
    if dns is None:
        host.record('dns', 'skip', host.not_probed)
        return
    if dns['ok'] is False:
        host.from_outcome('dns', dns)
        return
    if dns['servers']:
        host.record('dns', 'pass', 'vManage name servers: %s' % ', '.join(dns['servers']))
        return
    ssm_url = host.expected.get('ssm_url') or (host.settings or {}).get('ssm_url')
    ssm_host = ssm_endpoint(ssm_url)[0] if ssm_url else None
    if ssm_host and not is_ip_address(ssm_host):
        host.record('dns', 'fail', 'vManage has no name server configured but must resolve %s' % ssm_host, 'DNS_MISSING')
    else:
        host.record('dns', 'warn', 'vManage has no name server configured (SSM On-Prem is addressed by IP; cloud services '
                    'such as cloudsso.cisco.com still need DNS)', 'DNS_MISSING')


def _vmanage_to_ssm(host):
    nping = host.facts.get('nping')
    if nping is not None:
        if nping['ok'] is False:
            host.from_outcome('vmanage_to_ssm', nping)
        elif nping['reachable']:
            host.record('vmanage_to_ssm', 'pass', 'vManage reaches %s:%s over TCP (VPN %s)' % (nping['host'], nping['port'], nping['vpn']))
        else:
            host.record('vmanage_to_ssm', 'fail', 'vManage cannot open TCP to %s:%s (VPN %s): %s' % (
                nping['host'], nping['port'], nping['vpn'], ' / '.join(nping.get('raw') or []) or 'no answer'),
                'SSM_UNREACHABLE_FROM_VMANAGE')
        return
    live = host.live
    if live is not None and live['check'] == 'vmanage_to_ssm':
        host.live_failure('vmanage_to_ssm')
        return
    if live is not None and (live['ok'] or live['check']):
        host.record('vmanage_to_ssm', 'pass', 'SSM On-Prem answered vManage just now')
        return
    last_sync = (host.user or {}).get('last_sync') or {}
    cause = _last_sync_cause(last_sync)
    if last_sync.get('ok'):
        host.record('vmanage_to_ssm', 'pass', 'proved by the last successful sync')
    elif cause in _SSM_ANSWERED:
        host.record('vmanage_to_ssm', 'pass', "proved by the last sync error, which quotes SSM On-Prem's answer")
    elif cause in _SSM_NOT_REACHED:
        host.record('vmanage_to_ssm', 'fail', 'the last sync did not reach SSM On-Prem: %s' % last_sync['error'], cause)
    else:
        host.record('vmanage_to_ssm', 'skip', 'no probe or sync attempt tells; vmanage_precheck probes it')


def _controller_to_ssm(host):
    controller = host.facts.get('controller')
    if controller is None:
        host.record('controller_to_ssm', 'skip', 'not probed: no SSM On-Prem URL known' if not host.expected.get('ssm_url') and not (
            host.settings or {}).get('ssm_url') else host.not_probed)
        return
    if controller['reached']:
        host.record('controller_to_ssm', 'pass', 'the controller reaches SSM On-Prem at %s and trusts its certificate' % controller['url'])
        return
    live = host.live
    confirmed = live is not None and live['ok'] is not True and _CONFIRMED_BY_VMANAGE.get(controller['cause']) == live['cause']
    if host.expected['purpose'] == 'fix' or confirmed:
        host.from_outcome('controller_to_ssm', controller)
    else:
        vmanage_view = '; vManage reaches it' if live is not None and live['ok'] else ''
        host.record('controller_to_ssm', 'warn', 'the controller could not reach SSM On-Prem (%s: %s)%s' % (
            controller['cause'], controller['detail'], vmanage_view))


def _ssm_backend(host):
    controller, live = host.facts.get('controller'), host.live
    if controller is not None and controller.get('backend') is False and not (live is not None and live['ok'] is True):
        host.record('ssm_backend', 'fail', "SSM On-Prem's front answers but its backend does not (HTTP 502/504)", 'SSM_BACKEND_DOWN')
    elif host.live_shows('ssm_backend'):
        host.live_failure('ssm_backend')
    elif controller is None or controller.get('backend') is None:
        host.record('ssm_backend', 'skip', host.not_probed if controller is None else
                    'not probed: the controller did not reach SSM On-Prem')
    elif controller['backend']:
        host.record('ssm_backend', 'pass', 'the SSM On-Prem backend answers')
    else:
        host.record('ssm_backend', 'warn', "the controller saw SSM On-Prem's backend down, but vManage reached it just now")


def _stored_auth(host):
    live = host.live
    if live is None:
        host.record('stored_auth', 'skip', 'vManage was not asked to reach SSM On-Prem')
    elif live['ok'] is None:
        host.record('stored_auth', 'skip', live['detail'])
    elif live['ok']:
        host.record('stored_auth', 'pass', 'vManage asked SSM On-Prem with its stored grant and SSM user just now: %s' % live['detail'])
    elif live['check'] is not None or host.expected['purpose'] == 'fix':
        host.live_failure('stored_auth')
    else:
        # A passing reason (SSM or vManage busy, a timeout) proves nothing about the host a report judges.
        host.record('stored_auth', 'warn', 'vManage asking SSM On-Prem now failed for a passing reason: %s' % live['detail'],
                    live['cause'], live.get('remedy'))


def _grant(host):
    client_id = (host.settings or {}).get('client_id')
    if not client_id:
        host.record('grant', 'skip', 'no client id stored')
        return
    token, live = host.facts.get('stored_grant'), host.live
    listed = host.facts.get('listed')
    if token is not None and token['ok'] is False and token['cause'] not in CONTROLLER_SIDE_CAUSES:
        host.record('grant', 'fail', 'token request from the controller: %s' % token['detail'], token['cause'], token.get('remedy'))
    elif live is not None and live['check'] == 'grant':
        host.live_failure('grant')
    elif listed is not None and client_id not in listed:
        host.record('grant', 'fail', "SSM On-Prem's API Toolkit has no grant with client id %s (%s)" % (
            client_id, host.facts.get('listed_detail')), 'GRANT_NOT_FOUND')
    elif token is not None and token['ok']:
        host.record('grant', 'pass', token['detail'])
    elif live is not None and live['ok']:
        host.record('grant', 'pass', 'vManage got a token with client id %s just now' % client_id)
    elif listed is not None:
        host.record('grant', 'pass', "SSM On-Prem's API Toolkit lists client id %s as grant %r" % (client_id, listed[client_id]))
    elif _last_sync_cause((host.user or {}).get('last_sync') or {}) == 'GRANT_NOT_FOUND':
        host.record('grant', 'fail', "vManage's last sync: SSM On-Prem answered that the grant does not exist", 'GRANT_NOT_FOUND')
    elif token is not None and token['ok'] is False:
        host.record('grant', 'warn', 'not checked, the controller could not ask SSM On-Prem: %s' % token['detail'])
    else:
        host.record('grant', 'skip', token['detail'] if token is not None else 'not checked')


def _supplied_grant(host):
    supplied = host.facts.get('supplied_grant')
    if supplied is None:
        host.record('supplied_grant', 'skip', 'no other client id and secret supplied (ssm_client_id)')
    elif supplied['ok']:
        host.record('supplied_grant', 'pass', supplied['detail'])
    elif supplied['ok'] is False:
        host.record('supplied_grant', 'fail', 'the supplied grant (ssm_client_id %s): %s' % (
            host.expected.get('supplied_client_id'), supplied['detail']), supplied['cause'],
            'The fix stores the grant it is given: supply the client id and secret of a Resource Owner grant that SSM '
            'On-Prem accepts for the SSM user (ssm_client_id, ssm_client_secret), or leave them unset to let the fix create '
            'one. %s' % (supplied.get('remedy') or ''))
    else:
        host.record('supplied_grant', 'warn', 'not checked: %s' % supplied['detail'])


def _ssm_user(host):
    live = host.live
    if live is not None and live['check'] == 'ssm_user':
        host.live_failure('ssm_user')
    elif live is not None and live['ok']:
        host.record('ssm_user', 'pass', 'SSM On-Prem accepted the SSM user and password vManage stores, just now')
    elif live is not None and live['ok'] is False and live['check'] is None:
        host.record('ssm_user', 'warn', 'not proven: vManage asked SSM On-Prem, which failed for a passing reason (%s): %s'
                    % (live['cause'], live['detail']))
    elif live is not None and live['ok'] is False:
        host.record('ssm_user', 'skip', 'not proven: vManage failed before SSM On-Prem checked the user')
    else:
        host.record('ssm_user', 'skip', live['detail'] if live is not None else 'vManage was not asked to reach SSM On-Prem')


def _last_sync_cause(last_sync):
    if last_sync.get('ok') is False and last_sync.get('error'):
        return classify_vmanage_error(last_sync['error'])
    return None


def _last_sync(host):
    user = host.user
    if user is None:
        if not _unreadable(host, 'last_sync', 'user'):
            host.record('last_sync', 'skip', 'user settings not read')
        return
    last_sync, live, max_age = user['last_sync'], host.live, host.expected['max_age']
    if not last_sync.get('reported'):
        now = ('; vManage authenticated to SSM On-Prem with its settings just now' if live is not None and live['ok'] else '')
        host.record('last_sync', 'skip', 'vManage does not report its last sync (Cisco documents no last-sync field), so its '
                    'age cannot be judged%s' % now)
    elif last_sync.get('ok') is False and live is not None and live['ok']:
        host.record('last_sync', 'fail', 'last sync failed (%s), but vManage reaches SSM On-Prem with its settings now: sync again'
                    % (last_sync.get('error') or 'no error text'), 'SYNC_FAILED')
    elif last_sync.get('ok') is False:
        cause = _last_sync_cause(last_sync)
        code = cause if cause in CAUSES and cause != 'HTTP_ERROR' else 'SYNC_FAILED'
        host.record('last_sync', 'fail', 'last sync failed: %s' % (last_sync.get('error') or 'no error text'), code)
    elif not last_sync.get('time'):
        host.record('last_sync', 'fail', 'never synced with SSM On-Prem', 'SYNC_STALE')
    elif last_sync.get('age_s') is not None and last_sync['age_s'] > max_age:
        host.record('last_sync', 'fail', 'last successful sync %s, %s ago (limit %s)' % (
            last_sync['time'], duration(last_sync['age_s']), duration(max_age)), 'SYNC_STALE')
    else:
        host.record('last_sync', 'pass', 'last successful sync %s, %s ago' % (last_sync['time'], duration(last_sync.get('age_s') or 0)))


_CHECK_FUNCTIONS = dict(
    login=lambda host: host.record('login', 'skip', 'vManage not asked'),
    release=lambda host: host.record('release', 'skip', 'vManage not asked'),
    ready=_ready, mode=_mode, ssm_url=_ssm_url, credentials=_credentials, dns=_dns, vmanage_to_ssm=_vmanage_to_ssm,
    controller_to_ssm=_controller_to_ssm, ssm_backend=_ssm_backend, stored_auth=_stored_auth, grant=_grant,
    supplied_grant=_supplied_grant,
    ssm_user=_ssm_user, last_sync=_last_sync,
)


def _cause_rank(code):
    return CAUSE_ORDER.index(code) if code in CAUSE_ORDER else len(CAUSE_ORDER)


def findings(checks):
    """One finding per cause code of the failing and warning checks, root causes first."""
    found = OrderedDict()
    for check in checks:
        code = check['cause']
        if check['status'] in ('fail', 'warn') and code and code not in found:
            cause = CAUSES.get(code)
            found[code] = dict(code=code, title=cause.title if cause else code, detail=check['detail'], remedy=check['remedy'],
                               fixable=bool(cause and cause.fixable) and check['name'] != 'supplied_grant',
                               blocking=check['status'] == 'fail', check=check['name'])
        elif check['status'] == 'fail' and code in found and not found[code]['blocking']:
            found[code]['blocking'] = True
    return sorted(found.values(), key=lambda finding: _cause_rank(finding['code']))


def plan(found, max_age=None, grant_supplied=False):
    """What the fix does with a host, from its findings.

    ``configure``: ensure the grant on SSM On-Prem, store it on vManage and authenticate (any fixable failure but that of
    the last sync); ``sync``: "Sync Licenses & Refresh Devices"; ``update_secret``: write the secret even when the
    client id matches (vManage proved that its stored grant is dead); ``blocking``: the findings no run of the fix
    repairs (it stops before any change); ``state_before``: healthy, fixable or blocked; ``causes``: the codes of the
    failing checks; ``text``: the plan in one line.
    """
    failing = [finding for finding in found if finding['blocking']]
    blocking = [finding for finding in failing if not finding['fixable']]
    codes = [finding['code'] for finding in failing]
    # A stale or failed last sync alone needs a sync; any other fixable failure needs the grant and settings written first.
    configure = not blocking and any(finding['check'] != 'last_sync' for finding in failing)
    sync = not blocking and (configure or bool(failing))
    if blocking:
        text = 'STOP - %s cannot be fixed by this playbook' % ', '.join(finding['code'] for finding in blocking)
    elif configure:
        text = 'FIX - %s, store it on vManage, authenticate, sync, verify' % (
            'prove the supplied grant' if grant_supplied else 'ensure the grant on SSM On-Prem')
    elif sync:
        text = 'SYNC - the stored grant works but the last successful sync failed, is missing or is older than %s' % (
            duration(max_age) if max_age is not None else 'allowed')
    else:
        text = 'NOTHING TO DO - the stored grant works and the last sync is fresh or not reported'
    return dict(
        state_before='blocked' if blocking else 'fixable' if sync else 'healthy',
        blocking=blocking,
        causes=codes,
        configure=configure,
        create_grant=configure and not grant_supplied,
        sync=sync,
        update_secret='always' if 'GRANT_NOT_FOUND' in codes else 'on_create',
        text=text,
    )


def device_licenses(devices):
    """The device licence check of a compliance report, from vmanage_license_info's ``devices`` (None: not gathered).

    Devices out of licence compliance are a matter of the licences assigned or bought, not a fault of the licence reporting
    between vManage and SSM On-Prem that the fix repairs: the check warns, with how many devices and why, and never changes
    the host's state. Not in CHECKS: vmanage_precheck does not read devices, and its ``checks`` option lists CHECKS.
    """
    def check(status, detail, remedy=None):
        return dict(name='device_licenses', label='Devices in licence compliance', status=status, detail=detail, cause=None,
                    remedy=remedy)

    if devices is None:
        return check('skip', 'not gathered')
    if devices.get('ok') is False:
        return check('warn', 'vManage did not list its devices (%s): %s' % (devices.get('cause'), devices.get('detail')))
    unknown = ' (%d without a licence status it recognises)' % devices['unknown'] if devices.get('unknown') else ''
    if not devices['out_of_compliance']:
        return check('pass', '%d devices, none out of licence compliance%s' % (devices['total'], unknown))
    reasons = ', '.join('%s: %d' % (reason, count) for reason, count in
                        sorted(devices['reasons'].items(), key=lambda item: (-item[1], item[0])))
    detail = '%d of %d devices out of licence compliance%s: %s' % (devices['out_of_compliance'], devices['total'], unknown, reasons)
    return check('warn', detail,
                 'Assign licences to these devices in vManage (Administration, License Management), or add licences to the '
                 'virtual account on SSM On-Prem and sync.')
