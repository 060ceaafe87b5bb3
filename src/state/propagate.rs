//! Propagation: the stream of executed writes that persistence (AOF) and replication consume,
//! as Redis's `propagate()` / `alsoPropagate()` / `propagatePendingCommands()` produce it.
//!
//! During an execution, writes are recorded in its [`Scope`] as [`Op`]s, in the order they
//! happened: the store records the deletion of every expired key it removes (`DEL key`), the
//! command path (`commands::call`) records each command that changed the dataset — as
//! executed, or as the handler rewrote it — and handlers may add more (`also_propagate`). When
//! the execution unit ends (a client's command with everything it ran, one served blocked
//! client, one expiry sweep) its ops go out in one [`Propagation::flush_unit`]: more than one
//! op is wrapped in `MULTI` ... `EXEC` so it is applied atomically, as Redis does.
//!
//! Units reach the sink in the order they changed the data, across loops: each takes a ticket
//! from the [`Sequencer`] under the lock of what it changes (see [`crate::store::sequence`]).
//! While no sink listens (or it is switched off) nothing is recorded and no ticket taken.

use crate::store::sequence::Sequencer;
use crate::store::{Op, Scope};

/// Where propagated writes go (the AOF writer, the replication backlog).
pub trait Propagator: Send + Sync {
    /// One execution unit with its ticket, in ticket order (already wrapped in MULTI/EXEC
    /// when it has several ops). An empty unit is a marker (a snapshot's cut).
    fn feed(&self, ticket: u64, unit: &[Op]);
}

/// The append-only file as the propagation sink.
pub struct AofSink(pub std::sync::Arc<crate::persist::aof::Aof>);

impl Propagator for AofSink {
    fn feed(&self, ticket: u64, unit: &[Op]) {
        self.0.feed(ticket, unit);
    }
}

/// The server's propagation sink, if any, and the order of its units.
pub struct Propagation {
    seq: &'static Sequencer,
}

impl Default for Propagation {
    fn default() -> Self {
        Propagation {
            seq: Sequencer::leak(),
        }
    }
}

impl Propagation {
    /// Installs the sink (once) and switches propagation on; returns false when one is
    /// already installed.
    pub fn install(&self, sink: Box<dyn Propagator>) -> bool {
        let ok = self
            .seq
            .set_sink(Box::new(move |ticket, ops| sink.feed(ticket, ops)));
        if ok {
            self.seq.set_enabled(true);
        }
        ok
    }

    /// Attaches the sink (once) without switching propagation on: it is switched on at a
    /// snapshot barrier ([`crate::store::StoreRef::begin_snapshot_cut`]) or by
    /// [`Propagation::set_enabled`] while nothing runs.
    pub fn attach(&self, sink: Box<dyn Propagator>) -> bool {
        self.seq
            .set_sink(Box::new(move |ticket, ops| sink.feed(ticket, ops)))
    }

    /// Switches propagation on or off (see [`Propagation::attach`]).
    pub fn set_enabled(&self, on: bool) {
        self.seq.set_enabled(on);
    }

    /// The order of units (scopes take their tickets from it).
    pub fn sequencer(&self) -> &'static Sequencer {
        self.seq
    }

    /// Whether writes are recorded.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.seq.enabled()
    }

    /// Ends one execution unit of `fx`: hands its ops to the sink in ticket order, wrapped in
    /// MULTI/EXEC when there are several and `atomic` (Redis leaves the expired-key deletions
    /// of a command that may touch arbitrary keys, RANDOMKEY and SCAN, unwrapped). Returns the
    /// unit's ticket (0: it wrote nothing while propagation was on).
    pub fn flush_unit(&self, fx: &Scope, atomic: bool) -> u64 {
        let mut ops = fx.take_ops();
        let ticket = fx.take_ticket();
        if ticket == 0 {
            debug_assert!(ops.is_empty(), "ops recorded without a ticket");
            return 0;
        }
        if atomic && ops.len() > 1 {
            // MULTI takes the first op's database (a SELECT, if any, comes before it) and EXEC
            // the last one's, so no SELECT is injected before EXEC.
            let (first, last) = (ops[0].db, ops[ops.len() - 1].db);
            ops.insert(0, Op::new(first, &[b"MULTI"]));
            ops.push(Op::new(last, &[b"EXEC"]));
        }
        self.seq.complete(ticket, ops);
        ticket
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A sink that keeps every unit it is fed.
    struct Capture(Arc<Mutex<Vec<Vec<Op>>>>);

    impl Propagator for Capture {
        fn feed(&self, _ticket: u64, unit: &[Op]) {
            if !unit.is_empty() {
                self.0.lock().unwrap().push(unit.to_vec());
            }
        }
    }

    fn unit(p: &Propagation, ops: Vec<Op>, atomic: bool) {
        let fx = Scope::new(None, Some(p.sequencer()));
        for op in ops {
            fx.propagate(op);
        }
        p.flush_unit(&fx, atomic);
    }

    #[test]
    fn several_ops_are_wrapped_in_a_transaction() {
        let p = Propagation::default();
        assert!(!p.is_active());
        unit(&p, vec![Op::new(0, &[b"SET", b"k", b"v"])], true);
        let units = Arc::new(Mutex::new(Vec::new()));
        assert!(p.install(Box::new(Capture(units.clone()))));
        assert!(!p.install(Box::new(Capture(units.clone()))));
        assert!(p.is_active());
        unit(&p, Vec::new(), true);
        unit(&p, vec![Op::new(0, &[b"SET", b"k", b"v"])], true);
        unit(
            &p,
            vec![Op::new(2, &[b"DEL", b"a"]), Op::new(3, &[b"DEL", b"b"])],
            true,
        );
        unit(
            &p,
            vec![Op::new(0, &[b"DEL", b"a"]), Op::new(0, &[b"DEL", b"b"])],
            false,
        );
        let units = units.lock().unwrap();
        assert_eq!(
            *units,
            vec![
                vec![Op::new(0, &[b"SET", b"k", b"v"])],
                vec![
                    Op::new(2, &[b"MULTI"]),
                    Op::new(2, &[b"DEL", b"a"]),
                    Op::new(3, &[b"DEL", b"b"]),
                    Op::new(3, &[b"EXEC"]),
                ],
                vec![Op::new(0, &[b"DEL", b"a"]), Op::new(0, &[b"DEL", b"b"])],
            ]
        );
    }
}
