//! The dht-rpc transport of our own DHT node: one UDP socket (a UDX
//! socket of our own, `transport::udx::socket`, so streams share it), requests sent with JS-like
//! retries and matched to their replies, and everything else that arrives
//! handed to the node. A thin driver over `Pending`, the pure table of
//! requests in flight.
//!
//! Unlike the dht-rpc crate, nothing here panics on what arrives: a reply
//! nobody waits for, or one from an address we did not ask, is dropped; a
//! datagram that is not a dht-rpc message is passed on as `Inbound::Other`
//! (holepunch probes, unknown UDX packets) or dropped. Nothing busy-polls:
//! the receive loop sleeps in the socket, and each request owns one timer.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::net::dht::encoding::wire::{self, Message, Reply, Request};
use crate::net::lock::lock;
use crate::net::transport::udx::socket::UdxSocket;

/// How long one attempt waits for its reply (JS starts at about 1 s).
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1000);
/// Attempts per request (JS sends a request up to 4 times).
pub(crate) const ATTEMPTS: u32 = 4;
/// Requests that arrive faster than the node handles them beyond this many
/// are dropped, as a full socket buffer would drop them.
const INBOUND_QUEUE: usize = 1024;
/// The most requests of our own in flight at once.
const MAX_IN_FLIGHT: usize = 4096;

/// What arrives that is not a reply to one of our requests.
#[derive(Debug)]
pub(crate) enum Inbound {
    Request {
        request: Request,
        from: SocketAddrV4,
    },
    /// Anything else: probes (one byte), UDX packets for streams nobody
    /// registered, and datagrams that are not dht-rpc messages.
    Other { bytes: Vec<u8>, from: SocketAddrV4 },
}

/// A reply to one of our requests, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) reply: Reply,
    pub(crate) from: SocketAddrV4,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RpcError {
    #[error("no reply from {0}")]
    Timeout(SocketAddrV4),
    #[error("too many requests in flight")]
    Busy,
    #[error("the node is shut down")]
    Closed,
}

/// The requests in flight, by transaction id. Pure.
#[derive(Debug)]
pub(crate) struct Pending<T> {
    next_tid: u16,
    waiting: HashMap<u16, (SocketAddrV4, T)>,
    cap: usize,
}

impl<T> Pending<T> {
    pub(crate) fn new(first_tid: u16, cap: usize) -> Self {
        Pending {
            next_tid: first_tid,
            waiting: HashMap::new(),
            cap: cap.min(usize::from(u16::MAX)),
        }
    }

    /// A free transaction id for a request to `to`, or `None` when full.
    pub(crate) fn allocate(&mut self, to: SocketAddrV4, waiter: T) -> Option<u16> {
        if self.waiting.len() >= self.cap {
            return None;
        }
        loop {
            let tid = self.next_tid;
            self.next_tid = self.next_tid.wrapping_add(1);
            if let std::collections::hash_map::Entry::Vacant(slot) = self.waiting.entry(tid) {
                slot.insert((to, waiter));
                return Some(tid);
            }
        }
    }

    /// The waiter of a reply with `tid` from `from`. A reply from anywhere
    /// but the address asked is not ours (or is forged) and is ignored.
    pub(crate) fn resolve(&mut self, tid: u16, from: SocketAddrV4) -> Option<T> {
        match self.waiting.get(&tid) {
            Some((to, _)) if *to == from => self.waiting.remove(&tid).map(|(_, w)| w),
            _ => None,
        }
    }

    pub(crate) fn cancel(&mut self, tid: u16) {
        self.waiting.remove(&tid);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }
}

type Waiter = oneshot::Sender<Answer>;

struct Shared {
    socket: UdxSocket,
    local: SocketAddr,
    pending: Mutex<Pending<Waiter>>,
}

/// The node's socket. Cloning shares it; the receive loop stops when the
/// last `Rpc` is dropped.
#[derive(Clone)]
pub(crate) struct Rpc {
    shared: Arc<Shared>,
    _receiver: Arc<ReceiveLoop>,
}

struct ReceiveLoop(JoinHandle<()>);

