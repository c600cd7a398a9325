//! How a DHT node that is not the server relays the two connection
//! commands, as JS hyperdht's router does (`lib/router.js`). Pure: the
//! decoded message, its sender and the route we know for the target (the
//! address a server announced itself from) go in; what to send comes out.
//!
//! PEER_HANDSHAKE:
//! - FROM_CLIENT: relay as FROM_RELAY (naming the client) to the address
//!   the client asked for, else to the route; with neither, answer with
//!   closer nodes so the client can look further.
//! - FROM_RELAY: relay as FROM_SECOND_RELAY to the route, naming the first
//!   relay.
//! - FROM_SERVER: answer the client (the named peer) with a REPLY naming the
//!   server.
//!
//! PEER_HOLEPUNCH (the payload is opaque here):
//! - FROM_CLIENT: relay as FROM_RELAY to the named peer, else the route.
//! - FROM_SERVER: answer the named client with a REPLY naming the server.
//!
//! Everything else (no noise, no route, a mode only a server handles, an
//! unknown mode) is dropped, as JS drops it.

use std::net::SocketAddrV4;

use crate::net::dht::encoding::messages::{Handshake, Holepunch, Mode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Relay {
    Drop,
    /// Reply with no value and our closest nodes to the target.
    HelpRoute,
    /// Send the request on (same tid, command and target) with this value.
    Forward {
        value: Vec<u8>,
        to: SocketAddrV4,
    },
    /// Send a reply (to the request's tid) with this value to `to`.
    Respond {
        value: Vec<u8>,
        to: SocketAddrV4,
    },
}

pub(crate) fn on_handshake(
    handshake: &Handshake,
    from: SocketAddrV4,
    route: Option<SocketAddrV4>,
) -> Relay {
    if handshake.noise.is_empty() {
        return Relay::Drop;
    }
    let noise = handshake.noise.clone();
    match handshake.mode {
        Mode::FromClient => match handshake.relay_address.or(route) {
            None => Relay::HelpRoute,
            Some(to) => Relay::Forward {
                value: Handshake {
                    mode: Mode::FromRelay,
                    noise,
                    peer_address: Some(from),
                    relay_address: None,
                }
                .encode(),
                to,
            },
        },
        Mode::FromRelay => match route {
            None => Relay::Drop,
            Some(to) => Relay::Forward {
                value: Handshake {
                    mode: Mode::FromSecondRelay,
                    noise,
                    peer_address: handshake.peer_address,
                    relay_address: Some(from),
                }
                .encode(),
                to,
            },
        },
        Mode::FromServer => match handshake.peer_address {
            None => Relay::Drop,
            Some(client) => Relay::Respond {
                value: Handshake {
                    mode: Mode::Reply,
                    noise,
                    peer_address: Some(from),
                    relay_address: None,
                }
                .encode(),
                to: client,
            },
        },
        Mode::FromSecondRelay | Mode::Reply | Mode::Other(_) => Relay::Drop,
    }
}

pub(crate) fn on_holepunch(
    holepunch: &Holepunch,
    from: SocketAddrV4,
    route: Option<SocketAddrV4>,
) -> Relay {
    match holepunch.mode {
        Mode::FromClient => match holepunch.peer_address.or(route) {
            None => Relay::Drop,
            Some(to) => Relay::Forward {
                value: Holepunch {
                    mode: Mode::FromRelay,
                    id: holepunch.id,
                    payload: holepunch.payload.clone(),
                    peer_address: Some(from),
                }
                .encode(),
                to,
            },
        },
        Mode::FromServer => match holepunch.peer_address {
            None => Relay::Drop,
            Some(client) => Relay::Respond {
                value: Holepunch {
                    mode: Mode::Reply,
                    id: holepunch.id,
                    payload: holepunch.payload.clone(),
                    peer_address: Some(from),
                }
                .encode(),
                to: client,
            },
        },
        // FROM_RELAY is for the server alone.
        Mode::FromRelay | Mode::FromSecondRelay | Mode::Reply | Mode::Other(_) => Relay::Drop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    fn handshake(mode: Mode, peer: Option<&str>, relay: Option<&str>) -> Handshake {
        Handshake {
            mode,
            noise: vec![0xab, 0xcd],
            peer_address: peer.map(addr),
            relay_address: relay.map(addr),
        }
    }

    const CLIENT: &str = "203.0.113.5:4000";
    const SERVER: &str = "198.51.100.7:5000";
    const RELAY: &str = "198.51.100.1:49737";

    #[test]
    fn a_client_handshake_goes_to_the_route_naming_the_client() {
        let relay = on_handshake(
            &handshake(Mode::FromClient, None, None),
            addr(CLIENT),
            Some(addr(SERVER)),
        );
        assert_eq!(
            relay,
            Relay::Forward {
                value: handshake(Mode::FromRelay, Some(CLIENT), None).encode(),
                to: addr(SERVER),
            }
        );
    }

    #[test]
    fn a_client_handshake_without_a_route_gets_closer_nodes() {
        let relay = on_handshake(&handshake(Mode::FromClient, None, None), addr(CLIENT), None);
        assert_eq!(relay, Relay::HelpRoute);
    }

    #[test]
    fn a_client_may_name_the_next_relay() {
        let relay = on_handshake(
            &handshake(Mode::FromClient, None, Some(RELAY)),
            addr(CLIENT),
            Some(addr(SERVER)),
        );
        let Relay::Forward { to, .. } = relay else {
            panic!("forwarded");
        };
        assert_eq!(to, addr(RELAY));
    }

    #[test]
    fn a_first_relay_hands_over_to_the_route_naming_itself() {
        let relay = on_handshake(
            &handshake(Mode::FromRelay, Some(CLIENT), None),
            addr(RELAY),
            Some(addr(SERVER)),
        );
        assert_eq!(
            relay,
            Relay::Forward {
                value: handshake(Mode::FromSecondRelay, Some(CLIENT), Some(RELAY)).encode(),
                to: addr(SERVER),
            }
        );
        let no_route = on_handshake(
            &handshake(Mode::FromRelay, Some(CLIENT), None),
            addr(RELAY),
            None,
        );
        assert_eq!(no_route, Relay::Drop);
    }

    #[test]
    fn the_servers_answer_goes_back_to_the_client_naming_the_server() {
        let relay = on_handshake(
            &handshake(Mode::FromServer, Some(CLIENT), None),
            addr(SERVER),
            None,
        );
        assert_eq!(
            relay,
            Relay::Respond {
                value: handshake(Mode::Reply, Some(SERVER), None).encode(),
                to: addr(CLIENT),
            }
        );
    }

    #[test]
    fn what_only_a_server_or_client_handles_is_dropped() {
        for mode in [Mode::FromSecondRelay, Mode::Reply, Mode::Other(9)] {
            let relay = on_handshake(
                &handshake(mode, Some(CLIENT), Some(RELAY)),
                addr(CLIENT),
                Some(addr(SERVER)),
            );
            assert_eq!(relay, Relay::Drop, "{mode:?}");
        }
        let mut empty = handshake(Mode::FromClient, None, None);
        empty.noise.clear();
        assert_eq!(
            on_handshake(&empty, addr(CLIENT), Some(addr(SERVER))),
            Relay::Drop
        );
        let server_without_client = handshake(Mode::FromServer, None, None);
        assert_eq!(
            on_handshake(&server_without_client, addr(SERVER), None),
            Relay::Drop
        );
    }

    fn holepunch(mode: Mode, peer: Option<&str>) -> Holepunch {
        Holepunch {
            mode,
            id: 3,
            payload: vec![1, 2, 3],
            peer_address: peer.map(addr),
        }
    }

    #[test]
    fn holepunch_rounds_are_relayed_both_ways() {
        // The client names the server's address as its announce relay saw it.
        let out = on_holepunch(
            &holepunch(Mode::FromClient, Some(SERVER)),
            addr(CLIENT),
            None,
        );
        assert_eq!(
            out,
            Relay::Forward {
                value: holepunch(Mode::FromRelay, Some(CLIENT)).encode(),
                to: addr(SERVER),
            }
        );
        let routed = on_holepunch(
            &holepunch(Mode::FromClient, None),
            addr(CLIENT),
            Some(addr(SERVER)),
        );
        assert!(matches!(routed, Relay::Forward { to, .. } if to == addr(SERVER)));
        let lost = on_holepunch(&holepunch(Mode::FromClient, None), addr(CLIENT), None);
        assert_eq!(lost, Relay::Drop);
        let back = on_holepunch(
            &holepunch(Mode::FromServer, Some(CLIENT)),
            addr(SERVER),
            None,
        );
        assert_eq!(
            back,
            Relay::Respond {
                value: holepunch(Mode::Reply, Some(SERVER)).encode(),
                to: addr(CLIENT),
            }
        );
        for mode in [
            Mode::FromRelay,
            Mode::FromSecondRelay,
            Mode::Reply,
            Mode::Other(7),
        ] {
            assert_eq!(
                on_holepunch(
                    &holepunch(mode, Some(CLIENT)),
                    addr(SERVER),
                    Some(addr(SERVER))
                ),
                Relay::Drop
            );
        }
    }

    proptest! {
        #[test]
        fn any_decoded_message_is_relayed_or_dropped_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..120),
            route in proptest::option::of(any::<(u32, u16)>()),
        ) {
            let from = addr(CLIENT);
            let route = route.map(|(ip, port)| SocketAddrV4::new(ip.into(), port));
            if let Ok(h) = Handshake::decode(&bytes) {
                let _ = on_handshake(&h, from, route);
            }
            if let Ok(h) = Holepunch::decode(&bytes) {
                let _ = on_holepunch(&h, from, route);
            }
        }
    }
}
