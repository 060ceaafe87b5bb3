//! Log set-up: tracing to stderr, level from `loglevel` (Redis names) unless `RUST_LOG` is set.
//! The filter sits behind a reload handle so `CONFIG SET loglevel` takes effect at once.

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

static RELOAD: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// The tracing level for a Redis `loglevel` name.
fn level_of(loglevel: &str) -> &'static str {
    match loglevel {
        "debug" => "debug",
        "verbose" | "notice" => "info",
        "warning" => "warn",
        _ => "error",
    }
}

pub fn init(loglevel: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level_of(loglevel)));
    let (filter, handle) = reload::Layer::new(filter);
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init();
    if installed.is_ok() {
        let _ = RELOAD.set(handle);
    }
}

/// Applies a new `loglevel` (CONFIG SET); a no-op when logging was not initialised here.
pub fn set_level(loglevel: &str) {
    if let Some(handle) = RELOAD.get() {
        let _ = handle.reload(EnvFilter::new(level_of(loglevel)));
    }
}
