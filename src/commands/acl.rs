//! The ACL command (SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, LOG, DRYRUN, GENPASS,
//! SAVE, LOAD, HELP) and the permission check [`call`](super::call()) runs at dispatch
//! ([`permitted`]): users and rules live in [`crate::acl`].
//!
//! Clients of a deleted user (ACL DELUSER, ACL LOAD) are disconnected; Pub/Sub clients of a
//! changed user whose subscriptions the new rules no longer allow are disconnected by their
//! own loop ([`Msg::AclRecheck`]), as Redis's ACLKillPubsubClientsIfNeeded.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use super::flags::*;
use super::keyspecs::CATEGORIES;
use super::{args, clients, container, errors, multi, registry, spec, CommandSpec, Ctx, Group};
use crate::acl::log::{Context, Entry, Reason};
use crate::acl::{Denied, UserRef};
use crate::state::mailbox::Msg;

const SUB: u32 = NOSCRIPT | LOADING | STALE | SENTINEL;
const ADM: u32 = ADMIN | SUB;

pub static COMMANDS: &[CommandSpec] = &[container("acl", SENTINEL, Group::Server, ACL)];

#[rustfmt::skip]
static ACL: &[CommandSpec] = &[
    //   name            arity flags                        group          keys     handler
    spec("acl|cat",       -2,  SUB,                         Group::Server, 0, 0, 0, cat),
    spec("acl|deluser",   -3,  ADM,                         Group::Server, 0, 0, 0, deluser),
    spec("acl|dryrun",    -4,  ADM,                         Group::Server, 0, 0, 0, dryrun),
    spec("acl|genpass",   -2,  SUB,                         Group::Server, 0, 0, 0, genpass),
    spec("acl|getuser",    3,  ADM,                         Group::Server, 0, 0, 0, getuser),
    spec("acl|help",       2,  LOADING | STALE | SENTINEL,  Group::Server, 0, 0, 0, help),
    spec("acl|list",       2,  ADM,                         Group::Server, 0, 0, 0, list),
    spec("acl|load",       2,  ADM,                         Group::Server, 0, 0, 0, load),
    spec("acl|log",       -2,  ADM,                         Group::Server, 0, 0, 0, log),
    spec("acl|save",       2,  ADM,                         Group::Server, 0, 0, 0, save),
    spec("acl|setuser",   -3,  ADM,                         Group::Server, 0, 0, 0, setuser),
    spec("acl|users",      2,  ADM,                         Group::Server, 0, 0, 0, users),
    spec("acl|whoami",     2,  SUB,                         Group::Server, 0, 0, 0, whoami),
];

/// The dispatch-time check (Redis's processCommand ACL step, and EXEC's re-check of each
/// queued command): false after logging the refusal and writing the error (flagging an open
/// MULTI). Only called for a user that is not unrestricted.
#[cold]
#[inline(never)]
/// Whether the client's user may run the current command (`argv`) on every key: SORT's BY
/// and GET patterns need it.
pub fn has_full_key_access(ctx: &Ctx<'_>, argv: &[Bytes]) -> bool {
    let user = ctx.srv.users.of(&ctx.client.user);
    if user.is_unrestricted() {
        return true;
    }
    match super::registry().resolve(argv) {
        Ok((id, _)) => user.has_full_key_access(id, argv),
        Err(_) => false,
    }
}

