//! SORT and SORT_RO, with Redis 7.0's semantics (sort.c): BY patterns (`*` substitution,
//! `->field` hash lookups, a pattern without `*` meaning "don't sort"), LIMIT, GET patterns
//! (`#` = the element), ASC/DESC, ALPHA and STORE.
//!
//! # Locking
//! The source is copied out under its shard's read lock; each BY/GET pattern key is then read
//! under its own shard lock, one at a time (a pattern key may live in any shard, so no order
//! could be fixed up front); STORE writes the destination last under its own lock. So SORT
//! never holds two shard locks at once and cannot deadlock. The price: unlike Redis (one
//! thread), a SORT is not isolated from writes that other loops make meanwhile to the pattern
//! keys or the destination; inside MULTI/EXEC it sees what the transaction's locks hold.
//!
//! # Order
//! Numeric sorting breaks ties by comparing the elements' bytes, as Redis does, so results
//! are deterministic; ALPHA compares bytes (Redis's `strcoll` in the C/C.UTF-8 locales).
//! A set with a `BY` pattern without `*` replies in the set's own iteration order (as Redis,
//! whose order for hashtable sets differs), except with STORE, where it is sorted ALPHA.

use std::cmp::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{args, errors, spec, CommandSpec, Ctx, Group};
use crate::store::events::class;
use crate::store::{Entry, Value};
use crate::util::num::parse_i64;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name       arity flags                    group        first last step handler
    spec("sort",    -2,   WRITE | DENYOOM,         Group::Generic, 1, 1, 1, sort).with_keys(sort_keys),
    // SORT_RO has only its first key, but Redis flags it movablekeys (sortROGetKeys) too.
    spec("sort_ro", -2,   READONLY,                Group::Generic, 1, 1, 1, sort_ro).with_keys(|_| Some(vec![1])),
];

