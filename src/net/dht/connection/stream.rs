//! A stream the DHT opened, dialed (`client/connect.rs`) or accepted
//! (`server/listener.rs`) alike: the secret stream framed over its UDX
//! stream, the peer's address, how its packets got through (`Taken`), the
//! punched socket it runs on (kept open as long as the stream), and a count
//! of the UDX packets the peer got through to us (`PacketsIn`).

use std::net::SocketAddrV4;

use async_compat::Compat;
use hypercore_handshake::Cipher;
use uint24le_framing::Uint24LELengthPrefixedFraming;

use crate::net::dht::kademlia::rpc::Rpc;

/// How a connection was made, for the network pane and `dial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// UDX straight to the server's address.
    Direct,
    /// Through holes punched in the NATs, with this strategy.
    Punched(&'static str),
}

impl std::fmt::Display for Taken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Taken::Direct => f.write_str("direct"),
            Taken::Punched(how) => write!(f, "punched, {how}"),
        }
    }
}

/// An open connection over the DHT.
pub(crate) struct DhtStream {
    pub(crate) cipher: Cipher,
    pub(crate) remote_addr: SocketAddrV4,
    pub(crate) path: Taken,
    /// The UDX packets that came in on the stream so far.
    pub(crate) packets_in: PacketsIn,
    /// The punched socket the stream runs on, if not the DHT socket.
    _socket: Option<Rpc>,
}

/// Counts the UDX packets a stream's peer got through to us: data and
/// acknowledgements alike, so a peer that accepted the stream shows within
/// a round trip of our first packet, before any frame of the secret stream
/// is read. The count is udx's own (`UdxStream::stats`); a handle keeps the
/// stream's state alive, so a connection drops it once it has looked.
#[derive(Clone)]
pub(crate) struct PacketsIn(udx::UdxStream);

impl PacketsIn {
    pub(crate) fn count(&self) -> usize {
        self.0.stats().rx_packets
    }
}

impl std::fmt::Debug for PacketsIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PacketsIn({})", self.count())
    }
}

impl DhtStream {
    /// Puts the handshake's `cipher` on `stream`, framed as the peers'
    /// protocol expects (24-bit little-endian lengths).
    pub(crate) fn open(
        mut cipher: Cipher,
        stream: udx::UdxStream,
        remote_addr: SocketAddrV4,
        path: Taken,
        socket: Option<Rpc>,
    ) -> Self {
        let packets_in = PacketsIn(stream.clone());
        cipher.set_io(Box::new(Uint24LELengthPrefixedFraming::new(Compat::new(
            stream,
        ))));
        Self {
            cipher,
            remote_addr,
            path,
            packets_in,
            _socket: socket,
        }
    }
}

impl std::fmt::Debug for DhtStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DhtStream")
            .field("remote_addr", &self.remote_addr)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// For tests: sends `bytes` on `stream` and waits up to 10 s for the first
/// message back, which an echoing peer makes the same bytes.
#[cfg(test)]
pub(crate) async fn echo_round_trip(stream: &mut DhtStream, bytes: &[u8]) -> Option<Vec<u8>> {
    use futures::{SinkExt, StreamExt};
    use hypercore_handshake::CipherEvent;
    stream.cipher.send(bytes.to_vec()).await.ok()?;
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(event) = stream.cipher.next().await {
            if let CipherEvent::Message(bytes) = event {
                return Some(bytes);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}
