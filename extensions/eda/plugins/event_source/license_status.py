# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event source sdwan_ops.license_sync.license_status: polls every vManage of an Ansible inventory and puts an event
on the queue when a host's licence sync state or cause changes.

ansible-rulebook and EDA Controller load this file with runpy and call ``main(queue, args)``. The checks are the
collection's own (module_utils.license_info, plugin_utils._compliance): this file only schedules them, remembers
each host's last state and turns a change into an event.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
short_description: Licence sync state of every vManage of an Ansible inventory, as events when it changes
description:
  - Polls each vManage of an Ansible inventory with the read-only checks of the compliance run
    (playbooks/license_compliance.yml) and puts an event on the queue only when a host's state or causes change.
    On the first poll it puts one event per host that is not compliant.
  - Per poll and vManage it makes the 6 requests of C(vmanage_license_info) with C(gather=[ssm_check]) (login, server
    info with the XSRF token, licensing settings, user settings, vManage's own fetchAccounts to SSM On-Prem, logout).
    With O(ssm_checks=auto) the SSM On-Prem probes of the compliance run (one look and the API Toolkit's grant list
    per distinct SSM On-Prem, one token request per distinct grant whose secret the inventory holds) are made only in
    a poll where a host looks broken, and only for the SSM On-Prem servers of such hosts.
  - Connection options come from the same inventory variables as the playbooks (vmanage_host, vmanage_password,
    ssm_url, license_sync_timeout...), else from their environment variables (VMANAGE_PASSWORD, SSM_PASSWORD...);
    vaulted variables are decrypted with O(vault_password_file) (default C(ANSIBLE_VAULT_PASSWORD_FILE)).
  - "Event: C({license_status: {host, state, previous_state, cause, causes: [{code, title, remedy, fixable, detail}],
    previous_causes, remedy, fixable, release, time}, meta: {hosts: <host>}}). C(state) is one of compliant, broken,
    unreachable, auth_failed, error. No event carries a secret."
  - A vManage that cannot be reached is an event (state unreachable), not a failure of the source. A vManage that
    answers 429 or 5xx keeps its last state and is polled again after a growing pause (twice the interval, four
    times... up to O(max_backoff)); after O(busy_polls) such polls in a row it is reported (state error).
