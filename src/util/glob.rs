//! Redis glob-style pattern matching (`KEYS`, `SCAN ... MATCH`, `PSUBSCRIBE`,
//! `CONFIG GET`, ...).
//!
//! [`glob_match`] reproduces Redis 7.0's `stringmatchlen()` (src/util.c) byte
//! for byte, quirks included:
//!
//! - `*` any run of bytes, `?` one byte, `\x` the literal byte `x`;
//! - `[abc]`, `[^abc]`, `[a-z]`; a reversed range `[z-a]` is swapped; `\x`
//!   inside a class is always compared case-sensitively; the range test runs
//!   on *signed* bytes (x86-64 `char`), so `[a-\xff]` really is `[\xff-a]`;
//! - an unterminated class (`[abc`) ends at the end of the pattern, and a
//!   trailing `\` matches a literal backslash;
//! - an empty string is matched only by a pattern that is empty, so `*` does
//!   *not* match `""`. Redis never notices because `KEYS *` and `SCAN MATCH *`
//!   skip matching altogether; callers must do the same through
//!   [`is_match_all`] to return empty keys.
//!
//! Redis recurses once per `*` and, since 7.0, stops re-trying earlier stars
//! once a later one has failed at every position ("skipLongerMatches"), and
//! gives up beyond 1000 nested stars. That makes its recursion equivalent to
//! the classic single-backtrack-point loop used here: O(pattern × string)
//! time, no recursion, no allocation.

/// Redis's `stringmatchlen_impl` returns "no match" when its star nesting
/// exceeds this depth; mirrored so very long patterns answer as Redis does.
const MAX_STAR_NESTING: usize = 1000;

/// Whether `pattern` is the match-everything pattern `*` that Redis's `KEYS`
/// and `SCAN` answer without calling the matcher at all.
///
/// This is not the same as "`glob_match` returns true for every input":
/// `*` matches the empty key here, but [`glob_match`]`(b"*", b"", _)` is false,
/// exactly as in Redis, and `**` does not get the fast path.
pub fn is_match_all(pattern: &[u8]) -> bool {
    pattern == b"*"
}

/// Glob-style match of `string` against `pattern`, binary safe; `nocase`
/// folds ASCII letters only (Redis runs with the C `LC_CTYPE`).
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let (plen, slen) = (pattern.len(), string.len());
    let (mut p, mut s) = (0usize, 0usize);
    // Where the pattern resumes after the most recent `*`, and the string
    // position that star was last tried at. Only the most recent star is ever
    // retried: once a later star has been reached, any failure from there on
    // is final (Redis's skipLongerMatches argument).
    let mut star: Option<(usize, usize)> = None;
    let mut stars_entered = 0usize;

    loop {
        let matched = 'run: loop {
            if p == plen || s == slen {
                break 'run p == plen && s == slen;
            }
            match pattern[p] {
                b'*' => {
                    while p + 1 < plen && pattern[p + 1] == b'*' {
                        p += 1;
                    }
                    if p + 1 == plen {
                        return true; // a trailing star takes the rest
                    }
                    stars_entered += 1;
                    if stars_entered > MAX_STAR_NESTING {
                        return false;
                    }
                    p += 1;
                    star = Some((p, s));
                    continue 'run; // the star consumes nothing by itself
                }
                b'?' => {}
                b'[' => match match_class(pattern, p, string[s], nocase) {
                    Some(last) => p = last,
                    None => break 'run false,
                },
                b'\\' if plen - p >= 2 => {
                    p += 1;
                    if !byte_eq(pattern[p], string[s], nocase) {
                        break 'run false;
                    }
                }
                c => {
                    if !byte_eq(c, string[s], nocase) {
                        break 'run false;
                    }
                }
            }
            p += 1;
            s += 1;
            if s == slen {
                // Out of string: only stars may be left in the pattern.
                while p < plen && pattern[p] == b'*' {
                    p += 1;
                }
                break 'run p == plen;
            }
        };
        if matched {
            return true;
        }
        // Let the most recent star swallow one more byte, if any are left.
        match star {
            Some((after_star, tried)) if tried + 1 < slen => {
                star = Some((after_star, tried + 1));
                p = after_star;
                s = tried + 1;
            }
            _ => return false,
        }
    }
}

