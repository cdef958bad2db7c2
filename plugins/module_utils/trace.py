# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wire traces: every HTTP exchange of a module run, written as a HAR 1.2 file with every secret replaced by a marker.

FOR INTERNAL COLLECTION USE ONLY.

HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) is what browsers' developer tools save, so a trace of the
collection and a capture of the vManage GUI or the SSM Admin Workspace read alike (``sdwan-lab conformance`` replays
both against the lab). The HttpClient of a run appends each exchange to the run's Trace; the file is written once, at
the end of the run, when the run's Redactor knows every secret it met (tokens and cookies arrive in answers). A host's
modules in one playbook run share one file, ``<trace_dir>/<host>-<run>.har``: the tasks of one host run one after the
other, so each run rewrites the file with its entries added.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re
import tempfile
from urllib.parse import parse_qsl, urlsplit

# What replaces a secret in a trace: distinct from vManage's own mask of a stored secret ('********'), which a trace keeps.
MARKER = '__REDACTED__'
CREATOR = 'sdwan_ops.license_sync'
# Headers whose whole value is a credential; cookie headers keep the cookie names.
_SECRET_HEADERS = frozenset(('authorization', 'proxy-authorization', 'x-xsrf-token', 'x-csrf-token'))
_COOKIE_HEADERS = frozenset(('cookie', 'set-cookie'))
_COOKIE_VALUE = re.compile(r'(?P<name>(?:^|[;,]\s*)[^=;,\s]+)=(?P<value>[^;,]*)')
_COOKIE_ATTRIBUTES = frozenset(('path', 'domain', 'expires', 'max-age', 'samesite', 'priority'))
_UNSAFE_NAME = re.compile(r'[^A-Za-z0-9_.-]+')


class Trace:
    """The exchanges of one module run, by the order they happened."""

    def __init__(self, directory, name, redactor):
        self.directory = directory
        self.name = name
        self._redactor = redactor.with_mask(MARKER)
        self._entries = []

    def record(self, product, started, elapsed_s, request, response=None, error=None):
        """One exchange: a prepared request and its (fully read) response, or the transport error that ended it."""
        self._entries.append((product, started, elapsed_s, request, response, error))

    def write(self):
        """Add this run's entries to the host's HAR file of this playbook run; returns its path (None when nothing to write)."""
        if not self._entries:
            return None
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory, mode=0o700)
        path = os.path.join(self.directory, '%s-%s.har' % (_UNSAFE_NAME.sub('_', self.name), playbook_run_id()))
        document = _empty_har()
        if os.path.exists(path):
            with open(path) as stream:
                document = json.load(stream)
        document['log']['entries'].extend(self._entry(*exchange) for exchange in self._entries)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix='.tmp-')
        try:
            with os.fdopen(handle, 'w') as stream:
                json.dump(document, stream, indent=1)
            os.chmod(temporary, 0o600)
            os.rename(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
        self._entries = []
        return path

    # -- one HAR entry, redacted

    def _entry(self, product, started, elapsed_s, request, response, error):
        text = self._redactor.text
        url = self._redactor.url(request.url)
        body = request.body
        if isinstance(body, bytes):
            body = body.decode('utf-8', 'replace')
        request_headers = self._headers(request.headers.items())
        entry = {
            'startedDateTime': started.isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
            'time': round(elapsed_s * 1000.0, 3),
            'request': {
                'method': request.method,
                'url': url,
                'httpVersion': 'HTTP/1.1',
                'cookies': [],
                'headers': request_headers,
                'queryString': [dict(name=name, value=value) for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)],
                'headersSize': -1,
                'bodySize': len(request.body or b''),
            },
            'cache': {},
            'timings': {'send': 0, 'wait': round(elapsed_s * 1000.0, 3), 'receive': 0},
            'comment': product,
        }
        if body:
            entry['request']['postData'] = self._post_data(request.headers.get('Content-Type', ''), body)
        if response is None:
            entry['response'] = {'status': 0, 'statusText': '', 'httpVersion': 'HTTP/1.1', 'cookies': [], 'headers': [],
                                 'content': {'size': 0, 'mimeType': 'x-unknown'}, 'redirectURL': '', 'headersSize': -1,
                                 'bodySize': -1, '_error': text(error)}
            return entry
        content = response.content.decode('utf-8', 'replace')
        mime = response.headers.get('Content-Type', '')
        entry['response'] = {
            'status': response.status_code,
            'statusText': response.reason or '',
            'httpVersion': 'HTTP/1.1',
            'cookies': [],
            'headers': self._headers(response.headers.items()),
            'content': {'size': len(response.content), 'mimeType': mime, 'text': self._body(content, mime)},
            'redirectURL': self._redactor.url(response.headers.get('Location', '')),
            'headersSize': -1,
            'bodySize': len(response.content),
        }
        return entry

    def _headers(self, items):
        headers = []
        for name, value in items:
            lowered = name.lower()
            if lowered in _SECRET_HEADERS:
                value = MARKER
            elif lowered in _COOKIE_HEADERS:
                value = _COOKIE_VALUE.sub(_masked_cookie, value)
            else:
                value = self._redactor.text(value)
            headers.append(dict(name=name, value=value))
        return headers

    def _body(self, text, mime):
        """A body with secrets replaced; JSON stays JSON (secret keys and known values replaced inside it)."""
        if 'json' in mime.lower() or text.lstrip()[:1] in ('{', '['):
            try:
                document = json.loads(text)
            except ValueError:
                pass
            else:
                return json.dumps(self._redactor.data(document), separators=(',', ':'))
        return self._redactor.text(text)

    def _post_data(self, content_type, body):
        data = {'mimeType': content_type.split(';')[0].strip() or 'application/octet-stream', 'text': self._body(body, content_type)}
        if data['mimeType'] == 'multipart/form-data':
            data['params'] = [dict(name=name, value=self._body(value, '')) for name, value in _multipart_parts(content_type, body)]
        elif data['mimeType'] == 'application/x-www-form-urlencoded':
            data['params'] = [dict(name=name, value=value) for name, value in parse_qsl(data['text'], keep_blank_values=True)]
        return data


