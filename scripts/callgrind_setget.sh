#!/usr/bin/env bash
# Instructions the server spends on a fixed SET/GET load (valgrind --tool=callgrind counts
# instructions, so the figure repeats run to run whatever else the machine does): the release
# server with --threads 1 under redis-benchmark -t set,get, 200,000 requests at pipeline 16
# then 50,000 at pipeline 1. Prints the program total and Conn::process (the request path).
# Usage: scripts/callgrind_setget.sh [SERVER_BINARY] [PORT]
set -u
BIN=${1:-target/release/ferrokv-server}
PORT=${2:-47611}
OUT=$(mktemp /tmp/callgrind.setget.XXXXXX)
# FERROKV_ARGS: extra server flags (e.g. --save "" so no save point fires during the run).
valgrind --tool=callgrind --callgrind-out-file="$OUT" "$BIN" --threads 1 --port "$PORT" ${FERROKV_ARGS:-} \
    >/dev/null 2>/dev/null &
VP=$!
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
redis-benchmark -p "$PORT" -t set,get -n 200000 -P 16 -c 50 -q >/dev/null
redis-benchmark -p "$PORT" -t set,get -n 50000 -P 1 -c 50 -q >/dev/null
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
wait "$VP"
callgrind_annotate --inclusive=yes "$OUT" 2>/dev/null | grep -E "PROGRAM TOTALS|Conn::process \["
echo "profile: $OUT"
