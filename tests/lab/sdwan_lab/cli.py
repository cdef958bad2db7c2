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
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    lab_dir = LabDir(args.dir)
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
    return arguments


def command_up(args, lab_dir):
    if running_pid(lab_dir):
        raise CommandError(f"a lab is already running in {lab_dir.root}; run sdwan-lab down first")
    plan_hosts(args.scenario, args.vmanage, args.release, args.seed)
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
    status = control(lab_dir, "GET", "/status")
    print(f"lab up in {time.monotonic() - started:.1f} s: SSM {status['ssm_url']} (front {status['front']}), "
          f"{status['vmanage']} vManage, scenario {status['scenario']}; see {lab_dir.lab_json}")


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

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    lab_dir.create()
    lab_dir.remove_run_files()
    asyncio.run(Lab(lab_dir, args.scenario, args.vmanage, args.release, args.seed, args.front).run())


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


def command_down(args, lab_dir):
    nginx_pid = _recorded_nginx_pid(lab_dir)
    pid = running_pid(lab_dir)
    if pid:
        _stop(pid, lab_dir)
    if nginx_pid and lab_process_alive(nginx_pid, lab_dir):
        _stop(nginx_pid, lab_dir)
    lab_dir.control_json.unlink(missing_ok=True)
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


COMMANDS = {"up": command_up, "serve": command_serve, "down": command_down, "status": command_status,
            "state": command_state, "fault": command_fault}
