//! What a command may touch, as ACL judges it: its ACL categories and the keys and channels in
//! its arguments, each with how the command accesses it.
//!
//! The data is Redis 7.0's (each command's explicit categories and key specs, generated into
//! `access_data.rs` from Redis's command descriptions); the registry's flags add the implicit
//! categories (Redis's `setImplicitACLCategories`). [`access()`] holds the result per registry
//! index, built once. [`keys_with_flags`] is Redis's `getKeysFromCommandWithSpecs`: the key
//! specs when they are complete and their flags fixed, else the command's own key finder
//! (SET's flags depend on `GET`).
//!
//! No locking: everything here is immutable after the first use.

use std::sync::OnceLock;

use bytes::Bytes;
use smallvec::SmallVec;

use super::{flags, registry, CommandSpec};

/// Key spec flags (Redis's `CMD_KEY_*`).
pub mod key_flags {
    pub const RO: u16 = 1 << 0;
    pub const RW: u16 = 1 << 1;
    pub const OW: u16 = 1 << 2;
    pub const RM: u16 = 1 << 3;
    pub const ACCESS: u16 = 1 << 4;
    pub const UPDATE: u16 = 1 << 5;
    pub const INSERT: u16 = 1 << 6;
    pub const DELETE: u16 = 1 << 7;
    pub const NOT_KEY: u16 = 1 << 8;
    pub const INCOMPLETE: u16 = 1 << 9;
    pub const VARIABLE_FLAGS: u16 = 1 << 10;

    /// `(flag, name)` in Redis's order (COMMAND INFO).
    pub const NAMES: &[(u16, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

use key_flags as kf;

/// Where a key spec's keys start.
#[derive(Debug, Clone, Copy)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from `startfrom` (negative: from the end, backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    Unknown,
}

/// Which arguments from the start are keys.
#[derive(Debug, Clone, Copy)]
pub enum Find {
    /// `lastkey` relative to the start (negative: from the end), every `step`; `limit` splits
    /// the remaining arguments.
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    /// A count at `keynumidx` (relative to the start), keys from `firstkey` every `step`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    Unknown,
}

/// One of a command's key specs.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub notes: Option<&'static str>,
    pub flags: u16,
    pub begin: Begin,
    pub find: Find,
}

/// A command's data in `access_data.rs`.
pub struct Access {
    /// Explicit categories, lowercase without `@`.
    pub categories: &'static [&'static str],
    /// Command tips (COMMAND INFO), lowercase.
    pub tips: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
}

/// ACL categories in Redis's order; a command's categories are a bit mask over it.
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of category `name` (case-insensitive, without `@`), if it exists.
pub fn category_bit(name: &[u8]) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

fn bit(name: &str) -> u32 {
    category_bit(name.as_bytes()).expect("a known category")
}

/// What ACL needs of one registry entry.
pub struct CommandAccess {
    /// Category bits over [`CATEGORIES`].
    pub categories: u32,
    pub key_specs: &'static [KeySpec],
    /// Key specs exist and give reliable flags: [`keys_with_flags`] evaluates them.
    use_specs: bool,
    /// The command may name keys (Redis's `doesCommandHaveKeys`).
    pub has_keys: bool,
    /// How its arguments name Pub/Sub channels, if they do.
    pub channels: Option<Channels>,
}

/// Pub/Sub channel arguments (Redis's `commands_with_channels`): from argument 1, one or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    pub all_remaining: bool,
    /// Subscribing or publishing (checked by ACL), not unsubscribing.
    pub checked: bool,
    /// The arguments are patterns (PSUBSCRIBE): matched literally against the ACL's.
    pub pattern: bool,
}

fn channels_of(name: &str) -> Option<Channels> {
    let (all_remaining, checked, pattern) = match name {
        "subscribe" | "ssubscribe" => (true, true, false),
        "unsubscribe" | "sunsubscribe" => (true, false, false),
        "psubscribe" => (true, true, true),
        "punsubscribe" => (true, false, true),
        "publish" | "spublish" => (false, true, false),
        _ => return None,
    };
    Some(Channels {
        all_remaining,
        checked,
        pattern,
    })
}

/// The generated data of `name`, if any.
fn data_of(name: &str) -> Option<&'static Access> {
    let table = super::access_data::ACCESS;
    table
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| &table[i].1)
}

