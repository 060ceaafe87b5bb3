#!/usr/bin/env python3
"""Generates src/commands/docs_data.rs (the COMMAND DOCS table) from scripts/command_docs.json.

Usage (from anywhere; Python 3 standard library only, no network):

    python3 scripts/gen_command_docs.py
        Regenerate src/commands/docs_data.rs from scripts/command_docs.json.
    python3 scripts/gen_command_docs.py --check
        Regenerate in memory and exit 1, with a short unified diff, when the checked-in file
        differs, or when the registry and scripts/command_docs.json disagree on the commands.
        `make check-generated` runs this, and `make test` runs `make check-generated`.
    python3 scripts/gen_command_docs.py --import /path/to/redis/src/commands
        Refresh scripts/command_docs.json from a Redis source tree (its src/commands/*.json and
        src/version.h), then run the first form.

The registry decides which commands exist: their full names come from the table lines in
src/commands/*.rs (`spec("name", ...)`, `container("name", ...)`, `CommandSpec { name: "name",
...`). scripts/command_docs.json holds one entry per registry command, keyed by full lowercase
name ("get", "client|kill"), with only the fields of Redis's command JSON that COMMAND DOCS
uses; a subcommand carries its container's group, as in Redis's generated commands.c.

--import replaces each entry the Redis tree has, drops entries the registry lacks, and keeps
entries the tree lacks: commands newer than that Redis release, which are added to
scripts/command_docs.json by hand from the release that introduced them (their "since" says
which). So after adding a command to the registry: if the vendored Redis release has it, run
--import against that release (7.0.15, which tests/command_docs.rs compares with); otherwise
copy its fields from the newer release's src/commands/<container>-<name>.json into
scripts/command_docs.json. Then regenerate.

Every field is rendered the way Redis 7.0.15's utils/generate-command-code.py turns the JSON
into src/commands.c (argument names lowercased, tokens uppercased, empty strings dropped). The
output is already rustfmt-stable (the table is `#[rustfmt::skip]`), so `cargo fmt --check`
passes on it unchanged.
"""

import argparse
import difflib
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "commands", "docs_data.rs")
DATA = os.path.join(ROOT, "scripts", "command_docs.json")
OUT_REL = "src/commands/docs_data.rs"
ACCESS_OUT = os.path.join(ROOT, "src", "commands", "access_data.rs")
ACCESS_REL = "src/commands/access_data.rs"
DATA_REL = "scripts/command_docs.json"

REGENERATE = "python3 scripts/gen_command_docs.py"
IMPORT = "python3 scripts/gen_command_docs.py --import /path/to/redis/src/commands"

NAME_RE = re.compile(
    r'\b(?:spec|container)\(\s*"([^"]+)"|CommandSpec\s*\{\s*name:\s*"([^"]+)"'
)

# The fields the generator reads, in the order --import writes them.
COMMAND_FIELDS = (
    "summary",
    "since",
    "group",
    "complexity",
    "doc_flags",
    "deprecated_since",
    "replaced_by",
    "history",
    "acl_categories",
    "command_tips",
    "key_specs",
    "arguments",
)
ARG_FIELDS = (
    "name",
    "type",
    "key_spec_index",
    "token",
    "summary",
    "since",
    "deprecated_since",
    "optional",
    "multiple",
    "multiple_token",
    "arguments",
)

LICENSE = [
    "Copyright (c) 2006-2020, Salvatore Sanfilippo",
    "All rights reserved.",
    "",
    "Redistribution and use in source and binary forms, with or without modification, are "
    "permitted provided that the following conditions are met:",
    "",
    "    * Redistributions of source code must retain the above copyright notice, this list of "
    "conditions and the following disclaimer.",
    "    * Redistributions in binary form must reproduce the above copyright notice, this list "
    "of conditions and the following disclaimer in the documentation and/or other materials "
    "provided with the distribution.",
    "    * Neither the name of Redis nor the names of its contributors may be used to endorse "
    "or promote products derived from this software without specific prior written "
    "permission.",
    "",
    'THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY '
    "EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF "
    "MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL "
    "THE COPYRIGHT OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, "
    "SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT "
    "OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS "
    "INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT "
    "LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE "
    "OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.",
]


class Failure(Exception):
    """A problem the user fixes; the message names the remedy."""


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def registry_names():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "src", "commands", "*.rs")):
        if os.path.basename(path) == "docs_data.rs":
            continue
        for m in NAME_RE.finditer(read(path)):
            names.add(m.group(1) or m.group(2))
    if not names:
        raise Failure("no command names found in src/commands/*.rs (has the table syntax changed?)")
    return names


# ---------------------------------------------------------------------------------------------
# scripts/command_docs.json


