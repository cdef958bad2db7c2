# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report files of license_report: JSON, JUnit XML, one self-contained HTML page, Prometheus metrics, a limit file.

FOR INTERNAL COLLECTION USE ONLY. Controller side only. Input is the document of _compliance.run_compliance (no
secrets). The page is templates/license_report.html.j2; this file prepares what it shows. Every file is written to a
temporary name and renamed, so a reader never sees half a report (node_exporter's textfile collector reads only names
ending in .prom, and a rename on one file system is atomic: prometheus/node_exporter README, "Textfile Collector").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import shutil
import tempfile
from xml.etree import ElementTree

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.checks import CHECKS
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.checks import duration
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._compliance import STATES, fixable_hosts

FORMATS = ('json', 'junit', 'html', 'prometheus')
EXTENSIONS = dict(json='json', junit='xml', html='html', prometheus='prom')
# Formats written under one name only: node_exporter's textfile collector exports every *.prom file of its directory, so
# timestamped copies would export each host once per run.
LATEST_ONLY = frozenset(('prometheus',))
STATE_LABELS = dict(compliant='Compliant', broken='Broken', unreachable='Unreachable', auth_failed='Auth failed', error='Error',
                    unprocessed='Unprocessed')
STATE_SYMBOLS = dict(compliant='\u2714', broken='\u2716', unreachable='\u26a0', auth_failed='\u2298', error='?',
                     unprocessed='\u2026')
CHANGE_LABELS = (('newly_broken', 'Newly broken'), ('fixed', 'Fixed'), ('cause_changed', 'Cause changed'),
                 ('new', 'New in this report'), ('removed', 'Gone since the previous report'),
                 ('unprocessed', 'Not processed this time'))
METRIC_PREFIX = 'sdwan_license_compliance_'
STATS_FILE = 'latest-stats.json'
COLUMNS = (('host', 'Host', 'text'), ('state', 'State', 'num'), ('release', 'Release', 'text'), ('mode', 'Mode', 'text'),
           ('ssm_url', 'SSM URL', 'text'), ('credentials', 'Credentials', 'text'), ('grant', 'Grant', 'text'),
           ('last_sync', 'Last sync', 'num'), ('ssm_reach', 'SSM reachable from vManage', 'text'),
           ('cause', 'Cause and remedy', 'text'))
_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'templates')


def write_reports(document, dest, formats, stamp, stats=None):
    """Write the timestamped reports and their ``latest`` copies in ``dest``; return {kind: path}.

    ``prometheus`` is written as ``latest.prom`` only (LATEST_ONLY); ``stats`` (the run's set_stats data), when given, as
    ``latest-stats.json``, which ``-e @`` hands to the aggregation playbook as AWX hands artefacts to the next node.
    """
    if not os.path.isdir(dest):
        os.makedirs(dest)
    renderers = dict(json=render_json, junit=render_junit, html=render_html, prometheus=render_prometheus)
    written = {}
    for kind in formats:
        latest = os.path.join(dest, 'latest.%s' % EXTENSIONS[kind])
        if kind in LATEST_ONLY:
            _write_atomic(latest, renderers[kind](document))
            written[kind] = latest
            continue
        path = os.path.join(dest, 'license-compliance-%s.%s' % (stamp, EXTENSIONS[kind]))
        _write_atomic(path, renderers[kind](document))
        _copy_atomic(path, latest)
        written[kind] = path
    limit = os.path.join(dest, 'broken-%s.txt' % stamp)
    _write_atomic(limit, render_limit_file(document))
    _copy_atomic(limit, os.path.join(dest, 'latest-broken.txt'))
    written['limit'] = limit
    if stats is not None:
        written['stats'] = os.path.join(dest, STATS_FILE)
        _write_atomic(written['stats'], json.dumps(stats, sort_keys=True) + '\n')
    return written


def read_previous(dest):
    """(the previous JSON report of ``dest``, None) or (None, why it is not used); (None, None) when there is none."""
    path = os.path.join(dest, 'latest.json')
    if not os.path.isfile(path):
        return None, None
    try:
        with open(path, 'rb') as stream:
            previous = json.loads(stream.read().decode('utf-8'))
    except (OSError, ValueError) as error:
        return None, 'the previous report %s cannot be read (%s): no history this time' % (path, error)
    hosts = previous.get('hosts') if isinstance(previous, dict) else None
    if not isinstance(hosts, list) or not all(isinstance(record, dict) and isinstance(record.get('host'), str)
                                              and 'state' in record for record in hosts):
        return None, 'the previous report %s is not a compliance report: no history this time' % path
    return previous, None


