//! The UDX socket driver: one UDP socket, the UDX streams on it, and the
//! one tokio task that does their IO. The task owns the receive side and
//! every stream's state machine (`stream.rs`, behind a mutex the handles
//! share): a datagram for a stream it holds goes to that stream, anything
//! else (dht-rpc, probes, UDX for an id nobody registered) comes out of
//! `recv()`. It sleeps until a datagram, the earliest stream timer, a
//! handle's write, or the socket's room to send after a full buffer: no
//! polling.
//!
//! A stream is registered before it is connected (`create_stream`): packets
//! that reach it first are kept by its state machine, and where the first
//! came from is remembered (`HalfOpen::first_source`), which is what
//! libudx's firewall hook gives hyperdht's server. Sends can carry a TTL
//! (`send_ttl`: the socket's TTL is set, the datagram sent, the TTL put
//! back, under the one send lock, so no other datagram goes out at the
//! low TTL).
//!
//! A blind relay's link ends live here too (`create_link`, `join`): a
//! packet for a link end is not read but passed on, renamed, from the
//! partner end's socket to the partner's peer (`link.rs` decides).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use super::link::{renamed, LinkEnd, LinkStats};
use super::stream::{Closed, Stats, Stream};
use super::wire;
use crate::net::lock::lock;

/// The TTL every socket sends with unless told otherwise (libudx's).
pub(crate) const DEFAULT_TTL: u32 = 64;
/// Datagrams for nobody that wait for `recv()`; beyond this many they are
/// dropped, as a full socket buffer would drop them.
const RAW_QUEUE: usize = 1024;
/// The receive buffer: larger than any UDP datagram, so none is cut.
const RECV_BUFFER: usize = 65_536;
/// Datagrams read in one turn of the driver before it sends: a fast
/// sender's burst leaves the kernel's buffer (about 90 datagrams by
/// default) instead of overflowing it while the driver sends acks.
const RECV_BATCH: usize = 256;
/// The kernel receive buffer asked for (the kernel caps it at
/// `net.core.rmem_max`).
const KERNEL_RECV_BUFFER: usize = 4 * 1024 * 1024;

/// One registered stream and who waits on it.
struct Entry {
    stream: Stream,
    /// Where its datagrams go, once connected.
    remote: Option<SocketAddr>,
    /// Where the first packet for it came from, before it was connected.
    first_source: Option<SocketAddr>,
    /// Our side was shut down: the stream lives on until its END is acked.
    ending: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    source_waker: Option<Waker>,
}

impl Entry {
    fn wake(&mut self) {
        for waker in [
            self.read_waker.take(),
            self.write_waker.take(),
            self.source_waker.take(),
        ]
        .into_iter()
        .flatten()
        {
            waker.wake();
        }
    }
}

/// A link end's partner: its socket, and its id there.
type Partner = (Weak<Shared>, u32);

struct Shared {
    socket: tokio::net::UdpSocket,
    /// The same socket, for sends before the runtime has seen it writable
    /// (tokio's `try_send_to` refuses until then without trying).
    plain: std::net::UdpSocket,
    local: SocketAddr,
    streams: Mutex<HashMap<u32, Entry>>,
    /// A blind relay's link ends on this socket, each naming its partner
    /// end (its socket, and its id there).
    links: Mutex<HashMap<u32, LinkEnd<Partner>>>,
    /// Taken around every send, so a TTL send is atomic.
    send_lock: Mutex<()>,
    /// Wakes the driver: a handle wrote, ended, connected or let go.
    poke: Notify,
    raw: tokio::sync::Mutex<mpsc::Receiver<(SocketAddr, Vec<u8>)>>,
}

impl Shared {
    /// One send, now: through tokio (which keeps its readiness right), or
    /// straight to the kernel when tokio has not seen the socket writable
    /// yet. `WouldBlock` only when the kernel's buffer is full. The caller
    /// holds the send lock.
    fn send_now(&self, bytes: &[u8], to: SocketAddr) -> io::Result<usize> {
        match self.socket.try_send_to(bytes, to) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.plain.send_to(bytes, to),
            sent => sent,
        }
    }
}

