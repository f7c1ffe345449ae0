//! The zsets command family.

use super::StoreCommand;

/// The zsets family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[];
