//! TLS configuration: the `tls-*` directives ([`TlsSettings`]), the rustls server context they
//! build ([`build`]), and the live, reloadable context every loop takes new connections' TLS
//! state from ([`TlsContext`]).
//!
//! Redis's directive names and behaviour on top of rustls (no OpenSSL in the server):
//! - `tls-protocols` accepts Redis's words; rustls speaks TLSv1.2 and TLSv1.3 only, so
//!   `TLSv1`/`TLSv1.1` are dropped with a warning (an error when nothing is left).
//! - `tls-ciphers` (TLS 1.2) takes the OpenSSL names of the suites rustls implements,
//!   `tls-ciphersuites` (TLS 1.3) the IANA names; an unknown name is a configuration error.
//! - `tls-session-cache-timeout` has no rustls equivalent (stored and reported only);
//!   `tls-key-file-pass`: rustls cannot read encrypted keys, so an encrypted key file is an
//!   error; `tls-replication`, `tls-cluster` and the client-side files are stored for later.
//!
//! Threading rules: the context is a read-mostly `RwLock<Option<Arc<ServerConfig>>>`: a loop
//! takes a read lock and clones the `Arc` once per accepted TLS connection; CONFIG SET builds a
//! new config off-lock and swaps it in, so connections made before keep the old one (as Redis
//! keeps existing `SSL` objects on a context reload).

use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rustls::crypto::ring::cipher_suite as cs;
use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// `tls-handshake-timeout` default (ms): a ferrokv directive, Redis has none.
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;

/// The start-up and CONFIG-time error, as Redis words it for CONFIG SET.
pub const RELOAD_FAILED: &str = "Unable to update TLS configuration. Check server logs.";

/// `tls-auth-clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthClients {
    Yes,
    No,
    Optional,
}

impl AuthClients {
    pub fn parse(s: &str) -> Result<AuthClients, String> {
        match s.to_ascii_lowercase().as_str() {
            "yes" => Ok(AuthClients::Yes),
            "no" => Ok(AuthClients::No),
            "optional" => Ok(AuthClients::Optional),
            _ => Err("argument(s) must be one of the following: no, yes, optional".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthClients::Yes => "yes",
            AuthClients::No => "no",
            AuthClients::Optional => "optional",
        }
    }
}

/// Every `tls-*` directive, as given (files are paths, lists are Redis's strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `tls-port`: 0 = no TLS listener.
    pub port: u16,
    pub cert_file: String,
    pub key_file: String,
    pub key_file_pass: String,
    pub client_cert_file: String,
    pub client_key_file: String,
    pub client_key_file_pass: String,
    pub dh_params_file: String,
    pub ca_cert_file: String,
    pub ca_cert_dir: String,
    pub auth_clients: AuthClients,
    pub protocols: String,
    pub ciphers: String,
    pub ciphersuites: String,
    pub prefer_server_ciphers: bool,
    pub session_caching: bool,
    pub session_cache_size: u64,
    pub session_cache_timeout: u64,
    pub replication: bool,
    pub cluster: bool,
    /// `tls-handshake-timeout` (ms): a connection still handshaking after this is closed.
    pub handshake_timeout_ms: u64,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            port: 0,
            cert_file: String::new(),
            key_file: String::new(),
            key_file_pass: String::new(),
            client_cert_file: String::new(),
            client_key_file: String::new(),
            client_key_file_pass: String::new(),
            dh_params_file: String::new(),
            ca_cert_file: String::new(),
            ca_cert_dir: String::new(),
            auth_clients: AuthClients::Yes,
            protocols: String::new(),
            ciphers: String::new(),
            ciphersuites: String::new(),
            prefer_server_ciphers: false,
            session_caching: true,
            session_cache_size: 20 * 1024,
            session_cache_timeout: 300,
            replication: false,
            cluster: false,
            handshake_timeout_ms: DEFAULT_HANDSHAKE_TIMEOUT_MS,
        }
    }
}

