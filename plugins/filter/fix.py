# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the fix after its plan: each host's outcome, a batch's summary, whether a batch stops the run.

The plan itself (configure, sync, blocking...) is vmanage_precheck's (module_utils/checks.py); these filters read the
results the fix role registered, so the role and the playbook stay straight lists of tasks. Documentation:
fix_outcome.yml, fix_batch.yml, fix_batch_gate.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# What the fix role registers per host: the precheck's result (with the plan), then what act.yml did.
_REGISTERED = ('precheck_result', 'ssm_grant_result', 'vmanage_license_auth_result', 'vmanage_license_sync_result')
STATES_AFTER = ('synced', 'unchanged', 'would_change', 'stopped', 'failed', 'not_processed')


def _ran(result):
    """A registered result of a task that ran (not skipped, not undefined)."""
    return isinstance(result, dict) and not result.get('skipped')


def _sync_text(last_sync, sync=None):
    last_sync = last_sync or {}
    if sync is not None and sync.get('verified_by'):
        return 'vManage reported no last sync, and fetched its accounts from SSM On-Prem with its stored grant just now'
    if last_sync.get('reported') is False and not last_sync.get('time'):
        return 'not reported by vManage'
    if not last_sync.get('time'):
        return 'never'
    if last_sync.get('ok'):
        return '%s, succeeded' % last_sync['time']
    return '%s, failed: %s' % (last_sync['time'], last_sync.get('error') or 'no error text')


def fix_outcome(precheck, grant=None, auth=None, sync=None, error=None, check_mode=False, host=''):
    """One host's fix: its ``summary`` (the ``fix_license_sync`` custom stat), why it stopped (``stop``, or None), and the
    ``lines`` that say what it found and did. Each result may be a skipped task's or missing (the roles ssm_grant and
    vmanage_license show their part alone with an empty ``precheck``)."""
    precheck = precheck if _ran(precheck) else {}
    plan = precheck.get('plan') or {}
    error = error or {}
    acted = any(isinstance(result, dict) for result in (grant, auth, sync))
    grant_name, rotated = ((grant.get('name') or '', bool(grant.get('rotated'))) if _ran(grant) else ('', False))
    actions = []
    if _ran(grant) and grant.get('changed'):
        actions.append('grant_rotated' if rotated else 'grant_created')
    if _ran(auth) and auth.get('changed'):
        actions.extend(['settings_stored', 'authenticated'])
    if _ran(sync) and sync.get('changed'):
        actions.append('synced')
    blocking = plan.get('blocking') or []
    if error:
        state_after = 'failed'
    elif blocking:
        state_after = 'stopped'
    elif not plan.get('sync'):
        state_after = 'unchanged'
    elif not acted:
        state_after = 'not_processed'
    else:
        state_after = 'would_change' if check_mode else 'synced'
    causes = list(plan.get('causes') or [])
    if error.get('cause'):
        causes.append(error['cause'])
    settings = (auth.get('settings') if _ran(auth) else None) or precheck.get('settings') or {}
    summary = dict(
        check_mode=bool(check_mode),
        state_before=plan.get('state_before', 'unknown'),
        state_after=state_after,
        causes=causes,
        actions=actions,
        grant_name=grant_name if _ran(grant) else '',
        client_id=settings.get('client_id') or '',
        last_sync=(sync.get('last_sync') if _ran(sync) else None) or precheck.get('last_sync') or {},
        stopped_by=error.get('task') or ('precheck' if blocking else ''),
    )
    lines = []
    if plan:
        lines.append("vManage's last licence sync before the fix: %s" % _sync_text(precheck.get('last_sync')))
        lines.extend('[%s] %s: %s' % ('FAIL' if finding['blocking'] else 'WARN', finding['code'], finding['detail'])
                     for finding in precheck.get('findings') or [])
        lines.append('plan: %s' % plan.get('text', '-'))
    if plan.get('configure') and not plan.get('create_grant') and not blocking:
        lines.append('grant supplied by the SSM team (ssm_client_id), proven by a token request before the fix')
    if _ran(grant):
        lines.append('grant %s %s%s, client id %s' % (
            grant_name, 'exists' if not grant.get('changed') else '%s %s' % (
                'would be' if check_mode else 'was', 'given a new secret' if rotated else 'created'),
            ', proven by a token request' if grant.get('verified') else '', grant.get('client_id') or 'unknown until it exists'))
    if _ran(auth):
        before = ((auth.get('diff') or {}).get('before') or {}).get('ssmClientId')
        lines.append('settings %s: client id %s%s, mode %s, SSM %s%s' % (
            ('would be stored' if check_mode else 'stored') if auth.get('changed') else 'unchanged',
            '%s -> ' % (before or 'none') if auth.get('changed') and auth.get('diff') else '', settings.get('client_id'),
            settings.get('mode'), settings.get('ssm_url'), '; vManage authenticated' if auth.get('changed') and not check_mode else ''))
    elif plan.get('create_grant') and check_mode and acted and not error:
        lines.append('check mode: the secret of the grant that would be created (or rotated) does not exist yet, so the vManage '
                     'settings cannot be previewed; a real run stores the grant on vManage, authenticates and syncs')
    if _ran(sync):
        lines.append(('licence sync would run' if check_mode else 'licence sync ran: %s' % _sync_text(sync.get('last_sync')))
                     if sync.get('changed') else 'licence sync not needed: %s' % _sync_text(sync.get('last_sync'), sync))
    stop = None
    if error:
        done = ', '.join(actions) if actions else 'nothing'
        msg = '%s stopped at "%s": %s' % (host, error.get('task'), error.get('msg') or 'it failed')
        if error.get('remedy') and error['remedy'] not in msg:
            msg += ' What to do: %s' % error['remedy']
        stop = dict(causes=[error['cause']] if error.get('cause') else [], msg='%s Done before the stop: %s.' % (msg, done))
    elif blocking:
        reasons = ' | '.join('%s (%s): %s. What to do: %s' % (finding['code'], finding['title'], finding['detail'].rstrip('. '),
                                                              finding['remedy']) for finding in blocking)
        stop = dict(causes=[finding['code'] for finding in blocking],
                    msg='%s stopped before any change; this playbook cannot fix %s' % (host, reasons))
    if stop:
        lines.append(stop['msg'])
    return dict(summary=summary, stop=stop, lines=lines)


