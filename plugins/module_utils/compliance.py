# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of license_report: a fleet's licence compliance, decided from what holds now, not only from the last sync.

FOR INTERNAL COLLECTION USE ONLY.

Input per host: the result of vmanage_license_info (registered, possibly failed) with its ``ssm_check``
(vManage asked SSM On-Prem for its accounts with its stored grant and user during the run: proves DNS,
the path, TLS, SSM's backend, the grant and the stored SSM user from vManage itself) and the host's SSM
variables (the same ones the fix playbook uses). Requests made here, all read-only and once per distinct
target rather than once per host: per distinct SSM URL a probe from the controller (reachable, TLS,
backend up) and, with SSM admin credentials, the API Toolkit's grant list (does the client ID vManage
stores exist?); per distinct grant with a known client secret one token request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import HTTP_OPTIONS, SSM_GRANT, SSM_OPTIONS
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES, LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.grant import run_ssm_grant
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.license_auth import same_url
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.vmanage import classify_vmanage_error, parse_release

STATES = ('compliant', 'broken', 'unreachable', 'auth_failed', 'error')
CHECKS = ('login', 'release', 'mode', 'ssm_url', 'credentials', 'ssm_service', 'grant', 'ssm_user', 'ssm_reach', 'last_sync')

UNREACHABLE_CAUSES = frozenset(('VMANAGE_UNREACHABLE', 'VMANAGE_TLS_UNTRUSTED', 'TIMEOUT', 'PROXY_ERROR'))
AUTH_FAILED_CAUSES = frozenset(('VMANAGE_AUTH_FAILED',))

# Causes whose text proves that SSM answered vManage (so vManage reaches SSM over the network).
SSM_ANSWERED_CAUSES = frozenset((
    'GRANT_NOT_FOUND', 'SSM_BAD_USER_CREDENTIALS', 'SSM_GRANT_TYPE_MISMATCH', 'SSM_BAD_REQUEST', 'SSM_BACKEND_DOWN',
))
SSM_NOT_REACHED_CAUSES = frozenset(('SSM_UNREACHABLE_FROM_VMANAGE', 'DNS_MISSING', 'SSM_TLS_UNTRUSTED'))

# A token request from the controller that fails for one of these says nothing about the grant or
# about vManage's view of SSM: the check is reported as not done, not as a cause of the host.
CONTROLLER_SIDE_CAUSES = frozenset(('SSM_UNREACHABLE', 'SSM_TLS_UNTRUSTED', 'PROXY_ERROR', 'TIMEOUT', 'INVALID_INPUT'))

# Causes of a failed ssm_check (vManage asking SSM On-Prem now) that say what is wrong, and the check that shows
# each. Any other failure of it (SSM or vManage busy, a timeout of the call) proves nothing: a warning.
LIVE_CHECK_OF_CAUSE = {
    'GRANT_NOT_FOUND': 'grant', 'SSM_GRANT_TYPE_MISMATCH': 'grant',
    'SSM_BAD_USER_CREDENTIALS': 'ssm_user', 'SSM_BAD_REQUEST': 'ssm_user', 'CREDENTIALS_MISSING': 'ssm_user',
    'DNS_MISSING': 'ssm_reach', 'SSM_UNREACHABLE_FROM_VMANAGE': 'ssm_reach', 'SSM_TLS_UNTRUSTED': 'ssm_reach',
    'SSM_BACKEND_DOWN': 'ssm_service',
}
# What the controller's probe of an SSM URL may find. SSM_BACKEND_DOWN is SSM's own state, whoever asks; the
# others may be the controller's path or trust store, so they break a host only when its vManage fails too.
PROBE_CAUSES = frozenset(('SSM_BACKEND_DOWN', 'SSM_UNREACHABLE', 'SSM_TLS_UNTRUSTED'))
# vManage's failure that confirms the controller's: SSM down or untrusted for both sides, not a path of vManage.
CONFIRMED_BY_VMANAGE = {'SSM_UNREACHABLE': 'SSM_UNREACHABLE_FROM_VMANAGE', 'SSM_TLS_UNTRUSTED': 'SSM_TLS_UNTRUSTED'}

