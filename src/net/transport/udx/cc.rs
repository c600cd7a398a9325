//! Congestion control for one UDX stream: BBR v1 counted in packets, as
//! libudx runs it (`udx_bbr.c`, with the delivery-rate samples of
//! `udx_rate.c`), as a pure struct. The stream state machine (`stream.rs`)
//! tells it of every send, every delivered packet, each ack's losses, the
//! start of a recovery and each RTO; it answers with the congestion window
//! and the pacing rate the stream's token bucket follows. Nothing on the
//! wire depends on it.
//!
//! BBR models the path as a bottleneck rate (the windowed maximum delivery
//! rate over 10 round trips) and a minimum RTT (over 10 s), paces at a gain
//! times that rate and keeps about two bandwidth-delay products in flight.
//! A random loss costs one round of packet conservation, not half the
//! window, which is what keeps a lossy path busy.
//!
//! As libudx: STARTUP (gain 2.885) until the rate stops growing by a
//! quarter for 3 rounds, DRAIN, then PROBE_BW cycling its gains
//! `[1.25, 0.75, 1 ×6]` from index 3, and PROBE_RTT (4 packets for 200 ms)
//! when the minimum RTT is 10 s old; the window never below 4; an ack
//! aggregation allowance. Unlike libudx: times are kept to the nanosecond
//! (rates in packets per fractional millisecond; the minimum RTT still at
//! least 1 ms, libudx's clock); the window a recovery or an RTO started
//! with is restored when it ends (Linux's `prior_cwnd`; libudx jumps to its
//! `ssthresh`); an RTO cuts the window to 4 (Linux cuts it to 1, libudx
//! only by the losses an ack reports).

#![cfg_attr(not(test), allow(dead_code))]

use std::time::{Duration, Instant};

/// The window a stream starts with, in packets (libudx: `cwnd = 10`).
pub(crate) const INITIAL_WINDOW: u32 = 10;
/// The smallest window, in packets (`bbr_cwnd_min_target`).
pub(crate) const MIN_WINDOW: u32 = 4;
/// The largest window, in packets. The peer's receive window (about 3,640
/// packets at 4 MiB) binds long before.
pub(crate) const MAX_WINDOW: u32 = 0xffff;
/// Bytes a new stream may send before its pacing rate is first applied
/// (`UDX_INIT_PACING_RATE`, per millisecond).
pub(crate) const INITIAL_TOKENS: u64 = 25_000;

/// The gain cycle of PROBE_BW (`bbr_pacing_gain`).
const PACING_GAINS: [f64; 8] = [1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
/// The bandwidth filter spans this many round trips (cycle length + 2).
const BW_FILTER_ROUNDS: u64 = PACING_GAINS.len() as u64 + 2;
/// The minimum RTT is kept this long before PROBE_RTT measures it again.
const MIN_RTT_WINDOW: Duration = Duration::from_secs(10);
/// How long PROBE_RTT holds the window at its floor.
const PROBE_RTT_TIME: Duration = Duration::from_millis(200);
/// The finest RTT the model takes (libudx counts whole milliseconds).
const CLOCK: Duration = Duration::from_millis(1);
const PACING_MARGIN: f64 = 0.99;
/// 2/ln(2): STARTUP doubles the rate every round trip.
const HIGH_GAIN: f64 = 2.88539;
const DRAIN_GAIN: f64 = 1.0 / HIGH_GAIN;
const CWND_GAIN: f64 = 2.0;
/// STARTUP ends when the rate grew less than this factor ...
const FULL_BW_THRESH: f64 = 1.25;
/// ... this many rounds in a row.
const FULL_BW_COUNT: u32 = 3;
const EXTRA_ACKED_WIN_ROUNDS: u32 = 5;
/// The ack aggregation allowance is at most this much time at the rate.
const EXTRA_ACKED_MAX_MS: f64 = 100.0;
/// An ack epoch that would count this many packets starts afresh.
const ACK_EPOCH_RESET: u64 = u32::MAX as u64;

/// libudx's loss-recovery states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CaState {
    Open,
    /// Fast recovery after RACK found a loss, until `high_seq` is acked.
    Recovery,
    /// After an RTO, until `high_seq` is acked.
    Loss,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Startup,
    Drain,
    ProbeBw,
    ProbeRtt,
}

