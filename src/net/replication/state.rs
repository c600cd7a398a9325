//! The replication of one log with all its peers, as a pure state machine:
//! messages and outcomes in, effects out (docs/architecture.md §2,
//! "Replication"). Every call takes `now`; `driver` does the IO.
//!
//! Downloading: one upgrade at a time, to the longest peer's length; then
//! missing blocks from the newest down, spread over the peers
//! that hold them, up to `Peer::capacity` requests in flight each, asked
//! again elsewhere after `REQUEST_TIMEOUT` or a no-data. Serving: a request
//! within what we hold becomes a proof, anything else a no-data. Telling:
//! our length goes out in a sync whenever it changed or a peer has it
//! wrong, and the blocks we gain in ranges. A peer whose proofs fail
//! `MAX_STRIKES` times is detached.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range as Span;
use std::time::{Duration, Instant};

use hypercore_protocol::schema::{Data, Range, Request, Synchronize, Want};
use hypercore_protocol::Message;

use super::checks::{self, Asked, Local};
use super::ranges::{bitfield_runs, RangeSet, MAX_BLOCK};

/// Identifies a peer's channel within one log's replication.
pub(crate) type PeerId = u64;

/// A request unanswered this long is asked again, of another peer if one
/// holds the block.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(8);

/// Proofs from one peer that may fail verification before it is detached.
pub(crate) const MAX_STRIKES: u32 = 3;

/// Requests in flight per peer: at least the first, at most the second,
/// scaled by round-trip time as JS hypercore does.
pub(crate) const INFLIGHT: (usize, usize) = (32, 512);

/// Round trips up to this long keep the smallest window.
const SCALE_LATENCY: Duration = Duration::from_millis(50);

/// Blocks looked at per scheduling pass, so one pass stays short.
const SCAN_LIMIT: usize = 4096;

/// Blocks remembered with the peer that let their request time out.
const TIMED_OUT_KEPT: usize = 4096;

/// Ranges sent in one announcement of what we hold.
const MAX_ANNOUNCED_RUNS: usize = 64;

/// Blocks per `want` segment, as JS hypercore (256 KiB of bits).
pub(crate) const WANT_SEGMENT: u64 = 256 * 1024 * 8;

/// Work for the driver.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Send this message to the peer.
    Send(PeerId, Message),
    /// Answer this request (already checked by `checks::servable`) with a
    /// proof, or a no-data when hypercore has none.
    Serve(PeerId, Request),
    /// Ask the peer for a block and/or an upgrade: the driver fills in the
    /// tree nodes we lack and sends the request with this id.
    Ask { peer: PeerId, id: u64, asked: Asked },
    /// Verify and apply this proof, then report with `applied`.
    Apply { peer: PeerId, id: u64, data: Data },
    /// The peer misbehaved: detach it and close its connection.
    Detach(PeerId, String),
    /// The highest block end the peer says it holds grew.
    PeerHolds(PeerId, u64),
}

/// How applying a proof went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    Done,
    /// Hypercore did not take it (not commitable) or failed on it.
    Refused(String),
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    asked: Asked,
    at: Instant,
    /// Our length when it was asked: a refusal after a change is no fault.
    length: u64,
}

#[derive(Debug)]
struct Peer {
    synced: bool,
    fork: u64,
    length: u64,
    /// Our length and its, as our last sync to it said.
    told: Option<(u64, u64)>,
    holds: RangeSet,
    reported_end: u64,
    requests: HashMap<u64, Sent>,
    next_id: u64,
    rtt: Option<Duration>,
    strikes: u32,
    /// `want` segments asked of it.
    wanted: HashSet<u64>,
    /// Its length when an upgrade asked of it timed out or got a no-data:
    /// until it says another length, any other peer that can upgrade us is
    /// asked first (a peer claiming a length it never proves must not hold
    /// up the upgrade forever).
    stalled_at: Option<u64>,
}

impl Peer {
    fn new() -> Self {
        Self {
            synced: false,
            fork: 0,
            length: 0,
            told: None,
            holds: RangeSet::default(),
            reported_end: 0,
            requests: HashMap::new(),
            next_id: 1,
            rtt: None,
            strikes: 0,
            wanted: HashSet::new(),
            stalled_at: None,
        }
    }

