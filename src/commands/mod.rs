//! The command registry and dispatcher.
//!
//! Every command is one [`CommandSpec`] line in its family's table (`strings.rs`, `keys.rs`,
//! ...). [`registry()`] merges those tables once; from it come the resolution of commands (case-insensitive
//! lookup without allocation), arity errors, unknown-command errors, `COMMAND` output, ACL
//! categories and key positions (for `COMMAND GETKEYS` and, later, transaction locking). There
//! is no second list of commands anywhere.
//!
//! Every execution of a command goes through [`call()`] (`call.rs`): it resolves the command,
//! runs the checks, the handler, statistics, MONITOR, propagation and the serving of blocked
//! clients. Handlers receive the full argument vector (`args[0]` is the command name, as in
//! Redis), the arity already checked, and write exactly one reply into `ctx.out`. They reach
//! the store through [`Ctx::db`] / [`Ctx::store`], the views of their execution's
//! [`Scope`].

mod access_data;
pub mod acl;
pub mod aof;
pub mod args;
pub mod bitmaps;
pub mod blocking;
pub mod call;
pub mod channels;
pub mod clients;
pub mod cluster;
pub mod command;
pub mod config_rewrite;
pub mod connection;
pub mod debug;
pub mod docs;
mod docs_data;
pub mod dump;
pub mod errors;
pub mod functions;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod info;
pub mod keys;
pub mod keyspecs;
pub mod latency;
pub mod lists;
pub mod lolwut;
pub mod memory;
pub mod migrate;
pub mod multi;
pub mod persistence;
pub mod scripting;
pub mod server;
pub mod session;
pub mod sets;
pub mod sort;
pub mod strings;
pub mod zsets;

use std::sync::OnceLock;

use bytes::Bytes;

pub use call::call;

use crate::resp::reply::Reply;
use crate::state::{Client, LoopStats, Shared};
use crate::store::{DbRef, Op, Scope, StoreRef};

/// Command flags (Redis's names, as `COMMAND` reports them).
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const FAST: u32 = 1 << 10;
    pub const NO_AUTH: u32 = 1 << 11;
    pub const MAY_REPLICATE: u32 = 1 << 12;
    pub const NO_MULTI: u32 = 1 << 13;
    pub const ALLOW_BUSY: u32 = 1 << 14;
    pub const MOVABLE_KEYS: u32 = 1 << 15;
    pub const SENTINEL: u32 = 1 << 16;
    pub const DANGEROUS: u32 = 1 << 17;
    pub const SKIP_SLOWLOG: u32 = 1 << 18;
    pub const NO_ASYNC_LOADING: u32 = 1 << 19;
    /// The command may have no key arguments at all (EVAL with `numkeys` 0).
    pub const NO_MANDATORY_KEYS: u32 = 1 << 20;
    /// Internal (not reported by `COMMAND`): the command may touch keys it does not name
    /// (KEYS, SCAN, FLUSHALL, SELECT, MOVE, ...), so EXEC locks every shard when it is queued.
    pub const KEYSPACE_WIDE: u32 = 1 << 24;
    /// Internal, as Redis hides it: the command may expire arbitrary keys it meets (RANDOMKEY,
    /// SCAN), so the deletions it propagates are not wrapped in MULTI/EXEC.
    pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 25;
    /// Redis's `protected` (hidden from `COMMAND` on purpose, as Redis hides it): refused at
    /// dispatch unless its `enable-*` parameter allows the client (DEBUG:
    /// `enable-debug-command`).
    pub const PROTECTED: u32 = 1 << 26;

    /// (flag, name) as `COMMAND INFO` shows them: Redis's order, without the flags Redis
    /// hides there (may_replicate, sentinel).
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// The command group (`COMMAND DOCS` "group").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Generic,
    String,
    List,
    Hash,
    Set,
    SortedSet,
    Bitmap,
    HyperLogLog,
    Geo,
    Connection,
    Server,
    Transactions,
    PubSub,
    Cluster,
    Scripting,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Generic => "generic",
            Group::String => "string",
            Group::List => "list",
            Group::Hash => "hash",
            Group::Set => "set",
            Group::SortedSet => "sorted-set",
            Group::Bitmap => "bitmap",
            Group::HyperLogLog => "hyperloglog",
            Group::Geo => "geo",
            Group::Connection => "connection",
            Group::Server => "server",
            Group::Transactions => "transactions",
            Group::PubSub => "pubsub",
            Group::Cluster => "cluster",
            Group::Scripting => "scripting",
        }
    }
}

