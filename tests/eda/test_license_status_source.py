"""The event source sdwan_ops.license_sync.license_status, driven with an asyncio.Queue against the lab.

It reports a change of a host's licence state once, stays silent while nothing changes, reports an unreachable
vManage as an event, keeps running through timeouts, 429, 5xx and a closed listener, reads vaulted variables, and
never puts a secret in an event or a log line.
"""
import asyncio
import re

import pytest
import yaml

from ansible.parsing.vault import VaultLib, VaultSecret, VaultSecretsContext

from ..conftest import closed_port

INTERVAL_S = 0.5
# The cause of a session-capped vManage is not about licensing: the compliance run reports that host as an error.
STATE_OF_CAUSE = {None: "compliant", "VMANAGE_SESSION_CAP": "error"}


def statuses(events):
    return [(event["license_status"]["host"], event["license_status"]["state"], event["license_status"]["cause"])
            for event in events]


def extra_inventory(directory, hosts=None, group_vars=None, name="extra.yml"):
    """A second inventory source (later sources win, as with ansible-playbook -i a -i b)."""
    path = directory / name
    group = {"hosts": hosts or {}}
    if group_vars:
        group["vars"] = group_vars
    path.write_text(yaml.safe_dump({"all": {"children": {"vmanage": group}}}))
    return path


def until_compliant(run, hosts, polls=10):
    """{host: its last event} once every host of ``hosts`` has reported compliant (within ``polls`` polls)."""
    last = {}
    for _poll in range(polls):
        run.wait_polls(1)
        for event in run.events():
            last[event["license_status"]["host"]] = event["license_status"]
        if all(host in last and last[host]["state"] == "compliant" for host in hosts):
            return last
    raise AssertionError(f"not all of {hosts} reported compliant within {polls} polls: {last}")


def test_a_healthy_fleet_puts_no_event_on_the_queue(lab, watch, lab_secrets, leaks):
    fleet = lab("healthy", vmanage=2)
    run = watch(fleet.inventory, interval=INTERVAL_S)
    run.wait_polls(3)
    assert run.events() == []
    assert run.running
    assert not leaks(lab_secrets(fleet), {"log": "\n".join(run.records)})


def test_the_first_poll_reports_each_host_that_is_not_compliant_with_the_cause_the_lab_planted(
        lab, source_plugin, tmp_path, lab_secrets, leaks):
    fleet = lab("fleet-mixed", vmanage=12, seed=7)
    closed = extra_inventory(tmp_path, hosts={"vmanage-closed-port": {"vmanage_host": "127.0.0.1", "vmanage_port": closed_port(),
                                                                      "vmanage_username": "admin", "vmanage_password": "x" * 12,
                                                                      "license_sync_retries": 0}})
    queue = asyncio.Queue()
    asyncio.run(asyncio.wait_for(source_plugin["main"](queue, dict(inventory=[str(fleet.inventory), str(closed)], max_polls=1,
                                                                   interval=1, jitter=0)), 120))
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())

    expected = {vmanage["name"]: vmanage["expected_cause"] for vmanage in fleet.info["vmanage"]}
    reported = {event["license_status"]["host"]: event for event in events}
    assert sorted(reported) == sorted([name for name, cause in expected.items() if cause] + ["vmanage-closed-port"])
    for name, cause in expected.items():
        if cause:
            status = reported[name]["license_status"]
            assert (status["state"], status["cause"]) == (STATE_OF_CAUSE.get(cause, "broken"), cause), name
            assert reported[name]["meta"]["hosts"] == name
            assert status["previous_state"] is None
            assert status["fixable"] == all(item["fixable"] for item in status["causes"])
            assert status["remedy"] and status["time"].endswith("Z")
    unreachable = reported["vmanage-closed-port"]["license_status"]
    assert (unreachable["state"], unreachable["cause"], unreachable["fixable"]) == ("unreachable", "VMANAGE_UNREACHABLE", False)
    assert not leaks(lab_secrets(fleet), {f"event of {name}": repr(event) for name, event in reported.items()})


def test_a_fault_on_one_host_is_one_event_and_its_recovery_another(lab, watch, lab_secrets, leaks):
    fleet = lab("healthy", vmanage=2)
    run = watch(fleet.inventory, interval=INTERVAL_S)
    run.wait_polls(1)

    fleet.fault("vmanage-001", "wrong-ssm-password")
    broken = run.next_events()
    assert statuses(broken) == [("vmanage-001", "broken", "SSM_BAD_USER_CREDENTIALS")]
    status = broken[0]["license_status"]
    assert (status["previous_state"], status["fixable"], broken[0]["meta"]["hosts"]) == ("compliant", False, "vmanage-001")
    run.wait_polls(3)
    assert run.events() == [], "the same state was reported again"

    fleet.fault("vmanage-001", "wrong-ssm-password", clear=True)
    recovered = run.next_events()
    assert statuses(recovered) == [("vmanage-001", "compliant", None)]
    assert recovered[0]["license_status"]["previous_causes"] == ["SSM_BAD_USER_CREDENTIALS"]
    run.wait_polls(3)
    assert run.events() == []
    assert not leaks(lab_secrets(fleet), {"events": repr(run.seen), "log": "\n".join(run.records)})


