# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet licence compliance for the license_report action: facts per host, probes once per SSM and per grant, one record each.

FOR INTERNAL COLLECTION USE ONLY. Controller side only.

Input per host: the result of vmanage_license_info (registered, possibly failed) with its ``ssm_check`` (vManage asked
SSM On-Prem now with its stored grant and user) and the host's SSM variables; or, for the aggregation of a sliced run,
the host-keyed records that each slice published with set_stats (``host_stats``, ``records_in``, ``fleet_from_records``).
Requests made here, all read-only and once per distinct target rather than once per host: per distinct SSM URL the
controller's look (module_utils.checks controller_look) and, with SSM admin credentials, the API Toolkit's grant list;
per distinct grant with a known client secret one token request. Each host's facts then go through the same check
model as vmanage_precheck (module_utils.checks), so the report's verdicts and ``fixable`` are the fix playbook's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import checks as model
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import SSM_CONNECTION, SSM_OPTIONS, validated
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES, LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.grant import prove, token_user
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import same_url

# ``unprocessed``: no record of the host reached the aggregation of a sliced run (its slice failed before reporting).
STATES = ('compliant', 'broken', 'unreachable', 'auth_failed', 'error', 'unprocessed')
# The checks a fleet report judges: the others need probes that only vmanage_precheck makes (ready, the supplied grant).
CHECKS = tuple(name for name in model.CHECKS if name not in ('ready', 'supplied_grant'))

UNREACHABLE_CAUSES = frozenset(('VMANAGE_UNREACHABLE', 'VMANAGE_TLS_UNTRUSTED', 'TIMEOUT', 'PROXY_ERROR'))
AUTH_FAILED_CAUSES = frozenset(('VMANAGE_AUTH_FAILED',))

# The host variables that describe a host's SSM On-Prem: the ssm option names.
SSM_VARIABLES = tuple(sorted(SSM_OPTIONS))
SSM_SECRET_VARIABLES = tuple(name for name in SSM_VARIABLES if SSM_OPTIONS[name].get('no_log'))

# set_stats records, one top-level key per host. AWX merges the artifacts of a sliced job's slices with one shallow
# dict.update per slice (awx/main/models/workflow.py, WorkflowJob.get_effective_artifacts) and hands them to the next
# workflow node as extra variables, so a key must belong to one host and be a valid variable name
# (ansible.utils.vars.validate_variable_name): this prefix, then the host name with every character but an ASCII letter
# or digit written as _ and two hex digits per UTF-8 byte (so distinct names give distinct keys); the record names the host.
STATS_PREFIX = 'license_compliance_host_'
# What a record keeps of the host's vmanage_license_info result: the facts the assessment reads, no secret among them.
RECORD_INFO_FIELDS = ('failed', 'unreachable', 'msg', 'cause', 'remedy', 'release', 'mode', 'ssm_url', 'client_id',
                      'client_secret_stored', 'credentials_stored', 'ssm_username', 'last_sync', 'ssm_check', 'devices')
# The SSM variables a record keeps: which SSM On-Prem, user, grant and account the host's inventory names. Secrets and
# what depends on the node that runs the job (CA path, proxy, certificate checking) come from the aggregation job's own
# inventory and environment.
RECORD_SSM_VARIABLES = ('ssm_url', 'ssm_username', 'ssm_admin_username', 'ssm_client_id', 'ssm_account')
# The cause of a host that no record reached: a report-only code (not a check's), never fixable by the fix playbook.
NOT_PROCESSED = dict(code='NOT_PROCESSED', title='Not processed: no compliance record reached the aggregation',
                     remedy='The slice job that had this host failed or was cancelled before it reported (see its output in '
                            'AWX); run the compliance job again.')
_TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'
# History: the changes a report names per host (record ``history.change``), beside still_broken, still_compliant, new and
# unprocessed.
CHANGES = ('newly_broken', 'fixed', 'cause_changed')


def stats_key(host):
    """The set_stats key of a host's record: STATS_PREFIX and the host name encoded as a variable name."""
    return STATS_PREFIX + ''.join(
        char if char.isascii() and char.isalnum() else ''.join('_%02x' % byte for byte in char.encode('utf-8'))
        for char in host)


def host_stats(record, entry, generated, started):
    """The set_stats record of one host: its facts (``info``), the SSM variables its inventory names (no secret), when
    they were read (``generated``, ``started``: the run's UTC report time and start) and the verdict of the run."""
    info = dict((key, entry['info'][key]) for key in RECORD_INFO_FIELDS if key in entry['info'])
    ssm = dict((key, entry['ssm'][key]) for key in RECORD_SSM_VARIABLES if entry['ssm'].get(key) not in (None, ''))
    return dict(host=record['host'], generated=generated, started=started, state=record['state'], cause=record['cause'],
                info=info, ssm=ssm)


