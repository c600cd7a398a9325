//! The LAN shortcut's shared pieces, as JS hyperdht has them: two hosts
//! behind one router that does not hairpin cannot reach each other through
//! its public address, so each side shares the addresses of its own
//! interfaces (`addresses4` of the Noise payload) and the client tries the
//! server's best match from the DHT socket. The client's use is in
//! `client/lan.rs`, the server's in `server/lan.rs`.
//!
//! - `local_addresses`: JS `Holepuncher.localAddresses`: this host's
//!   non-internal IPv4 interfaces with the DHT socket's port (pure, given
//!   the interfaces; `interfaces` lists them);
//! - `match_address`: JS `Holepuncher.matchAddress`, pure;
//! - `is_private`, `is_reserved`, `is_bogon`: the `bogon` module's ranges;
//! - `validated`: JS `validateLocalAddresses`, the server's check that an
//!   address can receive at all;
//! - `Lan`: the switch (JS `localConnection` and `shareLocalAddress`), on
//!   unless `HYCHAT_LAN_SHORTCUT=off`.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// The most interface addresses we share (the payload takes 64).
const MAX_SHARED: usize = 16;
/// How long an address's check waits for its own byte (JS: 500 ms).
const VALIDATE_WAIT: Duration = Duration::from_millis(500);
/// The environment variable that turns the shortcut off (`off`, `0`,
/// `false` or `no`): for tests that show what it changes.
pub(crate) const SWITCH: &str = "HYCHAT_LAN_SHORTCUT";

/// Whether a connection shares and tries LAN addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lan {
    On,
    Off,
}

impl Lan {
    /// The switch as the environment sets it: on unless `SWITCH` says off.
    pub(crate) fn from_env() -> Lan {
        Lan::from_setting(std::env::var(SWITCH).ok().as_deref())
    }

    pub(crate) fn from_setting(setting: Option<&str>) -> Lan {
        match setting.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("off" | "0" | "false" | "no") => Lan::Off,
            _ => Lan::On,
        }
    }

    pub(crate) fn is_on(self) -> bool {
        self == Lan::On
    }
}

/// 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16 (`bogon`'s
/// `isPrivate`).
pub(crate) fn is_private(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || (a == 100 && (64..=127).contains(&b))
}

/// 0/8, 192.0.0/24, the TEST-NETs, 198.18/15, multicast and 240/4
/// (`bogon`'s `isReserved`; 255.255.255.255 is in 240/4).
pub(crate) fn is_reserved(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224
}

/// Private or reserved (JS `isBogon`).
pub(crate) fn is_bogon(ip: Ipv4Addr) -> bool {
    is_private(ip) || is_reserved(ip)
}

/// The addresses a socket bound to `bound` is reached at on this host's
/// networks, given the host's non-internal IPv4 `interfaces` (JS
/// `localAddresses`): each interface with the socket's port; a socket on
/// 127.0.0.1, or a host with no such interface, gives 127.0.0.1. Unlike
/// JS, a socket bound to one address gives that address only: the
/// others' packets would never reach it.
pub(crate) fn local_addresses(bound: SocketAddr, interfaces: &[Ipv4Addr]) -> Vec<SocketAddrV4> {
    let port = bound.port();
    let at = |ip: Ipv4Addr| SocketAddrV4::new(ip, port);
    match bound {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => vec![at(Ipv4Addr::LOCALHOST)],
        SocketAddr::V4(v4) if !v4.ip().is_unspecified() => vec![at(*v4.ip())],
        SocketAddr::V6(_) => Vec::new(),
        SocketAddr::V4(_) if interfaces.is_empty() => vec![at(Ipv4Addr::LOCALHOST)],
        SocketAddr::V4(_) => interfaces
            .iter()
            .copied()
            .take(MAX_SHARED)
            .map(at)
            .collect(),
    }
}

/// The remote address on "our" network (JS `matchAddress`): with our
/// addresses in the outer loop, the first pair equal in the first three
/// octets wins at once; else the first equal in the first two, else the
/// first equal in the first one; else none.
pub(crate) fn match_address(
    ours: &[SocketAddrV4],
    theirs: &[SocketAddrV4],
) -> Option<SocketAddrV4> {
    let mut best: Option<(usize, SocketAddrV4)> = None;
    for local in ours {
        let a = local.ip().octets();
        for remote in theirs {
            let b = remote.ip().octets();
            let equal = a.iter().zip(&b).take(3).take_while(|(x, y)| x == y).count();
            if equal == 3 {
                return Some(*remote);
            }
            if equal > 0 && best.is_none_or(|(segments, _)| equal > segments) {
                best = Some((equal, *remote));
            }
        }
    }
    best.map(|(_, remote)| remote)
}

