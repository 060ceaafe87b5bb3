//! Users, authentication and permissions: Redis 7.0's ACL.
//!
//! [`Users`] is the registry: every user by name (`default` always exists), `requirepass` (the
//! `default` user's password, Redis's `ACLUpdateDefaultUserPassword`), `acl-pubsub-default`,
//! the ACL file and the [`log::AclLog`]. A user is an [`AclUser`]: its name and its
//! [`user::Rules`] (on/off, passwords as SHA-256, [`selector::Selector`]s), which ACL SETUSER
//! replaces whole. Clients hold an `Arc<AclUser>` so that a change applies to every connection
//! of the user at once, as in Redis; a deleted user's clients are disconnected by the command
//! that deleted it.
//!
//! # Threading
//! Shared by every loop. The request path reads one relaxed atomic per command for a user
//! that may run everything ([`AclUser::is_unrestricted`], true for the default user unless it
//! is restricted); other users take the read side of their rules' lock for the check. Changes
//! (ACL SETUSER/DELUSER/LOAD, CONFIG SET requirepass) take write locks and are rare. Lock
//! order: the user map, then a user's rules.

pub mod log;
pub mod selector;
pub mod user;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{RwLock, RwLockReadGuard};

pub use selector::Denied;
pub use user::{hash_password, PasswordHash, Rules};

/// The user every connection starts as.
pub const DEFAULT_USER: &str = "default";

/// One user, shared by its connections.
pub struct AclUser {
    pub name: Bytes,
    rules: RwLock<Rules>,
    /// Cached from the rules: some selector allows every command, key and channel.
    unrestricted: AtomicBool,
    /// Cached from the rules: off, or needs a password.
    requires_auth: AtomicBool,
}

pub type UserRef = Arc<AclUser>;

impl AclUser {
    fn new(name: &[u8], rules: Rules) -> UserRef {
        let u = Arc::new(AclUser {
            name: Bytes::copy_from_slice(name),
            rules: RwLock::new(Rules::new(false)),
            unrestricted: AtomicBool::new(false),
            requires_auth: AtomicBool::new(true),
        });
        u.set_rules(rules);
        u
    }

    pub fn rules(&self) -> RwLockReadGuard<'_, Rules> {
        self.rules.read()
    }

    fn set_rules(&self, rules: Rules) {
        let mut r = self.rules.write();
        self.unrestricted
            .store(rules.is_unrestricted(), Ordering::Relaxed);
        self.requires_auth
            .store(!rules.nopass || !rules.enabled, Ordering::Relaxed);
        *r = rules;
    }

    /// Whether the user may run anything (the permission check can be skipped).
    #[inline]
    pub fn is_unrestricted(&self) -> bool {
        self.unrestricted.load(Ordering::Relaxed)
    }

    /// Redis's ACLCheckAllUserCommandPerm for registry entry `id`.
    pub fn check(&self, id: usize, args: &[Bytes]) -> Result<(), Denied> {
        if self.is_unrestricted() {
            return Ok(());
        }
        self.rules().check(id, args)
    }

    /// Redis's ACLUserCheckCmdWithUnrestrictedKeyAccess: one selector both allows the command
    /// and every key (SORT's BY/GET patterns read keys no key spec names).
    pub fn has_full_key_access(&self, id: usize, args: &[Bytes]) -> bool {
        self.is_unrestricted() || self.rules().has_full_key_access(id, args)
    }
}

/// The ACL directives (`user` lines, `aclfile`, `acllog-max-len`, `acl-pubsub-default`).
#[derive(Debug, Clone)]
pub struct AclSettings {
    /// Each `user` line's arguments (name first).
    pub users: Vec<Vec<String>>,
    pub file: Option<PathBuf>,
    pub log_max_len: usize,
    /// `acl-pubsub-default allchannels` (Redis 7.0's default is `resetchannels`).
    pub pubsub_all: bool,
}

impl Default for AclSettings {
    fn default() -> Self {
        AclSettings {
            users: Vec::new(),
            file: None,
            log_max_len: 128,
            pubsub_all: false,
        }
    }
}

/// The users.
pub struct Users {
    map: RwLock<BTreeMap<Bytes, UserRef>>,
    default: UserRef,
    /// The `requirepass` value as last set (CONFIG GET shows it, as Redis).
    requirepass: RwLock<Option<Vec<u8>>>,
    pubsub_all: AtomicBool,
    file: Option<PathBuf>,
    pub log: log::AclLog,
}

