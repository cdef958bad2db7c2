# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a runner (the logic of one module) gets to run with, and how a run ends.

FOR INTERNAL COLLECTION USE ONLY.

A runner is ``run_x(params, ctx) -> dict``. It returns the module result or raises
LicenseSyncError; a result with ``failed: true`` is a failure that carries data (for example
precheck's checks). ``ctx`` is a RunContext: check/diff mode, the two output channels
(``warn``/``debug``, both redacted), ``clients``, which opens the product sessions, and the wire
trace. The action plugin base (plugin_utils/_action.py) builds the context on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.argspec import with_normalized_urls
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError, failure_result
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import HttpClient, normalize_base_url
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import Redactor
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.ssm import SsmClient
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.trace import Trace
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
            trace=self._ctx.trace,
        )

    @contextlib.contextmanager
    def vmanage(self, params):
        """A logged-in VManageClient; logs out and closes on exit."""
        base_url = normalize_base_url(params['vmanage_host'], 'vmanage_host', 443,
                                      port=params.get('vmanage_port'), port_option='vmanage_port')
        http = self._http(base_url, 'vmanage',
                          params['vmanage_validate_certs'], params.get('vmanage_ca_path'), params.get('vmanage_proxy'), params)
        try:
            with VManageClient(http, params['vmanage_username'], params['vmanage_password']) as client:
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
    """``trace``: a trace.Trace that records every HTTP exchange of the run (option trace_dir), or None."""

    def __init__(self, check_mode=False, diff=False, no_log=False, warn=None, debug=None, secrets=(), clients=None, trace=None):
        self.check_mode = check_mode
        self.diff = diff
        self.no_log = no_log
        self.redactor = Redactor(secrets)
        self.warn = self.redactor.channel(warn)
        self.debug = self.redactor.channel(debug)
        self.clients = clients or Clients(self)
        self.trace = trace


def run(runner, params, ctx, trace_name=None):
    """Run ``runner``; a LicenseSyncError becomes a failed result.

    With the option trace_dir, every HTTP exchange of the run goes to a HAR file named after ``trace_name`` (the
    inventory host), whose path the result gives as ``trace``.
    """
    if params.get('trace_dir') and ctx.trace is None:
        ctx.trace = Trace(params['trace_dir'], trace_name or 'localhost', ctx.redactor)
    try:
        result = runner(with_normalized_urls(params), ctx)
    except LicenseSyncError as error:
        result = failure_result(error)
    finally:
        path = _write_trace(ctx)
    if path:
        result['trace'] = path
    return result


def _write_trace(ctx):
    if ctx.trace is None:
        return None
    try:
        return ctx.trace.write()
    except (OSError, ValueError) as error:
        ctx.warn('the wire trace could not be written to %s: %s' % (ctx.trace.directory, error))
        return None