# Root causes first: the first cause of a host is the one to act on.
CAUSE_ORDER = (
    'VMANAGE_UNREACHABLE', 'VMANAGE_TLS_UNTRUSTED', 'VMANAGE_AUTH_FAILED', 'RELEASE_TOO_OLD', 'MODE_NOT_ONPREM',
    'SSM_URL_MISSING', 'SSM_URL_MISMATCH', 'CREDENTIALS_MISSING', 'SSM_UNREACHABLE', 'DNS_MISSING',
    'SSM_UNREACHABLE_FROM_VMANAGE', 'SSM_TLS_UNTRUSTED', 'SSM_BACKEND_DOWN', 'GRANT_NOT_FOUND', 'SSM_BAD_USER_CREDENTIALS',
    'SSM_GRANT_TYPE_MISMATCH', 'SSM_BAD_REQUEST', 'SYNC_FAILED', 'SYNC_STALE',
)

# The host variables that describe a host's SSM On-Prem: the ssm option names (interfaces.md section 2).
SSM_VARIABLES = tuple(sorted(SSM_OPTIONS))
SSM_SECRET_VARIABLES = tuple(name for name in SSM_VARIABLES if SSM_OPTIONS[name].get('no_log'))


def _cause(code, detail):
    cause = CAUSES[code]
    return dict(code=code, title=cause.title, remedy=cause.remedy, fixable=cause.fixable, detail=detail)


def _check(name, status, detail, cause=None):
    return dict(name=name, status=status, detail=detail, cause=cause)


def _is_on_prem(mode):
    return (mode or '').replace('-', '').replace('_', '').lower() == 'onprem'


def plan_grant_checks(hosts):
    """The distinct grant checks, each made once: [{client_id, ssm_url, hosts, params}].

    ``hosts`` maps a host name to ``{'info': <vmanage_license_info result>, 'ssm': <host SSM variables>}``.
    A grant is the client ID a vManage stores, on the SSM On-Prem its inventory names (same_url); it is
    checked once per distinct SSM user (the password grant needs one), which makes hosts that share a
    grant share one token request. The client secret comes from any host whose inventory names that
    client ID (or names none) and has ``ssm_client_secret``; it is never read from vManage (write-only
    there). ``params`` stays None when no secret is known.
    """
    plan = []
    for name in sorted(hosts):
        info, ssm = hosts[name]['info'], hosts[name]['ssm']
        entry = grant_of(plan, info, ssm)
        if entry is None:
            client_id = None if info.get('failed') else info.get('client_id')
            ssm_url = ssm.get('ssm_url') or info.get('ssm_url')
            if not client_id or not ssm_url:
                continue
            entry = dict(client_id=client_id, ssm_url=ssm_url, user=_token_user(ssm), hosts=[], params=None)
            plan.append(entry)
        entry['hosts'].append(name)
    secrets = _known_secrets(hosts)
    for entry in plan:
        secret = secrets.get(entry['client_id'])
        if secret:
            params = dict(hosts[entry['hosts'][0]]['ssm'])
            params.update(ssm_url=entry['ssm_url'], ssm_client_id=entry['client_id'], ssm_client_secret=secret)
            entry['params'] = params
    return plan


def _token_user(ssm):
    return (ssm.get('ssm_username') or ssm.get('ssm_admin_username'), ssm.get('ssm_password') or ssm.get('ssm_admin_password'))


def _known_secrets(hosts):
    """{client ID: client secret} from the hosts' inventory: the client ID it names or, naming none, the one its vManage stores."""
    secrets = {}
    for name in sorted(hosts):
        ssm, info = hosts[name]['ssm'], hosts[name]['info']
        client_id = ssm.get('ssm_client_id') or (None if info.get('failed') else info.get('client_id'))
        if client_id and ssm.get('ssm_client_secret'):
            secrets.setdefault(client_id, ssm['ssm_client_secret'])
    return secrets


def grant_of(plan, info, ssm):
    """The planned grant check of a host, or None."""
    client_id = None if info.get('failed') else info.get('client_id')
    ssm_url = ssm.get('ssm_url') or info.get('ssm_url')
    for entry in plan:
        if client_id and entry['client_id'] == client_id and entry['user'] == _token_user(ssm) and same_url(entry['ssm_url'], ssm_url):
            return entry
    return None


