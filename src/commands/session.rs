//! A command session without sockets: request bytes (or argument lists) in, reply bytes out,
//! through the real parser, registry, [`call()`] and store of a fresh single-threaded server
//! state, with an injected clock. Unit tests and criterion benchmarks drive commands through
//! it, exactly as the loop runs them (blocked clients are served, writes propagated, ...).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::{call, registry, Ctx};
use crate::config::Config;
use crate::resp::parse::{Limits, Parser};
use crate::resp::reply::Reply;
use crate::state::{Client, ClientInfo, LoopStats, Shared};

pub struct Session {
    pub srv: Shared,
    pub client: Client,
    /// The statistics of the session's loop (loop 0 of `srv`, so INFO reports them).
    pub stats: Arc<LoopStats>,
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
        let srv = Shared::new(cfg, registry().all.len());
        Session {
            stats: srv.stats[0].clone(),
            srv,
            client: Client::new(Arc::new(ClientInfo::new(1, addr, addr, -1, 0, 0))),
            out: Reply::new(false),
            parser: Parser::new(),
            args: Vec::new(),
            input: BytesMut::with_capacity(4096),
            limits: Limits::default(),
        }
    }

    /// Runs one command given as its arguments at wall time `now` (ms) through [`call()`], as
    /// the session's client on loop 0; the reply is appended to `out`.
    pub fn execute(&mut self, now: u64, argv: &[Bytes]) {
        run_as(
            &self.srv,
            &self.stats,
            &mut self.client,
            &mut self.out,
            now,
            argv,
        );
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

/// Runs `argv` as `client` at wall time `now` (ms) in an execution of its own (as the loop
/// does for every command), appending the reply to `out`.
pub fn run_as(
    srv: &Shared,
    stats: &LoopStats,
    client: &mut Client,
    out: &mut Reply,
    now: u64,
    argv: &[Bytes],
) {
    let fx = srv.scope(Some(client.info.home));
    let mut ctx = Ctx::new(srv, stats, client, out, &fx, now, quanta::Instant::now());
    call(&mut ctx, argv);
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// An argument vector from words (unit tests).
#[cfg(test)]
pub(crate) fn argv(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|w| Bytes::copy_from_slice(w.as_bytes()))
        .collect()
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