impl TlsSettings {
    /// Sets one `tls-*` directive (config-file syntax, one value); `Ok(false)` when `name` is
    /// not a TLS directive.
    pub fn set(&mut self, name: &str, v: &str) -> Result<bool, String> {
        let yes_no = |v: &str| match v.to_ascii_lowercase().as_str() {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err("argument must be 'yes' or 'no'".to_string()),
        };
        let int = |v: &str, max: u64| -> Result<u64, String> {
            let n: i64 = v
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if n < 0 || n as u64 > max {
                return Err(format!("argument must be between 0 and {max} inclusive"));
            }
            Ok(n as u64)
        };
        match name {
            "tls-port" => self.port = int(v, 65535)? as u16,
            "tls-cert-file" => self.cert_file = v.to_string(),
            "tls-key-file" => self.key_file = v.to_string(),
            "tls-key-file-pass" => self.key_file_pass = v.to_string(),
            "tls-client-cert-file" => self.client_cert_file = v.to_string(),
            "tls-client-key-file" => self.client_key_file = v.to_string(),
            "tls-client-key-file-pass" => self.client_key_file_pass = v.to_string(),
            "tls-dh-params-file" => self.dh_params_file = v.to_string(),
            "tls-ca-cert-file" => self.ca_cert_file = v.to_string(),
            "tls-ca-cert-dir" => self.ca_cert_dir = v.to_string(),
            "tls-auth-clients" => self.auth_clients = AuthClients::parse(v)?,
            "tls-protocols" => self.protocols = v.to_string(),
            "tls-ciphers" => self.ciphers = v.to_string(),
            "tls-ciphersuites" => self.ciphersuites = v.to_string(),
            "tls-prefer-server-ciphers" => self.prefer_server_ciphers = yes_no(v)?,
            "tls-session-caching" => self.session_caching = yes_no(v)?,
            "tls-session-cache-size" => self.session_cache_size = int(v, i32::MAX as u64)?,
            "tls-session-cache-timeout" => self.session_cache_timeout = int(v, i32::MAX as u64)?,
            "tls-replication" => self.replication = yes_no(v)?,
            "tls-cluster" => self.cluster = yes_no(v)?,
            "tls-handshake-timeout" => {
                self.handshake_timeout_ms = int(v, i64::MAX as u64)?;
                if self.handshake_timeout_ms == 0 {
                    return Err("argument must be at least 1".into());
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// CONFIG GET's rendering of one directive (None: not a TLS directive).
    pub fn get(&self, name: &str) -> Option<String> {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        Some(match name {
            "tls-port" => self.port.to_string(),
            "tls-cert-file" => self.cert_file.clone(),
            "tls-key-file" => self.key_file.clone(),
            "tls-key-file-pass" => self.key_file_pass.clone(),
            "tls-client-cert-file" => self.client_cert_file.clone(),
            "tls-client-key-file" => self.client_key_file.clone(),
            "tls-client-key-file-pass" => self.client_key_file_pass.clone(),
            "tls-dh-params-file" => self.dh_params_file.clone(),
            "tls-ca-cert-file" => self.ca_cert_file.clone(),
            "tls-ca-cert-dir" => self.ca_cert_dir.clone(),
            "tls-auth-clients" => self.auth_clients.as_str().to_string(),
            "tls-protocols" => self.protocols.clone(),
            "tls-ciphers" => self.ciphers.clone(),
            "tls-ciphersuites" => self.ciphersuites.clone(),
            "tls-prefer-server-ciphers" => yes_no(self.prefer_server_ciphers),
            "tls-session-caching" => yes_no(self.session_caching),
            "tls-session-cache-size" => self.session_cache_size.to_string(),
            "tls-session-cache-timeout" => self.session_cache_timeout.to_string(),
            "tls-replication" => yes_no(self.replication),
            "tls-cluster" => yes_no(self.cluster),
            "tls-handshake-timeout" => self.handshake_timeout_ms.to_string(),
            _ => return None,
        })
    }
}

/// Every TLS directive name (CONFIG GET/SET's table and the tests iterate it).
pub const DIRECTIVES: &[&str] = &[
    "tls-port",
    "tls-cert-file",
    "tls-key-file",
    "tls-key-file-pass",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-dh-params-file",
    "tls-ca-cert-file",
    "tls-ca-cert-dir",
    "tls-auth-clients",
    "tls-protocols",
    "tls-ciphers",
    "tls-ciphersuites",
    "tls-prefer-server-ciphers",
    "tls-session-caching",
    "tls-session-cache-size",
    "tls-session-cache-timeout",
    "tls-replication",
    "tls-cluster",
    "tls-handshake-timeout",
];

/// Redis's `tls-protocols` words mapped to the versions rustls has ("" = TLSv1.2 + TLSv1.3, as
/// Redis's default).
fn protocols(spec: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    if spec.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    }
    let mut out: Vec<&'static SupportedProtocolVersion> = Vec::new();
    for word in spec.split_whitespace() {
        match word.to_ascii_lowercase().as_str() {
            "tlsv1.3" => out.push(&rustls::version::TLS13),
            "tlsv1.2" => out.push(&rustls::version::TLS12),
            "tlsv1" | "tlsv1.1" => {
                tracing::warn!(
                    "{word} is specified in tls-protocols but not supported by rustls; ignored"
                )
            }
            _ => {
                return Err(
                    "Invalid tls-protocols specified. Use a combination of 'TLSv1', \
                     'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."
                        .into(),
                )
            }
        }
    }
    if out.is_empty() {
        return Err("tls-protocols names no protocol rustls supports (TLSv1.2, TLSv1.3)".into());
    }
    Ok(out)
}

/// The OpenSSL name (TLS 1.2) or IANA name (TLS 1.3) of each suite rustls implements.
const SUITES: &[(&str, SupportedCipherSuite)] = &[
    ("TLS_AES_256_GCM_SHA384", cs::TLS13_AES_256_GCM_SHA384),
    ("TLS_AES_128_GCM_SHA256", cs::TLS13_AES_128_GCM_SHA256),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// The suites of one TLS version that a cipher list selects: `""` (and the OpenSSL keywords
/// `DEFAULT`, `ALL`, `HIGH`, ...) keep all of them; exclusions (`!x`, `-x`) are ignored, as
/// rustls has no weak suite to exclude; a name of the other version's list, or an unknown
/// one, is an error. OpenSSL separates with `:`; spaces and commas are accepted too.
fn select_suites(
    spec: &str,
    tls13: bool,
    directive: &str,
) -> Result<Vec<SupportedCipherSuite>, String> {
    let of_version = |s: &SupportedCipherSuite| (s.version() == &rustls::version::TLS13) == tls13;
    let all: Vec<SupportedCipherSuite> =
        SUITES.iter().map(|(_, s)| *s).filter(of_version).collect();
    let mut out: Vec<SupportedCipherSuite> = Vec::new();
    let mut any = false;
    for name in spec.split([':', ',', ' ']).filter(|n| !n.is_empty()) {
        any = true;
        if name.starts_with('!') || name.starts_with('-') || name.starts_with('@') {
            continue;
        }
        let keyword = [
            "DEFAULT", "ALL", "HIGH", "ECDHE", "EECDH", "AESGCM", "CHACHA20",
        ];
        if keyword.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            out.extend(all.iter().copied());
            continue;
        }
        match SUITES
            .iter()
            .find(|(n, s)| n.eq_ignore_ascii_case(name) && of_version(s))
        {
            Some((_, s)) => out.push(*s),
            None => {
                return Err(format!(
                    "{directive}: unknown or unsupported cipher '{name}'"
                ))
            }
        }
    }
    if !any {
        return Ok(all);
    }
    let mut unique: Vec<SupportedCipherSuite> = Vec::new();
    for s in out {
        if !unique.iter().any(|u| u.suite() == s.suite()) {
            unique.push(s);
        }
    }
    Ok(unique)
}

fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("Failed to load certificate: {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "Failed to load certificate: {path}: no certificate found"
        ));
    }
    Ok(certs)
}

