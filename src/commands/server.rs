//! Server commands: CONFIG (GET, SET, RESETSTAT, REWRITE, HELP), TIME, LASTSAVE, ROLE,
//! SHUTDOWN and MONITOR (fed by [`call`](super::call())). INFO lives in `info.rs`, COMMAND in
//! `command.rs`.
//!
//! # CONFIG parameters
//! `PARAMS` is the one list of parameters CONFIG GET/SET know. Runtime-settable ones write
//! [`Settings`](crate::state::Settings) atomics that the loops read on their hot
//! paths; start-up-only ones (databases, threads, tls-port, ...) reply Redis's
//! "can't set immutable config". `bind` and `port` change at runtime as in Redis: CONFIG SET
//! binds every loop's new listeners itself ([`crate::state::listen`]; a failure is its error
//! and changes nothing), then each loop swaps them in through its inbox. A few
//! parameters exist only because clients and tools read them (`sanitize-dump-payload`): they
//! report the one behaviour ferrokv has and accept Redis's values. The RDB directives live in [`crate::persist::Persistence`].

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{clients, container, errors, spec, CommandSpec, Ctx, Group};
use crate::config::{parse_bool, parse_memory, OutputLimits};
use crate::persist::aof::{AofSettings, Fsync};
use crate::persist::RdbSettings;
use crate::state::shutdown::flags as shutdown_flags;
use crate::state::Shared;
use crate::store::events::class;
use crate::util::glob::glob_match;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //        name      flags                                                                  group
    container("config", 0,                                                                     Group::Server, CONFIG),
    //   name        arity flags                                                               group          keys     handler
    spec("time",       1,  LOADING | STALE | FAST,                                             Group::Server, 0, 0, 0, time),
    spec("role",       1,  NOSCRIPT | LOADING | STALE | FAST | SENTINEL | DANGEROUS,           Group::Server, 0, 0, 0, role),
    spec("shutdown",  -1,  ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY, Group::Server, 0, 0, 0, shutdown),
];

/// MONITOR is registered after every other table (its place in COMMAND's list and the
/// statistics slots).
#[rustfmt::skip]
pub static MONITOR: &[CommandSpec] = &[
    spec("monitor",        1,  ADMIN | NOSCRIPT | LOADING | STALE,    Group::Server, 0,  0, 0,  monitor),
];

#[rustfmt::skip]
static CONFIG: &[CommandSpec] = &[
    //   name                 arity flags                                  group          keys     handler
    spec("config|get",         -3,  ADMIN | NOSCRIPT | LOADING | STALE,    Group::Server, 0, 0, 0, config_get),
    spec("config|set",         -4,  ADMIN | NOSCRIPT | LOADING | STALE,    Group::Server, 0, 0, 0, config_set),
    spec("config|resetstat",    2,  ADMIN | NOSCRIPT | LOADING | STALE,    Group::Server, 0, 0, 0, config_resetstat),
    spec("config|rewrite",      2,  ADMIN | NOSCRIPT | LOADING | STALE,    Group::Server, 0, 0, 0, config_rewrite),
    spec("config|help",         2,  LOADING | STALE,                       Group::Server, 0, 0, 0, config_help),
];

