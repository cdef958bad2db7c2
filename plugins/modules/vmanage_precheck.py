#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vmanage_precheck
short_description: Diagnose why a vManage cannot sync licences with SSM On-Prem
version_added: 0.1.0
description:
  - Runs the troubleshooting list for vManage licence sync in on-prem mode (Cisco Smart Software Manager On-Prem),
    check by check, and reports each result with a stable cause code and what to do.
  - "The checks, in order: V(login) to the vManage API; V(release) at least O(min_release); V(ready) (vManage
    reports it is ready); V(mode) is on-prem; V(ssm_url) is configured (and equals O(ssm_url) when given);
    V(dns) servers configured on vManage; V(reach_from_vmanage) - vManage opens TCP to the SSM On-Prem host and port
    (nping run by vManage itself, in VPN O(vpn)); V(ssm_reach) - the controller reaches SSM On-Prem and trusts its
    certificate; V(ssm_backend) - SSM On-Prem's backend answers behind its nginx front (an HTTP 502 means backend down,
    not unreachable); V(stored_auth) - vManage itself authenticates to SSM On-Prem with its stored client id, secret and
    SSM On-Prem user (it lists the smart accounts, a read), where the GUI's C(Grant not found) error appears; V(grant) - when
    O(ssm_client_id) and O(ssm_client_secret) are given, the grant itself issues a token to the controller."
  - A check whose prerequisite failed is reported as V(skip) with the reason, so one fault yields one finding.
  - The task fails only for the causes listed in O(fail_on); by default it reports and succeeds.
author:
  - sdwan_ops maintainers (@sdwan-ops)
options:
  min_release:
    description:
      - Lowest vManage release that passes the V(release) check. On-prem licensing exists from 20.9.1.
    type: str
    default: 20.9.1
  checks:
    description:
      - The checks to run (all by default). V(login) runs whenever a vManage check runs.
      - V(stored_auth) uses the SSM On-Prem user vManage stores. A vManage that stores a client id and secret but no
        SSM On-Prem user has never authenticated with them; only vManage's authenticate call (a write) could prove them, so
        the check fails with CREDENTIALS_MISSING instead, which M(sdwan_ops.license_sync.vmanage_license_auth) fixes.
      - When vManage stores another SSM On-Prem URL than O(ssm_url) (the V(ssm_url) check finds SSM_URL_MISMATCH), V(stored_auth)
        failing because vManage cannot reach the stored URL (SSM_UNREACHABLE_FROM_VMANAGE, DNS_MISSING, SSM_TLS_UNTRUSTED,
        SSM_BACKEND_DOWN) is a warning, not blocking. The fix replaces that URL, and the checks V(dns), V(reach_from_vmanage),
        V(ssm_reach) and V(ssm_backend) probe O(ssm_url).
      - V(grant) needs O(ssm_client_id), O(ssm_client_secret), O(ssm_username) and O(ssm_password); without them it is skipped.
    type: list
    elements: str
    choices: [login, release, ready, mode, ssm_url, dns, reach_from_vmanage, ssm_reach, ssm_backend, stored_auth, grant]
    default: [login, release, ready, mode, ssm_url, dns, reach_from_vmanage, ssm_reach, ssm_backend, stored_auth, grant]
  vpn:
    description:
      - VPN from which vManage probes SSM On-Prem in the V(reach_from_vmanage) check (V(0) transport, V(512) management).
    type: str
    default: '0'
  fail_on:
    description:
      - Cause codes (for example V(GRANT_NOT_FOUND), V(SSM_BACKEND_DOWN)) that fail the task when found, or V(any)
        to fail on any finding. The codes are listed in the collection's troubleshooting guide.
      - The result keeps RV(checks), RV(findings) and RV(verdict) when the task fails.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - sdwan_ops.license_sync.vmanage
  - sdwan_ops.license_sync.ssm
  - sdwan_ops.license_sync.http_options
  - sdwan_ops.license_sync.attributes
  - sdwan_ops.license_sync.attributes.actiongroup_vmanage_ssm
attributes:
  check_mode:
    support: full
    details: Changes nothing; runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Reports C(changed=false) always and sends no write request (the nping probe is a POST that changes nothing).
