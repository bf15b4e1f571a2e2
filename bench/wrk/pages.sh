#!/usr/bin/env bash
# pages.sh measures storefront page hits on one edge against product page
# hits on the same edge, in rounds that run every kind once (the order
# rotating each round), and prints each run's req/s and the edge's CPU per
# request (from /proc, so run it on the edge's machine), then per kind the
# mean and the ratios to the product page. Every request asks for gzip, as
# a CDN does.
#
#   bench/wrk/pages.sh EDGE_URL ROUNDS SECONDS SLUGS_FILE CATEGORY_PATH...
#   e.g. bin/bench ids -slugs > /tmp/slugs.txt
#        bench/wrk/pages.sh http://127.0.0.1:8080 4 5 /tmp/slugs.txt /c/computers /c/cell-phones
#
# Kinds: product (GET /products/{slug}, Zipf over SLUGS_FILE, the
# baseline), home (GET /), category (the CATEGORY_PATHs round-robin: the
# largest categories are precomputed pages), search (a few search and
# filtered category URLs round-robin, rendered per request from the index:
# the pages a CDN caches; the edge keeps them rendered until the next
# feed event, so after the warm-up these are hits). SEARCHES overrides
# those URLs (space-separated). MISSES=file adds the kind "miss": the
# paths in file (one a line) round-robin, more distinct pages than the
# edge keeps rendered (1,024), so each request renders its page, e.g.
#   tail -n +2 ../shared/data/queries/bestbuy-queries.tsv | cut -f1 |
#     python3 -c 'import sys,urllib.parse as u; [print("/search?q="+u.quote_plus(l.strip())+s) for l in sys.stdin for s in ("", "&sort=price_asc")]' > /tmp/misses.txt
set -euo pipefail
[ $# -ge 5 ] || { sed -n '2,19p' "$0"; exit 2; }
edge=$1 rounds=$2 secs=$3 slugs=$4
shift 4
cats=("$@")
here=$(cd "$(dirname "$0")" && pwd)
read -r -a searches <<<"${SEARCHES:-/search?q=galaxy /search?q=laptop&sort=price_asc /search?q=ink&brand=HP /search?q=tv&brand=Samsung&brand=LG ${cats[0]}?sort=price_desc}"

port=${edge##*:}
port=${port%%/*}
epid=$(ss -Htlnp "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
[ -n "$epid" ] || { echo "cannot find the edge's PID on port $port (ss)" >&2; exit 1; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # clock ticks
hz=$(getconf CLK_TCK)

# Every page must answer 200 before anything is measured.
check() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' "$edge$1")
	[ "$code" = 200 ] || { echo "GET $1: $code" >&2; exit 1; }
}
check /
for p in "${cats[@]}" "${searches[@]}"; do check "$p"; done
check "/products/$(head -1 "$slugs")"

run() { # kind -> "req/s cpu-µs/req"
	local c0 c1 out n rps
	local -a args
	case $1 in
	product) args=(-s "$here/products.lua" "$edge" -- "$slugs" 1.1 html) ;;
	home) args=(-s "$here/pages.lua" "$edge" -- /) ;;
	category) args=(-s "$here/pages.lua" "$edge" -- "${cats[@]}") ;;
	search) args=(-s "$here/pages.lua" "$edge" -- "${searches[@]}") ;;
	miss) args=(-s "$here/pages.lua" "$edge" -- "@$MISSES") ;;
	esac
	c0=$(cpu "$epid")
	out=$(wrk -t2 -c64 -d"${secs}s" "${args[@]}" 2>&1) || { echo "$out" >&2; exit 1; }
	c1=$(cpu "$epid")
	if grep -q 'Non-2xx' <<<"$out"; then echo "$1: non-2xx answers: $out" >&2; exit 1; fi
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	awk -v r="$rps" -v c="$((c1 - c0))" -v n="$n" -v hz="$hz" 'BEGIN {printf "%.0f %.1f", r, c * 1e6 / hz / n}'
}

kinds=(product home category search)
if [ -n "${MISSES:-}" ]; then
	[ "$(wc -l <"$MISSES")" -gt 2048 ] || { echo "MISSES: want more than 2,048 paths (the edge keeps 1,024 pages)" >&2; exit 1; }
	kinds+=(miss)
fi
for k in "${kinds[@]}"; do # warm up: connections, workers, caches
	WARM=1 run "$k" >/dev/null
done
declare -A rsum csum
printf '%-6s %-9s %10s %14s\n' round kind req/s cpu_us/req
for ((i = 0; i < rounds; i++)); do
	for ((j = 0; j < ${#kinds[@]}; j++)); do
		k=${kinds[(i + j) % ${#kinds[@]}]}
		read -r r c <<<"$(run "$k")"
		rsum[$k]=$(awk -v s="${rsum[$k]:-0}" -v r="$r" 'BEGIN {print s + r}')
		csum[$k]=$(awk -v s="${csum[$k]:-0}" -v c="$c" 'BEGIN {print s + c}')
		printf '%-6s %-9s %10s %14s\n' "$((i + 1))" "$k" "$r" "$c"
	done
done
echo
printf '%-9s %10s %14s %16s %16s\n' kind mean_req/s mean_cpu_us/req req/s_vs_product cpu/req_vs_product
for k in "${kinds[@]}"; do
	awk -v k="$k" -v r="${rsum[$k]}" -v c="${csum[$k]}" -v pr="${rsum[product]}" -v pc="${csum[product]}" -v n="$rounds" \
		'BEGIN {printf "%-9s %10.0f %14.1f %16.3f %16.3f\n", k, r / n, c / n, r / pr, c / pc}'
done
