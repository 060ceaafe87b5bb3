#!/usr/bin/env python3
"""Side-by-side performance comparison of ferrokv and Redis 7 (`make bench-compare`).

Method
------
* `cargo build --release --workspace`, then start `ferrokv-server --threads 1` and
  `redis-server --save '' --appendonly no`, both pinned to core 0 (`taskset -c 0`), on free
  loopback ports picked at run time. Every client (redis-benchmark, redis-cli, ferrokv-loadtest)
  is pinned to core 1 (`taskset -c 1`), so server and client never share a core.
* A third server, `ferrokv-server --threads 2`, runs UNPINNED; its P16 GET runs use an unpinned
  client too (the scheduler spreads 2 server threads + 1 client thread over the 2 cores). It is
  compared against the pinned single-core Redis P16 GET median: "what ferrokv gets from the
  whole machine vs what Redis gets from one core".
* redis-benchmark scenarios (`-r 100000`, 50 connections unless noted): SET and GET x pipeline
  1 and 16 x 3-byte and 1 KiB values, plus P1 GET with 1000 connections. Before the GET runs
  the 100,000 keys redis-benchmark draws from (`key:000000000000`..`key:000000099999`) are
  written exactly with `redis-cli --pipe`, so every GET hits. `-n` is calibrated once per
  scenario from a pilot run (mean of both servers) so a run lasts about `--seconds`; both
  servers then get the same `-n`.
* Runs ALTERNATE between the servers, and who goes first flips every repetition and scenario,
  so slow drift on the shared machine hits both alike. Tables report MEDIANS of `--reps` runs.
* Server CPU per request: utime+stime of the server process (/proc/PID/stat fields 14 and 15,
  clock ticks) before and after each redis-benchmark run, divided by its requests.
* Open-loop latency: `ferrokv-loadtest --rate R --connections 50 --ratio 1:10` for
  `--duration` seconds; R defaults to 50% of Redis's median P1 GET throughput.
* Memory: FRESH instances; RSS (/proc/PID/status VmRSS) before and after loading exactly
  1,000,000 keys (`key:0000000`..`key:0999999`, 16-byte values) with `redis-cli --pipe`;
  DBSIZE must be 1,000,000 on both. (after - before) / 1e6 = bytes per key.

Outputs a markdown table on stdout and in target/bench/latest.md, and every raw repetition
plus medians in target/bench/compare-<timestamp>.json and target/bench/latest.json.
Exit status: 0 when every run succeeded, 1 when some failed (results still written), 2 on
a setup error (build, server start, missing tools).

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "target" / "bench"
FERROKV = ROOT / "target" / "release" / "ferrokv-server"
LOADTEST = ROOT / "target" / "release" / "ferrokv-loadtest"

SERVER_CORE = "0"
CLIENT_CORE = "1"
KEYSPACE = 100_000  # redis-benchmark -r and ferrokv-loadtest --keyspace
MEMORY_KEYS = 1_000_000
MEMORY_VALUE_SIZE = 16
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Every subprocess gets a timeout; these are the fixed ones (seconds).
T_START = 15.0  # a server must answer PING within this
T_STOP = 15.0  # SIGTERM -> exit, then SIGKILL
T_SMALL = 30.0  # version queries, DBSIZE, ...
T_PIPE = 300.0  # redis-cli --pipe of up to ~100 MB
T_BUILD = 3600.0
T_APT = 900.0


class SetupError(Exception):
    """Something that makes the whole comparison impossible (exit 2)."""


# --------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(f"[bench-compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A loopback port that was free a moment ago (the server binding it may still race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resp_encode(*args: bytes | str) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode() if isinstance(a, str) else a
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


def resp_command(port: int, *args: str, timeout: float = T_SMALL) -> Any:
    """Sends one command to 127.0.0.1:port and returns its (simple) reply.

    Handles the reply types the script asks for: simple string, error (raised), integer, bulk.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(resp_encode(*args))
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before a reply")
            buf += chunk
        line, rest = buf.split(b"\r\n", 1)
        kind, body = line[:1], line[1:]
        if kind == b"+":
            return body.decode()
        if kind == b"-":
            raise RuntimeError(body.decode())
        if kind == b":":
            return int(body)
        if kind == b"$":
            n = int(body)
            if n < 0:
                return None
            while len(rest) < n + 2:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("connection closed inside a bulk reply")
                rest += chunk
            return rest[:n]
        raise RuntimeError(f"unexpected reply {line[:80]!r}")


def run(cmd: list[str], timeout: float, **kw: Any) -> subprocess.CompletedProcess:
    """subprocess.run with a timeout, capturing output (the child is killed on timeout)."""
    return subprocess.run(cmd, timeout=timeout, capture_output=True, **kw)


def first_line(cmd: list[str]) -> str:
    try:
        p = run(cmd, T_SMALL, text=True)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError) as e:
        return f"unknown ({e})"


def median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def raise_fd_limit(want: int = 65536) -> int:
    """Raises RLIMIT_NOFILE (inherited by servers and clients: -c 1000 needs > 1000 fds)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """A server process we started (and must stop)."""

    name: str  # "ferrokv", "redis", "ferrokv-2t"
    cmd: list[str]
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None
    _log: Any = None

    def start(self) -> None:
        log(f"starting {self.name} on port {self.port}: {' '.join(self.cmd)}")
        self._log = open(self.log_path, "wb")
        # Own session: a terminal Ctrl-C reaches the script, which then stops us in order.
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + T_START
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(
                    f"{self.name} exited with status {self.proc.returncode} during start-up; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                if resp_command(self.port, "PING", timeout=1.0) == "PONG":
                    return
            except (OSError, RuntimeError) as e:
                last_err = e
            time.sleep(0.05)
        raise SetupError(
            f"{self.name} did not answer PING on port {self.port} within {T_START:.0f}s "
            f"({last_err}); log {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=T_STOP)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {T_STOP:.0f}s; killing it")
                self.proc.kill()
                self.proc.wait(timeout=T_STOP)
            except ProcessLookupError:
                pass
        if self._log:
            self._log.close()
            self._log = None
        self.proc = None

    def cpu_ticks(self) -> int:
        """utime + stime of the whole process (all threads), in clock ticks."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as f:
            # The comm field (2) may contain spaces: split after its closing parenthesis.
            after = f.read().rsplit(")", 1)[1].split()
        # after[0] is field 3 (state), so field N is after[N - 3].
        return int(after[14 - 3]) + int(after[15 - 3])

    def rss_kb(self) -> int:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {self.name}")