pub fn permitted(
    ctx: &mut Ctx<'_>,
    index: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
) -> bool {
    let user = ctx.srv.users.of(&ctx.client.user).clone();
    let Err(denied) = user.check(index, argv) else {
        return true;
    };
    let (reason, object): (Reason, &[u8]) = match denied {
        Denied::Command => (Reason::Command, spec.name.as_bytes()),
        Denied::Key(i) => (Reason::Key, &argv[i]),
        Denied::Channel(i) => (Reason::Channel, &argv[i]),
    };
    log_denial(ctx, reason, object, None);
    if ctx.in_exec {
        let why = match denied {
            Denied::Command => "no permission to execute the command or subcommand",
            Denied::Key(_) => "no permission to touch the specified keys",
            Denied::Channel(_) => "no permission to access one of the channels used as arguments",
        };
        ctx.out.error(format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {why}"));
        return false;
    }
    let text = match denied {
        Denied::Command => format!(
            "NOPERM this user has no permissions to run the '{}' command",
            spec.name
        ),
        Denied::Key(_) => {
            "NOPERM this user has no permissions to access one of the keys used as arguments".into()
        }
        Denied::Channel(_) => {
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .into()
        }
    };
    multi::rejected(ctx, Some(spec), text.as_bytes());
    false
}

/// The ACL check of a command run by a script (Redis's `scriptVerifyACL`): `None` when the
/// user may run it, else the error text (the denial is logged).
pub fn script_denial(
    ctx: &mut Ctx<'_>,
    index: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
) -> Option<String> {
    if ctx.srv.users.of(&ctx.client.user).is_unrestricted() {
        return None;
    }
    let user = ctx.srv.users.of(&ctx.client.user).clone();
    let denied = user.check(index, argv).err()?;
    let (reason, object, why): (Reason, &[u8], &str) = match denied {
        Denied::Command => (
            Reason::Command,
            spec.name.as_bytes(),
            "can't run this command or subcommand",
        ),
        Denied::Key(i) => (
            Reason::Key,
            &argv[i],
            "can't access at least one of the keys mentioned in the command arguments",
        ),
        Denied::Channel(i) => (
            Reason::Channel,
            &argv[i],
            "can't publish to the channel mentioned in the command",
        ),
    };
    log_denial(ctx, reason, object, None);
    Some(format!("The user executing the script {why}"))
}

/// Whether the client's user may run `argv` (`redis.acl_check_cmd`); nothing is logged.
pub fn would_permit(ctx: &Ctx<'_>, index: usize, argv: &[Bytes]) -> bool {
    let user = ctx.srv.users.of(&ctx.client.user).clone();
    user.check(index, argv).is_ok()
}

/// Adds an ACL LOG entry for the running client (`user`: the name tried, for `auth`).
pub fn log_denial(ctx: &Ctx<'_>, reason: Reason, object: &[u8], user: Option<&[u8]>) {
    let context = if ctx.in_exec || ctx.client.multi.is_some() {
        Context::Multi
    } else {
        Context::Toplevel
    };
    let username = match user {
        Some(u) => u.to_vec(),
        None => ctx.srv.users.of(&ctx.client.user).name.to_vec(),
    };
    ctx.srv.users.log.add(Entry {
        count: 1,
        reason,
        context,
        object: object.to_vec(),
        username,
        ctime_ms: crate::clock::now_ms(),
        client_info: clients::describe(ctx.srv, &ctx.client.info),
    });
}

/// Disconnects every client authenticated as one of `users` (the running one after its
/// reply); as Redis, they fall back to `default` first.
fn disconnect_users(ctx: &mut Ctx<'_>, users: &[UserRef]) {
    if users.is_empty() {
        return;
    }
    let is_gone = |u: &Option<UserRef>| {
        u.as_ref()
            .is_some_and(|u| users.iter().any(|d| Arc::ptr_eq(u, d)))
    };
    if is_gone(&ctx.client.user) {
        ctx.client.set_user(None);
        ctx.client.authenticated = false;
        ctx.client.close_after_reply = true;
    }
    for info in ctx.srv.clients.snapshot() {
        if info.id == ctx.client.id || !is_gone(&info.user.lock()) {
            continue;
        }
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
}

/// After `user`'s rules changed: its Pub/Sub clients check their subscriptions on their own
/// loops (and close when the rules no longer allow them).
fn recheck_subscribers(ctx: &mut Ctx<'_>, user: &UserRef) {
    if user.rules().selectors.iter().any(|s| s.all_channels) {
        return;
    }
    for info in ctx.srv.clients.snapshot() {
        // One lock of the client's user (a second `lock()` in the same statement would
        // deadlock on the first's guard).
        let mine = Arc::ptr_eq(ctx.srv.users.of(&info.user.lock()), user);
        if mine && info.pubsub.is_subscribed() {
            ctx.send(
                info.home,
                Msg::AclRecheck {
                    token: info.token,
                    id: info.id,
                },
            );
        }
    }
}

/// # Format
/// `ACL SETUSER username [rule ...]`
fn setuser(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let name = &argv[2];
    if crate::acl::selector::has_spaces(name) {
        return ctx
            .out
            .error("ERR Usernames can't contain spaces or null characters");
    }
    match ctx.srv.users.set_user(name, &argv[3..]) {
        Ok((user, before)) => {
            if before.is_some() {
                recheck_subscribers(ctx, &user);
            }
            ctx.out.ok();
        }
        Err(e) => ctx.out.error(format!("ERR {e}")),
    }
}

/// # Format
/// `ACL GETUSER username` — a map of flags, passwords, commands, keys, channels, selectors.
fn getuser(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(user) = ctx.srv.users.get(&argv[2]) else {
        return ctx.out.null();
    };
    let rules = user.rules();
    let out = &mut *ctx.out;
    out.map(6);
    out.bulk(b"flags");
    let flags = rules.flag_names();
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"passwords");
    out.array(rules.passwords.len());
    for p in &rules.passwords {
        out.bulk(crate::acl::user::hex(p).as_bytes());
    }
    let describe = |out: &mut crate::resp::reply::Reply, s: &crate::acl::selector::Selector| {
        out.bulk(b"commands");
        out.bulk(s.describe_commands().as_bytes());
        out.bulk(b"keys");
        out.bulk(s.describe_keys().as_bytes());
        out.bulk(b"channels");
        out.bulk(s.describe_channels().as_bytes());
    };
    describe(out, rules.root());
    out.bulk(b"selectors");
    out.array(rules.selectors.len() - 1);
    for s in &rules.selectors[1..] {
        out.map(3);
        describe(out, s);
    }
}

/// # Format
/// `ACL DELUSER username [username ...]` — how many existed; their clients are disconnected.
fn deluser(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv[2..]
        .iter()
        .any(|n| n.as_ref() == crate::acl::DEFAULT_USER.as_bytes())
    {
        return ctx.out.error("ERR The 'default' user cannot be removed");
    }
    let deleted = ctx.srv.users.delete(&argv[2..]);
    ctx.out.int(deleted.len() as i64);
    disconnect_users(ctx, &deleted);
}

/// # Format
/// `ACL WHOAMI` — the connection's user.
fn whoami(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let name = ctx.srv.users.of(&ctx.client.user).name.clone();
    ctx.out.bulk(&name);
}

/// # Format
/// `ACL USERS`
fn users(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let names = ctx.srv.users.names();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(&n);
    }
}

