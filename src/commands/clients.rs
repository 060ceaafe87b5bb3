//! CLIENT and its subcommands: ID, INFO, LIST, KILL, SETNAME, GETNAME, SETINFO, REPLY,
//! NO-EVICT, NO-TOUCH, GETREDIR, TRACKINGINFO, UNBLOCK, PAUSE, UNPAUSE, HELP.
//!
//! Threading: CLIENT LIST/INFO read other connections through their shared [`ClientInfo`].
//! CLIENT KILL never touches another connection directly: it marks the target's `killed` flag
//! (so it runs no further command and is not counted or listed twice) and sends `Msg::Kill` to
//! the loop that owns it, which closes the socket. Killing yourself closes after the reply, as
//! in Redis.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::flags::*;
use super::{args, container, errors, registry, spec, CommandSpec, Ctx, Group};
use crate::state::mailbox::Msg;
use crate::state::{ClientInfo, Shared};

const SUB: u32 = NOSCRIPT | LOADING | STALE | SENTINEL;

pub static COMMANDS: &[CommandSpec] = &[container("client", SENTINEL, Group::Connection, CLIENT)];

#[rustfmt::skip]
static CLIENT: &[CommandSpec] = &[
    //   name                  arity flags                           group              keys     handler
    spec("client|id",            2,  SUB,                            Group::Connection, 0, 0, 0, id),
    spec("client|info",          2,  SUB,                            Group::Connection, 0, 0, 0, info),
    spec("client|list",         -2,  ADMIN | SUB,                    Group::Connection, 0, 0, 0, list),
    spec("client|kill",         -3,  ADMIN | SUB,                    Group::Connection, 0, 0, 0, kill),
    spec("client|setname",       3,  SUB,                            Group::Connection, 0, 0, 0, setname),
    spec("client|getname",       2,  SUB,                            Group::Connection, 0, 0, 0, getname),
    spec("client|setinfo",       4,  SUB,                            Group::Connection, 0, 0, 0, setinfo),
    spec("client|reply",         3,  SUB,                            Group::Connection, 0, 0, 0, reply),
    spec("client|no-evict",      3,  ADMIN | SUB,                    Group::Connection, 0, 0, 0, no_evict),
    spec("client|no-touch",      3,  NOSCRIPT | LOADING | STALE,     Group::Connection, 0, 0, 0, no_touch),
    spec("client|tracking",     -3,  SUB,                            Group::Connection, 0, 0, 0, tracking),
    spec("client|caching",       3,  SUB,                            Group::Connection, 0, 0, 0, caching),
    spec("client|getredir",      2,  SUB,                            Group::Connection, 0, 0, 0, getredir),
    spec("client|trackinginfo",  2,  SUB,                            Group::Connection, 0, 0, 0, trackinginfo),
    spec("client|unblock",      -3,  ADMIN | SUB,                    Group::Connection, 0, 0, 0, unblock),
    spec("client|pause",        -3,  ADMIN | SUB,                    Group::Connection, 0, 0, 0, pause),
    spec("client|unpause",       2,  ADMIN | SUB,                    Group::Connection, 0, 0, 0, unpause),
    spec("client|help",          2,  LOADING | STALE | SENTINEL,     Group::Connection, 0, 0, 0, help),
];