fn load_key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        let encrypted = std::fs::read_to_string(path).is_ok_and(|t| t.contains("ENCRYPTED"));
        if encrypted {
            format!(
                "Failed to load private key: {path}: encrypted keys (tls-key-file-pass) are not \
                 supported, decrypt the key first"
            )
        } else {
            format!("Failed to load private key: {path}: {e}")
        }
    })
}

fn load_roots(settings: &TlsSettings) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let mut add = |path: &str| -> Result<(), String> {
        for cert in load_certs(path)? {
            roots.add(cert).map_err(|e| {
                format!("Failed to configure CA certificate(s) file/directory: {path}: {e}")
            })?;
        }
        Ok(())
    };
    if !settings.ca_cert_file.is_empty() {
        add(&settings.ca_cert_file)?;
    }
    if !settings.ca_cert_dir.is_empty() {
        let dir = Path::new(&settings.ca_cert_dir);
        let entries = std::fs::read_dir(dir).map_err(|e| {
            format!(
                "Failed to configure CA certificate(s) file/directory: {}: {e}",
                dir.display()
            )
        })?;
        // OpenSSL looks certificates up by hashed names; we load every PEM file in the directory
        // (files without a certificate are skipped).
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                if let Some(p) = path.to_str() {
                    let _ = add(p);
                }
            }
        }
    }
    Ok(roots)
}

