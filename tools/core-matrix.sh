#!/usr/bin/env bash
# Runs the unit tests and the module integration tests under each supported ansible-core,
# each in its own virtualenv (.venv-core-<version>): the versions README.md says are tested.
# Usage: tools/core-matrix.sh [PYTHON:CORE_SPEC ...]
set -euo pipefail
cd "$(dirname "$0")/.."

pyenv_python() { local v; v=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".* 2>/dev/null | sort -V | tail -n1); echo "${v:+$v/bin/python}"; }

matrix=("$@")
((${#matrix[@]})) || matrix=("3.11:2.16" "3.11:2.17" "3.11:2.18" "3.11:2.19" "3.12:2.20" "3.12:2.21")

summary=()
for entry in "${matrix[@]}"; do
  python_version=${entry%%:*} core=${entry#*:}
  python=$(pyenv_python "$python_version")
  [[ -n $python ]] || python=$(command -v "python$python_version" || true)
  if [[ -z $python ]] || ! "$python" -c '' 2>/dev/null; then summary+=("ansible-core $core on Python $python_version: no such Python here"); continue; fi
  venv=.venv-core-$core
  [[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q "ansible-core==$core.*" -r requirements.txt $(grep -E '^(pytest|pytest-xdist|xmlschema|ansible-runner)==' requirements-dev.txt) -e tests/lab 2>&1 \
    | grep -v "is ignored: it is neither" || true
  installed=$("$venv/bin/python" -c 'import ansible; print(ansible.__version__)')
  if "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit tests/integration -k "modules" >"$venv/pytest.log" 2>&1; then
    result=passed
  else
    result=FAILED
  fi
  summary+=("ansible-core $installed on Python $python_version: $result ($(tail -n1 "$venv/pytest.log"))")
done
printf '%s\n' "${summary[@]}"
! printf '%s\n' "${summary[@]}" | grep -q FAILED
