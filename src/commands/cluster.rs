//! CLUSTER (every Redis 7.0 subcommand), READONLY, READWRITE and ASKING, as Redis 7.0.15
//! answers them when started without `cluster-enabled`: ferrokv has no cluster mode, so each
//! one, once past the dispatcher's checks, replies `ERR This instance has cluster support
//! disabled` — CLUSTER HELP included, since Redis checks `cluster_enabled` before anything else
//! in `clusterCommand`.
//!
//! The registry lines still carry Redis's arity and flags: a wrong number of arguments
//! (`ERR wrong number of arguments for 'cluster|keyslot' command`) and an unknown subcommand
//! (`ERR unknown subcommand 'x'. Try CLUSTER HELP.`) are the dispatcher's replies and come
//! first, and COMMAND INFO / DOCS / LIST / COUNT describe them as Redis does. None of them
//! declares keys (Redis's JSON has no key specs for CLUSTER KEYSLOT or COUNTKEYSINSLOT), so
//! COMMAND GETKEYS answers `The command has no key arguments`.
//!
//! Nothing here touches shared state: no locking.

use bytes::Bytes;

use super::flags::*;
use super::{container, spec, CommandSpec, Ctx, Group};

/// Redis's reply to every cluster command when cluster mode is off.
pub const DISABLED: &str = "ERR This instance has cluster support disabled";

/// Flags most CLUSTER subcommands that change the cluster carry.
const CHANGE: u32 = NO_ASYNC_LOADING | ADMIN | STALE;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name         arity flags                    group           keys     handler
    container("cluster", 0,                          Group::Cluster, CLUSTER),
    spec("asking",      1,  FAST,                    Group::Cluster, 0, 0, 0, disabled),
    spec("readonly",    1,  FAST | LOADING | STALE,  Group::Cluster, 0, 0, 0, disabled),
    spec("readwrite",   1,  FAST | LOADING | STALE,  Group::Cluster, 0, 0, 0, disabled),
];

#[rustfmt::skip]
static CLUSTER: &[CommandSpec] = &[
    //   name                            arity flags                     group           keys     handler
    spec("cluster|addslots",              -3,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|addslotsrange",         -4,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|bumpepoch",              2,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|count-failure-reports",  3,  ADMIN | STALE,            Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|countkeysinslot",        3,  STALE,                    Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|delslots",              -3,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|delslotsrange",         -4,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|failover",              -2,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|flushslots",             2,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|forget",                 3,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|getkeysinslot",          4,  STALE,                    Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|help",                   2,  LOADING | STALE,          Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|info",                   2,  STALE,                    Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|keyslot",                3,  STALE,                    Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|links",                  2,  STALE,                    Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|meet",                  -4,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|myid",                   2,  STALE,                    Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|nodes",                  2,  STALE,                    Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|replicas",               3,  ADMIN | STALE,            Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|replicate",              3,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|reset",                 -2,  ADMIN | STALE | NOSCRIPT, Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|saveconfig",             2,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|set-config-epoch",       3,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|setslot",               -4,  CHANGE,                   Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|shards",                 2,  STALE,                    Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|slaves",                 3,  ADMIN | STALE,            Group::Cluster, 0, 0, 0, disabled),
    spec("cluster|slots",                  2,  STALE,                    Group::Cluster, 0, 0, 0, disabled),
];

/// # Format
/// `CLUSTER <subcommand> [arg ...]`, `ASKING`, `READONLY`, `READWRITE` — always
/// [`DISABLED`] (see the module doc).
fn disabled(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.error(DISABLED);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::registry;

    #[test]
    fn every_subcommand_is_registered_under_cluster() {
        let cluster = registry().lookup_full(b"cluster").unwrap();
        assert_eq!(cluster.subcommands.len(), 27);
        for name in ["cluster|help", "cluster|keyslot", "CLUSTER|Slots"] {
            let s = registry().lookup_full(name.as_bytes()).unwrap();
            assert_eq!(s.group, Group::Cluster);
            assert!(s.key_positions(5).is_empty());
        }
    }
}
