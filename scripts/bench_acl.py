"""ACL rows of `make bench-compare` (imported by bench_compare.py, which passes itself as `bc`).

Method
------
Fresh servers pinned as in the main comparison (ferrokv `--threads 1` and Redis on the server
core, clients on the other). Both get the same restricted user, so every command goes through
the permission check with a key pattern to match:

    ACL SETUSER bench on >bench ~key:* &* +@all -@dangerous

redis-benchmark authenticates as that user (`--user bench -a bench`) and runs GET and SET with
3-byte values over the usual random keys (`key:__rand_int__`, which the pattern allows) at
pipeline 1 and 16, 50 connections. Runs alternate between the servers; medians of `--reps`.
The same runs as the default user (no check at all) are reported beside, for ferrokv's own
overhead of the check.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from types import ModuleType
from typing import Any

USER = ("ACL", "SETUSER", "bench", "on", ">bench", "~key:*", "&*", "+@all", "-@dangerous")
CASES = (  # (key, test, pipeline, n, quick n)
    ("get_p1", "get", 1, 200_000, 20_000),
    ("get_p16", "get", 16, 2_000_000, 100_000),
    ("set_p16", "set", 16, 2_000_000, 100_000),
)


class AclBench:
    def __init__(self, bc: ModuleType, servers: Any, args: Any) -> None:
        self.bc, self.servers, self.args = bc, servers, args
        self.failures: list[str] = []
        self.result: dict[str, Any] = {}

    def bench(self, srv: Any, test: str, pipeline: int, n: int, user: bool) -> dict[str, Any]:
        bc = self.bc
        cmd = bc.client_prefix(True) + [
            "redis-benchmark", "-h", "127.0.0.1", "-p", str(srv.port),
            "-t", test, "-n", str(n), "-r", str(bc.KEYSPACE), "-d", "3", "-c", "50",
            "-P", str(pipeline), "-q", "--csv",
        ] + (["--user", "bench", "-a", "bench"] if user else [])  # fmt: skip
        before = srv.cpu_ticks()
        try:
            p = bc.run(cmd, max(120.0, 30 * self.args.seconds), text=True)
        except subprocess.TimeoutExpired:
            return {"error": "redis-benchmark timed out"}
        rps = bc.parse_benchmark_csv(p.stdout, test)
        if p.returncode != 0 or rps is None:
            return {"error": f"redis-benchmark status {p.returncode}: {(p.stderr or p.stdout)[-300:]}"}
        return {"rps": rps, "cpu_us_per_req": (srv.cpu_ticks() - before) / bc.CLK_TCK * 1e6 / n}

    def run(self) -> dict[str, Any]:
        bc = self.bc
        live = {"ferrokv": self.servers.ferrokv("ferrokv-acl"), "redis": self.servers.redis("redis-acl")}
        try:
            for srv in live.values():
                bc.resp_command(srv.port, *USER)
                bc.populate(srv, bc.bench_keys_payload(3), bc.KEYSPACE)
            for rep in range(self.args.reps):
                for i, (key, test, pipeline, n, quick_n) in enumerate(CASES):
                    n = quick_n if self.args.quick else n
                    names = ["ferrokv", "redis"] if (rep + i) % 2 == 0 else ["redis", "ferrokv"]
                    for name in names:
                        for user in (True, False):
                            rec = self.bench(live[name], test, pipeline, n, user)
                            label = f"{key}{'' if user else '_default'}"
                            self.result.setdefault(label, {}).setdefault(name, []).append(rec)
                            if "error" in rec:
                                self.failures.append(f"acl {label} on {name}: {rec['error']}")
                            shown = f"{rec['rps']:,.0f} req/s" if "rps" in rec else "FAILED"
                            bc.log(f"acl rep {rep} {label:<18} {name:<8} {shown}")
                    time.sleep(0.1)
        finally:
            for srv in live.values():
                self.servers.stop(srv)
        return self.result


def medians(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, by_server in result.items():
        for name, recs in by_server.items():
            rates = [r["rps"] for r in recs if "rps" in r]
            out.setdefault(label, {})[name] = statistics.median(rates) if rates else None
    return out


def rows(med: dict[str, Any]) -> list[tuple[str, float | None, float | None, str]]:
    names = {
        "get_p1": "GET P1 as an ACL user (~key:*)",
        "get_p16": "GET P16 as an ACL user (~key:*)",
        "set_p16": "SET P16 as an ACL user (~key:*)",
    }
    out = []
    for key, label in names.items():
        for suffix, extra in (("", ""), ("_default", " — default user")):
            m = med.get(key + suffix, {})
            out.append((label + extra, m.get("ferrokv"), m.get("redis"), "rps"))
    return out
