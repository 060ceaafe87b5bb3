//! Fuzzes the RDB loader (start-up, DEBUG RELOAD, an AOF's preamble): any bytes must give
//! keys or an error, never a panic, a hang or an allocation sized by a corrupt length.
//!
//! A file whose stored checksum is zero is loaded without checking it (as Redis does), so the
//! fuzzer reaches the value decoders without having to forge a CRC64.
#![no_main]

use ferrokv::persist::rdb::file::load;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut keys = 0usize;
    let _ = load(data, data.len() as u64, 16, 0, |_, _| {}, |db, key, _entry| {
        assert!(db < 16, "a database outside the configured count");
        let _ = key;
        keys += 1;
        Ok(())
    });
    // The same bytes behind the signature and version every fuzzed input would otherwise
    // have to find first.
    let mut file = b"REDIS0010".to_vec();
    file.extend_from_slice(data);
    let _ = load(&file[..], file.len() as u64, 16, 0, |_, _| {}, |_, _, _| Ok(()));
});
