# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of vmanage_precheck: the troubleshooting list, automated, for one vManage, and the fix plan.

FOR INTERNAL COLLECTION USE ONLY.

The precheck gathers facts by probing (read-only) and hands them to the one check model (checks.assess), which also
judges the fleet's compliance report. With ``diagnose: on_failure`` (the fix playbook) it first reads what every run
needs (settings, user settings, vManage's own live check against SSM On-Prem) and probes further (ready, DNS, TCP
from vManage, the controller's look at SSM On-Prem, token requests) only when those show a problem: a healthy vManage
costs the requests of a compliance run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import checks as model
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES, LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import same_url
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.vmanage import parse_release

# The checks that need vManage (a login); the others only the controller and SSM On-Prem.
SSM_ONLY_CHECKS = frozenset(('controller_to_ssm', 'ssm_backend', 'supplied_grant'))
# The checks that read vManage's live check (fetchAccounts with what it stores).
_LIVE_CHECKS = frozenset(('stored_auth', 'grant', 'ssm_user', 'credentials', 'vmanage_to_ssm', 'dns', 'ssm_backend', 'last_sync'))


def _token_outcome(ssm, client_id, secret, params):
    token, failure = model.probe(ssm.request_token, client_id, secret, grant_type='password',
                                 username=params['ssm_username'], password=params['ssm_password'])
    if failure:
        return failure
    return model.outcome(True, 'SSM On-Prem issued a token for client id %s and user %r' % (client_id, params['ssm_username']))


class Precheck:
    def __init__(self, params, ctx):
        self.params = params
        self.ctx = ctx
        self.selected = set(params['checks'])
        self.facts = {}
        self.vmanage = None
        self.ssm = None

    def expected(self):
        return dict(ssm_url=self.params.get('ssm_url'), min_release=self.params['min_release'], max_age=self.params['max_age'],
                    purpose='fix', supplied_client_id=self.params.get('ssm_client_id'))

    @property
    def ssm_url(self):
        """The SSM URL of the probes: the one the run stores (given), else the one vManage stores."""
        return self.params.get('ssm_url') or (self.facts.get('settings') or {}).get('ssm_url')

    def run(self):
        with contextlib.ExitStack() as stack:
            if self.selected - SSM_ONLY_CHECKS or not self.params.get('ssm_url'):
                self._read_vmanage(stack)
            explained = self._explained_so_far()
            if self.params['diagnose'] == 'on_failure' and explained:
                self.facts['not_probed'] = explained
                if self.facts['live']['ok'] is False:
                    # The fix starts with the grant, from the controller: vManage reaching SSM On-Prem does not prove
                    # that the controller does, so one look from the controller (the only probe added) does.
                    self._look_from_controller(stack)
            else:
                self._diagnose(stack)
        return model.assess(self.facts, self.expected())

    def _read_vmanage(self, stack):
        facts = self.facts
        try:
            self.vmanage = stack.enter_context(self.ctx.clients.vmanage(self.params))
        except LicenseSyncError as error:
            facts['login'] = model.failed(error)
            return
        vmanage = self.vmanage
        facts['login'] = model.outcome(True, 'logged in to vManage %s as %s' % (vmanage.release, self.params['vmanage_username']))
        facts['release'] = vmanage.release
        if vmanage.version < parse_release(self.params['min_release']):
            return
        settings, failure = model.probe(vmanage.license_settings)
        facts['settings'] = settings or failure
        user, failure = model.probe(vmanage.user_settings)
        facts['user'] = user or failure
        if settings and user and self.selected & _LIVE_CHECKS:
            facts['live'] = model.live_check(vmanage, settings, user)[0]

    def observed(self):
        """What vManage and SSM On-Prem answered, by the lab's dialect axes (the clients' ``observed``)."""
        observed = {}
        for client in (self.vmanage, self.ssm):
            observed.update(getattr(client, 'observed', None) or {})
        return observed

    def _explained_so_far(self):
        """Why the probes of a diagnosis are not needed, or None when they are.

        Not needed when what every run reads shows no problem, or when vManage's own request to SSM On-Prem failed with
        SSM On-Prem's verdict on the grant or the user (so vManage reaches SSM On-Prem, and its backend answered) and
        nothing else is wrong: the fix repairs that by writing the grant. Either holds only for the SSM On-Prem URL
        vManage used: a supplied grant or URL that differs from the stored one has not been tried, so it is probed.
        """
        live = self.facts.get('live')
        if not live or self._supplied_differs():
            return None
        found = model.findings(model.assess(dict(self.facts, not_probed='-'), self.expected()))
        if live['ok'] is True and not found:
            return 'not needed: vManage authenticated to SSM On-Prem with its settings just now'
        if live['ok'] is False and live['cause'] in model.SSM_VERDICT_CAUSES and all(finding['fixable'] for finding in found):
            return 'not needed: SSM On-Prem answered vManage just now (%s), so vManage reaches it' % live['cause']
        return None

    def _supplied_differs(self):
        settings = self.facts.get('settings') or {}
        client_id, url = self.params.get('ssm_client_id'), self.params.get('ssm_url')
        return bool(client_id) and client_id != settings.get('client_id') or bool(url) and not same_url(url, settings.get('ssm_url'))

    def _diagnose(self, stack):
        facts, params, vmanage = self.facts, self.params, self.vmanage
        usable = vmanage is not None and 'release' in facts and vmanage.version >= parse_release(params['min_release'])
        if usable and 'ready' in self.selected:
            ready, failure = model.probe(vmanage.ready)
            facts['ready'] = failure or model.outcome(True, 'ready', ready=ready)
        if usable and 'dns' in self.selected:
            servers, failure = model.probe(vmanage.dns_servers)
            facts['dns'] = failure or model.outcome(True, 'read', servers=servers)
        if usable and 'vmanage_to_ssm' in self.selected and self.ssm_url:
            host, port = model.ssm_endpoint(self.ssm_url)
            result, failure = model.probe(vmanage.nping_tcp, host, port, vpn=params['vpn'])
            facts['nping'] = failure or model.outcome(True, 'probed', host=host, port=port, vpn=params['vpn'], **result)
        if self._look_from_controller(stack):
            self._tokens(self.ssm)

    def _look_from_controller(self, stack):
        """The controller's one look at SSM On-Prem (reached, TLS, backend), when a selected check needs it."""
        if not (self.ssm_url and self.selected & {'controller_to_ssm', 'ssm_backend', 'grant', 'supplied_grant'}):
            return False
        self.ssm = stack.enter_context(self.ctx.clients.ssm(self.params, url=self.ssm_url))
        self.facts['controller'] = model.controller_look(self.ssm, self.ssm_url)
        return True

    def _tokens(self, ssm):
        """Token requests from the controller with the supplied grant: for the stored grant when they are the same."""
        params, facts = self.params, self.facts
        if not (params.get('ssm_client_id') and params.get('ssm_client_secret')):
            return
        if not (params.get('ssm_username') and params.get('ssm_password')):
            facts['supplied_grant'] = model.outcome(None, 'no ssm_username/ssm_password given for the token request')
            return
        if not facts['controller']['reached'] or facts['controller']['backend'] is False:
            return
        token = _token_outcome(ssm, params['ssm_client_id'], params['ssm_client_secret'], params)
        if self._supplied_differs():
            facts['supplied_grant'] = token
            if token['ok']:
                stored = (facts.get('settings') or {}).get('client_id')
                facts['supplied_grant'] = model.outcome(True, '%s; vManage stores client id %s, which the fix keeps while it works'
                                                        % (token['detail'], stored) if stored else token['detail'])
        else:
            facts['stored_grant'] = token
            if token['ok'] is False and token['cause'] not in model.CONTROLLER_SIDE_CAUSES:
                facts['supplied_grant'] = token  # the fix would store this very grant again


def report_lines(result):
    """The verdict as an operator reads it: one line per check, what to do under each failed or warned one, the plan."""
    lines = ['verdict: %s (vManage %s)' % (result['verdict'].upper(), result['release'] or 'release unknown')]
    for check in result['checks']:
        lines.append('[%s] %s: %s%s' % (check['status'].upper(), check['name'], check['detail'],
                                        ' (%s)' % check['cause'] if check['cause'] else ''))
        if check['status'] in ('fail', 'warn') and check['remedy']:
            lines.append('       what to do: %s' % check['remedy'])
    lines.append('plan of the fix playbook: %s' % result['plan']['text'])
    return lines


def run_precheck(params, ctx):
    unknown = [code for code in params['fail_on'] if code != 'any' and code not in CAUSES]
    if unknown:
        raise LicenseSyncError('INVALID_INPUT', 'fail_on: unknown cause code(s) %s; use cause codes or "any"' % ', '.join(unknown))
    try:
        parse_release(params['min_release'])
    except LicenseSyncError:
        raise LicenseSyncError('INVALID_INPUT', 'min_release: %r is not a release such as 20.9.1' % params['min_release'])
    precheck = Precheck(params, ctx)
    checks = [check for check in precheck.run()
              if check['name'] in precheck.selected or (check['name'] == 'login' and 'login' in precheck.facts)]
    found = model.findings(checks)
    fix_plan = model.plan(found, params['max_age'], grant_supplied=bool(params.get('ssm_client_id')))
    facts = precheck.facts
    settings = facts.get('settings') if 'ok' not in (facts.get('settings') or {'ok': None}) else None
    user = facts.get('user') if 'ok' not in (facts.get('user') or {'ok': None}) else None
    result = dict(
        changed=False, checks=checks, findings=found, verdict=fix_plan['state_before'], plan=fix_plan,
        release=facts.get('release'),
        settings=dict((key, settings[key]) for key in ('mode', 'ssm_url', 'client_id')) if settings else None,
        last_sync=user['last_sync'] if user else None,
        dialect=precheck.observed(),
    )
    result['lines'] = report_lines(result)
    fail_on = set(params['fail_on'])
    failing = [finding['code'] for finding in found if 'any' in fail_on or finding['code'] in fail_on]
    if failing:
        result.update(failed=True, msg='precheck found %s (fail_on: %s); see checks and findings' % (
            ', '.join(failing), ', '.join(sorted(fail_on))))
    return result