def fix_batch(hostvars, hosts, check_mode=False):
    """The fix of ``hosts`` from what each registered: ``outcomes`` ({host: fix_outcome}), ``summaries`` ({host: the
    custom stat}), ``to_fix`` (hosts whose plan asks for a change and that have not stopped), ``stopped``, ``lines`` (each
    host that did something, stopped or has a finding, then the others counted) and ``summary`` (the run in a few lines:
    counts per outcome, each stopped host with its causes, and why the run stopped early if it did)."""
    outcomes = {}
    gate_messages = []
    for host in hosts:
        host_vars = hostvars.get(host) or {}
        registered = [host_vars.get(name) for name in _REGISTERED]
        outcomes[host] = fix_outcome(*registered, error=host_vars.get('fix_license_sync_error'), check_mode=check_mode, host=host)
        gate = host_vars.get('fix_license_sync_gate') or {}
        if gate.get('stop') and gate.get('msg') not in gate_messages:
            gate_messages.append(gate['msg'])
    stopped = sorted(host for host, outcome in outcomes.items() if outcome['stop'])
    to_fix = sorted(host for host, outcome in outcomes.items() if outcome['summary']['state_after'] == 'not_processed')
    return dict(outcomes=outcomes, summaries=dict((host, outcome['summary']) for host, outcome in outcomes.items()),
                to_fix=to_fix, stopped=stopped, lines=_host_lines(outcomes),
                summary=_run_lines(outcomes, stopped, gate_messages))


def _host_lines(outcomes):
    lines, quiet = [], []
    for host in sorted(outcomes):
        outcome = outcomes[host]
        summary = outcome['summary']
        if summary['actions'] or outcome['stop'] or summary['causes'] or summary['state_after'] == 'would_change':
            lines.append('%s:' % host)
            lines.extend('  %s' % line for line in outcome['lines'])
        else:
            quiet.append(host)
    if quiet:
        lines.append('%d vManage with nothing to do (the stored grant works and the last sync is fresh or not reported): %s'
                     % (len(quiet), ', '.join(quiet)))
    return lines


def _run_lines(outcomes, stopped, gate_messages):
    counts = dict((state, sorted(host for host, outcome in outcomes.items() if outcome['summary']['state_after'] == state))
                  for state in STATES_AFTER)
    lines = ['%d vManage: %s' % (len(outcomes), ', '.join('%d %s' % (len(hosts), state.replace('_', ' '))
                                                          for state, hosts in counts.items() if hosts) or 'none')]
    lines.append('%d of %d vManage stopped%s' % (len(stopped), len(outcomes), ':' if stopped else '.'))
    lines.extend('%s: %s' % (host, ', '.join(outcomes[host]['stop']['causes']) or 'see its error below') for host in stopped)
    if counts['not_processed']:
        lines.append('not processed (the run stopped before their batch): %s' % ', '.join(counts['not_processed']))
    lines.extend(gate_messages)
    return lines


def fix_batch_gate(hostvars, batch, active, play_hosts, max_fail_percentage=50):
    """Whether the run stops after a batch: more than ``max_fail_percentage`` of its hosts stopped or failed, and hosts
    of the play are still waiting for their batch.

    ``batch``: the hosts the batch started with; ``active``: those still running (``ansible_play_batch``: a host that
    failed outside the role has left it); ``play_hosts``: every host of the play. The batch's outcomes are those the
    role recorded (``fix_license_sync_batch``); a host is still waiting when it registered no result of act.yml.
    """
    failed = []
    for host in batch:
        outcomes = ((hostvars.get(host) or {}).get('fix_license_sync_batch') or {}).get('outcomes') or {}
        if host not in active or (outcomes.get(host) or {}).get('stop'):
            failed.append(host)
    waiting = [host for host in play_hosts if host not in batch and not _acted(hostvars.get(host) or {})]
    limit = int(max_fail_percentage)
    if not waiting or len(failed) * 100 <= len(batch) * limit:
        return dict(stop=False, failed=failed, msg='')
    return dict(stop=True, failed=failed, msg=(
        'The run stopped after a batch in which %d of %d vManage stopped or failed (%s), more than '
        'fix_license_sync_max_fail_percentage (%d %%); %d vManage not processed.'
        % (len(failed), len(batch), ', '.join(failed), limit, len(waiting))))


def _acted(host_vars):
    return 'fix_license_sync_error' in host_vars or any(name in host_vars for name in _REGISTERED[1:])


class FilterModule(object):
    def filters(self):
        return dict(fix_outcome=fix_outcome, fix_batch=fix_batch, fix_batch_gate=fix_batch_gate)