def with_defaults(extra: tuple[str, ...], defaults: dict[str, str]) -> list[str]:
    """`extra` (`--name value ...`) plus each default whose flag `extra` does not give."""
    out = [arg for flag, value in defaults.items() if flag not in extra for arg in (flag, value)]
    return out + list(extra)


class Servers:
    """Every server the script started; `stop_all` is safe to call more than once."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.live: list[Server] = []
        self.redis_dir = Path(tempfile.mkdtemp(prefix="bench-redis-", dir=log_dir))
        self.ferrokv_dir = Path(tempfile.mkdtemp(prefix="bench-ferrokv-", dir=log_dir))

    def _start(self, name: str, cmd_for_port: Callable[[int], list[str]]) -> Server:
        # A free port can be taken between our probe and the server's bind: retry a few times.
        for attempt in range(3):
            port = free_port()
            srv = Server(name, cmd_for_port(port), port, self.log_dir / f"{name}.log")
            self.live.append(srv)
            try:
                srv.start()
                return srv
            except SetupError:
                srv.stop()
                self.live.remove(srv)
                if attempt == 2 or "in use" not in srv.log_tail().lower():
                    raise
        raise AssertionError("unreachable")

    def ferrokv(
        self, name: str = "ferrokv", threads: int = 1, pinned: bool = True, extra: tuple[str, ...] = ()
    ) -> Server:
        """`extra` (directives as `--name value`) comes last, so it overrides the defaults."""
        pin = ["taskset", "-c", SERVER_CORE] if pinned else []
        return self._start(
            name,
            lambda p: pin
            + [str(FERROKV), "--threads", str(threads), "--port", str(p), "--bind", "127.0.0.1"]
            + with_defaults(extra, {"--save": "", "--appendonly": "no", "--dir": str(self.ferrokv_dir)}),
        )

    def redis(self, name: str = "redis", extra: tuple[str, ...] = ()) -> Server:
        return self._start(
            name,
            lambda p: ["taskset", "-c", SERVER_CORE, "redis-server", "--port", str(p)]
            + ["--bind", "127.0.0.1"]
            + with_defaults(extra, {"--save": "", "--appendonly": "no", "--dir": str(self.redis_dir)}),
        )

    def stop(self, srv: Server) -> None:
        srv.stop()
        if srv in self.live:
            self.live.remove(srv)

    def stop_all(self) -> None:
        for srv in list(self.live):
            try:
                self.stop(srv)
            except Exception as e:  # keep stopping the others
                log(f"could not stop {srv.name}: {e}")
        shutil.rmtree(self.redis_dir, ignore_errors=True)
        shutil.rmtree(self.ferrokv_dir, ignore_errors=True)


# --------------------------------------------------------------------------- clients


def client_prefix(pinned: bool) -> list[str]:
    return ["taskset", "-c", CLIENT_CORE] if pinned else []


def pipe_load(srv: Server, payload: bytes, pinned: bool = True) -> None:
    """Writes the payload (RESP commands) with `redis-cli --pipe`; fails on any error reply."""
    p = run(
        client_prefix(pinned) + ["redis-cli", "-h", "127.0.0.1", "-p", str(srv.port), "--pipe"],
        T_PIPE,
        input=payload,
    )
    out = (p.stdout + p.stderr).decode(errors="replace")
    m = re.search(r"errors:\s*(\d+),\s*replies:\s*(\d+)", out)
    if p.returncode != 0 or not m or int(m.group(1)) != 0:
        raise RuntimeError(f"redis-cli --pipe into {srv.name} failed (status {p.returncode}): {out.strip()}")


def populate(srv: Server, payload: bytes, expect_keys: int, pinned: bool = True) -> None:
    """Writes the payload (RESP SETs) with `redis-cli --pipe`; checks errors and DBSIZE."""
    pipe_load(srv, payload, pinned)
    size = resp_command(srv.port, "DBSIZE")
    if size != expect_keys:
        raise RuntimeError(f"{srv.name}: DBSIZE is {size} after loading, expected {expect_keys}")


_payloads: dict[tuple[str, int, int], bytes] = {}


def bench_keys_payload(value_size: int) -> bytes:
    """SET key:%012d (the redis-benchmark -r key format) for every key in the keyspace."""
    k = ("bench", value_size, KEYSPACE)
    if k not in _payloads:
        value = b"x" * value_size  # redis-benchmark and ferrokv-loadtest write 'x' * size too
        _payloads[k] = b"".join(resp_encode(b"SET", b"key:%012d" % i, value) for i in range(KEYSPACE))
    return _payloads[k]


# The GEOSEARCH scenario's geo set: KEYSPACE members `m:%012d` (the redis-benchmark
# `__rand_int__` format) at fixed pseudo-random places in a 10 x 10 degree region.
GEO_KEY = "geo"


def geo_payload() -> bytes:
    k = ("geo", 0, KEYSPACE)
    if k not in _payloads:
        x = 12345
        parts = []
        for i in range(KEYSPACE):
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            lon = 10 + (x >> 40) % 1_000_000 / 100_000
            lat = 35 + (x >> 20) % 1_000_000 / 100_000
            parts.append(resp_encode(b"GEOADD", GEO_KEY.encode(), b"%.5f" % lon, b"%.5f" % lat, b"m:%012d" % i))
        _payloads[k] = b"".join(parts)
    return _payloads[k]


def populate_geo(srv: Server, pinned: bool = True) -> None:
    """Loads the GEOSEARCH scenario's geo set (`redis-cli --pipe`) and checks its size."""
    pipe_load(srv, geo_payload(), pinned)
    size = resp_command(srv.port, "ZCARD", GEO_KEY)
    if size != KEYSPACE:
        raise RuntimeError(f"{srv.name}: ZCARD {GEO_KEY} is {size} after loading, expected {KEYSPACE}")


# The bitmap and HyperLogLog scenarios' keys. redis-benchmark's `__rand_int__` is 12 digits
# with leading zeros, which Redis does not accept as a bit offset, so SETBIT/GETBIT use a
# random KEY (`bm:%012d`, every one a 128-byte bitmap) and a fixed offset, the last bit.
BIT_KEY_PREFIX = "bm:"
BIT_OFFSET = "1023"
HLL_KEY = "hll"
HLL_ELEMENTS = 20_000  # enough to make the HLL dense before the PFADD runs
BITCOUNT_KEY = "bc"
BITCOUNT_SIZE = 1024


