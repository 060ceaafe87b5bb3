//! Server commands.

use bytes::Bytes;

use super::flags::*;
use super::{spec, CommandSpec, Ctx, Group};

pub static COMMANDS: &[CommandSpec] = &[
    spec("dbsize", 1, READONLY | FAST, Group::Server, 0, 0, 0, dbsize),
];

/// # Format
/// `DBSIZE`
fn dbsize(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.int(ctx.db().len() as i64);
}
