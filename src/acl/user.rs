//! One user's rules (Redis 7.0's `user`): on/off, passwords (as SHA-256), the payload
//! sanitization flag and the selectors, with ACL SETUSER's rule language ([`Rules::apply`])
//! and ACL LIST's description ([`Rules::describe`]).
//!
//! Plain data: [`super::AclUser`] holds it behind a lock and swaps a new version in whole,
//! so a change is all-or-nothing, as ACL SETUSER requires.

use sha2::{Digest, Sha256};

use super::selector::{Denied, RuleError, Selector};
use bytes::Bytes;

/// A password's SHA-256.
pub type PasswordHash = [u8; 32];

pub fn hash_password(password: &[u8]) -> PasswordHash {
    Sha256::digest(password).into()
}

pub fn hex(h: &PasswordHash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// A `#<hash>` / `!<hash>` argument: exactly 64 lowercase hex digits.
fn parse_hash(s: &[u8]) -> Result<PasswordHash, RuleError> {
    if s.len() != 64 || !s.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(RuleError::BadHash);
    }
    let mut h = [0u8; 32];
    for (i, pair) in s.chunks(2).enumerate() {
        let digit = |c: u8| if c <= b'9' { c - b'0' } else { c - b'a' + 10 };
        h[i] = digit(pair[0]) << 4 | digit(pair[1]);
    }
    Ok(h)
}

#[derive(Debug, Clone)]
pub struct Rules {
    pub enabled: bool,
    pub nopass: bool,
    /// `sanitize-payload` (Some(true)) / `skip-sanitize-payload` (Some(false)).
    pub sanitize_payload: Option<bool>,
    pub passwords: Vec<PasswordHash>,
    /// The root selector first.
    pub selectors: Vec<Selector>,
}

impl Rules {
    /// A new user: off, no password, nothing allowed (channels per `acl-pubsub-default`).
    pub fn new(all_channels: bool) -> Rules {
        Rules {
            enabled: false,
            nopass: false,
            sanitize_payload: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, all_channels)],
        }
    }

    /// Redis's default user: `on nopass ~* &* +@all`.
    pub fn default_user() -> Rules {
        let mut r = Rules::new(false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            r.apply(op.as_bytes(), false).expect("valid default rules");
        }
        r
    }

    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// Applies one rule (Redis's ACLSetUser). `all_channels` is `acl-pubsub-default`.
    pub fn apply(&mut self, op: &[u8], all_channels: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize_payload = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize_payload = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let h = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                parse_hash(&op[1..])?
            };
            if !self.passwords.contains(&h) {
                self.passwords.push(h);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let h = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                parse_hash(&op[1..])?
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == h)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(false, all_channels);
            let inner = &op[1..op.len() - 1];
            let words = crate::util::split::split_args(inner).ok_or(RuleError::Syntax)?;
            for w in words {
                s.apply(&w)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.apply(b"resetpass", all_channels)?;
            self.apply(b"resetkeys", all_channels)?;
            self.apply(b"resetchannels", all_channels)?;
            if all_channels {
                self.apply(b"allchannels", all_channels)?;
            }
            self.apply(b"off", all_channels)?;
            self.apply(b"sanitize-payload", all_channels)?;
            self.apply(b"clearselectors", all_channels)?;
            self.apply(b"-@all", all_channels)?;
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// Whether `password` opens this user (Redis's ACLCheckUserCredentials, after the name).
    pub fn accepts(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = hash_password(password);
        // Every stored hash is compared, whatever matches first: no early exit to time.
        self.passwords
            .iter()
            .fold(false, |found, p| found | constant_time_eq(p, &h))
    }

    /// Any selector lets every command, key and channel through.
    pub fn is_unrestricted(&self) -> bool {
        self.selectors.iter().any(Selector::is_unrestricted)
    }

    /// A selector that allows command `id` with `args` and every key.
    pub fn has_full_key_access(&self, id: usize, args: &[Bytes]) -> bool {
        self.selectors
            .iter()
            .any(|s| s.all_keys && s.check(id, args, &mut None).is_ok())
    }

    /// Redis's ACLCheckAllUserCommandPerm: allowed when one selector allows the whole command;
    /// otherwise the most relevant refusal.
    pub fn check(&self, id: usize, args: &[Bytes]) -> Result<(), Denied> {
        let mut keys = None;
        let mut worst = Denied::Command;
        for s in &self.selectors {
            match s.check(id, args, &mut keys) {
                Ok(()) => return Ok(()),
                Err(d) => worst = worst.worse(d),
            }
        }
        Err(worst)
    }

    /// Whether some selector may access `key` with the key-spec `flags`.
    pub fn key_allowed(&self, key: &[u8], flags: u16) -> bool {
        self.selectors.iter().any(|s| s.key_allowed(key, flags))
    }

    /// Whether some selector allows the channel (or, `is_pattern`, the literal pattern).
    pub fn channel_allowed(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors.iter().any(|s| {
            s.all_channels || super::selector::channel_in(&s.channels, channel, is_pattern)
        })
    }

    /// Whether a Pub/Sub client's subscriptions survive these rules (Redis's
    /// ACLKillPubsubClientsIfNeeded): patterns must be allowed literally, channels by a
    /// pattern, in the union of every selector's channels.
    pub fn keeps_subscriptions(&self, subs: &crate::pubsub::Subscriptions) -> bool {
        use crate::pubsub::Space;
        if self.selectors.iter().any(|s| s.all_channels) {
            return true;
        }
        let upcoming: Vec<Bytes> = self
            .selectors
            .iter()
            .flat_map(|s| s.channels.iter().cloned())
            .collect();
        let allowed = |c: &Bytes, pattern| super::selector::channel_in(&upcoming, c, pattern);
        subs.patterns().iter().all(|p| allowed(p, true))
            && subs
                .channels(Space::Global)
                .iter()
                .all(|c| allowed(c, false))
            && subs
                .channels(Space::Shard)
                .iter()
                .all(|c| allowed(c, false))
    }

    /// The user in ACL LIST / config-file form, without `user <name>` (Redis's ACLDescribeUser).
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for f in self.flag_names() {
            s.push_str(f);
            s.push(' ');
        }
        for p in &self.passwords {
            s.push('#');
            s.push_str(&hex(p));
            s.push(' ');
        }
        for sel in &self.selectors {
            if sel.root {
                s.push_str(&sel.describe());
            } else {
                s.push_str(" (");
                s.push_str(&sel.describe());
                s.push(')');
            }
        }
        s
    }

    /// The flags ACL GETUSER lists, in Redis's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize_payload {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }
}

