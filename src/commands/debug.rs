//! DEBUG: Redis 7.0's testing and introspection command, for the subcommands test suites and
//! clients use.
//!
//! | subcommand | what it does here |
//! |---|---|
//! | `HELP` | Redis's help text, verbatim |
//! | `DIGEST`, `DIGEST-VALUE key...` | Redis's exact SHA-1 digests of the dataset / values |
//! | `OBJECT key` | Redis's line: address, refcount, encoding, serialized length, LRU, `ql_*` |
//! | `RELOAD [MERGE] [NOFLUSH] [NOSAVE]` | save the RDB, empty the keyspace, load it back |
//! | `SET-ACTIVE-EXPIRE 0\|1` | stop / restart the expiry thread's sweeps |
//! | `QUICKLIST-PACKED-THRESHOLD size` | validated and kept (see below) |
//! | `LISTPACK key`, `QUICKLIST key [0\|1]` | the encoding checks and replies of Redis |
//! | `PROTOCOL type` | Redis's test values in RESP3, or its RESP2 downgrade |
//! | `POPULATE count [prefix] [size]` | `prefix:N` string keys, not propagated |
//! | `CHANGE-REPL-ID`, `STRINGMATCH-TEST`, `LOG msg`, `ERROR msg` | as Redis |
//! | `HTSTATS dbid`, `HTSTATS-KEY key` | Redis's `dictGetStats` text for our tables ([`crate::store::htstats`]) |
//! | `LOADAOF` | write out the AOF buffer, empty the dataset, load the AOF files back (exit 1 on failure, as Redis) |
//!
//! Anything else (or a known subcommand with the wrong number of arguments) is Redis's
//! `unknown subcommand or wrong number of arguments` error.
//!
//! DEBUG is `protected`: whether a client may run it at all (`enable-debug-command`) is decided
//! at dispatch ([`super::call()`]), never here.
//!
//! # Digests
//! Redis's `computeDatasetDigest` / `xorObjectDigest`, reproduced byte for byte so that a
//! digest taken here equals redis-server's for the same data: ordered things (a string, a
//! list's elements, each database's id) are *mixed* (`d = SHA1(d ^ SHA1(x))`), unordered
//! things (keys, set members, hash fields, zset elements) are *xored*. Every stored key counts,
//! expired or not yet swept, as Redis walks its `dict`; a key with a TTL adds
//! `"!!expire!!"` (not the time). The walk takes one shard at a time, so a digest taken while
//! other clients write is of no single instant (Redis is single-threaded; inside MULTI the
//! shards are all held).
//!
//! # Lists in DEBUG OBJECT
//! ferrokv's lists are chunked deques, not quicklists; the `ql_*` figures are those of the
//! quicklist Redis builds by pushing the same elements at the tail (its node-fill rules with
//! `list-max-listpack-size` and the packed threshold), which is what Redis reports after
//! RPUSHes. (Redis fixes a list's fill when it creates the list; here the setting is read
//! when DEBUG OBJECT runs.) `serializedlength` is the length of our RDB encoding of the value,
//! which equals Redis's except where LZF compresses (strings over 20 bytes, packed blobs):
//! our compressor's output differs from Redis's `lzf_compress`. `QUICKLIST-PACKED-THRESHOLD` only changes those figures: a large element needs no
//! node of its own here.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::flags::*;
use super::{args, clients, errors, spec, CommandSpec, Ctx, Group};
use crate::persist;
use crate::store::htstats::{TableStats, CHAIN_CELLS};
use crate::store::{Entry, Value};
use crate::util::num::{format_f64, parse_i64};
use crate::util::sha1::{hex, sha1};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name     arity flags                                                            group          keys     handler
    spec("debug",  -2,  KEYSPACE_WIDE | ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED, Group::Server, 0, 0, 0, debug),
];

const NO_SUCH_KEY: &str = "ERR no such key";
const RELOAD_OPTIONS: &str =
    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.";
const RELOAD_LOAD_FAILED: &str = "ERR Error trying to load the RDB dump";
const OUT_OF_RANGE_DB: &str = "ERR Out of range database";
const NOT_HASH_TABLE: &str =
    "ERR The value stored at the specified key is not represented using an hash table";
const NOT_LISTPACK: &str = "ERR Not a listpack encoded object.";
const NOT_QUICKLIST: &str = "ERR Not a quicklist encoded object.";
const PACKED_THRESHOLD_RANGE: &str =
    "ERR argument must be a memory value bigger than 1 and smaller than 4gb";
const PROTOCOL_TYPES: &str = "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false";
const PUSH_NEEDS_RESP3: &str = "ERR RESP2 is not supported by this command";

/// Redis's DEBUG HELP lines (the build with jemalloc, as redis-server's and ours).
const HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
];

