//! TLS (`tls-port`, rustls in the server) against the real binary, with certificates the test
//! makes with the `openssl` CLI (a CA, a server certificate for 127.0.0.1/localhost, a second
//! one for the reload test, a client certificate): redis-cli, redis-benchmark and
//! `openssl s_client` as real clients, a rustls client for persistent connections; stalled and
//! garbage handshakes; CONFIG GET/SET; PROXY protocol in front of TLS; many clients, half TLS.
//! Skipped (with a message) when `openssl` or the redis tools are missing.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::common::{free_port, Server};

/// The certificates, made once per test process.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg(if tool == "openssl" {
            "version"
        } else {
            "--version"
        })
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("TLS test skipped: {tool} not found");
    }
    ok
}

fn openssl(dir: &PathBuf, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// CA, `server` (CN server1), `server2` (CN server2), `client`: P-256 keys (fast to make and
/// to use), certificates signed by the CA, the server ones for 127.0.0.1 and localhost.
fn certs() -> Option<&'static Certs> {
    static CERTS: OnceLock<Option<Certs>> = OnceLock::new();
    CERTS
        .get_or_init(|| {
            if !have("openssl") {
                return None;
            }
            let dir = crate::common::temp_file("tls-certs");
            std::fs::create_dir_all(&dir).unwrap();
            let ec = [
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ];
            let mut ca = vec!["req", "-x509"];
            ca.extend_from_slice(&ec);
            ca.extend_from_slice(&[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=ferrokv-test-ca",
            ]);
            openssl(&dir, &ca);
            std::fs::write(
                dir.join("ext.cnf"),
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
                 extendedKeyUsage=serverAuth,clientAuth\n",
            )
            .unwrap();
            for (name, cn) in [
                ("server", "/CN=server1"),
                ("server2", "/CN=server2"),
                ("client", "/CN=client"),
            ] {
                let (key, csr, crt) = (
                    format!("{name}.key"),
                    format!("{name}.csr"),
                    format!("{name}.crt"),
                );
                let mut req = vec!["req", "-new"];
                req.extend_from_slice(&ec);
                req.extend_from_slice(&["-keyout", &key, "-out", &csr, "-subj", cn]);
                openssl(&dir, &req);
                openssl(
                    &dir,
                    &[
                        "x509",
                        "-req",
                        "-in",
                        &csr,
                        "-CA",
                        "ca.crt",
                        "-CAkey",
                        "ca.key",
                        "-CAcreateserial",
                        "-out",
                        &crt,
                        "-days",
                        "2",
                        "-extfile",
                        "ext.cnf",
                    ],
                );
            }
            Some(Certs { dir })
        })
        .as_ref()
}

/// A ferrokv with a plain port and a TLS port (both picked free a moment before; tried again
/// on fresh ports if one was taken meanwhile) and the test certificates.
fn start(c: &Certs, extra: &[&str]) -> (Server, u16) {
    for attempt in 1..=3 {
        let (port, tls_port) = (free_port().to_string(), free_port().to_string());
        let (cert, key, ca) = (c.path("server.crt"), c.path("server.key"), c.path("ca.crt"));
        let mut flags = vec![
            "--port",
            &port,
            "--tls-port",
            &tls_port,
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca,
        ];
        flags.extend_from_slice(extra);
        match std::panic::catch_unwind(|| Server::start(&flags)) {
            Ok(s) => return (s, tls_port.parse().unwrap()),
            Err(_) if attempt < 3 => continue,
            Err(e) => std::panic::resume_unwind(e),
        }
    }
    unreachable!()
}

/// redis-cli over TLS (with the client certificate unless `cert` is false): its stdout and
/// whether it succeeded.
fn cli(c: &Certs, port: u16, cert: bool, args: &[&str]) -> (String, bool) {
    let mut cmd = Command::new("redis-cli");
    cmd.args([
        "-p",
        &port.to_string(),
        "--tls",
        "--cacert",
        &c.path("ca.crt"),
    ]);
    if cert {
        cmd.args([
            "--cert",
            &c.path("client.crt"),
            "--key",
            &c.path("client.key"),
        ]);
    }
    let out = cmd.args(args).output().expect("run redis-cli");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let ok = out.status.success() && !text.contains("Error") && !text.contains("closed");
    (text.trim().to_string(), ok)
}