def check_grants(plan, http_params, ctx):
    """One token request per planned grant with a known secret; sets each entry's ``verdict``."""
    for entry in plan:
        if entry['params'] is None:
            entry['verdict'] = dict(verified=None, cause=None,
                                    detail='no ssm_client_secret for client ID %s in the inventory' % entry['client_id'])
            continue
        try:
            run_ssm_grant(_ssm_params(entry['params'], http_params, state='verified'), ctx)
        except LicenseSyncError as error:
            entry['verdict'] = dict(verified=False, cause=error.cause, detail=error.detail)
        else:
            entry['verdict'] = dict(verified=True, cause=None, detail='SSM On-Prem issued a token for client ID %s' % entry['client_id'])


def _ssm_params(ssm, http_params, **extra):
    """A host's SSM variables as validated SSM parameters (defaults filled in as the modules fill them)."""
    args = dict((name, value) for name, value in ssm.items() if value is not None)
    args.update(http_params, **extra)
    validation = ArgumentSpecValidator(SSM_GRANT['argument_spec']).validate(args)
    if validation.error_messages:
        raise LicenseSyncError('INVALID_INPUT', 'SSM variables of the SSM On-Prem checks: %s' % validation.error_messages[0])
    return validation.validated_parameters


def plan_ssm_checks(hosts):
    """The distinct SSM On-Prem servers to check once each: [{ssm_url, hosts, params}].

    An SSM is the URL a vManage stores, when it is the one its inventory names (or the inventory names none):
    a URL that differs is already SSM_URL_MISMATCH, and the controller has no business probing it.
    ``params`` are the SSM variables of the first host that uses it.
    """
    plan = []
    for name in sorted(hosts):
        entry = ssm_server_of(plan, hosts[name]['info'], hosts[name]['ssm'])
        if entry is None:
            stored = _stored_ssm_url(hosts[name]['info'], hosts[name]['ssm'])
            if stored is None:
                continue
            entry = dict(ssm_url=stored, hosts=[], params=dict(hosts[name]['ssm'], ssm_url=stored))
            plan.append(entry)
        entry['hosts'].append(name)
    return plan


def _stored_ssm_url(info, ssm):
    stored = None if info.get('failed') else info.get('ssm_url')
    if not stored or (ssm.get('ssm_url') and not same_url(stored, ssm['ssm_url'])):
        return None
    return stored


def ssm_server_of(plan, info, ssm):
    """The planned SSM check of a host, or None."""
    stored = _stored_ssm_url(info, ssm)
    return next((entry for entry in plan if stored and same_url(entry['ssm_url'], stored)), None)


def check_ssm_servers(plan, http_params, ctx):
    """Per planned SSM: the probe from the controller and, with admin credentials, the client IDs of its grants."""
    for entry in plan:
        try:
            params = _ssm_params(entry['params'], http_params)
        except LicenseSyncError as error:
            entry.update(probe=dict(ok=None, cause=error.cause, detail=error.detail), client_ids=None,
                         grants_detail='not listed: %s' % error.detail)
            continue
        with ctx.clients.ssm(params) as ssm:
            entry['probe'] = _probe(ssm)
            entry['client_ids'], entry['grants_detail'] = _listed_client_ids(ssm, params, entry['probe'])


def _probe(ssm):
    """{ok, cause, detail} of one look at SSM from the controller: ok None when what it found proves nothing."""
    try:
        alive = ssm.backend_alive()
    except LicenseSyncError as error:
        return dict(ok=False if error.cause in PROBE_CAUSES else None, cause=error.cause, detail=error.detail)
    if not alive:
        return dict(ok=False, cause='SSM_BACKEND_DOWN', detail="SSM On-Prem's front answers, its backend does not (HTTP 502/504)")
    return dict(ok=True, cause=None, detail='SSM On-Prem answers over trusted TLS and its backend is up')


