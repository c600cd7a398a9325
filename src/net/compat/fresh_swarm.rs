//! When the swarm is made afresh (compat: hyperswarm row). hyperswarm 0.1.0
//! never forgets a peer: one that it reached once, or whose first dial
//! failed, is never dialed again from discovery, so a node whose first
//! contacts were dead ends (a peer behind a NAT it cannot cross, a stale
//! announcement) can wait forever while a seed that holds the same logs is
//! online. A fresh swarm forgets all that. Pure: the swarm task asks it on
//! every refresh tick, with the time.

use std::time::{Duration, Instant};

/// The first wait, and the longest: lonely this long, the swarm is made
/// afresh; each fresh swarm that finds no peer doubles the wait.
const FIRST_WAIT: Duration = Duration::from_secs(10);
const LONGEST_WAIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub(crate) struct FreshSwarmPlan {
    lonely_since: Option<Instant>,
    wait: Duration,
}

impl Default for FreshSwarmPlan {
    fn default() -> Self {
        Self {
            lonely_since: None,
            wait: FIRST_WAIT,
        }
    }
}

impl FreshSwarmPlan {
    /// Whether to make the swarm afresh now. `lonely`: we hold logs and no
    /// connection carries any of them. `tried`: this process ever made or
    /// took a connection (a node alone on the network has nothing to forget).
    pub(crate) fn due(&mut self, now: Instant, lonely: bool, tried: bool) -> bool {
        if !lonely {
            *self = Self::default();
            return false;
        }
        let since = *self.lonely_since.get_or_insert(now);
        if tried && now.duration_since(since) >= self.wait {
            self.lonely_since = None;
            self.wait = (self.wait * 2).min(LONGEST_WAIT);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lonely_swarm_that_tried_is_made_afresh_with_growing_pauses() {
        let start = Instant::now();
        let mut plan = FreshSwarmPlan::default();
        let at = |s: u64| start + Duration::from_secs(s);
        assert!(!plan.due(at(0), true, true));
        assert!(!plan.due(at(9), true, true));
        assert!(plan.due(at(10), true, true));
        // The next fresh swarm waits twice as long.
        assert!(!plan.due(at(11), true, true));
        assert!(!plan.due(at(30), true, true));
        assert!(plan.due(at(31), true, true));
        let mut waits = Vec::new();
        let mut now = 31;
        plan.due(at(now), true, true);
        for _ in 0..5 {
            let from = now;
            while !plan.due(at(now), true, true) {
                now += 1;
            }
            waits.push(now - from);
            plan.due(at(now), true, true);
        }
        assert_eq!(waits, [40, 80, 120, 120, 120]);
    }

    #[test]
    fn a_peer_resets_the_plan_and_a_node_alone_is_left_alone() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut plan = FreshSwarmPlan::default();
        assert!(!plan.due(at(0), true, false));
        assert!(!plan.due(at(100), true, false));
        let mut plan = FreshSwarmPlan::default();
        plan.due(at(0), true, true);
        assert!(plan.due(at(10), true, true));
        assert!(!plan.due(at(12), false, true));
        plan.due(at(13), true, true);
        assert!(plan.due(at(23), true, true), "back to the first wait");
    }
}
