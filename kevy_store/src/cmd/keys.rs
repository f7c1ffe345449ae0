//! Generic keyspace commands.

use super::StoreCommand;

/// The keyspace family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[];
