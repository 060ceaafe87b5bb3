//! Incremental parser for client requests, as Redis 7 reads them.
//!
//! This module owns the request side of the wire protocol: turning the bytes a
//! client sent into the argument vector of one command. It mirrors
//! `processInputBuffer`, `processMultibulkBuffer` and `processInlineBuffer` in
//! Redis's `networking.c` (and `sdssplitargs` in `sds.c` for inline requests),
//! including their limits and their exact error texts.
//!
//! # Request forms
//!
//! * **Multibulk**, first byte `*`: `*<count>\r\n` followed by `count` bulks
//!   `$<len>\r\n<len bytes>\r\n`. This is what every client library sends.
//! * **Inline**, any other first byte: one line ended by `\n` (an optional `\r`
//!   before it is dropped), split into words with `sdssplitargs`' quoting
//!   rules (see `split_inline`). This is what `telnet` sends.
//!
//! # Invariants
//!
//! * **Resumable.** [`Parser::parse`] never needs the whole command at once.
//!   The multibulk header and every complete bulk are consumed from the buffer
//!   as soon as they are complete, and their arguments accumulate in the
//!   caller's `args`; the parser itself remembers only where it is (how many
//!   bulks are left, the length of the current one, how far an unfinished line
//!   has already been scanned).
//! * **Linear.** Each input byte is looked at a bounded number of times, however
//!   the input is split into reads: an unfinished header or inline line is
//!   scanned on from where the previous call stopped, and a call that waits
//!   for bulk data is O(1). For a large bulk (>= [`PROTO_MBULK_BIG_ARG`]) the
//!   buffer is grown once to hold all of it plus one more read, so a 100 MB
//!   value arriving in 64 KiB reads costs one allocation and no copying.
//! * **Zero-copy.** A bulk argument is `split_to(len).freeze()` of the input
//!   buffer; plain inline words are slices of the line. Only inline words that
//!   use quotes are copied.
//! * **Total.** No input makes the parser panic: every index is checked, every
//!   length is parsed with the strict rules of Redis's `string2ll`, and the
//!   fuzz target (`fuzz/fuzz_targets/parse.rs`) exercises this.
//!
//! # Deliberate deviations from Redis
//!
//! Redis searches lines with `strchr`, which stops at a NUL byte, so a NUL in a
//! header or inline line makes Redis wait for more input until the 64 KiB
//! limit trips. We search the whole buffer instead (a NUL in a header is then
//! an ordinary invalid length), and, like `sdssplitargs`, treat a NUL as the end
//! of an inline line's words. Redis 7's extra limits for clients that have not
//! yet authenticated (`unauthenticated multibulk length` / `bulk length`) depend
//! on connection state and are not this module's concern.

use bytes::{Buf, Bytes, BytesMut};

use crate::util::num::parse_i64 as string2ll;

/// Longest header or inline line Redis waits for before giving up
/// (`PROTO_INLINE_MAX_SIZE`).
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;

/// Default for the `proto-max-bulk-len` setting: the largest bulk argument.
pub const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;

/// Bulks at least this long get their whole buffer reserved up front
/// (`PROTO_MBULK_BIG_ARG`).
pub const PROTO_MBULK_BIG_ARG: usize = 32 * 1024;

/// Most arguments preallocated for one multibulk, whatever count the client
/// announces (`min(multibulklen, 1024)` in Redis): a client claiming 2^31-1
/// arguments must not cost 16 GiB before sending any of them.
const MAX_ARGS_PREALLOC: usize = 1024;

/// Extra room reserved after a large bulk: a reader that reserves up to this
/// much before each read, or a last read that also brings the start of the
/// next command, then fits without moving the whole bulk to a new buffer.
const BIG_ARG_READ_SLACK: usize = 64 * 1024;

/// Cap on the up-front reservation for one large bulk. With the default limit
/// it never applies; it keeps an operator's huge `proto-max-bulk-len` from
/// turning a single header into a multi-GiB allocation or a capacity-overflow
/// panic. Past it the buffer grows by `BytesMut`'s doubling, still amortised
/// linear.
const MAX_EAGER_RESERVE: usize = 1 << 30;

/// Limits the parser enforces, from the server configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `proto-max-bulk-len`: a longer bulk is a protocol error.
    pub max_bulk_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
        }
    }
}

/// A malformed request. The connection that sent it is answered
/// `-ERR Protocol error: {self}\r\n` and closed.
///
/// `Display` gives exactly the text Redis 7 puts after `Protocol error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// An inline line longer than [`PROTO_INLINE_MAX_SIZE`] with no `\n` yet.
    #[error("too big inline request")]
    TooBigInlineRequest,
    /// An inline line with an unterminated quote, or a closing quote followed
    /// by something other than whitespace.
    #[error("unbalanced quotes in request")]
    UnbalancedQuotes,
    /// A `*<count>` line longer than [`PROTO_INLINE_MAX_SIZE`] with no `\r` yet.
    #[error("too big mbulk count string")]
    TooBigMbulkCountString,
    /// The multibulk count is not an integer or is above `i32::MAX`.
    #[error("invalid multibulk length")]
    InvalidMultibulkLength,
    /// A `$<len>` line longer than [`PROTO_INLINE_MAX_SIZE`] with no `\r` yet.
    #[error("too big bulk count string")]
    TooBigBulkCountString,
    /// A bulk header that does not start with `$`; holds the byte found.
    #[error("expected '$', got '{}'", printed_byte(*.0))]
    ExpectedDollar(u8),
    /// The bulk length is not an integer, is negative, or exceeds
    /// [`Limits::max_bulk_len`].
    #[error("invalid bulk length")]
    InvalidBulkLength,
}

/// How Redis prints the offending byte with `%c`: the byte itself, except
/// that `addReplyErrorFormat` turns `\r` and `\n` into spaces so the reply
/// stays one line. A byte >= 0x80 is shown as the Latin-1 character (Redis
/// sends the raw byte, which is not valid UTF-8).
fn printed_byte(b: u8) -> char {
    match b {
        b'\r' | b'\n' => ' ',
        _ => char::from(b),
    }
}

