# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vmanage_license_info
short_description: Read the licensing facts of a Catalyst SD-WAN Manager (vManage)
version_added: 0.1.0
description:
  - Reads, in one vManage session, what a licence compliance report needs from a vManage in on-prem licensing
    mode (Cisco Smart Software Manager On-Prem) - release, licensing mode, SSM On-Prem URL, client id,
    whether a client secret and SSM user credentials are stored, and the time and result of the last licence sync where
    vManage reports it (RV(last_sync.reported)).
  - Never returns the client secret or a password; vManage does not return them either.
  - With the default O(gather=[]) a call makes five HTTP requests (login, server info with the XSRF token, licensing
    settings, user settings, logout). O(gather) adds a live check of vManage's path to SSM On-Prem, the smart and
    virtual accounts, the licences vManage holds and the licence compliance of its devices.
author:
  - sdwan_ops maintainers (@sdwan-ops)
options:
  gather:
    description:
      - Extra facts to read. V(accounts) lists the smart and virtual accounts vManage reaches on SSM On-Prem
        (vManage asks SSM On-Prem with its stored configuration). V(licenses) adds the licences vManage holds
        for each virtual account (implies reading the accounts).
      - V(ssm_check) makes vManage ask SSM On-Prem for its accounts now (one more read) and returns the outcome in
        RV(ssm_check) instead of failing; it proves what the last sync cannot (DNS, path and TLS from vManage, SSM's
        backend, the grant, the stored SSM user). It is not asked when the settings show it cannot work. When it
        fails, RV(accounts) and RV(licenses) are null (the module warns) rather than asked again.
      - V(devices) reads, in one more request, how many devices vManage manages and how many of them are out of licence
        compliance, and why (RV(devices)); a failure of that read is returned in RV(devices), not a module failure.
    type: list
    elements: str
    choices: [accounts, licenses, ssm_check, devices]
    default: []
extends_documentation_fragment:
  - sdwan_ops.license_sync.vmanage
  - sdwan_ops.license_sync.http_options
  - sdwan_ops.license_sync.attributes
  - sdwan_ops.license_sync.attributes.actiongroup_vmanage
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
notes:
  - "REST paths used in the vManage session: C(GET /dataservice/settings/configuration/smartLicensing),
    C(GET /dataservice/smartLicensing/getUserSettings) (before 20.15) or C(GET /dataservice/v1/smart-licensing/user-settings)
    (20.15 and later), with O(gather) C(GET /dataservice/smartLicensing/fetchAccounts) and
    C(GET /dataservice/v1/smart-licensing/license)."
  - "O(gather=[devices]) reads C(GET /dataservice/v1/licensing/devices) from 20.15 (C(complianceStatus) and
    C(inCompliantReason) per device; Cisco's SD-WAN 20.16 API reference, getMSLADevices) and C(GET /dataservice/msla/devices)
    before (a licence status per device and no reason, so the status is the reason)."
  - "The session only reads, so the XSRF token is the C(CSRFToken) of C(GET /dataservice/client/server), which the module
    reads anyway; C(GET /dataservice/client/token) only when that field is missing."
seealso:
  - module: sdwan_ops.license_sync.vmanage_precheck
  - module: sdwan_ops.license_sync.vmanage_license_sync
"""

EXAMPLES = r"""
- name: Read the licensing facts of every vManage
  sdwan_ops.license_sync.vmanage_license_info:
    vmanage_host: "{{ vmanage_host }}"
    vmanage_username: "{{ vmanage_username }}"
    vmanage_password: "{{ vmanage_password }}"
    vmanage_ca_path: /etc/pki/sdwan/ca.pem
  register: licensing

- name: Fail when the last sync failed or is older than a day
  ansible.builtin.assert:
    that:
      - licensing.last_sync.ok
      - licensing.last_sync.age_s < 86400
    fail_msg: "last sync {{ licensing.last_sync.time }}: {{ licensing.last_sync.error }}"

- name: Connection options set once for the whole play, accounts and licences included
  module_defaults:
    group/sdwan_ops.license_sync.vmanage:
      vmanage_host: "{{ vmanage_host }}"
      vmanage_username: "{{ vmanage_username }}"
      vmanage_password: "{{ vmanage_password }}"
  block:
    - name: Read accounts and licences
      sdwan_ops.license_sync.vmanage_license_info:
        gather: [accounts, licenses]
      register: licensing_full
"""

RETURN = r"""
release:
  description: The vManage release, as the server reports it.
  returned: success
  type: str
  sample: 20.12.1
mode:
  description: Smart licensing mode stored on vManage (V(on-prem), V(online), V(offline)), or null when not configured.
  returned: success
  type: str
  sample: on-prem
ssm_url:
  description: SSM On-Prem URL stored on vManage, or null.
  returned: success
  type: str
  sample: https://ssm.example.com:8443
client_id:
  description: Client id of the SSM On-Prem API Toolkit grant stored on vManage, or null.
  returned: success
  type: str
  sample: jF6qntGFm429n2B7tlgJPNHueoyjjn8p6zAn7BhYLUhjAY5BZlTUV9Q0r_Zk7uBf
