"""sdwan-lab: start, inspect, break and stop the lab (see docs/lab.md)."""

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from .dialects import dialect_spec, parse_dialect, render_table, table
from .faults import FAULTS, WRONG_CERT_VARIANTS
from .labdir import LabDir, lab_process_alive
from .scenarios import FLEET_STATES, HOST_STATES, SCENARIOS, ConfigurationError, plan_hosts

EXIT_NOT_RUNNING = 3
STOP_TIMEOUT_S = 20
CONTROL_TIMEOUT_S = 60


class CommandError(Exception):
    pass


def _lab_options(parser):
    parser.add_argument("--dir", required=True, help="lab directory (created if missing)")
    parser.add_argument("--vmanage", type=int, default=1, metavar="N", help="number of vManage (default 1)")
    parser.add_argument("--scenario", default="seed", choices=SCENARIOS, help="starting state (default seed)")
    parser.add_argument("--release", help="vManage release for every vManage (default per scenario)")
    parser.add_argument("--seed", type=int, help="seed of the fleet-mixed assignment (default 0)")
    parser.add_argument("--front", choices=("auto", "nginx", "builtin"), default="auto",
                        help="SSM's TLS front: real nginx, the built-in emulation, or nginx when installed")
    parser.add_argument("--dialect", metavar="SPEC",
                        help="the variant of the products to play: documented, AXIS=VALUE[,...] or "
                             "documented,AXIS=VALUE[,...] (default: the lab's historical behaviour; see "
                             "sdwan-lab dialects)")


