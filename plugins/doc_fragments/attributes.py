# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


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

    ACTIONGROUP_VMANAGE = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sdwan_ops.license_sync.vmanage) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - sdwan_ops.license_sync.vmanage
"""

    ACTIONGROUP_SSM = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/sdwan_ops.license_sync.ssm) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - sdwan_ops.license_sync.ssm
"""

    ACTIONGROUP_VMANAGE_SSM = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/sdwan_ops.license_sync.vmanage) or C(group/sdwan_ops.license_sync.ssm) in C(module_defaults)
        to set defaults for this module.
    support: full
    membership:
      - sdwan_ops.license_sync.vmanage
      - sdwan_ops.license_sync.ssm
"""