client_secret_stored:
  description: Whether vManage stores a client secret (its value is never returned).
  returned: success
  type: bool
  sample: true
credentials_stored:
  description: Whether vManage stores SSM On-Prem user credentials (set by a successful authenticate).
  returned: success
  type: bool
  sample: true
ssm_username:
  description: The SSM On-Prem user vManage stores, or null.
  returned: success
  type: str
  sample: admin
last_sync:
  description: The last licence sync vManage recorded.
  returned: success
  type: dict
  contains:
    time:
      description: When it happened (ISO 8601, UTC), or null when vManage never synced.
      type: str
      sample: "2026-11-26T10:00:00Z"
    age_s:
      description: Seconds since then, or null.
      type: int
      sample: 120
    ok:
      description: Whether it succeeded, or null.
      type: bool
      sample: false
    error:
      description: vManage's error message of a failed sync, or null.
      type: str
      sample: >-
        Failed to authenticate Smart Account credentials.: Failed to authenticate user - 'admin'.
        {"error":"invalid_client","error_message":"Grant not found. Ensure that the given grant details are correct."}
    reported:
      description:
        - Whether vManage reports its last sync at all. Cisco documents no last-sync field (the user settings,
          C(UserSettingsResponse) in Cisco's API reference, have exactly C(isPresentCredentials), C(mode),
          C(multipleEntitlement), C(uname)); when vManage reports none this is false and the other fields are null.
      type: bool
      sample: true
dialect:
  description:
    - What this vManage answered where releases, the public record and the lab differ, by the lab's dialect axes
      (docs/lab.md, Dialects) - for example C(user-settings-fields) (C(full) or C(documented)), C(user-settings-mode)
      (the spelling it uses), C(settings-secret) (C(masked) or C(omitted)), C(settings-data), C(fetch-accounts-shape),
      C(mode-token) (the on-prem token it accepted). The playbook C(field_check.yml) compares it with the lab.
  returned: success
  type: dict
  sample: {"user-settings-fields": "documented", "user-settings-mode": "onPrem", "settings-secret": "omitted"}
trace:
  description: Path of the wire trace this run added to (option O(trace_dir)).
  returned: when O(trace_dir) is set
  type: str
accounts:
  description:
    - Smart accounts with their virtual accounts, as vManage lists them.
    - Null when O(gather) also contains V(ssm_check) and that check failed.
  returned: when O(gather) contains V(accounts) or V(licenses)
  type: list
  elements: dict
  sample: [{"account_id": "1", "name": "lab-onprem", "virtual_accounts": [{"virtual_account_id": "1", "name": "Default", "default": true}]}]
ssm_check:
  description: vManage asking SSM On-Prem for its accounts with its stored grant and SSM user, during this call.
  returned: when O(gather) contains V(ssm_check)
  type: dict
  contains:
    ok:
      description: V(true) it worked, V(false) it failed (see RV(ssm_check.cause)), null when not asked.
      type: bool
    cause:
      description: The cause code of the failure (for example V(DNS_MISSING), V(GRANT_NOT_FOUND)), or null.
      type: str
    detail:
      description: What vManage answered, or why it was not asked (never a secret).
      type: str
  sample: {"ok": false, "cause": "DNS_MISSING", "detail": "vManage could not fetch the accounts from SSM On-Prem: ..."}
devices:
  description: Devices vManage manages and those out of licence compliance, read during this call.
  returned: when O(gather) contains V(devices)
  type: dict
  contains:
    ok:
      description: V(true) vManage listed its devices, V(false) the read failed (see RV(devices.cause)).
      type: bool
    cause:
      description: The cause code of the failure, or null.
      type: str
    detail:
      description: How many devices are out of licence compliance, or what failed (never a secret).
      type: str
    source:
      description: The REST path read.
      type: str
    total:
      description: Devices listed.
      type: int
    out_of_compliance:
      description: Devices whose licence status is not in compliance.
      type: int
    unknown:
      description: Devices listed without a licence status, or with one that no public example shows (counted, not judged).
      type: int
    reasons:
      description: Devices out of licence compliance per reason (vManage's reason, or its licence status where it gives no reason).
      type: dict
  sample: {"ok": true, "cause": null, "detail": "2 of 5 devices out of licence compliance", "source": "/dataservice/v1/licensing/devices",
           "total": 5, "out_of_compliance": 2, "unknown": 0, "reasons": {"Unassigned": 2}}
licenses:
  description:
    - Licences vManage holds, for every virtual account listed in RV(accounts).
    - Null on releases before 20.15, which have no API to list them, and when RV(accounts) is null (the module warns).
  returned: when O(gather) contains V(licenses)
  type: list
  elements: dict
  sample: [{"display_name": "DNA Advantage", "tag": "regid.2019-01.com.cisco.DNA_ADV", "purchased": 10, "available": 7,
            "in_use": 3, "virtual_account_id": "1"}]
"""