def trim_arg(arg):
    out = {f: arg[f] for f in ARG_FIELDS if f in arg and f != "arguments"}
    if "arguments" in arg:
        out["arguments"] = [trim_arg(a) for a in arg["arguments"]]
    return out


def trim(desc):
    out = {f: desc[f] for f in COMMAND_FIELDS if f in desc and f != "arguments"}
    if "arguments" in desc:
        out["arguments"] = [trim_arg(a) for a in desc["arguments"]]
    return out


def load_redis(json_dir):
    """A Redis tree's commands: full lowercase name -> JSON description, and its version."""
    files = sorted(glob.glob(os.path.join(json_dir, "*.json")))
    if not files:
        raise Failure("no *.json under %s: point --import at a Redis tree's src/commands" % json_dir)
    version_h = os.path.join(json_dir, os.pardir, "version.h")
    try:
        version = re.search(r'REDIS_VERSION\s+"([^"]+)"', read(version_h)).group(1)
    except (OSError, AttributeError):
        raise Failure("cannot read REDIS_VERSION from %s: point --import at a Redis tree's "
                      "src/commands (next to src/version.h)" % os.path.normpath(version_h))
    docs = {}
    for path in files:
        for name, desc in json.loads(read(path)).items():
            if desc.get("container"):
                full = "%s|%s" % (desc["container"].lower(), name.lower())
            else:
                full = name.lower()
            docs[full] = desc
    for full, desc in docs.items():
        if "|" in full:
            desc["group"] = docs[full.split("|")[0]]["group"]
    return docs, version


def load_data():
    """scripts/command_docs.json, checked for the fields the generator knows."""
    data = json.loads(read(DATA))
    commands = data.get("commands")
    if not isinstance(commands, dict) or "redis_version" not in data.get("_source", {}):
        raise Failure("%s lacks \"commands\" or \"_source\".\"redis_version\"" % DATA_REL)

    def check(where, obj, allowed):
        unknown = sorted(set(obj) - set(allowed))
        if unknown:
            raise Failure("%s: %s has fields the generator does not use: %s (allowed: %s)"
                          % (DATA_REL, where, ", ".join(unknown), ", ".join(allowed)))
        for a in obj.get("arguments", []):
            check(where + " argument " + repr(a.get("name")), a, ARG_FIELDS)

    for name, desc in commands.items():
        check(name, desc, COMMAND_FIELDS)
        if "group" not in desc:
            raise Failure("%s: %s has no \"group\"" % (DATA_REL, name))
    return data


def dump_arg(arg, pad):
    """One argument a line; a oneof/block's own arguments on the indented lines below it."""
    head = json.dumps({k: v for k, v in arg.items() if k != "arguments"}, ensure_ascii=False)
    subs = arg.get("arguments")
    if not subs:
        if subs is not None:
            head = head[:-1] + ', "arguments": []}'
        return [pad + head]
    lines = [pad + head[:-1] + ', "arguments": [']
    lines += dump_list([dump_arg(a, pad + "  ") for a in subs])
    lines.append(pad + "]}")
    return lines


def dump_list(items):
    """Joins multi-line items with commas, as JSON wants."""
    lines = []
    for i, item in enumerate(items):
        lines += item[:-1] + [item[-1] + ("," if i < len(items) - 1 else "")]
    return lines


def dump_data(data):
    """A diff-friendly JSON layout: one field a line, one argument a line."""
    out = ["{", '  "_source": ' + json.dumps(data["_source"], indent=2, ensure_ascii=False)
           .replace("\n", "\n  ") + ",", '  "commands": {']
    entries = []
    for name in sorted(data["commands"]):
        desc = data["commands"][name]
        fields = []
        for k in COMMAND_FIELDS:
            if k not in desc:
                continue
            key = "      " + json.dumps(k) + ": "
            if k in ("history", "key_specs") and desc[k]:
                fields.append([key + "["] + dump_list(
                    [["        " + json.dumps(h, ensure_ascii=False)] for h in desc[k]]
                ) + ["      ]"])
            elif k == "arguments" and desc[k]:
                fields.append([key + "["] + dump_list(
                    [dump_arg(a, "        ") for a in desc[k]]
                ) + ["      ]"])
            else:
                fields.append([key + json.dumps(desc[k], ensure_ascii=False)])
        entries.append(["    " + json.dumps(name) + ": {"] + dump_list(fields) + ["    }"])
    out += dump_list(entries)
    out += ["  }", "}"]
    return "\n".join(out) + "\n"


