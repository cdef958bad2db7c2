# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet licence compliance for the license_report action: facts per host, probes once per SSM and per grant, one record each.

FOR INTERNAL COLLECTION USE ONLY. Controller side only.

Input per host: the result of vmanage_license_info (registered, possibly failed) with its ``ssm_check`` (vManage asked
SSM On-Prem now with its stored grant and user) and the host's SSM variables. Requests made here, all read-only and
once per distinct target rather than once per host: per distinct SSM URL the controller's look (module_utils.checks
controller_look) and, with SSM admin credentials, the API Toolkit's grant list; per distinct grant with a known client
secret one token request. Each host's facts then go through the same check model as vmanage_precheck
(module_utils.checks), so the report's verdicts and ``fixable`` are the fix playbook's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import checks as model
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import SSM_CONNECTION, SSM_OPTIONS, validated
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES, LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.grant import prove, token_user
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import same_url

STATES = ('compliant', 'broken', 'unreachable', 'auth_failed', 'error')
# The checks a fleet report judges: the others need probes that only vmanage_precheck makes (ready, the supplied grant).
CHECKS = tuple(name for name in model.CHECKS if name not in ('ready', 'supplied_grant'))

UNREACHABLE_CAUSES = frozenset(('VMANAGE_UNREACHABLE', 'VMANAGE_TLS_UNTRUSTED', 'TIMEOUT', 'PROXY_ERROR'))
AUTH_FAILED_CAUSES = frozenset(('VMANAGE_AUTH_FAILED',))

# The host variables that describe a host's SSM On-Prem: the ssm option names.
SSM_VARIABLES = tuple(sorted(SSM_OPTIONS))
SSM_SECRET_VARIABLES = tuple(name for name in SSM_VARIABLES if SSM_OPTIONS[name].get('no_log'))


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
            entry = dict(client_id=client_id, ssm_url=ssm_url, user=token_user(ssm), hosts=[], params=None)
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
        if client_id and entry['client_id'] == client_id and entry['user'] == token_user(ssm) and same_url(entry['ssm_url'], ssm_url):
            return entry
    return None


def check_grants(plan, http_params, ctx):
    """One token request per planned grant with a known secret; sets each entry's ``verdict`` (an outcome)."""
    for entry in plan:
        if entry['params'] is None:
            entry['verdict'] = model.outcome(None, 'no ssm_client_secret for client ID %s in the inventory' % entry['client_id'])
            continue
        try:
            params = _ssm_params(entry['params'], http_params)
            with ctx.clients.ssm(params) as ssm:
                prove(ssm, entry['client_id'], params['ssm_client_secret'], 'resource_owner', params)
        except LicenseSyncError as error:
            entry['verdict'] = model.failed(error)
        else:
            entry['verdict'] = model.outcome(True, 'SSM On-Prem issued a token for client ID %s' % entry['client_id'])


def _ssm_params(ssm, http_params):
    """A host's SSM variables as validated SSM parameters (defaults filled in as the modules fill them)."""
    args = dict((name, value) for name, value in ssm.items() if value is not None)
    args.update(http_params)
    return validated(SSM_CONNECTION, args, 'the SSM variables of the SSM On-Prem checks')


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
    """Per planned SSM: the controller's look and, with admin credentials, the client IDs of its grants."""
    for entry in plan:
        try:
            params = _ssm_params(entry['params'], http_params)
        except LicenseSyncError as error:
            entry.update(controller=dict(model.failed(error), reached=False, backend=None, url=entry['ssm_url']), client_ids=None,
                         grants_detail='not listed: %s' % error.detail)
            continue
        with ctx.clients.ssm(params) as ssm:
            entry['controller'] = model.controller_look(ssm, entry['ssm_url'])
            entry['client_ids'], entry['grants_detail'] = _listed_client_ids(ssm, params, entry['controller'])
            entry['dialect'] = dict(getattr(ssm, 'observed', None) or {})


def _listed_client_ids(ssm, params, controller):
    """({client ID: grant name} of every account's API Toolkit grants, detail); None when they could not be listed."""
    username = params.get('ssm_admin_username') or params.get('ssm_username')
    password = params.get('ssm_admin_password') or params.get('ssm_password')
    if not (username and password):
        return None, 'not listed: no SSM admin credentials (ssm_admin_username/ssm_admin_password)'
    if not controller['backend']:
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


def host_facts(info, grant_verdict=None, ssm_server=None):
    """The facts of the check model (module_utils.checks) of one host from its vmanage_license_info result."""
    facts = dict(
        login=model.outcome(True, 'logged in and read the licensing settings'),
        release=info.get('release'),
        settings=dict(mode=info.get('mode'), ssm_url=info.get('ssm_url'), client_id=info.get('client_id'),
                      secret_stored=info.get('client_secret_stored')),
        user=dict(credentials_stored=bool(info.get('credentials_stored')), user=info.get('ssm_username'),
                  last_sync=dict(dict(time=None, age_s=None, ok=None, error=None, reported=True), **(info.get('last_sync') or {}))),
        not_probed='not probed by the compliance run (vmanage_precheck probes it)',
    )
    if info.get('ssm_check'):
        facts['live'] = info['ssm_check']
    if grant_verdict is not None:
        facts['stored_grant'] = grant_verdict
    if ssm_server is not None:
        facts.update(controller=ssm_server['controller'], listed=ssm_server.get('client_ids'),
                     listed_detail=ssm_server.get('grants_detail'))
    return facts