def _write_atomic(path, text):
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or '.', prefix='.tmp-')
    try:
        with os.fdopen(handle, 'wb') as stream:
            stream.write(text.encode('utf-8'))
        os.chmod(temporary, 0o644)
        os.rename(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _copy_atomic(source, path):
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or '.', prefix='.tmp-')
    os.close(handle)
    shutil.copyfile(source, temporary)
    os.chmod(temporary, 0o644)
    os.rename(temporary, path)


def render_json(document):
    return json.dumps(document, indent=2, sort_keys=False) + '\n'


def render_limit_file(document):
    """The hosts the fix playbook can repair, one per line, for ``--limit @file``."""
    hosts = fixable_hosts(document['hosts'])
    return ''.join('%s\n' % host for host in hosts)


def render_prometheus(document):
    """Gauges in the Prometheus text exposition format 0.0.4 for node_exporter's textfile collector (no timestamps: it
    rejects a file that has any). Names: METRIC_PREFIX + what; one HELP and TYPE line per family, its samples together
    (prometheus.io/docs/instrumenting/exposition_formats)."""
    totals, records = document['totals'], document['hosts']
    families = [
        ('hosts', 'vManage per licence compliance state.', [(dict(state=state), totals[state]) for state in STATES]),
        ('hosts_by_cause', 'vManage per cause code (a host counts once per cause).',
         [(dict(cause=code), count) for code, count in totals['by_cause'].items()]),
        ('hosts_fixable', 'Broken vManage whose every cause the fix playbook can repair.', [({}, totals['fixable'])]),
        ('hosts_needing_operator', 'vManage that are not compliant and need an operator first.', [({}, totals['needs_operator'])]),
        ('host_state', 'Licence compliance state of each vManage: 1 for its state, 0 for the others.',
         [(dict(host=record['host'], state=state), int(record['state'] == state)) for record in records for state in STATES]),
        ('host_cause', 'Each cause code that makes a vManage not compliant (fixable: the fix playbook repairs it).',
         [(dict(host=record['host'], cause=cause['code'], fixable='true' if cause['fixable'] else 'false'), 1)
          for record in records for cause in record['causes']]),
        ('host_last_sync_age_seconds', 'Age of the last sync each vManage reports, where it reports one.',
         [(dict(host=record['host']), record['last_sync']['age_s']) for record in records
          if (record.get('last_sync') or {}).get('age_s') is not None]),
        ('host_broken_runs', 'Consecutive reports in which each vManage was not compliant, this one included.',
         [(dict(host=record['host']), record['history']['broken_runs']) for record in records if record.get('history')]),
        ('devices', 'Devices each vManage manages (device licence check on).',
         [(dict(host=record['host']), record['devices']['total']) for record in records if record.get('devices')]),
        ('devices_out_of_compliance', 'Devices out of licence compliance per vManage and reason (device licence check on).',
         [(dict(host=record['host'], reason=reason), count) for record in records if record.get('devices')
          for reason, count in sorted(record['devices']['reasons'].items())]),
        ('run_duration_seconds', 'Wall time of the compliance run, from its start (the earliest slice start when it '
                                 'aggregates a sliced run) to its report.',
         [({}, document['duration_s'])] if document.get('duration_s') is not None else []),
        ('report_timestamp_seconds', 'When the report was made, in seconds since the epoch.',
         [({}, _epoch(document['generated']))]),
    ]
    lines = []
    for name, text, samples in families:
        if not samples:
            continue
        lines += ['# HELP %s%s %s' % (METRIC_PREFIX, name, text.replace('\\', '\\\\').replace('\n', '\\n')),
                  '# TYPE %s%s gauge' % (METRIC_PREFIX, name)]
        lines += ['%s%s%s %s' % (METRIC_PREFIX, name, _labels(labels), _number(value)) for labels, value in samples]
    return '\n'.join(lines) + '\n'


