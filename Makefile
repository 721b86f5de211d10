# save-relay: the habits of the project, one target each.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CODE := $(wildcard src tests bench migrations)
# Test workers: most tests wait on sockets and subprocesses, so more workers than cores pays off.
WORKERS ?= 4

.PHONY: help install run init serve test test-fast test-slow lint format mypy bench clean system-deps

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## make .venv and install the package with its dev tools

system-deps:  ## install the Debian packages the slow tests and benchmarks need (root)
	bash scripts/install-system-deps.sh

init: $(STAMP)  ## create var/, migrate the SQLite database and load the demo network
	$(BIN)/save-relay --config config/save-relay.example.toml init --demo

run: init  ## set up and start the daemon on 127.0.0.1:2525 (outbox: var/outbox/)
	$(BIN)/save-relay --config config/save-relay.example.toml serve

test: $(STAMP)  ## the whole suite (PostgreSQL too when SAVE_RELAY_TEST_DATABASE_URL is set)
	$(BIN)/pytest -q -n $(WORKERS) --dist loadgroup

test-fast: $(STAMP)  ## the suite without the slow tests
	$(BIN)/pytest -q -n $(WORKERS) --dist loadgroup -m 'not slow'

lint: $(STAMP)  ## ruff (style, and no SQL outside store/) and the import contracts of the layout
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/lint-imports

format: $(STAMP)  ## ruff format and fix
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

mypy: $(STAMP)  ## type check the package
	$(BIN)/mypy

bench: $(STAMP)  ## the benchmarks (first installs smtp-sink, the fast sink, as root); writes bench/results/<date>.json
	@bash scripts/install-system-deps.sh || echo "bench: could not install the system packages (not root?):" \
	  "without /usr/sbin/smtp-sink the throughput benchmarks use the aiosmtpd sink"
	$(BIN)/python -m bench

clean:  ## remove the venv, caches and var/
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache dist build
