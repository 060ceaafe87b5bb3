//! COMMAND (and COUNT, INFO, DOCS, LIST, GETKEYS, HELP), answered from the registry.
//!
//! What the registry does not hold is reported as Redis does for a command lacking it: no
//! command tips, and one key spec synthesised from the first/last/step key range. COMMAND DOCS
//! comes from Redis's own command descriptions (see `super::docs`).

use bytes::Bytes;

use super::flags::{self, *};
use super::{args, clients, errors, registry, spec, CommandSpec, Ctx, Group};
use crate::resp::reply::Reply;
use crate::util::glob::glob_match;

const SUB: u32 = LOADING | STALE | SENTINEL;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    // COMMAND alone lists every command, so unlike other containers its arity is -1.
    CommandSpec {
        name: "command",
        arity: -1,
        flags: SUB,
        group: Group::Server,
        first_key: 0,
        last_key: 0,
        step: 0,
        handler: command,
        subcommands: COMMAND,
        movable_keys: None,
    },
];

#[rustfmt::skip]
static COMMAND: &[CommandSpec] = &[
    //   name               arity flags group          keys     handler
    spec("command|count",     2,  SUB,  Group::Server, 0, 0, 0, count),
    spec("command|info",     -2,  SUB,  Group::Server, 0, 0, 0, command_info),
    spec("command|docs",     -2,  SUB,  Group::Server, 0, 0, 0, docs),
    spec("command|list",     -2,  SUB,  Group::Server, 0, 0, 0, list),
    spec("command|getkeys",  -4,  SUB,  Group::Server, 0, 0, 0, getkeys),
    spec("command|getkeysandflags", -4, SUB, Group::Server, 0, 0, 0, getkeysandflags),
    spec("command|help",      2,  SUB,  Group::Server, 0, 0, 0, help),
];

/// ACL categories in the order Redis lists them.
const ACL_ORDER: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// One COMMAND INFO entry: `[name, arity, flags, first, last, step, acl categories, tips,
/// key specs, subcommands]`.
fn write_info(out: &mut Reply, spec: &CommandSpec) {
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    let shown: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(f, _)| spec.flags & f != 0)
        .map(|(_, name)| *name)
        .collect();
    out.set(shown.len());
    for name in shown {
        out.simple(name);
    }
    out.int(spec.first_key as i64);
    out.int(spec.last_key as i64);
    out.int(spec.step as i64);
    let mut cats = spec.acl_categories();
    cats.sort_by_key(|c| ACL_ORDER.iter().position(|o| o == c).unwrap_or(usize::MAX));
    out.set(cats.len());
    for c in cats {
        out.simple(c);
    }
    let tips = super::keyspecs::tips_of(spec);
    out.set(tips.len());
    for t in tips {
        out.bulk(t.as_bytes());
    }
    write_key_specs(out, spec);
    // Redis replies an empty *set* when there are no subcommands (`~0` in RESP3).
    if spec.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(spec.subcommands.len());
    }
    for sub in spec.subcommands {
        write_info(out, sub);
    }
}

