//! `RunState`: what the Lua callbacks of one engine share with the `Vm`
//! while a script runs: the host (reachable only during the run), the
//! script's protocol, a pending abort, and the library being registered by
//! `FUNCTION LOAD`.

use crate::host::{Abort, Host};
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

/// What the engine is doing now, which decides what `redis.*` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Nothing runs.
    Idle,
    /// A script or function body runs: `redis.call` works.
    Running,
    /// A library's code runs for `FUNCTION LOAD`: only registration works.
    Loading,
}

/// State shared by an engine's callbacks (one per Lua state).
pub(crate) struct RunState {
    host: Cell<Option<NonNull<dyn Host + 'static>>>,
    /// `redis.setresp`: 2 or 3.
    pub resp: Cell<u8>,
    /// Set when the host stopped the script: its reply.
    pub abort: RefCell<Option<Abort>>,
    /// Where the script was when it was stopped (chunk source, line).
    pub abort_at: RefCell<Option<(String, usize)>>,
    /// What runs now.
    pub phase: Cell<Phase>,
    /// Functions registered by the library `FUNCTION LOAD` is running.
    pub registered: RefCell<Vec<crate::library::Registered>>,
    /// When a library's load code must have finished.
    pub load_deadline: Cell<Option<std::time::Instant>>,
    /// Where `redis.call` copies its arguments (reused call after call).
    pub arena: RefCell<bytes::BytesMut>,
    /// The argv `redis.call` hands the host (its capacity reused).
    pub argv: RefCell<Vec<bytes::Bytes>>,
}

impl RunState {
    pub(crate) fn new() -> RunState {
        RunState {
            host: Cell::new(None),
            resp: Cell::new(2),
            abort: RefCell::new(None),
            abort_at: RefCell::new(None),
            phase: Cell::new(Phase::Idle),
            registered: RefCell::new(Vec::new()),
            load_deadline: Cell::new(None),
            arena: RefCell::new(bytes::BytesMut::with_capacity(4096)),
            argv: RefCell::new(Vec::new()),
        }
    }

    /// Records that the host stopped the script at stack `level`.
    pub(crate) fn stop(&self, lua: &mlua::Lua, abort: Abort, level: usize) {
        *self.abort_at.borrow_mut() = crate::engine::locate(lua, level);
        *self.abort.borrow_mut() = Some(abort);
    }

    /// Makes `host` reachable from the callbacks while `f` runs.
    pub(crate) fn with_host<R>(&self, host: &mut dyn Host, f: impl FnOnce() -> R) -> R {
        struct Clear<'a>(&'a Cell<Option<NonNull<dyn Host + 'static>>>);
        impl Drop for Clear<'_> {
            fn drop(&mut self) {
                self.0.set(None);
            }
        }
        let ptr: NonNull<dyn Host + '_> = NonNull::from(host);
        // SAFETY: only the trait object's lifetime is erased. The pointer
        // is stored for the duration of `f` and cleared by `Clear` before
        // this function returns (or unwinds), so it never outlives the
        // `&mut dyn Host` borrow it came from; the callbacks that read it
        // run only inside `f`. Measured reason for the pointer instead of
        // `Lua::scope`: scoped callbacks cost ~300 ns more per script run
        // (mlua 0.11, one callback), a tenth of an EVALSHA.
        let ptr: NonNull<dyn Host + 'static> = unsafe { std::mem::transmute(ptr) };
        self.host.set(Some(ptr));
        let _clear = Clear(&self.host);
        f()
    }

    /// Runs `f` with the host, if a script is running. The host is taken
    /// out of its cell meanwhile, so a nested use finds none instead of
    /// aliasing it.
    pub(crate) fn host<R>(&self, f: impl FnOnce(&mut dyn Host) -> R) -> Option<R> {
        let p = self.host.take()?;
        struct Restore<'a>(
            &'a Cell<Option<NonNull<dyn Host + 'static>>>,
            NonNull<dyn Host + 'static>,
        );
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(Some(self.1));
            }
        }
        let _restore = Restore(&self.host, p);
        // SAFETY: `p` was stored by `with_host`, whose borrow is live while
        // the cell holds it (see there); taking it out of the cell makes
        // this the only reference until `Restore` puts it back.
        let host = unsafe { &mut *p.as_ptr() };
        Some(f(host))
    }
}
