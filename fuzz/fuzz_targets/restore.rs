//! Fuzzes RESTORE payloads: any bytes must give a value or one of RESTORE's errors, never a
//! panic or a huge allocation; a payload that decodes must encode (DUMP) to a payload that
//! decodes again.
//!
//! The input is used as is, and as the body of a payload with a correct version and CRC64
//! appended, so the fuzzer gets past the checksum to the value decoders.
#![no_main]

use ferrokv::persist::rdb::{crc64, decode::restore_payload, encode::dump_payload, RDB_VERSION};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = restore_payload(data);
    let mut payload = data.to_vec();
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64().checksum(&payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    if let Ok(value) = restore_payload(&payload) {
        let again = dump_payload(&value);
        restore_payload(&again).expect("DUMP of a restored value does not RESTORE");
    }
});
