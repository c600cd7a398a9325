//! The compact-encoding primitives that the DHT's wire formats are built
//! from, as JS `compact-encoding` lays them out: varint `uint`s, length-
//! prefixed buffers (length 0 reads as absent), fixed 32/64-byte fields,
//! IPv4 addresses (4 bytes + u16 LE port) and counted arrays.
//!
//! The reader is for untrusted bytes: every read is bounds-checked, array
//! counts are capped before anything is reserved, and nothing panics.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

/// Why bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CodecError {
    #[error("the message ends early")]
    Truncated,
    #[error("a list of {0} entries is longer than allowed")]
    TooMany(u64),
}

pub(crate) fn put_uint(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

pub(crate) fn put_ipv4(out: &mut Vec<u8>, addr: SocketAddrV4) {
    out.extend_from_slice(&addr.ip().octets());
    out.extend_from_slice(&addr.port().to_le_bytes());
}

pub(crate) fn put_ipv6(out: &mut Vec<u8>, addr: SocketAddrV6) {
    out.extend_from_slice(&addr.ip().octets());
    out.extend_from_slice(&addr.port().to_le_bytes());
}

/// A length-prefixed buffer. An empty one is what JS writes for "absent".
pub(crate) fn put_buffer(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A counted array of IPv4 addresses.
pub(crate) fn put_ipv4_array(out: &mut Vec<u8>, addrs: &[SocketAddrV4]) {
    put_uint(out, addrs.len() as u64);
    for addr in addrs {
        put_ipv4(out, *addr);
    }
}

/// Reads untrusted bytes front to back.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.0.len() < n {
            return Err(CodecError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, CodecError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn uint(&mut self) -> Result<u64, CodecError> {
        Ok(match self.u8()? {
            0xfd => u64::from(self.u16()?),
            0xfe => {
                let b = self.take(4)?;
                u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            0xff => {
                let mut eight = [0; 8];
                eight.copy_from_slice(self.take(8)?);
                u64::from_le_bytes(eight)
            }
            small => u64::from(small),
        })
    }

    pub(crate) fn fixed32(&mut self) -> Result<[u8; 32], CodecError> {
        let mut out = [0; 32];
        out.copy_from_slice(self.take(32)?);
        Ok(out)
    }

    pub(crate) fn fixed64(&mut self) -> Result<[u8; 64], CodecError> {
        let mut out = [0; 64];
        out.copy_from_slice(self.take(64)?);
        Ok(out)
    }

    pub(crate) fn ipv4(&mut self) -> Result<SocketAddrV4, CodecError> {
        let b = self.take(6)?;
        let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        Ok(SocketAddrV4::new(ip, u16::from_le_bytes([b[4], b[5]])))
    }

    pub(crate) fn ipv6(&mut self) -> Result<SocketAddrV6, CodecError> {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(self.take(16)?);
        let port = self.u16()?;
        Ok(SocketAddrV6::new(Ipv6Addr::from(octets), port, 0, 0))
    }

    /// A length-prefixed buffer; length 0 is "absent", as in JS.
    pub(crate) fn buffer(&mut self) -> Result<Option<&'a [u8]>, CodecError> {
        let len = self.uint()?;
        let len = usize::try_from(len).map_err(|_| CodecError::Truncated)?;
        let bytes = self.take(len)?;
        Ok((!bytes.is_empty()).then_some(bytes))
    }

    /// An array count, refused above `max` before anything is reserved.
    pub(crate) fn count(&mut self, max: usize) -> Result<usize, CodecError> {
        let n = self.uint()?;
        if n > max as u64 {
            return Err(CodecError::TooMany(n));
        }
        Ok(n as usize)
    }

    /// A counted array of IPv4 addresses, at most `max` of them.
    pub(crate) fn ipv4_array(&mut self, max: usize) -> Result<Vec<SocketAddrV4>, CodecError> {
        let n = self.count(max)?;
        // Each entry is 6 bytes: a count the bytes cannot hold is refused
        // before the loop, and the loop reserves nothing beyond the bytes.
        if self.0.len() < n.saturating_mul(6) {
            return Err(CodecError::Truncated);
        }
        (0..n).map(|_| self.ipv4()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uints_use_the_js_widths() {
        let widths = [
            (0u64, 1),
            (0xfc, 1),
            (0xfd, 3),
            (0xffff, 3),
            (0x1_0000, 5),
            (u64::from(u32::MAX), 5),
            (u64::from(u32::MAX) + 1, 9),
        ];
        for (n, width) in widths {
            let mut out = Vec::new();
            put_uint(&mut out, n);
            assert_eq!(out.len(), width, "{n}");
        }
    }

    #[test]
    fn an_address_is_four_bytes_and_a_little_endian_port() {
        let mut out = Vec::new();
        put_ipv4(&mut out, "198.51.100.1:49737".parse().unwrap());
        assert_eq!(hex::encode(out), "c633640149c2");
    }

    #[test]
    fn an_empty_buffer_reads_as_absent() {
        assert_eq!(Reader(&[0]).buffer(), Ok(None));
        assert_eq!(Reader(&[2, 7, 8]).buffer(), Ok(Some(&[7u8, 8][..])));
        assert_eq!(Reader(&[3, 7, 8]).buffer(), Err(CodecError::Truncated));
    }

    #[test]
    fn a_count_beyond_the_bytes_is_refused_before_reserving() {
        let mut bytes = vec![0xfe];
        bytes.extend_from_slice(&1_000_000u32.to_le_bytes());
        assert_eq!(
            Reader(&bytes).ipv4_array(2_000_000),
            Err(CodecError::Truncated)
        );
        assert_eq!(
            Reader(&bytes).ipv4_array(20),
            Err(CodecError::TooMany(1_000_000))
        );
    }

    proptest! {
        #[test]
        fn uints_round_trip(n in any::<u64>()) {
            let mut out = Vec::new();
            put_uint(&mut out, n);
            let mut reader = Reader(&out);
            prop_assert_eq!(reader.uint(), Ok(n));
            prop_assert!(reader.is_empty());
        }

        #[test]
        fn reading_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Reader(&bytes);
            let _ = r.uint();
            let _ = r.ipv4_array(20);
            let _ = r.buffer();
            let _ = r.ipv6();
        }
    }
}