def build_parser():
    parser = argparse.ArgumentParser(prog="sdwan-lab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    scenario_help = "scenarios:\n" + "\n".join(f"  {name:18} {text}" for name, text in SCENARIOS.items())
    scenario_help += "\n\nfleet-mixed host states (expected cause):\n" + "\n".join(
        f"  {name:30} {HOST_STATES[name].expected_cause}" for name in FLEET_STATES)
    up = commands.add_parser("up", help="start the lab in the background; returns when every listener answers",
                             epilog=scenario_help, formatter_class=argparse.RawDescriptionHelpFormatter)
    _lab_options(up)
    up.add_argument("--timeout", type=float, default=120, help="seconds to wait for the lab (default 120)")
    serve = commands.add_parser("serve", help="run the lab in the foreground", epilog=scenario_help,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _lab_options(serve)
    for name, text in (("down", "stop the lab and its nginx, and wait until they are gone"),
                       ("status", "print whether the lab runs (exit 3 when it does not)"),
                       ("state", "print grants, settings, syncs and request counters as JSON")):
        commands.add_parser(name, help=text).add_argument("--dir", required=True)
    fault_help = "faults:\n" + "\n".join(f"  {spec.name:29} {spec.summary} [{'/'.join(sorted(spec.targets))}]"
                                         for spec in FAULTS.values())
    fault = commands.add_parser("fault", help="switch a fault on (or off with --clear)", epilog=fault_help,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    fault.add_argument("--dir", required=True)
    fault.add_argument("--target", required=True, help="ssm, a vManage name (vmanage-001) or all")
    fault.add_argument("fault", choices=FAULTS, metavar="FAULT", help="one of the faults below")
    fault.add_argument("--clear", action="store_true", help="switch the fault off")
    fault.add_argument("--ms", type=int, help="slow: delay in milliseconds (default 1000)")
    fault.add_argument("--every", type=int, help="flapping-5xx, rate-limit: every k-th request (default 1)")
    fault.add_argument("--retry-after", type=int, help="rate-limit: Retry-After seconds (default 1)")
    fault.add_argument("--variant", choices=WRONG_CERT_VARIANTS, help="wrong-cert: which wrong certificate")
    dialects = commands.add_parser("dialects", help="print every dialect axis, its values, default, documented "
                                                    "preset and sources")
    dialects.add_argument("--json", action="store_true", help="as JSON")
    grant = commands.add_parser("grant", help="create an API Toolkit grant by hand (as an operator does in SSM's "
                                              "Admin Workspace) and print it as JSON")
    grant.add_argument("--dir", required=True)
    grant.add_argument("--name", required=True, help="the grant's name (unique per local account)")
    grant.add_argument("--type", choices=("resource_owner", "client_credentials"), default="resource_owner",
                       help="grant type (default resource_owner)")
    conformance = commands.add_parser(
        "conformance", help="replay a HAR against a temporary lab and print the differences per endpoint",
        description="Replays each vManage/SSM API request of a HAR 1.2 file against a temporary lab (scenario "
                    "healthy, 1 vManage) and prints, per endpoint, the differences in status, JSON keys and "
                    "types between the recorded answers and the lab's, and the dialect the recorded answers "
                    "show. Exit 0: no difference; 1: differences; 2: bad input.")
    conformance.add_argument("har", metavar="FILE.har")
    conformance.add_argument("--release", help="the lab's vManage release (default: the HAR's client/server "
                                               "platformVersion, else 20.12.1)")
    conformance.add_argument("--dialect", metavar="SPEC", help="the lab's dialect (see sdwan-lab dialects)")
    conformance.add_argument("--json", action="store_true", help="print the report as JSON")
    redact = commands.add_parser(
        "redact", help="replace every secret of a HAR (a browser capture) by __REDACTED__ before you share it",
        description="Writes a copy of a HAR 1.2 file with every cookie, XSRF/CSRF token, password, client secret, "
                    "access token and session id replaced by __REDACTED__, wherever it appears, and (unless "
                    "--keep-all) only the API entries that conformance replays. Exit 2: unreadable or not a HAR.")
    redact.add_argument("har", metavar="FILE.har")
    redact.add_argument("-o", "--output", help="where to write (default: FILE.redacted.har), mode 0600")
    redact.add_argument("--keep-all", action="store_true", help="keep pages, scripts and pictures too")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "conformance":
        # Bad input is exit 2 there (1 means differences).
        from .conformance import run_conformance

        return run_conformance(args)
    if args.command == "redact":
        from .har_redact import run_redact

        return run_redact(args)
    lab_dir = LabDir(args.dir) if getattr(args, "dir", None) else None
    try:
        return COMMANDS[args.command](args, lab_dir) or 0
    except (CommandError, ConfigurationError) as error:
        print(f"sdwan-lab {args.command}: {error}", file=sys.stderr)
        return 1


# ----------------------------------------------------------------- control channel

def running_pid(lab_dir):
    try:
        pid = lab_dir.read_json(lab_dir.control_json)["pid"]
    except (FileNotFoundError, ValueError, KeyError):
        return None
    return pid if lab_process_alive(pid, lab_dir) else None


def control(lab_dir, method, path, body=None):
    if running_pid(lab_dir) is None:
        raise CommandError(f"no lab is running in {lab_dir.root}")
    channel = lab_dir.read_json(lab_dir.control_json)
    request = urllib.request.Request(
        f"http://127.0.0.1:{channel['port']}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {channel['token']}", "Content-Type": "application/json"},
    )
    # The control port is on loopback: bypass any proxy of the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=CONTROL_TIMEOUT_S) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise CommandError(json.load(error).get("error", error.reason)) from None


# ----------------------------------------------------------------- commands

def lab_arguments(args):
    arguments = ["--dir", str(LabDir(args.dir).root), "--vmanage", str(args.vmanage), "--scenario", args.scenario,
                 "--front", args.front]
    if args.release:
        arguments += ["--release", args.release]
    if args.seed is not None:
        arguments += ["--seed", str(args.seed)]
    dialect = parse_dialect(args.dialect)
    if dialect_spec(dialect):
        arguments += ["--dialect", dialect_spec(dialect)]
    return arguments


def command_up(args, lab_dir):
    started = time.monotonic()
    status = start_lab(args, lab_dir)
    print(f"lab up in {time.monotonic() - started:.1f} s: SSM {status['ssm_url']} (front {status['front']}), "
          f"{status['vmanage']} vManage, scenario {status['scenario']}; see {lab_dir.lab_json}")


def start_lab(args, lab_dir):
    """`sdwan-lab up` without its output: the lab's status once every listener answers."""
    if running_pid(lab_dir):
        raise CommandError(f"a lab is already running in {lab_dir.root}; run sdwan-lab down first")
    plan_hosts(args.scenario, args.vmanage, args.release, args.seed)
    parse_dialect(args.dialect)
    started = time.monotonic()
    lab_dir.create()
    lab_dir.remove_run_files()
    with open(lab_dir.lab_log, "ab") as lab_log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sdwan_lab", "serve", *lab_arguments(args)],
            stdin=subprocess.DEVNULL, stdout=lab_log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = started + args.timeout
    while not lab_dir.control_json.exists():
        if process.poll() is not None:
            raise CommandError(f"the lab exited with {process.returncode}:\n{_log_tail(lab_dir)}")
        if time.monotonic() > deadline:
            _stop(process.pid, lab_dir)
            raise CommandError(f"the lab did not come up within {args.timeout:.0f} s:\n{_log_tail(lab_dir)}")
        time.sleep(0.05)
    return control(lab_dir, "GET", "/status")


def _log_tail(lab_dir, lines=30):
    try:
        return "\n".join(lab_dir.lab_log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def command_serve(args, lab_dir):
    if running_pid(lab_dir):
        raise CommandError(f"a lab is already running in {lab_dir.root}; run sdwan-lab down first")
    # Only `serve` needs asyncio and aiohttp: the other commands stay quick.
    import asyncio

    from .server import Lab

    dialect = parse_dialect(args.dialect)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    lab_dir.create()
    lab_dir.remove_run_files()
    asyncio.run(Lab(lab_dir, args.scenario, args.vmanage, args.release, args.seed, args.front, dialect).run())


def _stop(pid, lab_dir):
    """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; returns when the process is gone."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while lab_process_alive(pid, lab_dir):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            return


def _recorded_nginx_pid(lab_dir):
    for path, keys in ((lab_dir.control_json, ("nginx_pid",)), (lab_dir.lab_json, ("ssm", "nginx_pid"))):
        try:
            value = lab_dir.read_json(path)
            for key in keys:
                value = value[key]
        except (FileNotFoundError, ValueError, KeyError):
            continue
        if value:
            return value
    return None


def stop_lab(lab_dir):
    """`sdwan-lab down` without its output: the PID of the lab that was stopped, or None."""
    nginx_pid = _recorded_nginx_pid(lab_dir)
    pid = running_pid(lab_dir)
    if pid:
        _stop(pid, lab_dir)
    if nginx_pid and lab_process_alive(nginx_pid, lab_dir):
        _stop(nginx_pid, lab_dir)
    lab_dir.control_json.unlink(missing_ok=True)
    return pid


def command_down(args, lab_dir):
    pid = stop_lab(lab_dir)
    print(f"lab in {lab_dir.root} stopped" if pid else f"no lab was running in {lab_dir.root}")


def command_status(args, lab_dir):
    if running_pid(lab_dir) is None:
        print(json.dumps({"running": False, "dir": str(lab_dir.root)}))
        return EXIT_NOT_RUNNING
    print(json.dumps(control(lab_dir, "GET", "/status"), indent=2))


def command_state(args, lab_dir):
    print(json.dumps(control(lab_dir, "GET", "/state"), indent=2))


def command_fault(args, lab_dir):
    options = {"ms": args.ms, "every": args.every, "retry_after": args.retry_after, "variant": args.variant}
    print(json.dumps(control(lab_dir, "POST", "/fault", {
        "target": args.target, "fault": args.fault, "clear": args.clear, "options": options}), indent=2))


def command_dialects(args, lab_dir):
    print(json.dumps(table(), indent=2) if args.json else render_table())


def command_grant(args, lab_dir):
    print(json.dumps(control(lab_dir, "POST", "/grant", {"name": args.name, "type": args.type}), indent=2))


COMMANDS = {"up": command_up, "serve": command_serve, "down": command_down, "status": command_status,
            "state": command_state, "fault": command_fault, "dialects": command_dialects,
            "grant": command_grant}
