#!/bin/bash
# Lets Redis's TCL suite start ferrokv itself (spawn mode, for the tests tagged external:skip
# that start a second server, e.g. unit/dump's MIGRATE tests): install it as `src/redis-server`
# in a copy of the extracted suite and run `./runtest --single unit/dump ...` there.
# It keeps the directives of the test's config file that ferrokv knows and prints the two log
# lines the harness waits for. FERROKV_BIN: the binary; FK_THREADS: loops (1 makes DEBUG SLEEP
# stall the whole server, as the "MIGRATE timeout actually works" test expects).
conf="$1"; shift
filtered="$conf.ferrokv"
grep -E '^(port|bind|dir|databases|notify-keyspace-events|enable-debug-command|enable-protected-configs|appendonly|dbfilename|latency-monitor-threshold|requirepass|appendfsync) ' "$conf" > "$filtered"
echo "ferrokv wrapper PID: $$"
echo "Ready to accept connections"
exec "${FERROKV_BIN:-target/release/ferrokv-server}" --config "$filtered" --save "" ${FK_THREADS:+--threads $FK_THREADS} "$@"
