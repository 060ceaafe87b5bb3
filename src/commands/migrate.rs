//! MIGRATE: moves (or copies) keys to another server by sending it `RESTORE` commands with
//! their DUMP payloads, as Redis 7.0's `migrateCommand` does.
//!
//! The exchange with the target is synchronous, on the loop thread that runs the command:
//! each connect, write and reply wait is bounded by the command's timeout (Redis blocks its
//! main thread the same way; here only this loop stalls). No shard lock is held during the
//! I/O: the values are serialized under read locks first, and each key is deleted under its
//! own write lock once the target acknowledged it. (Inside EXEC the transaction's shards stay
//! held throughout, as they do for every command EXEC runs.)
//!
//! Connections are cached per `host:port` with the database last selected there
//! ([`crate::state::migrate`]), so SELECT is sent only when the database changes. A failed
//! connection is dropped from the cache; when the failure was not a timeout and nothing was
//! acknowledged yet, the command reconnects and tries once more (a cached connection the
//! target closed meanwhile is the common case).
//!
//! Moved keys are propagated as one `DEL` of the keys the target acknowledged; COPY changes
//! nothing locally and propagates nothing.

use bytes::{BufMut, Bytes, BytesMut};

use super::flags::*;
use super::{args, errors, spec, CommandSpec, Ctx, Group};
use crate::persist::rdb::encode;
use crate::state::migrate::Cached;
use crate::store::events::class;
use crate::util::num::parse_i64;
use crate::util::syncio::{atoi_port, IoError, SyncConn};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name      arity flags   group           keys     handler
    spec("migrate",   -6, WRITE, Group::Generic, 3, 3, 1, migrate).with_keys(migrate_keys),
];

const KEYS_NEED_EMPTY_KEY: &str =
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";
const CONNECT_ERROR: &str = "IOERR error or timeout connecting to the client";
const WRITE_ERROR: &str = "IOERR error or timeout writing to target instance";
const READ_ERROR: &str = "IOERR error or timeout reading to target instance";

/// Writes go out in pieces of this size, each with the whole timeout (as Redis).
const WRITE_CHUNK: usize = 64 * 1024;

/// Redis's `migrateGetKeys`: the key at 3, or with `KEYS` (after the options it skips with
/// their arguments) every argument after it — none when the key argument is not empty then.
pub fn migrate_keys(args: &[Bytes]) -> Option<Vec<usize>> {
    let (mut first, mut num) = (3, 1);
    let mut i = 6;
    while i < args.len() {
        let a = &args[i];
        if args::is(a, "keys") {
            if args[3].is_empty() {
                first = i + 1;
                num = args.len() - first;
            } else {
                num = 0;
            }
            break;
        }
        // As Redis: an option's arguments are skipped, then the loop's own step.
        if args::is(a, "auth") {
            i += 1;
        } else if args::is(a, "auth2") {
            i += 2;
        }
        i += 1;
    }
    Some((first..first + num).collect())
}

/// The parsed arguments.
struct Request<'a> {
    host: &'a [u8],
    port: &'a [u8],
    copy: bool,
    replace: bool,
    username: Option<&'a [u8]>,
    password: Option<&'a [u8]>,
    /// The key arguments to migrate.
    keys: &'a [Bytes],
    dbid: i64,
    timeout: u64,
}

