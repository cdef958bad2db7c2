# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ssm_grant
short_description: Manage an API Toolkit grant on Cisco Smart Software Manager On-Prem
version_added: 0.1.0
description:
  - Makes sure an API Toolkit grant of a given name exists (O(state=present)) or not (O(state=absent)) in a local account
    of Cisco Smart Software Manager On-Prem (SSM On-Prem), as an administrator does in Admin Workspace > API Toolkit.
    vManage needs a Resource Owner Grant to authenticate to SSM On-Prem; a missing one is the cause of the GUI error
    C(Grant not found. Ensure that the given grant details are correct.)
  - Returns the grant's client id and client secret (read from the API Toolkit as its page shows them), so that a
    later task can store them on vManage (M(sdwan_ops.license_sync.vmanage_license_auth)), also on reruns.
  - Idempotent by name. When parallel runs create the same name at the same time, SSM On-Prem accepts one creation
    and refuses the others (HTTP 422, name already taken); a run refused this way uses the grant the other run created
    (proven by a token request when its secret can be read). Where SSM On-Prem accepts both, each run lists the grants again after
    creating and deletes its own copy unless it is the oldest, so one grant of that name remains.
  - With O(verify=true), a grant this run created and whose token request then fails (for example SSM_BAD_USER_CREDENTIALS)
    is deleted again before the module fails with the cause, so a failed run leaves nothing on SSM On-Prem. A grant whose
    secret was rotated (O(rotate=true)) is kept when the new secret fails - it existed before the run and its old secret
    no longer works either way; the task fails with the cause and reports the change.
  - O(state=verified) manages nothing; it proves O(ssm_client_id) and O(ssm_client_secret) with a token request to the
    documented token endpoint and fails with the cause when they do not work. Use it for grants an SSM team created by hand,
    or for SSM On-Prem releases whose API Toolkit differs from what this module expects.
author:
  - sdwan_ops maintainers (@sdwan-ops)