/// Replies with Redis's help layout: a header naming the command, `lines`, then the HELP
/// entry. Shared by the container commands' HELP subcommands.
pub fn help_reply(ctx: &mut Ctx<'_>, command: &[u8], lines: &[&str]) {
    let out = &mut *ctx.out;
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        String::from_utf8_lossy(command).to_uppercase()
    ));
    for line in lines {
        out.simple(line);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// CLIENT LIST `flags=`, in Redis's order (`N` when none is set).
fn flags(srv: &Shared, info: &ClientInfo) -> String {
    let mut flags = String::new();
    if info.pubsub.monitor.load(Ordering::Relaxed) {
        flags.push('O');
    }
    if info.pubsub.is_subscribed() {
        flags.push('P');
    }
    if info.multi.load(Ordering::Relaxed) >= 0 {
        flags.push('x');
    }
    // Waiting in a blocking command, or held by a client pause (Redis's BLOCKED_POSTPONE).
    if srv.blocked.is_blocked(info.id) || info.postponed.load(Ordering::Relaxed) {
        flags.push('b');
    }
    if let Some(t) = srv.tracking.get(info.id) {
        flags.push('t');
        if t.broken {
            flags.push('R');
        }
        if t.bcast {
            flags.push('B');
        }
    }
    if info.no_evict.load(Ordering::Relaxed) {
        flags.push('e');
    }
    if info.no_touch.load(Ordering::Relaxed) {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    flags
}

/// One CLIENT LIST / CLIENT INFO line (without the trailing newline), Redis 7 field order.
pub fn describe(srv: &Shared, info: &ClientInfo) -> String {
    let name = info.name.lock().clone().unwrap_or_default();
    let lib_name = info.lib_name.lock().clone().unwrap_or_default();
    let lib_ver = info.lib_ver.lock().clone().unwrap_or_default();
    let cmd = match info.last_cmd.load(Ordering::Relaxed) {
        0 => "NULL",
        i => registry().all[i - 1].name,
    };
    let qbuf = info.qbuf.load(Ordering::Relaxed);
    let obuf = info.obuf.load(Ordering::Relaxed);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp=0 obl={} oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={} lib-name={} lib-ver={}",
        info.id,
        info.addr(),
        info.laddr,
        info.fd,
        String::from_utf8_lossy(&name),
        info.created.elapsed().as_secs(),
        info.idle_secs(),
        flags(srv, info),
        info.db.load(Ordering::Relaxed),
        info.pubsub.channels.load(Ordering::Relaxed),
        info.pubsub.patterns.load(Ordering::Relaxed),
        info.pubsub.shard.load(Ordering::Relaxed),
        info.multi.load(Ordering::Relaxed),
        qbuf,
        16384usize.saturating_sub(qbuf),
        16384usize.max(qbuf),
        obuf.min(16384),
        obuf.saturating_sub(16384),
        qbuf + obuf + crate::state::client_eviction::CLIENT_BASE,
        cmd,
        String::from_utf8_lossy(&info.user_name()),
        srv.tracking.get(info.id).map_or(-1, |t| t.redirect as i64),
        info.resp.load(Ordering::Relaxed),
        String::from_utf8_lossy(&lib_name),
        String::from_utf8_lossy(&lib_ver),
    )
}

/// Client names and SETINFO values must be printable ASCII without spaces, so that a CLIENT
/// LIST line always splits on spaces.
fn valid_attribute(value: &[u8]) -> bool {
    value.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// Sets (or, when empty, clears) the connection's name; replies with Redis's error and
/// returns false when the name is invalid. Used by CLIENT SETNAME and HELLO SETNAME.
pub fn set_name(ctx: &mut Ctx<'_>, name: &[u8]) -> bool {
    if !valid_attribute(name) {
        ctx.out.error(errors::CLIENT_NAME);
        return false;
    }
    *ctx.client.info.name.lock() = (!name.is_empty()).then(|| Bytes::copy_from_slice(name));
    true
}

/// # Format
/// `CLIENT ID`
fn id(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.int(ctx.client.id as i64);
}

/// # Format
/// `CLIENT INFO` — this connection's CLIENT LIST line.
fn info(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let mut line = describe(ctx.srv, &ctx.client.info);
    line.push('\n');
    ctx.out.verbatim(line.as_bytes());
}

/// Parses a client class name (`normal`, `slave`/`replica`, `pubsub`, `master`) into the
/// name [`ClientInfo::client_type`] reports.
fn client_type(name: &[u8]) -> Option<&'static str> {
    ["normal", "slave", "replica", "pubsub", "master"]
        .into_iter()
        .find(|t| args::is(name, t))
        .map(|t| if t == "replica" { "slave" } else { t })
}

fn unknown_type(ctx: &mut Ctx<'_>, name: &[u8]) {
    ctx.out.error(errors::concat(&[
        b"ERR Unknown client type '",
        errors::c_str(name, usize::MAX),
        b"'",
    ]));
}

/// # Format
/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID client-id [client-id ...]]`
fn list(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut only_type = None;
    let mut ids = None;
    if argv.len() == 4 && args::is(&argv[2], "TYPE") {
        match client_type(&argv[3]) {
            Some(t) => only_type = Some(t),
            None => return unknown_type(ctx, &argv[3]),
        }
    } else if argv.len() > 3 && args::is(&argv[2], "ID") {
        let mut wanted = Vec::with_capacity(argv.len() - 3);
        for a in &argv[3..] {
            match crate::util::num::parse_i64(a) {
                Some(id) => wanted.push(id),
                None => return ctx.out.error(errors::CLIENT_ID_NOT_INTEGER),
            }
        }
        ids = Some(wanted);
    } else if argv.len() != 2 {
        return ctx.out.error(errors::SYNTAX);
    }
    let mut text = String::new();
    let srv = ctx.srv;
    let mut push = |info: &ClientInfo| {
        text.push_str(&describe(srv, info));
        text.push('\n');
    };
    match ids {
        // In the order asked, as Redis does (duplicates repeat).
        Some(ids) => {
            for id in ids {
                if let Some(info) = u64::try_from(id)
                    .ok()
                    .and_then(|id| ctx.srv.clients.get(id))
                {
                    if !info.killed.load(Ordering::Relaxed) {
                        push(&info);
                    }
                }
            }
        }
        None => {
            for info in ctx.srv.clients.snapshot() {
                if info.killed.load(Ordering::Relaxed) {
                    continue;
                }
                if only_type.is_some_and(|t| info.client_type() != t) {
                    continue;
                }
                push(&info);
            }
        }
    }
    ctx.out.verbatim(text.as_bytes());
}

/// # Format
/// `CLIENT KILL ip:port` (old form: `+OK` or `ERR No such client`; may kill yourself) or
/// `CLIENT KILL [ID id] [TYPE type] [ADDR ip:port] [LADDR ip:port] [USER name] [SKIPME yes|no]`
/// (new form: the number of clients killed; skips yourself unless `SKIPME no`).
fn kill(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut only_type = None;
    let mut only_id = None;
    let mut user: Option<&[u8]> = None;
    let old_form = argv.len() == 3;
    let mut skipme = !old_form;
    if old_form {
        addr = Some(&argv[2]);
    } else {
        let mut i = 2;
        while i < argv.len() {
            let (opt, value) = (&argv[i], argv.get(i + 1));
            let Some(value) = value else {
                return ctx.out.error(errors::SYNTAX);
            };
            if args::is(opt, "ID") {
                match crate::util::num::parse_i64(value) {
                    Some(id) if id >= 1 => only_id = Some(id as u64),
                    _ => return ctx.out.error(errors::CLIENT_ID_INVALID),
                }
            } else if args::is(opt, "TYPE") {
                match client_type(value) {
                    Some(t) => only_type = Some(t),
                    None => return unknown_type(ctx, value),
                }
            } else if args::is(opt, "ADDR") {
                addr = Some(value);
            } else if args::is(opt, "LADDR") {
                laddr = Some(value);
            } else if args::is(opt, "USER") {
                if ctx.srv.users.get(value).is_none() {
                    return ctx.out.error(errors::concat(&[
                        b"ERR No such user '",
                        errors::c_str(value, usize::MAX),
                        b"'",
                    ]));
                }
                user = Some(value);
            } else if args::is(opt, "SKIPME") {
                if args::is(value, "yes") {
                    skipme = true;
                } else if args::is(value, "no") {
                    skipme = false;
                } else {
                    return ctx.out.error(errors::SYNTAX);
                }
            } else {
                return ctx.out.error(errors::SYNTAX);
            }
            i += 2;
        }
    }
    let mut killed = 0i64;
    let mut kill_self = false;
    for info in ctx.srv.clients.snapshot() {
        if addr.is_some_and(|a| info.addr().to_string().as_bytes() != a)
            || laddr.is_some_and(|a| info.laddr.to_string().as_bytes() != a)
            || only_type.is_some_and(|t| info.client_type() != t)
            || only_id.is_some_and(|id| info.id != id)
            || user.is_some_and(|u| info.user_name().as_ref() != u)
        {
            continue;
        }
        if info.id == ctx.client.id {
            if skipme {
                continue;
            }
            kill_self = true;
        } else {
            // Already being killed by someone else: not ours to count.
            if info.killed.swap(true, Ordering::AcqRel) {
                continue;
            }
            ctx.send(
                info.home,
                Msg::Kill {
                    token: info.token,
                    id: info.id,
                },
            );
        }
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            ctx.out.error(errors::NO_SUCH_CLIENT);
        } else {
            ctx.out.ok();
        }
    } else {
        ctx.out.int(killed);
    }
    if kill_self {
        ctx.client.close_after_reply = true;
    }
}

/// # Format
/// `CLIENT SETNAME name` (an empty name removes it)
fn setname(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if set_name(ctx, &argv[2]) {
        ctx.out.ok();
    }
}

/// # Format
/// `CLIENT GETNAME`
fn getname(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let name = ctx.client.info.name.lock().clone();
    match name {
        Some(name) => ctx.out.bulk(&name),
        None => ctx.out.null(),
    }
}

/// # Format
/// `CLIENT SETINFO LIB-NAME name` / `CLIENT SETINFO LIB-VER version` (Redis 7.2; shown as
/// `lib-name=` / `lib-ver=` in CLIENT LIST; an empty value clears it).
fn setinfo(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let info = &ctx.client.info;
    let slot = if args::is(&argv[2], "lib-name") {
        &info.lib_name
    } else if args::is(&argv[2], "lib-ver") {
        &info.lib_ver
    } else {
        return ctx.out.error(errors::concat(&[
            b"ERR Unrecognized option '",
            errors::c_str(&argv[2], usize::MAX),
            b"'",
        ]));
    };
    if !valid_attribute(&argv[3]) {
        return ctx.out.error(errors::concat(&[
            b"ERR ",
            errors::c_str(&argv[2], usize::MAX),
            b" cannot contain spaces, newlines or special characters.",
        ]));
    }
    *slot.lock() = (!argv[3].is_empty()).then(|| Bytes::copy_from_slice(&argv[3]));
    ctx.out.ok();
}

/// # Format
/// `CLIENT REPLY ON|OFF|SKIP` — OFF and SKIP have no reply; [`call`](super::call()) drops
/// the replies.
fn reply(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let c = &mut *ctx.client;
    if args::is(&argv[2], "on") {
        c.reply_off = false;
        c.reply_skip = false;
        c.reply_skip_next = false;
        ctx.out.ok();
    } else if args::is(&argv[2], "off") {
        c.reply_off = true;
    } else if args::is(&argv[2], "skip") {
        if !c.reply_off {
            c.reply_skip_next = true;
        }
    } else {
        ctx.out.error(errors::SYNTAX);
    }
}

/// # Format
/// `CLIENT NO-EVICT ON|OFF` — exempts the connection from client eviction
/// (`maxmemory-clients`, see `state::client_eviction`); it still counts toward the total.
fn no_evict(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_flag(ctx, &argv[2], |info| &info.no_evict);
}

/// # Format
/// `CLIENT NO-TOUCH ON|OFF` (Redis 7.2) — the connection's commands, except TOUCH, no longer
/// change the LRU/LFU data of the keys they read or write (OBJECT IDLETIME / FREQ stay as
/// they were); applied by `call::run`.
fn no_touch(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_flag(ctx, &argv[2], |info| &info.no_touch);
}

/// `ON|OFF` into one of the connection's flags (`-ERR syntax error` otherwise).
fn set_flag(ctx: &mut Ctx<'_>, arg: &[u8], flag: impl FnOnce(&ClientInfo) -> &AtomicBool) {
    let on = if args::is(arg, "on") {
        true
    } else if args::is(arg, "off") {
        false
    } else {
        return ctx.out.error(errors::SYNTAX);
    };
    flag(&ctx.client.info).store(on, Ordering::Relaxed);
    ctx.out.ok();
}

const REDIRECT_TWICE: &str = "ERR A client can only redirect to a single other client";
const NO_REDIRECT_CLIENT: &str = "ERR The client ID you want redirect to does not exist";
const PREFIX_NEEDS_BCAST: &str = "ERR PREFIX option requires BCAST mode to be enabled";
const BCAST_SWITCH: &str = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
const BCAST_OPTS: &str = "ERR OPTIN and OPTOUT are not compatible with BCAST";
const OPTIN_AND_OPTOUT: &str = "ERR You can't specify both OPTIN mode and OPTOUT mode";
const OPT_SWITCH: &str = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";
const CACHING_NOT_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";
const CACHING_YES: &str =
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
const CACHING_NO: &str =
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";

/// Keeps the store's count of tracking clients (it records modified keys only while > 0).
fn set_tracking_count(srv: &Shared, n: usize) {
    srv.store.events().tracking.store(n, Ordering::Relaxed);
}

/// Turns tracking off for a client (CLIENT TRACKING OFF, or the connection closing).
pub fn tracking_off(srv: &Shared, client: &mut crate::state::Client) {
    if client.tracking {
        client.tracking = false;
        client.caching = None;
        set_tracking_count(srv, srv.tracking.disable(client.id));
    }
}

/// # Format
/// `CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]`
fn tracking(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut redirect = 0u64;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let a = &argv[j];
        if args::is(a, "redirect") && more {
            j += 1;
            if redirect != 0 {
                return ctx.out.error(REDIRECT_TWICE);
            }
            let Some(id) = std::str::from_utf8(&argv[j])
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            if id <= 0 || ctx.srv.clients.get(id as u64).is_none() {
                return ctx.out.error(NO_REDIRECT_CLIENT);
            }
            redirect = id as u64;
        } else if args::is(a, "bcast") {
            bcast = true;
        } else if args::is(a, "optin") {
            optin = true;
        } else if args::is(a, "optout") {
            optout = true;
        } else if args::is(a, "noloop") {
            noloop = true;
        } else if args::is(a, "prefix") && more {
            j += 1;
            prefixes.push(argv[j].clone());
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        j += 1;
    }
    let id = ctx.client.id;
    if args::is(&argv[2], "on") {
        if !bcast && !prefixes.is_empty() {
            return ctx.out.error(PREFIX_NEEDS_BCAST);
        }
        let old = ctx.srv.tracking.get(id).filter(|_| ctx.client.tracking);
        if old.is_some_and(|o| o.bcast != bcast) {
            return ctx.out.error(BCAST_SWITCH);
        }
        if bcast && (optin || optout) {
            return ctx.out.error(BCAST_OPTS);
        }
        if optin && optout {
            return ctx.out.error(OPTIN_AND_OPTOUT);
        }
        if old.is_some_and(|o| (optin && o.optout) || (optout && o.optin)) {
            return ctx.out.error(OPT_SWITCH);
        }
        if bcast {
            if let Some(e) = ctx.srv.tracking.prefix_collision(id, &prefixes) {
                return ctx.out.error(&e);
            }
        }
        let info = &ctx.client.info;
        let t = crate::state::tracking::Tracker {
            home: info.home,
            token: info.token,
            redirect,
            noloop,
            optin,
            optout,
            bcast,
            broken: false,
        };
        ctx.client.tracking = true;
        set_tracking_count(ctx.srv, ctx.srv.tracking.enable(id, t));
        if bcast {
            ctx.srv.tracking.subscribe_prefixes(id, &prefixes);
        }
    } else if args::is(&argv[2], "off") {
        tracking_off(ctx.srv, ctx.client);
    } else {
        return ctx.out.error(errors::SYNTAX);
    }
    ctx.out.ok();
}

/// # Format
/// `CLIENT CACHING YES|NO` — OPTIN/OPTOUT: whether the next command's keys are tracked.
fn caching(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(t) = ctx
        .srv
        .tracking
        .get(ctx.client.id)
        .filter(|_| ctx.client.tracking)
    else {
        return ctx.out.error(CACHING_NOT_TRACKING);
    };
    if args::is(&argv[2], "yes") {
        if !t.optin {
            return ctx.out.error(CACHING_YES);
        }
        ctx.client.caching = Some(true);
    } else if args::is(&argv[2], "no") {
        if !t.optout {
            return ctx.out.error(CACHING_NO);
        }
        ctx.client.caching = Some(false);
    } else {
        return ctx.out.error(errors::SYNTAX);
    }
    ctx.out.ok();
}

/// The client's tracking options, when tracking is on.
fn tracker(ctx: &Ctx<'_>) -> Option<crate::state::tracking::Tracker> {
    if ctx.client.tracking {
        ctx.srv.tracking.get(ctx.client.id)
    } else {
        None
    }
}

/// # Format
/// `CLIENT GETREDIR` — the redirect client id, 0 without one, -1 when tracking is off.
fn getredir(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let r = tracker(ctx).map_or(-1, |t| t.redirect as i64);
    ctx.out.int(r);
}

/// # Format
/// `CLIENT TRACKINGINFO` — flags, redirect and prefixes of this connection's tracking.
fn trackinginfo(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let t = tracker(ctx);
    let caching = ctx.client.caching.is_some();
    let mut flags: Vec<&[u8]> = Vec::new();
    match t {
        None => flags.push(b"off"),
        Some(t) => {
            flags.push(b"on");
            if t.bcast {
                flags.push(b"bcast");
            }
            if t.optin {
                flags.push(b"optin");
                if caching {
                    flags.push(b"caching-yes");
                }
            }
            if t.optout {
                flags.push(b"optout");
                if caching {
                    flags.push(b"caching-no");
                }
            }
            if t.noloop {
                flags.push(b"noloop");
            }
            if t.broken {
                flags.push(b"broken_redirect");
            }
        }
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f);
    }
    out.bulk(b"redirect");
    out.int(t.map_or(-1, |t| t.redirect as i64));
    out.bulk(b"prefixes");
    let prefixes = match t {
        Some(t) if t.bcast => ctx.srv.tracking.prefixes_of(ctx.client.id),
        _ => Vec::new(),
    };
    let out = &mut *ctx.out;
    out.array(prefixes.len());
    for p in &prefixes {
        out.bulk(p);
    }
}

/// # Format
/// `CLIENT UNBLOCK client-id [TIMEOUT|ERROR]` — 1 when the client was blocked in a blocking
/// command (BLPOP & co) and is now unblocked, with its timeout reply (TIMEOUT, the default)
/// or `-UNBLOCKED` (ERROR); 0 otherwise. The reason is checked before the id, as in Redis.
/// The client may live on another loop: its wait is claimed here and the reply sent there.
fn unblock(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() > 4 {
        return ctx.out.error(errors::subcommand_syntax(argv));
    }
    let error = match argv.get(3) {
        None => false,
        Some(r) if args::is(r, "TIMEOUT") => false,
        Some(r) if args::is(r, "ERROR") => true,
        Some(_) => return ctx.out.error(errors::UNBLOCK_REASON),
    };
    let Some(id) = crate::util::num::parse_i64(&argv[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let done = u64::try_from(id)
        .is_ok_and(|id| super::blocking::unblock_client(ctx.srv, ctx.fx, id, error));
    ctx.out.int(i64::from(done));
}

/// # Format
/// `CLIENT PAUSE timeout [WRITE|ALL]` — holds the commands of every normal client (ALL, the
/// default) or those that write or may replicate (WRITE) for `timeout` milliseconds, merged
/// with a pause in force as Redis does (see [`crate::state::pause`]); `+OK`. The mode is
/// checked before the timeout, as Redis.
fn pause(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    use crate::state::pause::{Purpose, ALL, WRITE};
    if argv.len() > 4 {
        return ctx.out.error(errors::subcommand_syntax(argv));
    }
    let kind = match argv.get(3) {
        None => ALL,
        Some(m) if args::is(m, "write") => WRITE,
        Some(m) if args::is(m, "all") => ALL,
        Some(_) => return ctx.out.error("ERR CLIENT PAUSE mode must be WRITE or ALL"),
    };
    let Some(ms) = crate::util::num::parse_i64(&argv[2]) else {
        return ctx
            .out
            .error("ERR timeout is not an integer or out of range");
    };
    if ms < 0 {
        return ctx.out.error("ERR timeout is negative");
    }
    let now = crate::clock::now_ms();
    // As Redis's getTimeoutFromObjectOrReply: 0 stays 0 (a pause already over).
    let end = if ms == 0 {
        0
    } else {
        now.saturating_add(ms as u64)
    };
    let before = ctx.srv.pause.kind();
    if ctx.srv.pause.pause(Purpose::ClientCommand, kind, end, now) < before {
        // An expired pause was found over meanwhile: parked clients run again.
        ctx.srv.loops.broadcast(|| Msg::Unpaused, ctx.fx);
    }
    ctx.out.ok();
}

/// # Format
/// `CLIENT UNPAUSE` — ends the CLIENT PAUSE (not a shutdown's write pause); the clients it held
/// run on every loop, in the order they were held. `+OK`.
fn unpause(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    use crate::state::pause::Purpose;
    if ctx
        .srv
        .pause
        .unpause(Purpose::ClientCommand, crate::clock::now_ms())
    {
        ctx.srv.loops.broadcast(|| Msg::Unpaused, ctx.fx);
    }
    ctx.out.ok();
}

/// # Format
/// `CLIENT HELP`
fn help(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    help_reply(
        ctx,
        &argv[0],
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
}