fn build(spec: &CommandSpec) -> CommandAccess {
    let data = data_of(spec.name);
    let mut cats = 0;
    for c in data.map_or(&[][..], |d| d.categories) {
        cats |= bit(c);
    }
    // Redis's setImplicitACLCategories.
    let f = spec.flags;
    if f & flags::WRITE != 0 {
        cats |= bit("write");
    }
    if f & flags::READONLY != 0 && cats & bit("scripting") == 0 {
        cats |= bit("read");
    }
    if f & flags::ADMIN != 0 {
        cats |= bit("admin") | bit("dangerous");
    }
    if f & flags::PUBSUB != 0 {
        cats |= bit("pubsub");
    }
    if f & flags::FAST != 0 {
        cats |= bit("fast");
    }
    if f & flags::BLOCKING != 0 {
        cats |= bit("blocking");
    }
    if cats & bit("fast") == 0 {
        cats |= bit("slow");
    }
    let key_specs = data.map_or(&[][..], |d| d.key_specs);
    let real_key = key_specs.iter().any(|k| k.flags & kf::NOT_KEY == 0);
    let variable = key_specs.iter().any(|k| k.flags & kf::VARIABLE_FLAGS != 0);
    CommandAccess {
        categories: cats,
        key_specs,
        use_specs: real_key && !variable,
        // Redis's doesCommandHaveKeys: shard channels are `not_key` specs, not keys.
        has_keys: real_key
            || (key_specs.is_empty() && (spec.movable_keys.is_some() || spec.first_key > 0)),
        channels: channels_of(spec.name),
    }
}

/// The access data of every registry entry, by index into [`super::Registry::all`].
pub fn access() -> &'static [CommandAccess] {
    static ACCESS: OnceLock<Vec<CommandAccess>> = OnceLock::new();
    ACCESS.get_or_init(|| registry().all.iter().map(|s| build(s)).collect())
}

/// Redis's command tips of `spec` (COMMAND INFO).
pub fn tips_of(spec: &CommandSpec) -> &'static [&'static str] {
    data_of(spec.name).map_or(&[][..], |d| d.tips)
}

/// Redis's key specs of `spec` (any registry entry; empty when Redis's data has none).
pub fn key_specs_of(spec: &CommandSpec) -> &'static [KeySpec] {
    data_of(spec.name).map_or(&[][..], |d| d.key_specs)
}

/// The categories of `spec` (any registry entry).
pub fn categories_of(spec: &CommandSpec) -> u32 {
    build(spec).categories
}

/// Key positions in `args` with their key spec flags.
pub type KeyRefs = SmallVec<[(usize, u16); 4]>;

/// The keys of registry entry `index` in `args` (the full argument vector), with the flags of
/// the spec that found each (Redis's `getKeysFromCommandWithSpecs`).
pub fn keys_with_flags(index: usize, args: &[Bytes]) -> KeyRefs {
    let acc = &access()[index];
    if acc.use_specs {
        if let Some(keys) = keys_from_specs(acc.key_specs, args) {
            return keys;
        }
    }
    let spec = registry().all[index];
    let keys = spec.keys_of(args);
    // Redis's key finders that report flags (the others report none: read and write).
    let flags_at = |i: usize| -> u16 {
        match spec.name {
            // setGetKeys: reading only with GET.
            "set" if args.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) => {
                kf::RW | kf::ACCESS | kf::UPDATE
            }
            "set" => kf::OW | kf::UPDATE,
            // sortGetKeys: the sorted key is read, the STORE key overwritten.
            "sort" if i > 0 => kf::OW | kf::UPDATE,
            "sort" | "sort_ro" => kf::RO | kf::ACCESS,
            "bitfield" if bitfield_reads_only(args) => kf::RO | kf::ACCESS,
            // migrateGetKeys: every key is read, then deleted here.
            "migrate" => kf::RW | kf::ACCESS | kf::DELETE,
            _ => kf::RW | kf::ACCESS | kf::UPDATE,
        }
    };
    keys.into_iter()
        .enumerate()
        .map(|(i, p)| (p, flags_at(i)))
        .collect()
}

