//! Start-up configuration: command-line flags (clap), a redis.conf-syntax file, named defaults,
//! and the `CONFIG GET`/`CONFIG SET` parameter table.
//!
//! Precedence: defaults < config file < flags given on the command line. Runtime-settable
//! values live in [`crate::state::Settings`] (atomics, read on hot paths without
//! locks); this module parses and validates, it never holds live state.

use std::path::PathBuf;

use clap::Parser as ClapParser;

pub const DEFAULT_PORT: u16 = 6379;
pub const DEFAULT_BIND: &str = "127.0.0.1";
pub const DEFAULT_DATABASES: usize = 16;
pub const DEFAULT_MAXCLIENTS: usize = 10_000;
pub const DEFAULT_PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;
pub const DEFAULT_CLIENT_QUERY_BUFFER_LIMIT: u64 = 1024 * 1024 * 1024;

/// Command-line flags. Every flag left unset falls back to the config file, then the default.
#[derive(ClapParser, Debug, Default, Clone)]
#[command(
    name = "ferrokv-server",
    version,
    about = "A Redis-compatible multi-threaded key-value server"
)]
pub struct Args {
    /// TCP port to listen on.
    #[arg(long)]
    pub port: Option<u16>,
    /// Address(es) to bind, space separated (as redis.conf's `bind`).
    #[arg(long)]
    pub bind: Option<String>,
    /// Event-loop threads (default: available cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Number of databases.
    #[arg(long)]
    pub databases: Option<usize>,
    /// Maximum simultaneous clients.
    #[arg(long)]
    pub maxclients: Option<usize>,
    /// Close a client after this many idle seconds (0 = never).
    #[arg(long)]
    pub timeout: Option<u64>,
    /// A redis.conf-syntax file with supported directives.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// RDB save points, as redis.conf's `save` ("3600 1 300 100", or "" for none).
    #[arg(long)]
    pub save: Option<String>,
    /// Working directory for the RDB file (redis.conf's `dir`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// RDB file name (redis.conf's `dbfilename`).
    #[arg(long)]
    pub dbfilename: Option<String>,
    /// Append-only file on or off (redis.conf's `appendonly yes|no`).
    #[arg(long)]
    pub appendonly: Option<String>,
    /// AOF fsync policy (redis.conf's `appendfsync always|everysec|no`).
    #[arg(long)]
    pub appendfsync: Option<String>,
    /// Any other redis.conf directive given as `--name value...` (as `redis-server` accepts),
    /// applied after the config file in command-line order. Filled by [`Args::from_argv`].
    #[arg(skip)]
    pub directives: Vec<(String, Vec<String>)>,
}

impl Args {
    /// Parses the command line: the flags clap knows, plus every other `--name [value...]`
    /// as a config directive (its values run up to the next `--flag`), as `redis-server`
    /// does, so that any directive can be set without a config file.
    pub fn from_argv(argv: impl IntoIterator<Item = String>) -> Args {
        use clap::CommandFactory;
        let known: Vec<String> = Args::command()
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_string))
            .chain(["help".to_string(), "version".to_string()])
            .collect();
        let mut argv = argv.into_iter();
        let mut clap_argv: Vec<String> = argv.next().into_iter().collect();
        let mut directives: Vec<(String, Vec<String>)> = Vec::new();
        let mut in_directive = false;
        for arg in argv {
            if let Some(flag) = arg.strip_prefix("--") {
                let name = flag.split('=').next().unwrap_or(flag);
                in_directive = !known.iter().any(|k| k == name) && !flag.is_empty();
                if in_directive {
                    directives.push((flag.to_ascii_lowercase(), Vec::new()));
                    continue;
                }
            }
            match directives.last_mut() {
                Some((_, values)) if in_directive => values.push(arg),
                _ => clap_argv.push(arg),
            }
        }
        let mut args = Args::parse_from(clap_argv);
        args.directives = directives;
        args
    }
}

/// One `client-output-buffer-limit` class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// The three classes, in Redis's order and naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    pub normal: OutputLimit,
    pub replica: OutputLimit,
    pub pubsub: OutputLimit,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            normal: OutputLimit::default(),
            replica: OutputLimit {
                hard: 256 << 20,
                soft: 64 << 20,
                soft_seconds: 60,
            },
            pubsub: OutputLimit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_seconds: 60,
            },
        }
    }
}