def assess_host(name, info, ssm, grant_verdict, max_sync_age, min_release, ssm_server=None):
    """One host's compliance record: facts, checks (pass/fail/warn/skip) and causes with remedies.

    ``grant_verdict``: the outcome of the token request for the host's grant, or None; ``ssm_server``: the checked
    entry of plan_ssm_checks for the host's SSM, or None.
    """
    record = dict(
        host=name, state=None, release=None, mode=None, ssm_url=None, client_id=None, credentials_stored=None,
        grant_valid=None, last_sync=dict(time=None, age_s=None, ok=None, error=None, reported=None),
        ssm_reachable_from_vmanage=None, causes=[], cause=None, remedy=None, fixable=None, checks=[],
    )
    if info.get('failed') or info.get('unreachable'):
        return _failed_host(record, info)
    facts = host_facts(info, grant_verdict, ssm_server)
    expected = dict(ssm_url=ssm.get('ssm_url'), min_release=min_release, max_age=max_sync_age, purpose='report',
                    supplied_client_id=None)
    checks = [check for check in model.assess(facts, expected) if check['name'] in CHECKS]
    by_name = dict((check['name'], check) for check in checks)
    causes = [dict(code=finding['code'], title=finding['title'], remedy=finding['remedy'], fixable=finding['fixable'],
                   detail=finding['detail']) for finding in model.findings(checks) if finding['blocking']]
    grant = by_name['grant']
    reach = by_name['vmanage_to_ssm']['status']
    record.update(
        release=info.get('release'), mode=info.get('mode'), ssm_url=info.get('ssm_url'), client_id=info.get('client_id'),
        credentials_stored=bool(info.get('credentials_stored')), last_sync=facts['user']['last_sync'],
        grant_valid=True if grant['status'] == 'pass' else False if grant['cause'] in ('GRANT_NOT_FOUND', 'SSM_GRANT_TYPE_MISMATCH')
        and grant['status'] == 'fail' else None,
        ssm_reachable_from_vmanage=True if reach == 'pass' else False if reach == 'fail' else None,
        checks=[_report_check(check) for check in checks], causes=causes, state='broken' if causes else 'compliant',
    )
    if causes:
        record.update(cause=causes[0]['code'], remedy=causes[0]['remedy'], fixable=all(cause['fixable'] for cause in causes))
    return record


def _report_check(check):
    return dict(name=check['name'], status=check['status'], detail=check['detail'], cause=check['cause'])


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
    cause = dict(code=code, title=CAUSES[code].title, remedy=CAUSES[code].remedy, fixable=False, detail=detail) if code in CAUSES \
        else dict(code=code, title=code, remedy=info.get('remedy'), fixable=False, detail=detail)
    checks = [dict(name='login', status='fail', detail=detail, cause=code)]
    checks.extend(dict(name=check, status='skip', detail='vManage could not be read', cause=None) for check in CHECKS[1:])
    record.update(state=state, causes=[cause], cause=code, remedy=cause['remedy'], fixable=False, checks=checks)
    return record


def totals(records):
    """Counts per state and per cause, in a stable order."""
    counts = dict(hosts=len(records))
    for state in STATES:
        counts[state] = sum(1 for record in records if record['state'] == state)
    by_cause = {}
    for record in records:
        for cause in record['causes']:
            by_cause[cause['code']] = by_cause.get(cause['code'], 0) + 1
    counts['by_cause'] = dict(sorted(by_cause.items(), key=lambda item: (-item[1], item[0])))
    counts['fixable'] = len(fixable_hosts(records))
    counts['needs_operator'] = sum(1 for record in records if record['state'] != 'compliant') - counts['fixable']
    return counts


def fixable_hosts(records):
    """Hosts the fix playbook can repair: broken, every cause fixable."""
    return [record['host'] for record in records if record['state'] == 'broken' and record['fixable']]


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
        dict(ssm_url=entry['ssm_url'], client_id=entry['client_id'], hosts=len(entry['hosts']), verified=entry['verdict']['ok'],
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
        ssm_servers=[dict(ssm_url=entry['ssm_url'], hosts=len(entry['hosts']), ok=entry['controller']['ok'] and entry['controller']['backend'],
                          cause=entry['controller']['cause'] or (None if entry['controller']['backend'] else 'SSM_BACKEND_DOWN'),
                          detail=entry['controller']['detail'], grants=entry['grants_detail'], dialect=entry.get('dialect', {}))
                     for entry in servers],
        hosts=records,
    )
