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
      - If not set, the inventory variable C(license_sync_timeout), then the E(LICENSE_SYNC_TIMEOUT) environment variable
        is used.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is retried after HTTP 429 (honouring C(Retry-After)), 502, 503, 504 or a connection error.
      - Only requests that are safe to repeat are retried (reads, the settings write, logins, authenticate and token
        requests); a sync or a grant change only after HTTP 429 or 503, which say the server did not process it. Each
        retry is warned.
      - V(0) disables retries.
      - If not set, the inventory variable C(license_sync_retries), then the E(LICENSE_SYNC_RETRIES) environment variable
        is used.
    type: int
    default: 3
  trace_dir:
    description:
      - Directory (on the controller) in which to write a wire trace of every HTTP exchange of the task, for users who
        want to show what their real vManage and SSM On-Prem answer (docs/lab.md, Conformance).
      - One HAR 1.2 file per host and playbook run, C(<trace_dir>/<inventory_hostname>-<run>.har), which the host's
        tasks of that run extend; the result's C(trace) gives its path. Browsers' developer tools open it, and
        C(sdwan-lab conformance) replays it against the lab.
      - Every password, client secret, token, cookie and XSRF value is replaced by C(__REDACTED__) before the file is
        written; vManage's own mask of a stored secret (C(********)) is kept, because it is a fact about vManage.
      - If not set, the inventory variable C(license_sync_trace_dir), then the E(LICENSE_SYNC_TRACE_DIR) environment
        variable (for AWX) is used. Unset - no trace.
    type: path
"""
