# Pantry Chef. `make help` lists the targets. Works with GNU make 3.81 (macOS) and 4.x (Linux).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# URLs of the local servers, written by `make services`.
-include .run/services.env
export

UV ?= uv
PY := $(UV) run --frozen
SOURCES := libs services tests bench scripts

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: ## Install the Python packages of the workspace (uv, one lock file)
	@command -v $(UV) >/dev/null || { echo "uv is needed: 'brew install uv' or 'pip install uv'"; exit 1; }
	$(UV) sync --frozen

.PHONY: services
services: ## Install (where missing) and start PostgreSQL, Redis and RabbitMQ
	@bash scripts/services.sh

.PHONY: migrate
migrate: install ## Apply the database migrations that are missing (safe to run twice)
	$(PY) python -m pantry_api migrate

.PHONY: seed
seed: install ## Load the food vocabulary and the starter catalogue (idempotent)
	$(PY) python -m pantry_api seed

.PHONY: run
run: services ## Bring the stack up from nothing and serve the api
	@$(MAKE) --no-print-directory migrate seed
	@echo ""
	@echo "  Pantry Chef api: http://127.0.0.1:$${PANTRY_API_PORT:-8000}/api/docs"
	@echo "  try: curl 'http://127.0.0.1:$${PANTRY_API_PORT:-8000}/api/v1/recipes/search?q=chicken+curry'"
	@echo ""
	$(PY) python -m pantry_api

.PHONY: test
test: install ## Run the tests (needs the servers: `make services`, or a Docker engine)
	$(PY) pytest

.PHONY: format
format: install ## Format the code
	$(PY) ruff format $(SOURCES)
	$(PY) ruff check --fix-only --exit-zero $(SOURCES)

.PHONY: lint
lint: install ## Lint the code
	$(PY) ruff format --check $(SOURCES)
	$(PY) ruff check $(SOURCES)

.PHONY: typecheck
typecheck: install ## Type-check the code (mypy, strict)
	$(PY) mypy libs/pantry_common/pantry_common services/api/pantry_api tests bench

.PHONY: all
all: format lint typecheck test ## Format, lint, type-check and test

.PHONY: bench
bench: install ## Run the benchmarks (numbers in bench/out/)
	$(PY) python -m bench.search

.PHONY: clean
clean: ## Remove caches and local run files
	rm -rf .mypy_cache .ruff_cache .pytest_cache bench/out test-output
