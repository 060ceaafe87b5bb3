"""Persistence rows of `make bench-compare` (imported by bench_compare.py, which passes itself
as `bc` so that both share one set of helpers and one server registry).

Method
------
* AOF throughput: fresh servers pinned as in the main comparison, `appendonly yes` with
  `appendfsync everysec`, then `always`, each in its own empty directory; redis-benchmark
  SET P16 3 B with the main comparison's calibrated `-n`; runs alternate, medians of `--reps`.
  The disk's fsync latency (4 KiB write + fsync, 200 times, in the same directory) is reported
  beside the `always` row, since that is what bounds it.
* Snapshots: one fresh server of each kind holds PERSIST_KEYS keys (`key:%012d`, 3-byte
  values, written with `redis-cli --pipe`); a first BGSAVE runs without load (its time is the
  "idle" row and the load windows' length W, at least 2 s); then for each repetition:
  - GET p99 without a save: `ferrokv-loadtest` open loop (SET:GET 1:10 over the same keys,
    `--persist-rate` req/s) for W seconds;
  - GET p99 during a save: the same load for W seconds with a BGSAVE started 0.2 s in; the
    BGSAVE time is from the command to `rdb_bgsave_in_progress:0` (polled every 20 ms);
  - extra memory: ferrokv's peak VmRSS during the save minus its VmRSS before (sampled every
    10 ms); Redis's is its fork child's copy-on-write as Redis itself reports it
    (`rdb_last_cow_size`), plus any growth of the parent.
  - RDB load time: the server is stopped and started again on its dump.rdb; time from spawn
    to the first PONG (Redis and ferrokv both answer -LOADING until then). ferrokv is also
    started unpinned with one loop per core, where one thread per loop inserts the keys (Redis
    always loads on one thread).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

PERSIST_KEYS = 5_000_000
QUICK_PERSIST_KEYS = 200_000


def fsync_latency_us(directory: Path, rounds: int = 200) -> dict[str, float]:
    path = directory / "fsync-probe"
    times = []
    with open(path, "wb") as f:
        block = b"x" * 4096
        for _ in range(rounds):
            f.write(block)
            f.flush()
            t0 = time.perf_counter()
            os.fsync(f.fileno())
            times.append((time.perf_counter() - t0) * 1e6)
    path.unlink()
    times.sort()
    return {"median": statistics.median(times), "p99": times[int(len(times) * 0.99) - 1]}


def keys_payload(bc: ModuleType, n: int) -> bytes:
    return b"".join(bc.resp_encode(b"SET", b"key:%012d" % i, b"xxx") for i in range(n))


def info_field(bc: ModuleType, port: int, section: str, field: str) -> str:
    info = bc.resp_command(port, "INFO", section)
    text = info.decode() if isinstance(info, bytes) else str(info)
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"no {field} in INFO {section}")


def fresh_dir(servers: Any, name: str) -> Path:
    d = servers.log_dir / f"bench-persist-{name}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def start(bc: ModuleType, servers: Any, kind: str, name: str, extra: tuple[str, ...]) -> Any:
    if kind == "ferrokv":
        return servers.ferrokv(name, threads=1, pinned=True, extra=extra)
    return servers.redis(name, extra=extra)


class PersistBench:
    def __init__(self, bc: ModuleType, servers: Any, args: Any, ns: dict[str, int]) -> None:
        self.bc = bc
        self.servers = servers
        self.args = args
        self.ns = ns
        self.failures: list[str] = []
        self.result: dict[str, Any] = {"aof": {}, "snapshot": {}}

    def fail(self, what: str, why: str) -> None:
        self.failures.append(f"{what}: {why}")
        self.bc.log(f"FAILED {what}: {why}")

    # ------------------------------------------------------------------ AOF throughput

    def aof(self) -> None:
        bc = self.bc
        sc = bc.Scenario("set_p16_d3", "SET P16, 3 B", "set", 16, 50, 3)
        n = self.ns.get("set_p16_d3", sc.quick_n if self.args.quick else 1_000_000)
        probe = fresh_dir(self.servers, "fsync-probe")
        self.result["fsync_us"] = fsync_latency_us(probe)
        shutil.rmtree(probe, ignore_errors=True)
        for policy in ("everysec", "always"):
            for rep in range(self.args.reps):
                for kind in (("ferrokv", "redis") if rep % 2 == 0 else ("redis", "ferrokv")):
                    d = fresh_dir(self.servers, f"aof-{kind}")
                    extra = ("--dir", str(d), "--appendonly", "yes", "--appendfsync", policy)
                    srv = start(bc, self.servers, kind, f"{kind}-aof-{policy}", extra)
                    try:
                        rec = bc.redis_benchmark(srv, sc, n, pinned=True, timeout=600.0)
                    finally:
                        self.servers.stop(srv)
                        shutil.rmtree(d, ignore_errors=True)
                    rec["rep"] = rep
                    self.result["aof"].setdefault(policy, {}).setdefault(kind, []).append(rec)
                    if "error" in rec:
                        self.fail(f"SET P16 appendfsync {policy} on {kind} (rep {rep})", rec["error"])
                    else:
                        bc.log(f"aof {policy} rep {rep} {kind:<8} {rec['rps']:,.0f} req/s")

    # ------------------------------------------------------------------ snapshots

    def snapshot(self) -> None:
        bc = self.bc
        keys = QUICK_PERSIST_KEYS if self.args.quick else PERSIST_KEYS
        self.result["snapshot_keys"] = keys
        bc.log(f"generating {keys:,} SETs")
        payload = keys_payload(bc, keys)
        for kind in ("ferrokv", "redis"):
            d = fresh_dir(self.servers, f"rdb-{kind}")
            extra = ("--dir", str(d))
            srv = start(bc, self.servers, kind, f"{kind}-rdb", extra)
            try:
                bc.populate(srv, payload, keys)
                # An idle BGSAVE first: its time sizes the load-test windows.
                idle = self.bgsave(srv)
                self.result.setdefault("bgsave_idle_s", {})[kind] = idle["bgsave_s"]
                window = max(2.0, idle["bgsave_s"])
                for rep in range(self.args.reps):
                    rec = self.one_snapshot(srv, keys, window)
                    rec["rep"] = rep
                    self.result["snapshot"].setdefault(kind, []).append(rec)
                rec = {"rdb_bytes": (d / "dump.rdb").stat().st_size}
                self.servers.stop(srv)
                t0 = time.monotonic()
                srv = start(bc, self.servers, kind, f"{kind}-rdb-load", extra)
                rec["load_s"] = time.monotonic() - t0
                size = bc.resp_command(srv.port, "DBSIZE")
                if kind == "ferrokv":
                    # Again with every core: the keys are inserted by one thread per loop.
                    self.servers.stop(srv)
                    cores = os.cpu_count() or 1
                    t0 = time.monotonic()
                    srv = self.servers.ferrokv("ferrokv-rdb-load-all", threads=cores, pinned=False, extra=extra)
                    rec["load_all_cores_s"] = time.monotonic() - t0
                    rec["cores"] = cores
                    size = min(size, bc.resp_command(srv.port, "DBSIZE"))
                if size != keys:
                    self.fail(f"RDB load on {kind}", f"DBSIZE {size} after loading, expected {keys}")
                else:
                    self.result.setdefault("load", {})[kind] = rec
                    bc.log(
                        f"rdb load {kind:<8} {rec['load_s']:.2f} s"
                        + (f" ({rec['load_all_cores_s']:.2f} s on {rec['cores']} cores)" if "cores" in rec else "")
                        + f", file {rec['rdb_bytes']:,} bytes"
                    )
            except (RuntimeError, OSError, subprocess.SubprocessError, bc.SetupError) as e:
                self.fail(f"snapshot on {kind}", str(e))
            finally:
                self.servers.stop(srv)
                shutil.rmtree(d, ignore_errors=True)

    def bgsave(self, srv: Any) -> dict[str, Any]:
        """Runs one BGSAVE to its end: its time and the peak RSS growth meanwhile."""
        bc = self.bc
        rss_before = srv.rss_kb()
        peak = rss_before
        t0 = time.monotonic()
        reply = bc.resp_command(srv.port, "BGSAVE")
        if "started" not in str(reply):
            raise RuntimeError(f"BGSAVE: {reply}")
        last_poll = 0.0
        while True:
            peak = max(peak, srv.rss_kb())
            now = time.monotonic()
            if now - last_poll >= 0.02:
                last_poll = now
                if info_field(bc, srv.port, "persistence", "rdb_bgsave_in_progress") == "0":
                    break
            if now - t0 > 600:
                raise RuntimeError("BGSAVE did not end within 600 s")
            time.sleep(0.01)
        elapsed = time.monotonic() - t0
        if info_field(bc, srv.port, "persistence", "rdb_last_bgsave_status") != "ok":
            raise RuntimeError("BGSAVE failed")
        cow = int(info_field(bc, srv.port, "persistence", "rdb_last_cow_size"))
        return {"bgsave_s": elapsed, "extra_rss_bytes": (peak - rss_before) * 1024 + cow}

    def one_snapshot(self, srv: Any, keys: int, window: float) -> dict[str, Any]:
        """The open-loop load for `window` seconds alone, then again with a BGSAVE."""
        bc = self.bc
        rate = self.args.persist_rate
        base = bc.loadtest(srv, rate, window, keyspace=keys)
        if "error" in base:
            self.fail(f"load test on {srv.name}", base["error"])
        rec: dict[str, Any] = {"p99_without_us": base.get("p99_us")}
        load: dict[str, Any] = {}
        runner = threading.Thread(
            target=lambda: load.update(bc.loadtest(srv, rate, window, keyspace=keys)), daemon=True
        )
        runner.start()
        time.sleep(0.2)
        rec.update(self.bgsave(srv))
        runner.join()
        rec["p99_during_us"] = load.get("p99_us")
        if "error" in load:
            self.fail(f"load test during BGSAVE on {srv.name}", load["error"])
        bc.log(
            f"bgsave {srv.name:<12} {rec['bgsave_s']:.2f} s, extra memory "
            f"{rec['extra_rss_bytes'] / 2**20:,.0f} MiB, GET p99 during {rec['p99_during_us']} us"
            f" (without {rec['p99_without_us']} us)"
        )
        return rec

    def run(self) -> dict[str, Any]:
        self.aof()
        self.snapshot()
        return self.result


def medians(bc: ModuleType, result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"aof_rps": {}, "snapshot": {}, "load_s": {}}
    for policy, per in result.get("aof", {}).items():
        for kind, runs in per.items():
            out["aof_rps"].setdefault(policy, {})[kind] = bc.median([r.get("rps") for r in runs])
    for kind, runs in result.get("snapshot", {}).items():
        out["snapshot"][kind] = {
            k: bc.median([r.get(k) for r in runs])
            for k in ("bgsave_s", "extra_rss_bytes", "p99_during_us", "p99_without_us")
        }
    for kind, rec in result.get("load", {}).items():
        out["load_s"][kind] = rec.get("load_s")
        if "cores" in rec:
            out["load_all_cores"] = {"seconds": rec["load_all_cores_s"], "cores": rec["cores"]}
    out["bgsave_idle_s"] = result.get("bgsave_idle_s")
    out["fsync_us"] = result.get("fsync_us")
    out["snapshot_keys"] = result.get("snapshot_keys")
    return out


def rows(med: dict[str, Any]) -> list[tuple[str, float | None, float | None, str]]:
    """(label, ferrokv, redis, kind) rows for the markdown table."""
    aof, snap, load = med.get("aof_rps", {}), med.get("snapshot", {}), med.get("load_s", {})
    fsync = med.get("fsync_us") or {}
    keys = med.get("snapshot_keys") or 0
    out: list[tuple[str, float | None, float | None, str]] = [
        (
            "SET P16, 3 B, appendonly yes, appendfsync everysec, req/s",
            aof.get("everysec", {}).get("ferrokv"),
            aof.get("everysec", {}).get("redis"),
            "rps",
        ),
        (
            f"SET P16, 3 B, appendonly yes, appendfsync always, req/s (disk fsync "
            f"{fsync.get('median', 0):,.0f} µs median)",
            aof.get("always", {}).get("ferrokv"),
            aof.get("always", {}).get("redis"),
            "rps",
        ),
    ]
    f, r = snap.get("ferrokv", {}), snap.get("redis", {})
    mib = lambda v: None if v is None else v / 2**20  # noqa: E731
    out += [
        (
            f"BGSAVE of {keys:,} keys, idle, seconds (lower is better)",
            (med.get("bgsave_idle_s") or {}).get("ferrokv"),
            (med.get("bgsave_idle_s") or {}).get("redis"),
            "s",
        ),
        (f"BGSAVE of {keys:,} keys under load, seconds (lower is better)", f.get("bgsave_s"), r.get("bgsave_s"), "s"),
        (
            f"BGSAVE of {keys:,} keys, extra memory MiB (ferrokv peak RSS growth; Redis fork CoW; lower is better)",
            mib(f.get("extra_rss_bytes")),
            mib(r.get("extra_rss_bytes")),
            "mem",
        ),
        ("GET p99 µs during BGSAVE (lower is better)", f.get("p99_during_us"), r.get("p99_during_us"), "us"),
        ("GET p99 µs, same load without BGSAVE (lower is better)", f.get("p99_without_us"), r.get("p99_without_us"), "us"),
        (f"RDB load of {keys:,} keys at start-up, seconds (lower is better)", load.get("ferrokv"), load.get("redis"), "s"),
    ]
    every = med.get("load_all_cores")
    if every:
        out.append(
            (
                f"RDB load of {keys:,} keys: ferrokv {every['cores']} threads unpinned vs Redis 1 core, "
                "seconds (lower is better)",
                every["seconds"],
                load.get("redis"),
                "s",
            )
        )
    return out