def _listed_client_ids(ssm, params, probe):
    """({client ID: grant name} of every account's API Toolkit grants, detail); None when they could not be listed."""
    username = params.get('ssm_admin_username') or params.get('ssm_username')
    password = params.get('ssm_admin_password') or params.get('ssm_password')
    if not (username and password):
        return None, 'not listed: no SSM admin credentials (ssm_admin_username/ssm_admin_password)'
    if not probe['ok']:
        return None, 'not listed: SSM On-Prem did not answer the probe'
    try:
        ssm.admin_login(username, password)
        accounts = [params['ssm_account']] if params.get('ssm_account') else [account['id'] for account in ssm.accounts()]
        client_ids = {}
        for account in accounts:
            client_ids.update((grant['client_id'], grant['name']) for grant in ssm.grants.list(account))
    except LicenseSyncError as error:
        return None, 'not listed: %s' % error.detail
    return client_ids, 'listed %d grants in %d accounts' % (len(client_ids), len(accounts))


def assess_host(name, info, ssm, grant_verdict, max_sync_age, min_release, ssm_server=None):
    """One host's compliance record: facts, checks (pass/fail/warn/skip) and causes with remedies.

    ``ssm_server``: the checked entry of plan_ssm_checks for the host's SSM (probe, client_ids), or None.
    """
    record = dict(
        host=name, state=None, release=None, mode=None, ssm_url=None, client_id=None, credentials_stored=None,
        grant_valid=None, last_sync=dict(time=None, age_s=None, ok=None, error=None), ssm_reachable_from_vmanage=None,
        causes=[], cause=None, remedy=None, fixable=None, checks=[],
    )
    if info.get('failed') or info.get('unreachable'):
        return _failed_host(record, info)
    last_sync = dict(record['last_sync'])
    last_sync.update(info.get('last_sync') or {})
    record.update(
        release=info.get('release'), mode=info.get('mode'), ssm_url=info.get('ssm_url'), client_id=info.get('client_id'),
        credentials_stored=bool(info.get('credentials_stored')), last_sync=last_sync,
    )
    checks = [_check('login', 'pass', 'logged in and read the licensing settings')]
    causes = []

    def failed(check, code, detail):
        checks.append(_check(check, 'fail', detail, code))
        if code not in [c['code'] for c in causes]:
            causes.append(_cause(code, detail))

    release_ok = _release_check(record, min_release, checks, failed)
    sync_cause = classify_vmanage_error(last_sync['error']) if last_sync.get('ok') is False and last_sync.get('error') else None
    if not release_ok:
        for check in CHECKS[2:]:
            checks.append(_check(check, 'skip', 'on-prem licensing needs release %s or later' % min_release))
    else:
        live = _live_check(info)
        _settings_checks(record, ssm, checks, failed)
        _service_check(ssm_server, live, checks, failed)
        _grant_check(record, grant_verdict, ssm_server, live, sync_cause, checks, failed)
        _user_check(live, checks, failed)
        _reach_check(record, live, sync_cause, checks, failed)
        _last_sync_check(record, live, sync_cause, max_sync_age, checks, failed)

    causes.sort(key=lambda c: CAUSE_ORDER.index(c['code']) if c['code'] in CAUSE_ORDER else len(CAUSE_ORDER))
    record.update(checks=checks, causes=causes, state='broken' if causes else 'compliant')
    if causes:
        record.update(cause=causes[0]['code'], remedy=causes[0]['remedy'], fixable=all(c['fixable'] for c in causes))
    return record


def _failed_host(record, info):
    code = info.get('cause') or ('VMANAGE_UNREACHABLE' if info.get('unreachable') else 'HTTP_ERROR')
    # A failed module's msg ends with " Cause: <code> (<title>). Remedy: <remedy>"; the record carries those apart.
    detail = (info.get('msg') or 'no result from this host').split(' Cause: %s (' % code)[0]
    if code in UNREACHABLE_CAUSES or info.get('unreachable'):
        state = 'unreachable'
    elif code in AUTH_FAILED_CAUSES:
        state = 'auth_failed'
    else:
        state = 'error'
    cause = _cause(code, detail) if code in CAUSES else dict(code=code, title=code, remedy=info.get('remedy'), fixable=False, detail=detail)
    checks = [_check('login', 'fail', detail, code)]
    checks.extend(_check(check, 'skip', 'vManage could not be read') for check in CHECKS[1:])
    record.update(state=state, causes=[cause], cause=code, remedy=cause['remedy'], fixable=False, checks=checks)
    return record


