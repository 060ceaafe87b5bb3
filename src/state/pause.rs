//! Client pause (Redis 7.0's `pauseClients` / `unpauseClients`): CLIENT PAUSE and the write
//! pause a graceful shutdown holds while it drains.
//!
//! # Rules (as Redis)
//! - Each purpose ([`Purpose`]: CLIENT PAUSE, shutdown) holds at most one pause: a kind
//!   ([`WRITE`] or [`ALL`]) and an end (Unix ms). Pausing again for the same purpose keeps the
//!   stronger kind and the later end: a weaker or shorter pause never weakens or shortens one
//!   in force. CLIENT UNPAUSE ends the CLIENT PAUSE purpose only.
//! - The effective pause is the most restrictive kind among the purposes still running, until
//!   the latest end among the purposes of that kind. A purpose has ended once `now > end`.
//! - While any pause is in force the dataset stays constant: lazy expiry reports expired keys
//!   as missing without deleting them, the active expiry cycle does not run (the store's
//!   [`ExpiryHold`](crate::store::ExpiryHold), kept here until the latest end of any purpose).
//!
//! # Threading
//! The effective kind is an atomic read with one relaxed load at dispatch (the no-pause case
//! costs nothing else); its end is another atomic. Every change happens under the purposes'
//! mutex, which nothing else is held under. The loops park paused clients themselves (each
//! its own, in pause order) and re-run them when the effective kind drops below the kind they
//! were parked under: at the end time by their own timer, or at once on
//! [`Msg::Unpaused`](super::mailbox::Msg::Unpaused), which [`Pause::unpause`]'s caller
//! broadcasts.

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::store::ExpiryHold;

/// No pause.
pub const OFF: u8 = 0;
/// Write commands (and the may-replicate ones: PUBLISH, ...) are held.
pub const WRITE: u8 = 1;
/// Every command of every normal client is held.
pub const ALL: u8 = 2;

/// Why clients are paused (Redis's `pause_purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// CLIENT PAUSE / CLIENT UNPAUSE.
    ClientCommand = 0,
    /// A graceful shutdown holds writes while it waits for replies to drain.
    Shutdown = 1,
}

const PURPOSES: usize = 2;

/// The process-wide pause state (see the module doc).
pub struct Pause {
    kind: AtomicU8,
    end_ms: AtomicU64,
    /// Clients parked on every loop (INFO `blocked_clients` counts them, as Redis does).
    pub parked: AtomicUsize,
    /// Per purpose: (kind, end ms).
    purposes: Mutex<[Option<(u8, u64)>; PURPOSES]>,
    hold: Arc<ExpiryHold>,
}

impl Pause {
    /// A pause state that keeps `hold` (the store's expiry hold) in step.
    pub fn new(hold: Arc<ExpiryHold>) -> Self {
        Pause {
            kind: AtomicU8::new(OFF),
            end_ms: AtomicU64::new(0),
            parked: AtomicUsize::new(0),
            purposes: Mutex::new([None; PURPOSES]),
            hold,
        }
    }

    /// The effective kind as last computed: one relaxed load, for dispatch. A pause whose end
    /// has passed still reads as in force until someone calls [`Pause::current`].
    #[inline(always)]
    pub fn kind(&self) -> u8 {
        self.kind.load(Ordering::Relaxed)
    }

    /// When the effective pause ends (Unix ms; meaningless while [`OFF`]).
    pub fn end_ms(&self) -> u64 {
        self.end_ms.load(Ordering::Relaxed)
    }

    /// Redis's `checkClientPauseTimeoutAndReturnIfPaused`: the effective kind at `now`,
    /// ending the purposes whose time has passed.
    pub fn current(&self, now: u64) -> u8 {
        let kind = self.kind();
        if kind == OFF || self.end_ms() >= now {
            return kind;
        }
        let mut p = self.purposes.lock();
        self.update(&mut p, now)
    }

    /// Pauses `kind` until `end` (Unix ms) for `purpose`, merged with that purpose's pause in
    /// force (stronger kind, later end). Returns the new effective kind.
    pub fn pause(&self, purpose: Purpose, kind: u8, end: u64, now: u64) -> u8 {
        let mut p = self.purposes.lock();
        let slot = &mut p[purpose as usize];
        *slot = Some(match *slot {
            Some((k, e)) => (k.max(kind), e.max(end)),
            None => (kind, end),
        });
        self.update(&mut p, now)
    }