def _masked_cookie(match):
    """A cookie's value replaced by the marker; the attributes of Set-Cookie (Path, Expires...) kept."""
    name = match.group('name')
    if name.lstrip(';, ').lower() in _COOKIE_ATTRIBUTES:
        return match.group(0)
    return '%s=%s' % (name, MARKER)


def _multipart_parts(content_type, body):
    """(name, value) of each part of a multipart/form-data body."""
    boundary = re.search(r'boundary=("?)([^";]+)\1', content_type)
    if not boundary:
        return []
    parts = []
    for chunk in body.split('--' + boundary.group(2)):
        head, separator, value = chunk.partition('\r\n\r\n')
        name = re.search(r'name="([^"]*)"', head)
        if separator and name:
            parts.append((name.group(1), value[:-2] if value.endswith('\r\n') else value))
    return parts


def _empty_har():
    return {'log': {'version': '1.2', 'creator': {'name': CREATOR, 'version': '1'}, 'pages': [], 'entries': []}}


def playbook_run_id():
    """One id per ansible-playbook run: the start time and PID of the process that forks the task workers."""
    pid = os.getppid()
    started = None
    try:
        with open('/proc/%d/stat' % pid) as stream:
            ticks = int(stream.read().rpartition(')')[2].split()[19])
        with open('/proc/stat') as stream:
            boot = next(int(line.split()[1]) for line in stream if line.startswith('btime '))
        started = datetime.datetime.fromtimestamp(boot + ticks / os.sysconf('SC_CLK_TCK'), tz=datetime.timezone.utc)
    except (OSError, ValueError, IndexError, StopIteration):
        pass
    stamp = started.strftime('%Y%m%dT%H%M%S') if started else datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d')
    return '%s-%d' % (stamp, pid)
