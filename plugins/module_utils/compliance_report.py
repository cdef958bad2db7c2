# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report files of license_report: JSON, JUnit XML, one self-contained HTML page, a limit file.

FOR INTERNAL COLLECTION USE ONLY. Input is the document of compliance.run_compliance (no secrets).
Every file is written to a temporary name and renamed, so a reader never sees half a report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import tempfile
from html import escape as html_escape
from xml.etree import ElementTree

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.compliance import STATES, fixable_hosts

FORMATS = ('json', 'junit', 'html')
EXTENSIONS = dict(json='json', junit='xml', html='html')
STATE_LABELS = dict(compliant='Compliant', broken='Broken', unreachable='Unreachable', auth_failed='Auth failed', error='Error')
STATE_SYMBOLS = dict(compliant='\u2714', broken='\u2716', unreachable='\u26a0', auth_failed='\u2298', error='?')
CHECK_LABELS = dict(login='vManage login', release='Release', mode='Licensing mode', ssm_url='SSM URL',
                    credentials='Client ID/secret stored', ssm_service='SSM On-Prem up', grant='Grant valid on SSM',
                    ssm_user='SSM user accepted', ssm_reach='SSM reachable from vManage', last_sync='Last sync')


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
            case = ElementTree.SubElement(suite, 'testcase', name=CHECK_LABELS.get(check['name'], check['name']),
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


def _h(value):
    return html_escape('' if value is None else str(value), quote=True)


def _yes_no(value, yes='yes', no='no', unknown='unknown'):
    if value is None:
        return 'unknown', unknown
    return ('yes', yes) if value else ('no', no)


def _flag_cell(value, yes='yes', no='no', unknown='unknown'):
    kind, text = _yes_no(value, yes, no, unknown)
    symbol = {'yes': '\u2714', 'no': '\u2716', 'unknown': '\u2013'}[kind]
    return '<td class="flag %s" data-sort="%s"><span aria-hidden="true">%s</span> %s</td>' % (kind, _h(text), symbol, _h(text))


def _state_badge(state):
    return '<span class="badge s-%s"><span aria-hidden="true">%s</span> %s</span>' % (
        _h(state), STATE_SYMBOLS.get(state, ''), _h(STATE_LABELS.get(state, state).upper()))


def _last_sync_cell(last_sync):
    if not last_sync.get('time'):
        text = 'never' if last_sync.get('ok') is None else 'failed'
        return '<td data-sort="-1">%s%s</td>' % (_h(text), _sync_error(last_sync))
    result = 'ok' if last_sync.get('ok') else 'failed'
    age = last_sync.get('age_s')
    return '<td data-sort="%s"><span class="sync-%s">%s</span> %s<br><small>%s</small>%s</td>' % (
        age if age is not None else -1, result, _h(result.upper()), _h(_age(age)), _h(last_sync['time']), _sync_error(last_sync))


def _sync_error(last_sync):
    if not last_sync.get('error'):
        return ''
    return '<details><summary>error</summary><code>%s</code></details>' % _h(last_sync['error'])


def _age(seconds):
    if seconds is None:
        return ''
    for unit, size in (('d', 86400), ('h', 3600), ('min', 60)):
        if seconds >= size:
            return '%d %s ago' % (seconds // size, unit)
    return '%d s ago' % seconds


def _causes_cell(record):
    if not record['causes']:
        return '<td data-sort="">\u2013</td>'
    items = []
    for cause in record['causes']:
        items.append('<li><b class="code">%s</b> %s<br><small class="detail">%s</small><br><span class="remedy">Remedy: %s</span>%s</li>' % (
            _h(cause['code']), _h(cause['title']), _h(cause['detail']), _h(cause['remedy']),
            '' if cause['fixable'] else ' <span class="tag">needs operator</span>'))
    return '<td data-sort="%s"><ul class="causes">%s</ul></td>' % (_h(record['cause']), ''.join(items))


def _host_row(record):
    codes = ' '.join(c['code'] for c in record['causes'])
    cells = [
        '<td data-sort="%s"><b>%s</b></td>' % (_h(record['host']), _h(record['host'])),
        '<td data-sort="%d">%s</td>' % (STATES.index(record['state']), _state_badge(record['state'])),
        '<td data-sort="%s">%s</td>' % (_h(_release_sort_key(record['release'])), _h(record['release'] or '\u2013')),
        '<td>%s</td>' % _h(record['mode'] or '\u2013'),
        '<td class="url">%s</td>' % _h(record['ssm_url'] or '\u2013'),
        _flag_cell(record['credentials_stored'], 'stored', 'missing'),
        _flag_cell(record['grant_valid'], 'valid', 'invalid', 'not checked'),
        _last_sync_cell(record['last_sync']),
        _flag_cell(record['ssm_reachable_from_vmanage'], 'reachable', 'unreachable'),
        _causes_cell(record),
    ]
    return '<tr data-state="%s" data-causes="%s">%s</tr>' % (_h(record['state']), _h(codes), ''.join(cells))


def _release_sort_key(release):
    if not release:
        return ''
    parts = []
    for part in release.replace('-', '.').split('.'):
        parts.append(part.zfill(6) if part.isdigit() else part)
    return '.'.join(parts)


COLUMNS = (('host', 'Host', 'text'), ('state', 'State', 'num'), ('release', 'Release', 'text'), ('mode', 'Mode', 'text'),
           ('ssm_url', 'SSM URL', 'text'), ('credentials', 'Credentials', 'text'), ('grant', 'Grant', 'text'),
           ('last_sync', 'Last sync', 'num'), ('ssm_reach', 'SSM reachable from vManage', 'text'),
           ('cause', 'Cause and remedy', 'text'))


def render_html(document):
    """One page, no external resource: totals, causes with remedies, a sortable and filterable host table."""
    totals = document['totals']
    cards = ['<div class="card total"><div class="n" data-total="hosts">%d</div><div>Hosts</div></div>' % totals['hosts']]
    for state in STATES:
        cards.append('<div class="card s-%s"><div class="n" data-total="%s">%d</div><div>%s %s</div></div>' % (
            state, state, totals[state], STATE_SYMBOLS[state], _h(STATE_LABELS[state])))
    cause_rows = []
    causes = {}
    for record in document['hosts']:
        for cause in record['causes']:
            causes.setdefault(cause['code'], cause)
    for code, count in totals['by_cause'].items():
        cause = causes[code]
        cause_rows.append('<tr><td><a href="#" class="cause-link" data-cause="%s"><b class="code">%s</b></a></td><td data-total-cause="%s">%d</td>'
                          '<td>%s</td><td>%s</td><td>%s</td></tr>' % (
                              _h(code), _h(code), _h(code), count, _h(cause['title']),
                              'yes' if cause['fixable'] else 'no, needs operator', _h(cause['remedy'])))
    grant_rows = ['<tr><td><code>%s</code></td><td>%s</td><td>%d</td><td>%s</td><td>%s</td></tr>' % (
        _h(g['client_id']), _h(g['ssm_url']), g['hosts'],
        {True: '\u2714 valid', False: '\u2716 failed', None: '\u2013 not checked'}[g['verified']],
        _h(('%s: ' % g['cause'] if g['cause'] else '') + g['detail'])) for g in document['grants']]
    state_options = ''.join('<option value="%s">%s (%d)</option>' % (s, _h(STATE_LABELS[s]), totals[s]) for s in STATES)
    cause_options = ''.join('<option value="%s">%s (%d)</option>' % (_h(c), _h(c), n) for c, n in totals['by_cause'].items())
    headers = ''.join('<th scope="col" data-key="%s" data-type="%s" aria-sort="none"><button type="button">%s</button></th>' % (
        key, kind, _h(label)) for key, label, kind in COLUMNS)
    rows = '\n'.join(_host_row(record) for record in document['hosts'])
    return HTML_PAGE % dict(
        title=_h(document['title']), generated=_h(document['generated']), cards=''.join(cards),
        fixable=totals['fixable'], needs_operator=totals['needs_operator'], max_age=_h(_age(document['max_sync_age']).replace(' ago', '')),
        cause_rows='\n'.join(cause_rows) or '<tr><td colspan="5">No host has a problem.</td></tr>',
        grant_rows='\n'.join(grant_rows) or '<tr><td colspan="5">No grant was checked.</td></tr>',
        state_options=state_options, cause_options=cause_options, headers=headers, rows=rows, host_count=totals['hosts'],
        css=HTML_CSS, script=HTML_SCRIPT,
    )


HTML_CSS = """
:root{--ok:#1b7f3b;--bad:#b3261e;--unr:#5f4b8b;--auth:#a35200;--err:#6d6d6d;--bg:#f6f7f9;--line:#d7dbe0}
*{box-sizing:border-box}body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:var(--bg);color:#1d2127}
header{background:#1d2b3a;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:20px}header p{margin:0;opacity:.85}
main{padding:16px 24px}h2{font-size:16px;margin:24px 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid var(--line);border-left:8px solid #1d2b3a;
border-radius:6px;padding:10px 16px;min-width:130px}.card .n{font-size:28px;font-weight:700}
.card.s-compliant{border-left-color:var(--ok)}.card.s-broken{border-left-color:var(--bad)}.card.s-unreachable{border-left-color:var(--unr)}
.card.s-auth_failed{border-left-color:var(--auth)}.card.s-error{border-left-color:var(--err)}
.summary{margin:8px 0 0}
table{border-collapse:collapse;background:#fff;width:100%;border:1px solid var(--line)}th,td{border-bottom:1px solid var(--line);
padding:6px 8px;text-align:left;vertical-align:top}th{background:#eef1f4;position:sticky;top:0}
th button{all:unset;cursor:pointer;font-weight:600}th button:focus{outline:2px solid #1d6fd6}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:700;font-size:12px;color:#fff;white-space:nowrap}
.badge.s-compliant{background:var(--ok)}.badge.s-broken{background:var(--bad)}.badge.s-unreachable{background:var(--unr)}
.badge.s-auth_failed{background:var(--auth)}.badge.s-error{background:var(--err)}
.flag.yes{color:var(--ok)}.flag.no{color:var(--bad);font-weight:600}.flag.unknown{color:#6d6d6d}
.sync-ok{color:var(--ok);font-weight:700}.sync-failed{color:var(--bad);font-weight:700}
.causes{margin:0;padding-left:16px}.code{font-family:ui-monospace,Menlo,Consolas,monospace}.remedy{color:#38414a}.detail{color:#555}
.tag{border:1px solid var(--bad);color:var(--bad);border-radius:4px;padding:0 4px;font-size:11px}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:end;margin:8px 0}.filters label{display:flex;flex-direction:column;font-weight:600}
.filters select,.filters input{font:inherit;padding:4px}.url{word-break:break-all;min-width:9em}
#hosts td:nth-child(2),td.flag{white-space:nowrap}#hosts td:first-child{min-width:7em}
#hosts td:last-child{min-width:16em;overflow-wrap:anywhere}#causes td{overflow-wrap:anywhere}
#grants code{word-break:break-all}details code{white-space:pre-wrap;font-size:12px}
@media print{th{position:static}.filters{display:none}}
"""

HTML_SCRIPT = """
(function () {
  var table = document.getElementById('hosts');
  var body = table.tBodies[0];
  var stateFilter = document.getElementById('state-filter');
  var causeFilter = document.getElementById('cause-filter');
  var search = document.getElementById('search');
  var shown = document.getElementById('shown');
  function sortValue(row, index, type) {
    var cell = row.cells[index];
    var value = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent.trim();
    return type === 'num' ? parseFloat(value) || 0 : value.toLowerCase();
  }
  function sortBy(header) {
    var index = header.cellIndex, type = header.getAttribute('data-type');
    var direction = header.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.setAttribute('aria-sort', 'none'); });
    header.setAttribute('aria-sort', direction);
    var sign = direction === 'ascending' ? 1 : -1;
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortValue(a, index, type), y = sortValue(b, index, type);
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function applyFilters() {
    var state = stateFilter.value, cause = causeFilter.value, text = search.value.trim().toLowerCase(), count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var visible = (!state || row.getAttribute('data-state') === state) &&
        (!cause || (' ' + row.getAttribute('data-causes') + ' ').indexOf(' ' + cause + ' ') >= 0) &&
        (!text || row.textContent.toLowerCase().indexOf(text) >= 0);
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count;
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    th.querySelector('button').addEventListener('click', function () { sortBy(th); });
  });
  [stateFilter, causeFilter].forEach(function (el) { el.addEventListener('change', applyFilters); });
  search.addEventListener('input', applyFilters);
  Array.prototype.forEach.call(document.querySelectorAll('.cause-link'), function (link) {
    link.addEventListener('click', function (event) {
      event.preventDefault();
      causeFilter.value = link.getAttribute('data-cause');
      applyFilters();
      table.scrollIntoView();
    });
  });
  applyFilters();
}());
"""

HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<style>%(css)s</style>
</head>
<body>
<header><h1>%(title)s</h1><p>Generated %(generated)s &middot; read-only run &middot; a sync older than %(max_age)s counts as stale</p></header>
<main>
<section aria-label="Totals"><div class="cards" id="totals">%(cards)s</div>
<p class="summary"><b>%(fixable)d</b> broken hosts can be fixed by <code>fix_license_sync.yml --limit @latest-broken.txt</code>;
<b>%(needs_operator)d</b> hosts need an operator first (see the remedies).</p></section>
<h2>Causes</h2>
<table id="causes"><thead><tr><th>Cause</th><th>Hosts</th><th>What it means</th><th>Fixable by the playbook</th><th>Remedy</th></tr></thead>
<tbody>
%(cause_rows)s
</tbody></table>
<h2>Hosts</h2>
<div class="filters">
<label for="state-filter">State<select id="state-filter"><option value="">All states</option>%(state_options)s</select></label>
<label for="cause-filter">Cause<select id="cause-filter"><option value="">All causes</option>%(cause_options)s</select></label>
<label for="search">Search<input id="search" type="search" placeholder="host, URL, error..."></label>
<span><b id="shown">%(host_count)d</b> of %(host_count)d hosts shown</span>
</div>
<table id="hosts"><thead><tr>%(headers)s</tr></thead>
<tbody>
%(rows)s
</tbody></table>
<h2>Grants checked on SSM On-Prem (one token request each)</h2>
<table id="grants"><thead><tr><th>Client ID</th><th>SSM URL</th><th>Hosts</th><th>Result</th><th>Detail</th></tr></thead>
<tbody>
%(grant_rows)s
</tbody></table>
</main>
<script>%(script)s</script>
</body>
</html>
"""
