# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of vmanage_precheck: the troubleshooting list of the field note, automated.

FOR INTERNAL COLLECTION USE ONLY.

Each selected check records ``pass``, ``fail``, ``warn`` or ``skip`` (with why) and, when it finds a
problem, a stable cause code. A check whose prerequisite failed is skipped instead of failing again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
from urllib.parse import urlsplit

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES, LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.license_auth import same_url, ssm_base_url
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.vmanage import _is_ip as is_ip_address, parse_release

ANY_HTTP_ANSWER = tuple(range(300, 600))  # any answer proves TCP and TLS; the backend is the next check
VMANAGE_CHECKS = ('release', 'ready', 'mode', 'ssm_url', 'dns', 'reach_from_vmanage', 'stored_auth')
# Causes of vManage failing to reach the SSM On-Prem of its stored URL. When that URL is not the one the fix stores, they
# say nothing about the fix: the checks dns, reach_from_vmanage, ssm_reach and ssm_backend probe the URL it stores.
STORED_URL_REACH_CAUSES = ('SSM_UNREACHABLE_FROM_VMANAGE', 'DNS_MISSING', 'SSM_TLS_UNTRUSTED', 'SSM_BACKEND_DOWN')


class Report:
    """The checks of one precheck run, in the order they ran."""

    def __init__(self, selected):
        self.selected = set(selected)
        self.checks = []
        self._by_name = {}

    def record(self, name, status, detail, cause=None, remedy=None):
        if cause and not remedy:
            remedy = CAUSES[cause].remedy
        entry = dict(name=name, status=status, detail=detail, cause=cause, remedy=remedy)
        self.checks.append(entry)
        self._by_name[name] = entry

    def run(self, name, check, *args, **kwargs):
        """Run ``check`` if selected, unless one of ``unless`` (reasons; None = no reason) says why not.

        A LicenseSyncError raised by the check fails it with the error's cause.
        """
        if name not in self.selected:
            return
        for reason in kwargs.get('unless', ()):
            if reason:
                self.record(name, 'skip', 'skipped: %s' % reason)
                return
        try:
            check(name, *args)
        except LicenseSyncError as error:
            self.record(name, 'fail', error.detail, error.cause, error.remedy)

    def failed(self, *names):
        """Why checks that need ``names`` cannot run: the first of them that failed, else None."""
        for name in names:
            entry = self._by_name.get(name)
            if entry and entry['status'] == 'fail':
                return 'check %s failed' % name
        return None

    def entry(self, name):
        return self._by_name.get(name)

    def findings(self):
        found, seen = [], set()
        for check in self.checks:
            code = check['cause']
            if check['status'] in ('fail', 'warn') and code and code not in seen:
                seen.add(code)
                cause = CAUSES[code]
                found.append(dict(code=code, title=cause.title, detail=check['detail'], remedy=check['remedy'],
                                  fixable=cause.fixable, blocking=check['status'] == 'fail'))
        return found


def _endpoint(url):
    parts = urlsplit(ssm_base_url(url))
    return parts.hostname, parts.port


def _needs_credentials(params, *names):
    missing = [name for name in names if not params.get(name)]
    return 'no %s given' % '/'.join(missing) if missing else None


