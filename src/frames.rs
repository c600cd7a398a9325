//! How fast the terminal runner draws: when the first frame and the first
//! frame with history appeared, and how long each frame took (its events
//! handled, then drawn). Logged once at exit, so a slow screen can be told
//! from a slow network, and the scale bench reads its figures from there.
//! Pure: the runner passes the times in.

use std::time::Duration;

/// Frames whose times are kept for the percentiles; later ones count only
/// toward the slowest and the total.
const KEPT: usize = 1 << 20;

/// The budget of one frame at 60 frames a second.
pub const FRAME_BUDGET: Duration = Duration::from_millis(16);

#[derive(Debug, Default)]
pub struct FrameStats {
    first: Option<Duration>,
    first_with_history: Option<Duration>,
    times: Vec<Duration>,
    count: u64,
    slowest: Duration,
    over_budget: u64,
}

impl FrameStats {
    /// A frame drawn `since_start` after the runner started, which took
    /// `took`; `with_history` when the view shows its channel's first page.
    pub fn record(&mut self, since_start: Duration, took: Duration, with_history: bool) {
        self.first.get_or_insert(since_start);
        if with_history {
            self.first_with_history.get_or_insert(since_start);
        }
        self.count += 1;
        self.slowest = self.slowest.max(took);
        if took > FRAME_BUDGET {
            self.over_budget += 1;
        }
        if self.times.len() < KEPT {
            self.times.push(took);
        }
    }

    /// One line for the log file.
    pub fn summary(&self) -> String {
        let mut times = self.times.clone();
        times.sort_unstable();
        let at = |q: f64| {
            let index = ((times.len() as f64 - 1.0) * q).round() as usize;
            times.get(index).copied().unwrap_or_default()
        };
        let ms = |d: Option<Duration>| {
            d.map_or("never".to_string(), |d| {
                format!("{:.1} ms", d.as_secs_f64() * 1e3)
            })
        };
        format!(
            "frames: {}; first at {}, first with history at {}; each took p50 {}, p99 {}, slowest {}; {} over {} ms",
            self.count,
            ms(self.first),
            ms(self.first_with_history),
            ms(Some(at(0.5))),
            ms(Some(at(0.99))),
            ms(Some(self.slowest)),
            self.over_budget,
            FRAME_BUDGET.as_millis(),
        )
    }
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
}