def _release_check(record, min_release, checks, failed):
    release = record['release']
    if not release:
        checks.append(_check('release', 'warn', 'vManage did not report its release'))
        return True
    if parse_release(release) < parse_release(min_release):
        failed('release', 'RELEASE_TOO_OLD', 'release %s; on-prem licensing needs %s or later' % (release, min_release))
        return False
    checks.append(_check('release', 'pass', 'release %s' % release))
    return True


def _settings_checks(record, ssm, checks, failed):
    if _is_on_prem(record['mode']):
        checks.append(_check('mode', 'pass', 'smart licensing mode on-prem'))
    else:
        failed('mode', 'MODE_NOT_ONPREM', 'smart licensing mode is %s, not on-prem' % (record['mode'] or 'not set'))

    expected_url = ssm.get('ssm_url')
    if not record['ssm_url']:
        failed('ssm_url', 'SSM_URL_MISSING', 'no SSM On-Prem server URL stored')
    elif expected_url and not same_url(record['ssm_url'], expected_url):
        failed('ssm_url', 'SSM_URL_MISMATCH', 'vManage stores %s, the inventory names %s' % (record['ssm_url'], expected_url))
    else:
        checks.append(_check('ssm_url', 'pass', record['ssm_url']))

    if record['credentials_stored'] and record['client_id']:
        checks.append(_check('credentials', 'pass', 'client ID %s and its secret stored' % record['client_id']))
    else:
        failed('credentials', 'CREDENTIALS_MISSING', 'no client ID/secret stored for SSM On-Prem')


def _live_check(info):
    """vManage's ssm_check as {ok, cause, detail, check}; ``check`` names the check that shows a telling failure."""
    live = dict(ok=None, cause=None, detail='vManage was not asked to reach SSM On-Prem')
    live.update(info.get('ssm_check') or {})
    live['check'] = LIVE_CHECK_OF_CAUSE.get(live['cause']) if live['ok'] is False else None
    return live


def _now(live):
    return 'vManage asking SSM On-Prem now: %s' % live['detail']


def _service_check(server, live, checks, failed):
    if live['check'] == 'ssm_service':
        failed('ssm_service', live['cause'], _now(live))
        return
    if server is None:
        checks.append(_check('ssm_service', 'skip', 'not probed: vManage stores no SSM URL that the inventory names'))
        return
    probe = server['probe']
    if probe['ok']:
        checks.append(_check('ssm_service', 'pass', '%s: %s' % (server['ssm_url'], probe['detail'])))
    elif probe['ok'] is False and live['ok'] is not True and (
            probe['cause'] == 'SSM_BACKEND_DOWN' or CONFIRMED_BY_VMANAGE.get(probe['cause']) == live['cause']):
        failed('ssm_service', probe['cause'], 'from the controller: %s' % probe['detail'])
    else:
        vmanage_view = '; vManage reaches it' if live['ok'] else ''
        checks.append(_check('ssm_service', 'warn', 'the controller could not tell (%s: %s)%s' % (
            probe['cause'], probe['detail'], vmanage_view)))


