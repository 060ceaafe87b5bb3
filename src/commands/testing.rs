//! Dispatch-level test harness: runs commands without sockets, with an injected clock, against
//! a fresh single-threaded server state. Used by the families' unit tests.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;

use super::{dispatch, Ctx};
use crate::config::Config;
use crate::resp::reply::Reply;
use crate::server::client::{Client, ClientInfo};
use crate::server::shared::{Shared, WorkerStats};

pub struct Harness {
    pub srv: Shared,
    pub client: Client,
    pub stats: WorkerStats,
}

impl Harness {
    pub fn new() -> Self {
        let cfg = Config {
            threads: 1,
            ..Config::default()
        };
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("address");
        Harness {
            srv: Shared::new(cfg),
            client: Client::new(Arc::new(ClientInfo::new(1, addr, addr, -1, 0, 0))),
            stats: WorkerStats::new(super::registry().all.len()),
        }
    }

    /// The raw reply (RESP3 when `resp3`) of one command run at wall time `now` (ms).
    pub fn run_at(&mut self, now: u64, resp3: bool, args: &[&[u8]]) -> String {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut out = Reply::new(resp3);
        let mut ctx = Ctx {
            srv: &self.srv,
            client: &mut self.client,
            out: &mut out,
            stats: &self.stats,
            now,
        };
        dispatch(&mut ctx, &argv);
        String::from_utf8_lossy(&out.buf).into_owned()
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}
