# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs: the option groups of docs/dev/interfaces.md section 2 and one spec per module.

FOR INTERNAL COLLECTION USE ONLY. The doc fragments vmanage, ssm and http document these groups;
a module's spec is what both its action plugin and its AnsibleModule validate against.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.checks import CHECKS, ON_PREM_MIN_RELEASE
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import ssm_base_url


def non_empty_env_fallback(*names):
    """env_fallback that treats an empty variable as unset.

    AWX renders an empty optional credential field as an empty environment variable; it must not
    override the option's default (port 443, the trust store, the licensing user...).
    """
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


def _env(name):
    return (non_empty_env_fallback, [name])


VMANAGE_OPTIONS = dict(
    vmanage_host=dict(type='str', required=True, fallback=_env('VMANAGE_HOST')),
    vmanage_port=dict(type='int', fallback=_env('VMANAGE_PORT')),
    vmanage_username=dict(type='str', required=True, fallback=_env('VMANAGE_USERNAME')),
    vmanage_password=dict(type='str', required=True, no_log=True, fallback=_env('VMANAGE_PASSWORD')),
    vmanage_validate_certs=dict(type='bool', default=True, fallback=_env('VMANAGE_VALIDATE_CERTS')),
    vmanage_ca_path=dict(type='path', fallback=_env('VMANAGE_CA_PATH')),
    vmanage_proxy=dict(type='str', fallback=_env('VMANAGE_PROXY')),
)

SSM_OPTIONS = dict(
    ssm_url=dict(type='str', fallback=_env('SSM_URL')),
    ssm_username=dict(type='str', fallback=_env('SSM_USERNAME')),
    ssm_password=dict(type='str', no_log=True, fallback=_env('SSM_PASSWORD')),
    ssm_admin_username=dict(type='str', fallback=_env('SSM_ADMIN_USERNAME')),
    ssm_admin_password=dict(type='str', no_log=True, fallback=_env('SSM_ADMIN_PASSWORD')),
    ssm_client_id=dict(type='str', fallback=_env('SSM_CLIENT_ID')),
    ssm_client_secret=dict(type='str', no_log=True, fallback=_env('SSM_CLIENT_SECRET')),
    ssm_account=dict(type='str', fallback=_env('SSM_ACCOUNT')),
    ssm_validate_certs=dict(type='bool', default=True, fallback=_env('SSM_VALIDATE_CERTS')),
    ssm_ca_path=dict(type='path', fallback=_env('SSM_CA_PATH')),
    ssm_proxy=dict(type='str', fallback=_env('SSM_PROXY')),
)

HTTP_OPTIONS = dict(
    timeout=dict(type='int', default=30, fallback=_env('LICENSE_SYNC_TIMEOUT')),
    retries=dict(type='int', default=3, fallback=_env('LICENSE_SYNC_RETRIES')),
    trace_dir=dict(type='path', fallback=_env('LICENSE_SYNC_TRACE_DIR')),
)

# The inventory variable each connection option reads when the task does not set it (before its environment variable):
# connection options live once, in inventory or group vars, for every module of every play.
INVENTORY_VARIABLES = dict((name, name) for name in list(VMANAGE_OPTIONS) + list(SSM_OPTIONS))
INVENTORY_VARIABLES.update(timeout='license_sync_timeout', retries='license_sync_retries', trace_dir='license_sync_trace_dir')


def with_normalized_urls(params):
    """``params`` with ``ssm_url`` as ``https://host:port``, as vManage must store it and every client uses it.

    An operator may type ``host``, ``host:port`` or ``https://host[:port]/``; other schemes, paths and credentials in the
    URL are INVALID_INPUT naming the option. Both executors call this before a module's runner (runner.run).
    """
    if not params.get('ssm_url'):
        return params
    normalized = dict(params)
    normalized['ssm_url'] = ssm_base_url(params['ssm_url'])
    return normalized


def _options(*groups, **module_options):
    merged = {}
    for group in groups:
        merged.update(copy.deepcopy(group))
    for name, overrides in module_options.items():
        merged.setdefault(name, {}).update(overrides)
    return merged


def _spec(argument_spec, **rules):
    spec = dict(argument_spec=argument_spec, supports_check_mode=True)
    spec.update(rules)
    return spec


