//! When the swarm looks each topic up again and announces itself there.
//! Pure, every call takes `now`: the swarm task (`swarm/mod.rs`) runs the
//! lookups and announcements it says are due. A lonely topic (no peer) is
//! looked up again soon, then less and less often; one with a peer seldom.
//! An announcement is renewed every `REANNOUNCE` (records live 20 min).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::domain::keys::DiscoveryKey;

/// Once a log has a peer, discovery is refreshed this seldom.
pub(crate) const SETTLED_REFRESH: Duration = Duration::from_secs(120);
/// A lonely topic's lookups slow down to the refresh interval times 2^this.
pub(crate) const LONELY_DOUBLINGS: u32 = 3;
/// A topic's announcement is renewed this often (records live 20 min).
pub(crate) const REANNOUNCE: Duration = Duration::from_secs(300);

/// The topics held, and when each was looked up and announced.
#[derive(Debug)]
pub(crate) struct TopicPlan {
    /// Each topic held, and when it was last looked up.
    looked_up: HashMap<DiscoveryKey, Instant>,
    /// When each topic was last announced.
    announced: HashMap<DiscoveryKey, Instant>,
    /// Lookups of each topic in a row that found it without a peer.
    lonely: HashMap<DiscoveryKey, u32>,
    /// How soon a lonely topic is looked up again at first.
    refresh_interval: Duration,
}

impl TopicPlan {
    pub(crate) fn new(
        topics: impl IntoIterator<Item = DiscoveryKey>,
        refresh_interval: Duration,
        now: Instant,
    ) -> Self {
        Self {
            looked_up: topics.into_iter().map(|t| (t, now)).collect(),
            announced: HashMap::new(),
            lonely: HashMap::new(),
            refresh_interval,
        }
    }

    /// The topics held.
    pub(crate) fn topics(&self) -> Vec<DiscoveryKey> {
        self.looked_up.keys().copied().collect()
    }

    /// A topic is held, and was looked up `now` (or will be, once online).
    pub(crate) fn hold(&mut self, topic: DiscoveryKey, now: Instant) {
        self.looked_up.insert(topic, now);
    }

    /// A topic newly joined while online: held, looked up `now`, and no
    /// longer counted lonely.
    pub(crate) fn join(&mut self, topic: DiscoveryKey, now: Instant) {
        self.hold(topic, now);
        self.lonely.remove(&topic);
    }

    /// A topic left while offline: no longer looked up.
    pub(crate) fn leave(&mut self, topic: &DiscoveryKey) {
        self.looked_up.remove(topic);
    }

    /// A topic left while online, its announcement withdrawn: forgotten.
    pub(crate) fn withdraw(&mut self, topic: &DiscoveryKey) {
        self.leave(topic);
        self.announced.remove(topic);
        self.lonely.remove(topic);
    }

    /// Whether a lookup of `topic` now should announce us too; if so, it
    /// counts as announced `now`.
    pub(crate) fn announce_due(&mut self, topic: DiscoveryKey, now: Instant) -> bool {
        let due = self
            .announced
            .get(&topic)
            .is_none_or(|at| now.duration_since(*at) >= REANNOUNCE);
        if due {
            self.announced.insert(topic, now);
        }
        due
    }

    /// The topics to look up again `now`, each counted as looked up:
    /// every `SETTLED_REFRESH` for a topic with a peer (`has_peer`); for a
    /// lonely one the refresh interval, doubled for each lookup in a row
    /// that found no peer, up to `LONELY_DOUBLINGS` times. Whoever comes
    /// online looks us up anyway, since we are announced.
    pub(crate) fn due(
        &mut self,
        now: Instant,
        has_peer: impl Fn(&DiscoveryKey) -> bool,
    ) -> Vec<DiscoveryKey> {
        let mut due = Vec::new();
        for (topic, looked_up) in self.looked_up.iter_mut() {
            let lonely = self.lonely.entry(*topic).or_default();
            let every = if has_peer(topic) {
                *lonely = 0;
                SETTLED_REFRESH
            } else {
                self.refresh_interval * (1 << (*lonely).min(LONELY_DOUBLINGS))
            };
            if now.duration_since(*looked_up) >= every {
                due.push(*topic);
                *looked_up = now;
                *lonely = lonely.saturating_add(1);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: DiscoveryKey = DiscoveryKey([1; 32]);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_lonely_topic_is_looked_up_less_and_less_often() {
        let start = Instant::now();
        let mut plan = TopicPlan::new([TOPIC], secs(2), start);
        // (seconds since start, due): 2 s, then 4, 8, 16, 16 apart.
        let table = [
            (1, false),
            (2, true),
            (5, false),
            (6, true),
            (13, false),
            (14, true),
            (29, false),
            (30, true),
            (46, true),
        ];
        for (at, due) in table {
            let found = plan.due(start + secs(at), |_| false);
            assert_eq!(found == [TOPIC], due, "at {at} s: {found:?}");
        }
    }

    #[test]
    fn a_topic_with_a_peer_is_looked_up_seldom_and_a_join_starts_afresh() {
        let start = Instant::now();
        let mut plan = TopicPlan::new([TOPIC], secs(2), start);
        for at in [2, 6, 14] {
            assert_eq!(plan.due(start + secs(at), |_| false), [TOPIC]);
        }
        // A peer came: not before SETTLED_REFRESH.
        let at = start + secs(14);
        assert!(plan.due(at + secs(119), |_| true).is_empty());
        assert_eq!(plan.due(at + SETTLED_REFRESH, |_| true), [TOPIC]);
        // The peer left: lonely again, counted from one lookup.
        let at = at + SETTLED_REFRESH;
        assert!(plan.due(at + secs(3), |_| false).is_empty());
        assert_eq!(plan.due(at + secs(4), |_| false), [TOPIC]);
        // Joined again: the interval starts afresh.
        let at = at + secs(4);
        plan.join(TOPIC, at);
        assert_eq!(plan.due(at + secs(2), |_| false), [TOPIC]);
    }

    #[test]
    fn an_announcement_is_renewed_only_after_reannounce() {
        let start = Instant::now();
        let mut plan = TopicPlan::new([TOPIC], secs(2), start);
        // (seconds since start, announce)
        let table = [
            (0, true),
            (1, false),
            (299, false),
            (300, true),
            (301, false),
        ];
        for (at, announce) in table {
            assert_eq!(
                plan.announce_due(TOPIC, start + secs(at)),
                announce,
                "at {at} s"
            );
        }
        // Withdrawn, it is announced afresh when joined again.
        plan.withdraw(&TOPIC);
        assert!(plan.topics().is_empty());
        plan.join(TOPIC, start + secs(302));
        assert!(plan.announce_due(TOPIC, start + secs(302)));
    }

    #[test]
    fn a_topic_left_offline_is_no_longer_looked_up() {
        let start = Instant::now();
        let mut plan = TopicPlan::new([TOPIC], secs(2), start);
        plan.leave(&TOPIC);
        assert!(plan.due(start + secs(60), |_| false).is_empty());
        plan.hold(TOPIC, start + secs(60));
        assert_eq!(plan.topics(), [TOPIC]);
        assert_eq!(plan.due(start + secs(62), |_| false), [TOPIC]);
    }
}
