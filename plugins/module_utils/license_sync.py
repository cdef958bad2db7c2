# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of vmanage_license_sync: "Sync Licenses & Refresh Devices", waited for, idempotent by freshness.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.checks import require_on_prem_release
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.vmanage import classify_vmanage_error


def _listing(items, id_key):
    return ', '.join('%s (id %s)' % (item.get('name'), item.get(id_key)) for item in items) or 'none'


def _find(items, wanted, id_key):
    """The item whose id or name is ``wanted``, or None."""
    return next((item for item in items if wanted in (str(item.get(id_key)), item.get('name'))), None)


def _named(items, wanted, id_key, kind, parent=''):
    """The item whose id or name is ``wanted``; INVALID_INPUT listing the known ones when there is none."""
    item = _find(items, wanted, id_key)
    if item is None:
        raise LicenseSyncError('INVALID_INPUT', '%s %r not found%s; vManage lists: %s' % (kind, wanted, parent, _listing(items, id_key)))
    return item


def select_accounts(accounts, smart_account, virtual_account, ctx):
    """(smart account, virtual account) from fetchAccounts, by name or id, else SSM On-Prem's defaults.

    The smart account is the one named, else the only one (or the only one that has ``virtual_account``).
    vManage does not flag SSM's default local account; SSM On-Prem lists it first [inferred], so when
    nothing decides between several accounts the first is used, with a warning: that choice is a guess.
    A virtual account defaults to the one flagged default, or the only one.
    """
    if not accounts:
        raise LicenseSyncError('SYNC_FAILED', 'vManage lists no smart account on SSM On-Prem')
    if smart_account:
        account = _named(accounts, smart_account, 'account_id', 'smart account')
    else:
        holding = [item for item in accounts
                   if virtual_account and _find(item.get('virtual_accounts') or [], virtual_account, 'virtual_account_id')]
        candidates = holding or accounts
        account = candidates[0]
        if len(candidates) > 1:
            ctx.warn('several smart accounts and no smart_account (or ssm_account) given: syncing %r, the first vManage lists, '
                     'of %s' % (account.get('name'), _listing(candidates, 'account_id')))
    virtual_accounts = account.get('virtual_accounts') or []
    parent = ' in smart account %r' % account.get('name')
    if virtual_account:
        return account, _named(virtual_accounts, virtual_account, 'virtual_account_id', 'virtual account', parent)
    defaults = [va for va in virtual_accounts if va.get('default')] or (virtual_accounts if len(virtual_accounts) == 1 else [])
    if not defaults:
        raise LicenseSyncError('INVALID_INPUT', 'no default virtual account%s; set virtual_account to one of: %s' % (
            parent, _listing(virtual_accounts, 'virtual_account_id')))
    return account, defaults[0]


def wait_for_sync(vmanage, previous_time, params, ctx):
    """Poll user settings until a sync newer than ``previous_time`` is recorded; its record, or SYNC_TIMEOUT.

    Only for a vManage that reports last-sync fields (user_settings ``last_sync.reported``): without them there is
    nothing to wait for, and the sync call's own answer is the result.
    """
    deadline = time.time() + params['wait_timeout']
    sleep = max(1, params['wait_sleep'])
    polls = params['wait_timeout'] // sleep + 1
    last = None
    for _poll in range(polls + 1):
        last = vmanage.user_settings()['last_sync']
        if not last['reported']:
            return None
        if last.get('time') is not None and last.get('time') != previous_time:
            return last
        if time.time() + sleep > deadline:
            break
        ctx.debug('license sync not recorded yet; next poll in %d s' % sleep)
        time.sleep(sleep)
    last = last or {}
    raise LicenseSyncError(
        'SYNC_TIMEOUT',
        'task "Sync Licenses & Refresh Devices" on vManage recorded no result within %d s; last recorded sync: %s (ok: %s%s)' % (
            params['wait_timeout'], last.get('time') or 'never', last.get('ok'),
            ', error: %s' % last['error'] if last.get('error') else ''),
    )


def _sync_failure(record):
    error = record.get('error') or 'vManage recorded a failed sync without a message'
    cause = classify_vmanage_error(error)
    return LicenseSyncError(cause if cause not in (None, 'HTTP_ERROR', 'BAD_RESPONSE') else 'SYNC_FAILED',
                            'vManage recorded a failed licence sync: %s' % error)


def _answered_sync():
    """The last-sync record of a vManage that reports none: the sync call answered 200, now (controller clock)."""
    return dict(time=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z', age_s=0, ok=True,
                error=None, reported=False)


def run_license_sync(params, ctx):
    with ctx.clients.vmanage(params) as vmanage:
        require_on_prem_release(vmanage)
        before = vmanage.user_settings()
        if before.get('mode') != 'on-prem':
            raise LicenseSyncError('MODE_NOT_ONPREM', 'vManage licensing mode is %r, not on-prem' % before.get('mode'))
        last_sync = before['last_sync']
        result = dict(changed=False, synced=False, last_sync=last_sync)
        accounts = None
        if not params['force']:
            if last_sync['reported']:
                if last_sync['ok'] and last_sync['age_s'] is not None and last_sync['age_s'] <= params['max_age']:
                    return result
            else:
                # No last-sync record to judge freshness by (Cisco documents none): vManage proving now that its stored
                # grant and SSM user work (fetchAccounts, a read) is the freshness test; a failure of it means sync.
                # One text for every host: Ansible shows a repeated warning once per run.
                ctx.warn('vManage does not report its last licence sync (no lastSyncTime in its user settings, as Cisco '
                         'documents them): max_age cannot apply, so vmanage_license_sync syncs only when vManage fails to '
                         'fetch its accounts from SSM On-Prem with the stored grant (force: true syncs anyway)')
                accounts = _live_accounts(vmanage)
                if accounts is not None:
                    result['verified_by'] = 'fetchAccounts'
                    return result
        result['changed'] = True
        if ctx.check_mode:
            return result

        if params['authenticate']:
            vmanage.authenticate(params['ssm_username'], params['ssm_password'])
            accounts = None
        account, virtual_account = select_accounts(accounts or vmanage.fetch_accounts(),
                                                   params['smart_account'] or params.get('ssm_account'),
                                                   params['virtual_account'], ctx)
        vmanage.sync(account, virtual_account, params['license_type'])
        result['accounts'] = [dict(account, virtual_accounts=[virtual_account])]
        if not params['wait']:
            return result
        record = wait_for_sync(vmanage, last_sync.get('time'), params, ctx) if last_sync['reported'] else None
        if record is None:
            record = _answered_sync()
        elif not record.get('ok'):
            raise _sync_failure(record)
        result.update(synced=True, last_sync=record,
                      licenses=vmanage.licenses(virtual_account['virtual_account_id'], params['license_type']))
    return result


def _live_accounts(vmanage):
    """fetchAccounts' accounts when vManage authenticates to SSM On-Prem with what it stores, else None (a sync is due)."""
    try:
        return vmanage.fetch_accounts()
    except LicenseSyncError as error:
        if error.cause == 'SSM_BUSY':
            raise
        return None
