# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of vmanage_license_info: read-only licensing facts of one vManage, in one session.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError


def _licenses(vmanage, accounts, ctx):
    """The licences vManage holds for every virtual account; None when its release has no licence API."""
    licenses = []
    for account in accounts:
        for virtual_account in account.get('virtual_accounts', []):
            rows = vmanage.licenses(virtual_account['virtual_account_id'])
            if rows is None:
                ctx.warn('vManage %s has no API that lists its licences (it arrived in 20.15); licenses is null' % vmanage.release)
                return None
            licenses.extend(dict(row, virtual_account_id=virtual_account['virtual_account_id']) for row in rows)
    return licenses


def _ssm_check(vmanage, settings, user):
    """(``{ok, cause, detail}``, accounts): vManage asks SSM On-Prem for its accounts with the grant and SSM user it stores.

    A read (GET fetchAccounts) that makes vManage request a token from SSM On-Prem now, so it proves what the last
    sync cannot: DNS, the path and TLS from vManage, SSM's backend, the grant and the stored SSM user. Its failure is
    a fact to report, not a failure of the module. Not asked (ok None) when the settings show it cannot work.
    """
    missing = [what for what, present in (('on-prem mode', settings['mode'] == 'on-prem'), ('an SSM URL', settings['ssm_url']),
                                          ('a client ID and secret', settings['client_id'] and settings['secret_stored']),
                                          ('an SSM user', user['credentials_stored'])) if not present]
    if missing:
        return dict(ok=None, cause=None, detail='not asked: vManage has no %s' % ', '.join(missing)), None
    try:
        accounts = vmanage.fetch_accounts()
    except LicenseSyncError as error:
        return dict(ok=False, cause=error.cause, detail=error.detail), None
    return dict(ok=True, cause=None, detail='SSM On-Prem gave vManage a token and %d smart account(s)' % len(accounts)), accounts


def run_license_info(params, ctx):
    gather = params['gather']
    # Only reads in this session: the XSRF token comes with the server info instead of a request of its own.
    with ctx.clients.vmanage(params, read_only=True) as vmanage:
        settings = vmanage.license_settings()
        user = vmanage.user_settings()
        ssm_check, accounts = _ssm_check(vmanage, settings, user) if 'ssm_check' in gather else (None, None)
        if accounts is None and ('accounts' in gather or 'licenses' in gather):
            accounts = vmanage.fetch_accounts()
        licenses = _licenses(vmanage, accounts, ctx) if 'licenses' in gather else None
        release = vmanage.release
    result = dict(
        changed=False,
        release=release,
        mode=settings['mode'],
        ssm_url=settings['ssm_url'],
        client_id=settings['client_id'],
        client_secret_stored=settings['secret_stored'],
        credentials_stored=user['credentials_stored'],
        ssm_username=user.get('user'),
        last_sync=user['last_sync'],
    )
    if ssm_check is not None:
        result['ssm_check'] = ssm_check
    if 'accounts' in gather or 'licenses' in gather:
        result['accounts'] = accounts
    if 'licenses' in gather:
        result['licenses'] = licenses
    return result