VMANAGE_PRECHECK = _spec(_options(
    VMANAGE_OPTIONS, SSM_OPTIONS, HTTP_OPTIONS,
    min_release=dict(type='str', default=ON_PREM_MIN_RELEASE),
    checks=dict(type='list', elements='str', choices=list(CHECKS), default=list(CHECKS)),
    vpn=dict(type='str', default='0'),
    fail_on=dict(type='list', elements='str', default=[]),
    max_age=dict(type='int', default=86400),
    diagnose=dict(type='str', choices=['always', 'on_failure'], default='always'),
), required_together=[['ssm_client_id', 'ssm_client_secret']])

SSM_GRANT = _spec(_options(
    SSM_OPTIONS, HTTP_OPTIONS,
    ssm_url=dict(required=True),
    name=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent', 'verified'], default='present'),
    grant_type=dict(type='str', choices=['resource_owner', 'client_credentials'], default='resource_owner'),
    description=dict(type='str'),
    rotate=dict(type='bool', default=False),
    verify=dict(type='bool', default=True),
), required_if=[
    ['state', 'present', ['name']],
    ['state', 'absent', ['name']],
    ['state', 'present', ['ssm_admin_username', 'ssm_username'], True],
    ['state', 'absent', ['ssm_admin_username', 'ssm_username'], True],
    ['state', 'verified', ['ssm_client_id', 'ssm_client_secret']],
])

VMANAGE_LICENSE_AUTH = _spec(_options(
    VMANAGE_OPTIONS, SSM_OPTIONS, HTTP_OPTIONS,
    ssm_url=dict(required=True),
    ssm_client_id=dict(required=True),
    ssm_client_secret=dict(required=True),
    ssm_username=dict(required=True),
    ssm_password=dict(required=True),
    mode=dict(type='str', choices=['on-prem'], default='on-prem'),
    update_secret=dict(type='str', choices=['on_create', 'always'], default='on_create', no_log=False),
))

VMANAGE_LICENSE_SYNC = _spec(_options(
    VMANAGE_OPTIONS, SSM_OPTIONS, HTTP_OPTIONS,
    authenticate=dict(type='bool', default=True),
    smart_account=dict(type='str'),
    virtual_account=dict(type='str'),
    license_type=dict(type='str', choices=['prepaid', 'postpaid'], default='prepaid'),
    max_age=dict(type='int', default=86400),
    force=dict(type='bool', default=False),
    wait=dict(type='bool', default=True),
    wait_timeout=dict(type='int', default=300),
    wait_sleep=dict(type='int', default=5),
), required_if=[['authenticate', True, ['ssm_username', 'ssm_password']]])

VMANAGE_LICENSE_INFO = _spec(_options(
    VMANAGE_OPTIONS, HTTP_OPTIONS,
    gather=dict(type='list', elements='str', choices=['accounts', 'licenses', 'ssm_check', 'devices'], default=[]),
))

# The SSM On-Prem connection alone: what license_report validates each host's SSM variables against.
SSM_CONNECTION = _spec(_options(SSM_OPTIONS, HTTP_OPTIONS))

LICENSE_REPORT = _spec(_options(
    SSM_OPTIONS, HTTP_OPTIONS,
    hosts=dict(type='list', elements='str'),
    facts_var=dict(type='str', default='license_compliance_info'),
    dest=dict(type='path', default='reports'),
    formats=dict(type='list', elements='str', choices=['json', 'junit', 'html', 'prometheus'], default=['json', 'junit', 'html']),
    title=dict(type='str', default='SD-WAN licence compliance'),
    max_sync_age=dict(type='int', default=86400),
    min_release=dict(type='str', default=ON_PREM_MIN_RELEASE),
    verify_grants=dict(type='bool', default=True),
    source=dict(type='str', choices=['facts', 'stats'], default='facts'),
    stale_before=dict(type='str'),
    run_started=dict(type='float'),
))

_SPEC_RULES = ('mutually_exclusive', 'required_together', 'required_one_of', 'required_if', 'required_by')


def validator(spec):
    """An ArgumentSpecValidator for a module spec of this file, with its rules (required_if...)."""
    return ArgumentSpecValidator(spec['argument_spec'], **dict((rule, spec[rule]) for rule in _SPEC_RULES if rule in spec))


def validated(spec, args, what):
    """``args`` validated against ``spec`` (defaults filled in); INVALID_INPUT naming ``what`` when they are not valid."""
    result = validator(spec).validate(args)
    if result.error_messages:
        raise LicenseSyncError('INVALID_INPUT', '%s: %s' % (what, result.error_messages[0]))
    return result.validated_parameters
