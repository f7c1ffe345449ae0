//! The global allocator: the system allocator plus a byte count, so INFO's
//! `used_memory` and `maxmemory` see what the server really holds. Each
//! thread batches its delta locally and publishes it to the shared counter
//! only every 256 KiB, so counting costs no shared-cache-line traffic per
//! allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counting wrapper around the system allocator.
pub struct Counting;

static USED: AtomicIsize = AtomicIsize::new(0);
const FLUSH: isize = 256 * 1024;

thread_local! {
    static LOCAL: Cell<isize> = const { Cell::new(0) };
}

#[inline]
fn account(delta: isize) {
    let done = LOCAL.try_with(|c| {
        let v = c.get() + delta;
        if !(-FLUSH..=FLUSH).contains(&v) {
            USED.fetch_add(v, Ordering::Relaxed);
            c.set(0);
        } else {
            c.set(v);
        }
    });
    if done.is_err() {
        USED.fetch_add(delta, Ordering::Relaxed);
    }
}

/// Bytes currently allocated (within 256 KiB per thread).
pub fn used_memory() -> usize {
    USED.load(Ordering::Relaxed).max(0) as usize
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counter is bookkeeping only and never affects the returned
// pointers.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        account(-(layout.size() as isize));
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// [`used_memory`] plus what this thread has not published yet: exact for
/// this thread's own allocations and frees (other threads may still hold up
/// to 256 KiB each). The `maxmemory` check reads it, so an evicting thread
/// sees its frees at once.
#[inline]
pub fn used_memory_here() -> usize {
    let local = LOCAL.try_with(|c| c.get()).unwrap_or(0);
    (USED.load(Ordering::Relaxed) + local).max(0) as usize
}

/// Publishes this thread's pending delta now, so [`used_memory`] counts
/// it: for threads that go quiet after allocating (start-up, cron).
pub fn flush_here() {
    let _ = LOCAL.try_with(|c| {
        USED.fetch_add(c.replace(0), Ordering::Relaxed);
    });
}