/// Where the parser is between calls.
#[derive(Debug, Default)]
enum State {
    /// Between commands: the next byte decides the request form.
    #[default]
    Idle,
    /// Inside an inline line; `buf[..scanned]` holds no `\n`.
    Inline { scanned: usize },
    /// Inside a `*<count>` line; `buf[..scanned]` holds no `\r`.
    MultibulkCount { scanned: usize },
    /// `remaining` (>= 1) bulks left; inside the next `$<len>` line and
    /// `buf[..scanned]` holds no `\r`.
    BulkHeader { remaining: usize, scanned: usize },
    /// `remaining` (>= 1) bulks left; waiting for `len` bytes plus the two
    /// terminator bytes of the current one at the front of `buf`.
    BulkData { remaining: usize, len: usize },
    /// A protocol error was returned; it is returned again on every call.
    Failed(ProtocolError),
}

/// A resumable request parser; keep one per connection.
///
/// # Usage
///
/// ```
/// use bytes::BytesMut;
/// use ferrokv::resp::parse::{Limits, Parser};
///
/// let (mut parser, limits) = (Parser::new(), Limits::default());
/// let mut args = Vec::new();
/// let mut buf = BytesMut::from(&b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n*1\r\n$4\r\nPI"[..]);
/// let mut commands = Vec::new();
/// while parser.parse(&mut buf, &mut args, &limits).unwrap() {
///     commands.push(args.clone()); // execute the command here
/// }
/// assert_eq!(commands, [vec!["ECHO", "hi"], vec!["PING"]]);
/// // The last command is incomplete: its headers were consumed, its data waits.
/// assert_eq!(&buf[..], b"PI");
/// ```
///
/// After `Ok(false)`, append the next read to the same `buf` and call again
/// with the same `args`, which must **not** be cleared in between: it holds
/// the arguments of the unfinished command. The parser clears `args` itself
/// when the next command starts (and on each call made between commands, so
/// the arguments of an executed command stop pinning the input buffer and
/// `buf.reserve` can reuse its memory in place).
#[derive(Debug, Default)]
pub struct Parser {
    state: State,
    /// Scratch for [`parse_whole`] (reused: no allocation per command).
    ranges: Vec<(usize, usize)>,
}

impl Parser {
    /// A parser waiting for the first command of a connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tries to parse one command from the front of `buf`, consuming what it
    /// parsed.
    ///
    /// * `Ok(true)`: a complete command; its arguments (at least one) are in
    ///   `args`. Call again for the next pipelined command.
    /// * `Ok(false)`: more bytes are needed. Everything complete so far has
    ///   been consumed; the partial command's arguments are kept in `args`.
    ///   Call again after appending to `buf`, without clearing `args`.
    /// * `Err(e)`: the request is malformed; reply with `e` and close the
    ///   connection. Later calls return the same error.
    ///
    /// Empty requests (a blank inline line, `*0\r\n`, `*-1\r\n`) are consumed
    /// and skipped, as Redis does.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
        limits: &Limits,
    ) -> Result<bool, ProtocolError> {
        match self.step(buf, args, limits) {
            Err(e) => {
                self.state = State::Failed(e.clone());
                Err(e)
            }
            ok => ok,
        }
    }

    fn step(
        &mut self,
        buf: &mut BytesMut,
        args: &mut Vec<Bytes>,
        limits: &Limits,
    ) -> Result<bool, ProtocolError> {
        loop {
            match self.state {
                State::Failed(ref e) => return Err(e.clone()),
                State::Idle => {
                    args.clear();
                    let Some(&first) = buf.first() else {
                        return Ok(false);
                    };
                    if first == b'*' && parse_whole(buf, args, &mut self.ranges, limits) {
                        return Ok(true);
                    }
                    self.state = if first == b'*' {
                        State::MultibulkCount { scanned: 0 }
                    } else {
                        State::Inline { scanned: 0 }
                    };
                }
                State::Inline { scanned } => {
                    let Some(newline) = find_from(buf, scanned, b'\n') else {
                        if buf.len() > PROTO_INLINE_MAX_SIZE {
                            return Err(ProtocolError::TooBigInlineRequest);
                        }
                        self.state = State::Inline { scanned: buf.len() };
                        return Ok(false);
                    };
                    let line = buf.split_to(newline + 1).freeze();
                    let end = if newline > 0 && line.get(newline - 1) == Some(&b'\r') {
                        newline - 1
                    } else {
                        newline
                    };
                    split_inline(&line, end, args)?;
                    self.state = State::Idle;
                    if !args.is_empty() {
                        return Ok(true);
                    }
                }
                State::MultibulkCount { scanned } => {
                    let cr = match header_line(buf, scanned) {
                        HeaderLine::Complete { cr } => cr,
                        HeaderLine::NoCr if buf.len() > PROTO_INLINE_MAX_SIZE => {
                            return Err(ProtocolError::TooBigMbulkCountString);
                        }
                        HeaderLine::NoCr | HeaderLine::CrAtEnd => {
                            self.state = State::MultibulkCount {
                                scanned: header_resume(buf),
                            };
                            return Ok(false);
                        }
                    };
                    let count = buf
                        .get(1..cr)
                        .and_then(string2ll)
                        .filter(|&n| n <= i64::from(i32::MAX))
                        .ok_or(ProtocolError::InvalidMultibulkLength)?;
                    buf.advance(cr + 2);
                    match usize::try_from(count) {
                        Ok(remaining) if remaining > 0 => {
                            args.reserve(remaining.min(MAX_ARGS_PREALLOC));
                            self.state = State::BulkHeader {
                                remaining,
                                scanned: 0,
                            };
                        }
                        // `*0` and negative counts are empty requests.
                        _ => self.state = State::Idle,
                    }
                }
                State::BulkHeader { remaining, scanned } => {
                    let cr = match header_line(buf, scanned) {
                        HeaderLine::Complete { cr } => cr,
                        HeaderLine::NoCr if buf.len() > PROTO_INLINE_MAX_SIZE => {
                            return Err(ProtocolError::TooBigBulkCountString);
                        }
                        HeaderLine::NoCr | HeaderLine::CrAtEnd => {
                            self.state = State::BulkHeader {
                                remaining,
                                scanned: header_resume(buf),
                            };
                            return Ok(false);
                        }
                    };
                    // A complete line is at least "\r" plus one byte.
                    let first = buf.first().copied().unwrap_or(b'\r');
                    if first != b'$' {
                        return Err(ProtocolError::ExpectedDollar(first));
                    }
                    let len = buf
                        .get(1..cr)
                        .and_then(string2ll)
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|&n| n <= limits.max_bulk_len)
                        .ok_or(ProtocolError::InvalidBulkLength)?;
                    buf.advance(cr + 2);
                    if len >= PROTO_MBULK_BIG_ARG {
                        // Make room for the whole bulk now, once, instead of
                        // letting the reads that bring it regrow the buffer.
                        let wanted = len
                            .saturating_add(2 + BIG_ARG_READ_SLACK)
                            .min(MAX_EAGER_RESERVE);
                        if buf.len() < wanted {
                            buf.reserve(wanted - buf.len());
                        }
                    }
                    self.state = State::BulkData { remaining, len };
                }
                State::BulkData { remaining, len } => {
                    // Like Redis, the two bytes after the data are skipped
                    // without checking that they are "\r\n".
                    if buf.len() < len.saturating_add(2) {
                        return Ok(false);
                    }
                    args.push(buf.split_to(len).freeze());
                    buf.advance(2);
                    if remaining > 1 {
                        self.state = State::BulkHeader {
                            remaining: remaining - 1,
                            scanned: 0,
                        };
                    } else {
                        self.state = State::Idle;
                        return Ok(true);
                    }
                }
            }
        }
    }
}

