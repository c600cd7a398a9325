//! Hostile peers against one log's replication (docs/architecture.md §2,
//! "Replication", hostile peers): a harness that runs one
//! `state::Replication` over a real hypercore exactly as `driver` does (its
//! `serve`, `request` and `apply`), feeds it what a hostile peer may send
//! (honest proofs mutated, requests out of range, answers to requests never
//! made, raw bytes from the wire) and checks after every input that nothing
//! panicked and that the log holds only the writer's blocks; then an honest
//! peer must still bring the log to the writer's length. Used by the
//! property tests below and by `benches/fuzz_replication.rs` (through
//! `net::testing`); the running app never uses it.

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use compact_encoding::CompactEncoding;
use futures::FutureExt;
use hypercore::{Hypercore, HypercoreBuilder, PartialKeypair, SigningKey, Storage};
use hypercore_protocol::schema::{Bitfield, Cancel, Data, NoData, Range, Request, Unwant, Want};
use hypercore_protocol::Message;
use hypercore_schema::{
    DataBlock, DataHash, DataSeek, DataUpgrade, Node, RequestBlock, RequestSeek, RequestUpgrade,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;

use super::checks::{self, Asked};
use super::driver::{apply, held_blocks, local_of, request, serve};
use super::ranges::RangeSet;
use super::state::{
    range_message, synchronize, Applied, Effect, PeerId, Replication, REQUEST_TIMEOUT,
};
use crate::domain::keys::LogKey;
use crate::domain::message::ChatMessage;
use crate::net::compat::decoder_guard::{wire_reservation, SAFE_RESERVATION};

/// What the harness found wrong (an invariant a hostile input broke, a
/// hypercore that could not be set up), as the sentence a test failure or
/// the fuzz report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Broken(pub(crate) String);

impl Broken {
    fn from_error(e: impl std::fmt::Display) -> Self {
        Broken(e.to_string())
    }
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Broken {
    fn from(sentence: String) -> Self {
        Broken(sentence)
    }
}

impl From<&str> for Broken {
    fn from(sentence: &str) -> Self {
        Broken(sentence.to_string())
    }
}

/// Rounds an honest peer gets to complete the log.
const HONEST_ROUNDS: usize = 1_000;

/// Requests asked of the hostile peer that it may still answer.
const REMEMBERED_ASKS: usize = 256;

thread_local! {
    /// Panics on this thread since `count_panics`, caught or not.
    static PANICS: Cell<u64> = const { Cell::new(0) };
    /// Panics of the protocol's decoder on this thread (debug builds).
    static DECODER_PANICS: Cell<u64> = const { Cell::new(0) };
}

/// Counts every panic from now on, per thread, before the panic hook that
/// was set (which still runs).
fn count_panics() {
    static COUNTING: std::sync::Once = std::sync::Once::new();
    COUNTING.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
}

fn panics_so_far() -> u64 {
    PANICS.with(|p| p.get())
}

/// The log every reader follows: a writable in-memory hypercore of chat
/// blocks, its key pair drawn from a seed.
#[derive(Clone)]
pub(crate) struct Writer {
    core: Hypercore,
    key: LogKey,
    blocks: Arc<Vec<Vec<u8>>>,
}

impl Writer {
    /// A log of `length` chat blocks of assorted sizes.
    pub(crate) async fn new(seed: u64, length: u64) -> Result<Self, Broken> {
        let mut rng = StdRng::seed_from_u64(seed);
        let secret = SigningKey::from_bytes(&rng.gen());
        let key_pair = PartialKeypair {
            public: secret.verifying_key(),
            secret: Some(secret),
        };
        let storage = Storage::new_memory().await.map_err(Broken::from_error)?;
        let core = HypercoreBuilder::new(storage)
            .key_pair(key_pair)
            .build()
            .await
            .map_err(Broken::from_error)?;
        let blocks: Vec<Vec<u8>> = (0..length)
            .map(|i| {
                let size = if rng.gen_ratio(1, 16) {
                    rng.gen_range(1_000..8_000)
                } else {
                    rng.gen_range(0..200)
                };
                let text: String = (0..size).map(|_| rng.gen_range('a'..='z')).collect();
                let at = OffsetDateTime::from_unix_timestamp(1_700_000_000 + i as i64)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                ChatMessage::new_chat("writer", &text, at).encode()
            })
            .collect();
        if !blocks.is_empty() {
            core.append_batch(&blocks)
                .await
                .map_err(Broken::from_error)?;
        }
        let key = LogKey(core.key_pair().public.to_bytes());
        Ok(Self {
            core,
            key,
            blocks: Arc::new(blocks),
        })
    }

    #[cfg(test)]
    pub(crate) fn key(&self) -> LogKey {
        self.key
    }

    pub(crate) fn length(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// An empty in-memory copy of the log, as a follower starts.
    pub(crate) async fn memory_reader(&self) -> Result<Hypercore, Broken> {
        let storage = Storage::new_memory().await.map_err(Broken::from_error)?;
        HypercoreBuilder::new(storage)
            .key_pair(PartialKeypair {
                public: self.core.key_pair().public,
                secret: None,
            })
            .build()
            .await
            .map_err(Broken::from_error)
    }

    /// The writer's honest answer to a request, as its replicator serves it:
    /// checked, then proved.
    async fn answer(&self, request: Request) -> Message {
        let local = local_of(&self.core);
        let mut held = RangeSet::default();
        held.insert(0, local.length);
        if !checks::servable(&request, &local, &held) {
            return Message::NoData(NoData {
                request: request.id,
            });
        }
        serve(&self.core, self.key, request).await
    }
}

/// Which list of tree nodes a mutation touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nodes {
    Block,
    Upgrade,
    Additional,
}

/// A change to an honest proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mutation {
    RequestId(u64),
    Fork(u64),
    BlockIndex(u64),
    /// One byte of the block's value flipped.
    Value {
        at: usize,
        xor: u8,
    },
    /// The value cut or padded to this length.
    ValueLength(usize),
    DropNode(Nodes, usize),
    ExtraNode(Nodes, u64, u64),
    NodeHash(Nodes, usize, u8),
    NodeIndex(Nodes, usize, u64),
    NodeLength(Nodes, usize, u64),
    SwapNodes(Nodes, usize, usize),
    Signature {
        at: usize,
        xor: u8,
    },
    SignatureLength(usize),
    UpgradeStart(u64),
    UpgradeLength(u64),
    /// The writer's proof of this block added to the answer.
    AddBlock(u64),
    /// The writer's upgrade to its length added to the answer.
    AddUpgrade,
    DropBlock,
    DropUpgrade,
    AddHash(u64),
    AddSeek(u64),
}

/// One thing a hostile peer does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hostile {
    Sync {
        fork: u64,
        length: u64,
    },
    Range {
        drop: bool,
        start: u64,
        length: u64,
    },
    Bitfield {
        start: u64,
        words: Vec<u32>,
    },
    Want {
        start: u64,
        length: u64,
    },
    /// A message the replicator does not act on: cancel, unwant, extension.
    Chatter(u64),
    /// A request of us; `None` fields are left out.
    Request {
        id: u64,
        fork: u64,
        block: Option<(u64, u64)>,
        hash: Option<(u64, u64)>,
        seek: Option<u64>,
        upgrade: Option<(u64, u64)>,
    },
    /// A no-data for the `pick`-th request asked of it still open (any id
    /// when none is).
    NoData {
        pick: usize,
    },
    /// Data for the `pick`-th request asked of it still open: the writer's
    /// proof of it (or the nearest it can make, for a length it never had),
    /// with these mutations.
    Answer {
        pick: usize,
        mutations: Vec<Mutation>,
    },
    /// Data under an id never asked: the writer's proof of `block`, or of
    /// its whole length.
    Unasked {
        id: u64,
        block: Option<u64>,
    },
    /// Bytes from the wire: whatever decodes as a message is fed.
    Raw(Vec<u8>),
    /// The writer's answer to the `pick`-th open request, encoded, then
    /// bytes changed (`(at, xor)`) and cut at `cut`, and decoded again.
    Mangled {
        pick: usize,
        edits: Vec<(usize, u8)>,
        cut: Option<usize>,
    },
    /// Time passes: unanswered requests expire.
    Wait {
        secs: u64,
    },
}

