//! How fast the terminal runner draws: when the first frame and the first
//! frame with history appeared, and how long each frame took (its events
//! handled, then drawn). Logged once at exit, so a slow screen can be told
//! from a slow network, and the scale bench reads its figures from there.
//! The frames since the last report are summed up too (`interval`): the
//! runner logs them every few seconds at debug level, next to its live task
//! count, for the churn bench (`benches/churn.rs`). Pure: the runner passes
//! the times in.

use std::time::Duration;

/// Frames whose times are kept for the percentiles; later ones count only
/// toward the slowest and the total.
const KEPT: usize = 1 << 20;

/// The budget of one frame at 60 frames a second.
pub const FRAME_BUDGET: Duration = Duration::from_millis(16);

/// A frame slower than this is a visible stall; each interval counts them.
pub const STALL: Duration = Duration::from_millis(50);

/// Frames of one interval whose times are kept for its percentiles.
const KEPT_PER_INTERVAL: usize = 1 << 14;

#[derive(Debug, Default)]
pub struct FrameStats {
    first: Option<Duration>,
    first_with_history: Option<Duration>,
    /// All frames; `over` counts those over `FRAME_BUDGET`.
    all: Tally,
    /// The frames since the last `interval` report; `over` counts those
    /// over `STALL`.
    interval: Tally,
}

/// Frame times: how many, the slowest, how many over a limit, and the
/// first few kept for the percentiles.
#[derive(Debug, Default)]
struct Tally {
    times: Vec<Duration>,
    count: u64,
    slowest: Duration,
    over: u64,
}

impl Tally {
    /// A frame that took `took`, counted when over `limit`; its time is kept
    /// while fewer than `kept` are.
    fn add(&mut self, took: Duration, limit: Duration, kept: usize) {
        self.count += 1;
        self.slowest = self.slowest.max(took);
        if took > limit {
            self.over += 1;
        }
        if self.times.len() < kept {
            self.times.push(took);
        }
    }

    /// "p50 …, p99 …, slowest …; N over `limit` ms".
    fn spread(&self, limit: Duration) -> String {
        let mut times = self.times.clone();
        times.sort_unstable();
        format!(
            "p50 {}, p99 {}, slowest {}; {} over {} ms",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(self.slowest),
            self.over,
            limit.as_millis(),
        )
    }
}

impl FrameStats {
    /// A frame drawn `since_start` after the runner started, which took
    /// `took`; `with_history` when the view shows its channel's first page.
    pub fn record(&mut self, since_start: Duration, took: Duration, with_history: bool) {
        self.first.get_or_insert(since_start);
        if with_history {
            self.first_with_history.get_or_insert(since_start);
        }
        self.all.add(took, FRAME_BUDGET, KEPT);
        self.interval.add(took, STALL, KEPT_PER_INTERVAL);
    }

    /// One line for the log file about the frames since the last call,
    /// which starts the next interval.
    pub fn interval(&mut self) -> String {
        let interval = std::mem::take(&mut self.interval);
        format!(
            "frames since the last report: {}; {}",
            interval.count,
            interval.spread(STALL),
        )
    }

    /// One line for the log file.
    pub fn summary(&self) -> String {
        let when = |d: Option<Duration>| d.map_or("never".to_string(), ms);
        format!(
            "frames: {}; first at {}, first with history at {}; each took {}",
            self.all.count,
            when(self.first),
            when(self.first_with_history),
            self.all.spread(FRAME_BUDGET),
        )
    }
}

/// The `q`-th quantile (0.0 to 1.0) of `sorted`; zero when it is empty.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarizes_first_frames_and_percentiles() {
        let mut stats = FrameStats::default();
        assert!(stats.summary().starts_with("frames: 0; first at never"));
        let ms = Duration::from_millis;
        stats.record(ms(5), ms(2), false);
        stats.record(ms(40), ms(20), true);
        for i in 0..98 {
            stats.record(ms(50 + i), ms(1), true);
        }
        let line = stats.summary();
        assert!(
            line.contains("frames: 100; first at 5.0 ms, first with history at 40.0 ms"),
            "{line}"
        );
        assert!(
            line.contains("p50 1.0 ms, p99 2.0 ms, slowest 20.0 ms; 1 over 16 ms"),
            "{line}"
        );
    }

    #[test]
    fn each_interval_report_covers_the_frames_since_the_last_one() {
        let mut stats = FrameStats::default();
        let ms = Duration::from_millis;
        assert_eq!(
            stats.interval(),
            "frames since the last report: 0; p50 0.0 ms, p99 0.0 ms, slowest 0.0 ms; 0 over 50 ms"
        );
        stats.record(ms(1), ms(80), false);
        for i in 0..99 {
            stats.record(ms(2 + i), ms(2), false);
        }
        assert_eq!(
            stats.interval(),
            "frames since the last report: 100; p50 2.0 ms, p99 2.0 ms, slowest 80.0 ms; 1 over 50 ms"
        );
        stats.record(ms(200), ms(3), false);
        assert_eq!(
            stats.interval(),
            "frames since the last report: 1; p50 3.0 ms, p99 3.0 ms, slowest 3.0 ms; 0 over 50 ms"
        );
        // The whole run still counts every frame.
        assert!(stats.summary().starts_with("frames: 101;"));
    }
}