fn constant_time_eq(a: &PasswordHash, b: &PasswordHash) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Redis's ACLMergeSelectorArguments: a selector spread over several arguments (`(~x`,
/// `+get)`) becomes one. `Err(i)`: the selector opened at argument `i` is never closed.
pub fn merge_selector_args(args: &[Bytes]) -> Result<Vec<Bytes>, usize> {
    let mut out = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.push(Bytes::from(open.take().expect("open").1));
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.to_vec()));
            continue;
        }
        out.push(op.clone());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(ops: &[&str]) -> Result<Rules, RuleError> {
        let mut r = Rules::new(false);
        for op in ops {
            r.apply(op.as_bytes(), false)?;
        }
        Ok(r)
    }

    #[test]
    fn describe_is_redis_s() {
        assert_eq!(Rules::default_user().describe(), "on nopass ~* &* +@all");
        assert_eq!(rules(&[]).unwrap().describe(), "off resetchannels -@all");
        let r = rules(&["on", ">foo", "~k*", "&ch", "+get", "(+set ~x)"]).unwrap();
        assert_eq!(
            r.describe(),
            "on #2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae ~k* resetchannels &ch -@all +get (~x resetchannels -@all +set)"
        );
        assert_eq!(
            rules(&["reset"]).unwrap().describe(),
            "off sanitize-payload resetchannels -@all"
        );
    }

    #[test]
    fn passwords_add_and_remove() {
        let mut r = rules(&["on", ">a", ">b"]).unwrap();
        assert!(r.accepts(b"a") && r.accepts(b"b") && !r.accepts(b"c"));
        r.apply(b"<a", false).unwrap();
        assert!(!r.accepts(b"a"));
        assert_eq!(r.apply(b"<a", false), Err(RuleError::NoSuchPassword));
        assert_eq!(r.apply(b"#abc", false), Err(RuleError::BadHash));
        let h = hex(&hash_password(b"z"));
        r.apply(format!("#{h}").as_bytes(), false).unwrap();
        assert!(r.accepts(b"z"));
        r.apply(format!("!{h}").as_bytes(), false).unwrap();
        assert!(!r.accepts(b"z"));
        r.apply(b"nopass", false).unwrap();
        assert!(r.accepts(b"anything"));
        r.apply(b"off", false).unwrap();
        assert!(!r.accepts(b"anything"));
    }

    #[test]
    fn selectors_merge_across_arguments() {
        let b = |v: &[&str]| -> Vec<Bytes> {
            v.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect()
        };
        assert_eq!(
            merge_selector_args(&b(&["on", "(~x", "+get)", "+set"])).unwrap(),
            b(&["on", "(~x +get)", "+set"])
        );
        assert_eq!(merge_selector_args(&b(&["on", "(~x", "+get"])), Err(1));
        let r = rules(&["(~x +get)", "clearselectors"]).unwrap();
        assert_eq!(r.selectors.len(), 1);
    }
}
