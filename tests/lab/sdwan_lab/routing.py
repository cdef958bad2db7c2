"""A small router whose path templates double as the keys of the request counters."""

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

# Requests that change nothing although their method is a write (docs/dev/interfaces.md section 5).
NOT_WRITES = {
    "POST /j_security_check",
    "GET /logout",
    "POST /logout",
    "POST /backend/auth/identity/callback",
    "POST /backend/oauth/token",
    "POST /dataservice/device/tools/nping/{deviceIP}",
    # SSM's resource API queries with POST (as Cisco's cloud API does); nothing changes.
    "POST /api/v1/accounts",
    "POST /api/v1/accounts/{account}/licenses",
    "POST /api/v1/accounts/{account}/alerts",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Route:
    method: str
    template: str
    handler: str
    pattern: re.Pattern
    available: Callable | None = None
    public: bool = False
    defaults: dict = field(default_factory=dict)
    label: str = ""


@dataclass
class Match:
    route: Route | None
    params: dict
    key: str
    method_allowed: bool = True


class Router:
    """Routes built once per product; handlers are method names of the serving instance, and
    `available(instance)` hides a route from instances that lack it (e.g. by release)."""

    def __init__(self):
        self._routes = []

    def add(self, method, template, handler, **options):
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self._routes.append(Route(method, template, handler, re.compile(regex + "$"), **options))

    def match(self, method, path, instance):
        """The first available route for `path` (HEAD served as GET); unknown paths count under their path."""
        lookup = "GET" if method == "HEAD" else method
        path_matched = False
        for route in self._routes:
            found = route.pattern.match(path)
            if not found or (route.available and not route.available(instance)):
                continue
            if route.method == lookup:
                return Match(route, {**route.defaults, **found.groupdict()}, f"{method} {route.template}")
            path_matched = True
        return Match(None, {}, f"{method} {path}", method_allowed=not path_matched)

    def template(self, method, path):
        """The template of the route for METHOD path in any instance (whatever its release or dialect)."""
        lookup = "GET" if method == "HEAD" else method
        return next((route.template for route in self._routes
                     if route.method == lookup and route.pattern.match(path)), None)


class RequestCounters:
    def __init__(self):
        self.requests = Counter()

    def count(self, key):
        self.requests[key] += 1

    def snapshot(self):
        writes = {
            key: count
            for key, count in self.requests.items()
            if key.split(" ", 1)[0] in WRITE_METHODS and key not in NOT_WRITES
        }
        return {"requests": dict(sorted(self.requests.items())), "writes": sum(writes.values()),
                "write_requests": dict(sorted(writes.items()))}