/// A windowed maximum over the last `window` rounds, kept as its three best
/// candidates (Kathleen Nichols' filter, libudx `win_filter_f64`).
#[derive(Debug, Clone, Copy)]
struct MaxFilter {
    entries: [(u64, f64); 3],
}

impl MaxFilter {
    fn new() -> Self {
        MaxFilter {
            entries: [(0, 0.0); 3],
        }
    }

    fn get(&self) -> f64 {
        self.entries[0].1
    }

    fn reset(&mut self, t: u64, v: f64) {
        self.entries = [(t, v); 3];
    }

    fn apply(&mut self, window: u64, t: u64, v: f64) {
        if v >= self.entries[0].1 || t.saturating_sub(self.entries[2].0) > window {
            self.reset(t, v);
            return;
        }
        if v >= self.entries[1].1 {
            self.entries[2] = (t, v);
            self.entries[1] = (t, v);
        } else if v >= self.entries[2].1 {
            self.entries[2] = (t, v);
        }
        let dt = t.saturating_sub(self.entries[0].0);
        if dt > window {
            // The best is out of the window: the others move up.
            self.entries = [self.entries[1], self.entries[2], (t, v)];
            if t.saturating_sub(self.entries[0].0) > window {
                self.entries = [self.entries[1], self.entries[2], (t, v)];
            }
        } else if self.entries[1].0 == self.entries[0].0 && dt > window / 4 {
            self.entries[1] = (t, v);
            self.entries[2] = (t, v);
        } else if self.entries[2].0 == self.entries[1].0 && dt > window / 2 {
            self.entries[2] = (t, v);
        }
    }
}

/// What the model keeps of a packet when it is sent, to make a rate sample
/// when it is delivered (`udx__rate_pkt_sent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SendState {
    /// Packets delivered when it was sent.
    delivered: u64,
    /// When the last of those was delivered.
    delivered_time: Instant,
    /// When the first packet of the flight it belongs to was sent.
    first_sent_time: Instant,
    /// Sent while the sender had less to send than the window allowed.
    app_limited: bool,
}

/// One ack's delivery-rate sample (`udx_rate_sample_t`), built as the
/// ack's packets are delivered, from the most recently sent of them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RateSample {
    /// (send order, its `SendState`, its send interval) of the most
    /// recently sent packet delivered.
    newest: Option<(u64, SendState, Duration)>,
    /// The latest RTT measured on this ack (`rs->rtt_ms`).
    pub(crate) rtt: Option<Duration>,
}

/// The finished sample the model reads.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Packets delivered over `interval`, when the sample is valid.
    delivered: Option<(u64, Duration)>,
    prior_delivered: u64,
    app_limited: bool,
    acked: u32,
    losses: u32,
    rtt: Option<Duration>,
}

/// BBR v1 in packets, as libudx.
#[derive(Debug, Clone)]
pub(crate) struct Bbr {
    /// The payload of a full packet, for the pacing rate in bytes.
    mss: u32,
    cwnd: u32,
    /// Bytes per millisecond.
    pacing_rate: f64,
    has_seen_rtt: bool,
    mode: Mode,
    pacing_gain: f64,
    cwnd_gain: f64,
    /// Packets per millisecond.
    bw: MaxFilter,
    rounds: u64,
    next_round_delivered: u64,
    round_start: bool,
    min_rtt: Option<Duration>,
    min_rtt_stamp: Instant,
    probe_rtt_done: Option<Instant>,
    probe_rtt_round_done: bool,
    idle_restart: bool,
    prior_cwnd: u32,
    prev_state: CaState,
    packet_conservation: bool,
    full_bw: f64,
    full_bw_count: u32,
    full_bw_reached: bool,
    cycle_index: usize,
    cycle_stamp: Instant,
    ack_epoch_start: Instant,
    ack_epoch_acked: u64,
    extra_acked: [u32; 2],
    extra_acked_rounds: u32,
    extra_acked_index: usize,

