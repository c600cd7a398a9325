//! One log on disk and the task that delivers its blocks as `Appended` events.
//!
//! Delivery order is the product rule "newest first": the last
//! `NEWEST_FIRST_WINDOW` blocks (and every live append after them) go out in
//! ascending order, then history fills in from newest to oldest. Missing
//! blocks are requested one at a time with `get()`, never concurrently
//! (docs/architecture.md §2: concurrent gets stall replication). Every delivered block is
//! written to the local index, so a restart shows it without hypercore reads.

pub(crate) mod index;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hypercore::{Hypercore, HypercoreBuilder, PartialKeypair, Storage, VerifyingKey};
use tokio::sync::{mpsc, watch};

use crate::domain::keys::{LogKey, Seq};
use crate::domain::message::ChatMessage;
use crate::net::log::index::{IndexEntry, LogIndex};
use crate::net::shared::directory::LogDirectory;
use crate::net::{NetEvent, NEWEST_FIRST_WINDOW};

/// How long one `get()` request may stay unanswered before it is asked again.
const REQUEST_RETRY: Duration = Duration::from_millis(1500);
/// Requests of one block (while a peer has the log open) before it is
/// skipped for this session: about 30 s. Oversized blocks never arrive
/// through this stack and must not stall the rest; ordinary ones can take a
/// few tries, because a busy peer drops requests (docs/architecture.md §2).
const MAX_REQUESTS_PER_BLOCK: u32 = 20;
/// Blocks delivered before the task drains its events again.
const BATCH: usize = 256;
/// A follower whose download makes no progress this long, with a peer
/// connected, reports the channel stuck so it is made afresh.
const STALL_AFTER: Duration = Duration::from_secs(12);
/// hypercore 0.17.0-alpha.1 panics reopening a log longer than this (docs/architecture.md §2).
pub(crate) const REOPEN_LIMIT: u64 = 32_768;
const LENGTH_FILE: &str = "length";

#[derive(Debug, thiserror::Error)]
pub(crate) enum LogError {
    #[error("{0}")]
    Hypercore(String),
    #[error(
        "your log {key} has {length} blocks; this hypercore version cannot reopen logs over {REOPEN_LIMIT} blocks"
    )]
    TooLongToReopen { key: LogKey, length: u64 },
    #[error("opening the log panicked inside hypercore")]
    Panicked,
    #[error("index: {0}")]
    Index(#[from] std::io::Error),
}

/// Opens (or creates) a disk hypercore. `key` is `None` for our own writable
/// log, whose keypair lives in the hypercore's own storage.
pub(crate) async fn open_core(dir: &Path, key: Option<LogKey>) -> Result<Hypercore, LogError> {
    let exists = dir.join("oplog").exists();
    if exists {
        if let Some(length) = recorded_length(dir) {
            if length > REOPEN_LIMIT {
                let key = key.unwrap_or(LogKey([0; 32]));
                return Err(LogError::TooLongToReopen { key, length });
            }
        }
    }
    std::fs::create_dir_all(dir)?;
    restrict_permissions(dir);
    let dir_owned: PathBuf = dir.to_path_buf();
    // Build in its own task so a panic inside hypercore is contained here.
    let opened = tokio::spawn(async move {
        let storage = Storage::new_disk(&dir_owned, false)
            .await
            .map_err(|e| LogError::Hypercore(e.to_string()))?;
        let builder = HypercoreBuilder::new(storage);
        let builder = match (exists, key) {
            (true, _) => builder.open(true),
            (false, Some(key)) => {
                let public = VerifyingKey::from_bytes(&key.0)
                    .map_err(|e| LogError::Hypercore(format!("not a valid log key: {e}")))?;
                builder.key_pair(PartialKeypair {
                    public,
                    secret: None,
                })
            }
            (false, None) => builder,
        };
        builder
            .build()
            .await
            .map_err(|e| LogError::Hypercore(e.to_string()))
    })
    .await;
    let core = match opened {
        Ok(result) => result?,
        Err(_) => return Err(LogError::Panicked),
    };
    restrict_permissions_of_files(dir);
    Ok(core)
}

