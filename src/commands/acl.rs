//! ACL and the subcommands that hold for today's single user (`default`, with `requirepass`
//! as its password, see [`crate::acl`]): WHOAMI, USERS, LIST, GENPASS, HELP. SETUSER and the
//! rest come with ACL users (issue 11); until then they answer Redis's unknown-subcommand
//! error.

use bytes::Bytes;

use super::flags::*;
use super::{clients, container, errors, spec, CommandSpec, Ctx, Group};

const SUB: u32 = NOSCRIPT | LOADING | STALE | SENTINEL;

pub static COMMANDS: &[CommandSpec] = &[container("acl", SENTINEL, Group::Server, ACL)];

#[rustfmt::skip]
static ACL: &[CommandSpec] = &[
    //   name            arity flags                        group          keys     handler
    spec("acl|whoami",     2,  SUB,                         Group::Server, 0, 0, 0, whoami),
    spec("acl|users",      2,  ADMIN | SUB,                 Group::Server, 0, 0, 0, users),
    spec("acl|list",       2,  ADMIN | SUB,                 Group::Server, 0, 0, 0, list),
    spec("acl|genpass",   -2,  SUB,                         Group::Server, 0, 0, 0, genpass),
    spec("acl|help",       2,  LOADING | STALE | SENTINEL,  Group::Server, 0, 0, 0, help),
];

/// # Format
/// `ACL WHOAMI` — the connection's user.
fn whoami(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.bulk(crate::acl::DEFAULT_USER.as_bytes());
}

/// # Format
/// `ACL USERS`
fn users(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let names = ctx.srv.users.names();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

/// # Format
/// `ACL LIST` — every user in config-file form (passwords as their SHA-256).
fn list(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let lines = ctx.srv.users.describe_all();
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.bulk(l.as_bytes());
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
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
}