    // --- delivery-rate sampling (`udx_rate.c`) ---
    /// Packets delivered so far (acked or SACKed, each once).
    delivered: u64,
    delivered_time: Instant,
    first_sent_time: Instant,
    /// Application-limited until `delivered` passes this mark.
    app_limited: Option<u64>,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl Bbr {
    pub(crate) fn new(mss: usize, now: Instant) -> Self {
        let mut bbr = Bbr {
            mss: mss as u32,
            cwnd: INITIAL_WINDOW,
            pacing_rate: 0.0,
            has_seen_rtt: false,
            mode: Mode::Startup,
            pacing_gain: HIGH_GAIN,
            cwnd_gain: HIGH_GAIN,
            bw: MaxFilter::new(),
            rounds: 0,
            next_round_delivered: 0,
            round_start: false,
            min_rtt: None,
            min_rtt_stamp: now,
            probe_rtt_done: None,
            probe_rtt_round_done: false,
            idle_restart: false,
            prior_cwnd: 0,
            prev_state: CaState::Open,
            packet_conservation: false,
            full_bw: 0.0,
            full_bw_count: 0,
            full_bw_reached: false,
            cycle_index: 0,
            cycle_stamp: now,
            ack_epoch_start: now,
            ack_epoch_acked: 0,
            extra_acked: [0; 2],
            extra_acked_rounds: 0,
            extra_acked_index: 0,
            delivered: 0,
            delivered_time: now,
            first_sent_time: now,
            // Until the first delivery (libudx starts at ~0).
            app_limited: Some(0),
        };
        bbr.init_pacing_rate(None);
        bbr
    }

    /// The congestion window in packets: at most this many in flight.
    pub(crate) fn window(&self) -> u32 {
        self.cwnd
    }

    /// The pacing rate in bytes per millisecond.
    pub(crate) fn pacing_rate(&self) -> f64 {
        self.pacing_rate
    }

    /// The bottleneck rate the model believes in, packets per millisecond.
    pub(crate) fn bandwidth(&self) -> f64 {
        self.bw.get()
    }

    /// Whether STARTUP found the path's rate.
    pub(crate) fn full_bandwidth(&self) -> bool {
        self.full_bw_reached
    }

    /// A packet goes out now. `idle`: nothing was in flight before it;
    /// `first_of_flight`: nothing at all was outstanding (a new flight
    /// starts its rate interval here); `app_limited`: the sender has less
    /// than a packet more to send and room in the window (`udx__rate_check_
    /// app_limited`, before the send). Returns what to keep with the packet.
    pub(crate) fn on_send(
        &mut self,
        now: Instant,
        in_flight: u32,
        first_of_flight: bool,
        app_limited: bool,
    ) -> SendState {
        if app_limited {
            self.app_limited = Some((self.delivered + u64::from(in_flight)).max(1));
        }
        if first_of_flight {
            self.first_sent_time = now;
            self.delivered_time = now;
        }
        let state = SendState {
            delivered: self.delivered,
            delivered_time: self.delivered_time,
            first_sent_time: self.first_sent_time,
            app_limited: self.app_limited.is_some(),
        };
        if in_flight == 0 {
            self.on_transmit_start(now);
        }
        state
    }

    /// `bbr_on_transmit_start`: sending again after the pipe emptied.
    fn on_transmit_start(&mut self, now: Instant) {
        if self.app_limited.is_none() {
            return;
        }
        self.idle_restart = true;
        self.ack_epoch_start = now;
        self.ack_epoch_acked = 0;
        match self.mode {
            Mode::ProbeBw => self.set_pacing_rate(self.bw.get(), 1.0, None),
            Mode::ProbeRtt => self.check_probe_rtt_done(now),
            _ => {}
        }
    }

    /// A packet sent at `time_sent` as transmission `order` was delivered
    /// (acked or SACKed for the first time): counted, and the newest such
    /// packet of the ack makes its rate sample (`udx__rate_pkt_delivered`).
    pub(crate) fn on_delivered(
        &mut self,
        sample: &mut RateSample,
        sent: SendState,
        time_sent: Instant,
        order: u64,
    ) {
        self.delivered += 1;
        if sample.newest.is_none_or(|(newest, ..)| order > newest) {
            let interval = time_sent.saturating_duration_since(sent.first_sent_time);
            sample.newest = Some((order, sent, interval));
            self.first_sent_time = time_sent;
        }
    }

    /// The start of a fast recovery: remember the window to restore.
    pub(crate) fn on_recovery(&mut self) {
        self.save_cwnd();
    }

    /// The retransmission timer fired (`bbr_on_rto`): the window drops to
    /// its floor until the losses are repaired.
    pub(crate) fn on_rto(&mut self) {
        self.save_cwnd();
        self.prev_state = CaState::Loss;
        self.full_bw = 0.0;
        self.round_start = true;
        self.cwnd = MIN_WINDOW;
    }

    /// One ack processed: `acked` packets newly delivered (each passed to
    /// `on_delivered`), `losses` newly found lost while processing it, the
    /// stream's state after it, the packets still in flight, the smoothed
    /// and the minimum RTT so far. Updates the model, the window and the
    /// pacing rate (`udx__rate_gen` and `bbr_main`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_ack(
        &mut self,
        sample: RateSample,
        acked: u32,
        losses: u32,
        state: CaState,
        in_flight: u32,
        srtt: Option<Duration>,
        rtt_min: Option<Duration>,
        now: Instant,
    ) {
        let sample = self.rate_sample(sample, acked, losses, rtt_min, now);
        self.update_bw(&sample);
        self.update_ack_aggregation(&sample);
        self.update_cycle_phase(&sample, in_flight);
        self.check_full_bw_reached(&sample);
        self.check_drain(in_flight);
        self.update_min_rtt(&sample, in_flight, now);
        self.update_gains();
        let bw = self.bw.get();
        self.set_pacing_rate(bw, self.pacing_gain, srtt);
        self.set_cwnd(&sample, state, in_flight, bw);
    }