class Precheck:
    def __init__(self, params, ctx, report):
        self.params = params
        self.ctx = ctx
        self.report = report
        self.minimum = parse_release(params['min_release'])
        self.vmanage = None
        self._settings = None
        self._settings_error = None

    # facts shared by the checks

    def settings(self):
        """vManage's licensing settings, read once; a read error fails every check that needs them."""
        if self._settings is None and self._settings_error is None:
            try:
                self._settings = self.vmanage.license_settings()
            except LicenseSyncError as error:
                self._settings_error = error
        if self._settings_error:
            raise self._settings_error
        return self._settings

    def _stored(self, field):
        """A field of the stored settings, or None when vManage or its settings cannot be read."""
        if self.vmanage is None:
            return None
        try:
            return self.settings().get(field)
        except LicenseSyncError:
            return None

    @property
    def stored_url(self):
        return self._stored('ssm_url')

    @property
    def ssm_url(self):
        """The SSM URL the controller probes: the given one, else the one vManage stores."""
        return self.params.get('ssm_url') or self.stored_url

    # the checks, in the order of the field note

    def release(self, name):
        if self.vmanage.version < self.minimum:
            self.report.record(name, 'fail', 'vManage runs %s; on-prem licensing needs %s or later' % (
                self.vmanage.release, self.params['min_release']), 'RELEASE_TOO_OLD')
        else:
            self.report.record(name, 'pass', 'vManage runs %s (>= %s)' % (self.vmanage.release, self.params['min_release']))

    def ready(self, name):
        if self.vmanage.ready():
            self.report.record(name, 'pass', 'vManage reports it is ready')
        else:
            self.report.record(name, 'fail', 'vManage reports it is not ready (client/server/ready)', 'VMANAGE_NOT_READY')

    def mode(self, name):
        mode = self.settings().get('mode')
        if mode == 'on-prem':
            self.report.record(name, 'pass', 'licensing mode is on-prem')
        else:
            self.report.record(name, 'fail', 'licensing mode is %r, not on-prem' % mode, 'MODE_NOT_ONPREM')

    def ssm_url_set(self, name):
        stored, given = self.settings().get('ssm_url'), self.params.get('ssm_url')
        if not stored:
            self.report.record(name, 'fail', 'vManage has no SSM On-Prem URL configured', 'SSM_URL_MISSING')
        elif given and not same_url(stored, given):
            self.report.record(name, 'fail', 'vManage uses SSM On-Prem at %s, expected %s' % (stored, given), 'SSM_URL_MISMATCH')
        else:
            self.report.record(name, 'pass', 'vManage uses SSM On-Prem at %s' % stored)

    def dns(self, name):
        servers = self.vmanage.dns_servers()
        if servers:
            self.report.record(name, 'pass', 'vManage name servers: %s' % ', '.join(servers))
            return
        host = _endpoint(self.ssm_url)[0] if self.ssm_url else None
        if host and not is_ip_address(host):
            self.report.record(name, 'fail', 'vManage has no name server configured but must resolve %s' % host, 'DNS_MISSING')
        else:
            self.report.record(name, 'warn', 'vManage has no name server configured (SSM On-Prem is addressed by IP; '
                               'cloud services such as cloudsso.cisco.com still need DNS)', 'DNS_MISSING')

    def reach_from_vmanage(self, name):
        host, port = _endpoint(self.ssm_url)
        vpn = self.params['vpn']
        probe = self.vmanage.nping_tcp(host, port, vpn=vpn)
        if probe['reachable']:
            self.report.record(name, 'pass', 'vManage reaches %s:%s over TCP (VPN %s)' % (host, port, vpn))
        else:
            self.report.record(name, 'fail', 'vManage cannot open TCP to %s:%s (VPN %s): %s' % (
                host, port, vpn, ' / '.join(probe.get('raw') or []) or 'no answer'), 'SSM_UNREACHABLE_FROM_VMANAGE')

    def ssm_reach(self, name, ssm):
        ssm.http.request('GET', '/', allow_status=ANY_HTTP_ANSWER)
        self.report.record(name, 'pass', 'the controller reaches SSM On-Prem at %s and trusts its certificate' % self.ssm_url)

    def ssm_backend(self, name, ssm):
        if ssm.backend_alive():
            self.report.record(name, 'pass', 'the SSM On-Prem backend answers')
        else:
            self.report.record(name, 'fail', 'SSM On-Prem answers but its backend does not (HTTP 502 from its front)', 'SSM_BACKEND_DOWN')

    def stored_auth(self, name):
        """vManage authenticates to SSM On-Prem with its stored grant and SSM user, proven by fetchAccounts (a read).

        Without a stored SSM user only vManage's authenticate call could prove the grant, and it is a write (it
        stores the user): that state is reported as CREDENTIALS_MISSING, which the fix (push and authenticate) repairs.
        """
        settings = self.settings()
        if not (settings.get('client_id') and settings.get('secret_stored')):
            self.report.record(name, 'fail', 'vManage stores no SSM On-Prem client id and secret', 'CREDENTIALS_MISSING')
            return
        stored_user = self.vmanage.user_settings()
        if not stored_user['credentials_stored']:
            self.report.record(name, 'fail', 'vManage stores client id %s but no SSM On-Prem user: it has not authenticated '
                               'to SSM On-Prem with this grant yet' % settings['client_id'], 'CREDENTIALS_MISSING')
            return
        try:
            self.vmanage.fetch_accounts()
        except LicenseSyncError as error:
            if error.cause not in STORED_URL_REACH_CAUSES or not self._url_replaced():
                raise
            self.report.record(name, 'warn', 'vManage fails with the SSM On-Prem URL it stores (%s), which the fix replaces with %s: %s' % (
                self.stored_url, self.params['ssm_url'], error.detail), error.cause, error.remedy)
            return
        self.report.record(name, 'pass', 'vManage authenticated to SSM On-Prem as %r with its stored client id %s' % (
            stored_user['user'], settings['client_id']))

    def grant(self, name, ssm):
        client_id = self.params['ssm_client_id']
        ssm.request_token(client_id, self.params['ssm_client_secret'], grant_type='password',
                          username=self.params['ssm_username'], password=self.params['ssm_password'])
        stored_id = self._stored('client_id')
        if stored_id and stored_id != client_id:
            self.report.record(name, 'warn', 'the grant %s issues tokens, but vManage stores client id %s' % (client_id, stored_id))
        else:
            self.report.record(name, 'pass', 'the grant %s issues tokens for %r' % (client_id, self.params['ssm_username']))

    # order and prerequisites

    def run(self):
        report = self.report
        needs_vmanage = bool(report.selected & set(VMANAGE_CHECKS + ('login',))) or not self.params.get('ssm_url')
        with contextlib.ExitStack() as stack:
            if needs_vmanage:
                report.selected.add('login')
                try:
                    self.vmanage = stack.enter_context(self.ctx.clients.vmanage(self.params))
                except LicenseSyncError as error:
                    report.record('login', 'fail', error.detail, error.cause, error.remedy)
                else:
                    report.record('login', 'pass', 'logged in to vManage %s as %s' % (
                        self.vmanage.release, self.params['vmanage_username']))
            login_failed = report.failed('login')
            report.run('release', self.release, unless=[login_failed])
            report.run('ready', self.ready, unless=[login_failed])
            report.run('mode', self.mode, unless=[login_failed])
            report.run('ssm_url', self.ssm_url_set, unless=[login_failed])
            report.run('dns', self.dns, unless=[login_failed])
            report.run('reach_from_vmanage', self.reach_from_vmanage, unless=[
                login_failed, None if self.stored_url or self.params.get('ssm_url') else 'no SSM On-Prem URL known'])
            ssm = self._open_ssm(stack)
            report.run('ssm_reach', self.ssm_reach, ssm, unless=[self._no_ssm_url()])
            report.run('ssm_backend', self.ssm_backend, ssm, unless=[self._no_ssm_url(), report.failed('ssm_reach')])
            report.run('stored_auth', self.stored_auth, unless=[
                login_failed, report.failed('release', 'mode'), None if self.stored_url else 'vManage has no SSM On-Prem URL',
                report.failed('reach_from_vmanage', 'ssm_reach', 'ssm_backend')])
            report.run('grant', self.grant, ssm, unless=[
                self._no_ssm_url(),
                _needs_credentials(self.params, 'ssm_client_id', 'ssm_client_secret'),
                _needs_credentials(self.params, 'ssm_username', 'ssm_password'),
                report.failed('ssm_reach', 'ssm_backend')])

    def _url_replaced(self):
        """Whether the ssm_url check found that vManage stores another URL than the given one (the one the fix stores)."""
        entry = self.report.entry('ssm_url')
        return bool(entry) and entry['cause'] == 'SSM_URL_MISMATCH'

    def _no_ssm_url(self):
        return None if self.ssm_url else 'no SSM On-Prem URL known (set ssm_url)'

    def _open_ssm(self, stack):
        if not self.ssm_url or not self.report.selected & {'ssm_reach', 'ssm_backend', 'grant'}:
            return None
        return stack.enter_context(self.ctx.clients.ssm(self.params, url=self.ssm_url))


