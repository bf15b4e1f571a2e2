#!/usr/bin/env bash
# cluster.sh starts a small loopback cluster: one core (embedded store under
# ./data/cluster), two edges following it, and Varnish in front of both
# edges when varnishd is installed (Debian: varnish and varnish-modules).
# Varnish runs ./data/cluster/shopedge.vcl, which scripts/varnish-vcl.sh
# makes from configs/varnish.vcl, and the core purges it (api.cdn). It
# stays in the foreground; Ctrl-C stops everything (Varnish and edges
# first, then the core).
#
# Environment: SHOPEDGE_ADMIN_TOKEN (default dev-admin-token),
# SHOPEDGE_INTERNAL_TOKEN (default: a random one for this run),
# SHOPEDGE_CART_DIGEST_KEY (default: a random one for this run),
# CORE_ADDR (127.0.0.1:9090), EDGE1_ADDR (127.0.0.1:8081),
# EDGE2_ADDR (127.0.0.1:8082), VARNISH_ADDR (127.0.0.1:8080),
# TESTPAY_ADDR (127.0.0.1:9191), TESTPAY_SECRET_KEY (default sk_test_dev_testpay),
# PURGERS (the addresses Varnish accepts purges from; default the core's
# host).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
DATA=${SHOPEDGE_DATA:-$SHOPEDGE_ROOT/data/cluster}

CORE_ADDR=${CORE_ADDR:-127.0.0.1:9090}
EDGE1_ADDR=${EDGE1_ADDR:-127.0.0.1:8081}
EDGE2_ADDR=${EDGE2_ADDR:-127.0.0.1:8082}
VARNISH_ADDR=${VARNISH_ADDR:-127.0.0.1:8080}

for b in core edge testpay; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b: run 'make build' first" >&2; exit 1; }
done
admin_token
testpay_key
internal_token
cart_digest_key
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

start_testpay "${TESTPAY_ADDR:-127.0.0.1:9191}"

# Varnish needs varnishd and the xkey vmod: compile the VCL to find out.
varnishd=$(command -v varnishd || { [ -x /usr/sbin/varnishd ] && echo /usr/sbin/varnishd; } || true)
vcl="$DATA/shopedge.vcl"
cdn=()
if [ -n "$varnishd" ]; then
	mkdir -p "$DATA"
	EDGES="$EDGE1_ADDR $EDGE2_ADDR" PURGERS="${PURGERS:-${CORE_ADDR%:*}}" \
		"$SHOPEDGE_ROOT/scripts/varnish-vcl.sh" >"$vcl"
	if "$varnishd" -C -n "$DATA/varnish" -f "$vcl" >/dev/null 2>"$DATA/vcl-check.log"; then
		cdn=(-api.cdn.purge-urls="http://$VARNISH_ADDR/")
	else
		echo "varnishd cannot load $vcl (is varnish-modules, the xkey vmod, installed?): see $DATA/vcl-check.log; running without Varnish" >&2
		varnishd=""
	fi
fi

start core "$BIN/core" -config "$SHOPEDGE_ROOT/configs/core.yaml" \
	-server.addr="$CORE_ADDR" -store.path="$DATA/core.db" "${CORE_PAYMENT_ARGS[@]}" "${cdn[@]}"
wait_ready core "$CORE_ADDR"
seed_catalog "$CORE_ADDR"

start edge1 "$BIN/edge" -config "$SHOPEDGE_ROOT/configs/edge.yaml" \
	-server.addr="$EDGE1_ADDR" -server.name=edge1 -core.addrs="$CORE_ADDR"
start edge2 "$BIN/edge" -config "$SHOPEDGE_ROOT/configs/edge.yaml" \
	-server.addr="$EDGE2_ADDR" -server.name=edge2 -core.addrs="$CORE_ADDR"
wait_ready edge1 "$EDGE1_ADDR"
wait_ready edge2 "$EDGE2_ADDR"

front="(no varnishd with the xkey vmod: talk to an edge directly)"
if [ -n "$varnishd" ]; then
	start varnish "$varnishd" -F -n "$DATA/varnish" -a "$VARNISH_ADDR" -f "$vcl" -s malloc,256m
	wait_ready varnish "$VARNISH_ADDR"
	front="http://$VARNISH_ADDR (Varnish, round-robin over both edges; VCL $vcl, purged by the core)"
fi

cat <<MSG

shopedge cluster is running.
  front:        $front
  edges:        http://$EDGE1_ADDR  http://$EDGE2_ADDR
  core:         http://$CORE_ADDR
  admin token:  $SHOPEDGE_ADMIN_TOKEN   ($TOKEN_NOTE)
  internal token: $SHOPEDGE_INTERNAL_TOKEN   ($INTERNAL_NOTE)
  cart digest key: $SHOPEDGE_CART_DIGEST_KEY   ($DIGEST_NOTE)
  testpay:      http://${TESTPAY_ADDR:-127.0.0.1:9191}   key $TESTPAY_SECRET_KEY   ($TESTPAY_NOTE)
  logs:         $DATA/*.log
Press Ctrl-C to stop.
MSG

# Every process is essential here: when one exits, the rest are stopped
# and the script exits 1.
supervise "${NAMES[@]}"