    /// `udx__rate_gen`.
    fn rate_sample(
        &mut self,
        sample: RateSample,
        acked: u32,
        losses: u32,
        rtt_min: Option<Duration>,
        now: Instant,
    ) -> Sample {
        if self.app_limited.is_some_and(|mark| self.delivered > mark) {
            self.app_limited = None;
        }
        if acked > 0 {
            self.delivered_time = now;
        }
        let mut out = Sample {
            delivered: None,
            prior_delivered: 0,
            app_limited: false,
            acked,
            losses,
            rtt: sample.rtt,
        };
        let Some((_, sent, send_interval)) = sample.newest else {
            return out;
        };
        out.prior_delivered = sent.delivered;
        out.app_limited = sent.app_limited;
        let ack_interval = now.saturating_duration_since(sent.delivered_time);
        let interval = send_interval.max(ack_interval);
        // An interval shorter than any round trip measures ack compression,
        // not the path.
        if interval.is_zero() || rtt_min.is_some_and(|min| interval < min) {
            return out;
        }
        out.delivered = Some((self.delivered - sent.delivered, interval));
        out
    }

    fn bdp(&self, bw: f64, gain: f64) -> u32 {
        match self.min_rtt {
            None => INITIAL_WINDOW,
            Some(min_rtt) => (bw * millis(min_rtt) * gain) as u32,
        }
    }

    fn update_bw(&mut self, sample: &Sample) {
        self.round_start = false;
        let Some((delivered, interval)) = sample.delivered else {
            return;
        };
        if sample.prior_delivered >= self.next_round_delivered {
            self.next_round_delivered = self.delivered;
            self.rounds += 1;
            self.round_start = true;
            self.packet_conservation = false;
        }
        let bw = delivered as f64 / millis(interval);
        if bw > 0.0 && (!sample.app_limited || bw >= self.bw.get()) {
            self.bw.apply(BW_FILTER_ROUNDS, self.rounds, bw);
        }
    }

