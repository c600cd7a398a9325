//! One UDX stream's state machine, sans-IO: decoded packets, writes and
//! `now` go in; datagrams (`poll_transmit`) and the next deadline
//! (`poll_timeout`) come out. It owns sequence numbers, the reorder buffer,
//! ack and SACK generation, the receive window, retransmission (RTO per RFC
//! 6298 as libudx computes it, RACK and a tail-loss probe per RFC 8985),
//! zero-window probing, END / DESTROY / HEARTBEAT / MESSAGE, the linger
//! after a graceful close, and pacing (libudx's token bucket, filled each
//! millisecond at the congestion control's rate; an empty bucket is a
//! deadline). Congestion control (BBR, with its delivery-rate samples) is
//! `cc.rs`; the bytes on the wire are `wire.rs`; sockets and clocks belong
//! to the driver.
//!
//! How a driver uses it: `on_packet` for every datagram whose id is ours,
//! `on_timeout` when `poll_timeout` is due, `write`/`end`/`destroy`/
//! `send_message` for the application, and after each of these
//! `poll_transmit` in a loop until it returns false. Acks are not delayed:
//! every DATA or END packet asks for one, but several packets handed in
//! before the next `poll_transmit` share one cumulative ack, so a driver
//! that wants libudx's one ack per data packet polls after each datagram.
//!
//! Beyond libudx: a closed stream lingers (re-acking) instead of vanishing,
//! and one reset or timed out is kept a few seconds so its handles learn
//! why; an END retransmitted in vain after the peer's own END closes as an
//! end (libudx closes once it acked our END, so a lost last ack has nobody
//! to answer); tail-loss probes in a fast recovery and with packets SACKed
//! too (a retransmission lost at the tail waited for the 1 s RTO); an MTU probe cut short on the
//! way is dropped unacked
//! rather than delivered short; the reorder buffer and unread bytes are
//! bounded; a retransmission acked sooner than any round trip counts as
//! spurious and widens RACK's reorder window (UDX has no DSACK).
//!
//! Not done (see the transport note §2.5–2.6): MTU probing on send (we stay
//! at MTU 1200, 1,152-byte payloads, and only receive probes), keepalive
//! heartbeats (the secret stream does keepalives).

#![cfg_attr(not(test), allow(dead_code))]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use super::cc::{Bbr, CaState, RateSample, SendState, INITIAL_TOKENS};
use super::wire::{
    self, Header, Packet, DATA, DESTROY, END, HEADER_LEN, HEARTBEAT, MAX_DATAGRAM, MESSAGE,
    MTU_BASE, SACK,
};

#[cfg(test)]
mod tests;

/// IPv4 + UDP + UDX headers: a payload is at most `mtu − 48`.
const IPV4_OVERHEAD: usize = 20 + 8 + HEADER_LEN;
/// The receive window we advertise when nothing is buffered
/// (libudx `UDX_DEFAULT_RWND_MAX`).
pub(crate) const RWND_MAX: usize = 4 * 1024 * 1024;
/// Bytes queued but not yet sent above which `write` refuses more
/// (libudx `UDX_HIGH_WATERMARK`).
pub(crate) const HIGH_WATERMARK: usize = 256 * 1024;
/// At most this many SACK blocks per ack (libudx `UDX_MAX_SACKS`).
const MAX_SACKS: usize = 50;
/// libudx's first RTO and its floor.
const RTO_MIN: Duration = Duration::from_millis(1000);
/// libudx caps RTO and RTT samples at 30 s.
const RTO_MAX: Duration = Duration::from_secs(30);
/// An RTT sample above this and above `srtt + 5·rttvar` is clamped
/// (libudx `clamp_rtt`, for wake-ups after a suspend).
const RTT_OUTLIER: Duration = Duration::from_secs(5);
/// A packet timing out this many times by RTO closes the stream with a
/// timeout at its next RTO (libudx `UDX_MAX_RTO_TIMEOUTS`).
const MAX_RTO_TIMEOUTS: u8 = 6;
/// The tail-loss probe waits 2·srtt, plus this with one packet in flight
/// (libudx `UDX_TLP_MAX_ACK_DELAY`), and 1 s before any RTT sample.
const TLP_MAX_ACK_DELAY: Duration = Duration::from_millis(2);
/// How long, at least, a gracefully closed stream still re-acks the peer's
/// retransmitted END or data, so that a lost final ack does not end the peer
/// in ETIMEDOUT (libudx has no TIME_WAIT). libudx retransmits after its TLP
/// (2·srtt) and its RTO, then every 2·rto, and gives up 13·rto after the
/// send (measured: 1, 3, 5, 7, 9, 11 s, ETIMEDOUT at 13 s); lingering
/// `LINGER_RTOS`·rto, at least this and at most `LINGER_MAX`, answers every
/// one of those retransmissions.
pub(crate) const LINGER: Duration = Duration::from_secs(12);
const LINGER_RTOS: u32 = 12;
const LINGER_MAX: Duration = Duration::from_secs(60);
/// How long a stream the peer reset, or that timed out, is kept after it
/// closed (answering nothing), so that whoever reads or writes it next
/// learns why rather than finding it gone.
pub(crate) const REMEMBER_WHY: Duration = Duration::from_secs(5);

/// The reorder buffer holds packets at most this many sequence numbers
/// beyond `ack`. An honest peer has at most `rwnd / mss` in flight: about
/// 3,640 at 4 MiB and 1,152-byte packets.
const MAX_OOO_SPAN: u64 = 8192;
/// ... and at most this many payload bytes; anything more is dropped
/// unacked, and the peer retransmits it.
const MAX_OOO_BYTES: usize = RWND_MAX + 2 * MAX_DATAGRAM;
/// In-order bytes the application has not read beyond which an arriving
/// packet is dropped unacked. The advertised window already asks the peer to
/// stop at `RWND_MAX`; this bounds a peer that ignores it.
const MAX_UNREAD: usize = 2 * RWND_MAX;
/// The pacing bucket fills once per this (libudx's millisecond clock).
const PACING_TICK: Duration = Duration::from_millis(1);
/// The largest reorder-window multiplier (the window never exceeds srtt).
const REO_WND_MULT_MAX: u32 = 64;
/// This many loss recoveries without a spurious retransmission reset the
/// multiplier to 1 (RFC 8985 §6.2.4).
const REO_WND_RESET_RECOVERIES: u32 = 16;
/// Unreliable MESSAGEs kept for the application, and queued to send.
const MAX_MESSAGES_IN: usize = 256;
const MAX_MESSAGES_OUT: usize = 256;

