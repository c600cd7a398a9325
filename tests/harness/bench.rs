//! What only the benches use: percentiles of measured durations and the
//! fields of a process's `/proc/PID/status`. Run sizes come from the
//! environment through `env::count`.

use std::time::Duration;

/// The `p`-th percentile (0.0 to 1.0) of `sorted`, which must not be empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// The fields of `/proc/{pid}/status` as a lookup: `field("VmRSS:")` is the
/// number after that name (kB for the memory fields), NaN when the process
/// or the field is gone or the value is not a number.
pub fn proc_status(pid: &str) -> impl Fn(&str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    move |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    }
}
