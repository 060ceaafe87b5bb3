//! One load thread: a mio poll over its share of the connections.
//!
//! Closed loop: each connection sends a batch of `pipeline` requests, waits for all replies,
//! repeats (as redis-benchmark does); latency is reply time minus batch send time.
//!
//! Open loop (`--rate`): each connection has a fixed schedule (request `i` is due at
//! `start + i / rate_per_conn`). A request is sent when it is due and fewer than `pipeline` are
//! in flight; its latency is measured from when it was **due**, not when it went out, so a
//! stalled server is charged for the requests it delayed (coordinated-omission correction, as
//! wrk2 does).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::resp::{self, Reply};
use crate::workload::{Op, Workload};

/// Settings shared by all load threads.
pub struct Plan {
    pub addr: SocketAddr,
    pub pipeline: usize,
    /// Total requests to send (all threads), or `None` for duration mode.
    pub requests: Option<u64>,
    pub deadline: Option<Instant>,
    /// Requests per second per connection (open loop), or `None` for closed loop.
    pub rate_per_conn: Option<f64>,
    pub resp3: bool,
}

/// Counters shared with the progress display.
#[derive(Default)]
pub struct Progress {
    pub issued: AtomicU64,
    pub completed: AtomicU64,
    pub errors: AtomicU64,
    pub stop: AtomicBool,
}

/// What a thread measured.
pub struct ThreadResult {
    pub latency_us: Histogram<u64>,
    pub completed: u64,
    pub errors: u64,
    pub error_samples: Vec<String>,
}

struct Conn {
    stream: TcpStream,
    out: Vec<u8>,
    inbuf: Vec<u8>,
    /// (kind, time the latency is measured from)
    inflight: VecDeque<(Op, Instant)>,
    /// Open loop: index of the next scheduled request.
    next_index: u64,
    handshake_pending: bool,
    workload: Workload,
}

pub fn run(
    plan: &Plan,
    connections: usize,
    mut make_workload: impl FnMut(usize) -> Workload,
    progress: &Progress,
) -> io::Result<ThreadResult> {
    let mut poll = Poll::new()?;
    let mut conns = Vec::with_capacity(connections);
    for i in 0..connections {
        let std_stream = std::net::TcpStream::connect(plan.addr)?;
        std_stream.set_nodelay(true)?;
        std_stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(std_stream);
        poll.registry().register(
            &mut stream,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let mut out = Vec::with_capacity(4096);
        if plan.resp3 {
            out.extend_from_slice(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
        }
        conns.push(Conn {
            stream,
            out,
            inbuf: Vec::with_capacity(4096),
            inflight: VecDeque::new(),
            next_index: 0,
            handshake_pending: plan.resp3,
            workload: make_workload(i),
        });
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    let mut result_errors = 0u64;
    let mut completed = 0u64;
    let mut samples = Vec::new();
    let start = Instant::now();
    let mut events = Events::with_capacity(1024);
    let mut done_issuing = false;
    loop {
        let now = Instant::now();
        if !done_issuing
            && (progress.stop.load(Ordering::Relaxed) || plan.deadline.is_some_and(|d| now >= d))
        {
            done_issuing = true;
        }
        // Issue what is allowed now.
        let mut next_due: Option<Instant> = None;
        for c in conns.iter_mut() {
            if c.handshake_pending || done_issuing {
                continue;
            }
            match plan.rate_per_conn {
                None => {
                    if c.inflight.is_empty() {
                        for _ in 0..plan.pipeline {
                            if !take_budget(plan, progress) {
                                done_issuing = true;
                                break;
                            }
                            let op = c.workload.next(&mut c.out);
                            c.inflight.push_back((op, now));
                        }
                    }
                }
                Some(rate) => loop {
                    let due = start + Duration::from_secs_f64(c.next_index as f64 / rate);
                    if due > now {
                        next_due = Some(next_due.map_or(due, |d: Instant| d.min(due)));
                        break;
                    }
                    if c.inflight.len() >= plan.pipeline {
                        break;
                    }
                    if !take_budget(plan, progress) {
                        done_issuing = true;
                        break;
                    }
                    let op = c.workload.next(&mut c.out);
                    c.inflight.push_back((op, due));
                    c.next_index += 1;
                },
            }
            flush(c)?;
        }
        if done_issuing
            && conns
                .iter()
                .all(|c| c.inflight.is_empty() && !c.handshake_pending)
        {
            break;
        }
        // epoll sleeps in whole milliseconds (rounded up), which would send scheduled requests
        // late and charge the server for it; wake a millisecond early and poll without
        // sleeping when the next request is due within 2 ms.
        let timeout = match next_due {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left < Duration::from_millis(2) {
                    Duration::ZERO
                } else {
                    (left - Duration::from_millis(1)).min(Duration::from_millis(10))
                }
            }
            None => Duration::from_millis(10),
        };
        poll.poll(&mut events, Some(timeout))?;
        for ev in events.iter() {
            let c = &mut conns[ev.token().0];
            if ev.is_writable() {
                flush(c)?;
            }
            if !ev.is_readable() {
                continue;
            }
            let mut chunk = [0u8; 64 * 1024];
            loop {
                match c.stream.read(&mut chunk) {
                    Ok(0) => {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "server closed the connection",
                        ))
                    }
                    Ok(n) => c.inbuf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            let mut pos = 0;
            while let Some((reply, used)) = resp::read(&c.inbuf[pos..])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
            {
                pos += used;
                if c.handshake_pending {
                    c.handshake_pending = false;
                    if let Reply::Error(e) = reply {
                        return Err(io::Error::other(format!(
                            "HELLO 3 failed: {}",
                            String::from_utf8_lossy(&e)
                        )));
                    }
                    continue;
                }
                let Some((op, since)) = c.inflight.pop_front() else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "reply without a request",
                    ));
                };
                let us = since.elapsed().as_micros().max(1) as u64;
                let _ = hist.record(us.min(60_000_000));
                completed += 1;
                progress.completed.fetch_add(1, Ordering::Relaxed);
                if !c.workload.check(op, &reply) {
                    result_errors += 1;
                    progress.errors.fetch_add(1, Ordering::Relaxed);
                    if samples.len() < 5 {
                        samples.push(format!("{op:?} got {reply:?}"));
                    }
                }
            }
            c.inbuf.drain(..pos);
        }
    }
    Ok(ThreadResult {
        latency_us: hist,
        completed,
        errors: result_errors,
        error_samples: samples,
    })
}

/// Claims one request from the global budget (always succeeds in duration mode).
fn take_budget(plan: &Plan, progress: &Progress) -> bool {
    match plan.requests {
        None => {
            progress.issued.fetch_add(1, Ordering::Relaxed);
            true
        }
        Some(total) => progress.issued.fetch_add(1, Ordering::Relaxed) < total,
    }
}

fn flush(c: &mut Conn) -> io::Result<()> {
    while !c.out.is_empty() {
        match c.stream.write(&c.out) {
            Ok(n) => {
                c.out.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
