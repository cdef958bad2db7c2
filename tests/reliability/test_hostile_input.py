"""Hostile and bad input: what an operator may type and what a server (or something pretending to
be one) may answer. Every case gets a clear error with a cause code and a remedy, no traceback,
and no change on its vManage; or, where the input is merely unusual, the fix simply works.

One lab with one `seed` vManage per case and one fix run over all of them. Inputs are host
variables. Server answers that the lab cannot give come from the HTTPS interceptor: as the
collection's proxy it rewrites the answers of one vManage (keyed by that vManage's port); in front
of SSM, or with a certificate for another host name, it stands in as the server itself (reverse
mode, with the interceptor's CA trusted as a lab CA would be).
"""
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from ..conftest import closed_port

EXPIRED_COOKIE = "JSESSIONID=deleted; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
LOGIN_PAGE = "<html><head><title>Cisco Catalyst SD-WAN</title></head><body><form action='j_security_check'></form></body></html>"
HTML_ERROR_PAGE = "<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>Service Temporarily Unavailable</h1></body></html>"
LB_502_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>F5 BIG-IP</center></body></html>"
HUGE_BODY_BYTES = 20 * 1024 * 1024
FIX_VARS = {"fix_license_sync_batch_size": "100%", "fix_license_sync_max_fail_percentage": 100}
FORKS = 8


@dataclass(frozen=True)
class Answer:
    """A server answer the interceptor gives instead of (or made out of) the real one."""

    route: str
    kind: str  # respond | release | truncate | huge | expire | login_page | wrong_types | redirect
    status: int = 200
    body: str = ""
    content_type: str = "application/json"
    value: object = None
    nth: int = 1  # answer the nth request to the route this way (0: every one)


@dataclass(frozen=True)
class HostileCase:
    id: str
    title: str
    expected: tuple  # acceptable outcomes: "works" or "rejected CAUSE"
    host_vars: dict = field(default_factory=dict)  # may use {vmanage_port}, {ssm_port}, {ssm_url}, {closed_port}
    vmanage_answer: Answer = None  # rewrites this case's vManage answers (forward proxy)
    ssm_answer: Answer = None  # this case's SSM is a reverse interceptor in front of the lab's SSM
    other_host_cert: bool = False  # this case's vManage is reached through a server whose certificate names another host


