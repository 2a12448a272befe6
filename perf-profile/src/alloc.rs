//! Allocation accounting: a global allocator that counts what passes through
//! it, and [`Region`] to measure one stretch of code.
//!
//! Install it once per binary:
//!
//! ```
//! use perf_profile::{CountingAllocator, Region};
//!
//! #[global_allocator]
//! static ALLOC: CountingAllocator = CountingAllocator::new();
//!
//! fn main() {
//!     ALLOC.enable();
//!     let region = Region::start(&ALLOC);
//!     let block = std::hint::black_box(vec![0u8; 4096]);
//!     drop(block);
//!     let stats = region.finish();
//!     assert!(stats.bytes_allocated >= 4096 && stats.peak_bytes >= 4096);
//! }
//! ```
//!
//! The counters are process-wide: every thread's allocations land in the same
//! atomics, so a region measures everything the process allocated while it
//! was open, not only the calling thread. That is the honest number for a
//! stage that fans out to worker threads (candle's matmul pool, for one), and
//! the reason to measure regions one at a time.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed},
};

use serde::{Deserialize, Serialize};

/// A [`GlobalAlloc`] over [`System`] that counts allocations, frees and bytes.
///
/// Counting starts switched off, so a binary that installs it for profiling
/// runs pays one relaxed load per allocator call in its timing runs. All
/// counters use relaxed atomics: they are statistics, not synchronisation, and
/// each `fetch_*` still sees one total order per counter, which is all the
/// peak needs to be exact.
pub struct CountingAllocator {
    enabled: AtomicBool,
    allocations: AtomicU64,
    deallocations: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_freed: AtomicU64,
    /// Signed because counting can be switched on while blocks allocated
    /// earlier are still live; freeing those drives the net figure below
    /// zero, and it must not wrap.
    live_bytes: AtomicI64,
    peak_live_bytes: AtomicI64,
}

/// The counters at one instant. `live_bytes` is the net of bytes allocated
/// minus bytes freed while counting was on; it equals the heap in use only if
/// counting was on since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AllocSnapshot {
    pub allocations: u64,
    pub deallocations: u64,
    pub bytes_allocated: u64,
    pub bytes_freed: u64,
    pub live_bytes: i64,
    pub peak_live_bytes: i64,
}

/// What one [`Region`] allocated (all threads together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AllocStats {
    /// Successful `alloc`, `alloc_zeroed` and `realloc` calls.
    pub allocations: u64,
    /// `dealloc` calls plus the old block of each `realloc`.
    pub deallocations: u64,
    /// Bytes requested, cumulative (a realloc adds its new size).
    pub bytes_allocated: u64,
    /// Highest live bytes above the live bytes when the region started.
    pub peak_bytes: u64,
    /// Live bytes at the end minus live bytes at the start (negative if the
    /// region freed more than it kept).
    pub net_live_bytes: i64,
}

impl CountingAllocator {
    /// A counting allocator with counting switched off.
    pub const fn new() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            allocations: AtomicU64::new(0),
            deallocations: AtomicU64::new(0),
            bytes_allocated: AtomicU64::new(0),
            bytes_freed: AtomicU64::new(0),
            live_bytes: AtomicI64::new(0),
            peak_live_bytes: AtomicI64::new(0),
        }
    }

    /// Starts counting allocator calls from every thread.
    pub fn enable(&self) {
        self.enabled.store(true, Relaxed);
    }

    /// Stops counting. A block allocated while counting and freed after this
    /// stays in `live_bytes`; measure whole regions with counting on.
    pub fn disable(&self) {
        self.enabled.store(false, Relaxed);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Relaxed)
    }

    pub fn snapshot(&self) -> AllocSnapshot {
        AllocSnapshot {
            allocations: self.allocations.load(Relaxed),
            deallocations: self.deallocations.load(Relaxed),
            bytes_allocated: self.bytes_allocated.load(Relaxed),
            bytes_freed: self.bytes_freed.load(Relaxed),
            live_bytes: self.live_bytes.load(Relaxed),
            peak_live_bytes: self.peak_live_bytes.load(Relaxed),
        }
    }

    /// Lowers the peak to the current live bytes, so the next peak read is
    /// the high-water mark since now.
    pub fn reset_peak(&self) {
        self.peak_live_bytes
            .store(self.live_bytes.load(Relaxed), Relaxed);
        // An allocation on another thread between the load and the store
        // above could have raised the peak and been overwritten; folding the
        // live value in again closes all but a few-instruction window.
        self.peak_live_bytes
            .fetch_max(self.live_bytes.load(Relaxed), Relaxed);
    }

    fn record_alloc(&self, size: usize) {
        let size = size as u64;
        self.allocations.fetch_add(1, Relaxed);
        self.bytes_allocated.fetch_add(size, Relaxed);
        let live = self.live_bytes.fetch_add(size as i64, Relaxed) + size as i64;
        self.peak_live_bytes.fetch_max(live, Relaxed);
    }

    fn record_dealloc(&self, size: usize) {
        self.deallocations.fetch_add(1, Relaxed);
        self.bytes_freed.fetch_add(size as u64, Relaxed);
        self.live_bytes.fetch_sub(size as i64, Relaxed);
    }

    /// A realloc is an allocation of the new size and a free of the old one;
    /// live bytes move by the difference in one step, because the caller
    /// never holds both blocks.
    fn record_realloc(&self, old_size: usize, new_size: usize) {
        self.allocations.fetch_add(1, Relaxed);
        self.deallocations.fetch_add(1, Relaxed);
        self.bytes_allocated.fetch_add(new_size as u64, Relaxed);
        self.bytes_freed.fetch_add(old_size as u64, Relaxed);
        let delta = new_size as i64 - old_size as i64;
        let live = self.live_bytes.fetch_add(delta, Relaxed) + delta;
        self.peak_live_bytes.fetch_max(live, Relaxed);
    }
}

