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
    check by check, and reports each result with a stable cause code, what to do, and the plan the fix playbook follows.
  - "The checks, in order: V(login) to the vManage API; V(release) at least O(min_release); V(ready) (vManage
    reports it is ready); V(mode) is on-prem; V(ssm_url) is configured (and equals O(ssm_url) when given);
    V(credentials) - vManage stores a client id and secret and an SSM On-Prem user; V(dns) servers configured on vManage;
    V(vmanage_to_ssm) - vManage opens TCP to the SSM On-Prem host and port (nping run by vManage itself, in VPN O(vpn));
    V(controller_to_ssm) - the controller reaches SSM On-Prem and trusts its certificate; V(ssm_backend) - SSM On-Prem's
    backend answers behind its nginx front (an HTTP 502 means backend down, not unreachable); V(stored_auth) - vManage
    itself asks SSM On-Prem for its smart accounts with its stored client id, secret and SSM user, now (fetchAccounts, a
    read), where the GUI's C(Grant not found) error appears; V(grant) - the grant vManage stores is valid; V(supplied_grant)
    - the grant given as O(ssm_client_id)/O(ssm_client_secret), when it is not the stored one, issues a token to the
    controller; V(ssm_user) - SSM On-Prem accepts the SSM user vManage stores; V(last_sync) - the last successful sync is
    at most O(max_age) seconds old."
  - The same checks, with the same names and causes, make the fleet report of M(sdwan_ops.license_sync.license_report);
    they are one check model.
  - A check whose prerequisite failed is reported as V(skip) with the reason, so one fault yields one finding.
  - "The last sync is judged only where vManage reports it: Cisco documents no last-sync field (the user settings,
    C(UserSettingsResponse), have exactly C(isPresentCredentials), C(mode), C(multipleEntitlement), C(uname)). A vManage
    that reports none has V(last_sync) skipped with the reason, and is healthy when V(stored_auth) passes."
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
        V(credentials) fails with CREDENTIALS_MISSING instead, which M(sdwan_ops.license_sync.vmanage_license_auth) fixes.
      - When vManage stores another SSM On-Prem URL than O(ssm_url) (the V(ssm_url) check finds SSM_URL_MISMATCH), vManage
        failing to reach the stored URL (SSM_UNREACHABLE_FROM_VMANAGE, DNS_MISSING, SSM_TLS_UNTRUSTED, SSM_BACKEND_DOWN) is
        a warning, not blocking. The fix replaces that URL, and the checks V(dns), V(vmanage_to_ssm), V(controller_to_ssm)
        and V(ssm_backend) probe O(ssm_url).
      - V(supplied_grant) needs O(ssm_client_id), O(ssm_client_secret), O(ssm_username) and O(ssm_password); without them
        it is skipped. When the supplied client id is the one vManage stores, its token request proves V(grant) instead.
    type: list
    elements: str
    choices: [login, release, ready, mode, ssm_url, credentials, dns, vmanage_to_ssm, controller_to_ssm, ssm_backend, stored_auth,
              grant, supplied_grant, ssm_user, last_sync]
    default: [login, release, ready, mode, ssm_url, credentials, dns, vmanage_to_ssm, controller_to_ssm, ssm_backend, stored_auth,
              grant, supplied_grant, ssm_user, last_sync]
  vpn:
    description:
      - VPN from which vManage probes SSM On-Prem in the V(vmanage_to_ssm) check (V(0) transport, V(512) management).
    type: str
    default: '0'
  max_age:
    description:
      - Seconds after which the last successful sync counts as stale (V(last_sync) fails with SYNC_STALE).
      - vManage syncs with SSM On-Prem every 24 hours by itself (Cisco TAC document 222117); the fix playbook passes its
        own C(fix_license_sync_max_age).
    type: int
    default: 86400
  diagnose:
    description:
      - V(always) runs every selected probe.
      - V(on_failure) first reads what every run needs (settings, user settings, and vManage's own request to SSM On-Prem
        with its stored grant) and runs the probes that explain a problem (V(ready), V(dns), V(vmanage_to_ssm),
        V(controller_to_ssm), V(ssm_backend), the token requests) only when those show one. A healthy vManage then costs
        6 requests (login, server info, settings, user settings, fetchAccounts, logout); the fix playbook uses it.
      - When SSM On-Prem itself refused vManage's request (for example V(GRANT_NOT_FOUND)) and nothing else is wrong,
        V(on_failure) adds only the controller's look at SSM On-Prem (one request), since the fix starts on the controller.
    type: str
    choices: [always, on_failure]
    default: always
  fail_on:
    description:
      - Cause codes (for example V(GRANT_NOT_FOUND), V(SSM_BACKEND_DOWN)) that fail the task when found, or V(any)
        to fail on any finding. The codes are listed in the collection's troubleshooting guide.
      - The result keeps RV(checks), RV(findings), RV(verdict) and RV(plan) when the task fails.
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
  - "REST paths used on SSM On-Prem: C(GET /backend/settings/oauth_adfs) (reachable, trusted, backend up: one request),
    C(POST /backend/oauth/token) (the supplied grant)."
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

