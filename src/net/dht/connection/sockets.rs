//! The sockets of one holepunch attempt, as JS hyperdht's socket pool hands
//! them to a puncher: each is a udx socket with our dht-rpc on it (so the
//! holepunch rounds and the NAT sampling pings go out from the socket being
//! punched, and a UDX stream can open on the one that wins), and every
//! one-byte datagram that arrives on any of them is a probe, reported with
//! the socket it came in on.
//!
//! The initiator stops at the first probe; the other side echoes each probe
//! from the socket it arrived on. Dropping `PunchSockets` closes every
//! socket that has not been taken with `take`.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::net::dht::kademlia::rpc::{Inbound, Rpc};

/// The TTL of the probes that only open our own NAT (hyperdht's
/// `HOLEPUNCH_TTL`).
pub(crate) const LOW_TTL: u32 = 5;

/// A holepunch probe: one byte, zero (JS sends `[0]`).
pub(crate) const PROBE: [u8; 1] = [0];
/// The most sockets one attempt may hold (JS: 256 birthday sockets).
pub(crate) const MAX_SOCKETS: usize = 256;

/// A probe that arrived: on which socket, from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arrived {
    pub(crate) socket: usize,
    pub(crate) from: SocketAddrV4,
}

/// What else reaches a serving side's sockets: requests (a holepunch round
/// relayed to our puncher) and the first UDX packet of a stream we have
/// not opened yet (its id, and where it came from: the path to connect).
#[derive(Debug)]
pub(crate) enum Extra {
    Request {
        request: crate::net::dht::encoding::wire::Request,
        from: SocketAddrV4,
    },
    Udx {
        socket: usize,
        stream_id: u32,
        from: SocketAddrV4,
        /// The packet itself, to hand to the stream once it is open.
        bytes: Vec<u8>,
    },
}

/// The stream id of a UDX packet (magic 0xff, version 1, id at 4..8), if
/// `bytes` is one.
pub(crate) fn udx_stream_id(bytes: &[u8]) -> Option<u32> {
    match bytes {
        [0xff, 0x01, _, _, a, b, c, d, ..] if bytes.len() >= 20 => {
            Some(u32::from_le_bytes([*a, *b, *c, *d]))
        }
        _ => None,
    }
}

struct Held {
    rpc: Rpc,
    listener: JoinHandle<()>,
}

pub(crate) struct PunchSockets {
    bind_ip: std::net::IpAddr,
    held: Vec<Option<Held>>,
    arrived_tx: mpsc::Sender<Arrived>,
    arrived: Option<mpsc::Receiver<Arrived>>,
    echo: bool,
    extra: Option<mpsc::Sender<Extra>>,
}

impl Drop for PunchSockets {
    fn drop(&mut self) {
        for held in self.held.iter_mut().filter_map(Option::take) {
            held.listener.abort();
        }
    }
}

impl PunchSockets {
    /// One socket on `bind_ip` (any free port). `echo`: answer every probe
    /// with a probe (the side that did not start the connection).
    pub(crate) fn open(bind_ip: std::net::IpAddr, echo: bool) -> io::Result<Self> {
        let (arrived_tx, arrived) = mpsc::channel(MAX_SOCKETS * 4);
        let mut sockets = PunchSockets {
            bind_ip,
            held: Vec::new(),
            arrived_tx,
            arrived: Some(arrived),
            echo,
            extra: None,
        };
        sockets.add()?;
        Ok(sockets)
    }

    /// The serving side's sockets: probes are echoed, and requests and
    /// first UDX packets come out of the returned receiver.
    pub(crate) fn open_serving(
        bind_ip: std::net::IpAddr,
    ) -> io::Result<(Self, mpsc::Receiver<Extra>)> {
        let (arrived_tx, arrived) = mpsc::channel(MAX_SOCKETS * 4);
        let (extra_tx, extra) = mpsc::channel(64);
        let mut sockets = PunchSockets {
            bind_ip,
            held: Vec::new(),
            arrived_tx,
            arrived: Some(arrived),
            echo: true,
            extra: Some(extra_tx),
        };
        sockets.add()?;
        Ok((sockets, extra))
    }

    /// One more socket; returns its index. Refused past `MAX_SOCKETS`.
    pub(crate) fn add(&mut self) -> io::Result<usize> {
        if self.held.len() >= MAX_SOCKETS {
            return Err(io::Error::other("too many holepunch sockets"));
        }
        let (rpc, inbound) = Rpc::bind(SocketAddr::new(self.bind_ip, 0))?;
        let index = self.held.len();
        let listener = tokio::spawn(listen(
            index,
            rpc.clone(),
            inbound,
            self.arrived_tx.clone(),
            self.echo,
            self.extra.clone(),
        ));
        self.held.push(Some(Held { rpc, listener }));
        Ok(index)
    }

    /// The socket at `index`, unless released or taken.
    pub(crate) fn rpc(&self, index: usize) -> Option<&Rpc> {
        self.held.get(index)?.as_ref().map(|h| &h.rpc)
    }

    /// Sends a probe from socket `index`, at the low TTL JS uses to open
    /// its own NAT without reaching the far one (`LOW_TTL`), or at the
    /// default.
    pub(crate) fn probe(&self, index: usize, to: SocketAddrV4, low_ttl: bool) {
        if let Some(rpc) = self.rpc(index) {
            if low_ttl {
                rpc.send_ttl(&PROBE, to, LOW_TTL);
            } else {
                rpc.send(&PROBE, to);
            }
        }
    }

