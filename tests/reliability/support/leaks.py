"""Searching run output for the actual secret values of a lab run (not for patterns)."""
import base64
import json
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

# Shorter values would match unrelated text; the harness asserts every lab secret is longer.
MIN_SECRET_CHARS = 8


@dataclass(frozen=True)
class Secret:
    kind: str  # password | client_secret | access_token | session_cookie | xsrf_token | ...
    value: str

    def forms(self):
        """The spellings a leak can take: raw, URL-encoded, JSON-escaped, base64 (Basic auth)."""
        value = self.value
        spelled = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value, safe=""), json.dumps(value)[1:-1]}
        spelled.add(base64.b64encode(value.encode()).decode().rstrip("="))
        return {form for form in spelled if len(form) >= MIN_SECRET_CHARS}


@dataclass(frozen=True)
class Hit:
    kind: str
    where: str
    context: str  # the surrounding text with the secret itself masked

    def __str__(self):
        return f"{self.kind} in {self.where}: ...{self.context}..."


def search(secrets, sources):
    """Every occurrence of any secret in any source ({name: text}); the contexts never show the secret."""
    hits = []
    for secret in secrets:
        for form in secret.forms():
            for where, text in sources.items():
                start = text.find(form)
                while start >= 0:
                    context = text[max(0, start - 60):start] + "<" + secret.kind.upper() + ">" + text[start + len(form):start + len(form) + 60]
                    hits.append(Hit(secret.kind, where, context.replace("\n", " ")))
                    start = text.find(form, start + 1)
    return hits


def read_tree(root, label):
    """{label/relative path: text} for every file under ``root`` (binary files decoded leniently)."""
    root = Path(root)
    sources = {}
    if root.is_file():
        return {label: root.read_bytes().decode("utf-8", "replace")}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            sources[f"{label}/{path.relative_to(root)}"] = path.read_bytes().decode("utf-8", "replace")
    return sources


def dedupe(secrets):
    """One Secret per value (the first kind wins); values too short to search are returned apart."""
    seen, usable, too_short = set(), [], []
    for secret in secrets:
        if not secret.value or secret.value in seen:
            continue
        seen.add(secret.value)
        (usable if len(secret.value) >= MIN_SECRET_CHARS else too_short).append(secret)
    return usable, too_short