/// Most arguments [`parse_whole`] takes; longer commands use the general path.
const WHOLE_MAX_ARGS: usize = 32;
/// Most digits [`whole_header`] reads (cannot overflow; longer numbers take the general path).
const WHOLE_MAX_DIGITS: usize = 18;

/// The header at `at` (`*` or `$`, already checked by the caller) as [`parse_whole`] needs
/// it: a canonical non-negative number (no sign, no leading zero) and where the line ends,
/// scanned and converted in one pass. `None` for anything else, left to the general path.
#[inline]
fn whole_header(b: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = at + 1;
    let limit = b.len().min(first + WHOLE_MAX_DIGITS + 1);
    let mut i = first;
    let mut value = 0usize;
    while i < limit {
        let digit = b[i].wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value * 10 + usize::from(digit);
        i += 1;
    }
    // Digits, then `\r` and one more byte (which Redis skips unchecked); no leading zero.
    let digits = i - first;
    if digits == 0 || i + 1 >= b.len() || b[i] != b'\r' || (b[first] == b'0' && digits > 1) {
        return None;
    }
    Some((value, i + 2))
}

/// The fast path for the common case: one ordinary multibulk command that is entirely in
/// `buf`. It is parsed in one pass over the bytes and split off once; its arguments are
/// slices of that one frame. Anything unusual — incomplete input, a malformed or long
/// header, an empty or huge command, a big argument — returns `false` with nothing consumed,
/// and the general state machine handles it (with its exact errors and limits).
fn parse_whole(
    buf: &mut BytesMut,
    args: &mut Vec<Bytes>,
    ranges: &mut Vec<(usize, usize)>,
    limits: &Limits,
) -> bool {
    let b = &buf[..];
    let Some((count, mut pos)) = whole_header(b, 0) else {
        return false;
    };
    if count == 0 || count > WHOLE_MAX_ARGS {
        return false;
    }
    ranges.clear();
    for _ in 0..count {
        if b.get(pos) != Some(&b'$') {
            return false;
        }
        let Some((len, start)) = whole_header(b, pos) else {
            return false;
        };
        if len > limits.max_bulk_len || len >= PROTO_MBULK_BIG_ARG {
            return false;
        }
        let end = start + len;
        if end + 2 > b.len() {
            return false;
        }
        ranges.push((start, end));
        pos = end + 2;
    }
    let frame = buf.split_to(pos).freeze();
    args.extend(ranges.iter().map(|&(start, end)| frame.slice(start..end)));
    true
}

/// Index of the first `needle` in `buf`, searching from `from` (the part
/// before it is known not to hold one).
fn find_from(buf: &[u8], from: usize, needle: u8) -> Option<usize> {
    let from = from.min(buf.len());
    buf.get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|i| from + i)
}

/// How far a header line (`*<count>` or `$<len>`) has arrived.
enum HeaderLine {
    /// The line ends with the `\r` at `cr` and the byte after it is present.
    ///
    /// Redis takes a header to end at its first `\r` and needs one more byte,
    /// which it skips without checking that it is `\n`; so do we.
    Complete { cr: usize },
    /// No `\r` in the buffer yet.
    NoCr,
    /// The `\r` is the last byte in the buffer.
    CrAtEnd,
}

/// Looks for the end of the header line at the front of `buf`, skipping the
/// `scanned` bytes already known to hold no `\r`.
fn header_line(buf: &[u8], scanned: usize) -> HeaderLine {
    match find_from(buf, scanned, b'\r') {
        None => HeaderLine::NoCr,
        Some(cr) if cr + 1 < buf.len() => HeaderLine::Complete { cr },
        Some(_) => HeaderLine::CrAtEnd,
    }
}

/// Where to resume looking for a header's `\r` once more bytes arrive, given
/// that the line is not complete: at the `\r` if it is the last byte, else
/// past the end, since no byte in the buffer is a `\r`.
fn header_resume(buf: &[u8]) -> usize {
    match buf.last() {
        Some(b'\r') => buf.len() - 1,
        _ => buf.len(),
    }
}

