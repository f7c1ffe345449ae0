//! kevy_resp: the Redis wire protocol (RESP2 and RESP3).
#![deny(missing_docs)]

mod reply;

pub use reply::{Protocol, Reply};
