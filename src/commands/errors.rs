//! Canonical error replies, each defined once, with Redis 7's exact text.

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const SYNTAX: &str = "ERR syntax error";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const DB_INDEX: &str = "ERR DB index is out of range";
pub const INVALID_DB_INDEX: &str = "ERR invalid DB index";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
/// A blocking command's timeout (in seconds) is not a number.
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const NO_SUCH_CLIENT: &str = "ERR No such client";
/// `getIntFromObjectOrReply` without a custom message (MOVE's and COPY's DB index).
pub const NOT_INT32: &str =
    "ERR value is out of range, value must between -2147483648 and 2147483647";
pub const INVALID_FIRST_DB: &str = "ERR invalid first DB index";
pub const INVALID_SECOND_DB: &str = "ERR invalid second DB index";
pub const EXPIRE_NX_CONFLICT: &str =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const EXPIRE_GT_LT_CONFLICT: &str = "ERR GT and LT options at the same time are not compatible";
pub const LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
pub const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// `ERR invalid expire time in 'set' command`
pub fn invalid_expire(command: &str) -> String {
    format!("ERR invalid expire time in '{command}' command")
}

/// `ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.`
/// (Redis's `addReplySubcommandSyntaxError`: the subcommand as sent, the command uppercased;
/// PUBSUB, CLIENT UNBLOCK, ...)
pub fn subcommand_syntax(args: &[bytes::Bytes]) -> Vec<u8> {
    concat(&[
        b"ERR unknown subcommand or wrong number of arguments for '",
        c_str(&args[1], 128),
        b"'. Try ",
        &c_str(&args[0], usize::MAX).to_ascii_uppercase(),
        b" HELP.",
    ])
}

/// `ERR wrong number of arguments for 'get' command`
pub fn wrong_arity(command: &str) -> String {
    format!("ERR wrong number of arguments for '{command}' command")
}

/// `ERR Unsupported option foo` (EXPIRE family; the option as the client spelled it).
pub fn unsupported_option(option: &[u8]) -> Vec<u8> {
    concat(&[b"ERR Unsupported option ", c_str(option, usize::MAX)])
}

/// A client argument as Redis's `%.Ns` prints it: raw bytes, cut at the first NUL and at `max`
/// bytes (error replies carry client bytes unchanged; `Reply::error` only blanks CR/LF).
pub fn c_str(arg: &[u8], max: usize) -> &[u8] {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    &arg[..end.min(max)]
}

/// Concatenates the pieces of an error text that quotes client bytes.
pub fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// String family.
pub const DECREMENT_OVERFLOW: &str = "ERR decrement would overflow";
pub const LCS_NOT_STRINGS: &str = "ERR The specified keys must contain string values";
pub const LCS_LEN_AND_IDX: &str =
    "ERR If you want both the length and indexes, please just use IDX.";
pub const LCS_TOO_LONG: &str = "ERR String too long for LCS";
pub const LCS_OVER_LIMIT: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
pub const LCS_ALLOC_FAILED: &str =
    "ERR Insufficient memory, failed allocating transient memory for LCS";

// Connection, CLIENT, COMMAND, CONFIG and SHUTDOWN.
pub const PROTOVER_NOT_INTEGER: &str = "ERR Protocol version is not an integer or out of range";
pub const NOPROTO: &str = "NOPROTO unsupported protocol version";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
/// A command other than AUTH, HELLO, QUIT and RESET before authenticating.
pub const NOAUTH: &str = "NOAUTH Authentication required.";
/// HELLO without AUTH from a client that has not authenticated.
pub const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
/// Written (whole line) to a non-loopback client in protected mode, before closing it.
pub const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";
pub const AUTH_NOPASS: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const CLIENT_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";
pub const CLIENT_ID_INVALID: &str = "ERR client-id should be greater than 0";
pub const CLIENT_ID_NOT_INTEGER: &str = "ERR Invalid client ID";
pub const INVALID_COMMAND: &str = "ERR Invalid command specified";
pub const NO_KEY_ARGUMENTS: &str = "ERR The command has no key arguments";
pub const GETKEYS_ARITY: &str = "ERR Invalid number of arguments specified for command";
pub const GETKEYS_INVALID: &str = "ERR Invalid arguments specified for command";
pub const NO_SHUTDOWN: &str = "ERR No shutdown in progress.";
/// A SHUTDOWN whose save failed, or that was aborted (Redis's BLOCKED_SHUTDOWN reply).
pub const SHUTDOWN_FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";
pub const UNBLOCK_REASON: &str = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR";

// Hash family.
pub const HASH_NOT_INTEGER: &str = "ERR hash value is not an integer";
pub const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
/// HINCRBYFLOAT's increment is infinite (before the sum is even computed).
pub const VALUE_NAN_OR_INF: &str = "ERR value is NaN or Infinity";
pub const VALUE_OUT_OF_RANGE: &str = "ERR value is out of range";
/// `getRangeLongFromObjectOrReply(..., -LONG_MAX, LONG_MAX, ...)` (HRANDFIELD's count).
pub const COUNT_OUT_OF_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

// List family.
/// `getPositiveLongFromObjectOrReply` without a custom message (LPOP/RPOP count).
pub const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
pub const INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
pub const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
pub const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
pub const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
/// LMPOP (and ZMPOP, SINTERCARD, ...) numkeys.
pub const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
/// LMPOP's (and ZMPOP's) COUNT.
pub const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";

// Set family.
pub const NUMKEYS_TOO_MANY: &str = "ERR Number of keys can't be greater than number of args";
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";

// Sorted-set family.
pub const ZADD_XX_AND_NX: &str = "ERR XX and NX options at the same time are not compatible";
pub const ZADD_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
pub const ZADD_INCR_PAIR: &str = "ERR INCR option supports a single increment-element pair";
pub const SCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
pub const MIN_MAX_NOT_FLOAT: &str = "ERR min or max is not a float";
pub const MIN_MAX_NOT_LEX: &str = "ERR min or max not valid string range item";
pub const LIMIT_NEEDS_BY: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
pub const WITHSCORES_BYLEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
pub const WEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";

/// `ERR at least 1 input key is needed for 'zunionstore' command`
pub fn at_least_one_key(command: &str) -> String {
    format!("ERR at least 1 input key is needed for '{command}' command")
}

// Pub/Sub, MONITOR and notify-keyspace-events.
/// CONFIG SET / config-file reason for a bad `notify-keyspace-events` value.
pub const INVALID_EVENT_CLASS: &str = crate::store::events::class::INVALID;
pub const SSUBSCRIBE_DENY_BLOCKING: &str =
    "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client";
pub const MONITOR_DENY_BLOCKING: &str = "ERR MONITOR isn't allowed for DENY BLOCKING client";
