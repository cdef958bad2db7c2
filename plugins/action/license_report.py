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

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.compliance import LICENSE_REPORT, SSM_VARIABLES, run_compliance
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.compliance_report import write_reports
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils.module_action import ModuleAction


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
    _task_vars = None

    def run(self, tmp=None, task_vars=None):
        self._task_vars = task_vars or {}
        return super(ActionModule, self).run(tmp, task_vars)

    def RUNNER(self, params, ctx):  # pylint: disable=invalid-name  # ModuleAction calls self.RUNNER(params, ctx)
        hosts = self._fleet(params)
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
            fixable_hosts=[r['host'] for r in document['hosts'] if r['state'] == 'broken' and r['fixable']],
            grants=document['grants'],
        )

    def _fleet(self, params):
        """{host: {'info': registered vmanage_license_info result, 'ssm': the host's SSM variables}}."""
        task_vars = self._task_vars
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