/// Opens a clone of a peer's log (followed, or a room member's). When
/// hypercore cannot reopen its own files (this alpha fails on some cloned
/// logs, and on any log over `REOPEN_LIMIT` blocks), the clone is discarded and made afresh: the local index still
/// holds every message, newest-first delivery brings the present back
/// quickly, and the rest follows in the background.
// compat: hypercore row (logs it cannot reopen)
pub(crate) async fn open_clone(dir: &Path, key: LogKey) -> Result<Hypercore, LogError> {
    match open_core(dir, Some(key)).await {
        Err(
            e @ (LogError::Hypercore(_) | LogError::Panicked | LogError::TooLongToReopen { .. }),
        ) if dir.join("oplog").exists() => {
            tracing::warn!(?key, error = %e, "cannot reopen a cloned log; cloning it afresh");
            discard_clone(dir);
            open_core(dir, Some(key)).await
        }
        other => other,
    }
}

const HYPERCORE_FILES: [&str; 4] = ["oplog", "tree", "bitfield", "data"];

/// Deletes a cloned log's hypercore files, keeping its message index.
pub(crate) fn discard_clone(dir: &Path) {
    for file in HYPERCORE_FILES.iter().chain([&LENGTH_FILE]) {
        let _ = std::fs::remove_file(dir.join(file));
    }
}

pub(crate) fn core_key(core: &Hypercore) -> LogKey {
    LogKey(core.key_pair().public.to_bytes())
}

/// The secret key lives in this directory: owner-only access.
fn restrict_permissions(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
}

fn restrict_permissions_of_files(dir: &Path) {
    #[cfg(unix)]
    if let Ok(entries) = std::fs::read_dir(dir) {
        use std::os::unix::fs::PermissionsExt;
        for entry in entries.flatten() {
            let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600));
        }
    }
}

