//! What the render benchmarks share.

use std::time::{Duration, Instant};

/// The median time of `runs` calls of `f`, after one call to warm up.
pub fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times.get(runs / 2).copied().unwrap_or_default()
}