    /// Requests it may have in flight.
    fn capacity(&self) -> usize {
        let (low, high) = INFLIGHT;
        let Some(rtt) = self.rtt.filter(|rtt| *rtt > SCALE_LATENCY) else {
            return low;
        };
        let scale = rtt.as_secs_f64() / SCALE_LATENCY.as_secs_f64();
        ((low as f64 * scale).round() as usize).clamp(low, high)
    }

    fn has_room(&self) -> bool {
        self.requests.len() < self.capacity()
    }

    fn can_serve(&self, block: u64, fork: u64) -> bool {
        self.synced && self.fork == fork && block < self.length && self.holds.contains(block)
    }

    fn sample_rtt(&mut self, sample: Duration) {
        self.rtt = Some(match self.rtt {
            Some(rtt) => (rtt * 7 + sample) / 8,
            None => sample,
        });
    }
}

/// One log's replication state.
#[derive(Debug)]
pub(crate) struct Replication {
    local: Local,
    held: RangeSet,
    peers: BTreeMap<PeerId, Peer>,
    /// Blocks asked for, and of whom.
    inflight: BTreeMap<u64, PeerId>,
    /// The upgrade in flight: the peer and request id.
    upgrading: Option<(PeerId, u64)>,
    /// Blocks whose request timed out, and of whom: asked again of another
    /// peer when one holds them (a silent peer must not keep a block).
    timed_out: BTreeMap<u64, PeerId>,
    /// Blocks gained since they were last announced.
    gained: RangeSet,
}

impl Replication {
    /// `held` is every block we hold of a log of `local.length`.
    pub(crate) fn new(local: Local, held: RangeSet) -> Self {
        Self {
            local,
            held,
            peers: BTreeMap::new(),
            inflight: BTreeMap::new(),
            upgrading: None,
            timed_out: BTreeMap::new(),
            gained: RangeSet::default(),
        }
    }

    pub(crate) fn local(&self) -> Local {
        self.local
    }

    /// A channel opened: we say our length and what we hold.
    pub(crate) fn attach(&mut self, peer: PeerId) -> Vec<Effect> {
        self.peers.insert(peer, Peer::new());
        let mut out = vec![];
        self.announce_holdings(peer, &mut out);
        self.sync_if_due(peer, true, &mut out);
        out
    }

    /// A channel closed: what was asked of it is asked elsewhere.
    pub(crate) fn detach(&mut self, peer: PeerId) {
        if self.peers.remove(&peer).is_none() {
            return;
        }
        self.inflight.retain(|_, p| *p != peer);
        self.timed_out.retain(|_, p| *p != peer);
        if self.upgrading.is_some_and(|(p, _)| p == peer) {
            self.upgrading = None;
        }
    }

    #[cfg(test)]
    pub(crate) fn has_peer(&self, peer: PeerId) -> bool {
        self.peers.contains_key(&peer)
    }

    /// Our log changed outside replication (a local append): `local` is its
    /// state now and `gained` the blocks it brought.
    pub(crate) fn local_changed(&mut self, local: Local, gained: Span<u64>) {
        self.local = local;
        self.gain(gained);
    }

    fn gain(&mut self, blocks: Span<u64>) {
        if blocks.start < blocks.end {
            self.held.insert(blocks.start, blocks.end - blocks.start);
            self.gained.insert(blocks.start, blocks.end - blocks.start);
            let done: Vec<u64> = self.timed_out.range(blocks).map(|(b, _)| *b).collect();
            for block in done {
                self.timed_out.remove(&block);
            }
        }
    }

