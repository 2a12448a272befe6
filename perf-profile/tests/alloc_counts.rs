//! The counting allocator installed as this test binary's global allocator,
//! checked against allocation patterns whose counts are known exactly.
//!
//! Everything runs in one test function on purpose: the counters are
//! process-wide, and a second test running on another thread would add its
//! allocations to these regions.

use std::hint::black_box;

use perf_profile::{AllocStats, CountingAllocator, Region};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

const KIB: usize = 1024;
/// The Vec of boxes holds fat pointers (pointer + length).
const BOX_PTR: usize = std::mem::size_of::<Box<[u8]>>();

#[test]
fn counting_allocator_counts_exactly() {
    ALLOC.enable();
    boxes_then_half_freed_then_a_growing_vec();
    realloc_is_one_allocation_and_one_free();
    nothing_is_counted_while_disabled();
    other_threads_count_too();
}

fn boxes_then_half_freed_then_a_growing_vec() {
    let region = Region::start(&ALLOC);

    // 1 allocation for the Vec, 100 for the boxes; `vec![0; n]` has len ==
    // capacity, so `into_boxed_slice` keeps the block (no shrinking realloc).
    let mut boxes: Vec<Box<[u8]>> = Vec::with_capacity(100);
    for _ in 0..100 {
        boxes.push(black_box(vec![0u8; KIB]).into_boxed_slice());
    }
    let all_boxes = 100 * BOX_PTR + 100 * KIB;
    boxes.truncate(50);
    let half_boxes = 100 * BOX_PTR + 50 * KIB;

    // The growth policy of Vec is std's business, so the capacities it
    // picks are recorded (in a stack array: recording must not allocate)
    // and the expected counts derived from them: the first capacity is an
    // allocation, each later one a realloc.
    let mut caps = [0usize; 64];
    let mut n_caps: usize = 0;
    let mut grown: Vec<u8> = Vec::new();
    for i in 0..64 * KIB {
        grown.push(i as u8);
        if grown.capacity() != n_caps.checked_sub(1).map_or(0, |last| caps[last]) {
            caps[n_caps] = grown.capacity();
            n_caps += 1;
        }
    }
    black_box(&grown);
    let caps = &caps[..n_caps];
    let grown_cap = caps[n_caps - 1];

    let stats = region.finish();
    let expected = AllocStats {
        allocations: (1 + 100 + n_caps) as u64,
        deallocations: (50 + n_caps - 1) as u64,
        bytes_allocated: (all_boxes + caps.iter().sum::<usize>()) as u64,
        // Either all 100 boxes at once, or half of them plus the grown Vec,
        // whichever is larger (here the Vec: 64 KiB > 50 KiB).
        peak_bytes: all_boxes.max(half_boxes + grown_cap) as u64,
        net_live_bytes: (half_boxes + grown_cap) as i64,
    };
    assert_eq!(stats, expected, "capacities {caps:?}");
    assert!(grown_cap >= 64 * KIB);

    let region = Region::start(&ALLOC);
    drop(grown);
    drop(boxes);
    let freed = region.finish();
    assert_eq!(freed.allocations, 0);
    assert_eq!(freed.deallocations, 51 + 1);
    assert_eq!(freed.peak_bytes, 0);
    assert_eq!(freed.net_live_bytes, -((half_boxes + grown_cap) as i64));
}

fn realloc_is_one_allocation_and_one_free() {
    let region = Region::start(&ALLOC);
    let mut v: Vec<u8> = Vec::with_capacity(100);
    v.reserve_exact(1000);
    black_box(&v);
    let cap = v.capacity();
    let stats = region.finish();
    drop(v);
    assert_eq!(
        stats,
        AllocStats {
            allocations: 2,
            deallocations: 1,
            bytes_allocated: (100 + cap) as u64,
            peak_bytes: cap as u64,
            net_live_bytes: cap as i64,
        }
    );
}

fn nothing_is_counted_while_disabled() {
    ALLOC.disable();
    let before = ALLOC.snapshot();
    let block = black_box(vec![1u8; 10 * KIB]);
    drop(block);
    let after = ALLOC.snapshot();
    ALLOC.enable();
    assert_eq!(before, after);
}

fn other_threads_count_too() {
    let region = Region::start(&ALLOC);
    let worker = std::thread::spawn(|| {
        (0..10)
            .map(|_| black_box(vec![0u8; KIB]))
            .collect::<Vec<_>>()
    });
    let blocks = worker.join().unwrap();
    let stats = region.finish();
    drop(blocks);
    // Spawning adds std's own allocations (the thread handle, its result
    // slot, the boxed closure, thread-locals), a handful that varies with
    // the std version; the worker's 10 blocks and their Vec are certain.
    assert!(
        (11..=40).contains(&stats.allocations),
        "{} allocations",
        stats.allocations
    );
    assert!(stats.bytes_allocated >= (10 * KIB + 10 * 24) as u64);
    assert!(stats.peak_bytes >= (10 * KIB) as u64);
}
