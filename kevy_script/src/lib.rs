//! kevy_script: runs Redis Lua scripts (`EVAL`) and function libraries
//! (`FUNCTION LOAD`/`FCALL`) the way Redis 7.0 does, against any host that
//! can execute Redis commands.
#![deny(missing_docs)]

mod libs;
