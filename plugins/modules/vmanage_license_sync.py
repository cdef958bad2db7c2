# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vmanage_license_sync
short_description: Sync licences of a vManage with SSM On-Prem and wait for the result
version_added: 0.1.0
description:
  - Does what the vManage GUI's "Sync Licenses & Refresh Devices" does in on-prem mode - authenticate to SSM On-Prem with
    the SSM On-Prem user (O(authenticate)), list the smart and virtual accounts, sync the chosen virtual account - and takes
    the result from vManage.
  - Idempotent by freshness - when the last sync succeeded less than O(max_age) seconds ago, nothing is sent
    (O(force=true) syncs anyway).
  - "Cisco documents no last-sync field for vManage (its user settings, C(UserSettingsResponse), have exactly
    C(isPresentCredentials), C(mode), C(multipleEntitlement), C(uname)). On a vManage that reports none, the module
    says so once and O(max_age) cannot apply: it asks vManage to fetch its accounts from SSM On-Prem with the grant and
    SSM user it stores (C(fetchAccounts), a read). When that works, a rerun writes nothing (RV(verified_by)); when it
    fails, the module syncs. The sync call's own answer is then the result (Cisco documents C(200 Success), no task):
    nothing is polled, so no SYNC_TIMEOUT follows a sync that worked."
  - Where vManage does report its last sync, the module waits (O(wait)) until vManage records the result of this sync.
  - A failure reports the cause; vManage's C(Failed to authenticate Smart Account credentials ... Grant not found) error
    comes out as GRANT_NOT_FOUND with the API Toolkit remedy.
  - Uses the sync call of the vManage release (C(smartLicensing/syncLicenses) before 20.15, C(v1/smart-licensing/sync) from 20.15).
author:
  - sdwan_ops maintainers (@sdwan-ops)
