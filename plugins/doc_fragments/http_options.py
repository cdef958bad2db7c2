# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # HTTP knobs shared by every module (the http option group of module_utils/argspec.py) and the libraries behind them.
    DOCUMENTATION = r"""
requirements:
  - requests >= 2.28.0
  - jmespath >= 1.0.0
options:
  timeout:
    description:
      - Connect and read timeout of each HTTP request, in seconds.
      - A request that is retried can take up to O(timeout) times (O(retries) + 1) plus the back-off.
      - If not set, the value of the E(LICENSE_SYNC_TIMEOUT) environment variable is used.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is retried after HTTP 429 (honouring C(Retry-After)), 502, 503, 504 or a connection error.
      - Only requests that are safe to repeat are retried (reads, the settings write, logins, authenticate and token
        requests; never a sync or a grant change); each retry is warned.
      - V(0) disables retries.
      - If not set, the value of the E(LICENSE_SYNC_RETRIES) environment variable is used.
    type: int
    default: 3
"""
