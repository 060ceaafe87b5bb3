//! Keyspace notifications and WATCH signals of every write command, and the `keymiss` events of
//! every read lookup, compared with a real `redis-server` 7.0.
//!
//! # How it works
//! ferrokv runs in-process through [`Session`] (no sockets: pub/sub is not needed), with a
//! capturing sink installed on its store's event hub, so each command's notifications are the
//! `(channel, message)` pairs the sink received while it ran. Redis runs as a real server on a
//! free port: one subscriber connection `PSUBSCRIBE`s `__key*@*__:*` and `SUBSCRIBE`s a marker
//! channel; after each command the test publishes a marker and reads the subscriber up to it,
//! which yields exactly that command's notifications (Redis publishes them synchronously, before
//! the command's reply).
//!
//! Each step of a script is also run under WATCH: before the step every key the script names
//! (in databases 0 and 1) is watched, by one Redis connection per key and by one ferrokv
//! registration per key; after it, each Redis watcher runs an empty MULTI/EXEC (a nil reply =
//! the key was signalled) and each ferrokv flag is read. So every `signalModifiedKey` and
//! `touchAllWatchedKeysInDb` is compared too.
//!
//! For every step the reply, the notifications (in order), the set of signalled keys and the
//! keyspace hits and misses counted (`INFO stats`: Redis counts a miss exactly where it
//! publishes `keymiss`, except OBJECT) must be equal. The whole table runs with `notify-keyspace-events` set to `KEA`, `KEAn`, `KEAm`
//! (`keymiss` among the other events, in Redis's order) and `Km` (`keymiss` alone).
//! Redis's active expiry is turned off (`DEBUG SET-ACTIVE-EXPIRE 0`), so an expired key stays
//! until a lookup removes it, as in the in-process ferrokv (which has no sweeper thread).
//!
//! # Script syntax
//! One command per string, split on spaces; `""` is an empty argument; `\xNN` is a byte; a
//! leading `~` skips the
//! reply comparison (random replies such as SPOP's); `@sleep N` sleeps N ms. Both sides run on
//! the wall clock: keys that should expire get a 100 ms TTL and the script then sleeps 130 ms,
//! so no key expires in the middle of a step (EXEC also aborts when a watched key expired
//! since WATCH, which would make such a step racy).

// Its own test binary, not a module of tests/integration/: see the note in that crate's
// main.rs.
#[path = "integration/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::Server;
use ferrokv::commands::registry;
use ferrokv::commands::session::{request, Session};
use ferrokv::store::events::{class, WatchFlag};
use ferrokv::store::Scope;

/// Databases whose keys are watched (MOVE, COPY ... DB and SWAPDB reach database 1).
const WATCHED_DBS: [usize; 2] = [0, 1];

