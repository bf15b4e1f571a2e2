#!/usr/bin/env bash
# forward-twin.sh measures the edge's CPU per forwarded request against a
# bare fasthttp reverse proxy (bench baseline -proxy) to the same core, for
# two builds in one session: each build's core, edge and proxy run side by
# side and compare.sh alternates proxy and edge of build A, then of build
# B, for ROUNDS rounds. The ratio edge CPU ÷ proxy CPU per request of each
# build is what the forwarder costs beyond forwarding.
#
#   bench/wrk/forward-twin.sh OLD_BIN_DIR NEW_BIN_DIR [BASE_PORT]
#   e.g. git worktree/archive of main built into /tmp/old/bin, make build here:
#        bench/wrk/forward-twin.sh /tmp/old/bin bin 9510
#
# Ports BASE_PORT..+12 on 127.0.0.1; data in a temporary directory. The new
# build's edge runs its per-client budgets with rates out of wrk's reach,
# so the budget is taken on every request but never refuses one.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,16p' "$0"; exit 2; }
old=$1 new=$2 p=${3:-9510}
here=$(cd "$(dirname "$0")" && pwd)
d=$(mktemp -d)
pids=()
cleanup() { for x in "${pids[@]}"; do kill "$x" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$d"; }
trap cleanup EXIT
start() { local name=$1; shift; "$@" >"$d/$name.log" 2>&1 & pids+=($!); }
ready() { for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://$1/readyz" 2>/dev/null && return 0; sleep 0.1; done; echo "$1 not ready" >&2; exit 1; }
export SHOPEDGE_ADMIN_TOKEN=bench-admin-token SHOPEDGE_INTERNAL_TOKEN=bench-internal-token-0123456789 SHOPEDGE_LOG_LEVEL=warn
start coreA env SHOPEDGE_SERVER_ADDR=127.0.0.1:$p SHOPEDGE_STORE_PATH="$d/a.db" "$old/core"
start coreB env SHOPEDGE_SERVER_ADDR=127.0.0.1:$((p + 10)) SHOPEDGE_STORE_PATH="$d/b.db" "$new/core"
ready 127.0.0.1:$p
ready 127.0.0.1:$((p + 10))
start edgeA env SHOPEDGE_SERVER_ADDR=127.0.0.1:$((p + 1)) SHOPEDGE_CORE_ADDRS=127.0.0.1:$p "$old/edge"
start edgeB env SHOPEDGE_SERVER_ADDR=127.0.0.1:$((p + 11)) SHOPEDGE_CORE_ADDRS=127.0.0.1:$((p + 10)) \
	SHOPEDGE_FORWARD_LIMITS_CLIENT_RATE=1000000000 SHOPEDGE_FORWARD_LIMITS_CLIENT_BURST=1000000000 "$new/edge"
start proxyA "$new/bench" baseline -addr 127.0.0.1:$((p + 2)) -proxy 127.0.0.1:$p
start proxyB "$new/bench" baseline -addr 127.0.0.1:$((p + 12)) -proxy 127.0.0.1:$((p + 10))
ready 127.0.0.1:$((p + 1))
ready 127.0.0.1:$((p + 11))
sleep 0.5
cart() { curl -fsS -X POST "http://$1/v1/carts" | sed 's/.*"id":"\([^"]*\)".*/\1/'; }
ca=$(cart 127.0.0.1:$p) cb=$(cart 127.0.0.1:$((p + 10)))
for round in $(seq 1 "${ROUNDS:-3}"); do
	echo "== round $round: A ($old)"
	WARMUP=2 "$here/compare.sh" http://127.0.0.1:$((p + 2)) http://127.0.0.1:$((p + 1)) "${PAIRS:-4}" "${SECS:-4}" "$here/get.lua" "/v1/carts/$ca"
	echo "== round $round: B ($new)"
	WARMUP=2 "$here/compare.sh" http://127.0.0.1:$((p + 12)) http://127.0.0.1:$((p + 11)) "${PAIRS:-4}" "${SECS:-4}" "$here/get.lua" "/v1/carts/$cb"
done
