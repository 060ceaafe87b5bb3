//! Pub/Sub, sharded Pub/Sub, MONITOR and keyspace notifications against the real binary with
//! `--threads 4` (clients spread over the loops): exact bytes compared with a real
//! redis-server where one is installed, delivery across loops, per-publisher order, fan-out,
//! the pubsub output limit, and cleanup on disconnect and RESET.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::Server;
use ferrokv::commands::session::request as encode;

/// A raw connection with a buffered reader that splits replies into whole RESP frames.
struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Conn {
            r: BufReader::with_capacity(64 * 1024, s.try_clone().unwrap()),
            w: s,
        }
    }

    fn send(&mut self, args: &[&[u8]]) {
        self.w.write_all(&encode(args)).expect("send");
    }

    fn send_str(&mut self, args: &[&str]) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&args);
    }

    /// Sends a command and reads one reply frame.
    fn call(&mut self, args: &[&str]) -> String {
        self.send_str(args);
        self.frame()
    }

    fn line(&mut self, into: &mut Vec<u8>) -> String {
        let start = into.len();
        self.r.read_until(b'\n', into).expect("read reply");
        assert!(into.ends_with(b"\r\n"), "truncated: {:?}", lossy(into));
        String::from_utf8_lossy(&into[start + 1..into.len() - 2]).into_owned()
    }

    fn read_into(&mut self, into: &mut Vec<u8>) {
        let start = into.len();
        let header = self.line(into);
        let n = || header.parse::<i64>().expect("length");
        match into[start] {
            b'$' | b'=' | b'!' if n() >= 0 => {
                let mut body = vec![0u8; n() as usize + 2];
                self.r.read_exact(&mut body).expect("read bulk");
                into.extend_from_slice(&body);
            }
            b'*' | b'~' | b'>' => {
                for _ in 0..n().max(0) {
                    self.read_into(into);
                }
            }
            b'%' | b'|' => {
                for _ in 0..2 * n().max(0) {
                    self.read_into(into);
                }
            }
            _ => {}
        }
    }

    /// One whole reply or push frame, as (lossy) text.
    fn frame(&mut self) -> String {
        let mut v = Vec::new();
        self.read_into(&mut v);
        lossy(&v)
    }

    /// Nothing more arrives within `wait`.
    fn assert_quiet(&mut self, wait: Duration) {
        if !self.r.buffer().is_empty() {
            panic!("unexpected pending bytes: {:?}", lossy(self.r.buffer()));
        }
        self.w.set_read_timeout(Some(wait)).unwrap();
        let mut b = [0u8; 256];
        match self.w.peek(&mut b) {
            Ok(0) => panic!("connection closed"),
            Ok(n) => panic!("unexpected bytes: {:?}", lossy(&b[..n])),
            Err(_) => {}
        }
        self.w
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
    }

    /// The server closed this connection within `within`.
    fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        self.w
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = vec![0u8; 1 << 16];
        while Instant::now() < deadline {
            match self.r.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => continue,
            }
        }
        false
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn start() -> Server {
    Server::start(&["--threads", "4"])
}

/// The integer of a `:n` reply.
fn int(frame: &str) -> i64 {
    frame
        .strip_prefix(':')
        .and_then(|s| s.strip_suffix("\r\n"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {frame:?}"))
}

/// The elements of a flat array of bulk strings / integers, as text.
fn flat(frame: &str) -> Vec<String> {
    let mut lines = frame.split("\r\n");
    let mut out = Vec::new();
    lines.next();
    while let Some(l) = lines.next() {
        if l.starts_with('$') {
            out.push(lines.next().unwrap_or_default().to_string());
        } else if let Some(n) = l.strip_prefix(':') {
            out.push(n.to_string());
        }
    }
    out
}

fn message(channel: &str, payload: &str) -> String {
    format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        channel.len(),
        payload.len()
    )
}

/// One step of a multi-connection script.
enum Step {
    /// Send a command on connection `.0`.
    Send(usize, &'static [&'static str]),
    /// Read `.1` frames from connection `.0` into the transcript.
    Read(usize, usize),
    /// Read `.1` frames from connection `.0` without recording them (replies that differ by
    /// design, such as HELLO's server name).
    Skip(usize, usize),
}
use Step::*;