/// This host's IPv4 interfaces that are up and running and not loopback
/// (what libuv lists, and JS keeps unless `internal`), in the kernel's
/// order, each once. Empty when they cannot be read.
pub(crate) fn interfaces() -> Vec<Ipv4Addr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list it allocated to `list`, or fails
    // and writes nothing.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut next = list;
    while !next.is_null() {
        // SAFETY: `next` is a node of the list getifaddrs made, which
        // stays valid until freeifaddrs below.
        let entry = unsafe { &*next };
        next = entry.ifa_next;
        let flags = entry.ifa_flags;
        let wanted = libc::IFF_UP as libc::c_uint | libc::IFF_RUNNING as libc::c_uint;
        if flags & wanted != wanted || flags & libc::IFF_LOOPBACK as libc::c_uint != 0 {
            continue;
        }
        if entry.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points to a sockaddr whose
        // family says what it is; an AF_INET one is a sockaddr_in.
        let family = unsafe { (*entry.ifa_addr).sa_family };
        if i32::from(family) != libc::AF_INET {
            continue;
        }
        // SAFETY: as above, the family is AF_INET.
        let sin = unsafe { &*entry.ifa_addr.cast::<libc::sockaddr_in>() };
        let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
        if !found.contains(&ip) {
            found.push(ip);
        }
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// The addresses of `addresses` whose host can receive (JS
/// `validateLocalAddresses`): a scratch socket bound on the host sends a
/// byte to itself, and the host is kept if the byte is back within 500 ms.
/// `known` remembers each host's verdict, as JS caches it per node.
pub(crate) async fn validated(
    addresses: Vec<SocketAddrV4>,
    known: &std::sync::Mutex<std::collections::HashMap<Ipv4Addr, bool>>,
) -> Vec<SocketAddrV4> {
    let mut kept = Vec::new();
    for address in addresses {
        let ip = *address.ip();
        let cached = crate::net::lock::lock(known).get(&ip).copied();
        let ok = match cached {
            Some(ok) => ok,
            None => {
                let ok = receives(ip).await;
                crate::net::lock::lock(known).insert(ip, ok);
                ok
            }
        };
        if ok {
            kept.push(address);
        }
    }
    kept
}

/// Whether a socket bound on `ip` gets a byte it sends to itself.
async fn receives(ip: Ipv4Addr) -> bool {
    let Ok(socket) = tokio::net::UdpSocket::bind(SocketAddrV4::new(ip, 0)).await else {
        return false;
    };
    let Ok(own) = socket.local_addr() else {
        return false;
    };
    if socket.send_to(&[0], own).await.is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(VALIDATE_WAIT, socket.recv_from(&mut byte)).await,
        Ok(Ok((1, from))) if from == own
    )
}