def test_timeouts_429_5xx_and_a_closed_listener_do_not_stop_the_source(lab, watch, tmp_path, lab_secrets, leaks):
    fleet = lab("healthy", vmanage=2)
    quick = extra_inventory(tmp_path, group_vars={"license_sync_timeout": 1, "license_sync_retries": 0})
    run = watch([fleet.inventory, quick], interval=INTERVAL_S)
    run.wait_polls(1)

    # 429 on every request: vManage is busy, not broken; it keeps its state and is polled less often.
    before = fleet.state()["vmanage"]
    fleet.fault("vmanage-001", "rate-limit", every=1, retry_after=1)
    run.wait_polls(4)  # vManage-001 is read in the 1st and 3rd of them
    assert run.events() == []
    after = fleet.state()["vmanage"]
    logins = {name: after[name]["requests"]["POST /j_security_check"] - before[name]["requests"]["POST /j_security_check"]
              for name in after}
    assert logins["vmanage-001"] < logins["vmanage-002"], f"no back-off from the rate-limited vManage: {logins}"
    fleet.fault("vmanage-001", "rate-limit", clear=True)

    # 5xx on every request of the other vManage: the same.
    fleet.fault("vmanage-002", "flapping-5xx", every=1)
    run.wait_polls(2)
    assert run.events() == []
    fleet.fault("vmanage-002", "flapping-5xx", clear=True)

    # A vManage that answers too late is unreachable: an event, then one when it answers again.
    fleet.fault("vmanage-001", "slow", ms=2500)
    assert statuses(run.next_events()) == [("vmanage-001", "unreachable", "TIMEOUT")]
    fleet.fault("vmanage-001", "slow", clear=True)
    assert statuses(run.next_events(timeout=60)) == [("vmanage-001", "compliant", None)]

    # SSM On-Prem's listener closed: both vManage are broken in a way no playbook fixes.
    fleet.fault("ssm", "ssm-listener-closed")
    broken = run.next_events()
    assert sorted(statuses(broken)) == [("vmanage-001", "broken", "SSM_UNREACHABLE"), ("vmanage-002", "broken", "SSM_UNREACHABLE")]
    assert all(event["license_status"]["fixable"] is False for event in broken)
    fleet.fault("ssm", "ssm-listener-closed", clear=True)
    # A poll that straddles the reopening sees vManage still failing while the controller already gets through: one
    # more change (the controller's cause drops out) before both are compliant again.
    until_compliant(run, ["vmanage-001", "vmanage-002"])

    run.wait_polls(2)
    assert run.running
    assert not leaks(lab_secrets(fleet), {"events": repr(run.seen), "log": "\n".join(run.records)})


def test_vaulted_inventory_variables_and_environment_variables_are_read_as_the_playbooks_read_them(
        lab, source_plugin, tmp_path, monkeypatch):
    fleet = lab("healthy", vmanage=1)
    inventory = yaml.safe_load(fleet.inventory.read_text())
    host = inventory["all"]["children"]["vmanage"]["hosts"]["vmanage-001"]
    password, username = host.pop("vmanage_password"), host.pop("vmanage_username")
    plain = tmp_path / "inventory.yml"
    plain.write_text(yaml.safe_dump(inventory))
    vault_password = "eda-vault-password-1"
    (tmp_path / "vault-pass").write_text(vault_password + "\n")
    vaulted = VaultLib([("default", VaultSecret(vault_password.encode()))]).encrypt(password).decode()
    (tmp_path / "vaulted.yml").write_text(
        "all:\n  children:\n    vmanage:\n      hosts:\n        vmanage-001:\n          vmanage_password: !vault |\n"
        + "".join(f"            {line}\n" for line in vaulted.splitlines()))
    monkeypatch.setenv("VMANAGE_USERNAME", username)
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(tmp_path / "vault-pass"))

    def first_poll(sources, vault_password_file=None):
        # Each call as in a fresh ansible-rulebook process: ansible-core keeps vault secrets process-wide.
        monkeypatch.setattr(VaultSecretsContext, "_current", None)
        queue = asyncio.Queue()
        args = dict(inventory=[str(path) for path in sources], max_polls=1, interval=1, jitter=0)
        if vault_password_file:
            args["vault_password_file"] = vault_password_file
        asyncio.run(asyncio.wait_for(source_plugin["main"](queue, args), 60))
        return [queue.get_nowait() for _event in range(queue.qsize())]

    assert first_poll([plain, tmp_path / "vaulted.yml"]) == []  # the vault password file from the environment
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE")
    assert first_poll([plain, tmp_path / "vaulted.yml"], vault_password_file=str(tmp_path / "vault-pass")) == []
    no_vault_password = first_poll([plain, tmp_path / "vaulted.yml"])
    assert statuses(no_vault_password) == [("vmanage-001", "error", "INVALID_INPUT")]
    assert "vault_password_file" in no_vault_password[0]["license_status"]["causes"][0]["detail"]
    missing = first_poll([plain])
    assert statuses(missing) == [("vmanage-001", "error", "INVALID_INPUT")]
    assert "vmanage_password" in missing[0]["license_status"]["causes"][0]["detail"]