/// Why a stream closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// Both ENDs acked.
    Ended,
    /// The peer sent DESTROY.
    Reset,
    /// A packet was retransmitted 6 times by RTO without an ack.
    TimedOut,
    /// We destroyed it.
    Destroyed,
}

/// Counters of one stream. Bytes are whole datagrams, as libudx counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub(crate) packets_in: u64,
    pub(crate) packets_out: u64,
    pub(crate) retransmits: u64,
    /// Retransmission timeouts that fired with data outstanding.
    pub(crate) rtos: u64,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
}

/// Where a sent packet stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SentState {
    /// Transmitted and not yet acked, SACKed or declared lost.
    InFlight,
    /// Declared lost and waiting in the retransmit queue.
    Lost,
    /// SACKed above the cumulative ack; never sent again.
    Sacked,
}

/// A DATA and/or END packet we sent and the peer has not cumulatively
/// acked.
#[derive(Debug)]
struct Sent {
    /// `DATA`, `END` or both.
    kind: u8,
    payload: Vec<u8>,
    time_sent: Instant,
    /// Transmission number (stream-wide, increasing) of its latest send;
    /// orders sends for RACK and tells stale `send_order` entries.
    order: u64,
    retransmitted: bool,
    state: SentState,
    rto_timeouts: u8,
    /// What congestion control kept of its latest send.
    rate: SendState,
}

/// What a delivered packet's latest send tells RACK and congestion
/// control.
#[derive(Debug, Clone, Copy)]
struct Transmission {
    seq: u64,
    time_sent: Instant,
    order: u64,
    retransmitted: bool,
    rate: SendState,
}

impl Sent {
    fn transmission(&self, seq: u64) -> Transmission {
        Transmission {
            seq,
            time_sent: self.time_sent,
            order: self.order,
            retransmitted: self.retransmitted,
            rate: self.rate,
        }
    }
}

/// A packet held in the reorder buffer.
#[derive(Debug)]
struct Segment {
    kind: u8,
    data: Vec<u8>,
}

/// True when wire sequence number `a` comes before `b` (wrapping at 32 bits,
/// libudx `seq_compare`).
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// One UDX stream. Sequence numbers are kept as 64-bit counters that
/// never wrap; the wire carries their low 32 bits and incoming numbers are
/// placed relative to the nearest counter.
pub(crate) struct Stream {
    local_id: u32,
    remote_id: Option<u32>,
    closed: Option<Closed>,
    /// When an Ended stream stops lingering, or a Reset or TimedOut one
    /// stops being kept; None once `on_timeout` saw it pass (or for a
    /// Destroyed one).
    linger_until: Option<Instant>,
    stats: Stats,

    // --- receive side ---
    /// The next sequence number we expect (cumulative ack).
    ack: u64,
    /// Out-of-order DATA/END packets above `ack`.
    ooo: BTreeMap<u64, Segment>,
    ooo_bytes: usize,
    /// In-order bytes the application has not read.
    recv_buf: VecDeque<u8>,
    /// The peer's END, once received (in order or not).
    remote_end: Option<u64>,
    /// `ack` has passed the peer's END.
    remote_end_reached: bool,
    messages_in: VecDeque<Vec<u8>>,
    /// An ack (with SACK blocks when out of order) must go out.
    ack_pending: bool,
    /// The window we last advertised.
    last_rwnd_sent: usize,

    // --- send side ---
    /// The next sequence number we will send.
    next_seq: u64,
    /// The peer's cumulative ack: everything below is delivered.
    remote_acked: u64,
    /// Packets in `[remote_acked, next_seq)`.
    sent: VecDeque<Sent>,
    /// Written bytes not yet cut into packets.
    unsent: VecDeque<u8>,
    /// `end()` was called.
    end_requested: bool,
    /// The sequence number that carries our END, once sent.
    end_seq: Option<u64>,
    /// Our END was cumulatively acked.
    local_end_acked: bool,
    messages_out: VecDeque<Vec<u8>>,
    /// The DESTROY datagram `destroy()` left for `poll_transmit`.
    destroy_pending: Option<Vec<u8>>,
    heartbeat_pending: bool,
    /// Packets transmitted and neither acked, SACKed nor declared lost.
    in_flight: u32,
    /// Packets SACKed above `remote_acked` (libudx `stream->sacks`).
    sacked: u32,
    /// Lost packets waiting for retransmission, by sequence number.
    retransmit: BTreeSet<u64>,
    /// Every transmission in send order `(order, seq)`, for RACK; entries
    /// whose packet was acked or sent again are stale and skipped.
    send_order: VecDeque<(u64, u64)>,
    next_order: u64,
    /// The peer's receive window in bytes, updated by the TCP rule.
    send_rwnd: u32,
    send_wl1: u32,
    send_wl2: u32,
    cc: Bbr,
    ca_state: CaState,
    high_seq: u64,
    /// Pacing, as libudx's token bucket: bytes that may go now, refilled
    /// each millisecond with the pacing rate's worth.
    tokens: u64,
    refilled: Instant,
    /// When the bucket has tokens again, while data waits for them.
    pacing_deadline: Option<Instant>,

    // --- timing ---
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    min_rtt: Option<Duration>,
    /// RACK: the RTT of, and the send order of, the most recently sent
    /// packet that was delivered.
    rack_rtt: Duration,
    rack_order: Option<u64>,
    /// The highest sequence number delivered plus one (`rack.fack`).
    rack_fack: u64,
    reordering_seen: bool,
    /// The reorder window is `reo_wnd_mult · min_rtt / 4`, at most srtt;
    /// the multiplier grows by one per round trip with a spurious
    /// retransmission, and falls back to 1 after 16 loss recoveries.
    reo_wnd_mult: u32,
    reo_round_end: u64,
    recoveries_since_reo_growth: u32,
    tlp_permitted: bool,
    tlp_in_flight: bool,
    tlp_end_seq: u64,
    tlp_pending: bool,
    rto_deadline: Option<Instant>,
    rack_deadline: Option<Instant>,
    tlp_deadline: Option<Instant>,
    zwp_deadline: Option<Instant>,
}

