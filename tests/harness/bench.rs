//! What only the benches use: percentiles of measured durations. Run sizes
//! come from the environment through `env::count`.

use std::time::Duration;

/// The `p`-th percentile (0.0 to 1.0) of `sorted`, which must not be empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}
