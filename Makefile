# ferrokv — common tasks. `make run` starts the server, `make test` runs every test.
CARGO ?= cargo
PYTHON ?= python3
PORT ?= 6379
ARGS ?=

.PHONY: build release run test crash-test fault-test check-generated lint fmt bench bench-compare fuzz clean

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release --workspace

## Start the server (release build) on 127.0.0.1:$(PORT) with default settings.
run: release
	./target/release/ferrokv-server --port $(PORT) $(ARGS)

## Unit, integration, differential and tool smoke tests (needs redis-server/redis-tools for
## the differential and tool tests; they print that they are skipped otherwise).
test: check-generated
	$(CARGO) test --workspace -- --test-threads=2

## Fails, with a diff, when src/commands/docs_data.rs is not exactly what
## scripts/gen_command_docs.py generates from scripts/command_docs.json; the message says to run
## `python3 scripts/gen_command_docs.py`. Needs only python3, no network.
check-generated:
	@command -v $(PYTHON) >/dev/null || { echo "check-generated needs $(PYTHON) (apt-get install python3)" >&2; exit 1; }
	$(PYTHON) scripts/gen_command_docs.py --check

## The AOF crash loops at full length: 200 kill -9 cycles under `appendfsync always` and 50
## under `everysec`, which prints the largest age of unsynced data seen (`make test`: 20 and 5).
crash-test:
	FERROKV_CRASH_CYCLES=200 $(CARGO) test --release --test integration aof::kill_9_ -- --nocapture --test-threads 1

## The TLS fault test at full size: 10 000 clients connected at once, half of them TLS, each
## served, server RSS bounded (`make test`: 1000). Needs openssl; prints the figures.
fault-test:
	FERROKV_TLS_FAULT_CLIENTS=10000 $(CARGO) test --test integration tls::many_clients_half_tls -- --nocapture --test-threads 1

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## criterion microbenchmarks.
bench:
	$(CARGO) bench --benches

## Side-by-side comparison with Redis 7 (redis-benchmark, ferrokv-loadtest, CPU/request, memory);
## writes target/bench/latest.{md,json}. BENCH_ARGS="--quick" for a smoke run; see --help.
BENCH_ARGS ?=
bench-compare:
	python3 scripts/bench_compare.py $(BENCH_ARGS)

## Fuzz one target (needs cargo-fuzz; stable toolchain via RUSTC_BOOTSTRAP): FUZZ_TARGET=parse (the
## RESP parser, default), rdb_load (the RDB loader) or restore (RESTORE payloads); FUZZ_SECONDS=600.
FUZZ_TARGET ?= parse
FUZZ_SECONDS ?= 600
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $(FUZZ_TARGET) -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096

clean:
	$(CARGO) clean