/// Redis's `sortGetKeys`: the sorted key, and the STORE destination (the last one given);
/// LIMIT's, BY's and GET's arguments are skipped so a key named `store` is not mistaken.
fn sort_keys(args: &[Bytes]) -> Option<Vec<usize>> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if args::is(a, "limit") {
            i += 2;
        } else if args::is(a, "get") || args::is(a, "by") {
            i += 1;
        } else if args::is(a, "store") && i + 1 < args.len() {
            store = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    keys.extend(store);
    Some(keys)
}

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// # Format
/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]` — the sorted elements (or what GET patterns fetch for them), or with
/// STORE the number of elements stored as a list in `destination`.
fn sort(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    sort_generic(ctx, argv, false)
}

/// # Format
/// `SORT_RO key ...` — SORT without STORE.
fn sort_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    sort_generic(ctx, argv, true)
}

/// The parsed options.
#[derive(Default)]
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

fn parse(argv: &[Bytes], readonly: bool) -> Result<Options<'_>, &'static str> {
    let mut o = Options::default();
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j];
        if args::is(a, "asc") {
            o.desc = false;
        } else if args::is(a, "desc") {
            o.desc = true;
        } else if args::is(a, "alpha") {
            o.alpha = true;
        } else if args::is(a, "limit") && left >= 2 {
            let (Some(start), Some(count)) = (parse_i64(&argv[j + 1]), parse_i64(&argv[j + 2]))
            else {
                return Err(errors::NOT_INTEGER);
            };
            o.limit = Some((start, count));
            j += 2;
        } else if !readonly && args::is(a, "store") && left >= 1 {
            o.store = Some(&argv[j + 1]);
            j += 1;
        } else if args::is(a, "by") && left >= 1 {
            o.by = Some(&argv[j + 1]);
            o.dont_sort = !argv[j + 1].contains(&b'*');
            j += 1;
        } else if args::is(a, "get") && left >= 1 {
            o.gets.push(&argv[j + 1]);
            j += 1;
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is
/// replaced by the element and the key read (a string, or with `->field` a hash field). None
/// for a pattern without `*`, a missing key or another type.
fn lookup(ctx: &mut Ctx<'_>, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(elem.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let field = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&at| at + 2 < after.len())
        .map(|at| (at, &after[at + 2..]));
    let postfix = match field {
        Some((at, _)) => &after[..at],
        None => after,
    };
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);
    let db = ctx.db();
    let found = db.read(&key, ctx.now, |e| match (&e.value, field) {
        (Value::Hash(h), Some((_, f))) => Some(h.get(f).map(<[u8]>::to_vec)),
        (Value::Str(s), None) => Some(Some(s.to_vec())),
        _ => Some(None),
    });
    ctx.read_lookup(&key, found.is_some());
    found.flatten().flatten()
}

/// C's `strtod` over the whole string, as SORT uses it: leading blanks skipped, an empty rest
/// is 0, anything left over, NaN or an overflow is an error.
fn score_of(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if t.is_empty() {
        return Some(0.0);
    }
    let v: f64 = t.parse().ok()?;
    if v.is_nan() || (v.is_infinite() && !t.to_ascii_lowercase().contains("inf")) {
        return None;
    }
    Some(v)
}

struct Item {
    elem: Vec<u8>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

fn sort_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], readonly: bool) {
    let mut o = match parse(argv, readonly) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    if (o.by.is_some_and(|b| b.contains(&b'*')) || !o.gets.is_empty())
        && !super::acl::has_full_key_access(ctx, argv)
    {
        let what = if o.by.is_some_and(|b| b.contains(&b'*')) {
            "BY"
        } else {
            "GET"
        };
        return ctx.out.error(format!(
            "ERR {what} option of SORT denied due to insufficient ACL permissions."
        ));
    }
    // The source, copied out: (kind, elements in the order SORT would meet them).
    enum Kind {
        List,
        Set,
        ZSet,
    }
    let (start_opt, count_opt) = o.limit.unwrap_or((0, -1));
    let db = ctx.db();
    let key = &argv[1];
    let found = db.read(key, ctx.now, |e| match &e.value {
        Value::List(l) => Some((Kind::List, l.iter().map(<[u8]>::to_vec).collect())),
        Value::Set(s) => Some((
            Kind::Set,
            s.iter().map(|m| m.with_bytes(<[u8]>::to_vec)).collect(),
        )),
        Value::ZSet(z) => Some((Kind::ZSet, z.iter().map(|(m, _)| m.to_vec()).collect())),
        _ => None,
    });
    ctx.read_lookup(key, found.is_some());
    let (kind, mut elems): (Kind, Vec<Vec<u8>>) = match found {
        Some(Some(v)) => v,
        Some(None) => return ctx.out.error(errors::WRONGTYPE),
        None => (Kind::List, Vec::new()),
    };
    if o.dont_sort && matches!(kind, Kind::Set) && o.store.is_some() {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }
    // Redis's range arithmetic.
    let len = elems.len() as i64;
    let mut start = start_opt.max(0).min(len);
    let count = count_opt.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    if o.dont_sort && !matches!(kind, Kind::Set) {
        // Lists and zsets keep their order; DESC walks from the end.
        if o.desc {
            elems.reverse();
        }
        if end >= start {
            elems = elems.drain(start as usize..=end as usize).collect();
            end -= start;
            start = 0;
        } else {
            elems.clear();
        }
    }
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            cmp: None,
        })
        .collect();
    if !o.dont_sort {
        let mut bad = false;
        for it in &mut items {
            let by = match o.by {
                Some(p) => match lookup(ctx, p, &it.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.cmp = Some(by);
                }
            } else {
                match score_of(&by) {
                    Some(s) => it.score = s,
                    None => bad = true,
                }
            }
        }
        let (alpha, by_pattern, desc) = (o.alpha, o.by.is_some(), o.desc);
        items.sort_by(|a, b| {
            let cmp = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.elem.cmp(&b.elem))
            } else if by_pattern {
                match (&a.cmp, &b.cmp) {
                    (None, None) => Ordering::Equal,
                    (None, _) => Ordering::Less,
                    (_, None) => Ordering::Greater,
                    (Some(x), Some(y)) => x.cmp(y),
                }
            } else {
                a.elem.cmp(&b.elem)
            };
            if desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
        if bad {
            return ctx.out.error(NOT_DOUBLE);
        }
    }
    let range: &[Item] = if end >= start && !items.is_empty() {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let Some(dst) = o.store else {
        let n = if o.gets.is_empty() {
            range.len()
        } else {
            range.len() * o.gets.len()
        };
        let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(n);
        for it in range {
            if o.gets.is_empty() {
                values.push(Some(it.elem.clone()));
            }
            for g in &o.gets {
                values.push(lookup(ctx, g, &it.elem));
            }
        }
        ctx.out.array(values.len());
        for v in values {
            match v {
                Some(v) => ctx.out.bulk(&v),
                None => ctx.out.null(),
            }
        }
        return;
    };
    let mut list = crate::store::types::list::List::new();
    for it in range {
        if o.gets.is_empty() {
            list.push_back(&it.elem);
        }
        for g in &o.gets {
            list.push_back(&lookup(ctx, g, &it.elem).unwrap_or_default());
        }
    }
    let n = list.len();
    let d = ctx.client.db;
    let now = ctx.now;
    let mut locks = ctx.store().lock(&[(d, dst)]);
    let mut slot = locks.slot(d, dst, now);
    let old = if n > 0 {
        let old = slot.put(Entry::new(Value::List(Box::new(list)), 0));
        slot.modified(class::LIST, "sortstore");
        old
    } else {
        let old = slot.delete();
        if old.is_some() {
            slot.modified(class::GENERIC, "del");
        }
        old
    };
    drop(locks);
    drop(old);
    ctx.out.int(n as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_source_and_the_last_store() {
        let args = |s: &str| {
            s.split(' ')
                .map(|w| Bytes::from(w.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(sort_keys(&args("SORT k")), Some(vec![1]));
        assert_eq!(
            sort_keys(&args("SORT k STORE a BY store STORE b")),
            Some(vec![1, 7])
        );
        assert_eq!(
            sort_keys(&args("SORT k LIMIT 0 1 GET store")),
            Some(vec![1])
        );
    }

    #[test]
    fn scores_parse_as_strtod_over_the_whole_string() {
        assert_eq!(score_of(b"1.5"), Some(1.5));
        assert_eq!(score_of(b"  -3"), Some(-3.0));
        assert_eq!(score_of(b""), Some(0.0));
        assert_eq!(score_of(b"inf"), Some(f64::INFINITY));
        assert_eq!(score_of(b"1e999"), None);
        assert_eq!(score_of(b"nan"), None);
        assert_eq!(score_of(b"12abc"), None);
    }
}