/// Matches byte `c` against the class starting at `pattern[open] == b'['`.
/// Returns the index of the class's last pattern byte (its `]`, or the final
/// byte of an unterminated class) on a match, `None` otherwise.
///
/// Reads past the end of the pattern see 0, as Redis sees the sds terminator.
fn match_class(pattern: &[u8], open: usize, c: u8, nocase: bool) -> Option<usize> {
    let plen = pattern.len();
    let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
    let mut p = open + 1;
    let negate = at(p) == b'^';
    if negate {
        p += 1;
    }
    let mut hit = false;
    loop {
        if at(p) == b'\\' && plen - p >= 2 {
            p += 1;
            // Escapes inside a class ignore `nocase` in Redis.
            if pattern[p] == c {
                hit = true;
            }
        } else if at(p) == b']' {
            break;
        } else if p == plen {
            // Unterminated: the class ends with the pattern; step back so
            // the caller's advance lands exactly on the end.
            p -= 1;
            break;
        } else if plen - p >= 3 && pattern[p + 1] == b'-' {
            // Redis compares `char`s, which are signed on x86-64.
            let (mut start, mut end) = (signed(pattern[p]), signed(pattern[p + 2]));
            let mut ch = signed(c);
            if start > end {
                std::mem::swap(&mut start, &mut end);
            }
            if nocase {
                // Lower-cased after the swap, without re-ordering: Redis's
                // `[Z-a]` is empty under nocase.
                start = lower(start);
                end = lower(end);
                ch = lower(ch);
            }
            p += 2;
            if (start..=end).contains(&ch) {
                hit = true;
            }
        } else if byte_eq(pattern[p], c, nocase) {
            hit = true;
        }
        p += 1;
    }
    (hit != negate).then_some(p)
}

fn byte_eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn signed(b: u8) -> i32 {
    i32::from(b as i8)
}