/// # Format
/// `DEBUG <subcommand> [arg ...]` — see the module doc. As Redis, a subcommand is recognised
/// by its name *and* its number of arguments.
fn debug(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let sub = argv[1].to_ascii_lowercase();
    match (sub.as_slice(), argv.len()) {
        (b"help", 2) => clients::help_reply(ctx, &argv[0], HELP),
        (b"log", 3) => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&argv[2]));
            ctx.out.ok();
        }
        (b"reload", _) => reload(ctx, argv),
        (b"object", 3) => object(ctx, &argv[2]),
        (b"listpack", 3) => encoding_check(ctx, &argv[2], "listpack", NOT_LISTPACK),
        (b"quicklist", 3 | 4) => encoding_check(ctx, &argv[2], "quicklist", NOT_QUICKLIST),
        (b"populate", 3..=5) => populate(ctx, argv),
        (b"digest", 2) => {
            let d = dataset_digest(ctx);
            ctx.out.simple(&hex(&d));
        }
        (b"digest-value", _) => digest_values(ctx, &argv[2..]),
        (b"protocol", 3) => protocol(ctx, &argv[2]),
        (b"set-active-expire", 3) => {
            let on = atoi(&argv[2]) != 0;
            ctx.srv.settings.active_expire.store(on, Ordering::Relaxed);
            ctx.out.ok();
        }
        (b"quicklist-packed-threshold", 3) => {
            let size = std::str::from_utf8(&argv[2])
                .ok()
                .and_then(crate::config::parse_memory);
            match size.and_then(set_packed_threshold) {
                Some(()) => ctx.out.ok(),
                None => ctx.out.error(PACKED_THRESHOLD_RANGE),
            }
        }
        (b"error", 3) => {
            // Sent as given (CR and LF made spaces), without the `ERR` code Redis's other
            // errors get, and not counted as an error of DEBUG (Redis writes it raw).
            ctx.reply_is_raw_error();
            let out = &mut ctx.out.buf;
            out.extend_from_slice(b"-");
            out.extend(
                argv[2]
                    .iter()
                    .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
            out.extend_from_slice(b"\r\n");
        }
        (b"change-repl-id", 2) => {
            tracing::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
            *ctx.srv.replid.lock() = random_replid();
            ctx.out.ok();
        }
        (b"sleep", 3) => sleep(ctx, &argv[2]),
        (b"htstats", 3) => htstats(ctx, &argv[2]),
        (b"htstats-key", 3) => htstats_key(ctx, &argv[2]),
        (b"loadaof", _) => loadaof(ctx),
        (b"stringmatch-test", 2) => {
            stringmatch_fuzz();
            ctx.out
                .simple("Apparently Redis did not crash: test passed");
        }
        _ => ctx.out.error(errors::concat(&[
            b"ERR unknown subcommand or wrong number of arguments for '",
            errors::c_str(&argv[1], 128),
            b"'. Try ",
            &errors::c_str(&argv[0], usize::MAX).to_ascii_uppercase(),
            b" HELP.",
        ])),
    }
}

/// # Format
/// `DEBUG HTSTATS dbid` — Redis's text for the database's key table and its expires table
/// (see [`crate::store::htstats`] for what ours are), as a verbatim string.
fn htstats(ctx: &mut Ctx<'_>, dbid: &[u8]) {
    let Some(dbid) = parse_i64(dbid) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let store = ctx.store();
    let Some(db) = usize::try_from(dbid).ok().filter(|&d| d < store.len()) else {
        return ctx.out.error(OUT_OF_RANGE_DB);
    };
    let (keys, expires) = store.db(db).table_stats();
    let mut text = String::from("[Dictionary HT]\n");
    ht_stats_text(&mut text, &keys);
    text.push_str("[Expires HT]\n");
    ht_stats_text(&mut text, &expires);
    ctx.out.verbatim(text.as_bytes());
}

/// # Format
/// `DEBUG HTSTATS-KEY key` — the same text for the hash table of a set or hash with the
/// `hashtable` encoding, or a sorted set with `skiplist`; an error for any other value.
fn htstats_key(ctx: &mut Ctx<'_>, key: &[u8]) {
    // Redis's `objectCommandLookup`: an expired key is missing; a hit or miss is counted.
    let stats = ctx.db().peek(key, ctx.now, |e| match &e.value {
        Value::Set(s) => s.table_stats(),
        Value::Hash(h) => h.table_stats(),
        Value::ZSet(z) => z.table_stats(),
        _ => None,
    });
    ctx.count_lookup(stats.is_some());
    match stats {
        None => ctx.out.error(NO_SUCH_KEY),
        Some(None) => ctx.out.error(NOT_HASH_TABLE),
        Some(Some(s)) => {
            let mut text = String::new();
            ht_stats_text(&mut text, &s);
            ctx.out.verbatim(text.as_bytes());
        }
    }
}

