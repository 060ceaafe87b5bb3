//! Basic end-to-end checks of the server binary: start, PING, SET/GET, shutdown by signal.

use crate::common::{run, Server};

#[test]
fn ping_set_get_and_clean_sigterm_exit() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(
        run(&mut c, &["PING"]).unwrap(),
        redis::Value::SimpleString("PONG".into())
    );
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    drop(c);
    assert_eq!(s.terminate(), Some(0));
}

/// With `--port 0` the server prints exactly `ferrokv-server listening on port N` once it is
/// listening, N is a port that answers, and nothing else ever goes to stdout.
#[test]
fn port_0_reports_the_bound_port_on_stdout() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", "0", "--threads", "2", "--save", ""])
        // A directory of its own: a dump.rdb where the tests run would be loaded (-LOADING).
        .current_dir(crate::common::fresh_cwd())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferrokv-server");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout pipe"));
    // Read the line on a helper thread so that a server that never prints fails the test
    // after a deadline instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        let _ = tx.send(stdout.read_line(&mut line).map(|_| line));
        stdout
    });
    let line = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(line) => line.expect("read stdout"),
        Err(e) => {
            let _ = child.kill();
            panic!("no line on stdout within 20 s: {e}");
        }
    };
    let mut stdout = reader.join().expect("reader thread");
    let port: u16 = line
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("ferrokv-server listening on port "))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected stdout line: {line:?}"));
    assert_ne!(port, 0);
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"PING\r\n").unwrap();
    let mut pong = [0u8; 7];
    c.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"+PONG\r\n");
    drop(c);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("no exit within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(exit.code(), Some(0));
    // The server has exited: everything it wrote after the line is here, up to EOF.
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "more output on stdout after the port line");
}