def bits_payload() -> bytes:
    """SETBIT bm:%012d 1023 0 for every key in the keyspace: 128 zero bytes each, made by
    SETBIT on both servers (so neither has to convert another string encoding on first use)."""
    k = ("bits", 0, KEYSPACE)
    if k not in _payloads:
        _payloads[k] = b"".join(
            resp_encode(b"SETBIT", b"%s%012d" % (BIT_KEY_PREFIX.encode(), i), BIT_OFFSET, b"0")
            for i in range(KEYSPACE)
        )
    return _payloads[k]


def populate_bits(srv: Server, pinned: bool = True) -> None:
    """Loads the SETBIT/GETBIT bitmaps and checks that exactly KEYSPACE keys were added."""
    before = resp_command(srv.port, "DBSIZE")
    pipe_load(srv, bits_payload(), pinned)
    added = resp_command(srv.port, "DBSIZE") - before
    if added != KEYSPACE:
        raise RuntimeError(f"{srv.name}: {added} bitmaps added, expected {KEYSPACE}")


def populate_hll(srv: Server, pinned: bool = True) -> None:
    """PFADDs HLL_ELEMENTS elements (`e:%012d`, the benchmark's element format) to HLL_KEY
    and checks that it is dense."""
    k = ("hll", HLL_ELEMENTS, KEYSPACE)
    if k not in _payloads:
        _payloads[k] = b"".join(
            resp_encode(b"PFADD", HLL_KEY, *(b"e:%012d" % j for j in range(i, i + 100)))
            for i in range(0, HLL_ELEMENTS, 100)
        )
    pipe_load(srv, _payloads[k], pinned)
    encoding = resp_command(srv.port, "PFDEBUG", "ENCODING", HLL_KEY)
    if encoding != "dense":
        raise RuntimeError(f"{srv.name}: {HLL_KEY} is {encoding} after loading, expected dense")


def populate_bitcount(srv: Server, pinned: bool = True) -> None:
    """SETs BITCOUNT_KEY to BITCOUNT_SIZE fixed pseudo-random bytes and checks its count."""
    x, value = 987654321, bytearray()
    while len(value) < BITCOUNT_SIZE:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        value += (x >> 32).to_bytes(4, "little")
    pipe_load(srv, resp_encode(b"SET", BITCOUNT_KEY, bytes(value)), pinned)
    want = sum(bin(b).count("1") for b in value)
    got = resp_command(srv.port, "BITCOUNT", BITCOUNT_KEY)
    if got != want:
        raise RuntimeError(f"{srv.name}: BITCOUNT {BITCOUNT_KEY} is {got} after loading, expected {want}")


# The EVALSHA scenarios' scripts: a token bucket (one hash per caller: read, take a token,
# write back, refresh the TTL) and a script touching ten keys. Loaded with SCRIPT LOAD on both
# servers before the scenarios run.
RATE_LIMITER = (
    "local cap = tonumber(ARGV[1]) "
    "local t = tonumber(redis.call('HGET', KEYS[1], 'tokens') or cap) "
    "if t > 0 then t = t - 1 end "
    "redis.call('HSET', KEYS[1], 'tokens', t) "
    "redis.call('EXPIRE', KEYS[1], 60) "
    "return t"
)
TEN_KEYS = "for i = 1, #KEYS do redis.call('INCR', KEYS[i]) end return #KEYS"


def script_sha(body: str) -> str:
    import hashlib

    return hashlib.sha1(body.encode()).hexdigest()


def load_scripts(srv: Server, pinned: bool = True) -> None:
    """SCRIPT LOADs the EVALSHA scenarios' scripts and checks the SHA1s."""
    for body in (RATE_LIMITER, TEN_KEYS):
        got = resp_command(srv.port, "SCRIPT", "LOAD", body)
        got = got.decode() if isinstance(got, bytes) else got
        if got != script_sha(body):
            raise RuntimeError(f"{srv.name}: SCRIPT LOAD gave {got!r}")


@dataclass(frozen=True)
class Prep:
    """A populate step shared by consecutive scenarios: `load` runs on each server before the
    first of them in a pass, `clear` after the last (later loads check DBSIZE)."""

    load: Callable[[Server, bool], None]
    clear: Callable[[Server], Any]


PREPS = {
    "geo": Prep(populate_geo, lambda srv: resp_command(srv.port, "DEL", GEO_KEY)),
    "bits": Prep(populate_bits, lambda srv: resp_command(srv.port, "FLUSHALL")),
    "hll": Prep(populate_hll, lambda srv: resp_command(srv.port, "DEL", HLL_KEY)),
    "bitcount": Prep(populate_bitcount, lambda srv: resp_command(srv.port, "DEL", BITCOUNT_KEY)),
    "scripts": Prep(load_scripts, lambda srv: resp_command(srv.port, "FLUSHALL")),
}


def memory_payload() -> bytes:
    k = ("memory", MEMORY_VALUE_SIZE, MEMORY_KEYS)
    if k not in _payloads:
        _payloads[k] = b"".join(
            resp_encode(b"SET", b"key:%07d" % i, b"val:%012d" % i) for i in range(MEMORY_KEYS)
        )
    return _payloads[k]


def parse_benchmark_csv(stdout: str, test: str) -> float | None:
    """requests/s of `test` from `redis-benchmark -q --csv` output (warnings are ignored); a
    custom command's row is titled with its whole command line."""
    for row in csv.reader(io.StringIO(stdout)):
        title = row[0].strip().upper() if row else ""
        if len(row) >= 2 and (title == test.upper() or title.startswith(test.upper() + " ")):
            try:
                return float(row[1])
            except ValueError:
                continue
    return None


NOISE = ("WARNING: Could not fetch server CONFIG",)


@dataclass
class Scenario:
    key: str
    label: str
    test: str  # "set" | "get" | a custom command's name ("geosearch")
    pipeline: int
    clients: int
    data_size: int
    servers: tuple[str, ...] = ("ferrokv", "redis")
    pilot_n: int = 20_000
    quick_n: int = 20_000
    # A custom command for redis-benchmark (instead of `-t test`); `__rand_int__` is replaced
    # by a random 12-digit key number below KEYSPACE.
    command: tuple[str, ...] = ()
    # The populate step (a key of PREPS) a custom command needs.
    prep: str = ""


