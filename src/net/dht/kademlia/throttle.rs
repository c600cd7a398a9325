//! The node-wide throttle on random punches, kept where JS hyperdht keeps
//! it (on the DHT instance, `_randomPunches` and `_lastRandomPunch`): a
//! client's and a server's punches through one node share it. The running
//! node (`service`) holds one; both connection roles ask it before a punch
//! whose strategy is random (`strategy::is_random_punch`). Pure: every call
//! takes `now`.

use std::time::{Duration, Instant};

/// Random punches running at once, per DHT instance.
const RANDOM_PUNCH_LIMIT: u32 = 1;
/// The least time from the end of one random punch to the start of the next.
const RANDOM_PUNCH_INTERVAL: Duration = Duration::from_secs(20);

/// The per-DHT throttle on random punches: at most `RANDOM_PUNCH_LIMIT` at
/// a time, and none within `RANDOM_PUNCH_INTERVAL` of the end of the last
/// one, whether it connected or gave up.
#[derive(Debug, Clone, Default)]
pub(crate) struct RandomThrottle {
    active: u32,
    last_ended: Option<Instant>,
}

impl RandomThrottle {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Whether a random punch would have to wait now.
    pub(crate) fn is_throttled(&self, now: Instant) -> bool {
        self.active >= RANDOM_PUNCH_LIMIT
            || self
                .last_ended
                .is_some_and(|t| now.saturating_duration_since(t) < RANDOM_PUNCH_INTERVAL)
    }

    /// Commits to a random punch if the throttle allows one now. A `true`
    /// must be followed by `ended` once the punch is over.
    pub(crate) fn try_start(&mut self, now: Instant) -> bool {
        if self.is_throttled(now) {
            return false;
        }
        self.active += 1;
        true
    }

    /// A random punch ended at `now`, connected or not: the interval starts.
    pub(crate) fn ended(&mut self, now: Instant) {
        if self.active > 0 {
            self.active -= 1;
            self.last_ended = Some(now);
        }
    }

    /// A committed random punch never started probing (the round failed):
    /// frees its slot without starting the interval.
    #[cfg(test)]
    pub(crate) fn cancelled(&mut self) {
        self.active = self.active.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_one_at_a_time() {
        let t0 = Instant::now();
        let mut th = RandomThrottle::new();
        assert!(!th.is_throttled(t0));
        assert!(th.try_start(t0));
        assert!(th.is_throttled(t0));
        assert!(!th.try_start(t0));
        assert!(!th.try_start(t0 + Duration::from_secs(60)));
        th.ended(t0 + Duration::from_secs(5));
        // 20 s after the end, not after the start.
        assert!(!th.try_start(t0 + Duration::from_secs(24)));
        assert!(th.is_throttled(t0 + Duration::from_millis(24_999)));
        assert!(th.try_start(t0 + Duration::from_secs(25)));
    }

    #[test]
    fn throttle_cancel_and_stray_calls() {
        let t0 = Instant::now();
        let mut th = RandomThrottle::new();
        // A commitment that never punched: free again at once.
        assert!(th.try_start(t0));
        th.cancelled();
        assert!(th.try_start(t0));
        th.ended(t0);
        // An `ended` with nothing running changes nothing.
        let later = t0 + RANDOM_PUNCH_INTERVAL;
        th.ended(later);
        assert!(!th.is_throttled(later));
        th.cancelled();
        assert!(th.try_start(later));
        // A clock reading before the last end counts as throttled.
        th.ended(later);
        assert!(th.is_throttled(t0));
    }
}