impl OutputLimits {
    /// Redis's `CONFIG GET client-output-buffer-limit` rendering.
    pub fn render(&self) -> String {
        let c = |l: &OutputLimit| format!("{} {} {}", l.hard, l.soft, l.soft_seconds);
        format!(
            "normal {} slave {} pubsub {}",
            c(&self.normal),
            c(&self.replica),
            c(&self.pubsub)
        )
    }

    /// Applies `<class> <hard> <soft> <seconds>` groups (one or more), as redis.conf and
    /// CONFIG SET accept them. On error nothing is changed.
    pub fn apply(&mut self, args: &[&str]) -> Result<(), String> {
        if args.is_empty() || !args.len().is_multiple_of(4) {
            return Err("Wrong number of arguments in buffer limit configuration.".into());
        }
        let mut next = *self;
        for group in args.chunks(4) {
            let limit = OutputLimit {
                hard: parse_memory(group[1]).ok_or(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
                )?,
                soft: parse_memory(group[2]).ok_or(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
                )?,
                soft_seconds: group[3].parse().map_err(|_| {
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                })?,
            };
            match group[0].to_ascii_lowercase().as_str() {
                "normal" => next.normal = limit,
                "replica" | "slave" => next.replica = limit,
                "pubsub" => next.pubsub = limit,
                _ => {
                    return Err(
                        "Invalid client class specified in buffer limit configuration.".into(),
                    )
                }
            }
        }
        *self = next;
        Ok(())
    }
}

/// The resolved start-up configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub threads: usize,
    pub databases: usize,
    pub maxclients: usize,
    pub timeout: u64,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub output_limits: OutputLimits,
    pub loglevel: String,
    /// `notify-keyspace-events` as [`crate::store::events::class`] bits.
    pub notify_keyspace_events: u32,
    pub config_file: Option<PathBuf>,
    /// RDB directives (`dir`, `dbfilename`, `save`, ...).
    pub rdb: crate::persist::RdbSettings,
    /// AOF directives (`appendonly`, `appendfsync`, ...).
    pub aof: crate::persist::aof::AofSettings,
    /// `requirepass`: the `default` user's password (None: no password).
    pub requirepass: Option<String>,
    /// `protected-mode yes|no`.
    pub protected_mode: bool,
    /// ACL directives: `user` lines, `aclfile`, `acllog-max-len`, `acl-pubsub-default`.
    pub acl: crate::acl::AclSettings,
    /// `proxy-protocol yes|no`: connections from the trusted sources must start with a PROXY
    /// protocol header (v1 or v2) naming the real client.
    pub proxy_protocol: bool,
    /// `proxy-protocol-trusted-sources`: the peers (CIDRs or addresses) whose connections carry
    /// the header; empty: every peer. Others connect directly.
    pub proxy_trusted: Vec<ipnet::IpNet>,
    /// `proxy-protocol-header-timeout`: seconds a trusted peer has to send its header.
    pub proxy_header_timeout: u64,
    /// `shutdown-timeout`: seconds a graceful shutdown waits for replies to drain (0: none).
    pub shutdown_timeout: u64,
    /// `shutdown-on-sigterm` / `shutdown-on-sigint` ([`crate::state::shutdown::flags`]).
    pub shutdown_on_sigterm: u8,
    pub shutdown_on_sigint: u8,
    /// `maxmemory` in bytes (0: no limit).
    pub maxmemory: u64,
    /// `maxmemory-policy`.
    pub maxmemory_policy: crate::memory::Policy,
    /// `maxmemory-samples`.
    pub maxmemory_samples: u32,
    /// `maxmemory-eviction-tenacity` (0..=100).
    pub maxmemory_eviction_tenacity: u32,
    /// `lfu-log-factor`.
    pub lfu_log_factor: u32,
    /// `lfu-decay-time` (minutes).
    pub lfu_decay_time: u32,
    /// The `tls-*` directives (see [`crate::tls`]).
    pub tls: crate::tls::TlsSettings,
    /// Stored parameters ([`crate::tunables`]) set in the file or flags: (index, canonical value).
    pub tunables: Vec<(usize, String)>,
    /// Encoding thresholds set in the file or flags, applied when the server starts.
    pub encoding_limits: Vec<(&'static crate::store::types::limits::Limit, i64)>,
    /// Whether a `save` directive was met in the config file (the first replaces the default
    /// points, later ones add to them, as in Redis).
    pub save_seen: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: DEFAULT_PORT,
            bind: vec![DEFAULT_BIND.to_string()],
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            databases: DEFAULT_DATABASES,
            maxclients: DEFAULT_MAXCLIENTS,
            timeout: 0,
            proto_max_bulk_len: DEFAULT_PROTO_MAX_BULK_LEN,
            client_query_buffer_limit: DEFAULT_CLIENT_QUERY_BUFFER_LIMIT,
            output_limits: OutputLimits::default(),
            loglevel: "notice".to_string(),
            notify_keyspace_events: 0,
            config_file: None,
            rdb: crate::persist::RdbSettings::default(),
            aof: crate::persist::aof::AofSettings::default(),
            save_seen: false,
            requirepass: None,
            protected_mode: true,
            acl: crate::acl::AclSettings::default(),
            proxy_protocol: false,
            proxy_trusted: Vec::new(),
            proxy_header_timeout: 5,
            shutdown_timeout: 10,
            shutdown_on_sigterm: 0,
            shutdown_on_sigint: 0,
            maxmemory: 0,
            maxmemory_policy: crate::memory::Policy::NoEviction,
            maxmemory_samples: crate::memory::DEFAULT_MAXMEMORY_SAMPLES,
            maxmemory_eviction_tenacity: crate::memory::DEFAULT_EVICTION_TENACITY,
            lfu_log_factor: crate::memory::policy::DEFAULT_LFU_LOG_FACTOR,
            lfu_decay_time: crate::memory::policy::DEFAULT_LFU_DECAY_TIME,
            tls: crate::tls::TlsSettings::default(),
            tunables: Vec::new(),
            encoding_limits: Vec::new(),
        }
    }
}