options:
  inventory:
    description: Ansible inventory sources (a path or a list of paths, as C(ansible-playbook -i)).
    type: list
    elements: path
    required: true
  hosts:
    description: Host pattern of the vManage to poll.
    type: str
    default: vmanage
  interval:
    description: Seconds from the start of one poll to the start of the next.
    type: float
    default: 300
  jitter:
    description: Up to this many seconds, at random, are added to each pause (spreads the load of several sources).
      Default a tenth of O(interval).
    type: float
  concurrency:
    description: vManage read at the same time.
    type: int
    default: 10
  ssm_checks:
    description:
      - C(auto) probes SSM On-Prem from the controller only in a poll where a host looks broken, to name the root
        cause as the compliance report does; C(always) in every poll (the compliance run's cost); C(never) not at all.
    type: str
    choices: [auto, always, never]
    default: auto
  max_sync_age:
    description: A last successful sync older than this many seconds is a finding (SYNC_STALE).
    type: int
    default: 86400
  min_release:
    description: The oldest vManage release that counts as compliant.
    type: str
    default: 20.9.1
  busy_polls:
    description: Polls in a row with 429/5xx answers after which a vManage is reported (state error).
    type: int
    default: 3
  max_backoff:
    description: The longest pause, in seconds, before polling a vManage that answered 429/5xx again.
    type: float
    default: 3600
  vault_password_file:
    description: Vault password file (or script) for vaulted inventory variables. Default C(ANSIBLE_VAULT_PASSWORD_FILE).
    type: path
  max_polls:
    description: Stop after this many polls (0, the default, polls until ansible-rulebook stops).
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Fix broken licence sync
  hosts: vmanage
  sources:
    - name: Licence sync state of every vManage
      sdwan_ops.license_sync.license_status:
        inventory: /runner/inventory/hosts.yml
        interval: 300
  rules:
    - name: Fix a vManage whose licence sync broke in a way the collection fixes
      condition: event.license_status.state == "broken" and event.license_status.fixable == true
      throttle:
        once_within: 30 minutes
        group_by_attributes:
          - event.license_status.host
          - event.license_status.cause
      action:
        run_playbook:
          name: sdwan_ops.license_sync.fix_license_sync
"""

import asyncio
import concurrent.futures
import datetime
import importlib
import logging
import os
import random
import sys
import time

LOGGER = logging.getLogger('sdwan_ops.license_sync.license_status')

COLLECTION = 'ansible_collections.sdwan_ops.license_sync'
STATE_COMPLIANT = 'compliant'
# vManage answered, but with a passing refusal (HTTP 429, 5xx): not a change of the host's licence state.
BUSY_CAUSES = frozenset(('VMANAGE_RATE_LIMITED', 'VMANAGE_NOT_READY', 'SSM_BUSY'))

SOURCE_SPEC = dict(
    inventory=dict(type='list', elements='path', required=True),
    hosts=dict(type='str', default='vmanage'),
    interval=dict(type='float', default=300.0),
    jitter=dict(type='float'),
    concurrency=dict(type='int', default=10),
    ssm_checks=dict(type='str', choices=['auto', 'always', 'never'], default='auto'),
    max_sync_age=dict(type='int', default=86400),
    min_release=dict(type='str', default='20.9.1'),
    busy_polls=dict(type='int', default=3),
    max_backoff=dict(type='float', default=3600.0),
    vault_password_file=dict(type='path'),
    max_polls=dict(type='int', default=0),
)


# -- the collection's modules, wherever ansible-rulebook found this file

def _collections_root(path):
    """The directory that holds ``ansible_collections/`` when ``path`` lies inside an installed collection, else None."""
    for candidate in (os.path.abspath(path), os.path.realpath(path)):
        parts = candidate.split(os.sep)
        # .../ansible_collections/<namespace>/<name>/extensions/eda/plugins/event_source/license_status.py
        if len(parts) > 8 and parts[-8] == 'ansible_collections':
            return os.sep.join(parts[:-8]) or os.sep
    return None


def _collection_paths():
    """Where the collection may be: beside this file, then Ansible's collections paths (ANSIBLE_COLLECTIONS_PATH, ansible.cfg)."""
    from ansible import constants as C

    paths = [_collections_root(__file__)]
    for path in C.COLLECTIONS_PATHS or []:
        path = os.path.expanduser(path)
        paths.append(os.path.dirname(path) if os.path.basename(path.rstrip(os.sep)) == 'ansible_collections' else path)
    return [path for path in paths if path and os.path.isdir(os.path.join(path, 'ansible_collections', 'sdwan_ops', 'license_sync'))]


def _collection():
    """The collection's modules this source uses.

    ansible-rulebook runs this file outside any Ansible process. Inside one (ansible's collection loader installed) the
    modules import as they are; otherwise the collections path that holds this collection goes on sys.path, where
    ``ansible_collections`` is a namespace package. Ansible's own collection loader is not installed here: its path hook
    would make ansible-rulebook's runpy fail on every later event source or filter of a collections path.
    """
    try:
        importlib.import_module(COLLECTION + '.plugins.module_utils.argspec')
    except ImportError:
        paths = _collection_paths()
        if not paths:
            raise ImportError('sdwan_ops.license_sync.license_status: the collection sdwan_ops.license_sync is in no collections '
                              'path (ANSIBLE_COLLECTIONS_PATH, ansible.cfg collections_path) and this file is not inside it')
        sys.path.append(paths[0])
        importlib.invalidate_caches()
    names = dict(argspec='plugins.module_utils.argspec', runner='plugins.module_utils.runner',
                 errors='plugins.module_utils.errors', license_info='plugins.module_utils.license_info',
                 redact='plugins.module_utils.redact', compliance='plugins.plugin_utils._compliance')
    modules = dict((key, importlib.import_module('%s.%s' % (COLLECTION, path))) for key, path in names.items())
    return type('Collection', (), modules)


# -- arguments and inventory

def validated_args(args):
    """The source arguments, checked and with their defaults; ValueError naming the problem."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    # ansible-rulebook adds its own arguments (eda_feedback_queue...): not the user's.
    given = dict((key, value) for key, value in (args or {}).items() if not key.startswith('eda_'))
    result = ArgumentSpecValidator(SOURCE_SPEC).validate(given)
    if result.error_messages:
        raise ValueError('sdwan_ops.license_sync.license_status: %s' % '; '.join(result.error_messages))
    params = result.validated_parameters
    if params['jitter'] is None:
        params['jitter'] = params['interval'] / 10.0
    problems = [text for text, bad in (
        ('interval must be more than 0', params['interval'] <= 0),
        ('jitter must not be negative', params['jitter'] < 0),
        ('concurrency must be at least 1', params['concurrency'] < 1),
        ('busy_polls must be at least 1', params['busy_polls'] < 1),
        ('max_backoff must not be less than interval', params['max_backoff'] < params['interval']),
        ('max_polls must not be negative', params['max_polls'] < 0),
    ) if bad]
    missing = [path for path in params['inventory'] if not os.path.exists(path)]
    if missing:
        problems.append('inventory not found: %s' % ', '.join(missing))
    if problems:
        raise ValueError('sdwan_ops.license_sync.license_status: %s' % '; '.join(problems))
    return params


class Host:
    """One vManage of the inventory: its validated options (or why they are not valid), SSM variables and secrets."""

    def __init__(self, name, params, ssm, secrets, error=None):
        self.name = name
        self.params = params
        self.ssm = ssm
        self.secrets = secrets
        self.error = error  # a failed module result (INVALID_INPUT) when the variables cannot be used


def _plain(value):
    """A templated value as plain Python data (str for Ansible's string types, vaulted ones decrypted)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return dict((_plain(key), _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _vault_loader(vault_password_file):
    from ansible import constants as C
    from ansible.parsing.dataloader import DataLoader

    loader = DataLoader()
    path = vault_password_file or os.environ.get('ANSIBLE_VAULT_PASSWORD_FILE') or C.DEFAULT_VAULT_PASSWORD_FILE
    if path:
        from ansible.parsing.vault import get_file_vault_secret

        secret = get_file_vault_secret(filename=path, vault_id=C.DEFAULT_VAULT_IDENTITY, loader=loader)
        secret.load()
        secrets = [(C.DEFAULT_VAULT_IDENTITY, secret)]
        loader.set_vault_secrets(secrets)
        _activate_vault_secrets(secrets)
    return loader


def _activate_vault_secrets(secrets):
    """ansible-core 2.19+ decrypts vaulted variables with the process's VaultSecretsContext, as its CLIs set it up."""
    try:
        from ansible.parsing.vault import VaultSecretsContext
    except ImportError:  # ansible-core < 2.19: the loader's secrets decrypt
        return
    current = VaultSecretsContext.current(optional=True)
    if current is None:
        VaultSecretsContext.initialize(VaultSecretsContext(list(secrets)))
    else:
        current.secrets.extend(secret for secret in secrets if secret not in current.secrets)


def read_inventory(collection, params):
    """[Host] of the pattern, with the variables the playbooks read, templated as Ansible templates them."""
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    argspec, compliance = collection.argspec, collection.compliance
    loader = _vault_loader(params['vault_password_file'])
    inventory = InventoryManager(loader=loader, sources=params['inventory'])
    variables = VariableManager(loader=loader, inventory=inventory)
    info_options = argspec.VMANAGE_LICENSE_INFO['argument_spec']
    secret_options = [name for name, option in list(info_options.items()) + list(argspec.SSM_OPTIONS.items()) if option.get('no_log')]
    hosts = []
    for host in inventory.get_hosts(params['hosts']):
        host_vars = variables.get_vars(host=host)
        templar = Templar(loader=loader, variables=host_vars)
        raw, error = {}, None
        for option in list(info_options) + list(compliance.SSM_VARIABLES):
            variable = argspec.INVENTORY_VARIABLES.get(option)
            if variable not in host_vars or option in raw:
                continue
            try:
                value = _plain(templar.template(host_vars[variable]))
            except AnsibleError as failure:
                error = 'the inventory variable %s (for the option %s) cannot be templated: %s' % (variable, option, failure)
                if 'vault' in str(failure).lower():
                    error += ('; it is vaulted: give the source the vault password with vault_password_file (or '
                              'ANSIBLE_VAULT_PASSWORD_FILE)')
                continue
            if value is not None and value != '':
                raw[option] = value
        secrets = [raw[name] for name in secret_options if raw.get(name)]
        hosts.append(_host(collection, host.name, raw, secrets, error))
    if not hosts:
        raise ValueError('sdwan_ops.license_sync.license_status: no host matches %r in the inventory %s'
                         % (params['hosts'], ', '.join(params['inventory'])))
    return hosts


def _host(collection, name, raw, secrets, error):
    argspec, errors = collection.argspec, collection.errors
    info_args = dict((key, value) for key, value in raw.items() if key in argspec.VMANAGE_LICENSE_INFO['argument_spec'])
    info_args['gather'] = ['ssm_check']
    ssm_args = dict((key, value) for key, value in raw.items() if key in argspec.SSM_OPTIONS)
    try:
        if error:
            raise errors.LicenseSyncError('INVALID_INPUT', error)
        params = argspec.validated(argspec.VMANAGE_LICENSE_INFO, info_args, 'the inventory variables of %s' % name)
        ssm_params = argspec.validated(argspec.SSM_CONNECTION, ssm_args, 'the SSM variables of %s' % name)
    except errors.LicenseSyncError as failure:
        redacted = errors.LicenseSyncError(failure.cause, failure.detail, redactor=collection.redact.Redactor(secrets))
        return Host(name, None, dict((key, ssm_args.get(key)) for key in collection.compliance.SSM_VARIABLES), secrets,
                    error=errors.failure_result(redacted))
    ssm = dict((key, ssm_params.get(key)) for key in collection.compliance.SSM_VARIABLES)
    # An SSM secret that comes from the environment (SSM_PASSWORD...) is a secret of this run too.
    secrets.extend(ssm[key] for key in collection.compliance.SSM_SECRET_VARIABLES if ssm.get(key) and ssm[key] not in secrets)
    if params.get('vmanage_password') and params['vmanage_password'] not in secrets:
        secrets.append(params['vmanage_password'])
    return Host(name, params, ssm, secrets)


# -- one poll

def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def is_busy(info):
    """Whether a vmanage_license_info result is vManage's passing refusal (429, 5xx) rather than a state."""
    if not info.get('failed'):
        return False
    if info.get('cause') in BUSY_CAUSES:
        return True
    return info.get('cause') == 'HTTP_ERROR' and (info.get('status') or 0) >= 500


class LicenseStatus:
    """The poller: reads each vManage, decides its state with the compliance model, reports what changed."""

    def __init__(self, params, collection=None, hosts=None):
        self.params = params
        self.collection = collection or _collection()
        self.hosts = hosts
        self.known = {}        # host -> (state, cause codes) last reported (or silently seen compliant)
        self.busy = {}         # host -> polls in a row with a busy answer
        self.resume_at = {}    # host -> monotonic time before which a busy host is not polled
        self.polls = 0
        self.secrets = []

    # The blocking parts run in worker threads (requests is synchronous).

    def load(self):
        self.hosts = read_inventory(self.collection, self.params)
        for host in self.hosts:
            self.secrets.extend(secret for secret in host.secrets if secret not in self.secrets)
        return self.hosts

    def _context(self, name):
        def warn(msg):
            LOGGER.warning('%s: %s', name, msg)

        def debug(msg):
            LOGGER.debug('%s: %s', name, msg)
        return self.collection.runner.RunContext(warn=warn, debug=debug, secrets=self.secrets)

    def read(self, host):
        """The vmanage_license_info result of one host (a failed result when it cannot be read)."""
        if host.error is not None:
            return host.error
        ctx = self._context(host.name)
        try:
            return self.collection.runner.run(self.collection.license_info.run_license_info, host.params, ctx,
                                              trace_name=host.name)
        except Exception as failure:  # pylint: disable=broad-except  # a bug must not end the watch
            msg = ctx.redactor.text('unexpected error while reading vManage: %s: %s' % (type(failure).__name__, failure))
            LOGGER.error('%s: %s', host.name, msg)
            return dict(failed=True, changed=False, msg=msg)

    def probe_ssm(self, fleet):
        """The compliance run's SSM On-Prem probes for ``fleet`` ({host: {info, ssm}}): (grant plan, SSM plan)."""
        compliance = self.collection.compliance
        first = next(host for host in self.hosts if host.name in fleet)
        http = dict(timeout=(first.params or {}).get('timeout', 30), retries=(first.params or {}).get('retries', 3))
        ctx = self._context('SSM On-Prem')
        try:
            grants = compliance.plan_grant_checks(fleet)
            compliance.check_grants(grants, http, ctx)
            servers = compliance.plan_ssm_checks(fleet)
            compliance.check_ssm_servers(servers, http, ctx)
        except Exception as failure:  # pylint: disable=broad-except  # the vManage verdicts stand without the probes
            LOGGER.warning('the SSM On-Prem probes failed, the verdicts rest on what vManage said: %s',
                           ctx.redactor.text('%s: %s' % (type(failure).__name__, failure)))
            return [], []
        return grants, servers

    def assess(self, fleet, probes=None):
        """{host: compliance record} of ``fleet``, with the SSM probes' facts when given."""
        compliance = self.collection.compliance
        grants, servers = probes or ([], [])
        records = {}
        for name, host in fleet.items():
            info, ssm = host['info'], host['ssm']
            grant = compliance.grant_of(grants, info, ssm) if grants else None
            server = compliance.ssm_server_of(servers, info, ssm) if servers else None
            records[name] = compliance.assess_host(name, info, ssm, grant and grant.get('verdict'), self.params['max_sync_age'],
                                                   self.params['min_release'], server)
        return records

    def decide(self, fleet):
        """The records of one poll, the SSM probes made as ``ssm_checks`` says."""
        mode = self.params['ssm_checks']
        if mode == 'always':
            return self.assess(fleet, self.probe_ssm(fleet))
        records = self.assess(fleet)
        suspects = dict((name, fleet[name]) for name, record in records.items()
                        if record['state'] == 'broken' and not fleet[name]['info'].get('failed'))
        if mode == 'auto' and suspects:
            records.update(self.assess(suspects, self.probe_ssm(suspects)))
        return records

    # The asynchronous loop.

    async def poll(self, loop, pool):
        """One poll of every due host: (events to put on the queue, summary line)."""
        now = time.monotonic()
        due = [host for host in self.hosts if self.resume_at.get(host.name, 0) <= now]
        results = await asyncio.gather(*[loop.run_in_executor(pool, self.read, host) for host in due])
        fleet, busy = {}, []
        for host, info in zip(due, results):
            if is_busy(info):
                count = self.busy.get(host.name, 0) + 1
                self.busy[host.name] = count
                pause = min(self.params['interval'] * 2 ** count, self.params['max_backoff'])
                # Due again at the first poll that starts after the pause.
                self.resume_at[host.name] = time.monotonic() + pause - min(1.0, self.params['interval'] / 2)
                if count < self.params['busy_polls']:
                    busy.append(host.name)
                    LOGGER.warning('%s: vManage is busy (%s), keeping its last state and polling it again in %.0f s',
                                   host.name, info.get('cause') or 'HTTP %s' % info.get('status'), pause)
                    continue
            else:
                self.busy.pop(host.name, None)
                self.resume_at.pop(host.name, None)
            fleet[host.name] = dict(info=info, ssm=host.ssm)
        records = await loop.run_in_executor(pool, self.decide, fleet) if fleet else {}
        observed = _now()
        events = [event for event in (self.change(records[name], observed) for name in sorted(records)) if event]
        self.polls += 1
        states = [record['state'] for record in records.values()]
        summary = 'poll %d: %d of %d vManage read, %d compliant, %d not, %d busy, %d events' % (
            self.polls, len(due), len(self.hosts), states.count(STATE_COMPLIANT), len(states) - states.count(STATE_COMPLIANT),
            len(busy), len(events))
        return events, summary

    def change(self, record, observed):
        """The event for a host whose state or causes changed since the last report (None when nothing changed)."""
        name = record['host']
        codes = [cause['code'] for cause in record['causes']]
        key = (record['state'], tuple(codes))
        previous = self.known.get(name)
        self.known[name] = key
        if previous == key or (previous is None and record['state'] == STATE_COMPLIANT):
            return None
        status = dict(
            host=name,
            state=record['state'],
            previous_state=previous[0] if previous else None,
            cause=record['cause'],
            causes=[dict((field, cause.get(field)) for field in ('code', 'title', 'remedy', 'fixable', 'detail'))
                    for cause in record['causes']],
            previous_causes=list(previous[1]) if previous else None,
            remedy=record['remedy'],
            fixable=bool(record['fixable']) if record['state'] != STATE_COMPLIANT else None,
            release=record.get('release'),
            time=observed,
        )
        return dict(license_status=self.collection.redact.Redactor(self.secrets).data(status), meta=dict(hosts=name))

    async def run(self, queue):
        loop = asyncio.get_running_loop()
        params = self.params
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=params['concurrency'], thread_name_prefix='license_status')
        try:
            if self.hosts is None:
                await loop.run_in_executor(pool, self.load)
            LOGGER.info('watching %d vManage every %.0f s (+ up to %.0f s jitter), %d at a time, SSM On-Prem checks: %s',
                        len(self.hosts), params['interval'], params['jitter'], params['concurrency'], params['ssm_checks'])
            while True:
                started = loop.time()
                events, summary = await self.poll(loop, pool)
                for event in events:
                    await queue.put(event)
                LOGGER.info(summary)
                if params['max_polls'] and self.polls >= params['max_polls']:
                    return
                pause = params['interval'] + random.uniform(0, params['jitter']) - (loop.time() - started)
                await asyncio.sleep(max(0.0, pause))
        finally:
            # Requests in flight end by their own timeout; their threads are not waited for.
            pool.shutdown(wait=False, cancel_futures=True)


async def main(queue, args):
    """ansible-rulebook's entry point."""
    await LicenseStatus(validated_args(args)).run(queue)


if __name__ == '__main__':
    # A look from the command line: python license_status.py INVENTORY [INTERVAL] prints the events of 2 polls.
    import json

    class _PrintQueue:
        async def put(self, event):
            print(json.dumps(event, indent=2, sort_keys=True))

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), dict(inventory=sys.argv[1], interval=float(sys.argv[2]) if len(sys.argv) > 2 else 5,
                                         max_polls=2, jitter=0)))