    /// A message from a peer.
    pub(crate) fn on_message(
        &mut self,
        from: PeerId,
        message: Message,
        now: Instant,
    ) -> Vec<Effect> {
        let mut out = vec![];
        if !self.peers.contains_key(&from) {
            return out;
        }
        match message {
            Message::Synchronize(sync) => self.on_sync(from, &sync, &mut out),
            Message::Request(request) => {
                if checks::servable(&request, &self.local, &self.held) {
                    out.push(Effect::Serve(from, request));
                } else {
                    let no_data = hypercore_protocol::schema::NoData {
                        request: request.id,
                    };
                    out.push(Effect::Send(from, Message::NoData(no_data)));
                }
            }
            Message::Data(data) => self.on_data(from, data, now, &mut out),
            Message::NoData(no_data) => {
                if let Some(sent) = self.take_request(from, no_data.request) {
                    // It does not have that block after all.
                    if let (Some(block), Some(peer)) = (sent.asked.block, self.peers.get_mut(&from))
                    {
                        peer.holds.remove(block, 1);
                    }
                    if sent.asked.upgrade.is_some() {
                        self.upgrade_stalled(from);
                    }
                }
            }
            Message::Range(range) => {
                if let Some(peer) = self.peers.get_mut(&from) {
                    if range.drop {
                        peer.holds.remove(range.start, range.length);
                    } else {
                        peer.holds.insert(range.start, range.length);
                    }
                }
                self.report_holds(from, &mut out);
            }
            Message::Bitfield(bitfield) => {
                if let Some(peer) = self.peers.get_mut(&from) {
                    for run in bitfield_runs(bitfield.start, &bitfield.bitfield) {
                        peer.holds.insert(run.start, run.end - run.start);
                    }
                }
                self.report_holds(from, &mut out);
            }
            Message::Want(want) => self.on_want(from, &want, &mut out),
            // Cancels come too late to matter (requests are answered at
            // once); extensions are read by the connection.
            _ => {}
        }
        out
    }