/// Stops the driver when the last socket or stream handle goes.
struct Driver(JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A UDP socket with UDX streams on it. Cloning shares it.
#[derive(Clone)]
pub(crate) struct UdxSocket {
    shared: Arc<Shared>,
    /// Keeps the driver running while any handle lives.
    _driver: Arc<Driver>,
}

impl UdxSocket {
    /// Binds `addr` and starts the driver. Needs a tokio runtime.
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<Self> {
        let std_socket = std::net::UdpSocket::bind(addr)?;
        std_socket.set_nonblocking(true)?;
        ask_receive_buffer(&std_socket, KERNEL_RECV_BUFFER);
        let plain = std_socket.try_clone()?;
        let socket = tokio::net::UdpSocket::from_std(std_socket)?;
        socket.set_ttl(DEFAULT_TTL)?;
        let local = socket.local_addr()?;
        let (raw_tx, raw_rx) = mpsc::channel(RAW_QUEUE);
        let shared = Arc::new(Shared {
            socket,
            plain,
            local,
            streams: Mutex::new(HashMap::new()),
            links: Mutex::new(HashMap::new()),
            send_lock: Mutex::new(()),
            poke: Notify::new(),
            raw: tokio::sync::Mutex::new(raw_rx),
        });
        let task = tokio::spawn(drive(Arc::clone(&shared), raw_tx));
        Ok(UdxSocket {
            shared,
            _driver: Arc::new(Driver(task)),
        })
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.shared.local)
    }

    /// Sends one datagram as it is. A full socket buffer drops it, as the
    /// network may.
    pub(crate) fn send(&self, dest: SocketAddr, bytes: &[u8]) {
        let _send = lock(&self.shared.send_lock);
        let _ = self.shared.send_now(bytes, dest);
    }

    /// `send`, with the IP TTL set to `ttl` for this one datagram.
    pub(crate) fn send_ttl(&self, dest: SocketAddr, bytes: &[u8], ttl: u32) {
        let _send = lock(&self.shared.send_lock);
        if ttl == DEFAULT_TTL || self.shared.socket.set_ttl(ttl).is_err() {
            let _ = self.shared.send_now(bytes, dest);
            return;
        }
        let _ = self.shared.send_now(bytes, dest);
        if let Err(e) = self.shared.socket.set_ttl(DEFAULT_TTL) {
            tracing::warn!(error = %e, "could not put a socket's TTL back");
        }
    }

    /// The next datagram that is not for a stream of this socket.
    pub(crate) async fn recv(&self) -> io::Result<(SocketAddr, Vec<u8>)> {
        let mut raw = self.shared.raw.lock().await;
        raw.recv()
            .await
            .ok_or_else(|| io::Error::other("the socket's driver stopped"))
    }

    /// Hands datagrams that came in before their stream was registered
    /// (they came out of `recv()`) to that stream, as if they arrived now
    /// from `from`; those for no stream are dropped.
    pub(crate) fn inject(&self, datagrams: &[Vec<u8>], from: SocketAddr) {
        for datagram in datagrams {
            to_stream(&self.shared, datagram, from);
        }
        self.shared.poke.notify_one();
    }

    /// Registers a stream under `local_id`; refused when the id is taken.
    /// Packets for it are kept from now on, connected or not.
    pub(crate) fn create_stream(&self, local_id: u32) -> io::Result<HalfOpen> {
        let mut streams = lock(&self.shared.streams);
        if streams.contains_key(&local_id) || lock(&self.shared.links).contains_key(&local_id) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "a stream with this id is open on the socket",
            ));
        }
        streams.insert(
            local_id,
            Entry {
                stream: Stream::new(local_id, Instant::now()),
                remote: None,
                first_source: None,
                ending: false,
                read_waker: None,
                write_waker: None,
                source_waker: None,
            },
        );
        drop(streams);
        Ok(HalfOpen {
            handle: Some(Arc::new(Handle {
                socket: self.clone(),
                id: local_id,
            })),
        })
    }
}

impl UdxSocket {
    /// Registers a blind relay's link end under `local_id`, for the peer
    /// whose stream is `peer_id`; refused when the id is taken. It passes
    /// nothing on until `join`ed with its partner end.
    pub(crate) fn create_link(&self, local_id: u32, peer_id: u32) -> io::Result<Link> {
        let streams = lock(&self.shared.streams);
        let mut links = lock(&self.shared.links);
        if streams.contains_key(&local_id) || links.contains_key(&local_id) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "a stream with this id is open on the socket",
            ));
        }
        links.insert(local_id, LinkEnd::new(peer_id, Instant::now()));
        Ok(Link {
            socket: self.clone(),
            id: local_id,
        })
    }
}

