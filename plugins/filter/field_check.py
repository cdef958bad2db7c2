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

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.vmanage import api_variant, parse_release

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
# user-settings-mode: a host reads one user-settings path, legacy getUserSettings before 20.15 and v1 user-settings from
# 20.15 (module_utils/vmanage.py API_VARIANTS), and its client records 'by-path' when that path spells the on-prem mode
# as the lab does by default there. So one host's answer fits two lab values: by-path, or the spelling it saw on its path.
_BY_PATH_SPELLING = {'legacy': 'onprem', 'v1': 'onPrem'}


def field_check_report(hostvars, hosts, report=None, info_var='field_check_info', precheck_var='field_check_precheck'):
    """The field check's report from the hosts' registered ``info_var`` and ``precheck_var`` and license_report's result."""
    observations, traces, releases, failures = {}, [], {}, {}
    for host in hosts:
        host_vars = hostvars.get(host) or {}
        seen = {}
        for name in (info_var, precheck_var):
            result = host_vars.get(name) or {}
            seen.update(result.get('dialect') or {})
            traces.append(result.get('trace'))
            releases[host] = releases.get(host) or result.get('release')
            if result.get('failed') and not failures.get(host):
                failures[host] = result.get('cause') or 'failed'
        observations[host] = seen
    for server in (report or {}).get('ssm_servers') or []:
        observations[server['ssm_url']] = server.get('dialect') or {}
        failures[server['ssm_url']] = server.get('cause')
    traces.append((report or {}).get('trace'))
    return compare(observations, traces, releases, failures)


def _user_settings_path(release):
    """'legacy' or 'v1': the user-settings path the collection reads on ``release``; None when the release is unknown."""
    try:
        version = parse_release(release)
    except LicenseSyncError:
        return None
    return 'v1' if api_variant(version).paths['user_settings'].startswith('/dataservice/v1/') else 'legacy'


def _fitting(axis, value, release):
    """The lab values of ``axis`` that answer as a source answered ``value`` (a value the lab lacks: itself)."""
    if axis == 'user-settings-mode' and _user_settings_path(release):
        spelling = _BY_PATH_SPELLING[_user_settings_path(release)]
        if value in ('by-path', spelling):
            return set(('by-path', spelling))
    return set((value,))


def compare(observations, traces=(), releases=None, failures=None):
    """``observations``: {source (a host or an SSM URL): {axis: value}}; the report as lines and the lab's dialect.

    ``releases``: {host: vManage release}, which tells which user-settings path a host's answer comes from;
    ``failures``: {source: cause code}, why a source may have shown nothing to compare.
    """
    fitting, merged, conflicts, lines = {}, {}, [], []
    for source in sorted(observations):
        seen = observations[source] or {}
        differs = dict((axis, value) for axis, value in sorted(seen.items()) if LAB_DEFAULT_DIALECT.get(axis) != value)
        if differs:
            lines.append('%s answered unlike the lab by default: %s' % (source, ', '.join(
                '%s=%s (lab: %s)%s' % (axis, value, LAB_DEFAULT_DIALECT.get(axis, '-'),
                                       '' if value in LAB_VALUES.get(axis, ()) else ', which the lab cannot play yet')
                for axis, value in differs.items())))
        elif seen:
            lines.append('%s answered as the lab does by default (%d point%s compared)' % (source, len(seen), '' if len(seen) == 1 else 's'))
        else:
            failure = (failures or {}).get(source)
            lines.append('%s showed nothing to compare with the lab%s' % (source, ' (%s)' % failure if failure else ''))
        for axis, value in seen.items():
            values = _fitting(axis, value, (releases or {}).get(source))
            fitting[axis] = fitting[axis] & values if axis in fitting else values
    for axis, values in fitting.items():
        if not values:
            conflicts.append(axis)
        else:
            merged[axis] = LAB_DEFAULT_DIALECT.get(axis) if LAB_DEFAULT_DIALECT.get(axis) in values else sorted(values)[0]
    playable = dict((axis, value) for axis, value in merged.items()
                    if value in LAB_VALUES.get(axis, ()) and value != LAB_DEFAULT_DIALECT.get(axis) and axis not in conflicts)
    spec = ','.join('%s=%s' % item for item in sorted(playable.items()))
    lines.append('the lab dialect that answers like this: %s' % (
        'sdwan-lab up --dialect %s' % spec if spec else 'the default' if fitting else 'unknown, nothing was compared'))
    if conflicts:
        lines.append('answered differently by different hosts (not in the dialect): %s' % ', '.join(sorted(set(conflicts))))
    for trace in sorted(set(path for path in traces if path)):
        lines.append('wire trace (secrets replaced by __REDACTED__): %s' % trace)
    return dict(lines=lines, dialect=spec, differs=bool(playable or conflicts or any(
        value not in LAB_VALUES.get(axis, ()) for axis, value in merged.items())))


class FilterModule(object):
    def filters(self):
        return dict(field_check_report=field_check_report)