/// Redis's `_dictGetStatsHt` for the main table (ours never has a rehashing target): its
/// layout, and its arithmetic in `float` as C does it.
fn ht_stats_text(out: &mut String, s: &TableStats) {
    use std::fmt::Write as _;
    out.push_str("Hash table 0 stats (main hash table):\n");
    if s.elements == 0 {
        out.push_str("No stats available for empty dictionaries\n");
        return;
    }
    let _ = write!(
        out,
        " table size: {}\n number of elements: {}\n different slots: {}\n \
         max chain length: {}\n avg chain length (counted): {:.2}\n \
         avg chain length (computed): {:.2}\n Chain length distribution:\n",
        s.size,
        s.elements,
        s.slots,
        s.max_chain,
        s.total_chain as f32 / s.slots as f32,
        s.elements as f32 / s.slots as f32,
    );
    for (len, &n) in s.chains[..CHAIN_CELLS - 1].iter().enumerate() {
        if n != 0 {
            let pct = (n as f32 / s.size as f32) * 100.0;
            let _ = writeln!(out, "   {len}: {n} ({pct:.2}%)");
        }
    }
}

/// # Format
/// `DEBUG LOADAOF` — writes out what the AOF has buffered, empties the dataset and loads it
/// back from the AOF files on disk (also with `appendonly no`, from the files a BGREWRITEAOF
/// wrote). As Redis 7.0, a load that fails — no AOF on disk included — ends the server with
/// exit status 1: the dataset is gone by then. Not propagated.
fn loadaof(ctx: &mut Ctx<'_>) {
    ctx.prevent_propagation();
    match super::aof::load_again(ctx) {
        Ok(()) => {
            tracing::warn!("Append Only File loaded by DEBUG LOADAOF");
            ctx.out.ok();
        }
        Err(e) => {
            tracing::error!(error = %e, "DEBUG LOADAOF could not load the AOF; exiting");
            std::process::exit(1);
        }
    }
}

/// C's `atoi`: optional spaces and sign, then digits up to the first other byte; 0 if none.
fn atoi(arg: &[u8]) -> i64 {
    let s = arg.trim_ascii_start();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, &b| {
            n.wrapping_mul(10).wrapping_add(i64::from(b - b'0'))
        });
    if neg {
        n.wrapping_neg()
    } else {
        n
    }
}

// ---------------------------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------------------------

/// A 20-byte SHA-1 digest.
pub type Digest = [u8; 20];

/// Redis's `xorDigest`: `d ^= SHA1(data)` (order-independent accumulation).
pub fn xor_digest(d: &mut Digest, data: &[u8]) {
    for (a, b) in d.iter_mut().zip(sha1(data)) {
        *a ^= b;
    }
}

/// Redis's `mixDigest`: `d = SHA1(d ^ SHA1(data))` (order-dependent accumulation).
pub fn mix_digest(d: &mut Digest, data: &[u8]) {
    xor_digest(d, data);
    *d = sha1(d);
}

/// Redis's object type numbers (`OBJ_STRING`, ...), which the digest mixes in.
fn type_code(v: &Value) -> u32 {
    match v {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
    }
}

/// Redis's `xorObjectDigest`: mixes `value` (and whether it has a TTL) into `d`.
pub fn mix_value(d: &mut Digest, value: &Value, volatile: bool) {
    mix_digest(d, &type_code(value).to_be_bytes());
    match value {
        Value::Str(s) => mix_digest(d, s),
        Value::List(l) => l.iter().for_each(|e| mix_digest(d, e)),
        Value::Set(s) => s.iter().for_each(|m| m.with_bytes(|b| xor_digest(d, b))),
        Value::ZSet(z) => {
            for (member, score) in z.iter() {
                let mut e = [0u8; 20];
                mix_digest(&mut e, member);
                mix_digest(&mut e, format_f64(score).as_bytes());
                xor_digest(d, &e);
            }
        }
        Value::Hash(h) => {
            for (field, v) in h.iter() {
                let mut e = [0u8; 20];
                mix_digest(&mut e, field);
                mix_digest(&mut e, v);
                xor_digest(d, &e);
            }
        }
    }
    if volatile {
        xor_digest(d, b"!!expire!!");
    }
}

/// One key's part of the dataset digest: the key mixed, then its value.
pub fn key_digest(key: &[u8], entry: &Entry) -> Digest {
    let mut d = [0u8; 20];
    mix_digest(&mut d, key);
    mix_value(&mut d, &entry.value, entry.is_volatile());
    d
}