/// Why ACL LOAD or the start-up failed; the text is Redis's.
pub type LoadError = String;

impl Users {
    /// `default` with `requirepass` (None or empty: no password), before the ACL directives.
    pub fn new(requirepass: Option<&[u8]>) -> Users {
        let default = AclUser::new(DEFAULT_USER.as_bytes(), Rules::default_user());
        let mut map = BTreeMap::new();
        map.insert(default.name.clone(), default.clone());
        let users = Users {
            map: RwLock::new(map),
            default,
            requirepass: RwLock::new(None),
            pubsub_all: AtomicBool::new(false),
            file: None,
            log: log::AclLog::new(128),
        };
        users.set_requirepass(requirepass);
        users
    }

    /// The registry as configured: `requirepass`, then the `user` lines or the ACL file (Redis's
    /// ACLLoadUsersAtStartup). Errors are Redis's start-up messages.
    pub fn configured(requirepass: Option<&[u8]>, acl: &AclSettings) -> Result<Users, LoadError> {
        let mut users = Users::new(requirepass);
        users.pubsub_all = AtomicBool::new(acl.pubsub_all);
        users.file = acl.file.clone();
        users.log.set_max_len(acl.log_max_len);
        if users.file.is_some() && !acl.users.is_empty() {
            return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
        }
        for line in &acl.users {
            users.load_config_user(line)?;
        }
        if users.file.is_some() {
            users
                .load_file()
                .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
        }
        Ok(users)
    }

