# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of vmanage_license_auth: on-prem mode, SSM URL and grant on vManage, proven by authenticate.

FOR INTERNAL COLLECTION USE ONLY.

vManage never returns the stored client secret, so a write cannot be undone exactly. The module
therefore checks before it writes: the given credentials with a token request from the controller,
and vManage's own view of the SSM it keeps using (a read, fetchAccounts) - when vManage cannot reach
that SSM, no write helps. It writes only when the readable settings (mode, URL, client id) or the
stored SSM user differ, when vManage no longer authenticates with what it stores, or with
``update_secret: always``. When vManage still fails to authenticate after the write, only a
consistent set is put back: a client id never goes back without its secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.checks import require_on_prem_release
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError, failure_result
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import same_url
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import SECRET_CHANGED, SECRET_HIDDEN

# Causes of a refused token request that writing the settings and authenticating again can fix.
CREDENTIAL_CAUSES = frozenset(('GRANT_NOT_FOUND', 'SSM_BAD_USER_CREDENTIALS', 'SSM_GRANT_TYPE_MISMATCH', 'CREDENTIALS_MISSING'))


def prove_grant(params, ctx):
    """Token request with the given client id/secret and SSM user (controller to SSM); raises the cause."""
    with ctx.clients.ssm(params) as ssm:
        ssm.request_token(params['ssm_client_id'], params['ssm_client_secret'], grant_type='password',
                          username=params['ssm_username'], password=params['ssm_password'])


def stored_config_authenticates(vmanage):
    """Whether vManage authenticates to SSM On-Prem with what it stores (grant and SSM user), without writing.

    fetchAccounts makes vManage request a token from SSM On-Prem with its stored client id, secret, user
    and password, as authenticate does, but it is a read. A refusal of those credentials means they
    must be written again; any other failure (SSM unreachable from vManage...) no write can fix.
    """
    try:
        vmanage.fetch_accounts()
    except LicenseSyncError as error:
        if error.cause in CREDENTIAL_CAUSES:
            return False
        raise
    return True


def _view(settings, secret):
    return dict(mode=settings.get('mode'), ssmServerUrl=settings.get('ssm_url'), ssmClientId=settings.get('client_id'),
                ssmClientSecret=secret)


def run_license_auth(params, ctx):
    desired = dict(mode=params['mode'], ssm_url=params['ssm_url'], client_id=params['ssm_client_id'])
    with ctx.clients.vmanage(params) as vmanage:
        require_on_prem_release(vmanage)
        current = vmanage.license_settings()
        user = vmanage.user_settings()
        prove_grant(params, ctx)

        same_server = current.get('mode') == desired['mode'] and same_url(current.get('ssm_url'), desired['ssm_url'])
        # secret_stored None: vManage does not show whether it stores a secret; its use by fetchAccounts below tells.
        secret_possible = current.get('secret_stored') is not False
        readable_match = same_server and current.get('client_id') == desired['client_id'] and secret_possible
        stored_user_match = bool(user.get('credentials_stored')) and user.get('user') == params['ssm_username']
        # Probed even when the settings will change: if vManage cannot reach this SSM, no write helps, and none can be undone.
        stored_config_complete = same_server and current.get('client_id') and secret_possible and user.get('credentials_stored')
        stored_authenticates = bool(stored_config_complete) and stored_config_authenticates(vmanage)
        unchanged = readable_match and stored_user_match and params['update_secret'] == 'on_create' and stored_authenticates

        shown = current if unchanged else desired
        result = dict(
            changed=not unchanged,
            settings=dict(mode=shown['mode'], ssm_url=shown['ssm_url'], client_id=shown['client_id']),
            authenticated=bool(unchanged),
            restored=False,
        )
        if ctx.diff:
            before = _view(current, SECRET_HIDDEN if current.get('client_id') and current.get('secret_stored') is not False else None)
            after = before if unchanged else _view(desired, SECRET_CHANGED)
            result['diff'] = dict(before=before, after=after)
        if unchanged or ctx.check_mode:
            return result

        vmanage.put_license_settings(desired['mode'], desired['ssm_url'], desired['client_id'],
                                     client_secret=params['ssm_client_secret'])
        try:
            vmanage.authenticate(params['ssm_username'], params['ssm_password'])
        except LicenseSyncError as error:
            return _after_failed_authenticate(vmanage, current, desired, params, error, ctx)
    result['authenticated'] = True
    return result


def _settings_text(settings):
    return 'mode %s, SSM URL %s, client id %s' % (settings.get('mode'), settings.get('ssm_url'), settings.get('client_id'))


def _after_failed_authenticate(vmanage, previous, desired, params, error, ctx):
    """The failed result after vManage refused to authenticate with the new settings, which SSM accepted from the controller.

    The previous secret is unknown (vManage masks it), and a client id stored with another grant's secret
    never authenticates. So the previous mode and SSM URL are put back only when the client id did not
    change (the stored pair stays that grant's id and its proven secret); a previous client id is never
    put back. The message says which settings vManage is left with.
    """
    same_grant = previous.get('client_id') == desired['client_id']
    readable_changed = previous.get('mode') != desired['mode'] or not same_url(previous.get('ssm_url'), desired['ssm_url'])
    left, restored = desired, False
    if same_grant and readable_changed:
        try:
            vmanage.put_license_settings(previous.get('mode'), previous.get('ssm_url'), desired['client_id'],
                                         client_secret=params['ssm_client_secret'])
        except LicenseSyncError as restore_error:
            ctx.warn('putting back the previous licensing mode and SSM URL failed: %s' % restore_error.detail)
            outcome = ('Putting back the previous mode and SSM URL failed as well (%s); vManage most likely stores the new '
                       'settings (%s). Check Administration > Settings > Smart Licensing on vManage, fix the cause, and run '
                       'again.' % (restore_error.detail.rstrip('. '), _settings_text(desired)))
        else:
            left, restored = dict(desired, mode=previous.get('mode'), ssm_url=previous.get('ssm_url')), True
            outcome = ('The previous mode and SSM URL were put back with the same client id and the secret SSM On-Prem '
                       'accepted: vManage stores %s, as before this run. Fix the cause, then run again.' % _settings_text(left))
    elif same_grant:
        outcome = ('vManage keeps %s, as before this run, now with the secret SSM On-Prem accepted from the controller. '
                   'Fix the cause, then run again.' % _settings_text(desired))
    else:
        outcome = ('vManage now stores the new settings (%s); SSM On-Prem accepted that client id, secret and user from the '
                   'controller, so what failed is between vManage and SSM On-Prem. The previous client id %s was not put '
                   'back: vManage does not return its secret, and a client id without its own secret never authenticates. '
                   'Fix the cause, then run again; to return to the previous grant instead, run vmanage_license_auth with '
                   'its client id and secret.' % (_settings_text(desired), previous.get('client_id') or '(none)'))
    failed = failure_result(error, restored=restored, authenticated=False, changed=True,
                            settings=dict(mode=left['mode'], ssm_url=left['ssm_url'], client_id=left['client_id']))
    failed['msg'] = 'vManage could not authenticate to SSM On-Prem with the new settings: %s %s' % (failed.get('msg', ''), outcome)
    return failed