#[rustfmt::skip]
const SCRIPTS: &[(&str, &[&str])] = &[
    ("set", &[
        "SET k v", "SET k v2", "SET k v NX", "SET k v3 XX", "SET nx v XX", "SET k v4 GET",
        "SET k v5 EX 100", "SET k v6 PX 100000 NX", "SET k v7 KEEPTTL", "SET k v8 XX PX 100000",
        "SET k v EX 0", "SET k v EX abc", "SET k v BADOPT",
        "RPUSH l a", "SET l v GET", "SET l v NX GET", "SET l v",
        // A past absolute time: stored already expired (`new`, `set`, `expire`), then removed by
        // the next lookup (`expired`).
        "SET k2 v EXAT 1", "DBSIZE", "GET k2", "SET k3 v PXAT 1 GET", "EXISTS k3",
    ]),
    ("setnx setex psetex", &[
        "SETNX k v", "SETNX k v", "SETEX k 100 v", "PSETEX k 100000 v", "SETEX k 0 v",
        "SETEX k abc v", "PSETEX k2 100000 v", "RPUSH l a", "SETNX l v", "SETEX l 10 v",
    ]),
    ("getset getdel", &[
        "GETSET k v", "GETSET k v2", "GETDEL k", "GETDEL k", "RPUSH l a", "GETSET l v",
        "GETDEL l",
    ]),
    ("getex", &[
        "SET k v", "GETEX k", "GETEX k PERSIST", "GETEX k EX 100", "GETEX k PERSIST",
        "GETEX k PX 100000", "GETEX k EXAT 9999999999", "GETEX k PXAT 99999999999999",
        "GETEX k EX abc", "GETEX k EX 0", "GETEX k PXAT 1", "GETEX k EX 100", "GETEX missing EX 100",
        "GETEX missing PERSIST", "RPUSH l a", "GETEX l EX 100",
    ]),
    ("mset msetnx", &[
        "MSET a 1 b 2 a 3", "MSETNX a 1 c 2", "MSETNX c 1 d 2 c 3", "MSET a", "MSETNX a",
        "RPUSH l x", "MSET l 1", "MSETNX l 1 e 2",
    ]),
    ("counters", &[
        "INCR n", "INCR n", "DECR n", "INCRBY n 5", "DECRBY n 3", "INCRBY n abc",
        "DECRBY n -9223372036854775808", "DECR m", "SET s abc", "INCR s", "INCRBYFLOAT f 1.5",
        "INCRBYFLOAT f 2", "INCRBYFLOAT s 1", "INCRBYFLOAT f abc", "INCRBYFLOAT g inf",
        "SET big 9223372036854775807", "INCR big", "RPUSH l a", "INCR l", "INCRBYFLOAT l 1",
    ]),
    ("append setrange", &[
        "APPEND k abc", "APPEND k def", "SETRANGE k 1 X", "SETRANGE k 0 \"\"", "SETRANGE m 0 \"\"",
        "SETRANGE m 3 x", "SETRANGE k -1 x", "SETRANGE k abc x", "APPEND k \"\"",
        "RPUSH l a", "APPEND l x", "SETRANGE l 0 x", "SETRANGE l 0 \"\"",
    ]),
    ("bitmaps", &[
        "SETBIT k 7 1", "SETBIT k 7 1", "SETBIT k 7 0", "SETBIT k 100 0", "SETBIT k 3 0",
        "SETBIT k x 1", "GETBIT k 7", "GETBIT nokey 1", "BITCOUNT k", "BITCOUNT nokey",
        "BITPOS k 1", "BITPOS nokey 0", "SET a abc", "BITOP AND d a k", "BITOP OR d a nokey",
        "BITOP AND d nokey nokey2", "BITOP AND d nokey", "BITOP NOT d a", "BITOP NOT d a k",
        "RPUSH l a", "SETBIT l 0 1", "GETBIT l 0", "BITCOUNT l", "BITPOS l 1", "BITOP OR d a l",
        "SET e v PX 100", "SET e2 v PX 100", "SET e3 v PX 100", "@sleep 130", "SETBIT e 1 1",
        "BITOP OR e2 a", "BITOP AND e3 nokey", "GETBIT e2 1",
        "BITFIELD f SET u8 0 1", "BITFIELD f SET u8 0 1", "BITFIELD f GET u8 0",
        "BITFIELD nokey GET u8 0", "BITFIELD f SET u8 #4 0", "BITFIELD f OVERFLOW FAIL INCRBY u2 0 9",
        "BITFIELD g OVERFLOW FAIL SET u2 0 9", "BITFIELD f INCRBY i8 0 0", "BITFIELD_RO f GET u8 0",
        "BITFIELD_RO nokey GET u8 0", "BITFIELD_RO f SET u8 0 1", "BITFIELD l GET u8 0",
        "BITFIELD l SET u8 0 1",
    ]),
    ("sort", &[
        "RPUSH l 3 1 2", "SORT l", "SORT nokey", "SORT l STORE d", "SORT l STORE d", "SORT nokey STORE d",
        "SORT nokey STORE d", "SET w_1 10", "SORT l BY w_*", "SORT l BY w_* GET h_*->f STORE d",
        "HSET h_2 f x", "SORT l GET h_*->f GET # GET nostar", "SORT_RO l BY nosort", "SORT_RO nokey",
        "SET s v", "SORT s", "SORT s STORE d", "SORT_RO s", "SADD set b a", "SORT set ALPHA STORE d",
        "SET e v PX 100", "SET e2 v PX 100", "RPUSH e3 1", "PEXPIRE e3 100", "@sleep 130",
        "SORT l STORE e", "SORT e2", "SORT_RO e3", "SORT l BY e* LIMIT 0 1",
    ]),
    ("lazy expiry in writes", &[
        "SET k v PX 100", "SET e v PX 100", "SET e2 v PX 100", "SET e3 v PX 100", "SET e4 v PX 100",
        "SET e5 v PX 100", "SET e6 1 PX 100", "SET e7 v PX 100", "SET e8 v PX 100", "@sleep 130",
        "SET k v2", "INCR e", "GET e2", "APPEND e3 x", "DEL e4", "SET e5 v NX",
        "INCRBYFLOAT e6 1", "SETRANGE e7 0 \"\"", "SET e8 v XX",
    ]),
    ("del unlink", &[
        "MSET a 1 b 2", "DEL a b c a", "DEL a", "SET a 1", "UNLINK a b", "RPUSH l x",
        "SADD s x", "DEL l s",
    ]),
    ("rename", &[
        "SET a 1", "RENAME a b", "RENAME a b", "SET a 2", "RENAME a b", "RENAME b b",
        "RENAMENX b b", "RENAMENX x b", "SET c 3", "RENAMENX b c", "RENAMENX b d",
        "SET t v EX 100", "RENAME t u", "TTL u", "SET e v PX 100", "SET f 1", "@sleep 130",
        "RENAME f e", "SET g v PX 100", "@sleep 130", "RENAME g h",
    ]),
    ("move", &[
        "SET a 1", "MOVE a 1", "MOVE a 1", "SET a 2", "MOVE a 1", "MOVE a 0", "MOVE a 99",
        "SELECT 1", "MOVE a 0", "SELECT 0", "SET e v PX 100", "SELECT 1", "SET e v PX 100",
        "SELECT 0", "SET b v", "@sleep 130", "MOVE e 1", "MOVE b 1",
    ]),
    ("copy", &[
        "SET a 1", "COPY a b", "COPY a b", "COPY a b REPLACE", "COPY a b DB 1", "COPY a a",
        "COPY x y", "COPY a b DB 1 REPLACE", "COPY a b DB 1", "COPY a a DB 1 REPLACE",
        "COPY a b BADOPT", "RPUSH l x y", "COPY l m", "SET e v PX 100", "@sleep 130",
        "COPY a e", "SET f v PX 100", "@sleep 130", "COPY f g",
    ]),
    // Payloads are Redis 7.0's DUMP of the string "1" and of the list [x, y].
    ("dump restore", &[
        "SET a 1", "DUMP a", "DUMP missing", "RPUSH l x y", "DUMP l", "SET e v PX 100",
        "@sleep 130", "DUMP e",
        "RESTORE b 0 \\x00\\xc0\\x01\\x0a\\x00\\x26\\x78\\xe7\\xb6\\xd1\\x01\\x11\\xfc", "RESTORE b 0 \\x00\\xc0\\x01\\x0a\\x00\\x26\\x78\\xe7\\xb6\\xd1\\x01\\x11\\xfc", "RESTORE b 0 \\x12\\x01\\x02\\x0d\\x0d\\x00\\x00\\x00\\x02\\x00\\x81\\x78\\x02\\x81\\x79\\x02\\xff\\x0a\\x00\\x7e\\x97\\x5b\\x56\\x8d\\x1a\\xfa\\x6f REPLACE",
        "RESTORE m 0 \\x12\\x01\\x02\\x0d\\x0d\\x00\\x00\\x00\\x02\\x00\\x81\\x78\\x02\\x81\\x79\\x02\\xff\\x0a\\x00\\x7e\\x97\\x5b\\x56\\x8d\\x1a\\xfa\\x6f", "RESTORE t 100000 \\x00\\xc0\\x01\\x0a\\x00\\x26\\x78\\xe7\\xb6\\xd1\\x01\\x11\\xfc", "RESTORE t 0 \\x00\\xc0\\x01\\x0a\\x00\\x26\\x78\\xe7\\xb6\\xd1\\x01\\x11\\xfc REPLACE ABSTTL",
        "RESTORE x 0 garbage", "RESTORE e 0 \\x00\\xc0\\x01\\x0a\\x00\\x26\\x78\\xe7\\xb6\\xd1\\x01\\x11\\xfc",
    ]),
    // Nothing listens on port 1, so every transfer fails before a key is written: what is
    // compared is the key lookup (keymiss, lazy expiry) and that a failed MIGRATE touches nothing.
    ("migrate", &[
        "MIGRATE 127.0.0.1 1 missing 0 1000", "SET e v PX 100", "@sleep 130",
        "MIGRATE 127.0.0.1 1 e 0 1000", "MIGRATE 127.0.0.1 1 \"\" 0 1000 KEYS missing e",
        "SET a v", "RPUSH l x", "MIGRATE 127.0.0.1 1 a 0 1000", "MIGRATE 127.0.0.1 1 a 0 1000 COPY",
        "MIGRATE 127.0.0.1 1 \"\" 0 1000 REPLACE KEYS a l missing", "MIGRATE 127.0.0.1 1 a 0 abc",
        "MIGRATE 127.0.0.1 1 a 0 1000 BADOPT", "EXISTS a l",
    ]),
    ("scripts", &[
        "SET k v", "EVAL return\\x20redis.call('get',KEYS[1]) 1 missing",
        "EVAL_RO return\\x20redis.call('get',KEYS[1]) 1 k",
        "SCRIPT LOAD return\\x20redis.call('get',KEYS[1])", "EVALSHA_RO fd758d1589d044dd850a6f05d52f2eefd27f033f 1 missing", "EVALSHA fd758d1589d044dd850a6f05d52f2eefd27f033f 1 k",
        "EVAL redis.call('set',KEYS[1],'x')\\x20redis.call('expire',KEYS[1],100)\\x20redis.call('del','k')\\x20return\\x201 1 s",
        "SET k v",
        "FUNCTION LOAD #!lua\\x20name=nd\\x0aredis.register_function{function_name='rd',callback=function(k)\\x20return\\x20redis.call('get',k[1])\\x20end,flags={'no-writes'}}",
        "FCALL_RO rd 1 missing", "FCALL rd 1 k", "FUNCTION FLUSH",
    ]),
    ("expire persist", &[
        "SET k v", "EXPIRE k 100", "EXPIRE k 100 NX", "EXPIRE k 200 XX", "PEXPIRE k 100000 GT",
        "PEXPIRE k 1000000 GT", "EXPIREAT k 99999999999", "PEXPIREAT k 99999999999999 LT",
        "PERSIST k", "PERSIST k", "PERSIST missing", "EXPIRE k 100 XX", "EXPIRE k 100 GT",
        "EXPIRE missing 10", "EXPIRE k abc", "EXPIRE k 10 NX XX", "EXPIRE k 0", "SET k v",
        "PEXPIREAT k 1", "SET k v", "EXPIREAT k -5", "SET k v", "PEXPIRE k -1 LT",
        "SET e v PX 100", "@sleep 130", "EXPIRE e 100", "SET p v PX 100", "@sleep 130", "PERSIST p",
    ]),
    ("reads report nothing", &[
        "SET k v", "TOUCH k x", "OBJECT ENCODING k", "TYPE k", "TTL k", "PTTL x", "EXISTS k x",
        "GET k", "STRLEN k", "DBSIZE", "SET e v PX 100", "@sleep 130", "TOUCH e", "SET e v PX 100",
        "@sleep 130", "TYPE e", "SET e v PX 100", "@sleep 130", "TTL e",
    ]),
    ("flush and swapdb signal watchers", &[
        "SET a 1", "SELECT 1", "SET b 2", "SET c 3", "SELECT 0", "SWAPDB 0 1", "GET b",
        "SWAPDB 0 0", "SWAPDB 1 0", "FLUSHDB", "SELECT 1", "FLUSHALL", "SET a v", "SET e v PX 100",
        "@sleep 130", "FLUSHDB", "SET a v", "SELECT 0", "SET e v PX 100", "@sleep 130",
        "SWAPDB 0 1", "FLUSHALL ASYNC", "FLUSHDB SYNC", "FLUSHDB BAD",
    ]),
    ("list pushes and edits", &[
        "LPUSH l a b", "RPUSH l c", "LPUSHX l d", "RPUSHX m d", "LPUSHX m d",
        "LINSERT l BEFORE a x", "LINSERT l AFTER zz y", "LINSERT m BEFORE a x",
        "LINSERT l SIDEWAYS a x", "LSET l 0 q", "LSET l 100 q", "LSET m 0 q", "LSET l x q",
        "LREM l 0 nothere", "LREM l 1 q", "LTRIM l 0 -1", "LTRIM l 0 0", "LTRIM l 5 10",
        "LTRIM l 0 1", "RPUSH l a b c a", "LREM l 0 a", "LREM l 0 b", "LREM l 0 c",
        "SET s v", "LPUSH s x", "LPUSHX s x", "LINSERT s BEFORE a x", "LREM s 0 x",
        "LTRIM s 0 1", "LSET s 0 x",
    ]),
    ("list pops", &[
        "RPUSH l a b c d", "LPOP l", "RPOP l", "LPOP l 0", "LPOP l 1", "RPOP l 5", "LPOP l",
        "LPOP l 2", "RPOP l 0", "LPOP l -1", "SET s v", "LPOP s", "RPOP s 2", "RPUSH l2 x",
        "LMPOP 2 missing l2 LEFT", "RPUSH l2 x y z", "LMPOP 2 l2 l RIGHT COUNT 2",
        "LMPOP 1 l2 LEFT COUNT 5", "LMPOP 1 l2 LEFT", "LMPOP 2 s l2 LEFT", "LMPOP 0 l2 LEFT",
        "RPUSH e x", "PEXPIRE e 100", "@sleep 130", "LPOP e",
    ]),
    ("list moves", &[
        "RPUSH src a b", "LMOVE src dst LEFT RIGHT", "LMOVE src dst RIGHT LEFT",
        "LMOVE src dst LEFT LEFT", "RPOPLPUSH dst dst", "RPUSH one x",
        "LMOVE one one LEFT RIGHT", "SET s v", "LMOVE dst s LEFT LEFT", "LMOVE s dst LEFT LEFT",
        "RPOPLPUSH dst new", "LMOVE dst new UP LEFT", "RPUSH e x", "PEXPIRE e 100", "@sleep 130",
        "LMOVE new e LEFT LEFT", "RPOPLPUSH new dst",
    ]),
    ("blocking commands served at once", &[
        "RPUSH l a b c", "BLPOP l 0", "BRPOP missing l 0", "BLMOVE l dst LEFT RIGHT 0",
        "BRPOPLPUSH dst dst2 0", "RPUSH l x y", "BLMPOP 0 2 missing l LEFT COUNT 5", "SET s v",
        "BLPOP s 0", "BLPOP l -1", "RPUSH l q", "BLMOVE l s LEFT LEFT 0", "ZADD z 1 a 2 b 3 c",
        "BZPOPMIN z 0", "BZPOPMAX z 0.5", "BZMPOP 0 1 z MIN COUNT 5", "BZPOPMIN s 0",
    ]),
    ("hashes", &[
        "HSET h a 1 b 2", "HSET h a 1", "HMSET h c 3", "HSETNX h a 9", "HSETNX h d 4",
        "HSETNX h2 x 1", "HDEL h nope", "HDEL h a b", "HDEL h c d", "HDEL h2 x",
        "HINCRBY h3 f 5", "HINCRBY h3 f 5", "HSET h3 s abc", "HINCRBY h3 s 1", "HINCRBY h3 f x",
        "HSET h3 big 9223372036854775807", "HINCRBY h3 big 1", "HINCRBYFLOAT h3 g 1.5",
        "HINCRBYFLOAT h3 s 1", "HINCRBYFLOAT h3 g inf", "HINCRBYFLOAT h4 f 2.5", "SET str v",
        "HSET str a 1", "HSETNX str a 1", "HDEL str a", "HINCRBY str a 1", "HDEL missing a",
        "HSET h a", "HMSET h a",
    ]),
    ("sets", &[
        "SADD s a b", "SADD s a", "SADD s c", "SREM s x", "SREM s a x", "SREM s b c",
        "SREM missing a", "SADD s 1 2 3", "SPOP s 0", "~SPOP s 1", "~SPOP s 5", "SPOP s",
        "SADD s x", "SPOP s", "SPOP missing", "SPOP missing 2", "SPOP s -1", "SADD s 1 2 3",
        "~SPOP s", "SPOP s 2 3", "SET str v", "SADD str a", "SREM str a", "SPOP str",
    ]),
    ("smove", &[
        "SADD a 1 2", "SADD b 2", "SMOVE a b 1", "SMOVE a b 2", "SMOVE a b 3", "SADD a 5",
        "SMOVE a a 5", "SMOVE a a 6", "SMOVE a c 9", "SMOVE a c 5", "SET str v",
        "SMOVE c str 5", "SMOVE str c 5", "SMOVE missing str 5",
    ]),
    ("set stores", &[
        "SADD a 1 2 3", "SADD b 2 3 4", "SINTERSTORE d a b", "SINTERSTORE d a b",
        "SUNIONSTORE d a b", "SDIFFSTORE d a b", "SINTERSTORE d a missing",
        "SINTERSTORE d a missing", "SADD c 9", "SINTERSTORE d a c", "SUNIONSTORE d a",
        "SINTERSTORE d a c", "SDIFFSTORE d a a", "SDIFFSTORE a a b", "SET str v",
        "SUNIONSTORE d a str", "SUNIONSTORE str a", "SDIFFSTORE d missing a",
        "SET e v PX 100", "@sleep 130", "SINTERSTORE e a missing", "SET e v PX 100", "@sleep 130",
        "SUNIONSTORE e a", "SET e2 v PX 100", "@sleep 130", "SDIFFSTORE e2 e2 a",
    ]),
    ("zadd zrem", &[
        "ZADD z 1 a 2 b", "ZADD z 1 a", "ZADD z NX 5 a", "ZADD z XX 5 a", "ZADD z XX 1 new",
        "ZADD z2 XX 1 a", "ZADD z GT 1 a", "ZADD z LT 1 a", "ZADD z CH 3 a", "ZADD z INCR 1 a",
        "ZADD z INCR NX 1 a", "ZINCRBY z 2 b", "ZINCRBY z3 1 x", "ZADD z abc a",
        "ZADD z NX XX 1 a", "ZADD z INCR +inf a", "ZADD z INCR -inf a", "ZADD z 1 a 2",
        "ZREM z nope", "ZREM z a", "ZREM z b x new", "ZREM z3 x", "SET str v", "ZADD str 1 a",
        "ZREM str a", "ZINCRBY str 1 a",
    ]),
    ("zremrange", &[
        "ZADD z 1 a 2 b 3 c 4 d", "ZREMRANGEBYRANK z 10 20", "ZREMRANGEBYRANK z 0 0",
        "ZREMRANGEBYSCORE z 100 200", "ZREMRANGEBYSCORE z 2 2", "ZREMRANGEBYSCORE z x 2",
        "ZREMRANGEBYSCORE z -inf +inf", "ZADD l 0 m 0 n 0 o", "ZREMRANGEBYLEX l [m [m",
        "ZREMRANGEBYLEX l [x [y", "ZREMRANGEBYLEX l x y", "ZREMRANGEBYLEX l - +",
        "ZREMRANGEBYRANK missing 0 1", "SET str v", "ZREMRANGEBYRANK str 0 1",
    ]),
    ("zpop zmpop", &[
        "ZADD z 1 a 2 b 3 c", "ZPOPMIN z", "ZPOPMAX z 0", "ZPOPMAX z", "ZPOPMIN z 5",
        "ZPOPMIN z", "ZPOPMIN z 0", "ZADD z 1 a", "ZMPOP 2 missing z MIN", "ZADD z 1 a 2 b",
        "ZMPOP 1 z MAX COUNT 5", "ZMPOP 1 z MAX", "ZPOPMIN z -1", "SET str v", "ZPOPMIN str",
        "ZADD z 1 a", "ZMPOP 2 str z MIN",
    ]),
    ("multi-key lookups expire keys in Redis's order", &[
        "SADD a 1", "SET str v", "SET e v PX 100", "SET f v PX 100", "SET g v PX 100",
        "SET h v PX 100", "SET i v PX 100", "SET j v PX 100", "@sleep 130",
        "SINTER a str e", "SUNION e a f", "SINTERSTORE d g str h", "MGET i x j",
        "SET e v PX 100", "SET f v PX 100", "SET g v PX 100", "SET h v PX 100",
        "SET i v PX 100", "SET j v PX 100", "@sleep 130",
        "ZUNION 3 e str f", "ZINTERSTORE d 2 g h", "LCS i j", "LMPOP 2 e a LEFT",
        "ZMPOP 2 f a MIN", "SMOVE g h 1", "SET k v PX 100", "SADD s 1", "@sleep 130",
        "SMOVE s k 1", "MSETNX h 1 a 2", "RPUSH l x", "SET e v PX 100", "@sleep 130",
        "LMOVE l e LEFT LEFT", "SET e v PX 100", "@sleep 130", "LMOVE e l LEFT LEFT",
    ]),
    ("zset stores", &[
        "ZADD a 1 x 2 y", "ZADD b 3 y", "ZUNIONSTORE d 2 a b", "ZINTERSTORE d 2 a b",
        "ZDIFFSTORE d 2 a b", "ZINTERSTORE d 2 a missing", "ZINTERSTORE d 2 a missing",
        "ZRANGESTORE d a 0 -1", "ZRANGESTORE d a 10 20", "ZRANGESTORE d missing 0 -1",
        "ZRANGESTORE d a 0 0", "ZUNIONSTORE d 1 a WEIGHTS x", "ZUNIONSTORE d 0 a", "SET str v",
        "ZUNIONSTORE d 2 a str", "ZRANGESTORE d str 0 -1", "ZUNIONSTORE a 1 a",
        "ZRANGESTORE a a 0 0", "SADD s x", "ZUNIONSTORE d 2 a s", "SET e v PX 100", "@sleep 130",
        "ZINTERSTORE e 2 a missing", "SET e v PX 100", "@sleep 130", "ZRANGESTORE e a 0 -1",
        "SET e v PX 100", "@sleep 130", "ZRANGESTORE e missing 0 -1",
    ]),
    ("geo", &[
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "GEOADD g 13.361389 38.115556 Palermo", "GEOADD g XX CH 13.5 38.1 Palermo",
        "GEOADD g NX 1 1 Palermo", "GEOADD g 200 1 x", "GEOADD g NX XX 1 1 x",
        "GEODIST g Palermo Catania km", "GEODIST m a b", "GEOHASH g Palermo x", "GEOHASH m a",
        "GEOPOS g Palermo", "GEOPOS m a", "GEORADIUS g 15 37 200 km", "GEORADIUS m 15 37 1 km",
        "GEORADIUS_RO g 15 37 200 km ASC", "GEORADIUS_RO m 15 37 200 km",
        "GEORADIUSBYMEMBER g Palermo 200 km", "GEORADIUSBYMEMBER m Palermo 200 km",
        "GEORADIUSBYMEMBER_RO g Palermo 200 km", "GEORADIUSBYMEMBER_RO m x 1 km",
        "GEOSEARCH g FROMLONLAT 15 37 BYBOX 400 400 km", "GEOSEARCH m FROMMEMBER x BYRADIUS 1 m",
        "GEORADIUS g 15 37 200 km STORE d", "GEORADIUS g 15 37 200 km STOREDIST d",
        "GEORADIUS g 0 0 1 km STORE d", "GEORADIUS m 0 0 1 km STORE d",
        "GEORADIUSBYMEMBER g Palermo 10 km STORE d2", "GEORADIUSBYMEMBER m x 1 km STORE d2",
        "GEOSEARCHSTORE d3 g FROMMEMBER Palermo BYRADIUS 300 km", "GEOSEARCHSTORE d3 g FROMMEMBER Palermo BYRADIUS 300 km STOREDIST",
        "GEOSEARCHSTORE d3 m FROMLONLAT 0 0 BYRADIUS 1 km", "GEOSEARCHSTORE d3 m FROMLONLAT 0 0 BYRADIUS 1 km",
        "GEOSEARCHSTORE g g FROMLONLAT 15 37 BYRADIUS 100 km", "SET str v",
        "GEOSEARCHSTORE d4 str FROMLONLAT 0 0 BYRADIUS 1 km", "GEORADIUS g 0 0 1 km STORE str",
        "SET e v PX 100", "@sleep 130", "GEOSEARCHSTORE e m FROMLONLAT 0 0 BYRADIUS 1 km",
    ]),
    ("hll", &[
        "PFADD h a b c", "PFADD h a", "PFADD h", "PFADD n", "PFADD h2 x y", "PFCOUNT h",
        "PFCOUNT h h2", "PFCOUNT m", "PFCOUNT m h", "PFMERGE d h h2", "PFMERGE d", "PFMERGE d2 m",
        "PFMERGE h h2", "SET str v", "PFADD str a", "PFMERGE d str", "PFCOUNT str",
        "PFDEBUG GETREG h", "PFDEBUG ENCODING h", "PFDEBUG TODENSE h2", "PFDEBUG TODENSE h2",
        "PFDEBUG ENCODING m", "PFDEBUG DECODE h", "SET e v PX 100", "@sleep 130", "PFADD e a",
        "SET e v PX 100", "@sleep 130", "PFMERGE e h",
    ]),
    // Read lookups (`keymiss` when the flags have `m`). The key `m` never exists.
    ("reads of missing keys", &[
        "SET s v", "RPUSH l a", "HSET h f v", "SADD st a", "ZADD z 1 a",
        "GET m", "MGET m s m2 l", "GETRANGE m 0 -1", "SUBSTR m 0 1", "STRLEN m", "LCS m s",
        "LCS s m LEN", "EXISTS m s m", "TYPE m", "TTL m", "PTTL m", "EXPIRETIME m",
        "PEXPIRETIME m", "TOUCH m s m2", "OBJECT ENCODING m", "OBJECT FREQ m",
        "OBJECT IDLETIME m", "OBJECT REFCOUNT m", "MEMORY USAGE m",
        "LLEN m", "LRANGE m 0 -1", "LINDEX m 0", "LPOS m a", "LPOS m a COUNT 0",
        "HGET m f", "HMGET m f g", "HEXISTS m f", "HLEN m", "HSTRLEN m f", "HKEYS m", "HVALS m",
        "HGETALL m", "HRANDFIELD m", "HRANDFIELD m 2", "HRANDFIELD m -2 WITHVALUES", "HSCAN m 0",
        "SMEMBERS m", "SISMEMBER m a", "SMISMEMBER m a b", "SCARD m", "SRANDMEMBER m",
        "SRANDMEMBER m 2", "SINTER m st", "SINTER st m m2", "SINTERCARD 2 st m", "SUNION m st m2",
        "SDIFF st m", "SSCAN m 0",
        "ZSCORE m a", "ZMSCORE m a b", "ZCARD m", "ZCOUNT m 0 1", "ZLEXCOUNT m - +",
        "ZRANGE m 0 -1", "ZRANGE m (1 5 BYSCORE REV LIMIT 0 1", "ZRANGEBYSCORE m 0 1",
        "ZREVRANGEBYSCORE m 1 0", "ZRANGEBYLEX m - +", "ZREVRANGEBYLEX m + -",
        "ZREVRANGE m 0 -1", "ZRANK m a", "ZREVRANK m a", "ZRANDMEMBER m", "ZRANDMEMBER m 2",
        "ZUNION 2 m z", "ZINTER 2 z m WITHSCORES", "ZDIFF 2 m z", "ZINTERCARD 2 m z", "ZSCAN m 0",
    ]),
    ("reads of present and wrong-type keys", &[
        "SET s v", "RPUSH l a", "HSET h f v", "SADD st a", "ZADD z 1 a",
        "GET s", "GET l", "MGET s l", "GETRANGE l 0 1", "STRLEN h", "LCS s l", "EXISTS s l",
        "TYPE z", "TTL st", "TOUCH h", "OBJECT ENCODING l", "LLEN s", "LRANGE l 0 -1",
        "LINDEX s 0", "LPOS h a", "HGET s f", "HMGET h f g", "HGETALL l", "HRANDFIELD h",
        "HSCAN st 0", "SMEMBERS st", "SISMEMBER h a", "SRANDMEMBER st -2", "SINTER st s",
        "SUNION z st", "SSCAN st 0", "ZSCORE z a", "ZRANGE st 0 -1", "ZRANK z a",
        "ZRANDMEMBER z -2", "ZUNION 2 st s", "ZSCAN z 0",
    ]),
    ("reads that refuse their arguments around the lookup", &[
        "SET s v", "SADD st a", "ZADD z 1 a",
        // Parsed before the lookup: an error and no `keymiss`.
        "LRANGE m x 1", "ZRANGE m x 1", "ZRANGE m 0 1 BYSCORE", "ZCOUNT m x 1",
        "ZLEXCOUNT m x y", "HRANDFIELD m x", "SRANDMEMBER m x", "ZRANDMEMBER m x", "SSCAN m x",
        "LPOS m a RANK 0", "GETEX m BADOPT", "SINTERCARD 2 st m LIMIT -1", "SINTERCARD 3 st m",
        "ZUNION 0 m", "ZUNION 3 m z", "GETRANGE m x 1",
        // Looked up first: `keymiss`, then the reply or error.
        "LINDEX m x", "SSCAN m 0 BADOPT", "HSCAN m 0 COUNT x", "ZSCAN m 0 MATCH", "GETEX m EX abc",
        "ZUNION 2 m z WEIGHTS x", "ZINTERCARD 2 m z LIMIT -1", "LCS m s BADOPT",
        "ZMSCORE m", "HMGET m", "SMISMEMBER m",
    ]),
    ("reads of expired keys", &[
        "SET s v", "SADD st a", "ZADD z 1 a",
        "SET e1 v PX 100", "SET e2 v PX 100", "SET e3 v PX 100", "SET e4 v PX 100",
        "SADD e5 a", "PEXPIRE e5 100", "SADD e6 a", "PEXPIRE e6 100", "SET e7 v PX 100",
        "ZADD e8 1 a", "PEXPIRE e8 100", "SET e9 v PX 100", "SET e10 v PX 100",
        "SET e11 v PX 100", "SET e12 v PX 100", "SET e13 v PX 100", "SET e14 v PX 100",
        "SET e15 v PX 100", "SET e16 v PX 100", "SET e17 v PX 100", "SET e18 v PX 100",
        "HSET e19 f v", "PEXPIRE e19 100", "RPUSH e20 a", "PEXPIRE e20 100",
        "SADD e21 a", "PEXPIRE e21 100", "ZADD e22 1 a", "PEXPIRE e22 100", "@sleep 130",
        "MGET e1 s e2", "LCS e3 e4", "SINTER st e5 e6", "SUNION e7 st", "ZUNION 3 e8 z e9",
        "EXISTS e10 s e11", "TOUCH e12 e13", "TYPE e14", "PTTL e15", "OBJECT ENCODING e16",
        "STRLEN e17", "GET e18", "HGETALL e19", "LRANGE e20 0 -1", "SCARD e21", "ZSCORE e22 a",
    ]),
    ("scan: lazy expiry, and TYPE's read lookups", &[
        "SET a 1", "RPUSH l x", "SET e1 v PX 100", "SET e2 v PX 100", "SET e3 v PX 100",
        "SET e4 v PX 100", "@sleep 130", "SCAN 0 MATCH e1", "SCAN 0 TYPE string MATCH a",
        "SCAN 0 TYPE list MATCH e2", "SCAN 0 TYPE none MATCH e3", "SCAN 0 TYPE hash",
        "SCAN 0 TYPE STRING", "~SCAN 0 COUNT 100", "SCAN 0 MATCH x* TYPE string",
        "SCAN 0 TYPE none", "SCAN 0 TYPE string MATCH e4",
    ]),
    ("write commands' read lookups", &[
        "SET s v", "SADD st a", "ZADD z 1 a", "RPUSH l a",
        // `lookupKeyRead` (a `keymiss`, before any change the command reports) ...
        "GETDEL m", "GETEX m", "GETEX m PERSIST", "GETSET m v", "GETDEL m", "SET m v GET",
        "SET m v2 NX GET", "SET m2 v XX GET", "COPY m3 x", "COPY m3 x DB 1",
        "SINTERSTORE d m3 st", "SUNIONSTORE d st m3", "SDIFFSTORE d st m3",
        "ZUNIONSTORE d 2 m3 z", "ZINTERSTORE d 2 z m3", "ZDIFFSTORE d 2 m3 z",
        "ZRANGESTORE d m3 0 -1",
        // ... `lookupKeyWrite` (nothing).
        "MOVE m3 1", "RENAME m3 x", "RENAMENX m3 x", "SMOVE m3 st a", "LMOVE m3 l LEFT LEFT",
        "RPOPLPUSH m3 l", "LPOP m3", "RPOP m3", "LMPOP 1 m3 LEFT", "SPOP m3", "ZPOPMIN m3",
        "ZPOPMAX m3", "ZMPOP 1 m3 MIN", "DEL m3", "UNLINK m3", "PERSIST m3", "EXPIRE m3 10",
        "APPEND m4 x", "SETRANGE m5 0 \"\"", "INCR m6", "HINCRBY m7 f 1", "HDEL m3 f",
        "SREM m3 a", "ZREM m3 a", "LREM m3 0 a", "LSET m3 0 a", "LTRIM m3 0 1",
        "LINSERT m3 BEFORE a b", "LPUSHX m3 a", "RPUSHX m3 a", "ZREMRANGEBYRANK m3 0 1",
        "SET e1 v PX 100", "SET e2 v PX 100", "SET e3 v PX 100", "SET e4 v PX 100",
        "SET e5 v PX 100", "SET e6 v PX 100", "SET e7 v PX 100", "SET e8 v PX 100",
        "SET e9 v PX 100", "@sleep 130",
        "GETSET e1 v", "SET e2 v GET", "GETDEL e3", "GETEX e4 EX 100", "COPY e5 x REPLACE",
        "SINTERSTORE e6 e7 st", "ZRANGESTORE d e8 0 -1", "MOVE e9 1",
    ]),
];