/// Parses the arguments as Redis does (options first, then the timeout and the database), or
/// gives the error reply.
fn parse(argv: &[Bytes]) -> Result<Request<'_>, &'static str> {
    let mut req = Request {
        host: &argv[1],
        port: &argv[2],
        copy: false,
        replace: false,
        username: None,
        password: None,
        keys: &argv[3..4],
        dbid: 0,
        timeout: 0,
    };
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let a = &argv[j];
        if args::is(a, "copy") {
            req.copy = true;
        } else if args::is(a, "replace") {
            req.replace = true;
        } else if args::is(a, "auth") {
            if more == 0 {
                return Err(errors::SYNTAX);
            }
            j += 1;
            req.password = Some(&argv[j]);
        } else if args::is(a, "auth2") {
            if more < 2 {
                return Err(errors::SYNTAX);
            }
            req.username = Some(&argv[j + 1]);
            req.password = Some(&argv[j + 2]);
            j += 2;
        } else if args::is(a, "keys") {
            if !argv[3].is_empty() {
                return Err(KEYS_NEED_EMPTY_KEY);
            }
            req.keys = &argv[j + 1..];
            break;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    let timeout = parse_i64(&argv[5]).ok_or(errors::NOT_INTEGER)?;
    req.dbid = parse_i64(&argv[4]).ok_or(errors::NOT_INTEGER)?;
    req.timeout = if timeout <= 0 { 1000 } else { timeout as u64 };
    Ok(req)
}

/// A key found here: its name, DUMP payload and absolute expiry (0: none).
struct Found<'a> {
    key: &'a Bytes,
    payload: Vec<u8>,
    expire_at: u64,
}

/// `*n\r\n`, then each argument as a bulk string.
fn put_command(buf: &mut BytesMut, parts: &[&[u8]]) {
    buf.put_slice(format!("*{}\r\n", parts.len()).as_bytes());
    for p in parts {
        buf.put_slice(format!("${}\r\n", p.len()).as_bytes());
        buf.put_slice(p);
        buf.put_slice(b"\r\n");
    }
}

/// The target's name in the connection cache (Redis's `host:port`, the arguments as given).
fn cache_name(host: &[u8], port: &[u8]) -> Vec<u8> {
    [host, b":", port].concat()
}

/// # Format
/// `MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key [key ...]]`
///
/// `+OK` once the target restored every key found here; `+NOKEY` when none exists. Errors:
/// the argument errors; `IOERR error or timeout connecting to the client` / `... writing to
/// target instance` / `... reading to target instance`; the first error the target replied
/// (AUTH, SELECT, then RESTORE: `BUSYKEY` without REPLACE) as `ERR Target instance replied
/// with error: ...` — the keys it did restore are moved all the same.
fn migrate(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let req = match parse(argv) {
        Ok(r) => r,
        Err(e) => return ctx.out.error(e),
    };
    // Redis's lookupKeyRead of each key (hits, misses, `keymiss`), keeping those that exist.
    let now = ctx.now;
    let mut found = Vec::with_capacity(req.keys.len());
    for key in req.keys {
        let got = ctx
            .db()
            .read(key, now, |e| (encode::dump_payload(&e.value), e.expire_at));
        ctx.read_lookup(key, got.is_some());
        if let Some((payload, expire_at)) = got {
            found.push(Found {
                key,
                payload,
                expire_at,
            });
        }
    }
    if found.is_empty() {
        return ctx.out.simple("NOKEY");
    }
    let name = cache_name(req.host, req.port);
    let mut may_retry = true;
    loop {
        match attempt(ctx, &req, &name, &found, may_retry) {
            Attempt::Done => return,
            Attempt::Retry => may_retry = false,
        }
    }
}

enum Attempt {
    /// The reply is written.
    Done,
    /// The connection failed before anything was acknowledged: connect again, once.
    Retry,
}

