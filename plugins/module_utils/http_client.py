# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sdwan_ops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP layer of the collection, for vManage and SSM On-Prem alike.

FOR INTERNAL COLLECTION USE ONLY.

One requests.Session per module run; TLS verified by default (``verify=`` passed on every request,
because REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE would otherwise replace the configured CA); explicit or
environment proxy; (connect, read) timeouts; bounded retries (idempotent requests, and any request that
was rate-limited, since a 429 means it was not processed); redirects are
never followed; every failure is a LicenseSyncError with a cause code, and every text that leaves
this module goes through the run's Redactor.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import email.utils
import ipaddress
import json
import os
import re
import socket
import ssl
import time
import traceback
import warnings
from collections import namedtuple
from urllib.parse import urlencode, urljoin, urlsplit

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import LicenseSyncError
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import Redactor

try:
    import requests
    from urllib3.exceptions import InsecureRequestWarning
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

try:
    import jmespath
except ImportError:
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None

Product = namedtuple('Product', ['label', 'url_option', 'default_port', 'option_prefix',
                                 'unreachable', 'tls_untrusted', 'rate_limited', 'not_ready'])

PRODUCTS = {
    'vmanage': Product('vManage', 'vmanage_host', 443, 'vmanage',
                       'VMANAGE_UNREACHABLE', 'VMANAGE_TLS_UNTRUSTED', 'VMANAGE_RATE_LIMITED', 'VMANAGE_NOT_READY'),
    'ssm': Product('SSM On-Prem', 'ssm_url', 8443, 'ssm',
                   'SSM_UNREACHABLE', 'SSM_TLS_UNTRUSTED', 'SSM_BUSY', 'SSM_BUSY'),
}

_HOSTNAME = re.compile(r'^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$')
_HTML_TITLE = re.compile(r'(?is)<title[^>]*>(.*?)</title>')
_NGINX_PAGE = re.compile(r'(?i)<center>\s*nginx')
_DNS_FAILURE = re.compile(r'(?i)name or service not known|nodename nor servname|getaddrinfo failed|'
                          r'temporary failure in name resolution|no address associated|failed to resolve')
_JMESPATH_CACHE = {}


def _invalid(option, problem, fix):
    return LicenseSyncError('INVALID_INPUT', '%s %s' % (option, problem), remedy=fix)


def normalize_base_url(value, option, default_port, port=None, port_option=None):
    """``https://host:port`` from a host name, IPv4, IPv6 (bracketed or not), ``host:port`` or ``https://host[:port]``.

    Only https is accepted: these products carry passwords and session cookies. ``port`` (the
    option ``port_option``) applies when the value carries none; a different port in both is an error.
    """
    if value is None or not str(value).strip():
        raise _invalid(option, 'is empty', 'Set %s to the host name, IP address or https://host[:port] of the server.' % option)
    text = str(value).strip()
    if re.search(r'\s', text):
        raise _invalid(option, 'contains white space (%r)' % text, 'Give a single host name, IP address or https://host[:port].')
    scheme, sep, rest = text.partition('://')
    if not sep:
        rest = text
    elif scheme.lower() != 'https':
        raise _invalid(option, 'uses %s://; only https:// is supported' % scheme,
                       'Use https://%s instead: vManage and SSM On-Prem carry passwords and session cookies, never send them in clear text.'
                       % rest.split('/', 1)[0].rpartition('@')[2])
    netloc = re.split(r'[/?#]', rest, maxsplit=1)[0]
    tail = rest[len(netloc):]
    if tail.strip('/'):
        raise _invalid(option, 'must not contain a path, query or fragment (%r)' % tail,
                       'Give only https://host[:port]; the collection adds the API paths itself.')
    if '@' in netloc:
        raise _invalid(option, 'must not contain user credentials',
                       'Remove "user:password@" from %s and use the username/password options instead.' % option)
    host, url_port = _split_host_port(netloc, option)
    if url_port is not None and port is not None and int(port) != url_port:
        raise _invalid(option, 'names port %d but %s is %s' % (url_port, port_option, port),
                       'Give the port in one place only, or make both agree.')
    final_port = url_port if url_port is not None else (int(port) if port is not None else default_port)
    if not 0 < final_port < 65536:
        raise _invalid(port_option if url_port is None and port is not None else option,
                       'has port %d outside 1-65535' % final_port, 'Use the HTTPS port of the server.')
    return 'https://%s:%d' % (host, final_port)


