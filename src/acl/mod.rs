//! Users and authentication: the start of Redis 7.0's ACL. Today there is one user,
//! `default`, whose passwords come from `requirepass` (Redis's `ACLUpdateDefaultUserPassword`:
//! `requirepass x` = `resetpass >x`, no requirepass = `nopass`). ACL SETUSER and the other
//! users, their command/key/channel rules and the `NOPERM` checks build on this (issue 11).
//!
//! Passwords are kept only as their SHA-256 (as Redis keeps them, and shows them in ACL
//! GETUSER), and compared in constant time.
//!
//! Threading: the registry is shared by every loop. Reads on the request path are one relaxed
//! load ([`Users::default_requires_auth`]); changes (CONFIG SET requirepass) take a lock and
//! are rare.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;
use sha2::{Digest, Sha256};

/// The only user name today.
pub const DEFAULT_USER: &str = "default";

/// A password's SHA-256.
pub type PasswordHash = [u8; 32];

pub fn hash_password(password: &[u8]) -> PasswordHash {
    Sha256::digest(password).into()
}

/// One user's authentication state.
#[derive(Debug, Clone, Default)]
pub struct User {
    pub enabled: bool,
    /// Any password (or none) is accepted.
    pub nopass: bool,
    pub passwords: Vec<PasswordHash>,
}

impl User {
    /// Whether `password` opens this user (Redis's `ACLCheckUserCredentials`).
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
}

fn constant_time_eq(a: &PasswordHash, b: &PasswordHash) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The users.
pub struct Users {
    default: RwLock<User>,
    /// The `requirepass` value as last set (CONFIG GET shows it, as Redis).
    requirepass: RwLock<Option<Vec<u8>>>,
    /// Cached: `default` is disabled or needs a password.
    default_requires_auth: AtomicBool,
}

impl Users {
    /// `default` with `requirepass` (None or empty: no password needed).
    pub fn new(requirepass: Option<&[u8]>) -> Users {
        let users = Users {
            default: RwLock::new(User {
                enabled: true,
                nopass: true,
                passwords: Vec::new(),
            }),
            requirepass: RwLock::new(None),
            default_requires_auth: AtomicBool::new(false),
        };
        users.set_requirepass(requirepass);
        users
    }

    /// CONFIG SET requirepass: `resetpass`, then `>password`, or `nopass` when empty.
    pub fn set_requirepass(&self, password: Option<&[u8]>) {
        let password = password.filter(|p| !p.is_empty());
        let mut d = self.default.write();
        d.passwords.clear();
        d.nopass = password.is_none();
        if let Some(p) = password {
            d.passwords.push(hash_password(p));
        }
        *self.requirepass.write() = password.map(<[u8]>::to_vec);
        self.default_requires_auth
            .store(!d.nopass || !d.enabled, Ordering::Relaxed);
    }

    /// The `requirepass` value (empty when none).
    pub fn requirepass(&self) -> Vec<u8> {
        self.requirepass.read().clone().unwrap_or_default()
    }

    /// Whether a client that has not authenticated must do so before running commands
    /// (Redis's `authRequired` for a client of `default`).
    #[inline]
    pub fn default_requires_auth(&self) -> bool {
        self.default_requires_auth.load(Ordering::Relaxed)
    }

    /// Whether a new (or RESET) client starts authenticated: `default` is enabled and nopass.
    pub fn starts_authenticated(&self) -> bool {
        !self.default_requires_auth()
    }

    /// Whether `default` takes no password (protected mode applies then).
    pub fn default_is_nopass(&self) -> bool {
        self.default.read().nopass
    }

    /// The user names (ACL USERS), sorted.
    pub fn names(&self) -> Vec<&'static str> {
        vec![DEFAULT_USER]
    }

    /// Each user as an ACL LIST line (Redis's `ACLDescribeUser`): today `default`, which may
    /// run every command on every key and channel.
    pub fn describe_all(&self) -> Vec<String> {
        let d = self.default.read();
        let mut line = format!(
            "user {DEFAULT_USER} {}",
            if d.enabled { "on" } else { "off" }
        );
        if d.nopass {
            line.push_str(" nopass");
        }
        for p in &d.passwords {
            line.push_str(" #");
            line.extend(p.iter().map(|b| format!("{b:02x}")));
        }
        line.push_str(" ~* &* +@all");
        vec![line]
    }

    /// AUTH / HELLO AUTH: whether `user` exists, is enabled and accepts `password`.
    pub fn authenticate(&self, user: &[u8], password: &[u8]) -> bool {
        user == DEFAULT_USER.as_bytes() && self.default.read().accepts(password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirepass_sets_and_clears_the_default_password() {
        let u = Users::new(None);
        assert!(!u.default_requires_auth());
        assert!(u.authenticate(b"default", b"anything"));
        assert!(!u.authenticate(b"alice", b"anything"));
        u.set_requirepass(Some(b"s3cret"));
        assert!(u.default_requires_auth());
        assert!(u.authenticate(b"default", b"s3cret"));
        assert!(!u.authenticate(b"default", b"wrong"));
        assert_eq!(u.requirepass(), b"s3cret");
        u.set_requirepass(Some(b""));
        assert!(!u.default_requires_auth());
        assert!(u.default_is_nopass());
        assert_eq!(u.requirepass(), b"");
    }

    #[test]
    fn acl_list_lines_are_redis_s() {
        let u = Users::new(None);
        assert_eq!(u.describe_all(), ["user default on nopass ~* &* +@all"]);
        u.set_requirepass(Some(b"foo"));
        assert_eq!(
            u.describe_all(),
            ["user default on #2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae ~* &* +@all"]
        );
    }

    #[test]
    fn password_hashes_are_redis_sha256_hex() {
        let h = hash_password(b"foo");
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
        );
    }
}