/// Redis's key specs of the command (Redis's addReplyCommandKeySpecs), or, for a command
/// Redis's descriptions lack, the one implied by its first/last/step range.
fn write_key_specs(out: &mut Reply, spec: &CommandSpec) {
    use super::keyspecs::{key_flags, Begin, Find};
    let specs = super::keyspecs::key_specs_of(spec);
    if !specs.is_empty() {
        out.set(specs.len());
        for k in specs {
            out.map(3 + usize::from(k.notes.is_some()));
            if let Some(notes) = k.notes {
                out.bulk(b"notes");
                out.bulk(notes.as_bytes());
            }
            out.bulk(b"flags");
            let names: Vec<&str> = key_flags::NAMES
                .iter()
                .filter(|(f, _)| k.flags & f != 0)
                .map(|(_, n)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
            out.bulk(b"begin_search");
            out.map(2);
            out.bulk(b"type");
            match k.begin {
                Begin::Index(pos) => {
                    out.bulk(b"index");
                    out.bulk(b"spec");
                    out.map(1);
                    out.bulk(b"index");
                    out.int(pos as i64);
                }
                Begin::Keyword { keyword, startfrom } => {
                    out.bulk(b"keyword");
                    out.bulk(b"spec");
                    out.map(2);
                    out.bulk(b"keyword");
                    out.bulk(keyword.as_bytes());
                    out.bulk(b"startfrom");
                    out.int(startfrom as i64);
                }
                Begin::Unknown => {
                    out.bulk(b"unknown");
                    out.bulk(b"spec");
                    out.map(0);
                }
            }
            out.bulk(b"find_keys");
            out.map(2);
            out.bulk(b"type");
            match k.find {
                Find::Range {
                    lastkey,
                    step,
                    limit,
                } => {
                    out.bulk(b"range");
                    out.bulk(b"spec");
                    out.map(3);
                    out.bulk(b"lastkey");
                    out.int(lastkey as i64);
                    out.bulk(b"keystep");
                    out.int(step as i64);
                    out.bulk(b"limit");
                    out.int(limit as i64);
                }
                Find::Keynum {
                    keynumidx,
                    firstkey,
                    step,
                } => {
                    out.bulk(b"keynum");
                    out.bulk(b"spec");
                    out.map(3);
                    out.bulk(b"keynumidx");
                    out.int(keynumidx as i64);
                    out.bulk(b"firstkey");
                    out.int(firstkey as i64);
                    out.bulk(b"keystep");
                    out.int(step as i64);
                }
                Find::Unknown => {
                    out.bulk(b"unknown");
                    out.bulk(b"spec");
                    out.map(0);
                }
            }
        }
        return;
    }
    if spec.first_key <= 0 {
        out.set(0);
        return;
    }
    out.set(1);
    out.map(3);
    out.bulk(b"flags");
    // Shard channels are "keys" for cluster routing only.
    let key_flags: &[&str] = if spec.flags & PUBSUB != 0 {
        &["not_key"]
    } else if spec.flags & WRITE != 0 {
        &["RW", "update"]
    } else if spec.group == Group::Transactions {
        // WATCH only looks at its keys' versions, never their values.
        &["RO"]
    } else {
        &["RO", "access"]
    };
    out.set(key_flags.len());
    for f in key_flags {
        out.simple(f);
    }
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"index");
    out.bulk(b"spec");
    out.map(1);
    out.bulk(b"index");
    out.int(spec.first_key as i64);
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"range");
    out.bulk(b"spec");
    out.map(3);
    out.bulk(b"lastkey");
    out.int(if spec.last_key >= 0 {
        (spec.last_key - spec.first_key) as i64
    } else {
        spec.last_key as i64
    });
    out.bulk(b"keystep");
    out.int(spec.step as i64);
    out.bulk(b"limit");
    out.int(0);
}

/// # Format
/// `COMMAND` — COMMAND INFO of every command.
fn command(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let reg = registry();
    ctx.out.array(reg.commands.len());
    for spec in &reg.commands {
        write_info(ctx.out, spec);
    }
}

/// # Format
/// `COMMAND COUNT`
fn count(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.int(registry().commands.len() as i64);
}

/// # Format
/// `COMMAND INFO [command-name ...]` — nil for unknown names; `container|sub` names work.
fn command_info(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let reg = registry();
    if argv.len() == 2 {
        return command(ctx, argv);
    }
    ctx.out.array(argv.len() - 2);
    for name in &argv[2..] {
        match reg.lookup_full(name) {
            Some(spec) => write_info(ctx.out, spec),
            None => ctx.out.null(),
        }
    }
}

/// # Format
/// `COMMAND DOCS [command-name ...]` — a map of name to docs; unknown names are left out.
fn docs(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let reg = registry();
    let specs: Vec<&CommandSpec> = if argv.len() == 2 {
        reg.commands.clone()
    } else {
        argv[2..]
            .iter()
            .filter_map(|n| reg.lookup_full(n))
            .collect()
    };
    ctx.out.map(specs.len());
    for spec in specs {
        ctx.out.bulk(spec.name.as_bytes());
        super::docs::write(ctx.out, spec);
    }
}

