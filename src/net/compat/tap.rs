//! A tap on the replication messages of one log, for tests and benches
//! (built only with the `testing` feature, or in unit tests): every
//! connection of the process hands what it reads for a tapped log to each
//! tap on it (`observed.rs` calls `tap`). Untapped, a call is one atomic
//! load.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::domain::keys::{DiscoveryKey, LogKey};
use crate::net::lock::lock;

/// One replication message of a tapped log, as a connection of this
/// process read it pass. `at` is the own log of the node whose connection
/// read it (`None` before that node has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireSeen {
    /// The peer asked the node `at` for block `block` and/or for an upgrade
    /// of `upgrade` = (start, length) blocks.
    Asked {
        at: Option<LogKey>,
        block: Option<u64>,
        upgrade: Option<(u64, u64)>,
    },
    /// The node `at` asked its peer for block `block` and/or an upgrade.
    Asking {
        at: Option<LogKey>,
        block: Option<u64>,
        upgrade: Option<(u64, u64)>,
    },
    /// The node `at` sent its peer block `block`.
    Sent { at: Option<LogKey>, block: u64 },
}

/// Messages a tap keeps until they are taken; later ones are only counted.
const TAP_CAPACITY: usize = 100_000;

/// What a tap has read and not yet handed out.
#[derive(Default)]
struct TapBuffer {
    seen: Vec<WireSeen>,
    missed: u64,
}

struct TapSlot {
    id: u64,
    discovery_key: DiscoveryKey,
    buffer: Arc<Mutex<TapBuffer>>,
}

/// Every open tap of the process, and how many there are (read first, so
/// an untapped process never takes the lock).
static TAPS: Mutex<Vec<TapSlot>> = Mutex::new(Vec::new());
static TAPPED: AtomicUsize = AtomicUsize::new(0);
static NEXT_TAP: AtomicU64 = AtomicU64::new(0);

/// Hands `seen()` to every tap on the log of `discovery_key`.
pub(crate) fn tap(discovery_key: &DiscoveryKey, seen: impl FnOnce() -> WireSeen) {
    if TAPPED.load(Ordering::Acquire) == 0 {
        return;
    }
    let taps = lock(&TAPS);
    let mut matching = taps
        .iter()
        .filter(|slot| slot.discovery_key == *discovery_key)
        .peekable();
    if matching.peek().is_none() {
        return;
    }
    let message = seen();
    for slot in matching {
        let mut buffer = lock(&slot.buffer);
        if buffer.seen.len() < TAP_CAPACITY {
            buffer.seen.push(message.clone());
        } else {
            buffer.missed = buffer.missed.saturating_add(1);
        }
    }
}

/// Starts reading what every connection of this process sends and receives
/// for `log`: requests both ways and the blocks sent (see `WireSeen`). For
/// tests and benches; the tap ends when dropped.
pub fn tap_wire(log: LogKey) -> WireTap {
    let buffer = Arc::new(Mutex::new(TapBuffer::default()));
    let id = NEXT_TAP.fetch_add(1, Ordering::Relaxed);
    lock(&TAPS).push(TapSlot {
        id,
        discovery_key: log.discovery_key(),
        buffer: Arc::clone(&buffer),
    });
    TAPPED.fetch_add(1, Ordering::AcqRel);
    WireTap { id, buffer }
}

/// An open tap on one log (`tap_wire`).
pub struct WireTap {
    id: u64,
    buffer: Arc<Mutex<TapBuffer>>,
}

impl WireTap {
    /// What was read since the last `take`, in order.
    pub fn take(&self) -> Vec<WireSeen> {
        std::mem::take(&mut lock(&self.buffer).seen)
    }

    /// Messages read while the tap held `TAP_CAPACITY` untaken ones, and
    /// so not kept.
    pub fn missed(&self) -> u64 {
        lock(&self.buffer).missed
    }
}

impl Drop for WireTap {
    fn drop(&mut self) {
        let mut taps = lock(&TAPS);
        let before = taps.len();
        taps.retain(|slot| slot.id != self.id);
        if taps.len() < before {
            TAPPED.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(byte: u8) -> LogKey {
        LogKey([byte; 32])
    }

    fn sent(block: u64) -> WireSeen {
        WireSeen::Sent { at: None, block }
    }

    #[test]
    fn a_tap_reads_its_own_log_in_order_until_dropped() {
        let (mine, other) = (log(0xa1), log(0xa2));
        let tap_on_mine = tap_wire(mine);
        tap(&mine.discovery_key(), || sent(1));
        tap(&other.discovery_key(), || sent(2));
        tap(&mine.discovery_key(), || sent(3));
        assert_eq!(tap_on_mine.take(), vec![sent(1), sent(3)]);
        assert!(tap_on_mine.take().is_empty(), "taken once");
        let id = tap_on_mine.id;
        drop(tap_on_mine);
        assert!(lock(&TAPS).iter().all(|slot| slot.id != id));
    }

    #[test]
    fn a_full_tap_counts_what_it_cannot_keep() {
        let key = log(0xa3);
        let full = tap_wire(key);
        for block in 0..TAP_CAPACITY as u64 + 5 {
            tap(&key.discovery_key(), || sent(block));
        }
        assert_eq!(full.missed(), 5);
        let kept = full.take();
        assert_eq!(kept.len(), TAP_CAPACITY);
        assert_eq!(kept.last(), Some(&sent(TAP_CAPACITY as u64 - 1)));
    }
}
