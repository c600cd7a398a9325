//! The transport's handles for the transport bench (`benches/transport.rs`,
//! through `net::testing::transport`): a UDX socket, a stream on it, and
//! the secret stream started from made-up handshake keys, as thin
//! wrappers over the crate's own types, so a bench compiles against the
//! library instead of its source files. `testing` builds only.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Sink, Stream as FuturesStream};
use hypercore_handshake::CipherEvent;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::secret::noise::Split;
use super::session::Session;
use super::udx::socket::{HalfOpen, UdxSocket, UdxStream};

/// A UDX socket with its driver.
pub struct Socket(UdxSocket);

impl Socket {
    pub fn bind(addr: SocketAddr) -> io::Result<Socket> {
        UdxSocket::bind(addr).map(Socket)
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    /// A stream under `local_id`, not yet connected.
    pub fn create_stream(&self, local_id: u32) -> io::Result<Pending> {
        self.0.create_stream(local_id).map(Pending)
    }
}

/// A stream registered on its socket, before `connect`.
pub struct Pending(HalfOpen);

impl Pending {
    pub fn connect(self, dest: SocketAddr, remote_id: u32) -> io::Result<Stream> {
        self.0.connect(dest, remote_id).map(Stream)
    }
}

/// A connected UDX stream: bytes both ways. Cloning shares it.
#[derive(Clone)]
pub struct Stream(UdxStream);

impl Stream {
    /// Packets sent again so far.
    pub fn retransmits(&self) -> u64 {
        self.0.stats().retransmits
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// What a finished handshake leaves each side with.
#[derive(Debug, Clone, Copy)]
pub struct Keys {
    pub is_initiator: bool,
    /// Our sending key; the peer's receiving one.
    pub tx: [u8; 32],
    pub rx: [u8; 32],
    /// The handshake hash.
    pub hash: [u8; 64],
    pub public: [u8; 32],
    pub remote_public: [u8; 32],
}

/// The secret stream over a UDX stream: messages out (`Sink`), events in.
pub struct Secret(Session);

impl Secret {
    /// Starts it with `keys` on `stream` (its setup frame goes out).
    pub fn start(keys: &Keys, stream: Stream) -> Secret {
        let split = Split {
            is_initiator: keys.is_initiator,
            tx: keys.tx,
            rx: keys.rx,
            hash: keys.hash,
            remote_public: keys.remote_public,
        };
        Secret(Session::start(&split, keys.public, stream.0, &[]))
    }
}

impl FuturesStream for Secret {
    type Item = CipherEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<CipherEvent>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

impl Sink<Vec<u8>> for Secret {
    type Error = io::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Vec<u8>) -> io::Result<()> {
        Pin::new(&mut self.0).start_send(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
