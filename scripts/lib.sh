#!/usr/bin/env bash
# Shared helpers of scripts/run-local.sh and scripts/cluster.sh: start
# shopedge processes in the background with their logs in a file, wait for
# /readyz, load the demo catalog, and stop everything on exit or Ctrl-C.
# Source it; it does not run anything by itself.

SHOPEDGE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$SHOPEDGE_ROOT/bin}
DATA=${SHOPEDGE_DATA:-$SHOPEDGE_ROOT/data}
PIDS=()
NAMES=()

# foreground_job "$0" "$@": on a terminal, runs the calling script again
# as the foreground job of a job-control shell (bash -m), so that a Ctrl-C
# reaches that script alone: not make (which would report "Interrupt" and
# end with status 130) nor the started processes, which the script stops
# in order before it exits 0. Elsewhere (no terminal) it returns.
foreground_job() {
	if [ -t 0 ] && [ -z "${SHOPEDGE_FOREGROUND_JOB:-}" ]; then
		export SHOPEDGE_FOREGROUND_JOB=1
		exec bash -m -c '"$0" "$@"' "$@"
	fi
}

# admin_token exports SHOPEDGE_ADMIN_TOKEN, defaulting to dev-admin-token.
admin_token() {
	if [ -z "${SHOPEDGE_ADMIN_TOKEN:-}" ]; then
		export SHOPEDGE_ADMIN_TOKEN=dev-admin-token
		TOKEN_NOTE="SHOPEDGE_ADMIN_TOKEN is unset: using the development token"
	else
		TOKEN_NOTE="from SHOPEDGE_ADMIN_TOKEN"
	fi
}

# internal_token exports SHOPEDGE_INTERNAL_TOKEN (the core's feed and
# /metrics token, which every edge sends), generating a random one for
# this run when it is unset.
internal_token() {
	if [ -z "${SHOPEDGE_INTERNAL_TOKEN:-}" ]; then
		SHOPEDGE_INTERNAL_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
		export SHOPEDGE_INTERNAL_TOKEN
		INTERNAL_NOTE="SHOPEDGE_INTERNAL_TOKEN is unset: generated for this run"
	else
		INTERNAL_NOTE="from SHOPEDGE_INTERNAL_TOKEN"
	fi
}

# cart_digest_key exports SHOPEDGE_CART_DIGEST_KEY (the key the core signs
# cart digests with and the edges verify them with), generating a random
# one for this run when it is unset.
cart_digest_key() {
	if [ -z "${SHOPEDGE_CART_DIGEST_KEY:-}" ]; then
		SHOPEDGE_CART_DIGEST_KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
		export SHOPEDGE_CART_DIGEST_KEY
		DIGEST_NOTE="SHOPEDGE_CART_DIGEST_KEY is unset: generated for this run"
	else
		DIGEST_NOTE="from SHOPEDGE_CART_DIGEST_KEY"
	fi
}

# start NAME CMD ARGS...: runs CMD in the background, logging to
# $DATA/NAME.log. The process gets a session of its own (setsid), so that
# a Ctrl-C in the terminal reaches this script alone, which then stops the
# processes in order (stop_all).
start() {
	local name=$1
	shift
	mkdir -p "$DATA"
	if command -v setsid >/dev/null 2>&1; then
		setsid "$@" 2>>"$DATA/$name.log" >&2 &
	else
		"$@" 2>>"$DATA/$name.log" >&2 &
	fi
	PIDS+=($!)
	NAMES+=("$name")
	echo "started $name (pid $!), log $DATA/$name.log"
}

# wait_ready NAME ADDR: waits up to 60 s for http://ADDR/readyz to answer 200.
wait_ready() {
	local name=$1 addr=$2 pid=${PIDS[-1]} i
	for ((i = 0; i < 600; i++)); do
		if curl -fsS -o /dev/null --max-time 1 "http://$addr/readyz" 2>/dev/null; then
			echo "$name ready on http://$addr"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$name exited during start-up; last log lines:" >&2
			tail -n 20 "$DATA/$name.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "$name not ready on http://$addr after 60s; last log lines:" >&2
	tail -n 20 "$DATA/$name.log" >&2
	return 1
}

# stop_all sends SIGTERM to every started process, newest first, and waits.
stop_all() {
	trap - INT TERM HUP EXIT
	local i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		if kill -0 "${PIDS[i]}" 2>/dev/null; then
			echo "stopping ${NAMES[i]} (pid ${PIDS[i]})"
			kill -TERM "${PIDS[i]}" 2>/dev/null || true
			wait "${PIDS[i]}" 2>/dev/null || true
		fi
	done
}

