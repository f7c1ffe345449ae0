//! Integration tests for kevy_config, one module per area. They read like
//! operator sessions: a command line, an environment, a file, and the
//! `CONFIG` commands a client would send.

mod glob;
mod rewrite;
mod sample;
mod set;
mod sources;
mod util;
