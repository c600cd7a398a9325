//! `hychat tail KEY`: prints what the storage holds of a log at once, then
//! what arrives, and keeps following it until Ctrl+C or SIGTERM.
//!
//! - What the storage holds is read from the log's index without the lock
//!   (`net::read_only`), before anything else starts.
//! - Another's log is then fetched by an engine of its own
//!   (`NetCommand::Follow`, remembered like `hychat follow`); what arrives is
//!   printed batch by batch, each batch in seq order, as the log reports its
//!   progress. A signal shuts the engine down, which leaves the log's topic.
//! - The own log, and any log while another hychat holds the storage, is
//!   followed on disk instead: what the process that writes the storage
//!   saves shows within `POLL`. Nobody else writes the own log, so `tail`
//!   never starts an engine for it and never keeps the chat from starting.
//!
//! `Shown` decides what is printed: each seq once, and with `-n N` no
//! history older than the newest N the log is known to hold.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::time::Duration;

use time::UtcOffset;
use tokio::time::Instant;

use super::{shutdown, Failure, StopSignal};
use crate::domain::{ChatMessage, LogKey, Seq};
use crate::logging::say;
use crate::net::read_only::{LogMessages, StorageReader};
use crate::net::{
    self, EngineError, NetCommand, NetConfig, NetError, NetEvent, NetHandle, StoreError,
};

/// How often a log followed on disk is read again.
const POLL: Duration = Duration::from_millis(250);
/// How long fetched messages wait for their log's progress report (which
/// follows each batch) before they are printed anyway.
const SETTLE: Duration = Duration::from_millis(300);

/// Formats one message the way the workshop viewer printed it.
pub fn format_line(message: &ChatMessage, offset: UtcOffset) -> String {
    let time = message
        .timestamp
        .map(|t| {
            let t = t.to_offset(offset);
            format!("{:02}:{:02}", t.hour(), t.minute())
        })
        .unwrap_or_else(|| "--:--".into());
    let nick = if message.nickname.is_empty() {
        "?"
    } else {
        &message.nickname
    };
    let text = message.text.replace('\n', "\n      ");
    let room = message
        .room
        .as_ref()
        .map(|room| format!("#{room} "))
        .unwrap_or_default();
    if message.is_chat() {
        format!("{time} {room}{nick}: {text}")
    } else {
        format!("{time} {room}{nick} [{}]: {text}", message.kind)
    }
}

pub fn format_json(log: LogKey, seq: Seq, message: &ChatMessage) -> String {
    let mut value: serde_json::Value =
        serde_json::from_slice(&message.encode()).unwrap_or(serde_json::Value::Null);
    if let Some(object) = value.as_object_mut() {
        // The field keeps its first name: scripts read `feed` already.
        object.insert("feed".into(), log.to_hex().into());
        object.insert("seq".into(), seq.0.into());
    }
    value.to_string()
}

/// `config` should not replay the indexes (`NetConfig::replay_history`):
/// what they hold is read here directly.
pub async fn tail(
    config: NetConfig,
    key: LogKey,
    json: bool,
    lines: Option<usize>,
    offset: UtcOffset,
) -> Result<(), Failure> {
    if ed25519_dalek::VerifyingKey::from_bytes(&key.0).is_err() {
        return Err(Failure(format!(
            "`{key}` is not a log key: those 64 hex characters are no public key"
        )));
    }
    // Heard from now on: a signal while the history prints ends `tail`
    // cleanly once it is printed.
    let mut stop = StopSignal::listen();
    let storage = StorageReader::new(&config.storage);
    let own = storage.own_key().map_err(|e| Failure(e.to_string()))?;
    let printer = Printer { key, json, offset };
    let mut shown = Shown::new(lines);
    let mut saved = storage.messages(key, own);

    // What the storage holds, at once: the newest N of it with `-n N`.
    let mut held = BTreeMap::new();
    saved
        .read_new(|seq, message| {
            shown.saw_length(seq.0.saturating_add(1));
            held.insert(seq.0, message);
            if lines.is_some_and(|n| held.len() > n) {
                held.pop_first();
            }
        })
        .map_err(read_failure)?;
    if !printer.print(&mut shown, held) {
        return Ok(());
    }

    if own == Some(key) {
        return on_disk(saved, shown, &printer, &mut stop).await;
    }
    match net::spawn(config).await {
        Ok((handle, events)) => {
            let engine = Engine { handle, events };
            engine.follow(saved, shown, &printer, &mut stop).await
        }
        Err(NetError::Store(StoreError::InUse(dir))) => {
            say(&format!(
                "another hychat process uses {}; showing what it saves of this log",
                dir.display()
            ));
            on_disk(saved, shown, &printer, &mut stop).await
        }
        Err(e) => Err(Failure(e.to_string())),
    }
}