def _grant_check(record, verdict, server, live, sync_cause, checks, failed):
    if not record['client_id']:
        checks.append(_check('grant', 'skip', 'no client ID stored'))
        return
    listed = server.get('client_ids') if server else None
    if verdict and verdict['verified'] is False and verdict['cause'] not in CONTROLLER_SIDE_CAUSES:
        if verdict['cause'] in ('GRANT_NOT_FOUND', 'SSM_GRANT_TYPE_MISMATCH'):
            record['grant_valid'] = False
        failed('grant', verdict['cause'], 'token request from the controller: %s' % verdict['detail'])
    elif live['check'] == 'grant':
        record['grant_valid'] = False
        failed('grant', live['cause'], _now(live))
    elif listed is not None and record['client_id'] not in listed:
        record['grant_valid'] = False
        failed('grant', 'GRANT_NOT_FOUND', "SSM On-Prem's API Toolkit has no grant with client ID %s (%s)" % (
            record['client_id'], server['grants_detail']))
    elif verdict and verdict['verified']:
        record['grant_valid'] = True
        checks.append(_check('grant', 'pass', verdict['detail']))
    elif live['ok']:
        record['grant_valid'] = True
        checks.append(_check('grant', 'pass', 'vManage got a token with client ID %s just now' % record['client_id']))
    elif listed is not None:
        checks.append(_check('grant', 'pass', "SSM On-Prem's API Toolkit lists client ID %s as grant %r" % (
            record['client_id'], listed[record['client_id']])))
    elif sync_cause == 'GRANT_NOT_FOUND':
        record['grant_valid'] = False
        failed('grant', 'GRANT_NOT_FOUND', "vManage's last sync: SSM On-Prem answered that the grant does not exist")
    elif verdict and verdict['verified'] is False:
        checks.append(_check('grant', 'warn', 'not checked, the controller could not ask SSM On-Prem: %s' % verdict['detail']))
    else:
        checks.append(_check('grant', 'skip', verdict['detail'] if verdict else 'not checked'))


def _user_check(live, checks, failed):
    if live['check'] == 'ssm_user':
        failed('ssm_user', live['cause'], _now(live))
    elif live['ok']:
        checks.append(_check('ssm_user', 'pass', 'SSM On-Prem accepted the SSM user and password vManage stores, just now'))
    elif live['ok'] is False and live['check'] is None:
        checks.append(_check('ssm_user', 'warn', 'not proven: vManage asked SSM On-Prem, which failed for a passing reason '
                                                 '(%s): %s' % (live['cause'], live['detail'])))
    else:
        checks.append(_check('ssm_user', 'skip', live['detail'] if live['ok'] is None else
                             'not proven: SSM On-Prem refused vManage before it checked the user'))


def _reach_check(record, live, sync_cause, checks, failed):
    if live['check'] == 'ssm_reach':
        record['ssm_reachable_from_vmanage'] = False
        failed('ssm_reach', live['cause'], _now(live))
        return
    if live['ok'] or live['check']:
        record['ssm_reachable_from_vmanage'] = True
        checks.append(_check('ssm_reach', 'pass', 'SSM On-Prem answered vManage just now'))
        return
    last_sync = record['last_sync']
    if last_sync.get('ok'):
        record['ssm_reachable_from_vmanage'] = True
        checks.append(_check('ssm_reach', 'pass', 'proved by the last successful sync'))
    elif sync_cause in SSM_ANSWERED_CAUSES:
        record['ssm_reachable_from_vmanage'] = True
        checks.append(_check('ssm_reach', 'pass', "proved by the last sync error, which quotes SSM On-Prem's answer"))
    elif sync_cause in SSM_NOT_REACHED_CAUSES:
        record['ssm_reachable_from_vmanage'] = False
        checks.append(_check('ssm_reach', 'fail', 'the last sync did not reach SSM On-Prem: %s' % last_sync['error'], sync_cause))
    else:
        checks.append(_check('ssm_reach', 'skip', 'no sync attempt tells; run vmanage_precheck to probe it'))


def _last_sync_check(record, live, sync_cause, max_sync_age, checks, failed):
    last_sync = record['last_sync']
    if last_sync.get('ok') is False and live['ok']:
        # What broke that sync is gone: vManage reaches SSM On-Prem with its settings now, so a new sync fixes it.
        failed('last_sync', 'SYNC_FAILED', 'last sync failed (%s), but vManage reaches SSM On-Prem with its settings now: '
                                           'sync again' % (last_sync.get('error') or 'no error text'))
    elif last_sync.get('ok') is False:
        code = sync_cause if sync_cause in CAUSES and sync_cause != 'HTTP_ERROR' else 'SYNC_FAILED'
        failed('last_sync', code, 'last sync failed: %s' % (last_sync.get('error') or 'no error text'))
    elif not last_sync.get('time'):
        failed('last_sync', 'SYNC_STALE', 'never synced with SSM On-Prem')
    elif last_sync.get('age_s') is not None and last_sync['age_s'] > max_sync_age:
        failed('last_sync', 'SYNC_STALE', 'last successful sync %s, %s ago (limit %s)' % (
            last_sync['time'], _duration(last_sync['age_s']), _duration(max_sync_age)))
    else:
        checks.append(_check('last_sync', 'pass', 'last successful sync %s, %s ago' % (last_sync['time'], _duration(last_sync.get('age_s') or 0))))