/// `isspace` in the C locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Bytes that end an unquoted word in `sdssplitargs` (note: not `\v` or `\f`,
/// which are skipped between words but kept inside one).
fn ends_word(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

fn hex_value(b: Option<u8>) -> Option<u8> {
    let b = b?;
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Splits an inline line `line[..end]` into `args` exactly like Redis's
/// `sdssplitargs`.
///
/// Words are separated by whitespace. A word may contain `"double quoted"`
/// parts, with the escapes `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\<any>`
/// for that byte, and `'single quoted'` parts where only `\'` is an escape.
/// A closing quote must be followed by whitespace or the end of the line, and
/// an unterminated quote is an error; both give
/// [`ProtocolError::UnbalancedQuotes`]. Like the C function, which reads a
/// NUL-terminated string, a NUL byte ends the line.
///
/// Words without quotes are zero-copy slices of `line`.
fn split_inline(line: &Bytes, end: usize, args: &mut Vec<Bytes>) -> Result<(), ProtocolError> {
    let s = line.get(..end).unwrap_or_default();
    let s = match s.iter().position(|&b| b == 0) {
        Some(nul) => s.get(..nul).unwrap_or_default(),
        None => s,
    };
    let at = |i: usize| s.get(i).copied();
    let mut p = 0;
    loop {
        while at(p).is_some_and(is_space) {
            p += 1;
        }
        if p >= s.len() {
            return Ok(());
        }
        // Fast path: a plain word is a slice of the line.
        let start = p;
        while at(p).is_some_and(|b| !ends_word(b) && b != b'"' && b != b'\'') {
            p += 1;
        }
        if !matches!(at(p), Some(b'"' | b'\'')) {
            args.push(line.slice(start..p));
            continue;
        }
        // Slow path: the word has quoted parts and is built byte by byte.
        let mut word = s.get(start..p).unwrap_or_default().to_vec();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(p);
            let next = at(p + 1);
            let mut done = false;
            if in_double {
                match c {
                    Some(b'\\') if next == Some(b'x') => {
                        match (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                            (Some(hi), Some(lo)) => {
                                word.push((hi << 4) | lo);
                                p += 3;
                            }
                            // "\x" without two hex digits is an 'x'.
                            _ => {
                                word.push(b'x');
                                p += 1;
                            }
                        }
                    }
                    Some(b'\\') if next.is_some() => {
                        word.push(match next {
                            Some(b'n') => b'\n',
                            Some(b'r') => b'\r',
                            Some(b't') => b'\t',
                            Some(b'b') => 0x08,
                            Some(b'a') => 0x07,
                            other => other.unwrap_or_default(),
                        });
                        p += 1;
                    }
                    Some(b'"') => {
                        if next.is_some_and(|n| !is_space(n)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        done = true;
                    }
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b) => word.push(b),
                }
            } else if in_single {
                match c {
                    Some(b'\\') if next == Some(b'\'') => {
                        word.push(b'\'');
                        p += 1;
                    }
                    Some(b'\'') => {
                        if next.is_some_and(|n| !is_space(n)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        done = true;
                    }
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b) => word.push(b),
                }
            } else {
                match c {
                    None => done = true,
                    Some(b) if ends_word(b) => done = true,
                    Some(b'"') => in_double = true,
                    Some(b'\'') => in_single = true,
                    Some(b) => word.push(b),
                }
            }
            if c.is_some() {
                p += 1;
            }
            if done {
                break;
            }
        }
        args.push(Bytes::from(word));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a connection sees after feeding some chunks: the commands parsed,
    /// the error if any, and (when there was no error) the bytes left over.
    #[derive(Debug, PartialEq, Eq)]
    struct Outcome {
        commands: Vec<Vec<Vec<u8>>>,
        error: Option<ProtocolError>,
        rest: Vec<u8>,
    }

    /// Feeds `chunks` one after the other into a fresh parser, draining every
    /// command after each chunk, the way a connection's read loop does.
    fn feed_with(chunks: &[&[u8]], limits: &Limits) -> Outcome {
        let mut parser = Parser::new();
        let mut buf = BytesMut::new();
        let mut args = Vec::new();
        let mut commands = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match parser.parse(&mut buf, &mut args, limits) {
                    Ok(true) => {
                        assert!(!args.is_empty(), "Ok(true) with no arguments");
                        commands.push(args.iter().map(|a| a.to_vec()).collect());
                    }
                    Ok(false) => break,
                    Err(error) => {
                        return Outcome {
                            commands,
                            error: Some(error),
                            rest: Vec::new(),
                        }
                    }
                }
            }
        }
        Outcome {
            commands,
            error: None,
            rest: buf.to_vec(),
        }
    }

    fn feed(chunks: &[&[u8]]) -> Outcome {
        feed_with(chunks, &Limits::default())
    }

    fn split_at(input: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut from = 0;
        for cut in cuts.into_iter().chain([input.len()]) {
            pieces.push(input[from..cut].to_vec());
            from = cut;
        }
        pieces
    }

    fn feed_pieces(pieces: &[Vec<u8>], limits: &Limits) -> Outcome {
        let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        feed_with(&refs, limits)
    }

    /// Parses `input` whole, byte by byte, and in every two-piece split, and
    /// checks all of them agree. Returns the outcome.
    fn parse_all_splits(input: &[u8]) -> Outcome {
        let limits = Limits::default();
        let whole = feed(&[input]);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(feed(&bytes), whole, "byte by byte: {input:?}");
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(
                feed_with(&[a, b], &limits),
                whole,
                "split at {cut}: {input:?}"
            );
        }
        whole
    }

    fn cmds(commands: &[&[&str]]) -> Vec<Vec<Vec<u8>>> {
        commands
            .iter()
            .map(|c| c.iter().map(|a| a.as_bytes().to_vec()).collect())
            .collect()
    }

    /// Asserts `input` parses (under every split) to `expected` commands with
    /// `rest` left unconsumed and no error.
    fn assert_parses(input: &[u8], expected: &[&[&str]], rest: &[u8]) {
        let got = parse_all_splits(input);
        assert_eq!(
            got,
            Outcome {
                commands: cmds(expected),
                error: None,
                rest: rest.to_vec(),
            },
            "input {input:?}"
        );
    }

    /// Asserts `input` (under every split) gives `expected` commands and then
    /// `error`, whose reply text is `text`.
    fn assert_error(input: &[u8], expected: &[&[&str]], error: ProtocolError, text: &str) {
        let got = parse_all_splits(input);
        assert_eq!(got.commands, cmds(expected), "input {input:?}");
        assert_eq!(got.error.as_ref(), Some(&error), "input {input:?}");
        assert_eq!(error.to_string(), text);
    }

    fn multibulk(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    // ---- multibulk ------------------------------------------------------

    #[test]
    fn multibulk_command() {
        assert_parses(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &[&["GET", "k"]], b"");
        assert_parses(b"*1\r\n$4\r\nPING\r\n", &[&["PING"]], b"");
    }

    #[test]
    fn consumes_exactly_one_frame_and_leaves_what_follows() {
        let frame = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
        // Junk that is an unfinished inline line stays in the buffer.
        let mut input = frame.to_vec();
        input.extend_from_slice(b"JUNK");
        assert_parses(&input, &[&["SET", "k", "value"]], b"JUNK");
        // The start of the next multibulk: its headers are consumed eagerly,
        // the partial bulk data stays.
        let mut input = frame.to_vec();
        input.extend_from_slice(b"*2\r\n$3\r\nGE");
        assert_parses(&input, &[&["SET", "k", "value"]], b"GE");
        // Returning a command consumes exactly that command.
        let mut buf = BytesMut::from(&input[..]);
        let mut args = Vec::new();
        let mut parser = Parser::new();
        assert_eq!(
            parser.parse(&mut buf, &mut args, &Limits::default()),
            Ok(true)
        );
        assert_eq!(&buf[..], b"*2\r\n$3\r\nGE");
    }

    #[test]
    fn pipelined_commands_in_one_buffer() {
        let mut input = Vec::new();
        for i in 0..5 {
            input.extend(multibulk(&[b"INCR", format!("k{i}").as_bytes()]));
        }
        input.extend_from_slice(b"PING\r\n");
        input.extend(multibulk(&[b"ECHO", b"x"]));
        input.extend_from_slice(b"set a b\n");
        assert_parses(
            &input,
            &[
                &["INCR", "k0"],
                &["INCR", "k1"],
                &["INCR", "k2"],
                &["INCR", "k3"],
                &["INCR", "k4"],
                &["PING"],
                &["ECHO", "x"],
                &["set", "a", "b"],
            ],
            b"",
        );
    }

    #[test]
    fn bulks_are_binary_safe() {
        let value: &[u8] = b"a\r\nb\r\n*1\r\n$3\r\n\0\xff\n\r";
        let input = multibulk(&[b"SET", b"k\r\n", value]);
        let got = parse_all_splits(&input);
        assert_eq!(got.error, None);
        assert_eq!(
            got.commands,
            vec![vec![b"SET".to_vec(), b"k\r\n".to_vec(), value.to_vec()]]
        );
        assert!(got.rest.is_empty());
    }

    #[test]
    fn empty_bulk_is_an_empty_argument() {
        assert_parses(b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", &[&["ECHO", ""]], b"");
    }

    #[test]
    fn empty_and_negative_multibulk_are_skipped() {
        assert_parses(b"*0\r\n", &[], b"");
        assert_parses(b"*-1\r\n", &[], b"");
        assert_parses(
            b"*-10\r\n*0\r\n*1\r\n$4\r\nPING\r\n*0\r\n",
            &[&["PING"]],
            b"",
        );
    }

    #[test]
    fn bytes_after_bulk_data_are_skipped_unchecked() {
        // Redis skips the two bytes after the data without looking at them.
        assert_parses(b"*2\r\n$3\r\nGETXY$1\r\nkZZ", &[&["GET", "k"]], b"");
    }

    #[test]
    fn header_line_ends_at_cr_plus_any_byte() {
        // Redis needs the byte after '\r' to be present, not to be '\n'.
        assert_parses(b"*1\rX$4\rYPING\r\n", &[&["PING"]], b"");
        // A '\r' at the very end is not yet a complete line.
        assert_parses(b"*1\r", &[], b"*1\r");
        assert_parses(b"*1\r\n$4\r", &[], b"$4\r");
    }

    #[test]
    fn partial_command_keeps_its_arguments_between_calls() {
        let limits = Limits::default();
        let mut parser = Parser::new();
        let mut args = Vec::new();
        let mut buf = BytesMut::from(&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nva"[..]);
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(false));
        // The header and complete bulks are consumed at once.
        assert_eq!(args, vec![Bytes::from("SET"), Bytes::from("k")]);
        assert_eq!(&buf[..], b"va");
        buf.extend_from_slice(b"lue\r\n");
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(true));
        assert_eq!(args, vec!["SET", "k", "value"]);
        assert!(buf.is_empty());
        // The next call clears the executed command's arguments.
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(false));
        assert!(args.is_empty());
    }

    #[test]
    fn args_vector_is_reused() {
        let limits = Limits::default();
        let mut parser = Parser::new();
        let mut args = Vec::new();
        let mut buf = BytesMut::new();
        for _ in 0..3 {
            buf.extend_from_slice(&multibulk(&[b"A", b"B", b"C"]));
        }
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(true));
        let capacity = args.capacity();
        let ptr = args.as_ptr();
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(true));
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(true));
        assert_eq!((args.capacity(), args.as_ptr()), (capacity, ptr));
        assert_eq!(args, vec!["A", "B", "C"]);
    }

    #[test]
    fn bulks_are_zero_copy() {
        let mut buf = BytesMut::from(&multibulk(&[b"SET", b"key", b"value"])[..]);
        let range = buf.as_ptr_range();
        let mut args = Vec::new();
        let ok = Parser::new().parse(&mut buf, &mut args, &Limits::default());
        assert_eq!(ok, Ok(true));
        for arg in &args {
            assert!(range.contains(&arg.as_ptr()), "{arg:?} was copied");
        }
    }

    #[test]
    fn huge_count_preallocates_little() {
        let mut buf = BytesMut::from(&b"*2147483647\r\n$4\r\nPING\r\n"[..]);
        let mut args = Vec::new();
        let mut parser = Parser::new();
        assert_eq!(
            parser.parse(&mut buf, &mut args, &Limits::default()),
            Ok(false)
        );
        assert_eq!(args.len(), 1);
        assert!(
            args.capacity() <= 2 * MAX_ARGS_PREALLOC,
            "{}",
            args.capacity()
        );
        assert!(args.capacity() >= MAX_ARGS_PREALLOC);
    }

    #[test]
    fn max_bulk_len_is_enforced() {
        let limits = Limits { max_bulk_len: 10 };
        let ok = feed_with(&[b"*1\r\n$10\r\n0123456789\r\n"], &limits);
        assert_eq!(ok.commands, cmds(&[&["0123456789"]]));
        assert_eq!(ok.error, None);
        let too_long = feed_with(&[b"*1\r\n$11\r\n01234567890\r\n"], &limits);
        assert_eq!(too_long.error, Some(ProtocolError::InvalidBulkLength));
        // Above the default 512 MiB.
        assert_error(
            b"*1\r\n$536870913\r\n",
            &[],
            ProtocolError::InvalidBulkLength,
            "invalid bulk length",
        );
    }

    /// A 10 MB value arriving in 64 KiB reads: one reservation when the
    /// header is read, no reallocation afterwards, each call O(1).
    #[test]
    fn ten_megabyte_bulk_in_64k_reads() {
        const LEN: usize = 10 * 1024 * 1024;
        let value: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        let mut input = multibulk(&[b"SET", b"big", &value]);
        input.extend_from_slice(b"PING\r\n");
        let limits = Limits::default();
        let mut parser = Parser::new();
        let mut args = Vec::new();
        let mut buf = BytesMut::with_capacity(64 * 1024);
        let mut chunks = input.chunks(64 * 1024);
        let mut commands = Vec::new();
        let mut data_ptr = None;
        let mut calls = 0;
        for chunk in &mut chunks {
            let waiting = matches!(parser.state, State::BulkData { len: LEN, .. });
            // What a connection does before each read.
            buf.reserve(64 * 1024);
            buf.extend_from_slice(chunk);
            // Once the header of the big bulk is read, the buffer has room
            // for all of it and never moves while the rest arrives.
            if waiting {
                assert_eq!(Some(buf.as_ptr()), data_ptr, "buffer reallocated");
            }
            loop {
                calls += 1;
                if !parser.parse(&mut buf, &mut args, &limits).unwrap() {
                    break;
                }
                commands.push(args.clone());
            }
            if data_ptr.is_none() && matches!(parser.state, State::BulkData { len: LEN, .. }) {
                assert!(buf.capacity() >= LEN + 2);
                data_ptr = Some(buf.as_ptr());
            }
        }
        assert!(data_ptr.is_some());
        assert_eq!(calls, input.len().div_ceil(64 * 1024) + 2);
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0][2].len(), LEN);
        assert!(commands[0][2] == value[..]);
        assert_eq!(commands[1], vec!["PING"]);
        assert!(buf.is_empty());
    }

    #[test]
    fn waiting_for_bulk_data_keeps_state_o1() {
        let limits = Limits::default();
        let mut parser = Parser::new();
        let mut args = Vec::new();
        let mut buf = BytesMut::from(&b"*1\r\n$100000\r\n"[..]);
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(false));
        assert!(buf.capacity() >= 100_002);
        for _ in 0..99_999 {
            buf.extend_from_slice(b"x");
            assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(false));
        }
        buf.extend_from_slice(b"x\r\n");
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(true));
        assert_eq!(args[0].len(), 100_000);
    }

    // ---- resumable scanning ----------------------------------------------

    #[test]
    fn unfinished_lines_are_not_rescanned() {
        let limits = Limits::default();
        for (prefix, fill) in [(&b""[..], b'a'), (b"*", b'1'), (b"*1\r\n$", b'1')] {
            let mut parser = Parser::new();
            let mut args = Vec::new();
            let mut buf = BytesMut::from(prefix);
            for _ in 0..1000 {
                buf.extend_from_slice(&[fill]);
                assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(false));
                let scanned = match parser.state {
                    State::Inline { scanned }
                    | State::MultibulkCount { scanned }
                    | State::BulkHeader { scanned, .. } => scanned,
                    ref other => panic!("unexpected state {other:?}"),
                };
                assert_eq!(scanned, buf.len());
            }
        }
        // A trailing '\r' is remembered, so the next call looks at one byte.
        let mut parser = Parser::new();
        let mut args = Vec::new();
        let mut buf = BytesMut::from(&b"*12\r"[..]);
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(false));
        assert!(matches!(parser.state, State::MultibulkCount { scanned: 3 }));
    }

    #[test]
    fn shrunken_buffer_between_calls_does_not_panic() {
        // A caller that (wrongly) drops bytes between calls gets garbage, not
        // a panic: the remembered scan position is clamped.
        let limits = Limits::default();
        let mut parser = Parser::new();
        let mut args = Vec::new();
        let mut buf = BytesMut::from(&b"hello world"[..]);
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(false));
        buf.clear();
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(false));
        buf.extend_from_slice(b"PING\r\n");
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), Ok(true));
        assert_eq!(args, vec!["PING"]);
    }

    // ---- inline ------------------------------------------------------------

    #[test]
    fn inline_commands() {
        assert_parses(b"PING\r\n", &[&["PING"]], b"");
        assert_parses(b"PING\n", &[&["PING"]], b"");
        assert_parses(b"set  a\tb \r\n", &[&["set", "a", "b"]], b"");
        assert_parses(b"  get k\n", &[&["get", "k"]], b"");
        assert_parses(b"get k", &[], b"get k");
        // Only one '\r' before '\n' is dropped; an inner '\r' separates words.
        assert_parses(b"a\rb\r\r\n", &[&["a", "b"]], b"");
        // '\v' and '\f' are skipped between words but kept inside one.
        assert_parses(b"\x0b\x0ca\x0bb c\n", &[&["a\x0bb", "c"]], b"");
    }

    #[test]
    fn blank_inline_lines_are_skipped() {
        assert_parses(b"\r\n", &[], b"");
        assert_parses(b"\n\n  \t \r\n\r\nPING\r\n\n", &[&["PING"]], b"");
        assert_parses(b"\r\nPING\r\n", &[&["PING"]], b"");
    }

    #[test]
    fn inline_quoting() {
        assert_parses(b"set \"a b\" 'c d'\r\n", &[&["set", "a b", "c d"]], b"");
        assert_parses(b"\"\" ''\n", &[&["", ""]], b"");
        assert_parses(b"echo \"\\x41\\x4a\\x4B\"\n", &[&["echo", "AJK"]], b"");
        assert_parses(
            b"echo \"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\n",
            &[&["echo", "\n\r\t\x08\x07\\\"q"]],
            b"",
        );
        // "\x" without two hex digits is a plain 'x'.
        assert_parses(b"echo \"\\xZZ\\x4\"\n", &[&["echo", "xZZx4"]], b"");
        // Single quotes: only \' is an escape.
        assert_parses(
            b"echo 'it\\'s' 'a\\nb'\n",
            &[&["echo", "it's", "a\\nb"]],
            b"",
        );
        // Quotes may start inside a word; the closing quote ends it.
        assert_parses(b"foo\"bar baz\" x'y z'\n", &[&["foobar baz", "xy z"]], b"");
        // A closing quote followed by any whitespace is fine.
        assert_parses(b"\"a\"\t'b'\x0bc\n", &[&["a", "b", "c"]], b"");
        // Quoted newlines and NULs through escapes.
        assert_parses(b"\"\\x00\\r\\n\"\n", &[&["\0\r\n"]], b"");
        // Like sdssplitargs, a NUL byte ends the line's words.
        assert_parses(b"GET a\0b c\r\nPING\n", &[&["GET", "a"], &["PING"]], b"");
        assert_parses(b"\0PING\n", &[], b"");
    }

    #[test]
    fn inline_words_without_quotes_are_zero_copy() {
        let mut buf = BytesMut::from(&b"SET key \"quoted\"\r\n"[..]);
        let range = buf.as_ptr_range();
        let mut args = Vec::new();
        assert_eq!(
            Parser::new().parse(&mut buf, &mut args, &Limits::default()),
            Ok(true)
        );
        assert!(range.contains(&args[0].as_ptr()));
        assert!(range.contains(&args[1].as_ptr()));
        assert_eq!(args, vec!["SET", "key", "quoted"]);
    }

    #[test]
    fn unbalanced_quotes() {
        let cases: [&[u8]; 9] = [
            b"set \"a\n",
            b"set 'a\n",
            b"set \"a\"b\n",
            b"set 'a'b\n",
            b"set \"\\\"\n",
            b"set \"a\\\n",
            b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n",
            b"set \"a\0\"\n",
            b"\"\n",
        ];
        for input in cases {
            assert_error(
                input,
                &[],
                ProtocolError::UnbalancedQuotes,
                "unbalanced quotes in request",
            );
        }
        assert_error(
            b"PING\r\necho \"x\n",
            &[&["PING"]],
            ProtocolError::UnbalancedQuotes,
            "unbalanced quotes in request",
        );
    }

    #[test]
    fn inline_line_limit() {
        let mut line = vec![b'a'; PROTO_INLINE_MAX_SIZE];
        let at_limit = feed(&[&line]);
        assert_eq!(at_limit.error, None);
        assert_eq!(at_limit.rest.len(), PROTO_INLINE_MAX_SIZE);
        line.push(b'a');
        assert_eq!(
            feed(&[&line]).error,
            Some(ProtocolError::TooBigInlineRequest)
        );
        // Arriving piece by piece trips the limit the same way.
        let pieces: Vec<&[u8]> = line.chunks(4096).collect();
        assert_eq!(
            feed(&pieces).error,
            Some(ProtocolError::TooBigInlineRequest)
        );
        assert_eq!(
            ProtocolError::TooBigInlineRequest.to_string(),
            "too big inline request"
        );
        // A long line whose newline is already in the buffer is accepted.
        line.extend_from_slice(b" b\r\n");
        let long = feed(&[&line]);
        assert_eq!(long.error, None);
        assert_eq!(long.commands[0][1], b"b");
    }

    // ---- errors --------------------------------------------------------------

    #[test]
    fn invalid_multibulk_length() {
        let cases: [&[u8]; 11] = [
            b"*abc\r\n",
            b"*\r\n",
            b"*-\r\n",
            b"*+1\r\n",
            b"*01\r\n",
            b"*-0\r\n",
            b"* 1\r\n",
            b"*1 \r\n",
            b"*2147483648\r\n",
            b"*3000000000\r\n",
            b"*99999999999999999999\r\n",
        ];
        for input in cases {
            assert_error(
                input,
                &[],
                ProtocolError::InvalidMultibulkLength,
                "invalid multibulk length",
            );
        }
        // A count line without '\r' runs into the next '\r'.
        assert_error(
            b"*1\n$4\r\nPING\r\n",
            &[],
            ProtocolError::InvalidMultibulkLength,
            "invalid multibulk length",
        );
        // The largest count is accepted (and waits for its bulks).
        assert_parses(b"*2147483647\r\n", &[], b"");
    }

    #[test]
    fn too_big_mbulk_count_string() {
        let mut line = b"*".to_vec();
        line.resize(PROTO_INLINE_MAX_SIZE, b'1');
        assert_eq!(feed(&[&line]).error, None);
        line.push(b'1');
        let got = feed(&[&line]);
        assert_eq!(got.error, Some(ProtocolError::TooBigMbulkCountString));
        assert_eq!(
            ProtocolError::TooBigMbulkCountString.to_string(),
            "too big mbulk count string"
        );
        // With its '\r' in the buffer a long count line is just invalid.
        line.extend_from_slice(b"\r\n");
        let got = feed(&[&line]);
        assert_eq!(got.error, Some(ProtocolError::InvalidMultibulkLength));
    }

    #[test]
    fn too_big_bulk_count_string() {
        let mut input = b"*1\r\n$".to_vec();
        input.resize(4 + PROTO_INLINE_MAX_SIZE, b'1');
        assert_eq!(feed(&[&input]).error, None);
        input.push(b'1');
        let got = feed(&[&input]);
        assert_eq!(got.error, Some(ProtocolError::TooBigBulkCountString));
        assert_eq!(
            ProtocolError::TooBigBulkCountString.to_string(),
            "too big bulk count string"
        );
    }

    #[test]
    fn expected_dollar() {
        assert_error(
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
            &[],
            ProtocolError::ExpectedDollar(b'f'),
            "expected '$', got 'f'",
        );
        assert_error(
            b"*1\r\nfoo\r\n",
            &[],
            ProtocolError::ExpectedDollar(b'f'),
            "expected '$', got 'f'",
        );
        // '\r' and '\n' print as a space so the reply stays on one line.
        assert_error(
            b"*1\r\n\r\n",
            &[],
            ProtocolError::ExpectedDollar(b'\r'),
            "expected '$', got ' '",
        );
        assert_error(
            b"*1\r\n\n\r\n",
            &[],
            ProtocolError::ExpectedDollar(b'\n'),
            "expected '$', got ' '",
        );
        assert_error(
            b"*1\r\n*1\r\n",
            &[],
            ProtocolError::ExpectedDollar(b'*'),
            "expected '$', got '*'",
        );
        // The check waits for a complete line, as in Redis.
        assert_parses(b"*1\r\nfoo", &[], b"foo");
    }

    #[test]
    fn invalid_bulk_length() {
        let cases: [&[u8]; 8] = [
            b"*1\r\n$-1\r\n",
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n",
            b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$01\r\n",
            b"*1\r\n$+1\r\n",
            b"*1\r\n$9223372036854775808\r\n",
        ];
        for input in cases {
            assert_error(
                input,
                &[],
                ProtocolError::InvalidBulkLength,
                "invalid bulk length",
            );
        }
    }

    #[test]
    fn errors_are_sticky() {
        let limits = Limits::default();
        let mut parser = Parser::new();
        let mut args = Vec::new();
        let mut buf = BytesMut::from(&b"*x\r\n*1\r\n$4\r\nPING\r\n"[..]);
        let err = parser.parse(&mut buf, &mut args, &limits);
        assert_eq!(err, Err(ProtocolError::InvalidMultibulkLength));
        assert_eq!(parser.parse(&mut buf, &mut args, &limits), err);
    }

    #[test]
    fn reply_text_never_spans_lines() {
        for b in 0..=255u8 {
            let text = ProtocolError::ExpectedDollar(b).to_string();
            assert!(!text.contains(['\r', '\n']), "{text:?}");
            assert!(text.starts_with("expected '$', got '"));
        }
    }

    // ---- string2ll -------------------------------------------------------------

    #[test]
    fn string2ll_matches_redis() {
        let valid: [(&[u8], i64); 7] = [
            (b"0", 0),
            (b"1", 1),
            (b"-1", -1),
            (b"1234567890", 1_234_567_890),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
            (b"-9223372036854775807", -i64::MAX),
        ];
        for (s, v) in valid {
            assert_eq!(string2ll(s), Some(v), "{s:?}");
        }
        let invalid: [&[u8]; 14] = [
            b"",
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"0x10",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"000000000000000000001",
        ];
        for s in invalid {
            assert_eq!(string2ll(s), None, "{s:?}");
        }
    }

    // ---- properties --------------------------------------------------------------

    /// Bytes drawn mostly from protocol characters, so random input reaches
    /// deep into the state machine.
    fn protocol_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => prop::sample::select(b"*$\r\n0123456789-\"' \\x".to_vec()),
            1 => any::<u8>(),
        ];
        prop::collection::vec(byte, 0..300)
    }

    /// How one command is written on the wire.
    #[derive(Debug, Clone)]
    enum Encoding {
        Multibulk,
        /// Every argument as a double-quoted string of `\xHH` escapes.
        InlineHex,
        /// Arguments as plain words (only used for plain argument bytes).
        InlinePlain,
    }

    fn encode(command: &[Vec<u8>], encoding: &Encoding, out: &mut Vec<u8>) {
        let plain = command
            .iter()
            .all(|a| !a.is_empty() && a.iter().all(u8::is_ascii_alphanumeric));
        match encoding {
            Encoding::InlinePlain if plain => {
                out.extend_from_slice(&command.join(&b' '));
                out.extend_from_slice(b"\r\n");
            }
            Encoding::InlineHex => {
                for arg in command {
                    out.extend_from_slice(b" \"");
                    for b in arg {
                        out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                    }
                    out.push(b'"');
                }
                out.push(b'\n');
            }
            _ => {
                let refs: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
                out.extend(multibulk(&refs));
            }
        }
    }

    fn command_strategy() -> impl Strategy<Value = (Vec<Vec<u8>>, Encoding)> {
        let arg = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..40),
            "[a-zA-Z0-9]{1,10}".prop_map(String::into_bytes),
        ];
        let encoding = prop_oneof![
            Just(Encoding::Multibulk),
            Just(Encoding::InlineHex),
            Just(Encoding::InlinePlain),
        ];
        (prop::collection::vec(arg, 1..6), encoding)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Random bytes never panic, and any split gives what one read gives.
        #[test]
        fn random_bytes_never_panic(
            input in protocol_bytes(),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let whole = feed(&[&input]);
            let pieces = split_at(&input, &cuts);
            prop_assert_eq!(feed_pieces(&pieces, &Limits::default()), whole);
        }

        /// Random raw bytes (any value) never panic, also with a tiny limit.
        #[test]
        fn arbitrary_bytes_never_panic(
            input in prop::collection::vec(any::<u8>(), 0..300),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
            max_bulk_len in 0usize..64,
        ) {
            let limits = Limits { max_bulk_len };
            let whole = feed_with(&[&input], &limits);
            prop_assert_eq!(feed_pieces(&split_at(&input, &cuts), &limits), whole);
        }

        /// Valid commands, pipelined with blank requests between them, come
        /// back exactly under any split, and nothing is left over.
        #[test]
        fn valid_commands_round_trip(
            commands in prop::collection::vec(command_strategy(), 1..8),
            blanks in prop::collection::vec(0usize..5, 8),
            cuts in prop::collection::vec(any::<usize>(), 0..10),
        ) {
            let mut input = Vec::new();
            let mut expected = Vec::new();
            for (i, (command, encoding)) in commands.iter().enumerate() {
                match blanks[i] {
                    1 => input.extend_from_slice(b"\r\n"),
                    2 => input.extend_from_slice(b"*0\r\n"),
                    3 => input.extend_from_slice(b"*-1\r\n   \n"),
                    _ => {}
                }
                encode(command, encoding, &mut input);
                expected.push(command.clone());
            }
            let got = feed_pieces(&split_at(&input, &cuts), &Limits::default());
            prop_assert_eq!(got, Outcome { commands: expected, error: None, rest: Vec::new() });
        }
    }
}
