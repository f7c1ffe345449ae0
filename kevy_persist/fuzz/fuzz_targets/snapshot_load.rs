//! Fuzz target: arbitrary bytes as a snapshot file through recovery (see
//! `kevy_persist_fuzz::snapshot_load` for what is checked).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kevy_persist_fuzz::snapshot_load(data));