impl Hostile {
    /// What the input is, in a word or two.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Hostile::Sync { .. } => "sync",
            Hostile::Range { .. } => "range",
            Hostile::Bitfield { .. } => "bitfield",
            Hostile::Want { .. } => "want",
            Hostile::Chatter(_) => "cancel/unwant/extension",
            Hostile::Request { .. } => "request",
            Hostile::NoData { .. } => "no-data",
            Hostile::Answer { mutations, .. } if mutations.is_empty() => "answer, unchanged",
            Hostile::Answer { .. } => "answer, mutated",
            Hostile::Unasked { .. } => "data never asked for",
            Hostile::Raw(_) => "raw bytes",
            Hostile::Mangled { .. } => "proof bytes mangled",
            Hostile::Wait { .. } => "time passing",
        }
    }
}

/// What one input came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Bytes that do not decode as a message (the protocol drops them).
    Undecodable,
    /// Bytes the crate's decoder cannot take: it would reserve more than
    /// `SAFE_RESERVATION` for them (never decoded here), or it panicked.
    Unsafe,
    /// A request of ours was answered with a proof.
    AnsweredData,
    /// A request of ours was answered with a no-data.
    AnsweredNoData,
    /// A proof was applied to the log.
    Applied,
    /// A proof was refused (by the checks or by hypercore); the peer stays.
    Refused,
    /// The peer was detached as hostile.
    Detached,
    /// Nothing happened that the peer could see.
    Ignored,
}