/// Builds the server context from `settings`; the error is the log line explaining why.
pub fn build(settings: &TlsSettings) -> Result<Arc<ServerConfig>, String> {
    if settings.cert_file.is_empty() {
        return Err("No tls-cert-file configured!".into());
    }
    if settings.key_file.is_empty() {
        return Err("No tls-key-file configured!".into());
    }
    let needs_ca =
        settings.auth_clients != AuthClients::No || settings.cluster || settings.replication;
    if needs_ca && settings.ca_cert_file.is_empty() && settings.ca_cert_dir.is_empty() {
        return Err(
            "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when \
                    tls-cluster, tls-replication or tls-auth-clients are enabled!"
                .into(),
        );
    }
    let versions = protocols(&settings.protocols)?;
    let mut suites = select_suites(&settings.ciphersuites, true, "tls-ciphersuites")?;
    suites.extend(select_suites(&settings.ciphers, false, "tls-ciphers")?);
    let base = rustls::crypto::ring::default_provider();
    let provider = Arc::new(CryptoProvider {
        cipher_suites: suites,
        ..base
    });
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("Failed to configure ciphers or protocols: {e}"))?;
    let builder = match settings.auth_clients {
        AuthClients::No => builder.with_no_client_auth(),
        auth => {
            let roots = Arc::new(load_roots(settings)?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
            let verifier = if auth == AuthClients::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier.build().map_err(|e| {
                format!("Failed to configure CA certificate(s) file/directory: {e}")
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let certs = load_certs(&settings.cert_file)?;
    let key = load_key(&settings.key_file)?;
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("Failed to load certificate or private key: {e}"))?;
    config.ignore_client_order = settings.prefer_server_ciphers;
    config.session_storage = if settings.session_caching && settings.session_cache_size > 0 {
        ServerSessionMemoryCache::new(settings.session_cache_size as usize)
    } else {
        Arc::new(NoServerSessionStorage {})
    };
    Ok(Arc::new(config))
}

/// The live TLS settings and the context built from them.
pub struct TlsContext {
    settings: Mutex<TlsSettings>,
    config: RwLock<Option<Arc<ServerConfig>>>,
}

impl TlsContext {
    /// A context for `settings`, with the already built `config` (None: TLS off).
    pub fn new(settings: TlsSettings, config: Option<Arc<ServerConfig>>) -> Self {
        TlsContext {
            settings: Mutex::new(settings),
            config: RwLock::new(config),
        }
    }

    /// Installs the context built at start-up (TLS on from now on).
    pub fn install(&self, config: Arc<ServerConfig>) {
        *self.config.write() = Some(config);
    }

    /// The context new connections use (None: no TLS listener).
    pub fn server_config(&self) -> Option<Arc<ServerConfig>> {
        self.config.read().clone()
    }

    pub fn settings(&self) -> TlsSettings {
        self.settings.lock().clone()
    }

    /// Applies changed settings: when TLS is on, the context is rebuilt first and nothing
    /// changes if that fails (the reason is logged, as Redis does); otherwise they are only
    /// stored, as Redis does with TLS off.
    pub fn update(&self, change: impl FnOnce(&mut TlsSettings)) -> Result<(), String> {
        let mut settings = self.settings.lock();
        let mut next = settings.clone();
        change(&mut next);
        if self.config.read().is_some() {
            match build(&next) {
                Ok(config) => *self.config.write() = Some(config),
                Err(why) => {
                    tracing::warn!("Failed to update TLS configuration: {why}");
                    return Err(RELOAD_FAILED.into());
                }
            }
        }
        *settings = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_follow_redis_words() {
        assert_eq!(protocols("").unwrap().len(), 2);
        assert_eq!(protocols("TLSv1.3").unwrap(), vec![&rustls::version::TLS13]);
        assert_eq!(
            protocols("tlsv1.1 TLSv1.2").unwrap(),
            vec![&rustls::version::TLS12]
        );
        assert!(protocols("TLSv1.1").is_err());
        assert!(protocols("TLSv1.4")
            .unwrap_err()
            .starts_with("Invalid tls-protocols"));
    }

    #[test]
    fn cipher_lists_map_openssl_names() {
        let v = select_suites("ECDHE-RSA-AES128-GCM-SHA256:!aNULL", false, "tls-ciphers").unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].suite(),
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.suite()
        );
        assert_eq!(select_suites("", false, "tls-ciphers").unwrap().len(), 6);
        assert_eq!(select_suites("HIGH", true, "x").unwrap().len(), 3);
        assert!(select_suites("RC4-MD5", false, "tls-ciphers").is_err());
        // A TLS 1.3 name in the TLS 1.2 list is not accepted.
        assert!(select_suites("TLS_AES_128_GCM_SHA256", false, "tls-ciphers").is_err());
        assert_eq!(
            select_suites("TLS_AES_128_GCM_SHA256", true, "tls-ciphersuites")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn settings_round_trip_and_defaults_match_redis() {
        let mut s = TlsSettings::default();
        assert_eq!(s.get("tls-auth-clients").unwrap(), "yes");
        assert_eq!(s.get("tls-session-cache-size").unwrap(), "20480");
        assert_eq!(s.get("tls-session-cache-timeout").unwrap(), "300");
        assert!(s.set("tls-auth-clients", "optional").unwrap());
        assert_eq!(s.get("tls-auth-clients").unwrap(), "optional");
        assert!(s.set("tls-auth-clients", "maybe").is_err());
        assert!(!s.set("port", "1").unwrap());
        for d in DIRECTIVES {
            assert!(s.get(d).is_some(), "{d}");
        }
    }

    #[test]
    fn build_names_what_is_missing() {
        let mut s = TlsSettings::default();
        assert_eq!(build(&s).unwrap_err(), "No tls-cert-file configured!");
        s.cert_file = "/nonexistent/cert.pem".into();
        s.key_file = "/nonexistent/key.pem".into();
        assert!(build(&s)
            .unwrap_err()
            .starts_with("Either tls-ca-cert-file"));
        s.auth_clients = AuthClients::No;
        assert!(build(&s)
            .unwrap_err()
            .starts_with("Failed to load certificate"));
    }
}