notes:
  - "REST paths used on vManage in its session: C(GET /dataservice/client/server/ready),
    C(GET /dataservice/settings/configuration/smartLicensing), C(GET /dataservice/device/vmanage),
    C(GET /dataservice/device/config), C(POST /dataservice/device/tools/nping/{system-ip}),
    C(GET /dataservice/smartLicensing/getUserSettings) (before 20.15) or C(GET /dataservice/v1/smart-licensing/user-settings),
    C(GET /dataservice/smartLicensing/fetchAccounts) (the stored configuration, when vManage stores an SSM user)."
  - "REST paths used on SSM On-Prem: C(GET /), C(GET /backend/settings/oauth_adfs), C(POST /backend/oauth/token)."
  - O(ssm_url) is optional; without it the controller probes the SSM On-Prem URL that vManage stores.
seealso:
  - module: sdwan_ops.license_sync.ssm_grant
  - module: sdwan_ops.license_sync.vmanage_license_auth
  - module: sdwan_ops.license_sync.vmanage_license_info
"""

EXAMPLES = r"""
- name: Diagnose licence sync (reports only)
  sdwan_ops.license_sync.vmanage_precheck:
    vmanage_host: vmanage.example.com
    vmanage_username: "{{ vmanage_username }}"
    vmanage_password: "{{ vmanage_password }}"
    ssm_url: https://ssm.example.com:8443
    ssm_username: "{{ ssm_username }}"
    ssm_password: "{{ ssm_password }}"
  register: precheck

- name: Show what is wrong and what to do
  ansible.builtin.debug:
    msg: "{{ item.code }}: {{ item.detail }} -> {{ item.remedy }}"
  loop: "{{ precheck.findings }}"
  loop_control:
    label: "{{ item.code }}"

- name: Stop before any change when the problem is not one the collection can fix
  ansible.builtin.fail:
    msg: "{{ precheck.findings | map(attribute='code') | join(', ') }}"
  when: precheck.verdict == 'blocked'

- name: Fail on a dead SSM backend or an old release, skip the checks that need SSM user credentials
  sdwan_ops.license_sync.vmanage_precheck:
    checks: [login, release, ready, mode, ssm_url, dns, reach_from_vmanage, ssm_reach, ssm_backend]
    fail_on: [SSM_BACKEND_DOWN, RELEASE_TOO_OLD]
"""

RETURN = r"""
checks:
  description: Every check that was selected, in the order it ran.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the check (see O(checks)).
      type: str
      sample: stored_auth
    status:
      description: V(pass), V(fail), V(warn) or V(skip).
      type: str
      sample: fail
    detail:
      description: What was found (for a skip, why the check did not run).
      type: str
      sample: >-
        vManage could not fetch the accounts from SSM On-Prem: Failed to authenticate Smart Account
        credentials.: Failed to authenticate user - 'admin'. {"error":"invalid_client","error_message":"Grant not found.
        Ensure that the given grant details are correct."}
    cause:
      description: Stable cause code of a failed or warned check, else null.
      type: str
      sample: GRANT_NOT_FOUND
    remedy:
      description: What to do about the cause, else null.
      type: str
      sample: In SSM On-Prem open Admin Workspace > API Toolkit and create a Resource Owner Grant ...
  sample:
    - {name: login, status: pass, detail: logged in to vManage 20.12.1 as admin, cause: null, remedy: null}
findings:
  description: One entry per distinct cause found by a failed or warned check, in the order found.
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: The cause code.
      type: str
      sample: GRANT_NOT_FOUND
    title:
      description: What the cause means.
      type: str
      sample: SSM On-Prem has no grant for this client id and secret
    detail:
      description: What the check found.
      type: str
    remedy:
      description: What to do.
      type: str
    fixable:
      description: Whether the collection's modules can fix it (grant, settings, sync) or a person has to.
      type: bool
      sample: true
    blocking:
      description: Whether it comes from a failed check (true) or a warning (false).
      type: bool
      sample: true
verdict:
  description:
    - V(healthy) (no failed check), V(fixable) (every failed check has a cause the collection can fix) or
      V(blocked) (at least one needs a person, for example SSM_BACKEND_DOWN or RELEASE_TOO_OLD).
  returned: always
  type: str
  sample: fixable
release:
  description: The vManage release, or null when the login failed or no vManage check ran.
  returned: always
  type: str
  sample: 20.12.1
msg:
  description: Why the task failed (a cause listed in O(fail_on) was found, or the options are invalid).
  returned: failure
  type: str
cause:
  description: Cause code of a failure that stopped the whole module (for example INVALID_INPUT).
  returned: failure
  type: str
"""

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import VMANAGE_PRECHECK
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.precheck import run_precheck
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.runner import run_as_module


def main():
    run_as_module(run_precheck, VMANAGE_PRECHECK)


if __name__ == '__main__':
    main()