/// What a handler sees: the shared server, its connection's state, its output buffer and its
/// execution.
pub struct Ctx<'a> {
    pub srv: &'a Shared,
    pub client: &'a mut Client,
    pub out: &'a mut Reply,
    /// This loop's statistics (keyspace hits/misses, ...).
    pub stats: &'a LoopStats,
    /// Wall-clock milliseconds, fixed for the duration of the command.
    pub now: u64,
    /// The execution the command belongs to (see [`crate::store::scope`]).
    pub fx: &'a Scope,
    /// EXEC runs the command: nothing may block (Redis's `CLIENT_DENY_BLOCKING`).
    pub in_exec: bool,
    /// A script runs the command (`redis.call`): MONITOR shows it as `lua`'s.
    pub in_script: bool,
    /// When the command began; [`call()`] leaves the instant it ended here, so a batch of
    /// commands reads the clock once per command.
    pub clock: quanta::Instant,
    /// Nesting of [`call()`]: 0 before the outermost command starts.
    depth: u32,
    /// Bytes of pushes the command sent its own client, placed before its reply: kept even
    /// when CLIENT REPLY OFF/SKIP drops the reply.
    own_push_bytes: usize,
    /// What the running command asked of its propagation (kept only while writes are
    /// recorded).
    propagation: Option<Box<Propagation>>,
    /// The running command's error reply is raw protocol, not an error of the command (DEBUG
    /// ERROR): not counted in errorstats nor as a failed call, as Redis's `addReplySds`.
    raw_error_reply: bool,
}

/// What a command asked of its own propagation.
#[derive(Default)]
struct Propagation {
    /// Propagate this in place of the command.
    rewrite: Option<Vec<Bytes>>,
    /// Do not propagate the command, whatever it changed.
    prevented: bool,
    /// Propagate the command even if it changed nothing.
    forced: bool,
}

impl<'a> Ctx<'a> {
    /// The context for one command of `client`, starting at `clock`, in execution `fx`.
    pub fn new(
        srv: &'a Shared,
        stats: &'a LoopStats,
        client: &'a mut Client,
        out: &'a mut Reply,
        fx: &'a Scope,
        now: u64,
        clock: quanta::Instant,
    ) -> Self {
        Ctx {
            srv,
            client,
            out,
            stats,
            now,
            fx,
            in_exec: false,
            in_script: false,
            clock,
            depth: 0,
            own_push_bytes: 0,
            propagation: None,
            raw_error_reply: false,
        }
    }

    /// A context for `client` inside the running execution `fx`, whose command is running:
    /// the commands called through it are nested in that execution's unit, as EXEC's queue
    /// is (DEBUG LOADAOF replays the AOF so, inside the shard locks it holds).
    pub(crate) fn nested_in(
        srv: &'a Shared,
        stats: &'a LoopStats,
        client: &'a mut Client,
        out: &'a mut Reply,
        fx: &'a Scope,
        now: u64,
    ) -> Self {
        let mut ctx = Ctx::new(srv, stats, client, out, fx, now, quanta::Instant::now());
        ctx.depth = 1;
        ctx.in_exec = true;
        ctx
    }