    fn update_ack_aggregation(&mut self, sample: &Sample) {
        if sample.acked == 0 || sample.delivered.is_none() {
            return;
        }
        if self.round_start {
            self.extra_acked_rounds = (self.extra_acked_rounds + 1).min(0xff);
            if self.extra_acked_rounds >= EXTRA_ACKED_WIN_ROUNDS {
                self.extra_acked_rounds = 0;
                self.extra_acked_index = 1 - self.extra_acked_index;
                self.extra_acked[self.extra_acked_index] = 0;
            }
        }
        let epoch = millis(
            self.delivered_time
                .saturating_duration_since(self.ack_epoch_start),
        );
        let mut expected = (self.bw.get() * epoch) as u64;
        if self.ack_epoch_acked <= expected
            || self.ack_epoch_acked + u64::from(sample.acked) >= ACK_EPOCH_RESET
        {
            self.ack_epoch_acked = 0;
            self.ack_epoch_start = self.delivered_time;
            expected = 0;
        }
        self.ack_epoch_acked += u64::from(sample.acked);
        let extra = (self.ack_epoch_acked - expected).min(u64::from(self.cwnd)) as u32;
        let slot = &mut self.extra_acked[self.extra_acked_index];
        *slot = (*slot).max(extra);
    }

    fn update_cycle_phase(&mut self, sample: &Sample, in_flight: u32) {
        if self.mode != Mode::ProbeBw {
            return;
        }
        let full_length = self.min_rtt.is_some_and(|min| {
            self.delivered_time
                .saturating_duration_since(self.cycle_stamp)
                > min
        });
        let bw = self.bw.get();
        let next = if self.pacing_gain == 1.0 {
            full_length
        } else if self.pacing_gain > 1.0 {
            full_length && (sample.losses > 0 || in_flight > self.bdp(bw, self.pacing_gain))
        } else {
            full_length || in_flight <= self.bdp(bw, 1.0)
        };
        if next {
            self.cycle_index = (self.cycle_index + 1) % PACING_GAINS.len();
            self.cycle_stamp = self.delivered_time;
        }
    }

    fn check_full_bw_reached(&mut self, sample: &Sample) {
        if self.full_bw_reached || !self.round_start || sample.app_limited {
            return;
        }
        let bw = self.bw.get();
        if bw >= self.full_bw * FULL_BW_THRESH {
            self.full_bw = bw;
            self.full_bw_count = 0;
            return;
        }
        self.full_bw_count += 1;
        self.full_bw_reached = self.full_bw_count >= FULL_BW_COUNT;
    }

    fn check_drain(&mut self, in_flight: u32) {
        if self.mode == Mode::Startup && self.full_bw_reached {
            self.mode = Mode::Drain;
        }
        if self.mode == Mode::Drain && in_flight <= self.bdp(self.bw.get(), 1.0) {
            self.enter_probe_bw();
        }
    }

    fn enter_probe_bw(&mut self) {
        self.mode = Mode::ProbeBw;
        // libudx starts at 3 where Linux draws it at random; the cycle
        // then advances at once.
        self.cycle_index = 4;
        self.cycle_stamp = self.delivered_time;
    }

    fn reset_mode(&mut self) {
        if self.full_bw_reached {
            self.enter_probe_bw();
        } else {
            self.mode = Mode::Startup;
        }
    }

    fn check_probe_rtt_done(&mut self, now: Instant) {
        if self.probe_rtt_done.is_none_or(|done| now <= done) {
            return;
        }
        self.min_rtt_stamp = now;
        self.cwnd = self.cwnd.max(self.prior_cwnd);
        self.reset_mode();
    }

