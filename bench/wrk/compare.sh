#!/usr/bin/env bash
# compare.sh alternates wrk runs against a baseline server and an edge and
# prints each pair's req/s, the ratio, and each server's CPU per request
# (from /proc, so run it on the servers' machine). Alternating pairs is what
# makes a ratio mean something on a machine whose speed drifts; the order
# within a pair alternates too (base first in odd pairs, edge first in even).
#
#   bench/wrk/compare.sh BASE_URL EDGE_URL PAIRS SECONDS SCRIPT [script args...]
#   e.g. bin/bench baseline &   # 127.0.0.1:8099
#        bench/wrk/compare.sh http://127.0.0.1:8099 http://127.0.0.1:8080 5 5 \
#          bench/wrk/products.lua /tmp/ids.txt
#
# Both URLs get the same script and arguments (the baseline answers any
# path with its fixed body), so the load generator does the same work.
# Each server first gets an unmeasured warm-up run of WARMUP seconds (3).
set -euo pipefail
[ $# -ge 5 ] || { sed -n '2,15p' "$0"; exit 2; }
base=$1 edge=$2 pairs=$3 secs=$4 script=$5
shift 5

pid_of() { # the PID listening on the URL's port
	local port=${1##*:}
	port=${port%%/*}
	ss -Htlnp "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks
hz=$(getconf CLK_TCK)

run() { # url pid script-args... -> "req/s cpu-µs/req"
	local url=$1 pid=$2 c0 c1 out n rps
	shift 2
	c0=$(cpu "$pid")
	out=$(wrk -t2 -c64 -d"${secs}s" -s "$script" "$url" -- "$@" 2>&1) || { echo "$out" >&2; exit 1; }
	c1=$(cpu "$pid")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	awk -v r="$rps" -v c="$((c1 - c0))" -v n="$n" -v hz="$hz" 'BEGIN {printf "%.0f %.1f", r, c * 1e6 / hz / n}'
}

bpid=$(pid_of "$base") epid=$(pid_of "$edge")
[ -n "$bpid" ] && [ -n "$epid" ] || { echo "cannot find the servers' PIDs (ss)" >&2; exit 1; }
# Warm both first: a server's first run after a pause pays for new
# connections, worker goroutines and cold caches, and would tilt pair 1.
for u in "$base" "$edge"; do
	wrk -t2 -c64 -d"${WARMUP:-3}s" -s "$script" "$u" -- "$@" >/dev/null 2>&1 || { echo "cannot warm up $u" >&2; exit 1; }
done
printf '%-5s %12s %12s %7s %16s %16s\n' pair base_req/s edge_req/s ratio base_cpu_us/req edge_cpu_us/req
sum=0 logsum=0 bsum=0 esum=0
for i in $(seq 1 "$pairs"); do
	if ((i % 2)); then # ABBA order: neither server always runs second
		read -r br bc <<<"$(run "$base" "$bpid" "$@")"
		read -r er ec <<<"$(run "$edge" "$epid" "$@")"
	else
		read -r er ec <<<"$(run "$edge" "$epid" "$@")"
		read -r br bc <<<"$(run "$base" "$bpid" "$@")"
	fi
	ratio=$(awk -v e="$er" -v b="$br" 'BEGIN {printf "%.3f", e / b}')
	sum=$(awk -v s="$sum" -v r="$ratio" 'BEGIN {print s + r}')
	logsum=$(awk -v s="$logsum" -v r="$ratio" 'BEGIN {print s + log(r)}')
	bsum=$((bsum + br)) esum=$((esum + er))
	printf '%-5s %12s %12s %7s %16s %16s\n' "$i" "$br" "$er" "$ratio" "$bc" "$ec"
done
awk -v s="$sum" -v l="$logsum" -v b="$bsum" -v e="$esum" -v n="$pairs" 'BEGIN {
	printf "mean ratio %.3f over %d pairs (geometric mean %.3f, total edge/base req/s %.3f)\n", s / n, n, exp(l / n), e / b
}'
