#!/usr/bin/env bash
# postgres.sh runs searchcmp against a throwaway PostgreSQL server (the
# Debian package's binaries; `apt-get install postgresql` when missing):
# initdb in a temporary directory, a server on 127.0.0.1:${PGPORT:-9640}
# run as the postgres user, the products loaded and queried, then the
# server stopped and the directory removed. Arguments go to searchcmp.
#
#   bench/searchcmp/postgres.sh -n 1000000 -engines shopedge,postgres
set -euo pipefail
cd "$(dirname "$0")"
port=${PGPORT:-9640}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
dir=$(mktemp -d /tmp/searchcmp-pg.XXXXXX)
chown postgres "$dir" 2>/dev/null || true
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
cleanup() { as_pg "$bin/pg_ctl" -D "$dir/data" stop -m fast >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
# A server tuned to hold the catalog in memory; durability off (a
# benchmark load), one query at a time without parallel workers.
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start -o "-p $port -k $dir -c listen_addresses=127.0.0.1 \
  -c shared_buffers=2GB -c work_mem=256MB -c maintenance_work_mem=1GB -c max_parallel_workers_per_gather=0 \
  -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c jit=off" >/dev/null
"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres search
go run . -pg "postgres://postgres@127.0.0.1:$port/search?sslmode=disable" "$@"
