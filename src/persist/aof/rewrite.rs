//! An AOF base written as commands (`aof-use-rdb-preamble no`): each key becomes the commands
//! that rebuild it, as Redis's `rewriteAppendOnlyFileRio` writes them — SET, RPUSH / HSET /
//! SADD / ZADD in batches of at most 64 elements, then PEXPIREAT for a key with a TTL.

use super::encode_command;
use crate::persist::save::KeyFormat;
use crate::store::types::set::Member;
use crate::store::{Entry, Value};

/// Elements per command (Redis's `AOF_REWRITE_ITEMS_PER_CMD`).
const ITEMS_PER_CMD: usize = 64;

/// Commands for a snapshot's keys.
#[derive(Default)]
pub struct AofKeys;

fn batches(
    out: &mut Vec<u8>,
    cmd: &[u8],
    key: &[u8],
    per_item: usize,
    items: impl Iterator<Item = Vec<Vec<u8>>>,
) {
    let mut args: Vec<Vec<u8>> = Vec::new();
    let mut n = 0;
    let flush = |args: &mut Vec<Vec<u8>>, out: &mut Vec<u8>| {
        if !args.is_empty() {
            let mut argv: Vec<&[u8]> = vec![cmd, key];
            argv.extend(args.iter().map(|a| &a[..]));
            encode_command(out, &argv);
            args.clear();
        }
    };
    for item in items {
        debug_assert_eq!(item.len(), per_item);
        args.extend(item);
        n += 1;
        if n == ITEMS_PER_CMD {
            flush(&mut args, out);
            n = 0;
        }
    }
    flush(&mut args, out);
}

impl KeyFormat for AofKeys {
    fn select_db(&mut self, out: &mut Vec<u8>, db: usize, _keys: u64) {
        encode_command(out, &[b"SELECT", itoa::Buffer::new().format(db).as_bytes()]);
    }

    fn key(&mut self, out: &mut Vec<u8>, key: &[u8], entry: &Entry) {
        match &entry.value {
            Value::Str(s) => encode_command(out, &[b"SET", key, s]),
            Value::List(l) => batches(out, b"RPUSH", key, 1, l.iter().map(|e| vec![e.to_vec()])),
            Value::Hash(h) => batches(
                out,
                b"HSET",
                key,
                2,
                h.iter().map(|(f, v)| vec![f.to_vec(), v.to_vec()]),
            ),
            Value::Set(s) => batches(
                out,
                b"SADD",
                key,
                1,
                s.iter().map(|m| match m {
                    Member::Int(v) => vec![itoa::Buffer::new().format(v).as_bytes().to_vec()],
                    Member::Bytes(b) => vec![b.to_vec()],
                }),
            ),
            Value::ZSet(z) => batches(
                out,
                b"ZADD",
                key,
                2,
                z.iter().map(|(m, score)| {
                    vec![crate::util::num::format_f64(score).into_bytes(), m.to_vec()]
                }),
            ),
        }
        if entry.expire_at != 0 {
            encode_command(
                out,
                &[
                    b"PEXPIREAT",
                    key,
                    itoa::Buffer::new().format(entry.expire_at).as_bytes(),
                ],
            );
        }
    }
}
