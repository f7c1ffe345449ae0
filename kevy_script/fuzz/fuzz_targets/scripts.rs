//! Fuzz target: fuzz bytes decoded into a sequence of scripts (Lua built
//! from fragments, or raw bytes as Lua) run against an embedded store with
//! a log on every shard (see `kevy_script_fuzz::run` for what is checked).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kevy_script_fuzz::run(data));