fn recorded_length(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join(LENGTH_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Which block to deliver next. Pure bookkeeping, no IO.
#[derive(Debug, Default)]
pub(crate) struct DeliveryPlan {
    delivered: BTreeSet<u64>,
    /// First seq of the ascending region (the newest window plus live appends).
    upper_start: Option<u64>,
    /// Lowest seq the ascending scan has not passed.
    upper_cursor: u64,
    /// The log's length when first seen: history waits until the window up
    /// to here is complete.
    window_end: u64,
    /// Everything in `[floor, upper_start)` has been delivered.
    floor: u64,
}

impl DeliveryPlan {
    pub(crate) fn mark_delivered(&mut self, seq: u64) {
        self.delivered.insert(seq);
    }

    /// Whether `seq` was appended after the log was first seen.
    pub(crate) fn is_live(&self, seq: u64) -> bool {
        self.upper_start.is_some() && seq >= self.window_end
    }

    pub(crate) fn delivered_count(&self) -> u64 {
        self.delivered.len() as u64
    }

    /// The next seq to deliver, newest window first, then history downwards.
    /// Returns `(ascending, history)` candidates; either may be `None`.
    pub(crate) fn next(&mut self, length: u64) -> (Option<u64>, Option<u64>) {
        if length == 0 {
            return (None, None);
        }
        let upper_start = *self.upper_start.get_or_insert_with(|| {
            let start = length.saturating_sub(NEWEST_FIRST_WINDOW);
            self.upper_cursor = start;
            self.window_end = length;
            self.floor = start;
            start
        });
        while self.upper_cursor < length && self.delivered.contains(&self.upper_cursor) {
            self.upper_cursor += 1;
        }
        let ascending = (self.upper_cursor < length).then_some(self.upper_cursor);
        while self.floor > 0 && self.delivered.contains(&(self.floor - 1)) {
            self.floor -= 1;
        }
        let window_done = self.upper_cursor >= self.window_end;
        let history = (window_done && self.floor > 0 && upper_start > 0).then(|| self.floor - 1);
        (ascending, history)
    }
}

/// The running delivery task of one log.
pub(crate) struct LogTask {
    key: LogKey,
    core: Hypercore,
    dir: PathBuf,
    report_progress: bool,
    index: LogIndex,
    plan: DeliveryPlan,
    requested: Option<(u64, Instant)>,
    request_counts: std::collections::HashMap<u64, u32>,
    /// No block below this is missing locally (a scan cursor).
    lowest_unheld: u64,
    /// When a block last arrived, was delivered, or the log last grew.
    last_progress_at: Instant,
    /// Requests only count towards giving up while some peer has this log open.
    directory: LogDirectory,
    last_progress: (u64, u64),
    events: mpsc::Sender<NetEvent>,
}

impl LogTask {
    /// Loads the index and returns the task with what the index already holds.
    pub(crate) fn new(
        core: Hypercore,
        dir: &Path,
        report_progress: bool,
        directory: LogDirectory,
        events: mpsc::Sender<NetEvent>,
    ) -> Result<(Self, Vec<IndexEntry>), LogError> {
        let (index, entries) = LogIndex::open(dir)?;
        let mut plan = DeliveryPlan::default();
        for entry in &entries {
            plan.mark_delivered(entry.seq);
        }
        let task = Self {
            key: core_key(&core),
            core,
            dir: dir.to_path_buf(),
            report_progress,
            index,
            plan,
            requested: None,
            request_counts: Default::default(),
            lowest_unheld: 0,
            last_progress_at: Instant::now(),
            directory,
            last_progress: (u64::MAX, u64::MAX),
            events,
        };
        Ok((task, entries))
    }

    /// Delivers blocks until `stop` turns true or the event receiver is gone.
    pub(crate) async fn run(mut self, indexed: Vec<IndexEntry>, mut stop: watch::Receiver<bool>) {
        for entry in indexed {
            if let Some(message) = entry.message {
                let event = NetEvent::Appended {
                    log: self.key,
                    seq: Seq(entry.seq),
                    message,
                };
                if self.events.send(event).await.is_err() {
                    return;
                }
            }
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
                _ = core_events.next() => self.last_progress_at = Instant::now(),
                _ = tokio::time::sleep(REQUEST_RETRY) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        let _ = self.index.flush();
        let length = self.core.info().length;
        let _ = std::fs::write(self.dir.join(LENGTH_FILE), length.to_string());
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

    async fn request(&mut self, seq: u64) {
        let due = match self.requested {
            Some((pending, at)) => pending != seq || at.elapsed() >= REQUEST_RETRY,
            None => true,
        };
        if !due {
            return;
        }
        let discovery_key = self.key.discovery_key();
        let has_peer = self.directory.has_peer(&discovery_key);
        if !has_peer {
            self.last_progress_at = Instant::now();
        } else if self.last_progress_at.elapsed() >= STALL_AFTER {
            tracing::info!(log = ?self.key, seq, "the download is stuck; asking for fresh connections");
            self.directory.report_stall(discovery_key);
            self.last_progress_at = Instant::now();
        }
        let count = self.request_counts.entry(seq).or_default();
        if has_peer {
            *count += 1;
        }
        if *count > MAX_REQUESTS_PER_BLOCK {
            // Not indexed, so the next start asks for it again.
            tracing::warn!(log = ?self.key, seq, "a block did not arrive after {MAX_REQUESTS_PER_BLOCK} requests; skipping it");
            self.request_counts.remove(&seq);
            self.plan.mark_delivered(seq);
            self.requested = None;
            return;
        }
        let first_ask = self.requested.is_none_or(|(pending, _)| pending != seq);
        self.requested = Some((seq, Instant::now()));
        if first_ask && self.plan.is_live(seq) {
            // hypercore fetches a block announced by a live upgrade by itself;
            // asking as well makes two requests, and a busy peer drops one
            // (docs/architecture.md §2). Ask only if it has not come by the next retry.
            return;
        }
        tracing::debug!(log = ?self.key, seq, "requesting a block");
        // With no replicator attached, `get` of a missing block emits a `Get`
        // event (which the channels turn into a request) and returns at once.
        let _ = self.core.get(seq).await;
    }

    async fn deliver(&mut self, seq: u64) -> Result<(), ()> {
        if self.requested.is_some_and(|(pending, _)| pending == seq) {
            self.requested = None;
        }
        self.request_counts.remove(&seq);
        self.last_progress_at = Instant::now();
        self.plan.mark_delivered(seq);
        let Some(block) = self.read_with_retry(seq).await else {
            return Ok(());
        };
        match ChatMessage::decode(&block) {
            Ok(message) => {
                if let Err(e) = self.index.record(seq, Some(&message)) {
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
                let _ = self.index.record(seq, None);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_delivers_the_newest_window_then_history_downwards() {
        let mut plan = DeliveryPlan::default();
        let mut order = Vec::new();
        while let (Some(seq), _) | (None, Some(seq)) = plan.next(120) {
            plan.mark_delivered(seq);
            order.push(seq);
        }
        assert_eq!(order.len(), 120);
        assert_eq!(&order[..50], &(70..120).collect::<Vec<_>>()[..]);
        assert_eq!(&order[50..], &(0..70).rev().collect::<Vec<_>>()[..]);
    }

    #[test]
    fn live_appends_stay_ascending_after_the_window() {
        let mut plan = DeliveryPlan::default();
        for seq in 0..3 {
            assert_eq!(plan.next(3).0, Some(seq));
            plan.mark_delivered(seq);
        }
        assert_eq!(plan.next(3), (None, None));
        assert_eq!(plan.next(4), (Some(3), None));
    }

    #[test]
    fn history_waits_for_the_newest_window() {
        let mut plan = DeliveryPlan::default();
        assert_eq!(plan.next(100), (Some(50), None));
        for seq in 50..99 {
            plan.mark_delivered(seq);
        }
        assert_eq!(
            plan.next(100),
            (Some(99), None),
            "window incomplete: no history yet"
        );
        plan.mark_delivered(99);
        assert_eq!(plan.next(100), (None, Some(49)));
    }

    #[tokio::test]
    async fn a_followed_log_too_long_to_reopen_is_cloned_afresh_keeping_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let writer = open_core(&dir.path().join("writer"), None).await.unwrap();
        let key = core_key(&writer);
        let clone = dir.path().join("clone");
        drop(open_clone(&clone, key).await.unwrap());
        std::fs::write(clone.join(LENGTH_FILE), (REOPEN_LIMIT + 1).to_string()).unwrap();
        std::fs::write(clone.join("index.jsonl"), "{\"seq\":0}\n").unwrap();
        assert!(matches!(
            open_core(&clone, Some(key)).await,
            Err(LogError::TooLongToReopen { .. })
        ));
        let reopened = open_clone(&clone, key).await.unwrap();
        assert_eq!(core_key(&reopened), key);
        assert_eq!(reopened.info().length, 0);
        assert!(clone.join("index.jsonl").exists(), "the index survives");
    }

    #[test]
    fn blocks_after_the_first_sight_are_live() {
        let mut plan = DeliveryPlan::default();
        assert!(!plan.is_live(0), "nothing is live before the log is seen");
        plan.next(10);
        assert!(!plan.is_live(9));
        assert!(plan.is_live(10));
    }

    #[test]
    fn indexed_blocks_are_skipped() {
        let mut plan = DeliveryPlan::default();
        for seq in 0..100 {
            plan.mark_delivered(seq);
        }
        assert_eq!(plan.next(100), (None, None));
        assert_eq!(plan.next(101), (Some(100), None));
    }
}