/// A request the reader sent, with when.
#[derive(Debug, Clone)]
struct Asking {
    peer: PeerId,
    id: u64,
    asked: Asked,
    request: Request,
    at: Instant,
}

/// What carrying out effects did.
#[derive(Debug, Default)]
struct Seen {
    data: bool,
    no_data: bool,
    applied: bool,
    refused: bool,
    detached: Vec<PeerId>,
}

/// One reader under attack: a real hypercore, the replication state of it,
/// and the hostile peer attached to it.
pub(crate) struct Harness {
    writer: Writer,
    core: Hypercore,
    state: Replication,
    now: Instant,
    hostile: PeerId,
    next_peer: PeerId,
    asking: Vec<Asking>,
}

impl Harness {
    /// Runs `core` (a copy of the writer's log) with a hostile peer attached.
    pub(crate) async fn new(writer: &Writer, core: Hypercore) -> Result<Self, Broken> {
        count_panics();
        let local = local_of(&core);
        let held = held_blocks(&core, local.length);
        let mut harness = Self {
            writer: writer.clone(),
            core,
            state: Replication::new(local, held),
            now: Instant::now(),
            hostile: 1,
            next_peer: 2,
            asking: vec![],
        };
        let effects = harness.state.attach(harness.hostile);
        harness.run(effects, &mut Seen::default()).await?;
        Ok(harness)
    }

    #[cfg(test)]
    pub(crate) fn core(&self) -> &Hypercore {
        &self.core
    }

    /// Feeds one input from the hostile peer, then a scheduling pass, as
    /// the driver does; `Err` says which invariant broke.
    pub(crate) async fn step(&mut self, input: &Hostile) -> Result<Outcome, Broken> {
        let mut seen = Seen::default();
        let mut refused_by_checks = false;
        let message = match self.message(input).await {
            Fed::Message(message) => Some(*message),
            Fed::Nothing => None,
            Fed::Undecodable => return Ok(Outcome::Undecodable),
            Fed::Unsafe => return Ok(Outcome::Unsafe),
        };
        if let Some(message) = message {
            match &message {
                Message::Data(data) => {
                    if let Some(open) = self.take_asking(self.hostile, data.request) {
                        refused_by_checks = checks::answers(data, &open.asked).is_err();
                    }
                }
                Message::NoData(no_data) => {
                    self.take_asking(self.hostile, no_data.request);
                }
                _ => {}
            }
            let effects = self.state.on_message(self.hostile, message, self.now);
            self.run(effects, &mut seen).await?;
        }
        let effects = self.state.schedule(self.now);
        self.run(effects, &mut seen).await?;
        let timeout = REQUEST_TIMEOUT;
        let now = self.now;
        self.asking
            .retain(|a| now.saturating_duration_since(a.at) < timeout);
        self.check_core()?;
        if seen.detached.contains(&self.hostile) {
            self.reattach().await?;
        }
        Ok(if !seen.detached.is_empty() {
            Outcome::Detached
        } else if seen.refused || refused_by_checks {
            Outcome::Refused
        } else if seen.applied {
            Outcome::Applied
        } else if seen.data {
            Outcome::AnsweredData
        } else if seen.no_data {
            Outcome::AnsweredNoData
        } else {
            Outcome::Ignored
        })
    }

