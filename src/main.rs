//! `ferrokv-server`: parse flags and config, start the loops, wait for a signal or SHUTDOWN.

use std::io::Write;
use std::sync::atomic::Ordering;

use ferrokv::config::{Args, Config};

fn main() {
    let args = Args::from_argv(std::env::args());
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferrokv: {e}");
            std::process::exit(1);
        }
    };
    ferrokv::logging::init(&config.loglevel);
    // A file over RLIMIT_FSIZE must fail its write (EFBIG, handled as any disk error: writes
    // refused with -MISCONF until it succeeds again), not kill the server.
    // SAFETY: setting a signal's disposition to SIG_IGN before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let signals = match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferrokv: cannot install signal handlers: {e}");
            std::process::exit(1);
        }
    };
    let running = match ferrokv::net::start(config) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start server");
            eprintln!("ferrokv: cannot start: {e}");
            std::process::exit(1);
        }
    };
    report_port(running.shared.port.load(Ordering::Relaxed));
    let shared = running.shared.clone();
    let handle = signals.handle();
    std::thread::spawn(move || {
        let mut signals = signals;
        for sig in signals.forever() {
            let sigint = sig == signal_hook::consts::SIGINT;
            // As Redis: a second SIGINT while a shutdown is under way means "now".
            if sigint && shared.graceful.is_pending() {
                tracing::warn!("You insist... exiting now.");
                std::process::exit(1);
            }
            let (name, setting) = if sigint {
                ("SIGINT", &shared.settings.shutdown_on_sigint)
            } else {
                ("SIGTERM", &shared.settings.shutdown_on_sigterm)
            };
            tracing::warn!("Received {name} scheduling shutdown...");
            // The graceful shutdown (net::shutdown) runs on the main thread, in join().
            shared.graceful.request(setting.load(Ordering::Relaxed));
        }
    });
    running.join();
    handle.close();
    tracing::info!("ferrokv is now ready to exit, bye bye");
}

/// Prints `ferrokv-server listening on port N` once every listener is bound: the only line the
/// server writes to stdout (logs go to stderr), so that whoever started it with `--port 0` (the
/// test harness, a script) learns the port the kernel picked without racing for a free one.
fn report_port(port: usize) {
    let mut out = std::io::stdout().lock();
    if let Err(e) =
        writeln!(out, "ferrokv-server listening on port {port}").and_then(|()| out.flush())
    {
        // A closed or broken stdout must not stop a server that is otherwise fine.
        tracing::warn!(error = %e, "cannot report the listening port on stdout");
    }
}