/// Folds database `db`'s key digests into the dataset digest `total` (Redis mixes the id of a
/// database that has keys, then xors in the SHA-1 of each key's digest — `xorDigest` hashes
/// what it is given); an empty database changes nothing.
pub fn fold_db(total: &mut Digest, db: usize, keys: impl IntoIterator<Item = Digest>) {
    let mut acc = [0u8; 20];
    let mut any = false;
    for k in keys {
        any = true;
        xor_digest(&mut acc, &k);
    }
    if any {
        mix_digest(total, &(db as u32).to_be_bytes());
        for (a, b) in total.iter_mut().zip(acc) {
            *a ^= b;
        }
    }
}

/// `DEBUG DIGEST`: every database in order; all zeros for an empty dataset.
fn dataset_digest(ctx: &Ctx<'_>) -> Digest {
    let store = ctx.store();
    let mut total = [0u8; 20];
    for j in 0..store.len() {
        let mut keys = Vec::new();
        store
            .db(j)
            .for_each_stored(|k, e| keys.push(key_digest(k, e)));
        fold_db(&mut total, j, keys);
    }
    total
}

/// # Format
/// `DEBUG DIGEST-VALUE [key ...]` — per key, the digest of its value alone (all zeros for a
/// missing key). Logically expired keys still count, as in Redis.
fn digest_values(ctx: &mut Ctx<'_>, keys: &[Bytes]) {
    ctx.out.array(keys.len());
    for key in keys {
        let d = ctx.db().inspect(key, |e| {
            let mut d = [0u8; 20];
            if let Some(e) = e {
                mix_value(&mut d, &e.value, e.is_volatile());
            }
            d
        });
        ctx.out.simple(&hex(&d));
    }
}

// ---------------------------------------------------------------------------------------------
// OBJECT, LISTPACK, QUICKLIST
// ---------------------------------------------------------------------------------------------

/// Redis's `packed_threshold` (process-wide, as in Redis): elements at least this long get a
/// quicklist node of their own.
static PACKED_THRESHOLD: AtomicU64 = AtomicU64::new(DEFAULT_PACKED_THRESHOLD);
const DEFAULT_PACKED_THRESHOLD: u64 = 1 << 30;

/// Redis's `quicklistisSetPackedThreshold`: 0 restores the default; above 4 GB less 1 MB is
/// refused (`None`).
fn set_packed_threshold(size: u64) -> Option<()> {
    if size > (1u64 << 32) - (1 << 20) {
        return None;
    }
    let size = if size == 0 {
        DEFAULT_PACKED_THRESHOLD
    } else {
        size
    };
    PACKED_THRESHOLD.store(size, Ordering::Relaxed);
    Some(())
}

/// # Format
/// `DEBUG OBJECT key` — `+Value at:<addr> refcount:1 encoding:<enc> serializedlength:<n>
/// lru:<clock> lru_seconds_idle:<s>`, lists adding Redis's `ql_*` fields. The key is found as
/// stored (an expired key not yet swept too), as Redis's `dictFind`.
fn object(ctx: &mut Ctx<'_>, key: &[u8]) {
    let now = ctx.now;
    let compress = ctx.srv.persistence.settings().compression;
    let line = ctx
        .db()
        .inspect(key, |e| e.map(|e| object_line(e, now, compress)));
    match line {
        Some(line) => ctx.out.simple(&line),
        None => ctx.out.error(NO_SUCH_KEY),
    }
}

fn object_line(e: &Entry, now_ms: u64, compress: bool) -> String {
    let mut body = Vec::new();
    persist::rdb::encode::Encoder::new(compress).value(&mut body, &e.value);
    let (lru, idle) = lru_fields(e, now_ms);
    let mut line = format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        &e.value as *const Value,
        e.value.encoding(),
        body.len(),
        lru,
        idle
    );
    if let Value::List(l) = &e.value {
        let fill = crate::store::types::limits::find("list-max-listpack-size")
            .map_or(-2, |l| l.get())
            .clamp(-5, (1 << 15) - 1);
        let compressed =
            crate::store::types::limits::find("list-compress-depth").is_some_and(|l| l.get() != 0);
        let (nodes, bytes) =
            quicklist_shape(l.iter(), fill, PACKED_THRESHOLD.load(Ordering::Relaxed));
        let avg = if nodes == 0 {
            0.0
        } else {
            l.len() as f64 / nodes as f64
        };
        line.push_str(&format!(
            " ql_nodes:{nodes} ql_avg_node:{avg:.2} ql_listpack_max:{fill} ql_compressed:{} ql_uncompressed_size:{bytes}",
            u8::from(compressed)
        ));
    }
    line
}

