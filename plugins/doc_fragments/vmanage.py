# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options for Catalyst SD-WAN Manager (vManage); the vmanage option group of module_utils/argspec.py.
    DOCUMENTATION = r"""
notes:
  - "Every run opens one vManage session and always ends it: C(POST /j_security_check) (login),
    C(GET /dataservice/client/server) (release, and the XSRF token in its C(CSRFToken)), then C(GET /logout) (before
    20.12) or C(POST /logout). C(GET /dataservice/client/token) is asked only when vManage refuses that token."
  - The target host only selects the vManage through its variables (O(vmanage_host) and the other options).
options:
  vmanage_host:
    description:
      - Catalyst SD-WAN Manager (vManage) to connect to, as a host name, an IPv4 address, an IPv6 address
        (with or without brackets) or a URL C(https://host[:port]).
      - If not set, the inventory variable C(vmanage_host) of the host, then the E(VMANAGE_HOST) environment variable, is used.
    type: str
    required: true
  vmanage_port:
    description:
      - HTTPS port of vManage.
      - Defaults to the port of O(vmanage_host) when it names one, else to V(443). A different port in both is an error.
      - If not set, the inventory variable C(vmanage_port) of the host, then the E(VMANAGE_PORT) environment variable, is used.
    type: int
  vmanage_username:
    description:
      - vManage user that logs in to the REST API (C(j_security_check)).
      - The user needs the permissions of the licensing pages of the vManage GUI.
      - If not set, the inventory variable C(vmanage_username) of the host, then the E(VMANAGE_USERNAME) environment variable, is used.
    type: str
    required: true
  vmanage_password:
    description:
      - Password of O(vmanage_username).
      - If not set, the inventory variable C(vmanage_password) of the host, then the E(VMANAGE_PASSWORD) environment variable, is used.
    type: str
    required: true
  vmanage_validate_certs:
    description:
      - Verify vManage's TLS certificate.
      - V(false) disables the verification and warns once per run; prefer O(vmanage_ca_path) for a private CA.
      - If not set, the inventory variable C(vmanage_validate_certs) of the host, then the E(VMANAGE_VALIDATE_CERTS) environment variable, is used.
    type: bool
    default: true
  vmanage_ca_path:
    description:
      - PEM file of the CA (or bundle) that signed vManage's certificate.
      - Takes precedence over E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE).
      - If not set, the inventory variable C(vmanage_ca_path) of the host, then the E(VMANAGE_CA_PATH) environment variable, is used.
    type: path
  vmanage_proxy:
    description:
      - HTTP(S) proxy URL for the connection to vManage, for example V(http://proxy.example.com:3128).
      - When not set, the proxy environment variables (E(HTTPS_PROXY), E(NO_PROXY)...) apply.
      - If not set, the inventory variable C(vmanage_proxy) of the host, then the E(VMANAGE_PROXY) environment variable, is used.
    type: str
"""
