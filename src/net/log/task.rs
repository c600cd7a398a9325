//! The task that delivers one log's blocks as `Appended` events, in the
//! order `delivery` plans, asking for missing blocks as `requests` decides.
//! Every delivered block is written to the local index, so a restart shows
//! it without hypercore reads.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hypercore::Hypercore;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use crate::domain::keys::{LogKey, Seq};
use crate::domain::message::ChatMessage;
use crate::net::log::delivery::DeliveryPlan;
use crate::net::log::index::{IndexReader, LogIndex};
use crate::net::log::open::{core_key, LogError};
use crate::net::log::requests::{Ask, RequestPolicy, MAX_REQUESTS_PER_BLOCK, REQUEST_RETRY};
use crate::net::shared::Shared;
use crate::net::NetEvent;

/// Blocks delivered before the task drains its events again.
const BATCH: usize = 256;

/// The running delivery task of one log.
pub(crate) struct LogTask {
    key: LogKey,
    core: Hypercore,
    report_progress: bool,
    index: LogIndex,
    plan: DeliveryPlan,
    requests: RequestPolicy,
    /// No block below this is missing locally (a scan cursor).
    lowest_unheld: u64,
    /// Who has this log open: requests only count toward giving up then.
    shared: Shared,
    last_progress: (u64, u64),
    events: mpsc::Sender<NetEvent>,
    /// The log's folder, where its index is read back from.
    dir: PathBuf,
}

impl LogTask {
    /// Opens the index; the task skips what it already holds.
    pub(crate) fn new(
        core: Hypercore,
        dir: &Path,
        report_progress: bool,
        shared: Shared,
        events: mpsc::Sender<NetEvent>,
    ) -> Result<Self, LogError> {
        let (index, held) = LogIndex::open(dir)?;
        let plan = DeliveryPlan::with_delivered(held);
        let task = Self {
            key: core_key(&core),
            core,

            report_progress,
            index,
            plan,
            requests: RequestPolicy::new(Instant::now()),
            lowest_unheld: 0,
            shared,
            last_progress: (u64::MAX, u64::MAX),
            events,
            dir: dir.to_path_buf(),
        };
        Ok(task)
    }

    /// For our own log, whose blocks are all here: everything appended
    /// from now on is delivered in order, however many blocks one append
    /// brings (see `DeliveryPlan::see_from_start`).
    pub(crate) fn deliver_appends_in_order(&mut self) {
        self.plan.see_from_start(self.core.info().length);
    }