/// Redis's `lru` field (the 24-bit LRU clock of the last access, in seconds; under an LFU
/// policy the minutes-and-counter word) and `lru_seconds_idle`.
fn lru_fields(e: &Entry, now_ms: u64) -> (u64, u64) {
    const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;
    let clock = (now_ms / 1000) & LRU_CLOCK_MAX;
    if crate::memory::policy::lfu() {
        let minutes = (now_ms / 60_000) & 0xFFFF;
        let lru = (minutes << 8) | u64::from(e.freq());
        // Redis reads the LFU word as an LRU clock here: a meaningless but stable figure.
        let idle = if clock >= lru {
            clock - lru
        } else {
            clock + (LRU_CLOCK_MAX - lru)
        };
        return (lru, idle);
    }
    let idle = u64::from(e.idle_secs());
    (
        (clock + LRU_CLOCK_MAX + 1 - idle % (LRU_CLOCK_MAX + 1)) & LRU_CLOCK_MAX,
        idle,
    )
}

/// The bytes a listpack spends on `element` (Redis's encodings: small integers in 1 to 9
/// bytes, strings with a 1, 2 or 5 byte header; then the back-length).
fn listpack_entry_size(element: &[u8]) -> usize {
    let encoded = match parse_i64(element) {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..=4095).contains(&v) => 2,
        Some(v) if i16::try_from(v).is_ok() => 3,
        Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => 4,
        Some(v) if i32::try_from(v).is_ok() => 5,
        Some(_) => 9,
        None if element.len() <= 63 => 1 + element.len(),
        None if element.len() <= 4095 => 2 + element.len(),
        None => 5 + element.len(),
    };
    let backlen = match encoded {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    };
    encoded + backlen
}

/// The quicklist Redis builds by pushing `items` at the tail, one by one: (nodes, the sum of
/// the nodes' sizes). Redis's `_quicklistNodeAllowInsert` decides when a node is full: a
/// negative `fill` caps a node's listpack at 4/8/16/32/64 KiB, a positive one counts entries
/// (within 8 KiB); an element of at least `threshold` bytes is a plain node of its own.
fn quicklist_shape<'a>(
    items: impl Iterator<Item = &'a [u8]>,
    fill: i64,
    threshold: u64,
) -> (usize, usize) {
    const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
    const SAFETY_LIMIT: usize = 8192;
    const ESTIMATE_OVERHEAD: usize = 8;
    const LISTPACK_EMPTY: usize = 7;
    // The tail node: (bytes, entries, plain).
    let mut tail: Option<(usize, i64, bool)> = None;
    let (mut nodes, mut total) = (0, 0);
    for item in items {
        let large = item.len() as u64 >= threshold;
        let fits = match tail {
            Some((sz, count, false)) if !large => {
                let new_sz = sz + item.len() + ESTIMATE_OVERHEAD;
                let level = usize::try_from(-fill - 1)
                    .ok()
                    .and_then(|i| OPTIMIZATION_LEVEL.get(i));
                match level {
                    Some(&limit) if new_sz <= limit => true,
                    _ => new_sz <= SAFETY_LIMIT && count < fill,
                }
            }
            _ => false,
        };
        if fits {
            let t = tail.as_mut().expect("fits only with a tail");
            let grown = listpack_entry_size(item);
            t.0 += grown;
            t.1 += 1;
            total += grown;
        } else {
            let sz = if large {
                item.len()
            } else {
                LISTPACK_EMPTY + listpack_entry_size(item)
            };
            tail = Some((sz, 1, large));
            nodes += 1;
            total += sz;
        }
    }
    (nodes, total)
}

/// # Format
/// `DEBUG LISTPACK key` / `DEBUG QUICKLIST key [0|1]` — Redis prints the structure on its
/// stdout and replies with a status; the reply (or the encoding error) is what clients see.
fn encoding_check(ctx: &mut Ctx<'_>, key: &[u8], encoding: &str, not_it: &str) {
    let found = ctx.db().peek(key, ctx.now, |e| e.value.encoding());
    ctx.count_lookup(found.is_some());
    match found {
        None => ctx.out.error(NO_SUCH_KEY),
        Some(enc) if enc != encoding => ctx.out.error(not_it),
        Some(_) if encoding == "listpack" => ctx.out.simple("Listpack structure printed on stdout"),
        Some(_) => ctx.out.simple("Quicklist structure printed on stdout"),
    }
}

// ---------------------------------------------------------------------------------------------
// RELOAD, POPULATE
// ---------------------------------------------------------------------------------------------

