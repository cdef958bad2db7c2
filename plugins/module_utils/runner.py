# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between a runner (the logic of one module) and whatever executes it.

FOR INTERNAL COLLECTION USE ONLY.

A runner is ``run_x(params, ctx) -> dict``. It returns the module result or raises
LicenseSyncError; a result with ``failed: true`` is a failure that carries data (for example
precheck's checks). ``ctx`` is a RunContext: check/diff mode, the two output channels
(``warn``/``debug``, both redacted) and ``clients``, which opens the product sessions.
The action plugins (controller side) and ``run_as_module`` (AnsibleModule) build the context.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import with_normalized_urls
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import HttpClient, normalize_base_url
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import Redactor
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.ssm import SsmClient
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.vmanage import VManageClient


class Clients:
    """Opens the product clients of one module run from its validated parameters."""

    def __init__(self, ctx):
        self._ctx = ctx

    def _http(self, base_url, product, validate_certs, ca_path, proxy, params):
        return HttpClient(
            base_url,
            product=product,
            validate_certs=validate_certs,
            ca_path=ca_path,
            proxy=proxy,
            timeout=params['timeout'],
            retries=params['retries'],
            warn=self._ctx.warn,
            debug=self._ctx.debug,
            redactor=self._ctx.redactor,
        )

    @contextlib.contextmanager
    def vmanage(self, params, read_only=False):
        """A logged-in VManageClient; logs out and closes on exit. ``read_only``: a session that only reads (one request less)."""
        base_url = normalize_base_url(params['vmanage_host'], 'vmanage_host', 443,
                                      port=params.get('vmanage_port'), port_option='vmanage_port')
        http = self._http(base_url, 'vmanage',
                          params['vmanage_validate_certs'], params.get('vmanage_ca_path'), params.get('vmanage_proxy'), params)
        try:
            with VManageClient(http, params['vmanage_username'], params['vmanage_password'], xsrf_from_server_info=read_only) as client:
                yield client
        finally:
            http.close()

    @contextlib.contextmanager
    def ssm(self, params, url=None):
        """An SsmClient for ``url`` (default: the ssm_url option); closes on exit."""
        http = self._http(url or params['ssm_url'], 'ssm',
                          params['ssm_validate_certs'], params.get('ssm_ca_path'), params.get('ssm_proxy'), params)
        try:
            yield SsmClient(http)
        finally:
            http.close()


class RunContext:
    def __init__(self, check_mode=False, diff=False, no_log=False, warn=None, debug=None, secrets=(), clients=None):
        self.check_mode = check_mode
        self.diff = diff
        self.no_log = no_log
        self.redactor = Redactor(secrets)
        self.warn = self.redactor.channel(warn)
        self.debug = self.redactor.channel(debug)
        self.clients = clients or Clients(self)


def failure_result(error, **extra):
    """The failed result of a LicenseSyncError (msg, cause, remedy, url, status...) plus ``extra``."""
    result = dict(failed=True, changed=False)
    result.update((key, value) for key, value in error.to_result().items() if value is not None)
    result.update(extra)
    return result


def run(runner, params, ctx):
    """Run ``runner``; a LicenseSyncError becomes a failed result. Both executors call this."""
    try:
        return runner(with_normalized_urls(params), ctx)
    except LicenseSyncError as error:
        return failure_result(error)


def run_as_module(runner, spec):
    """main() of a module file: the same runner, executed by AnsibleModule on the target."""
    module = AnsibleModule(**spec)
    ctx = RunContext(check_mode=module.check_mode, diff=module._diff, no_log=module.no_log,
                     warn=module.warn, debug=module.debug, secrets=module.no_log_values)
    result = run(runner, module.params, ctx)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)
