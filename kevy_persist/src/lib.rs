//! kevy_persist
