#!/usr/bin/env bash
# Each service on its own: an environment of its own from the lock file
# (`uv sync --locked --package …`, no dev tools), in which it must import and start and answer
# its health check. A module that a service imports but does not declare (directly or through
# the pantry-common extras it asks for) fails here; the realtime service must also come without
# a database driver, RabbitMQ client or ingredient model. Needs the servers of `make services`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
if [ -f .run/services.env ]; then set -a; . .run/services.env; set +a; fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# check <package> <module> <port variable> <health path> [modules it must not have]
check() {
  local package=$1 module=$2 port_var=$3 health=$4
  shift 4
  local venv="$work/$package" port
  echo "==> $package: its own environment"
  UV_PROJECT_ENVIRONMENT="$venv" uv sync --locked --package "$package" --no-dev --quiet
  "$venv/bin/python" -c "import $module.app"
  if [ "$#" -gt 0 ]; then
    "$venv/bin/python" - "$@" <<'PY'
import importlib.util
import sys

present = [name for name in sys.argv[1:] if importlib.util.find_spec(name) is not None]
if present:
    sys.exit(f"installed but not used: {', '.join(present)}")
PY
  fi
  port="$(free_port)"
  env "$port_var=$port" PANTRY_REDIS_PREFIX="pkgcheck$$" PANTRY_LOG_LEVEL=WARNING \
    "$venv/bin/python" -m "$module" >"$work/$package.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 150); do
    if curl -fsS "http://127.0.0.1:$port$health" >/dev/null 2>&1; then
      kill "${pids[-1]}"
      wait "${pids[-1]}" 2>/dev/null || true
      echo "    starts and answers $health; $(du -sh "$venv" | cut -f1) installed"
      return 0
    fi
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "$package did not start from its own environment:" >&2
  tail -n 30 "$work/$package.log" >&2
  return 1
}

check pantry-realtime pantry_realtime PANTRY_REALTIME_PORT /health \
  asyncpg alembic sqlalchemy aio_pika pycrfsuite isodate tenacity
check pantry-api pantry_api PANTRY_API_PORT /api/v1/health
check pantry-engine pantry_engine PANTRY_ENGINE_PORT /health