    /// One `user` line of the config file (Redis's ACLLoadConfiguredUsers).
    fn load_config_user(&self, line: &[String]) -> Result<(), LoadError> {
        let (name, ops) = line.split_first().ok_or("wrong number of arguments")?;
        if selector::has_spaces(name.as_bytes()) {
            return Err("Spaces not allowed in ACL usernames".into());
        }
        let args: Vec<Bytes> = ops.iter().map(|o| Bytes::from(o.clone())).collect();
        let ops = user::merge_selector_args(&args).map_err(|i| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                ops[i]
            )
        })?;
        let mut rules = if name == DEFAULT_USER {
            let mut r = self.default.rules().clone();
            r.apply(b"reset", self.pubsub_all())
                .expect("reset is valid");
            r
        } else {
            if self.get(name.as_bytes()).is_some() {
                return Err(format!("Duplicate user '{name}' found. A user can only be defined once in config files"));
            }
            Rules::new(self.pubsub_all())
        };
        for op in &ops {
            rules.apply(op, self.pubsub_all()).map_err(|e| {
                format!(
                    "Error loading ACL rule '{}' for the user named '{name}': {}",
                    String::from_utf8_lossy(op),
                    e.message()
                )
            })?;
        }
        if !rules.enabled {
            tracing::info!("The user '{name}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.");
        }
        self.install(name.as_bytes(), rules);
        Ok(())
    }

    /// Replaces (or creates) user `name`'s rules.
    fn install(&self, name: &[u8], rules: Rules) -> UserRef {
        let mut map = self.map.write();
        match map.get(name) {
            Some(u) => {
                u.set_rules(rules);
                u.clone()
            }
            None => {
                let u = AclUser::new(name, rules);
                map.insert(u.name.clone(), u.clone());
                u
            }
        }
    }

    pub fn pubsub_all(&self) -> bool {
        self.pubsub_all.load(Ordering::Relaxed)
    }

    /// CONFIG SET acl-pubsub-default: applies to users and selectors created afterwards.
    pub fn set_pubsub_all(&self, on: bool) {
        self.pubsub_all.store(on, Ordering::Relaxed);
    }

    /// The `aclfile` path, if any.
    pub fn file(&self) -> Option<&PathBuf> {
        self.file.as_ref()
    }

    /// CONFIG SET requirepass: `resetpass`, then `>password`, or `nopass` when empty.
    pub fn set_requirepass(&self, password: Option<&[u8]>) {
        let password = password.filter(|p| !p.is_empty());
        let mut rules = self.default.rules().clone();
        rules.apply(b"resetpass", false).expect("valid");
        match password {
            Some(p) => {
                let mut op = b">".to_vec();
                op.extend_from_slice(p);
                rules.apply(&op, false).expect("valid");
            }
            None => rules.apply(b"nopass", false).expect("valid"),
        }
        self.default.set_rules(rules);
        *self.requirepass.write() = password.map(<[u8]>::to_vec);
    }

    /// The `requirepass` value (empty when none).
    pub fn requirepass(&self) -> Vec<u8> {
        self.requirepass.read().clone().unwrap_or_default()
    }

    /// Whether a client that has not authenticated must do so before running commands
    /// (Redis's `authRequired`: `default` is off or needs a password).
    #[inline]
    pub fn default_requires_auth(&self) -> bool {
        self.default.requires_auth.load(Ordering::Relaxed)
    }

    /// Whether a new (or RESET) client starts authenticated.
    pub fn starts_authenticated(&self) -> bool {
        !self.default_requires_auth()
    }

    /// Whether `default` takes no password (protected mode applies then).
    pub fn default_is_nopass(&self) -> bool {
        self.default.rules().nopass
    }

    pub fn default_user(&self) -> &UserRef {
        &self.default
    }

    /// A client's user: `user`, or `default` for `None`.
    #[inline]
    pub fn of<'a>(&'a self, user: &'a Option<UserRef>) -> &'a UserRef {
        user.as_ref().unwrap_or(&self.default)
    }

    pub fn get(&self, name: &[u8]) -> Option<UserRef> {
        self.map.read().get(name).cloned()
    }

    /// The user names (ACL USERS), sorted.
    pub fn names(&self) -> Vec<Bytes> {
        self.map.read().keys().cloned().collect()
    }

    /// Each user as an ACL LIST line, sorted by name.
    pub fn describe_all(&self) -> Vec<Vec<u8>> {
        self.map
            .read()
            .values()
            .map(|u| {
                let mut line = b"user ".to_vec();
                line.extend_from_slice(&u.name);
                line.push(b' ');
                line.extend_from_slice(u.rules().describe().as_bytes());
                line
            })
            .collect()
    }

    /// AUTH / HELLO AUTH: the user, when it exists, is enabled and accepts `password`.
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Option<UserRef> {
        let u = self.get(name)?;
        let ok = u.rules().accepts(password);
        ok.then_some(u)
    }

    /// ACL SETUSER: applies `ops` to a copy of the user (a new user when it does not exist)
    /// and installs it only if every rule is valid. Returns the user and its rules before.
    pub fn set_user(&self, name: &[u8], ops: &[Bytes]) -> Result<(UserRef, Option<Rules>), String> {
        let ops = user::merge_selector_args(ops).map_err(|i| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(&ops[i])
            )
        })?;
        let existing = self.get(name);
        let before = existing.as_ref().map(|u| u.rules().clone());
        let mut rules = before
            .clone()
            .unwrap_or_else(|| Rules::new(self.pubsub_all()));
        for op in &ops {
            rules.apply(op, self.pubsub_all()).map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(op),
                    e.message()
                )
            })?;
        }
        Ok((self.install(name, rules), before))
    }

    /// ACL DELUSER: removes the named users that exist; returns them.
    pub fn delete(&self, names: &[Bytes]) -> Vec<UserRef> {
        let mut map = self.map.write();
        names.iter().filter_map(|n| map.remove(n)).collect()
    }

    /// ACL LOAD (Redis's ACLLoadFromFile): all or nothing. On success every user but
    /// `default` is replaced (the old ones are returned: their clients must go), `default`'s
    /// rules are updated in place.
    pub fn load_file(&self) -> Result<Vec<UserRef>, LoadError> {
        let path = self.file.as_ref().ok_or("no aclfile")?;
        let shown = path.display().to_string();
        let text = std::fs::read(path).map_err(|e| {
            format!(
                "Error loading ACLs, opening file '{shown}': {}",
                crate::util::fs::strerror(&e)
            )
        })?;
        let mut errors = String::new();
        let mut new: BTreeMap<Bytes, Rules> = BTreeMap::new();
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let linenum = i + 1;
            let line = trim(raw, b" \t\r\n");
            if line.is_empty() {
                continue;
            }
            let argv: Vec<Bytes> = line
                .split(|&b| b == b' ')
                .map(Bytes::copy_from_slice)
                .collect();
            if argv[0].as_ref() != b"user" || argv.len() < 2 {
                errors.push_str(&format!(
                    "{shown}:{linenum} should start with user keyword followed by the username. "
                ));
                continue;
            }
            let name = argv[1].clone();
            if selector::has_spaces(&name) {
                errors.push_str(&format!(
                    "'{shown}:{linenum}: username '{}' contains invalid characters. ",
                    String::from_utf8_lossy(&name)
                ));
                continue;
            }
            if new.contains_key(&name) {
                errors.push_str(&format!(
                    "WARNING: Duplicate user '{}' found on line {linenum}. ",
                    String::from_utf8_lossy(&name)
                ));
                continue;
            }
            let mut rules = Rules::new(self.pubsub_all());
            match user::merge_selector_args(&argv[2..]) {
                Err(_) => errors.push_str(&format!(
                    "{shown}:{linenum}: Unmatched parenthesis in selector definition."
                )),
                Ok(ops) => {
                    let mut syntax_error = false;
                    for op in &ops {
                        let op = trim(op, b"\t\r\n");
                        if let Err(e) = rules.apply(op, self.pubsub_all()) {
                            if e == selector::RuleError::UnknownCommand {
                                errors.push_str(&format!(
                                    "{shown}:{linenum}: Error in applying operation '{}': {}. ",
                                    String::from_utf8_lossy(op),
                                    e.message()
                                ));
                            } else if !syntax_error {
                                errors.push_str(&format!("{shown}:{linenum}: {}. ", e.message()));
                                syntax_error = true;
                            }
                        }
                    }
                }
            }
            new.insert(name, rules);
        }
        if !errors.is_empty() {
            errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
            return Err(errors);
        }
        let default_rules = new
            .remove(DEFAULT_USER.as_bytes())
            .unwrap_or_else(Rules::default_user);
        let mut map = self.map.write();
        let old: Vec<UserRef> = std::mem::take(&mut *map)
            .into_values()
            .filter(|u| !Arc::ptr_eq(u, &self.default))
            .collect();
        self.default.set_rules(default_rules);
        map.insert(self.default.name.clone(), self.default.clone());
        for (name, rules) in new {
            let u = AclUser::new(&name, rules);
            map.insert(name, u);
        }
        Ok(old)
    }

    /// ACL SAVE (Redis's ACLSaveToFile): every user's line, written to a temporary file and
    /// renamed over the ACL file.
    pub fn save_file(&self) -> Result<(), String> {
        let path = self.file.as_ref().ok_or("no aclfile")?;
        let mut text = Vec::new();
        for line in self.describe_all() {
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        crate::util::fs::replace_file(path, &text).map_err(|e| {
            let msg = format!("Writing ACL file for ACL SAVE: {e}");
            tracing::warn!("{msg}");
            msg
        })
    }
}