/// # Format
/// `DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]` — saves, empties the keyspace and loads the file
/// back. NOSAVE skips the save, NOFLUSH keeps the keyspace (a key in both is then an error,
/// unless MERGE, where the file's version wins). Nothing of it is propagated.
fn reload(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for a in &argv[2..] {
        match () {
            _ if args::is(a, "merge") => merge = true,
            _ if args::is(a, "noflush") => flush = false,
            _ if args::is(a, "nosave") => save = false,
            _ => return ctx.out.error(RELOAD_OPTIONS),
        }
    }
    ctx.prevent_propagation();
    let srv = ctx.srv;
    if save && super::persistence::save_now(srv, ctx.fx).is_err() {
        // Redis's `shared.err`: the reason is in the log.
        return ctx.out.error("ERR");
    }
    let store = ctx.store();
    if flush {
        let all: Vec<usize> = (0..store.len()).collect();
        drop(store.flush(&all));
    }
    let path = srv.persistence.settings().path();
    srv.persistence.set_loading(true);
    let loaded = persist::load::load_file(&srv.store, ctx.fx, &path, &srv.persistence, merge, 1);
    srv.persistence.set_loading(false);
    match loaded {
        Ok(_) => {
            tracing::warn!("DB reloaded by DEBUG RELOAD");
            ctx.out.ok()
        }
        Err(e) => {
            tracing::warn!(error = %e, "Error trying to load the RDB dump");
            ctx.out.error(RELOAD_LOAD_FAILED)
        }
    }
}

/// # Format
/// `DEBUG POPULATE count [prefix] [size]` — creates the string keys `prefix:0` ..
/// `prefix:count-1` (prefix `key`) that do not exist, valued `value:N` (cut or zero-padded to
/// `size` bytes when given). Not propagated, as Redis.
fn populate(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    // Redis's getPositiveLongFromObjectOrReply: one error for a non-integer and a negative.
    let positive = |a: &[u8]| {
        parse_i64(a)
            .filter(|&n| n >= 0)
            .map(|n| n as u64)
            .ok_or("ERR value is out of range, must be positive")
    };
    let count = match positive(&argv[2]) {
        Ok(n) => n,
        Err(e) => return ctx.out.error(e),
    };
    let size = match argv.get(4).map(|a| positive(a)) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(e)) => return ctx.out.error(e),
    };
    // One value is built in memory at once: bounded like any bulk argument.
    if size > ctx.srv.settings.proto_max_bulk_len.load(Ordering::Relaxed) {
        return ctx.out.error("ERR value is out of range");
    }
    let prefix: &[u8] = argv.get(3).map_or(b"key", |p| p.as_ref());
    ctx.prevent_propagation();
    let db = ctx.db();
    let now = ctx.now;
    for j in 0..count {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!(":{j}").as_bytes());
        let text = format!("value:{j}");
        let value: crate::store::StrBuf = if size == 0 {
            text.as_bytes().into()
        } else {
            let mut v = vec![0u8; size as usize];
            let n = text.len().min(v.len());
            v[..n].copy_from_slice(&text.as_bytes()[..n]);
            v.into()
        };
        db.write(&key, now, |slot| {
            if !slot.exists() {
                slot.put(Entry::new(Value::Str(value), 0));
                slot.touched();
            }
        });
    }
    ctx.out.ok();
}

// ---------------------------------------------------------------------------------------------
// PROTOCOL, CHANGE-REPL-ID, STRINGMATCH-TEST
// ---------------------------------------------------------------------------------------------

