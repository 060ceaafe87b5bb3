//! Connection commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET. CLIENT lives in
//! `client.rs`.
//!
//! Authentication checks the user and password against the ACL users ([`crate::acl`]); a
//! failure is logged in the ACL log (reason `auth`) and answers `WRONGPASS`.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{args, clients, errors, spec, CommandSpec, Ctx, Group};

/// The Redis version we report (HELLO `version`, INFO `redis_version`). Clients read it to
/// decide which commands and reply shapes they may use, so it names the Redis release whose
/// behaviour ferrokv reproduces, not ferrokv's own crate version (INFO `ferrokv_version`).
pub const REDIS_VERSION: &str = "7.0.15";

/// HELLO's `server` field.
pub const SERVER_NAME: &str = "ferrokv";

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name      arity flags                                                                 group              keys     handler
    spec("ping",   -1,   FAST | SENTINEL,                                                      Group::Connection, 0, 0, 0, ping),
    spec("echo",    2,   LOADING | STALE | FAST,                                               Group::Connection, 0, 0, 0, echo),
    spec("quit",   -1,   ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,             Group::Connection, 0, 0, 0, quit),
    spec("select",  2,   KEYSPACE_WIDE | LOADING | STALE | FAST,                                               Group::Connection, 0, 0, 0, select),
    spec("hello",  -1,   NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,  Group::Connection, 0, 0, 0, hello),
    spec("auth",   -2,   NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,  Group::Connection, 0, 0, 0, auth),
    spec("reset",   1,   NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,             Group::Connection, 0, 0, 0, reset),
];

/// # Format
/// `PING [message]` — `+PONG`, or the message as a bulk string. A RESP2 client in Pub/Sub
/// mode gets `["pong", message or ""]` instead (RESP3 has no such mode).
fn ping(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() <= 2 && !ctx.out.resp3 && ctx.client.pubsub.is_subscribed() {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(argv.get(1).map_or(&b""[..], |m| m));
        return;
    }
    match argv.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&argv[1]),
        _ => ctx.out.error(errors::wrong_arity("ping")),
    }
}

/// # Format
/// `ECHO message`
fn echo(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    ctx.out.bulk(&argv[1]);
}

/// # Format
/// `QUIT` — replies OK, then the connection closes once the reply is written.
fn quit(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

/// # Format
/// `SELECT index`
fn select(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(index) = args::int(ctx, &argv[1]) else {
        return;
    };
    if index < 0 || index as usize >= ctx.srv.store.len() {
        ctx.out.error(errors::DB_INDEX);
        return;
    }
    ctx.client.select(index as usize);
    ctx.out.ok();
}

/// AUTH / HELLO AUTH: on success the connection is authenticated as `user`; a failure is
/// logged (Redis's ACLAuthenticateUser).
fn authenticate(ctx: &mut Ctx<'_>, user: &[u8], password: &[u8], command: &[u8]) -> bool {
    match ctx.srv.users.authenticate(user, password) {
        Some(u) => {
            let is_default = std::sync::Arc::ptr_eq(&u, ctx.srv.users.default_user());
            ctx.client.set_user((!is_default).then_some(u));
            ctx.client.authenticated = true;
            true
        }
        None => {
            super::acl::log_denial(ctx, crate::acl::log::Reason::Auth, command, Some(user));
            false
        }
    }
}

/// Switches the connection's protocol (2 or 3) for the replies that follow.
fn set_protocol(ctx: &mut Ctx<'_>, resp: u8) {
    ctx.out.resp3 = resp == 3;
    ctx.client.info.resp.store(resp, Ordering::Relaxed);
}

/// # Format
/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
///
/// Switches to RESP `protover` (when given) and replies, in the new protocol, with the
/// server's properties: a map in RESP3, a flat array in RESP2.
fn hello(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut version = None;
    if argv.len() >= 2 {
        let Some(v) = crate::util::num::parse_i64(&argv[1]) else {
            ctx.out.error(errors::PROTOVER_NOT_INTEGER);
            return;
        };
        if !(2..=3).contains(&v) {
            ctx.out.error(errors::NOPROTO);
            return;
        }
        version = Some(v as u8);
    }
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if args::is(&argv[j], "AUTH") && more >= 2 {
            if !authenticate(ctx, &argv[j + 1], &argv[j + 2], &argv[0]) {
                ctx.out.error(errors::WRONGPASS);
                return;
            }
            j += 3;
        } else if args::is(&argv[j], "SETNAME") && more >= 1 {
            if !clients::set_name(ctx, &argv[j + 1]) {
                return;
            }
            j += 2;
        } else {
            ctx.out.error(errors::concat(&[
                b"ERR Syntax error in HELLO option '",
                errors::c_str(&argv[j], usize::MAX),
                b"'",
            ]));
            return;
        }
    }
    if !ctx.client.authenticated {
        ctx.out.error(errors::HELLO_NOAUTH);
        return;
    }
    if let Some(v) = version {
        set_protocol(ctx, v);
    }
    let resp = ctx.client.info.resp.load(Ordering::Relaxed);
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(SERVER_NAME.as_bytes());
    out.bulk(b"version");
    out.bulk(REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(resp as i64);
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
}

/// # Format
/// `AUTH [username] password`
fn auth(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    match argv.len() {
        // The one-argument form authenticates `default`; an error when it needs no password.
        2 if !ctx.srv.users.default_requires_auth() => ctx.out.error(errors::AUTH_NOPASS),
        2 | 3 => {
            let (user, password) = match argv.len() {
                2 => (crate::acl::DEFAULT_USER.as_bytes(), &argv[1][..]),
                _ => (&argv[1][..], &argv[2][..]),
            };
            if authenticate(ctx, user, password, &argv[0]) {
                ctx.out.ok();
            } else {
                ctx.out.error(errors::WRONGPASS);
            }
        }
        _ => ctx.out.error(errors::SYNTAX),
    }
}

/// # Format
/// `RESET` — back to a fresh connection's state: database 0, RESP2, no name, replies on,
/// authenticated as `default`, no subscriptions (dropped without confirmations), out of
/// MONITOR mode, no MULTI state, client tracking off; replies `+RESET`.
fn reset(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    super::multi::discard_transaction(ctx);
    ctx.srv.pubsub.clear(ctx.client.member());
    super::clients::tracking_off(ctx.srv, ctx.client);
    ctx.client.select(0);
    set_protocol(ctx, 2);
    *ctx.client.info.name.lock() = None;
    ctx.client.reply_off = false;
    ctx.client.reply_skip_next = false;
    ctx.client.reply_skip = false;
    // Back to `default`, authenticated only if it needs no password (clientSetDefaultAuth).
    ctx.client.set_user(None);
    ctx.client.authenticated = ctx.srv.users.starts_authenticated();
    ctx.out.simple("RESET");
}