def import_redis(json_dir):
    redis, version = load_redis(json_dir)
    names = registry_names()
    try:
        old = load_data()["commands"]
    except FileNotFoundError:
        old = {}
    commands, kept = {}, []
    for name in sorted(names):
        if name in redis:
            commands[name] = trim(redis[name])
        elif name in old:
            commands[name] = old[name]
            kept.append(name)
    missing = sorted(names - set(commands))
    if missing:
        raise Failure(
            "neither Redis %s nor %s documents: %s. Add them to %s by hand, copying the fields "
            "from the Redis release that introduced them, then run `%s`."
            % (version, DATA_REL, ", ".join(missing), DATA_REL, REGENERATE))
    dropped = sorted(set(old) - names)
    source = {
        "redis_version": version,
        "description": (
            "Redis %s's command descriptions (src/commands/*.json), restricted to the commands "
            "in ferrokv's registry (src/commands/*.rs) and to the fields "
            "scripts/gen_command_docs.py uses; a subcommand carries its container's group. "
            "Entries Redis %s lacks were added by hand from the later release named in their "
            "\"since\": %s." % (version, version, ", ".join(kept) or "none")),
        "refresh": IMPORT,
        "regenerate": REGENERATE + "  (writes %s)" % OUT_REL,
        "license": "BSD-3-Clause; Redis's COPYING file follows.",
        "copying": LICENSE,
    }
    write(DATA, dump_data({"_source": source, "commands": commands}))
    print("wrote %d commands from Redis %s to %s" % (len(commands), version, DATA_REL))
    if kept:
        print("  kept (not in Redis %s): %s" % (version, ", ".join(kept)))
    if dropped:
        print("  dropped (not in the registry): %s" % ", ".join(dropped))
    print("now run `%s`" % REGENERATE)


# ---------------------------------------------------------------------------------------------
# src/commands/docs_data.rs


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


def c_literal(v):
    """The string C makes of `"%s"` with `v` pasted in, as Redis's generator writes it: quotes
    inside `v` close and reopen adjacent literals (MIGRATE's token `""` becomes the empty
    string)."""
    out, inside, i = [], True, 0
    while i < len(v):
        ch = v[i]
        if ch == "\\" and i + 1 < len(v):
            if inside:
                out.append(v[i : i + 2])
            i += 2
            continue
        if ch == '"':
            inside = not inside
        elif inside:
            out.append(ch)
        i += 1
    return "".join(out)


def opt(desc, field, upper=False):
    """Redis's get_optional_desc_string: missing or empty means NULL (the field is left out);
    the value is what C reads of the literal it generates."""
    v = desc.get(field)
    if not v:
        return "None"
    return "Some(%s)" % rs(c_literal(v.upper() if upper else v))


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


def generate():
    """The text of docs_data.rs; fails when the registry and the data disagree."""
    data = load_data()
    commands = data["commands"]
    names = registry_names()
    missing = sorted(names - set(commands))
    extra = sorted(set(commands) - names)
    problems = []
    if missing:
        problems.append(
            "registry commands with no entry in %s: %s\n  remedy: `%s` (or, for a command newer "
            "than Redis %s, add its entry by hand), then `%s`"
            % (DATA_REL, ", ".join(missing), IMPORT, data["_source"]["redis_version"], REGENERATE))
    if extra:
        problems.append(
            "%s has entries the registry lacks: %s\n  remedy: delete them from %s (or `%s`), "
            "then `%s`" % (DATA_REL, ", ".join(extra), DATA_REL, IMPORT, REGENERATE))
    if problems:
        raise Failure("\n".join(problems))
    version = data["_source"]["redis_version"]
    header = (
        "//! @generated by scripts/gen_command_docs.py from scripts/command_docs.json; do not edit.\n"
        "//! Regenerate with `%s`. `make check-generated` (part of\n"
        "//! `make test`) fails when this file differs from what the script writes; the script's\n"
        "//! docstring says how to refresh the JSON from a Redis source tree.\n"
        "//!\n"
        "//! COMMAND DOCS data: Redis %s's command descriptions (src/commands/*.json; a few newer\n"
        "//! commands from the release named in their `since`), Copyright (c) 2006-2020, Salvatore\n"
        "//! Sanfilippo, BSD 3-Clause License (full text in scripts/command_docs.json).\n\n"
        % (REGENERATE, version)
    )
    body = "\n".join(doc_code(n, commands[n]) for n in sorted(names))
    return (
        header
        + "use super::docs::{Arg, Doc};\n\n"
        "/// `(full name, docs)`, sorted by name.\n"
        "#[rustfmt::skip]\n"
        "pub static DOCS: &[(&str, Doc)] = &[\n" + body + "\n];\n"
    )


KEY_FLAGS = ("RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE", "NOT_KEY",
             "INCOMPLETE", "VARIABLE_FLAGS")


