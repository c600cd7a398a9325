//! The tokens a DHT node hands out and checks, as dht-rpc does: a token is
//! a keyed BLAKE2b-256 of the requester's host (the IP as text, not the
//! port; `crypto::token`), and a node only accepts a token it issued in the current or the
//! previous period. Storage commands (announce, unannounce) must carry one,
//! which proves the requester receives packets at the host it claims.
//! Pure: the caller passes `now` and the fresh secret for each rotation.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::net::dht::encoding::crypto::token;

/// How often the secret changes (JS: every 10 drains of 750 ms). A token
/// is therefore good for 7.5 to 15 s.
pub(crate) const ROTATION: Duration = Duration::from_millis(7500);

#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    previous: [u8; 32],
    current: [u8; 32],
    rotated: Instant,
}

impl Tokens {
    pub(crate) fn new(previous: [u8; 32], current: [u8; 32], now: Instant) -> Self {
        Tokens {
            previous,
            current,
            rotated: now,
        }
    }

    /// Whether the secret is due to change; then call `rotate`.
    pub(crate) fn due(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.rotated) >= ROTATION
    }

    pub(crate) fn rotate(&mut self, fresh: [u8; 32], now: Instant) {
        self.previous = self.current;
        self.current = fresh;
        self.rotated = now;
    }

    /// The token to give `host` now.
    pub(crate) fn issue(&self, host: Ipv4Addr) -> [u8; 32] {
        token(&self.current, host)
    }

    pub(crate) fn accepts(&self, host: Ipv4Addr, given: &[u8; 32]) -> bool {
        token(&self.current, host) == *given || token(&self.previous, host) == *given
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

    #[test]
    fn a_token_lasts_two_periods_and_is_bound_to_the_host() {
        let now = Instant::now();
        let mut tokens = Tokens::new([1; 32], [2; 32], now);
        let given = tokens.issue(HOST);
        assert!(tokens.accepts(HOST, &given));
        assert!(!tokens.accepts(Ipv4Addr::new(198, 51, 100, 11), &given));
        assert!(!tokens.due(now + ROTATION / 2));
        assert!(tokens.due(now + ROTATION));
        tokens.rotate([3; 32], now + ROTATION);
        assert!(tokens.accepts(HOST, &given), "still good one period later");
        tokens.rotate([4; 32], now + ROTATION * 2);
        assert!(!tokens.accepts(HOST, &given), "gone after two");
    }
}
