//! A pass-through wrapper around a swarm connection that reports when the
//! connection ends. hypercore-protocol 0.7.2's `Protocol` keeps returning
//! `Pending` after its stream ends, so without this a closed peer would never
//! be noticed. It also picks hychat hellos out of the incoming frames.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Sink, Stream};
use hypercore_handshake::{CipherEvent, CipherTrait};
use tokio::sync::{mpsc, watch};

use super::hello::hellos_in_frame;

/// Hellos a connection may queue before further ones are dropped.
const HELLO_QUEUE: usize = 8;

pub struct ObservedConnection<C> {
    inner: C,
    closed: watch::Sender<bool>,
    hellos: mpsc::Sender<Vec<u8>>,
}

/// What an `ObservedConnection` reports.
pub struct Observations {
    /// Turns `true` once the connection has ended.
    pub closed: watch::Receiver<bool>,
    /// Payloads of hychat hello extensions the peer sent.
    pub hellos: mpsc::Receiver<Vec<u8>>,
}

impl<C> ObservedConnection<C> {
    pub fn new(inner: C) -> (Self, Observations) {
        let (closed, closed_rx) = watch::channel(false);
        let (hellos, hellos_rx) = mpsc::channel(HELLO_QUEUE);
        let observations = Observations {
            closed: closed_rx,
            hellos: hellos_rx,
        };
        (
            Self {
                inner,
                closed,
                hellos,
            },
            observations,
        )
    }

    fn mark_closed(&self) {
        self.closed.send_replace(true);
    }
}

impl<C: CipherTrait> Stream for ObservedConnection<C> {
    type Item = CipherEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        match &polled {
            Poll::Ready(None) | Poll::Ready(Some(CipherEvent::ErrStuff(_))) => self.mark_closed(),
            Poll::Ready(Some(CipherEvent::Message(frame))) => {
                for hello in hellos_in_frame(frame) {
                    let _ = self.hellos.try_send(hello);
                }
            }
            _ => {}
        }
        polled
    }
}

impl<C: CipherTrait> Sink<Vec<u8>> for ObservedConnection<C> {
    type Error = std::io::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let polled = Pin::new(&mut self.inner).poll_ready(cx);
        if matches!(polled, Poll::Ready(Err(_))) {
            self.mark_closed();
        }
        polled
    }

    fn start_send(mut self: Pin<&mut Self>, item: Vec<u8>) -> Result<(), Self::Error> {
        let result = Pin::new(&mut self.inner).start_send(item);
        if result.is_err() {
            self.mark_closed();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        if matches!(polled, Poll::Ready(Err(_))) {
            self.mark_closed();
        }
        polled
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let polled = Pin::new(&mut self.inner).poll_close(cx);
        if polled.is_ready() {
            self.mark_closed();
        }
        polled
    }
}

impl<C: CipherTrait> CipherTrait for ObservedConnection<C> {
    fn remote_public_key(&self) -> Option<[u8; 32]> {
        self.inner.remote_public_key()
    }

    fn local_public_key(&self) -> [u8; 32] {
        self.inner.local_public_key()
    }

    fn handshake_hash(&self) -> Option<Vec<u8>> {
        self.inner.handshake_hash()
    }

    fn is_initiator(&self) -> bool {
        self.inner.is_initiator()
    }
}