    /// Delivers blocks until `stop` turns true or the event receiver is
    /// gone; first, when `replay`, everything the index holds, in the order
    /// it was delivered (for the headless commands; the chat reads its
    /// history a page at a time instead).
    pub(crate) async fn run(mut self, replay: bool, mut stop: watch::Receiver<bool>) {
        if replay && self.replay_index().await.is_err() {
            return;
        }
        let mut core_events = self.core.event_subscribe();
        loop {
            let delivered = match self.deliver_batch().await {
                Ok(n) => n,
                Err(()) => break,
            };
            if let Err(e) = self.index.flush() {
                tracing::warn!(log = ?self.key, error = %e, "cannot flush the message index");
            }
            self.report_progress().await;
            if delivered == BATCH {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                // Any core event (an upgrade, a block) may make progress
                // possible, and shows the download is moving even while
                // hypercore fills in blocks we are not delivering yet.
                _ = core_events.next() => self.requests.progressed(Instant::now()),
                _ = tokio::time::sleep(REQUEST_RETRY) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        let _ = self.index.flush();
    }

    /// Sends every indexed message as `Appended`. `Err` means the UI is gone.
    async fn replay_index(&self) -> Result<(), ()> {
        let Some(reader) = IndexReader::open(&self.dir) else {
            return Ok(());
        };
        let entries = match reader.entries() {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(log = ?self.key, error = %e, "cannot read the message index");
                return Ok(());
            }
        };
        for entry in entries {
            if let Some(message) = entry.message {
                let event = NetEvent::Appended {
                    log: self.key,
                    seq: Seq(entry.seq),
                    message,
                };
                self.events.send(event).await.map_err(|_| ())?;
            }
        }
        Ok(())
    }

    /// Delivers up to `BATCH` blocks. `Err` means the UI is gone.
    async fn deliver_batch(&mut self) -> Result<usize, ()> {
        let mut delivered = 0;
        while delivered < BATCH {
            let length = self.core.info().length;
            let (ascending, history) = self.plan.next(length);
            let held = |seq: &u64| self.core.has(*seq);
            let target = ascending.filter(held).or_else(|| history.filter(held));
            match target {
                Some(seq) => {
                    self.deliver(seq).await?;
                    delivered += 1;
                }
                None => {
                    // Ask for the most wanted missing block, one at a time.
                    // For history that is the lowest block not yet held:
                    // hypercore then fetches upwards from there by itself,
                    // one block per round trip, while a request below a
                    // held block would set it fetching blocks we already
                    // have. Delivery still goes newest to oldest.
                    let wanted =
                        ascending.or_else(|| history.map(|floor| self.lowest_missing(floor)));
                    if let Some(seq) = wanted {
                        self.request(seq).await;
                    }
                    break;
                }
            }
        }
        Ok(delivered)
    }

    /// The lowest block not held locally, at most `ceiling`.
    fn lowest_missing(&mut self, ceiling: u64) -> u64 {
        while self.lowest_unheld < ceiling && self.core.has(self.lowest_unheld) {
            self.lowest_unheld += 1;
        }
        self.lowest_unheld.min(ceiling)
    }

    /// Asks for a missing block when `RequestPolicy` says so.
    async fn request(&mut self, seq: u64) {
        let discovery_key = self.key.discovery_key();
        let has_peer = self.shared.sessions.has_peer(&discovery_key);
        let live = self.plan.is_live(seq);
        let step = self.requests.want(seq, has_peer, live, Instant::now());
        if step.stalled {
            tracing::info!(log = ?self.key, seq, "the download is stuck; asking for fresh connections");
            self.shared.health.report_stall(discovery_key);
        }
        match step.ask {
            Ask::NotDue | Ask::LeaveToUpgrade => {}
            Ask::Skip => {
                tracing::warn!(log = ?self.key, seq, "a block did not arrive after {MAX_REQUESTS_PER_BLOCK} requests; skipping it");
                self.plan.mark_delivered(seq);
            }
            Ask::Now => {
                tracing::debug!(log = ?self.key, seq, "requesting a block");
                // With no replicator attached, `get` of a missing block emits
                // a `Get` event (which the channels turn into a request) and
                // returns at once.
                let _ = self.core.get(seq).await;
            }
        }
    }

    async fn deliver(&mut self, seq: u64) -> Result<(), ()> {
        self.requests.delivered(seq, Instant::now());
        self.plan.mark_delivered(seq);
        let Some(block) = self.read_with_retry(seq).await else {
            return Ok(());
        };
        match ChatMessage::decode(&block) {
            Ok(message) => {
                if let Err(e) = self
                    .index
                    .record(seq, Some(&message), OffsetDateTime::now_utc())
                {
                    tracing::warn!(log = ?self.key, error = %e, "cannot write the message index");
                }
                let event = NetEvent::Appended {
                    log: self.key,
                    seq: Seq(seq),
                    message,
                };
                self.events.send(event).await.map_err(|_| ())
            }
            Err(e) => {
                tracing::warn!(log = ?self.key, seq, error = %e, "skipping a block that is not a chat message");
                let _ = self.index.record(seq, None, OffsetDateTime::now_utc());
                Ok(())
            }
        }
    }

    /// `get` can briefly fail while replication writes from another task
    /// (docs/architecture.md §2, "Read retries"): retry, and give up quietly.
    // compat: hypercore row (reads that fail while replication writes)
    async fn read_with_retry(&self, seq: u64) -> Option<Vec<u8>> {
        for attempt in 0..20u64 {
            match self.core.get(seq).await {
                Ok(Some(block)) => return Some(block),
                Ok(None) => return None,
                Err(e) => {
                    tracing::debug!(seq, attempt, error = %e, "retrying a block read");
                    tokio::time::sleep(Duration::from_millis(5 * (attempt + 1))).await;
                }
            }
        }
        tracing::warn!(log = ?self.key, seq, "giving up reading a block");
        None
    }

    async fn report_progress(&mut self) {
        if !self.report_progress {
            return;
        }
        let length = self.core.info().length;
        let downloaded = self.plan.delivered_count().min(length);
        if (downloaded, length) == self.last_progress {
            return;
        }
        self.last_progress = (downloaded, length);
        let _ = self
            .events
            .send(NetEvent::LogProgress {
                log: self.key,
                downloaded,
                length,
            })
            .await;
    }
}
