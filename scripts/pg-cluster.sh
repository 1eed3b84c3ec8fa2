#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and benchmarks (issue #22): initdb + pg_ctl in DIR, on a
# unix socket in DIR/sock, no TCP, locale C (byte order as SQLite sorts text), trust for local users.
#   scripts/pg-cluster.sh start DIR   # prints the connection URL (postgres://postgres@/acctsec?host=DIR/sock)
#   scripts/pg-cluster.sh stop DIR
# PG_CLUSTER_FAST=1: no fsync (the test suite's cluster, thrown away after; never for benchmarks).
# As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail
cmd=${1:?start or stop}; dir=${2:?a directory}
bindir=$(pg_config --bindir 2>/dev/null || true)
for d in "$bindir" /usr/lib/postgresql/*/bin; do
  [ -n "$d" ] && [ -x "$d/initdb" ] && PATH="$d:$PATH" && break
done
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
  mkdir -p "$dir/data" "$dir/sock"
  [ "$(id -u)" -eq 0 ] && chown -R postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg initdb -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1
  fi
  durability="-c fsync=on"
  [ "${PG_CLUSTER_FAST:-}" = 1 ] && durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir/sock -c listen_addresses='' -c max_connections=200 $durability" start >/dev/null
  as_pg psql -h "$dir/sock" -U postgres -d postgres -qAtc 'CREATE DATABASE acctsec' >/dev/null 2>&1 || true
  echo "postgres://postgres@/acctsec?host=$dir/sock"
  ;;
stop)
  as_pg pg_ctl -D "$dir/data" -m fast -w stop >/dev/null
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
