//! The lists command family.

use super::StoreCommand;

/// The lists family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[];
