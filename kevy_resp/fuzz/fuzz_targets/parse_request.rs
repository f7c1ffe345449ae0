//! Fuzz target: arbitrary bytes, cut into arbitrary chunks, fed to the
//! request parser (see `kevy_resp_fuzz::parse_request`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kevy_resp_fuzz::parse_request(data));
