#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (nginx for the lab's SSM front, chromium for
# the report and docs browser tests, a Java 17 runtime for ansible-rulebook in tests/eda) when they
# are missing. Needs root (or sudo) and apt-get.
set -euo pipefail
packages=(nginx chromium)
missing=()
for package in "${packages[@]}"; do
  command -v "$package" >/dev/null || missing+=("$package")
done
# ansible-rulebook runs its rules engine (Drools) on a JVM: a `java` of version 17 or later (it derives
# JAVA_HOME from that binary when the variable is unset).
java_17_or_later() {
  command -v java >/dev/null || return 1
  local major
  major=$(java -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1)
  ((${major:-0} >= 17))
}
java_17_or_later || missing+=(openjdk-17-jre-headless)
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