/// # Format
/// `ACL LIST` — every user in config-file form (passwords as their SHA-256).
fn list(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let lines = ctx.srv.users.describe_all();
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.bulk(&l);
    }
}

/// # Format
/// `ACL CAT [category]` — the categories, or the commands (and subcommands) in one.
fn cat(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    match argv.len() {
        2 => {
            ctx.out.array(CATEGORIES.len());
            for c in CATEGORIES {
                ctx.out.bulk(c.as_bytes());
            }
        }
        3 => {
            let Some(bit) = super::keyspecs::category_bit(&argv[2]) else {
                return ctx.out.error(errors::concat(&[
                    b"ERR Unknown category '",
                    errors::c_str(&argv[2], 128),
                    b"'",
                ]));
            };
            let reg = registry();
            let names: Vec<&str> = super::keyspecs::access()
                .iter()
                .enumerate()
                .filter(|(_, a)| a.categories & bit != 0)
                .map(|(i, _)| reg.all[i].name)
                .collect();
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(n.as_bytes());
            }
        }
        _ => unknown(ctx, argv),
    }
}

/// # Format
/// `ACL LOG [count | RESET]`
fn log(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut count = 10i64;
    match argv.len() {
        2 => {}
        3 if args::is(&argv[2], "reset") => {
            ctx.srv.users.log.reset();
            return ctx.out.ok();
        }
        3 => {
            let Some(n) = args::int(ctx, &argv[2]) else {
                return;
            };
            count = n.max(0);
        }
        _ => return unknown(ctx, argv),
    }
    let entries = ctx.srv.users.log.newest(count as usize);
    let now = crate::clock::now_ms();
    let out = &mut *ctx.out;
    out.array(entries.len());
    for e in entries {
        out.map(7);
        out.bulk(b"count");
        out.int(e.count as i64);
        out.bulk(b"reason");
        out.bulk(e.reason.name().as_bytes());
        out.bulk(b"context");
        out.bulk(e.context.name().as_bytes());
        out.bulk(b"object");
        out.bulk(&e.object);
        out.bulk(b"username");
        out.bulk(&e.username);
        out.bulk(b"age-seconds");
        out.double(now.saturating_sub(e.ctime_ms) as f64 / 1000.0);
        out.bulk(b"client-info");
        out.bulk(e.client_info.as_bytes());
    }
}