/// A validated CONFIG SET value, applied only once every pair of the command is valid.
enum NewValue {
    /// `bind`: the new addresses (listened on before anything else applies).
    Bind(Vec<String>),
    /// `port`: the new plain port (0: no plain listener).
    Port(u16),
    MaxClients(usize),
    Timeout(u64),
    ProtoMaxBulkLen(u64),
    QueryBufferLimit(u64),
    OutputLimits(OutputLimits),
    LogLevel(&'static str),
    NotifyKeyspaceEvents(u32),
    /// An RDB directive (`dir`, `dbfilename`, `save`, ...).
    Rdb(RdbChange),
    /// An AOF directive (`appendfsync`, ...).
    Aof(AofChange),
    /// `appendonly`: switching starts (or stops) the AOF.
    AppendOnly(bool),
    RequirePass(Vec<u8>),
    ProtectedMode(bool),
    AclLogMaxLen(usize),
    AclPubsubAll(bool),
    ShutdownTimeout(u64),
    ShutdownOnSigterm(u8),
    ShutdownOnSigint(u8),
    /// A memory or eviction setting (`maxmemory`, `maxmemory-policy`, ...).
    Memory(MemoryChange),
    /// A `tls-*` directive (validated): applied together with the command's other TLS
    /// values, rebuilding the TLS context once.
    Tls(&'static str, String),
    /// A stored parameter ([`crate::tunables`]): index and canonical value, applied together
    /// with the command's other stored values.
    Tunable(usize, String),
    /// An encoding threshold and its new value.
    Limit(&'static crate::store::types::limits::Limit, i64),
    /// Accepted, nothing changes (a compatibility parameter set to its only value).
    Unchanged,
}

type MemoryChange = Box<dyn FnOnce(&Shared)>;

fn memory(f: impl FnOnce(&Shared) + 'static) -> Result<NewValue, String> {
    Ok(NewValue::Memory(Box::new(f)))
}

/// A `tls-*` parameter: read from and written to [`crate::tls::TlsContext`]; `tls-port` is
/// fixed at start-up.
macro_rules! tls_param {
    ($name:literal, $default:literal) => {
        Param {
            name: $name,
            hidden: false,
            rewrite: Rewrite::Default($default),
            get: |s| s.tls.settings().get($name).unwrap_or_default(),
            set: Some(|_, v| {
                crate::tls::TlsSettings::default().set($name, v)?;
                Ok(NewValue::Tls($name, v.to_string()))
            }),
        }
    };
}

/// A stored parameter ([`crate::tunables`]) under its name, or (`alias`) under its old name,
/// which CONFIG REWRITE leaves where the file has it.
macro_rules! tunable {
    ($name:literal) => {
        Param {
            name: $name,
            hidden: crate::tunables::TABLE[crate::tunables::index_of($name)].hidden,
            rewrite: Rewrite::Default(
                crate::tunables::TABLE[crate::tunables::index_of($name)].default,
            ),
            get: |s| s.tunables.get(const { crate::tunables::index_of($name) }),
            set: Some(|_, v| tunable_value(const { crate::tunables::index_of($name) }, v)),
        }
    };
    (alias $name:literal) => {
        Param {
            name: $name,
            hidden: crate::tunables::TABLE[crate::tunables::index_of($name)].hidden,
            rewrite: Rewrite::InFileOnly,
            get: |s| s.tunables.get(const { crate::tunables::index_of($name) }),
            set: Some(|_, v| tunable_value(const { crate::tunables::index_of($name) }, v)),
        }
    };
    (immutable $name:literal) => {
        Param {
            name: $name,
            hidden: crate::tunables::TABLE[crate::tunables::index_of($name)].hidden,
            rewrite: Rewrite::Default(
                crate::tunables::TABLE[crate::tunables::index_of($name)].default,
            ),
            get: |s| s.tunables.get(const { crate::tunables::index_of($name) }),
            set: None,
        }
    };
}

/// Redis's `PROTECTED_CONFIG` parameters: CONFIG SET refuses them unless
/// `enable-protected-configs` allows the client.
const PROTECTED_CONFIGS: &[&str] = &["dir", "dbfilename"];

/// An encoding threshold ([`crate::store::types::limits`]) under its name, or (`alias`) under
/// its old `ziplist` name, which CONFIG REWRITE leaves where the file has it.
macro_rules! limit {
    ($name:literal, $default:literal) => {
        Param {
            name: $name,
            hidden: false,
            rewrite: Rewrite::Default($default),
            get: |_| limit_of($name).get().to_string(),
            set: Some(|_, v| limit_value($name, v)),
        }
    };
    (alias $name:literal) => {
        Param {
            name: $name,
            hidden: false,
            rewrite: Rewrite::InFileOnly,
            get: |_| limit_of($name).get().to_string(),
            set: Some(|_, v| limit_value($name, v)),
        }
    };
}

fn limit_of(name: &str) -> &'static crate::store::types::limits::Limit {
    crate::store::types::limits::find(name).expect("a threshold of the table")
}

fn limit_value(name: &str, v: &str) -> Result<NewValue, String> {
    let limit = limit_of(name);
    Ok(NewValue::Limit(limit, limit.parse(v)?))
}

fn tunable_value(index: usize, v: &str) -> Result<NewValue, String> {
    if !crate::tunables::TABLE[index].mutable {
        return Err("can't set immutable config".into());
    }
    Ok(NewValue::Tunable(index, crate::tunables::parse(index, v)?))
}

type RdbChange = Box<dyn FnOnce(&mut RdbSettings)>;
type AofChange = Box<dyn FnOnce(&mut AofSettings)>;

fn aof(f: impl FnOnce(&mut AofSettings) + 'static) -> Result<NewValue, String> {
    Ok(NewValue::Aof(Box::new(f)))
}

fn rdb(f: impl FnOnce(&mut RdbSettings) + 'static) -> Result<NewValue, String> {
    Ok(NewValue::Rdb(Box::new(f)))
}

fn yes_no(s: bool) -> String {
    if s { "yes" } else { "no" }.to_string()
}

type Getter = fn(&Shared) -> String;
type Parser = fn(&Shared, &str) -> Result<NewValue, String>;

/// One CONFIG parameter: its name, how to read it, and how to parse a new value (`None`:
/// immutable at runtime).
struct Param {
    name: &'static str,
    /// Redis's `HIDDEN_CONFIG`: CONFIG GET returns it only when asked by its exact name, never
    /// for a pattern (testing aids, and ferrokv's own parameters that Redis lacks).
    hidden: bool,
    /// When CONFIG REWRITE adds the parameter to a file that does not mention it.
    rewrite: Rewrite,
    get: Getter,
    set: Option<Parser>,
}

/// CONFIG REWRITE's rule for a parameter the old file does not mention (one that it mentions
/// is always rewritten in place).
enum Rewrite {
    /// Added when its value differs from this default (rendered as `get` renders).
    Default(&'static str),
    /// Added when its value differs from a default known only at run time.
    DefaultOf(fn() -> String),
    /// Always added.
    Always,
    /// Never added (an alias, or a parameter with a single accepted value).
    InFileOnly,
}

impl Param {
    /// The lines that set the live value, in redis.conf syntax.
    fn lines(&self, value: &str) -> Vec<String> {
        use super::config_rewrite::{line, words_line};
        match self.name {
            "bind" | "save" | "latency-tracking-info-percentiles" => {
                vec![words_line(self.name, value)]
            }
            "client-output-buffer-limit" => {
                let words: Vec<&str> = value.split_whitespace().collect();
                words
                    .chunks(4)
                    .map(|class| words_line(self.name, &class.join(" ")))
                    .collect()
            }
            _ => vec![line(self.name, value)],
        }
    }

    fn add_if_absent(&self, value: &str) -> bool {
        match &self.rewrite {
            Rewrite::Default(d) => *d != value,
            Rewrite::DefaultOf(d) => d() != value,
            Rewrite::Always => true,
            Rewrite::InFileOnly => false,
        }
    }
}

const PARAMS: &[Param] = &[
    Param {
        name: "tls-port",
        hidden: false,
        rewrite: Rewrite::Default("0"),
        get: |s| s.tls.settings().port.to_string(),
        set: None,
    },
    tls_param!("tls-cert-file", ""),
    tls_param!("tls-key-file", ""),
    tls_param!("tls-key-file-pass", ""),
    tls_param!("tls-client-cert-file", ""),
    tls_param!("tls-client-key-file", ""),
    tls_param!("tls-client-key-file-pass", ""),
    tls_param!("tls-dh-params-file", ""),
    tls_param!("tls-ca-cert-file", ""),
    tls_param!("tls-ca-cert-dir", ""),
    tls_param!("tls-auth-clients", "yes"),
    tls_param!("tls-protocols", ""),
    tls_param!("tls-ciphers", ""),
    tls_param!("tls-ciphersuites", ""),
    tls_param!("tls-prefer-server-ciphers", "no"),
    tls_param!("tls-session-caching", "yes"),
    tls_param!("tls-session-cache-size", "20480"),
    tls_param!("tls-session-cache-timeout", "300"),
    tls_param!("tls-replication", "no"),
    tls_param!("tls-cluster", "no"),
    tls_param!("tls-handshake-timeout", "10000"),
    Param {
        name: "bind",
        hidden: false,
        rewrite: Rewrite::Default("127.0.0.1"),
        get: |s| s.bind.lock().join(" "),
        set: Some(|_, v| {
            // As Redis: the words of the value; one empty word means no address.
            let hosts: Vec<String> = v.split_whitespace().map(str::to_string).collect();
            if hosts.len() > crate::state::listen::MAX_BIND_ADDRESSES {
                return Err("Too many bind addresses specified.".into());
            }
            Ok(NewValue::Bind(hosts))
        }),
    },
    Param {
        name: "port",
        hidden: false,
        rewrite: Rewrite::Default("6379"),
        get: |s| s.port.load(Ordering::Relaxed).to_string(),
        set: Some(|_, v| Ok(NewValue::Port(int_in(v, 0, 65535)? as u16))),
    },
    // A master with no replication: always empty; set only in the config file (as Redis).
    Param {
        name: "replicaof",
        hidden: false,
        rewrite: Rewrite::InFileOnly,
        get: |_| String::new(),
        set: None,
    },
    Param {
        name: "slaveof",
        hidden: false,
        rewrite: Rewrite::InFileOnly,
        get: |_| String::new(),
        set: None,
    },
    Param {
        name: "databases",
        hidden: false,
        rewrite: Rewrite::Default("16"),
        get: |s| s.config.databases.to_string(),
        set: None,
    },
    Param {
        name: "threads",
        hidden: true,
        rewrite: Rewrite::DefaultOf(|| crate::config::Config::default().threads.to_string()),
        get: |s| s.config.threads.to_string(),
        set: None,
    },
    Param {
        name: "io-threads",
        hidden: false,
        rewrite: Rewrite::InFileOnly,
        get: |s| s.config.threads.to_string(),
        set: None,
    },
    Param {
        name: "maxclients",
        hidden: false,
        rewrite: Rewrite::Default("10000"),
        get: |s| s.settings.maxclients.load(Ordering::Relaxed).to_string(),
        set: Some(|_, v| Ok(NewValue::MaxClients(int_in(v, 1, u32::MAX as u64)? as usize))),
    },
    Param {
        name: "timeout",
        hidden: false,
        rewrite: Rewrite::Default("0"),
        get: |s| s.settings.timeout.load(Ordering::Relaxed).to_string(),
        set: Some(|_, v| Ok(NewValue::Timeout(int_in(v, 0, i32::MAX as u64)?))),
    },
    Param {
        name: "proto-max-bulk-len",
        hidden: false,
        rewrite: Rewrite::Default("536870912"),
        get: |s| {
            s.settings
                .proto_max_bulk_len
                .load(Ordering::Relaxed)
                .to_string()
        },
        set: Some(|_, v| {
            Ok(NewValue::ProtoMaxBulkLen(memory_in(
                v,
                1 << 20,
                i64::MAX as u64,
            )?))
        }),
    },
    Param {
        name: "client-query-buffer-limit",
        hidden: false,
        rewrite: Rewrite::Default("1073741824"),
        get: |s| {
            s.settings
                .client_query_buffer_limit
                .load(Ordering::Relaxed)
                .to_string()
        },
        set: Some(|_, v| {
            Ok(NewValue::QueryBufferLimit(memory_in(
                v,
                1 << 20,
                i64::MAX as u64,
            )?))
        }),
    },
    Param {
        name: "client-output-buffer-limit",
        hidden: false,
        rewrite: Rewrite::Default(
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        ),
        get: |s| s.settings.output_limits.lock().render(),
        set: Some(|s, v| {
            let mut limits = *s.settings.output_limits.lock();
            let words: Vec<&str> = v.split_whitespace().collect();
            limits.apply(&words)?;
            Ok(NewValue::OutputLimits(limits))
        }),
    },
    Param {
        name: "loglevel",
        hidden: false,
        rewrite: Rewrite::Default("notice"),
        get: |s| s.settings.loglevel.lock().clone(),
        set: Some(|_, v| {
            ["debug", "verbose", "notice", "warning"]
                .into_iter()
                .find(|l| l.eq_ignore_ascii_case(v))
                .map(NewValue::LogLevel)
                .ok_or_else(|| {
                    "argument(s) must be one of the following: debug, verbose, notice, warning"
                        .to_string()
                })
        }),
    },
    Param {
        name: "notify-keyspace-events",
        hidden: false,
        rewrite: Rewrite::Default(""),
        get: |s| class::format(s.store.events().notify_flags.load(Ordering::Relaxed)),
        set: Some(|_, v| {
            class::parse(v.as_bytes())
                .map(NewValue::NotifyKeyspaceEvents)
                .ok_or_else(|| errors::INVALID_EVENT_CLASS.to_string())
        }),
    },
    Param {
        name: "save",
        hidden: false,
        rewrite: Rewrite::Default("3600 1 300 100 60 10000"),
        get: |s| s.persistence.settings().render_save(),
        set: Some(|_, v| {
            let words: Vec<&str> = v.split_whitespace().collect();
            let words = if words.is_empty() { vec![""] } else { words };
            let points = crate::persist::parse_save(&words)?;
            rdb(move |r| r.save_points = points)
        }),
    },
    Param {
        name: "dir",
        hidden: false,
        rewrite: Rewrite::Always,
        get: |s| s.persistence.settings().dir.display().to_string(),
        set: Some(|_, v| {
            // Redis chdir()s: the directory must exist; CONFIG GET then shows it absolute.
            let dir = std::fs::canonicalize(v).map_err(|e| crate::util::fs::strerror(&e))?;
            if !dir.is_dir() {
                return Err("Not a directory".into());
            }
            rdb(move |r| r.dir = dir)
        }),
    },
    Param {
        name: "dbfilename",
        hidden: false,
        rewrite: Rewrite::Default("dump.rdb"),
        get: |s| s.persistence.settings().dbfilename,
        set: Some(|_, v| {
            if !crate::config::is_plain_file_name(v) {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            let name = v.to_string();
            rdb(move |r| r.dbfilename = name)
        }),
    },
    Param {
        name: "rdbcompression",
        hidden: false,
        rewrite: Rewrite::Default("yes"),
        get: |s| yes_no(s.persistence.settings().compression),
        set: Some(|_, v| {
            let on = parse_bool(v)?;
            rdb(move |r| r.compression = on)
        }),
    },
    Param {
        name: "rdbchecksum",
        hidden: false,
        rewrite: Rewrite::Default("yes"),
        get: |s| yes_no(s.persistence.settings().checksum),
        set: Some(|_, v| {
            let on = parse_bool(v)?;
            rdb(move |r| r.checksum = on)
        }),
    },
    Param {
        name: "stop-writes-on-bgsave-error",
        hidden: false,
        rewrite: Rewrite::Default("yes"),
        get: |s| yes_no(s.persistence.settings().stop_writes_on_bgsave_error),
        set: Some(|_, v| {
            let on = parse_bool(v)?;
            rdb(move |r| r.stop_writes_on_bgsave_error = on)
        }),
    },
    Param {
        name: "key-load-delay",
        hidden: true,
        rewrite: Rewrite::Default("0"),
        get: |s| s.persistence.settings().key_load_delay_us.to_string(),
        set: Some(|_, v| {
            let us = int_in(v, 0, i32::MAX as u64)?;
            rdb(move |r| r.key_load_delay_us = us)
        }),
    },
    Param {
        name: "rdb-key-save-delay",
        hidden: true,
        rewrite: Rewrite::Default("0"),
        get: |s| s.persistence.settings().key_save_delay_us.to_string(),
        set: Some(|_, v| {
            let us = int_in(v, 0, i32::MAX as u64)?;
            rdb(move |r| r.key_save_delay_us = us)
        }),
    },
    Param {
        name: "sanitize-dump-payload",
        hidden: false,
        rewrite: Rewrite::InFileOnly,
        get: |_| "yes".into(),
        set: Some(|_, v| {
            // Payloads are always validated in full (DUMP/RESTORE module doc): any of Redis's
            // values is accepted, and the behaviour is always that of `yes`.
            if ["no", "yes", "clients"]
                .iter()
                .any(|o| o.eq_ignore_ascii_case(v))
            {
                Ok(NewValue::Unchanged)
            } else {
                Err("argument(s) must be one of the following: no, yes, clients".into())
            }
        }),
    },
    Param {
        name: "appendonly",
        hidden: false,
        rewrite: Rewrite::Default("no"),
        get: |s| yes_no(s.aof.is_on() || s.aof.settings().enabled),
        set: Some(|_, v| Ok(NewValue::AppendOnly(parse_bool(v)?))),
    },
    Param {
        name: "appendfsync",
        hidden: false,
        rewrite: Rewrite::Default("everysec"),
        get: |s| s.aof.fsync_policy().name().into(),
        set: Some(|_, v| {
            let f = Fsync::parse(v).ok_or_else(|| {
                "argument(s) must be one of the following: always, everysec, no".to_string()
            })?;
            aof(move |a| a.fsync = f)
        }),
    },
    Param {
        name: "appendfilename",
        hidden: false,
        rewrite: Rewrite::Default("appendonly.aof"),
        get: |s| s.aof.settings().filename,
        set: None,
    },
    Param {
        name: "appenddirname",
        hidden: false,
        rewrite: Rewrite::Default("appendonlydir"),
        get: |s| s.aof.settings().dirname,
        set: None,
    },
    Param {
        name: "aof-use-rdb-preamble",
        hidden: false,
        rewrite: Rewrite::Default("yes"),
        get: |s| yes_no(s.aof.settings().rdb_preamble),
        set: Some(|_, v| {
            let on = parse_bool(v)?;
            aof(move |a| a.rdb_preamble = on)
        }),
    },
    Param {
        name: "aof-load-truncated",
        hidden: false,
        rewrite: Rewrite::Default("yes"),
        get: |s| yes_no(s.aof.settings().load_truncated),
        set: Some(|_, v| {
            let on = parse_bool(v)?;
            aof(move |a| a.load_truncated = on)
        }),
    },
    Param {
        name: "auto-aof-rewrite-percentage",
        hidden: false,
        rewrite: Rewrite::Default("100"),
        get: |s| s.aof.settings().rewrite_percentage.to_string(),
        set: Some(|_, v| {
            let n = int_in(v, 0, i32::MAX as u64)?;
            aof(move |a| a.rewrite_percentage = n)
        }),
    },
    Param {
        name: "auto-aof-rewrite-min-size",
        hidden: false,
        rewrite: Rewrite::Default("67108864"),
        get: |s| s.aof.settings().rewrite_min_size.to_string(),
        set: Some(|_, v| {
            let n = memory_in(v, 0, i64::MAX as u64)?;
            aof(move |a| a.rewrite_min_size = n)
        }),
    },
    Param {
        name: "requirepass",
        hidden: false,
        rewrite: Rewrite::Default(""),
        get: |s| String::from_utf8_lossy(&s.users.requirepass()).into_owned(),
        set: Some(|_, v| Ok(NewValue::RequirePass(v.as_bytes().to_vec()))),
    },
    Param {
        name: "aclfile",
        hidden: false,
        rewrite: Rewrite::Default(""),
        get: |s| {
            s.users
                .file()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        },
        set: None,
    },
    Param {
        name: "acllog-max-len",
        hidden: false,
        rewrite: Rewrite::Default("128"),
        get: |s| s.users.log.max_len().to_string(),
        set: Some(|_, v| {
            Ok(NewValue::AclLogMaxLen(
                int_in(v, 0, i64::MAX as u64)? as usize
            ))
        }),
    },
    Param {
        name: "acl-pubsub-default",
        hidden: false,
        rewrite: Rewrite::Default("resetchannels"),
        get: |s| {
            if s.users.pubsub_all() {
                "allchannels"
            } else {
                "resetchannels"
            }
            .to_string()
        },
        set: Some(|_, v| match v.to_ascii_lowercase().as_str() {
            "allchannels" => Ok(NewValue::AclPubsubAll(true)),
            "resetchannels" => Ok(NewValue::AclPubsubAll(false)),
            _ => Err("argument(s) must be one of the following: allchannels, resetchannels".into()),
        }),
    },
    Param {
        name: "protected-mode",
        hidden: false,
        rewrite: Rewrite::Default("yes"),
        get: |s| yes_no(s.settings.protected_mode.load(Ordering::Relaxed)),
        set: Some(|_, v| Ok(NewValue::ProtectedMode(parse_bool(v)?))),
    },
    Param {
        name: "shutdown-timeout",
        hidden: false,
        rewrite: Rewrite::Default("10"),
        get: |s| {
            s.settings
                .shutdown_timeout
                .load(Ordering::Relaxed)
                .to_string()
        },
        set: Some(|_, v| Ok(NewValue::ShutdownTimeout(int_in(v, 0, i32::MAX as u64)?))),
    },
    Param {
        name: "shutdown-on-sigint",
        hidden: false,
        rewrite: Rewrite::Default("default"),
        get: |s| shutdown_flags::render(s.settings.shutdown_on_sigint.load(Ordering::Relaxed)),
        set: Some(|_, v| Ok(NewValue::ShutdownOnSigint(shutdown_flags::parse(&[v])?))),
    },
    Param {
        name: "shutdown-on-sigterm",
        hidden: false,
        rewrite: Rewrite::Default("default"),
        get: |s| shutdown_flags::render(s.settings.shutdown_on_sigterm.load(Ordering::Relaxed)),
        set: Some(|_, v| Ok(NewValue::ShutdownOnSigterm(shutdown_flags::parse(&[v])?))),
    },
    Param {
        name: "proxy-protocol",
        hidden: true,
        rewrite: Rewrite::Default("no"),
        get: |s| yes_no(s.config.proxy_protocol),
        set: None,
    },
    Param {
        name: "proxy-protocol-trusted-sources",
        hidden: true,
        rewrite: Rewrite::Default(""),
        get: |s| {
            let nets: Vec<String> = s
                .config
                .proxy_trusted
                .iter()
                .map(|n| n.to_string())
                .collect();
            nets.join(" ")
        },
        set: None,
    },
    Param {
        name: "maxmemory",
        hidden: false,
        rewrite: Rewrite::Default("0"),
        get: |s| s.memory.maxmemory.load(Ordering::Relaxed).to_string(),
        set: Some(|_, v| {
            let n = parse_memory(v).ok_or("argument must be a memory value")?;
            memory(move |s| {
                s.memory.maxmemory.store(n, Ordering::Relaxed);
                let used = crate::memory::alloc::refresh();
                if n != 0 && n < used {
                    tracing::warn!("WARNING: the new maxmemory value set via CONFIG SET ({n}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.");
                }
            })
        }),
    },
    Param {
        name: "maxmemory-policy",
        hidden: false,
        rewrite: Rewrite::Default("noeviction"),
        get: |_| crate::memory::policy::policy().name().into(),
        set: Some(|_, v| {
            let p = crate::memory::Policy::parse(v).ok_or(crate::memory::Policy::CHOICES)?;
            memory(move |_| crate::memory::policy::set_policy(p))
        }),
    },
    Param {
        name: "maxmemory-samples",
        hidden: false,
        rewrite: Rewrite::Default("5"),
        get: |s| s.memory.samples.load(Ordering::Relaxed).to_string(),
        set: Some(|_, v| {
            let n = int_in(v, 1, i32::MAX as u64)? as u32;
            memory(move |s| s.memory.samples.store(n, Ordering::Relaxed))
        }),
    },
    Param {
        name: "maxmemory-eviction-tenacity",
        hidden: false,
        rewrite: Rewrite::Default("10"),
        get: |s| s.memory.tenacity.load(Ordering::Relaxed).to_string(),
        set: Some(|_, v| {
            let n = int_in(v, 0, 100)? as u32;
            memory(move |s| s.memory.tenacity.store(n, Ordering::Relaxed))
        }),
    },
    Param {
        name: "lfu-decay-time",
        hidden: false,
        rewrite: Rewrite::Default("1"),
        get: |_| crate::memory::policy::lfu_decay_time().to_string(),
        set: Some(|_, v| {
            let n = int_in(v, 0, i32::MAX as u64)? as u32;
            memory(move |_| crate::memory::policy::set_lfu_decay_time(n))
        }),
    },
    Param {
        name: "lfu-log-factor",
        hidden: false,
        rewrite: Rewrite::Default("10"),
        get: |_| crate::memory::policy::lfu_log_factor().to_string(),
        set: Some(|_, v| {
            let n = int_in(v, 0, i32::MAX as u64)? as u32;
            memory(move |_| crate::memory::policy::set_lfu_log_factor(n))
        }),
    },
    // --- encoding thresholds (crate::store::types::limits) ---
    limit!("hash-max-listpack-entries", "512"),
    limit!(alias "hash-max-ziplist-entries"),
    limit!("hash-max-listpack-value", "64"),
    limit!(alias "hash-max-ziplist-value"),
    limit!("set-max-intset-entries", "512"),
    limit!("zset-max-listpack-entries", "128"),
    limit!(alias "zset-max-ziplist-entries"),
    limit!("zset-max-listpack-value", "64"),
    limit!(alias "zset-max-ziplist-value"),
    limit!("list-max-listpack-size", "-2"),
    limit!(alias "list-max-ziplist-size"),
    limit!("list-compress-depth", "0"),
    // --- stored parameters (crate::tunables; every TABLE name and alias, checked by a test) ---
    tunable!("hz"),
    tunable!("dynamic-hz"),
    tunable!("min-replicas-to-write"),
    tunable!(alias "min-slaves-to-write"),
    tunable!("min-replicas-max-lag"),
    tunable!(alias "min-slaves-max-lag"),
    tunable!("oom-score-adj"),
    tunable!("oom-score-adj-values"),
    tunable!("activedefrag"),
    tunable!("active-defrag-cycle-min"),
    tunable!("active-defrag-cycle-max"),
    tunable!("active-defrag-threshold-lower"),
    tunable!("active-defrag-threshold-upper"),
    tunable!("active-defrag-ignore-bytes"),
    tunable!("active-defrag-max-scan-fields"),
    tunable!("lazyfree-lazy-eviction"),
    tunable!("lazyfree-lazy-expire"),
    tunable!("lazyfree-lazy-server-del"),
    tunable!("lazyfree-lazy-user-del"),
    tunable!("lazyfree-lazy-user-flush"),
    tunable!("maxmemory-clients"),
    tunable!("busy-reply-threshold"),
    tunable!(alias "lua-time-limit"),
    tunable!("stream-node-max-bytes"),
    tunable!("stream-node-max-entries"),
    tunable!("masterauth"),
    tunable!("masteruser"),
    tunable!("bind-source-addr"),
    tunable!("repl-backlog-size"),
    tunable!("repl-backlog-ttl"),
    tunable!("repl-timeout"),
    tunable!("repl-ping-replica-period"),
    tunable!(alias "repl-ping-slave-period"),
    tunable!("repl-diskless-sync"),
    tunable!("repl-diskless-sync-delay"),
    tunable!("repl-diskless-sync-max-replicas"),
    tunable!("repl-diskless-load"),
    tunable!("repl-disable-tcp-nodelay"),
    tunable!("replica-read-only"),
    tunable!(alias "slave-read-only"),
    tunable!("replica-serve-stale-data"),
    tunable!(alias "slave-serve-stale-data"),
    tunable!("replica-lazy-flush"),
    tunable!(alias "slave-lazy-flush"),
    tunable!("replica-priority"),
    tunable!(alias "slave-priority"),
    tunable!("replica-announce-ip"),
    tunable!(alias "slave-announce-ip"),
    tunable!("replica-announce-port"),
    tunable!(alias "slave-announce-port"),
    tunable!("replica-announced"),
    tunable!("cluster-announce-ip"),
    tunable!("cluster-announce-port"),
    tunable!("cluster-announce-bus-port"),
    tunable!("cluster-announce-tls-port"),
    tunable!("daemonize"),
    // --- hyperloglog ---
    tunable!("hll-sparse-max-bytes"),
    tunable!("watchdog-period"),
    tunable!("use-exit-on-panic"),
    tunable!("loading-process-events-interval-bytes"),
    tunable!("tracking-table-max-keys"),
    // --- debug ---
    tunable!(immutable "enable-protected-configs"),
    tunable!(immutable "enable-debug-command"),
    tunable!(immutable "enable-module-command"),
    // --- latency (slowlog, latency monitor, latency tracking) ---
    tunable!("slowlog-log-slower-than"),
    tunable!("slowlog-max-len"),
    tunable!("latency-monitor-threshold"),
    tunable!("latency-tracking"),
    tunable!("latency-tracking-info-percentiles"),
];

fn param(name: &[u8]) -> Option<&'static Param> {
    PARAMS
        .iter()
        .find(|p| p.name.as_bytes().eq_ignore_ascii_case(name))
}

/// An integer in `[min, max]`, with Redis's error texts.
fn int_in(v: &str, min: u64, max: u64) -> Result<u64, String> {
    let n = crate::util::num::parse_i64(v.as_bytes())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    range(n, min, max)
}

/// A memory value (`1mb`, `512k`, ...) in `[min, max]`, with Redis's error texts.
fn memory_in(v: &str, min: u64, max: u64) -> Result<u64, String> {
    let n = parse_memory(v).ok_or_else(|| "argument must be a memory value".to_string())?;
    range(n.min(i64::MAX as u64) as i64, min, max)
}

fn range(n: i64, min: u64, max: u64) -> Result<u64, String> {
    if n < 0 || (n as u64) < min || (n as u64) > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n as u64)
}

fn apply(srv: &Shared, value: NewValue) {
    let s = &srv.settings;
    match value {
        NewValue::MaxClients(n) => s.maxclients.store(n, Ordering::Relaxed),
        NewValue::Timeout(n) => s.timeout.store(n, Ordering::Relaxed),
        NewValue::ProtoMaxBulkLen(n) => s.proto_max_bulk_len.store(n, Ordering::Relaxed),
        NewValue::QueryBufferLimit(n) => s.client_query_buffer_limit.store(n, Ordering::Relaxed),
        NewValue::OutputLimits(l) => {
            *s.output_limits.lock() = l;
        }
        // Applied to the live log filter and recorded for CONFIG GET.
        NewValue::LogLevel(l) => {
            crate::logging::set_level(l);
            *s.loglevel.lock() = l.to_string();
        }
        NewValue::NotifyKeyspaceEvents(flags) => srv
            .store
            .events()
            .notify_flags
            .store(flags, Ordering::Relaxed),
        NewValue::Rdb(change) => srv.persistence.update(change),
        NewValue::RequirePass(p) => srv.users.set_requirepass(Some(&p)),
        NewValue::ProtectedMode(on) => s.protected_mode.store(on, Ordering::Relaxed),
        NewValue::AclLogMaxLen(n) => srv.users.log.set_max_len(n),
        NewValue::AclPubsubAll(on) => srv.users.set_pubsub_all(on),
        NewValue::ShutdownTimeout(n) => s.shutdown_timeout.store(n, Ordering::Relaxed),
        NewValue::ShutdownOnSigterm(f) => s.shutdown_on_sigterm.store(f, Ordering::Relaxed),
        NewValue::ShutdownOnSigint(f) => s.shutdown_on_sigint.store(f, Ordering::Relaxed),
        NewValue::Aof(change) => srv.aof.update(change),
        NewValue::AppendOnly(_) => unreachable!("applied by config_set with its execution"),
        NewValue::Memory(change) => change(srv),
        NewValue::Tls(..) => unreachable!("applied by config_set, all TLS values at once"),
        NewValue::Limit(limit, n) => limit.set(n),
        NewValue::Tunable(..) => unreachable!("applied by config_set, all stored values at once"),
        NewValue::Bind(_) | NewValue::Port(_) => {
            unreachable!("applied by config_set, listeners first")
        }
        NewValue::Unchanged => {}
    }
}

/// # Format
/// `CONFIG GET parameter [parameter ...]` — glob patterns allowed; a map of name to value
/// (a flat array in RESP2). An exact name is echoed as given, as Redis does.
fn config_get(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut found: Vec<(String, &'static Param)> = Vec::new();
    for pattern in &argv[2..] {
        if !pattern.iter().any(|b| b"[*?".contains(b)) {
            if let Some(p) = param(pattern) {
                if !found.iter().any(|(_, q)| std::ptr::eq(*q, p)) {
                    found.push((String::from_utf8_lossy(pattern).into_owned(), p));
                }
            }
            continue;
        }
        for p in PARAMS {
            // As Redis, a hidden parameter answers its exact name only.
            if !p.hidden
                && !found.iter().any(|(_, q)| std::ptr::eq(*q, p))
                && glob_match(pattern, p.name.as_bytes(), true)
            {
                found.push((p.name.to_string(), p));
            }
        }
    }
    ctx.out.map(found.len());
    for (name, p) in found {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk((p.get)(ctx.srv).as_bytes());
    }
}

/// # Format
/// `CONFIG SET parameter value [parameter value ...]` — all or nothing: every pair is
/// validated before any is applied.
fn config_set(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if !argv.len().is_multiple_of(2) {
        return ctx.out.error(errors::SYNTAX);
    }
    let pairs: Vec<(&Bytes, &Bytes)> = argv[2..].chunks(2).map(|c| (&c[0], &c[1])).collect();
    let failed = |name: &[u8], why: &str| {
        errors::concat(&[
            b"ERR CONFIG SET failed (possibly related to argument '",
            errors::c_str(name, usize::MAX),
            b"') - ",
            why.as_bytes(),
        ])
    };
    // First pass, as Redis: the first unknown, immutable or repeated name (in argument order)
    // is the error; values are parsed only when every name is acceptable.
    let mut seen: Vec<&'static Param> = Vec::new();
    for (name, _) in &pairs {
        let Some(p) = param(name) else {
            return ctx.out.error(errors::concat(&[
                b"ERR Unknown option or number of arguments for CONFIG SET - '",
                errors::c_str(name, usize::MAX),
                b"'",
            ]));
        };
        if p.set.is_none() {
            return ctx.out.error(failed(name, "can't set immutable config"));
        }
        if PROTECTED_CONFIGS.contains(&p.name)
            && !ctx.allows_protected(crate::tunables::ENABLE_PROTECTED_CONFIGS)
        {
            return ctx.out.error(failed(name, "can't set protected config"));
        }
        if seen.iter().any(|q| std::ptr::eq(*q, p)) {
            return ctx.out.error(failed(name, "duplicate parameter"));
        }
        seen.push(p);
    }
    let mut values = Vec::with_capacity(pairs.len());
    for ((_, value), p) in pairs.iter().zip(&seen) {
        let parse = p.set.expect("checked above");
        let text = String::from_utf8_lossy(value);
        match parse(ctx.srv, &text) {
            Ok(v) => values.push(v),
            Err(why) => return ctx.out.error(failed(p.name.as_bytes(), &why)),
        }
    }
    // The new listeners next: bound now, so that a failure changes nothing; they replace the
    // loops' listeners once everything else applied.
    let listen = match bind_listeners(ctx.srv, &values, &seen) {
        Ok(listen) => listen,
        Err(e) => return ctx.out.error(e),
    };
    // The TLS values first, together: one context rebuild, and on failure nothing applies.
    let tls: Vec<(&'static str, String)> = values
        .iter()
        .filter_map(|v| match v {
            NewValue::Tls(name, value) => Some((*name, value.clone())),
            _ => None,
        })
        .collect();
    if let Some((first, _)) = tls.first() {
        let applied = ctx.srv.tls.update(|s| {
            for (name, value) in &tls {
                // Validated by the parse above.
                let _ = s.set(name, value);
            }
        });
        if let Err(why) = applied {
            return ctx.out.error(failed(first.as_bytes(), &why));
        }
    }
    // The stored parameters together, under one lock; then their effects.
    let stored: Vec<(usize, String)> = values
        .iter()
        .filter_map(|v| match v {
            NewValue::Tunable(i, value) => Some((*i, value.clone())),
            _ => None,
        })
        .collect();
    if !stored.is_empty() {
        use crate::tunables::{OOM_SCORE_ADJ, OOM_SCORE_ADJ_VALUES};
        let before: Vec<(usize, String)> = stored
            .iter()
            .map(|(i, _)| (*i, ctx.srv.tunables.get(*i)))
            .collect();
        ctx.srv.tunables.set_all(&stored);
        if stored
            .iter()
            .any(|(i, _)| *i == OOM_SCORE_ADJ || *i == OOM_SCORE_ADJ_VALUES)
        {
            if let Err(why) = ctx.srv.apply_oom_score_adj() {
                ctx.srv.tunables.set_all(&before);
                return ctx.out.error(failed(b"oom-score-adj", &why));
            }
        }
    }
    let tracking_limit = stored
        .iter()
        .any(|(i, _)| *i == crate::tunables::TRACKING_TABLE_MAX_KEYS);
    for v in values {
        if let NewValue::Tls(..) | NewValue::Tunable(..) | NewValue::Bind(_) | NewValue::Port(_) = v
        {
            continue;
        }
        if let NewValue::AppendOnly(on) = v {
            if let Err(e) = super::aof::set_enabled(ctx.srv, ctx.fx, on) {
                return ctx.out.error(failed(b"appendonly", &e));
            }
            continue;
        }
        apply(ctx.srv, v);
    }
    if let Some(listen) = listen {
        listen.install(ctx.srv, ctx.fx);
    }
    ctx.out.ok();
    // A lower `maxmemory-clients` (or `maxmemory`, for a percentage) evicts clients now, as
    // Redis's next beforeSleep would.
    let (srv, fx) = (ctx.srv, ctx.fx);
    crate::state::client_eviction::evict(srv, &|to, msg| srv.loops.send(to, msg, fx));
    if tracking_limit {
        // Keys over the new limit are invalidated (after this reply, as Redis's cron would).
        let mut own = Vec::new();
        crate::state::tracking::enforce_limit(ctx.srv, ctx.fx, ctx.client.id, &mut own);
        ctx.out.buf.extend_from_slice(&own);
    }
}

/// New listeners for CONFIG SET `bind`/`port`, bound and not yet used; dropping them closes
/// them (the old ones stay). Holds the `bind` lock, so listener changes apply one at a time.
struct NewListeners<'a> {
    bind: parking_lot::MutexGuard<'a, Vec<String>>,
    hosts: Vec<String>,
    bound: crate::state::listen::Bound,
}

impl NewListeners<'_> {
    /// Hands each loop its new set (it closes its old listeners when it takes it; existing
    /// connections stay, as Redis) and records the new `bind` and `port`.
    fn install(mut self, srv: &Shared, fx: &crate::store::Scope) {
        srv.port
            .store(self.bound.port() as usize, Ordering::Relaxed);
        for (i, set) in self.bound.per_loop.into_iter().enumerate() {
            srv.loops
                .send(i, crate::state::mailbox::Msg::Listen(set), fx);
        }
        *self.bind = self.hosts;
    }
}

/// Binds every loop's listeners for the command's new `bind` and/or `port` (with the TLS
/// port's listeners, which `bind` moves too, as Redis's `changeBindAddr`). `None` when neither
/// changes: as Redis, an unchanged `port` is not re-applied, `bind` always is. The error is
/// Redis's apply error for the first of them in the command (the old listeners stay).
fn bind_listeners<'a>(
    srv: &'a Shared,
    values: &[NewValue],
    params: &[&'static Param],
) -> Result<Option<NewListeners<'a>>, Vec<u8>> {
    let mut hosts = None;
    let mut port = None;
    let mut first = None;
    for (v, p) in values.iter().zip(params) {
        match v {
            NewValue::Bind(h) => hosts = Some(h.clone()),
            NewValue::Port(n) if *n as usize != srv.port.load(Ordering::Relaxed) => port = Some(*n),
            _ => continue,
        }
        first.get_or_insert(p.name);
    }
    let Some(first) = first else {
        return Ok(None);
    };
    let bind = srv.bind.lock();
    let hosts = hosts.unwrap_or_else(|| bind.clone());
    let port = port.unwrap_or(srv.port.load(Ordering::Relaxed) as u16);
    let tls_port = srv.tls.settings().port;
    match crate::state::listen::bind_all(
        &hosts,
        (port != 0).then_some(port),
        (tls_port != 0).then_some(tls_port),
        srv.config.threads,
    ) {
        Ok(bound) => Ok(Some(NewListeners { bind, hosts, bound })),
        Err(e) => {
            let why = if first == "bind" {
                "Failed to bind to specified addresses."
            } else {
                "Unable to listen on this port. Check server logs."
            };
            tracing::warn!(
                "Failed applying new configuration. Possibly related to new {first} setting. Restoring previous settings. ({e})"
            );
            Err(errors::concat(&[
                b"ERR CONFIG SET failed (possibly related to argument '",
                first.as_bytes(),
                b"') - ",
                why.as_bytes(),
            ]))
        }
    }
}

/// # Format
/// `CONFIG RESETSTAT` — zeroes INFO's counters (every loop's statistics).
fn config_resetstat(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.srv.reset_stats();
    ctx.out.ok();
}

/// # Format
/// `CONFIG REWRITE` — writes the live values of the CONFIG parameters into the config file the
/// server started with, keeping its comments and other lines (rules in
/// [`super::config_rewrite`]); the file is replaced atomically (temporary file, fsync, rename).
fn config_rewrite(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let Some(path) = ctx.srv.config.config_file.clone() else {
        return ctx
            .out
            .error("ERR The server is running without a config file");
    };
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return rewrite_failed(ctx, &e),
    };
    let live: Vec<super::config_rewrite::Live> = PARAMS
        .iter()
        .map(|p| {
            let value = (p.get)(ctx.srv);
            super::config_rewrite::Live {
                name: p.name,
                lines: p.lines(&value),
                add_if_absent: p.add_if_absent(&value),
            }
        })
        .collect();
    // Users are rewritten as `user` lines unless they live in an ACL file (Redis's
    // rewriteConfigUserOption).
    let mut live = live;
    let users = if ctx.srv.users.file().is_some() {
        Vec::new()
    } else {
        ctx.srv
            .users
            .describe_all()
            .into_iter()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .collect()
    };
    live.push(super::config_rewrite::Live {
        name: "user",
        add_if_absent: !users.is_empty(),
        lines: users,
    });
    let text = super::config_rewrite::rewrite(&old, &live);
    match crate::util::fs::replace_file(&path, text.as_bytes()) {
        Ok(()) => {
            tracing::info!("CONFIG REWRITE executed with success.");
            ctx.out.ok();
        }
        Err(e) => rewrite_failed(ctx, &e),
    }
}

