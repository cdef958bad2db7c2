"""Scenarios: the state each vManage (and SSM) starts in, and the cause code a client should find."""

import random
from dataclasses import dataclass

from .releases import DEFAULT_RELEASE, OLD_RELEASE, Release

SCENARIOS = {
    "seed": "the reported failure (Grant not found): on-prem settings whose grant does not exist on SSM (GRANT_NOT_FOUND)",
    "healthy": "on-prem settings with a valid grant, credentials stored, synced 10 minutes ago",
    "unconfigured": "a vManage >= 20.9.1 still in online mode (MODE_NOT_ONPREM)",
    "old-release": f"vManage {OLD_RELEASE}: on-prem mode refused (RELEASE_TOO_OLD)",
    "ssm-backend-down": "healthy vManage, SSM's Rails back end down: nginx answers 502 (SSM_BACKEND_DOWN)",
    "fleet-mixed": "a reproducible (--seed) mix of the host states below, several hosts sharing a grant",
}


@dataclass(frozen=True)
class HostState:
    name: str
    expected_cause: str | None
    startup_faults: tuple = ()


HOST_STATES = {
    state.name: state
    for state in (
        HostState("healthy", None),
        HostState("seed", "GRANT_NOT_FOUND"),
        HostState("unconfigured", "MODE_NOT_ONPREM"),
        HostState("old-release", "RELEASE_TOO_OLD"),
        HostState("ssm-backend-down", "SSM_BACKEND_DOWN"),
        HostState("dns-missing", "DNS_MISSING", ("dns-missing",)),
        HostState("ssm-unreachable-from-vmanage", "SSM_UNREACHABLE_FROM_VMANAGE", ("ssm-unreachable-from-vmanage",)),
        HostState("wrong-ssm-password", "SSM_BAD_USER_CREDENTIALS"),
        HostState("stale-sync", "SYNC_STALE"),
        HostState("credentials-missing", "CREDENTIALS_MISSING"),
        HostState("url-missing", "SSM_URL_MISSING"),
        HostState("url-mismatch", "SSM_URL_MISMATCH"),
        HostState("session-cap", "VMANAGE_SESSION_CAP", ("session-cap",)),
    )
}
# ssm-backend-down concerns the one SSM of the lab, so it is a scenario, not a host state of a fleet.
FLEET_STATES = tuple(name for name in HOST_STATES if name != "ssm-backend-down")
FLEET_HEALTHY_WEIGHT = 4
FLEET_RELEASES = ("20.9.3", "20.12.1", "20.12.4", "20.15.1", "20.18.1")


class ConfigurationError(Exception):
    """Lab options that cannot work together (reported before anything starts)."""


@dataclass(frozen=True)
class HostPlan:
    state: HostState
    release: Release


def plan_hosts(scenario, count, release=None, seed=None):
    """The state and release of each vManage; validated before anything starts."""
    if scenario not in SCENARIOS:
        raise ConfigurationError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
    if count < 1:
        raise ConfigurationError("--vmanage must be at least 1")
    if scenario == "fleet-mixed":
        rng = random.Random(0 if seed is None else seed)
        every_state = list(FLEET_STATES)
        rng.shuffle(every_state)
        weights = [FLEET_HEALTHY_WEIGHT if name == "healthy" else 1 for name in FLEET_STATES]
        names = every_state[:count] + rng.choices(FLEET_STATES, weights, k=max(0, count - len(every_state)))
        releases = [OLD_RELEASE if name == "old-release" else release or rng.choice(FLEET_RELEASES)
                    for name in names]
    else:
        names = [scenario] * count
        releases = [release or (OLD_RELEASE if scenario == "old-release" else DEFAULT_RELEASE)] * count
    plans = []
    for name, text in zip(names, releases):
        try:
            parsed = Release(text)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
        if (name == "old-release") == parsed.supports_onprem:
            needed = "below 20.9.1" if name == "old-release" else "20.9.1 or later"
            raise ConfigurationError(f"state {name} needs a release {needed}, not {text}")
        plans.append(HostPlan(HOST_STATES[name], parsed))
    return plans
