//! A raw output pointer that parallel tasks share, each writing its own
//! disjoint part of one buffer (rayon cannot split a buffer into the
//! strided regions these kernels write: a head's columns of a sequence's
//! rows, a row block of a column panel).

/// The output buffer's start. Sound only while every task writes a region
/// no other task touches and the buffer outlives the parallel loop; each
/// construction site says why that holds there.
#[derive(Clone, Copy)]
pub(super) struct SharedOut(pub(super) *mut f32);
// SAFETY: see the type's contract; the pointer itself is only an address.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// Through a method, so closures capture the `Send` wrapper, not the
    /// raw pointer inside it.
    pub(super) fn ptr(&self) -> *mut f32 {
        self.0
    }
}
