//! String commands.

use bytes::Bytes;

use super::flags::*;
use super::{errors, spec, CommandSpec, Ctx, Group};
use crate::store::{Entry, Value};

pub static COMMANDS: &[CommandSpec] = &[
    spec("get", 2, READONLY | FAST, Group::String, 1, 1, 1, get),
    spec("set", -3, WRITE | DENYOOM, Group::String, 1, 1, 1, set),
];

/// # Format
/// `GET key`
fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let out = &mut *ctx.out;
    let found = ctx.srv.store.db(ctx.client.db).read(&argv[1], ctx.now, |e| match &e.value {
        Value::Str(s) => out.bulk(s),
    });
    if found.is_none() {
        ctx.out.null();
    }
}

/// # Format
/// `SET key value`
fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() != 3 {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let value = Bytes::copy_from_slice(&argv[2]);
    ctx.db().write(&argv[1], ctx.now, |slot| {
        slot.put(Entry::new(Value::Str(value), 0));
    });
    ctx.out.ok();
}
