//! Where hychat's sockets bind: parsing `--bind` (an IP, or IP:PORT), the
//! one-sentence check that an address can be bound before anything starts,
//! and the address of the hosted local bootstrap node for a bind. The DHT
//! socket carries every connection too (hyperdht makes its UDX streams on
//! it), so one bind decides where hychat can be reached.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

/// Parses `--bind`: `0.0.0.0`, `192.168.1.10`, `192.168.1.10:49738`. A bare
/// IP gets port 0 (any free port). IPv6 is refused: the DHT protocol
/// carries IPv4 addresses only (dht-rpc's `ipv4Address`).
pub fn parse_bind(text: &str) -> Result<SocketAddr, BindParseError> {
    let text = text.trim();
    let addr = text
        .parse::<SocketAddr>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 0)))
        .ok_or_else(|| BindParseError::NotAnAddress(text.to_string()))?;
    if addr.is_ipv6() {
        return Err(BindParseError::Ipv6(text.to_string()));
    }
    Ok(addr)
}

/// Why `--bind` (or the config's `bind`) is not an address hychat can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindParseError {
    #[error("'{0}' is not an address to bind to; give an IP such as 0.0.0.0 or 192.168.1.10, optionally with :PORT")]
    NotAnAddress(String),
    #[error("'{0}' is an IPv6 address; the DHT speaks IPv4 only, so give an IPv4 address such as 0.0.0.0")]
    Ipv6(String),
}

/// Why an address cannot be bound, as one sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BindError(pub String);

/// Checks that a UDP socket can bind `addr` right now (and releases it), so
/// a bad `--bind` fails at start with a reason instead of retrying forever.
pub fn check_bind(addr: SocketAddr) -> Result<(), BindError> {
    match UdpSocket::bind(addr) {
        Ok(_) => Ok(()),
        Err(e) => Err(BindError(explain(addr, &e))),
    }
}

fn explain(addr: SocketAddr, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::AddrNotAvailable => format!(
            "cannot bind to {addr}: {} is not an address of this host (see `ip addr`)",
            addr.ip()
        ),
        std::io::ErrorKind::AddrInUse => format!(
            "cannot bind to {addr}: port {} is already in use by another program",
            addr.port()
        ),
        std::io::ErrorKind::PermissionDenied => {
            format!("cannot bind to {addr}: permission denied (ports below 1024 need root)")
        }
        _ => format!("cannot bind to {addr}: {error}"),
    }
}

/// The address the hosted local bootstrap node binds for a given `--bind`:
/// the bind's IP (every interface by default) at the well-known local port.
pub fn local_bootstrap_bind(bind: SocketAddr, local: SocketAddr) -> SocketAddr {
    SocketAddr::new(bind.ip(), local.port())
}

/// The address other nodes reach a node bound to `addr` at, for its id and
/// its own bootstrap entry: an unspecified bind is reached at loopback on
/// this machine.
pub fn reachable_here(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        let ip = match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        };
        SocketAddr::new(ip, addr.port())
    } else {
        addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_alone_means_any_port() {
        assert_eq!(parse_bind("0.0.0.0"), Ok("0.0.0.0:0".parse().unwrap()));
        assert_eq!(
            parse_bind(" 192.168.1.10:49738 "),
            Ok("192.168.1.10:49738".parse().unwrap())
        );
        let v6 = parse_bind("::").unwrap_err();
        assert_eq!(v6, BindParseError::Ipv6("::".into()));
        assert!(v6.to_string().contains("IPv4 only"), "{v6}");
    }

    #[test]
    fn a_bad_bind_is_one_sentence() {
        let error = parse_bind("localhost:x").unwrap_err().to_string();
        assert!(error.contains("not an address to bind to"), "{error}");
        assert!(!error.contains('\n'));
    }

    #[test]
    fn an_address_of_another_host_is_refused_with_the_reason() {
        // 198.51.100.0/24 is a documentation range: never an address here.
        let error = check_bind("198.51.100.77:0".parse().unwrap()).unwrap_err();
        assert!(error.0.contains("not an address of this host"), "{error}");
    }

    #[test]
    fn a_taken_port_is_refused_with_the_reason() {
        let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
        let error = check_bind(taken.local_addr().unwrap()).unwrap_err();
        assert!(error.0.contains("already in use"), "{error}");
        assert!(check_bind("127.0.0.1:0".parse().unwrap()).is_ok());
    }

    #[test]
    fn the_local_bootstrap_follows_the_bind_ip() {
        let local: SocketAddr = "127.0.0.1:49737".parse().unwrap();
        assert_eq!(
            local_bootstrap_bind("0.0.0.0:0".parse().unwrap(), local),
            "0.0.0.0:49737".parse().unwrap()
        );
        assert_eq!(reachable_here("0.0.0.0:49737".parse().unwrap()), local);
        assert_eq!(
            reachable_here("10.0.0.2:49737".parse().unwrap()),
            "10.0.0.2:49737".parse().unwrap()
        );
    }
}
