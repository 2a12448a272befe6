//! Transparent huge pages for the exact scan's rows.
//!
//! Why: an exact search reads every row once per query, 1.5 KiB per
//! 384-dimension vector, so a few thousand vectors already span more 4 KiB
//! pages than the core's second-level TLB holds, and every query walks
//! page tables again. numpy asks the kernel for huge pages on any array of
//! 4 MiB or more (`MADV_HUGEPAGE`), and a BLAS matrix-vector product over
//! such an array is what exact search is compared with. Where the kernel
//! runs THP in `madvise` mode (the common default) nothing is given
//! without the advice. Advice only: a kernel without THP ignores it, and
//! the rows stay correct either way.

/// Asks for huge pages under the 2 MiB-aligned part of `buffer`'s
/// allocation (its whole capacity, written or not: pages not yet touched
/// are then faulted in as huge pages). Below one huge page it does
/// nothing.
pub fn advise<T>(buffer: &Vec<T>) {
    const HUGE: usize = 2 << 20;
    let bytes = buffer.capacity() * std::mem::size_of::<T>();
    if bytes < HUGE {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let start = buffer.as_ptr() as usize;
        let first = start.next_multiple_of(HUGE);
        let end = (start + bytes) / HUGE * HUGE;
        if end > first {
            // SAFETY: the range lies inside `buffer`'s own allocation, and
            // MADV_HUGEPAGE changes only how the kernel backs those pages,
            // never their contents. A refusal (no THP) is harmless.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
}