/// A blind relay's link end on a socket; dropping it removes it.
pub(crate) struct Link {
    socket: UdxSocket,
    id: u32,
}

impl Link {
    /// Its id at the relay: what the peer connects its stream to.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// What it passed on, and when it last did.
    pub(crate) fn stats(&self) -> (LinkStats, Instant) {
        lock(&self.socket.shared.links)
            .get(&self.id)
            .map_or((LinkStats::default(), Instant::now()), |end| {
                (end.stats, end.last)
            })
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        lock(&self.socket.shared.links).remove(&self.id);
    }
}

/// Makes `a` and `b` partners: what reaches one goes to the other's peer.
pub(crate) fn join(a: &Link, b: &Link) {
    for (this, other) in [(a, b), (b, a)] {
        if let Some(end) = lock(&this.socket.shared.links).get_mut(&this.id) {
            end.partner = Some((Arc::downgrade(&other.socket.shared), other.id));
        }
    }
}

/// A datagram for a link end on `shared`: passed on, renamed, from the
/// partner's socket, or dropped. False when `id` is no link end here.
fn to_link(shared: &Shared, id: u32, kind: u8, datagram: &[u8], from: SocketAddr) -> bool {
    let partner = {
        let mut links = lock(&shared.links);
        let Some(end) = links.get_mut(&id) else {
            return false;
        };
        end.on_datagram(from, datagram.len(), kind, Instant::now())
    };
    let Some((socket, partner_id)) = partner else {
        return true;
    };
    let Some(socket) = socket.upgrade() else {
        return true;
    };
    let to = lock(&socket.links)
        .get(&partner_id)
        .and_then(LinkEnd::send_to);
    if let Some((to, peer_id)) = to {
        let _send = lock(&socket.send_lock);
        let _ = socket.send_now(&renamed(datagram, peer_id), to);
    }
    true
}

/// The last handle of a stream: dropping it destroys the stream unless it
/// ended (then the driver keeps it until its end is acked or lingered).
struct Handle {
    socket: UdxSocket,
    id: u32,
}

impl Drop for Handle {
    fn drop(&mut self) {
        let shared = &self.socket.shared;
        let mut streams = lock(&shared.streams);
        if let Some(entry) = streams.get_mut(&self.id) {
            if entry.remote.is_none() {
                streams.remove(&self.id);
                return;
            }
            if entry.stream.closed().is_none() && !entry.ending {
                entry.stream.destroy();
                // The DESTROY goes now, not from the driver: this may be
                // the socket's last handle, and the driver stops with it.
                if let Some(remote) = entry.remote {
                    let mut out = Vec::new();
                    let now = Instant::now();
                    let _send = lock(&shared.send_lock);
                    while entry.stream.poll_transmit(now, &mut out) {
                        let _ = shared.send_now(&out, remote);
                    }
                }
            }
        }
        drop(streams);
        shared.poke.notify_one();
    }
}

/// A registered stream, not yet connected.
pub(crate) struct HalfOpen {
    handle: Option<Arc<Handle>>,
}

impl HalfOpen {
    /// Where the first packet for this stream came from, once one came:
    /// the address to connect it to when the peer's is not known (the
    /// firewall hook; the listener is yet to use it).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) async fn first_source(&self) -> SocketAddr {
        std::future::poll_fn(|cx| {
            let Some(handle) = &self.handle else {
                return Poll::Pending;
            };
            let mut streams = lock(&handle.socket.shared.streams);
            match streams.get_mut(&handle.id) {
                Some(Entry {
                    first_source: Some(from),
                    ..
                }) => Poll::Ready(*from),
                Some(entry) => {
                    entry.source_waker = Some(cx.waker().clone());
                    Poll::Pending
                }
                None => Poll::Pending,
            }
        })
        .await
    }

    /// Connects the stream to the peer's stream `remote_id` at `dest`.
    /// Sends nothing by itself; packets that came before are acked now.
    pub(crate) fn connect(mut self, dest: SocketAddr, remote_id: u32) -> io::Result<UdxStream> {
        let handle = self
            .handle
            .take()
            .ok_or_else(|| io::Error::other("the stream was connected already"))?;
        let shared = &handle.socket.shared;
        {
            let mut streams = lock(&shared.streams);
            let entry = streams
                .get_mut(&handle.id)
                .ok_or_else(|| io::Error::other("the stream is gone"))?;
            entry.remote = Some(dest);
            entry.stream.connect(remote_id, Instant::now());
        }
        shared.poke.notify_one();
        Ok(UdxStream { handle })
    }
}

