"""Putting SSM and every vManage in the state their scenario plans (see scenarios.py)."""

import json
import secrets
from datetime import datetime, timedelta, timezone

from urllib.parse import urlsplit

from .network import OutboundError, Vantage, connect_timed_out, resolve
from .ssm import CLIENT_CREDENTIALS, GRANT_NOT_FOUND, RESOURCE_OWNER, random_credential
from .vmanage import AUTH_FAILED, SsmCredentials, SyncRecord

HOSTS_PER_GRANT = 4
# States whose vManage holds the id and secret of a grant that exists.
STATES_WITH_VALID_GRANT = {"healthy", "ssm-backend-down", "dns-missing", "ssm-unreachable-from-vmanage",
                           "wrong-ssm-password", "stale-sync", "url-mismatch", "session-cap"}


def configure(lab):
    """Put SSM and every vManage in their planned state.

    Returns the inventory variables that differ per host and the faults to switch on at start.
    """
    now = datetime.now(timezone.utc)
    ssm = lab.ssm
    ssm.create_grant("monitoring", CLIENT_CREDENTIALS, "Monitoring system (client credentials)")
    default_account = ssm.account()
    rows = ssm.license_rows(default_account)
    synced_licenses = {str(va["id"]): [row for row in rows if row["virtualAccountId"] == va["id"]]
                       for va in default_account["virtual_accounts"] if va["default"]}
    grants = []
    overrides = {}
    faults = [("ssm", "ssm-backend-down")] if lab.scenario == "ssm-backend-down" else []
    for vmanage in lab.vmanages:
        state = vmanage.scenario
        faults += [(vmanage.name, fault) for fault in vmanage.startup_faults]
        host_overrides = overrides.setdefault(vmanage.name, {})
        settings = vmanage.settings["smartLicensing"]
        if state in STATES_WITH_VALID_GRANT:
            if not grants or grants[-1][1] == HOSTS_PER_GRANT:
                grants.append([ssm.create_grant(f"vmanage-grant-{len(grants) + 1:02d}", RESOURCE_OWNER,
                                                "Resource Owner grant for vManage on-prem licensing"), 0])
            grants[-1][1] += 1
            grant = grants[-1][0]
            settings.update({"mode": "on-prem", "ssmServerUrl": lab.ssm_url, "ssmClientId": grant.client_id,
                             "ssmClientSecret": grant.client_secret})
            vmanage.credentials = SsmCredentials(lab.ssm_user.username, lab.ssm_user.password)
            vmanage.licenses = dict(synced_licenses)
            age = timedelta(days=3) if state == "stale-sync" else timedelta(minutes=10)
            vmanage.syncs.append(SyncRecord(now - age, True, None))
        if state == "dns-missing":
            # The host name only resolves while vManage has DNS; the collection is given the same URL.
            settings["ssmServerUrl"] = host_overrides["ssm_url"] = lab.ssm_url.replace("127.0.0.1", "localhost")
            _last_sync_failed(vmanage, now, unresolvable(settings["ssmServerUrl"]))
        elif state == "ssm-unreachable-from-vmanage":
            target = urlsplit(settings["ssmServerUrl"])
            _last_sync_failed(vmanage, now, connect_timed_out(target.hostname, target.port, target.hostname))
        elif state == "url-mismatch":
            # Another SSM address that nothing answers on (the lab listens on 127.0.0.1 only).
            settings["ssmServerUrl"] = lab.ssm_url.replace("127.0.0.1", "127.0.0.2")
        elif state == "wrong-ssm-password":
            wrong = f"Wrong!{secrets.token_hex(4)}"
            vmanage.credentials.password = host_overrides["ssm_password"] = wrong
        elif state == "seed":
            settings.update({"mode": "on-prem", "ssmServerUrl": lab.ssm_url, "ssmClientId": random_credential(),
                             "ssmClientSecret": random_credential()})
            admin = lab.ssm_admin
            vmanage.credentials = SsmCredentials(admin.username, admin.password)
            vmanage.licenses = dict(synced_licenses)
            failure = (f"{AUTH_FAILED}: Failed to authenticate user - '{admin.username}'. "
                       f"{json.dumps(GRANT_NOT_FOUND, separators=(',', ':'))}")
            vmanage.syncs += [SyncRecord(now - timedelta(days=10), True, None),
                              SyncRecord(now - timedelta(days=1), False, failure)]
        elif state == "credentials-missing":
            settings.update({"mode": "on-prem", "ssmServerUrl": lab.ssm_url})
        elif state == "url-missing":
            settings.update({"mode": "on-prem"})
    return {name: values for name, values in overrides.items() if values}, faults


def unresolvable(url):
    """What vManage says of a host name it cannot resolve (the lab's own text, network.resolve)."""
    try:
        resolve(urlsplit(url).hostname, Vantage(dns_configured=False, filtered_ports=frozenset()))
    except OutboundError as error:
        return str(error)
    raise ValueError(f"{url} names no host name")


def _last_sync_failed(vmanage, now, reason):
    """A vManage whose fault began after its last good sync: the scheduled sync since then failed, as vManage reports it."""
    vmanage.syncs[-1].time = now - timedelta(days=1)
    vmanage.syncs.append(SyncRecord(now - timedelta(minutes=10), False,
                                    f"{AUTH_FAILED}: Failed to authenticate user - '{vmanage.credentials.username}'. {reason}"))
