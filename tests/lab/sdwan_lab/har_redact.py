"""sdwan-lab redact: make a HAR saved from a browser (or any HAR) safe to share before `sdwan-lab conformance` or a bug report.

A HAR that a browser's developer tools save from the vManage GUI or SSM On-Prem's Admin Workspace holds the session:
cookies (JSESSIONID, SSM's Rails session), the XSRF/CSRF token in headers and in /dataservice/client/server's answer,
/dataservice/client/token's plain-text answer, the login form's j_password, OAuth client secrets, passwords and access
tokens. This command replaces each of them with the marker the collection's own traces use (__REDACTED__), then every
other place where the same value appears (echoed in a URL, a body or a header, percent-encoded or JSON-escaped), and
by default keeps only the API entries the conformance replay reads (vManage /dataservice, /j_security_check, /logout;
SSM /backend, /api/v1, /oauth): pages, scripts and pictures leave the file. It never changes a key, a status or a type
other than a secret string's, so what `conformance` compares stays the same.
"""

import json
import re
import sys
import urllib.parse
from pathlib import Path

MARKER = "__REDACTED__"
# A key (JSON, form field, query parameter, cookie attribute) whose value is a credential, matched on its name lower-cased
# with '_' and '-' removed: password, secret, token (access_token, CSRFToken, XSRF-TOKEN...), session ids, SSM's uid.
_SECRET_KEY = re.compile(r"pass(word|wd)?$|password|secret|token|csrf|xsrf|jsessionid|session(id)?$|^uid$|apikey|"
                         r"authorization|credential")
_SECRET_HEADERS = frozenset(("authorization", "proxy-authorization", "x-xsrf-token", "x-csrf-token", "cookie",
                             "set-cookie"))
# Answers that are a credential as a whole (vManage's XSRF token as plain text).
_SECRET_ANSWERS = ("/dataservice/client/token",)
_API_PREFIXES = ("/dataservice/", "/backend/", "/api/v1/", "/oauth/")
_API_PATHS = ("/j_security_check", "/logout")
_MIN_SECRET_LENGTH = 4  # shorter values (booleans as text, "1") would replace innocent text everywhere
_COOKIE_PAIR = re.compile(r"(?P<name>(?:^|[;,]\s*)[^=;,\s]+)=(?P<value>[^;,]*)")
_COOKIE_ATTRIBUTES = frozenset(("path", "domain", "expires", "max-age", "samesite", "priority"))


def is_secret_key(name):
    return bool(_SECRET_KEY.search(re.sub(r"[_\-\s]", "", str(name).lower())))


def is_api_entry(entry):
    path = urllib.parse.unquote(urllib.parse.urlsplit(((entry.get("request") or {}).get("url")) or "").path or "/")
    return path.startswith(_API_PREFIXES) or path in _API_PATHS


