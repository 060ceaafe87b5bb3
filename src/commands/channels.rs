//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the sharded
//! SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH and PUBSUB introspection. The registry lives in
//! [`crate::pubsub`], the cross-loop delivery in [`crate::state::mailbox`]; MONITOR is a
//! server command (`server.rs`).
//!
//! Replies follow Redis 7.0: every (un)subscription is confirmed by its own
//! `[kind, channel, count]` push (a RESP2 array), where count is channels + patterns for the
//! global space and shard channels for the shard space.

use bytes::Bytes;

use super::flags::*;
use super::{clients, container, errors, spec, CommandSpec, Ctx, Group};
use crate::pubsub::Space;

const SUBSCRIBING: u32 = PUBSUB | NOSCRIPT | LOADING | STALE | SENTINEL;
const PUBLISHING: u32 = PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE;
const INTROSPECT: u32 = PUBSUB | LOADING | STALE;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name            arity flags                                  group          keys       handler
    spec("subscribe",     -2,  SUBSCRIBING,                           Group::PubSub, 0,  0, 0,  subscribe),
    spec("unsubscribe",   -1,  SUBSCRIBING,                           Group::PubSub, 0,  0, 0,  unsubscribe),
    spec("psubscribe",    -2,  SUBSCRIBING,                           Group::PubSub, 0,  0, 0,  psubscribe),
    spec("punsubscribe",  -1,  SUBSCRIBING,                           Group::PubSub, 0,  0, 0,  punsubscribe),
    spec("publish",        3,  PUBLISHING | SENTINEL,                 Group::PubSub, 0,  0, 0,  publish),
    // Shard channels are declared as keys (cluster routing), as in Redis.
    spec("ssubscribe",    -2,  PUBSUB | NOSCRIPT | LOADING | STALE,   Group::PubSub, 1, -1, 1,  ssubscribe),
    spec("sunsubscribe",  -1,  PUBSUB | NOSCRIPT | LOADING | STALE,   Group::PubSub, 1, -1, 1,  sunsubscribe),
    spec("spublish",       3,  PUBLISHING,                            Group::PubSub, 1,  1, 1,  spublish),
    container("pubsub",        0,                                     Group::PubSub, PUBSUB_SUBCOMMANDS),
];

#[rustfmt::skip]
static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    //   name                   arity flags             group          keys     handler
    spec("pubsub|channels",      -2,  INTROSPECT,       Group::PubSub, 0, 0, 0, channels),
    spec("pubsub|numsub",        -2,  INTROSPECT,       Group::PubSub, 0, 0, 0, numsub),
    spec("pubsub|numpat",         2,  INTROSPECT,       Group::PubSub, 0, 0, 0, numpat),
    spec("pubsub|shardchannels", -2,  INTROSPECT,       Group::PubSub, 0, 0, 0, shardchannels),
    spec("pubsub|shardnumsub",   -2,  INTROSPECT,       Group::PubSub, 0, 0, 0, shardnumsub),
    spec("pubsub|help",           2,  LOADING | STALE,  Group::PubSub, 0, 0, 0, help),
];

/// `[kind, channel or nil, count]`.
fn confirm(ctx: &mut Ctx<'_>, kind: &str, channel: Option<&[u8]>, count: usize) {
    let before = ctx.out.len();
    let out = &mut *ctx.out;
    out.push(3);
    out.bulk(kind.as_bytes());
    match channel {
        Some(c) => out.bulk(c),
        None => out.null(),
    }
    out.int(count as i64);
    // Sent even under CLIENT REPLY OFF/SKIP, as Redis's addReplyPubsubSubscribed (it flags
    // the client CLIENT_PUSHING, in RESP2 too).
    let written = ctx.out.len() - before;
    ctx.count_as_push(written);
}

fn subscribe_in(ctx: &mut Ctx<'_>, argv: &[Bytes], space: Space) {
    let (kind, _, _) = space.names();
    for channel in &argv[1..] {
        ctx.srv
            .pubsub
            .subscribe(ctx.client.member(), space, channel);
        confirm(ctx, kind, Some(channel), ctx.client.pubsub.count(space));
    }
}

fn unsubscribe_in(ctx: &mut Ctx<'_>, argv: &[Bytes], space: Space) {
    let (_, kind, _) = space.names();
    let channels = if argv.len() == 1 {
        let all = ctx.client.pubsub.channels(space);
        if all.is_empty() {
            // Subscribed to nothing: still one confirmation, with a nil channel.
            return confirm(ctx, kind, None, ctx.client.pubsub.count(space));
        }
        all
    } else {
        argv[1..].to_vec()
    };
    for channel in &channels {
        ctx.srv
            .pubsub
            .unsubscribe(ctx.client.member(), space, channel);
        confirm(ctx, kind, Some(channel), ctx.client.pubsub.count(space));
    }
}

/// # Format
/// `SUBSCRIBE channel [channel ...]` — one `subscribe` confirmation per channel.
fn subscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    // Allowed inside MULTI/EXEC, as Redis (for backward compatibility), unlike SSUBSCRIBE.
    subscribe_in(ctx, argv, Space::Global);
}

/// # Format
/// `UNSUBSCRIBE [channel [channel ...]]` — every channel when none is given.
fn unsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    unsubscribe_in(ctx, argv, Space::Global);
}

/// # Format
/// `PSUBSCRIBE pattern [pattern ...]`
fn psubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    for pattern in &argv[1..] {
        ctx.srv.pubsub.psubscribe(ctx.client.member(), pattern);
        let count = ctx.client.pubsub.count(Space::Global);
        confirm(ctx, "psubscribe", Some(pattern), count);
    }
}

