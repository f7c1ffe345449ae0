//! End-to-end tests of the `kevy-server` binary: real processes, real
//! sockets. `diff` runs the command scripts of `tests/scripts/` against kevy
//! and the real redis-server and compares replies byte for byte; the other
//! modules test what a script cannot express (malformed input, concurrency,
//! process lifecycle, INFO's shape). Shared helpers live in `e2e/util/` (processes, the raw client, the script runner).

#[path = "e2e/util/mod.rs"]
mod util;

#[path = "e2e/diff.rs"]
mod diff;

#[path = "e2e/protocol.rs"]
mod protocol;

#[path = "e2e/atomic.rs"]
mod atomic;

#[path = "e2e/scripting.rs"]
mod scripting;

#[path = "e2e/scripting_busy.rs"]
mod scripting_busy;

#[path = "e2e/scripting_libs.rs"]
mod scripting_libs;

#[path = "e2e/lifecycle.rs"]
mod lifecycle;

#[path = "e2e/info.rs"]
mod info;

#[path = "e2e/persist.rs"]
mod persist;

#[path = "e2e/pubsub.rs"]
mod pubsub;

#[path = "e2e/notify.rs"]
mod notify;

#[path = "e2e/tracking.rs"]
mod tracking;

#[path = "e2e/memory.rs"]
mod memory;

#[path = "e2e/monitor.rs"]
mod monitor;

#[path = "e2e/blocking.rs"]
mod blocking;

#[path = "e2e/auth.rs"]
mod auth;

#[path = "e2e/txn.rs"]
mod txn;

#[path = "e2e/acl.rs"]
mod acl;

#[path = "e2e/config_diff.rs"]
mod config_diff;

#[path = "e2e/diskfull.rs"]
mod diskfull;
#[path = "e2e/diskfull_load.rs"]
mod diskfull_load;
#[path = "e2e/faults.rs"]
mod faults;

#[path = "e2e/protected.rs"]
mod protected;

#[path = "e2e/reply_stream.rs"]
mod reply_stream;

#[path = "e2e/streams.rs"]
mod streams;

#[path = "e2e/streams_crash.rs"]
mod streams_crash;

#[path = "e2e/streams_random.rs"]
mod streams_random;

#[path = "e2e/limits.rs"]
mod limits;

#[path = "e2e/client_list.rs"]
mod client_list;
