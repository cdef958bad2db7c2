# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs sdwan_ops.license_sync.vmanage_precheck on the controller (documentation: the module of the same name)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import VMANAGE_PRECHECK
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.precheck import run_precheck
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._action import ModuleAction


class ActionModule(ModuleAction):
    RUNNER = staticmethod(run_precheck)
    SPEC = VMANAGE_PRECHECK
