//! The decisions one connection makes about its own health: a peer that
//! fell silent, a connection that never carried a packet, and a dialed
//! path that never answered. Pure: every call takes `now`;
//! `ConnectionState` (`state.rs`) turns the verdicts into closes.

use std::time::{Duration, Instant};

/// A hychat peer not heard from this long has gone without a close:
/// hyperswarm does not always deliver one, and the peer's end is gone.
pub(crate) const SILENT_PEER: Duration = Duration::from_secs(20);
/// A connection on which the peer has sent nothing at all by then never had
/// a working path (a relay set it up, but no packet gets through, as between
/// two NATs that cannot reach each other): it is closed as failed, so other
/// peers that hold the same logs (a public seed) get their turn.
pub(crate) const NEVER_HEARD: Duration = Duration::from_secs(6);
/// A connection we dialed whose peer has not answered a single UDX packet
/// by then (not even an acknowledgement of our first ones) runs on a path
/// that leads nowhere: the punched socket it was opened to is gone, or the
/// peer dropped the attempt. It is closed as unanswered and dialed again at
/// once, rather than after `NEVER_HEARD` and a pause (issue 30).
pub(crate) const NEVER_ANSWERED: Duration = Duration::from_secs(2);

/// Whether a connection never got a single packet from its peer.
/// `heard` is when the peer was last heard from, `opened` its value when the
/// connection opened (equal means never).
pub(crate) fn never_heard(opened: Instant, heard: Instant, now: Instant) -> bool {
    heard == opened && now.saturating_duration_since(opened) >= NEVER_HEARD
}

/// Whether a connection we dialed, open since `opened`, has had no UDX
/// packet back by `now`; `None` while it is too early to tell.
pub(crate) fn never_answered(opened: Instant, packets_in: usize, now: Instant) -> Option<bool> {
    (now.saturating_duration_since(opened) >= NEVER_ANSWERED).then_some(packets_in == 0)
}

/// Whether a pinged hychat peer has fallen silent.
pub(crate) fn fell_silent(heard: Instant, now: Instant) -> bool {
    now.saturating_duration_since(heard) >= SILENT_PEER
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_dialed_path_is_judged_once_its_peer_had_time_to_answer() {
        let opened = Instant::now();
        // (since opened, packets in, verdict)
        let table = [
            (0, 0, None),
            (1_999, 0, None),
            (1_999, 3, None),
            (2_000, 0, Some(true)),
            (2_000, 1, Some(false)),
            (9_000, 0, Some(true)),
        ];
        for (ms, packets, verdict) in table {
            let now = opened + Duration::from_millis(ms);
            assert_eq!(
                never_answered(opened, packets, now),
                verdict,
                "{ms} ms, {packets} packets"
            );
        }
    }

    #[test]
    fn silence_and_never_heard_are_told_apart() {
        let opened = Instant::now();
        // (last heard, now, never heard, fell silent)
        let table = [
            (opened, opened + secs(5), false, false),
            (opened, opened + secs(6), true, false),
            (opened + secs(1), opened + secs(6), false, false),
            (opened + secs(1), opened + secs(21), false, true),
            (opened, opened + secs(20), true, true),
        ];
        for (heard, now, never, silent) in table {
            assert_eq!(never_heard(opened, heard, now), never, "{heard:?} {now:?}");
            assert_eq!(fell_silent(heard, now), silent, "{heard:?} {now:?}");
        }
    }
}