// ---------------------------------------------------------------------------------------------
// A minimal RESP2 client (bounded reads: a missing reply fails the test instead of hanging)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Resp {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

impl Resp {
    /// The canonical RESP2 encoding (what ferrokv writes).
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Resp::Simple(s) => {
                out.push(b'+');
                out.extend_from_slice(s);
            }
            Resp::Error(s) => {
                out.push(b'-');
                out.extend_from_slice(s);
            }
            Resp::Int(i) => out.extend_from_slice(format!(":{i}").as_bytes()),
            Resp::Bulk(None) => out.extend_from_slice(b"$-1"),
            Resp::Bulk(Some(b)) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
            }
            Resp::Array(None) => out.extend_from_slice(b"*-1"),
            Resp::Array(Some(items)) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for item in items {
                    item.encode(out);
                }
                return;
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Resp::Bulk(Some(b)) | Resp::Simple(b) => Some(b),
            _ => None,
        }
    }
}

struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Conn {
    fn connect(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        Conn {
            r: BufReader::new(s.try_clone().expect("clone")),
            w: s,
        }
    }

    fn send(&mut self, args: &[&[u8]]) {
        self.w.write_all(&request(args)).expect("send");
    }

    fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.r
            .read_until(b'\n', &mut line)
            .expect("read from redis (timed out?)");
        assert!(line.ends_with(b"\r\n"), "truncated line {line:?}");
        line.truncate(line.len() - 2);
        line
    }

    fn read(&mut self) -> Resp {
        let line = self.line();
        let rest = &line[1..];
        let num = || -> i64 { std::str::from_utf8(rest).unwrap().parse().unwrap() };
        match line[0] {
            b'+' => Resp::Simple(rest.to_vec()),
            b'-' => Resp::Error(rest.to_vec()),
            b':' => Resp::Int(num()),
            b'$' => match num() {
                -1 => Resp::Bulk(None),
                n => {
                    let mut buf = vec![0u8; n as usize + 2];
                    std::io::Read::read_exact(&mut self.r, &mut buf).expect("read bulk");
                    buf.truncate(n as usize);
                    Resp::Bulk(Some(buf))
                }
            },
            b'*' => match num() {
                -1 => Resp::Array(None),
                n => Resp::Array(Some((0..n).map(|_| self.read()).collect())),
            },
            other => panic!("unexpected RESP type byte {other:?}"),
        }
    }

    fn call(&mut self, args: &[&[u8]]) -> Resp {
        self.send(args);
        self.read()
    }
}