    /// The store as this execution sees it (borrowed from the shared state, not from `self`,
    /// so a handler can keep writing to `self.out` while it holds it).
    #[inline]
    pub fn store(&self) -> StoreRef<'a> {
        self.srv.store.with(self.fx)
    }

    /// The client's selected database, as this execution sees it.
    #[inline]
    pub fn db(&self) -> DbRef<'a> {
        self.store().db(self.client.db)
    }

    /// Whether the protected action governed by the `enable-*` parameter `setting` (a
    /// [`crate::tunables`] index: `enable-debug-command`, `enable-protected-configs`) is
    /// allowed to this client (Redis's `allowProtectedAction`): `yes`, or `local` and the
    /// client is on loopback — exactly `127.0.0.1` or `::1`, as Redis's `islocalClient`
    /// compares the peer's text.
    pub fn allows_protected(&self, setting: usize) -> bool {
        use crate::tunables::{PROTECTED_LOCAL, PROTECTED_YES};
        match self.srv.tunables.int(setting) {
            PROTECTED_YES => true,
            PROTECTED_LOCAL => match self.client.info.addr().ip() {
                std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
                std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
            },
            _ => false,
        }
    }

    /// Records a read lookup of `key` in the selected database, as Redis's `lookupKeyRead`
    /// does (write lookups record nothing): a keyspace hit (the key existed, whatever its type)
    /// or a miss (missing or expired), and on a miss the `keymiss` keyspace event (class `m`).
    ///
    /// Call it where Redis looks the key up: right after the lookup, before the command reports
    /// any change (SET .. GET, GETSET publish `keymiss` before `set`), and for multi-key reads
    /// after each key in turn (an expired key's `expired` then `keymiss`, then the next key's).
    /// Off the hot path when notifications are off: one relaxed load ([`KeyspaceEvents::notify`]).
    ///
    /// [`KeyspaceEvents::notify`]: crate::store::events::KeyspaceEvents::notify
    #[inline]
    pub fn read_lookup(&self, key: &[u8], hit: bool) {
        self.count_lookup(hit);
        if !hit {
            self.srv.store.events().notify(
                crate::store::events::class::KEY_MISS,
                "keymiss",
                self.client.db,
                key,
                self.fx,
            );
        }
    }

    /// Counts a read lookup as a keyspace hit or miss without publishing `keymiss`: Redis's
    /// `LOOKUP_NONOTIFY`, used only by OBJECT (`objectCommandLookup`). Every other read lookup
    /// goes through [`Ctx::read_lookup`].
    #[inline]
    pub fn count_lookup(&self, hit: bool) {
        let counter = if hit {
            &self.stats.keyspace_hits
        } else {
            &self.stats.keyspace_misses
        };
        LoopStats::add(counter, 1);
    }

    /// Publishes `message` on `channel` (PUBLISH, SPUBLISH); returns the receivers counted.
    pub fn publish(&self, space: crate::pubsub::Space, channel: &[u8], message: &[u8]) -> usize {
        self.srv.publish(space, channel, message, self.fx)
    }

    /// Queues `msg` for loop `to`; the loop is woken once this execution ends.
    pub fn send(&self, to: usize, msg: crate::state::mailbox::Msg) {
        self.srv.loops.send(to, msg, self.fx);
    }

    /// Propagates `argv` in place of the running command (Redis's `rewriteClientCommandVector`
    /// for propagation: BLPOP served at once goes out as LPOP, ...). Applies when the command
    /// changed the dataset.
    pub fn propagate_as(&mut self, argv: &[&[u8]]) {
        if self.fx.propagating() {
            self.asked().rewrite = Some(argv.iter().map(|a| Bytes::copy_from_slice(a)).collect());
        }
    }

    /// Propagates `argv` in database `db` in addition to (before) the running command
    /// (Redis's `alsoPropagate`).
    pub fn also_propagate(&self, db: usize, argv: &[&[u8]]) {
        self.fx.propagate(Op::new(db, argv));
    }

    /// The running command is not propagated, whatever it changed (Redis's
    /// `preventCommandPropagation`).
    pub fn prevent_propagation(&mut self) {
        self.asked().prevented = true;
    }

    /// The running command is propagated even if it changed nothing (Redis's
    /// `forceCommandPropagation`: FLUSHALL and FLUSHDB of an empty database).
    pub fn force_propagation(&mut self) {
        self.asked().forced = true;
    }

    /// The error the running command replies is raw protocol it was asked to send (DEBUG
    /// ERROR), not a failure: [`call()`] does not count it.
    pub(crate) fn reply_is_raw_error(&mut self) {
        self.raw_error_reply = true;
    }

    /// The `bytes` just written are pushes to the client itself (Pub/Sub confirmations):
    /// kept when CLIENT REPLY OFF/SKIP drops the reply. They must come first in the reply.
    pub(crate) fn count_as_push(&mut self, bytes: usize) {
        self.own_push_bytes += bytes;
    }

    fn asked(&mut self) -> &mut Propagation {
        self.propagation.get_or_insert_with(Box::default)
    }

    /// Takes what the running command asked of its propagation (so far).
    fn take_propagation(&mut self) -> Option<Box<Propagation>> {
        self.propagation.take()
    }
}

