//! Test harness: starts the real `ferrokv-server` binary (or a real `redis-server`), waits
//! until it answers PING, and stops it on drop.
//!
//! ferrokv is started with `--port 0` and reports the port it bound on stdout, so no two tests
//! can race for a port. redis-server has no such mode (`--port 0` disables TCP there), so it
//! gets a port that was free a moment ago and is restarted on a fresh one if it loses that
//! race.
#![allow(dead_code)]

pub mod splitmix;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a server may take to report its port and to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How many ports a redis-server is tried on before the test gives up.
const REDIS_ATTEMPTS: usize = 5;

/// The line ferrokv prints on stdout once it is listening, followed by the port.
const PORT_LINE: &str = "ferrokv-server listening on port ";

/// A running server process.
pub struct Server {
    pub port: u16,
    child: Child,
    /// ferrokv's stdout (`None` for redis-server), held open for as long as the process runs:
    /// `Drop` kills and reaps the process before the fields drop, so the server never sees a
    /// closed pipe. It prints nothing after the port line, so the pipe cannot fill up.
    _stdout: Option<BufReader<ChildStdout>>,
    /// The process's working directory, made for it alone and removed on drop, so that
    /// whatever a server writes relative to it (`dump.rdb`, `appendonlydir`) never lands in
    /// the source tree or in another test's way.
    cwd: std::path::PathBuf,
}

/// A fresh, empty working directory for one server process.
pub fn fresh_cwd() -> std::path::PathBuf {
    let dir = temp_file("cwd");
    std::fs::create_dir_all(&dir).expect("create the server's working directory");
    dir
}

/// A port that was free a moment ago (it may be taken again before it is used). Only for
/// redis-server, which cannot pick its own port; ferrokv gets `--port 0`.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A path in the temp directory that no other test in this process uses, ending in `name`.
pub fn temp_file(name: &str) -> std::path::PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("ferrokv-test-{}-{n}-{name}", std::process::id()))
}

/// Where a started ferrokv's log goes: FERROKV_TEST_LOG=1 shows it (and any panic) in the test
/// output.
fn server_stderr() -> Stdio {
    if std::env::var_os("FERROKV_TEST_LOG").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    }
}

impl Server {
    /// Starts ferrokv with extra flags (`--port 0` is added; the server reports its port).
    pub fn start(extra: &[&str]) -> Server {
        Server::start_with(extra, |_| {})
    }

    /// Starts ferrokv with extra flags after `configure` adjusted the command (environment,
    /// stderr); stdout belongs to the harness. Unless `extra` sets `--save`, the
    /// server gets `--save ""` so that it writes no `dump.rdb` where the tests run.
    pub fn start_with(extra: &[&str], configure: impl FnOnce(&mut Command)) -> Server {
        let s = Server::spawn(extra, configure);
        if let Err(why) = s.wait_ready() {
            panic!("ferrokv-server on port {}: {why}", s.port);
        }
        s
    }

    /// Starts ferrokv and returns as soon as it listens, without waiting for PING to answer
    /// (it may still be loading its data).
    pub fn start_listening(extra: &[&str]) -> Server {
        Server::spawn(extra, |_| {})
    }

    fn spawn(extra: &[&str], configure: impl FnOnce(&mut Command)) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"));
        // A test that needs a fixed plain port (with `--tls-port`, where `--port 0` means no
        // plain listener, as in Redis) gives its own.
        if !extra.contains(&"--port") {
            cmd.args(["--port", "0"]);
        }
        if !extra.contains(&"--save") {
            cmd.args(["--save", ""]);
        }
        let cwd = fresh_cwd();
        cmd.args(extra).stderr(server_stderr()).current_dir(&cwd);
        configure(&mut cmd);
        cmd.stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn ferrokv-server");
        let (port, stdout) = read_port(&mut child, &cmd);
        Server {
            port,
            child,
            _stdout: Some(stdout),
            cwd,
        }
    }

    /// Starts a real redis-server if one is installed (for differential tests).
    pub fn start_redis() -> Option<Server> {
        Server::start_redis_with(&[])
    }

    /// Starts a real redis-server with extra command-line options (`--name value ...`), if one
    /// is installed. Its port was free a moment before it started; if it was taken meanwhile,
    /// redis-server exits instead of logging that it is ready, and it is started again on a
    /// fresh port, a few times. Only its own log line tells: a PING could be answered by
    /// whichever server took the port, and an extra command would show in its INFO stats.
    /// (So `extra` must not redirect the log with `--logfile`.)
    pub fn start_redis_with(extra: &[&str]) -> Option<Server> {
        // A config file comes first on redis-server's command line.
        let (conf, extra) = match extra.split_first() {
            Some((f, rest)) if !f.starts_with("--") => (Some(*f), rest),
            _ => (None, extra),
        };
        for attempt in 1..=REDIS_ATTEMPTS {
            let port = free_port();
            let cwd = fresh_cwd();
            let mut child = Command::new("redis-server")
                .current_dir(&cwd)
                .args(conf)
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args(extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let ready = watch_redis_log(child.stdout.take().expect("piped stdout"));
            let s = Server {
                port,
                child,
                _stdout: None,
                cwd,
            };
            let outcome = match ready.recv_timeout(START_TIMEOUT) {
                Ok(()) => s.wait_ready(),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    Err("exited without listening (port taken?)".into())
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    Err(format!("not ready within {START_TIMEOUT:?}"))
                }
            };
            match outcome {
                Ok(()) => return Some(s),
                Err(why) => eprintln!(
                    "redis-server on port {port} (attempt {attempt} of {REDIS_ATTEMPTS}): {why}"
                ),
            }
        }
        panic!("redis-server did not start on any of {REDIS_ATTEMPTS} ports (see above)");
    }

    /// Waits until the port answers PING.
    pub fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if ping(self.port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("no PONG within {START_TIMEOUT:?}"))
    }

    /// The server process id (for reading `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A `redis` crate connection.
    pub fn conn(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("client");
        let c = client.get_connection().expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(10))).ok();
        c
    }

    /// A raw TCP connection for protocol-level tests.
    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        Raw { s }
    }

    /// Sends SIGTERM and waits for exit; returns the exit status code.
    pub fn terminate(mut self) -> Option<i32> {
        unsafe_kill(self.child.id(), 15);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Reads ferrokv's port line from its stdout, within [`START_TIMEOUT`]; panics (after killing
/// the process) if the process exits first, prints something else or prints nothing.
fn read_port(child: &mut Child, cmd: &Command) -> (u16, BufReader<ChildStdout>) {
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    // A blocking read on a helper thread, so that the deadline holds; the thread hands the
    // reader back so the pipe stays open.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let _ = tx.send((read.map(|_| line), stdout));
    });
    let failure = match rx.recv_timeout(START_TIMEOUT) {
        Ok((Ok(line), stdout)) => {
            if let Some(port) = line
                .strip_suffix('\n')
                .and_then(|l| l.strip_prefix(PORT_LINE))
                .and_then(|p| p.parse::<u16>().ok())
            {
                return (port, stdout);
            }
            if line.is_empty() {
                // EOF: the process closed stdout, so it exited (or is about to).
                let deadline = Instant::now() + Duration::from_secs(5);
                let status = loop {
                    match child.try_wait() {
                        Ok(Some(status)) => break status.to_string(),
                        _ if Instant::now() > deadline => break "still running".into(),
                        _ => std::thread::sleep(Duration::from_millis(20)),
                    }
                };
                format!("exited ({status}) before reporting its port")
            } else {
                format!("printed {line:?} instead of its port")
            }
        }
        Ok((Err(e), _)) => format!("reading its stdout failed: {e}"),
        Err(_) => format!("did not report its port within {START_TIMEOUT:?}"),
    };
    let _ = child.kill();
    let _ = child.wait();
    panic!("{cmd:?} {failure}; FERROKV_TEST_LOG=1 shows its log");
}