/// C-locale `tolower` on a (possibly negative) `char` value.
fn lower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A direct transcription of Redis 7.0's recursive `stringmatchlen_impl`
    /// (including skipLongerMatches and the nesting limit), used as the
    /// oracle for the iterative matcher.
    fn redis_oracle(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
        fn imp(
            pat: &[u8],
            mut p: usize,
            st: &[u8],
            mut s: usize,
            nocase: bool,
            skip: &mut bool,
            nesting: usize,
        ) -> bool {
            if nesting > 1000 {
                return false;
            }
            let at = |i: usize| pat.get(i).copied().unwrap_or(0);
            while p < pat.len() && s < st.len() {
                match pat[p] {
                    b'*' => {
                        while p < pat.len() && at(p + 1) == b'*' {
                            p += 1;
                        }
                        if pat.len() - p == 1 {
                            return true;
                        }
                        while s < st.len() {
                            if imp(pat, p + 1, st, s, nocase, skip, nesting + 1) {
                                return true;
                            }
                            if *skip {
                                return false;
                            }
                            s += 1;
                        }
                        *skip = true;
                        return false;
                    }
                    b'?' => s += 1,
                    b'[' => {
                        p += 1;
                        let not = at(p) == b'^';
                        if not {
                            p += 1;
                        }
                        let mut hit = false;
                        loop {
                            let left = pat.len() - p; // patternLen
                            if at(p) == b'\\' && left >= 2 {
                                p += 1;
                                hit |= pat[p] == st[s];
                            } else if at(p) == b']' {
                                break;
                            } else if left == 0 {
                                p -= 1;
                                break;
                            } else if left >= 3 && pat[p + 1] == b'-' {
                                let mut start = pat[p] as i8 as i32;
                                let mut end = pat[p + 2] as i8 as i32;
                                let mut c = st[s] as i8 as i32;
                                if start > end {
                                    (start, end) = (end, start);
                                }
                                if nocase {
                                    let tl =
                                        |x: i32| if (65..=90).contains(&x) { x + 32 } else { x };
                                    (start, end, c) = (tl(start), tl(end), tl(c));
                                }
                                p += 2;
                                hit |= c >= start && c <= end;
                            } else if nocase {
                                hit |= pat[p].eq_ignore_ascii_case(&st[s]);
                            } else {
                                hit |= pat[p] == st[s];
                            }
                            p += 1;
                        }
                        if not {
                            hit = !hit;
                        }
                        if !hit {
                            return false;
                        }
                        s += 1;
                    }
                    c => {
                        let lit = if c == b'\\' && pat.len() - p >= 2 {
                            p += 1;
                            pat[p]
                        } else {
                            c
                        };
                        if !byte_eq(lit, st[s], nocase) {
                            return false;
                        }
                        s += 1;
                    }
                }
                p += 1;
                if s == st.len() {
                    while at(p) == b'*' {
                        p += 1;
                    }
                    break;
                }
            }
            p == pat.len() && s == st.len()
        }
        let mut skip = false;
        imp(pattern, 0, string, 0, nocase, &mut skip, 0)
    }

    /// (pattern, string, nocase, expected). Sources: Redis's
    /// tests/unit/keyspace.tcl, its util.c, and replies of a real
    /// redis-server 7.0.15 to `KEYS` (which shows the quirks).
    const CASES: &[(&[u8], &[u8], bool, bool)] = &[
        // keyspace.tcl "KEYS with pattern" / "KEYS with hashtag"
        (b"foo*", b"foo_a", false, true),
        (b"foo*", b"key_x", false, false),
        (b"{a}*", b"{a}x", false, true),
        (b"{a}*", b"{b}a", false, false),
        (b"*{b}*", b"{b}c", false, true),
        (b"*{b}*", b"{a}z", false, false),
        // keyspace.tcl "Regression for pattern matching long nested loops"
        (
            b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            false,
            false,
        ),
        // basics
        (b"", b"", false, true),
        (b"", b"a", false, false),
        (b"a", b"", false, false),
        (b"abc", b"abc", false, true),
        (b"abc", b"abd", false, false),
        (b"abc", b"ab", false, false),
        (b"ab", b"abc", false, false),
        (b"h?llo", b"hello", false, true),
        (b"h?llo", b"hllo", false, false),
        (b"h*llo", b"hllo", false, true),
        (b"h*llo", b"heeeello", false, true),
        (b"h*llo", b"heeeellox", false, false),
        (b"*", b"anything", false, true),
        (b"**", b"a", false, true),
        (b"a*", b"a", false, true),
        (b"a**", b"a", false, true),
        (b"a*b", b"a", false, false),
        (b"*a", b"ba", false, true),
        (b"*a*b*c", b"xaybzc", false, true),
        (b"*a*b*c", b"xaybzcx", false, false),
        (b"?*", b"a", false, true),
        // `*` and `**` do not match the empty string (KEYS * uses a fast path)
        (b"*", b"", false, false),
        (b"**", b"", false, false),
        (b"?", b"", false, false),
        // classes
        (b"h[ae]llo", b"hello", false, true),
        (b"h[ae]llo", b"hallo", false, true),
        (b"h[ae]llo", b"hillo", false, false),
        (b"h[^e]llo", b"hallo", false, true),
        (b"h[^e]llo", b"hello", false, false),
        (b"h[a-b]llo", b"hbllo", false, true),
        (b"h[a-b]llo", b"hcllo", false, false),
        (b"[z-a]", b"m", false, true),
        (b"[z-a]", b"A", false, false),
        (b"[a-]", b"]", false, true),
        (b"[a-]", b"^", false, true),
        (b"[a-]", b"-", false, false),
        (b"[x-]", b"b", false, true),
        (b"[]", b"]", false, false),
        (b"[]]", b"]", false, false),
        (b"[^]", b"x", false, true),
        (b"[\\]]", b"]", false, true),
        (b"[\\", b"\\", false, true),
        (b"[\\a]", b"a", false, true),
        (b"[", b"[", false, false),
        (b"[", b"", false, false),
        (b"[^", b"x", false, true),
        (b"[^", b"^", false, true),
        (b"[ab", b"a", false, true),
        (b"[ab", b"b", false, true),
        (b"[ab", b"c", false, false),
        (b"[a-", b"-", false, true),
        (b"[a-", b"a", false, true),
        // `[a-]x` is one class: the range a..] plus x
        (b"[a-]x", b"]x", false, false),
        (b"[a-]x", b"x", false, true),
        (b"[a-]x", b"]", false, true),
        (b"x[ab", b"xa", false, true),
        (b"[a]*", b"a", false, true),
        // escapes
        (b"\\*", b"*", false, true),
        (b"\\*", b"a", false, false),
        (b"\\?", b"?", false, true),
        (b"\\?", b"a", false, false),
        (b"\\[a]", b"[a]", false, true),
        (b"\\", b"\\", false, true),
        (b"a\\", b"a\\", false, true),
        (b"a\\", b"a", false, false),
        (b"\\\\", b"\\", false, true),
        // nocase
        (b"HELLO", b"hello", true, true),
        (b"HELLO", b"hello", false, false),
        (b"h[A-Z]llo", b"hello", true, true),
        (b"h[A-Z]llo", b"hello", false, false),
        (b"[Z-a]", b"_", true, false),
        (b"[Z-a]", b"_", false, true),
        (b"[\\A]", b"a", true, false),
        (b"[^E]", b"e", true, false),
        // signed-char ranges and binary bytes
        (b"[a-\xff]", b"\xff", false, true),
        (b"[a-\xff]", b"\x01", false, true),
        (b"[a-\xff]", b"b", false, false),
        (b"[\x80-\xff]", b"\x90", false, true),
        (b"a\x00*", b"a\x00bc", false, true),
        (b"a?c", b"a\x00c", false, true),
        (b"\xc3\xa9*", b"\xc3\xa9t\xc3\xa9", true, true),
    ];

    #[test]
    fn table() {
        for &(pattern, string, nocase, expected) in CASES {
            let got = glob_match(pattern, string, nocase);
            assert_eq!(
                got,
                expected,
                "glob_match({:?}, {:?}, nocase={nocase})",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(string)
            );
            assert_eq!(redis_oracle(pattern, string, nocase), expected, "oracle");
        }
    }

    #[test]
    fn match_all() {
        assert!(is_match_all(b"*"));
        assert!(!is_match_all(b"**"));
        assert!(!is_match_all(b""));
        assert!(!is_match_all(b"\\*"));
    }

    /// The iterative matcher agrees with the recursive transcription on
    /// every short pattern over an alphabet of the special bytes.
    #[test]
    fn agrees_with_oracle_exhaustively() {
        const PAT: &[u8] = b"a*?[]^-\\b";
        const STR: &[u8] = b"ab]-\\";
        fn all(alphabet: &[u8], max: usize) -> Vec<Vec<u8>> {
            let mut out = vec![Vec::new()];
            let mut layer = vec![Vec::new()];
            for _ in 0..max {
                let mut next = Vec::new();
                for w in &layer {
                    for &c in alphabet {
                        let mut v = w.clone();
                        v.push(c);
                        next.push(v);
                    }
                }
                out.extend(next.iter().cloned());
                layer = next;
            }
            out
        }
        let pats = all(PAT, 4);
        let strs = all(STR, 3);
        for pat in &pats {
            for s in &strs {
                for nocase in [false, true] {
                    assert_eq!(
                        glob_match(pat, s, nocase),
                        redis_oracle(pat, s, nocase),
                        "{:?} vs {:?}",
                        String::from_utf8_lossy(pat),
                        String::from_utf8_lossy(s)
                    );
                }
            }
        }
    }

    /// Pseudo-random longer patterns (xorshift, fixed seed).
    #[test]
    fn agrees_with_oracle_random() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const PAT: &[u8] = b"ab*?*[]^-\\Az";
        const STR: &[u8] = b"abAz-]";
        for _ in 0..200_000 {
            let plen = (next() % 12) as usize;
            let slen = (next() % 14) as usize;
            let pat: Vec<u8> = (0..plen)
                .map(|_| PAT[(next() % PAT.len() as u64) as usize])
                .collect();
            let s: Vec<u8> = (0..slen)
                .map(|_| STR[(next() % STR.len() as u64) as usize])
                .collect();
            let nocase = next() % 2 == 0;
            assert_eq!(
                glob_match(&pat, &s, nocase),
                redis_oracle(&pat, &s, nocase),
                "{:?} vs {:?} nocase={nocase}",
                String::from_utf8_lossy(&pat),
                String::from_utf8_lossy(&s)
            );
        }
    }

    fn assert_fast(pattern: &[u8], string: &[u8], expected: bool) {
        let start = Instant::now();
        assert_eq!(glob_match(pattern, string, false), expected);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(1), "took {took:?}");
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let a10k = vec![b'a'; 10_000];
        assert_fast(b"*a*a*a*a*a*a*a*a*a*a*a*b", &a10k, false);
        let mut ends_b = a10k.clone();
        ends_b.push(b'b');
        assert_fast(b"*a*a*a*a*a*a*a*a*a*a*a*b", &ends_b, true);
        // Redis's "very long nested loops" regression: "*?" x 50000.
        let a50k = vec![b'a'; 50_000];
        assert_fast(&b"*?".repeat(50_000), &a50k, false);
    }

    #[test]
    fn nesting_limit_matches_redis() {
        // 1000 recursing stars are allowed, the 1001st makes Redis give up.
        let s = vec![b'a'; 1100];
        let ok = b"*a".repeat(1000);
        assert!(glob_match(&ok, &s, false));
        assert!(redis_oracle(&ok, &s, false));
        let too_deep = b"*a".repeat(1001);
        assert!(!glob_match(&too_deep, &s, false));
        assert!(!redis_oracle(&too_deep, &s, false));
        // A trailing star is not a nesting level.
        let mut trailing = b"*a".repeat(1000);
        trailing.push(b'*');
        assert!(glob_match(&trailing, &s, false));
    }
}