fn read_failure(e: std::io::Error) -> Failure {
    Failure(format!("cannot read the log's messages on disk: {e}"))
}

/// Follows a log's index on disk: everything saved after the first read
/// is new, and printed.
async fn on_disk(
    mut saved: LogMessages,
    mut shown: Shown,
    printer: &Printer,
    stop: &mut StopSignal,
) -> Result<(), Failure> {
    shown.go_live();
    loop {
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = stop.wait() => return Ok(()),
        }
        let mut batch = BTreeMap::new();
        saved
            .read_new(|seq, message| {
                batch.insert(seq.0, message);
            })
            .map_err(read_failure)?;
        if !printer.print(&mut shown, batch) {
            return Ok(());
        }
    }
}

/// An engine of `tail`'s own, holding the storage.
struct Engine {
    handle: NetHandle,
    events: tokio::sync::mpsc::Receiver<NetEvent>,
}

impl Engine {
    /// Follows the log through the engine until a signal, a closed stdout
    /// or the engine's end; then shuts the engine down, which leaves the
    /// log's topic.
    async fn follow(
        mut self,
        mut saved: LogMessages,
        mut shown: Shown,
        printer: &Printer,
        stop: &mut StopSignal,
    ) -> Result<(), Failure> {
        let key = printer.key;
        self.handle
            .send(NetCommand::Follow { key, name: None })
            .await;
        // What a hychat that held the storage a moment ago saved after the
        // first read: now that this engine holds it, nothing else is added.
        let mut late = BTreeMap::new();
        let outcome = match saved.read_new(|seq, message| {
            late.insert(seq.0, message);
        }) {
            Ok(()) if !printer.print(&mut shown, late) => Ok(()),
            Ok(()) => self.run(&mut shown, printer, stop).await,
            Err(e) => Err(read_failure(e)),
        };
        shutdown(self.handle, self.events).await;
        outcome
    }

    async fn run(
        &mut self,
        shown: &mut Shown,
        printer: &Printer,
        stop: &mut StopSignal,
    ) -> Result<(), Failure> {
        let key = printer.key;
        let mut arrived: BTreeMap<u64, ChatMessage> = BTreeMap::new();
        let mut settle: Option<Instant> = None;
        let mut followed = false;
        loop {
            let deadline = settle.unwrap_or_else(|| Instant::now() + SETTLE);
            tokio::select! {
                event = self.events.recv() => match event {
                    Some(NetEvent::Appended { log, seq, message }) if log == key => {
                        arrived.insert(seq.0, message);
                        settle.get_or_insert(Instant::now() + SETTLE);
                    }
                    Some(NetEvent::LogProgress { log, downloaded, length }) if log == key => {
                        shown.saw_length(length);
                        settle = None;
                        if !printer.print(shown, std::mem::take(&mut arrived)) {
                            return Ok(());
                        }
                        if length > 0 && downloaded >= length {
                            shown.go_live();
                        }
                    }
                    Some(NetEvent::Followed(entry)) if entry.key == key => followed = true,
                    // Before the follow took, a failure to open the log is
                    // its refusal (it cannot be opened on disk, say).
                    Some(NetEvent::Error(error @ EngineError::OpenLog { key: failed, .. })) if !followed && failed == key => {
                        return Err(Failure(error.to_string()));
                    }
                    Some(NetEvent::Error(error)) => say(&error.to_string()),
                    Some(_) => {}
                    None => return Ok(()),
                },
                () = tokio::time::sleep_until(deadline), if settle.is_some() => {
                    settle = None;
                    if !printer.print(shown, std::mem::take(&mut arrived)) {
                        return Ok(());
                    }
                }
                () = stop.wait() => return Ok(()),
            }
        }
    }
}

/// How one log's messages are printed.
struct Printer {
    key: LogKey,
    json: bool,
    offset: UtcOffset,
}

impl Printer {
    /// Prints the messages of `batch` that `shown` admits, in seq order.
    /// False once stdout is closed (`tail | head`, say): `tail` ends then.
    fn print(&self, shown: &mut Shown, batch: BTreeMap<u64, ChatMessage>) -> bool {
        let Some(&last) = batch.keys().next_back() else {
            return true;
        };
        shown.saw_length(last.saturating_add(1));
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for (seq, message) in batch {
            if !shown.admit(seq) {
                continue;
            }
            let line = if self.json {
                format_json(self.key, Seq(seq), &message)
            } else {
                format_line(&message, self.offset)
            };
            if writeln!(out, "{line}").is_err() {
                return false;
            }
        }
        out.flush().is_ok()
    }
}

