//! kevy_config