def redis_benchmark(
    srv: Server, sc: Scenario, n: int, pinned: bool, timeout: float, tls: list[str] | None = None
) -> dict[str, Any]:
    """`tls`: redis-benchmark's TLS flags, the TLS port first (`-p PORT --tls ...`)."""
    cmd = client_prefix(pinned) + [
        "redis-benchmark",
        "-h", "127.0.0.1",
    ] + (tls or ["-p", str(srv.port)]) + ([] if sc.command else ["-t", sc.test]) + [
        "-n", str(n),
        "-r", str(KEYSPACE),
        "-d", str(sc.data_size),
        "-c", str(sc.clients),
        "-P", str(sc.pipeline),
        "-q", "--csv",
    ] + list(sc.command)  # fmt: skip
    rec: dict[str, Any] = {"n": n, "cmd": " ".join(cmd)}
    before = srv.cpu_ticks()
    t0 = time.monotonic()
    try:
        p = run(cmd, timeout, text=True)
    except subprocess.TimeoutExpired:
        rec["error"] = f"redis-benchmark timed out after {timeout:.0f}s"
        return rec
    rec["wall_s"] = round(time.monotonic() - t0, 3)
    cpu = srv.cpu_ticks() - before
    rps = parse_benchmark_csv(p.stdout, sc.test)
    stderr = "\n".join(line for line in p.stderr.splitlines() if line.strip() and line.strip() not in NOISE)
    if stderr:
        rec["stderr"] = stderr[-2000:]
    if p.returncode != 0 or rps is None:
        detail = (stderr or p.stdout)[-500:]
        rec["error"] = f"redis-benchmark status {p.returncode}, no {sc.test.upper()} result: {detail}"
        return rec
    rec["rps"] = rps
    rec["cpu_ticks"] = cpu
    rec["cpu_us_per_req"] = cpu / CLK_TCK * 1e6 / n
    return rec


def loadtest(srv: Server, rate: float, duration: float, keyspace: int = KEYSPACE) -> dict[str, Any]:
    cmd = client_prefix(True) + [
        str(LOADTEST),
        "--host", "127.0.0.1",
        "--port", str(srv.port),
        "--rate", str(rate),
        "--duration", str(duration),
        "--connections", "50",
        "--ratio", "1:10",
        "--keyspace", str(keyspace),
        "--data-size", "3",
        "--json",
    ]  # fmt: skip
    rec: dict[str, Any] = {"cmd": " ".join(cmd)}
    try:
        p = run(cmd, duration + 60, text=True)
    except subprocess.TimeoutExpired:
        rec["error"] = "ferrokv-loadtest timed out"
        return rec
    try:
        summary = json.loads(p.stdout)
    except json.JSONDecodeError:
        rec["error"] = f"ferrokv-loadtest status {p.returncode}: {(p.stderr or p.stdout)[-500:]}"
        return rec
    rec["summary"] = summary
    lat = summary["latency_us"]
    rec.update(p99_us=lat["p99"], p999_us=lat["p999"], throughput_rps=summary["throughput_rps"])
    if summary.get("errors"):
        rec["error"] = f"{summary['errors']} bad replies, e.g. {summary.get('error_samples', [])[:3]}"
    elif p.returncode != 0:
        rec["error"] = f"ferrokv-loadtest status {p.returncode}: {p.stderr[-500:]}"
    return rec


# --------------------------------------------------------------------------- the comparison


SCENARIOS = [
    Scenario("set_p1_d3", "SET P1, 3 B", "set", 1, 50, 3, pilot_n=20_000, quick_n=20_000),
    Scenario("set_p16_d3", "SET P16, 3 B", "set", 16, 50, 3, pilot_n=200_000, quick_n=100_000),
    Scenario("get_p1_d3", "GET P1, 3 B", "get", 1, 50, 3, pilot_n=20_000, quick_n=20_000),
    Scenario(
        "get_p16_d3", "GET P16, 3 B", "get", 16, 50, 3,
        servers=("ferrokv", "redis", "ferrokv-2t"), pilot_n=200_000, quick_n=100_000,
    ),
    Scenario("get_p1_d3_c1000", "GET P1, 3 B, 1000 conns", "get", 1, 1000, 3, pilot_n=50_000, quick_n=30_000),
    Scenario("set_p1_d1024", "SET P1, 1 KiB", "set", 1, 50, 1024, pilot_n=20_000, quick_n=20_000),
    Scenario("set_p16_d1024", "SET P16, 1 KiB", "set", 16, 50, 1024, pilot_n=100_000, quick_n=50_000),
    Scenario("get_p1_d1024", "GET P1, 1 KiB", "get", 1, 50, 1024, pilot_n=20_000, quick_n=20_000),
    Scenario("get_p16_d1024", "GET P16, 1 KiB", "get", 16, 50, 1024, pilot_n=100_000, quick_n=50_000),
    Scenario(
        "geosearch_p1", "GEOSEARCH P1, 10 km COUNT 10 WITHDIST", "geosearch", 1, 50, 3,
        pilot_n=20_000, quick_n=10_000,
        command=("GEOSEARCH", GEO_KEY, "FROMMEMBER", "m:__rand_int__", "BYRADIUS", "10", "km",
                 "ASC", "COUNT", "10", "WITHDIST"),
        prep="geo",
    ),
    Scenario(
        "setbit_p1", "SETBIT P1, 100,000 keys of 128 B", "setbit", 1, 50, 3,
        pilot_n=20_000, quick_n=20_000,
        command=("SETBIT", BIT_KEY_PREFIX + "__rand_int__", BIT_OFFSET, "1"), prep="bits",
    ),
    Scenario(
        "setbit_p16", "SETBIT P16, 100,000 keys of 128 B", "setbit", 16, 50, 3,
        pilot_n=200_000, quick_n=100_000,
        command=("SETBIT", BIT_KEY_PREFIX + "__rand_int__", BIT_OFFSET, "1"), prep="bits",
    ),
    Scenario(
        "getbit_p1", "GETBIT P1, 100,000 keys of 128 B", "getbit", 1, 50, 3,
        pilot_n=20_000, quick_n=20_000,
        command=("GETBIT", BIT_KEY_PREFIX + "__rand_int__", BIT_OFFSET), prep="bits",
    ),
    Scenario(
        "getbit_p16", "GETBIT P16, 100,000 keys of 128 B", "getbit", 16, 50, 3,
        pilot_n=200_000, quick_n=100_000,
        command=("GETBIT", BIT_KEY_PREFIX + "__rand_int__", BIT_OFFSET), prep="bits",
    ),
    Scenario(
        "pfadd_p1", "PFADD P1, 1 random element into a dense HLL", "pfadd", 1, 50, 3,
        pilot_n=20_000, quick_n=20_000,
        command=("PFADD", HLL_KEY, "e:__rand_int__"), prep="hll",
    ),
    Scenario(
        "pfadd_p16", "PFADD P16, 1 random element into a dense HLL", "pfadd", 16, 50, 3,
        pilot_n=200_000, quick_n=100_000,
        command=("PFADD", HLL_KEY, "e:__rand_int__"), prep="hll",
    ),
    Scenario(
        "bitcount_p1", "BITCOUNT P1, 1 KiB bitmap", "bitcount", 1, 50, 3,
        pilot_n=20_000, quick_n=20_000,
        command=("BITCOUNT", BITCOUNT_KEY), prep="bitcount",
    ),
    Scenario(
        "bitcount_p16", "BITCOUNT P16, 1 KiB bitmap", "bitcount", 16, 50, 3,
        pilot_n=200_000, quick_n=100_000,
        command=("BITCOUNT", BITCOUNT_KEY), prep="bitcount",
    ),
    Scenario(
        "evalsha_ratelimit_p1", "EVALSHA token bucket P1, 100,000 callers", "evalsha", 1, 50, 3,
        pilot_n=20_000, quick_n=20_000,
        command=("EVALSHA", script_sha(RATE_LIMITER), "1", "rl:__rand_int__", "10"), prep="scripts",
    ),
    Scenario(
        "evalsha_ratelimit_p16", "EVALSHA token bucket P16, 100,000 callers", "evalsha", 16, 50, 3,
        pilot_n=100_000, quick_n=50_000,
        command=("EVALSHA", script_sha(RATE_LIMITER), "1", "rl:__rand_int__", "10"), prep="scripts",
    ),
    Scenario(
        "evalsha_10keys_p1", "EVALSHA INCR of 10 keys P1", "evalsha", 1, 50, 3,
        pilot_n=20_000, quick_n=20_000,
        command=("EVALSHA", script_sha(TEN_KEYS), "10",
                 *(f"k{i}:__rand_int__" for i in range(10))), prep="scripts",
    ),
]  # fmt: skip


