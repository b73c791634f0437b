# Pantry Chef. `make help` lists the targets. Works with GNU make 3.81 (macOS) and 4.x (Linux).

SHELL := /bin/bash
.DEFAULT_GOAL := help

# URLs of the local servers, written by `make services`.
-include .run/services.env
export

UV ?= uv
PY := $(UV) run --frozen
SOURCES := libs services tests bench scripts helm/tests observability

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
run: services ## Bring the stack up from nothing: servers, migrate, seed, api + engine + realtime
	@$(MAKE) --no-print-directory migrate seed
	@echo ""
	@echo "  Pantry Chef: open http://127.0.0.1:$${PANTRY_API_PORT:-8000}/"
	@echo "  API docs:    http://127.0.0.1:$${PANTRY_API_PORT:-8000}/api/docs"
	@echo "  try: curl 'http://127.0.0.1:$${PANTRY_API_PORT:-8000}/api/v1/recipes/search?q=chicken+curry'"
	@echo ""
	PANTRY_API_EVENTS_URL=$${PANTRY_API_EVENTS_URL:-http://127.0.0.1:$${PANTRY_REALTIME_PORT:-8001}/events} \
		$(PY) honcho start -f Procfile

.PHONY: test
test: install ## Run the tests (needs the servers: `make services`, or a Docker engine); TESTS=folder for one
	$(PY) pytest $(TESTS)

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
	$(PY) mypy libs/pantry_common/pantry_common services/api/pantry_api \
		services/recipe-engine/pantry_engine services/realtime/pantry_realtime tests bench
	$(PY) mypy helm/tests
	$(PY) mypy observability

.PHONY: check-packages
check-packages: ## Each service from its own `uv sync --locked --package …`: it imports, starts, answers
	@bash scripts/check-packages.sh

.PHONY: all
all: format lint typecheck test ## Format, lint, type-check and test

.PHONY: bench
bench: install ## Run the benchmarks (numbers in bench/out/; needs wrk)
	$(PY) python -m bench.parser
	$(PY) python -m bench.search
	$(PY) python -m bench.discovery
	$(PY) python -m bench.fanout
	$(PY) python -m bench.freshness
	$(PY) python -m bench.catchup
	$(PY) python -m bench.soak

.PHONY: clean
clean: ## Remove caches and local run files
	rm -rf .mypy_cache .ruff_cache .pytest_cache bench/out test-output

# -------------------------------------------------------------------------------------------------
# Deployment: container images, the Helm charts (helm/), the local k3d cluster behind Istio.
# See docs/local-development.md. The chart tests need no cluster and no network once `make tools`
# has run; `make dev` needs Docker, k3d, helm and kubectl. `make cluster-test` (Linux, as root:
# what CI runs) builds a kind cluster on the machine and runs make dev's steps and the cluster
# tests on it. `make alerts` applies the New Relic
# alert policy through NerdGraph (docs/observability.md).
# -------------------------------------------------------------------------------------------------

.PHONY: tools
tools: ## Install the pinned deployment tools into .tools/ (helm, actionlint, kustomize, the registry; CRD schemas)
	@bash scripts/install-tools.sh

.PHONY: images
images: ## Build the three images for this machine's architecture, tagged with the git revision
	@bash scripts/dev.sh images

.PHONY: chart-test
chart-test: tools install chart-version chart-lint workflow-lint scan ## Lint, render, scan and validate the charts offline, and test the deployment files
	.tools/bin/helm dependency build helm/pantry-chef --skip-refresh
	$(PY) pytest helm/tests -p no:cacheprovider

.PHONY: chart-version
chart-version: ## Every chart under helm/ changed since CHART_BASE (default main) has a greater SemVer version
	@bash scripts/check-chart-version.sh

.PHONY: chart-lint
chart-lint: tools install ## chart-testing's ct lint (ct.yaml) of the charts changed since CHART_BASE: version bump, yamllint, yamale, helm lint
	$(PY) bash scripts/chart-lint.sh

.PHONY: scan
scan: tools ## Checkov over the rendered chart (local, production values) and the Dockerfiles, offline; skips in .checkov.yaml (docs/security.md)
	@bash scripts/scan.sh

.PHONY: workflow-lint
workflow-lint: tools ## Lint the GitHub Actions workflows (actionlint, with shellcheck on the run: blocks)
	@command -v shellcheck >/dev/null || { echo "shellcheck is needed: apt-get install shellcheck, or brew install shellcheck"; exit 1; }
	.tools/bin/actionlint -no-color -pyflakes= -shellcheck="$$(command -v shellcheck)"

.PHONY: release
release: tools ## Release the chart: VERSION=x.y.z REGISTRY=host/path [SIGNING_KEY=gpg-key] (docs/delivery.md)
	@bash scripts/release.sh

.PHONY: deploy
deploy: tools ## Promote a released chart version by a GitOps commit: ENV=local|production [VERSION=x.y.z] [APPLY=1] (dry run by default; docs/delivery.md)
	@bash scripts/deploy.sh

.PHONY: dev
dev: ## Run everything on a local k3d cluster behind Istio at http://localhost:8080 (idempotent)
	@bash scripts/dev.sh up

.PHONY: dev-watch
dev-watch: ## The inner loop: the app runs the source tree mounted into the nodes and reloads on save (docs/local-development.md)
	@bash scripts/dev.sh watch

.PHONY: dev-image
dev-image: ## Rebuild, push and roll one service's image (after a dependency change): make dev-image SERVICE=api
	@bash scripts/dev.sh image "$(SERVICE)"

.PHONY: dev-logs
dev-logs: ## Follow one service's logs over all its pods: make dev-logs SERVICE=engine
	@bash scripts/dev.sh logs "$(SERVICE)"

.PHONY: dev-shell
dev-shell: ## A shell in one pod of a service: make dev-shell SERVICE=api
	@bash scripts/dev.sh shell "$(SERVICE)"

.PHONY: dev-scale
dev-scale: ## Scale a service and show the nodes its pods run on: make dev-scale SERVICE=engine N=3
	@bash scripts/dev.sh scale "$(SERVICE)" "$(N)"

.PHONY: dev-down
dev-down: ## Delete the local k3d cluster and its registry
	@bash scripts/dev.sh down

.PHONY: dev-status
dev-status: ## Show what runs on the local k3d cluster
	@bash scripts/dev.sh status

.PHONY: forward
forward: ## Port-forward the local cluster's api to localhost:8000 and realtime to localhost:8001
	@bash scripts/dev.sh forward

.PHONY: cluster-up
cluster-up: tools ## Linux CI: build (into .tools/) and start the kind cluster that CI proves the charts on
	@bash scripts/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Linux CI: delete the kind cluster and its registry
	@bash scripts/cluster.sh down

.PHONY: cluster-test
cluster-test: tools install ## Linux CI: cluster-up, make dev's own steps on it, then the cluster tests (tests/cluster)
	@bash scripts/cluster.sh test

.PHONY: alerts
alerts: install ## Create or update the New Relic alert policy "Pantry Chef" (observability/alerts.yaml; NEW_RELIC_API_KEY, NEW_RELIC_ACCOUNT_ID)
	$(PY) python -m observability.alerts