fn rewrite_failed(ctx: &mut Ctx<'_>, e: &std::io::Error) {
    tracing::warn!("CONFIG REWRITE failed: {}", crate::util::fs::strerror(e));
    ctx.out.error(
        format!(
            "ERR Rewriting config file: {}",
            crate::util::fs::strerror(e)
        )
        .as_str(),
    );
}

/// # Format
/// `CONFIG HELP`
fn config_help(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    clients::help_reply(
        ctx,
        &argv[0],
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
}

/// # Format
/// `TIME` — `[unix seconds, microseconds]` as bulk strings.
fn time(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let us = crate::clock::now_us();
    ctx.out.array(2);
    ctx.out.bulk_int((us / 1_000_000) as i64);
    ctx.out.bulk_int((us % 1_000_000) as i64);
}

/// # Format
/// `ROLE` — always a master without replicas: `["master", 0, []]`.
fn role(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
}

/// # Format
/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`
///
/// Asks for a graceful shutdown ([`crate::net::shutdown`]) and waits for it, as Redis's
/// BLOCKED_SHUTDOWN: on success nothing is replied, the connection closes as the server exits
/// with status 0; if the shutdown is aborted or its save fails (without `FORCE`) the client gets
/// `-ERR Errors trying to SHUTDOWN. Check logs.` and the server carries on. `SAVE` saves even
/// without save points, `NOSAVE` never; `NOW` skips the wait for replies to drain. `ABORT`
/// cancels a shutdown in progress (`+OK`), else `-ERR No shutdown in progress.`.
fn shutdown(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    use shutdown_flags::{FORCE, NOSAVE, NOW, SAVE};
    let (mut f, mut abort) = (0, false);
    for a in &argv[1..] {
        match () {
            _ if super::args::is(a, "nosave") => f |= NOSAVE,
            _ if super::args::is(a, "save") => f |= SAVE,
            _ if super::args::is(a, "now") => f |= NOW,
            _ if super::args::is(a, "force") => f |= FORCE,
            _ if super::args::is(a, "abort") => abort = true,
            _ => return ctx.out.error(errors::SYNTAX),
        }
    }
    if (abort && f != 0) || (f & NOSAVE != 0 && f & SAVE != 0) {
        return ctx.out.error(errors::SYNTAX);
    }
    if abort {
        if ctx.srv.graceful.abort() {
            tracing::warn!("Shutdown manually aborted.");
            return ctx.out.ok();
        }
        return ctx.out.error(errors::NO_SHUTDOWN);
    }
    ctx.srv.graceful.request(f);
    // Runs nothing else it pipelined until the shutdown ends one way or the other.
    ctx.client.awaiting_shutdown = true;
}

/// # Format
/// `MONITOR` — `+OK`, then every command any client runs, as one line each (see
/// [`crate::pubsub::monitor`], fed by [`call`](super::call())). A client already monitoring gets no reply at all, as in Redis.
fn monitor(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    if ctx.in_exec {
        return ctx.out.error(errors::MONITOR_DENY_BLOCKING);
    }
    if ctx.srv.pubsub.monitor(ctx.client.member()) {
        ctx.out.ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_memory_values_use_redis_texts() {
        assert_eq!(int_in("5", 0, 10), Ok(5));
        assert_eq!(
            int_in("x", 0, 10).unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(
            int_in("-1", 0, 2147483647).unwrap_err(),
            "argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(memory_in("2mb", 1 << 20, i64::MAX as u64), Ok(2 << 20));
        assert_eq!(
            memory_in("1", 1 << 20, i64::MAX as u64).unwrap_err(),
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            memory_in("lots", 1, 2).unwrap_err(),
            "argument must be a memory value"
        );
    }

    #[test]
    fn parameter_names_are_unique_and_lowercase() {
        for (i, p) in PARAMS.iter().enumerate() {
            assert_eq!(p.name, p.name.to_lowercase());
            assert!(
                PARAMS[i + 1..].iter().all(|q| q.name != p.name),
                "{}",
                p.name
            );
        }
        assert!(param(b"MaxClients").is_some());
        assert!(param(b"nosuch").is_none());
    }

    #[test]
    fn every_threshold_and_alias_is_a_config_parameter() {
        for l in &crate::store::types::limits::LIMITS {
            for name in std::iter::once(l.name).chain(l.alias) {
                let p = param(name.as_bytes()).unwrap_or_else(|| panic!("{name} missing"));
                let srv = crate::state::Shared::new(Default::default(), 1);
                assert_eq!((p.get)(&srv), l.default.to_string(), "{name}");
            }
        }
    }

    #[test]
    fn every_stored_parameter_and_alias_is_a_config_parameter() {
        for t in crate::tunables::TABLE {
            for name in std::iter::once(t.name).chain(t.alias) {
                let p = param(name.as_bytes()).unwrap_or_else(|| panic!("{name} missing"));
                let index = crate::tunables::find(name);
                let srv = crate::state::Shared::new(Default::default(), 1);
                assert_eq!((p.get)(&srv), t.default, "{name}");
                assert!(index.is_some());
            }
        }
    }
}
