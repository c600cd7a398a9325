//! What the protocol's decoder would reserve before reading a message from
//! a peer. compact-encoding 2.2.0 (under hypercore-protocol 0.7.2) calls
//! `Vec::with_capacity(count)` with the count on the wire before it reads
//! an element: 11 bytes of a `bitfield` claiming 2^40 words reserve 4 TiB and
//! abort the process. `message_is_safe` walks a message as the decoder
//! reads it; `compat/observed.rs` closes a connection whose frame holds a
//! message that is not (compat: compact-encoding row). Pure; never panics.

use hypercore_schema::Node;

/// The most a single vector of one message may reserve: far above any
/// honest message (a frame is at most 16 MiB).
pub(crate) const SAFE_RESERVATION: u64 = 64 << 20;

/// Whether the decoder can take `bytes` (one message: type, then body)
/// without reserving more than its bytes justify.
pub(crate) fn message_is_safe(bytes: &[u8]) -> bool {
    wire_fits(bytes) && wire_reservation(bytes) <= SAFE_RESERVATION
}

/// Whether every vector count in a `data` or `bitfield` message fits in the
/// bytes left after it. compact-encoding 2.2.0 reserves
/// `Vec::with_capacity(count)` from the count on the wire before it reads
/// an element: 11 bytes of a `bitfield` claiming 2^40 words make it reserve
/// 4 TiB, and the process aborts (the allocation fails); a count near 2^62
/// panics. This is the check a connection would make on each incoming
/// message before the protocol decodes it.
pub(crate) fn wire_fits(bytes: &[u8]) -> bool {
    let mut cursor = Cursor::new(bytes);
    cursor.message();
    !cursor.overrun
}

/// The most memory, in bytes, the protocol's decoder would reserve for one
/// vector of this message before reading an element of it.
pub(crate) fn wire_reservation(bytes: &[u8]) -> u64 {
    let mut cursor = Cursor::new(bytes);
    cursor.message();
    cursor.largest
}

/// Walks a message's wire encoding as the protocol's decoder reads it.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    /// A vector count that does not fit in the bytes left.
    overrun: bool,
    /// The largest reservation a count asks for, in bytes.
    largest: u64,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            overrun: false,
            largest: 0,
        }
    }

    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    fn uint(&mut self) -> Option<u64> {
        let first = *self.bytes.get(self.at)?;
        self.at += 1;
        let width = match first {
            0xfd => 2,
            0xfe => 4,
            0xff => 8,
            small => return Some(small.into()),
        };
        let raw = self.bytes.get(self.at..self.at + width)?;
        self.at += width;
        let mut value = [0u8; 8];
        value[..width].copy_from_slice(raw);
        Some(u64::from_le_bytes(value))
    }

    fn skip(&mut self, count: u64) -> Option<()> {
        let count = usize::try_from(count).ok()?;
        if count > self.left() {
            return None;
        }
        self.at += count;
        Some(())
    }

    /// A vector's count, its elements `wire` bytes at least on the wire and
    /// `memory` bytes in memory.
    fn count(&mut self, wire: u64, memory: u64) -> Option<u64> {
        let count = self.uint()?;
        self.largest = self.largest.max(count.saturating_mul(memory));
        if count.saturating_mul(wire) > self.left() as u64 {
            self.overrun = true;
            return None;
        }
        Some(count)
    }

    fn nodes(&mut self) -> Option<()> {
        // index (1+), length (1+), hash (32)
        let count = self.count(34, std::mem::size_of::<Node>() as u64)?;
        for _ in 0..count {
            self.uint()?;
            self.uint()?;
            self.skip(32)?;
        }
        Some(())
    }

    /// `None` when the bytes end early or a count overruns: the decoder
    /// fails there.
    fn message(&mut self) -> Option<()> {
        match self.uint()? {
            // data
            3 => self.data(),
            // bitfield: start, words
            7 => {
                self.uint()?;
                self.count(4, 4).map(|_| ())
            }
            _ => Some(()),
        }
    }

    fn data(&mut self) -> Option<()> {
        let flags = *self.bytes.get(self.at)?;
        self.at += 1;
        // request, fork
        self.uint()?;
        self.uint()?;
        if flags & 1 != 0 {
            // block: index, value, nodes
            self.uint()?;
            let length = self.uint()?;
            self.skip(length)?;
            self.nodes()?;
        }
        if flags & 2 != 0 {
            // hash: index, nodes
            self.uint()?;
            self.nodes()?;
        }
        if flags & 4 != 0 {
            // seek: bytes, nodes
            self.uint()?;
            self.nodes()?;
        }
        if flags & 8 != 0 {
            // upgrade: start, length, nodes, additional nodes, signature
            self.uint()?;
            self.uint()?;
            self.nodes()?;
            self.nodes()?;
        }
        Some(())
    }
}
