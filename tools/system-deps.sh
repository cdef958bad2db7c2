#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (nginx for the lab's SSM front, chromium for
# the report and docs browser tests) when they are missing. Needs root (or sudo) and apt-get.
set -euo pipefail
packages=(nginx chromium)
missing=()
for package in "${packages[@]}"; do
  command -v "$package" >/dev/null || missing+=("$package")
done
((${#missing[@]})) || exit 0

if [[ $EUID -ne 0 ]] && ! command -v sudo >/dev/null; then
  echo "missing system packages: ${missing[*]} — install them (apt-get install ${missing[*]}) and re-run" >&2
  exit 1
fi
as_root=()
[[ $EUID -eq 0 ]] || as_root=(sudo)
echo "installing system packages: ${missing[*]}"
"${as_root[@]}" apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
