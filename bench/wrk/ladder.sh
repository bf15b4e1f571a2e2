#!/usr/bin/env bash
# ladder.sh runs wrk against several servers in rounds, rotating the order
# each round, and prints each round's req/s and, at the end, each server's
# geometric mean ratio to the first one. With the bare servers of `bench
# baseline` it splits an edge's gap to the fixed-body baseline into steps:
#
#   bin/bench baseline &                                        # :8099 fixed 2 KB body
#   bin/bench baseline -addr 127.0.0.1:8097 -catalog scripts/demo/catalog.ndjson.gz &
#   bin/bench baseline -addr 127.0.0.1:8096 -catalog scripts/demo/catalog.ndjson.gz -headers &
#   bench/wrk/ladder.sh 20 5 bench/wrk/products.lua /tmp/ids.txt -- \
#     http://127.0.0.1:8099 http://127.0.0.1:8097 http://127.0.0.1:8096 http://127.0.0.1:8080
#
# Every server gets the same script and arguments, and an unmeasured warm-up
# run of WARMUP seconds (3) first.
set -euo pipefail
usage() { sed -n '2,14p' "$0"; exit 2; }
[ $# -ge 5 ] || usage
rounds=$1 secs=$2 script=$3
shift 3
args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
[ $# -ge 3 ] || usage # "--" and at least two URLs
shift
urls=("$@")
n=${#urls[@]}

rps() { # url -> req/s
	local out
	out=$(wrk -t2 -c64 -d"$2" -s "$script" "$1" -- "${args[@]}" 2>&1) || { echo "$out" >&2; exit 1; }
	awk '/Requests\/sec/ {print $2}' <<<"$out"
}

for u in "${urls[@]}"; do rps "$u" "${WARMUP:-3}s" >/dev/null; done
printf 'round'
for u in "${urls[@]}"; do printf ' %s' "$u"; done
printf '\n'
logs=()
for ((i = 0; i < n; i++)); do logs[i]=0; done
for ((r = 1; r <= rounds; r++)); do
	res=()
	for ((k = 0; k < n; k++)); do # rotate: no server always runs first
		i=$(((k + r) % n))
		res[i]=$(rps "${urls[i]}" "${secs}s")
	done
	printf '%s' "$r"
	for ((i = 0; i < n; i++)); do
		printf ' %.0f' "${res[i]}"
		logs[i]=$(awk -v s="${logs[i]}" -v a="${res[i]}" -v b="${res[0]}" 'BEGIN {print s + log(a / b)}')
	done
	printf '\n'
done
printf 'geometric mean ratio to %s over %d rounds:\n' "${urls[0]}" "$rounds"
for ((i = 1; i < n; i++)); do
	awk -v s="${logs[i]}" -v r="$rounds" -v u="${urls[i]}" 'BEGIN {printf "  %s %.3f\n", u, exp(s / r)}'
done