    fn on_sync(&mut self, from: PeerId, sync: &Synchronize, out: &mut Vec<Effect>) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        peer.synced = true;
        peer.fork = sync.fork;
        // No log reaches `MAX_BLOCK`: a longer claim would be asked for an
        // upgrade whose end overflows the crate's tree arithmetic.
        peer.length = sync.length.min(MAX_BLOCK);
        self.sync_if_due(from, false, out);
        self.report_holds(from, out);
    }

    /// Sends our sync when our length or the peer's changed since we last
    /// told it (JS asks for an upgrade only once our sync has acknowledged
    /// its length), or `force`.
    fn sync_if_due(&mut self, to: PeerId, force: bool, out: &mut Vec<Effect>) {
        let local = self.local;
        let Some(peer) = self.peers.get_mut(&to) else {
            return;
        };
        let theirs = if peer.fork == local.fork {
            peer.length
        } else {
            0
        };
        let pair = (local.length, theirs);
        if !force && peer.told == Some(pair) {
            return;
        }
        peer.told = Some(pair);
        out.push(Effect::Send(
            to,
            synchronize(local.fork, local.length, theirs),
        ));
    }

    fn on_want(&mut self, from: PeerId, want: &Want, out: &mut Vec<Effect>) {
        let end = want
            .start
            .saturating_add(want.length)
            .min(self.local.length);
        let prefix = self.held.prefix().min(self.local.length);
        let runs: Vec<Span<u64>> = if want.start < prefix && end <= prefix {
            std::iter::once(0..prefix).collect()
        } else {
            self.held.within(want.start..end)
        };
        for run in runs.into_iter().take(MAX_ANNOUNCED_RUNS) {
            out.push(Effect::Send(from, range_message(run)));
        }
    }

    fn report_holds(&mut self, from: PeerId, out: &mut Vec<Effect>) {
        if let Some(peer) = self.peers.get_mut(&from) {
            // No further than the log is known to reach: claims past it
            // are a peer's to make, not ours to show.
            let end = peer.holds.end().min(peer.length.max(self.local.length));
            if end > peer.reported_end {
                peer.reported_end = end;
                out.push(Effect::PeerHolds(from, end));
            }
        }
    }

    fn take_request(&mut self, from: PeerId, id: u64) -> Option<Sent> {
        let sent = self.peers.get_mut(&from)?.requests.remove(&id)?;
        if let Some(block) = sent.asked.block {
            if self.inflight.get(&block) == Some(&from) {
                self.inflight.remove(&block);
            }
        }
        if self.upgrading == Some((from, id)) {
            self.upgrading = None;
        }
        Some(sent)
    }

    fn on_data(&mut self, from: PeerId, data: Data, now: Instant, out: &mut Vec<Effect>) {
        let Some(sent) = self
            .peers
            .get(&from)
            .and_then(|p| p.requests.get(&data.request))
            .copied()
        else {
            // An answer to nothing we are waiting for (late, or pushed):
            // ignored, as JS hypercore does.
            return;
        };
        if let Err(e) = checks::answers(&data, &sent.asked) {
            self.take_request(from, data.request);
            self.strike(from, &e.to_string(), out);
            return;
        }
        if let Some(peer) = self.peers.get_mut(&from) {
            peer.sample_rtt(now.saturating_duration_since(sent.at));
        }
        let needed_block = sent.asked.block.is_some_and(|b| !self.held.contains(b));
        let needed_upgrade = sent
            .asked
            .upgrade
            .is_some_and(|(start, length)| start == self.local.length && length > 0);
        if data.fork != self.local.fork || (!needed_block && !needed_upgrade) {
            // Another peer's proof came first, or the fork moved on.
            self.take_request(from, data.request);
            return;
        }
        out.push(Effect::Apply {
            peer: from,
            id: data.request,
            data,
        });
    }

    /// The outcome of an `Apply`: `local` is the log's state afterwards.
    pub(crate) fn applied(
        &mut self,
        from: PeerId,
        id: u64,
        outcome: Applied,
        local: Local,
    ) -> Vec<Effect> {
        let mut out = vec![];
        let sent = self.take_request(from, id);
        let before = self.local;
        self.local = local;
        match outcome {
            Applied::Done => {
                if let Some(block) = sent.and_then(|s| s.asked.block) {
                    self.gain(block..block + 1);
                }
            }
            Applied::Refused(reason) => {
                let changed = sent.is_some_and(|s| s.length != before.length)
                    || before.length != local.length
                    || sent
                        .and_then(|s| s.asked.block)
                        .is_some_and(|b| self.held.contains(b));
                if !changed {
                    self.strike(from, &reason, &mut out);
                }
            }
        }
        out
    }

    fn strike(&mut self, from: PeerId, reason: &str, out: &mut Vec<Effect>) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        peer.strikes += 1;
        if peer.strikes >= MAX_STRIKES {
            out.push(Effect::Detach(
                from,
                format!("its proofs keep failing: {reason}"),
            ));
            self.detach(from);
        }
    }

    /// Everything due now: timeouts, syncs, announcements and requests.
    pub(crate) fn schedule(&mut self, now: Instant) -> Vec<Effect> {
        let mut out = vec![];
        self.expire(now);
        let ids: Vec<PeerId> = self.peers.keys().copied().collect();
        for &peer in &ids {
            self.sync_if_due(peer, false, &mut out);
        }
        self.announce_gained(&mut out);
        if !self.local.writable {
            self.ask_upgrade(now, &mut out);
            self.ask_blocks(now, &mut out);
        }
        out
    }

    /// When the earliest request in flight times out: the one thing that
    /// comes due with time alone (everything else follows a message or a
    /// change of the log). `None` while nothing is in flight.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.peers
            .values()
            .flat_map(|peer| peer.requests.values())
            .map(|sent| sent.at + REQUEST_TIMEOUT)
            .min()
    }

    fn expire(&mut self, now: Instant) {
        let mut expired = vec![];
        for (&id, peer) in &self.peers {
            for (&rid, sent) in &peer.requests {
                if now.saturating_duration_since(sent.at) >= REQUEST_TIMEOUT {
                    expired.push((id, rid));
                }
            }
        }
        for (peer, id) in expired {
            let Some(sent) = self.take_request(peer, id) else {
                continue;
            };
            if sent.asked.upgrade.is_some() {
                self.upgrade_stalled(peer);
            }
            if let Some(block) = sent.asked.block {
                if self.timed_out.len() < TIMED_OUT_KEPT {
                    self.timed_out.insert(block, peer);
                }
            }
        }
    }

    fn upgrade_stalled(&mut self, peer: PeerId) {
        if let Some(peer) = self.peers.get_mut(&peer) {
            peer.stalled_at = Some(peer.length);
        }
    }

    fn announce_holdings(&self, to: PeerId, out: &mut Vec<Effect>) {
        let end = self.local.length;
        for run in self
            .held
            .within(0..end)
            .into_iter()
            .rev()
            .take(MAX_ANNOUNCED_RUNS)
        {
            out.push(Effect::Send(to, range_message(run)));
        }
    }

    fn announce_gained(&mut self, out: &mut Vec<Effect>) {
        if self.gained == RangeSet::default() {
            return;
        }
        let gained = std::mem::take(&mut self.gained);
        let runs: Vec<Span<u64>> = gained.runs().rev().take(MAX_ANNOUNCED_RUNS).collect();
        // Sent to every peer, the writer too: that is how a writer learns
        // who holds its messages (the delivery marks).
        for &id in self.peers.keys() {
            for run in &runs {
                out.push(Effect::Send(id, range_message(run.clone())));
            }
        }
    }

    /// Asks the longest peer for its length. Never with a block: applying a
    /// proof that carries both an upgrade and a block panics inside
    /// hypercore 0.17.0-alpha.1 when the upgrade adds roots (compat:
    /// hypercore row), so the newest blocks follow in the next pass.
    fn ask_upgrade(&mut self, now: Instant, out: &mut Vec<Effect>) {
        if self.upgrading.is_some() {
            return;
        }
        let local = self.local;
        let best = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.synced && p.fork == local.fork && p.length > local.length && p.has_room()
            })
            .max_by_key(|(id, p)| {
                (
                    p.stalled_at != Some(p.length),
                    p.length,
                    std::cmp::Reverse(p.requests.len()),
                    std::cmp::Reverse(**id),
                )
            })
            .map(|(id, p)| (*id, p.length));
        let Some((peer, target)) = best else {
            return;
        };
        let asked = Asked {
            block: None,
            upgrade: Some((local.length, target - local.length)),
        };
        let id = self.send_request(peer, asked, now);
        self.upgrading = Some((peer, id));
        out.push(Effect::Ask { peer, id, asked });
    }

    fn send_request(&mut self, to: PeerId, asked: Asked, now: Instant) -> u64 {
        let length = self.local.length;
        let Some(peer) = self.peers.get_mut(&to) else {
            return 0;
        };
        let id = peer.next_id;
        peer.next_id += 1;
        peer.requests.insert(
            id,
            Sent {
                asked,
                at: now,
                length,
            },
        );
        id
    }

    fn ask_blocks(&mut self, now: Instant, out: &mut Vec<Effect>) {
        let local = self.local;
        if !self.peers.values().any(Peer::has_room) {
            return;
        }
        let candidates: Vec<u64> = self
            .held
            .gaps_below(local.length)
            .flat_map(|gap| gap.rev())
            .filter(|block| !self.inflight.contains_key(block))
            .take(SCAN_LIMIT)
            .collect();
        let mut asks = vec![];
        let mut unheld_segments = vec![];
        for block in candidates {
            let chosen = self
                .peers
                .iter()
                .filter(|(_, p)| p.has_room() && p.can_serve(block, local.fork))
                .min_by_key(|(id, p)| {
                    let timed_out = self.timed_out.get(&block) == Some(*id);
                    (timed_out, p.requests.len(), **id)
                })
                .map(|(id, _)| *id);
            match chosen {
                Some(peer) => {
                    let asked = Asked {
                        block: Some(block),
                        upgrade: None,
                    };
                    let id = self.send_request(peer, asked, now);
                    self.inflight.insert(block, peer);
                    asks.push(Effect::Ask { peer, id, asked });
                    if !self.peers.values().any(Peer::has_room) {
                        break;
                    }
                }
                None => unheld_segments.push(block / WANT_SEGMENT),
            }
        }
        out.extend(asks);
        unheld_segments.dedup();
        for segment in unheld_segments {
            self.want(segment, out);
        }
    }

    /// Asks every peer long enough, once, what it holds of a segment nobody
    /// said it holds.
    fn want(&mut self, segment: u64, out: &mut Vec<Effect>) {
        let start = segment * WANT_SEGMENT;
        for (&id, peer) in self.peers.iter_mut() {
            if !peer.synced || peer.length <= start || !peer.wanted.insert(segment) {
                continue;
            }
            out.push(Effect::Send(
                id,
                Message::Want(Want {
                    start,
                    length: WANT_SEGMENT,
                }),
            ));
        }
    }
}

/// A `Synchronize` as every peer of ours sends it: downloading, uploading
/// and open to upgrades.
pub(crate) fn synchronize(fork: u64, length: u64, remote_length: u64) -> Message {
    Message::Synchronize(Synchronize {
        fork,
        length,
        remote_length,
        downloading: true,
        uploading: true,
        can_upgrade: true,
    })
}

/// A `Range` announcing that the blocks of `run` are held.
pub(crate) fn range_message(run: Span<u64>) -> Message {
    Message::Range(Range {
        drop: false,
        start: run.start,
        length: run.end - run.start,
    })
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