    /// Sends a strategy's probes, opening the sockets they ask for (a
    /// birthday socket, or one that was closed meanwhile).
    pub(crate) fn send(&mut self, probes: Vec<super::strategy::Probe>) {
        for probe in probes {
            let mut socket = probe.socket;
            if probe.open || self.rpc(socket).is_none() {
                match self.add() {
                    Ok(index) => socket = index,
                    Err(_) => continue,
                }
            }
            self.probe(socket, probe.to, probe.low_ttl);
        }
    }

    /// Closes socket `index` (a reopened NAT sample, or a loser).
    #[cfg(test)]
    pub(crate) fn release(&mut self, index: usize) {
        if let Some(held) = self.held.get_mut(index).and_then(Option::take) {
            held.listener.abort();
        }
    }

    /// The next probe that arrives on any socket still held (unless the
    /// arrivals were taken with `arrivals`).
    #[cfg(test)]
    pub(crate) async fn arrived(&mut self) -> Option<Arrived> {
        loop {
            let arrived = self.arrived.as_mut()?.recv().await?;
            if self.rpc(arrived.socket).is_some() {
                return Some(arrived);
            }
        }
    }

    /// The stream of arrivals, to wait on while the sockets are in use
    /// elsewhere. Once only.
    pub(crate) fn arrivals(&mut self) -> Option<mpsc::Receiver<Arrived>> {
        self.arrived.take()
    }

    /// Keeps socket `index` (the winner) and closes every other.
    pub(crate) fn take(mut self, index: usize) -> Option<Rpc> {
        let held = self.held.get_mut(index).and_then(Option::take)?;
        held.listener.abort();
        Some(held.rpc)
    }

    /// Sockets still open.
    #[cfg(test)]
    pub(crate) fn open_count(&self) -> usize {
        self.held.iter().filter(|h| h.is_some()).count()
    }
}

/// How long a NAT sampling ping waits (one try, as JS samples).
const SAMPLE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Pings `nodes` from `rpc`'s socket: each answer is one sample of where
/// the NAT maps that socket (where the node saw it, and the node).
pub(crate) async fn sample_nat(
    rpc: &Rpc,
    nodes: Vec<SocketAddrV4>,
) -> Vec<(SocketAddrV4, SocketAddrV4)> {
    let pings = nodes.into_iter().map(|node| async move {
        let ping = rpc.request(crate::net::dht::encoding::wire::ping(0, node), node, 1);
        match tokio::time::timeout(SAMPLE_WAIT, ping).await {
            Ok(Ok(answer)) => Some((answer.reply.to, answer.from)),
            _ => None,
        }
    });
    futures::future::join_all(pings)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn listen(
    index: usize,
    rpc: Rpc,
    mut inbound: mpsc::Receiver<Inbound>,
    arrived: mpsc::Sender<Arrived>,
    echo: bool,
    extra: Option<mpsc::Sender<Extra>>,
) {
    while let Some(event) = inbound.recv().await {
        let (bytes, from) = match event {
            Inbound::Request { request, from } => {
                // Only a serving side answers requests on its punch sockets.
                if let Some(extra) = &extra {
                    let _ = extra.try_send(Extra::Request { request, from });
                }
                continue;
            }
            Inbound::Other { bytes, from } => (bytes, from),
        };
        if bytes.len() > 1 {
            // The first packets of a stream not opened yet: its sender
            // resends them once the stream is there.
            if let (Some(extra), Some(stream_id)) = (&extra, udx_stream_id(&bytes)) {
                let _ = extra.try_send(Extra::Udx {
                    socket: index,
                    stream_id,
                    from,
                    bytes,
                });
            }
            continue;
        }
        if echo {
            rpc.send(&PROBE, from);
        }
        if arrived
            .try_send(Arrived {
                socket: index,
                from,
            })
            .is_err()
            && arrived.is_closed()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn v4(rpc: &Rpc) -> SocketAddrV4 {
        match rpc.local_addr() {
            SocketAddr::V4(v4) => v4,
            SocketAddr::V6(_) => unreachable!(),
        }
    }

    #[tokio::test]
    async fn a_probe_reaches_the_socket_it_was_sent_to_and_is_echoed() {
        let mut client = PunchSockets::open(LOOPBACK, false).unwrap();
        let second = client.add().unwrap();
        let mut server = PunchSockets::open(LOOPBACK, true).unwrap();
        let server_addr = v4(server.rpc(0).unwrap());
        client.probe(second, server_addr, false);
        let at_server = tokio::time::timeout(Duration::from_secs(2), server.arrived())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(at_server.socket, 0);
        assert_eq!(at_server.from, v4(client.rpc(second).unwrap()));
        let echoed = tokio::time::timeout(Duration::from_secs(2), client.arrived())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            echoed,
            Arrived {
                socket: second,
                from: server_addr
            }
        );
    }

    #[tokio::test]
    async fn taking_the_winner_closes_the_rest() {
        let mut sockets = PunchSockets::open(LOOPBACK, false).unwrap();
        for _ in 0..4 {
            sockets.add().unwrap();
        }
        sockets.release(1);
        assert_eq!(sockets.open_count(), 4);
        assert!(sockets.rpc(1).is_none());
        let winner = sockets.take(2).unwrap();
        assert!(v4(&winner).port() != 0);
    }
}
