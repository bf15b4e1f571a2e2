#!/usr/bin/env bash
# varnish-vcl.sh prints configs/varnish.vcl with its two GENERATED blocks
# filled in: one backend per edge (round-robin, probed on /readyz) and the
# ACL of addresses allowed to PURGE. scripts/cluster.sh and the end-to-end
# tests use it; use it for your own Varnish the same way.
#
#   EDGES="10.0.0.5:8080 10.0.0.6:8080" PURGERS="10.0.0.9 10.0.1.0/24" \
#       scripts/varnish-vcl.sh > /etc/varnish/shopedge.vcl
#
# EDGES: edge addresses host:port (IPv4 or a name), space-separated.
# PURGERS: the core's purge source addresses, IPv4 or CIDR, space-separated.
# PROBE_INTERVAL (1s): how often each edge's /readyz is asked.
# VCL_TEMPLATE: the template (default configs/varnish.vcl).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
template=${VCL_TEMPLATE:-$root/configs/varnish.vcl}
interval=${PROBE_INTERVAL:-1s}
: "${EDGES:?set EDGES to the edges host:port, space-separated}"
: "${PURGERS:?set PURGERS to the addresses allowed to purge, space-separated}"

die() { echo "varnish-vcl.sh: $*" >&2; exit 2; }

[[ $interval =~ ^[0-9]+(ms|s)$ ]] || die "PROBE_INTERVAL: want a duration like 1s or 500ms, got '$interval'"

backends=$(
	n=0
	for e in $EDGES; do
		[[ $e =~ ^([A-Za-z0-9.-]+):([0-9]{1,5})$ ]] || die "EDGES: '$e' is not host:port"
		n=$((n + 1))
		cat <<VCL
backend edge$n {
    .host = "${BASH_REMATCH[1]}";
    .port = "${BASH_REMATCH[2]}";
    .connect_timeout = 1s;
    .first_byte_timeout = 5s;
    .between_bytes_timeout = 5s;
    .probe = { .url = "/readyz"; .interval = $interval; .timeout = 500ms; .window = 3; .threshold = 2; .initial = 2; }
}
VCL
	done
	[ "$n" -gt 0 ] || die "EDGES: at least one edge is required"
	echo
	echo "# Requests go round-robin to the healthy edges."
	echo "sub vcl_init {"
	echo "    new edges = directors.round_robin();"
	for ((i = 1; i <= n; i++)); do
		echo "    edges.add_backend(edge$i);"
	done
	echo "}"
)

acl=$(
	echo "acl shopedge_purgers {"
	for p in $PURGERS; do
		if [[ $p =~ ^([0-9]{1,3}(\.[0-9]{1,3}){3})/([0-9]{1,2})$ ]]; then
			echo "    \"${BASH_REMATCH[1]}\"/${BASH_REMATCH[3]};"
		elif [[ $p =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
			echo "    \"$p\";"
		else
			die "PURGERS: '$p' is not an IPv4 address or CIDR"
		fi
	done
	echo "}"
)

# Replace what lies between each BEGIN/END GENERATED marker pair, keeping
# the markers and the block's leading comment lines.
awk -v backends="$backends" -v acl="$acl" '
	/^# --- BEGIN GENERATED: backends/ { print; block = "backends"; comments = 1; next }
	/^# --- BEGIN GENERATED: purgers/  { print; block = "purgers"; comments = 1; next }
	/^# --- END GENERATED/ {
		print (block == "backends" ? backends : acl)
		print; block = ""; next
	}
	block != "" {
		if (comments && /^#/) { print } else { comments = 0 }
		next
	}
	{ print }
' "$template"
