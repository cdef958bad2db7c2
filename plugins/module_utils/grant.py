# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of ssm_grant: an SSM On-Prem API Toolkit grant by name, or the proof that given credentials work.

FOR INTERNAL COLLECTION USE ONLY.

A grant this run created and whose proof (token request) then fails is deleted again: it never worked
and nothing can have used it, so a failed run leaves nothing on SSM On-Prem. A rotated grant is kept
when its new secret fails: it existed before the run (vManage or other tools may know its client id),
its old secret is gone either way, and the failure is usually the SSM user's, not the grant's.

Concurrent runs: SSM On-Prem refuses a second grant of the same name (HTTP 422 "Name has already been
taken"), so the runs that lose a creation race adopt the grant the winner created, as they would
had they listed it a moment later.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError, failure_result
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import SECRET_CHANGED, SECRET_HIDDEN

# The API Toolkit does not publish its limit; 100 characters stay well inside what a Rails string column
# accepts and leave room for the default name license-sync-<inventory_hostname>.
NAME_MAX_CHARS = 100


def _age_key(grant):
    """Sort key: oldest first (creation time, then numeric id)."""
    grant_id = str(grant.get('id'))
    return (grant.get('created') or '', (0, int(grant_id), '') if grant_id.isdigit() else (1, 0, grant_id))


def _public(grant):
    return dict(id=grant.get('id'), name=grant.get('name'), type=grant.get('type'), client_id=grant.get('client_id'),
                created=grant.get('created'), account_id=grant.get('account_id'))


def _diff_view(grant, secret):
    if not grant:
        return {}
    return dict(name=grant.get('name'), type=grant.get('type'), client_id=grant.get('client_id'), client_secret=secret)


def token_user(params):
    """(user, password) of the password grant: ssm_username, else the admin user (SSM On-Prem's admin is also a local user)."""
    if params.get('ssm_username'):
        return params['ssm_username'], params.get('ssm_password')
    return params.get('ssm_admin_username'), params.get('ssm_admin_password')


def prove(ssm, client_id, client_secret, grant_type, params):
    """Token request with the grant's credentials; raises GRANT_NOT_FOUND, SSM_BAD_USER_CREDENTIALS... on failure."""
    if grant_type == 'resource_owner':
        username, password = token_user(params)
        ssm.request_token(client_id, client_secret, grant_type='password', username=username, password=password)
    else:
        ssm.request_token(client_id, client_secret, grant_type='client_credentials')


def validate_name(name):
    """INVALID_INPUT unless ``name`` is a grant name SSM On-Prem stores and lists back exactly as given."""
    problem = None
    if not name or not name.strip():
        problem = 'is empty'
    elif len(name) > NAME_MAX_CHARS:
        problem = 'has %d characters; at most %d are allowed' % (len(name), NAME_MAX_CHARS)
    elif not name.isprintable():
        problem = 'contains a control or other non-printable character (for example a newline or a tab)'
    elif name != name.strip():
        problem = 'starts or ends with white space'
    if problem:
        shown = repr(name) if len(name) <= 60 else '%r... (%d characters)' % (name[:40], len(name))
        raise LicenseSyncError('INVALID_INPUT', 'the grant name (ssm_grant option name) %s %s' % (shown, problem), remedy=(
            'Set name (role variable ssm_grant_name) to at most %d printable characters without leading or trailing spaces, '
            'for example license-sync-vmanage1; letters of any script are fine.' % NAME_MAX_CHARS))


def _reworded(error, detail):
    """``error`` with another detail (same cause, URL, status, response and remedy)."""
    return LicenseSyncError(error.cause, detail, url=error.url, status=error.status, body=error.body_excerpt,
                            body_quoted=error.body_quoted, remedy=error.remedy)


def _account_id(ssm, wanted):
    if not wanted:
        return None
    accounts = ssm.accounts()
    for account in accounts:
        if wanted in (str(account.get('id')), account.get('name')):
            return account['id']
    raise LicenseSyncError('INVALID_INPUT', 'SSM On-Prem has no local account %r; it has: %s' % (
        wanted, ', '.join('%s (id %s)' % (account.get('name'), account.get('id')) for account in accounts) or 'none'))


class GrantRun:
    def __init__(self, params, ctx, ssm, account):
        self.params = params
        self.ctx = ctx
        self.ssm = ssm
        self.name = params['name']
        self.account = account

    def named(self):
        return sorted((grant for grant in self.ssm.grants.list(account=self.account) if grant.get('name') == self.name), key=_age_key)

    def present(self):
        existing = self.named()
        if len(existing) > 1:
            self.ctx.warn('%d grants are named %r; using the oldest (id %s)' % (len(existing), self.name, existing[0]['id']))
        grant = existing[0] if existing else None
        if grant:
            self._require_type(grant)
        if grant and self.params['description'] not in (None, grant.get('description')):
            self.ctx.warn('grant %r keeps its description: the API Toolkit cannot edit a grant' % self.name)

        rotate = bool(grant) and self.params['rotate']
        changed = grant is None or rotate
        result = dict(changed=changed, verified=False, name=self.name, rotated=rotate)
        if self.ctx.diff:
            after = _diff_view(grant or dict(name=self.name, type=self.params['grant_type']),
                               SECRET_CHANGED if changed else SECRET_HIDDEN)
            result['diff'] = dict(before=_diff_view(grant, SECRET_HIDDEN), after=after)
        if self.ctx.check_mode:
            if grant:
                result.update(grant=_public(grant), client_id=grant.get('client_id'))
                if not rotate:  # reading the secret is a read; a rotation's new secret does not exist yet
                    self._read_secret(result, grant)
            return result

        created_here = False
        if grant is None:
            grant, created_here = self._create()
            if not created_here:
                result['changed'] = False
                if self.ctx.diff:
                    result['diff'] = dict(before=_diff_view(grant, SECRET_HIDDEN), after=_diff_view(grant, SECRET_HIDDEN))
        elif rotate:
            grant = self.ssm.grants.regenerate_secret(grant['id'])
        result.update(grant=_public(grant), client_id=grant.get('client_id'))
        # A grant new to this run (created, rotated, or adopted from a parallel run) is proven when its secret is known.
        if changed and self.params['verify'] and grant.get('client_secret'):
            try:
                prove(self.ssm, grant['client_id'], grant['client_secret'], self.params['grant_type'], self.params)
            except LicenseSyncError as error:
                return self._failed_proof(result, grant, error, created_here, rotate)
            result['verified'] = True
        self._read_secret(result, grant)
        return result

    def _require_type(self, grant):
        if grant.get('type') != self.params['grant_type']:
            raise LicenseSyncError('SSM_GRANT_TYPE_MISMATCH', 'it exists with type %s, not %s; delete it or choose another name' % (
                grant.get('type'), self.params['grant_type']))

    def _create(self):
        """Create the grant: (grant, whether this run's copy is the one kept).

        When a parallel run created one of the same name first, SSM On-Prem refuses this run's creation
        (HTTP 422, name taken) and this run adopts that grant; where SSM accepts both, only the oldest is kept.
        A creation answered with a server error may or may not have happened: the grant is looked up by name
        and adopted when it is there, else created again (at most ``retries`` more times).
        """
        attempts = 1 + max(0, self.params.get('retries') or 0)
        for attempt in range(1, attempts + 1):
            try:
                created = self.ssm.grants.create(self.name, self.params['grant_type'], self.params['description'], account=self.account)
                break
            except LicenseSyncError as error:
                server_error = (error.status or 0) >= 500
                existing = self.named() if error.status == 422 or server_error else []
                if existing:
                    self._require_type(existing[0])
                    how = ('another run created grant %r at the same time' % self.name if error.status == 422 else
                           'SSM On-Prem answered HTTP %d to the creation of grant %r but holds it' % (error.status, self.name))
                    self.ctx.warn('%s; using it (id %s)' % (how, existing[0]['id']))
                    return self.ssm.grants.get(existing[0]['id']), False
                if not server_error or attempt == attempts:
                    raise
                self.ctx.warn('SSM On-Prem answered HTTP %d to the creation of grant %r and holds no grant of that name; '
                              'creating it again (attempt %d of %d)' % (error.status, self.name, attempt + 1, attempts))
        oldest = self.named()[0]
        if str(oldest.get('id')) == str(created.get('id')):
            return created, True
        self.ssm.grants.delete(created['id'])
        self.ctx.warn('another run created grant %r at the same time; deleted this run\'s copy (id %s) and kept id %s' % (
            self.name, created['id'], oldest['id']))
        return self.ssm.grants.get(oldest['id']), False

    def _failed_proof(self, result, grant, error, created_here, rotated):
        """The failed result after a token request with a created or rotated grant failed; a grant created here is deleted."""
        outcome = dict(result)
        if created_here:
            try:
                self.ssm.grants.delete(grant['id'])
            except LicenseSyncError as delete_error:
                what = ('This run had just created the grant but could not delete it (%s): delete it in the API Toolkit, '
                        'or run again once the cause is fixed.' % delete_error.detail)
            else:
                what = 'This run had just created the grant and deleted it again: nothing is left on SSM On-Prem.'
                outcome = dict(changed=False, verified=False)
        elif rotated:
            what = ('Its secret was rotated, so the previous secret no longer works; the grant was kept because it existed '
                    'before this run. Fix the cause, then run again without rotate: the new secret is read back and can be '
                    'stored on vManage (vmanage_license_auth update_secret: always).')
        else:
            what = 'Another run created this grant at the same time; it was kept.'
        detail = 'a token request with grant %r (client id %s) failed: %s. %s' % (
            self.name, grant['client_id'], error.detail.rstrip('. '), what)
        return failure_result(_reworded(error, detail), **outcome)

    def _read_secret(self, result, grant):
        """Return the grant's secret (read from the API Toolkit unless this run just got it) under no_log only."""
        if not self.ctx.no_log:
            self.ctx.warn('client_secret is returned only when the task sets no_log: true, so that it never reaches the output')
            return
        secret = grant.get('client_secret') or self.ssm.grants.get(grant['id']).get('client_secret')
        if secret:
            result['client_secret'] = secret

    def absent(self):
        existing = self.named()
        result = dict(changed=bool(existing), verified=False)
        if self.ctx.diff:
            result['diff'] = dict(before=_diff_view(existing[0], SECRET_HIDDEN) if existing else {}, after={})
        if not self.ctx.check_mode:
            for grant in existing:
                self.ssm.grants.delete(grant['id'])
        return result


def run_ssm_grant(params, ctx):
    with ctx.clients.ssm(params) as ssm:
        if params['state'] == 'verified':
            prove(ssm, params['ssm_client_id'], params['ssm_client_secret'], params['grant_type'], params)
            return dict(changed=False, verified=True, client_id=params['ssm_client_id'])
        validate_name(params['name'])
        admin_password = params.get('ssm_admin_password') or params.get('ssm_password')
        if not admin_password:
            raise LicenseSyncError('INVALID_INPUT', 'managing grants needs ssm_admin_password (or ssm_password)')
        try:
            ssm.admin_login(params.get('ssm_admin_username') or params['ssm_username'], admin_password)
            run = GrantRun(params, ctx, ssm, _account_id(ssm, params.get('ssm_account')))
            return run.present() if params['state'] == 'present' else run.absent()
        except LicenseSyncError as error:
            # Names the grant: the task name is the same for every host of a play.
            raise _reworded(error, 'grant %r (state %s): %s' % (params['name'], params['state'], error.detail))
