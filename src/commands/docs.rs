//! COMMAND DOCS: Redis 7.0.15's documentation of each registry command (summary, since, group,
//! complexity, doc flags, deprecation, history, arguments), rendered like Redis's
//! `addReplyCommandDocs`. The data is generated into `docs_data.rs` by
//! scripts/gen_command_docs.py; the registry stays the one list of commands and looks its docs
//! up by full name.

use super::CommandSpec;
use crate::resp::reply::Reply;

/// One command's documentation (`struct redisCommand`'s doc fields; `None`/empty = left out).
pub struct Doc {
    pub summary: Option<&'static str>,
    pub since: Option<&'static str>,
    pub group: &'static str,
    pub complexity: Option<&'static str>,
    /// `deprecated`, `syscmd`.
    pub doc_flags: &'static [&'static str],
    pub deprecated_since: Option<&'static str>,
    pub replaced_by: Option<&'static str>,
    /// `(version, change)`.
    pub history: &'static [(&'static str, &'static str)],
    pub arguments: &'static [Arg],
}

/// One argument (`struct redisCommandArg`).
pub struct Arg {
    pub name: &'static str,
    /// `string`, `integer`, `double`, `key`, `pattern`, `unix-time`, `pure-token`, `oneof`,
    /// `block`.
    pub kind: &'static str,
    /// -1 when the argument is not a key.
    pub key_spec_index: i32,
    pub token: Option<&'static str>,
    pub summary: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    /// `optional`, `multiple`, `multiple_token`.
    pub flags: &'static [&'static str],
    /// The alternatives (`oneof`) or parts (`block`).
    pub arguments: &'static [Arg],
}

/// The docs of a command by full lowercase name (`"get"`, `"client|kill"`).
pub fn lookup(name: &str) -> Option<&'static Doc> {
    let docs = super::docs_data::DOCS;
    docs.binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| &docs[i].1)
}

/// One COMMAND DOCS entry, field for field in Redis's order.
pub fn write(out: &mut Reply, spec: &CommandSpec) {
    // A unit test guarantees every registry command has docs; a missing entry would still
    // answer with the group alone rather than break the reply.
    let Some(doc) = lookup(spec.name) else {
        out.map(1);
        out.bulk(b"group");
        out.bulk(spec.group.name().as_bytes());
        return;
    };
    let subs = spec.is_container();
    let len = 1
        + doc.summary.is_some() as usize
        + doc.since.is_some() as usize
        + doc.complexity.is_some() as usize
        + !doc.doc_flags.is_empty() as usize
        + doc.deprecated_since.is_some() as usize
        + doc.replaced_by.is_some() as usize
        + !doc.history.is_empty() as usize
        + !doc.arguments.is_empty() as usize
        + subs as usize;
    out.map(len);
    field(out, "summary", doc.summary);
    field(out, "since", doc.since);
    field(out, "group", Some(doc.group));
    field(out, "complexity", doc.complexity);
    if !doc.doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        set(out, doc.doc_flags);
    }
    field(out, "deprecated_since", doc.deprecated_since);
    field(out, "replaced_by", doc.replaced_by);
    if !doc.history.is_empty() {
        out.bulk(b"history");
        out.set(doc.history.len());
        for (since, change) in doc.history {
            out.array(2);
            out.bulk(since.as_bytes());
            out.bulk(change.as_bytes());
        }
    }
    if !doc.arguments.is_empty() {
        out.bulk(b"arguments");
        write_args(out, doc.arguments);
    }
    if subs {
        out.bulk(b"subcommands");
        out.map(spec.subcommands.len());
        for sub in spec.subcommands {
            out.bulk(sub.name.as_bytes());
            write(out, sub);
        }
    }
}

/// Redis's `addReplyCommandArgList`.
fn write_args(out: &mut Reply, args: &[Arg]) {
    out.array(args.len());
    for arg in args {
        let nested = matches!(arg.kind, "oneof" | "block");
        let len = 2
            + (arg.key_spec_index != -1) as usize
            + arg.token.is_some() as usize
            + arg.summary.is_some() as usize
            + arg.since.is_some() as usize
            + arg.deprecated_since.is_some() as usize
            + !arg.flags.is_empty() as usize
            + nested as usize;
        out.map(len);
        field(out, "name", Some(arg.name));
        field(out, "type", Some(arg.kind));
        if arg.key_spec_index != -1 {
            out.bulk(b"key_spec_index");
            out.int(arg.key_spec_index as i64);
        }
        field(out, "token", arg.token);
        field(out, "summary", arg.summary);
        field(out, "since", arg.since);
        field(out, "deprecated_since", arg.deprecated_since);
        if !arg.flags.is_empty() {
            out.bulk(b"flags");
            set(out, arg.flags);
        }
        if nested {
            out.bulk(b"arguments");
            write_args(out, arg.arguments);
        }
    }
}

fn field(out: &mut Reply, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        out.bulk(name.as_bytes());
        out.bulk(v.as_bytes());
    }
}

/// A flag set: status strings, as Redis's `addReplyCommandFlags`.
fn set(out: &mut Reply, items: &[&str]) {
    out.set(items.len());
    for item in items {
        out.simple(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::registry;

    #[test]
    fn every_registry_command_has_docs() {
        let missing: Vec<&str> = registry()
            .all
            .iter()
            .map(|s| s.name)
            .filter(|n| lookup(n).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "no COMMAND DOCS data for {missing:?}: run scripts/gen_command_docs.py"
        );
    }

    #[test]
    fn docs_table_is_sorted_and_only_registry_commands() {
        let docs = crate::commands::docs_data::DOCS;
        assert!(docs.windows(2).all(|w| w[0].0 < w[1].0));
        for (name, doc) in docs {
            let spec = registry()
                .lookup_full(name.as_bytes())
                .unwrap_or_else(|| panic!("docs for {name}, which is not in the registry"));
            // These four keep Group::Generic in the registry for their @keyspace ACL
            // category; Redis documents them in the server group.
            let acl_only = ["dbsize", "flushall", "flushdb", "swapdb"].contains(name);
            if !acl_only {
                assert_eq!(doc.group, spec.group.name(), "{name}");
            }
        }
    }
}