// ---------------------------------------------------------------------------------------------
// The two sides
// ---------------------------------------------------------------------------------------------

type Event = (Vec<u8>, Vec<u8>);

/// A key in a database.
type DbKey = (usize, Vec<u8>);

const MARKER: &[u8] = b"__notify_diff_marker__";

/// The real redis-server: a command connection, a subscriber, and one watcher per (db, key).
struct Redis {
    _server: Server,
    port: u16,
    cmd: Conn,
    sub: Conn,
    watchers: BTreeMap<DbKey, Conn>,
    markers: i64,
    /// `keyspace_hits`, `keyspace_misses` at the last [`Redis::lookups`].
    lookups: (u64, u64),
}

impl Redis {
    fn start() -> Option<Redis> {
        let server = Server::start_redis_with(&["--enable-debug-command", "yes"])?;
        let port = server.port;
        let mut cmd = Conn::connect(port);
        assert_eq!(
            cmd.call(&[b"DEBUG", b"SET-ACTIVE-EXPIRE", b"0"]),
            Resp::Simple(b"OK".to_vec())
        );
        let mut sub = Conn::connect(port);
        sub.send(&[b"PSUBSCRIBE", b"__key*@*__:*"]);
        sub.read();
        sub.send(&[b"SUBSCRIBE", MARKER]);
        sub.read();
        Some(Redis {
            _server: server,
            port,
            cmd,
            sub,
            watchers: BTreeMap::new(),
            markers: 0,
            lookups: (0, 0),
        })
    }

