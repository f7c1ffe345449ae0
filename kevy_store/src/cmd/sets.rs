//! The sets command family.

use super::StoreCommand;

/// The sets family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[];