options:
  authenticate:
    description:
      - Have vManage authenticate to SSM On-Prem with O(ssm_username) and O(ssm_password) before the sync, as the GUI
        does. This is a write (vManage stores the user) and needs both options.
      - V(false) syncs with the SSM On-Prem user vManage already stores, for example right after
        M(sdwan_ops.license_sync.vmanage_license_auth) authenticated it in the same play; vManage then fails the sync
        with the cause if what it stores no longer works.
    type: bool
    default: true
  smart_account:
    description:
      - Smart account (local account of SSM On-Prem) to sync, by name or id.
      - Default - O(ssm_account) when set; else the only account vManage lists, or the only one that has
        O(virtual_account); else the first account vManage lists (SSM On-Prem lists its default local account first),
        with a warning naming the others, because that choice is a guess.
    type: str
  virtual_account:
    description:
      - Virtual account to sync, by name or id. Default - the account's default virtual account (or its only one).
    type: str
  license_type:
    description:
      - Licences to sync - V(prepaid) or V(postpaid) (MSLA).
    type: str
    choices: [prepaid, postpaid]
    default: prepaid
  max_age:
    description:
      - When the last successful sync is at most this many seconds old, the module does not sync again.
      - vManage in on-prem mode syncs by itself every 24 hours (Cisco TAC document 222117), so a sync up to a day old
        is what a healthy vManage shows.
    type: int
    default: 86400
  force:
    description:
      - Sync even when the last successful sync is recent.
    type: bool
    default: false
  wait:
    description:
      - Wait until vManage records the result of the sync (only where vManage reports its last sync; elsewhere the sync
        call's answer is the result).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for the result; then the module fails with SYNC_TIMEOUT, naming the task and the last
        recorded status.
    type: int
    default: 300
  wait_sleep:
    description:
      - Seconds between two reads of the sync result.
    type: int
    default: 5
extends_documentation_fragment:
  - sdwan_ops.license_sync.vmanage
  - sdwan_ops.license_sync.ssm
  - sdwan_ops.license_sync.http_options
  - sdwan_ops.license_sync.attributes
  - sdwan_ops.license_sync.attributes.actiongroup_vmanage_ssm
attributes:
  check_mode:
    support: full
    details: Reads the last sync and reports whether a sync would run; sends nothing else.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details: >-
      No sync while the last successful one is younger than O(max_age), or, where vManage reports no last sync, while
      vManage authenticates to SSM On-Prem with what it stores; O(force=true) syncs on every run.
notes:
  - "REST paths used in the vManage session: C(GET /dataservice/smartLicensing/getUserSettings) (before 20.15) or
    C(GET /dataservice/v1/smart-licensing/user-settings), C(POST /dataservice/smartLicensing/authenticate) (with
    O(authenticate=true)), C(GET /dataservice/smartLicensing/fetchAccounts), C(POST /dataservice/smartLicensing/syncLicenses)
    (before 20.15) or C(POST /dataservice/v1/smart-licensing/sync), C(GET /dataservice/v1/smart-licensing/license) (after a
    sync, 20.15 and later)."
  - Of the C(ssm) group only O(ssm_username), O(ssm_password) and O(ssm_account) are used; vManage calls SSM On-Prem itself
    with its stored settings.
seealso:
  - module: sdwan_ops.license_sync.vmanage_license_auth
  - module: sdwan_ops.license_sync.vmanage_license_info
"""

EXAMPLES = r"""
- name: Sync licences unless the last successful sync is younger than an hour
  sdwan_ops.license_sync.vmanage_license_sync:
    vmanage_host: vmanage.example.com
    vmanage_username: "{{ vmanage_username }}"
    vmanage_password: "{{ vmanage_password }}"
    ssm_username: "{{ ssm_username }}"
    ssm_password: "{{ ssm_password }}"
  register: sync

- name: Sync a named virtual account now and wait up to ten minutes
  sdwan_ops.license_sync.vmanage_license_sync:
    smart_account: lab-onprem
    virtual_account: Default
    force: true
    wait_timeout: 600
    wait_sleep: 10
"""

RETURN = r"""
synced:
  description: Whether this run synced and vManage recorded a successful sync.
  returned: success
  type: bool
  sample: true
last_sync:
  description: The last sync vManage recorded (after this run's sync when there was one).
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
      sample: 3
    ok:
      description: Whether it succeeded, or null.
      type: bool
      sample: true
    error:
      description: vManage's error message of a failed sync, or null.
      type: str
      sample: null
    reported:
      description:
        - Whether vManage reports its last sync at all; after this run's sync on a vManage that reports none, C(time) is
          when the sync call was answered (the controller's clock). Cisco documents no last-sync field (the user settings,
          C(UserSettingsResponse) in Cisco's API reference, have exactly C(isPresentCredentials), C(mode),
          C(multipleEntitlement), C(uname)); when vManage reports none this is false and the other fields are null.
      type: bool
      sample: true
verified_by:
  description:
    - V(fetchAccounts) when vManage reports no last sync and nothing was synced because vManage fetched its accounts
      from SSM On-Prem with its stored grant and SSM user during the run (the freshness test that stands in for
      O(max_age)).
  returned: when that was the case
  type: str
  sample: fetchAccounts
trace:
  description: Path of the wire trace this run added to (option O(trace_dir)).
  returned: when O(trace_dir) is set
  type: str
accounts:
  description: The smart account that was synced, with the synced virtual account.
  returned: when a sync was sent
  type: list
  elements: dict
  sample: [{"account_id": "1", "name": "lab-onprem", "virtual_accounts": [{"virtual_account_id": "1", "name": "Default", "default": true}]}]
licenses:
  description:
    - What the sync brought - the licences vManage now holds for the synced virtual account.
    - Null on releases before 20.15, which have no API to list them.
  returned: when this run synced and waited for the result
  type: list
  elements: dict
  sample: [{"display_name": "DNA Advantage", "tag": "regid.2019-01.com.cisco.DNA_ADV", "purchased": 10, "available": 7, "in_use": 3}]
cause:
  description: Cause code of a failure, for example GRANT_NOT_FOUND, SYNC_FAILED, SYNC_TIMEOUT or MODE_NOT_ONPREM.
  returned: failure
  type: str
  sample: GRANT_NOT_FOUND
"""