options:
  ssm_url:
    required: true
  name:
    description:
      - Name of the grant (the API Toolkit's Name field). Required unless O(state=verified).
      - At most 100 characters, all printable (letters of any script, digits, punctuation, inner spaces); no control
        characters such as a newline or a tab, and no leading or trailing white space. SSM On-Prem does not publish
        its own limit; 100 characters is a conservative one. Any other name fails with INVALID_INPUT before a request
        is sent.
    type: str
  state:
    description:
      - V(present) creates the grant when no grant has this name; V(absent) deletes every grant of this name;
        V(verified) only proves O(ssm_client_id)/O(ssm_client_secret) with a token request.
    type: str
    choices: [present, absent, verified]
    default: present
  grant_type:
    description:
      - V(resource_owner) is the Resource Owner (password) grant that vManage uses; V(client_credentials) is the Client
        Credential grant of monitoring tools.
      - A grant of this name with another type is not replaced; the module fails with SSM_GRANT_TYPE_MISMATCH.
    type: str
    choices: [resource_owner, client_credentials]
    default: resource_owner
  description:
    description:
      - Description of a new grant. An existing grant keeps its description (the API Toolkit cannot edit a grant).
    type: str
  rotate:
    description:
      - Regenerate the secret of an existing grant. Every run with V(true) creates a new secret, so the task reports
        a change every time; store the new secret on vManage with O(sdwan_ops.license_sync.vmanage_license_auth#module:update_secret=always).
    type: bool
    default: false
  verify:
    description:
      - After creating a grant or rotating its secret, prove it with a token request (a Resource Owner grant with
        O(ssm_username)/O(ssm_password), else with the admin user).
    type: bool
    default: true
extends_documentation_fragment:
  - sdwan_ops.license_sync.ssm
  - sdwan_ops.license_sync.http_options
  - sdwan_ops.license_sync.attributes
  - sdwan_ops.license_sync.attributes.actiongroup_ssm
attributes:
  check_mode:
    support: full
    details:
      - Lists the grants and reports what would be created, rotated or deleted; a grant that would be created has no client
        id yet.
      - For an existing grant that is not rotated, RV(client_secret) is read and returned as outside check mode (a read),
        so that a later task can preview what it would store on vManage.
  diff_mode:
    support: full
    details: Shows name, type and client id; the client secret is shown as C((hidden)) or C((hidden, changed)).
  idempotent:
    support: partial
    details: O(rotate=true) changes the secret on every run.
notes:
  - The Admin Workspace login uses O(ssm_admin_username)/O(ssm_admin_password), which default to O(ssm_username)/O(ssm_password).
  - RV(client_secret) is returned only when the task sets C(no_log) to V(true), so that the secret never reaches the
    output; without C(no_log) the module warns and leaves it out.
  - "REST paths used: C(GET /backend/settings/oauth_adfs), C(POST /backend/auth/identity/callback) (Admin Workspace login),
    C(GET /backend/accounts) (with O(ssm_account)), C(GET|POST /backend/api_toolkit/grants),
    C(GET|DELETE /backend/api_toolkit/grants/{id}), C(POST /backend/api_toolkit/grants/{id}/regenerate_secret),
    C(POST /backend/oauth/token)."
  - No public documentation describes the API Toolkit's HTTP interface; the paths above were inferred and are kept in one
    place of the collection. O(state=verified) uses only the documented token endpoint.
  - An SSM On-Prem that answers the grant listing or creation with HTTP 404 or 405 does not offer these paths; the module
    then fails with SSM_GRANT_API_UNAVAILABLE, whose remedy is to create the grant by hand (Admin Workspace > API Toolkit >
    Resource Owner Grant) and use it with O(state=verified) (the fix playbook does so when C(ssm_client_id) is given).
  - The Admin Workspace login counts as done only when SSM On-Prem answers with the C(uid) of a session; a 200 that carries
    C(error_message) instead is SSM_ADMIN_AUTH_FAILED.
seealso:
  - module: sdwan_ops.license_sync.vmanage_license_auth
  - module: sdwan_ops.license_sync.vmanage_precheck
"""

EXAMPLES = r"""
- name: Make sure vManage's grant exists and read its credentials
  sdwan_ops.license_sync.ssm_grant:
    ssm_url: https://ssm.example.com:8443
    ssm_username: "{{ ssm_username }}"
    ssm_password: "{{ ssm_password }}"
    name: "vmanage-{{ inventory_hostname }}"
  register: grant
  no_log: true

- name: Store them on vManage (the other options as in that module's examples)
  sdwan_ops.license_sync.vmanage_license_auth:
    ssm_client_id: "{{ grant.client_id }}"
    ssm_client_secret: "{{ grant.client_secret }}"
  no_log: true

- name: Rotate the secret (a change on every run)
  sdwan_ops.license_sync.ssm_grant:
    name: "vmanage-{{ inventory_hostname }}"
    rotate: true
  register: rotated
  no_log: true

- name: Prove credentials an SSM team created by hand
  sdwan_ops.license_sync.ssm_grant:
    state: verified
    ssm_client_id: "{{ vault_ssm_client_id }}"
    ssm_client_secret: "{{ vault_ssm_client_secret }}"
    ssm_username: "{{ ssm_username }}"
    ssm_password: "{{ ssm_password }}"
  no_log: true

- name: Remove the grant
  sdwan_ops.license_sync.ssm_grant:
    name: "vmanage-{{ inventory_hostname }}"
    state: absent
"""

RETURN = r"""
name:
  description: The name of the grant (O(name)).
  returned: with O(state=present)
  type: str
  sample: license-sync-vmanage-emea
rotated:
  description: Whether this run gave (or in check mode would give) the grant a new secret.
  returned: with O(state=present)
  type: bool
  sample: false
grant:
  description: The grant (without its secret).
  returned: when the grant exists after the run (O(state=present), also in check mode for an existing grant, and on a failure that keeps it)
  type: dict
  contains:
    id:
      description: Id of the grant in the API Toolkit.
      type: str
      sample: "17"
    name:
      description: Name of the grant.
      type: str
      sample: vmanage-vm1
    type:
      description: V(resource_owner) or V(client_credentials).
      type: str
      sample: resource_owner
    client_id:
      description: Client id.
      type: str
      sample: jF6qntGFm429n2B7tlgJPNHueoyjjn8p6zAn7BhYLUhjAY5BZlTUV9Q0r_Zk7uBf
    created:
      description: When the grant was created, as SSM On-Prem reports it.
      type: str
      sample: "2026-11-26T10:00:00Z"
    account_id:
      description:
        - Id of the SSM On-Prem local account that holds the grant (O(ssm_account), else SSM On-Prem's default local account).
        - The smart account to sync on vManage
          (O(sdwan_ops.license_sync.vmanage_license_sync#module:smart_account) of M(sdwan_ops.license_sync.vmanage_license_sync)).
      type: str
      sample: "1"
client_id:
  description: Client id of the grant (O(state=present)) or the proven O(ssm_client_id) (O(state=verified)).
  returned: when known
  type: str
  sample: jF6qntGFm429n2B7tlgJPNHueoyjjn8p6zAn7BhYLUhjAY5BZlTUV9Q0r_Zk7uBf
client_secret:
  description:
    - Client secret of the grant, as the API Toolkit shows it. Sensitive; set C(no_log) on the task.
  returned: O(state=present) when the task sets C(no_log) to V(true), also in check mode unless the grant would be created or rotated
  type: str
verified:
  description: Whether a token request with the grant's credentials succeeded during this run.
  returned: always
  type: bool
  sample: true
trace:
  description: Path of the wire trace this run added to (option O(trace_dir)).
  returned: when O(trace_dir) is set
  type: str
"""
