# sdwan_ops.license_sync — developer entry points. The README's two commands: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTION_LINK := .build/collections/ansible_collections/sdwan_ops/license_sync
PIP_QUIET := 2>&1 | grep -v -e "is ignored: it is neither a file nor a directory" -e "^\s*$$" || true
PYTEST_ARGS ?=

export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: venv demo test sanity unit lab-test integration molecule lab-up lab-down clean

venv: $(STAMP) $(COLLECTION_LINK)

$(STAMP): requirements.txt requirements-dev.txt tests/lab/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@set -o pipefail; $(BIN)/python -m pip install -q -U pip setuptools wheel $(PIP_QUIET)
	@set -o pipefail; $(BIN)/python -m pip install -q -r requirements-dev.txt $(PIP_QUIET)
	@$(BIN)/python -m pip check >/dev/null
	@touch $@

$(COLLECTION_LINK):
	@mkdir -p $(dir $@)
	@ln -sfn ../../../.. $@

## The main job: the fix playbook against the lab, with a before/after view.
demo: venv
	@tools/demo.sh

## Every test: sanity, unit, lab, integration, molecule, QA — one pytest run, one summary line.
test: venv
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

sanity: venv
	@$(BIN)/python tools/run_ansible_test.py sanity --python 3.11 --local

unit: venv
	@$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lab-test: venv
	@$(BIN)/python -m pytest tests/lab/tests $(PYTEST_ARGS)

integration: venv
	@$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

molecule: venv
	@$(BIN)/python -m pytest tests/molecule $(PYTEST_ARGS)

LAB_DIR ?= .lab
LAB_SCENARIO ?= seed
LAB_VMANAGE ?= 1
lab-up: venv
	@$(BIN)/sdwan-lab up --dir $(LAB_DIR) --scenario $(LAB_SCENARIO) --vmanage $(LAB_VMANAGE)
	@echo "inventory: $(LAB_DIR)/inventory.yml"

lab-down:
	@$(BIN)/sdwan-lab down --dir $(LAB_DIR)

clean:
	rm -rf .build tests/output dist reports collections
