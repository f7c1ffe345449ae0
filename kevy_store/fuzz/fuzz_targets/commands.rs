//! Fuzz target: fuzz bytes decoded into a sequence of commands over a small
//! vocabulary and raw bytes, run against an embedded store with a log on
//! every shard (see `kevy_store_fuzz::run` for what is checked).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kevy_store_fuzz::run(data));
