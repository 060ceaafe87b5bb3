//! Load tests: a long pipeline on one connection, and many simultaneous connections spread
//! over several client threads against a multi-threaded server.

use std::sync::{Arc, Barrier};
use std::thread;

use crate::common::{raise_fd_limit, run, Server};
use redis::Value;

#[test]
fn ten_thousand_pipelined_commands_reply_in_order() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    const N: usize = 10_000;
    let mut pipe = redis::pipe();
    for i in 0..N {
        match i % 4 {
            0 => pipe
                .cmd("SET")
                .arg(format!("key:{i}"))
                .arg(format!("value:{i}")),
            1 => pipe.cmd("GET").arg(format!("key:{}", i - 1)),
            2 => pipe.cmd("ECHO").arg(format!("echo:{i}")),
            _ => pipe.cmd("GET").arg(format!("missing:{i}")),
        };
    }
    let replies: Vec<Value> = pipe.query(&mut c).expect("pipeline");
    assert_eq!(replies.len(), N);
    for (i, r) in replies.iter().enumerate() {
        let want = match i % 4 {
            0 => Value::Okay,
            1 => Value::BulkString(format!("value:{}", i - 1).into_bytes()),
            2 => Value::BulkString(format!("echo:{i}").into_bytes()),
            _ => Value::Nil,
        };
        assert_eq!(*r, want, "reply {i}");
    }
    assert_eq!(
        run(&mut c, &["DBSIZE"]).unwrap(),
        Value::Int((N / 4) as i64)
    );
}

#[test]
fn a_thousand_concurrent_connections() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 125;
    raise_fd_limit(4096);
    let s = Server::start(&["--threads", "4"]);
    let url = s.url();
    // Everyone connects first; the work starts only once all 1000 connections are open.
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let url = url.clone();
            let barrier = barrier.clone();
            thread::spawn(move || {
                let client = redis::Client::open(url).expect("client");
                let mut conns: Vec<redis::Connection> = (0..PER_THREAD)
                    .map(|_| {
                        let c = client.get_connection().expect("connect");
                        c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
                            .ok();
                        c
                    })
                    .collect();
                barrier.wait();
                for round in 0..3 {
                    for (i, c) in conns.iter_mut().enumerate() {
                        let key = format!("c:{t}:{i}");
                        let value = format!("{t}/{i}/{round}");
                        let _: () = redis::cmd("SET")
                            .arg(&key)
                            .arg(&value)
                            .query(c)
                            .expect("SET");
                        let got: String = redis::cmd("GET").arg(&key).query(c).expect("GET");
                        assert_eq!(got, value);
                    }
                }
                barrier.wait();
                // Every connection is still usable after all of them worked.
                for c in &mut conns {
                    let pong: String = redis::cmd("PING").query(c).expect("PING");
                    assert_eq!(pong, "PONG");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
    let mut c = s.conn();
    assert_eq!(
        run(&mut c, &["DBSIZE"]).unwrap(),
        Value::Int((THREADS * PER_THREAD) as i64)
    );
}