    /// The notifications published since the last call (everything before a fresh marker).
    fn events(&mut self) -> Vec<Event> {
        self.markers += 1;
        let marker = self.markers.to_string();
        self.cmd.call(&[b"PUBLISH", MARKER, marker.as_bytes()]);
        let mut events = Vec::new();
        loop {
            let Resp::Array(Some(items)) = self.sub.read() else {
                panic!("unexpected subscriber reply");
            };
            let kind = items[0].bytes().unwrap();
            if kind == b"message" {
                assert_eq!(items[2].bytes().unwrap(), marker.as_bytes());
                return events;
            }
            assert_eq!(kind, b"pmessage");
            events.push((
                items[2].bytes().unwrap().to_vec(),
                items[3].bytes().unwrap().to_vec(),
            ));
        }
    }

    /// The keyspace hits and misses counted since the last call (`INFO stats`; nothing the
    /// test itself sends looks a key up: WATCH and EXEC only check expiry).
    fn lookups(&mut self) -> (u64, u64) {
        let Resp::Bulk(Some(info)) = self.cmd.call(&[b"INFO", b"stats"]) else {
            panic!("INFO replied otherwise");
        };
        let info = String::from_utf8(info).unwrap();
        let field = |name: &str| -> u64 {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .unwrap_or_else(|| panic!("INFO stats without {name}"))
                .trim()
                .parse()
                .unwrap()
        };
        let now = (field("keyspace_hits"), field("keyspace_misses"));
        let delta = (now.0 - self.lookups.0, now.1 - self.lookups.1);
        self.lookups = now;
        delta
    }

