//! Propagation: the stream of executed writes that persistence (AOF) and replication consume,
//! as Redis's `propagate()` / `alsoPropagate()` / `propagatePendingCommands()` produce it.
//!
//! During an execution, writes are recorded in its [`Scope`](crate::store::Scope) as [`Op`]s,
//! in the order they happened: the store records the deletion of every expired key it removes
//! (`DEL key`), the command path (`commands::call`) records each command that changed the
//! dataset — as executed, or as the handler rewrote it — and handlers may add more
//! (`also_propagate`). When the execution unit ends (a client's command with everything it ran,
//! one served blocked client, one expired key of the expiry sweep) its ops go to the
//! [`Propagator`] in one [`Propagation::flush`]: more than one op is wrapped in `MULTI` ...
//! `EXEC` so it is applied atomically, as Redis does.
//!
//! No sink is installed yet (persistence and replication will install theirs), and then
//! nothing is recorded at all: a scope records ops only when [`Propagation::is_active`].

use std::sync::OnceLock;

use crate::store::Op;

/// Where propagated writes go (the AOF writer, the replication backlog).
pub trait Propagator: Send + Sync {
    /// One execution unit, in order (already wrapped in MULTI/EXEC when it has several ops).
    fn feed(&self, unit: &[Op]);
}

/// The server's propagation sink, if any.
#[derive(Default)]
pub struct Propagation {
    sink: OnceLock<Box<dyn Propagator>>,
}

impl Propagation {
    /// Installs the sink (once); returns false when one is already installed.
    pub fn install(&self, sink: Box<dyn Propagator>) -> bool {
        self.sink.set(sink).is_ok()
    }

    /// Whether writes must be recorded.
    #[inline]
    pub fn is_active(&self) -> bool {
        self.sink.get().is_some()
    }

    /// Ends one execution unit: feeds its `ops`, wrapped in MULTI/EXEC when there are several
    /// and `atomic` (Redis leaves the expired-key deletions of a command that may touch
    /// arbitrary keys, RANDOMKEY and SCAN, unwrapped).
    pub fn flush(&self, mut ops: Vec<Op>, atomic: bool) {
        let Some(sink) = self.sink.get() else { return };
        if ops.is_empty() {
            return;
        }
        if atomic && ops.len() > 1 {
            // MULTI takes the first op's database (a SELECT, if any, comes before it) and EXEC
            // the last one's, so no SELECT is injected before EXEC.
            let (first, last) = (ops[0].db, ops[ops.len() - 1].db);
            ops.insert(0, Op::new(first, &[b"MULTI"]));
            ops.push(Op::new(last, &[b"EXEC"]));
        }
        sink.feed(&ops);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A sink that keeps every unit it is fed.
    struct Capture(Arc<Mutex<Vec<Vec<Op>>>>);

    impl Propagator for Capture {
        fn feed(&self, unit: &[Op]) {
            self.0.lock().unwrap().push(unit.to_vec());
        }
    }

    #[test]
    fn several_ops_are_wrapped_in_a_transaction() {
        let p = Propagation::default();
        assert!(!p.is_active());
        p.flush(vec![Op::new(0, &[b"SET", b"k", b"v"])], true);
        let units = Arc::new(Mutex::new(Vec::new()));
        assert!(p.install(Box::new(Capture(units.clone()))));
        assert!(!p.install(Box::new(Capture(units.clone()))));
        assert!(p.is_active());
        p.flush(Vec::new(), true);
        p.flush(vec![Op::new(0, &[b"SET", b"k", b"v"])], true);
        p.flush(
            vec![Op::new(2, &[b"DEL", b"a"]), Op::new(3, &[b"DEL", b"b"])],
            true,
        );
        p.flush(
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
