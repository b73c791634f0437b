#!/bin/sh
# PostgreSQL for the CI cluster: a new cluster on first start (superuser password
# POSTGRES_PASSWORD; role POSTGRES_USER with POSTGRES_USER_PASSWORD owning database
# POSTGRES_DB), then the server in the foreground. Passwords come from the environment.
# A stop that lasts: while $PGDATA/../stopped exists the server stays down, so that the cluster
# tests can stop PostgreSQL (`pg_ctl stop` ends the container, which the kubelet restarts at
# once) for as long as an outage of theirs needs, with its data kept, then remove the file.
set -eu
while [ -e "$PGDATA/../stopped" ]; do sleep 0.5; done
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  umask 077
  pwfile="$(mktemp)"
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/var/run/postgresql'"
  } >>"$PGDATA/postgresql.conf"
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  psql -v ON_ERROR_STOP=1 -U postgres -qAt \
    -v user="$POSTGRES_USER" -v password="$POSTGRES_USER_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";
SQL
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA"
