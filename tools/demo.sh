#!/usr/bin/env bash
# `make demo`: the fix playbook against a lab vManage whose licence sync fails with SSM On-Prem's "Grant not found":
# diagnosis and plan (check mode), the fix, a rerun that changes nothing, and the resulting sync status.
# Run from the repository root after `make venv`; the lab is stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="$PWD/.venv/bin"
LAB="$PWD/.build/demo/lab-$(date +%Y%m%d-%H%M%S)"
PLAYBOOK=playbooks/fix_license_sync.yml

export ANSIBLE_COLLECTIONS_PATH="$PWD/.build/collections"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml     # the verdict and plans as readable lists
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false

if [[ -t 1 ]]; then BOLD=$'\e[1m' DIM=$'\e[2m' RESET=$'\e[0m'; else BOLD='' DIM='' RESET=''; fi
section() { printf '\n%s== %s ==%s\n' "$BOLD" "$*" "$RESET"; }
note() { printf '%s%s%s\n' "$DIM" "$*" "$RESET"; }

stop_lab() {
  if [[ -f "$LAB/lab.json" ]]; then
    section "Stop the lab"
    "$BIN/sdwan-lab" down --dir "$LAB" || true
  fi
}
trap stop_lab EXIT

started=$SECONDS
mkdir -p "$(dirname "$LAB")"

section "1/5 Start a lab: SSM On-Prem and one vManage whose licence sync fails with Grant not found (scenario seed)"
"$BIN/sdwan-lab" up --dir "$LAB" --scenario seed
note "inventory: $LAB/inventory.yml"

section "2/5 Diagnose: precheck verdict and what the fix would change (--check --diff: nothing is written)"
"$BIN/ansible-playbook" -i "$LAB/inventory.yml" "$PLAYBOOK" --check --diff

section "3/5 Fix: grant on SSM On-Prem, proven by a token request, pushed to vManage, authenticate, sync, verify"
"$BIN/ansible-playbook" -i "$LAB/inventory.yml" "$PLAYBOOK"

section "4/5 Run it again: nothing to do (changed=0, no write request)"
"$BIN/ansible-playbook" -i "$LAB/inventory.yml" "$PLAYBOOK" | tee "$LAB/rerun.txt"
grep -q 'changed=0.*failed=0' "$LAB/rerun.txt"

section "5/5 Sync status, as the lab records it (sdwan-lab state)"
"$BIN/sdwan-lab" state --dir "$LAB" > "$LAB/state.json"
"$BIN/python" - "$LAB/state.json" <<'EOF'
import json, sys
state = json.load(open(sys.argv[1]))
for name, vmanage in state["vmanage"].items():
    settings, last = vmanage["settings"], vmanage["syncs"][-1]
    print(f"{name}: mode {settings['mode']}, SSM {settings['ssmServerUrl']}, client id {settings['ssmClientId'][:12]}...")
    print(f"  last sync {last['time']}: " + ("OK" if last["ok"] else f"FAILED: {last['error']}"))
    print(f"  write requests it received: {vmanage['write_requests']}")
print("SSM On-Prem grants: " + ", ".join(f"{grant['name']} ({grant['type']})" for grant in state["ssm"]["grants"]))
print(f"SSM On-Prem write requests: {state['ssm']['write_requests']}")
EOF
note "demo done in $((SECONDS - started)) s"
