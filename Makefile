# mailhost.mail: developer and CI entry points. `make help` lists them.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c

VENV        ?= .venv
PY          := $(VENV)/bin/python
BIN         := $(VENV)/bin
COLL_ROOT   := $(CURDIR)/.cache/collections
COLL_LINK   := $(COLL_ROOT)/ansible_collections/mailhost/mail
STAMP       := $(VENV)/.installed
TESTBED     := tests/testbed/testbed.sh
# Scenarios run by `make test`: the known ones, longest first so that the two
# job slots finish together, then any other scenario directory, then the full
# stack; `make molecule SCENARIO=x` runs one.
SCENARIO_ORDER := acme audit mail_auth tls_cert dovecot mta_switch sendmail postfix ldap_aliases modules smoke
ALL_SCENARIOS  := $(patsubst molecule/%/molecule.yml,%,$(wildcard molecule/*/molecule.yml))
SCENARIOS   ?= $(filter $(ALL_SCENARIOS),$(SCENARIO_ORDER)) \
               $(filter-out $(SCENARIO_ORDER) full_stack,$(ALL_SCENARIOS)) \
               $(filter full_stack,$(ALL_SCENARIOS))
# Distributions `make test` runs the scenarios on: both local Debian images.
TEST_DISTROS ?= debian12 debian13
# Scenarios that `make test` also runs on Debian 13: the ones whose platform
# differences are largest (Dovecot 2.4's new config and the MTAs' packaging).
# tls_cert runs inside the dovecot and sendmail converges there, so its own
# scenario (mkcert.sh's layout, the self-signed and imported cases) runs on
# Debian 12 only. `make test DISTRO_SCENARIOS="$$(ls molecule)"` runs all.
DISTRO_SCENARIOS ?= smoke dovecot postfix sendmail
# Scenarios run side by side; each holds a lock on its own name.
MOLECULE_JOBS ?= 2
MOLECULE_DISTRO ?= debian12
SCENARIO    ?= smoke
# ansible-core series that `make versions` (and so `make test`) runs sanity and
# the unit tests on, in Debian 13 containers (Python 3.13), beside the venv's 2.19.
# meta/runtime.yml's requires_ansible states the tested range. Empty: skipped.
ANSIBLE_SERIES ?= 2.20 2.21

export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT):$(CURDIR)/$(VENV)/lib/python3.11/site-packages
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: docs help venv collection testbed lint sanity release-check unit versions molecule molecule-all test build ee demo demo-clean bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip >/dev/null
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(STAMP) ## Create the virtualenv with ansible, molecule, linters

# The link is replaced only when it is wrong: scenarios running side by side
# call this target too, and must never see the link missing.
collection: venv ## Make the work tree resolvable as mailhost.mail (and link Molecule's docker driver playbooks)
	mkdir -p $(dir $(COLL_LINK))
	[ "$$(readlink $(COLL_LINK) || true)" = "$(CURDIR)" ] || ln -sfn $(CURDIR) $(COLL_LINK)
	# molecule/resources/create.yml lays the shared container definition over
	# each platform and imports the driver's own create playbook from here.
	driver=$$($(PY) -c 'import os, molecule_plugins.docker as d; print(os.path.join(os.path.dirname(d.__file__), "playbooks"))')
	[ "$$(readlink .cache/molecule-docker || true)" = "$$driver" ] || ln -sfn "$$driver" .cache/molecule-docker

testbed: ## Start Docker, the apt cache, and build the local images (FORCE=1 rebuilds)
	bash $(TESTBED) up $(if $(FORCE),--force,)

lint: venv collection ## ansible-lint (production), yamllint, ruff, ansible-test sanity, release checks
	@t0=$$(date +%s)
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ansible-lint --profile production --offline
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory release-check
	echo "[stage] lint: $$(( $$(date +%s) - t0 ))s"

release-check: venv ## galaxy-importer on the tarball, antsibull-docs lint, antsibull-changelog release (throwaway copy), workflow schema
	bash tests/release/check.sh

sanity: venv ## ansible-test sanity on a copy assembled as ansible_collections/mailhost/mail
	bash tests/sanity/run.sh

unit: venv collection ## pytest unit tests for module_utils and modules, plus the build/install check
	@t0=$$(date +%s)
	$(BIN)/pytest -q tests/unit
	bash tests/build/check_install.sh
	echo "[stage] unit: $$(( $$(date +%s) - t0 ))s"

versions: venv testbed ## sanity + unit tests on the ANSIBLE_SERIES ansible-core releases in Debian 13 containers
	bash tests/versions/run.sh $(ANSIBLE_SERIES)

molecule: venv collection testbed ## Run one scenario: make molecule SCENARIO=postfix [MOLECULE_DISTRO=debian13]
	@t0=$$(date +%s)
	export MOLECULE_DISTRO=$(MOLECULE_DISTRO)
	export MOLECULE_IMAGE=$${MOLECULE_IMAGE:-$$(bash $(TESTBED) image-for $(MOLECULE_DISTRO))}
	export MAILHOST_APT_PROXY=$${MAILHOST_APT_PROXY-$$(bash $(TESTBED) proxy)}
	$(BIN)/molecule test -s $(SCENARIO)
	echo "[stage] molecule $(SCENARIO) on $(MOLECULE_DISTRO): $$(( $$(date +%s) - t0 ))s"

molecule-all: venv collection testbed ## Every scenario on debian12, DISTRO_SCENARIOS on the other TEST_DISTROS, MOLECULE_JOBS at a time (+ `make versions` beside them)
	pairs="$(if $(strip $(ANSIBLE_SERIES)),versions:debian13,)"
	for d in $(TEST_DISTROS); do
	  list="$(SCENARIOS)"; [ "$$d" = debian12 ] || list="$(DISTRO_SCENARIOS)"
	  for s in $$list; do pairs="$$pairs $$s:$$d"; done
	done
	bash tests/testbed/run_scenarios.sh $(MOLECULE_JOBS) $$pairs

test: ## Everything CI runs: lint, unit tests, every Molecule scenario
	@t0=$$(date +%s)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory molecule-all
	echo "[stage] test total: $$(( $$(date +%s) - t0 ))s"

build: venv ## Build the collection tarball
	$(BIN)/ansible-galaxy collection build --force --output-path build/

ee: venv collection testbed ## Build the execution environment (ansible-builder, local base) and run the demo's site.yml in it
	bash tests/ee/run.sh all

demo: venv collection testbed ## Start a local fleet, run playbooks/site.yml on it, prove mail flows
	bash demo/demo.sh up

demo-clean: ## Remove the demo fleet
	bash demo/demo.sh clean

bench: venv collection testbed ## Benchmarks; print ratios against in-run baselines
	bash bench/run.sh

clean: ## Remove build output and caches (keeps the venv and images)
	rm -rf build .cache .pytest_cache .ruff_cache

docs: venv ## Regenerate the README's role variable tables from meta/argument_specs.yml
	$(PY) hacking/role_docs.py