/// Reads redis-server's log (its stdout) on a helper thread until EOF, so that the pipe never
/// fills; the receiver gets `()` once redis logs that it is ready (it has bound its port), and
/// is disconnected if the process closes its stdout (exits) before that.
fn watch_redis_log(stdout: ChildStdout) -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("Ready to accept connections") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
            }
        }
    });
    rx
}

/// True when `port` answers PING with PONG.
/// Whether a server on `port` is up: PING answers PONG, or -NOAUTH (a password is set);
/// not -LOADING, not a refused connection.
pub fn ping(port: u16) -> bool {
    let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    c.set_read_timeout(Some(Duration::from_secs(2))).ok();
    let mut buf = [0u8; 7];
    // A server with a password answers -NOAUTH: it is up too (-LOADING is not).
    c.write_all(b"PING\r\n").is_ok()
        && c.read_exact(&mut buf).is_ok()
        && (&buf == b"+PONG\r\n" || &buf == b"-NOAUTH")
}

fn unsafe_kill(pid: u32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.cwd);
    }
}

/// A raw socket speaking bytes.
pub struct Raw {
    pub s: TcpStream,
}

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send");
    }

    /// Reads exactly `n` bytes.
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.s.read_exact(&mut buf).expect("read");
        buf
    }

    /// Reads until `expected.len()` bytes arrived and compares.
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_n(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    /// True when the server closed the connection (read returns 0) within the timeout.
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            match self.s.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

/// A bulk string reply.
pub fn bulk(s: &str) -> redis::Value {
    redis::Value::BulkString(s.as_bytes().to_vec())
}

/// Runs a command that must succeed and returns its reply.
pub fn ok(c: &mut redis::Connection, args: &[&str]) -> redis::Value {
    run(c, args).unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// Redis's common error texts, as `err` returns them.
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Runs a command and returns the raw `redis::Value` (errors become `Err`).
pub fn run(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

/// The error text of a failing command (`"ERR ..."`, code included), panicking on success.
pub fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    match run(c, args) {
        Ok(v) => panic!("expected an error from {args:?}, got {v:?}"),
        Err(e) => error_text(&e),
    }
}

/// Reconstructs Redis's full error line from a `redis::RedisError` ("CODE detail").
pub fn error_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// A connection to 127.0.0.1:`port` from the local address `source` (another loopback
/// address such as 127.0.0.2: not "local" for protected mode, or a trusted PROXY balancer),
/// with a 5 s read timeout.
pub fn connect_from(source: &str, port: u16) -> TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let src: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
    sock.bind(&src.into()).unwrap();
    let dst: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    sock.connect(&dst.into()).unwrap();
    let c: TcpStream = sock.into();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c
}

/// Runs ferrokv with `args` to completion (for flags or files that must stop it at start-up)
/// and returns its exit status and output.
pub fn run_to_exit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(args)
        .output()
        .expect("run ferrokv-server")
}

/// Raises this process's open-file soft limit to at least `want` (up to the hard limit) so
/// that many client sockets fit; the server child inherits the raised limit.
pub fn raise_fd_limit(want: u64) {
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        if lim.rlim_cur >= want as libc::rlim_t {
            return;
        }
        lim.rlim_cur = (want as libc::rlim_t).min(lim.rlim_max);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}