pub type Handler = fn(&mut Ctx<'_>, &[Bytes]);

/// One registry line.
pub struct CommandSpec {
    /// Lowercase full name (`"get"`, `"client|kill"`).
    pub name: &'static str,
    /// Positive: exact argc (name included). Negative: minimum argc.
    pub arity: i32,
    pub flags: u32,
    pub group: Group,
    /// First key position, last (negative counts from the end), step. 0/0/0 = no keys.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub handler: Handler,
    /// Container commands (CLIENT, CONFIG, ...) dispatch on `args[1]` through these.
    pub subcommands: &'static [CommandSpec],
    /// Key positions of commands whose keys are not first/last/step (a `numkeys` argument):
    /// `COMMAND GETKEYS` and (issue 5) transaction locking use [`CommandSpec::keys_of`].
    pub movable_keys: Option<KeysFn>,
}

/// Finds the key positions in a full argument vector; `None` when the arguments are malformed.
pub type KeysFn = fn(&[Bytes]) -> Option<Vec<usize>>;

/// Keys counted by a `numkeys` argument at position `AT` and following it (LMPOP, SINTERCARD,
/// ZINTERCARD, ZUNION, ZMPOP, ...).
pub fn keys_after_numkeys<const AT: usize>(args: &[Bytes]) -> Option<Vec<usize>> {
    let n = usize::try_from(crate::util::num::parse_i64(args.get(AT)?)?).ok()?;
    let end = AT.checked_add(1)?.checked_add(n)?;
    (n > 0 && end <= args.len()).then(|| (AT + 1..end).collect())
}

/// A destination key at 1, then keys counted by `numkeys` at 2 (ZUNIONSTORE, ZINTERSTORE,
/// ZDIFFSTORE).
pub fn dest_and_numkeys(args: &[Bytes]) -> Option<Vec<usize>> {
    let mut keys = keys_after_numkeys::<2>(args)?;
    keys.insert(0, 1);
    Some(keys)
}

/// Builds a table line; see the family tables for use.
#[allow(clippy::too_many_arguments)]
pub const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    group: Group,
    first_key: i32,
    last_key: i32,
    step: i32,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        group,
        first_key,
        last_key,
        step,
        handler,
        subcommands: &[],
        movable_keys: None,
    }
}

/// A container command (its own handler answers when no subcommand is given, which the arity
/// check prevents; Redis gives containers arity -2).
pub const fn container(
    name: &'static str,
    flags: u32,
    group: Group,
    subcommands: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        name,
        arity: -2,
        flags,
        group,
        first_key: 0,
        last_key: 0,
        step: 0,
        handler: |_, _| {},
        subcommands,
        movable_keys: None,
    }
}

impl CommandSpec {
    /// This line with a key finder for movable keys (sets the `movablekeys` flag).
    pub const fn with_keys(self, keys: KeysFn) -> CommandSpec {
        CommandSpec {
            movable_keys: Some(keys),
            flags: self.flags | flags::MOVABLE_KEYS,
            ..self
        }
    }

    /// The key positions in `args` (the full argument vector), movable keys included.
    pub fn keys_of(&self, args: &[Bytes]) -> Vec<usize> {
        match self.movable_keys {
            Some(find) => find(args).unwrap_or_default(),
            None => self.key_positions(args.len()),
        }
    }

    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }

    pub(crate) fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// The positions of the key arguments in `args` (empty when it has none).
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        if self.first_key <= 0 {
            return Vec::new();
        }
        let last = if self.last_key < 0 {
            argc as i32 + self.last_key
        } else {
            self.last_key
        };
        let step = self.step.max(1) as usize;
        (self.first_key as usize..=last.max(0) as usize)
            .step_by(step)
            .filter(|&i| i < argc)
            .collect()
    }

    /// ACL categories (`@read`, `@write`, ...) in Redis's order: Redis's explicit ones plus
    /// those the flags imply (see [`keyspecs`]).
    pub fn acl_categories(&self) -> Vec<&'static str> {
        const AT: [&str; 21] = [
            "@keyspace",
            "@read",
            "@write",
            "@set",
            "@sortedset",
            "@list",
            "@hash",
            "@string",
            "@bitmap",
            "@hyperloglog",
            "@geo",
            "@stream",
            "@pubsub",
            "@admin",
            "@fast",
            "@slow",
            "@blocking",
            "@dangerous",
            "@connection",
            "@transaction",
            "@scripting",
        ];
        let bits = keyspecs::categories_of(self);
        AT.iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, c)| *c)
            .collect()
    }
}