# TLS rows (`--only tls`): -n fixed per scenario (TLS handshakes make a pilot run costly).
TLS_SCENARIOS = [
    Scenario("tls_set_p1_d3", "TLS SET P1, 3 B", "set", 1, 50, 3, pilot_n=100_000, quick_n=20_000),
    Scenario("tls_set_p16_d3", "TLS SET P16, 3 B", "set", 16, 50, 3, pilot_n=500_000, quick_n=100_000),
    Scenario("tls_get_p1_d3", "TLS GET P1, 3 B", "get", 1, 50, 3, pilot_n=100_000, quick_n=20_000),
    Scenario("tls_get_p16_d3", "TLS GET P16, 3 B", "get", 16, 50, 3, pilot_n=500_000, quick_n=100_000),
]  # fmt: skip


def selected_scenarios(spec: str | None) -> list[Scenario]:
    """The scenarios `--scenarios` names (each item a key or a key prefix), in table order."""
    if spec is None:
        return list(SCENARIOS)
    items = [item.strip() for item in spec.split(",") if item.strip()]
    for item in items:
        if not any(sc.key.startswith(item) for sc in SCENARIOS):
            raise ValueError(f"--scenarios: no scenario key starts with {item!r}")
    return [sc for sc in SCENARIOS if any(sc.key.startswith(item) for item in items)]


