#!/usr/bin/env bash
# run-local.sh starts shopedge on this machine: one core on the embedded
# store (data under ./data) with the demo catalog, and one edge following
# it. It waits for both to be ready, prints the URLs and the tokens, and
# stays in the foreground. When the core exits it says so and the edge
# keeps serving; when the edge exits it stops the core and exits 1; Ctrl-C
# stops both cleanly (edge first) and exits 0.
#
# Environment: SHOPEDGE_ADMIN_TOKEN (default dev-admin-token),
# SHOPEDGE_INTERNAL_TOKEN (default: a random one for this run),
# SHOPEDGE_CART_DIGEST_KEY (default: a random one for this run),
# SHOPEDGE_DATA (default ./data), CORE_ADDR (127.0.0.1:9090),
# EDGE_ADDR (127.0.0.1:8080), SHOPEDGE_DEMO_CATALOG, SHOPEDGE_SKIP_SEED=1,
# TESTPAY_ADDR (127.0.0.1:9191), TESTPAY_SECRET_KEY (default sk_test_dev_testpay).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
foreground_job "$0" "$@"

CORE_ADDR=${CORE_ADDR:-127.0.0.1:9090}
EDGE_ADDR=${EDGE_ADDR:-127.0.0.1:8080}

for b in core edge testpay; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b: run 'make build' first" >&2; exit 1; }
done
admin_token
testpay_key
internal_token
cart_digest_key
trap 'stop_all; exit 0' INT TERM HUP
trap stop_all EXIT

start_testpay "${TESTPAY_ADDR:-127.0.0.1:9191}"

start core "$BIN/core" -config "$SHOPEDGE_ROOT/configs/core.yaml" \
	-server.addr="$CORE_ADDR" -store.path="$DATA/core.db" "${CORE_PAYMENT_ARGS[@]}"
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
  metrics:           http://$EDGE_ADDR/metrics  http://$CORE_ADDR/metrics   (Authorization: Bearer <admin token>)
  admin token:       $SHOPEDGE_ADMIN_TOKEN   ($TOKEN_NOTE)
  testpay:           http://${TESTPAY_ADDR:-127.0.0.1:9191}   key $TESTPAY_SECRET_KEY   ($TESTPAY_NOTE)
  internal token:    $SHOPEDGE_INTERNAL_TOKEN   ($INTERNAL_NOTE; the core's feed and /metrics)
  cart digest key:   $SHOPEDGE_CART_DIGEST_KEY   ($DIGEST_NOTE; core and edges)
  logs:              $DATA/core.log  $DATA/edge.log  $DATA/testpay.log
Press Ctrl-C to stop.
MSG

# Stay in the foreground until Ctrl-C or until the edge exits; a core that
# exits is reported and the edge goes on serving.
supervise edge
