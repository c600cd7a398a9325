//! A stream the DHT opened, dialed (`client/connect.rs`) or accepted
//! (`server/listener.rs`) alike: the secret stream framed over its UDX
//! stream, the peer's address, how its packets got through (`Taken`), the
//! punched socket it runs on (kept open as long as the stream), and a count
//! of the UDX packets the peer got through to us (`PacketsIn`). A stream
//! whose first bytes were read to learn that the peer came (the LAN
//! shortcut's, `server/lan.rs`) gets them back in front (`ReadAhead`).

use std::io;
use std::net::SocketAddrV4;
use std::pin::Pin;
use std::task::{Context, Poll};

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
        cipher: Cipher,
        stream: udx::UdxStream,
        remote_addr: SocketAddrV4,
        path: Taken,
        socket: Option<Rpc>,
    ) -> Self {
        Self::open_after(cipher, stream, Vec::new(), remote_addr, path, socket)
    }

    /// `open`, for a stream whose first bytes (`head`) were read already:
    /// the cipher reads them first, then the stream.
    pub(crate) fn open_after(
        mut cipher: Cipher,
        stream: udx::UdxStream,
        head: Vec<u8>,
        remote_addr: SocketAddrV4,
        path: Taken,
        socket: Option<Rpc>,
    ) -> Self {
        let packets_in = PacketsIn(stream.clone());
        let io = ReadAhead {
            head,
            read: 0,
            stream,
        };
        cipher.set_io(Box::new(Uint24LELengthPrefixedFraming::new(Compat::new(
            io,
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

/// A UDX stream with bytes already read from it put back in front.
struct ReadAhead {
    head: Vec<u8>,
    /// How much of `head` was read again.
    read: usize,
    stream: udx::UdxStream,
}

impl tokio::io::AsyncRead for ReadAhead {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(left) = this.head.get(this.read..).filter(|l| !l.is_empty()) {
            let n = left.len().min(buf.remaining());
            buf.put_slice(&left[..n]);
            this.read += n;
            if this.read == this.head.len() {
                this.head = Vec::new();
                this.read = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ReadAhead {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
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
