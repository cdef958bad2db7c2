# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report files of license_report: JSON, JUnit XML, one self-contained HTML page, a limit file.

FOR INTERNAL COLLECTION USE ONLY. Controller side only. Input is the document of _compliance.run_compliance (no
secrets). The page is templates/license_report.html.j2; this file prepares what it shows. Every file is written to a
temporary name and renamed, so a reader never sees half a report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import tempfile
from xml.etree import ElementTree

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.checks import CHECKS
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.checks import duration
from ansible_collections.sdwan_ops.license_sync.plugins.plugin_utils._compliance import STATES, fixable_hosts

FORMATS = ('json', 'junit', 'html')
EXTENSIONS = dict(json='json', junit='xml', html='html')
STATE_LABELS = dict(compliant='Compliant', broken='Broken', unreachable='Unreachable', auth_failed='Auth failed', error='Error')
STATE_SYMBOLS = dict(compliant='\u2714', broken='\u2716', unreachable='\u26a0', auth_failed='\u2298', error='?')
COLUMNS = (('host', 'Host', 'text'), ('state', 'State', 'num'), ('release', 'Release', 'text'), ('mode', 'Mode', 'text'),
           ('ssm_url', 'SSM URL', 'text'), ('credentials', 'Credentials', 'text'), ('grant', 'Grant', 'text'),
           ('last_sync', 'Last sync', 'num'), ('ssm_reach', 'SSM reachable from vManage', 'text'),
           ('cause', 'Cause and remedy', 'text'))
_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'templates')


def write_reports(document, dest, formats, stamp):
    """Write the timestamped reports and their ``latest`` copies in ``dest``; return {kind: path}."""
    if not os.path.isdir(dest):
        os.makedirs(dest)
    renderers = dict(json=render_json, junit=render_junit, html=render_html)
    written = {}
    for kind in formats:
        path = os.path.join(dest, 'license-compliance-%s.%s' % (stamp, EXTENSIONS[kind]))
        _write_atomic(path, renderers[kind](document))
        _copy_atomic(path, os.path.join(dest, 'latest.%s' % EXTENSIONS[kind]))
        written[kind] = path
    limit = os.path.join(dest, 'broken-%s.txt' % stamp)
    _write_atomic(limit, render_limit_file(document))
    _copy_atomic(limit, os.path.join(dest, 'latest-broken.txt'))
    written['limit'] = limit
    return written


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
        causes=record['causes'], cause=record['cause'],
    )


def render_html(document):
    """One page, no external resource: totals, causes with remedies, a sortable and filterable host table."""
    totals = document['totals']
    first_of = {}
    for record in document['hosts']:
        for cause in record['causes']:
            first_of.setdefault(cause['code'], cause)
    environment = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined,
                              keep_trailing_newline=True)
    return environment.get_template('license_report.html.j2').render(
        title=document['title'], generated=document['generated'], totals=totals,
        max_age=duration(document['max_sync_age']),
        states=[dict(key=state, count=totals[state], symbol=STATE_SYMBOLS[state], label=STATE_LABELS[state]) for state in STATES],
        causes=[dict(first_of[code], count=count) for code, count in totals['by_cause'].items()],
        grants=[dict(grant, result={True: '\u2714 valid', False: '\u2716 failed', None: '\u2013 not checked'}[grant['verified']],
                     detail=('%s: ' % grant['cause'] if grant['cause'] else '') + grant['detail']) for grant in document['grants']],
        columns=[dict(key=key, label=label, type=kind) for key, label, kind in COLUMNS],
        hosts=[_host_view(record) for record in document['hosts']],
    )