    fn watch(&mut self, keys: &BTreeSet<DbKey>) {
        for (db, key) in keys {
            let port = self.port;
            let w = self.watchers.entry((*db, key.clone())).or_insert_with(|| {
                let mut c = Conn::connect(port);
                let db = db.to_string();
                assert_eq!(
                    c.call(&[b"SELECT", db.as_bytes()]),
                    Resp::Simple(b"OK".to_vec())
                );
                c
            });
            w.send(&[b"WATCH", key]);
        }
        for k in keys {
            assert_eq!(
                self.watchers.get_mut(k).unwrap().read(),
                Resp::Simple(b"OK".to_vec())
            );
        }
    }

    /// Which of the watched keys were signalled (their EXEC aborted).
    fn signalled(&mut self, keys: &BTreeSet<DbKey>) -> BTreeSet<DbKey> {
        for k in keys {
            let w = self.watchers.get_mut(k).unwrap();
            w.send(&[b"MULTI"]);
            w.send(&[b"EXEC"]);
        }
        let mut dirty = BTreeSet::new();
        for k in keys {
            let w = self.watchers.get_mut(k).unwrap();
            assert_eq!(w.read(), Resp::Simple(b"OK".to_vec()));
            match w.read() {
                Resp::Array(None) => {
                    dirty.insert(k.clone());
                }
                Resp::Array(Some(v)) if v.is_empty() => {}
                other => panic!("EXEC replied {other:?}"),
            }
        }
        dirty
    }
}