def ssm_base_url(url):
    """An SSM URL as ``https://host:port`` (SSM On-Prem's default port when none is given)."""
    return normalize_base_url(url, 'ssm_url', PRODUCTS['ssm'].default_port)


def same_url(left, right):
    """True when two SSM URLs name the same host and port (default port, case and trailing slash ignored)."""
    if not left or not right:
        return left == right
    try:
        return ssm_base_url(left) == ssm_base_url(right)
    except LicenseSyncError:
        return left.strip().rstrip('/').lower() == right.strip().rstrip('/').lower()


def is_ip_address(text):
    """True for an IPv4 or IPv6 address (not a host name)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _split_host_port(netloc, option):
    if netloc.startswith('['):
        inner, closing, after = netloc[1:].partition(']')
        if not closing or (after and not after.startswith(':')):
            raise _invalid(option, 'has a malformed bracketed IPv6 address (%r)' % netloc, 'Write IPv6 as [2001:db8::1] or [2001:db8::1]:8443.')
        _ipv6(inner, option)
        return '[%s]' % inner.lower(), _port(after[1:], option) if after else None
    if netloc.count(':') > 1:
        _ipv6(netloc, option)
        return '[%s]' % netloc.lower(), None
    host, colon, port_text = netloc.partition(':')
    if not host:
        raise _invalid(option, 'has no host name', 'Give the host name or IP address of the server.')
    if not _HOSTNAME.match(host):
        raise _invalid(option, 'has an invalid host name %r' % host, 'Use a DNS name or an IP address.')
    return host.lower(), _port(port_text, option) if colon else None


def _ipv6(text, option):
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        raise _invalid(option, 'has an invalid IPv6 address %r' % text, 'Write IPv6 as [2001:db8::1] or [2001:db8::1]:8443.')


def _port(text, option):
    if not text.isdigit():
        raise _invalid(option, 'has an invalid port %r' % text, 'Give the port as a number, for example https://host:8443.')
    return int(text)


def select(expression, document):
    """The part of a JSON ``document`` that the jmespath ``expression`` selects."""
    if not HAS_JMESPATH:
        raise LicenseSyncError('MISSING_LIBRARY', 'The Python library jmespath is required: %s' % JMESPATH_IMPORT_ERROR)
    compiled = _JMESPATH_CACHE.get(expression)
    if compiled is None:
        compiled = _JMESPATH_CACHE[expression] = jmespath.compile(expression)
    return compiled.search(document)


class _TransportFailure(Exception):
    def __init__(self, error, reason, retryable):
        super(_TransportFailure, self).__init__(reason)
        self.error = error
        self.reason = reason
        self.retryable = retryable


class HttpClient:
    """One HTTPS session to one product (``product``: 'vmanage' or 'ssm') for one module run."""

    IDEMPOTENT_METHODS = ('GET', 'HEAD', 'PUT', 'DELETE')
    RETRY_STATUSES = (429, 500, 502, 503, 504)
    # 429 and 503: the server says it did not process the request (RFC 9110 15.6.4, RFC 6585 4), so any request may be retried.
    NOT_PROCESSED_STATUSES = (429, 503)
    BACKOFF_S = 1.0
    BACKOFF_MAX_S = 8.0
    RETRY_AFTER_CAP_S = 30.0
    CONNECT_TIMEOUT_CAP_S = 10.0
    MAX_BODY_BYTES = 16 * 1024 * 1024

    def __init__(self, base_url, *, product, validate_certs=True, ca_path=None, proxy=None,
                 timeout=30, retries=3, warn=None, debug=None, redactor=None, trace=None):
        if not HAS_REQUESTS:
            raise LicenseSyncError('MISSING_LIBRARY', 'The Python library requests is required: %s' % REQUESTS_IMPORT_ERROR)
        self.product = PRODUCTS[product]
        self._product_key = product
        # trace.Trace of the run (trace_dir), which records every exchange; None: nothing recorded.
        self.trace = trace
        self.redactor = redactor or Redactor()
        self.warn = self.redactor.channel(warn)
        self.debug = self.redactor.channel(debug)
        self.base_url = normalize_base_url(base_url, self.product.url_option, self.product.default_port)
        self.host = urlsplit(self.base_url).hostname
        self.verify, self.trust = self._tls(validate_certs, ca_path)
        self.proxies = self._proxies(proxy)
        if timeout is None or float(timeout) <= 0:
            raise _invalid('timeout', 'must be a positive number of seconds', 'Set timeout (LICENSE_SYNC_TIMEOUT) to, for example, 30.')
        self.timeout = (min(float(timeout), self.CONNECT_TIMEOUT_CAP_S), float(timeout))
        self.retries = max(0, int(retries or 0))
        self.session = requests.Session()
        self.session.verify = self.verify
        self.session.headers['User-Agent'] = 'sdwan_ops.license_sync'
        if self.verify is False:
            self.warn('TLS certificate verification is disabled for %s at %s (%s_validate_certs: false): anyone on the path '
                      'can read the credentials. Give the CA with %s_ca_path instead.'
                      % (self.product.label, self.base_url, self.product.option_prefix, self.product.option_prefix))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def close(self):
        self.session.close()

    def _tls(self, validate_certs, ca_path):
        """The ``verify`` value for requests and a description of what is trusted."""
        option = '%s_ca_path' % self.product.option_prefix
        if not validate_certs:
            return False, 'nothing (verification disabled)'
        if ca_path:
            if not os.path.exists(ca_path):
                raise _invalid(option, 'points to %s, which does not exist' % ca_path,
                               'Give the path of a PEM file with the CA certificate that signed the server certificate.')
            return ca_path, '%s %s' % (option, ca_path)
        for variable in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
            if os.environ.get(variable):
                return os.environ[variable], 'the CA bundle %s (from %s)' % (os.environ[variable], variable)
        bundle = requests.certs.where()
        return bundle, 'the default CA bundle %s' % bundle

    def _proxies(self, proxy):
        if not proxy:
            return None
        option = '%s_proxy' % self.product.option_prefix
        parts = urlsplit(proxy if '://' in proxy else 'http://' + proxy)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise _invalid(option, 'is not an http(s)://host:port proxy URL (%s)' % self.redactor.url(proxy),
                           'Give the proxy as http://proxy.example.com:3128.')
        self.redactor.add(parts.password)
        url = parts.geturl()
        return {'http': url, 'https': url}

    def request(self, method, path, *, params=None, json=None, data=None, files=None, headers=None,
                idempotent=None, allow_status=(), retries=None):
        """Send one request (with bounded retries); the response, or a LicenseSyncError.

        A status of 300 or more raises unless it is in ``allow_status``; an allowed status is the
        caller's to handle and never retried. ``idempotent`` defaults to GET/HEAD/PUT/DELETE: those are
        retried after transient transport failures and RETRY_STATUSES; any other request only after a
        429 or a 503 (the server did not process it). ``retries`` overrides the run's retry count for this call.
        """
        method = method.upper()
        url = self.base_url + path
        shown_url = url + ('?' + urlencode(params, doseq=True) if params else '')
        if idempotent is None:
            idempotent = method in self.IDEMPOTENT_METHODS
        budget = self.retries if retries is None else retries
        retry_statuses = tuple(status for status in (self.RETRY_STATUSES if idempotent else self.NOT_PROCESSED_STATUSES)
                               if status not in allow_status)
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._send(method, url, params=params, json=json, data=data, files=files, headers=headers)
            except _TransportFailure as failure:
                self._debug_request(method, shown_url, failure.error.cause, started)
                if failure.retryable and idempotent and attempt <= budget:
                    self.pause_before_retry(method, shown_url, failure.reason, attempt, budget)
                    continue
                raise failure.error from None
            self._debug_request(method, shown_url, 'HTTP %d (%d bytes)' % (response.status_code, len(response.content)), started)
            if response.status_code in retry_statuses and attempt <= budget:
                delay, reason = self._status_retry(response, attempt)
                self.pause_before_retry(method, shown_url, reason, attempt, budget, delay)
                continue
            break
        if response.status_code >= 300 and response.status_code not in allow_status:
            raise self.status_error(response)
        return response

    def _send(self, method, url, **kwargs):
        if self.verify is False:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', InsecureRequestWarning)
                return self._send_once(method, url, **kwargs)
        return self._send_once(method, url, **kwargs)

    def _send_once(self, method, url, **kwargs):
        started, clock = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
        try:
            response = self.session.request(method, url, verify=self.verify, proxies=self.proxies, timeout=self.timeout,
                                            allow_redirects=False, stream=True, **kwargs)
            try:
                self._read_body(response, method, url)
            finally:
                response.close()
        except requests.exceptions.RequestException as exc:
            failure = self._transport_failure(exc, url)
            if self.trace is not None and exc.request is not None:
                self.trace.record(self._product_key, started, time.monotonic() - clock, exc.request, error=failure.reason)
            raise failure
        except _TransportFailure as failure:
            if self.trace is not None:
                self.trace.record(self._product_key, started, time.monotonic() - clock, response.request, error=failure.reason)
            raise
        if self.trace is not None:
            self.trace.record(self._product_key, started, time.monotonic() - clock, response.request, response)
        return response

    def _read_body(self, response, method, url):
        """Read at most MAX_BODY_BYTES, so a runaway answer cannot exhaust the controller."""
        declared = response.headers.get('Content-Length', '')
        too_large = declared.isdigit() and int(declared) > self.MAX_BODY_BYTES
        chunks = []
        size = 0
        if not too_large:
            for chunk in response.iter_content(65536):
                size += len(chunk)
                if size > self.MAX_BODY_BYTES:
                    too_large = True
                    break
                chunks.append(chunk)
        if too_large:
            error = LicenseSyncError(
                'BAD_RESPONSE', '%s sent a response larger than %d bytes to %s %s; stopped reading it'
                % (self.product.label, self.MAX_BODY_BYTES, method, urlsplit(url).path),
                url=url, status=response.status_code, redactor=self.redactor)
            raise _TransportFailure(error, 'response too large', False)
        response._content = b''.join(chunks)

    def _transport_failure(self, exc, url):
        """Classify a requests exception: which cause, which words, and whether a retry can help."""
        label = self.product.label
        where = urlsplit(self.base_url).netloc
        chain = _exception_chain(exc)
        text = ' '.join(str(item) for item in chain)
        connect_s, read_s = self.timeout
        if isinstance(exc, requests.exceptions.ProxyError):
            proxy = self.redactor.url((self.proxies or {}).get('https')) or 'the proxy from the environment (HTTPS_PROXY)'
            return self._failure('PROXY_ERROR', 'the proxy %s failed to connect to %s %s: %s'
                                 % (proxy, label, where, _short_reason(chain)), url, 'proxy error', False)
        if isinstance(exc, requests.exceptions.SSLError):
            verification = next((item for item in chain if isinstance(item, ssl.SSLCertVerificationError)), None)
            reason = getattr(verification, 'verify_message', None) or _short_reason(chain)
            if verification is not None and 'mismatch' in reason.lower() or "doesn't match" in text:
                return self._failure(self.product.tls_untrusted,
                                     'the TLS certificate of %s at %s does not match the host name %r (%s)'
                                     % (label, where, self.host, reason), url, 'TLS host name mismatch', False,
                                     remedy='Connect with a name the certificate carries in its subject alternative names (%s), '
                                            'or have the certificate reissued for %r.' % (self.product.url_option, self.host))
            if verification is not None or 'certificate verify failed' in text.lower():
                return self._failure(self.product.tls_untrusted,
                                     'the TLS certificate of %s at %s is not trusted: %s (trusted CAs: %s)'
                                     % (label, where, reason, self.trust), url, 'TLS certificate not trusted', False)
            return self._failure(self.product.unreachable, 'the TLS handshake with %s at %s failed: %s (is this an HTTPS port?)'
                                 % (label, where, reason), url, 'TLS handshake failed', False)
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return self._failure('TIMEOUT', 'no TCP connection to %s at %s within %g s (connect timeout)' % (label, where, connect_s),
                                 url, 'connect timeout after %g s' % connect_s, True)
        if isinstance(exc, requests.exceptions.ReadTimeout) or (
                isinstance(exc, requests.exceptions.ConnectionError) and 'read timed out' in text.lower()):
            return self._failure('TIMEOUT', '%s at %s accepted the connection but sent no answer within %g s (read timeout)'
                                 % (label, where, read_s), url, 'read timeout after %g s' % read_s, True)
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
            return self._failure('BAD_RESPONSE', '%s at %s closed the connection in the middle of its answer (truncated response: %s)'
                                 % (label, where, _short_reason(chain)), url, 'truncated response', True)
        if isinstance(exc, requests.exceptions.ConnectionError):
            if any(isinstance(item, socket.gaierror) for item in chain) or _DNS_FAILURE.search(text):
                return self._failure(self.product.unreachable, 'the DNS lookup of %r failed (%s)' % (self.host, _short_reason(chain)),
                                     url, 'DNS lookup failed', False,
                                     remedy='Check the spelling of %s and that the controller resolves %r (DNS, /etc/hosts).'
                                            % (self.product.url_option, self.host))
            if any(isinstance(item, ConnectionRefusedError) for item in chain) or 'refused' in text.lower():
                return self._failure(self.product.unreachable, 'connection to %s at %s refused: nothing listens on that port '
                                     '(service down or wrong port)' % (label, where), url, 'connection refused', True)
            if any(isinstance(item, ConnectionResetError) for item in chain) or re.search(r'(?i)reset|aborted|disconnected', text):
                return self._failure(self.product.unreachable, '%s at %s closed the connection without an answer'
                                     % (label, where), url, 'connection closed by the server', True)
            return self._failure(self.product.unreachable, 'cannot connect to %s at %s: %s' % (label, where, _short_reason(chain)),
                                 url, 'connection failed', False)
        return self._failure('HTTP_ERROR', 'request to %s at %s failed: %s' % (label, where, _short_reason(chain)),
                             url, 'request failed', False)

    def _failure(self, cause, detail, url, reason, retryable, remedy=None):
        return _TransportFailure(LicenseSyncError(cause, detail, url=url, remedy=remedy, redactor=self.redactor), reason, retryable)

    def _backoff(self, attempt):
        return min(self.BACKOFF_S * (2 ** (attempt - 1)), self.BACKOFF_MAX_S)

    def _status_retry(self, response, attempt):
        status = '%d %s' % (response.status_code, response.reason or '')
        if response.status_code != 429:
            return self._backoff(attempt), 'HTTP %s' % status.strip()
        asked = _retry_after_seconds(response.headers.get('Retry-After'))
        if asked is None:
            return self._backoff(attempt), 'HTTP %s (rate limited, no Retry-After)' % status.strip()
        if asked > self.RETRY_AFTER_CAP_S:
            return self.RETRY_AFTER_CAP_S, 'HTTP %s (rate limited; Retry-After %g s, capped at %g s)' % (
                status.strip(), asked, self.RETRY_AFTER_CAP_S)
        return asked, 'HTTP %s (rate limited; Retry-After %g s)' % (status.strip(), asked)

    def pause_before_retry(self, method, url, reason, attempt, budget, delay=None):
        """Warn that ``method url`` failed for ``reason`` and wait before retry ``attempt`` of ``budget`` (default: back-off)."""
        if delay is None:
            delay = self._backoff(attempt)
        self.warn('%s: %s %s failed (%s); retry %d of %d in %g s'
                  % (self.product.label, method, self.redactor.url(url), reason, attempt, budget, delay))
        time.sleep(delay)

    def _debug_request(self, method, url, outcome, started):
        self.debug('%s %s %s -> %s in %.3f s' % (self.product.label, method, self.redactor.url(url), outcome, time.monotonic() - started))

    def error_text(self, response):
        """The server's own error words: vManage's envelope "message: details", SSM's error_message, or None."""
        try:
            document = json.loads(response.content)
        except ValueError:
            return None
        if not isinstance(document, dict):
            return None
        error = document.get('error')
        if isinstance(error, dict):
            parts = [str(error[key]) for key in ('message', 'details') if error.get(key)]
            return ': '.join(parts) or None
        message = document.get('error_message') or document.get('error_description') or document.get('message')
        if message and error:
            return '%s (%s)' % (message, error)
        return message or (str(error) if error else None)

    def response_error(self, response, cause, detail, remedy=None):
        """A LicenseSyncError about ``response`` (URL, status and a redacted body excerpt attached).

        When ``detail`` quotes the server's own words (error_text), the message does not repeat the body.
        """
        words = self.error_text(response)
        return LicenseSyncError(cause, detail, url=response.url, status=response.status_code, body=response.content,
                                remedy=remedy, redactor=self.redactor, body_quoted=bool(words) and words in detail)

    def status_error(self, response):
        """The LicenseSyncError for an unexpected status (redirects, 4xx, 5xx) of this product."""
        label = self.product.label
        status = response.status_code
        request = '%s %s' % (response.request.method, urlsplit(response.url).path)
        if 300 <= status < 400:
            return self._redirect_error(response, request)
        body = response.content.decode('utf-8', 'replace')
        if self.product is PRODUCTS['ssm'] and status in (502, 504):
            front = 'its nginx front' if _NGINX_PAGE.search(body) else 'its web front'
            return self.response_error(response, 'SSM_BACKEND_DOWN', 'SSM On-Prem answered %s with HTTP %d from %s: the backend '
                                       'behind it is not running' % (request, status, front))
        words = self.error_text(response)
        detail = '%s answered %s with HTTP %d %s' % (label, request, status, response.reason or '')
        detail = detail.rstrip() + (': %s' % words if words else '')
        if status == 429:
            return self.response_error(response, self.product.rate_limited, detail)
        if status == 503:
            return self.response_error(response, self.product.not_ready, detail)
        return self.response_error(response, 'HTTP_ERROR', detail)

    def _redirect_error(self, response, request):
        target = urljoin(response.url, response.headers.get('Location', ''))
        here, there = urlsplit(response.url), urlsplit(target)
        if _origin(here) != _origin(there):
            return self.response_error(
                response, 'BAD_RESPONSE', '%s answered %s with a redirect to another host (%s); not followed, because the '
                'session cookie and credentials would go there' % (self.product.label, request, self.redactor.url(target)),
                remedy='If %s is the right server, set %s to it; otherwise find out what redirects (a proxy or load balancer?).'
                       % (there.netloc.rpartition('@')[2], self.product.url_option))
        return self.response_error(response, 'BAD_RESPONSE', '%s answered %s with an unexpected redirect to %s'
                                   % (self.product.label, request, self.redactor.url(target)))

    def json(self, response, expression=None, shape=None):
        """The JSON body of ``response`` (or the part ``expression`` selects); BAD_RESPONSE for HTML or broken JSON.

        ``shape``: (jmespath expression, dict or list) that the body must have, checked before anything is
        selected (a list's items must be objects), so that a body of another shape is BAD_RESPONSE instead
        of an empty selection that would read as "nothing there".
        """
        body = response.content
        request = '%s %s' % (response.request.method, urlsplit(response.url).path)
        if not body.strip():
            raise self.response_error(response, 'BAD_RESPONSE', '%s answered %s with an empty body where JSON was expected'
                                      % (self.product.label, request))
        content_type = response.headers.get('Content-Type', '')
        if 'html' in content_type.lower() or body.lstrip()[:1] == b'<':
            title = _HTML_TITLE.search(body.decode('utf-8', 'replace'))
            raise self.response_error(response, 'BAD_RESPONSE', '%s answered %s with an HTML page%s where JSON was expected'
                                      % (self.product.label, request, ' (%r)' % title.group(1).strip() if title else ''))
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise self.response_error(response, 'BAD_RESPONSE', '%s answered %s with invalid or truncated JSON (%s)'
                                      % (self.product.label, request, exc))
        if shape is not None:
            self._check_shape(response, request, document, *shape)
        return document if expression is None else select(expression, document)

    def _check_shape(self, response, request, document, expression, kind):
        container = select(expression, document)
        if isinstance(container, kind) and (kind is not list or all(isinstance(item, dict) for item in container)):
            return
        where = 'the answer' if expression == '@' else '"%s"' % expression
        wanted = 'a list of objects' if kind is list else 'an object'
        raise self.response_error(response, 'BAD_RESPONSE', '%s answered %s with JSON of another shape than expected: %s is %s, '
                                  'not %s' % (self.product.label, request, where, _json_kind(container), wanted))


