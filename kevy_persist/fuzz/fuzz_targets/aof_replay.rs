//! Fuzz target: arbitrary bytes as an AOF file (kevy's or a bare Redis
//! RESP one) through recovery and `--check-aof` (see
//! `kevy_persist_fuzz::aof_replay` for what is checked).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kevy_persist_fuzz::aof_replay(data));