/// A connected UDX stream: bytes in order, both ways. Cloning shares it;
/// the last clone's drop destroys it unless it was shut down.
#[derive(Clone)]
pub(crate) struct UdxStream {
    handle: Arc<Handle>,
}

impl UdxStream {
    fn with<T>(&self, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        let mut streams = lock(&self.handle.socket.shared.streams);
        streams.get_mut(&self.handle.id).map(f)
    }

    fn poke(&self) {
        self.handle.socket.shared.poke.notify_one();
    }

    /// The stream's counts (packets in and out, retransmits, bytes).
    pub(crate) fn stats(&self) -> Stats {
        self.with(|e| e.stream.stats()).unwrap_or_default()
    }

    /// The socket the stream runs on.
    pub(crate) fn socket(&self) -> UdxSocket {
        self.handle.socket.clone()
    }

    /// Sends one DESTROY and closes at once.
    pub(crate) fn destroy(&self) {
        self.with(|e| e.stream.destroy());
        self.poke();
    }
}

fn closed_error(closed: Closed) -> io::Error {
    match closed {
        Closed::Ended => io::Error::new(io::ErrorKind::BrokenPipe, "the stream ended"),
        Closed::Reset => {
            io::Error::new(io::ErrorKind::ConnectionReset, "the peer reset the stream")
        }
        Closed::TimedOut => io::Error::new(io::ErrorKind::TimedOut, "the peer stopped answering"),
        Closed::Destroyed => io::Error::new(io::ErrorKind::NotConnected, "the stream was closed"),
    }
}

impl tokio::io::AsyncRead for UdxStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let polled = self.with(|entry| {
            let n = entry.stream.read(buf.initialize_unfilled());
            if n > 0 {
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            if entry.stream.read_eof() {
                return Poll::Ready(Ok(()));
            }
            match entry.stream.closed() {
                Some(Closed::Ended) => Poll::Ready(Ok(())),
                Some(closed) => Poll::Ready(Err(closed_error(closed))),
                None => {
                    entry.read_waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        });
        let polled = polled.unwrap_or(Poll::Ready(Err(closed_error(Closed::Destroyed))));
        if let Poll::Ready(Ok(())) = &polled {
            // Reading made room in the window; the driver may tell the peer.
            self.poke();
        }
        polled
    }
}

impl tokio::io::AsyncWrite for UdxStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = self.with(|entry| {
            if let Some(closed) = entry.stream.closed() {
                return Poll::Ready(Err(closed_error(closed)));
            }
            let n = entry.stream.write(bytes);
            if n > 0 || bytes.is_empty() {
                return Poll::Ready(Ok(n));
            }
            entry.write_waker = Some(cx.waker().clone());
            Poll::Pending
        });
        let polled = polled.unwrap_or(Poll::Ready(Err(closed_error(Closed::Destroyed))));
        if let Poll::Ready(Ok(n)) = polled {
            if n > 0 {
                self.poke();
            }
        }
        polled
    }

    /// Written bytes are with the stream, which sends them as the windows
    /// allow; a flush waits for nothing more.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.with(|e| e.stream.closed()).flatten() {
            Some(closed) if closed != Closed::Ended => Poll::Ready(Err(closed_error(closed))),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Ends our side gracefully: an END after what was written.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|e| {
            e.ending = true;
            e.stream.end();
        });
        self.poke();
        Poll::Ready(Ok(()))
    }
}

impl std::fmt::Debug for UdxStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UdxStream({})", self.handle.id)
    }
}

