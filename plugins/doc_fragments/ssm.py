# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options for Cisco Smart Software Manager On-Prem; the ssm option group of module_utils/argspec.py.
    DOCUMENTATION = r"""
notes:
  - Credentials sent to SSM On-Prem (token requests, the Admin Workspace login) travel in form or JSON bodies, never in URLs.
options:
  ssm_url:
    description:
      - Base URL of Cisco Smart Software Manager On-Prem (SSM On-Prem), for example V(https://ssm.example.com:8443).
      - This is the URL vManage stores as its SSM server URL; the controller uses it too.
      - If not set, the inventory variable C(ssm_url) of the host, then the E(SSM_URL) environment variable, is used.
    type: str
  ssm_username:
    description:
      - SSM On-Prem local user of the Resource Owner (password) grant, the user vManage sends with the client id and secret
        when it authenticates (the GUI's "Sync Licenses & Refresh Devices" dialog asks for it).
      - If not set, the inventory variable C(ssm_username) of the host, then the E(SSM_USERNAME) environment variable, is used.
    type: str
  ssm_password:
    description:
      - Password of O(ssm_username).
      - If not set, the inventory variable C(ssm_password) of the host, then the E(SSM_PASSWORD) environment variable, is used.
    type: str
  ssm_admin_username:
    description:
      - SSM On-Prem user that logs in to the Admin Workspace to manage API Toolkit grants.
      - Defaults to O(ssm_username).
      - If not set, the inventory variable C(ssm_admin_username) of the host, then the E(SSM_ADMIN_USERNAME) environment variable, is used.
    type: str
  ssm_admin_password:
    description:
      - Password of O(ssm_admin_username).
      - Defaults to O(ssm_password).
      - If not set, the inventory variable C(ssm_admin_password) of the host, then the E(SSM_ADMIN_PASSWORD) environment variable, is used.
    type: str
  ssm_client_id:
    description:
      - Client ID of an SSM On-Prem API Toolkit grant (as shown by the API Toolkit page).
      - If not set, the inventory variable C(ssm_client_id) of the host, then the E(SSM_CLIENT_ID) environment variable, is used.
    type: str
  ssm_client_secret:
    description:
      - Client secret of the grant O(ssm_client_id).
      - If not set, the inventory variable C(ssm_client_secret) of the host, then the E(SSM_CLIENT_SECRET) environment variable, is used.
    type: str
  ssm_account:
    description:
      - SSM On-Prem local account (name or id) whose API Toolkit grants are managed.
      - When not set, SSM On-Prem's default local account is used.
      - If not set, the inventory variable C(ssm_account) of the host, then the E(SSM_ACCOUNT) environment variable, is used.
    type: str
  ssm_validate_certs:
    description:
      - Verify SSM On-Prem's TLS certificate on connections from the controller.
      - V(false) disables the verification and warns once per run; prefer O(ssm_ca_path) for a private CA.
      - If not set, the inventory variable C(ssm_validate_certs) of the host, then the E(SSM_VALIDATE_CERTS) environment variable, is used.
    type: bool
    default: true
  ssm_ca_path:
    description:
      - PEM file of the CA (or bundle) that signed SSM On-Prem's certificate.
      - Takes precedence over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE).
      - If not set, the inventory variable C(ssm_ca_path) of the host, then the E(SSM_CA_PATH) environment variable, is used.
    type: path
  ssm_proxy:
    description:
      - HTTP(S) proxy URL for connections from the controller to SSM On-Prem.
      - When not set, the proxy environment variables (E(HTTPS_PROXY), E(NO_PROXY)...) apply.
      - If not set, the inventory variable C(ssm_proxy) of the host, then the E(SSM_PROXY) environment variable, is used.
    type: str
"""