def _json_kind(value):
    if isinstance(value, list):
        return 'a list' if all(isinstance(item, dict) for item in value) else 'a list of other things than objects'
    return {dict: 'an object', str: 'a string', bool: 'a boolean', type(None): 'missing or null'}.get(type(value), 'a number')


def _origin(parts):
    return parts.scheme, parts.hostname, parts.port or {'https': 443, 'http': 80}.get(parts.scheme)


def _exception_chain(exc):
    """``exc`` and the exceptions behind it (urllib3 wraps the socket error several times)."""
    seen = []
    pending = [exc]
    while pending and len(seen) < 16:
        item = pending.pop(0)
        if not isinstance(item, BaseException) or any(item is known for known in seen):
            continue
        seen.append(item)
        pending.extend([getattr(item, 'reason', None), item.__cause__, item.__context__])
        pending.extend(arg for arg in item.args if isinstance(arg, BaseException))
    return seen


def _short_reason(chain):
    """The innermost readable reason of an exception chain, without pool/URL boilerplate."""
    for item in reversed(chain):
        text = str(getattr(item, 'strerror', None) or item).strip()
        if text and 'Max retries exceeded' not in text:
            return re.sub(r'^<[^>]+>:\s*', '', text)[:200]
    return type(chain[0]).__name__


def _retry_after_seconds(value):
    """Retry-After as seconds (it may be a number or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
