//! What the completeness tests share (`tests/engine/replication.rs` for
//! hychat → hychat, `tests/binary/completeness.rs` for JS → hychat): how
//! many fresh readers to run (`HYCHAT_COMPLETENESS_RUNS`, 1 when unset),
//! missing seqs named as runs, and the line that sums up the runs.

use std::time::Duration;

/// The environment variable that sets the number of runs.
pub const RUNS_VAR: &str = "HYCHAT_COMPLETENESS_RUNS";

/// How many fresh readers a completeness test runs: `RUNS_VAR`, or 1.
/// Anything but a positive count fails the test (`env::count`).
pub fn runs() -> usize {
    super::env::count(RUNS_VAR, 1) as usize
}

/// Sorted seqs as runs (`3, 7..=9`), the first 20 of them, for failure
/// messages.
pub fn seq_runs(seqs: impl IntoIterator<Item = u64>) -> String {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for seq in seqs {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == seq => *end = seq,
            _ => runs.push((seq, seq)),
        }
    }
    let mut text: Vec<String> = runs
        .iter()
        .take(20)
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..={b}")
            }
        })
        .collect();
    if runs.len() > 20 {
        text.push(format!("and {} more runs", runs.len() - 20));
    }
    text.join(", ")
}

/// `"min .. s, median .. s, max .. s"` of the runs' catch-up times.
pub fn summary(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    match (sorted.first(), sorted.last()) {
        (Some(min), Some(max)) => format!(
            "catch-up min {:.2} s, median {:.2} s, max {:.2} s",
            min.as_secs_f64(),
            sorted[sorted.len() / 2].as_secs_f64(),
            max.as_secs_f64()
        ),
        _ => "no runs".to_string(),
    }
}
