//! A pass-through wrapper around a swarm connection that reports when the
//! connection ends. hypercore-protocol 0.7.2's `Protocol` keeps returning
//! `Pending` after its stream ends, so without this a closed peer would never
//! be noticed. It also reports what `frames` reads in the incoming frames:
//! hychat hellos and the blocks the peer holds. When dropped, it closes the
//! connection properly: dropping a hyperswarm connection does not tell the
//! peer, which then keeps a dead connection (and its session) for good.
//!
//! Tests and benches can tap a log (`tap::tap_wire`, built only with the
//! `testing` feature): every connection of the process then hands the
//! requests and the blocks it reads for that log to the tap. Without a
//! tap, a request costs its decoding (a few integers) and one atomic load,
//! and a block sent one atomic load more; the release binary has neither.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Sink, Stream};
use hypercore_handshake::{CipherEvent, CipherTrait};
use tokio::sync::{mpsc, watch};

use std::collections::HashMap;

use super::frames::{self, read_frame, Direction, Seen};
use super::panics;
#[cfg(any(test, feature = "testing"))]
use super::tap::{tap, WireSeen};
use crate::domain::keys::{DiscoveryKey, LogKey};

/// Reports a connection may queue before further ones are dropped.
const REPORT_QUEUE: usize = 64;
/// Channels remembered per connection; a peer opening more is ignored.
const MAX_CHANNELS: usize = 4096;
/// How long closing a dropped connection may take.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the peer said that the replication code keeps to itself.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PeerSaid {
    /// A hychat hello payload.
    Hello(Vec<u8>),
    /// We wrote block `index` of this log to the peer. JS hypercore never
    /// announces a block to the peer it came from, so this is how a writer
    /// learns that a JS reader holds its messages.
    Sent {
        discovery_key: DiscoveryKey,
        index: u64,
    },
}

pub(crate) struct ObservedConnection<C: CipherTrait + 'static> {
    /// Taken only by `drop`, to close it.
    inner: Option<C>,
    local_key: [u8; 32],
    /// The own log of the node this connection belongs to, for taps.
    #[cfg(any(test, feature = "testing"))]
    own_log: Option<LogKey>,
    closed: watch::Sender<bool>,
    reports: mpsc::Sender<PeerSaid>,
    /// When the peer last sent anything.
    heard: watch::Sender<std::time::Instant>,
    /// The peer's channel ids and the logs they carry.
    channels: HashMap<u64, DiscoveryKey>,
    /// Our own channel ids and the logs they carry.
    own_channels: HashMap<u64, DiscoveryKey>,
}

/// What an `ObservedConnection` reports.
pub(crate) struct Observations {
    /// Turns `true` once the connection has ended.
    pub closed: watch::Receiver<bool>,
    pub reports: mpsc::Receiver<PeerSaid>,
    /// When the peer last sent anything: a connection whose peer went away
    /// without a close (hyperswarm does not always deliver one) falls silent.
    pub heard: watch::Receiver<std::time::Instant>,
}

impl<C: CipherTrait + 'static> ObservedConnection<C> {
    /// `own_log` names, in what taps see, the node the connection belongs to.
    pub(crate) fn new(inner: C, own_log: Option<LogKey>) -> (Self, Observations) {
        #[cfg(not(any(test, feature = "testing")))]
        let _ = own_log;
        let (closed, closed_rx) = watch::channel(false);
        let (reports, reports_rx) = mpsc::channel(REPORT_QUEUE);
        let (heard, heard_rx) = watch::channel(std::time::Instant::now());
        let observations = Observations {
            closed: closed_rx,
            reports: reports_rx,
            heard: heard_rx,
        };
        let connection = Self {
            local_key: inner.local_public_key(),
            #[cfg(any(test, feature = "testing"))]
            own_log,
            inner: Some(inner),
            closed,
            reports,
            heard,
            channels: HashMap::new(),
            own_channels: HashMap::new(),
        };
        (connection, observations)
    }

    fn read(&mut self, frame: &[u8], direction: Direction) {
        for seen in read_frame(frame, direction) {
            let report = match seen {
                Seen::Opened {
                    channel,
                    discovery_key,
                } => {
                    let channels = match direction {
                        Direction::Incoming => &mut self.channels,
                        Direction::Outgoing => &mut self.own_channels,
                    };
                    if channels.len() < MAX_CHANNELS {
                        channels.insert(channel, DiscoveryKey(discovery_key));
                    }
                    continue;
                }
                Seen::Sent { channel, index } => match self.own_channels.get(&channel) {
                    Some(discovery_key) => {
                        #[cfg(any(test, feature = "testing"))]
                        tap(discovery_key, || WireSeen::Sent {
                            at: self.own_log,
                            block: index,
                        });
                        PeerSaid::Sent {
                            discovery_key: *discovery_key,
                            index,
                        }
                    }
                    None => continue,
                },
                #[cfg(not(any(test, feature = "testing")))]
                Seen::Requested { .. } => continue,
                #[cfg(any(test, feature = "testing"))]
                Seen::Requested {
                    channel,
                    block,
                    upgrade,
                } => {
                    let channels = match direction {
                        Direction::Incoming => &self.channels,
                        Direction::Outgoing => &self.own_channels,
                    };
                    if let Some(discovery_key) = channels.get(&channel) {
                        let at = self.own_log;
                        tap(discovery_key, || match direction {
                            Direction::Incoming => WireSeen::Asked { at, block, upgrade },
                            Direction::Outgoing => WireSeen::Asking { at, block, upgrade },
                        });
                    }
                    continue;
                }
                Seen::Hello(payload) => PeerSaid::Hello(payload),
            };
            // Best effort: a full queue drops reports, never blocks the stream.
            let _ = self.reports.try_send(report);
        }
    }

    fn mark_closed(&self) {
        self.closed.send_replace(true);
    }

    fn inner(&mut self) -> std::io::Result<Pin<&mut C>> {
        self.inner
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotConnected))
    }
}

