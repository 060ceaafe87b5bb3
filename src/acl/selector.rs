//! One ACL selector: which commands, keys and channels a user may use (Redis 7.0's
//! `aclSelector`). A user has a root selector and any number of `(...)` selectors; a command
//! runs when one of them allows it whole.
//!
//! Commands are bits indexed like the registry's `all` (top-level commands, then
//! subcommands), plus one bit for "commands that do not exist yet" which only `+@all` sets —
//! Redis's trick to tell `+@all -x` from `-@all +y` when describing a selector.
//!
//! Plain data: the owner ([`super::AclUser`]) provides the locking.

use bytes::Bytes;

use crate::commands::keyspecs::{self, key_flags, CATEGORIES};
use crate::commands::registry;
use crate::util::glob::glob_match;

/// Key pattern permissions.
pub const READ: u8 = 1;
pub const WRITE: u8 = 2;
pub const READ_WRITE: u8 = READ | WRITE;

/// Why a rule was refused (Redis's `ACLSetUserStringError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    Syntax,
    UnknownCommand,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// Why a command was refused, with the argument that caused it. Ordered as Redis ranks them
/// when several selectors refuse (command < key < channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Channel(i) => (4, i),
        }
    }

    /// The more relevant of two refusals (Redis: the higher reason, then the later argument).
    pub fn worse(self, other: Denied) -> Denied {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub perm: u8,
    pub pattern: Bytes,
}

#[derive(Debug, Clone)]
pub struct Selector {
    pub root: bool,
    pub all_keys: bool,
    pub all_channels: bool,
    pub all_commands: bool,
    /// One bit per registry entry, then the "future commands" bit.
    allowed: Vec<u64>,
    /// Allowed first arguments of otherwise denied commands (`+select|0`), by registry index.
    first_args: Vec<(usize, Vec<Bytes>)>,
    pub patterns: Vec<KeyPattern>,
    pub channels: Vec<Bytes>,
}

fn command_bits() -> usize {
    registry().all.len() + 1
}

fn future_bit() -> usize {
    registry().all.len()
}

/// A registry index by full name (`get`, `config|get`), case-insensitive.
fn lookup(name: &[u8]) -> Option<usize> {
    registry().index_full(name)
}