    /// A new hostile peer in place of a detached one.
    async fn reattach(&mut self) -> Result<(), Broken> {
        let old = self.hostile;
        self.state.detach(old);
        self.asking.retain(|a| a.peer != old);
        self.hostile = self.next_peer;
        self.next_peer += 1;
        let effects = self.state.attach(self.hostile);
        self.run(effects, &mut Seen::default()).await
    }

    /// An honest peer attaches (the hostile one stays, silent) and must
    /// bring the log to the writer's length with every block; `Ok` is the
    /// rounds it took.
    pub(crate) async fn complete(&mut self) -> Result<usize, Broken> {
        let honest = self.next_peer;
        self.next_peer += 1;
        let length = self.writer.length();
        let mut seen = Seen::default();
        let effects = self.state.attach(honest);
        self.run(effects, &mut seen).await?;
        let hello = [synchronize(0, length, 0), range_message(0..length)];
        for message in hello {
            let effects = self.state.on_message(honest, message, self.now);
            self.run(effects, &mut seen).await?;
        }
        for round in 0..HONEST_ROUNDS {
            let info = self.core.info();
            if info.length == length && info.contiguous_length == length {
                self.check_blocks().await?;
                self.state.detach(honest);
                return Ok(round);
            }
            let effects = self.state.schedule(self.now);
            self.run(effects, &mut seen).await?;
            let mine: Vec<Asking> = self
                .asking
                .iter()
                .filter(|a| a.peer == honest)
                .cloned()
                .collect();
            self.asking.retain(|a| a.peer != honest);
            if mine.is_empty() {
                // Only the silent peer has open requests: let them expire.
                self.now += REQUEST_TIMEOUT;
                continue;
            }
            for open in mine {
                let answer = self.writer.answer(open.request).await;
                let effects = self.state.on_message(honest, answer, self.now);
                self.run(effects, &mut seen).await?;
            }
            if seen.detached.contains(&honest) {
                return Err("the honest peer was detached".into());
            }
            self.check_core()?;
            self.now += Duration::from_millis(20);
        }
        let info = self.core.info();
        Err(format!(
            "an honest peer did not complete the log in {HONEST_ROUNDS} rounds: length {} \
             (contiguous {}) of {length}",
            info.length, info.contiguous_length
        )
        .into())
    }

    /// The log's state makes sense and agrees with the replication's view.
    fn check_core(&self) -> Result<(), Broken> {
        let info = self.core.info();
        if info.length > self.writer.length() {
            return Err(format!(
                "the log grew to {} past the writer's {}",
                info.length,
                self.writer.length()
            )
            .into());
        }
        let bytes: u64 = self.writer.blocks[..info.length as usize]
            .iter()
            .map(|b| b.len() as u64)
            .sum();
        if info.fork != 0 || info.contiguous_length > info.length || info.byte_length != bytes {
            return Err(
                format!("the log's info went wrong: {info:?}, the writer's {bytes} bytes").into(),
            );
        }
        let _ = self.core.has(info.length.saturating_sub(1));
        let local = local_of(&self.core);
        if self.state.local() != local {
            return Err(format!(
                "the replication thinks the log is {:?}, it is {local:?}",
                self.state.local()
            )
            .into());
        }
        Ok(())
    }

