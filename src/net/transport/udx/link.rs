//! One end of a blind relay's link, as libudx's `relay_packet` relays: a
//! UDX id on a relay's socket whose packets are not read but passed on to
//! the partner end's peer, their stream id rewritten to that peer's. What
//! a link decides for each datagram is here, pure and taking `now`; the
//! socket driver (`socket.rs`) holds the ends and does the sends.
//!
//! - The first packet connects the end to where it came from (libudx's
//!   firewall hook, as the JS relay's links use it); later packets from
//!   anywhere else are dropped.
//! - A packet goes on only once the partner end knows its peer's address;
//!   before that it is dropped and the sender retransmits.
//! - Each end has a byte budget (a token bucket): a peer that sends faster
//!   than `RATE` loses what is over, as a slow path would. JS's relay has
//!   no such limit; a public relay that anyone can pair through needs one.
//! - A DESTROY ends the end (it is still passed on, so the peer hears it).

use std::net::SocketAddr;
use std::time::Instant;

use super::wire;

/// Bytes per second one link end passes on.
pub(crate) const RATE: u64 = 4 * 1024 * 1024;
/// The most bytes one end may pass on in a burst.
pub(crate) const BURST: u64 = 1024 * 1024;

/// What a link end has passed on so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LinkStats {
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    /// Packets dropped: from a stranger, before the partner knew its peer,
    /// or over the budget.
    pub(crate) dropped: u64,
    /// A DESTROY went through.
    pub(crate) destroyed: bool,
}

/// One end of a link: the peer's stream id, where the peer is (once its
/// first packet came), and the partner end (`P` is the driver's handle).
#[derive(Debug)]
pub(crate) struct LinkEnd<P> {
    pub(crate) peer_id: u32,
    pub(crate) addr: Option<SocketAddr>,
    pub(crate) partner: Option<P>,
    pub(crate) stats: LinkStats,
    /// The last packet's time (or the end's creation).
    pub(crate) last: Instant,
    budget: u64,
    refilled: Instant,
}

impl<P: Clone> LinkEnd<P> {
    pub(crate) fn new(peer_id: u32, now: Instant) -> Self {
        LinkEnd {
            peer_id,
            addr: None,
            partner: None,
            stats: LinkStats::default(),
            last: now,
            budget: BURST,
            refilled: now,
        }
    }

    /// A datagram of `len` bytes and type `kind` for this end came from
    /// `from`: the partner to pass it to, or `None` to drop it. The
    /// partner's own end says where its peer is (`Partner::send_to`).
    pub(crate) fn on_datagram(
        &mut self,
        from: SocketAddr,
        len: usize,
        kind: u8,
        now: Instant,
    ) -> Option<P> {
        let addr = *self.addr.get_or_insert(from);
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        let elapsed = now.saturating_duration_since(self.refilled);
        let earned =
            u64::try_from(elapsed.as_micros().saturating_mul(u128::from(RATE)) / 1_000_000)
                .unwrap_or(u64::MAX);
        if earned > 0 {
            self.budget = self.budget.saturating_add(earned).min(BURST);
            self.refilled = now;
        }
        if addr != from || self.stats.destroyed || len > self.budget {
            self.stats.dropped += 1;
            return None;
        }
        self.budget -= len;
        self.last = now;
        self.stats.packets += 1;
        self.stats.bytes += len;
        if kind & wire::DESTROY != 0 {
            self.stats.destroyed = true;
        }
        let partner = self.partner.clone();
        if partner.is_none() {
            self.stats.dropped += 1;
        }
        partner
    }

    /// Where the partner end's datagrams go, and with which id: `None`
    /// until this end's peer sent its first packet.
    pub(crate) fn send_to(&self) -> Option<(SocketAddr, u32)> {
        self.addr.map(|addr| (addr, self.peer_id))
    }
}

/// `datagram` with its stream id set to `id` (bytes 4 to 8, little
/// endian); anything that is not UDX comes back as it was.
pub(crate) fn renamed(datagram: &[u8], id: u32) -> Vec<u8> {
    let mut out = datagram.to_vec();
    if wire::is_udx(&out) {
        out[4..8].copy_from_slice(&id.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_first_packet_connects_the_end_and_strangers_are_dropped() {
        let now = Instant::now();
        let mut end = LinkEnd::new(7, now);
        end.partner = Some("b");
        assert_eq!(end.send_to(), None);
        assert_eq!(
            end.on_datagram(addr("10.0.0.1:5"), 100, wire::DATA, now),
            Some("b")
        );
        assert_eq!(end.send_to(), Some((addr("10.0.0.1:5"), 7)));
        assert_eq!(
            end.on_datagram(addr("10.0.0.9:5"), 100, wire::DATA, now),
            None
        );
        assert_eq!(end.stats.packets, 1);
        assert_eq!(end.stats.dropped, 1);
    }

    #[test]
    fn a_packet_before_the_partner_is_set_is_dropped() {
        let now = Instant::now();
        let mut end: LinkEnd<&str> = LinkEnd::new(7, now);
        assert_eq!(
            end.on_datagram(addr("10.0.0.1:5"), 100, wire::DATA, now),
            None
        );
        assert_eq!(end.stats.dropped, 1);
        // It still taught the end where its peer is.
        assert!(end.send_to().is_some());
    }

    #[test]
    fn the_budget_drops_what_is_over_and_refills_with_time() {
        let now = Instant::now();
        let mut end = LinkEnd::new(1, now);
        end.partner = Some(());
        let from = addr("10.0.0.1:5");
        let mut passed = 0u64;
        for _ in 0..2000 {
            if end.on_datagram(from, 1000, wire::DATA, now).is_some() {
                passed += 1000;
            }
        }
        assert!(passed <= BURST, "{passed}");
        assert!(passed + 1000 > BURST, "{passed}");
        assert!(end.on_datagram(from, 1000, wire::DATA, now).is_none());
        // A tenth of a second later, a tenth of the rate is back.
        let later = now + Duration::from_millis(100);
        let mut again = 0u64;
        for _ in 0..2000 {
            if end.on_datagram(from, 1000, wire::DATA, later).is_some() {
                again += 1000;
            }
        }
        assert!(
            again <= RATE / 10 + 1000 && again + 1000 >= RATE / 10,
            "{again}"
        );
    }

    #[test]
    fn a_destroy_goes_through_once_and_ends_the_end() {
        let now = Instant::now();
        let mut end = LinkEnd::new(1, now);
        end.partner = Some(());
        let from = addr("10.0.0.1:5");
        assert!(end.on_datagram(from, 20, wire::DESTROY, now).is_some());
        assert!(end.stats.destroyed);
        assert!(end.on_datagram(from, 20, wire::DATA, now).is_none());
    }

    #[test]
    fn renaming_touches_only_the_id_of_udx() {
        let mut datagram = vec![wire::MAGIC, wire::VERSION, 0, 0, 1, 2, 3, 4];
        datagram.extend_from_slice(&[9; 16]);
        let out = renamed(&datagram, 0xa1b2_c3d4);
        assert_eq!(&out[4..8], &0xa1b2_c3d4u32.to_le_bytes());
        assert_eq!(&out[..4], &datagram[..4]);
        assert_eq!(&out[8..], &datagram[8..]);
        assert_eq!(renamed(b"dht-rpc", 5), b"dht-rpc".to_vec());
    }
}
