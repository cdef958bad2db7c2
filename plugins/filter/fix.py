# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the fix playbook after its plan: a host's outcome, whether a batch stops the run, the run's summary.

The plan itself (configure, sync, blocking...) is vmanage_precheck's (module_utils/checks.py); these filters only read
registered results, so the role and the playbook stay straight lists of tasks. Documentation: fix_outcome.yml,
fix_batch_gate.yml, fix_summary.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _ran(result):
    """A registered result of a task that ran (not skipped, not undefined)."""
    return isinstance(result, dict) and not result.get('skipped')


def fix_outcome(precheck, grant=None, auth=None, sync=None, error=None, check_mode=False, grant_name='', rotated=False, host=''):
    """The summary of one host's fix (the ``fix_license_sync`` custom stat), when the fix stopped why (``stop``), and the
    ``lines`` that say what it found and did. Each result may be a skipped task's or missing (the roles ssm_grant and
    vmanage_license show their part alone with an empty ``precheck``)."""
    precheck = precheck if _ran(precheck) else {}
    plan = precheck.get('plan') or {}
    error = error or {}
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
    stop = None
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
    elif plan.get('create_grant') and check_mode and not error:
        lines.append('check mode: the secret of the grant that would be created (or rotated) does not exist yet, so the vManage '
                     'settings cannot be previewed; a real run stores the grant on vManage, authenticates and syncs')
    if _ran(sync):
        lines.append(('licence sync would run' if check_mode else 'licence sync ran: %s' % _sync_text(sync.get('last_sync')))
                     if sync.get('changed') else 'licence sync not needed: %s' % _sync_text(sync.get('last_sync'), sync))
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


def fix_batch_gate(hostvars, batch, active, remaining, max_fail_percentage=50):
    """Whether the run stops after a batch: more than ``max_fail_percentage`` of its hosts stopped or failed.

    ``batch``: the hosts the batch started with; ``active``: those still running (``ansible_play_batch``: a host that
    failed outside the role has left it); ``remaining``: the play's hosts that no batch has processed yet.
    """
    failed = [host for host in batch if host not in active or (hostvars.get(host) or {}).get('fix_license_sync_stop')]
    remaining = sorted(remaining)
    limit = int(max_fail_percentage)
    if not remaining or len(failed) * 100 <= len(batch) * limit:
        return dict(stop=False, failed=failed, msg='')
    return dict(stop=True, failed=failed, msg=(
        'The run stopped after a batch in which %d of %d vManage stopped or failed (%s), more than '
        'fix_license_sync_max_fail_percentage (%d %%). %d vManage not processed: %s'
        % (len(failed), len(batch), ', '.join(failed), limit, len(remaining), ', '.join(remaining))))


def fix_summary(hostvars, hosts):
    """The lines that end a fix run: how many vManage stopped, each with its causes, and why the run stopped early."""
    stopped = sorted(host for host in hosts if (hostvars.get(host) or {}).get('fix_license_sync_stop'))
    gates = [(hostvars.get(host) or {}).get('fix_license_sync_gate') or {} for host in hosts]
    run_stopped = next((gate['msg'] for gate in gates if gate.get('stop')), '')
    lines = ['%d of %d vManage stopped%s' % (len(stopped), len(hosts), ':' if stopped else '.')]
    for host in stopped:
        causes = hostvars[host]['fix_license_sync_stop'].get('causes') or []
        lines.append('%s: %s' % (host, ', '.join(causes) or 'see its error below'))
    if run_stopped:
        lines.append(run_stopped)
    return lines


class FilterModule(object):
    def filters(self):
        return dict(fix_outcome=fix_outcome, fix_batch_gate=fix_batch_gate, fix_summary=fix_summary)