/// A rustls client connection (blocking, 5 s timeouts).
struct TlsClient {
    s: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

fn client_config(c: &Certs, cert: bool) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(c.path("ca.crt")).unwrap() {
        roots.add(ca.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(if cert {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(c.path("client.crt"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(c.path("client.key")).unwrap();
        b.with_client_auth_cert(chain, key).unwrap()
    } else {
        b.with_no_client_auth()
    })
}

impl TlsClient {
    /// Connects, sends `preamble` raw (a PROXY header), and completes the handshake.
    fn connect(port: u16, config: Arc<rustls::ClientConfig>, preamble: &[u8]) -> io::Result<Self> {
        TlsClient::over(TcpStream::connect(("127.0.0.1", port))?, config, preamble)
    }

    /// [`TlsClient::connect`] over a connected socket.
    fn over(
        mut sock: TcpStream,
        config: Arc<rustls::ClientConfig>,
        preamble: &[u8],
    ) -> io::Result<Self> {
        sock.set_read_timeout(Some(Duration::from_secs(5)))?;
        sock.set_write_timeout(Some(Duration::from_secs(5)))?;
        sock.write_all(preamble)?;
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)?;
        }
        Ok(TlsClient {
            s: rustls::StreamOwned::new(conn, sock),
        })
    }

    /// Sends `req` (RESP) and reads one reply: a line, or a bulk string's line and payload.
    fn call(&mut self, req: &[u8]) -> io::Result<String> {
        self.s.write_all(req)?;
        self.s.flush()?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> io::Result<String> {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n") {
            if self.s.read(&mut byte)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            got.push(byte[0]);
        }
        if got[0] == b'$' {
            let len: i64 = String::from_utf8_lossy(&got[1..got.len() - 2])
                .parse()
                .unwrap();
            if len >= 0 {
                let mut body = vec![0u8; len as usize + 2];
                self.s.read_exact(&mut body)?;
                got.extend_from_slice(&body);
            }
        }
        Ok(String::from_utf8_lossy(&got).into_owned())
    }

    /// The server's leaf certificate (DER).
    fn server_cert(&self) -> Vec<u8> {
        self.s.conn.peer_certificates().unwrap()[0].to_vec()
    }
}

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

#[test]
fn redis_cli_over_tls_and_the_plain_port_at_once() {
    let Some(c) = certs().filter(|_| have("redis-cli")) else {
        return;
    };
    let (s, tls) = start(c, &["--threads", "2"]);
    assert_eq!(
        cli(c, tls, true, &["SET", "k", "over tls"]),
        ("OK".into(), true)
    );
    assert_eq!(cli(c, tls, true, &["GET", "k"]), ("over tls".into(), true));
    assert_eq!(cli(c, tls, true, &["INCR", "n"]), ("1".into(), true));
    // The plain port serves the same data meanwhile.
    let mut plain = s.conn();
    assert_eq!(
        crate::common::ok(&mut plain, &["GET", "k"]),
        crate::common::bulk("over tls")
    );
    // A pipelined batch over TLS: every reply, in order.
    let mut t = TlsClient::connect(tls, client_config(c, true), b"").unwrap();
    let mut batch = Vec::new();
    for i in 0..100 {
        batch.extend_from_slice(
            format!(
                "*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n${}\r\n{i}\r\n",
                i.to_string().len()
            )
            .as_bytes(),
        );
    }
    t.s.write_all(&batch).unwrap();
    for i in 1..=100 {
        assert_eq!(t.read_reply().unwrap(), format!(":{i}\r\n"));
    }
    // CLIENT INFO / LIST of a TLS client work as for a plain one.
    let info = t.call(b"*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n").unwrap();
    assert!(
        info.contains("addr=127.0.0.1:") && info.contains("cmd=client|info"),
        "{info}"
    );
    let list = t.call(b"*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n").unwrap();
    assert!(list.matches("id=").count() >= 2, "{list}");
    // A large value crosses many TLS records both ways.
    let big = "x".repeat(300_000);
    let set = format!(
        "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n{big}\r\n",
        big.len()
    );
    assert_eq!(t.call(set.as_bytes()).unwrap(), "+OK\r\n");
    let got = t.call(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n").unwrap();
    assert_eq!(got.len(), big.len() + "$300000\r\n\r\n".len());
}

#[test]
fn tls_auth_clients_yes_requires_a_certificate_optional_and_no_do_not() {
    let Some(c) = certs().filter(|_| have("redis-cli")) else {
        return;
    };
    let (s, tls) = start(c, &[]);
    let mut admin = s.conn();
    assert_eq!(
        crate::common::ok(&mut admin, &["CONFIG", "GET", "tls-auth-clients"]),
        redis::Value::Array(vec![
            crate::common::bulk("tls-auth-clients"),
            crate::common::bulk("yes")
        ])
    );
    // Default `yes`: the handshake fails without a client certificate.
    assert!(!cli(c, tls, false, &["PING"]).1);
    let mut no_cert = TlsClient::connect(tls, client_config(c, false), b"");
    let refused = match &mut no_cert {
        Err(_) => true,
        Ok(t) => t.call(PING).is_err(),
    };
    assert!(refused, "a client without a certificate was served");
    assert_eq!(cli(c, tls, true, &["PING"]), ("PONG".into(), true));
    for mode in ["optional", "no"] {
        crate::common::ok(&mut admin, &["CONFIG", "SET", "tls-auth-clients", mode]);
        assert_eq!(
            cli(c, tls, false, &["PING"]),
            ("PONG".into(), true),
            "{mode}"
        );
        assert_eq!(
            cli(c, tls, true, &["PING"]),
            ("PONG".into(), true),
            "{mode}"
        );
    }
    assert_eq!(
        crate::common::err(&mut admin, &["CONFIG", "SET", "tls-auth-clients", "maybe"]),
        "ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s) \
         must be one of the following: no, yes, optional"
    );
}

/// `openssl s_client` with `version` (`-tls1_2`, `-tls1_3`): whether the handshake succeeded
/// and PING got PONG.
fn s_client(c: &Certs, port: u16, version: &str) -> bool {
    // `timeout`: a hung s_client must fail the test, not stall it.
    let mut child = Command::new("timeout")
        .args([
            "10",
            "openssl",
            "s_client",
            version,
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-CAfile",
            &c.path("ca.crt"),
            "-cert",
            &c.path("client.crt"),
            "-key",
            &c.path("client.key"),
            "-quiet",
            "-no_ign_eof",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run openssl s_client");
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"PING\r\n");
    // s_client exits at EOF on its stdin; give the reply a moment first.
    std::thread::sleep(Duration::from_millis(300));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains("+PONG")
}

#[test]
fn tls_protocols_tls13_only_refuses_a_tls12_client() {
    let Some(c) = certs() else {
        return;
    };
    let (s, tls) = start(c, &["--tls-protocols", "TLSv1.3"]);
    assert!(s_client(c, tls, "-tls1_3"), "TLSv1.3 client refused");
    assert!(!s_client(c, tls, "-tls1_2"), "TLSv1.2 client served");
    // Both by default.
    let mut admin = s.conn();
    crate::common::ok(
        &mut admin,
        &["CONFIG", "SET", "tls-protocols", "TLSv1.2 TLSv1.3"],
    );
    assert!(s_client(c, tls, "-tls1_2"));
    assert_eq!(
        crate::common::err(&mut admin, &["CONFIG", "SET", "tls-protocols", "TLSv1.4"]),
        "ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to \
         update TLS configuration. Check server logs."
    );
    assert_eq!(
        crate::common::err(&mut admin, &["CONFIG", "SET", "tls-ciphers", "RC4-MD5"]),
        "ERR CONFIG SET failed (possibly related to argument 'tls-ciphers') - Unable to \
         update TLS configuration. Check server logs."
    );
    // The failed changes left the previous configuration in place.
    assert!(s_client(c, tls, "-tls1_2"));
}

#[test]
fn redis_benchmark_over_tls_completes() {
    let Some(c) = certs().filter(|_| have("redis-benchmark")) else {
        return;
    };
    let (s, tls) = start(c, &["--threads", "2"]);
    for pipeline in ["1", "16"] {
        let out = Command::new("redis-benchmark")
            .args([
                "-p",
                &tls.to_string(),
                "--tls",
                "--cacert",
                &c.path("ca.crt"),
            ])
            .args([
                "--cert",
                &c.path("client.crt"),
                "--key",
                &c.path("client.key"),
            ])
            .args([
                "-n", "2000", "-c", "10", "-P", pipeline, "-t", "set,get", "--csv",
            ])
            .output()
            .expect("run redis-benchmark");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("\"SET\"") && text.contains("\"GET\""),
            "{text}"
        );
    }
    let mut admin = s.conn();
    let stats = crate::common::ok(&mut admin, &["INFO", "commandstats"]);
    let redis::Value::BulkString(stats) = stats else {
        panic!("INFO reply")
    };
    let stats = String::from_utf8_lossy(&stats);
    for cmd in ["set", "get"] {
        let calls: u64 = stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert_eq!(calls, 4000, "{cmd}: {stats}");
    }
    assert_eq!(
        crate::common::ok(&mut admin, &["STRLEN", "key:__rand_int__"]),
        redis::Value::Int(3)
    );
}

#[test]
fn a_stalled_handshake_blocks_nobody_and_is_closed_after_the_timeout() {
    let Some(c) = certs() else {
        return;
    };
    let (_s, tls) = start(c, &["--tls-handshake-timeout", "700", "--threads", "1"]);
    // One peer sends nothing, one half a ClientHello (a record header announcing 512 bytes
    // and a few of them).
    let mut silent = TcpStream::connect(("127.0.0.1", tls)).unwrap();
    let mut half = TcpStream::connect(("127.0.0.1", tls)).unwrap();
    half.write_all(&[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ])
    .unwrap();
    let started = Instant::now();
    // Others are served meanwhile, on the same (single) loop.
    let mut t = TlsClient::connect(tls, client_config(c, true), b"").unwrap();
    assert_eq!(t.call(PING).unwrap(), "+PONG\r\n");
    assert!(started.elapsed() < Duration::from_millis(600));
    for peer in [&mut silent, &mut half] {
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 64];
        let closed = matches!(peer.read(&mut buf), Ok(0) | Err(_));
        assert!(closed, "stalled handshake not closed");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(600) && waited < Duration::from_secs(3),
            "closed after {waited:?}"
        );
    }
    // The finished connection is untouched by the timeout.
    assert_eq!(t.call(PING).unwrap(), "+PONG\r\n");
}

#[test]
fn garbage_on_the_tls_port_closes_only_that_connection() {
    let Some(c) = certs() else {
        return;
    };
    let (_s, tls) = start(c, &["--threads", "1"]);
    let mut t = TlsClient::connect(tls, client_config(c, true), b"").unwrap();
    let mut seed = 0x9e3779b97f4a7c15u64;
    for round in 0..4 {
        let mut junk = TcpStream::connect(("127.0.0.1", tls)).unwrap();
        junk.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let bytes: Vec<u8> = (0..4096)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        // Round 0 is plain RESP sent to the TLS port; the others random bytes, one starting
        // like a handshake record.
        let bytes = match round {
            0 => PING.to_vec(),
            1 => [&[0x16u8, 0x03, 0x01, 0x00, 0x40][..], &bytes].concat(),
            _ => bytes,
        };
        let _ = junk.write_all(&bytes);
        let mut buf = [0u8; 256];
        let mut closed = false;
        for _ in 0..8 {
            match junk.read(&mut buf) {
                Ok(0) | Err(_) => {
                    closed = true;
                    break;
                }
                Ok(_) => continue, // an alert
            }
        }
        assert!(closed, "round {round}: garbage connection kept open");
        assert_eq!(t.call(PING).unwrap(), "+PONG\r\n", "round {round}");
    }
}

#[test]
fn config_set_tls_cert_file_is_used_by_the_next_connection() {
    let Some(c) = certs() else {
        return;
    };
    let (s, tls) = start(c, &[]);
    let der = |name: &str| {
        use rustls_pki_types::pem::PemObject;
        rustls_pki_types::CertificateDer::from_pem_file(c.path(name))
            .unwrap()
            .to_vec()
    };
    let mut before = TlsClient::connect(tls, client_config(c, true), b"").unwrap();
    assert_eq!(before.server_cert(), der("server.crt"));
    let mut admin = s.conn();
    crate::common::ok(
        &mut admin,
        &[
            "CONFIG",
            "SET",
            "tls-cert-file",
            &c.path("server2.crt"),
            "tls-key-file",
            &c.path("server2.key"),
        ],
    );
    let mut after = TlsClient::connect(tls, client_config(c, true), b"").unwrap();
    assert_eq!(after.server_cert(), der("server2.crt"));
    assert_eq!(after.call(PING).unwrap(), "+PONG\r\n");
    // The connection made before keeps working.
    assert_eq!(before.call(PING).unwrap(), "+PONG\r\n");
    assert_eq!(
        crate::common::ok(&mut admin, &["CONFIG", "GET", "tls-cert-file"]),
        redis::Value::Array(vec![
            crate::common::bulk("tls-cert-file"),
            crate::common::bulk(&c.path("server2.crt"))
        ])
    );
    // A missing file: Redis's error, nothing changes.
    assert_eq!(
        crate::common::err(
            &mut admin,
            &["CONFIG", "SET", "tls-cert-file", "/nonexistent.crt"]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to \
         update TLS configuration. Check server logs."
    );
    let mut again = TlsClient::connect(tls, client_config(c, true), b"").unwrap();
    assert_eq!(again.server_cert(), der("server2.crt"));
    assert_eq!(again.call(PING).unwrap(), "+PONG\r\n");
}

#[test]
fn bad_tls_files_stop_the_start_up_with_a_clear_line() {
    let Some(c) = certs() else {
        return;
    };
    let port = free_port().to_string();
    let out = crate::common::run_to_exit(&[
        "--port",
        "0",
        "--tls-port",
        &port,
        "--tls-cert-file",
        "/nonexistent/server.crt",
        "--tls-key-file",
        &c.path("server.key"),
        "--tls-ca-cert-file",
        &c.path("ca.crt"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Failed to configure TLS") && err.contains("/nonexistent/server.crt"),
        "{err}"
    );
    // No CA while client certificates are required: Redis's message.
    let out = crate::common::run_to_exit(&[
        "--tls-port",
        &port,
        "--tls-cert-file",
        &c.path("server.crt"),
        "--tls-key-file",
        &c.path("server.key"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Either tls-ca-cert-file or tls-ca-cert-dir must be specified"),
        "{err}"
    );
}

#[test]
fn only_a_tls_port_with_port_0() {
    let Some(c) = certs().filter(|_| have("redis-cli")) else {
        return;
    };
    let tls = free_port();
    let t = tls.to_string();
    let (cert, key, ca) = (c.path("server.crt"), c.path("server.key"), c.path("ca.crt"));
    let s = Server::start_listening(&[
        "--port",
        "0",
        "--tls-port",
        &t,
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
    ]);
    // Listening once the port line is out: TLS answers, and nothing plain listens.
    assert_eq!(s.port, 0);
    assert_eq!(cli(c, tls, true, &["PING"]), ("PONG".into(), true));
    assert_eq!(
        cli(c, tls, true, &["CONFIG", "GET", "port"]),
        ("port\n0".into(), true)
    );
}

#[test]
fn a_proxy_header_in_front_of_tls_names_the_client() {
    let Some(c) = certs() else {
        return;
    };
    // The balancer is 127.0.0.2 (the harness's PING comes from 127.0.0.1, directly).
    let (_s, tls) = start(
        c,
        &[
            "--proxy-protocol",
            "yes",
            "--proxy-protocol-trusted-sources",
            "127.0.0.2",
            "--protected-mode",
            "no",
        ],
    );
    let header = format!("PROXY TCP4 10.1.2.3 127.0.0.1 5555 {tls}\r\n");
    let sock = crate::common::connect_from("127.0.0.2", tls);
    let mut t = TlsClient::over(sock, client_config(c, true), header.as_bytes()).unwrap();
    let info = t.call(b"*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n").unwrap();
    assert!(info.contains("addr=10.1.2.3:5555"), "{info}");
    // A v2 header split from the ClientHello's first bytes in one write works the same.
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    v2.extend_from_slice(&[0x21, 0x11, 0, 12, 10, 9, 8, 7, 127, 0, 0, 1, 0x1f, 0x90]);
    v2.extend_from_slice(&tls.to_be_bytes());
    let sock = crate::common::connect_from("127.0.0.2", tls);
    let mut t = TlsClient::over(sock, client_config(c, true), &v2).unwrap();
    let info = t.call(b"*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n").unwrap();
    assert!(info.contains("addr=10.9.8.7:8080"), "{info}");
    // From the balancer without the header, the ClientHello is no PROXY header: closed.
    let sock = crate::common::connect_from("127.0.0.2", tls);
    assert!(TlsClient::over(sock, client_config(c, true), b"")
        .and_then(|mut t| t.call(PING))
        .is_err());
    // A direct client (untrusted source) speaks TLS straight away.
    let mut direct = TlsClient::connect(tls, client_config(c, true), b"").unwrap();
    assert_eq!(direct.call(PING).unwrap(), "+PONG\r\n");
}

#[test]
fn config_get_tls_defaults_match_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("TLS differential skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&[]);
    let get = |s: &Server| -> Vec<(String, String)> {
        let mut c = s.conn();
        let v: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("tls-*")
            .query(&mut c)
            .unwrap();
        let mut pairs: Vec<(String, String)> =
            v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
        pairs.sort();
        pairs
    };
    let theirs = get(&redis);
    let mine: Vec<(String, String)> = get(&ours)
        .into_iter()
        .filter(|(k, _)| k != "tls-handshake-timeout")
        .collect();
    assert_eq!(mine, theirs);
}

/// The open-files need of `clients` connections on both ends plus the test's own.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Fault test: `FERROKV_TLS_FAULT_CLIENTS` clients (default 1000; `make fault-test` runs
/// 10 000), half of them TLS (client certificates verified), all connected at once; each
/// sends a command and checks its reply. The server's RSS growth stays under 64 KiB per client
/// and every client is served.
#[test]
fn many_clients_half_tls_are_all_served_within_memory() {
    let Some(c) = certs() else {
        return;
    };
    let n: usize = std::env::var("FERROKV_TLS_FAULT_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    crate::common::raise_fd_limit(2 * n as u64 + 512);
    let maxclients = (n + 100).to_string();
    let (s, tls) = start(c, &["--threads", "2", "--maxclients", &maxclients]);
    let base = rss_kib(s.pid());
    let config = client_config(c, true);
    let started = Instant::now();
    let mut plain: Vec<TcpStream> = Vec::with_capacity(n / 2);
    let mut secure: Vec<TlsClient> = Vec::with_capacity(n / 2);
    for i in 0..n {
        if i % 2 == 0 {
            let p = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
            p.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            plain.push(p);
        } else {
            secure.push(TlsClient::connect(tls, config.clone(), b"").unwrap());
        }
    }
    let connected = started.elapsed();
    // Every client sends, then every reply is read: all n are open and pending at once.
    let req = |i: usize| {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
            k.len(),
            v.len()
        )
    };
    for (i, p) in plain.iter_mut().enumerate() {
        p.write_all(req(2 * i).as_bytes()).unwrap();
    }
    for (i, t) in secure.iter_mut().enumerate() {
        t.s.write_all(req(2 * i + 1).as_bytes()).unwrap();
        t.s.flush().unwrap();
    }
    let mut served = 0;
    for p in &mut plain {
        let mut buf = [0u8; 5];
        p.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"+OK\r\n");
        served += 1;
    }
    for t in &mut secure {
        assert_eq!(t.read_reply().unwrap(), "+OK\r\n");
        served += 1;
    }
    let peak = rss_kib(s.pid());
    let mut admin = s.conn();
    let dbsize = crate::common::ok(&mut admin, &["DBSIZE"]);
    let info = crate::common::ok(&mut admin, &["INFO", "clients"]);
    let redis::Value::BulkString(info) = info else {
        panic!("INFO reply")
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    println!(
        "{n} clients ({} TLS): connected in {connected:?}, all served in {:?}; server RSS \
         {base} KiB before, {peak} KiB with all connected ({} KiB/client); {}",
        secure.len(),
        started.elapsed(),
        (peak.saturating_sub(base)) / n as u64,
        info.lines()
            .find(|l| l.starts_with("connected_clients"))
            .unwrap_or("")
    );
    assert_eq!(served, n);
    assert_eq!(dbsize, redis::Value::Int(n as i64));
    assert!(
        info.contains(&format!("connected_clients:{}", n + 1)),
        "{info}"
    );
    let bound = 64 * n as u64;
    assert!(
        peak.saturating_sub(base) < bound,
        "RSS grew {} KiB for {n} clients (bound {bound} KiB)",
        peak - base
    );
}

/// Protected mode on the TLS port: as Redis (its clientAcceptHandler runs after the
/// handshake), the client gets the same `-DENIED ...` line as on the plain port, over TLS,
/// then the connection closes; loopback clients are served.
#[test]
fn protected_mode_turns_tls_clients_away_with_redis_s_text() {
    let Some(c) = certs() else {
        return;
    };
    let (s, tls) = start(c, &[]);
    // The plain port's text, for comparison.
    // (No request: the server closes at once, and unread input would turn that into a reset.)
    let mut plain = crate::common::connect_from("127.0.0.2", s.port);
    let mut expected = String::new();
    plain.read_to_string(&mut expected).unwrap();
    assert!(
        expected.starts_with("-DENIED Redis is running in protected mode"),
        "{expected}"
    );
    let sock = crate::common::connect_from("127.0.0.2", tls);
    let mut t = TlsClient::over(sock, client_config(c, true), b"").unwrap();
    let mut got = Vec::new();
    let _ = t.s.read_to_end(&mut got);
    assert_eq!(String::from_utf8_lossy(&got), expected);
    let mut local = TlsClient::connect(tls, client_config(c, true), b"").unwrap();
    assert_eq!(local.call(PING).unwrap(), "+PONG\r\n");
}