/// The driver: receives, runs timers, sends what the streams have to send.
async fn drive(shared: Arc<Shared>, raw: mpsc::Sender<(SocketAddr, Vec<u8>)>) {
    let mut buf = vec![0u8; RECV_BUFFER];
    let mut out = Vec::with_capacity(wire::MAX_DATAGRAM);
    // A datagram the socket had no room for, to send first when it has.
    let mut stalled: Option<(Vec<u8>, SocketAddr)> = None;
    loop {
        let deadline = next_deadline(&shared);
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let room = async {
            if stalled.is_some() {
                let _ = shared.socket.writable().await;
            } else {
                std::future::pending::<()>().await
            }
        };
        tokio::select! {
            received = shared.socket.recv_from(&mut buf) => {
                // Errors (an ICMP port unreachable surfaces here on Linux)
                // say nothing a stream's timers do not.
                if let Ok((len, from)) = received {
                    if let Some(datagram) = buf.get(..len) {
                        on_datagram(&shared, &raw, datagram, from);
                    }
                    // What else is waiting, up to a batch, before sending.
                    for _ in 1..RECV_BATCH {
                        let Ok((len, from)) = shared.socket.try_recv_from(&mut buf) else {
                            break;
                        };
                        if let Some(datagram) = buf.get(..len) {
                            on_datagram(&shared, &raw, datagram, from);
                        }
                    }
                }
            }
            () = sleep => on_timers(&shared),
            () = shared.poke.notified() => {}
            () = room => {
                if let Some((bytes, to)) = stalled.take() {
                    stalled = send_or_stall(&shared, bytes, to);
                }
            }
        }
        if stalled.is_none() {
            stalled = transmit(&shared, &mut out);
        }
    }
}

/// Asks the kernel for a receive buffer of `bytes` (it grants at most
/// `net.core.rmem_max`); a refusal leaves the default, which works, only
/// with more drops under a burst.
fn ask_receive_buffer(socket: &std::net::UdpSocket, bytes: usize) {
    if let Err(e) = socket2::SockRef::from(socket).set_recv_buffer_size(bytes) {
        tracing::debug!(error = %e, "the kernel kept its receive buffer size");
    }
}

/// A datagram: to its stream, or up to `recv()`.
fn on_datagram(
    shared: &Shared,
    raw: &mpsc::Sender<(SocketAddr, Vec<u8>)>,
    datagram: &[u8],
    from: SocketAddr,
) {
    if to_stream(shared, datagram, from) {
        return;
    }
    match raw.try_send((from, datagram.to_vec())) {
        Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::debug!("a UDX socket's reader is behind; dropping a datagram");
        }
    }
}

/// Hands a UDX datagram to its stream; false when it is not UDX or its id
/// is not registered here.
fn to_stream(shared: &Shared, datagram: &[u8], from: SocketAddr) -> bool {
    if !wire::is_udx(datagram) {
        return false;
    }
    let Some(packet) = wire::decode(datagram) else {
        return false;
    };
    if to_link(shared, packet.header.id, packet.header.kind, datagram, from) {
        return true;
    }
    let mut streams = lock(&shared.streams);
    let Some(entry) = streams.get_mut(&packet.header.id) else {
        return false;
    };
    if entry.remote.is_none() && entry.first_source.is_none() {
        entry.first_source = Some(from);
    }
    entry.stream.on_packet(&packet, Instant::now());
    entry.wake();
    true
}

/// Runs every stream timer that is due, and forgets finished streams.
fn on_timers(shared: &Shared) {
    let now = Instant::now();
    let mut streams = lock(&shared.streams);
    for entry in streams.values_mut() {
        if entry.stream.poll_timeout().is_some_and(|at| at <= now) {
            entry.stream.on_timeout(now);
            entry.wake();
        }
    }
}

/// The earliest timer of any stream.
fn next_deadline(shared: &Shared) -> Option<Instant> {
    let streams = lock(&shared.streams);
    streams
        .values()
        .filter_map(|entry| entry.stream.poll_timeout())
        .min()
}

/// Sends what every connected stream may send now. Returns a datagram the
/// socket had no room for. Streams that are finished, and have no handle
/// left, are forgotten.
fn transmit(shared: &Shared, out: &mut Vec<u8>) -> Option<(Vec<u8>, SocketAddr)> {
    let now = Instant::now();
    let mut streams = lock(&shared.streams);
    let mut stalled = None;
    for entry in streams.values_mut() {
        let Some(remote) = entry.remote else {
            continue;
        };
        while stalled.is_none() && entry.stream.poll_transmit(now, out) {
            let _send = lock(&shared.send_lock);
            match shared.send_now(out, remote) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    stalled = Some((out.clone(), remote));
                }
                // Unreachable and the like: the stream's timers decide.
                Err(_) => {}
            }
        }
    }
    streams.retain(|_, entry| !entry.stream.finished(now));
    stalled
}

fn send_or_stall(shared: &Shared, bytes: Vec<u8>, to: SocketAddr) -> Option<(Vec<u8>, SocketAddr)> {
    let _send = lock(&shared.send_lock);
    match shared.send_now(&bytes, to) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Some((bytes, to)),
        _ => None,
    }
}
