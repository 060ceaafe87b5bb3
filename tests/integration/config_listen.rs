//! CONFIG SET `bind`/`port` at runtime (every loop's listeners move; a failure keeps the old
//! ones and rolls the whole command back), CONFIG GET with several arguments and hidden
//! parameters, and Redis's "CONFIG sanity" (every parameter set to its own value) — compared
//! with a real redis-server 7.0 where one is installed.

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::common::{err, free_port, ok, ping, run, Server};

/// The name → value map a CONFIG GET returns (RESP2: a flat array).
fn config_get(c: &mut redis::Connection, args: &[&str]) -> Vec<(String, String)> {
    let mut cmd = vec!["CONFIG", "GET"];
    cmd.extend_from_slice(args);
    let flat: Vec<String> = redis::from_redis_value(&ok(c, &cmd)).expect("a flat array");
    flat.chunks(2)
        .map(|kv| (kv[0].clone(), kv[1].clone()))
        .collect()
}

fn get_one(c: &mut redis::Connection, name: &str) -> String {
    config_get(c, &[name])
        .pop()
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// Whether a connection to `port` is refused, waiting up to 2 s: the other loops close their
/// old listeners as soon as they read their inbox, just after the command ran.
fn refused_soon(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sets `port` to a free port (retrying if another process took it meanwhile); returns it.
fn move_to_free_port(c: &mut redis::Connection) -> u16 {
    for _ in 0..5 {
        let port = free_port();
        if run(c, &["CONFIG", "SET", "port", &port.to_string()]).is_ok() {
            return port;
        }
    }
    panic!("no free port could be listened on");
}

#[test]
fn config_set_port_moves_every_loop_listener() {
    let s = Server::start(&["--threads", "3"]);
    let mut c = s.conn();
    let new_port = move_to_free_port(&mut c);
    // The connection that asked stays, as in Redis.
    assert_eq!(
        ok(&mut c, &["PING"]),
        redis::Value::SimpleString("PONG".into())
    );
    assert_eq!(get_one(&mut c, "port"), new_port.to_string());
    let info: String = redis::from_redis_value(&ok(&mut c, &["INFO", "server"])).unwrap();
    assert!(info.contains(&format!("tcp_port:{new_port}\r\n")), "{info}");
    assert!(refused_soon(s.port), "the old port still accepts");
    // Every loop listens on the new port: many connections, spread by SO_REUSEPORT, all
    // answered.
    for _ in 0..30 {
        assert!(ping(new_port));
    }
    // And back to another port: the listeners move again.
    let third = move_to_free_port(&mut c);
    assert!(ping(third));
    assert!(refused_soon(new_port));
    // Setting the same port again changes nothing (Redis re-applies only a changed value).
    ok(&mut c, &["CONFIG", "SET", "port", &third.to_string()]);
    for _ in 0..10 {
        assert!(ping(third));
    }
}

/// The reply to a CONFIG SET whose port is held by another socket, and whether it left the
/// other values and the old port alone.
fn held_port_case(s: &Server, held: u16) -> (String, String, String, bool) {
    let mut c = s.conn();
    let before = get_one(&mut c, "maxmemory");
    let e = err(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            "10000001",
            "port",
            &held.to_string(),
            "client-query-buffer-limit",
            "10m",
        ],
    );
    let after = get_one(&mut c, "maxmemory");
    assert_eq!(before, after, "maxmemory was not rolled back");
    let limit = get_one(&mut c, "client-query-buffer-limit");
    let port = get_one(&mut c, "port");
    assert_eq!(port, s.port.to_string());
    // A bad bind address: Redis's other apply error; still reachable on the old port.
    let bind_err = err(&mut c, &["CONFIG", "SET", "bind", "192.0.2.1"]);
    (e, bind_err, limit, ping(s.port))
}

#[test]
fn config_set_port_held_elsewhere_fails_and_changes_nothing() {
    // A plain listener (no SO_REUSEPORT) holds the port, as the suite's dummy server does.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap().port();
    let ours = held_port_case(&Server::start(&["--threads", "2"]), held);
    assert_eq!(
        ours.0,
        "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs."
    );
    assert_eq!(
        ours.1,
        "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses."
    );
    assert!(ours.3, "the old port no longer answers");
    if let Some(redis) = Server::start_redis() {
        assert_eq!(held_port_case(&redis, held), ours);
    }
}

#[test]
fn config_set_bind_rebinds_and_skips_optional_addresses() {
    let run_case = |s: &Server| {
        let mut c = s.conn();
        // 192.0.2.1 (TEST-NET-1) is no address of this host: optional, so skipped.
        let set = run(&mut c, &["CONFIG", "SET", "bind", "127.0.0.1 -192.0.2.1"]);
        let shown = get_one(&mut c, "bind");
        let too_many = err(
            &mut c,
            &["CONFIG", "SET", "bind", "a b c d e f g h i j k l m n o p q"],
        );
        (set.is_ok(), shown, too_many, ping(s.port))
    };
    let s = Server::start(&["--threads", "2"]);
    let ours = run_case(&s);
    assert_eq!(
        ours,
        (
            true,
            "127.0.0.1 -192.0.2.1".to_string(),
            "ERR CONFIG SET failed (possibly related to argument 'bind') - Too many bind addresses specified.".to_string(),
            true
        )
    );
    for _ in 0..20 {
        assert!(ping(s.port));
    }
    if let Some(redis) = Server::start_redis() {
        assert_eq!(run_case(&redis), ours);
    }
}

#[test]
fn config_get_several_arguments_and_hidden_parameters() {
    let case = |s: &Server| {
        let mut c = s.conn();
        let as_map = |v: Vec<(String, String)>| -> HashMap<String, String> {
            let n = v.len();
            let m: HashMap<String, String> = v.into_iter().collect();
            assert_eq!(m.len(), n, "a name was listed twice");
            m
        };
        // Names as asked (aliases too), each once; a name matched again by a pattern, in any
        // case, is not repeated.
        let aliases = as_map(config_get(&mut c, &["slaveof", "replicaof", "*of"]));
        let cased = as_map(config_get(
            &mut c,
            &["MAXMEMORY", "maxmemory", "maxmemory-s*"],
        ));
        let mut mixed: Vec<String> = as_map(config_get(
            &mut c,
            &["maxmemory", "maxmemory*", "bind", "*of"],
        ))
        .into_keys()
        .collect();
        mixed.sort();
        // Hidden: never for a pattern, always for the exact name.
        let all = as_map(config_get(&mut c, &["*"]));
        let hidden = [
            "key-load-delay",
            "rdb-key-save-delay",
            "watchdog-period",
            "use-exit-on-panic",
            "loading-process-events-interval-bytes",
        ];
        let listed: Vec<&str> = hidden
            .iter()
            .copied()
            .filter(|h| all.contains_key(*h))
            .collect();
        let exact = as_map(config_get(&mut c, &hidden));
        let by_pattern = config_get(&mut c, &["key-load*"]);
        (aliases, cased, mixed, listed, exact, by_pattern)
    };
    let ours = case(&Server::start(&[]));
    assert_eq!(ours.0.len(), 2);
    assert!(ours.3.is_empty(), "hidden listed for *: {:?}", ours.3);
    assert_eq!(ours.4.len(), 5);
    assert!(ours.5.is_empty());
    // ferrokv's own parameters are hidden too: `CONFIG GET *` lists Redis's set.
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let all: Vec<String> = config_get(&mut c, &["*"])
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(!all
        .iter()
        .any(|k| k == "threads" || k.starts_with("proxy-protocol")));
    assert_eq!(get_one(&mut c, "threads"), "2");
    if let Some(redis) = Server::start_redis() {
        assert_eq!(case(&redis), ours);
    }
}

/// Redis's "CONFIG sanity": every parameter `CONFIG GET *` lists, but the ones that suite
/// skips, can be set to its own value, and reads back the same.
#[test]
fn every_parameter_can_be_set_to_its_own_value() {
    #[rustfmt::skip]
    const SKIP: &[&str] = &[
        "rdbchecksum", "daemonize", "io-threads-do-reads", "tcp-backlog", "always-show-logo",
        "syslog-enabled", "cluster-enabled", "disable-thp", "aclfile", "unixsocket", "pidfile",
        "syslog-ident", "appendfilename", "appenddirname", "supervised", "syslog-facility",
        "databases", "io-threads", "logfile", "unixsocketperm", "replicaof", "slaveof",
        "requirepass", "server_cpulist", "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist",
        "set-proc-title", "cluster-config-file", "cluster-port", "oom-score-adj",
        "oom-score-adj-values", "enable-protected-configs", "enable-debug-command",
        "enable-module-command", "dbfilename", "dir", "socket-mark-id",
        // Without TLS, as the suite's non-TLS run.
        "tls-prefer-server-ciphers", "tls-session-cache-timeout", "tls-session-cache-size",
        "tls-session-caching", "tls-cert-file", "tls-key-file", "tls-client-cert-file",
        "tls-client-key-file", "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir",
        "tls-protocols", "tls-ciphers", "tls-ciphersuites", "tls-port",
    ];
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let before: Vec<(String, String)> = config_get(&mut c, &["*"])
        .into_iter()
        .filter(|(k, _)| !SKIP.contains(&k.as_str()))
        .collect();
    assert!(before.iter().any(|(k, _)| k == "bind"));
    assert!(before.iter().any(|(k, _)| k == "port"));
    for (k, v) in &before {
        if let Err(e) = run(&mut c, &["CONFIG", "SET", k, v]) {
            panic!("CONFIG SET {k} {v:?}: {e}");
        }
    }
    let after: HashMap<String, String> = config_get(&mut c, &["*"]).into_iter().collect();
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k}");
    }
    for _ in 0..10 {
        assert!(ping(s.port));
    }
}
