# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _action_group(*groups):
    """The action_group attribute of a module in ``groups`` (meta/runtime.yml action_groups)."""
    names = ['sdwan_ops.license_sync.%s' % group for group in groups]
    return r"""
options: {}
attributes:
  action_group:
    description: Use %s in C(module_defaults) to set defaults for this module.
    support: full
    membership:%s
""" % (' or '.join('C(group/%s)' % name for name in names), ''.join('\n      - %s' % name for name in names))


class ModuleDocFragment(object):
    # What every module supports; each module states its own support level (and details) for each attribute.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change
        and sends no write request.
  action:
    description: The module's work runs on the controller in an action plugin of the same name; no module process is started.
    support: full
"""

    ACTIONGROUP_VMANAGE = _action_group('vmanage')
    ACTIONGROUP_SSM = _action_group('ssm')
    ACTIONGROUP_VMANAGE_SSM = _action_group('vmanage', 'ssm')
