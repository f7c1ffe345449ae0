//! Function libraries on disk. They are dataset state (they survive a
//! restart, as in Redis), kept in `functions.dump` in the data directory:
//! the `FUNCTION DUMP` payload of every library, rewritten atomically
//! (temp file, fsync, rename, fsync of the directory) by every change.
//! FCALL's effects are logged as the commands it ran, so replaying the
//! AOF never needs the libraries; they only have to be there afterwards.

use crate::script::{decode_functions, encode_functions};
use crate::shared::Shared;
use kevy_script::{Library, Vm};
use std::path::{Path, PathBuf};

/// The file's name in the data directory.
pub const FILE: &str = "functions.dump";

/// Writes `libs` as the libraries on disk.
pub fn save(shared: &Shared, libs: &[Library]) -> Result<(), String> {
    let dir = PathBuf::from(&shared.config.get().dir);
    kevy_persist::write_atomic(&kevy_persist::OsFs, &dir, FILE, &encode_functions(libs))
        .map_err(|e| e.to_string())
}

/// The libraries saved in `dir` (none if there is no file). A file that
/// cannot be read, decoded or loaded stops the start with a message
/// naming it: starting without libraries the dataset's users call would
/// lose data silently.
pub fn load(dir: &Path) -> Result<Vec<Library>, String> {
    let path = dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    let codes = decode_functions(&bytes)
        .map_err(|e| format!("{}: not a function library payload ({e})", path.display()))?;
    let mut vm = Vm::new().map_err(|e| format!("{}: {e}", path.display()))?;
    let mut libs = Vec::with_capacity(codes.len());
    for code in codes {
        let lib = vm.load_library(&code, false).map_err(|r| {
            let text = match r {
                kevy_resp::Reply::Error(e) => String::from_utf8_lossy(&e).into_owned(),
                _ => String::new(),
            };
            format!("{}: a library does not load: {text}", path.display())
        })?;
        libs.push(lib);
    }
    Ok(libs)
}
