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

.PHONY: venv system-deps demo test sanity unit lab-test integration molecule lab-up lab-down matrix clean

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

system-deps:
	@tools/system-deps.sh

## Every test: sanity, unit, lab, integration, molecule, QA — one pytest run, one summary line.
test: venv system-deps
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

## ansible-core versions the README says are tested (own venvs; unit + module integration tests).
matrix: venv
	@tools/core-matrix.sh

LAB_DIR ?= .lab
LAB_SCENARIO ?= seed
LAB_VMANAGE ?= 1
lab-up: venv
	@$(BIN)/sdwan-lab up --dir $(LAB_DIR) --scenario $(LAB_SCENARIO) --vmanage $(LAB_VMANAGE)
	@echo "inventory: $(LAB_DIR)/inventory.yml"

lab-down:
	@$(BIN)/sdwan-lab down --dir $(LAB_DIR)

## Release and publishing. Each prints what it wrote.
.PHONY: changelog-release ee lint galaxy-importer docs
RELEASE_DATE ?=
## Turns changelogs/fragments/ into CHANGELOG.rst + changelogs/changelog.yaml for galaxy.yml's version
## (deletes the fragments it used: run it on the release branch, then commit the result).
changelog-release: venv
	@$(BIN)/antsibull-changelog lint
	@$(BIN)/antsibull-changelog release --ansible-doc-bin $(BIN)/ansible-doc $(if $(RELEASE_DATE),--date $(RELEASE_DATE))
	@$(BIN)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	@echo "CHANGELOG.rst and changelogs/changelog.yaml updated for $$(sed -n 's/^version: *//p' galaxy.yml)"

## Execution-environment build context (ansible-builder create; build the image with podman/docker).
ee: venv
	@$(BIN)/python tools/ee_context.py .build/ee

lint: venv
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/ansible-lint

IMPORTER_VENV := .venv-importer
IMPORTER_STAMP := $(IMPORTER_VENV)/.installed
$(IMPORTER_STAMP): requirements-importer.txt
	@test -x $(IMPORTER_VENV)/bin/python || $(PYTHON) -m venv $(IMPORTER_VENV)
	@set -o pipefail; $(IMPORTER_VENV)/bin/python -m pip install -q -U pip setuptools wheel $(PIP_QUIET)
	@set -o pipefail; $(IMPORTER_VENV)/bin/python -m pip install -q -r requirements-importer.txt $(PIP_QUIET)
	@$(IMPORTER_VENV)/bin/python -m pip check >/dev/null
	@touch $@

## galaxy-importer (as Galaxy runs it on upload) on the built tarball, offline, without containers.
galaxy-importer: venv $(IMPORTER_STAMP)
	@$(BIN)/python tools/galaxy_importer.py --importer-python $(IMPORTER_VENV)/bin/python .build/importer

## Documentation site (antsibull-docs + Sphinx, offline, warnings are errors) -> .build/docsite/build/html
docs: venv
	@$(BIN)/python tools/build_docs.py .build/docsite

## Fleet benchmark (not part of `make test`): `make bench`, `make bench SIZES=200`, `make bench FORKS=20`.
SIZES ?= 50 200 500
FORKS ?= 20 50
bench: venv
	@$(BIN)/python bench/run.py --sizes $(SIZES) --forks $(FORKS)

## Reliability proof (part of `make test`, `make reliability` runs it alone). docs/reliability.md is rendered from the
## results the tests leave in tests/output/reliability/: `make reliability-docs` after a test run.
.PHONY: reliability reliability-docs kill-sweep fleet
reliability: venv
	@$(BIN)/python -m pytest tests/reliability $(PYTEST_ARGS)
reliability-docs: venv
	@$(BIN)/python tools/render_reliability.py
## SIGKILL a fix run after every one of its requests, both ways, then check that the next run converges.
kill-sweep: venv
	@RELIABILITY_KILL_SWEEP=full $(BIN)/python -m pytest tests/reliability/test_interruptions.py $(PYTEST_ARGS)
## The fleet test alone (500 vManage as in make test; `make fleet RELIABILITY_FLEET_SIZE=30` for a quick look).
fleet: venv
	@$(BIN)/python -m pytest tests/reliability/test_fleet.py $(PYTEST_ARGS)

clean:
	rm -rf .build tests/output dist reports collections
