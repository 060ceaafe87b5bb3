#!/usr/bin/env python3
"""Hot-set hit rate under allkeys-lru eviction, ferrokv vs redis-server.

Each server gets `maxmemory` (default 64mb) with allkeys-lru. A hot set of keys is written,
then writer threads flood the server with new keys (pipelined SETs of 100-byte values) while
reader threads keep reading random hot keys (pipelined GETs). The hit rate is the share of
hot GETs that found their key during the flood; the last line counts the hot keys left.

Redis's LRU clock ticks once per second: a hot key read 50 ms ago and a key written 50 ms ago
look equally idle, so under a fast flood its sampled eviction removes hot keys nearly as often
as cold ones. ferrokv's clock has millisecond resolution.

Standalone: `python3 scripts/bench_eviction.py [--seconds 10] [--hot 2000]`; also run by
`make bench-compare BENCH_ARGS="--only eviction"` (scripts/bench_compare.py), which imports
this module. Python 3.11 standard library only; redis-server from PATH, ferrokv from
target/release (built when missing) or $FERROKV_BIN.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FERROKV = Path(os.environ.get("FERROKV_BIN", ROOT / "target" / "release" / "ferrokv-server"))


def resp(*args: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Conn:
    """A pipelining client that reads replies just far enough to classify them."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self) -> bytes | None:
        """A simple, integer, error or bulk reply: the bulk's bytes, None for nil."""
        line = self._line()
        if line[:1] == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise ConnectionError("closed")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data
        if line[:1] == b"-":
            raise RuntimeError(line.decode(errors="replace"))
        return line

    def pipeline(self, cmds: list[bytes]) -> list[bytes | None]:
        self.sock.sendall(b"".join(cmds))
        return [self.reply() for _ in cmds]

    def call(self, *args: str) -> bytes | None:
        return self.pipeline([resp(*args)])[0]


def info(c: Conn, field: str) -> str:
    text = (c.call("INFO") or b"").decode()
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return ""


def workload(port: int, seconds: float, hot: int, writers: int, readers: int) -> dict[str, Any]:
    value = b"v" * 100
    c = Conn(port)
    for start in range(0, hot, 500):
        c.pipeline([resp("SET", f"hot:{i}", value) for i in range(start, min(hot, start + 500))])
    stop = threading.Event()
    counts = {"hits": 0, "gets": 0, "sets": 0}
    lock = threading.Lock()

    def writer(w: int) -> None:
        conn, n, sets = Conn(port), 0, 0
        while not stop.is_set():
            conn.pipeline([resp("SET", f"new:{w}:{n + i}", value) for i in range(100)])
            n += 100
            sets += 100
        with lock:
            counts["sets"] += sets

    def reader(seed: int) -> None:
        conn, rng, hits, gets = Conn(port), random.Random(seed), 0, 0
        while not stop.is_set():
            replies = conn.pipeline([resp("GET", f"hot:{rng.randrange(hot)}") for _ in range(50)])
            hits += sum(r is not None for r in replies)
            gets += len(replies)
        with lock:
            counts["hits"] += hits
            counts["gets"] += gets

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    threads += [threading.Thread(target=reader, args=(r,)) for r in range(readers)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    left = sum(r is not None for r in c.pipeline([resp("EXISTS", f"hot:{i}") for i in range(hot)]) if r != b":0")
    return {
        "hit_rate": counts["hits"] / max(counts["gets"], 1),
        "hot_left": left,
        "hot": hot,
        "sets": counts["sets"],
        "gets": counts["gets"],
        "evicted_keys": int(info(c, "evicted_keys") or 0),
        "used_memory": int(info(c, "used_memory") or 0),
    }


def directives(maxmemory: str) -> tuple[str, ...]:
    return ("--maxmemory", maxmemory, "--maxmemory-policy", "allkeys-lru")


class EvictionBench:
    """The `--only eviction` part of bench_compare (`bc` is that module)."""

    def __init__(self, bc: Any, servers: Any, args: Any) -> None:
        self.bc, self.servers, self.args = bc, servers, args
        self.failures: list[str] = []

    def run(self) -> dict[str, list[dict[str, Any]]]:
        seconds = 3.0 if self.args.quick else 10.0
        out: dict[str, list[dict[str, Any]]] = {}
        for rep in range(self.args.reps):
            for name in ("ferrokv", "redis") if rep % 2 == 0 else ("redis", "ferrokv"):
                srv = (
                    self.servers.ferrokv(name, extra=directives("64mb"))
                    if name == "ferrokv"
                    else self.servers.redis(name, extra=directives("64mb"))
                )
                try:
                    rec = workload(srv.port, seconds, 2000, 2, 2)
                    self.bc.log(f"eviction {name} rep {rep}: {rec}")
                    out.setdefault(name, []).append(rec)
                except Exception as e:  # a failed run is reported, not fatal
                    self.failures.append(f"eviction on {name} (rep {rep}): {e}")
                finally:
                    self.servers.stop(srv)
        return out


def medians(bc: Any, result: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        name: {k: bc.median([r[k] for r in runs]) for k in ("hit_rate", "hot_left", "sets")}
        for name, runs in result.items()
    }


def rows(med: dict[str, Any]) -> list[tuple[str, float | None, float | None, str]]:
    f, r = med.get("ferrokv", {}), med.get("redis", {})
    pct = lambda v: None if v is None else v * 100  # noqa: E731
    return [
        ("allkeys-lru 64mb, write flood + hot-set reads: hot GET hit rate %", pct(f.get("hit_rate")), pct(r.get("hit_rate")), "pct"),
        ("  hot keys (of 2000) left after the flood", f.get("hot_left"), r.get("hot_left"), "n"),
        ("  new keys written during the flood", f.get("sets"), r.get("sets"), "n"),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--hot", type=int, default=2000)
    ap.add_argument("--maxmemory", default="64mb")
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--readers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="ferrokv loops")
    a = ap.parse_args()
    if not FERROKV.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "ferrokv-server"], cwd=ROOT, check=True)
    results = {}
    for name in ("ferrokv", "redis"):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if name == "ferrokv":
            cmd = [str(FERROKV), "--threads", str(a.threads), "--port", str(port), "--save", ""]
        else:
            cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
        proc = subprocess.Popen(cmd + list(directives(a.maxmemory)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    Conn(port).call("PING")
                    break
                except OSError:
                    time.sleep(0.05)
            results[name] = workload(port, a.seconds, a.hot, a.writers, a.readers)
        finally:
            proc.terminate()
            proc.wait()
    print(f"{'':12} {'hit rate':>9} {'hot left':>10} {'new keys':>10} {'evicted':>10} {'used_memory':>12}")
    for name, r in results.items():
        print(
            f"{name:12} {r['hit_rate'] * 100:8.1f}% {r['hot_left']:>5}/{r['hot']:<4} {r['sets']:>10} "
            f"{r['evicted_keys']:>10} {r['used_memory']:>12}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