/// Redis's `bitfieldGetKeys`: only GET and OVERFLOW operations, well formed.
fn bitfield_reads_only(args: &[Bytes]) -> bool {
    let mut i = 2;
    while i < args.len() {
        let rem = args.len() - i - 1;
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"get") && rem >= 2 {
            i += 3;
        } else if a.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

/// Redis's `getKeysUsingKeySpecs`; `None` where a spec does not apply (a malformed or
/// incomplete one).
fn keys_from_specs(specs: &[KeySpec], args: &[Bytes]) -> Option<KeyRefs> {
    let argc = args.len() as i64;
    let mut out = KeyRefs::new();
    for spec in specs {
        if spec.flags & kf::NOT_KEY != 0 {
            continue;
        }
        let mut first = match spec.begin {
            Begin::Index(pos) => pos as i64,
            Begin::Keyword { keyword, startfrom } => {
                let startfrom = startfrom as i64;
                let (start, end) = if startfrom > 0 {
                    (startfrom, argc - 1)
                } else {
                    (argc + startfrom, 1)
                };
                let mut found = 0;
                let mut i = start;
                // As Redis: the search stops before `end`.
                while i != end && (1..argc).contains(&i) {
                    if args[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i += if start <= end { 1 } else { -1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            Begin::Unknown => return None,
        };
        let (last, step) = match spec.find {
            Find::Range {
                lastkey,
                step,
                limit,
            } => {
                let lastkey = lastkey as i64;
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit as i64 + lastkey)
                };
                (last, step as i64)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                let at = first + keynumidx as i64;
                if keynumidx as i64 >= argc || at >= argc {
                    return None;
                }
                let n = crate::util::num::parse_i64(&args[at as usize]).filter(|&n| n >= 0)?;
                first += firstkey as i64;
                (first + n - 1, step as i64)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push((i as usize, spec.flags));
            i += step.max(1);
        }
        if spec.flags & kf::INCOMPLETE != 0 {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn keys(cmd: &str, a: &[&str]) -> Vec<(usize, u16)> {
        let argv = args(a);
        let (index, _) = registry().resolve(&argv).unwrap();
        assert_eq!(registry().all[index].name, cmd);
        keys_with_flags(index, &argv).to_vec()
    }

    #[test]
    fn key_specs_give_each_key_its_access() {
        assert_eq!(keys("get", &["get", "k"]), [(1, kf::RO | kf::ACCESS)]);
        assert_eq!(
            keys(
                "zunionstore",
                &["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"]
            ),
            [
                (1, kf::OW | kf::UPDATE),
                (3, kf::RO | kf::ACCESS),
                (4, kf::RO | kf::ACCESS)
            ]
        );
        assert_eq!(
            keys("mset", &["mset", "a", "1", "b", "2"]),
            [(1, kf::OW | kf::UPDATE), (3, kf::OW | kf::UPDATE)]
        );
        assert_eq!(keys("set", &["set", "k", "v"]), [(1, kf::OW | kf::UPDATE)]);
        assert_eq!(
            keys("set", &["set", "k", "v", "get"]),
            [(1, kf::RW | kf::ACCESS | kf::UPDATE)]
        );
        // A malformed numkeys: no keys (the command answers the syntax error).
        assert!(keys("zunionstore", &["zunionstore", "d", "x", "a"]).is_empty());
        assert!(keys("ping", &["ping"]).is_empty());
        // MIGRATE's KEYS spec is incomplete: its own finder, with its flags.
        let del = kf::RW | kf::ACCESS | kf::DELETE;
        assert_eq!(
            keys(
                "migrate",
                &["migrate", "h", "1", "", "0", "9", "KEYS", "a", "b"]
            ),
            [(7, del), (8, del)]
        );
        assert_eq!(
            keys("migrate", &["migrate", "h", "1", "k", "0", "9"]),
            [(3, del)]
        );
    }

    #[test]
    fn categories_are_redis_s() {
        let cats = |name: &str| {
            let c = categories_of(registry().lookup_full(name.as_bytes()).unwrap());
            CATEGORIES
                .iter()
                .enumerate()
                .filter(|(i, _)| c & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
        };
        assert_eq!(cats("get"), ["read", "string", "fast"]);
        assert_eq!(cats("flushall"), ["keyspace", "write", "slow", "dangerous"]);
        assert_eq!(cats("client"), ["slow"]);
        assert_eq!(
            cats("client|kill"),
            ["admin", "slow", "dangerous", "connection"]
        );
        assert_eq!(cats("publish"), ["pubsub", "fast"]);
        assert_eq!(cats("blpop"), ["write", "list", "slow", "blocking"]);
    }
}