impl Drop for ReceiveLoop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Rpc {
    /// Binds `addr` and starts the receive loop; what arrives unasked comes
    /// out of the returned receiver. Needs a tokio runtime.
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<(Rpc, mpsc::Receiver<Inbound>)> {
        let socket = UdxSocket::bind(addr)?;
        let local = socket.local_addr()?;
        let shared = Arc::new(Shared {
            socket,
            local,
            pending: Mutex::new(Pending::new(rand::random(), MAX_IN_FLIGHT)),
        });
        let (tx, rx) = mpsc::channel(INBOUND_QUEUE);
        let task = tokio::spawn(receive_loop(Arc::clone(&shared), tx));
        let rpc = Rpc {
            shared,
            _receiver: Arc::new(ReceiveLoop(task)),
        };
        Ok((rpc, rx))
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// The socket itself, for UDX streams and raw sends.
    pub(crate) fn socket(&self) -> &UdxSocket {
        &self.shared.socket
    }

    /// Sends `request` to `to` (its `tid` and `to` are filled in here) up to
    /// `attempts` times, and waits for the reply.
    pub(crate) async fn request(
        &self,
        mut request: Request,
        to: SocketAddrV4,
        attempts: u32,
    ) -> Result<Answer, RpcError> {
        let (tx, mut rx) = oneshot::channel();
        let tid = self.lock().allocate(to, tx).ok_or(RpcError::Busy)?;
        request.tid = tid;
        request.to = to;
        let bytes = wire::encode_request(&request);
        let _forget = Forget { rpc: self, tid };
        for _ in 0..attempts.max(1) {
            self.send(&bytes, to);
            match tokio::time::timeout(ATTEMPT_TIMEOUT, &mut rx).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(_)) => return Err(RpcError::Closed),
                Err(_elapsed) => continue,
            }
        }
        Err(RpcError::Timeout(to))
    }

    /// Sends a reply (its `tid` and `to` as given) to `to`.
    pub(crate) fn reply(&self, reply: &Reply, to: SocketAddrV4) {
        self.send(&wire::encode_reply(reply), to);
    }

    /// Sends a request once, as is, expecting no reply here: a relayed
    /// request keeps its original tid, and the reply goes to someone else.
    pub(crate) fn forward(&self, request: &Request, to: SocketAddrV4) {
        self.send(&wire::encode_request(request), to);
    }

    pub(crate) fn send(&self, bytes: &[u8], to: SocketAddrV4) {
        self.shared.socket.send(SocketAddr::V4(to), bytes);
    }

    /// `send` with the IP TTL set for this one datagram.
    pub(crate) fn send_ttl(&self, bytes: &[u8], to: SocketAddrV4, ttl: u32) {
        self.shared.socket.send_ttl(SocketAddr::V4(to), bytes, ttl);
    }

    /// Requests of ours waiting for a reply.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending<Waiter>> {
        lock(&self.shared.pending)
    }
}

/// Drops a request's entry however its future ends (reply, timeout, or
/// the caller giving up), so tids never leak.
struct Forget<'a> {
    rpc: &'a Rpc,
    tid: u16,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.rpc.lock().cancel(self.tid);
    }
}

