# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs sdwan_ops.license_sync.license_report on the controller (documentation: the module of the same name).

The report needs every play host's registered facts and SSM variables, which only the controller
has: this action reads them from ``hostvars`` once (or, with ``source: stats``, the host-keyed
set_stats records of a sliced run from the task's variables), then hands plain data to plugin_utils.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleError

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import LICENSE_REPORT
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import run
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._action import ModuleAction
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._compliance import (
    SSM_VARIABLES, compare_with_previous, fixable_hosts, fleet_from_records, publish, records_in, run_compliance,
)
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._report import read_previous, write_reports


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
        hosts = self._fleet(params, task_vars) if params['source'] == 'facts' else self._fleet_from_stats(params, task_vars, ctx)
        return run(lambda params, ctx: self._report(params, ctx, hosts), params, ctx, trace_name='license_report')

    def _report(self, params, ctx, hosts):
        document = run_compliance(params, ctx, hosts)
        dest = os.path.abspath(params['dest'])
        previous, unusable = read_previous(dest)
        if unusable:
            ctx.warn(unusable)
        compare_with_previous(document, previous)
        stats = publish(document, hosts, params['source'], params['run_started'])
        stamp = document['generated'].replace('-', '').replace(':', '')
        reports = write_reports(document, dest, params['formats'], stamp, stats)
        totals = document['totals']
        unprocessed = ', %d unprocessed' % totals['unprocessed'] if totals['unprocessed'] else ''
        history = document['history']
        changes = ('; since %s: %d newly broken, %d fixed, %d cause changed' % (
            history['previous'], len(history['newly_broken']), len(history['fixed']), len(history['cause_changed']))
            if history['previous'] else '')
        return dict(
            changed=False,
            msg='%d hosts: %d compliant, %d broken (%d fixable), %d unreachable, %d auth failed, %d error%s; reports in %s%s' % (
                totals['hosts'], totals['compliant'], totals['broken'], totals['fixable'], totals['unreachable'],
                totals['auth_failed'], totals['error'], unprocessed, dest, changes),
            totals=totals,
            reports=reports,
            fixable_hosts=fixable_hosts(document['hosts']),
            grants=document['grants'],
            ssm_servers=document['ssm_servers'],
            history=history,
            stats=stats,
        )

    def _fleet_from_stats(self, params, task_vars, ctx):
        """The fleet from the host-keyed records among the task's variables (a sliced run's set_stats data, merged, as
        extra variables), every play host included: one without a fresh record is ``unprocessed``."""
        names = params['hosts'] if params['hosts'] is not None else task_vars.get('ansible_play_hosts_all', [])
        records = records_in(task_vars)
        outside = sorted(set(records) - set(names))
        if outside:
            ctx.warn('%d compliance records name hosts outside this play and are left out (for example %s): run the '
                     'aggregation with the inventory of the compliance run' % (len(outside), outside[0]))
        hostvars = task_vars['hostvars']
        own = {}
        for name in names:
            host_vars = hostvars[name] if name in hostvars else {}
            own[name] = dict((variable, _variable(host_vars, variable)) for variable in SSM_VARIABLES)
        defaults = dict((name, params.get(name)) for name in SSM_VARIABLES)
        return fleet_from_records(names, records, defaults, own, params['stale_before'])

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
