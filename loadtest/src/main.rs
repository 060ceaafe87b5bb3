//! `ferrokv-loadtest`: a load generator for any RESP server (ferrokv or Redis).
//!
//! Closed loop for maximum throughput, or open loop at a fixed `--rate` with
//! coordinated-omission correction; latency from HDR histograms; every reply is checked.

mod driver;
mod resp;
mod workload;

use std::net::ToSocketAddrs;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use serde::Serialize;

use driver::{Plan, Progress};
use workload::{KeyPattern, Ratio, Workload};

#[derive(Parser, Debug)]
#[command(
    name = "ferrokv-loadtest",
    version,
    about = "Load generator for RESP servers"
)]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// Client threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Connections in total (spread over the threads).
    #[arg(long, default_value_t = 50)]
    connections: usize,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 1)]
    pipeline: usize,
    /// Total requests (default 100000 unless --duration is given).
    #[arg(long, conflicts_with = "duration")]
    requests: Option<u64>,
    /// Run for this many seconds instead of a request count.
    #[arg(long)]
    duration: Option<f64>,
    /// SET:GET mix.
    #[arg(long, default_value = "1:1")]
    ratio: Ratio,
    /// Number of distinct keys.
    #[arg(long, default_value_t = 100_000)]
    keyspace: u64,
    /// uniform | zipf:S | sequential
    #[arg(long, default_value = "uniform")]
    key_pattern: KeyPattern,
    /// Value size in bytes for SET.
    #[arg(long, default_value_t = 3)]
    data_size: usize,
    /// Speak RESP3 (HELLO 3 on connect).
    #[arg(long)]
    resp3: bool,
    /// Open loop: total requests per second (coordinated-omission corrected latency).
    #[arg(long)]
    rate: Option<f64>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Seed for key choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Serialize)]
struct Summary {
    host: String,
    port: u16,
    mode: &'static str,
    threads: usize,
    connections: usize,
    pipeline: usize,
    rate: Option<f64>,
    requests: u64,
    errors: u64,
    seconds: f64,
    throughput_rps: f64,
    latency_us: Latency,
    error_samples: Vec<String>,
}

#[derive(Serialize)]
struct Latency {
    p50: u64,
    p90: u64,
    p99: u64,
    p999: u64,
    max: u64,
    mean: f64,
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(summary) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&summary).expect("json"));
            } else {
                print_text(&summary);
            }
            if summary.errors > 0 {
                std::process::exit(3);
            }
        }
        Err(e) => {
            eprintln!("ferrokv-loadtest: {e}");
            std::process::exit(2);
        }
    }
}

fn run(args: &Args) -> Result<Summary, String> {
    if args.threads == 0 || args.connections == 0 || args.pipeline == 0 {
        return Err("--threads, --connections and --pipeline must be at least 1".into());
    }
    let addr = (args.host.as_str(), args.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", args.host))?
        .next()
        .ok_or("no address")?;
    let threads = args.threads.min(args.connections);
    let requests = match (args.requests, args.duration) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) => Some(100_000),
    };
    let start = Instant::now();
    let plan = Arc::new(Plan {
        addr,
        pipeline: args.pipeline,
        requests,
        deadline: args.duration.map(|d| start + Duration::from_secs_f64(d)),
        rate_per_conn: args.rate.map(|r| r / args.connections as f64),
        resp3: args.resp3,
    });
    let progress = Arc::new(Progress::default());
    let mut handles = Vec::new();
    for t in 0..threads {
        let conns = args.connections / threads + usize::from(t < args.connections % threads);
        let plan = plan.clone();
        let progress = progress.clone();
        let (ratio, keyspace, pattern, size, seed) = (
            args.ratio,
            args.keyspace,
            args.key_pattern,
            args.data_size,
            args.seed,
        );
        handles.push(std::thread::spawn(move || {
            driver::run(
                &plan,
                conns,
                |i| {
                    Workload::new(
                        ratio,
                        keyspace,
                        pattern,
                        size,
                        seed ^ ((t as u64) << 32 | i as u64),
                    )
                },
                &progress,
            )
        }));
    }
    let bar = indicatif::ProgressBar::new(requests.unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {pos} requests {msg}")
            .expect("template"),
    );
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        let done = progress.completed.load(Ordering::Relaxed);
        let secs = start.elapsed().as_secs_f64();
        bar.set_position(done);
        bar.set_message(format!(
            "{:.0} req/s, {} errors",
            done as f64 / secs.max(1e-9),
            progress.errors.load(Ordering::Relaxed)
        ));
    }
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
    let (mut completed, mut errors, mut samples) = (0, 0, Vec::new());
    for h in handles {
        let r = h
            .join()
            .map_err(|_| "a load thread panicked".to_string())?
            .map_err(|e| format!("load thread failed: {e}"))?;
        hist.add(&r.latency_us).map_err(|e| e.to_string())?;
        completed += r.completed;
        errors += r.errors;
        samples.extend(r.error_samples);
    }
    Ok(Summary {
        host: args.host.clone(),
        port: args.port,
        mode: if args.rate.is_some() {
            "open"
        } else {
            "closed"
        },
        threads,
        connections: args.connections,
        pipeline: args.pipeline,
        rate: args.rate,
        requests: completed,
        errors,
        seconds,
        throughput_rps: completed as f64 / seconds.max(1e-9),
        latency_us: Latency {
            p50: hist.value_at_quantile(0.50),
            p90: hist.value_at_quantile(0.90),
            p99: hist.value_at_quantile(0.99),
            p999: hist.value_at_quantile(0.999),
            max: hist.max(),
            mean: hist.mean(),
        },
        error_samples: samples,
    })
}

fn print_text(s: &Summary) {
    println!(
        "{} loop, {} threads, {} connections, pipeline {}{}",
        s.mode,
        s.threads,
        s.connections,
        s.pipeline,
        s.rate
            .map(|r| format!(", rate {r:.0}/s"))
            .unwrap_or_default()
    );
    println!(
        "requests: {}  errors: {}  time: {:.2}s  throughput: {:.0} req/s",
        s.requests, s.errors, s.seconds, s.throughput_rps
    );
    let l = &s.latency_us;
    println!(
        "latency us: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.1}",
        l.p50, l.p90, l.p99, l.p999, l.max, l.mean
    );
    for e in &s.error_samples {
        println!("error sample: {e}");
    }
}
