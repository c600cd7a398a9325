//! A stream the DHT opened, dialed (`client/connect.rs`) or accepted
//! (`server/listener.rs`) alike: the secret stream on its UDX stream
//! (`transport::session`), the peer's address, how its packets got through (`Taken`), the
//! punched socket it runs on (kept open as long as the stream), and a count
//! of the UDX packets the peer got through to us (`PacketsIn`). A stream
//! whose first bytes were read to learn that the peer came (the LAN
//! shortcut's, `server/lan.rs`) gets them back in front. A stream through
//! a blind relay holds the connection to the relay (`Hold`, kept by the
//! session, which outlives the `DhtStream`) for as long as it lives.

use std::net::SocketAddrV4;

use crate::net::dht::kademlia::rpc::Rpc;
use crate::net::transport::secret::noise::Split;
use crate::net::transport::session::Session;
use crate::net::transport::udx::socket::UdxStream;

/// How a connection was made, for the network pane and `dial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// UDX straight to the server's address.
    Direct,
    /// Through holes punched in the NATs, with this strategy.
    Punched(&'static str),
    /// Through the blind relay with this public key.
    Relayed([u8; 32]),
}

impl std::fmt::Display for Taken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Taken::Direct => f.write_str("direct"),
            Taken::Punched(how) => write!(f, "punched, {how}"),
            Taken::Relayed(key) => {
                let short: String = key[..4].iter().map(|b| format!("{b:02x}")).collect();
                write!(f, "blind relay {short}")
            }
        }
    }
}

/// An open connection over the DHT.
pub(crate) struct DhtStream {
    pub(crate) session: Session,
    pub(crate) remote_addr: SocketAddrV4,
    pub(crate) path: Taken,
    /// The UDX packets that came in on the stream so far.
    pub(crate) packets_in: PacketsIn,
    /// The UDX stream under the secret stream.
    pub(crate) udx: UdxStream,
    /// The punched socket the stream runs on, if not the DHT socket.
    _socket: Option<Rpc>,
}

/// A task that lives as long as a stream: dropping it stops the task.
#[derive(Debug)]
pub(crate) struct Hold(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Counts the UDX packets a stream's peer got through to us: data and
/// acknowledgements alike, so a peer that accepted the stream shows within
/// a round trip of our first packet, before any frame of the secret stream
/// is read. A handle keeps the stream alive, so a connection drops it once
/// it has looked.
#[derive(Clone)]
pub(crate) struct PacketsIn(UdxStream);

impl PacketsIn {
    pub(crate) fn count(&self) -> usize {
        usize::try_from(self.0.stats().packets_in).unwrap_or(usize::MAX)
    }
}

impl std::fmt::Debug for PacketsIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PacketsIn({})", self.count())
    }
}

impl DhtStream {
    /// Starts the handshake's secret stream on `stream`.
    pub(crate) fn open(
        split: &Split,
        local_public_key: [u8; 32],
        stream: UdxStream,
        remote_addr: SocketAddrV4,
        path: Taken,
        socket: Option<Rpc>,
    ) -> Self {
        Self::open_after(
            split,
            local_public_key,
            stream,
            &[],
            remote_addr,
            path,
            socket,
        )
    }

    /// `open`, for a stream whose first bytes (`head`) were read already:
    /// the secret stream reads them first, then the stream.
    pub(crate) fn open_after(
        split: &Split,
        local_public_key: [u8; 32],
        stream: UdxStream,
        head: &[u8],
        remote_addr: SocketAddrV4,
        path: Taken,
        socket: Option<Rpc>,
    ) -> Self {
        let packets_in = PacketsIn(stream.clone());
        Self {
            udx: stream.clone(),
            session: Session::start(split, local_public_key, stream, head),
            remote_addr,
            path,
            packets_in,
            _socket: socket,
        }
    }

    /// The stream, its session holding `hold` for as long as it lives.
    pub(crate) fn holding(mut self, hold: Hold) -> Self {
        self.session.keep(Box::new(hold));
        self
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
    stream.session.send(bytes.to_vec()).await.ok()?;
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(event) = stream.session.next().await {
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