def records_in(variables):
    """{host: record} of the set_stats records among ``variables`` (extra variables: the slices' artefacts, merged).

    A value counts only when it is a record whose host gives back its key, so unrelated variables never do.
    """
    found = {}
    for key, value in variables.items():
        if (key.startswith(STATS_PREFIX) and isinstance(value, dict) and isinstance(value.get('host'), str)
                and isinstance(value.get('info'), dict) and stats_key(value['host']) == key):
            found[value['host']] = value
    return found


def _moment(text):
    try:
        return datetime.datetime.strptime(text, _TIME_FORMAT) if isinstance(text, str) else None
    except ValueError:
        return None


def fleet_from_records(names, records, defaults, own_ssm, stale_before=None):
    """The fleet of run_compliance from set_stats records: ``{host: {'info', 'ssm'}}`` for every host of ``names``.

    ``own_ssm``: {host: the SSM variables the aggregating job's inventory gives it}, which win over the record's (they hold
    the secrets and the node's paths); ``defaults``: the SSM options of the task and environment. A host without a record,
    or whose record was generated at or before ``stale_before`` (an earlier run's record that the workflow carried
    along), is ``unprocessed``.
    """
    stale = _moment(stale_before)
    if stale_before and stale is None:
        raise LicenseSyncError('INVALID_INPUT', 'stale_before %r is not a report time: give it as YYYY-MM-DDTHH:MM:SSZ '
                               '(UTC), as the records write their generated time' % (stale_before,))
    fleet = {}
    for name in names:
        record = records.get(name)
        ssm = dict(defaults)
        if record is not None:
            ssm.update((key, value) for key, value in (record.get('ssm') or {}).items() if key in RECORD_SSM_VARIABLES)
        ssm.update((key, value) for key, value in (own_ssm.get(name) or {}).items() if value is not None)
        generated = _moment(record.get('generated')) if record is not None else None
        if record is None:
            info = unprocessed_info('no compliance record of this host reached this step')
        elif stale is not None and (generated is None or generated <= stale):
            info = unprocessed_info('only the record of an earlier run (%s) reached this step' % record.get('generated'))
        elif not _readable(record['info']):
            info = unprocessed_info('its compliance record cannot be read (facts of another shape than a compliance run writes)')
        else:
            info = dict(record['info'])
        fleet[name] = dict(info=info, ssm=ssm)
        if not info.get('unprocessed'):
            fleet[name].update(generated=record.get('generated'), started=record.get('started'))
    return fleet


def _readable(info):
    """Whether a record's facts have the shape host_facts reads (a record from another version or hand-made may not)."""
    if not all(info.get(key) is None or isinstance(info[key], dict) for key in ('last_sync', 'ssm_check', 'devices')):
        return False
    devices = info.get('devices')
    return (devices is None or devices.get('ok') is False
            or all(isinstance(devices.get(key), int) for key in ('total', 'out_of_compliance', 'unknown'))
            and isinstance(devices.get('reasons'), dict))


def unprocessed_info(detail):
    """The vmanage_license_info stand-in of a host that no record reached: assess_host makes it ``unprocessed``."""
    return dict(failed=True, unprocessed=True, cause=NOT_PROCESSED['code'], msg=detail, remedy=NOT_PROCESSED['remedy'])


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
        ssm_reachable_from_vmanage=None, devices=None, causes=[], cause=None, remedy=None, fixable=None, checks=[],
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
    if 'devices' in info:
        # Gathered on request only (vmanage_license_info gather=[devices]): one more request per vManage.
        record['checks'].append(_report_check(model.device_licenses(info['devices'])))
        devices = info['devices'] or {}
        if devices.get('ok'):
            record['devices'] = dict((key, devices[key]) for key in ('total', 'out_of_compliance', 'unknown', 'reasons'))
    if causes:
        record.update(cause=causes[0]['code'], remedy=causes[0]['remedy'], fixable=all(cause['fixable'] for cause in causes))
    return record


def _report_check(check):
    return dict(name=check['name'], status=check['status'], detail=check['detail'], cause=check['cause'])