class Redaction:
    """The secrets found in one HAR, then the HAR with each replaced."""

    def __init__(self):
        self.secrets = set()
        self.kinds = {}

    def _found(self, kind, value):
        if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH and value != MARKER and set(value) != {"*"}:
            self.secrets.add(value)
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            return MARKER
        return value

    def json_value(self, value):
        """A JSON value with the strings under secret keys replaced (keys, numbers, booleans and structure kept)."""
        if isinstance(value, dict):
            return {key: (self._found("JSON field %s" % key, item) if is_secret_key(key) and isinstance(item, str)
                          else self.json_value(item)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.json_value(item) for item in value]
        return value

    def text(self, text, mime=""):
        """A body: JSON by its secret keys, a form by its secret fields; other text is left to the value pass."""
        if not isinstance(text, str) or not text.strip():
            return text
        stripped = text.strip()
        if "json" in mime or stripped[:1] in "{[":
            try:
                return json.dumps(self.json_value(json.loads(stripped)))
            except ValueError:
                pass
        if "x-www-form-urlencoded" in mime:
            return urllib.parse.urlencode([(name, self._found("form field %s" % name, value) if is_secret_key(name) else value)
                                           for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True)])
        return text

    def pairs(self, pairs, kind):
        """HAR name/value lists (headers, cookies, queryString, params) with secret values replaced."""
        result = []
        for pair in pairs or []:
            if not isinstance(pair, dict):
                continue
            pair = dict(pair)
            name = str(pair.get("name", ""))
            lowered = name.lower()
            if kind == "header" and lowered in ("cookie", "set-cookie"):
                pair["value"] = _COOKIE_PAIR.sub(self._cookie, str(pair.get("value", "")))
            elif (kind == "header" and lowered in _SECRET_HEADERS) or kind == "cookie" or is_secret_key(name):
                pair["value"] = self._found("%s %s" % (kind, name), pair.get("value"))
            result.append(pair)
        return result

    def _cookie(self, match):
        name = match.group("name").lstrip(";, ")
        if name.lower() in _COOKIE_ATTRIBUTES or name.lower() in ("secure", "httponly"):
            return match.group(0)
        return "%s=%s" % (match.group("name"), self._found("cookie %s" % name, match.group("value")))

    def entry(self, entry):
        entry = json.loads(json.dumps(entry))
        request, response = entry.setdefault("request", {}), entry.setdefault("response", {})
        url = urllib.parse.urlsplit(request.get("url") or "")
        query = [(name, self._found("query %s" % name, value) if is_secret_key(name) else value)
                 for name, value in urllib.parse.parse_qsl(url.query, keep_blank_values=True)]
        request["url"] = urllib.parse.urlunsplit(url._replace(query=urllib.parse.urlencode(query)))
        for part, kind in (("headers", "header"), ("cookies", "cookie"), ("queryString", "query")):
            for message in (request, response):
                if part in message:
                    message[part] = self.pairs(message[part], kind)
        post = request.get("postData")
        if isinstance(post, dict):
            if "params" in post:
                post["params"] = self.pairs(post["params"], "form field")
            post["text"] = self.text(post.get("text"), str(post.get("mimeType") or ""))
        content = response.get("content")
        if isinstance(content, dict) and content.get("encoding") != "base64":
            if url.path in _SECRET_ANSWERS and content.get("text"):
                content["text"] = self._found("answer of %s" % url.path, content["text"].strip())
            else:
                content["text"] = self.text(content.get("text"), str(content.get("mimeType") or ""))
        return entry

    def everywhere(self, document):
        """Every other occurrence of a secret found, as written, percent-encoded or JSON-escaped."""
        text = json.dumps(document)
        for secret in sorted(self.secrets, key=len, reverse=True):
            for form in sorted({secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
                                json.dumps(secret)[1:-1]}):
                if len(form) >= _MIN_SECRET_LENGTH:
                    text = text.replace(form, MARKER)
        return json.loads(text)


def redact_har(document, api_only=True):
    """(redacted HAR, {kind of secret: how many}, entries dropped)."""
    log = document.get("log") if isinstance(document, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise ValueError("not a HAR file: no log.entries")
    redaction = Redaction()
    kept = [entry for entry in log["entries"] if isinstance(entry, dict) and (not api_only or is_api_entry(entry))]
    dropped = len(log["entries"]) - len(kept)
    result = dict(document, log=dict(log, entries=[redaction.entry(entry) for entry in kept]))
    if api_only:
        result["log"].pop("pages", None)  # page titles name what the user browsed; the replay does not read them
    return redaction.everywhere(result), redaction.kinds, dropped


def run_redact(args):
    try:
        document = json.loads(Path(args.har).read_text(encoding="utf-8"))
        redacted, kinds, dropped = redact_har(document, api_only=not args.keep_all)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        print(f"sdwan-lab redact: {args.har}: {error}", file=sys.stderr)
        return 2
    output = Path(args.output) if args.output else Path(args.har).with_suffix(".redacted.har")
    output.write_text(json.dumps(redacted, indent=1) + "\n", encoding="utf-8")
    output.chmod(0o600)
    print(f"{output}: {sum(kinds.values())} secret values replaced by {MARKER}, {dropped} entries that are not API calls "
          "left out")
    for kind, count in sorted(kinds.items()):
        print(f"  {count:4} {kind}")
    print("Read the file before you share it: user names, host names and addresses are kept.")
    return 0