HOSTILE_CASES = [
    # -- what an operator types
    HostileCase("vmanage-url-without-scheme", "vmanage_host 127.0.0.1:<port>, no scheme", ("works",),
                {"vmanage_host": "127.0.0.1:{vmanage_port}"}),
    HostileCase("ssm-url-without-scheme", "ssm_url 127.0.0.1:<port>, no scheme (vManage must get https://)", ("works",),
                {"ssm_url": "127.0.0.1:{ssm_port}"}),
    HostileCase("vmanage-url-with-path", "vmanage_host https://host:port/dataservice", ("rejected INVALID_INPUT",),
                {"vmanage_host": "https://127.0.0.1:{vmanage_port}/dataservice"}),
    HostileCase("ssm-url-with-path", "ssm_url https://host:port/backend", ("rejected INVALID_INPUT",),
                {"ssm_url": "{ssm_url}/backend"}),
    HostileCase("ssm-url-plain-http", "ssm_url http://host:port (credentials in clear text)", ("rejected INVALID_INPUT",),
                {"ssm_url": "http://127.0.0.1:{ssm_port}"}),
    HostileCase("ssm-url-with-credentials", "ssm_url https://user:password@host:port", ("rejected INVALID_INPUT",),
                {"ssm_url": "https://netops:hunter2hunter2@127.0.0.1:{ssm_port}"}),
    HostileCase("wrong-port", "vmanage_port of a closed port", ("rejected VMANAGE_UNREACHABLE",), {"vmanage_port": "{closed_port}"}),
    HostileCase("port-of-another-service", "vmanage_port of SSM On-Prem (another product answers)",
                ("rejected BAD_RESPONSE", "rejected HTTP_ERROR", "rejected VMANAGE_AUTH_FAILED"), {"vmanage_port": "{ssm_port}"}),
    HostileCase("port-out-of-range", "vmanage_port 70000", ("rejected INVALID_INPUT",), {"vmanage_port": 70000}),
    HostileCase("ipv6-literal", "vmanage_host ::1 (IPv6 literal, nothing listens there)", ("rejected VMANAGE_UNREACHABLE",),
                {"vmanage_host": "::1"}),
    HostileCase("ipv6-bracketed-with-port", "vmanage_host [::1]:<port>", ("rejected VMANAGE_UNREACHABLE",),
                {"vmanage_host": "[::1]:{vmanage_port}"}),
    HostileCase("ipv6-malformed", "vmanage_host [::1 (unclosed bracket)", ("rejected INVALID_INPUT",), {"vmanage_host": "[::1"}),
    HostileCase("empty-vmanage-password", "vmanage_password empty", ("rejected INVALID_INPUT", "rejected VMANAGE_AUTH_FAILED"),
                {"vmanage_password": ""}),
    HostileCase("whitespace-ssm-password", "ssm_password of spaces", ("rejected INVALID_INPUT", "rejected SSM_BAD_USER_CREDENTIALS"),
                {"ssm_password": "   "}),
    HostileCase("empty-ssm-admin-password", "ssm_admin_password empty", ("rejected INVALID_INPUT", "rejected SSM_ADMIN_AUTH_FAILED"),
                {"ssm_admin_password": ""}),
    HostileCase("unicode-grant-name", "grant name with non-ASCII letters", ("works", "rejected INVALID_INPUT"),
                {"ssm_grant_name": "licence-sync-Zürich-Łódź-東京"}),
    HostileCase("overlong-grant-name", "grant name of 300 characters", ("rejected INVALID_INPUT", "rejected HTTP_ERROR"),
                {"ssm_grant_name": "g" * 300}),
    HostileCase("control-characters-grant-name", "grant name with a newline and a tab", ("rejected INVALID_INPUT", "rejected HTTP_ERROR"),
                {"ssm_grant_name": "licence\nsync\tname"}),
    # -- what a vManage (or a box in front of it) answers
    HostileCase("release-with-build-suffix", "release '20.12.0-144-li'", ("works",),
                vmanage_answer=Answer("/dataservice/client/server", "release", value="20.12.0-144-li", nth=0)),
    HostileCase("release-two-components", "release '20.12' (no patch level)", ("works",),
                vmanage_answer=Answer("/dataservice/client/server", "release", value="20.12", nth=0)),
    HostileCase("release-empty", "release ''", ("rejected BAD_RESPONSE",),
                vmanage_answer=Answer("/dataservice/client/server", "release", value="", nth=0)),
    HostileCase("release-garbage", "release 'unknown-build'", ("rejected BAD_RESPONSE",),
                vmanage_answer=Answer("/dataservice/client/server", "release", value="unknown-build", nth=0)),
    HostileCase("release-as-number", "release sent as the JSON number 20.12", ("works", "rejected BAD_RESPONSE"),
                vmanage_answer=Answer("/dataservice/client/server", "release", value=20.12, nth=0)),
    HostileCase("html-error-page", "an HTML error page (200) instead of JSON", ("rejected BAD_RESPONSE",),
                vmanage_answer=Answer("/dataservice/settings/configuration/smartLicensing", "respond", body=HTML_ERROR_PAGE,
                                      content_type="text/html", nth=0)),
    HostileCase("load-balancer-502-page", "a load balancer's 502 HTML page", ("rejected HTTP_ERROR", "rejected VMANAGE_NOT_READY"),
                vmanage_answer=Answer("/dataservice/settings/configuration/smartLicensing", "respond", status=502, body=LB_502_PAGE,
                                      content_type="text/html", nth=0)),
    HostileCase("truncated-json", "JSON cut off in the middle", ("rejected BAD_RESPONSE",),
                vmanage_answer=Answer("/dataservice/smartLicensing/getUserSettings", "truncate", nth=0)),
    HostileCase("json-wrong-types", "JSON of the wrong shape (data is a string)", ("rejected BAD_RESPONSE",),
                vmanage_answer=Answer("/dataservice/smartLicensing/getUserSettings", "wrong_types", nth=0)),
    HostileCase("not-utf8", "a body that is not UTF-8", ("rejected BAD_RESPONSE",),
                vmanage_answer=Answer("/dataservice/settings/configuration/smartLicensing", "respond", body="\udcff\udcfe\udcfa",
                                      nth=0)),
    HostileCase("huge-body", "a 20 MB answer", ("rejected BAD_RESPONSE",),
                vmanage_answer=Answer("/dataservice/client/server", "huge", nth=0)),
    HostileCase("wrong-content-type", "JSON sent as text/html", ("works", "rejected BAD_RESPONSE"),
                vmanage_answer=Answer("/dataservice/client/server", "content_type", content_type="text/html", nth=0)),
    HostileCase("redirect-to-another-host", "login answered with a redirect to another host",
                ("rejected BAD_RESPONSE", "rejected HTTP_ERROR", "rejected VMANAGE_AUTH_FAILED"),
                vmanage_answer=Answer("/j_security_check", "redirect", nth=0)),
    HostileCase("expired-session-mid-run", "session expired mid-run (401 + expired JSESSIONID)",
                ("works", "rejected VMANAGE_SESSION_EXPIRED"),
                vmanage_answer=Answer("/dataservice/smartLicensing/getUserSettings", "expire", nth=2)),
    HostileCase("login-page-mid-run", "the login page (200 HTML) instead of an API answer mid-run",
                ("works", "rejected VMANAGE_SESSION_EXPIRED", "rejected BAD_RESPONSE"),
                vmanage_answer=Answer("/dataservice/smartLicensing/getUserSettings", "login_page", nth=2)),
    HostileCase("certificate-for-another-host", "vManage's certificate names another host", ("rejected VMANAGE_TLS_UNTRUSTED",),
                other_host_cert=True),
    # -- what SSM On-Prem (or a portal in front of it) answers
    HostileCase("ssm-html-instead-of-grants", "SSM answers the grant list with an HTML portal page", ("rejected BAD_RESPONSE",),
                ssm_answer=Answer("/backend/api_toolkit/grants", "respond", body=LOGIN_PAGE, content_type="text/html", nth=0)),
    HostileCase("ssm-truncated-grants", "SSM's grant list cut off", ("rejected BAD_RESPONSE",),
                ssm_answer=Answer("/backend/api_toolkit/grants", "truncate", nth=0)),
    HostileCase("ssm-redirect-to-another-host", "SSM's admin login answered with a redirect to another host",
                ("rejected BAD_RESPONSE", "rejected HTTP_ERROR", "rejected SSM_ADMIN_AUTH_FAILED"),
                ssm_answer=Answer("/backend/auth/identity/callback", "redirect", nth=0)),
]