/// One try over a (cached or new) connection: Redis's `migrateCommand` from `try_again`.
fn attempt(
    ctx: &mut Ctx<'_>,
    req: &Request<'_>,
    name: &[u8],
    found: &[Found<'_>],
    may_retry: bool,
) -> Attempt {
    let cache = &ctx.srv.migrate_sockets;
    let now_secs = crate::clock::now_ms() / 1000;
    let mut cs = match cache.take(name, now_secs) {
        Some(cs) => cs,
        None => match SyncConn::connect(req.host, atoi_port(req.port), req.timeout) {
            Some(conn) => {
                cache.opened();
                Cached::new(conn, now_secs)
            }
            None => {
                ctx.out.error(CONNECT_ERROR);
                return Attempt::Done;
            }
        },
    };

    // AUTH, SELECT when the target's database differs, then one RESTORE per live key.
    let mut cmd = BytesMut::new();
    if let Some(password) = req.password {
        match req.username {
            Some(user) => put_command(&mut cmd, &[b"AUTH", user, password]),
            None => put_command(&mut cmd, &[b"AUTH", password]),
        }
    }
    let select = cs.last_dbid != req.dbid;
    if select {
        put_command(&mut cmd, &[b"SELECT", req.dbid.to_string().as_bytes()]);
    }
    // Keys may have expired since the lookup: those are skipped.
    let clock = crate::clock::now_ms();
    let mut sent: Vec<&Found<'_>> = Vec::with_capacity(found.len());
    for f in found {
        let ttl = if f.expire_at == 0 {
            0
        } else {
            let ttl = f.expire_at as i64 - clock as i64;
            if ttl < 0 {
                continue;
            }
            ttl.max(1)
        };
        let ttl = ttl.to_string();
        let mut parts: Vec<&[u8]> = vec![b"RESTORE", f.key, ttl.as_bytes(), &f.payload];
        if req.replace {
            parts.push(b"REPLACE");
        }
        put_command(&mut cmd, &parts);
        sent.push(f);
    }

    let timeout = req.timeout;
    for chunk in cmd.chunks(WRITE_CHUNK) {
        if let Err(kind) = cs.conn.write_all(chunk, timeout) {
            return socket_failed(ctx, cs, kind, WRITE_ERROR, may_retry);
        }
    }
    // A reply line, an empty one failing as Redis's zero-length read does.
    let read = |cs: &mut Cached| match cs.conn.read_line(timeout) {
        Ok(line) if line.is_empty() => Err(IoError::Other),
        other => other,
    };
    let auth_reply = match req.password {
        Some(_) => match read(&mut cs) {
            Ok(line) => Some(line),
            Err(kind) => return socket_failed(ctx, cs, kind, READ_ERROR, may_retry),
        },
        None => None,
    };
    let select_reply = if select {
        match read(&mut cs) {
            Ok(line) => Some(line),
            Err(kind) => return socket_failed(ctx, cs, kind, READ_ERROR, may_retry),
        }
    } else {
        None
    };
    let is_err = |r: &Option<Vec<u8>>| r.as_ref().is_some_and(|l| l.first() == Some(&b'-'));

    let mut error_from_target = false;
    let mut socket_error: Option<IoError> = None;
    let mut acked: Vec<&[u8]> = Vec::new();
    let mut replies = 0;
    for f in &sent {
        let line = match read(&mut cs) {
            Ok(line) => line,
            Err(kind) => {
                socket_error = Some(kind);
                break;
            }
        };
        replies += 1;
        let restore_err = line.first() == Some(&b'-');
        if is_err(&auth_reply) || is_err(&select_reply) || restore_err {
            if !error_from_target {
                // The database selected on the target is no longer known.
                cs.last_dbid = -1;
                let text = if is_err(&auth_reply) {
                    auth_reply.as_deref()
                } else if is_err(&select_reply) {
                    select_reply.as_deref()
                } else {
                    Some(&line[..])
                };
                let text = text.unwrap_or_default();
                // `%s` of the line after its '-': up to a NUL.
                let text = text[1..].split(|&b| b == 0).next().unwrap_or_default();
                error_from_target = true;
                ctx.out
                    .error([&b"ERR Target instance replied with error: "[..], text].concat());
            }
        } else if !req.copy {
            // Redis's dbDelete, signalModifiedKey, the `del` event and a change counted.
            ctx.db().write(f.key, ctx.now, |slot| {
                slot.delete();
                slot.modified(class::GENERIC, "del");
            });
            acked.push(f.key);
        }
    }

    if let Some(kind) = socket_error {
        // Nothing was acknowledged and it was not a timeout: reconnect and try once more.
        if !error_from_target && replies == 0 && may_retry && kind != IoError::Timeout {
            return socket_failed(ctx, cs, kind, READ_ERROR, may_retry);
        }
    }
    if !req.copy && !acked.is_empty() {
        let mut del: Vec<&[u8]> = Vec::with_capacity(acked.len() + 1);
        del.push(b"DEL");
        del.extend(acked);
        ctx.propagate_as(&del);
    } else {
        // Nothing moved (or COPY): whatever the lookups did, MIGRATE itself is not replayed.
        ctx.prevent_propagation();
    }
    let cache = &ctx.srv.migrate_sockets;
    if socket_error.is_some() {
        cache.discard(cs);
        if !error_from_target {
            ctx.out.error(READ_ERROR);
        }
        return Attempt::Done;
    }
    if !error_from_target {
        cs.last_dbid = req.dbid;
        ctx.out.ok();
    }
    cache.give_back(name, cs);
    Attempt::Done
}

/// Redis's `socket_err`: the connection is closed, then tried once more unless the failure
/// was a timeout or this was the retry; otherwise the IOERR `error` is the reply.
fn socket_failed(
    ctx: &mut Ctx<'_>,
    cs: Cached,
    kind: IoError,
    error: &'static str,
    may_retry: bool,
) -> Attempt {
    ctx.srv.migrate_sockets.discard(cs);
    if kind != IoError::Timeout && may_retry {
        return Attempt::Retry;
    }
    ctx.out.error(error);
    Attempt::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<Bytes> {
        a.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    #[test]
    fn keys_are_found_as_redis_migrate_get_keys() {
        let keys = |a: &[&str]| migrate_keys(&v(a)).unwrap();
        assert_eq!(keys(&["migrate", "h", "1", "k", "0", "10"]), [3]);
        assert_eq!(
            keys(&["migrate", "h", "1", "", "0", "10", "COPY", "KEYS", "a", "b"]),
            [8, 9]
        );
        assert!(keys(&["migrate", "h", "1", "k", "0", "10", "KEYS", "a"]).is_empty());
        // AUTH's argument is skipped, then the loop steps past KEYS itself.
        assert_eq!(
            keys(&["migrate", "h", "1", "", "0", "10", "AUTH", "KEYS", "a", "b"]),
            [3]
        );
        assert_eq!(
            keys(&["migrate", "h", "1", "", "0", "10", "AUTH2", "u", "p", "keys", "a"]),
            [10]
        );
        assert!(keys(&["migrate", "h", "1", "", "0", "10", "KEYS"]).is_empty());
    }

    #[test]
    fn arguments_are_checked_in_redis_order() {
        let err = |a: &[&str]| parse(&v(a)).err();
        assert_eq!(
            err(&["migrate", "h", "1", "k", "x", "y", "foo"]),
            Some(errors::SYNTAX)
        );
        assert_eq!(
            err(&["migrate", "h", "1", "k", "x", "y", "KEYS", "a"]),
            Some(KEYS_NEED_EMPTY_KEY)
        );
        assert_eq!(
            err(&["migrate", "h", "1", "k", "0", "1", "AUTH"]),
            Some(errors::SYNTAX)
        );
        assert_eq!(
            err(&["migrate", "h", "1", "k", "0", "1", "AUTH2", "u"]),
            Some(errors::SYNTAX)
        );
        assert_eq!(
            err(&["migrate", "h", "1", "k", "x", "1"]),
            Some(errors::NOT_INTEGER)
        );
        let argv = v(&["migrate", "h", "1", "", "0", "-5", "AUTH", "p", "KEYS", "a"]);
        let req = parse(&argv).unwrap();
        assert_eq!(req.timeout, 1000);
        assert_eq!(req.password, Some(&b"p"[..]));
        assert_eq!(req.keys.len(), 1);
    }
}