impl Default for CountingAllocator {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged and only adds counter updates, which never allocate, so the
// `GlobalAlloc` contract is exactly `System`'s.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract, see the impl comment.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && self.enabled.load(Relaxed) {
            self.record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // Forwarded rather than left to the default so large zeroed blocks
        // keep calloc's fresh-page shortcut.
        // SAFETY: forwarded contract, see the impl comment.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && self.enabled.load(Relaxed) {
            self.record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract, see the impl comment.
        unsafe { System.dealloc(ptr, layout) };
        if self.enabled.load(Relaxed) {
            self.record_dealloc(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Forwarded so the default alloc-copy-free does not count twice and
        // the system allocator can grow in place.
        // SAFETY: forwarded contract, see the impl comment.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() && self.enabled.load(Relaxed) {
            self.record_realloc(layout.size(), new_size);
        }
        new_ptr
    }
}

/// An open measurement over a [`CountingAllocator`]. Counting must be enabled
/// for the region to see anything.
///
/// Regions are process-wide (all threads count) and starting one resets the
/// allocator's peak, so an outer region's peak is lost when an inner region
/// starts; counts and bytes nest fine.
pub struct Region<'a> {
    allocator: &'a CountingAllocator,
    start: AllocSnapshot,
}

impl<'a> Region<'a> {
    pub fn start(allocator: &'a CountingAllocator) -> Self {
        allocator.reset_peak();
        Self {
            allocator,
            start: allocator.snapshot(),
        }
    }

    pub fn finish(self) -> AllocStats {
        stats_between(&self.start, &self.allocator.snapshot())
    }
}

/// The region statistics between two snapshots, where `start` was taken
/// right after [`CountingAllocator::reset_peak`].
pub fn stats_between(start: &AllocSnapshot, end: &AllocSnapshot) -> AllocStats {
    AllocStats {
        allocations: end.allocations.wrapping_sub(start.allocations),
        deallocations: end.deallocations.wrapping_sub(start.deallocations),
        bytes_allocated: end.bytes_allocated.wrapping_sub(start.bytes_allocated),
        peak_bytes: end.peak_live_bytes.saturating_sub(start.live_bytes).max(0) as u64,
        net_live_bytes: end.live_bytes - start.live_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the counters directly (this allocator is not the global one in
    /// unit tests), so the arithmetic is checked without std's own traffic.
    #[test]
    fn realloc_counts_as_allocation_and_free_and_peak_tracks_live() {
        let a = CountingAllocator::new();
        let start = a.snapshot();
        a.record_alloc(100);
        a.record_alloc(50);
        a.record_realloc(100, 400);
        a.record_dealloc(50);
        let end = a.snapshot();
        assert_eq!(end.allocations, 3);
        assert_eq!(end.deallocations, 2);
        assert_eq!(end.bytes_allocated, 550);
        assert_eq!(end.bytes_freed, 150);
        assert_eq!(end.live_bytes, 400);
        assert_eq!(end.peak_live_bytes, 450);
        let stats = stats_between(&start, &end);
        assert_eq!(stats.peak_bytes, 450);
        assert_eq!(stats.net_live_bytes, 400);
    }

    #[test]
    fn reset_peak_measures_from_current_live_bytes() {
        let a = CountingAllocator::new();
        a.record_alloc(1000);
        a.record_dealloc(1000);
        a.record_alloc(10);
        a.reset_peak();
        let start = a.snapshot();
        assert_eq!(start.peak_live_bytes, 10);
        a.record_alloc(30);
        let stats = stats_between(&start, &a.snapshot());
        assert_eq!(stats.peak_bytes, 30);
    }

    #[test]
    fn frees_of_blocks_counted_before_do_not_wrap() {
        let a = CountingAllocator::new();
        let start = a.snapshot();
        a.record_dealloc(64);
        let stats = stats_between(&start, &a.snapshot());
        assert_eq!(stats.net_live_bytes, -64);
        assert_eq!(stats.peak_bytes, 0);
    }
}