impl Stream {
    pub(crate) fn new(local_id: u32, now: Instant) -> Self {
        Stream {
            local_id,
            remote_id: None,
            closed: None,
            linger_until: None,
            stats: Stats::default(),
            ack: 0,
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            recv_buf: VecDeque::new(),
            remote_end: None,
            remote_end_reached: false,
            messages_in: VecDeque::new(),
            ack_pending: false,
            last_rwnd_sent: RWND_MAX,
            next_seq: 0,
            remote_acked: 0,
            sent: VecDeque::new(),
            unsent: VecDeque::new(),
            end_requested: false,
            end_seq: None,
            local_end_acked: false,
            messages_out: VecDeque::new(),
            destroy_pending: None,
            heartbeat_pending: false,
            in_flight: 0,
            sacked: 0,
            retransmit: BTreeSet::new(),
            send_order: VecDeque::new(),
            next_order: 0,
            send_rwnd: RWND_MAX as u32,
            send_wl1: 0,
            send_wl2: 0,
            cc: Bbr::new(MTU_BASE - IPV4_OVERHEAD, now),
            ca_state: CaState::Open,
            high_seq: 0,
            tokens: INITIAL_TOKENS,
            refilled: now,
            pacing_deadline: None,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: RTO_MIN,
            min_rtt: None,
            rack_rtt: Duration::ZERO,
            rack_order: None,
            rack_fack: 0,
            reordering_seen: false,
            reo_wnd_mult: 1,
            reo_round_end: 0,
            recoveries_since_reo_growth: 0,
            tlp_permitted: false,
            tlp_in_flight: false,
            tlp_end_seq: 0,
            tlp_pending: false,
            rto_deadline: None,
            rack_deadline: None,
            tlp_deadline: None,
            zwp_deadline: None,
        }
    }

    pub(crate) fn local_id(&self) -> u32 {
        self.local_id
    }

    pub(crate) fn remote_id(&self) -> Option<u32> {
        self.remote_id
    }

    /// Connects to the peer's stream id. Local: sends nothing by itself.
    /// Data that came before connect (the first packet that led to it) is
    /// kept and acked once connected.
    pub(crate) fn connect(&mut self, remote_id: u32, now: Instant) {
        let _ = now;
        if self.remote_id.is_none() && self.closed.is_none() {
            self.remote_id = Some(remote_id);
        }
    }

    /// A decoded packet addressed to this stream (the driver matched
    /// header.id to local_id).
    pub(crate) fn on_packet(&mut self, packet: &Packet<'_>, now: Instant) {
        let h = packet.header;
        let len = HEADER_LEN + usize::from(h.data_offset) + packet.payload.len();
        self.stats.packets_in += 1;
        self.stats.bytes_in += len as u64;
        // A padded packet is an MTU probe, exactly the size it probes. One
        // of another size was cut short on the way (a datagram truncated
        // by a small buffer), its data with it: it is dropped unacked, so
        // the sender does not take the size for working and resends the
        // data unpadded (libudx would deliver what is left).
        if h.data_offset > 0 && h.kind & SACK == 0 && !wire::is_probe_size(len) {
            return;
        }
        match self.closed {
            None => {}
            // Lingering: keep re-acking the peer's END and data.
            Some(Closed::Ended) => {}
            Some(_) => return,
        }

        // libudx answers a HEARTBEAT with an ack and looks at nothing else.
        if h.kind & HEARTBEAT != 0 {
            self.ack_pending = true;
            return;
        }

        let offset = h.seq.wrapping_sub(self.ack as u32) as i32;
        if offset >= 0 {
            let abs = self.ack + offset as u64;
            if h.kind & (DATA | END) != 0 {
                self.receive_segment(abs, h.kind, packet.payload);
            }
            // DESTROY carries the peer's next seq; an old one is ignored.
            if h.kind & DESTROY != 0 && self.closed.is_none() {
                self.close(Closed::Reset, now);
                return;
            }
        }
        // MESSAGE whatever its seq; the empty one hyperdht sends after a
        // relay-to-direct upgrade is ignored.
        if h.kind & MESSAGE != 0
            && !packet.payload.is_empty()
            && self.messages_in.len() < MAX_MESSAGES_IN
        {
            self.messages_in.push_back(packet.payload.to_vec());
        }
        // libudx acks every DATA or END packet at once, duplicates too.
        if h.kind & (DATA | END) != 0 {
            self.ack_pending = true;
        }
        if self.closed.is_some() {
            return;
        }
        self.process_ack(&h, &packet.sacks, now);
        self.check_ended(now);
    }

