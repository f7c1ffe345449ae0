//! The bitmaps command family.

use super::StoreCommand;

/// The bitmaps family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[];
