//! One dial of a peer the swarm found or lost: the DHT client's `connect`
//! (through a blind relay when the holepunch cannot work),
//! bounded by `DIAL_TIMEOUT`, with its failure typed (`DialError`: the
//! client's own error, or the timeout), so the swarm counts a failed
//! holepunch by its variant. `worth_dialing` is the pure choice of which
//! peers a lookup found get a dial.

use std::time::Duration;

use crate::net::dht::client::{connect_or_relay, ConnectError, Connected};
use crate::net::dht::kademlia::service::DhtNode;

/// A dial that has not connected by then has failed (a random punch takes
/// up to about 35 s).
pub(crate) const DIAL_TIMEOUT: Duration = Duration::from_secs(45);

/// Why a dial did not connect.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DialError {
    /// The DHT client failed: nobody knows the peer, no relay answered, the
    /// handshake or the holepunch failed, or the stream could not open.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Nothing connected within `DIAL_TIMEOUT`.
    #[error("the dial timed out")]
    TimedOut,
}

impl DialError {
    /// Whether the dial failed in the holepunch: the report counts those.
    pub(crate) fn is_failed_punch(&self) -> bool {
        matches!(self, DialError::Connect(ConnectError::Punch(_)))
    }
}

/// Dials the server with `public_key` through `node`, giving up after
/// `DIAL_TIMEOUT`.
pub(crate) async fn dial(node: &DhtNode, public_key: [u8; 32]) -> Result<Connected, DialError> {
    match tokio::time::timeout(DIAL_TIMEOUT, connect_or_relay(node, public_key)).await {
        Ok(connected) => Ok(connected?),
        Err(_) => Err(DialError::TimedOut),
    }
}

/// What the swarm knows of a peer a lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// It is our own server.
    pub ours: bool,
    /// A live connection holds its key.
    pub connected: bool,
    /// A dial of it is under way.
    pub dialing: bool,
}

/// Whether a peer a lookup found gets a dial: only one we are not
/// connected to and are not dialing already. (A peer that dialed us is
/// known by the key it listens under: its dials present that key.)
pub(crate) fn worth_dialing(found: Found) -> bool {
    !(found.ours || found.connected || found.dialing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_peer_we_neither_are_nor_reach_is_dialed() {
        let stranger = Found {
            ours: false,
            connected: false,
            dialing: false,
        };
        assert!(worth_dialing(stranger));
        // Each reason alone is enough to skip it.
        let table = [
            Found {
                ours: true,
                ..stranger
            },
            Found {
                connected: true,
                ..stranger
            },
            Found {
                dialing: true,
                ..stranger
            },
        ];
        for found in table {
            assert!(!worth_dialing(found), "{found:?}");
        }
    }

    #[test]
    fn only_a_failed_holepunch_counts_as_one() {
        // (error, a failed punch, its sentence)
        let table = [
            (DialError::TimedOut, false, "the dial timed out".to_string()),
            (
                DialError::Connect(ConnectError::NotFound),
                false,
                ConnectError::NotFound.to_string(),
            ),
            (
                DialError::Connect(ConnectError::CannotConnect),
                false,
                ConnectError::CannotConnect.to_string(),
            ),
        ];
        for (error, punch, sentence) in table {
            assert_eq!(error.is_failed_punch(), punch, "{error:?}");
            assert_eq!(error.to_string(), sentence);
        }
    }
}
