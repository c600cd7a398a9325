//! An encrypted connection: the secret stream (`secret/stream.rs`) on a
//! UDX stream (`udx/socket.rs`), in the shape hypercore-protocol takes (a
//! `Stream` of decrypted messages and a `Sink` of plaintexts: its
//! `CipherTrait`, which the pinned protocol crate names from the handshake
//! crate; compat inventory, hypercore-protocol row).
//!
//! It writes its setup frame first, reads whatever came before it was made
//! (`head`), sends a keepalive when 5 s passed without a write, and ends
//! on the first error of the stream or the cipher. Every wake-up comes from
//! the UDX stream (bytes in, room to write) or the keepalive timer: nothing
//! wakes itself.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::{Sink, Stream};
use hypercore_handshake::{CipherEvent, CipherTrait};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::secret::noise::Split;
use super::secret::stream::SecretStream;
use super::udx::socket::UdxStream;

/// Bytes of ciphertext queued beyond which `poll_ready` waits: a message
/// is taken whole, so this bounds what waits beyond one message.
const QUEUE_HIGH: usize = 1 << 20;
/// How much one read takes from the UDX stream.
const READ_CHUNK: usize = 64 * 1024;

/// The secret stream of one connection, over its UDX stream.
pub(crate) struct Session {
    io: UdxStream,
    secret: SecretStream,
    local_public: [u8; 32],
    /// Ciphertext waiting to go into the UDX stream, in order.
    out: VecDeque<Vec<u8>>,
    /// How much of `out`'s front was written.
    written: usize,
    queued: usize,
    keepalive: Pin<Box<tokio::time::Sleep>>,
    read_buf: Vec<u8>,
    /// The stream ended or failed: nothing more comes out.
    done: bool,
    /// What lives as long as the session (a blind relay's connection).
    _kept: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Session {
    /// Starts the secret stream of a finished handshake on `io`. `head`:
    /// bytes of the stream read before (the LAN shortcut reads the first
    /// ones to learn that the peer came).
    pub(crate) fn start(split: &Split, local_public: [u8; 32], io: UdxStream, head: &[u8]) -> Self {
        let now = Instant::now();
        let mut secret = SecretStream::new(split, now);
        let setup = secret.setup_frame();
        let mut done = false;
        if !head.is_empty() && secret.on_bytes(head).is_err() {
            done = true;
        }
        let keepalive = Box::pin(tokio::time::sleep_until(secret.keepalive_at().into()));
        Session {
            io,
            secret,
            local_public,
            queued: setup.len(),
            out: VecDeque::from([setup]),
            written: 0,
            keepalive,
            read_buf: vec![0; READ_CHUNK],
            done,
            _kept: None,
        }
    }

    /// Keeps `kept` alive for as long as the session lives.
    pub(crate) fn keep(&mut self, kept: Box<dyn std::any::Any + Send + Sync>) {
        self._kept = Some(kept);
    }

    /// Writes what is queued into the UDX stream, as far as it takes it.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(front) = self.out.front() {
            let rest = front.get(self.written..).unwrap_or_default();
            match Pin::new(&mut self.io).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) if !rest.is_empty() => {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => {
                    self.written += n;
                    self.queued = self.queued.saturating_sub(n);
                    if self.written >= front.len() {
                        self.out.pop_front();
                        self.written = 0;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    fn enqueue(&mut self, bytes: Vec<u8>) {
        self.queued += bytes.len();
        self.out.push_back(bytes);
    }

    /// Queues a keepalive if one is due, and re-arms the timer.
    fn poll_keepalive(&mut self, cx: &mut Context<'_>) {
        while self.keepalive.as_mut().poll(cx).is_ready() {
            if let Some(frame) = self.secret.poll_keepalive(Instant::now()) {
                self.enqueue(frame);
            }
            let at = self.secret.keepalive_at();
            self.keepalive.as_mut().reset(at.into());
        }
    }
}

impl Stream for Session {
    type Item = CipherEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<CipherEvent>> {
        let this = &mut *self;
        loop {
            if let Some(message) = this.secret.next_message() {
                return Poll::Ready(Some(CipherEvent::Message(message)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            this.poll_keepalive(cx);
            if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                this.done = true;
                return Poll::Ready(Some(CipherEvent::ErrStuff(e)));
            }
            let mut buf = ReadBuf::new(&mut this.read_buf);
            match Pin::new(&mut this.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                    this.done = true;
                }
                Poll::Ready(Ok(())) => {
                    if let Err(e) = this.secret.on_bytes(buf.filled()) {
                        this.done = true;
                        return Poll::Ready(Some(CipherEvent::ErrStuff(io::Error::new(
                            io::ErrorKind::InvalidData,
                            e,
                        ))));
                    }
                }
                Poll::Ready(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Some(CipherEvent::ErrStuff(e)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Sink<Vec<u8>> for Session {
    type Error = io::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.queued < QUEUE_HIGH {
            return Poll::Ready(Ok(()));
        }
        match self.poll_drain(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if self.queued < QUEUE_HIGH => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn start_send(mut self: Pin<&mut Self>, message: Vec<u8>) -> io::Result<()> {
        let sealed = self
            .secret
            .seal(&message, Instant::now())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.enqueue(sealed);
        let at = self.secret.keepalive_at();
        self.keepalive.as_mut().reset(at.into());
        Ok(())
    }

    /// Done once the ciphertext is with the UDX stream (not acked yet).
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_drain(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.io).poll_shutdown(cx),
            other => other,
        }
    }
}

impl CipherTrait for Session {
    fn remote_public_key(&self) -> Option<[u8; 32]> {
        Some(self.secret.remote_public())
    }

    fn local_public_key(&self) -> [u8; 32] {
        self.local_public
    }

    fn handshake_hash(&self) -> Option<Vec<u8>> {
        Some(self.secret.handshake_hash().to_vec())
    }

    fn is_initiator(&self) -> bool {
        self.secret.is_initiator()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("io", &self.io)
            .field("initiator", &self.secret.is_initiator())
            .finish_non_exhaustive()
    }
}