/// ferrokv in-process, with a capturing notification sink.
struct Ferro {
    session: Session,
    captured: Arc<Mutex<Vec<Event>>>,
    flags: Vec<(DbKey, Arc<WatchFlag>)>,
}

impl Ferro {
    fn new() -> Ferro {
        let session = Session::new();
        let captured: Arc<Mutex<Vec<Event>>> = Arc::default();
        let sink = captured.clone();
        session.srv.store.events().set_sink(Box::new(
            move |channel: &[u8], message: &[u8], _: &Scope| {
                sink.lock()
                    .unwrap()
                    .push((channel.to_vec(), message.to_vec()));
            },
        ));
        Ferro {
            session,
            captured,
            flags: Vec::new(),
        }
    }

    fn run(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        self.session.out.buf.clear();
        self.session.execute(ferrokv::clock::now_ms(), &argv);
        let reply = self.session.out.buf.to_vec();
        self.session.out.buf.clear();
        reply
    }

    fn events(&mut self) -> Vec<Event> {
        std::mem::take(&mut *self.captured.lock().unwrap())
    }

    /// The keyspace hits and misses counted since the last call.
    fn lookups(&mut self) -> (u64, u64) {
        let stats = &self.session.stats;
        let take =
            |c: &std::sync::atomic::AtomicU64| c.swap(0, std::sync::atomic::Ordering::Relaxed);
        (take(&stats.keyspace_hits), take(&stats.keyspace_misses))
    }

    /// Registers one watcher per key, as WATCH does: under the key's lock, noting whether the
    /// key is present but already expired.
    fn watch(&mut self, keys: &BTreeSet<DbKey>) {
        let store = &self.session.srv.store;
        let now = ferrokv::clock::now_ms();
        let fx = Scope::new(None, None);
        for (i, (db, key)) in keys.iter().enumerate() {
            let locks = store.with(&fx).lock(&[(*db, &key[..])]);
            // At time 0 nothing is expired: this sees every present entry.
            let present = locks.get(*db, key, 0).is_some();
            let expired = present && locks.get(*db, key, now).is_none();
            let flag = Arc::new(WatchFlag::default());
            store
                .events()
                .watches
                .watch(*db, key, 1000 + i as u64, &flag, expired);
            self.flags.push(((*db, key.clone()), flag));
        }
    }

    /// Which watchers' EXEC would abort: flagged, or (Redis's `isWatchedKeyExpired`) watching
    /// a key that was live at WATCH time and is now present but expired.
    fn signalled(&mut self) -> BTreeSet<DbKey> {
        let store = &self.session.srv.store;
        let watches = &store.events().watches;
        let now = ferrokv::clock::now_ms();
        let mut dirty = BTreeSet::new();
        let fx = Scope::new(None, None);
        for (i, ((db, key), flag)) in std::mem::take(&mut self.flags).into_iter().enumerate() {
            let client = 1000 + i as u64;
            let locks = store.with(&fx).lock(&[(db, &key[..])]);
            let expired_since = watches.was_live(db, &key, client)
                && locks.get(db, &key, 0).is_some()
                && locks.get(db, &key, now).is_none();
            drop(locks);
            watches.unwatch(db, &key, client);
            if flag.is_dirty() || expired_since {
                dirty.insert((db, key));
            }
        }
        assert!(!watches.any(), "every test watcher unregistered");
        dirty
    }
}

// ---------------------------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------------------------