async fn receive_loop(shared: Arc<Shared>, inbound: mpsc::Sender<Inbound>) {
    loop {
        let (from, bytes) = match shared.socket.recv().await {
            Ok(datagram) => datagram,
            Err(e) => {
                tracing::warn!(error = %e, "the DHT socket stopped receiving");
                return;
            }
        };
        let SocketAddr::V4(from) = from else {
            continue;
        };
        if from.port() == 0 {
            continue;
        }
        let message = if bytes.len() < 2 {
            None
        } else {
            wire::decode(&bytes).ok()
        };
        let event = match message {
            Some(Message::Reply(reply)) => {
                let waiter = lock(&shared.pending).resolve(reply.tid, from);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(Answer { reply, from });
                }
                continue;
            }
            Some(Message::Request(request)) => Inbound::Request { request, from },
            None => Inbound::Other { bytes, from },
        };
        match inbound.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!("the DHT node is behind; dropping a datagram");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    #[test]
    fn a_reply_resolves_only_from_the_address_asked() {
        let mut pending = Pending::new(7, 10);
        let tid = pending.allocate(addr("10.0.0.1:1"), "a").unwrap();
        assert_eq!(tid, 7);
        assert_eq!(pending.resolve(tid, addr("10.0.0.2:1")), None);
        assert_eq!(pending.resolve(tid + 1, addr("10.0.0.1:1")), None);
        assert_eq!(pending.resolve(tid, addr("10.0.0.1:1")), Some("a"));
        assert_eq!(pending.resolve(tid, addr("10.0.0.1:1")), None, "once only");
    }

    #[test]
    fn tids_skip_those_in_use_and_wrap() {
        let mut pending = Pending::new(u16::MAX, 10);
        let a = pending.allocate(addr("10.0.0.1:1"), ()).unwrap();
        let b = pending.allocate(addr("10.0.0.1:1"), ()).unwrap();
        assert_eq!((a, b), (u16::MAX, 0));
        let mut again = Pending::new(0, 10);
        again.allocate(addr("10.0.0.1:1"), ()).unwrap();
        again.next_tid = 0;
        assert_eq!(again.allocate(addr("10.0.0.1:1"), ()), Some(1));
    }

    #[test]
    fn a_full_table_refuses_more() {
        let mut pending = Pending::new(0, 2);
        assert!(pending.allocate(addr("10.0.0.1:1"), ()).is_some());
        assert!(pending.allocate(addr("10.0.0.1:1"), ()).is_some());
        assert_eq!(pending.allocate(addr("10.0.0.1:1"), ()), None);
        pending.cancel(0);
        assert!(pending.allocate(addr("10.0.0.1:1"), ()).is_some());
    }

    proptest! {
        #[test]
        fn resolving_random_replies_never_panics_or_leaks(
            replies in proptest::collection::vec((any::<u16>(), 0u8..3), 0..200)
        ) {
            let mut pending = Pending::new(0, 64);
            let asked = addr("10.0.0.1:1");
            for _ in 0..10 {
                pending.allocate(asked, ());
            }
            for (tid, who) in replies {
                let from = if who == 0 { asked } else { addr("10.0.0.9:9") };
                let before = pending.len();
                let hit = pending.resolve(tid, from).is_some();
                prop_assert_eq!(pending.len(), before - usize::from(hit));
            }
        }
    }

    /// Two sockets on loopback: a request is answered, retried when the
    /// first copy is lost, and a reply from a third socket is ignored.
    #[tokio::test]
    async fn requests_are_retried_and_matched_by_tid_and_sender() {
        let (client, _client_in) = Rpc::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let (server, mut server_in) = Rpc::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let (stranger, _stranger_in) = Rpc::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let SocketAddr::V4(server_addr) = server.local_addr() else {
            unreachable!()
        };
        let answering = tokio::spawn(async move {
            let mut seen = 0;
            while let Some(event) = server_in.recv().await {
                let Inbound::Request { request, from } = event else {
                    continue;
                };
                seen += 1;
                // Lose the first copy; a stranger answers it falsely.
                if seen == 1 {
                    let mut forged = Reply::to_request(&request, from);
                    forged.value = Some(b"forged".to_vec());
                    stranger.reply(&forged, from);
                    continue;
                }
                let mut reply = Reply::to_request(&request, from);
                reply.value = Some(b"pong".to_vec());
                server.reply(&reply, from);
                return seen;
            }
            seen
        });
        let request = wire::ping(0, server_addr);
        let answer = client
            .request(request, server_addr, ATTEMPTS)
            .await
            .unwrap();
        assert_eq!(answer.reply.value.as_deref(), Some(&b"pong"[..]));
        assert_eq!(answer.from, server_addr);
        assert_eq!(answering.await.unwrap(), 2);
        assert_eq!(client.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_silent_node_times_out_and_frees_its_tid() {
        let (client, _in) = Rpc::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let (silent, _silent_in) = Rpc::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let SocketAddr::V4(to) = silent.local_addr() else {
            unreachable!()
        };
        let started = std::time::Instant::now();
        let result = client.request(wire::ping(0, to), to, 2).await;
        assert_eq!(result, Err(RpcError::Timeout(to)));
        assert!(started.elapsed() >= ATTEMPT_TIMEOUT * 2);
        assert_eq!(client.in_flight(), 0);
    }
}
