//! The hll command family.

use super::StoreCommand;

/// The hll family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[];