# supervise ESSENTIAL...: stays in the foreground while the processes
# named ESSENTIAL run. When another process exits it says so and goes on
# (with the core stopped, the edge keeps serving cached pages and answers
# writes with 503); when an essential one exits it stops the rest and
# exits 1. Ctrl-C (the INT trap of the caller) stops everything and
# exits 0.
supervise() {
	local essential=" $* " pid code i name
	local -a live=("${PIDS[@]}")
	# Polls with kill -0 rather than "wait -n": a child that exits while
	# the shell is busy elsewhere is reaped by bash at once, and some bash
	# versions then answer "wait -n PID" with "no such job" and lose it.
	while ((${#live[@]} > 0)); do
		pid=
		for i in "${!live[@]}"; do
			if ! kill -0 "${live[i]}" 2>/dev/null; then
				pid=${live[i]}
				unset 'live[i]'
				break
			fi
		done
		if [ -z "$pid" ]; then
			# "wait" on a background sleep, not a foreground sleep: a
			# trapped signal (Ctrl-C, kill -INT, SIGTERM) interrupts the
			# wait builtin at once and runs the trap.
			sleep 0.3 &
			wait "$!" 2>/dev/null || true
			continue
		fi
		live=("${live[@]}")
		code=0
		wait "$pid" 2>/dev/null || code=$?
		name=?
		for ((i = 0; i < ${#PIDS[@]}; i++)); do
			[ "${PIDS[i]}" = "$pid" ] && name=${NAMES[i]}
		done
		if [[ $essential == *" $name "* ]]; then
			echo "$name stopped (exit code $code; see $DATA/$name.log); stopping the rest" >&2
			stop_all
			exit 1
		fi
		echo "$name stopped (exit code $code; see $DATA/$name.log)." >&2
		if [ "$name" = core ]; then
			echo "The edge keeps serving every cached page (X-Shopedge-Stale: 1) and answers writes with 503 and Retry-After. Press Ctrl-C to stop." >&2
		fi
	done
}

# demo_catalog prints the demo catalog file to load, if there is one:
# $SHOPEDGE_DEMO_CATALOG, else the first NDJSON file under scripts/demo.
demo_catalog() {
	if [ -n "${SHOPEDGE_DEMO_CATALOG:-}" ]; then
		echo "$SHOPEDGE_DEMO_CATALOG"
		return
	fi
	local f
	for f in "$SHOPEDGE_ROOT"/scripts/demo/*.ndjson "$SHOPEDGE_ROOT"/scripts/demo/*.ndjson.gz; do
		if [ -f "$f" ]; then
			echo "$f"
			return
		fi
	done
}

# seed_catalog CORE_ADDR: imports the demo catalog through the core's
# admin API (POST /admin/v1/import, NDJSON). Set SHOPEDGE_SKIP_SEED=1 to skip.
seed_catalog() {
	local addr=$1 file status
	if [ -n "${SHOPEDGE_SKIP_SEED:-}" ]; then
		return 0
	fi
	file=$(demo_catalog)
	if [ -z "$file" ] || [ ! -f "$file" ]; then
		echo "no demo catalog found (set SHOPEDGE_DEMO_CATALOG=file.ndjson): starting with the store's current catalog"
		return 0
	fi
	echo "importing demo catalog $file"
	local cat=cat
	case $file in *.gz) cat="gzip -dc" ;; esac
	status=$($cat "$file" | curl -sS -o "$DATA/import.out" -w '%{http_code}' --max-time 300 \
		-X POST -H "Authorization: Bearer $SHOPEDGE_ADMIN_TOKEN" \
		-H 'Content-Type: application/x-ndjson' --data-binary @- \
		"http://$addr/admin/v1/import") || status=000
	if [ "$status" != 200 ] && [ "$status" != 201 ]; then
		echo "catalog import answered HTTP $status (see $DATA/import.out); continuing" >&2
		return 0
	fi
	echo "catalog imported: $(head -c 300 "$DATA/import.out")"
}

# testpay_key exports TESTPAY_SECRET_KEY (the key testpay checks and the
# core's default gateway sends), defaulting to sk_test_dev_testpay.
testpay_key() {
	if [ -z "${TESTPAY_SECRET_KEY:-}" ]; then
		export TESTPAY_SECRET_KEY=sk_test_dev_testpay
		TESTPAY_NOTE="TESTPAY_SECRET_KEY is unset: using the development key"
	else
		TESTPAY_NOTE="from TESTPAY_SECRET_KEY"
	fi
}

# start_testpay ADDR: starts the testpay payment simulator on ADDR with its
# ledger in $DATA/testpay.ledger and waits until it is ready. The core's
# default configuration charges through 127.0.0.1:9191; for another ADDR,
# CORE_PAYMENT_ARGS holds the flag that points the core at it.
start_testpay() {
	local addr=$1
	start testpay "$BIN/testpay" -server.addr="$addr" -ledger="$DATA/testpay.ledger"
	wait_ready testpay "$addr"
	CORE_PAYMENT_ARGS=()
	if [ "$addr" != 127.0.0.1:9191 ]; then
		CORE_PAYMENT_ARGS=("-payment.gateways=[{name: testpay, url: \"http://$addr\", key_env: TESTPAY_SECRET_KEY}]")
	fi
}