def _labels(labels):
    if not labels:
        return ''
    return '{%s}' % ','.join('%s="%s"' % (key, str(value).replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"'))
                             for key, value in labels.items())


def _number(value):
    return str(int(value)) if isinstance(value, bool) or (isinstance(value, (int, float)) and float(value).is_integer()) \
        else repr(float(value))


def _epoch(generated):
    moment = datetime.datetime.strptime(generated, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


def render_junit(document):
    """One testsuite per host, one testcase per check; a broken check is a failure, an undone one skipped."""
    suites = ElementTree.Element('testsuites', name=document['title'], timestamp=document['generated'], time='0')
    counts = dict(tests=0, failures=0, errors=0, skipped=0)
    for record in document['hosts']:
        suite = ElementTree.SubElement(suites, 'testsuite', name=record['host'], timestamp=document['generated'], time='0')
        properties = ElementTree.SubElement(suite, 'properties')
        for name in ('state', 'release', 'mode', 'ssm_url', 'client_id', 'cause'):
            if record.get(name) is not None:
                ElementTree.SubElement(properties, 'property', name=name, value=str(record[name]))
        suite_counts = dict(tests=0, failures=0, errors=0, skipped=0)
        for check in record['checks']:
            case = ElementTree.SubElement(suite, 'testcase', name=CHECKS.get(check['name'], check['name']),
                                          classname='license_compliance.%s' % record['host'], time='0')
            suite_counts['tests'] += 1
            if check['status'] == 'fail':
                suite_counts['failures'] += 1
                remedy = _remedy_of(record, check['cause'])
                failure = ElementTree.SubElement(case, 'failure', type=check['cause'] or 'FAILED',
                                                 message='%s: %s' % (check['cause'], check['detail']))
                failure.text = '%s\nRemedy: %s' % (check['detail'], remedy) if remedy else check['detail']
            elif check['status'] == 'skip':
                suite_counts['skipped'] += 1
                ElementTree.SubElement(case, 'skipped', message=check['detail'])
            elif check['status'] == 'warn':
                ElementTree.SubElement(case, 'system-out').text = 'warning: %s' % check['detail']
        for key, value in suite_counts.items():
            suite.set(key, str(value))
            counts[key] += value
    for key, value in counts.items():
        suites.set(key, str(value))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding='unicode') + '\n'


def _remedy_of(record, code):
    for cause in record['causes']:
        if cause['code'] == code:
            return cause['remedy']
    return None


def _flag(value, yes='yes', no='no', unknown='unknown'):
    kind = 'unknown' if value is None else 'yes' if value else 'no'
    return dict(kind=kind, text={'yes': yes, 'no': no, 'unknown': unknown}[kind],
                symbol={'yes': '\u2714', 'no': '\u2716', 'unknown': '\u2013'}[kind])


def _ago(seconds):
    return '' if seconds is None else '%s ago' % duration(seconds)


def _sync(last_sync):
    view = dict(error=last_sync.get('error'), result=None, sort=-1)
    if last_sync.get('reported') is False:
        view['text'] = 'not reported'
    elif not last_sync.get('time'):
        view['text'] = 'never' if last_sync.get('ok') is None else 'failed'
    else:
        age = last_sync.get('age_s')
        view.update(result='ok' if last_sync.get('ok') else 'failed', age=_ago(age), time=last_sync['time'],
                    sort=age if age is not None else -1)
    return view


def _release_sort_key(release):
    if not release:
        return ''
    return '.'.join(part.zfill(6) if part.isdigit() else part for part in release.replace('-', '.').split('.'))


def _host_view(record):
    return dict(
        name=record['host'], state=record['state'], state_rank=STATES.index(record['state']),
        state_symbol=STATE_SYMBOLS.get(record['state'], ''), state_label=STATE_LABELS.get(record['state'], record['state']).upper(),
        codes=' '.join(cause['code'] for cause in record['causes']), release=record['release'] or '\u2013',
        release_key=_release_sort_key(record['release']), mode=record['mode'] or '\u2013', ssm_url=record['ssm_url'] or '\u2013',
        flags=[_flag(record['credentials_stored'], 'stored', 'missing'), _flag(record['grant_valid'], 'valid', 'invalid', 'not checked')],
        sync=_sync(record['last_sync']), reach=[_flag(record['ssm_reachable_from_vmanage'], 'reachable', 'unreachable')],
        causes=record['causes'], cause=record['cause'], devices=_devices(record),
    )


def _devices(record):
    """The device licence cell: how many devices are out of compliance and why, or why that is not known."""
    check = next((check for check in record['checks'] if check['name'] == 'device_licenses'), None)
    devices = record.get('devices')
    if devices:
        reasons = ', '.join('%s: %d' % item for item in sorted(devices['reasons'].items(), key=lambda item: (-item[1], item[0])))
        return dict(text='%d of %d' % (devices['out_of_compliance'], devices['total']), reasons=reasons,
                    sort=devices['out_of_compliance'], bad=devices['out_of_compliance'] > 0)
    return dict(text='\u2013', reasons=check['detail'] if check else '', sort=-1, bad=False)


def _state_label(record):
    return '%s%s' % (STATE_LABELS.get(record['state'], record['state']).upper(), ' (%s)' % record['cause'] if record['cause'] else '')


def _history(document):
    """What changed since the previous report, grouped for the top of the page; None without a previous report."""
    history = document.get('history')
    if not history or history.get('previous') is None:
        return None
    records = dict((record['host'], record) for record in document['hosts'])

    def detail(key, name):
        record = records.get(name)
        if record is None:
            return ''
        before = record['history']
        was = '%s%s' % ((before['previous_state'] or 'unknown').upper(),
                        ' (%s)' % before['previous_cause'] if before['previous_cause'] else '')
        if key == 'unprocessed':
            return 'last known %s' % was
        return 'now %s' % _state_label(record) if key in ('newly_broken', 'new') else 'was %s, now %s' % (was, _state_label(record))

    groups = []
    for key, label in CHANGE_LABELS:
        hosts = history.get(key) or []
        if hosts:
            groups.append(dict(key=key, label=label, count=len(hosts), open=len(hosts) <= 50, summary=_hosts(len(hosts)),
                               hosts=[dict(name=name, detail=detail(key, name)) for name in hosts]))
    still = sorted(history['still_broken'].items(), key=lambda item: (-item[1], item[0]))
    if still:
        groups.append(dict(key='still_broken', label='Still broken', count=len(still), open=len(still) <= 50, summary=_hosts(len(still)),
                           hosts=[dict(name=name, detail='%s for %d runs' % (_state_label(records[name]), runs))
                                  for name, runs in still]))
    counts = dict((key, len(history.get(key) or [])) for key, _label in CHANGE_LABELS)
    counts['still_broken'] = len(still)
    return dict(previous=history['previous'], changed=len(history['changed']), groups=groups, counts=counts)


def _hosts(count):
    return '1 host' if count == 1 else '%d hosts' % count


def render_html(document):
    """One page, no external resource: what changed since the previous report, totals, causes with remedies, a sortable and
    filterable host table (with the device licence column when the run read devices)."""
    totals = document['totals']
    first_of = {}
    for record in document['hosts']:
        for cause in record['causes']:
            first_of.setdefault(cause['code'], cause)
    show_devices = any(check['name'] == 'device_licenses' for record in document['hosts'] for check in record['checks'])
    columns = [dict(key=key, label=label, type=kind) for key, label, kind in COLUMNS]
    if show_devices:
        columns.insert(len(columns) - 1, dict(key='devices', label='Devices out of licence compliance', type='num'))
    environment = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined,
                              keep_trailing_newline=True)
    return environment.get_template('license_report.html.j2').render(
        title=document['title'], generated=document['generated'], totals=totals,
        max_age=duration(document['max_sync_age']),
        # A sliced run's aggregation may find hosts no slice reported; other runs have none, so no card for them.
        states=[dict(key=state, count=totals[state], symbol=STATE_SYMBOLS[state], label=STATE_LABELS[state]) for state in STATES
                if state != 'unprocessed' or totals.get(state)],
        causes=[dict(first_of[code], count=count) for code, count in totals['by_cause'].items()],
        grants=[dict(grant, result={True: '\u2714 valid', False: '\u2716 failed', None: '\u2013 not checked'}[grant['verified']],
                     detail=('%s: ' % grant['cause'] if grant['cause'] else '') + grant['detail']) for grant in document['grants']],
        columns=columns, show_devices=show_devices, history=_history(document),
        first_report=document.get('history') is not None and document['history'].get('previous') is None,
        hosts=[_host_view(record) for record in document['hosts']],
    )