impl<C: CipherTrait + 'static> Drop for ObservedConnection<C> {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                // compat: hypercore-protocol row (panics). Closing a connection that an
                // earlier panic left broken can panic again.
                let close =
                    tokio::time::timeout(CLOSE_TIMEOUT, futures::SinkExt::close(&mut inner));
                if let Err(panicked) = panics::contain(close).await {
                    panics::log_contained("closing a connection", "it is dropped", &panicked);
                }
            });
        }
    }
}

impl<C: CipherTrait + 'static> Stream for ObservedConnection<C> {
    type Item = CipherEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Ok(inner) = self.inner() else {
            return Poll::Ready(None);
        };
        let polled = inner.poll_next(cx);
        match &polled {
            Poll::Ready(None) | Poll::Ready(Some(CipherEvent::ErrStuff(_))) => self.mark_closed(),
            Poll::Ready(Some(CipherEvent::Message(frame))) => {
                self.heard.send_replace(std::time::Instant::now());
                // compat: compact-encoding row. The protocol's decoder would
                // reserve memory for counts the frame's bytes cannot hold
                // (11 bytes can abort the process): the peer is hostile.
                if !frames::frame_is_safe(frame) {
                    tracing::info!(
                        "disconnecting a peer whose message the decoder cannot take safely"
                    );
                    self.mark_closed();
                    return Poll::Ready(Some(CipherEvent::ErrStuff(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "a message whose counts overrun its bytes",
                    ))));
                }
                self.read(frame, Direction::Incoming)
            }
            _ => {}
        }
        polled
    }
}

impl<C: CipherTrait + 'static> Sink<Vec<u8>> for ObservedConnection<C> {
    type Error = std::io::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let polled = match self.inner() {
            Ok(inner) => inner.poll_ready(cx),
            Err(e) => Poll::Ready(Err(e)),
        };
        if matches!(polled, Poll::Ready(Err(_))) {
            self.mark_closed();
        }
        polled
    }

    fn start_send(mut self: Pin<&mut Self>, item: Vec<u8>) -> Result<(), Self::Error> {
        self.read(&item, Direction::Outgoing);
        let result = self.inner().and_then(|inner| inner.start_send(item));
        if result.is_err() {
            self.mark_closed();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let polled = match self.inner() {
            Ok(inner) => inner.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        };
        if matches!(polled, Poll::Ready(Err(_))) {
            self.mark_closed();
        }
        polled
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let polled = match self.inner() {
            Ok(inner) => inner.poll_close(cx),
            Err(e) => Poll::Ready(Err(e)),
        };
        if polled.is_ready() {
            self.mark_closed();
        }
        polled
    }
}

impl<C: CipherTrait + 'static> CipherTrait for ObservedConnection<C> {
    fn remote_public_key(&self) -> Option<[u8; 32]> {
        self.inner.as_ref()?.remote_public_key()
    }

    fn local_public_key(&self) -> [u8; 32] {
        self.local_key
    }

    fn handshake_hash(&self) -> Option<Vec<u8>> {
        self.inner.as_ref()?.handshake_hash()
    }

    fn is_initiator(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| inner.is_initiator())
    }
}