    fn update_min_rtt(&mut self, sample: &Sample, in_flight: u32, now: Instant) {
        let expired = now > self.min_rtt_stamp + MIN_RTT_WINDOW;
        if let Some(rtt) = sample.rtt {
            if self.min_rtt.is_none_or(|min| rtt < min) || expired {
                self.min_rtt = Some(rtt.max(CLOCK));
                self.min_rtt_stamp = now;
            }
        }
        if expired && !self.idle_restart && self.mode != Mode::ProbeRtt {
            self.mode = Mode::ProbeRtt;
            self.save_cwnd();
            self.probe_rtt_done = None;
        }
        if self.mode == Mode::ProbeRtt {
            self.app_limited = Some((self.delivered + u64::from(in_flight)).max(1));
            if self.probe_rtt_done.is_none() && in_flight <= MIN_WINDOW {
                self.probe_rtt_done = Some(now + PROBE_RTT_TIME);
                self.probe_rtt_round_done = false;
                self.next_round_delivered = self.delivered;
            } else if self.probe_rtt_done.is_some() {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done {
                    self.check_probe_rtt_done(now);
                }
            }
        }
        if sample.delivered.is_some_and(|(delivered, _)| delivered > 0) {
            self.idle_restart = false;
        }
    }

    fn update_gains(&mut self) {
        (self.pacing_gain, self.cwnd_gain) = match self.mode {
            Mode::Startup => (HIGH_GAIN, HIGH_GAIN),
            Mode::Drain => (DRAIN_GAIN, HIGH_GAIN),
            Mode::ProbeBw => (PACING_GAINS[self.cycle_index], CWND_GAIN),
            Mode::ProbeRtt => (1.0, 1.0),
        };
    }

    fn rate_of(&self, bw: f64, gain: f64) -> f64 {
        (bw * f64::from(self.mss) * gain * PACING_MARGIN).max(1.0)
    }

    /// `bbr_init_pacing_rate_from_rtt`: the initial window over the RTT.
    fn init_pacing_rate(&mut self, srtt: Option<Duration>) {
        self.has_seen_rtt = srtt.is_some();
        let srtt = millis(srtt.unwrap_or(CLOCK).max(CLOCK));
        self.pacing_rate = self.rate_of(f64::from(self.cwnd) / srtt, HIGH_GAIN);
    }

    fn set_pacing_rate(&mut self, bw: f64, gain: f64, srtt: Option<Duration>) {
        if !self.has_seen_rtt && srtt.is_some() {
            self.init_pacing_rate(srtt);
        }
        let rate = self.rate_of(bw, gain);
        if self.full_bw_reached || rate > self.pacing_rate {
            self.pacing_rate = rate;
        }
    }

    /// `bbr_save_cwnd`: the window to come back to after a recovery or
    /// PROBE_RTT.
    fn save_cwnd(&mut self) {
        if self.prev_state == CaState::Open && self.mode != Mode::ProbeRtt {
            self.prior_cwnd = self.cwnd;
        } else {
            self.prior_cwnd = self.prior_cwnd.max(self.cwnd);
        }
    }

    fn ack_aggregation_cwnd(&self) -> u32 {
        if !self.full_bw_reached {
            return 0;
        }
        let most = (self.bw.get() * EXTRA_ACKED_MAX_MS) as u32;
        self.extra_acked[0].max(self.extra_acked[1]).min(most)
    }