/// A config-file error: `line` is 1-based.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("config file line {line}: {message}\n>>> '{text}'")]
    Line {
        line: usize,
        text: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then the file named by `--config`, then the other flags.
    pub fn from_args(args: &Args) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        if let Some(path) = &args.config {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                path: path.display().to_string(),
                source,
            })?;
            cfg.apply_file(&text)?;
            // Absolute, as Redis keeps it: CONFIG REWRITE writes it back later.
            cfg.config_file = Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()));
        }
        for (name, values) in &args.directives {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            cfg.set(name, &values)
                .map_err(|e| ConfigError::Invalid(format!("--{name}: {e}")))?;
        }
        if let Some(p) = args.port {
            cfg.port = p;
        }
        if let Some(b) = &args.bind {
            cfg.bind = b.split_whitespace().map(str::to_string).collect();
        }
        if let Some(t) = args.threads {
            cfg.threads = t;
        }
        if let Some(d) = args.databases {
            cfg.databases = d;
        }
        if let Some(m) = args.maxclients {
            cfg.maxclients = m;
        }
        if let Some(t) = args.timeout {
            cfg.timeout = t;
        }
        if let Some(save) = &args.save {
            let words: Vec<&str> = save.split_whitespace().collect();
            let words = if words.is_empty() { vec![""] } else { words };
            cfg.rdb.save_points =
                crate::persist::parse_save(&words).map_err(ConfigError::Invalid)?;
        }
        if let Some(dir) = &args.dir {
            cfg.rdb.dir = dir.clone();
        }
        if let Some(v) = &args.appendonly {
            cfg.set("appendonly", &[v]).map_err(ConfigError::Invalid)?;
        }
        if let Some(v) = &args.appendfsync {
            cfg.set("appendfsync", &[v]).map_err(ConfigError::Invalid)?;
        }
        if let Some(name) = &args.dbfilename {
            cfg.set("dbfilename", &[name])
                .map_err(ConfigError::Invalid)?;
        }
        cfg.rdb.dir = std::fs::canonicalize(&cfg.rdb.dir).map_err(|e| {
            ConfigError::Invalid(format!("Can't chdir to '{}': {e}", cfg.rdb.dir.display()))
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.threads == 0 || self.threads > 1024 {
            return Err(ConfigError::Invalid(
                "threads must be between 1 and 1024".into(),
            ));
        }
        if self.databases == 0 || self.databases > 1 << 20 {
            return Err(ConfigError::Invalid("databases must be at least 1".into()));
        }
        if self.maxclients == 0 {
            return Err(ConfigError::Invalid("maxclients must be at least 1".into()));
        }
        if self.bind.is_empty() {
            return Err(ConfigError::Invalid(
                "bind needs at least one address".into(),
            ));
        }
        Ok(())
    }

    /// Applies redis.conf-syntax text: one directive per line, `#` comments, quoted arguments.
    pub fn apply_file(&mut self, text: &str) -> Result<(), ConfigError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| ConfigError::Line {
                line: i + 1,
                text: raw.to_string(),
                message,
            };
            let words = split_args(line)
                .ok_or_else(|| err("Unbalanced quotes in configuration line".into()))?;
            let Some((name, values)) = words.split_first() else {
                continue;
            };
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            self.set(&name.to_ascii_lowercase(), &values).map_err(err)?;
        }
        Ok(())
    }

    /// Sets one directive (file syntax). Unknown names and bad values are errors.
    pub fn set(&mut self, name: &str, values: &[&str]) -> Result<(), String> {
        let one = || -> Result<&str, String> {
            match values {
                [v] => Ok(v),
                _ => Err("wrong number of arguments".into()),
            }
        };
        match name {
            "port" => self.port = parse_num(one()?)?,
            "bind" => {
                if values.is_empty() {
                    return Err("wrong number of arguments".into());
                }
                self.bind = values.iter().map(|s| s.to_string()).collect();
            }
            "threads" | "io-threads" => self.threads = parse_num(one()?)?,
            "databases" => {
                self.databases = parse_num(one()?)?;
                if self.databases == 0 {
                    return Err("Invalid number of databases".into());
                }
            }
            "maxclients" => self.maxclients = parse_num(one()?)?,
            "timeout" => self.timeout = parse_num(one()?)?,
            "proto-max-bulk-len" => {
                self.proto_max_bulk_len =
                    parse_memory(one()?).ok_or("argument must be a memory value")?
            }
            "client-query-buffer-limit" => {
                self.client_query_buffer_limit =
                    parse_memory(one()?).ok_or("argument must be a memory value")?
            }
            "client-output-buffer-limit" => self.output_limits.apply(values)?,
            "notify-keyspace-events" => {
                self.notify_keyspace_events = crate::store::events::class::parse(one()?.as_bytes())
                    .ok_or(crate::store::events::class::INVALID)?
            }
            "save" => {
                let points = crate::persist::parse_save(values)?;
                if !self.save_seen || points.is_empty() {
                    self.rdb.save_points.clear();
                }
                self.save_seen = true;
                self.rdb.save_points.extend(points);
            }
            "dir" => self.rdb.dir = PathBuf::from(one()?),
            "dbfilename" => {
                let name = one()?;
                if !is_plain_file_name(name) {
                    return Err("dbfilename can't be a path, just a filename".into());
                }
                self.rdb.dbfilename = name.to_string();
            }
            "rdbcompression" => self.rdb.compression = parse_bool(one()?)?,
            "rdbchecksum" => self.rdb.checksum = parse_bool(one()?)?,
            "stop-writes-on-bgsave-error" => {
                self.rdb.stop_writes_on_bgsave_error = parse_bool(one()?)?
            }
            "appendonly" => self.aof.enabled = parse_bool(one()?)?,
            "appendfsync" => {
                self.aof.fsync = crate::persist::aof::Fsync::parse(one()?)
                    .ok_or("argument(s) must be one of the following: always, everysec, no")?
            }
            "appendfilename" => {
                let name = one()?;
                if !is_plain_file_name(name) {
                    return Err("appendfilename can't be a path, just a filename".into());
                }
                self.aof.filename = name.to_string();
            }
            "appenddirname" => {
                let name = one()?;
                if !is_plain_file_name(name) {
                    return Err("appenddirname can't be a path, just a dirname".into());
                }
                self.aof.dirname = name.to_string();
            }
            "aof-use-rdb-preamble" => self.aof.rdb_preamble = parse_bool(one()?)?,
            "aof-load-truncated" => self.aof.load_truncated = parse_bool(one()?)?,
            "auto-aof-rewrite-percentage" => self.aof.rewrite_percentage = parse_num(one()?)?,
            "auto-aof-rewrite-min-size" => {
                self.aof.rewrite_min_size =
                    parse_memory(one()?).ok_or("argument must be a memory value")?
            }
            "requirepass" => {
                let v = one()?;
                self.requirepass = (!v.is_empty()).then(|| v.to_string());
            }
            "protected-mode" => self.protected_mode = parse_bool(one()?)?,
            "user" => {
                if values.is_empty() {
                    return Err("wrong number of arguments".into());
                }
                if self.acl.users.iter().any(|u| u[0] == values[0]) {
                    return Err(format!("Error in user declaration '{}': Duplicate user found. A user can only be defined once in config files", values[0]));
                }
                self.acl
                    .users
                    .push(values.iter().map(|v| v.to_string()).collect());
            }
            "aclfile" => {
                let v = one()?;
                self.acl.file = (!v.is_empty()).then(|| PathBuf::from(v));
            }
            "acllog-max-len" => self.acl.log_max_len = parse_num(one()?)?,
            "acl-pubsub-default" => {
                self.acl.pubsub_all =
                    match one()?.to_ascii_lowercase().as_str() {
                        "allchannels" => true,
                        "resetchannels" => false,
                        _ => return Err(
                            "argument(s) must be one of the following: allchannels, resetchannels"
                                .into(),
                        ),
                    }
            }
            "proxy-protocol" => self.proxy_protocol = parse_bool(one()?)?,
            "proxy-protocol-header-timeout" => {
                self.proxy_header_timeout = parse_num(one()?)?;
                if self.proxy_header_timeout == 0 {
                    return Err("argument must be at least 1".into());
                }
            }
            "proxy-protocol-trusted-sources" => {
                self.proxy_trusted = values
                    .iter()
                    .flat_map(|v| v.split_whitespace())
                    .map(parse_net)
                    .collect::<Result<_, _>>()?
            }
            "shutdown-timeout" => {
                self.shutdown_timeout = parse_num(one()?)?;
                if self.shutdown_timeout > i32::MAX as u64 {
                    return Err("argument must be between 0 and 2147483647 inclusive".into());
                }
            }
            "shutdown-on-sigterm" => self.shutdown_on_sigterm = shutdown_flags::parse(values)?,
            "shutdown-on-sigint" => self.shutdown_on_sigint = shutdown_flags::parse(values)?,
            "maxmemory" => {
                self.maxmemory = parse_memory(one()?).ok_or("argument must be a memory value")?
            }
            "maxmemory-policy" => {
                self.maxmemory_policy =
                    crate::memory::Policy::parse(one()?).ok_or(crate::memory::Policy::CHOICES)?
            }
            "maxmemory-samples" => self.maxmemory_samples = num_in(one()?, 1, i32::MAX as u32)?,
            "maxmemory-eviction-tenacity" => {
                self.maxmemory_eviction_tenacity = num_in(one()?, 0, 100)?
            }
            "lfu-log-factor" => self.lfu_log_factor = num_in(one()?, 0, i32::MAX as u32)?,
            "lfu-decay-time" => self.lfu_decay_time = num_in(one()?, 0, i32::MAX as u32)?,
            "key-load-delay" => self.rdb.key_load_delay_us = parse_num(one()?)?,
            "rdb-key-save-delay" => self.rdb.key_save_delay_us = parse_num(one()?)?,
            "loglevel" => {
                let v = one()?.to_ascii_lowercase();
                if !["debug", "verbose", "notice", "warning", "nothing"].contains(&v.as_str()) {
                    return Err("argument(s) must be one of the following: debug, verbose, notice, warning, nothing".into());
                }
                self.loglevel = v;
            }
            tls if tls.starts_with("tls-") && self.tls.set(tls, one()?)? => {}
            other if crate::store::types::limits::find(other).is_some() => {
                let limit = crate::store::types::limits::find(other).expect("matched");
                self.encoding_limits.push((limit, limit.parse(one()?)?));
            }
            other if crate::tunables::find(other).is_some() => {
                let index = crate::tunables::find(other).expect("matched");
                // Multi-word values (`oom-score-adj-values 0 200 800`) are one value.
                let value = crate::tunables::parse(index, &values.join(" "))?;
                self.tunables.push((index, value));
            }
            _ => {
                return Err(format!(
                    "Bad directive or wrong number of arguments: '{name}'"
                ))
            }
        }
        Ok(())
    }
}