- name: Fail on a dead SSM backend or an old release, without asking vManage to reach SSM On-Prem
  sdwan_ops.license_sync.vmanage_precheck:
    checks: [login, release, ready, mode, ssm_url, dns, vmanage_to_ssm, controller_to_ssm, ssm_backend]
    fail_on: [SSM_BACKEND_DOWN, RELEASE_TOO_OLD]

- name: What the fix playbook would do
  ansible.builtin.debug:
    msg: "{{ precheck.plan.text }}"
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
    label:
      description: How reports name the check.
      type: str
      sample: vManage authenticates to SSM now
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
      V(blocked) (at least one needs a person, for example SSM_BACKEND_DOWN or RELEASE_TOO_OLD). The same as
      RV(plan.state_before).
  returned: always
  type: str
  sample: fixable
plan:
  description: What the fix playbook does with this vManage (its role follows these flags).
  returned: always
  type: dict
  contains:
    state_before:
      description: V(healthy), V(fixable) or V(blocked).
      type: str
    configure:
      description: Ensure the grant, store it on vManage and authenticate (any fixable failure but the last sync's).
      type: bool
    create_grant:
      description: RV(plan.configure) with a grant the fix ensures on SSM On-Prem itself (no O(ssm_client_id) supplied).
      type: bool
    sync:
      description: Run "Sync Licenses & Refresh Devices".
      type: bool
    update_secret:
      description: V(always) when vManage proved its stored grant dead (GRANT_NOT_FOUND), else V(on_create).
      type: str
    blocking:
      description: The findings no run of the fix repairs; the fix stops before any change when there is one.
      type: list
      elements: dict
    causes:
      description: The codes of the failed checks.
      type: list
      elements: str
    text:
      description: The plan in one line.
      type: str
      sample: FIX - ensure the grant on SSM On-Prem, store it on vManage, authenticate, sync, verify
  sample: {state_before: fixable, configure: true, create_grant: true, sync: true, update_secret: always, blocking: [],
           causes: [GRANT_NOT_FOUND], text: "FIX - ensure the grant on SSM On-Prem, store it on vManage, authenticate, sync, verify"}
settings:
  description: The licensing settings vManage stores (never the secret), or null when they could not be read.
  returned: always
  type: dict
  sample: {mode: on-prem, ssm_url: "https://ssm.example.com:8443", client_id: 3f1c...}
last_sync:
  description:
    - The last sync as vManage reports it (C(time), C(age_s), C(ok), C(error), C(reported)), or null.
    - C(reported) is false when vManage reports no last sync (Cisco documents none); the other fields are then null.
  returned: always
  type: dict
dialect:
  description:
    - What this vManage answered where releases, the public record and the lab differ, by the lab's dialect axes
      (docs/lab.md, Dialects). The playbook C(field_check.yml) compares it with the lab.
  returned: always
  type: dict
  sample: {"user-settings-fields": "documented", "settings-secret": "omitted"}
lines:
  description: The verdict as the role C(sdwan_ops.license_sync.precheck) prints it, one line per check, then the plan.
  returned: always
  type: list
  elements: str
trace:
  description: Path of the wire trace this run added to (option O(trace_dir)).
  returned: when O(trace_dir) is set
  type: str
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
