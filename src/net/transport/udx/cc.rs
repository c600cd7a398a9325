//! Congestion control for one UDX stream: NewReno counted in packets, as a
//! small pure struct the stream state machine (`stream.rs`) calls on acks,
//! loss episodes and RTOs. Nothing on the wire depends on it; libudx itself
//! runs BBR v1 in packets (cwnd from 10, never below 4), and this is the
//! simpler stand-in the transport note allows. No pacing: the stream sends
//! whatever the window allows at once.

#![cfg_attr(not(test), allow(dead_code))]

/// The window a stream starts with, in packets (libudx: `cwnd = 10`).
pub(crate) const INITIAL_WINDOW: u32 = 10;
/// The smallest window, in packets (libudx's BBR floor, `bbr_cwnd_min_target`).
pub(crate) const MIN_WINDOW: u32 = 4;
/// The largest window, in packets (libudx's initial ssthresh, `0xffff`). The
/// peer's receive window (about 3,640 packets at 4 MiB) binds long before.
pub(crate) const MAX_WINDOW: u32 = 0xffff;

/// NewReno in packets: slow start below `ssthresh`, one packet per window
/// of acks above it, halving once per loss episode, the floor after an RTO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewReno {
    cwnd: u32,
    ssthresh: u32,
    /// Packets acked in congestion avoidance since the window last grew.
    acked_in_ca: u32,
}

impl Default for NewReno {
    fn default() -> Self {
        Self::new()
    }
}

impl NewReno {
    pub(crate) fn new() -> Self {
        NewReno {
            cwnd: INITIAL_WINDOW,
            ssthresh: MAX_WINDOW,
            acked_in_ca: 0,
        }
    }

    /// The congestion window in packets: at most this many in flight.
    pub(crate) fn window(&self) -> u32 {
        self.cwnd
    }

    pub(crate) fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    /// `acked` packets were newly delivered (cumulatively or by SACK) while
    /// `in_flight` were in flight before the ack. The window grows only when
    /// the sender was using it (at least half in flight) and not during a
    /// recovery, as RFC 5681 and RFC 7661 would have it.
    pub(crate) fn on_ack(&mut self, acked: u32, in_flight: u32, in_recovery: bool) {
        if acked == 0 || in_recovery || in_flight.saturating_mul(2) < self.cwnd {
            return;
        }
        if self.cwnd < self.ssthresh {
            // Slow start, stopping at ssthresh.
            let room = self.ssthresh - self.cwnd;
            let grow = acked.min(room);
            self.cwnd = self.cwnd.saturating_add(grow);
            let left = acked - grow;
            if left == 0 {
                return;
            }
            self.acked_in_ca = self.acked_in_ca.saturating_add(left);
        } else {
            self.acked_in_ca = self.acked_in_ca.saturating_add(acked);
        }
        // Congestion avoidance: one packet per window of acks.
        while self.acked_in_ca >= self.cwnd && self.cwnd < MAX_WINDOW {
            self.acked_in_ca -= self.cwnd;
            self.cwnd += 1;
        }
        self.cwnd = self.cwnd.min(MAX_WINDOW);
    }

    /// The first loss of an episode (fast recovery starts): halve once.
    pub(crate) fn on_loss(&mut self) {
        self.ssthresh = (self.cwnd / 2).max(MIN_WINDOW);
        self.cwnd = self.ssthresh;
        self.acked_in_ca = 0;
    }

    /// Recovery ended (everything sent at its start is acked).
    pub(crate) fn on_recovery_end(&mut self) {
        // NewReno deflates to ssthresh (libudx: `cwnd = ssthresh`).
        self.cwnd = self.ssthresh.max(MIN_WINDOW);
        self.acked_in_ca = 0;
    }

    /// The retransmission timer fired. `repeated` when the stream was
    /// already in loss (a retransmission timed out again): ssthresh is set
    /// only by the first RTO of a series.
    pub(crate) fn on_rto(&mut self, repeated: bool) {
        if !repeated {
            self.ssthresh = (self.cwnd / 2).max(MIN_WINDOW);
        }
        self.cwnd = MIN_WINDOW;
        self.acked_in_ca = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_ten_and_slow_starts() {
        let mut cc = NewReno::new();
        assert_eq!(cc.window(), 10);
        cc.on_ack(10, 10, false);
        assert_eq!(cc.window(), 20);
        cc.on_ack(20, 20, false);
        assert_eq!(cc.window(), 40);
    }

    #[test]
    fn does_not_grow_when_application_limited_or_recovering() {
        let mut cc = NewReno::new();
        cc.on_ack(2, 2, false);
        assert_eq!(cc.window(), 10);
        cc.on_ack(10, 10, true);
        assert_eq!(cc.window(), 10);
    }

    #[test]
    fn halves_on_loss_then_grows_linearly() {
        let mut cc = NewReno::new();
        cc.on_ack(30, 10, false);
        assert_eq!(cc.window(), 40);
        cc.on_loss();
        assert_eq!(cc.window(), 20);
        assert_eq!(cc.ssthresh(), 20);
        cc.on_recovery_end();
        assert_eq!(cc.window(), 20);
        cc.on_ack(19, 20, false);
        assert_eq!(cc.window(), 20);
        cc.on_ack(1, 20, false);
        assert_eq!(cc.window(), 21);
        cc.on_ack(21 * 3, 21, false);
        assert_eq!(cc.window(), 23);
    }

    #[test]
    fn rto_drops_to_the_floor_and_keeps_ssthresh_on_repeats() {
        let mut cc = NewReno::new();
        cc.on_ack(30, 40, false);
        cc.on_rto(false);
        assert_eq!(cc.window(), MIN_WINDOW);
        assert_eq!(cc.ssthresh(), 20);
        cc.on_rto(true);
        assert_eq!(cc.ssthresh(), 20);
        // Slow start back to ssthresh, then linear.
        cc.on_ack(4, 4, false);
        assert_eq!(cc.window(), 8);
        cc.on_ack(8, 8, false);
        assert_eq!(cc.window(), 16);
        cc.on_ack(16, 16, false);
        assert_eq!(cc.window(), 20);
        cc.on_loss();
        cc.on_loss();
        cc.on_loss();
        assert_eq!(cc.window(), MIN_WINDOW);
    }

    #[test]
    fn never_exceeds_the_maximum() {
        let mut cc = NewReno::new();
        for _ in 0..100 {
            cc.on_ack(u32::MAX, u32::MAX, false);
        }
        assert_eq!(cc.window(), MAX_WINDOW);
    }
}
