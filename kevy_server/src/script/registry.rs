//! `Scripting`: the authoritative script cache and function libraries,
//! and `ThreadVm`, one event loop's Lua VM that follows them. A change
//! (SCRIPT FLUSH, FUNCTION LOAD/DELETE/FLUSH/RESTORE) bumps a generation;
//! a VM whose generation is behind flushes (scripts) or reloads every
//! library (functions) before it next runs one.

use super::busy::Busy;
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_script::{Library, ScriptFlags, Vm};
use parking_lot::{Mutex, MutexGuard, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// The function libraries and their generation.
#[derive(Default)]
pub struct Libs {
    /// In load order.
    pub list: Vec<Library>,
}

/// Scripting state shared by every thread.
pub struct Scripting {
    scripts: RwLock<HashMap<String, Bytes>>,
    scripts_gen: AtomicU64,
    libs: Mutex<Libs>,
    libs_gen: AtomicU64,
    /// The script running past `busy-reply-threshold`, if any.
    pub busy: Busy,
    /// Bytes each event loop's two Lua states use (EVAL, functions), as
    /// last reported by the loop.
    vm_memory: Mutex<HashMap<usize, (usize, usize)>>,
}

/// What INFO memory reports of scripting.
pub struct ScriptMemory {
    /// Bytes of the EVAL Lua states.
    pub vm_eval: usize,
    /// Bytes of the functions Lua states.
    pub vm_functions: usize,
    /// Cached scripts.
    pub scripts: usize,
    /// Bytes of the cached scripts' bodies (and their keys).
    pub scripts_bytes: usize,
    /// Loaded functions.
    pub functions: usize,
    /// Loaded libraries.
    pub libraries: usize,
    /// Bytes of the libraries' code and names.
    pub functions_bytes: usize,
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting {
            scripts: RwLock::new(HashMap::new()),
            scripts_gen: AtomicU64::new(1),
            libs: Mutex::new(Libs::default()),
            libs_gen: AtomicU64::new(1),
            busy: Busy::default(),
            vm_memory: Mutex::new(HashMap::new()),
        }
    }
}

impl Scripting {
    /// The body of cached script `sha` (lowercase hex).
    pub fn script(&self, sha: &str) -> Option<Bytes> {
        self.scripts.read().get(sha).cloned()
    }

    /// True if script `sha` (any case) is cached.
    pub fn has_script(&self, sha: &[u8]) -> bool {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.scripts.read().contains_key(&sha)
    }

    /// Caches `body` under `sha`.
    pub fn add_script(&self, sha: &str, body: &[u8]) {
        let mut m = self.scripts.write();
        if !m.contains_key(sha) {
            m.insert(sha.to_string(), Bytes::copy_from_slice(body));
        }
    }

    /// SCRIPT FLUSH: forgets every script.
    pub fn flush_scripts(&self) {
        self.scripts.write().clear();
        self.scripts_gen.fetch_add(1, Ordering::AcqRel);
    }

    /// Records the memory of event loop `worker`'s Lua states.
    pub fn note_vm_memory(&self, worker: usize, eval: usize, functions: usize) {
        self.vm_memory.lock().insert(worker, (eval, functions));
    }

    /// Scripting's memory and counts, for INFO.
    pub fn memory(&self) -> ScriptMemory {
        let (vm_eval, vm_functions) = self
            .vm_memory
            .lock()
            .values()
            .fold((0, 0), |(a, b), (e, f)| (a + e, b + f));
        let (scripts, scripts_bytes) = {
            let m = self.scripts.read();
            (m.len(), m.iter().map(|(k, b)| b.len() + k.len()).sum())
        };
        let libs = self.libs.lock();
        ScriptMemory {
            vm_eval,
            vm_functions,
            scripts,
            scripts_bytes,
            functions: libs.list.iter().map(|l| l.functions.len()).sum(),
            libraries: libs.list.len(),
            functions_bytes: libs
                .list
                .iter()
                .map(|l| {
                    l.code.len()
                        + l.name.len()
                        + l.functions.iter().map(|f| f.name.len()).sum::<usize>()
                })
                .sum(),
        }
    }

