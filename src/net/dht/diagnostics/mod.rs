//! What hychat tells about where it is and whom it can reach: the verdict on
//! our address and NAT (`nat`, pure) and the probe that gathers it from the
//! bootstrap nodes (`probe`), both for the network pane; and `hychat dial`
//! (`dial`), the client role as a diagnostic, reached through `net::dial`;
//! `hychat record` (`record`), the DHT's records put and got by hand;
//! and a topic's peer dialed by hand for tests (`topic_dial`, in
//! `net::testing`).
//!
//! Uses `encoding`, `kademlia` and `client`; no dht folder uses it.

pub(crate) mod dial;
mod nat;
pub(crate) mod probe;
pub(crate) mod record;
#[cfg(any(test, feature = "testing"))]
pub(crate) mod topic_dial;
