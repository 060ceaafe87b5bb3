#!/usr/bin/env python3
"""Generates src/commands/docs_data.rs (the COMMAND DOCS table) from Redis's command JSON files.

Usage (from the repository root):

    python3 scripts/gen_command_docs.py /path/to/redis-7.0.15/src/commands

The command names come from the registry's table lines in src/commands/*.rs
(`spec("name", ...)`, `container("name", ...)`, `CommandSpec { name: "name", ...`), so only the
commands ferrokv implements are emitted. Every field is rendered the way Redis 7.0.15's
utils/generate-command-code.py turns the JSON into src/commands.c (argument names lowercased,
tokens uppercased, empty strings dropped, subcommands taking their container's group).

Commands newer than 7.0.15 that ferrokv implements are read from scripts/command_docs_extra.json
(same format, copied from the Redis release that introduced them).
"""

import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "commands", "docs_data.rs")
EXTRA = os.path.join(ROOT, "scripts", "command_docs_extra.json")

NAME_RE = re.compile(
    r'\b(?:spec|container)\(\s*"([^"]+)"|CommandSpec\s*\{\s*name:\s*"([^"]+)"'
)


def registry_names():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "src", "commands", "*.rs")):
        if path.endswith("docs_data.rs"):
            continue
        with open(path) as f:
            for m in NAME_RE.finditer(f.read()):
                names.add(m.group(1) or m.group(2))
    return names


def load(json_dir):
    """Full lowercase name ("get", "client|kill") -> JSON description."""
    docs = {}
    files = sorted(glob.glob(os.path.join(json_dir, "*.json")))
    if not files:
        sys.exit("no *.json under %s" % json_dir)
    for path in files + [EXTRA]:
        with open(path) as f:
            for name, desc in json.load(f).items():
                if desc.get("container"):
                    full = "%s|%s" % (desc["container"].lower(), name.lower())
                else:
                    full = name.lower()
                docs[full] = desc
    for full, desc in docs.items():
        if "|" in full:
            desc["group"] = docs[full.split("|")[0]]["group"]
    return docs


def rs(s):
    """A Rust string literal."""
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def opt(desc, field, upper=False):
    """Redis's get_optional_desc_string: missing or empty means NULL (the field is left out)."""
    v = desc.get(field)
    if not v:
        return "None"
    return "Some(%s)" % rs(v.upper() if upper else v)


def strs(items):
    return "&[" + ", ".join(rs(i) for i in items) + "]"


def args_code(args, indent):
    """One `Arg` a line; a oneof/block's own arguments follow on indented lines."""
    if not args:
        return "&[]"
    pad = " " * indent
    lines = ["&["]
    for a in args:
        flags = [f for f in ("optional", "multiple", "multiple_token") if a.get(f)]
        head = (
            "Arg { name: %s, kind: %s, key_spec_index: %d, token: %s, summary: %s, since: %s, "
            "deprecated_since: %s, flags: %s, arguments: "
            % (
                rs(a["name"].lower()),
                rs(a["type"]),
                a.get("key_spec_index", -1),
                opt(a, "token", upper=True),
                opt(a, "summary"),
                opt(a, "since"),
                opt(a, "deprecated_since"),
                strs(flags),
            )
        )
        lines.append(pad + "    " + head + args_code(a.get("arguments", []), indent + 4) + " },")
    lines.append(pad + "]")
    return "\n".join(lines)


def doc_code(full, desc):
    doc_flags = [f.lower() for f in ("DEPRECATED", "SYSCMD") if f in desc.get("doc_flags", [])]
    history = ", ".join("(%s, %s)" % (rs(s), rs(c)) for s, c in desc.get("history") or [])
    return "\n".join(
        [
            "    (",
            "        %s," % rs(full),
            "        Doc {",
            "            summary: %s," % opt(desc, "summary"),
            "            since: %s," % opt(desc, "since"),
            "            group: %s," % rs(desc["group"].replace("_", "-")),
            "            complexity: %s," % opt(desc, "complexity"),
            "            doc_flags: %s," % strs(doc_flags),
            "            deprecated_since: %s," % opt(desc, "deprecated_since"),
            "            replaced_by: %s," % opt(desc, "replaced_by"),
            "            history: &[%s]," % history,
            "            arguments: %s," % args_code(desc.get("arguments", []), 12),
            "        },",
            "    ),",
        ]
    )


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    docs = load(sys.argv[1])
    names = sorted(registry_names())
    missing = [n for n in names if n not in docs]
    if missing:
        sys.exit("no JSON description for: %s" % ", ".join(missing))
    body = "\n".join(doc_code(n, docs[n]) for n in names)
    with open(OUT, "w") as f:
        f.write(
            "//! COMMAND DOCS data. GENERATED by scripts/gen_command_docs.py -- do not edit; regenerate\n"
            "//! with `python3 scripts/gen_command_docs.py /path/to/redis-7.0.15/src/commands` (then\n"
            "//! `cargo fmt`) after adding a command to the registry.\n"
            "//!\n"
            "//! The texts are Redis's command descriptions (redis-7.0.15/src/commands/*.json, and\n"
            "//! scripts/command_docs_extra.json for later commands), Copyright (c) Redis Ltd.,\n"
            "//! BSD 3-Clause License.\n\n"
            "use super::docs::{Arg, Doc};\n\n"
            "/// `(full name, docs)`, sorted by name.\n"
            "#[rustfmt::skip]\n"
            "pub static DOCS: &[(&str, Doc)] = &[\n"
        )
        f.write(body)
        f.write("\n];\n")
    print("wrote %d commands to %s" % (len(names), OUT))


if __name__ == "__main__":
    main()