/// # Format
/// `PUNSUBSCRIBE [pattern [pattern ...]]` — every pattern when none is given.
fn punsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let patterns = if argv.len() == 1 {
        let all = ctx.client.pubsub.patterns();
        if all.is_empty() {
            let count = ctx.client.pubsub.count(Space::Global);
            return confirm(ctx, "punsubscribe", None, count);
        }
        all
    } else {
        argv[1..].to_vec()
    };
    for pattern in &patterns {
        ctx.srv.pubsub.punsubscribe(ctx.client.member(), pattern);
        let count = ctx.client.pubsub.count(Space::Global);
        confirm(ctx, "punsubscribe", Some(pattern), count);
    }
}

/// # Format
/// `PUBLISH channel message` — the number of receivers on every loop (channel subscribers
/// plus matching pattern subscriptions).
fn publish(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let n = ctx.publish(Space::Global, &argv[1], &argv[2]);
    ctx.out.int(n as i64);
}

/// # Format
/// `SSUBSCRIBE shardchannel [shardchannel ...]`
fn ssubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    // Inside EXEC (Redis's CLIENT_DENY_BLOCKING), unlike SUBSCRIBE.
    if ctx.in_exec {
        return ctx.out.error(errors::SSUBSCRIBE_DENY_BLOCKING);
    }
    subscribe_in(ctx, argv, Space::Shard);
}

/// # Format
/// `SUNSUBSCRIBE [shardchannel [shardchannel ...]]`
fn sunsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    unsubscribe_in(ctx, argv, Space::Shard);
}

/// # Format
/// `SPUBLISH shardchannel message` — shard subscribers only (patterns do not apply).
fn spublish(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let n = ctx.publish(Space::Shard, &argv[1], &argv[2]);
    ctx.out.int(n as i64);
}

fn channel_list(ctx: &mut Ctx<'_>, argv: &[Bytes], space: Space) {
    if argv.len() > 3 {
        return ctx.out.error(errors::subcommand_syntax(argv));
    }
    let names = ctx
        .srv
        .pubsub
        .active(space, argv.get(2).map(|p| p.as_ref()));
    ctx.out.array(names.len());
    for n in &names {
        ctx.out.bulk(n);
    }
}

fn numsub_in(ctx: &mut Ctx<'_>, argv: &[Bytes], space: Space) {
    ctx.out.array((argv.len() - 2) * 2);
    for channel in &argv[2..] {
        ctx.out.bulk(channel);
        ctx.out.int(ctx.srv.pubsub.numsub(space, channel) as i64);
    }
}

/// # Format
/// `PUBSUB CHANNELS [pattern]` — active channels (with at least one subscriber).
fn channels(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    channel_list(ctx, argv, Space::Global);
}

/// # Format
/// `PUBSUB NUMSUB [channel ...]` — `[channel, count, ...]` (patterns not counted).
fn numsub(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    numsub_in(ctx, argv, Space::Global);
}

/// # Format
/// `PUBSUB NUMPAT` — distinct patterns subscribed to.
fn numpat(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.int(ctx.srv.pubsub.numpat() as i64);
}

/// # Format
/// `PUBSUB SHARDCHANNELS [pattern]`
fn shardchannels(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    channel_list(ctx, argv, Space::Shard);
}

/// # Format
/// `PUBSUB SHARDNUMSUB [shardchannel ...]`
fn shardnumsub(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    numsub_in(ctx, argv, Space::Shard);
}

/// # Format
/// `PUBSUB HELP`
fn help(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    clients::help_reply(
        ctx,
        &argv[0],
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
}

#[cfg(test)]
mod tests {
    use crate::commands::session::Session;

    #[test]
    fn registry_follows_subscriptions_and_clear_leaves_no_trace() {
        let mut s = Session::new();
        let run = |s: &mut Session, resp3: bool, args: &[&str]| {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            s.run_at(0, resp3, &args)
        };
        run(&mut s, false, &["SUBSCRIBE", "a", "b"]);
        run(&mut s, false, &["PSUBSCRIBE", "a*"]);
        run(&mut s, false, &["SSUBSCRIBE", "a"]);
        assert_eq!(s.srv.pubsub.numsub(crate::pubsub::Space::Global, b"a"), 1);
        assert_eq!(s.srv.pubsub.numpat(), 1);
        assert!(s.client.info.pubsub.is_subscribed());
        // RESP3: the session's own message comes before the PUBLISH reply (both deliveries).
        assert_eq!(
            run(&mut s, true, &["PUBLISH", "a", "m"]),
            ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nm\r\n>4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$1\r\nm\r\n:2\r\n"
        );
        assert_eq!(
            run(&mut s, false, &["PING"]),
            "*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        );
        assert_eq!(run(&mut s, false, &["RESET"]), "+RESET\r\n");
        assert_eq!(s.srv.pubsub.numsub(crate::pubsub::Space::Global, b"a"), 0);
        assert_eq!(s.srv.pubsub.numsub(crate::pubsub::Space::Shard, b"a"), 0);
        assert_eq!(s.srv.pubsub.numpat(), 0);
        assert_eq!(s.srv.pubsub.channel_count(crate::pubsub::Space::Global), 0);
        assert!(!s.client.info.pubsub.is_subscribed());
        assert_eq!(run(&mut s, true, &["PUBLISH", "a", "m"]), ":0\r\n");
    }
}