/// # Format
/// `DEBUG PROTOCOL type` — Redis's sample reply of `type`: RESP3's type, or Redis's RESP2
/// form of it (a bulk for double, bignum and verbatim, an array for set and map, `:1`/`:0` for
/// booleans, the attribute dropped; `push` is refused in RESP2).
fn protocol(ctx: &mut Ctx<'_>, name: &[u8]) {
    let resp3 = ctx.out.resp3;
    let out = &mut *ctx.out;
    match name.to_ascii_lowercase().as_slice() {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.int(12345),
        // Redis's sample value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        b"double" => out.double(3.141),
        b"bignum" => {
            const NUM: &[u8] = b"1234567999999999999999999999999999999";
            if resp3 {
                out.buf.extend_from_slice(b"(");
                out.buf.extend_from_slice(NUM);
                out.buf.extend_from_slice(b"\r\n");
            } else {
                out.bulk(NUM);
            }
        }
        b"null" => out.null(),
        b"array" => {
            out.array(3);
            (0..3).for_each(|j| out.int(j));
        }
        b"set" => {
            out.set(3);
            (0..3).for_each(|j| out.int(j));
        }
        b"map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        b"attrib" => {
            if resp3 {
                out.buf.extend_from_slice(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !resp3 {
                return out.error(PUSH_NEEDS_RESP3);
            }
            let start = out.len();
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            let pushed = out.len() - start;
            // A push for the client itself: kept even under CLIENT REPLY OFF, as Redis's
            // CLIENT_PUSHING.
            ctx.count_as_push(pushed);
            ctx.out.bulk(b"Some real reply following the push reply");
        }
        b"true" => out.boolean(true),
        b"false" => out.boolean(false),
        b"verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        _ => out.error(PROTOCOL_TYPES),
    }
}

/// A fresh 40-hex-digit replication id.
fn random_replid() -> String {
    use rand::Rng;
    let bytes: [u8; 20] = rand::thread_rng().gen();
    hex(&bytes)
}

/// Redis's `stringmatchlen_fuzz_test`: random patterns against random strings, only to show
/// the matcher neither crashes nor hangs.
fn stringmatch_fuzz() {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let mut pattern = [0u8; 32];
    let mut string = [0u8; 32];
    for _ in 0..100_000 {
        let (pl, sl) = (rng.gen_range(0..32), rng.gen_range(0..32));
        rng.fill(&mut pattern[..pl]);
        rng.fill(&mut string[..sl]);
        let _ = crate::util::glob::glob_match(&pattern[..pl], &string[..sl], false);
    }
}

/// # Format
/// `DEBUG SLEEP <seconds>` — blocks this loop for that long (a float; anything else is 0, as
/// Redis's unchecked `strtod`), then `+OK`. Other loops keep serving.
fn sleep(ctx: &mut Ctx<'_>, seconds: &[u8]) {
    let secs = crate::util::num::parse_f64_strtod(seconds).unwrap_or(0.0);
    // Redis converts to whole microseconds; a negative value sleeps not at all.
    let usec = (secs * 1_000_000.0) as i64;
    if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(usec as u64));
    }
    ctx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::types::{hash::Hash, list::List, set::Set, zset::ZSet};

    fn hex_of(d: &Digest) -> String {
        hex(d)
    }

    fn entry(value: Value, expire_at: u64) -> Entry {
        Entry::new(value, expire_at)
    }

    fn value_hex(value: Value, volatile: bool) -> String {
        let mut d = [0u8; 20];
        mix_value(&mut d, &value, volatile);
        hex_of(&d)
    }

    fn string(s: &str) -> Value {
        Value::Str(s.as_bytes().into())
    }

    // The expected digests are redis-server 7.0.15's for the same commands.

    #[test]
    fn empty_dataset_is_forty_zeros() {
        let mut total = [0u8; 20];
        fold_db(&mut total, 0, Vec::new());
        fold_db(&mut total, 5, Vec::new());
        assert_eq!(hex_of(&total), "0".repeat(40));
    }

    #[test]
    fn string_digest_matches_redis() {
        // SET foo bar; DEBUG DIGEST-VALUE foo; DEBUG DIGEST.
        assert_eq!(
            value_hex(string("bar"), false),
            "68467c70ae30376e7ce005bcc8827f5ba7fd67dc"
        );
        let mut total = [0u8; 20];
        fold_db(
            &mut total,
            0,
            [key_digest(b"foo", &entry(string("bar"), 0))],
        );
        assert_eq!(hex_of(&total), "d2ab4820c1be0580ea28efbfe8bfa1dc05bb802a");
    }

    #[test]
    fn every_type_matches_redis() {
        let mut l = List::new();
        for e in ["a", "b", "1"] {
            l.push_back(e.as_bytes());
        }
        assert_eq!(
            value_hex(Value::List(Box::new(l.clone())), false),
            "981fd62c1655c074205cff40b800bd5a5bfdcd41"
        );
        let mut s = Set::new();
        for m in ["1", "2", "x"] {
            s.add(m.as_bytes());
        }
        assert_eq!(
            value_hex(Value::Set(Box::new(s.clone())), false),
            "4c6eef6b7853d1b76391c849d71b0d35d3faf18f"
        );
        let mut z = ZSet::new();
        for (score, m) in [(1.5, "a"), (2.0, "b"), (-0.1, "c")] {
            z.insert(m.as_bytes(), score);
        }
        assert_eq!(
            value_hex(Value::ZSet(Box::new(z.clone())), false),
            "acaa444110a0948fd8a2712ccfc4d8d55969ac89"
        );
        let mut h = Hash::new();
        h.set(b"f", b"v");
        h.set(b"g", b"w");
        assert_eq!(
            value_hex(Value::Hash(Box::new(h.clone())), false),
            "d127864ed50239662bf61bafc9bda63c17da5b37"
        );
        // The whole dataset: foo, l, s, z, h in db 0, in any order.
        let keys = vec![
            key_digest(b"h", &entry(Value::Hash(Box::new(h)), 0)),
            key_digest(b"foo", &entry(string("bar"), 0)),
            key_digest(b"z", &entry(Value::ZSet(Box::new(z)), 0)),
            key_digest(b"l", &entry(Value::List(Box::new(l)), 0)),
            key_digest(b"s", &entry(Value::Set(Box::new(s)), 0)),
        ];
        let mut total = [0u8; 20];
        fold_db(&mut total, 0, keys.clone());
        assert_eq!(hex_of(&total), "e9697f241260f22ab2560144d5844d81d0b99b2b");
        let mut reversed = [0u8; 20];
        fold_db(&mut reversed, 0, keys.into_iter().rev());
        assert_eq!(reversed, total);
    }

    #[test]
    fn ttl_and_database_change_the_digest_as_in_redis() {
        // EXPIRE foo 1000; DEBUG DIGEST-VALUE foo.
        assert_eq!(
            value_hex(string("bar"), true),
            "8ec3828f7209dd3abdf6ee448de8b0c0bd53265f"
        );
        // Only `SET foo bar` in db 1.
        let mut total = [0u8; 20];
        fold_db(&mut total, 0, Vec::new());
        fold_db(
            &mut total,
            1,
            [key_digest(b"foo", &entry(string("bar"), 0))],
        );
        assert_eq!(hex_of(&total), "ca1ca3c163c25b0650d3afe1417fd35e01ab7498");
        // Then `SET foo bar` with a TTL in db 0 as well.
        fold_db(
            &mut total,
            0,
            [key_digest(b"foo", &entry(string("bar"), 1))],
        );
        let mut ordered = [0u8; 20];
        fold_db(
            &mut ordered,
            0,
            [key_digest(b"foo", &entry(string("bar"), 1))],
        );
        fold_db(
            &mut ordered,
            1,
            [key_digest(b"foo", &entry(string("bar"), 0))],
        );
        assert_eq!(hex_of(&ordered), "aa6345f0f7eb97a39d54fa99dd19fa1e28fea106");
        // Databases are folded in order: db 1 before db 0 is another digest.
        assert_ne!(total, ordered);
    }

    #[test]
    fn mix_is_ordered_and_xor_is_not() {
        let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
        mix_digest(&mut a, b"x");
        mix_digest(&mut a, b"y");
        mix_digest(&mut b, b"y");
        mix_digest(&mut b, b"x");
        assert_ne!(a, b);
        let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
        xor_digest(&mut a, b"x");
        xor_digest(&mut a, b"y");
        xor_digest(&mut b, b"y");
        xor_digest(&mut b, b"x");
        assert_eq!(a, b);
        // "foo" then "bar" differs from "fo" then "obar".
        let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
        mix_digest(&mut a, b"foo");
        mix_digest(&mut a, b"bar");
        mix_digest(&mut b, b"fo");
        mix_digest(&mut b, b"obar");
        assert_ne!(a, b);
    }

    #[test]
    fn quicklist_shape_follows_redis_fill_rules() {
        // RPUSH l a b 1 2: one node of 17 bytes (DEBUG OBJECT on redis-server).
        let items: [&[u8]; 4] = [b"a", b"b", b"1", b"2"];
        assert_eq!(quicklist_shape(items.into_iter(), -2, 1 << 30), (1, 17));
        // fill 2: two entries a node.
        assert_eq!(quicklist_shape(items.into_iter(), 2, 1 << 30).0, 2);
        // An element at the packed threshold is a plain node of its own.
        assert_eq!(quicklist_shape(items.into_iter(), -2, 1), (4, 4));
        // 8 KiB nodes: 500-byte elements (504 listpack bytes), 16 a node (7 + 16 * 504 + 508 > 8192).
        let big = vec![b'x'; 500];
        let many = std::iter::repeat_n(big.as_slice(), 100);
        assert_eq!(quicklist_shape(many, -2, 1 << 30).0, 7);
        assert_eq!(quicklist_shape(std::iter::empty(), -2, 1 << 30), (0, 0));
    }

    #[test]
    fn listpack_sizes_follow_redis_encodings() {
        assert_eq!(listpack_entry_size(b"a"), 3);
        assert_eq!(listpack_entry_size(b"1"), 2);
        assert_eq!(listpack_entry_size(b"-1"), 3);
        assert_eq!(listpack_entry_size(b"1000"), 3);
        assert_eq!(listpack_entry_size(b"100000"), 5);
        assert_eq!(listpack_entry_size(b"01"), 4);
        assert_eq!(listpack_entry_size(&[b'x'; 64]), 66 + 1);
        assert_eq!(listpack_entry_size(&[b'x'; 500]), 502 + 2);
    }

    #[test]
    fn atoi_reads_like_c() {
        assert_eq!(atoi(b"0"), 0);
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b" 12abc"), 12);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b""), 0);
    }

    #[test]
    fn packed_threshold_bounds_are_redis() {
        assert!(set_packed_threshold((1 << 32) - (1 << 20) + 1).is_none());
        assert!(set_packed_threshold(1).is_some());
        assert_eq!(PACKED_THRESHOLD.load(Ordering::Relaxed), 1);
        assert!(set_packed_threshold(0).is_some());
        assert_eq!(
            PACKED_THRESHOLD.load(Ordering::Relaxed),
            DEFAULT_PACKED_THRESHOLD
        );
    }
}
