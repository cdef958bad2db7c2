# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of vmanage_license_info: read-only licensing facts of one vManage, in one session.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.checks import live_check, probe


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


def _devices(vmanage):
    """The devices out of licence compliance (one request) as an outcome: a failure is data, not the module's failure."""
    devices, failure = probe(vmanage.device_licenses)
    if failure:
        return dict((key, failure[key]) for key in ('ok', 'cause', 'detail'))
    detail = '%d of %d devices out of licence compliance' % (devices['out_of_compliance'], devices['total'])
    return dict(devices, ok=True, cause=None, detail=detail)


def run_license_info(params, ctx):
    gather = params['gather']
    with ctx.clients.vmanage(params) as vmanage:
        settings = vmanage.license_settings()
        user = vmanage.user_settings()
        ssm_check, accounts = live_check(vmanage, settings, user) if 'ssm_check' in gather else (None, None)
        if ssm_check is not None:
            ssm_check = dict((key, ssm_check[key]) for key in ('ok', 'cause', 'detail'))
        if ssm_check is not None and ssm_check['ok'] is False and ('accounts' in gather or 'licenses' in gather):
            # The same request just failed: asking again would fail the module instead of returning ssm_check.
            ctx.warn('accounts and licenses are null: vManage could not fetch its accounts from SSM On-Prem (%s)'
                     % ssm_check['cause'])
        elif accounts is None and ('accounts' in gather or 'licenses' in gather):
            accounts = vmanage.fetch_accounts()
        licenses = _licenses(vmanage, accounts, ctx) if 'licenses' in gather and accounts is not None else None
        devices = _devices(vmanage) if 'devices' in gather else None
        release = vmanage.release
        dialect = dict(vmanage.observed)
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
        dialect=dialect,
    )
    if ssm_check is not None:
        result['ssm_check'] = ssm_check
    if 'accounts' in gather or 'licenses' in gather:
        result['accounts'] = accounts
    if 'licenses' in gather:
        result['licenses'] = licenses
    if devices is not None:
        result['devices'] = devices
    return result
