//! Keyspace and expiry commands.

use bytes::Bytes;

use super::flags::*;
use super::{spec, CommandSpec, Ctx, Group};

pub static COMMANDS: &[CommandSpec] = &[
    spec("del", -2, WRITE, Group::Generic, 1, -1, 1, del),
];

/// # Format
/// `DEL key [key ...]`
fn del(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let db = ctx.db();
    let n = argv[1..]
        .iter()
        .filter(|k| db.write(k, ctx.now, |slot| slot.remove().is_some()))
        .count();
    ctx.out.int(n as i64);
}
