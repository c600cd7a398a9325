//! The task that delivers one log's blocks as `Appended` events, in the
//! order `delivery` plans, as the replicator (`net::replication`) brings
//! them. Every delivered block is written to the local index, so a restart
//! shows it without hypercore reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use hypercore::Hypercore;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use crate::domain::keys::{LogKey, Seq};
use crate::domain::message::ChatMessage;
use crate::net::log::delivery::DeliveryPlan;
use crate::net::log::index::{IndexReader, LogIndex};
use crate::net::log::open::{core_key, LogError};
use crate::net::types::NetEvent;

/// Blocks delivered before the task drains its events again.
const BATCH: usize = 256;

/// How often held blocks are looked for when no core event came (the
/// crate's event queue drops events when it overflows).
const RECHECK: Duration = Duration::from_millis(1500);

/// The running delivery task of one log.
pub(crate) struct LogTask {
    key: LogKey,
    core: Hypercore,
    report_progress: bool,
    index: LogIndex,
    plan: DeliveryPlan,
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
                _ = core_events.next() => {}
                _ = tokio::time::sleep(RECHECK) => {}
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
                // The replicator fetches it; its arrival wakes the task.
                None => break,
            }
        }
        Ok(delivered)
    }

    async fn deliver(&mut self, seq: u64) -> Result<(), ()> {
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
