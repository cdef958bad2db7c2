# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Masking of secrets in any text or data that could reach a user.

FOR INTERNAL COLLECTION USE ONLY.

A Redactor knows two kinds of secrets: values registered at run time (passwords, client secret,
session cookies, XSRF and access tokens) and keys whose values are secret wherever they appear
(``password``, ``client_secret``, ``Authorization``, ``Cookie`` ...). Every error, warning and
debug text of the collection passes through one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

MASK = '********'
# How a diff shows a secret that exists, and one that this run writes anew (its value never shown).
SECRET_HIDDEN = '(hidden)'
SECRET_CHANGED = '(hidden, changed)'

# Compared after lower-casing and dropping everything but letters and digits, so that
# client_secret, clientSecret, ssmClientSecret and X-Client-Secret all match.
_SECRET_KEY_NAMES = frozenset((
    'authorization', 'proxyauthorization', 'cookie', 'setcookie', 'jsessionid', 'licenginesession',
    'pwd', 'passphrase', 'apikey', 'privatekey', 'credential', 'credentials',
))
_SECRET_KEY_SUFFIXES = ('password', 'passwd', 'secret', 'token')

_KEY_VALUE = re.compile(r'(?P<key>[A-Za-z0-9_.\-\[\]]+)=(?P<value>[^&;,\s"\'<>]+)')
_JSON_PAIR = re.compile(r'"(?P<key>[^"\\]{1,80})"\s*:\s*"(?P<value>(?:\\.|[^"\\])*)"')
_ESCAPED_JSON_PAIR = re.compile(r'\\"(?P<key>[^"\\]{1,80})\\"\s*:\s*\\"(?P<value>.*?)\\"')
_PY_PAIR = re.compile(r"'(?P<key>[^'\\]{1,80})'\s*:\s*'(?P<value>(?:\\.|[^'\\])*)'")
_HEADER_LINE = re.compile(
    r'(?im)^(?P<key>[ \t]*(?:authorization|proxy-authorization|cookie|set-cookie|x-xsrf-token|x-csrf-token)[ \t]*:[ \t]*)'
    r'(?P<value>\S.*)$')
_AUTH_SCHEME = re.compile(r'(?i)\b(?P<key>bearer|basic)(?P<sep>\s+)(?P<value>[A-Za-z0-9._~+/=\-]{6,})')
_URL_USERINFO = re.compile(r'(?i)\b(?P<key>[a-z][a-z0-9+.\-]*://[^/\s:@]*):(?P<value>[^/\s@]+)@')


def is_secret_key(name):
    """True when the value stored under ``name`` must never be shown."""
    normalized = re.sub(r'[^a-z0-9]', '', str(name).lower())
    return normalized in _SECRET_KEY_NAMES or normalized.endswith(_SECRET_KEY_SUFFIXES)


def _is_mask(value):
    """A value that is already a mask (vManage shows a stored secret as asterisks): not a secret, kept as it is."""
    return bool(value) and set(value) == {'*'}


def _masker(mask, secret_keys_only):
    def replace(match):
        value = match.group('value')
        if (secret_keys_only and not is_secret_key(match.group('key'))) or _is_mask(value):
            return match.group(0)
        start, end = match.span('value')
        whole_start = match.start(0)
        text = match.group(0)
        return text[:start - whole_start] + mask + text[end - whole_start:]
    return replace


class Redactor:
    """Masks registered secret values and the values of secret-looking keys with ``mask``."""

    def __init__(self, secrets=(), mask=MASK, _known=None):
        # Every form of every registered value, and the same longest first (so that a secret inside another is masked whole).
        self._known = _known if _known is not None else dict(values=set(), ordered=[])
        self.mask = mask
        self._mask_pair = _masker(mask, True)
        self._mask_value = _masker(mask, False)
        for secret in secrets:
            self.add(secret)

    def with_mask(self, mask):
        """A Redactor that knows the same secrets, now and as they are added later, and masks them with ``mask``."""
        return Redactor(mask=mask, _known=self._known)

    def add(self, secret):
        """Register a secret value (also matched URL-encoded, URL-decoded and JSON-escaped)."""
        if secret is None or isinstance(secret, bool):
            return
        value = str(secret)
        if not value:
            return
        forms = set([value, unquote(value), quote(value, safe=''), quote_plus(value, safe=''), json.dumps(value)[1:-1]])
        forms.discard('')
        known = self._known
        if forms - known['values']:
            known['values'].update(forms)
            known['ordered'] = sorted(known['values'], key=len, reverse=True)

    def text(self, value):
        """``value`` as text with every known secret masked."""
        if value is None:
            return None
        if isinstance(value, bytes):
            value = value.decode('utf-8', 'replace')
        text = str(value)
        for secret in self._known['ordered']:
            if secret in text:
                text = text.replace(secret, self.mask)
        text = _URL_USERINFO.sub(self._mask_value, text)
        text = _HEADER_LINE.sub(self._mask_value, text)
        text = _AUTH_SCHEME.sub(self._mask_value, text)
        for pattern in (_JSON_PAIR, _ESCAPED_JSON_PAIR, _PY_PAIR, _KEY_VALUE):
            text = pattern.sub(self._mask_pair, text)
        return text

    def data(self, value):
        """A copy of ``value`` (nested dicts/lists/strings) with every known secret masked."""
        if isinstance(value, Mapping):
            return dict((key, self._masked(item) if is_secret_key(key) else self.data(item)) for key, item in value.items())
        if isinstance(value, (list, tuple, set, frozenset)):
            items = [self.data(item) for item in value]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, (str, bytes)):
            return self.text(value)
        return value

    def url(self, url):
        """``url`` without user info, with secret-looking query parameters and known secrets masked."""
        if not url:
            return url
        try:
            parts = urlsplit(str(url))
            netloc = parts.netloc.rpartition('@')[2]
            query = parts.query
            if query:
                pairs = parse_qsl(query, keep_blank_values=True)
                query = urlencode([(key, self.mask if is_secret_key(key) else item) for key, item in pairs], safe='*_')
            cleaned = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
        except ValueError:
            cleaned = str(url)
        return self.text(cleaned)

    def channel(self, callback):
        """An output function (warn, debug) that masks every message before passing it to ``callback`` (None: drops it)."""
        def send(msg):
            if callback:
                callback(self.text(msg))
        return send

    def _masked(self, value):
        if value is None or isinstance(value, bool) or value == '' or (isinstance(value, str) and _is_mask(value)):
            return value
        return self.mask
