# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs sdwan_ops.license_sync.license_report on the controller (documentation: the module of the same name).

The report needs every play host's registered facts and SSM variables, which only the controller
has: this action reads them from ``hostvars`` once, then hands plain data to module_utils.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleError

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import LICENSE_REPORT
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import run
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._action import ModuleAction
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._compliance import SSM_VARIABLES, fixable_hosts, run_compliance
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._report import write_reports


def _variable(host_vars, name):
    """A host variable, templated; None when it is missing or cannot be templated (for example undefined)."""
    if name not in host_vars:
        return None
    try:
        return host_vars[name]
    except AnsibleError:
        return None


class ActionModule(ModuleAction):
    SPEC = LICENSE_REPORT
    # Each host's SSM variables are read per host (_fleet): the run_once host's must not become every host's.
    INVENTORY_OPTIONS = ('timeout', 'retries', 'trace_dir')

    def execute(self, params, ctx, task_vars):
        hosts = self._fleet(params, task_vars)
        return run(lambda params, ctx: self._report(params, ctx, hosts), params, ctx, trace_name='license_report')

    def _report(self, params, ctx, hosts):
        document = run_compliance(params, ctx, hosts)
        stamp = document['generated'].replace('-', '').replace(':', '')
        reports = write_reports(document, os.path.abspath(params['dest']), params['formats'], stamp)
        totals = document['totals']
        return dict(
            changed=False,
            msg='%d hosts: %d compliant, %d broken (%d fixable), %d unreachable, %d auth failed, %d error; reports in %s' % (
                totals['hosts'], totals['compliant'], totals['broken'], totals['fixable'], totals['unreachable'],
                totals['auth_failed'], totals['error'], os.path.abspath(params['dest'])),
            totals=totals,
            reports=reports,
            fixable_hosts=fixable_hosts(document['hosts']),
            grants=document['grants'],
            ssm_servers=document['ssm_servers'],
        )

    def _fleet(self, params, task_vars):
        """{host: {'info': registered vmanage_license_info result, 'ssm': the host's SSM variables}}."""
        names = params['hosts'] if params['hosts'] is not None else task_vars.get('ansible_play_hosts_all', [])
        hostvars = task_vars['hostvars']
        defaults = dict((name, params.get(name)) for name in SSM_VARIABLES)
        fleet = {}
        for name in names:
            host_vars = hostvars[name]
            info = _variable(host_vars, params['facts_var'])
            if not isinstance(info, dict):
                info = dict(failed=True, unreachable=True, msg='no %s result for this host: Ansible did not reach it' % params['facts_var'])
            ssm = dict(defaults)
            for variable in SSM_VARIABLES:
                value = _variable(host_vars, variable)
                if value is not None:
                    ssm[variable] = value
            fleet[name] = dict(info=dict(info), ssm=ssm)
        return fleet