def _verdict(findings):
    blocking = [finding for finding in findings if finding['blocking']]
    if not blocking:
        return 'healthy'
    return 'fixable' if all(finding['fixable'] for finding in blocking) else 'blocked'


def run_precheck(params, ctx):
    unknown = [code for code in params['fail_on'] if code != 'any' and code not in CAUSES]
    if unknown:
        raise LicenseSyncError('INVALID_INPUT', 'fail_on: unknown cause code(s) %s; use cause codes or "any"' % ', '.join(unknown))
    try:
        precheck = Precheck(params, ctx, Report(params['checks']))
    except LicenseSyncError:
        raise LicenseSyncError('INVALID_INPUT', 'min_release: %r is not a release such as 20.9.1' % params['min_release'])
    precheck.run()

    findings = precheck.report.findings()
    result = dict(changed=False, checks=precheck.report.checks, findings=findings, verdict=_verdict(findings),
                  release=precheck.vmanage.release if precheck.vmanage is not None else None)
    fail_on = set(params['fail_on'])
    failing = [finding['code'] for finding in findings if 'any' in fail_on or finding['code'] in fail_on]
    if failing:
        result.update(failed=True, msg='precheck found %s (fail_on: %s); see checks and findings' % (
            ', '.join(failing), ', '.join(sorted(fail_on))))
    return result