class Comparison:
    def __init__(self, args: argparse.Namespace, servers: Servers) -> None:
        self.args = args
        self.servers = servers
        self.live: dict[str, Server] = {}
        self.failures: list[str] = []
        self.result: dict[str, Any] = {"throughput": {}, "pilot": {}, "latency": {}, "memory": {}}
        self.scenarios = selected_scenarios(args.scenarios)

    def note_failure(self, what: str, rec: dict[str, Any]) -> None:
        if "error" in rec:
            msg = f"{what}: {rec['error']}"
            self.failures.append(msg)
            log("FAILED " + msg)

    def order(self, names: tuple[str, ...], flip: bool) -> list[str]:
        return list(reversed(names)) if flip else list(names)

    def prepare_gets(self, sc: Scenario, done: set[tuple[str, int]]) -> None:
        """Writes every benchmark key with this scenario's value size before its first GET."""
        for name in sc.servers:
            if (name, sc.data_size) in done:
                continue
            populate(self.live[name], bench_keys_payload(sc.data_size), KEYSPACE, pinned=name != "ferrokv-2t")
            done.add((name, sc.data_size))

    def bench_pass(self, n_for: Callable[[Scenario], int], rep: int, sink: str) -> None:
        # SETs of another value size overwrite the keys, so GETs re-populate once per pass/size.
        populated: set[tuple[str, int]] = set()
        scenarios = self.scenarios
        for i, sc in enumerate(scenarios):
            if sc.test == "get":
                self.prepare_gets(sc, populated)
            elif sc.prep:
                # Loaded before the first of a run of scenarios sharing the step.
                if i == 0 or scenarios[i - 1].prep != sc.prep:
                    for name in sc.servers:
                        PREPS[sc.prep].load(self.live[name], name != "ferrokv-2t")
            else:
                populated = {p for p in populated if p[1] == sc.data_size}
            n = n_for(sc)
            timeout = max(120.0, 30 * self.args.seconds)
            for name in self.order(sc.servers, (rep + i) % 2 == 1):
                srv = self.live[name]
                rec = redis_benchmark(srv, sc, n, pinned=name != "ferrokv-2t", timeout=timeout)
                rec["rep"] = rep
                self.result[sink].setdefault(sc.key, {}).setdefault(name, []).append(rec)
                self.note_failure(f"{sc.label} on {name} (rep {rep})", rec)
                if not srv.alive():
                    raise SetupError(f"{name} died during {sc.label}; log:\n{srv.log_tail()}")
                shown = f"{rec['rps']:,.0f} req/s" if "rps" in rec else "FAILED"
                log(f"{sink} rep {rep} {sc.label:<26} {name:<10} n={n:<9} {shown}")
            if sc.prep and (i + 1 == len(scenarios) or scenarios[i + 1].prep != sc.prep):
                # Later loads check DBSIZE: take the step's keys away again (a FLUSHALL may
                # take the GET keys too, so those are loaded again when needed).
                for name in sc.servers:
                    PREPS[sc.prep].clear(self.live[name])
                populated.clear()

    def calibrate(self) -> dict[str, int]:
        """-n per scenario so a run lasts about --seconds (same -n for every server)."""
        ns: dict[str, int] = {}
        if self.args.quick:
            return {sc.key: sc.quick_n for sc in self.scenarios}
        self.bench_pass(lambda sc: sc.pilot_n, rep=0, sink="pilot")
        for sc in self.scenarios:
            rates = [r["rps"] for runs in self.result["pilot"][sc.key].values() for r in runs if "rps" in r]
            rps = statistics.mean(rates) if rates else sc.pilot_n / self.args.seconds
            ns[sc.key] = max(20 * sc.clients, 10_000, int(rps * self.args.seconds / 10_000) * 10_000)
        return ns

    def throughput(self) -> None:
        for name, start in (
            ("ferrokv", lambda: self.servers.ferrokv("ferrokv", threads=1, pinned=True)),
            ("redis", lambda: self.servers.redis("redis")),
            ("ferrokv-2t", lambda: self.servers.ferrokv("ferrokv-2t", threads=2, pinned=False)),
        ):
            if any(name in sc.servers for sc in self.scenarios):
                self.live[name] = start()
        ns = self.calibrate()
        self.result["n"] = ns
        for rep in range(self.args.reps):
            self.bench_pass(lambda sc: ns[sc.key], rep=rep, sink="throughput")

    def latency(self) -> None:
        rate = self.args.rate
        if rate is None:
            redis_get = median([r.get("rps") for r in self.result["throughput"]["get_p1_d3"]["redis"]])
            if redis_get is None:
                raise SetupError("no Redis P1 GET result to derive the load-test rate from; pass --rate")
            rate = max(1000.0, round(redis_get * 0.5 / 1000) * 1000)
        self.result["latency_rate"] = rate
        # The load test checks GET replies are 'x' * 3: restore 3-byte values first.
        for name in ("ferrokv", "redis"):
            populate(self.live[name], bench_keys_payload(3), KEYSPACE)
        for rep in range(self.args.reps):
            for name in self.order(("ferrokv", "redis"), rep % 2 == 1):
                rec = loadtest(self.live[name], rate, self.args.duration)
                rec["rep"] = rep
                self.result["latency"].setdefault(name, []).append(rec)
                self.note_failure(f"load test on {name} (rep {rep})", rec)
                if "p99_us" in rec:
                    log(
                        f"latency rep {rep} {name:<8} rate {rate:,.0f}/s achieved "
                        f"{rec['throughput_rps']:,.0f}/s p99 {rec['p99_us']} us p99.9 {rec['p999_us']} us"
                    )

    def memory(self) -> None:
        payload = memory_payload()
        for rep in range(self.args.reps):
            for name in self.order(("ferrokv", "redis"), rep % 2 == 1):
                if name == "ferrokv":
                    srv = self.servers.ferrokv("ferrokv-mem", threads=1, pinned=True)
                else:
                    srv = self.servers.redis("redis-mem")
                rec: dict[str, Any] = {"rep": rep}
                try:
                    rec["rss_before_kb"] = srv.rss_kb()
                    populate(srv, payload, MEMORY_KEYS)
                    rec["dbsize"] = MEMORY_KEYS
                    rec["rss_after_kb"] = srv.rss_kb()
                    rec["bytes_per_key"] = (rec["rss_after_kb"] - rec["rss_before_kb"]) * 1024 / MEMORY_KEYS
                    log(f"memory rep {rep} {name:<8} {rec['bytes_per_key']:.1f} bytes/key")
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    rec["error"] = str(e)
                finally:
                    self.servers.stop(srv)
                self.result["memory"].setdefault(name, []).append(rec)
                self.note_failure(f"memory on {name} (rep {rep})", rec)

    def tls(self) -> None:
        """SET/GET at -P 1 and -P 16 over TLS (redis-benchmark --tls, client certificates),
        ferrokv --threads 1 and redis-server both pinned with a `tls-port`; certificates made
        with the openssl CLI (P-256, a CA, server and client certificates)."""
        certs = Path(tempfile.mkdtemp(prefix="bench-tls-", dir=self.servers.log_dir))
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        subj = lambda cn: ["-subj", f"/CN={cn}"]  # noqa: E731
        steps = [["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", *subj("bench-ca")]]
        (certs / "ext.cnf").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
        )
        for name in ("server", "client"):
            steps.append(["req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", *subj(name)])
            steps.append(["x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                          "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", "ext.cnf"])
        for step in steps:
            if run(["openssl", *step], T_SMALL, cwd=certs).returncode != 0:
                raise SetupError(f"openssl {' '.join(step)} failed")
        tls_ports = {"ferrokv": free_port(), "redis": free_port()}
        flags = lambda port: (  # noqa: E731
            "--tls-port", str(port), "--tls-cert-file", str(certs / "server.crt"),
            "--tls-key-file", str(certs / "server.key"), "--tls-ca-cert-file", str(certs / "ca.crt"),
        )
        self.live["ferrokv"] = self.servers.ferrokv("ferrokv-tls", extra=flags(tls_ports["ferrokv"]))
        self.live["redis"] = self.servers.redis("redis-tls", extra=flags(tls_ports["redis"]))
        client = ["--tls", "--cacert", str(certs / "ca.crt"), "--cert", str(certs / "client.crt"),
                  "--key", str(certs / "client.key")]
        self.result["tls"] = {}
        for rep in range(self.args.reps):
            for i, sc in enumerate(TLS_SCENARIOS):
                if sc.test == "get" and rep == 0:
                    for name in ("ferrokv", "redis"):
                        populate(self.live[name], bench_keys_payload(sc.data_size), KEYSPACE)
                n = sc.quick_n if self.args.quick else sc.pilot_n
                for name in self.order(("ferrokv", "redis"), (rep + i) % 2 == 1):
                    srv = self.live[name]
                    tls = ["-p", str(tls_ports[name]), *client]
                    rec = redis_benchmark(srv, sc, n, pinned=True, timeout=max(120.0, 30 * self.args.seconds), tls=tls)
                    rec["rep"] = rep
                    self.result["tls"].setdefault(sc.key, {}).setdefault(name, []).append(rec)
                    self.note_failure(f"TLS {sc.label} on {name} (rep {rep})", rec)
                    shown = f"{rec['rps']:,.0f} req/s" if "rps" in rec else "FAILED"
                    log(f"tls rep {rep} {sc.label:<26} {name:<10} n={n:<9} {shown}")
        for name in ("ferrokv", "redis"):
            self.servers.stop(self.live.pop(name))

    def persistence(self) -> None:
        import bench_persist

        ns = self.result.get("n") or {}
        bench = bench_persist.PersistBench(sys.modules[__name__], self.servers, self.args, ns)
        self.result["persistence"] = bench.run()
        self.failures += bench.failures

    def acl(self) -> None:
        import bench_acl

        bench = bench_acl.AclBench(sys.modules[__name__], self.servers, self.args)
        self.result["acl"] = bench.run()
    def eviction(self) -> None:
        import bench_eviction

        bench = bench_eviction.EvictionBench(sys.modules[__name__], self.servers, self.args)
        self.result["eviction"] = bench.run()
        self.failures += bench.failures

    def run(self) -> None:
        parts = {"persistence": self.persistence, "acl": self.acl, "eviction": self.eviction, "tls": self.tls}
        if self.args.only == "throughput":
            self.throughput()
            return
        if self.args.only is not None:
            parts[self.args.only]()
            return
        self.throughput()
        # Only the pinned pair is needed from here on.
        self.servers.stop(self.live.pop("ferrokv-2t"))
        self.latency()
        for name in ("ferrokv", "redis"):
            self.servers.stop(self.live.pop(name))
        self.memory()
        self.persistence()
        self.acl()
        self.eviction()
        self.tls()


# --------------------------------------------------------------------------- report


def medians(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "throughput_rps": {},
        "cpu_us_per_req": {},
        "latency_us": {},
        "memory_bytes_per_key": {},
    }
    for key, per in result["throughput"].items():
        for name, runs in per.items():
            out["throughput_rps"].setdefault(key, {})[name] = median([r.get("rps") for r in runs])
            out["cpu_us_per_req"].setdefault(key, {})[name] = median([r.get("cpu_us_per_req") for r in runs])
    for name, runs in result["latency"].items():
        out["latency_us"][name] = {
            "p99": median([r.get("p99_us") for r in runs]),
            "p999": median([r.get("p999_us") for r in runs]),
            "throughput_rps": median([r.get("throughput_rps") for r in runs]),
        }
    for name, runs in result["memory"].items():
        out["memory_bytes_per_key"][name] = median([r.get("bytes_per_key") for r in runs])
    for key, per in result.get("tls", {}).items():
        for name, runs in per.items():
            out.setdefault("tls_rps", {}).setdefault(key, {})[name] = median([r.get("rps") for r in runs])
    if "persistence" in result:
        import bench_persist

        out["persistence"] = bench_persist.medians(sys.modules[__name__], result["persistence"])
    if "acl" in result:
        import bench_acl

        out["acl"] = bench_acl.medians(result["acl"])
    if "eviction" in result:
        import bench_eviction

        out["eviction"] = bench_eviction.medians(sys.modules[__name__], result["eviction"])
    return out


def fmt(v: float | None, kind: str) -> str:
    if v is None:
        return "n/a"
    if kind == "rps":
        return f"{v:,.0f}"
    if kind == "us":
        return f"{v:,.0f}"
    if kind in ("cpu", "s"):
        return f"{v:.2f}"
    return f"{v:.1f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def scenario_rows(med: dict[str, Any], scenarios: list[Scenario]) -> list[tuple[str, float | None, float | None, str]]:
    """One throughput row per redis-benchmark scenario, and one server-CPU row for each custom
    command (what the command itself costs shows there even when the client is the limit)."""
    rows: list[tuple[str, float | None, float | None, str]] = []
    tp, cpu = med["throughput_rps"], med["cpu_us_per_req"]
    for sc in scenarios:
        extra = "" if sc.clients == 50 else f" ({sc.clients} conns)"
        label = f"{sc.test.upper()} P{sc.pipeline}, {'3 B' if sc.data_size == 3 else '1 KiB'}{extra}, req/s"
        if sc.command:
            label = f"{sc.label}, req/s"
        rows.append((label, tp.get(sc.key, {}).get("ferrokv"), tp.get(sc.key, {}).get("redis"), "rps"))
    for sc in scenarios:
        if sc.command and sc.prep != "geo":
            label = f"server CPU µs per request, {sc.label} (lower is better)"
            rows.append((label, cpu.get(sc.key, {}).get("ferrokv"), cpu.get(sc.key, {}).get("redis"), "cpu"))
    return rows


def main_rows(meta: dict[str, Any], med: dict[str, Any]) -> list[tuple[str, float | None, float | None, str]]:
    rows = scenario_rows(med, SCENARIOS)
    tp, cpu = med["throughput_rps"], med["cpu_us_per_req"]
    rows.append(
        (
            "GET P16, 3 B, req/s: ferrokv 2 threads unpinned vs Redis 1 core",
            tp.get("get_p16_d3", {}).get("ferrokv-2t"),
            tp.get("get_p16_d3", {}).get("redis"),
            "rps",
        )
    )
    lat = med["latency_us"]
    rate = meta.get("latency_rate")
    for q, name in (("p99", "p99"), ("p999", "p99.9")):
        rows.append(
            (
                f"open loop {rate:,.0f} req/s SET:GET 1:10, {name} latency µs (lower is better)",
                lat.get("ferrokv", {}).get(q),
                lat.get("redis", {}).get(q),
                "us",
            )
        )
    for key, label in (("get_p1_d3", "GET P1"), ("get_p16_d3", "GET P16")):
        rows.append(
            (
                f"server CPU µs per request, {label} 3 B (lower is better)",
                cpu.get(key, {}).get("ferrokv"),
                cpu.get(key, {}).get("redis"),
                "cpu",
            )
        )
    mem = med["memory_bytes_per_key"]
    rows.append(
        (
            "memory bytes per key, 1M keys × 16 B values (lower is better)",
            mem.get("ferrokv"),
            mem.get("redis"),
            "mem",
        )
    )
    return rows


def markdown(meta: dict[str, Any], med: dict[str, Any], args: argparse.Namespace) -> str:
    rows: list[tuple[str, float | None, float | None, str]] = []
    if args.only is None:
        rows += main_rows(meta, med)
    elif args.only == "throughput":
        rows += scenario_rows(med, selected_scenarios(args.scenarios))
    for sc in TLS_SCENARIOS:
        per = med.get("tls_rps", {}).get(sc.key)
        if per:
            rows.append((f"{sc.label} (req/s)", per.get("ferrokv"), per.get("redis"), "rps"))
    if "persistence" in med:
        import bench_persist

        rows += bench_persist.rows(med["persistence"])
    if "acl" in med:
        import bench_acl

        rows += bench_acl.rows(med["acl"])
    if "eviction" in med:
        import bench_eviction

        rows += bench_eviction.rows(med["eviction"])
    lines = [
        f"## ferrokv vs Redis — {meta['date']}",
        "",
        f"- machine: {meta['machine']['nproc']} cores, {meta['machine']['model']}, "
        f"{meta['machine']['kernel']}; load average {meta['loadavg_start']} at start, "
        f"{meta['loadavg_end']} at end",
        f"- versions: ferrokv {meta['versions']['ferrokv']} (git {meta['versions']['git']}), "
        f"{meta['versions']['redis_server']}, {meta['versions']['redis_benchmark']}",
        f"- method: medians of {args.reps} alternating repetitions; servers pinned to core "
        f"{SERVER_CORE}, clients to core {CLIENT_CORE} (except the unpinned 2-thread row); "
        f"redis-benchmark -r {KEYSPACE}, 50 connections unless noted; ratio = ferrokv / redis"
        + (" — QUICK smoke run, numbers are not meaningful" if args.quick else ""),
        "",
        "| scenario | ferrokv | redis | ratio |",
        "|---|---:|---:|---:|",
    ]
    for label, f, r, kind in rows:
        lines.append(f"| {label} | {fmt(f, kind)} | {fmt(r, kind)} | {ratio(f, r)} |")
    if meta.get("failures"):
        lines += ["", "Failed runs (excluded from the medians):", ""]
        lines += [f"- {f}" for f in meta["failures"]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- setup


def ensure_tools() -> None:
    if not all(shutil.which(t) for t in ("redis-server", "redis-cli", "redis-benchmark")):
        log("redis-server/redis-tools missing: installing with apt-get")
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = sudo + ["apt-get", "install", "-y", "redis-server", "redis-tools"]
        try:
            if subprocess.run(install, timeout=T_APT, env=env).returncode != 0:
                subprocess.run(sudo + ["apt-get", "update"], timeout=T_APT, env=env, check=True)
                subprocess.run(install, timeout=T_APT, env=env, check=True)
        except (OSError, subprocess.SubprocessError) as e:
            raise SetupError(f"could not install redis-server and redis-tools: {e}") from e
    missing = [t for t in ("redis-server", "redis-cli", "redis-benchmark", "taskset") if not shutil.which(t)]
    if missing:
        raise SetupError(f"missing tools: {', '.join(missing)}")
    if (os.cpu_count() or 1) < 2:
        raise SetupError("needs at least 2 cores (server on core 0, client on core 1)")


def build(skip: bool) -> None:
    if not skip:
        log("cargo build --release --workspace")
        try:
            p = subprocess.run(["cargo", "build", "--release", "--workspace"], cwd=ROOT, timeout=T_BUILD)
        except (OSError, subprocess.SubprocessError) as e:
            raise SetupError(f"cargo build failed: {e}") from e
        if p.returncode != 0:
            raise SetupError(f"cargo build --release --workspace failed (status {p.returncode})")
    for b in (FERROKV, LOADTEST):
        if not b.exists():
            raise SetupError(f"{b} does not exist (build first)")


def machine_info() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "model": model, "kernel": f"Linux {platform.release()}"}


def loadavg() -> str:
    """1/5/15-minute load average: other work on the machine makes the numbers noisy."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def versions() -> dict[str, str]:
    git = run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], T_SMALL, text=True).stdout.strip()
    dirty = run(["git", "-C", str(ROOT), "status", "--porcelain"], T_SMALL, text=True).stdout.strip()
    return {
        "ferrokv": first_line([str(FERROKV), "--version"]),
        "git": git + ("-dirty" if dirty else ""),
        "redis_server": first_line(["redis-server", "--version"]),
        "redis_benchmark": first_line(["redis-benchmark", "--version"]),
        "loadtest": first_line([str(LOADTEST), "--version"]),
        "rustc": first_line(["rustc", "--version"]),
        "python": platform.python_version(),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Compare ferrokv and Redis 7 side by side.")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per scenario (default 3)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, small -n, short load test")
    ap.add_argument("--seconds", type=float, default=2.0, help="target seconds per redis-benchmark run")
    ap.add_argument("--rate", type=float, help="load-test rate (default: 50%% of Redis's P1 GET req/s)")
    ap.add_argument("--duration", type=float, default=10.0, help="load-test seconds per run (default 10)")
    ap.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    ap.add_argument(
        "--only", choices=["throughput", "persistence", "acl", "eviction", "tls"],
        help="run only this part of the comparison (throughput: the redis-benchmark rows)",
    )  # fmt: skip
    ap.add_argument(
        "--scenarios", metavar="KEYS",
        help="comma-separated redis-benchmark scenario keys or key prefixes (e.g. "
        "'setbit,getbit,pfadd,bitcount'); implies --only throughput. Keys: "
        + ", ".join(sc.key for sc in SCENARIOS),
    )  # fmt: skip
    ap.add_argument(
        "--persist-rate", type=float, default=20000.0,
        help="open-loop rate of the load during BGSAVE (default 20000 req/s)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.quick:
        args.reps = 1
        args.duration = min(args.duration, 2.0)
        args.seconds = min(args.seconds, 0.5)
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    if args.scenarios is not None:
        if args.only not in (None, "throughput"):
            ap.error("--scenarios selects throughput scenarios: it cannot go with --only " + args.only)
        args.only = "throughput"
        try:
            selected_scenarios(args.scenarios)
        except ValueError as e:
            ap.error(str(e))
    if args.seconds <= 0 or args.duration <= 0 or (args.rate is not None and args.rate <= 0):
        ap.error("--seconds, --duration and --rate must be positive")
    return args


def on_signal(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    servers: Servers | None = None
    try:
        ensure_tools()
        build(args.no_build)
        fd_limit = raise_fd_limit()
        if fd_limit < 2100:
            log(f"warning: open-file limit is {fd_limit}; the 1000-connection run may fail")
        meta: dict[str, Any] = {
            "date": started.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": machine_info(),
            "versions": versions(),
            "args": vars(args),
            "fd_limit": fd_limit,
            "clk_tck": CLK_TCK,
            "loadavg_start": loadavg(),
        }
        servers = Servers(OUT_DIR)
        cmp = Comparison(args, servers)
        try:
            cmp.run()
        finally:
            servers.stop_all()
        meta["loadavg_end"] = loadavg()
        meta["latency_rate"] = cmp.result.get("latency_rate")
        meta["failures"] = cmp.failures
        med = medians(cmp.result)
        md = markdown(meta, med, args)
        doc = {"meta": meta, "medians": med, "raw": cmp.result}
        text = json.dumps(doc, indent=2)
        (OUT_DIR / f"compare-{stamp}.json").write_text(text)
        (OUT_DIR / "latest.json").write_text(text)
        (OUT_DIR / "latest.md").write_text(md)
        print(md)
        log(f"wrote {OUT_DIR / f'compare-{stamp}.json'}, latest.json and latest.md")
        return 1 if cmp.failures else 0
    except SetupError as e:
        log(f"error: {e}")
        return 2
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log(f"error: {type(e).__name__}: {e}")
        return 2
    except KeyboardInterrupt:
        log("interrupted; servers stopped")
        return 130
    finally:
        if servers is not None:
            servers.stop_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