def _failed_host(record, info):
    code = info.get('cause') or ('VMANAGE_UNREACHABLE' if info.get('unreachable') else 'HTTP_ERROR')
    # A failed module's msg ends with " Cause: <code> (<title>). Remedy: <remedy>"; the record carries those apart.
    detail = (info.get('msg') or 'no result from this host').split(' Cause: %s (' % code)[0]
    if info.get('unprocessed'):
        state = 'unprocessed'
    elif code in UNREACHABLE_CAUSES or info.get('unreachable'):
        state = 'unreachable'
    elif code in AUTH_FAILED_CAUSES:
        state = 'auth_failed'
    else:
        state = 'error'
    cause = dict(code=code, title=CAUSES[code].title, remedy=CAUSES[code].remedy, fixable=False, detail=detail) if code in CAUSES \
        else dict(code=code, title=NOT_PROCESSED['title'] if code == NOT_PROCESSED['code'] else code, remedy=info.get('remedy'),
                  fixable=False, detail=detail)
    checks = [dict(name='login', status='fail', detail=detail, cause=code)]
    skipped = 'not processed' if info.get('unprocessed') else 'vManage could not be read'
    checks.extend(dict(name=check, status='skip', detail=skipped, cause=None) for check in CHECKS[1:])
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


def compare_with_previous(document, previous):
    """Add to ``document`` (and to each host record) what changed since ``previous``, the last report, or None.

    Per host ``history``: ``change`` (``newly_broken``: compliant before, not now; ``fixed``: the reverse;
    ``cause_changed``: not compliant both times, another state or first cause; ``still_broken``; ``still_compliant``;
    ``new``: not in the previous report; ``unprocessed``: no record this time, the last known state is kept; None for the
    first report), ``previous_state``, ``previous_cause`` and ``broken_runs`` (consecutive reports in which the host was
    not compliant, this one included). The document's ``history`` lists the hosts of each change, the hosts of the
    previous report that are gone and how long each host has been broken.
    """
    before = dict((record['host'], record) for record in previous['hosts']) if previous else {}
    summary = dict(previous=previous.get('generated') if previous else None, changed=[], newly_broken=[], fixed=[],
                   cause_changed=[], new=[], unprocessed=[], still_broken={},
                   removed=sorted(set(before) - set(record['host'] for record in document['hosts'])))
    for record in document['hosts']:
        known_state, known_cause, known_runs = _last_known(before.get(record['host']))
        if record['state'] == 'unprocessed':
            change, runs = ('unprocessed' if previous else None), known_runs
        else:
            broken = record['state'] != 'compliant'
            runs = known_runs + 1 if broken else 0
            if known_state is None:
                change = 'new' if previous else None
            elif broken and known_state == 'compliant':
                change = 'newly_broken'
            elif not broken:
                change = 'still_compliant' if known_state == 'compliant' else 'fixed'
            elif (known_state, known_cause) != (record['state'], record['cause']):
                change = 'cause_changed'
            else:
                change = 'still_broken'
        record['history'] = dict(change=change, previous_state=known_state, previous_cause=known_cause, broken_runs=runs)
        if change in summary and isinstance(summary[change], list):
            summary[change].append(record['host'])
        if change in CHANGES:
            summary['changed'].append(record['host'])
        if change == 'still_broken':
            summary['still_broken'][record['host']] = runs
    document['history'] = summary
    return document


def _last_known(record):
    """(state, cause, broken_runs) that a previous record knew of its host: its own, or what an unprocessed one carried."""
    if record is None:
        return None, None, 0
    history = record.get('history') or {}
    if record.get('state') == 'unprocessed':
        return history.get('previous_state'), history.get('previous_cause'), history.get('broken_runs') or 0
    broken = record.get('state') != 'compliant'
    runs = history.get('broken_runs')
    return record.get('state'), record.get('cause'), runs if isinstance(runs, int) else (1 if broken else 0)


def publish(document, fleet, source, started=None):
    """The run's set_stats data, merge-safe under AWX's shallow merge of slice artefacts.

    Every run publishes one record per host it read (``host_stats``) and nothing computed across hosts, so a slice of a
    sliced job never overwrites another slice's data. The aggregation (``source`` stats) also publishes what it computed
    for the whole fleet: ``license_compliance`` (the totals and the report time, which tells a later aggregation in the
    same workflow which records are older) and ``fix_license_sync_hosts`` (the hosts the fix playbook can repair, its
    host pattern).
    """
    stats = {}
    for record in document['hosts']:
        if record['state'] != 'unprocessed':
            entry = fleet[record['host']]
            generated = entry.get('generated') or document['generated']
            stats[stats_key(record['host'])] = host_stats(record, entry, generated, entry.get('started', started))
    if source == 'stats':
        stats['license_compliance'] = dict(document['totals'], generated=document['generated'])
        stats['fix_license_sync_hosts'] = fixable_hosts(document['hosts'])
    return stats


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
    # The run began when its first part did: this run's start, or the earliest start of the records it aggregates.
    starts = [entry['started'] for entry in hosts.values() if isinstance(entry.get('started'), (int, float))]
    started = min(starts) if starts else params.get('run_started')
    return dict(
        generated=now.strftime(_TIME_FORMAT),
        started=started,
        duration_s=round(max(0.0, now.timestamp() - started), 3) if started is not None else None,
        source=params.get('source') or 'facts',
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
