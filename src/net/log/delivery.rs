//! Which block of a log to deliver next: the product rule "newest first".
//! The last `NEWEST_FIRST_WINDOW` blocks (and every live append after them)
//! go out in ascending order, then history fills in from newest to oldest.
//! Our own log is seen from its start (`see_from_start`): every append goes
//! out in order, however many arrive at once. Pure bookkeeping, no IO.

use crate::net::log::seqset::SeqSet;

/// How many of the newest messages a new follower fetches and reports first.
pub const NEWEST_FIRST_WINDOW: u64 = 50;

/// Which block to deliver next. Pure bookkeeping, no IO.
#[derive(Debug, Default)]
pub(crate) struct DeliveryPlan {
    delivered: SeqSet,
    /// First seq of the ascending region (the newest window plus live appends).
    upper_start: Option<u64>,
    /// Lowest seq the ascending scan has not passed.
    upper_cursor: u64,
    /// The log's length when first seen: history waits until the window up
    /// to here is complete.
    window_end: u64,
    /// Everything in `[floor, upper_start)` has been delivered.
    floor: u64,
}

impl DeliveryPlan {
    /// A plan for a log whose index already holds `delivered`.
    pub(crate) fn with_delivered(delivered: SeqSet) -> Self {
        Self {
            delivered,
            ..Self::default()
        }
    }

    pub(crate) fn mark_delivered(&mut self, seq: u64) {
        self.delivered.insert(seq);
    }

    /// Whether `seq` was appended after the log was first seen.
    #[cfg(test)]
    pub(crate) fn is_live(&self, seq: u64) -> bool {
        self.upper_start.is_some() && seq >= self.window_end
    }

    pub(crate) fn delivered_count(&self) -> u64 {
        self.delivered.len()
    }

    /// Sees the log now, at `length`, even when it is empty: for a log
    /// whose blocks are all here (our own), so every block appended after
    /// now is live and goes out in ascending order, never as a newest
    /// window with history below it. Call before the first `next`.
    pub(crate) fn see_from_start(&mut self, length: u64) {
        self.first_sight(length);
    }

    /// The regions as first seen at `length`; returns the ascending start.
    fn first_sight(&mut self, length: u64) -> u64 {
        *self.upper_start.get_or_insert_with(|| {
            let start = length.saturating_sub(NEWEST_FIRST_WINDOW);
            self.upper_cursor = start;
            self.window_end = length;
            self.floor = start;
            start
        })
    }

    /// The next seq to deliver, newest window first, then history downwards.
    /// Returns `(ascending, history)` candidates; either may be `None`.
    pub(crate) fn next(&mut self, length: u64) -> (Option<u64>, Option<u64>) {
        if length == 0 {
            return (None, None);
        }
        let upper_start = self.first_sight(length);
        if self.upper_cursor < length {
            self.upper_cursor = self.delivered.next_absent(self.upper_cursor).min(length);
        }
        let ascending = (self.upper_cursor < length).then_some(self.upper_cursor);
        self.floor = self
            .delivered
            .prev_absent(self.floor)
            .map_or(0, |hole| hole + 1);
        let window_done = self.upper_cursor >= self.window_end;
        let history = (window_done && self.floor > 0 && upper_start > 0).then(|| self.floor - 1);
        (ascending, history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_delivers_the_newest_window_then_history_downwards() {
        let mut plan = DeliveryPlan::default();
        let mut order = Vec::new();
        while let (Some(seq), _) | (None, Some(seq)) = plan.next(120) {
            plan.mark_delivered(seq);
            order.push(seq);
        }
        assert_eq!(order.len(), 120);
        assert_eq!(&order[..50], &(70..120).collect::<Vec<_>>()[..]);
        assert_eq!(&order[50..], &(0..70).rev().collect::<Vec<_>>()[..]);
    }

    #[test]
    fn live_appends_stay_ascending_after_the_window() {
        let mut plan = DeliveryPlan::default();
        for seq in 0..3 {
            assert_eq!(plan.next(3).0, Some(seq));
            plan.mark_delivered(seq);
        }
        assert_eq!(plan.next(3), (None, None));
        assert_eq!(plan.next(4), (Some(3), None));
    }

    #[test]
    fn history_waits_for_the_newest_window() {
        let mut plan = DeliveryPlan::default();
        assert_eq!(plan.next(100), (Some(50), None));
        for seq in 50..99 {
            plan.mark_delivered(seq);
        }
        assert_eq!(
            plan.next(100),
            (Some(99), None),
            "window incomplete: no history yet"
        );
        plan.mark_delivered(99);
        assert_eq!(plan.next(100), (None, Some(49)));
    }

    #[test]
    fn blocks_after_the_first_sight_are_live() {
        let mut plan = DeliveryPlan::default();
        assert!(!plan.is_live(0), "nothing is live before the log is seen");
        plan.next(10);
        assert!(!plan.is_live(9));
        assert!(plan.is_live(10));
    }

    #[test]
    fn a_log_seen_from_its_start_delivers_a_burst_in_order() {
        for start in [0, 3, 120] {
            let mut plan = DeliveryPlan::default();
            for seq in 0..start {
                plan.mark_delivered(seq);
            }
            plan.see_from_start(start);
            // A batch of 64 lands before the first look.
            let mut order = Vec::new();
            while let (Some(seq), _) | (None, Some(seq)) = plan.next(start + 64) {
                plan.mark_delivered(seq);
                order.push(seq);
            }
            assert_eq!(
                order,
                (start..start + 64).collect::<Vec<_>>(),
                "from {start}"
            );
            assert!(plan.is_live(start));
        }
    }

    #[test]
    fn indexed_blocks_are_skipped() {
        let mut plan = DeliveryPlan::default();
        for seq in 0..100 {
            plan.mark_delivered(seq);
        }
        assert_eq!(plan.next(100), (None, None));
        assert_eq!(plan.next(101), (Some(100), None));
    }
}