/// A CIDR (`10.0.0.0/8`, `2001:db8::/32`) or a single address.
pub fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("Invalid address or CIDR '{s}'"))
}

/// Redis's boolean directive values.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// Redis's rule for `dbfilename` (and later `appendfilename`): a name, not a path.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && name != "." && name != ".."
}

/// An integer in `[min, max]` with Redis's range error.
fn num_in(s: &str, min: u32, max: u32) -> Result<u32, String> {
    let n: i64 = parse_num(s)?;
    if n < i64::from(min) || n > i64::from(max) {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n as u32)
}

fn parse_num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("argument couldn't be parsed into an integer: '{s}'"))
}

/// Redis's memtoll: `1k`=1000, `1kb`=1024, `1m`, `1mb`, `1g`, `1gb` (case-insensitive).
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (digits, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, mul)| lower.strip_suffix(suf).map(|d| (d.to_string(), *mul)))
    .unwrap_or((lower.clone(), 1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mul)
}

/// Splits a config line like sdssplitargs: whitespace separated, "double" and 'single' quotes.
fn split_args(line: &str) -> Option<Vec<String>> {
    let words = crate::util::split::split_args(line.as_bytes())?;
    Some(
        words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_follow_redis() {
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("32mb"), Some(32 << 20));
        assert_eq!(parse_memory("7"), Some(7));
        assert_eq!(parse_memory("x"), None);
        assert_eq!(parse_memory("-1"), None);
    }

    #[test]
    fn file_directives_apply_and_errors_name_the_line() {
        let mut c = Config::default();
        c.apply_file(
            "# comment\nport 7000\nbind 127.0.0.1 ::1\nclient-output-buffer-limit pubsub 1mb 0 0\n",
        )
        .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.output_limits.pubsub.hard, 1 << 20);
        let e = c.apply_file("port 1\nfrobnicate yes\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = c.apply_file("maxclients many\n").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn unknown_flags_are_directives() {
        let argv = [
            "ferrokv-server",
            "--port",
            "0",
            "--aof-load-truncated",
            "no",
            "--save",
            "",
            "--client-output-buffer-limit",
            "pubsub",
            "1mb",
            "0",
            "0",
        ];
        let args = Args::from_argv(argv.iter().map(|s| s.to_string()));
        assert_eq!(args.port, Some(0));
        assert_eq!(args.save.as_deref(), Some(""));
        assert_eq!(
            args.directives,
            vec![
                ("aof-load-truncated".to_string(), vec!["no".to_string()]),
                (
                    "client-output-buffer-limit".to_string(),
                    ["pubsub", "1mb", "0", "0"].map(String::from).to_vec()
                ),
            ]
        );
        let mut c = Config::default();
        for (name, values) in &args.directives {
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            c.set(name, &values).unwrap();
        }
        assert!(!c.aof.load_truncated);
        assert_eq!(c.output_limits.pubsub.hard, 1 << 20);
    }

    #[test]
    fn quoted_arguments() {
        assert_eq!(split_args(r#"a "b c" 'd'"#).unwrap(), vec!["a", "b c", "d"]);
        assert!(split_args(r#"a "b"#).is_none());
    }
}

/// SHUTDOWN's and `shutdown-on-sig*`'s flags (Redis's `SHUTDOWN_*`).
pub mod shutdown_flags {
    pub const SAVE: u8 = 1;
    pub const NOSAVE: u8 = 2;
    pub const NOW: u8 = 4;
    pub const FORCE: u8 = 8;
    /// `shutdown-on-sigterm` / `shutdown-on-sigint` words, in Redis's enum order.
    pub const NAMES: &[(u8, &str)] = &[
        (SAVE, "save"),
        (NOSAVE, "nosave"),
        (NOW, "now"),
        (FORCE, "force"),
    ];

    /// Parses `default` or a combination of `save|nosave|now|force` (words, any case), as
    /// Redis's multi-argument enum config; SAVE with NOSAVE is refused.
    pub fn parse(words: &[&str]) -> Result<u8, String> {
        let mut f = 0;
        for w in words.iter().flat_map(|w| w.split_whitespace()) {
            if w.eq_ignore_ascii_case("default") {
                continue;
            }
            f |= NAMES
                .iter()
                .find(|(_, n)| w.eq_ignore_ascii_case(n))
                .map(|(b, _)| *b)
                .ok_or(
                    "argument(s) must be one of the following: default, save, nosave, now, force",
                )?;
        }
        if f & SAVE != 0 && f & NOSAVE != 0 {
            return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
        }
        Ok(f)
    }

    /// CONFIG GET's rendering: `default`, or the words set.
    pub fn render(f: u8) -> String {
        if f == 0 {
            return "default".into();
        }
        NAMES
            .iter()
            .filter(|(b, _)| f & b != 0)
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn flags_parse_and_render_as_redis() {
            assert_eq!(super::parse(&["default"]), Ok(0));
            assert_eq!(
                super::parse(&["NOSAVE", "now"]),
                Ok(super::NOSAVE | super::NOW)
            );
            assert_eq!(
                super::parse(&["save force"]),
                Ok(super::SAVE | super::FORCE)
            );
            assert!(super::parse(&["save", "nosave"])
                .unwrap_err()
                .contains("simultaneously"));
            assert!(super::parse(&["later"]).is_err());
            assert_eq!(super::render(0), "default");
            assert_eq!(super::render(super::NOW | super::NOSAVE), "nosave now");
        }
    }
}