/// All commands, indexed.
pub struct Registry {
    /// Top-level commands (what `COMMAND` and `COMMAND COUNT` report).
    pub commands: Vec<&'static CommandSpec>,
    /// Every top-level command, then every subcommand: the index space of per-command
    /// statistics (`LoopStats::commands`, `cmdstat_client|list`) and of
    /// `ClientInfo::last_cmd` (`cmd=client|list`). `all[i] == commands[i]` for
    /// `i < commands.len()`; [`Registry::resolve`] and [`call()`] use indexes into it.
    pub all: Vec<&'static CommandSpec>,
    /// For top-level command `i`, the index in `all` of its first subcommand.
    sub_base: Vec<usize>,
    by_name: ahash::HashMap<&'static [u8], usize>,
}

/// Families' tables; adding a family means adding one line here.
fn tables() -> [&'static [CommandSpec]; 31] {
    [
        connection::COMMANDS,
        acl::COMMANDS,
        strings::COMMANDS,
        bitmaps::COMMANDS,
        hyperloglog::COMMANDS,
        sort::COMMANDS,
        keys::COMMANDS,
        dump::COMMANDS,
        migrate::COMMANDS,
        lists::COMMANDS,
        blocking::COMMANDS,
        hashes::COMMANDS,
        sets::COMMANDS,
        zsets::COMMANDS,
        geo::COMMANDS,
        server::COMMANDS,
        persistence::COMMANDS,
        debug::COMMANDS,
        aof::COMMANDS,
        clients::COMMANDS,
        command::COMMANDS,
        info::COMMANDS,
        multi::COMMANDS,
        channels::COMMANDS,
        memory::COMMANDS,
        latency::COMMANDS,
        lolwut::COMMANDS,
        cluster::COMMANDS,
        scripting::COMMANDS,
        functions::COMMANDS,
        server::MONITOR,
    ]
}

/// The process-wide registry (built on first use).
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut commands = Vec::new();
        let mut by_name = ahash::HashMap::default();
        for table in tables() {
            for spec in table {
                let dup = by_name.insert(spec.name.as_bytes(), commands.len());
                assert!(dup.is_none(), "command {} registered twice", spec.name);
                commands.push(spec);
            }
        }
        let mut all = commands.clone();
        let mut sub_base = Vec::with_capacity(commands.len());
        for spec in &commands {
            sub_base.push(all.len());
            all.extend(spec.subcommands.iter());
        }
        Registry {
            commands,
            all,
            sub_base,
            by_name,
        }
    })
}

const MAX_NAME: usize = 32;

impl Registry {
    /// Case-insensitive lookup without allocating.
    pub fn lookup(&self, name: &[u8]) -> Option<(usize, &'static CommandSpec)> {
        if name.len() > MAX_NAME {
            return None;
        }
        let mut lower = [0u8; MAX_NAME];
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        let i = *self.by_name.get(&lower[..name.len()])?;
        Some((i, self.commands[i]))
    }

    /// Looks up `args[0]` and, for containers, `args[1]`. Returns the spec and its index in
    /// [`Registry::all`] (a subcommand has its own index), or the error reply text Redis gives.
    pub fn resolve(&self, args: &[Bytes]) -> Result<(usize, &'static CommandSpec), Vec<u8>> {
        let Some((i, spec)) = self.lookup(&args[0]) else {
            return Err(unknown_command(args));
        };
        if spec.is_container() && args.len() >= 2 {
            let base = spec.name.len() + 1;
            let pos = spec.subcommands.iter().position(|s| {
                s.name.len() > base && s.name.as_bytes()[base..].eq_ignore_ascii_case(&args[1])
            });
            return match pos {
                Some(j) => Ok((self.sub_base[i] + j, &spec.subcommands[j])),
                None => Err(errors::concat(&[
                    b"ERR unknown subcommand '",
                    errors::c_str(&args[1], 128),
                    b"'. Try ",
                    &errors::c_str(&args[0], usize::MAX).to_ascii_uppercase(),
                    b" HELP.",
                ])),
            };
        }
        Ok((i, spec))
    }

