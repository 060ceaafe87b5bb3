//! MONITOR lines: Redis's `replicationFeedMonitors` format,
//! `+<unix secs>.<usecs> [<db> <ip:port>] "arg" "arg" ...\r\n`, each argument quoted and
//! escaped as `sdscatrepr`; passwords (AUTH, HELLO ... AUTH) show as `"(redacted)"`, as Redis's
//! `redactClientCommandArgument` makes them.

use bytes::{BufMut, Bytes, BytesMut};

/// The MONITOR line for command `name` run with `args` (as the client sent them) at `now_us`
/// (unix microseconds) in database `db` by a client at `addr`, passwords redacted.
pub fn line(
    now_us: u64,
    db: usize,
    addr: &impl std::fmt::Display,
    name: &str,
    args: &[Bytes],
) -> Bytes {
    let hidden = redacted(name, args);
    if hidden.is_empty() {
        return format_line(now_us, db, addr, args);
    }
    let shown: Vec<Bytes> = args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if hidden.contains(&i) {
                Bytes::from_static(b"(redacted)")
            } else {
                a.clone()
            }
        })
        .collect();
    format_line(now_us, db, addr, &shown)
}

/// The argument positions Redis redacts (`redactClientCommandArgument`) in what MONITOR and
/// SLOWLOG show of command `name` (a registry name: `config|set`): AUTH's user and password
/// (when it has at most three arguments); each `AUTH user password` of HELLO up to the first
/// option it cannot parse; every argument of ACL SETUSER after the command; the values of
/// the sensitive parameters (`masterauth`, `masteruser`, `requirepass`) in CONFIG SET; the
/// AUTH/AUTH2 credentials of MIGRATE up to the first option it cannot parse.
pub fn redacted(name: &str, args: &[Bytes]) -> Vec<usize> {
    match name {
        "auth" if args.len() <= 3 => (1..args.len()).collect(),
        "hello" => {
            let protover_ok = args.len() < 2
                || crate::util::num::parse_i64(&args[1]).is_some_and(|v| (2..=3).contains(&v));
            let mut hidden = Vec::new();
            let mut j = 2;
            while protover_ok && j < args.len() {
                let more = args.len() - 1 - j;
                if args[j].eq_ignore_ascii_case(b"AUTH") && more >= 2 {
                    hidden.extend([j + 1, j + 2]);
                    j += 3;
                } else if args[j].eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
            hidden
        }
        "acl|setuser" => (2..args.len()).collect(),
        "config|set" if args.len().is_multiple_of(2) => (2..args.len())
            .step_by(2)
            .filter(|&i| {
                ["masterauth", "masteruser", "requirepass"]
                    .iter()
                    .any(|p| args[i].eq_ignore_ascii_case(p.as_bytes()))
            })
            .map(|i| i + 1)
            .collect(),
        "migrate" => {
            let mut hidden = Vec::new();
            let mut j = 6;
            while j < args.len() {
                let more = args.len() - 1 - j;
                let a = &args[j];
                if a.eq_ignore_ascii_case(b"copy") || a.eq_ignore_ascii_case(b"replace") {
                    j += 1;
                } else if a.eq_ignore_ascii_case(b"auth") && more >= 1 {
                    hidden.push(j + 1);
                    j += 2;
                } else if a.eq_ignore_ascii_case(b"auth2") && more >= 2 {
                    hidden.extend([j + 1, j + 2]);
                    j += 3;
                } else {
                    break;
                }
            }
            hidden
        }
        _ => Vec::new(),
    }
}

/// One MONITOR line for `args` run at `now_us` (unix microseconds) by a client at `addr`.
pub fn format_line(now_us: u64, db: usize, addr: &impl std::fmt::Display, args: &[Bytes]) -> Bytes {
    let len: usize = args.iter().map(|a| a.len() + 3).sum();
    let mut b = BytesMut::with_capacity(len + 64);
    b.put_slice(
        format!(
            "+{}.{:06} [{} {}] ",
            now_us / 1_000_000,
            now_us % 1_000_000,
            db,
            addr
        )
        .as_bytes(),
    );
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            b.put_u8(b' ');
        }
        repr(&mut b, a);
    }
    b.put_slice(b"\r\n");
    b.freeze()
}

/// Redis's `sdscatrepr`: a double-quoted string with `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b`
/// escaped, printable ASCII as is and every other byte as `\xhh`.
pub fn repr(b: &mut BytesMut, s: &[u8]) {
    b.put_u8(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => b.put_slice(&[b'\\', c]),
            b'\n' => b.put_slice(b"\\n"),
            b'\r' => b.put_slice(b"\\r"),
            b'\t' => b.put_slice(b"\\t"),
            0x07 => b.put_slice(b"\\a"),
            0x08 => b.put_slice(b"\\b"),
            0x20..=0x7e => b.put_u8(c),
            _ => b.put_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    b.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_as_redis() {
        let v = |a: &[&str]| -> Vec<Bytes> {
            a.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect()
        };
        assert_eq!(redacted("auth", &v(&["AUTH", "pw"])), [1]);
        assert_eq!(redacted("auth", &v(&["AUTH", "u", "pw"])), [1, 2]);
        assert!(redacted("auth", &v(&["AUTH", "a", "b", "c"])).is_empty());
        assert_eq!(
            redacted(
                "hello",
                &v(&["HELLO", "3", "SETNAME", "n", "auth", "u", "p"])
            ),
            [5, 6]
        );
        assert!(redacted("hello", &v(&["HELLO", "4", "AUTH", "u", "p"])).is_empty());
        assert!(redacted("hello", &v(&["HELLO", "3", "X", "AUTH", "u", "p"])).is_empty());
        assert_eq!(
            redacted("acl|setuser", &v(&["ACL", "SETUSER", "u", "on", ">p"])),
            [2, 3, 4]
        );
        assert_eq!(
            redacted(
                "config|set",
                &v(&[
                    "CONFIG",
                    "SET",
                    "MasterAuth",
                    "x",
                    "maxclients",
                    "9",
                    "requirepass",
                    "y"
                ])
            ),
            [3, 7]
        );
        assert!(redacted("config|set", &v(&["CONFIG", "SET", "masterauth", "x", "y"])).is_empty());
        let migrate = |tail: &[&str]| {
            let mut all = vec!["MIGRATE", "h", "1", "key", "0", "5000"];
            all.extend_from_slice(tail);
            redacted("migrate", &v(&all))
        };
        assert!(migrate(&[]).is_empty());
        assert_eq!(migrate(&["COPY", "AUTH", "pw"]), [8]);
        assert_eq!(migrate(&["AUTH2", "u", "pw", "REPLACE"]), [7, 8]);
        assert!(migrate(&["AUTH2", "u"]).is_empty());
        assert!(migrate(&["KEYS", "AUTH", "x"]).is_empty());
    }

    #[test]
    fn line_matches_redis_format() {
        let addr: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let args = [
            Bytes::from_static(b"set"),
            Bytes::from_static(b"k \"q\"\\"),
            Bytes::from_static(b"\x00\x07\x08\t\r\n\xff~"),
        ];
        let line = format_line(1_700_000_000_000_042, 3, &addr, &args);
        assert_eq!(
            &line[..],
            &b"+1700000000.000042 [3 127.0.0.1:5000] \"set\" \"k \\\"q\\\"\\\\\" \"\\x00\\a\\b\\t\\r\\n\\xff~\"\r\n"[..]
        );
    }
}