impl Selector {
    /// An empty selector (no commands, keys or channels; `all_channels` per
    /// `acl-pubsub-default`).
    pub fn new(root: bool, all_channels: bool) -> Selector {
        Selector {
            root,
            all_keys: false,
            all_channels,
            all_commands: false,
            allowed: vec![0; command_bits().div_ceil(64)],
            first_args: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    pub fn allows_bit(&self, id: usize) -> bool {
        self.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if on {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
            self.all_commands = false;
        }
    }

    /// Redis's ACLChangeSelectorPerm: the command and, for a container, every subcommand.
    fn change_perm(&mut self, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.retain(|(i, _)| *i != id);
        let reg = registry();
        let spec = reg.all[id];
        if id < reg.commands.len() && spec.is_container() {
            let base = reg.sub_base(id);
            for j in 0..spec.subcommands.len() {
                self.set_bit(base + j, allow);
            }
        }
    }

    /// Allows or denies every command of a category (bit over [`CATEGORIES`]), as Redis does:
    /// a matching container brings all its subcommands along.
    fn change_category(&mut self, cat: u32, allow: bool) {
        let reg = registry();
        let access = keyspecs::access();
        for id in 0..reg.commands.len() {
            if access[id].categories & cat != 0 {
                self.change_perm(id, allow);
            }
            if reg.all[id].is_container() {
                let base = reg.sub_base(id);
                for j in 0..reg.all[id].subcommands.len() {
                    if access[base + j].categories & cat != 0 {
                        self.change_perm(base + j, allow);
                    }
                }
            }
        }
    }

    fn set_all_commands(&mut self, on: bool) {
        let fill = if on { u64::MAX } else { 0 };
        self.allowed.iter_mut().for_each(|w| *w = fill);
        self.all_commands = on;
        self.first_args.clear();
    }

    /// Applies one selector rule (Redis's ACLSetSelector).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if op.is_empty() {
            return Err(RuleError::Syntax);
        }
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.all_keys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.patterns.clear();
        } else if is("allchannels") || op == b"&*" {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.all_keys {
                return Err(RuleError::KeyAfterAll);
            }
            let (perm, offset) = if op[0] == b'%' {
                let mut perm = 0;
                let mut offset = 1;
                while let Some(&c) = op.get(offset) {
                    offset += 1;
                    match c.to_ascii_uppercase() {
                        b'R' if perm & READ == 0 => perm |= READ,
                        b'W' if perm & WRITE == 0 => perm |= WRITE,
                        b'~' => break,
                        _ => return Err(RuleError::Syntax),
                    }
                }
                (perm, offset)
            } else {
                (READ_WRITE, 1)
            };
            let pattern = &op[offset.min(op.len())..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            match self.patterns.iter_mut().find(|p| p.pattern == pattern) {
                Some(p) => p.perm |= perm,
                None => self.patterns.push(KeyPattern {
                    perm,
                    pattern: Bytes::copy_from_slice(pattern),
                }),
            }
            self.all_keys = false;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(Bytes::copy_from_slice(pattern));
            }
            self.all_channels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            self.allow_command(&op[1..])?;
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let id = lookup(&op[1..]).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(id, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let cat = keyspecs::category_bit(&op[2..]).ok_or(RuleError::UnknownCommand)?;
            self.change_category(cat, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `+name`, `+container|sub` or `+command|first-arg`.
    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let id = lookup(name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(id, true);
            return Ok(());
        };
        let (cmd, sub) = (&name[..bar], &name[bar + 1..]);
        let reg = registry();
        let id = lookup(cmd).ok_or(RuleError::UnknownCommand)?;
        if id >= reg.commands.len() {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if reg.all[id].is_container() {
            let sub_id = lookup(name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(sub_id, true);
        } else {
            tracing::warn!(
                "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
                String::from_utf8_lossy(name)
            );
            let args = match self.first_args.iter_mut().find(|(i, _)| *i == id) {
                Some((_, args)) => args,
                None => {
                    self.first_args.push((id, Vec::new()));
                    &mut self.first_args.last_mut().expect("just pushed").1
                }
            };
            if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                args.push(Bytes::copy_from_slice(sub));
            }
        }
        Ok(())
    }

    /// Whether this selector lets anything through: every command, key and channel.
    pub fn is_unrestricted(&self) -> bool {
        self.all_commands && self.all_keys && self.all_channels
    }

    /// Redis's ACLSelectorCheckCmd for registry entry `id` with arguments `args`.
    pub fn check(
        &self,
        id: usize,
        args: &[Bytes],
        keys: &mut Option<keyspecs::KeyRefs>,
    ) -> Result<(), Denied> {
        let reg = registry();
        let spec = reg.all[id];
        let access = &keyspecs::access()[id];
        if !self.all_commands
            && spec.flags & crate::commands::flags::NO_AUTH == 0
            && !self.allows_bit(id)
        {
            let arg = if id >= reg.commands.len() { 2 } else { 1 };
            let allowed = args.get(arg).is_some_and(|a| {
                self.first_args
                    .iter()
                    .find(|(i, _)| *i == id)
                    .is_some_and(|(_, list)| list.iter().any(|f| f.eq_ignore_ascii_case(a)))
            });
            if !allowed {
                return Err(Denied::Command);
            }
        }
        if !self.all_keys && access.has_keys {
            let keys = keys.get_or_insert_with(|| keyspecs::keys_with_flags(id, args));
            for &(pos, flags) in keys.iter() {
                if !self.key_allowed(&args[pos], flags) {
                    return Err(Denied::Key(pos));
                }
            }
        }
        if !self.all_channels {
            if let Some(ch) = access.channels.filter(|c| c.checked) {
                let end = if ch.all_remaining {
                    args.len()
                } else {
                    args.len().min(2)
                };
                for (pos, channel) in args.iter().enumerate().take(end).skip(1) {
                    if !channel_in(&self.channels, channel, ch.pattern) {
                        return Err(Denied::Channel(pos));
                    }
                }
            }
        }
        Ok(())
    }

    /// Redis's ACLSelectorCheckKey: a pattern with the permissions the access needs matches.
    pub fn key_allowed(&self, key: &[u8], flags: u16) -> bool {
        if self.all_keys {
            return true;
        }
        let mut need = 0;
        if flags & key_flags::ACCESS != 0 {
            need |= READ;
        }
        if flags & (key_flags::INSERT | key_flags::DELETE | key_flags::UPDATE) != 0 {
            need |= WRITE;
        }
        self.patterns
            .iter()
            .any(|p| p.perm & need == need && glob_match(&p.pattern, key, false))
    }

    /// The command rules in ACL SETUSER form (Redis's ACLDescribeSelectorCommandRules): `+@all`
    /// or `-@all`, the categories that fit best, then single commands.
    pub fn describe_commands(&self) -> String {
        let additive = !self.allows_bit(future_bit());
        let mut rules = String::from(if additive { "-@all " } else { "+@all " });
        let mut fake = Selector::new(false, false);
        fake.set_all_commands(!additive);
        let mut temp = self.clone();
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, done) in applied.iter().enumerate() {
                if *done {
                    continue;
                }
                let (on, off) = temp.count_category(1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else {
                break;
            };
            fake.change_category(1 << j, additive);
            temp.change_category(1 << j, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(CATEGORIES[j]);
            rules.push(' ');
            applied[j] = true;
        }
        // Single commands, in name order.
        let reg = registry();
        let mut ids: Vec<usize> = (0..reg.all.len()).collect();
        ids.sort_by_key(|&i| reg.all[i].name);
        for id in ids {
            let mine = self.allows_bit(id);
            if mine != fake.allows_bit(id) {
                rules.push(if mine { '+' } else { '-' });
                rules.push_str(reg.all[id].name);
                rules.push(' ');
                fake.change_perm(id, mine);
            }
            if !mine {
                if let Some((_, args)) = self.first_args.iter().find(|(i, _)| *i == id) {
                    for a in args {
                        rules.push('+');
                        rules.push_str(reg.all[id].name);
                        rules.push('|');
                        rules.push_str(&String::from_utf8_lossy(a));
                        rules.push(' ');
                    }
                }
            }
        }
        rules.pop();
        rules
    }

    /// Commands of a category this selector allows and denies (containers and subcommands
    /// each count).
    fn count_category(&self, cat: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for (id, acc) in keyspecs::access().iter().enumerate() {
            if acc.categories & cat != 0 {
                if self.allows_bit(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// Keys as ACL GETUSER shows them (`~*`, or the patterns with their permissions).
    pub fn describe_keys(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let pats: Vec<String> = self.patterns.iter().map(pattern_text).collect();
        pats.join(" ")
    }

    /// Channels as ACL GETUSER shows them.
    pub fn describe_channels(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let chans: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        chans.join(" ")
    }

    /// The selector as ACL LIST shows it (Redis's ACLDescribeSelector).
    pub fn describe(&self) -> String {
        let mut s = String::new();
        if self.all_keys {
            s.push_str("~* ");
        } else {
            for p in &self.patterns {
                s.push_str(&pattern_text(p));
                s.push(' ');
            }
        }
        if self.all_channels {
            s.push_str("&* ");
        } else {
            s.push_str("resetchannels ");
            for c in &self.channels {
                s.push('&');
                s.push_str(&String::from_utf8_lossy(c));
                s.push(' ');
            }
        }
        s.push_str(&self.describe_commands());
        s
    }
}

fn pattern_text(p: &KeyPattern) -> String {
    let prefix = match p.perm {
        READ => "%R~",
        WRITE => "%W~",
        _ => "~",
    };
    format!("{prefix}{}", String::from_utf8_lossy(&p.pattern))
}

/// Redis's ACLStringHasSpaces.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&b| b == 0 || b.is_ascii_whitespace() || b == 0x0b)
}

/// Redis's ACLCheckChannelAgainstList: a channel matches a pattern of the list; a PSUBSCRIBE
/// pattern must equal one literally.
pub fn channel_in(list: &[Bytes], channel: &[u8], is_pattern: bool) -> bool {
    list.iter().any(|p| {
        if is_pattern {
            p == channel
        } else {
            glob_match(p, channel, false)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(rules: &[&str]) -> Selector {
        let mut s = Selector::new(true, false);
        for r in rules {
            s.apply(r.as_bytes()).unwrap();
        }
        s
    }

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn check(s: &Selector, a: &[&str]) -> Result<(), Denied> {
        let argv = args(a);
        let (id, _) = registry().resolve(&argv).unwrap();
        s.check(id, &argv, &mut None)
    }

    #[test]
    fn commands_categories_and_subcommands() {
        let s = sel(&["+@all", "-flushall", "~*", "&*"]);
        assert_eq!(check(&s, &["get", "k"]), Ok(()));
        assert_eq!(check(&s, &["flushall"]), Err(Denied::Command));
        assert_eq!(s.describe_commands(), "+@all -flushall");
        let s = sel(&["-@all", "+@string", "+client|list", "~*"]);
        assert_eq!(check(&s, &["get", "k"]), Ok(()));
        assert_eq!(check(&s, &["client", "list"]), Ok(()));
        assert_eq!(check(&s, &["client", "kill", "x"]), Err(Denied::Command));
        assert_eq!(check(&s, &["lpush", "k", "v"]), Err(Denied::Command));
        assert_eq!(s.describe_commands(), "-@all +@string +client|list");
        // First args of a plain command.
        let s = sel(&["-@all", "+select|0", "~*"]);
        assert_eq!(check(&s, &["select", "0"]), Ok(()));
        assert_eq!(check(&s, &["select", "1"]), Err(Denied::Command));
        assert_eq!(s.describe_commands(), "-@all +select|0");
        let mut s = Selector::new(true, false);
        assert_eq!(
            s.apply(b"+client|list|x"),
            Err(RuleError::FirstArgOfSubcommand)
        );
        assert_eq!(s.apply(b"+nosuch"), Err(RuleError::UnknownCommand));
        assert_eq!(s.apply(b"+@nosuch"), Err(RuleError::UnknownCommand));
        assert_eq!(s.apply(b"+get|"), Err(RuleError::Syntax));
        assert_eq!(s.apply(b"bogus"), Err(RuleError::Syntax));
    }

    #[test]
    fn keys_follow_read_and_write_patterns() {
        let s = sel(&["+@all", "%R~read*", "%W~write*", "~rw*"]);
        assert_eq!(check(&s, &["get", "read1"]), Ok(()));
        assert_eq!(check(&s, &["get", "write1"]), Err(Denied::Key(1)));
        assert_eq!(check(&s, &["set", "write1", "v"]), Ok(()));
        assert_eq!(
            check(&s, &["set", "write1", "v", "get"]),
            Err(Denied::Key(1))
        );
        assert_eq!(check(&s, &["set", "rw1", "v", "get"]), Ok(()));
        assert_eq!(
            check(&s, &["lmove", "read1", "write1", "left", "left"]),
            Err(Denied::Key(1))
        );
        assert_eq!(check(&s, &["copy", "read1", "write1"]), Ok(()));
        assert_eq!(s.describe_keys(), "%R~read* %W~write* ~rw*");
        let mut s = sel(&["~*"]);
        assert_eq!(s.apply(b"~x"), Err(RuleError::KeyAfterAll));
        assert_eq!(s.apply(b"%X~x"), Err(RuleError::KeyAfterAll));
        assert_eq!(sel(&[]).apply(b"%X~x"), Err(RuleError::Syntax));
    }

    #[test]
    fn channels_match_globs_and_patterns_literally() {
        let s = sel(&["+@all", "~*", "&news.*"]);
        assert_eq!(check(&s, &["publish", "news.a", "m"]), Ok(()));
        assert_eq!(
            check(&s, &["publish", "sport", "m"]),
            Err(Denied::Channel(1))
        );
        assert_eq!(
            check(&s, &["subscribe", "news.a", "x"]),
            Err(Denied::Channel(2))
        );
        assert_eq!(check(&s, &["psubscribe", "news.*"]), Ok(()));
        assert_eq!(
            check(&s, &["psubscribe", "news.a"]),
            Err(Denied::Channel(1))
        );
        assert_eq!(check(&s, &["unsubscribe", "other"]), Ok(()));
    }
}