    /// The libraries, locked: FUNCTION LOAD/DELETE/FLUSH/RESTORE hold this
    /// for their whole run, so they apply one at a time.
    pub fn libs(&self) -> MutexGuard<'_, Libs> {
        self.libs.lock()
    }

    /// Marks the libraries changed (call with [`Scripting::libs`] held).
    pub fn libs_changed(&self) -> u64 {
        self.libs_gen.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The libraries' generation.
    pub fn libs_gen(&self) -> u64 {
        self.libs_gen.load(Ordering::Acquire)
    }
}

/// One event loop's VM, created on first use, and the generations it
/// reflects.
#[derive(Default)]
pub struct ThreadVm {
    vm: Option<Vm>,
    scripts_gen: u64,
    libs_gen: u64,
    reported: (usize, usize),
}

impl ThreadVm {
    /// The VM, up to date with the shared script cache.
    pub fn vm(&mut self, sc: &Scripting) -> Result<&mut Vm, Reply> {
        if self.vm.is_none() {
            let vm = Vm::new().map_err(|e| Reply::error(format!("ERR {e}")))?;
            self.vm = Some(vm);
            self.libs_gen = 0;
        }
        let g = sc.scripts_gen.load(Ordering::Acquire);
        let vm = self
            .vm
            .as_mut()
            .ok_or_else(|| Reply::error("ERR scripting is unavailable"))?;
        if self.scripts_gen != g {
            vm.flush_scripts();
            self.scripts_gen = g;
        }
        Ok(vm)
    }

    /// The VM with script `sha` compiled (from the shared cache when this
    /// thread has not compiled it yet); its flags, or NOSCRIPT.
    pub fn with_script(&mut self, sc: &Scripting, sha: &str) -> Result<ScriptFlags, Reply> {
        let vm = self.vm(sc)?;
        if let Some(f) = vm.script_flags(sha) {
            return Ok(f);
        }
        let Some(body) = sc.script(sha) else {
            return Err(Reply::error(
                "NOSCRIPT No matching script. Please use EVAL.",
            ));
        };
        vm.load_script(&body).map(|(_, f)| f)
    }

    /// The VM with the shared libraries loaded.
    pub fn with_libs(&mut self, sc: &Scripting) -> Result<&mut Vm, Reply> {
        let g = sc.libs_gen();
        if self.vm.is_some() && self.libs_gen == g {
            return self.vm(sc);
        }
        let libs = sc.libs();
        self.sync_libs(sc, &libs)?;
        self.vm(sc)
    }

    /// Reloads every library of `libs` (the caller holds them locked).
    pub fn sync_libs(&mut self, sc: &Scripting, libs: &Libs) -> Result<(), Reply> {
        let g = sc.libs_gen();
        let vm = self.vm(sc)?;
        vm.flush_libraries();
        for l in &libs.list {
            // Each was loaded once already; one that fails now (it cannot,
            // the code is the same) is left out rather than failing all.
            let _ = vm.load_library(&l.code, false);
        }
        self.libs_gen = g;
        Ok(())
    }

    /// Records that this VM already reflects library generation `g`.
    pub fn set_libs_gen(&mut self, g: u64) {
        self.libs_gen = g;
    }

    /// Reports this VM's memory to `sc` when it moved by more than 4 KiB
    /// since the last report.
    pub fn report_memory(&mut self, sc: &Scripting, worker: usize) {
        let Some(vm) = self.vm.as_ref() else { return };
        let (e, f) = (vm.eval_memory(), vm.functions_memory());
        let moved = |a: usize, b: usize| a.abs_diff(b) > 4096;
        if moved(e, self.reported.0) || moved(f, self.reported.1) {
            self.reported = (e, f);
            sc.note_vm_memory(worker, e, f);
        }
    }

    /// Takes the VM out for a run (the run borrows the executor).
    pub fn take(&mut self) -> Option<Vm> {
        self.vm.take()
    }

    /// Puts the VM back after a run.
    pub fn put(&mut self, vm: Vm) {
        self.vm = Some(vm);
    }
}