    /// Ends `purpose`'s pause. Returns whether the effective kind became less restrictive:
    /// the caller then wakes every loop ([`Msg::Unpaused`](super::mailbox::Msg::Unpaused)).
    pub fn unpause(&self, purpose: Purpose, now: u64) -> bool {
        let mut p = self.purposes.lock();
        let before = self.kind();
        p[purpose as usize] = None;
        self.update(&mut p, now) < before
    }

    /// Redis's `updateClientPauseTypeAndEndTime`, under the purposes' lock.
    fn update(&self, p: &mut [Option<(u8, u64)>; PURPOSES], now: u64) -> u8 {
        let mut kind = OFF;
        for slot in p.iter_mut() {
            match *slot {
                Some((_, end)) if end < now => *slot = None,
                Some((k, _)) => kind = kind.max(k),
                None => {}
            }
        }
        let end = p
            .iter()
            .flatten()
            .filter(|(k, _)| *k == kind)
            .map(|(_, e)| *e)
            .max()
            .unwrap_or(0);
        let hold = p.iter().flatten().map(|(_, e)| *e).max().unwrap_or(0);
        self.hold.hold_until(hold);
        self.end_ms.store(end, Ordering::Relaxed);
        self.kind.store(kind, Ordering::Relaxed);
        kind
    }
}

/// Whether a command with `flags`-like facts is held by a pause of `kind`: every command under
/// [`ALL`], those that write or may replicate under [`WRITE`] (Redis's
/// `is_may_replicate_command`, which for EXEC means any queued command that does).
#[inline]
pub fn holds(kind: u8, writes: bool) -> bool {
    kind == ALL || (kind == WRITE && writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause() -> (Pause, Arc<ExpiryHold>) {
        let hold = Arc::new(ExpiryHold::default());
        (Pause::new(hold.clone()), hold)
    }

    #[test]
    fn a_stronger_or_longer_pause_extends_and_a_weaker_shorter_one_does_not_shorten() {
        let (p, hold) = pause();
        assert_eq!(p.kind(), OFF);
        assert_eq!(p.pause(Purpose::ClientCommand, WRITE, 2_000, 1_000), WRITE);
        assert_eq!(p.end_ms(), 2_000);
        assert!(hold.is_held(2_000) && !hold.is_held(2_001));
        // Weaker and shorter: nothing changes.
        assert_eq!(p.pause(Purpose::ClientCommand, WRITE, 1_500, 1_000), WRITE);
        assert_eq!(p.end_ms(), 2_000);
        // Stronger and shorter: ALL, still until 2 000.
        assert_eq!(p.pause(Purpose::ClientCommand, ALL, 1_200, 1_000), ALL);
        assert_eq!(p.end_ms(), 2_000);
        // Weaker and longer: stays ALL, now until 3 000.
        assert_eq!(p.pause(Purpose::ClientCommand, WRITE, 3_000, 1_000), ALL);
        assert_eq!(p.end_ms(), 3_000);
        assert_eq!(p.current(3_000), ALL);
        assert_eq!(p.current(3_001), OFF);
        assert!(!hold.is_held(3_001));
    }

    #[test]
    fn purposes_combine_and_unpause_ends_only_its_own() {
        let (p, hold) = pause();
        p.pause(Purpose::Shutdown, WRITE, u64::MAX, 1_000);
        p.pause(Purpose::ClientCommand, ALL, 5_000, 1_000);
        assert_eq!((p.kind(), p.end_ms()), (ALL, 5_000));
        // The ALL pause ends: the shutdown's WRITE pause remains, with no end.
        assert_eq!(p.current(5_001), WRITE);
        assert_eq!(p.end_ms(), u64::MAX);
        assert!(hold.is_held(u64::MAX - 1));
        p.pause(Purpose::ClientCommand, ALL, 9_000, 6_000);
        assert!(p.unpause(Purpose::ClientCommand, 6_000));
        assert_eq!(p.kind(), WRITE);
        assert!(!p.unpause(Purpose::ClientCommand, 6_000), "nothing to end");
        assert!(p.unpause(Purpose::Shutdown, 6_000));
        assert_eq!(p.kind(), OFF);
        assert!(!hold.is_held(6_000));
    }

    #[test]
    fn a_zero_timeout_pause_is_over_at_once() {
        let (p, _) = pause();
        assert_eq!(p.pause(Purpose::ClientCommand, ALL, 0, 1_000), OFF);
    }

    #[test]
    fn what_each_kind_holds() {
        assert!(!holds(OFF, true));
        assert!(holds(WRITE, true) && !holds(WRITE, false));
        assert!(holds(ALL, false) && holds(ALL, true));
    }
}