fn show_events(events: &[Event]) -> String {
    let shown: Vec<String> = events
        .iter()
        .map(|(c, m)| {
            format!(
                "{}={}",
                String::from_utf8_lossy(c),
                String::from_utf8_lossy(m)
            )
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

fn show_keys(keys: &BTreeSet<DbKey>) -> String {
    let shown: Vec<String> = keys
        .iter()
        .map(|(db, k)| format!("{db}:{}", String::from_utf8_lossy(k)))
        .collect();
    format!("{{{}}}", shown.join(" "))
}

fn args_of(step: &str) -> Vec<Vec<u8>> {
    step.split(' ')
        .map(|a| if a == "\"\"" { Vec::new() } else { unescape(a) })
        .collect()
}

/// An argument with `\xNN` escapes (binary payloads such as DUMP's) as bytes.
fn unescape(arg: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(arg.len());
    let b = arg.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 4 <= b.len() {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).expect("ascii escape");
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Every key a script names (per the command table's key positions), in each watched db.
fn script_keys(steps: &[&str]) -> BTreeSet<DbKey> {
    let mut keys = BTreeSet::new();
    for step in steps {
        if step.starts_with('@') {
            continue;
        }
        let argv: Vec<Bytes> = args_of(step.trim_start_matches('~'))
            .into_iter()
            .map(Bytes::from)
            .collect();
        let Ok((_, spec)) = registry().resolve(&argv) else {
            continue;
        };
        for i in spec.keys_of(&argv) {
            for db in WATCHED_DBS {
                keys.insert((db, argv[i].to_vec()));
            }
        }
    }
    keys
}

/// What one run of the table compared (to show the comparison is not vacuous).
#[derive(Default)]
struct Seen {
    /// Notifications Redis published.
    events: usize,
    /// Of which `keymiss` (keyspace and keyevent channels).
    keymiss: usize,
    /// Watched keys Redis signalled.
    signals: usize,
}

/// Runs the whole table with `flags` on both sides; returns the differences found and what
/// Redis produced.
fn run_table(redis: &mut Redis, ferro: &mut Ferro, flags: &str) -> (Vec<String>, Seen) {
    let mut failures = Vec::new();
    let mut seen = Seen::default();
    assert_eq!(
        redis.cmd.call(&[
            b"CONFIG",
            b"SET",
            b"notify-keyspace-events",
            flags.as_bytes()
        ]),
        Resp::Simple(b"OK".to_vec())
    );
    ferro.session.srv.store.events().notify_flags.store(
        class::parse(flags.as_bytes()).expect("flags"),
        std::sync::atomic::Ordering::Relaxed,
    );
    for (name, steps) in SCRIPTS {
        // A clean start, outside any watch.
        for reset in [&[&b"FLUSHALL"[..]][..], &[b"SELECT", b"0"]] {
            redis.cmd.call(reset);
            ferro.run(reset);
        }
        redis.events();
        ferro.events();
        redis.lookups();
        ferro.lookups();
        let keys = script_keys(steps);
        for (n, step) in steps.iter().enumerate() {
            if let Some(ms) = step.strip_prefix("@sleep ") {
                std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
                continue;
            }
            let compare_reply = !step.starts_with('~');
            let owned = args_of(step.trim_start_matches('~'));
            let args: Vec<&[u8]> = owned.iter().map(|a| &a[..]).collect();

            redis.watch(&keys);
            ferro.watch(&keys);
            let mut expected = Vec::new();
            redis.cmd.call(&args).encode(&mut expected);
            let got = ferro.run(&args);
            let (want_events, got_events) = (redis.events(), ferro.events());
            let (want_dirty, got_dirty) = (redis.signalled(&keys), ferro.signalled());
            let (want_stats, got_stats) = (redis.lookups(), ferro.lookups());

            seen.events += want_events.len();
            seen.keymiss += want_events
                .iter()
                .filter(|(c, m)| c.ends_with(b":keymiss") || m == b"keymiss")
                .count();
            seen.signals += want_dirty.len();
            let at = format!("[{flags}] {name} #{n} `{step}`");
            if compare_reply && expected != got {
                failures.push(format!(
                    "{at}: reply {:?}, redis {:?}",
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&expected)
                ));
            }
            if want_events != got_events {
                failures.push(format!(
                    "{at}: events {}, redis {}",
                    show_events(&got_events),
                    show_events(&want_events)
                ));
            }
            if want_stats != got_stats {
                failures.push(format!(
                    "{at}: keyspace hits/misses {got_stats:?}, redis {want_stats:?}"
                ));
            }
            if want_dirty != got_dirty {
                failures.push(format!(
                    "{at}: signalled {}, redis {}",
                    show_keys(&got_dirty),
                    show_keys(&want_dirty)
                ));
            }
        }
    }
    (failures, seen)
}

#[test]
fn keyspace_events_and_watch_signals_match_redis() {
    let Some(mut redis) = Redis::start() else {
        eprintln!("redis-server not installed: notify_diff skipped");
        return;
    };
    let mut ferro = Ferro::new();
    let mut failures = Vec::new();
    for flags in ["KEA", "KEAn", "KEAm", "Km"] {
        let (found, seen) = run_table(&mut redis, &mut ferro, flags);
        eprintln!(
            "{flags}: compared {} notifications ({} keymiss) and {} WATCH signals",
            seen.events, seen.keymiss, seen.signals
        );
        assert!(seen.signals > 100, "the comparison saw too little");
        if flags.contains('A') {
            assert!(seen.events > 300, "the comparison saw too little");
        }
        if flags.contains('m') {
            assert!(seen.keymiss > 100, "too few keymiss events compared");
        } else {
            assert_eq!(seen.keymiss, 0);
        }
        failures.extend(found);
    }
    assert!(
        failures.is_empty(),
        "{} differences from redis:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_write_command_is_covered_by_a_script() {
    // Each command flagged `write` in the registry appears in the table, so a new write command
    // cannot be added without comparing its events.
    let used: BTreeSet<String> = SCRIPTS
        .iter()
        .flat_map(|(_, steps)| steps.iter())
        .filter(|s| !s.starts_with('@'))
        .map(|s| {
            s.trim_start_matches('~')
                .split(' ')
                .next()
                .unwrap()
                .to_ascii_lowercase()
        })
        .collect();
    let missing: Vec<&str> = registry()
        .commands
        .iter()
        .filter(|c| c.flags & ferrokv::commands::flags::WRITE != 0)
        .map(|c| c.name)
        .filter(|name| !used.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "write commands not in SCRIPTS: {missing:?}"
    );
}

#[test]
fn every_read_command_with_keys_is_covered_by_a_script() {
    // Each command flagged `readonly` that names keys (subcommands included: `object|encoding`
    // is "OBJECT ENCODING" in a script) appears in the table, so its `keymiss` is compared.
    let used: BTreeSet<String> = SCRIPTS
        .iter()
        .flat_map(|(_, steps)| steps.iter())
        .filter(|s| !s.starts_with('@'))
        .flat_map(|s| {
            let words: Vec<String> = s
                .trim_start_matches('~')
                .split(' ')
                .take(2)
                .map(str::to_ascii_lowercase)
                .collect();
            [words[0].clone(), words.join("|")]
        })
        .collect();
    let missing: Vec<&str> = registry()
        .all
        .iter()
        .filter(|c| c.flags & ferrokv::commands::flags::READONLY != 0)
        .filter(|c| c.first_key != 0 || c.movable_keys.is_some())
        .map(|c| c.name)
        .filter(|name| !used.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "read commands not in SCRIPTS: {missing:?}"
    );
}

#[test]
fn active_expiry_reports_expired_and_signals_watchers() {
    // The sweep is not reachable from a script (the in-process session runs no expiry
    // thread), so it is checked directly: Redis's active expiry publishes `expired` and
    // signals watchers, as a lazy expiry does.
    let mut ferro = Ferro::new();
    ferro.session.srv.store.events().notify_flags.store(
        class::parse(b"KEA").unwrap(),
        std::sync::atomic::Ordering::Relaxed,
    );
    let now = ferrokv::clock::now_ms();
    ferro.run(&[b"SET", b"k", b"v", b"PX", b"100"]);
    ferro.run(&[b"SET", b"p", b"v"]);
    ferro.events();
    let keys: BTreeSet<DbKey> = [(0, b"k".to_vec()), (0, b"p".to_vec())].into();
    ferro.watch(&keys);
    let fx = Scope::new(None, None);
    let removed = ferro
        .session
        .srv
        .store
        .with(&fx)
        .db(0)
        .expire_cycle(now + 1_000, ferrokv::store::SHARDS);
    assert_eq!(removed, 1);
    assert_eq!(
        show_events(&ferro.events()),
        "[__keyspace@0__:k=expired, __keyevent@0__:expired=k]"
    );
    assert_eq!(show_keys(&ferro.signalled()), "{0:k}");
}