    /// The index in [`Registry::all`] of a command or subcommand by full name (`"get"`,
    /// `"config|get"`), case-insensitive (ACL rules name commands this way).
    pub fn index_full(&self, name: &[u8]) -> Option<usize> {
        match name.iter().position(|&b| b == b'|') {
            None => self.lookup(name).map(|(i, _)| i),
            Some(bar) => {
                let (i, container) = self.lookup(&name[..bar])?;
                let sub = &name[bar + 1..];
                let base = container.name.len() + 1;
                let j = container.subcommands.iter().position(|s| {
                    s.name.len() > base && s.name.as_bytes()[base..].eq_ignore_ascii_case(sub)
                })?;
                Some(self.sub_base[i] + j)
            }
        }
    }

    /// For top-level command `i`, the index in [`Registry::all`] of its first subcommand.
    pub fn sub_base(&self, i: usize) -> usize {
        self.sub_base[i]
    }

    /// A command or subcommand by its full name (`"get"`, `"client|list"`), case-insensitive,
    /// as `COMMAND INFO` and `COMMAND DOCS` accept them.
    pub fn lookup_full(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        match name.iter().position(|&b| b == b'|') {
            None => self.lookup(name).map(|(_, s)| s),
            Some(bar) => {
                let (_, container) = self.lookup(&name[..bar])?;
                subcommand(container, &name[bar + 1..])
            }
        }
    }
}

/// A container's subcommand by (case-insensitive) name.
pub fn subcommand(container: &'static CommandSpec, name: &[u8]) -> Option<&'static CommandSpec> {
    let base = container.name.len() + 1;
    container
        .subcommands
        .iter()
        .find(|s| s.name.len() > base && s.name.as_bytes()[base..].eq_ignore_ascii_case(name))
}

/// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `
pub fn unknown_command(args: &[Bytes]) -> Vec<u8> {
    // Redis: `'%.*s' ` per argument while the list is under 128 bytes, each cut to what is left.
    let mut list = Vec::new();
    for a in &args[1..] {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push(b'\'');
        list.extend_from_slice(errors::c_str(a, room));
        list.extend_from_slice(b"' ");
    }
    errors::concat(&[
        b"ERR unknown command '",
        errors::c_str(&args[0], 128),
        b"', with args beginning with: ",
        &list,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_has_unique_lowercase_names() {
        let reg = registry();
        for c in &reg.commands {
            assert_eq!(c.name, c.name.to_lowercase());
            for s in c.subcommands {
                assert!(s.name.starts_with(&format!("{}|", c.name)), "{}", s.name);
            }
        }
        assert!(reg.lookup(b"GeT").is_some());
        assert!(reg.lookup(b"nosuchcommand").is_none());
    }

    #[test]
    fn unknown_command_text_matches_redis() {
        let args = vec![
            Bytes::from_static(b"foo"),
            Bytes::from_static(b"a"),
            Bytes::from_static(b"b"),
        ];
        assert_eq!(
            unknown_command(&args),
            b"ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        let args = vec![Bytes::from_static(b"foo")];
        assert_eq!(
            unknown_command(&args),
            b"ERR unknown command 'foo', with args beginning with: "
        );
        // Raw bytes, cut at NUL, as Redis's %s.
        let args = vec![Bytes::from_static(b"foo"), Bytes::from_static(b"\xff\x00a")];
        assert_eq!(
            unknown_command(&args),
            b"ERR unknown command 'foo', with args beginning with: '\xff' "
        );
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let reg = registry();
        let (_, mset) = reg.lookup(b"mset").unwrap();
        assert_eq!(mset.key_positions(5), vec![1, 3]);
        let (_, get) = reg.lookup(b"get").unwrap();
        assert_eq!(get.key_positions(2), vec![1]);
        let args = |v: &[&str]| -> Vec<Bytes> {
            v.iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect()
        };
        assert_eq!(
            keys_after_numkeys::<1>(&args(&["lmpop", "2", "a", "b", "LEFT"])),
            Some(vec![2, 3])
        );
        assert_eq!(keys_after_numkeys::<1>(&args(&["lmpop", "9", "a"])), None);
        assert_eq!(keys_after_numkeys::<1>(&args(&["lmpop", "0", "a"])), None);
        assert_eq!(
            dest_and_numkeys(&args(&[
                "zunionstore",
                "d",
                "2",
                "a",
                "b",
                "WEIGHTS",
                "1",
                "2"
            ])),
            Some(vec![1, 3, 4])
        );
    }
}