/// Which of a log's messages `tail` prints: each seq once; with `-n N`, of
/// the history only the newest N of the log as far as it is known; and
/// everything that comes after `tail` went live (caught up with the log,
/// or started following it on disk).
#[derive(Debug)]
struct Shown {
    newest: Option<usize>,
    printed: HashSet<u64>,
    /// One past the highest seq known to exist, seen or reported.
    length: u64,
    /// Where the log stood when `tail` went live: seqs from here on are
    /// new, and all printed.
    live_from: Option<u64>,
}

impl Shown {
    fn new(newest: Option<usize>) -> Self {
        Self {
            newest,
            printed: HashSet::new(),
            length: 0,
            live_from: None,
        }
    }

    fn saw_length(&mut self, length: u64) {
        self.length = self.length.max(length);
    }

    /// From here on, what comes is new (once; later calls change nothing).
    fn go_live(&mut self) {
        self.live_from.get_or_insert(self.length);
    }

    /// Whether to print `seq` (and count it printed).
    fn admit(&mut self, seq: u64) -> bool {
        let live = self.live_from.is_some_and(|from| seq >= from);
        self.saw_length(seq.saturating_add(1));
        let recent = self
            .newest
            .is_none_or(|n| seq.saturating_add(n as u64) >= self.length);
        (live || recent) && self.printed.insert(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn lines_look_like_the_workshop_viewer() {
        let message = ChatMessage::new_chat("ann", "hi", datetime!(2026-11-24 14:26 UTC));
        assert_eq!(format_line(&message, UtcOffset::UTC), "14:26 ann: hi");
    }

    #[test]
    fn room_messages_name_their_room() {
        let mut message = ChatMessage::new_chat("ann", "hi", datetime!(2026-11-24 14:26 UTC));
        message.room = Some("streams-day".into());
        assert_eq!(
            format_line(&message, UtcOffset::UTC),
            "14:26 #streams-day ann: hi"
        );
    }

    #[test]
    fn json_lines_carry_log_and_seq() {
        let message = ChatMessage::new_chat("ann", "hi", datetime!(2026-11-24 14:26 UTC));
        let line = format_json(LogKey([1; 32]), Seq(4), &message);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["seq"], 4);
        assert_eq!(value["text"], "hi");
        assert_eq!(value["feed"], LogKey([1; 32]).to_hex());
    }

    /// Admits a batch the way `Printer::print` does.
    fn batch(shown: &mut Shown, seqs: &[u64]) -> Vec<u64> {
        let mut seqs = seqs.to_vec();
        seqs.sort_unstable();
        if let Some(last) = seqs.last() {
            shown.saw_length(last + 1);
        }
        seqs.into_iter().filter(|seq| shown.admit(*seq)).collect()
    }

    #[test]
    fn each_seq_is_printed_once() {
        let mut shown = Shown::new(None);
        assert_eq!(batch(&mut shown, &[0, 1, 2]), vec![0, 1, 2]);
        assert_eq!(batch(&mut shown, &[2, 3]), vec![3]);
        shown.go_live();
        assert_eq!(batch(&mut shown, &[3, 4, 0]), vec![4]);
    }

    #[test]
    fn with_n_only_the_newest_history_and_everything_live() {
        let mut shown = Shown::new(Some(2));
        // Held on disk: the newest 2 of 5 (the caller keeps only those).
        assert_eq!(batch(&mut shown, &[3, 4]), vec![3, 4]);
        // A peer reports 10 blocks: the newest come first, then the rest.
        shown.saw_length(10);
        assert_eq!(batch(&mut shown, &[7, 8, 9]), vec![8, 9]);
        assert_eq!(batch(&mut shown, &[0, 1, 2, 5, 6]), Vec::<u64>::new());
        // Caught up: a burst of new messages is printed whole.
        shown.go_live();
        assert_eq!(batch(&mut shown, &[10, 11, 12, 13]), vec![10, 11, 12, 13]);
    }

    #[test]
    fn with_n_0_only_what_comes_after_going_live() {
        let mut shown = Shown::new(Some(0));
        assert_eq!(batch(&mut shown, &[0, 1]), Vec::<u64>::new());
        shown.go_live();
        assert_eq!(batch(&mut shown, &[2]), vec![2]);
    }
}
