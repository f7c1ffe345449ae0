//! kevy_store
