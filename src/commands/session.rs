//! A command session without sockets: request bytes (or argument lists) in, reply bytes out,
//! through the real parser, registry and store of a fresh single-threaded server state, with an
//! injected clock. Unit tests and criterion benchmarks drive commands through it.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::{dispatch, Ctx};
use crate::config::Config;
use crate::resp::parse::{Limits, Parser};
use crate::resp::reply::Reply;
use crate::server::client::{Client, ClientInfo};
use crate::server::shared::{Shared, WorkerStats};

pub struct Session {
    pub srv: Shared,
    pub client: Client,
    pub stats: WorkerStats,
    /// Replies accumulate here until the caller clears `out.buf`.
    pub out: Reply,
    parser: Parser,
    args: Vec<Bytes>,
    input: BytesMut,
    limits: Limits,
}

impl Session {
    pub fn new() -> Self {
        let cfg = Config {
            threads: 1,
            ..Config::default()
        };
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("address");
        Session {
            srv: Shared::new(cfg),
            client: Client::new(Arc::new(ClientInfo::new(1, addr, addr, -1, 0, 0))),
            stats: WorkerStats::new(super::registry().all.len()),
            out: Reply::new(false),
            parser: Parser::new(),
            args: Vec::new(),
            input: BytesMut::with_capacity(4096),
            limits: Limits::default(),
        }
    }

    /// Runs one command given as its arguments at wall time `now` (ms); the reply is appended
    /// to `out`.
    pub fn execute(&mut self, now: u64, argv: &[Bytes]) {
        let mut ctx = Ctx {
            srv: &self.srv,
            client: &mut self.client,
            out: &mut self.out,
            stats: &self.stats,
            now,
        };
        dispatch(&mut ctx, argv);
    }

    /// Parses `request` (RESP or inline, possibly several pipelined commands) and runs every
    /// complete command; replies are appended to `out`. Returns how many commands ran.
    pub fn feed(&mut self, now: u64, request: &[u8]) -> usize {
        self.input.extend_from_slice(request);
        let mut ran = 0;
        while let Ok(true) = self
            .parser
            .parse(&mut self.input, &mut self.args, &self.limits)
        {
            let args = std::mem::take(&mut self.args);
            self.execute(now, &args);
            self.args = args;
            self.args.clear();
            ran += 1;
        }
        ran
    }

    /// The reply (RESP3 when `resp3`) of one command run at wall time `now` (ms), as text.
    pub fn run_at(&mut self, now: u64, resp3: bool, args: &[&[u8]]) -> String {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        self.out.buf.clear();
        self.out.resp3 = resp3;
        self.execute(now, &argv);
        let reply = String::from_utf8_lossy(&self.out.buf).into_owned();
        self.out.buf.clear();
        reply
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// A RESP request for `args` (benchmarks and tests build their input with it).
pub fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}