    /// Every block the log holds is the writer's, byte for byte.
    async fn check_blocks(&self) -> Result<(), Broken> {
        let length = self.core.info().length;
        for index in 0..length {
            if !self.core.has(index) {
                continue;
            }
            let block = self
                .core
                .get(index)
                .await
                .map_err(|e| Broken::from(format!("block {index} held but unreadable: {e}")))?;
            if block.as_deref() != self.writer.blocks.get(index as usize).map(Vec::as_slice) {
                return Err(format!("block {index} is not the writer's").into());
            }
        }
        Ok(())
    }

    /// Carries out effects as the driver does. A panic inside hypercore
    /// that the driver catches (and turns into a no-data or a refusal) is
    /// a broken invariant too.
    async fn run(&mut self, effects: Vec<Effect>, seen: &mut Seen) -> Result<(), Broken> {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            let panics = panics_so_far();
            let what = match &effect {
                Effect::Serve(_, request) => format!("serving {request:?}"),
                Effect::Ask { asked, .. } => format!("asking {asked:?}"),
                Effect::Apply { data, .. } => format!("applying the answer to {}", data.request),
                _ => String::new(),
            };
            self.carry_out(effect, &mut queue, seen).await?;
            if panics_so_far() != panics {
                return Err(format!("hypercore panicked {what}").into());
            }
        }
        Ok(())
    }

    async fn carry_out(
        &mut self,
        effect: Effect,
        queue: &mut VecDeque<Effect>,
        seen: &mut Seen,
    ) -> Result<(), Broken> {
        match effect {
            Effect::Send(_, Message::NoData(_)) => seen.no_data = true,
            Effect::Send(..) | Effect::PeerHolds(..) => {}
            Effect::Serve(_, request) => {
                let answer = serve(&self.core, self.writer.key, request).await;
                match &answer {
                    Message::Data(data) => {
                        seen.data = true;
                        if let Some(block) = &data.block {
                            let expected = self.writer.blocks.get(block.index as usize);
                            if expected != Some(&block.value) {
                                return Err(format!(
                                    "served block {} is not the writer's",
                                    block.index
                                )
                                .into());
                            }
                        }
                    }
                    _ => seen.no_data = true,
                }
            }
            Effect::Ask { peer, id, asked } => {
                let message = request(&self.core, self.state.local(), id, asked).await;
                if let Message::Request(request) = message {
                    self.asking.push(Asking {
                        peer,
                        id,
                        asked,
                        request,
                        at: self.now,
                    });
                    if self.asking.len() > REMEMBERED_ASKS * 4 {
                        let drop = self.asking.len() - REMEMBERED_ASKS;
                        self.asking.drain(..drop);
                    }
                }
            }
            Effect::Apply { peer, id, data } => {
                let outcome = apply(&self.core, self.writer.key, data).await;
                match outcome {
                    Applied::Done => seen.applied = true,
                    Applied::Refused(_) => seen.refused = true,
                }
                let local = local_of(&self.core);
                queue.extend(self.state.applied(peer, id, outcome, local));
                self.check_core()?;
                self.check_blocks().await?;
            }
            Effect::Detach(peer, _) => {
                self.state.detach(peer);
                seen.detached.push(peer);
            }
        }
        Ok(())
    }

    fn take_asking(&mut self, peer: PeerId, id: u64) -> Option<Asking> {
        let at = self
            .asking
            .iter()
            .position(|a| a.peer == peer && a.id == id)?;
        Some(self.asking.remove(at))
    }

    /// The `pick`-th request still open with the hostile peer.
    fn open(&self, pick: usize) -> Option<Asking> {
        let open: Vec<&Asking> = self
            .asking
            .iter()
            .filter(|a| a.peer == self.hostile)
            .collect();
        if open.is_empty() {
            return None;
        }
        Some(open[pick % open.len()].clone())
    }

    /// The message an input stands for.
    async fn message(&mut self, input: &Hostile) -> Fed {
        let message = match input {
            Hostile::Sync { fork, length } => synchronize(*fork, *length, 0),
            Hostile::Range {
                drop,
                start,
                length,
            } => Message::Range(Range {
                drop: *drop,
                start: *start,
                length: *length,
            }),
            Hostile::Bitfield { start, words } => Message::Bitfield(Bitfield {
                start: *start,
                bitfield: words.clone(),
            }),
            Hostile::Want { start, length } => Message::Want(Want {
                start: *start,
                length: *length,
            }),
            Hostile::Chatter(which) => match which % 3 {
                0 => Message::Cancel(Cancel { request: *which }),
                1 => Message::Unwant(Unwant {
                    start: *which,
                    length: which.wrapping_mul(7),
                }),
                _ => Message::Extension(hypercore_protocol::schema::Extension {
                    name: "hychat/hello".into(),
                    message: which.to_le_bytes().to_vec(),
                }),
            },
            Hostile::Request { .. } => match request_of(input) {
                Some(request) => Message::Request(request),
                None => return Fed::Nothing,
            },
            Hostile::NoData { pick } => {
                let request = self.open(*pick).map_or(*pick as u64, |a| a.id);
                Message::NoData(NoData { request })
            }
            Hostile::Answer { pick, mutations } => {
                let Some(open) = self.open(*pick) else {
                    return self.unasked(*pick as u64, Some(*pick as u64)).await;
                };
                let mut data = self.base_answer(&open).await;
                for mutation in mutations {
                    self.mutate(&mut data, mutation, &open).await;
                }
                return through_wire(&Message::Data(data), &[], None);
            }
            Hostile::Unasked { id, block } => return self.unasked(*id, *block).await,
            Hostile::Raw(bytes) => return decode_hostile(bytes),
            Hostile::Mangled { pick, edits, cut } => {
                let message = match self.open(*pick) {
                    Some(open) => Message::Data(self.base_answer(&open).await),
                    None => Message::Data(self.unasked_data(*pick as u64, None).await),
                };
                return through_wire(&message, edits, *cut);
            }
            Hostile::Wait { secs } => {
                self.now += Duration::from_secs((*secs).min(3_600));
                return Fed::Nothing;
            }
        };
        Fed::Message(Box::new(message))
    }

    async fn unasked(&self, id: u64, block: Option<u64>) -> Fed {
        // An id that is open would make it an answer: shift it away.
        let mut id = id;
        while self.asking.iter().any(|a| a.id == id) {
            id = id.wrapping_add(1_000_003);
        }
        let data = self.unasked_data(id, block).await;
        through_wire(&Message::Data(data), &[], None)
    }

    /// The writer's proof of `block` (or of its whole length), under `id`.
    async fn unasked_data(&self, id: u64, block: Option<u64>) -> Data {
        let length = self.writer.length();
        let local = self.state.local();
        let request = Request {
            id,
            fork: 0,
            block: block.map(|index| RequestBlock {
                index: index % length.max(1),
                nodes: 0,
            }),
            hash: None,
            seek: None,
            upgrade: (block.is_none() && local.length < length).then_some(RequestUpgrade {
                start: local.length,
                length: length - local.length,
            }),
            manifest: false,
            priority: 0,
        };
        match self.writer.answer(request).await {
            Message::Data(data) => data,
            _ => fake_data(id, block, None),
        }
    }

    /// The writer's proof for an open request, or, when the writer cannot
    /// prove it (a length it never had), the nearest proof it can make with
    /// the asked fields put back.
    async fn base_answer(&self, open: &Asking) -> Data {
        if let Message::Data(data) = self.writer.answer(open.request.clone()).await {
            return data;
        }
        let mut near = open.request.clone();
        if let Some(upgrade) = near.upgrade.as_mut() {
            let length = self.writer.length();
            if upgrade.start < length {
                upgrade.length = length - upgrade.start;
            } else {
                near.upgrade = None;
            }
        }
        if let Some(block) = near.block.as_mut() {
            block.index %= self.writer.length().max(1);
        }
        let mut data = match self.writer.answer(near).await {
            Message::Data(data) => data,
            _ => fake_data(open.id, open.asked.block, open.asked.upgrade),
        };
        data.request = open.id;
        if let (Some(block), Some(index)) = (data.block.as_mut(), open.asked.block) {
            block.index = index;
        }
        match (data.upgrade.as_mut(), open.asked.upgrade) {
            (Some(upgrade), Some((start, length))) => {
                upgrade.start = start;
                upgrade.length = length;
            }
            (None, Some(_)) => {
                data.upgrade = fake_data(0, None, open.asked.upgrade).upgrade;
            }
            _ => {}
        }
        data
    }

    async fn mutate(&self, data: &mut Data, mutation: &Mutation, open: &Asking) {
        match mutation {
            Mutation::RequestId(id) => data.request = *id,
            Mutation::Fork(fork) => data.fork = *fork,
            Mutation::BlockIndex(index) => {
                if let Some(block) = data.block.as_mut() {
                    block.index = *index;
                }
            }
            Mutation::Value { at, xor } => {
                if let Some(block) = data.block.as_mut() {
                    if block.value.is_empty() {
                        block.value.push(*xor);
                    } else {
                        let at = at % block.value.len();
                        block.value[at] ^= xor.max(&1);
                    }
                }
            }
            Mutation::ValueLength(length) => {
                if let Some(block) = data.block.as_mut() {
                    block.value.resize(*length, b' ');
                }
            }
            Mutation::DropNode(list, at) => {
                if let Some(nodes) = nodes_of(data, *list) {
                    if !nodes.is_empty() {
                        let at = at % nodes.len();
                        nodes.remove(at);
                    }
                }
            }
            Mutation::ExtraNode(list, index, length) => {
                let node = node(*index, vec![7; 32], *length);
                if let Some(nodes) = nodes_of(data, *list) {
                    nodes.push(node);
                }
            }
            Mutation::NodeHash(list, at, xor) => {
                if let Some(node) = node_of(data, *list, *at) {
                    let i = (*at / 7) % node.hash.len().max(1);
                    if let Some(byte) = node.hash.get_mut(i) {
                        *byte ^= xor.max(&1);
                    }
                }
            }
            Mutation::NodeIndex(list, at, index) => {
                if let Some(old) = node_of(data, *list, *at) {
                    *old = node(*index, old.hash.clone(), old.length);
                }
            }
            Mutation::NodeLength(list, at, length) => {
                if let Some(old) = node_of(data, *list, *at) {
                    *old = node(old.index, old.hash.clone(), *length);
                }
            }
            Mutation::SwapNodes(list, a, b) => {
                if let Some(nodes) = nodes_of(data, *list) {
                    if !nodes.is_empty() {
                        let (a, b) = (a % nodes.len(), b % nodes.len());
                        nodes.swap(a, b);
                    }
                }
            }
            Mutation::Signature { at, xor } => {
                if let Some(upgrade) = data.upgrade.as_mut() {
                    if !upgrade.signature.is_empty() {
                        let at = at % upgrade.signature.len();
                        upgrade.signature[at] ^= xor.max(&1);
                    }
                }
            }
            Mutation::SignatureLength(length) => {
                if let Some(upgrade) = data.upgrade.as_mut() {
                    upgrade.signature.resize(*length, 0);
                }
            }
            Mutation::UpgradeStart(start) => {
                if let Some(upgrade) = data.upgrade.as_mut() {
                    upgrade.start = *start;
                }
            }
            Mutation::UpgradeLength(length) => {
                if let Some(upgrade) = data.upgrade.as_mut() {
                    upgrade.length = *length;
                }
            }
            Mutation::AddBlock(index) => {
                let extra = self.unasked_data(open.id, Some(*index)).await;
                data.block = extra.block;
            }
            Mutation::AddUpgrade => {
                let extra = self.unasked_data(open.id, None).await;
                data.upgrade = extra
                    .upgrade
                    .or_else(|| fake_data(0, None, Some((0, self.writer.length()))).upgrade);
            }
            Mutation::DropBlock => data.block = None,
            Mutation::DropUpgrade => data.upgrade = None,
            Mutation::AddHash(index) => {
                data.hash = Some(DataHash {
                    index: *index,
                    nodes: vec![node(*index, vec![1; 32], 1)],
                });
            }
            Mutation::AddSeek(bytes) => {
                data.seek = Some(DataSeek {
                    bytes: *bytes,
                    nodes: vec![],
                });
            }
        }
    }
}

mod feed;
mod fuzz;
mod inputs;

use feed::*;
pub use fuzz::{fuzz, FuzzPlan, FuzzReport, OUTCOMES};
pub(crate) use inputs::*;

#[cfg(test)]
mod tests;