fn trim<'a>(mut s: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let Some((first, rest)) = s.split_first() {
        if !set.contains(first) {
            break;
        }
        s = rest;
    }
    while let Some((last, rest)) = s.split_last() {
        if !set.contains(last) {
            break;
        }
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirepass_sets_and_clears_the_default_password() {
        let u = Users::new(None);
        assert!(!u.default_requires_auth());
        assert!(u.authenticate(b"default", b"anything").is_some());
        assert!(u.authenticate(b"alice", b"anything").is_none());
        u.set_requirepass(Some(b"s3cret"));
        assert!(u.default_requires_auth());
        assert!(u.authenticate(b"default", b"s3cret").is_some());
        assert!(u.authenticate(b"default", b"wrong").is_none());
        assert_eq!(u.requirepass(), b"s3cret");
        u.set_requirepass(Some(b""));
        assert!(!u.default_requires_auth());
        assert!(u.default_is_nopass());
        assert_eq!(u.requirepass(), b"");
    }

    #[test]
    fn acl_list_lines_are_redis_s() {
        let u = Users::new(None);
        assert_eq!(
            u.describe_all(),
            [b"user default on nopass ~* &* +@all".to_vec()]
        );
        u.set_requirepass(Some(b"foo"));
        assert_eq!(
            u.describe_all(),
            [b"user default on #2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae ~* &* +@all".to_vec()]
        );
    }

    #[test]
    fn setuser_is_all_or_nothing() {
        let u = Users::new(None);
        let ops = |v: &[&str]| -> Vec<Bytes> {
            v.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect()
        };
        let Err(err) = u.set_user(b"alice", &ops(&["on", "+nosuch"])) else {
            panic!("an unknown command is refused")
        };
        assert_eq!(
            err,
            "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"
        );
        assert!(u.get(b"alice").is_none());
        let (alice, before) = u
            .set_user(b"alice", &ops(&["on", ">p", "+get", "~k"]))
            .unwrap();
        assert!(before.is_none());
        assert!(!alice.is_unrestricted());
        assert!(u.authenticate(b"alice", b"p").is_some());
        assert_eq!(
            u.names(),
            [Bytes::from_static(b"alice"), Bytes::from_static(b"default")]
        );
        assert_eq!(u.delete(&ops(&["alice", "bob"])).len(), 1);
    }
}