class AnswerRule:
    """Interceptor rule for one Answer; counts the requests to its route."""

    def __init__(self, answer, action_class, trap_url):
        self.answer, self.Action, self.trap_url = answer, action_class, trap_url
        self.seen = self.given = 0
        self.lock = threading.Lock()

    def __call__(self, exchange):
        answer = self.answer
        if exchange.route != answer.route:
            return None
        with self.lock:
            self.seen += 1
            if answer.nth and self.seen != answer.nth:
                return None
            self.given += 1
        Action = self.Action
        if answer.kind == "respond":
            body = answer.body.encode("utf-8", "surrogateescape")
            return Action.respond(answer.status, body, answer.content_type)
        if answer.kind == "redirect":
            return Action.respond(302, b"", "text/html", headers=[("Location", f"{self.trap_url}/login?next=%2F")])
        if answer.kind == "expire":
            return Action.respond(401, {"message": "session expired"}, headers=[("Set-Cookie", EXPIRED_COOKIE)])
        if answer.kind == "login_page":
            return Action.respond(200, LOGIN_PAGE, "text/html")
        return Action.rewritten(self._rewrite)

    def _rewrite(self, exchange):
        answer = self.answer
        if answer.kind == "release":
            document = json.loads(exchange.response_body)
            document["data"]["platformVersion"] = answer.value
            exchange.response_body = json.dumps(document).encode()
        elif answer.kind == "truncate":
            exchange.response_body = exchange.response_body[: max(1, len(exchange.response_body) // 2)]
        elif answer.kind == "wrong_types":
            exchange.response_body = json.dumps({"data": "isPresentCredentials=true"}).encode()
        elif answer.kind == "huge":
            document = json.loads(exchange.response_body)
            document["padding"] = "x" * HUGE_BODY_BYTES
            exchange.response_body = json.dumps(document).encode()
        elif answer.kind == "content_type":
            exchange.response_headers = [(k, answer.content_type if k.lower() == "content-type" else v) for k, v in exchange.response_headers]


class HostileLab:
    """Lab, interceptors and the inventory of all cases."""

    def __init__(self, lab, interceptors, rel, directory):
        self.lab, self.rel, self.directory = lab, rel, Path(directory)
        self.info = lab.info
        self.hosts = {case.id: vm["name"] for case, vm in zip(HOSTILE_CASES, self.info["vmanage"])}
        self.vmanage = {vm["name"]: vm for vm in self.info["vmanage"]}
        self.trap = interceptors(mode="reverse")  # the "other host" of the redirects: must never be contacted
        self.rules = {}
        self.proxy = interceptors(upstream_ca_path=self.info["ca_cert"], policy=self._route)
        self.stand_ins = {}
        self.bundle = self.directory / "ca-bundle.pem"
        self.bundle.write_bytes(Path(self.info["ca_cert"]).read_bytes() + self.proxy.ca_pem)
        action = rel.interceptor.Action
        for case in HOSTILE_CASES:
            vm = self.vmanage[self.hosts[case.id]]
            if case.vmanage_answer:
                self.rules[f"{vm['host']}:{vm['port']}"] = AnswerRule(case.vmanage_answer, action, self.trap.url)
            if case.ssm_answer:
                ssm_port = int(self.info["ssm"]["url"].rsplit(":", 1)[1])
                self.stand_ins[case.id] = interceptors(mode="reverse", upstream_ca_path=self.info["ca_cert"], upstream=("127.0.0.1", ssm_port),
                                                       policy=AnswerRule(case.ssm_answer, action, self.trap.url))
            if case.other_host_cert:
                self.stand_ins[case.id] = interceptors(mode="reverse", upstream_ca_path=self.info["ca_cert"], upstream=(vm["host"], vm["port"]),
                                                       server_names=("vmanage.other-host.example",))

    def _route(self, exchange):
        rule = self.rules.get(exchange.target)
        return rule(exchange) if rule else None

    def answers_given(self, case):
        """How often this case's hostile answer was actually served (0 means the case proved nothing)."""
        if case.vmanage_answer:
            vm = self.vmanage[self.hosts[case.id]]
            return self.rules[f"{vm['host']}:{vm['port']}"].given
        if case.ssm_answer:
            return self.stand_ins[case.id].policy.given
        return None

    def inventory(self):
        ssm_url = self.info["ssm"]["url"]
        placeholders = {"ssm_url": ssm_url, "ssm_port": ssm_url.rsplit(":", 1)[1], "closed_port": closed_port()}
        hosts = {}
        for case in HOSTILE_CASES:
            vm = self.vmanage[self.hosts[case.id]]
            values = dict(placeholders, vmanage_port=vm["port"])
            variables = {key: value.format(**values) if isinstance(value, str) else value for key, value in case.host_vars.items()}
            if case.ssm_answer:
                variables["ssm_url"] = self.stand_ins[case.id].url
            if case.other_host_cert:
                variables.update(vmanage_host=self.stand_ins[case.id].url, vmanage_port=self.stand_ins[case.id].port)
            hosts[vm["name"]] = variables
            if case.vmanage_answer:
                variables["vmanage_proxy"] = self.proxy.proxy_url
        group_vars = {"vmanage_ca_path": str(self.bundle), "ssm_ca_path": str(self.bundle)}
        path = self.directory / "hostile.yml"
        path.write_text(yaml.safe_dump({"all": {"children": {"vmanage": {"vars": group_vars, "hosts": hosts}}}}, allow_unicode=True))
        return [self.lab.inventory, path]


def judge(case, host, run, before, after, lab_state, rel):
    wrote = after[host] > before[host]
    observed = rel.outcomes.fix(run, host, wrote)
    settings = lab_state["vmanage"][host]["settings"]
    last = (lab_state["vmanage"][host].get("syncs") or [{}])[-1]
    problems = []
    if observed.state in ("fixed", "unchanged"):
        outcome = "works"
        if not last.get("ok"):
            problems.append(f"reported fixed but the last sync is {last}")
        if settings.get("ssmServerUrl", "").rstrip("/") != lab_state["ssm"]["url"].rstrip("/"):
            problems.append(f"vManage now points at {settings.get('ssmServerUrl')!r}, not at SSM's https URL")
    else:
        outcome = f"rejected {observed.causes[0]}" if observed.causes else f"{observed.state} without a cause"
        if wrote:
            problems.append(f"{after[host] - before[host]} writes on its vManage although the input was rejected")
        if "Remedy:" not in observed.detail and "What to do:" not in observed.detail:
            problems.append("the error names no remedy")
    if outcome not in case.expected:
        problems.append(f"expected {' or '.join(case.expected)}, observed {outcome}")
    return dict(case=case.id, title=case.title, host=host, expected=list(case.expected), observed=outcome, wrote=wrote,
                message=observed.detail[:1200], problems=problems, passed=not problems)


@pytest.mark.slow
def test_hostile_and_bad_input(lab, interceptors, ansible, tmp_path, rel):
    started = time.monotonic()
    hostile = HostileLab(lab(scenario="seed", vmanage=len(HOSTILE_CASES)), interceptors, rel, tmp_path)
    before = hostile.lab.writes()
    run = ansible.run(rel.runs.PLAYBOOKS / "fix_license_sync.yml", hostile.inventory(), extra_vars=FIX_VARS, forks=FORKS)
    after, state = hostile.lab.writes(), hostile.lab.state()
    verdicts = [judge(case, hostile.hosts[case.id], run, before, after, state, rel) for case in HOSTILE_CASES]
    for case, verdict in zip(HOSTILE_CASES, verdicts):
        verdict["hostile_answers_served"] = hostile.answers_given(case)
        if verdict["hostile_answers_served"] == 0:
            verdict["problems"].append("its hostile answer was never served: the case proved nothing")
            verdict["passed"] = False
    problems = [f"{v['case']}: {p} — {v['message'][:300]}" for v in verdicts for p in v["problems"]]
    problems += [f"traceback in the run's output: {t[:300]}" for t in run.tracebacks()]
    if hostile.trap.exchanges:
        problems.append(f"a redirect was followed to another host: {[str(e) for e in hostile.trap.exchanges]}")
    rel.results.forget("hostile_input", keep=[case.id for case in HOSTILE_CASES] + ["_summary"])
    for verdict in verdicts:
        rel.results.record("hostile_input", verdict["case"], verdict)
    rel.results.record("hostile_input", "_summary", dict(
        cases=len(HOSTILE_CASES), passed_cases=sum(v["passed"] for v in verdicts), tracebacks=len(run.tracebacks()),
        trap_contacted=len(hostile.trap.exchanges), seconds=round(time.monotonic() - started, 1), problems=problems, passed=not problems))
    assert len(HOSTILE_CASES) >= 20
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