@pytest.mark.parametrize("args, problem", [
    ({}, "inventory"),
    ({"inventory": "/nonexistent/inventory.yml"}, "inventory not found"),
    ({"inventory": "{inventory}", "interval": 0}, "interval must be more than 0"),
    ({"inventory": "{inventory}", "ssm_checks": "sometimes"}, "ssm_checks"),
    ({"inventory": "{inventory}", "hosts": "nothing-matches"}, "no host matches"),
])
def test_wrong_arguments_stop_the_source_at_once_with_what_is_wrong(source_plugin, tmp_path, args, problem):
    inventory = extra_inventory(tmp_path, hosts={"vmanage-001": {"vmanage_host": "127.0.0.1"}})
    args = {key: value.format(inventory=inventory) if isinstance(value, str) else value for key, value in args.items()}
    with pytest.raises(ValueError, match=problem):
        asyncio.run(asyncio.wait_for(source_plugin["main"](asyncio.Queue(), dict(args, max_polls=1)), 30))


def requests_of(state):
    counts = {"ssm": state["ssm"]["requests"]}
    counts.update((name, vmanage["requests"]) for name, vmanage in state["vmanage"].items())
    return counts


def requests_between(before, after):
    """{listener: {request: count}} of the requests made between two lab states."""
    first, second = requests_of(before), requests_of(after)
    return {listener: {request: count - first[listener].get(request, 0) for request, count in counts.items()
                       if count != first[listener].get(request, 0)} for listener, counts in second.items()}


def test_a_poll_costs_six_reads_per_vmanage_and_probes_ssm_on_prem_once_only_when_a_host_looks_broken(lab, source_plugin):
    fleet = lab("healthy", vmanage=2)

    def one_poll():
        before = fleet.state()
        args = dict(inventory=str(fleet.inventory), max_polls=1, interval=1, jitter=0)
        asyncio.run(asyncio.wait_for(source_plugin["main"](asyncio.Queue(), args), 60))
        after = fleet.state()
        assert fleet.total_writes(after) == fleet.total_writes(before), "a poll wrote something"
        return requests_between(before, after)

    healthy = one_poll()
    assert [sum(healthy[name].values()) for name in ("vmanage-001", "vmanage-002")] == [6, 6]
    # What reaches SSM On-Prem is vManage's own fetchAccounts (a token and the accounts), nothing from the controller.
    assert healthy["ssm"] == {"POST /backend/oauth/token": 2, "POST /api/v1/accounts": 2}

    fleet.fault("ssm", "grant-deleted")
    broken = one_poll()
    assert [sum(broken[name].values()) for name in ("vmanage-001", "vmanage-002")] == [6, 6]
    # The compliance run's SSM On-Prem probes, once for the SSM On-Prem both hosts share: one Admin Workspace login.
    assert broken["ssm"]["POST /backend/auth/identity/callback"] == 1
    assert broken["ssm"]["GET /backend/api_toolkit/grants"] >= 1


def test_the_guide_and_the_plugin_documentation_list_every_option_of_the_source(source_plugin, repo_root):
    options = set(source_plugin["SOURCE_SPEC"])
    documented = yaml.safe_load(source_plugin["DOCUMENTATION"])["options"]
    assert set(documented) == options
    for name, spec in source_plugin["SOURCE_SPEC"].items():
        assert documented[name]["type"] == spec["type"], name
        assert documented[name].get("default") == spec.get("default"), name
    guide = (repo_root / "docs" / "docsite" / "rst" / "eda.rst").read_text()
    table = guide.split("Options of the source\n", 1)[1].split("\n\n\n", 1)[0]
    assert set(re.findall(r"^   \* - ``(\w+)``$", table, re.M)) == options
