#!/usr/bin/env bash
# Install (where missing) and start PostgreSQL, Redis and RabbitMQ on this machine, create the
# `pantry` role and database, and write their URLs to .run/services.env for make and the tests.
# Debian/Ubuntu (apt) and macOS (Homebrew). Safe to run again: it only does what is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
mkdir -p .run
ENV_FILE=.run/services.env
DB_USER=pantry
DB_PASSWORD=pantry
DB_NAME=pantry

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

wait_for() { # description, attempts, command...
  local what=$1 tries=$2; shift 2
  for _ in $(seq "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  die "$what did not become ready"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_linux() {
  command -v apt-get >/dev/null || die "no apt-get: install PostgreSQL, Redis and RabbitMQ yourself"
  local missing=()
  command -v pg_ctlcluster >/dev/null || missing+=(postgresql postgresql-contrib)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  port_open 5432 || { say "starting PostgreSQL"; as_root service postgresql start >/dev/null; }
  port_open 6379 || { say "starting Redis"; as_root service redis-server start >/dev/null; }
  port_open 5672 || { say "starting RabbitMQ"; as_root service rabbitmq-server start >/dev/null; }
  wait_for PostgreSQL 60 port_open 5432
  psql_admin() { as_root su postgres -c "psql -v ON_ERROR_STOP=1 -qtAX $*"; }
  if [ "$(psql_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'\"")" != 1 ]; then
    psql_admin "-c \"CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD'\""
  fi
  # The tests drop their databases WITH (FORCE), which must also end an autovacuum worker
  # that happens to be in one: that takes pg_signal_backend.
  psql_admin "-c \"GRANT pg_signal_backend TO $DB_USER\""
  if [ "$(psql_admin "-c \"SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'\"")" != 1 ]; then
    psql_admin "-c \"CREATE DATABASE $DB_NAME OWNER $DB_USER\""
  fi
}

start_macos() {
  command -v brew >/dev/null || die "Homebrew is needed: https://brew.sh"
  local pkg
  for pkg in postgresql@16 redis rabbitmq; do
    brew list --versions "$pkg" >/dev/null || { say "installing $pkg"; brew install "$pkg"; }
  done
  port_open 5432 || { say "starting PostgreSQL"; brew services start postgresql@16 >/dev/null; }
  port_open 6379 || { say "starting Redis"; brew services start redis >/dev/null; }
  port_open 5672 || { say "starting RabbitMQ"; brew services start rabbitmq >/dev/null; }
  wait_for PostgreSQL 60 port_open 5432
  local psql
  psql="$(brew --prefix postgresql@16)/bin/psql"
  if [ "$("$psql" -d postgres -qtAX -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
    "$psql" -d postgres -v ON_ERROR_STOP=1 -qc "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD'"
  fi
  "$psql" -d postgres -v ON_ERROR_STOP=1 -qc "GRANT pg_signal_backend TO $DB_USER"
  if [ "$("$psql" -d postgres -qtAX -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    "$psql" -d postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $DB_NAME OWNER $DB_USER"
  fi
}

case "$(uname -s)" in
  Linux) start_linux ;;
  Darwin) start_macos ;;
  *) die "unsupported system $(uname -s)" ;;
esac

wait_for Redis 30 port_open 6379
wait_for RabbitMQ 120 port_open 5672

db_url="postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:5432/$DB_NAME"
cat > "$ENV_FILE" <<ENV
PANTRY_DATABASE_URL=$db_url
PANTRY_REDIS_URL=redis://127.0.0.1:6379/0
PANTRY_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/
PANTRY_TEST_DATABASE_URL=$db_url
PANTRY_TEST_REDIS_URL=redis://127.0.0.1:6379/15
PANTRY_TEST_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/
ENV
say "PostgreSQL, Redis and RabbitMQ are up; URLs in $ENV_FILE"