def key_spec_code(spec):
    unknown = sorted(set(spec["flags"]) - set(KEY_FLAGS))
    if unknown:
        raise Failure("%s: unknown key spec flags %s" % (DATA_REL, ", ".join(unknown)))
    flags = " | ".join("kf::" + f for f in spec["flags"]) or "0"
    bs = spec["begin_search"]
    if "index" in bs:
        begin = "Begin::Index(%d)" % bs["index"]["pos"]
    elif "keyword" in bs:
        begin = "Begin::Keyword { keyword: %s, startfrom: %d }" % (
            rs(bs["keyword"]["keyword"]), bs["keyword"]["startfrom"])
    else:
        begin = "Begin::Unknown"
    fk = spec["find_keys"]
    if "range" in fk:
        r = fk["range"]
        find = "Find::Range { lastkey: %d, step: %d, limit: %d }" % (
            r["lastkey"], r["step"], r["limit"])
    elif "keynum" in fk:
        k = fk["keynum"]
        find = "Find::Keynum { keynumidx: %d, firstkey: %d, step: %d }" % (
            k["keynumidx"], k["firstkey"], k["step"])
    else:
        find = "Find::Unknown"
    return "KeySpec { notes: %s, flags: %s, begin: %s, find: %s }" % (
        opt(spec, "notes"), flags, begin, find)


def access_code(full, desc):
    cats = [c.lower() for c in desc.get("acl_categories") or []]
    tips = [t.lower() for t in desc.get("command_tips") or []]
    specs = desc.get("key_specs") or []
    head = "    (%s, Access { categories: %s, tips: %s, key_specs: &[" % (rs(full), strs(cats), strs(tips))
    if not specs:
        return head + "] }),"
    lines = [head]
    lines += ["        %s," % key_spec_code(s) for s in specs]
    lines.append("    ] }),")
    return "\n".join(lines)


def generate_access():
    """The text of access_data.rs: each command's ACL categories and key specs."""
    data = load_data()
    commands = data["commands"]
    names = registry_names()
    version = data["_source"]["redis_version"]
    header = (
        "//! @generated by scripts/gen_command_docs.py from scripts/command_docs.json; do not edit.\n"
        "//! Regenerate with `%s`; `make check-generated` compares.\n"
        "//!\n"
        "//! Each command's explicit ACL categories and key specs: Redis %s's command descriptions\n"
        "//! (src/commands/*.json), Copyright (c) 2006-2020, Salvatore Sanfilippo, BSD 3-Clause\n"
        "//! License (full text in scripts/command_docs.json).\n\n"
        % (REGENERATE, version)
    )
    body = "\n".join(access_code(n, commands[n]) for n in sorted(names) if n in commands)
    return (
        header
        + "use super::keyspecs::{key_flags as kf, Access, Begin, Find, KeySpec};\n\n"
        "/// `(full name, access)`, sorted by name.\n"
        "#[rustfmt::skip]\n"
        "pub static ACCESS: &[(&str, Access)] = &[\n" + body + "\n];\n"
    )


def check_one(path, rel, want, max_lines):
    try:
        have = read(path)
    except FileNotFoundError:
        have = ""
    if have == want:
        print("%s is up to date with %s" % (rel, DATA_REL))
        return 0
    diff = list(difflib.unified_diff(
        have.splitlines(), want.splitlines(),
        rel + " (checked in)", rel + " (regenerated from %s)" % DATA_REL, lineterm=""))
    print("\n".join(diff[:max_lines]), file=sys.stderr)
    if len(diff) > max_lines:
        print("... %d more diff lines" % (len(diff) - max_lines), file=sys.stderr)
    print("\n%s is out of date (or was edited by hand): edit %s instead and run `%s`"
          % (rel, DATA_REL, REGENERATE), file=sys.stderr)
    return 1


def check(max_lines=40):
    bad = check_one(OUT, OUT_REL, generate(), max_lines)
    return bad | check_one(ACCESS_OUT, ACCESS_REL, generate_access(), max_lines)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the docstring at the top of this script for the whole story.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="compare the regenerated file with the checked-in one")
    mode.add_argument("--import", dest="redis_dir", metavar="REDIS/src/commands",
                      help="refresh %s from a Redis tree" % DATA_REL)
    opts = parser.parse_args()
    try:
        if opts.redis_dir:
            import_redis(opts.redis_dir)
            return 0
        if opts.check:
            return check()
        for path, rel, text in ((OUT, OUT_REL, generate()),
                                (ACCESS_OUT, ACCESS_REL, generate_access())):
            if os.path.exists(path) and read(path) == text:
                print("%s is already up to date" % rel)
            else:
                write(path, text)
                print("wrote %s" % rel)
        return 0
    except Failure as e:
        print("gen_command_docs: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
