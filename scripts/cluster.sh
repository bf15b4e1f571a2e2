#!/usr/bin/env bash
# cluster.sh starts a small loopback cluster: one core (embedded store under
# ./data/cluster), two edges following it, and Varnish in front of both
# edges when varnishd is installed. It stays in the foreground; Ctrl-C
# stops everything (Varnish and edges first, then the core).
#
# Environment: SHOPEDGE_ADMIN_TOKEN (default dev-admin-token),
# SHOPEDGE_INTERNAL_TOKEN (default: a random one for this run),
# CORE_ADDR (127.0.0.1:9090), EDGE1_ADDR (127.0.0.1:8081),
# EDGE2_ADDR (127.0.0.1:8082), VARNISH_ADDR (127.0.0.1:8080).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
DATA=${SHOPEDGE_DATA:-$SHOPEDGE_ROOT/data/cluster}

CORE_ADDR=${CORE_ADDR:-127.0.0.1:9090}
EDGE1_ADDR=${EDGE1_ADDR:-127.0.0.1:8081}
EDGE2_ADDR=${EDGE2_ADDR:-127.0.0.1:8082}
VARNISH_ADDR=${VARNISH_ADDR:-127.0.0.1:8080}

for b in core edge; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b: run 'make build' first" >&2; exit 1; }
done
admin_token
internal_token
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

start core "$BIN/core" -config "$SHOPEDGE_ROOT/configs/core.yaml" \
	-server.addr="$CORE_ADDR" -store.path="$DATA/core.db"
wait_ready core "$CORE_ADDR"
seed_catalog "$CORE_ADDR"

start edge1 "$BIN/edge" -config "$SHOPEDGE_ROOT/configs/edge.yaml" \
	-server.addr="$EDGE1_ADDR" -server.name=edge1 -core.addrs="$CORE_ADDR"
start edge2 "$BIN/edge" -config "$SHOPEDGE_ROOT/configs/edge.yaml" \
	-server.addr="$EDGE2_ADDR" -server.name=edge2 -core.addrs="$CORE_ADDR"
wait_ready edge1 "$EDGE1_ADDR"
wait_ready edge2 "$EDGE2_ADDR"

front="(no varnishd installed: talk to an edge directly)"
if command -v varnishd >/dev/null 2>&1; then
	vcl="$DATA/shopedge.vcl"
	backend() { # NAME HOST:PORT
		cat <<VCL
backend $1 {
    .host = "${2%:*}";
    .port = "${2##*:}";
    .probe = { .url = "/readyz"; .interval = 2s; .timeout = 1s; .window = 3; .threshold = 2; }
}
VCL
	}
	{
		echo 'vcl 4.1;'
		echo 'import directors;'
		backend edge1 "$EDGE1_ADDR"
		backend edge2 "$EDGE2_ADDR"
		cat <<'VCL'
sub vcl_init {
    new edges = directors.round_robin();
    edges.add_backend(edge1);
    edges.add_backend(edge2);
}
sub vcl_recv {
    set req.backend_hint = edges.backend();
    # Writes and admin calls are never cached.
    if (req.method != "GET" && req.method != "HEAD") { return (pass); }
    if (req.url ~ "^/(admin|internal)/" || req.url ~ "^/v1/(carts|checkout|orders)") { return (pass); }
}
VCL
	} >"$vcl"
	start varnish varnishd -F -n "$DATA/varnish" -a "$VARNISH_ADDR" -f "$vcl" -s malloc,256m
	wait_ready varnish "$VARNISH_ADDR"
	front="http://$VARNISH_ADDR (Varnish, round-robin over both edges)"
fi

cat <<MSG

shopedge cluster is running.
  front:        $front
  edges:        http://$EDGE1_ADDR  http://$EDGE2_ADDR
  core:         http://$CORE_ADDR
  admin token:  $SHOPEDGE_ADMIN_TOKEN   ($TOKEN_NOTE)
  internal token: $SHOPEDGE_INTERNAL_TOKEN   ($INTERNAL_NOTE)
  logs:         $DATA/*.log
Press Ctrl-C to stop.
MSG

wait -n "${PIDS[@]}" || true
echo "a process exited; stopping the rest" >&2
exit 1