/// Runs `steps` on `conns` fresh connections; returns every recorded frame, tagged with its
/// connection, and checks that nothing unexpected arrived afterwards.
fn transcript(port: u16, conns: usize, steps: &[Step]) -> Vec<String> {
    let mut c: Vec<Conn> = (0..conns).map(|_| Conn::open(port)).collect();
    let mut out = Vec::new();
    for step in steps {
        match step {
            Send(i, args) => c[*i].send_str(args),
            Read(i, n) => {
                for _ in 0..*n {
                    out.push(format!("{i}: {}", c[*i].frame()));
                }
            }
            Skip(i, n) => {
                for _ in 0..*n {
                    c[*i].frame();
                }
            }
        }
    }
    for conn in &mut c {
        conn.assert_quiet(Duration::from_millis(100));
    }
    out
}

/// Runs `steps` on ferrokv and, when installed, on redis-server; the transcripts must match.
fn differential(conns: usize, steps: &[Step]) -> Vec<String> {
    let s = start();
    let ours = transcript(s.port, conns, steps);
    if let Some(r) = Server::start_redis() {
        let theirs = transcript(r.port, conns, steps);
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a, b);
        }
        assert_eq!(ours.len(), theirs.len());
    }
    ours
}

#[test]
fn resp2_subscribe_publish_unsubscribe_exact_bytes() {
    let t = differential(
        3,
        &[
            Send(0, &["UNSUBSCRIBE"]),
            Send(0, &["PUNSUBSCRIBE"]),
            Send(0, &["SUNSUBSCRIBE"]),
            Read(0, 3),
            Send(0, &["SUBSCRIBE", "news", "sport", "news"]),
            Read(0, 3),
            Send(1, &["PUBLISH", "news", "hello"]),
            Read(1, 1),
            Read(0, 1),
            Send(1, &["PUBLISH", "nobody", "x"]),
            Read(1, 1),
            Send(0, &["PSUBSCRIBE", "n*", "s?ort"]),
            Read(0, 2),
            // One channel and one pattern match: two deliveries, counted twice.
            Send(2, &["PUBLISH", "news", "both"]),
            Read(2, 1),
            Read(0, 2),
            Send(0, &["PING"]),
            Send(0, &["PING", "hi"]),
            Send(0, &["GET", "k"]),
            Send(0, &["CONFIG", "GET", "maxclients"]),
            Send(0, &["NOSUCH"]),
            Send(0, &["SUBSCRIBE"]),
            Read(0, 6),
            Send(0, &["UNSUBSCRIBE", "sport", "never"]),
            Read(0, 2),
            Send(0, &["PUNSUBSCRIBE", "s?ort", "n*"]),
            Read(0, 2),
            Send(1, &["PUBLISH", "news", "last"]),
            Read(1, 1),
            Read(0, 1),
            Send(0, &["UNSUBSCRIBE"]),
            Read(0, 1),
            // Out of Pub/Sub mode: normal commands and PING again.
            Send(0, &["PING"]),
            Send(0, &["GET", "k"]),
            Read(0, 2),
        ],
    );
    assert_eq!(t[0], "0: *3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    assert_eq!(t[5], "0: *3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:2\r\n");
    assert_eq!(t[6], "1: :1\r\n");
    assert_eq!(t[7], format!("0: {}", message("news", "hello")));
    assert_eq!(t[9], "0: *3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n");
    assert_eq!(t[11], "2: :2\r\n");
    assert_eq!(
        t[13],
        "0: *4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$4\r\nboth\r\n"
    );
    assert_eq!(t[14], "0: *2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(
        t[16],
        "0: -ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert_eq!(
        t[17],
        "0: -ERR Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    assert!(t.last().unwrap().starts_with("0: $-1"));
}

#[test]
fn resp3_pushes_and_self_delivery_exact_bytes() {
    let t = differential(
        2,
        &[
            Send(0, &["HELLO", "3"]),
            Skip(0, 1),
            Send(0, &["SUBSCRIBE", "a"]),
            Read(0, 1),
            // A RESP3 subscriber may run anything, and gets its own message before the reply.
            Send(0, &["PUBLISH", "a", "self"]),
            Read(0, 2),
            Send(0, &["PING"]),
            Send(0, &["GET", "k"]),
            Read(0, 2),
            Send(0, &["PSUBSCRIBE", "a*"]),
            Read(0, 1),
            Send(1, &["PUBLISH", "a", "other"]),
            Read(1, 1),
            Read(0, 2),
            Send(0, &["SSUBSCRIBE", "a"]),
            Read(0, 1),
            Send(1, &["SPUBLISH", "a", "sharded"]),
            Read(1, 1),
            Read(0, 1),
            Send(0, &["UNSUBSCRIBE", "x"]),
            Send(0, &["PUNSUBSCRIBE"]),
            Read(0, 2),
            Send(0, &["RESET"]),
            Read(0, 1),
            Send(1, &["PUBLISH", "a", "gone"]),
            Send(1, &["SPUBLISH", "a", "gone"]),
            Send(1, &["PUBSUB", "NUMSUB", "a"]),
            Read(1, 3),
        ],
    );
    assert_eq!(t[0], "0: >3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
    assert_eq!(t[1], "0: >3\r\n$7\r\nmessage\r\n$1\r\na\r\n$4\r\nself\r\n");
    assert_eq!(t[2], "0: :1\r\n");
    assert_eq!(t[3], "0: +PONG\r\n");
    assert_eq!(t[4], "0: _\r\n");
    assert_eq!(
        t[8],
        "0: >4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$5\r\nother\r\n"
    );
    assert_eq!(
        t[11],
        "0: >3\r\n$8\r\nsmessage\r\n$1\r\na\r\n$7\r\nsharded\r\n"
    );
    assert_eq!(t[12], "0: >3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:2\r\n");
    assert_eq!(t[13], "0: >3\r\n$12\r\npunsubscribe\r\n$2\r\na*\r\n:1\r\n");
    assert_eq!(t[14], "0: +RESET\r\n");
    assert_eq!(
        t[15..],
        ["1: :0\r\n", "1: :0\r\n", "1: *2\r\n$1\r\na\r\n:0\r\n"]
    );
}

#[test]
fn own_keyspace_event_push_comes_before_the_reply() {
    let t = differential(
        1,
        &[
            Send(0, &["HELLO", "3"]),
            Skip(0, 1),
            Send(0, &["CONFIG", "SET", "notify-keyspace-events", "En"]),
            Send(0, &["SUBSCRIBE", "__keyevent@0__:new"]),
            Send(0, &["SET", "fresh", "v"]),
            Send(0, &["SET", "fresh", "again"]),
            Read(0, 5),
        ],
    );
    assert_eq!(
        t[2],
        "0: >3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:new\r\n$5\r\nfresh\r\n"
    );
    assert_eq!(t[3..], ["0: +OK\r\n", "0: +OK\r\n"]);
}

#[test]
fn sharded_channels_are_a_separate_namespace() {
    let t = differential(
        2,
        &[
            Send(0, &["SSUBSCRIBE", "s1", "s2"]),
            Read(0, 2),
            Send(0, &["SUBSCRIBE", "s1"]),
            Read(0, 1),
            // Counts: shard channels apart from channels + patterns.
            Send(0, &["PSUBSCRIBE", "s*"]),
            Read(0, 1),
            Send(1, &["SPUBLISH", "s1", "m"]),
            Read(1, 1),
            Read(0, 1),
            // PUBLISH does not reach shard subscribers; patterns never see SPUBLISH.
            Send(1, &["PUBLISH", "s2", "p"]),
            Read(1, 1),
            Read(0, 1),
            Send(1, &["PUBSUB", "SHARDNUMSUB", "s1", "s2", "s3"]),
            Send(1, &["PUBSUB", "NUMSUB", "s1", "s2"]),
            Send(1, &["PUBSUB", "NUMPAT"]),
            Send(1, &["PUBSUB", "SHARDCHANNELS", "s1*"]),
            Read(1, 4),
            Send(0, &["SUNSUBSCRIBE", "s2", "s9"]),
            Read(0, 2),
            Send(0, &["SUNSUBSCRIBE"]),
            Read(0, 1),
            Send(0, &["SUNSUBSCRIBE"]),
            Read(0, 1),
            Send(1, &["PUBSUB", "SHARDCHANNELS"]),
            Read(1, 1),
        ],
    );
    assert_eq!(t[1], "0: *3\r\n$10\r\nssubscribe\r\n$2\r\ns2\r\n:2\r\n");
    assert_eq!(t[2], "0: *3\r\n$9\r\nsubscribe\r\n$2\r\ns1\r\n:1\r\n");
    assert_eq!(t[3], "0: *3\r\n$10\r\npsubscribe\r\n$2\r\ns*\r\n:2\r\n");
    assert_eq!(t[4], "1: :1\r\n");
    assert_eq!(t[5], "0: *3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$1\r\nm\r\n");
    assert_eq!(t[6], "1: :1\r\n");
    assert_eq!(
        t[8],
        "1: *6\r\n$2\r\ns1\r\n:1\r\n$2\r\ns2\r\n:1\r\n$2\r\ns3\r\n:0\r\n"
    );
    assert_eq!(t[11], "1: *1\r\n$2\r\ns1\r\n");
    assert_eq!(t[14], "0: *3\r\n$12\r\nsunsubscribe\r\n$2\r\ns1\r\n:0\r\n");
    assert_eq!(t[15], "0: *3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n");
    assert_eq!(t[16], "1: *0\r\n");
}

#[test]
fn pubsub_introspection_and_errors() {
    let t = differential(
        3,
        &[
            Send(0, &["SUBSCRIBE", "c1", "c2"]),
            Read(0, 2),
            Send(1, &["SUBSCRIBE", "c1"]),
            Read(1, 1),
            Send(1, &["PSUBSCRIBE", "c*", "d*"]),
            Read(1, 2),
            Send(0, &["PSUBSCRIBE", "c*"]),
            Read(0, 1),
            Send(2, &["PUBSUB", "NUMSUB", "c1", "c2", "c3"]),
            Send(2, &["PUBSUB", "NUMSUB"]),
            Send(2, &["PUBSUB", "NUMPAT"]),
            Send(2, &["PUBSUB", "CHANNELS", "c1"]),
            Send(2, &["PUBSUB", "CHANNELS", "x*"]),
            Send(2, &["PUBSUB", "CHANNELS", "a", "b"]),
            Send(2, &["PUBSUB", "NUMPAT", "x"]),
            Send(2, &["PUBSUB", "NOPE"]),
            Send(2, &["PUBSUB"]),
            Send(2, &["PUBSUB", "HELP"]),
            Send(2, &["PUBLISH", "c1"]),
            Send(2, &["SUBSCRIBE"]),
            Send(2, &["PUBLISH", "c1", "to-all"]),
            Read(2, 13),
            Read(0, 2),
            Read(1, 2),
        ],
    );
    assert_eq!(
        t[6],
        "2: *6\r\n$2\r\nc1\r\n:2\r\n$2\r\nc2\r\n:1\r\n$2\r\nc3\r\n:0\r\n"
    );
    assert_eq!(t[7], "2: *0\r\n");
    assert_eq!(t[8], "2: :2\r\n");
    assert_eq!(t[9], "2: *1\r\n$2\r\nc1\r\n");
    assert_eq!(
        t[11],
        "2: -ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        t[13],
        "2: -ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n"
    );
    // Two channel subscribers and two pattern subscriptions.
    assert_eq!(t[18], "2: :4\r\n");

    // PUBSUB CHANNELS without a pattern (order is the server's hash order: compare sets).
    let s = start();
    let mut a = Conn::open(s.port);
    a.call(&["SUBSCRIBE", "x1"]);
    a.send_str(&["SUBSCRIBE", "x2", "y"]);
    a.frame();
    a.frame();
    let mut b = Conn::open(s.port);
    let mut all = flat(&b.call(&["PUBSUB", "CHANNELS"]));
    all.sort();
    assert_eq!(all, ["x1", "x2", "y"]);
    let mut xs = flat(&b.call(&["PUBSUB", "CHANNELS", "x?"]));
    xs.sort();
    assert_eq!(xs, ["x1", "x2"]);
}

#[test]
fn publish_counts_and_delivers_across_loops() {
    let s = start();
    let mut subs: Vec<Conn> = (0..24).map(|_| Conn::open(s.port)).collect();
    for (i, c) in subs.iter_mut().enumerate() {
        if i % 3 == 0 {
            c.call(&["PSUBSCRIBE", "room.*"]);
        } else {
            c.call(&["SUBSCRIBE", "room.1"]);
        }
    }
    let mut p = Conn::open(s.port);
    assert_eq!(int(&p.call(&["PUBLISH", "room.1", "hi"])), 24);
    assert_eq!(int(&p.call(&["PUBLISH", "room.2", "hi"])), 8);
    for (i, c) in subs.iter_mut().enumerate() {
        let f = c.frame();
        if i % 3 == 0 {
            assert!(f.contains("pmessage") && f.contains("room.1"), "{f:?}");
            assert!(c.frame().contains("room.2"));
        } else {
            assert_eq!(f, message("room.1", "hi"));
        }
        c.assert_quiet(Duration::from_millis(20));
    }
    let info = p.call(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert_eq!(info.matches("flags=P").count(), 24);
}

#[test]
fn per_publisher_order_is_preserved_on_other_loops() {
    const N: usize = 10_000;
    let s = start();
    let mut subs: Vec<Conn> = (0..4).map(|_| Conn::open(s.port)).collect();
    for c in &mut subs {
        c.call(&["SUBSCRIBE", "seq"]);
    }
    let mut p = Conn::open(s.port);
    let publisher = std::thread::spawn(move || {
        // Sequential publishes, pipelined in chunks so the test stays quick.
        for chunk in (0..N).collect::<Vec<_>>().chunks(500) {
            let mut req = Vec::new();
            for i in chunk {
                req.extend(encode(&[b"PUBLISH", b"seq", i.to_string().as_bytes()]));
            }
            p.w.write_all(&req).unwrap();
            for _ in chunk {
                assert_eq!(int(&p.frame()), 4);
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    for c in &mut subs {
        for i in 0..N {
            assert_eq!(c.frame(), message("seq", &i.to_string()));
        }
        assert!(Instant::now() < deadline, "too slow");
    }
    publisher.join().unwrap();
}

#[test]
fn fan_out_to_a_thousand_subscribers() {
    const N: usize = 1000;
    let s = start();
    let mut subs: Vec<Conn> = Vec::with_capacity(N);
    for _ in 0..N {
        let mut c = Conn::open(s.port);
        c.send_str(&["SUBSCRIBE", "fan"]);
        subs.push(c);
    }
    for c in &mut subs {
        assert_eq!(c.frame(), "*3\r\n$9\r\nsubscribe\r\n$3\r\nfan\r\n:1\r\n");
    }
    let mut p = Conn::open(s.port);
    assert_eq!(
        flat(&p.call(&["PUBSUB", "NUMSUB", "fan"])),
        ["fan", &N.to_string()]
    );
    let started = Instant::now();
    assert_eq!(int(&p.call(&["PUBLISH", "fan", "to everyone"])), N as i64);
    for c in &mut subs {
        assert_eq!(c.frame(), message("fan", "to everyone"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "fan-out took {:?}",
        started.elapsed()
    );
    drop(subs);
    wait_until(|| flat(&p.call(&["PUBSUB", "NUMSUB", "fan"]))[1] == "0");
}

/// Polls `cond` for up to 10 s (disconnects are processed asynchronously by each loop).
fn wait_until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn non_reading_subscriber_is_cut_by_the_pubsub_output_limit() {
    let s = start();
    let mut admin = Conn::open(s.port);
    assert_eq!(
        admin.call(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 512kb 1"
        ]),
        "+OK\r\n"
    );
    let mut lazy = Conn::open(s.port);
    lazy.call(&["SUBSCRIBE", "big"]);
    let mut reader = Conn::open(s.port);
    reader.call(&["SUBSCRIBE", "small"]);
    // A normal client with pending output is not limited (normal class: 0 0 0).
    let payload = vec![b'x'; 256 * 1024];
    let mut p = Conn::open(s.port);
    // Deliveries reach the subscriber's loop through its inbox, so the cut is seen by PUBLISH
    // a little after the limit is passed: publish (pausing now and then so that loop keeps
    // up) until PUBLISH counts no receiver, for at most 10 s.
    let mut cut = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in 0.. {
        p.send(&[b"PUBLISH", b"big", &payload]);
        if int(&p.frame()) == 0 {
            cut = true;
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        if i % 64 == 63 {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert!(cut, "the non-reading subscriber was never disconnected");
    assert!(lazy.closed_within(Duration::from_secs(10)));
    // The server is healthy and the others are served.
    assert_eq!(int(&p.call(&["PUBLISH", "small", "still here"])), 1);
    assert_eq!(reader.frame(), message("small", "still here"));
    assert_eq!(admin.call(&["PING"]), "+PONG\r\n");
    assert_eq!(
        flat(&admin.call(&["PUBSUB", "NUMSUB", "big"])),
        ["big", "0"]
    );
}

#[test]
fn disconnect_and_reset_leave_no_trace() {
    let s = start();
    let mut c = Conn::open(s.port);
    c.send_str(&["SUBSCRIBE", "a", "b"]);
    c.send_str(&["PSUBSCRIBE", "p*"]);
    c.send_str(&["SSUBSCRIBE", "s"]);
    for _ in 0..4 {
        c.frame();
    }
    let mut q = Conn::open(s.port);
    let list = q.call(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert!(
        list.contains("flags=P") && list.contains("sub=2 psub=1 ssub=1"),
        "{list}"
    );
    let info = q.call(&["INFO", "stats"]);
    for field in [
        "pubsub_channels:2",
        "pubsub_patterns:1",
        "pubsubshard_channels:1",
    ] {
        assert!(info.contains(field), "{field} missing in {info}");
    }
    drop(c);
    wait_until(|| q.call(&["PUBSUB", "NUMPAT"]) == ":0\r\n");
    assert_eq!(
        flat(&q.call(&["PUBSUB", "NUMSUB", "a", "b"])),
        ["a", "0", "b", "0"]
    );
    assert_eq!(q.call(&["PUBSUB", "SHARDCHANNELS"]), "*0\r\n");
    assert_eq!(q.call(&["PUBSUB", "CHANNELS"]), "*0\r\n");
    let info = q.call(&["INFO", "stats"]);
    assert!(info.contains("pubsub_channels:0") && info.contains("pubsub_patterns:0"));

    // RESET drops everything silently and leaves MONITOR mode.
    let mut r = Conn::open(s.port);
    r.call(&["SUBSCRIBE", "a"]);
    r.call(&["PSUBSCRIBE", "x*"]);
    assert_eq!(r.call(&["RESET"]), "+RESET\r\n");
    assert_eq!(r.call(&["MONITOR"]), "+OK\r\n");
    let list = q.call(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=O"), "{list}");
    assert_eq!(r.call(&["RESET"]), "+RESET\r\n");
    assert_eq!(q.call(&["PING"]), "+PONG\r\n");
    r.assert_quiet(Duration::from_millis(100));
    assert_eq!(int(&q.call(&["PUBLISH", "a", "x"])), 0);
    assert_eq!(q.call(&["PUBSUB", "NUMPAT"]), ":0\r\n");
    let list = q.call(&["CLIENT", "LIST"]);
    assert!(
        !list.contains("flags=O") && !list.contains("flags=P"),
        "{list}"
    );

    // CLIENT KILL TYPE pubsub kills subscribers only.
    let mut sub = Conn::open(s.port);
    sub.call(&["SUBSCRIBE", "k"]);
    assert_eq!(int(&q.call(&["CLIENT", "KILL", "TYPE", "pubsub"])), 1);
    assert!(sub.closed_within(Duration::from_secs(5)));
    wait_until(|| flat(&q.call(&["PUBSUB", "NUMSUB", "k"]))[1] == "0");
}

/// A MONITOR line with its timestamp and client address replaced, after checking their form.
fn monitor_shape(line: &str, addr: &str) -> String {
    let body = line.strip_prefix('+').expect("simple string");
    let (ts, rest) = body.split_once(' ').expect("timestamp");
    let (secs, usecs) = ts.split_once('.').expect("secs.usecs");
    assert!(secs.parse::<u64>().is_ok() && usecs.len() == 6 && usecs.parse::<u32>().is_ok());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.parse::<u64>().unwrap().abs_diff(now) < 60, "{line}");
    assert!(rest.contains(addr), "{line:?} lacks {addr}");
    rest.replace(addr, "ADDR")
}

fn monitor_transcript(port: u16) -> Vec<String> {
    let mut m = Conn::open(port);
    assert_eq!(m.call(&["MONITOR"]), "+OK\r\n");
    let mut c = Conn::open(port);
    let addr = c.w.local_addr().unwrap().to_string();
    c.send(&[b"SET", b"k", b"a \"q\"\\ \x01\xff\n\t\r\x07\x08 end"]);
    c.send_str(&["SELECT", "1"]);
    c.send_str(&["GET", "k"]);
    c.send_str(&["CONFIG", "GET", "port"]);
    c.send_str(&["CLIENT", "LIST"]);
    c.send_str(&["client", "id"]);
    c.send_str(&["NOSUCH", "x"]);
    c.send_str(&["GET"]);
    c.send_str(&["SubScribe", "ch"]);
    c.send_str(&["PING"]);
    c.send_str(&["RESET"]);
    c.send_str(&["AUTH", "secret"]);
    c.send_str(&["AUTH", "default", "secret"]);
    c.send_str(&["HELLO", "2", "AUTH", "default", "secret", "SETNAME", "n"]);
    for _ in 0..14 {
        c.frame();
    }
    let mut lines: Vec<String> = (0..10).map(|_| monitor_shape(&m.frame(), &addr)).collect();
    // The monitor's own commands come after its own replies.
    let maddr = m.w.local_addr().unwrap().to_string();
    m.send_str(&["PING"]);
    m.send_str(&["ECHO", "e"]);
    for _ in 0..4 {
        let f = m.frame();
        lines.push(if f.starts_with("+PONG") || f.starts_with('$') {
            f
        } else {
            monitor_shape(&f, &maddr)
        });
    }
    m.assert_quiet(Duration::from_millis(100));
    lines
}

#[test]
fn monitor_streams_commands_from_every_loop_in_redis_format() {
    let s = start();
    let ours = monitor_transcript(s.port);
    let expected = [
        "[0 ADDR] \"SET\" \"k\" \"a \\\"q\\\"\\\\ \\x01\\xff\\n\\t\\r\\a\\b end\"\r\n",
        "[1 ADDR] \"SELECT\" \"1\"\r\n",
        "[1 ADDR] \"GET\" \"k\"\r\n",
        "[1 ADDR] \"client\" \"id\"\r\n",
        "[1 ADDR] \"SubScribe\" \"ch\"\r\n",
        "[1 ADDR] \"PING\"\r\n",
        "[0 ADDR] \"RESET\"\r\n",
        "[0 ADDR] \"AUTH\" \"(redacted)\"\r\n",
        "[0 ADDR] \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n",
        "[0 ADDR] \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"n\"\r\n",
        "+PONG\r\n",
        "[0 ADDR] \"PING\"\r\n",
        "$1\r\ne\r\n",
        "[0 ADDR] \"ECHO\" \"e\"\r\n",
    ];
    assert_eq!(ours, expected);
    if let Some(r) = Server::start_redis() {
        assert_eq!(ours, monitor_transcript(r.port));
    }
}

#[test]
fn monitor_rules() {
    let s = start();
    let mut m = Conn::open(s.port);
    assert_eq!(m.call(&["MONITOR"]), "+OK\r\n");
    // A second MONITOR replies nothing at all, as Redis.
    m.send_str(&["MONITOR"]);
    assert_eq!(m.call(&["ECHO", "after"]), "$5\r\nafter\r\n");
    assert!(m.frame().contains("\"ECHO\" \"after\""));
    // Many monitors on all loops each get every line.
    let mut more: Vec<Conn> = (0..8).map(|_| Conn::open(s.port)).collect();
    for c in &mut more {
        assert_eq!(c.call(&["MONITOR"]), "+OK\r\n");
    }
    let mut c = Conn::open(s.port);
    c.call(&["SET", "x", "1"]);
    assert!(m.frame().ends_with("\"SET\" \"x\" \"1\"\r\n"));
    for c in &mut more {
        assert!(c.frame().ends_with("\"SET\" \"x\" \"1\"\r\n"));
    }
    let list = c.call(&["CLIENT", "LIST"]);
    assert_eq!(list.matches("flags=O").count(), 9);
    drop(more);
    drop(m);
    wait_until(|| !c.call(&["CLIENT", "LIST"]).contains("flags=O"));
}

fn keyspace_transcript(port: u16) -> Vec<String> {
    let mut sub = Conn::open(port);
    let mut c = Conn::open(port);
    c.call(&["FLUSHALL"]);
    assert_eq!(
        c.call(&["CONFIG", "SET", "notify-keyspace-events", "KEn"]),
        "+OK\r\n"
    );
    assert_eq!(
        flat(&c.call(&["CONFIG", "GET", "notify-keyspace-events"])),
        ["notify-keyspace-events", "nKE"]
    );
    sub.call(&["SUBSCRIBE", "__keyevent@0__:new", "__keyspace@0__:k"]);
    sub.frame();
    c.call(&["SET", "k", "v"]);
    c.call(&["SET", "k", "w"]);
    let mut out = vec![sub.frame(), sub.frame()];
    // Expiry (lazy on access, or by the active cycle) publishes `expired` with `x`.
    assert_eq!(
        c.call(&["CONFIG", "SET", "notify-keyspace-events", "Ex"]),
        "+OK\r\n"
    );
    sub.call(&["SUBSCRIBE", "__keyevent@0__:expired"]);
    c.call(&["SET", "e", "v", "PX", "30"]);
    std::thread::sleep(Duration::from_millis(60));
    c.call(&["GET", "e"]);
    out.push(sub.frame());
    sub.assert_quiet(Duration::from_millis(100));
    out.push(c.call(&["CONFIG", "SET", "notify-keyspace-events", "KQ"]));
    out.push(c.call(&["CONFIG", "SET", "notify-keyspace-events", ""]));
    out.push(c.call(&["CONFIG", "GET", "notify-keyspace-events"]));
    out
}

#[test]
fn keyspace_notifications_reach_subscribers() {
    let s = start();
    let ours = keyspace_transcript(s.port);
    assert_eq!(ours[0], message("__keyspace@0__:k", "new"));
    assert_eq!(ours[1], message("__keyevent@0__:new", "k"));
    assert_eq!(ours[2], message("__keyevent@0__:expired", "e"));
    assert_eq!(
        ours[3],
        "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"
    );
    if let Some(r) = Server::start_redis() {
        assert_eq!(ours, keyspace_transcript(r.port));
    }
}

#[test]
fn notify_keyspace_events_from_the_config_file() {
    let dir = std::env::temp_dir().join(format!("ferrokv-pubsub-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ferrokv.conf");
    std::fs::write(&path, "notify-keyspace-events \"Kx\"\n").unwrap();
    let s = Server::start(&["--threads", "2", "--config", path.to_str().unwrap()]);
    let mut c = Conn::open(s.port);
    assert_eq!(
        flat(&c.call(&["CONFIG", "GET", "notify-keyspace-events"])),
        ["notify-keyspace-events", "xK"]
    );
    std::fs::write(&path, "notify-keyspace-events Kq\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", "0", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Invalid event class character"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// CLIENT REPLY OFF silences replies but not Pub/Sub pushes (Redis's CLIENT_PUSHING): a RESP3
/// client publishing to itself still receives its own message, without PUBLISH's reply; and
/// messages from other clients keep arriving.
#[test]
fn reply_off_keeps_pushes() {
    differential(
        2,
        &[
            Send(0, &["HELLO", "3"]),
            Skip(0, 1),
            Send(0, &["SUBSCRIBE", "a"]),
            Read(0, 1),
            Send(0, &["CLIENT", "REPLY", "OFF"]),
            Send(0, &["PUBLISH", "a", "self"]),
            Send(0, &["GET", "k"]),
            Read(0, 1),
            Send(1, &["PUBLISH", "a", "other"]),
            Read(1, 1),
            Read(0, 1),
            Send(0, &["CLIENT", "REPLY", "ON"]),
            Read(0, 1),
        ],
    );
}

/// Subscription confirmations are sent even under CLIENT REPLY OFF (Redis flags them as
/// pushes), in RESP2 and RESP3; the same bytes as redis-server.
#[test]
fn confirmations_pass_client_reply_off() {
    let mut seen = Vec::new();
    for s in std::iter::once(start()).chain(Server::start_redis()) {
        let mut got = Vec::new();
        for hello in [&b""[..], b"HELLO 3\r\n"] {
            let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            c.write_all(hello).unwrap();
            if !hello.is_empty() {
                let mut buf = [0u8; 4096];
                let _ = c.read(&mut buf).unwrap();
            }
            c.write_all(
                b"CLIENT REPLY OFF\r\nSUBSCRIBE a\r\nPSUBSCRIBE b*\r\nPING\r\nUNSUBSCRIBE a\r\n",
            )
            .unwrap();
            let want = if hello.is_empty() {
                b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\nb*\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n".to_vec()
            } else {
                b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n>3\r\n$10\r\npsubscribe\r\n$2\r\nb*\r\n:2\r\n>3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n".to_vec()
            };
            let mut buf = vec![0u8; want.len()];
            c.read_exact(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf).into_owned());
            assert_eq!(buf, want, "port {}", s.port);
        }
        seen.push(got);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}
