//! Fuzz target: the client-side reply parser on arbitrary bytes (see
//! `kevy_resp_fuzz::parse_reply`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kevy_resp_fuzz::parse_reply(data));
