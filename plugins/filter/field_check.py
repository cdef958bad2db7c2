# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a real vManage and SSM On-Prem answered that the collection's lab would not answer by default.

The modules record, in the lab's dialect vocabulary (docs/lab.md, Dialects), what each product answered where vManage
releases, Cisco's public record and the lab differ (the ``dialect`` of vmanage_license_info and vmanage_precheck, the
``dialect`` of each of license_report's ``ssm_servers``). This filter compares that with the lab's default dialect and
says it as lines and as the ``sdwan-lab --dialect`` that plays the same answers. Documentation: field_check_report.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The lab's default dialect (tests/lab/sdwan_lab/dialects.py DEFAULT_DIALECT; a lab test keeps the two equal).
LAB_DEFAULT_DIALECT = {
    'user-settings-fields': 'full',
    'user-settings-mode': 'by-path',
    'user-settings-envelope': 'list',
    'settings-secret': 'masked',
    'settings-data': 'list',
    'mode-token': 'onprem',
    'authenticate-failure-status': '400',
    'fetch-accounts-shape': 'accounts',
    'sync-parts': 'data',
    'sync-answer': 'json',
    'ssm-admin-login-failure': '401',
    'ssm-grant-api': 'present',
    'license-counts': 'integer',
}
# The values each axis of the lab can play (any other observed value is reported as one the lab cannot play yet).
LAB_VALUES = {
    'user-settings-fields': ('full', 'documented'),
    'user-settings-mode': ('by-path', 'onPrem', 'onprem', 'on-prem'),
    'user-settings-envelope': ('list', 'object'),
    'settings-secret': ('masked', 'omitted'),
    'settings-data': ('list', 'object'),
    'mode-token': ('onprem', 'on-prem', 'onPrem'),
    'authenticate-failure-status': ('400', '403', '500', '401'),
    'fetch-accounts-shape': ('accounts', 'object', 'capture'),
    'sync-parts': ('data', 'data+name'),
    'sync-answer': ('json', 'text'),
    'ssm-admin-login-failure': ('401', '200-error'),
    'ssm-grant-api': ('present', 'absent'),
    'license-counts': ('integer', 'string'),
}


def field_check_report(hostvars, hosts, report=None, info_var='field_check_info', precheck_var='field_check_precheck'):
    """The field check's report from the hosts' registered ``info_var`` and ``precheck_var`` and license_report's result."""
    observations, traces = {}, []
    for host in hosts:
        host_vars = hostvars.get(host) or {}
        seen = {}
        for name in (info_var, precheck_var):
            result = host_vars.get(name) or {}
            seen.update(result.get('dialect') or {})
            traces.append(result.get('trace'))
        observations[host] = seen
    for server in (report or {}).get('ssm_servers') or []:
        observations[server['ssm_url']] = server.get('dialect') or {}
    traces.append((report or {}).get('trace'))
    return compare(observations, traces)


def compare(observations, traces=()):
    """``observations``: {source (a host or an SSM URL): {axis: value}}; the report as lines and the lab's dialect."""
    merged, conflicts, lines = {}, [], []
    for source in sorted(observations):
        seen = observations[source] or {}
        differs = dict((axis, value) for axis, value in sorted(seen.items()) if LAB_DEFAULT_DIALECT.get(axis) != value)
        if differs:
            lines.append('%s answered unlike the lab by default: %s' % (source, ', '.join(
                '%s=%s (lab: %s)%s' % (axis, value, LAB_DEFAULT_DIALECT.get(axis, '-'),
                                       '' if value in LAB_VALUES.get(axis, ()) else ', which the lab cannot play yet')
                for axis, value in differs.items())))
        else:
            lines.append('%s answered as the lab does by default (%d points compared)' % (source, len(seen)))
        for axis, value in seen.items():
            if merged.setdefault(axis, value) != value:
                conflicts.append(axis)
    playable = dict((axis, value) for axis, value in merged.items()
                    if value in LAB_VALUES.get(axis, ()) and value != LAB_DEFAULT_DIALECT.get(axis) and axis not in conflicts)
    spec = ','.join('%s=%s' % item for item in sorted(playable.items()))
    lines.append('the lab dialect that answers like this: %s' % ('sdwan-lab up --dialect %s' % spec if spec else 'the default'))
    if conflicts:
        lines.append('answered differently by different hosts (not in the dialect): %s' % ', '.join(sorted(set(conflicts))))
    for trace in sorted(set(path for path in traces if path)):
        lines.append('wire trace (secrets replaced by __REDACTED__): %s' % trace)
    return dict(lines=lines, dialect=spec, differs=bool(playable or conflicts or any(
        value not in LAB_VALUES.get(axis, ()) for axis, value in merged.items())))


class FilterModule(object):
    def filters(self):
        return dict(field_check_report=field_check_report)
