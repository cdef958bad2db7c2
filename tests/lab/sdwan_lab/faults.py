"""The faults of the lab: names (part of the contract), where they apply, and their options."""

from dataclasses import dataclass

SSM = "ssm"
VMANAGE = "vmanage"

# The certificates a listener can serve: its own, and the two of the wrong-cert fault (--variant).
LAB_CERT = "lab"
OTHER_CA_CERT = "other-ca"
WRONG_HOST_CERT = "wrong-host"
WRONG_CERT_VARIANTS = (OTHER_CA_CERT, WRONG_HOST_CERT)


@dataclass(frozen=True)
class FaultSpec:
    name: str
    targets: frozenset
    summary: str


FAULTS = {
    spec.name: spec
    for spec in (
        FaultSpec("grant-deleted", frozenset({SSM, VMANAGE}),
                  "delete the API Toolkit grant(s) (target ssm: all; target vManage: the one it stores); "
                  "--clear restores them"),
        FaultSpec("ssm-backend-down", frozenset({SSM}),
                  "stop the Rails back end: the front answers nginx's 502 page"),
        FaultSpec("ssm-listener-closed", frozenset({SSM}),
                  "close SSM's HTTPS port (connection refused)"),
        FaultSpec("wrong-cert", frozenset({SSM, VMANAGE}),
                  "serve a certificate of another CA (--variant other-ca) or for another host name "
                  "(--variant wrong-host)"),
        FaultSpec("slow", frozenset({SSM, VMANAGE}), "delay every response by --ms milliseconds"),
        FaultSpec("flapping-5xx", frozenset({SSM, VMANAGE}),
                  "answer every --every'th request with a 5xx (vManage 503, SSM 500)"),
        FaultSpec("rate-limit", frozenset({SSM, VMANAGE}),
                  "answer every --every'th request with 429 and Retry-After: --retry-after"),
        FaultSpec("xsrf-mismatch", frozenset({SSM, VMANAGE}),
                  "reject every write as if the XSRF token did not match"),
        FaultSpec("session-cap", frozenset({VMANAGE}),
                  "vManage login refused: maximum number of concurrent sessions reached"),
        FaultSpec("dns-missing", frozenset({VMANAGE}),
                  "no DNS servers on vManage: host names (e.g. localhost) no longer resolve from it"),
        FaultSpec("ssm-unreachable-from-vmanage", frozenset({VMANAGE}),
                  "vManage's connections to the SSM host time out (nping too); SSM stays reachable "
                  "from elsewhere"),
        FaultSpec("wrong-ssm-password", frozenset({SSM, VMANAGE}),
                  "target ssm: the SSM user's password changes; target vManage: the SSM password it "
                  "stored is wrong"),
    )
}


class FaultError(Exception):
    """A fault request that cannot be applied (unknown target, wrong target kind, bad option)."""


@dataclass
class FaultOptions:
    ms: int = 1000
    every: int = 1
    retry_after: int = 1
    variant: str = OTHER_CA_CERT

    @classmethod
    def parse(cls, raw):
        options = cls(**{key: value for key, value in raw.items() if value is not None})
        if options.ms < 0 or options.every < 1 or options.retry_after < 0:
            raise FaultError("--ms and --retry-after must be >= 0 and --every >= 1")
        if options.variant not in WRONG_CERT_VARIANTS:
            raise FaultError(f"--variant must be one of {', '.join(WRONG_CERT_VARIANTS)}")
        return options