/// # Format
/// `ACL DRYRUN username command [arg ...]` — `+OK`, or why the user may not run it (a bulk
/// string).
fn dryrun(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(user) = ctx.srv.users.get(&argv[2]) else {
        return ctx.out.error(errors::concat(&[
            b"ERR User '",
            errors::c_str(&argv[2], usize::MAX),
            b"' not found",
        ]));
    };
    let cmd = &argv[3..];
    let Ok((index, spec)) = registry().resolve(cmd) else {
        return ctx.out.error(errors::concat(&[
            b"ERR Command '",
            errors::c_str(&argv[3], usize::MAX),
            b"' not found",
        ]));
    };
    if !spec.arity_ok(cmd.len()) {
        return ctx.out.error(format!(
            "ERR wrong number of arguments for '{}' command",
            spec.name
        ));
    }
    match user.check(index, cmd) {
        Ok(()) => ctx.out.ok(),
        Err(d) => {
            let text = match d {
                Denied::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    spec.name
                ),
                Denied::Key(i) => format!(
                    "This user has no permissions to access the '{}' key",
                    String::from_utf8_lossy(&cmd[i])
                ),
                Denied::Channel(i) => format!(
                    "This user has no permissions to access the '{}' channel",
                    String::from_utf8_lossy(&cmd[i])
                ),
            };
            ctx.out.bulk(text.as_bytes());
        }
    }
}

const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// # Format
/// `ACL LOAD` — replaces the users with the ACL file's, all or nothing.
fn load(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    if ctx.srv.users.file().is_none() {
        return ctx.out.error(NO_ACL_FILE);
    }
    match ctx.srv.users.load_file() {
        Ok(old) => {
            ctx.out.ok();
            disconnect_users(ctx, &old);
        }
        Err(e) => ctx.out.error(format!("ERR {e}")),
    }
}

/// # Format
/// `ACL SAVE` — writes the users to the ACL file.
fn save(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    if ctx.srv.users.file().is_none() {
        return ctx.out.error(NO_ACL_FILE);
    }
    match ctx.srv.users.save_file() {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.out.error("ERR There was an error trying to save the ACLs. Please check the server logs for more information"),
    }
}

/// The most bits ACL GENPASS produces (Redis's `GENPASS_MAX_BITS`).
const GENPASS_MAX_BITS: i64 = 4096;

/// # Format
/// `ACL GENPASS [bits]` — a random password of `bits` (default 256) as hex, from the OS's
/// CSPRNG.
fn genpass(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() > 3 {
        return unknown(ctx, argv);
    }
    let bits = match argv.get(2) {
        None => 256,
        Some(a) => match crate::util::num::parse_i64(a) {
            Some(n) => n,
            None => return ctx.out.error(errors::NOT_INTEGER),
        },
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return ctx.out.error(format!(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to {GENPASS_MAX_BITS}"
        ));
    }
    let chars = ((bits + 3) / 4) as usize;
    let mut raw = vec![0u8; chars.div_ceil(2)];
    use rand::RngCore;
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    ctx.out.bulk(&hex.as_bytes()[..chars]);
}

fn unknown(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    ctx.out.error(errors::concat(&[
        b"ERR unknown subcommand or wrong number of arguments for '",
        errors::c_str(&argv[1], usize::MAX),
        b"'. Try ACL HELP.",
    ]));
}

/// # Format
/// `ACL HELP`
fn help(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    clients::help_reply(
        ctx,
        &argv[0],
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
}