def _duration(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return '%d s' % seconds
    if seconds < 7200:
        return '%d min' % (seconds // 60)
    if seconds < 172800:
        return '%d h' % (seconds // 3600)
    return '%d days' % (seconds // 86400)


def totals(records):
    """Counts per state and per cause, in a stable order."""
    counts = dict(hosts=len(records))
    for state in STATES:
        counts[state] = sum(1 for r in records if r['state'] == state)
    by_cause = {}
    for record in records:
        for cause in record['causes']:
            by_cause[cause['code']] = by_cause.get(cause['code'], 0) + 1
    counts['by_cause'] = dict(sorted(by_cause.items(), key=lambda item: (-item[1], item[0])))
    counts['fixable'] = sum(1 for r in records if r['state'] == 'broken' and r['fixable'])
    counts['needs_operator'] = sum(1 for r in records if r['state'] != 'compliant' and not (r['state'] == 'broken' and r['fixable']))
    return counts


def fixable_hosts(records):
    """Hosts the fix playbook can repair: broken, every cause fixable."""
    return [r['host'] for r in records if r['state'] == 'broken' and r['fixable']]


def run_compliance(params, ctx, hosts, now=None):
    """Assess every host; prove each distinct grant once. Returns the report document (no secrets)."""
    for host in hosts.values():
        for name in SSM_SECRET_VARIABLES:
            if host['ssm'].get(name):
                ctx.redactor.add(host['ssm'][name])
    http_params = dict(timeout=params['timeout'], retries=params['retries'])
    plan = plan_grant_checks(hosts) if params['verify_grants'] else []
    check_grants(plan, http_params, ctx)
    servers = plan_ssm_checks(hosts)
    check_ssm_servers(servers, http_params, ctx)
    records = []
    for name in sorted(hosts):
        info, ssm = hosts[name]['info'], hosts[name]['ssm']
        entry = grant_of(plan, info, ssm)
        records.append(assess_host(name, info, ssm, entry and entry['verdict'], params['max_sync_age'], params['min_release'],
                                   ssm_server_of(servers, info, ssm)))
    grants = [
        dict(ssm_url=entry['ssm_url'], client_id=entry['client_id'], hosts=len(entry['hosts']), verified=entry['verdict']['verified'],
             cause=entry['verdict']['cause'], detail=entry['verdict']['detail'])
        for entry in plan
    ]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return dict(
        generated=now.strftime('%Y-%m-%dT%H:%M:%SZ'),
        title=params['title'],
        max_sync_age=params['max_sync_age'],
        min_release=params['min_release'],
        totals=totals(records),
        grants=grants,
        ssm_servers=[dict(ssm_url=entry['ssm_url'], hosts=len(entry['hosts']), ok=entry['probe']['ok'], cause=entry['probe']['cause'],
                          detail=entry['probe']['detail'], grants=entry['grants_detail']) for entry in servers],
        hosts=records,
    )


LICENSE_REPORT_OPTIONS = dict(
    hosts=dict(type='list', elements='str'),
    facts_var=dict(type='str', default='license_compliance_info'),
    dest=dict(type='path', default='reports'),
    formats=dict(type='list', elements='str', choices=['json', 'junit', 'html'], default=['json', 'junit', 'html']),
    title=dict(type='str', default='SD-WAN licence compliance'),
    max_sync_age=dict(type='int', default=86400),
    min_release=dict(type='str', default='20.9.1'),
    verify_grants=dict(type='bool', default=True),
)
LICENSE_REPORT_OPTIONS.update(copy.deepcopy(SSM_OPTIONS))
LICENSE_REPORT_OPTIONS.update(copy.deepcopy(HTTP_OPTIONS))
LICENSE_REPORT = dict(argument_spec=LICENSE_REPORT_OPTIONS, supports_check_mode=True)
