//! Fuzzes the request parser: it must not panic on any input, and reading the
//! input in two pieces must give the same commands and error as one read.
//!
//! The first byte of the data says where the rest is split.
#![no_main]

use bytes::{Bytes, BytesMut};
use ferrokv::resp::parse::{Limits, Parser, ProtocolError};
use libfuzzer_sys::fuzz_target;

/// Commands parsed and the error, if any, after feeding `pieces` in turn.
fn run(pieces: &[&[u8]]) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
    let limits = Limits::default();
    let mut parser = Parser::new();
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let mut commands = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match parser.parse(&mut buf, &mut args, &limits) {
                Ok(true) => {
                    assert!(!args.is_empty(), "a command with no arguments");
                    commands.push(args.clone());
                }
                Ok(false) => break,
                Err(e) => return (commands, Some(e)),
            }
        }
    }
    (commands, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, input)) = data.split_first() else {
        return;
    };
    let (first, second) = input.split_at(usize::from(split).min(input.len()));
    let split_run = run(&[first, second]);
    // The first piece is under 256 bytes, far below the 64 KiB line limit,
    // so the split cannot change which limit trips: both runs must agree.
    assert_eq!(split_run, run(&[input]));
});
