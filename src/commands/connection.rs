//! Connection commands: PING, ECHO, QUIT, SELECT, HELLO, RESET, CLIENT.

use bytes::Bytes;

use super::flags::*;
use super::{args, errors, spec, CommandSpec, Ctx, Group};

pub static COMMANDS: &[CommandSpec] = &[
    //    name      arity flags                          group              keys     handler
    spec("ping", -1, FAST | STALE, Group::Connection, 0, 0, 0, ping),
    spec("echo", 2, FAST, Group::Connection, 0, 0, 0, echo),
    spec("quit", -1, ALLOW_BUSY | NO_AUTH | FAST, Group::Connection, 0, 0, 0, quit),
    spec("select", 2, LOADING | STALE | FAST, Group::Connection, 0, 0, 0, select),
];

/// # Format
/// `PING [message]`
fn ping(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    match argv.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&argv[1]),
        _ => ctx.out.error(&errors::wrong_arity("ping")),
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
