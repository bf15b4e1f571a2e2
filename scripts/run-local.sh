#!/usr/bin/env bash
# run-local.sh starts shopedge on this machine: one core on the embedded
# store (data under ./data) with the demo catalog, and one edge following
# it. It waits for both to be ready, prints the URLs and the admin token,
# and stays in the foreground; Ctrl-C stops both cleanly (edge first).
#
# Environment: SHOPEDGE_ADMIN_TOKEN (default dev-admin-token),
# SHOPEDGE_DATA (default ./data), CORE_ADDR (127.0.0.1:9090),
# EDGE_ADDR (127.0.0.1:8080), SHOPEDGE_DEMO_CATALOG, SHOPEDGE_SKIP_SEED=1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CORE_ADDR=${CORE_ADDR:-127.0.0.1:9090}
EDGE_ADDR=${EDGE_ADDR:-127.0.0.1:8080}

for b in core edge; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b: run 'make build' first" >&2; exit 1; }
done
admin_token
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

start core "$BIN/core" -config "$SHOPEDGE_ROOT/configs/core.yaml" \
	-server.addr="$CORE_ADDR" -store.path="$DATA/core.db"
wait_ready core "$CORE_ADDR"
seed_catalog "$CORE_ADDR"

start edge "$BIN/edge" -config "$SHOPEDGE_ROOT/configs/edge.yaml" \
	-server.addr="$EDGE_ADDR" -core.addrs="$CORE_ADDR"
wait_ready edge "$EDGE_ADDR"

cat <<MSG

shopedge is running.
  storefront:        http://$EDGE_ADDR/   (open it in a browser)
  edge (public API): http://$EDGE_ADDR   e.g. curl 'http://$EDGE_ADDR/v1/suggest?q=galaxy'
  core (admin API):  http://$CORE_ADDR
  metrics:           http://$EDGE_ADDR/metrics  http://$CORE_ADDR/metrics
  admin token:       $SHOPEDGE_ADMIN_TOKEN   ($TOKEN_NOTE)
  logs:              $DATA/core.log  $DATA/edge.log
Press Ctrl-C to stop.
MSG

# Stay in the foreground until Ctrl-C or until a process exits.
wait -n "${PIDS[@]}" || true
echo "a process exited; stopping the rest" >&2
exit 1