    /// `bbr_set_cwnd` with `bbr_set_cwnd_to_recover_or_restore`: losses
    /// come off the window; the first round of a recovery sends one packet
    /// per packet delivered; leaving a recovery restores the window it
    /// began with; otherwise the window grows by what was acked towards
    /// `cwnd_gain` bandwidth-delay products.
    fn set_cwnd(&mut self, sample: &Sample, state: CaState, in_flight: u32, bw: f64) {
        let acked = sample.acked;
        if acked > 0 {
            let mut cwnd = self.cwnd;
            if sample.losses > 0 {
                cwnd = cwnd.saturating_sub(sample.losses).max(1);
            }
            if state == CaState::Recovery && self.prev_state != CaState::Recovery {
                self.packet_conservation = true;
                self.next_round_delivered = self.delivered;
                cwnd = in_flight + acked;
            } else if self.prev_state != CaState::Open && state == CaState::Open {
                cwnd = cwnd.max(self.prior_cwnd);
                self.packet_conservation = false;
            }
            self.prev_state = state;
            if self.packet_conservation {
                cwnd = cwnd.max(in_flight + acked);
            } else {
                let target = self.bdp(bw, self.cwnd_gain) + self.ack_aggregation_cwnd();
                if self.full_bw_reached {
                    cwnd = (cwnd + acked).min(target);
                } else if cwnd < target || self.delivered < u64::from(INITIAL_WINDOW) {
                    cwnd += acked;
                }
                cwnd = cwnd.max(MIN_WINDOW);
            }
            self.cwnd = cwnd.min(MAX_WINDOW);
        }
        if self.mode == Mode::ProbeRtt {
            self.cwnd = self.cwnd.min(MIN_WINDOW);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1152;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A path of `rate` packets per millisecond behind `rtt` of
    /// propagation, for `time`: the sender sends as its window and pacing
    /// rate allow, each packet waits for the bottleneck, and its ack comes
    /// back `rtt` after it left the bottleneck. Returns the clock at the end.
    fn run(bbr: &mut Bbr, start: Instant, rate: f64, rtt: Duration, time: Duration) -> Instant {
        let service = Duration::from_secs_f64(1.0 / rate / 1e3);
        let (mut now, mut link_free, mut next_send) = (start, start, start);
        let mut flight = std::collections::VecDeque::new();
        let mut order = 0u64;
        while now < start + time {
            while (flight.len() as u32) < bbr.window() && next_send <= now {
                let in_flight = flight.len() as u32;
                let state = bbr.on_send(now, in_flight, flight.is_empty(), false);
                link_free = link_free.max(now) + service;
                flight.push_back((link_free + rtt, state, now, order));
                order += 1;
                let gap = MSS as f64 / bbr.pacing_rate();
                next_send = next_send.max(now) + Duration::from_secs_f64(gap / 1e3);
            }
            let Some(&(at, state, sent, order)) = flight.front() else {
                now = next_send;
                continue;
            };
            if (flight.len() as u32) < bbr.window() && next_send < at {
                now = next_send;
                continue;
            }
            flight.pop_front();
            now = at;
            let mut sample = RateSample {
                rtt: Some(at - sent),
                ..RateSample::default()
            };
            bbr.on_delivered(&mut sample, state, sent, order);
            let in_flight = flight.len() as u32;
            bbr.on_ack(
                sample,
                1,
                0,
                CaState::Open,
                in_flight,
                Some(rtt),
                Some(rtt),
                now,
            );
        }
        now
    }

    #[test]
    fn the_bandwidth_filter_keeps_the_best_of_its_window() {
        let mut f = MaxFilter::new();
        f.apply(10, 1, 5.0);
        f.apply(10, 2, 3.0);
        assert_eq!(f.get(), 5.0);
        f.apply(10, 5, 4.0);
        assert_eq!(f.get(), 5.0);
        // Round 12: the 5 is out of the window; the best after it stays.
        f.apply(10, 12, 1.0);
        assert_eq!(f.get(), 4.0);
        f.apply(10, 30, 2.0);
        assert_eq!(f.get(), 2.0);
        f.apply(10, 31, 9.0);
        assert_eq!(f.get(), 9.0);
    }

    #[test]
    fn starts_at_ten_packets_paced_at_the_high_gain() {
        let bbr = Bbr::new(MSS, Instant::now());
        assert_eq!(bbr.window(), INITIAL_WINDOW);
        // 10 packets per millisecond (no RTT yet: 1 ms) times 2.885.
        let rate = 10.0 * MSS as f64 * HIGH_GAIN * PACING_MARGIN;
        assert!(
            (bbr.pacing_rate() - rate).abs() < 1.0,
            "{}",
            bbr.pacing_rate()
        );
        assert_eq!(bbr.mode, Mode::Startup);
    }

    /// BBR after 2 s on a path of 20 packets per ms and 10 ms.
    fn steady() -> (Bbr, Instant) {
        let t = Instant::now();
        let mut bbr = Bbr::new(MSS, t);
        let now = run(&mut bbr, t, 20.0, ms(10), Duration::from_secs(2));
        (bbr, now)
    }

    #[test]
    fn finds_the_rate_of_a_path_and_keeps_two_bdp_in_flight() {
        let t = Instant::now();
        let mut bbr = Bbr::new(MSS, t);
        // 20 packets per ms (23 MB/s), 10 ms: a BDP of 200 packets.
        run(&mut bbr, t, 20.0, ms(10), Duration::from_secs(2));
        assert!(bbr.full_bandwidth());
        assert_eq!(bbr.mode, Mode::ProbeBw);
        let bw = bbr.bandwidth();
        assert!((15.0..=21.0).contains(&bw), "bandwidth {bw} packets/ms");
        let cwnd = bbr.window();
        assert!((300..=600).contains(&cwnd), "window {cwnd}");
        let rate = bbr.pacing_rate() / MSS as f64;
        assert!((10.0..=30.0).contains(&rate), "pacing {rate} packets/ms");
    }

    /// One more packet, sent at `sent` with `in_flight` others out and
    /// acked at `at`, the stream then in `state`, `losses` found by the ack.
    fn ack_one(
        bbr: &mut Bbr,
        sent: Instant,
        at: Instant,
        in_flight: u32,
        state: CaState,
        losses: u32,
        app_limited: bool,
    ) {
        let kept = bbr.on_send(sent, in_flight, in_flight == 0, app_limited);
        let rtt = at - sent;
        let mut sample = RateSample {
            rtt: Some(rtt),
            ..RateSample::default()
        };
        let order = (1 << 40) + bbr.delivered;
        bbr.on_delivered(&mut sample, kept, sent, order);
        bbr.on_ack(
            sample,
            1,
            losses,
            state,
            in_flight,
            Some(rtt),
            Some(ms(10)),
            at,
        );
    }

    #[test]
    fn a_loss_costs_one_round_of_conservation_not_half_the_window() {
        let (mut bbr, now) = steady();
        let before = bbr.window();
        // One packet lost: recovery; the ack that found it delivered one.
        bbr.on_recovery();
        ack_one(
            &mut bbr,
            now,
            now + ms(10),
            100,
            CaState::Recovery,
            1,
            false,
        );
        assert_eq!(
            bbr.window(),
            101,
            "one out per one delivered, from what is in flight"
        );
        // Recovery over: the window it began with is back, as far as the
        // model's target (which this ack moved a little) allows.
        ack_one(
            &mut bbr,
            now + ms(10),
            now + ms(20),
            100,
            CaState::Open,
            0,
            false,
        );
        assert!(
            bbr.window() * 10 >= before * 9,
            "{} after, {before} before",
            bbr.window()
        );
    }

    #[test]
    fn an_rto_drops_to_the_floor_and_the_window_comes_back_after() {
        let (mut bbr, now) = steady();
        let before = bbr.window();
        bbr.on_rto();
        assert_eq!(bbr.window(), MIN_WINDOW);
        ack_one(&mut bbr, now, now + ms(10), 0, CaState::Open, 0, false);
        assert!(
            bbr.window() * 10 >= before * 9,
            "{} after, {before} before",
            bbr.window()
        );
    }

    #[test]
    fn app_limited_samples_do_not_lower_the_rate() {
        let (mut bbr, mut now) = steady();
        let bw = bbr.bandwidth();
        // A trickle: one packet per round trip, the sender idle.
        for _ in 0..30 {
            ack_one(&mut bbr, now, now + ms(10), 0, CaState::Open, 0, true);
            now += ms(10);
        }
        assert!(
            bbr.bandwidth() >= bw * 0.99,
            "{} after {bw}",
            bbr.bandwidth()
        );
    }

    #[test]
    fn probe_rtt_holds_four_packets_after_ten_seconds_without_a_new_minimum() {
        let (mut bbr, now) = steady();
        // Eleven seconds on, RTTs a little above the minimum.
        let later = now + Duration::from_secs(11);
        ack_one(
            &mut bbr,
            later,
            later + ms(12),
            100,
            CaState::Open,
            0,
            false,
        );
        assert_eq!(bbr.mode, Mode::ProbeRtt);
        assert_eq!(bbr.window(), MIN_WINDOW);
    }
}