    /// Queues bytes to send; returns how many were taken (0 when the send
    /// buffer is full: above 256 KiB queued beyond what is in flight, like
    /// libudx's high watermark). Nothing after end()/destroy().
    pub(crate) fn write(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.write_space());
        self.unsent.extend(&bytes[..n]);
        n
    }

    /// Bytes that can be written now without being refused.
    pub(crate) fn write_space(&self) -> usize {
        if self.end_requested || self.closed.is_some() {
            return 0;
        }
        HIGH_WATERMARK.saturating_sub(self.unsent.len())
    }

    /// True once everything written (and the END, if any was sent) has been
    /// acked (for a flush).
    pub(crate) fn all_acked(&self) -> bool {
        self.unsent.is_empty()
            && self.sent.is_empty()
            && (!self.end_requested || self.local_end_acked)
    }

    /// Graceful end: an END after the queued data, reliable.
    pub(crate) fn end(&mut self) {
        if self.closed.is_none() {
            self.end_requested = true;
        }
    }

    /// Sends one DESTROY (not retransmitted) and closes at once as
    /// Destroyed. Before connect nothing is sent.
    pub(crate) fn destroy(&mut self) {
        if self.closed.is_some() {
            return;
        }
        if let Some(remote_id) = self.remote_id {
            let header = Header {
                kind: DESTROY,
                data_offset: 0,
                id: remote_id,
                rwnd: self.rwnd() as u32,
                seq: self.next_seq as u32,
                ack: self.ack as u32,
            };
            let mut out = Vec::with_capacity(HEADER_LEN);
            wire::encode(&header, &[], 0, &[], &mut out);
            self.destroy_pending = Some(out);
        }
        // The instant does not matter: a destroyed stream does not linger.
        self.closed = Some(Closed::Destroyed);
        self.drop_send_state();
    }

    /// An unreliable MESSAGE datagram (no sequence number consumed).
    /// Payload at most max_payload; a larger one, one before connect or
    /// after close, or one beyond 256 queued, is dropped.
    pub(crate) fn send_message(&mut self, payload: &[u8]) {
        if payload.len() > self.max_payload()
            || self.remote_id.is_none()
            || self.closed.is_some()
            || self.messages_out.len() >= MAX_MESSAGES_OUT
        {
            return;
        }
        self.messages_out.push_back(payload.to_vec());
    }

    /// Reads in-order bytes; returns how many (0 when none are ready).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.recv_buf.len());
        let (front, back) = self.recv_buf.as_slices();
        let from_front = n.min(front.len());
        buf[..from_front].copy_from_slice(&front[..from_front]);
        buf[from_front..n].copy_from_slice(&back[..n - from_front]);
        self.recv_buf.drain(..n);
        // Tell a peer we had throttled that the window opened again, rather
        // than leave it to its next zero-window probe.
        if n > 0 && self.remote_id.is_some() && self.rwnd() >= self.last_rwnd_sent + RWND_MAX / 4 {
            self.ack_pending = true;
        }
        n
    }

    /// Bytes ready to read.
    pub(crate) fn readable(&self) -> usize {
        self.recv_buf.len()
    }

    /// True once the peer's END was reached in order and every byte before
    /// it was read.
    pub(crate) fn read_eof(&self) -> bool {
        self.remote_end_reached && self.recv_buf.is_empty()
    }

    /// A MESSAGE payload that arrived (unreliable datagrams), oldest first.
    pub(crate) fn take_message(&mut self) -> Option<Vec<u8>> {
        self.messages_in.pop_front()
    }

    /// Writes the next datagram to send into `out` (cleared first) and
    /// returns true, or false when nothing may go now (windows full, nothing
    /// to send). The driver calls it in a loop after every event.
    pub(crate) fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        out.clear();
        match self.closed {
            None => {}
            Some(Closed::Destroyed) => {
                return match self.destroy_pending.take() {
                    Some(datagram) => {
                        *out = datagram;
                        self.count_out(out.len());
                        true
                    }
                    None => false,
                };
            }
            Some(Closed::Ended) => {
                if self.ack_pending && self.remote_id.is_some() {
                    self.emit_ack(out);
                    return true;
                }
                return false;
            }
            Some(_) => return false,
        }
        if self.remote_id.is_none() {
            return false;
        }
        if self.ack_pending {
            self.emit_ack(out);
            return true;
        }
        if self.heartbeat_pending {
            self.heartbeat_pending = false;
            self.emit_control(HEARTBEAT, &[], out);
            return true;
        }
        if let Some(message) = self.messages_out.pop_front() {
            self.emit_control(MESSAGE, &message, out);
            return true;
        }
        if self.tlp_pending {
            self.tlp_pending = false;
            if self.send_tail_probe(now, out) {
                return true;
            }
        }
        // Retransmissions ignore the peer's window (libudx
        // `stream_may_send`), not the congestion window; both are paced.
        let resend = !self.retransmit.is_empty() && self.in_flight < self.cc.window();
        let send = self.has_unsent() && self.in_flight < self.send_window();
        if (resend || send) && !self.paced(now) {
            return false;
        }
        if resend {
            if let Some(seq) = self.retransmit.pop_first() {
                if self.retransmit_packet(seq, now, out) {
                    return true;
                }
            }
        }
        if self.in_flight < self.send_window() && self.send_new_packet(now, false, out) {
            return true;
        }
        // Zero window: probe at once, then every 2·rto until it opens.
        if self.send_rwnd == 0
            && self.in_flight == 0
            && self.zwp_deadline.is_none()
            && self.has_unsent()
        {
            self.zwp_deadline = Some(now + self.rto * 2);
            self.emit_control(HEARTBEAT, &[], out);
            return true;
        }
        // Gone quiet with data outstanding (say a lone retransmission,
        // which no later packet can show lost to RACK): a probe follows
        // unless an ack does.
        if self.tlp_deadline.is_none() && self.next_seq != self.remote_acked {
            self.schedule_tlp(now);
        }
        false
    }

    /// When on_timeout must run next (RTO, RACK reorder timer, TLP,
    /// zero-window probe, linger end), or None.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self.closed {
            None => [
                self.rto_deadline,
                self.rack_deadline,
                self.tlp_deadline,
                self.zwp_deadline,
                self.pacing_deadline,
            ]
            .into_iter()
            .flatten()
            .min(),
            Some(Closed::Destroyed) => None,
            Some(_) => self.linger_until,
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            if self.linger_until.is_some_and(|at| at <= now) {
                self.linger_until = None;
            }
            return;
        }
        if self.rto_deadline.is_some_and(|at| at <= now) {
            self.rto_deadline = None;
            self.on_rto(now);
            if self.closed.is_some() {
                return;
            }
        }
        if self.rack_deadline.is_some_and(|at| at <= now) {
            self.rack_deadline = None;
            self.rack_detect_loss(now);
        }
        if self.tlp_deadline.is_some_and(|at| at <= now) {
            self.tlp_deadline = None;
            if self.next_seq != self.remote_acked && !self.tlp_in_flight && self.tlp_permitted {
                self.tlp_pending = true;
                self.rto_deadline = Some(now + self.rto);
            }
        }
        if self.pacing_deadline.is_some_and(|at| at <= now) {
            // The bucket refills when the driver next polls.
            self.pacing_deadline = None;
        }
        if self.zwp_deadline.is_some_and(|at| at <= now) {
            if self.send_rwnd == 0 && self.in_flight == 0 && self.has_unsent() {
                self.heartbeat_pending = true;
                self.zwp_deadline = Some(now + self.rto * 2);
            } else {
                self.zwp_deadline = None;
            }
        }
    }

    pub(crate) fn closed(&self) -> Option<Closed> {
        self.closed
    }

    /// True when the driver may forget the stream: closed, and its linger
    /// (12 s, or 12·rto if longer, at most 60 s, in which a gracefully
    /// closed stream still re-acks the peer's retransmitted END/data, so the
    /// peer does not end in ETIMEDOUT) is over. A stream reset by the peer
    /// or timed out is kept `REMEMBER_WHY` (5 s), so its handles read the
    /// reason; a destroyed stream is finished once its DESTROY went out.
    /// Unread bytes of an ended stream stay readable; keeping the handle
    /// for them is the driver's choice.
    pub(crate) fn finished(&self, now: Instant) -> bool {
        match self.closed {
            None => false,
            Some(Closed::Destroyed) => self.destroy_pending.is_none(),
            Some(_) => self.linger_until.is_none_or(|at| now >= at),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats
    }

    /// The largest payload of one data packet (mtu − 48; MTU 1200 → 1,152).
    pub(crate) fn max_payload(&self) -> usize {
        MTU_BASE - IPV4_OVERHEAD
    }

    /// The receive window we advertise: 4 MiB minus what the application
    /// has not read.
    pub(crate) fn rwnd(&self) -> usize {
        RWND_MAX.saturating_sub(self.recv_buf.len())
    }

    /// The current retransmission timeout.
    pub(crate) fn rto(&self) -> Duration {
        self.rto
    }

    /// The smoothed RTT, once sampled.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The congestion window in packets.
    pub(crate) fn cwnd(&self) -> u32 {
        self.cc.window()
    }

    /// A one-line summary of the state, for logs and failing tests.
    pub(crate) fn debug_state(&self) -> String {
        format!(
            "ack={} next={} acked={} flight={} sacked={} lost={} cwnd={} pace={:.0}B/ms rwnd={} ca={:?} rto={:?} srtt={:?} timers=[rto {:?} rack {:?} tlp {:?} zwp {:?} pace {:?}] tlp permitted {} in flight {} order_q={} closed={:?}",
            self.ack,
            self.next_seq,
            self.remote_acked,
            self.in_flight,
            self.sacked,
            self.retransmit.len(),
            self.cc.window(),
            self.cc.pacing_rate(),
            self.send_rwnd,
            self.ca_state,
            self.rto,
            self.srtt,
            self.rto_deadline.is_some(),
            self.rack_deadline.is_some(),
            self.tlp_deadline.is_some(),
            self.zwp_deadline.is_some(),
            self.pacing_deadline.is_some(),
            self.tlp_permitted,
            self.tlp_in_flight,
            self.send_order.len(),
            self.closed,
        )
    }

    /// Panics when the bookkeeping disagrees with the packets (tests only).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let count = |state| self.sent.iter().filter(|p| p.state == state).count();
        assert_eq!(
            self.in_flight as usize,
            count(SentState::InFlight),
            "in flight"
        );
        assert_eq!(self.sacked as usize, count(SentState::Sacked), "sacked");
        assert_eq!(self.retransmit.len(), count(SentState::Lost), "lost");
        for &seq in &self.retransmit {
            let index = (seq - self.remote_acked) as usize;
            assert_eq!(self.sent[index].state, SentState::Lost);
        }
        if self.closed.is_none() {
            assert_eq!(self.sent.len() as u64, self.next_seq - self.remote_acked);
        }
        assert_eq!(
            self.ooo_bytes,
            self.ooo.values().map(|s| s.data.len()).sum::<usize>()
        );
        assert!(self
            .ooo
            .keys()
            .all(|&k| k > self.ack && k - self.ack < MAX_OOO_SPAN));
        if self.closed.is_none() && self.next_seq != self.remote_acked {
            assert!(
                self.rto_deadline.is_some(),
                "data outstanding without an RTO"
            );
        }
    }

    // ------------------------------------------------------------------
    // Receive side
    // ------------------------------------------------------------------

    /// A DATA and/or END packet at absolute sequence `abs ≥ ack`.
    fn receive_segment(&mut self, abs: u64, kind: u8, payload: &[u8]) {
        if self.remote_end_reached || self.remote_end.is_some_and(|end| abs > end) {
            return;
        }
        let data: &[u8] = if kind & DATA != 0 { payload } else { &[] };
        if abs == self.ack {
            if self.recv_buf.len() + data.len() > MAX_UNREAD {
                return; // dropped unacked; the peer ignored our window
            }
            self.recv_buf.extend(data);
            self.ack += 1;
            if kind & END != 0 {
                self.reach_end();
            }
            self.drain_ooo();
        } else {
            if abs - self.ack >= MAX_OOO_SPAN
                || self.ooo.contains_key(&abs)
                || self.ooo_bytes + data.len() > MAX_OOO_BYTES
            {
                return;
            }
            self.ooo_bytes += data.len();
            self.ooo.insert(
                abs,
                Segment {
                    kind,
                    data: data.to_vec(),
                },
            );
        }
        if kind & END != 0 && self.remote_end.is_none() {
            self.remote_end = Some(abs);
            // Nothing after the END is stream data.
            let beyond: Vec<u64> = self.ooo.range(abs + 1..).map(|(&k, _)| k).collect();
            for k in beyond {
                if let Some(seg) = self.ooo.remove(&k) {
                    self.ooo_bytes -= seg.data.len();
                }
            }
        }
    }

    fn drain_ooo(&mut self) {
        while !self.remote_end_reached {
            let Some(seg) = self.ooo.remove(&self.ack) else {
                break;
            };
            self.ooo_bytes -= seg.data.len();
            self.recv_buf.extend(&seg.data);
            self.ack += 1;
            if seg.kind & END != 0 {
                self.reach_end();
            }
        }
    }

    fn reach_end(&mut self) {
        self.remote_end_reached = true;
        self.ooo.clear();
        self.ooo_bytes = 0;
    }

    /// SACK blocks `[start, end)` of what the reorder buffer holds above
    /// `ack`, lowest first, at most 50.
    fn sack_blocks(&self) -> Vec<(u32, u32)> {
        let mut blocks: Vec<(u32, u32)> = Vec::new();
        let mut run: Option<(u64, u64)> = None;
        for &seq in self.ooo.keys() {
            match run {
                Some((start, end)) if end == seq => run = Some((start, seq + 1)),
                Some((start, end)) => {
                    blocks.push((start as u32, end as u32));
                    if blocks.len() == MAX_SACKS {
                        return blocks;
                    }
                    run = Some((seq, seq + 1));
                }
                None => run = Some((seq, seq + 1)),
            }
        }
        if let Some((start, end)) = run {
            blocks.push((start as u32, end as u32));
        }
        blocks
    }

    // ------------------------------------------------------------------
    // Acks from the peer
    // ------------------------------------------------------------------

    fn process_ack(&mut self, h: &Header, sacks: &[(u32, u32)], now: Instant) {
        let outstanding = self.next_seq - self.remote_acked;
        let offset = h.ack.wrapping_sub(self.remote_acked as u32) as i32;
        // An ack beyond what we sent is bogus: ignore the ack part.
        if i64::from(offset) > outstanding as i64 {
            return;
        }
        if offset < 0 {
            return; // an old ack, reordered behind newer ones
        }
        let new_ack = self.remote_acked + offset as u64;

        // The window, by the TCP rule (libudx `send_wl1`/`send_wl2`).
        if seq_lt(self.send_wl1, h.seq) || (self.send_wl1 == h.seq && !seq_lt(h.ack, self.send_wl2))
        {
            self.send_rwnd = h.rwnd;
            self.send_wl1 = h.seq;
            self.send_wl2 = h.ack;
            if h.rwnd > 0 {
                self.zwp_deadline = None;
            }
        }

        if self.tlp_in_flight && new_ack > self.tlp_end_seq {
            self.tlp_in_flight = false;
        }
        if self.ca_state != CaState::Open && new_ack >= self.high_seq {
            self.ca_state = CaState::Open;
        }

        let was_in_flight = self.remote_acked != self.next_seq;
        let mut sample = RateSample::default();
        let mut delivered = 0u32;
        let advanced = new_ack > self.remote_acked;
        while self.remote_acked < new_ack {
            let seq = self.remote_acked;
            self.remote_acked += 1;
            let Some(pkt) = self.sent.pop_front() else {
                continue;
            };
            if pkt.kind & END != 0 {
                self.local_end_acked = true;
            }
            match pkt.state {
                SentState::Sacked => {
                    self.sacked = self.sacked.saturating_sub(1);
                    continue;
                }
                SentState::InFlight => self.in_flight = self.in_flight.saturating_sub(1),
                SentState::Lost => {
                    self.retransmit.remove(&seq);
                }
            }
            delivered += 1;
            self.on_delivered(pkt.transmission(seq), &mut sample, now);
        }

        for &(start, end) in sacks {
            let s = start.wrapping_sub(self.remote_acked as u32) as i32;
            let e = end.wrapping_sub(self.remote_acked as u32) as i32;
            let limit = (self.next_seq - self.remote_acked) as i64;
            // libudx `udx_sack_is_valid`: remote_acked ≤ start < end ≤ seq.
            if s < 0 || e <= s || i64::from(e) > limit {
                continue;
            }
            for index in s as usize..e as usize {
                let seq = self.remote_acked + index as u64;
                let Some(pkt) = self.sent.get_mut(index) else {
                    break;
                };
                match pkt.state {
                    SentState::Sacked => continue,
                    SentState::InFlight => self.in_flight = self.in_flight.saturating_sub(1),
                    SentState::Lost => {
                        self.retransmit.remove(&seq);
                    }
                }
                pkt.state = SentState::Sacked;
                let transmission = pkt.transmission(seq);
                self.sacked += 1;
                delivered += 1;
                self.on_delivered(transmission, &mut sample, now);
            }
        }

        let mut lost = 0;
        if self.remote_acked == self.next_seq {
            self.rto_deadline = None;
            self.rack_deadline = None;
            self.tlp_deadline = None;
            self.tlp_pending = false;
        } else {
            if delivered > 0 {
                lost = self.rack_detect_loss(now);
            }
            if advanced {
                self.rto_deadline = Some(now + self.rto);
                self.schedule_tlp(now);
            }
        }
        self.prune_send_order();
        // Nothing in flight, nothing to learn (libudx `data_inflight`).
        if was_in_flight {
            self.cc.on_ack(
                sample,
                delivered,
                lost,
                self.ca_state,
                self.in_flight,
                self.srtt,
                self.min_rtt,
                now,
            );
        }
    }

    /// A packet we sent was delivered (cumulatively or by SACK): RTT, RACK
    /// and delivery-rate bookkeeping.
    fn on_delivered(&mut self, tx: Transmission, sample: &mut RateSample, now: Instant) {
        let Transmission {
            seq,
            time_sent,
            order,
            retransmitted,
            rate,
        } = tx;
        self.cc.on_delivered(sample, rate, time_sent, order);
        let rtt = now.saturating_duration_since(time_sent);
        // Karn: only never-retransmitted packets give RTT samples.
        if !retransmitted {
            self.rtt_sample(rtt);
        }
        if !retransmitted || self.min_rtt.is_none_or(|min| rtt >= min) {
            self.rack_rtt = rtt;
            sample.rtt = Some(rtt);
            if self.rack_order.is_none_or(|o| order > o) {
                self.rack_order = Some(order);
            }
        } else {
            // Acked sooner after its retransmission than any round trip
            // takes: the ack was for the original, which was only late.
            // The retransmission was spurious, so the path reorders: widen
            // the reorder window (RFC 8985 §6.2.4 does so on DSACKs, which
            // UDX does not have), once per round trip.
            self.reordering_seen = true;
            if self.remote_acked >= self.reo_round_end {
                self.reo_wnd_mult = (self.reo_wnd_mult + 1).min(REO_WND_MULT_MAX);
                self.reo_round_end = self.next_seq;
                self.recoveries_since_reo_growth = 0;
            }
        }
        if seq + 1 > self.rack_fack {
            self.rack_fack = seq + 1;
        } else if seq + 1 < self.rack_fack && !retransmitted {
            self.reordering_seen = true;
        }
    }

    /// RFC 6298 as libudx computes it (`ack_packet`).
    fn rtt_sample(&mut self, rtt: Duration) {
        match self.srtt {
            None => {
                let rtt = rtt.min(RTO_MAX);
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let threshold = srtt + self.rttvar * 5;
                let rtt = if rtt > threshold && rtt > RTT_OUTLIER {
                    threshold.min(RTO_MAX)
                } else {
                    rtt
                };
                let delta = rtt.abs_diff(srtt);
                self.rttvar = (self.rttvar * 3 + delta) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or_default();
        self.rto = (srtt + self.rttvar * 4).clamp(RTO_MIN, RTO_MAX);
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
        self.tlp_permitted = true;
    }

    /// RACK's reorder window (libudx `rack_update_reo_wnd`).
    fn reo_wnd(&self) -> Duration {
        if !self.reordering_seen && (self.ca_state != CaState::Open || self.sacked >= 3) {
            return Duration::ZERO;
        }
        let window = self.min_rtt.unwrap_or_default() / 4 * self.reo_wnd_mult;
        window.min(self.srtt.unwrap_or_default())
    }

    /// RFC 8985 §6.2: a packet sent before the most recently sent delivered
    /// one is lost once `time_sent + rack_rtt + reo_wnd ≤ now`; until then
    /// the reorder timer waits for the earliest of them. Returns how many
    /// it found lost.
    fn rack_detect_loss(&mut self, now: Instant) -> u32 {
        self.rack_deadline = None;
        let Some(rack_order) = self.rack_order else {
            return 0;
        };
        let wait = self.rack_rtt + self.reo_wnd();
        let mut newly_lost = 0u32;
        while let Some(&(order, seq)) = self.send_order.front() {
            if order >= rack_order {
                break;
            }
            let Some(pkt) = self.live_packet(order, seq) else {
                self.send_order.pop_front();
                continue;
            };
            let deadline = pkt.time_sent + wait;
            if deadline <= now {
                pkt.state = SentState::Lost;
                self.send_order.pop_front();
                self.in_flight = self.in_flight.saturating_sub(1);
                self.retransmit.insert(seq);
                newly_lost += 1;
            } else {
                self.rack_deadline = Some(deadline);
                break;
            }
        }
        if newly_lost > 0 && self.ca_state == CaState::Open {
            self.recoveries_since_reo_growth += 1;
            if self.recoveries_since_reo_growth >= REO_WND_RESET_RECOVERIES {
                self.recoveries_since_reo_growth = 0;
                self.reo_wnd_mult = 1;
            }
            self.ca_state = CaState::Recovery;
            self.high_seq = self.next_seq;
            self.cc.on_recovery();
            self.tlp_in_flight = false;
            self.tlp_deadline = None;
        }
        newly_lost
    }

    /// The in-flight packet a `send_order` entry names, unless the entry is
    /// stale (packet acked, SACKed, lost or sent again since).
    fn live_packet(&mut self, order: u64, seq: u64) -> Option<&mut Sent> {
        let index = usize::try_from(seq.checked_sub(self.remote_acked)?).ok()?;
        let pkt = self.sent.get_mut(index)?;
        (pkt.order == order && pkt.state == SentState::InFlight).then_some(pkt)
    }

    /// Drops stale entries at the front, and compacts when stale ones pile
    /// up behind a live one.
    fn prune_send_order(&mut self) {
        while let Some(&(order, seq)) = self.send_order.front() {
            if self.live_packet(order, seq).is_some() {
                break;
            }
            self.send_order.pop_front();
        }
        if self.send_order.len() > 2 * self.sent.len() + 64 {
            let mut kept = std::mem::take(&mut self.send_order);
            kept.retain(|&(order, seq)| {
                seq >= self.remote_acked
                    && usize::try_from(seq - self.remote_acked)
                        .ok()
                        .and_then(|i| self.sent.get(i))
                        .is_some_and(|p| p.order == order && p.state == SentState::InFlight)
            });
            self.send_order = kept;
        }
    }

    /// Arms the tail-loss probe (libudx `schedule_loss_probe`) after
    /// 2·srtt (+2 ms with one packet in flight; 1 s before any sample),
    /// never after the RTO, one probe per RTT sample (`tlp_permitted`).
    /// libudx probes only in Open with nothing SACKed; we also do in a fast
    /// recovery and with packets SACKed, where a retransmission lost at the
    /// tail has no later packet for RACK to find it by and would wait for
    /// the 1 s RTO.
    fn schedule_tlp(&mut self, now: Instant) {
        if self.next_seq == self.remote_acked
            || self.ca_state == CaState::Loss
            || !self.tlp_permitted
            || self.tlp_in_flight
        {
            self.tlp_deadline = None;
            return;
        }
        let timeout = match self.srtt {
            Some(srtt) if self.in_flight + self.retransmit.len() as u32 == 1 => {
                srtt * 2 + TLP_MAX_ACK_DELAY
            }
            Some(srtt) => srtt * 2,
            None => RTO_MIN,
        };
        let mut at = now + timeout;
        if let Some(rto) = self.rto_deadline {
            at = at.min(rto);
        }
        self.tlp_deadline = Some(at);
    }

    fn check_ended(&mut self, now: Instant) {
        if self.closed.is_none() && self.local_end_acked && self.remote_end_reached {
            self.close(Closed::Ended, now);
        }
    }

    fn close(&mut self, why: Closed, now: Instant) {
        self.closed = Some(why);
        self.linger_until = match why {
            Closed::Ended => Some(now + (self.rto * LINGER_RTOS).clamp(LINGER, LINGER_MAX)),
            Closed::Reset | Closed::TimedOut => Some(now + REMEMBER_WHY),
            Closed::Destroyed => None,
        };
        self.drop_send_state();
        if why != Closed::Ended {
            self.ooo.clear();
            self.ooo_bytes = 0;
            self.ack_pending = false;
        }
    }

    fn drop_send_state(&mut self) {
        self.rto_deadline = None;
        self.rack_deadline = None;
        self.tlp_deadline = None;
        self.zwp_deadline = None;
        self.pacing_deadline = None;
        self.tlp_pending = false;
        self.heartbeat_pending = false;
        self.sent.clear();
        self.unsent.clear();
        self.retransmit.clear();
        self.send_order.clear();
        self.messages_out.clear();
        self.in_flight = 0;
    }

    // ------------------------------------------------------------------
    // Timers
    // ------------------------------------------------------------------

    /// libudx `udx_rto_timeout`: enter Loss, re-arm at 2·rto, mark lost the
    /// oldest unacked packet and every one older than the RACK window, and
    /// retransmit them; a packet already timed out 6 times closes the
    /// stream.
    fn on_rto(&mut self, now: Instant) {
        if self.next_seq == self.remote_acked {
            return;
        }
        self.stats.rtos += 1;
        self.ca_state = CaState::Loss;
        self.high_seq = self.next_seq;
        self.tlp_in_flight = false;
        self.tlp_pending = false;
        self.tlp_deadline = None;
        self.rto_deadline = Some(now + self.rto * 2);
        let wait = self.rack_rtt + self.reo_wnd();
        let mut timed_out = false;
        for (index, pkt) in self.sent.iter_mut().enumerate() {
            if pkt.state != SentState::InFlight {
                continue;
            }
            if index == 0 || pkt.time_sent + wait < now {
                if pkt.rto_timeouts >= MAX_RTO_TIMEOUTS {
                    timed_out = true;
                    break;
                }
                pkt.rto_timeouts += 1;
                pkt.state = SentState::Lost;
                self.in_flight = self.in_flight.saturating_sub(1);
                self.retransmit.insert(self.remote_acked + index as u64);
            }
        }
        if timed_out {
            // Both sides finished writing, and only our last packets, the
            // END among them, went unanswered. libudx closes as soon as
            // it has acked our END (all our data came before it, in
            // order), having no TIME_WAIT, so a lost final ack leaves
            // nobody to answer: that is an end, not a timeout.
            let why = if self.remote_end_reached && self.end_seq.is_some() {
                Closed::Ended
            } else {
                Closed::TimedOut
            };
            self.close(why, now);
            return;
        }
        self.cc.on_rto();
    }

    // ------------------------------------------------------------------
    // Sending
    // ------------------------------------------------------------------

    /// In flight at most min(cwnd, rwnd / max_payload) packets, and at
    /// least one while the peer's window is open at all (libudx
    /// `send_window_in_packets`).
    fn send_window(&self) -> u32 {
        let rwnd_packets = if self.send_rwnd == 0 {
            0
        } else {
            (self.send_rwnd / self.max_payload() as u32).max(1)
        };
        self.cc.window().min(rwnd_packets)
    }

    /// Data or an END still to be sent for the first time.
    fn has_unsent(&self) -> bool {
        !self.unsent.is_empty() || (self.end_requested && self.end_seq.is_none())
    }

    fn header(&self, kind: u8, seq: u64) -> Header {
        Header {
            kind,
            data_offset: 0,
            id: self.remote_id.unwrap_or_default(),
            rwnd: self.rwnd() as u32,
            seq: seq as u32,
            ack: self.ack as u32,
        }
    }

    fn count_out(&mut self, len: usize) {
        self.stats.packets_out += 1;
        self.stats.bytes_out += len as u64;
    }

    /// libudx `update_pacing_time` and `stream_may_send`: the bucket holds
    /// the pacing rate's worth of the whole milliseconds since it was last
    /// filled, and a packet may go while it is not empty. When it is, the
    /// time it fills again is a deadline.
    fn paced(&mut self, now: Instant) -> bool {
        let whole_ms = now.saturating_duration_since(self.refilled).as_millis();
        if whole_ms >= 1 {
            self.tokens = (whole_ms as f64 * self.cc.pacing_rate()) as u64;
            self.refilled = now;
        }
        if self.tokens > 0 {
            return true;
        }
        self.pacing_deadline = Some(self.refilled + PACING_TICK);
        false
    }

    /// A data packet of `len` bytes went out: its bytes leave the bucket.
    fn spend(&mut self, len: usize) {
        self.tokens = self.tokens.saturating_sub(len as u64);
    }

    /// A pure ack, with SACK blocks when packets wait out of order.
    fn emit_ack(&mut self, out: &mut Vec<u8>) {
        self.ack_pending = false;
        let sacks = self.sack_blocks();
        let header = self.header(0, self.next_seq);
        self.last_rwnd_sent = self.rwnd();
        wire::encode(&header, &sacks, 0, &[], out);
        self.count_out(out.len());
    }

    /// HEARTBEAT or MESSAGE: carries our next seq, consumes none.
    fn emit_control(&mut self, kind: u8, payload: &[u8], out: &mut Vec<u8>) {
        let header = self.header(kind, self.next_seq);
        self.last_rwnd_sent = self.rwnd();
        wire::encode(&header, &[], 0, payload, out);
        self.count_out(out.len());
    }

    /// Cuts the next packet from the written bytes (an END rides on the
    /// last one, or goes alone) and sends it.
    fn send_new_packet(&mut self, now: Instant, tlp: bool, out: &mut Vec<u8>) -> bool {
        if !self.has_unsent() {
            return false;
        }
        let n = self.unsent.len().min(self.max_payload());
        let payload: Vec<u8> = self.unsent.drain(..n).collect();
        let mut kind = if n > 0 { DATA } else { 0 };
        let seq = self.next_seq;
        if self.end_requested && self.unsent.is_empty() {
            kind |= END;
            self.end_seq = Some(seq);
        }
        // Application-limited as Linux has it: less than a packet more to
        // send, and room in the window.
        let app_limited = self.unsent.len() < self.max_payload()
            && self.in_flight < self.cc.window()
            && self.retransmit.is_empty();
        let first_of_flight = seq == self.remote_acked;
        let rate = self
            .cc
            .on_send(now, self.in_flight, first_of_flight, app_limited);
        self.next_seq += 1;
        let order = self.next_order;
        self.next_order += 1;
        let header = self.header(kind, seq);
        self.last_rwnd_sent = self.rwnd();
        wire::encode(&header, &[], 0, &payload, out);
        self.count_out(out.len());
        self.spend(out.len());
        self.sent.push_back(Sent {
            kind,
            payload,
            time_sent: now,
            order,
            retransmitted: false,
            state: SentState::InFlight,
            rto_timeouts: 0,
            rate,
        });
        self.send_order.push_back((order, seq));
        self.in_flight += 1;
        if self.rto_deadline.is_none() {
            self.rto_deadline = Some(now + self.rto);
        }
        if tlp {
            self.tlp_in_flight = true;
            self.tlp_end_seq = seq;
            self.tlp_permitted = false;
        } else {
            self.schedule_tlp(now);
        }
        true
    }

    /// Sends packet `seq` again, as it was, with the current ack and window.
    fn retransmit_packet(&mut self, seq: u64, now: Instant, out: &mut Vec<u8>) -> bool {
        let Some(index) = seq
            .checked_sub(self.remote_acked)
            .and_then(|i| usize::try_from(i).ok())
        else {
            return false;
        };
        let order = self.next_order;
        let header_rwnd = self.rwnd() as u32;
        let ack = self.ack as u32;
        let id = self.remote_id.unwrap_or_default();
        let Some(pkt) = self.sent.get_mut(index) else {
            return false;
        };
        if pkt.state == SentState::Sacked {
            return false;
        }
        let header = Header {
            kind: pkt.kind,
            data_offset: 0,
            id,
            rwnd: header_rwnd,
            seq: seq as u32,
            ack,
        };
        wire::encode(&header, &[], 0, &pkt.payload, out);
        pkt.rate = self.cc.on_send(now, self.in_flight, false, false);
        if pkt.state != SentState::InFlight {
            self.in_flight += 1;
        }
        pkt.state = SentState::InFlight;
        pkt.time_sent = now;
        pkt.order = order;
        pkt.retransmitted = true;
        self.next_order += 1;
        self.last_rwnd_sent = header_rwnd as usize;
        self.send_order.push_back((order, seq));
        self.stats.retransmits += 1;
        self.count_out(out.len());
        self.spend(out.len());
        if self.rto_deadline.is_none() {
            self.rto_deadline = Some(now + self.rto);
        }
        true
    }

    /// The tail-loss probe: new data if any (ignoring the windows, as libudx
    /// does), else the last packet sent again, or, when that one was SACKed
    /// (in a recovery), the earliest still in flight.
    fn send_tail_probe(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        if self.send_new_packet(now, true, out) {
            return true;
        }
        let in_flight = |pkt: &Sent| pkt.state == SentState::InFlight;
        let index = if self.sent.back().is_some_and(in_flight) {
            self.sent.len() - 1
        } else if let Some(index) = self.sent.iter().position(in_flight) {
            index
        } else {
            return false;
        };
        let seq = self.remote_acked + index as u64;
        if self.retransmit_packet(seq, now, out) {
            self.tlp_in_flight = true;
            self.tlp_end_seq = seq;
            self.tlp_permitted = false;
            return true;
        }
        false
    }
}
