//! The bandwidth limit of one short query: how long this machine takes to
//! read the encoder's linear weights once, the floor under a batch-1
//! forward pass that touches each of them once.
//!
//! ```text
//! weight_stream [--config FILE] [--threads N] [--passes N]
//!     FILE: the model's config.json [default: the provisioned
//!     all-MiniLM-L6-v2 under target/perf-models]
//! ```
//!
//! Prints, for one thread and for N (default: every logical core), the
//! median time to read the linear weights' bytes in bf16 (each thread its
//! share, a barrier between passes): warm, the same buffer again and again
//! (the last-level cache holds it where it fits), and from memory, a buffer
//! 16 times larger read in weight-sized slices one after another so that
//! no slice is cached when it is read again. Then the round trip of one
//! cache line between two threads pinned to the first two logical cores:
//! what each hand-over between the encoder's two workers costs at least
//! (on the 2-vCPU VMs it moves with where the host runs the vCPUs).
//!
//! Not a workload and not a test: nothing here is recorded in a baseline.

use std::{
    path::PathBuf,
    process::ExitCode,
    sync::{Arc, Barrier},
    time::Instant,
};

const USAGE: &str = "usage: weight_stream [--config FILE] [--threads N] [--passes N]";

/// Slices of the from-memory buffer: 16 × 21 MB outgrows any L3 we meet.
const COLD_SLICES: usize = 16;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weight_stream: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut config = PathBuf::from("target/perf-models/all-minilm-l6-v2/config.json");
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut passes = 200usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--config" => config = value()?.into(),
            "--threads" => threads = count(&flag, &value()?)?,
            "--passes" => passes = count(&flag, &value()?)?,
            _ => return Err(format!("unknown argument `{flag}`\n{USAGE}")),
        }
    }
    let text = std::fs::read_to_string(&config).map_err(|e| {
        format!(
            "cannot read {} ({e}): run `cargo xtask perf baseline --quick` once to provision the model, or pass --config",
            config.display()
        )
    })?;
    let c: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    let field = |name: &str| {
        c[name]
            .as_u64()
            .map(|v| v as usize)
            .ok_or(format!("{} has no `{name}`", config.display()))
    };
    let (h, i, layers) = (
        field("hidden_size")?,
        field("intermediate_size")?,
        field("num_hidden_layers")?,
    );
    // Q, K, V, the attention output, up and down: what a token meets once
    // per layer; the embedding tables are read a row per token, not whole.
    let params = layers * (4 * h * h + 2 * h * i);
    let bytes = params * 2;
    println!(
        "linear weights: {layers} layers x (4 x {h}^2 + 2 x {h} x {i}) = {params} parameters, {:.1} MB in bf16",
        bytes as f64 / 1e6
    );
    for t in [1, threads] {
        let warm = stream(bytes, 1, t, passes);
        let cold = stream(bytes, COLD_SLICES, t, passes.div_ceil(COLD_SLICES).max(4));
        println!(
            "{t} thread(s): warm {:.3} ms ({:.0} GB/s), from memory {:.3} ms ({:.0} GB/s), median of {passes} reads",
            warm * 1e3,
            bytes as f64 / warm / 1e9,
            cold * 1e3,
            bytes as f64 / cold / 1e9
        );
        if t == threads {
            break;
        }
    }
    if threads > 1 {
        let ns = round_trip_ns(passes);
        println!("a cache line between two threads (cores 0 and 1): {ns:.0} ns round trip, median of {passes} bursts of {BURST}");
    }
    Ok(())
}

/// Round trips per burst of [`round_trip_ns`].
const BURST: u64 = 20_000;

/// Median round trip of one counter passed back and forth between two
/// spinning threads, each pinned to its core where the OS allows it.
fn round_trip_ns(bursts: usize) -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    let flag = Arc::new(AtomicU64::new(0));
    let done = u64::MAX;
    let echo = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            pin(1);
            loop {
                let v = flag.load(Ordering::Acquire);
                if v == done {
                    break;
                }
                if v % 2 == 1 {
                    flag.store(v + 1, Ordering::Release);
                }
                std::hint::spin_loop();
            }
        })
    };
    pin(0);
    let mut v = 0u64;
    let mut times = Vec::with_capacity(bursts);
    for _ in 0..bursts {
        let began = Instant::now();
        for _ in 0..BURST {
            flag.store(v + 1, Ordering::Release);
            while flag.load(Ordering::Acquire) != v + 2 {
                std::hint::spin_loop();
            }
            v += 2;
        }
        times.push(began.elapsed().as_nanos() as f64 / BURST as f64);
    }
    flag.store(done, Ordering::Release);
    echo.join().expect("the echo thread");
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Runs the calling thread on logical core `core` only (Linux); elsewhere,
/// or where it is refused, the scheduler places it.
fn pin(core: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: a zeroed cpu_set_t is a valid empty set, CPU_SET writes
    // inside it, and sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = core;
}

fn count(flag: &str, s: &str) -> Result<usize, String> {
    match s.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} takes a positive whole number, got `{s}`")),
    }
}

/// Median seconds to read `bytes` once with `threads` threads, over a
/// buffer of `slices` such reads taken in turn.
fn stream(bytes: usize, slices: usize, threads: usize, rounds: usize) -> f64 {
    let words = bytes / 8;
    let buffer: Arc<Vec<u64>> = Arc::new((0..(words * slices) as u64).collect());
    let barrier = Arc::new(Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (buffer, barrier) = (buffer.clone(), barrier.clone());
            std::thread::spawn(move || {
                let share = words / threads;
                let mut times = Vec::with_capacity(rounds * slices);
                let mut sink = 0u64;
                for _ in 0..rounds {
                    for s in 0..slices {
                        let start = s * words + t * share;
                        barrier.wait();
                        let began = Instant::now();
                        sink = sink.wrapping_add(sum(&buffer[start..start + share]));
                        barrier.wait();
                        times.push(began.elapsed().as_secs_f64());
                    }
                }
                std::hint::black_box(sink);
                times
            })
        })
        .collect();
    // The slowest thread of each read decides it; thread 0's clock spans
    // both barriers, so its times are the reads' times.
    let mut times = Vec::new();
    for (t, w) in workers.into_iter().enumerate() {
        let mine = w.join().expect("a reader thread");
        if t == 0 {
            times = mine;
        }
    }
    // The first round warms the buffer (pages faulted in, caches filled).
    let skip = slices.min(times.len() - 1);
    let mut measured = times.split_off(skip);
    measured.sort_by(f64::total_cmp);
    measured[measured.len() / 2]
}

/// Eight independent sums, so the loads are not serialised on one add.
fn sum(words: &[u64]) -> u64 {
    let mut acc = [0u64; 8];
    for chunk in words.chunks_exact(8) {
        for (a, w) in acc.iter_mut().zip(chunk) {
            *a = a.wrapping_add(*w);
        }
    }
    acc.iter().fold(0, |a, b| a.wrapping_add(*b))
}