/// What the client's and the server's decision tables both build from.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::net::SocketAddrV4;

    use super::Lan;
    use crate::net::dht::encoding::messages::NoisePayload;

    /// The public address of the router both hosts share.
    pub(crate) const ROUTER: &str = "203.0.113.11";

    pub(crate) fn addr(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    /// A row of a LAN decision's table: the switch, whether the handshake
    /// was relayed, the public IPs the relay saw (ours, then the other
    /// side's), what the other side shared, what we share, and the outcome.
    pub(crate) type Row<T> = (
        Lan,
        bool,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        Option<T>,
    );

    /// A handshake payload that shares `addresses`.
    pub(crate) fn shared(addresses: &[&str]) -> NoisePayload {
        NoisePayload {
            addresses4: addresses.iter().map(|a| addr(a)).collect(),
            ..NoisePayload::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    fn addrs(texts: &[&str]) -> Vec<SocketAddrV4> {
        texts.iter().map(|t| addr(t)).collect()
    }

    #[test]
    fn the_best_match_is_the_first_with_the_most_equal_leading_octets() {
        let table: [(&[&str], &[&str], Option<&str>); 9] = [
            // Three octets win at once, even after a weaker match.
            (
                &["192.168.1.5:1"],
                &["192.168.7.9:2", "192.168.1.20:3"],
                Some("192.168.1.20:3"),
            ),
            // Two octets beat one, whichever comes first.
            (
                &["10.0.1.2:1"],
                &["10.9.9.9:2", "10.0.7.7:3"],
                Some("10.0.7.7:3"),
            ),
            // Equal strength: the first pair wins.
            (
                &["10.0.1.2:1"],
                &["10.0.5.5:2", "10.0.6.6:3"],
                Some("10.0.5.5:2"),
            ),
            // Only the first octet: the first such.
            (
                &["172.16.0.1:1"],
                &["10.0.0.1:2", "172.20.0.1:3", "172.21.0.1:4"],
                Some("172.20.0.1:3"),
            ),
            // Nothing in common.
            (&["192.168.1.5:1"], &["10.0.0.1:2"], None),
            (&["192.168.1.5:1"], &[], None),
            (&[], &["10.0.0.1:2"], None),
            // Our addresses are the outer loop: our second address's
            // three-octet match wins over our first's two-octet one.
            (
                &["10.0.2.2:1", "192.168.1.5:1"],
                &["10.0.3.3:2", "192.168.1.9:3"],
                Some("192.168.1.9:3"),
            ),
            // Octets after the third never count: a four-octet-equal pair
            // is a three-octet match.
            (&["10.0.1.2:1"], &["10.0.1.2:7"], Some("10.0.1.2:7")),
        ];
        for (ours, theirs, expected) in table {
            assert_eq!(
                match_address(&addrs(ours), &addrs(theirs)),
                expected.map(addr),
                "{ours:?} / {theirs:?}"
            );
        }
    }

    #[test]
    fn local_addresses_carry_the_socket_port_as_js_lists_them() {
        let interfaces = [Ipv4Addr::new(10, 0, 1, 2), Ipv4Addr::new(192, 168, 5, 9)];
        let any: SocketAddr = "0.0.0.0:4000".parse().unwrap();
        assert_eq!(
            local_addresses(any, &interfaces),
            addrs(&["10.0.1.2:4000", "192.168.5.9:4000"])
        );
        assert_eq!(local_addresses(any, &[]), addrs(&["127.0.0.1:4000"]));
        let loopback: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(
            local_addresses(loopback, &interfaces),
            addrs(&["127.0.0.1:4000"])
        );
        let one: SocketAddr = "192.168.5.9:4000".parse().unwrap();
        assert_eq!(
            local_addresses(one, &interfaces),
            addrs(&["192.168.5.9:4000"])
        );
        let many: Vec<Ipv4Addr> = (1..=40).map(|n| Ipv4Addr::new(10, 0, n, 1)).collect();
        assert_eq!(local_addresses(any, &many).len(), MAX_SHARED);
    }

    #[test]
    fn private_and_reserved_are_the_bogon_module_ranges() {
        for private in [
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "169.254.1.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
        ] {
            let ip: Ipv4Addr = private.parse().unwrap();
            assert!(is_private(ip) && !is_reserved(ip), "{private}");
        }
        for reserved in [
            "0.1.2.3",
            "192.0.0.7",
            "192.0.2.1",
            "198.18.0.1",
            "198.19.255.1",
            "198.51.100.2",
            "203.0.113.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            let ip: Ipv4Addr = reserved.parse().unwrap();
            assert!(is_reserved(ip) && !is_private(ip), "{reserved}");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.1.1",
        ] {
            let ip: Ipv4Addr = public.parse().unwrap();
            assert!(!is_bogon(ip), "{public}");
        }
    }

    #[test]
    fn the_switch_is_on_unless_it_says_off() {
        assert_eq!(Lan::from_setting(None), Lan::On);
        assert_eq!(Lan::from_setting(Some("on")), Lan::On);
        assert_eq!(Lan::from_setting(Some("")), Lan::On);
        for off in ["off", "OFF", "0", "false", "no", " off "] {
            assert_eq!(Lan::from_setting(Some(off)), Lan::Off, "{off:?}");
        }
    }

    #[test]
    fn the_interfaces_listed_are_up_ipv4_and_not_loopback() {
        for ip in interfaces() {
            assert!(!ip.is_loopback(), "{ip}");
            assert!(!ip.is_unspecified(), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_receives_its_own_byte_and_a_foreign_address_cannot_bind() {
        let known = std::sync::Mutex::default();
        let loopback = addr("127.0.0.1:4000");
        // TEST-NET-1 is on no interface here: binding it fails at once.
        let foreign = addr("192.0.2.77:4000");
        assert_eq!(
            validated(vec![foreign, loopback], &known).await,
            vec![loopback]
        );
        let cached = crate::net::lock::lock(&known).clone();
        assert_eq!(cached.get(loopback.ip()), Some(&true));
        assert_eq!(cached.get(foreign.ip()), Some(&false));
    }
}
