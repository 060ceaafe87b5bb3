#!/bin/bash
# Multi-core scaling (for a machine with many cores; README "Multi-core scaling"): ferrokv
# with 1, 2, 4 and 8 loops vs one redis-server under the same pipelined SET:GET 1:10 load
# from ferrokv-loadtest (8 client threads, 32 connections per client thread, pipeline 16,
# 3 s each); then the RDB load of ~4.75 M keys (15 M random SETs over 5 M keys) with 1, 4 and
# 16 loops vs redis-server, timed from start to the first PONG.
# Needs the release binaries (cargo build --release --workspace), bash, python3 or bc.
# REDIS_SERVER (default redis-server) and REDIS_LIB (an LD_LIBRARY_PATH for it, when the
# binary was copied from another machine) choose the Redis to compare with.
B=$PWD/target/release/ferrokv-server
L=$PWD/target/release/ferrokv-loadtest
R() { LD_LIBRARY_PATH=${REDIS_LIB:-} ${REDIS_SERVER:-redis-server} "$@"; }
W=$(mktemp -d)
nproc; uname -r
send() { exec 3<>/dev/tcp/127.0.0.1/$1; printf "$2" >&3; timeout 2 dd bs=4096 count=1 <&3 2>/dev/null; exec 3<&-; }
wait_pong() { for i in $(seq 2000); do r=$(send $1 'PING\r\n' 2>/dev/null); [[ $r == +PONG* ]] && return 0; sleep 0.01; done; return 1; }
load() { # port threads
  $L --port $1 --threads $2 --connections $((32*$2)) --pipeline 16 --duration 3 --ratio 1:10 --keyspace 100000 --json 2>/dev/null \
   | python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(d["throughput_rps"]), d["latency_us"]["p99"])' 2>/dev/null || echo "no-python-or-error"
}
echo "== scaling (client threads = 8)"
R --port 7100 --save "" --appendonly no --daemonize no > $W/redis.log 2>&1 &
RP=$!; wait_pong 7100 && echo "redis 1 thread: $(load 7100 8)"; kill $RP; wait $RP 2>/dev/null
for t in 1 2 4 8; do
  $B --threads $t --port 7101 --save "" > $W/f$t.log 2>&1 &
  FP=$!; wait_pong 7101 && echo "ferrokv $t threads: $(load 7101 8)"; kill $FP; wait $FP 2>/dev/null
done
echo "== RDB load of 5M keys"
mkdir -p $W/d
$B --threads 8 --port 7102 --save "" --dir $W/d > $W/pop.log 2>&1 &
FP=$!; wait_pong 7102
$L --port 7102 --threads 8 --connections 64 --pipeline 64 --requests 15000000 --ratio 1:0 --keyspace 5000000 --json > /dev/null 2>&1
send 7102 'DBSIZE\r\n'; echo
send 7102 'SAVE\r\n'; echo
kill $FP; wait $FP 2>/dev/null; ls -la $W/d
for t in 1 4 16; do
  s=$(date +%s.%N); $B --threads $t --port 7103 --save "" --dir $W/d > $W/l$t.log 2>&1 & FP=$!
  wait_pong 7103; e=$(date +%s.%N); echo "ferrokv load, $t threads: $(echo "$e - $s" | bc 2>/dev/null || python3 -c "print($e-$s)") s; $(send 7103 'DBSIZE\r\n')"
  kill $FP; wait $FP 2>/dev/null
done
s=$(date +%s.%N); R --port 7104 --save "" --appendonly no --dir $W/d --dbfilename dump.rdb > $W/rl.log 2>&1 & RP=$!
wait_pong 7104; e=$(date +%s.%N); echo "redis load: $(echo "$e - $s" | bc 2>/dev/null || python3 -c "print($e-$s)") s; $(send 7104 'DBSIZE\r\n')"
kill $RP; wait $RP 2>/dev/null
tail -n 3 $W/redis.log $W/rl.log
