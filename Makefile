# One task runner for the project. `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
BIN := .venv/bin

.PHONY: help setup stack stack-down lint typecheck test demo bench reset

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## create .venv with the project and its dev tools (idempotent)
	@./scripts/bootstrap.sh

stack: setup ## install (cached) and start the local stack, wait until healthy
	$(BIN)/taas stack up

stack-down: setup ## stop everything the stack started
	$(BIN)/taas stack down

lint: setup ## ruff, formatting and import-linter layers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup ## mypy --strict
	$(BIN)/mypy

test: ## the whole suite: stack up, static checks, pytest
	@./scripts/test.sh

demo: setup ## the main job: bring the stack up and show it working
	$(BIN)/taas demo

bench: setup ## benchmarks (figures land in benchmarks/results/; needs `make stack`)
	$(BIN)/python benchmarks/stack_up.py
	$(BIN)/python benchmarks/provisioning.py
	$(BIN)/python benchmarks/identity_tiers.py
	$(BIN)/python benchmarks/workloads.py  # needs `make demo` first (its platform and logins)

reset: setup ## stop the stack and delete its state (keeps the build cache)
	$(BIN)/taas stack reset --yes
