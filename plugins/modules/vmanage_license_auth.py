# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vmanage_license_auth
short_description: Point a vManage at SSM On-Prem with a grant, proven by authenticate
version_added: 0.1.0
description:
  - Sets smart licensing on a Catalyst SD-WAN Manager (vManage) to on-prem mode with the SSM On-Prem URL and the client
    id and secret of an API Toolkit Resource Owner Grant, then has vManage authenticate to SSM On-Prem with the SSM
    On-Prem user - the GUI's "Sync Licenses & Refresh Devices" credentials step.
  - Before it writes anything it proves the given client id, secret and user with a token request from the controller to
    SSM On-Prem; when that fails (for example GRANT_NOT_FOUND or SSM_BAD_USER_CREDENTIALS) vManage is left as it is.
  - When vManage already stores settings for the same SSM On-Prem, the module also checks, before writing, that vManage
    can reach it (C(fetchAccounts), a read); when vManage cannot (for example SSM_UNREACHABLE_FROM_VMANAGE or DNS_MISSING),
    new settings would not help and the module fails without writing.
  - vManage never returns a stored client secret, so a write cannot be undone exactly and a client id is never put back
    without its own secret. When vManage still cannot authenticate after the write, the module fails with the cause and
    says which settings vManage is left with. With the same client id, it puts back the previous mode and SSM URL
    (RV(restored=true)); with a new client id, vManage keeps the new settings, which SSM On-Prem accepted from the
    controller (RV(restored=false)), because the previous client id would not authenticate without its secret.
  - Refuses releases below 20.9.1 (RELEASE_TOO_OLD), which have no on-prem mode.
author:
  - sdwan_ops maintainers (@sdwan-ops)
options:
  ssm_url:
    required: true
  ssm_client_id:
    required: true
  ssm_client_secret:
    required: true
  ssm_username:
    required: true
  ssm_password:
    required: true
  mode:
    description:
      - Smart licensing mode to set. Only V(on-prem) (SSM On-Prem) is supported.
    type: str
    choices: [on-prem]
    default: on-prem
  update_secret:
    description:
      - vManage cannot return the stored client secret, so the module cannot compare it.
      - V(on_create) writes the settings (secret included) and authenticates when the mode, the SSM URL, the client id
        or the stored SSM user differ from the wanted ones, when no secret is stored, or when vManage no longer
        authenticates to SSM On-Prem with what it stores (for example a stale secret or SSM password). When all match
        and the stored configuration authenticates, nothing is written and the task reports no change.
      - Whether vManage stores a secret is read from its settings when it shows one (masked); a vManage that leaves the
        secret out of its answer (Cisco documents neither) counts as storing one, and its use decides - vManage asking
        SSM On-Prem for its accounts with what it stores (a read).
      - V(always) writes the secret and authenticates on every run (the task then reports a change every time); use it
        after rotating a grant's secret with the same client id.
    type: str
    choices: [on_create, always]
    default: on_create
extends_documentation_fragment:
  - sdwan_ops.license_sync.vmanage
  - sdwan_ops.license_sync.ssm
  - sdwan_ops.license_sync.http_options
  - sdwan_ops.license_sync.attributes
  - sdwan_ops.license_sync.attributes.actiongroup_vmanage_ssm
attributes:
  check_mode:
    support: full
    details: Reads the settings and proves the credentials with a token request; reports what would be written without writing.
  diff_mode:
    support: full
    details: Shows mode, SSM URL and client id before and after; the secret appears only as C((hidden)) or C((hidden, changed)).
  idempotent:
    support: partial
    details: Full with O(update_secret=on_create); O(update_secret=always) writes on every run.
notes:
  - "When the readable settings match, the module proves that vManage authenticates with what it stores by listing the
    smart accounts (C(fetchAccounts), a read for which vManage requests a token from SSM On-Prem with its stored client
    id, secret, user and password) instead of calling authenticate, which is a write (vManage stores the user)."
  - "When vManage cannot reach the SSM On-Prem it already points at (for example SSM_UNREACHABLE_FROM_VMANAGE), the module
    fails without writing: new settings would not help. A different SSM URL is written without that check, since the old
    one may be gone for good."
  - "REST paths used on vManage in its session: C(GET|PUT /dataservice/settings/configuration/smartLicensing),
    C(GET /dataservice/smartLicensing/getUserSettings) (before 20.15) or C(GET /dataservice/v1/smart-licensing/user-settings),
    C(GET /dataservice/smartLicensing/fetchAccounts), C(POST /dataservice/smartLicensing/authenticate)."
  - "REST path used on SSM On-Prem: C(POST /backend/oauth/token); the controller must reach O(ssm_url)."
seealso:
  - module: sdwan_ops.license_sync.ssm_grant
  - module: sdwan_ops.license_sync.vmanage_license_sync
  - module: sdwan_ops.license_sync.vmanage_precheck
"""

EXAMPLES = r"""
- name: Store the grant on vManage and authenticate
  sdwan_ops.license_sync.vmanage_license_auth:
    vmanage_host: vmanage.example.com
    vmanage_username: "{{ vmanage_username }}"
    vmanage_password: "{{ vmanage_password }}"
    ssm_url: https://ssm.example.com:8443
    ssm_client_id: "{{ grant.client_id }}"
    ssm_client_secret: "{{ grant.client_secret }}"
    ssm_username: "{{ ssm_username }}"
    ssm_password: "{{ ssm_password }}"
  no_log: true

- name: After rotating the secret of the same grant, push it again
  sdwan_ops.license_sync.vmanage_license_auth:
    ssm_client_id: "{{ grant.client_id }}"
    ssm_client_secret: "{{ rotated.client_secret }}"
    update_secret: always
  no_log: true
"""

RETURN = r"""
settings:
  description:
    - Licensing settings of vManage after the run (the wanted ones in check mode), without the secret.
    - After a failed authenticate, the settings vManage is left with (see RV(restored)).
  returned: success, and when vManage failed to authenticate after the write
  type: dict
  contains:
    mode:
      description: Smart licensing mode.
      type: str
      sample: on-prem
    ssm_url:
      description: SSM On-Prem URL.
      type: str
      sample: https://ssm.example.com:8443
    client_id:
      description: Client id of the grant.
      type: str
      sample: jF6qntGFm429n2B7tlgJPNHueoyjjn8p6zAn7BhYLUhjAY5BZlTUV9Q0r_Zk7uBf
authenticated:
  description:
    - V(true) when vManage authenticated to SSM On-Prem during this run, either by the authenticate call after a write
      or, when nothing had to change, with its stored configuration (C(fetchAccounts)).
  returned: success, and when vManage failed to authenticate after the write
  type: bool
  sample: true
restored:
  description:
    - Whether the previous mode and SSM URL were put back after vManage failed to authenticate with the new settings.
      That happens only when the client id did not change; a previous client id is never put back, since vManage does
      not return its secret.
  returned: success, and when vManage failed to authenticate after the write
  type: bool
  sample: false
cause:
  description: Cause code of a failure, for example GRANT_NOT_FOUND, SSM_BAD_USER_CREDENTIALS or RELEASE_TOO_OLD.
  returned: failure
  type: str
  sample: GRANT_NOT_FOUND
remedy:
  description: What to do about the failure.
  returned: failure
  type: str
trace:
  description: Path of the wire trace this run added to (option O(trace_dir)).
  returned: when O(trace_dir) is set
  type: str
"""