/// # Format
/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]` — every command
/// and subcommand name.
fn list(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    enum Filter<'a> {
        None,
        Module,
        AclCat(&'a [u8]),
        Pattern(&'a [u8]),
    }
    let mut filter = Filter::None;
    let mut i = 2;
    while i < argv.len() {
        if args::is(&argv[i], "FILTERBY") && argv.len() - 1 - i == 2 {
            let arg = &argv[i + 2][..];
            filter = if args::is(&argv[i + 1], "MODULE") {
                Filter::Module
            } else if args::is(&argv[i + 1], "ACLCAT") {
                Filter::AclCat(arg)
            } else if args::is(&argv[i + 1], "PATTERN") {
                Filter::Pattern(arg)
            } else {
                return ctx.out.error(errors::SYNTAX);
            };
            i += 3;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let keep = |spec: &CommandSpec| match &filter {
        Filter::None => true,
        // There are no modules.
        Filter::Module => false,
        Filter::AclCat(cat) => spec
            .acl_categories()
            .iter()
            .any(|c| c.as_bytes()[1..].eq_ignore_ascii_case(cat)),
        Filter::Pattern(p) => glob_match(p, spec.name.as_bytes(), true),
    };
    let mut names = Vec::new();
    for spec in &registry().commands {
        if keep(spec) {
            names.push(spec.name);
        }
        names.extend(spec.subcommands.iter().filter(|s| keep(s)).map(|s| s.name));
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

/// # Format
/// `COMMAND GETKEYS command [arg ...]` — the key arguments of a full command line.
fn getkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    getkeys_reply(ctx, argv, false);
}

/// # Format
/// `COMMAND GETKEYSANDFLAGS command [arg ...]` — each key argument with its key-spec flags.
fn getkeysandflags(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    getkeys_reply(ctx, argv, true);
}

/// Redis's `getKeysSubcommandImpl`: the keys as the key specs find them (or the command's own
/// key finder where they cannot), with their flags when asked.
fn getkeys_reply(ctx: &mut Ctx<'_>, argv: &[Bytes], with_flags: bool) {
    use super::keyspecs::{key_flags, keys_with_flags};
    let cmd = &argv[2..];
    let reg = registry();
    let found = match reg.lookup(&cmd[0]) {
        Some((_, s)) if s.is_container() && cmd.len() >= 2 => {
            let full = [s.name.as_bytes(), b"|", &cmd[1]].concat();
            reg.index_full(&full).map(|j| (j, reg.all[j]))
        }
        Some((i, s)) => Some((i, s)),
        None => None,
    };
    let Some((index, spec)) = found else {
        return ctx.out.error(errors::INVALID_COMMAND);
    };
    if spec.first_key <= 0 && spec.movable_keys.is_none() {
        return ctx.out.error(errors::NO_KEY_ARGUMENTS);
    }
    let argc = cmd.len() as i32;
    if (spec.arity > 0 && spec.arity != argc) || argc < -spec.arity {
        return ctx.out.error(errors::GETKEYS_ARITY);
    }
    let keys = keys_with_flags(index, cmd);
    if keys.is_empty() {
        return ctx.out.error(errors::GETKEYS_INVALID);
    }
    let out = &mut *ctx.out;
    out.array(keys.len());
    for &(pos, flags) in &keys {
        if with_flags {
            out.array(2);
        }
        out.bulk(&cmd[pos]);
        if with_flags {
            let names: Vec<&str> = key_flags::NAMES
                .iter()
                .filter(|(f, _)| flags & f != 0)
                .map(|(_, n)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
    }
}

/// # Format
/// `COMMAND HELP`
fn help(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    clients::help_reply(
        ctx,
        &argv[0],
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::commands::session::argv as b;

    #[test]
    fn subcommands_resolve_to_their_own_stats_slot() {
        let reg = registry();
        let (i, spec) = reg.resolve(&b(&["CLIENT", "List"])).unwrap();
        assert_eq!(spec.name, "client|list");
        assert!(std::ptr::eq(reg.all[i], spec));
        let (j, container) = reg.resolve(&b(&["client"])).unwrap();
        assert_eq!(container.name, "client");
        assert!(j < reg.commands.len() && i >= reg.commands.len());
        assert_eq!(
            reg.resolve(&b(&["client", "nope"])).err().as_deref(),
            Some(b"ERR unknown subcommand 'nope'. Try CLIENT HELP.".as_slice())
        );
        assert_eq!(reg.lookup_full(b"Config|GET").unwrap().name, "config|get");
        assert!(reg.lookup_full(b"config|nope").is_none());
        assert!(reg.lookup_full(b"nope|get").is_none());
    }

    #[test]
    fn every_command_has_a_group_and_unique_stats_slot() {
        let reg = registry();
        let mut seen = std::collections::HashSet::new();
        for c in &reg.all {
            assert!(seen.insert(c.name), "{} twice", c.name);
        }
        assert_eq!(
            reg.all.len(),
            reg.commands.len()
                + reg
                    .commands
                    .iter()
                    .map(|c| c.subcommands.len())
                    .sum::<usize>()
        );
    }
}
