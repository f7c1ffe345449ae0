//! The hashes command family.

use super::StoreCommand;

/// The hashes family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[];
