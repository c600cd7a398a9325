//! The secret stream's frames, as @hyperswarm/secret-stream writes them: a
//! u24le body length, then the body (`_onrawdata`, `index.js:222-281`). This
//! file owns the encoder and the incremental decoder.
//!
//! The decoder takes bytes in any split, yields whole bodies in order, and
//! takes lengths up to `2^24 − 1`. It never reserves a body's declared length
//! before the bytes arrive: a buffer grows with what came (at most doubling),
//! so a 3-byte header claiming 16 MiB costs nothing. Any byte sequence is a
//! valid framing; the only error is a length above the decoder's own limit.

/// The largest body a u24le length can announce, `2^24 − 1`
/// (`MAX_ATOMIC_WRITE`, `index.js:13`).
pub(crate) const MAX_FRAME: usize = (1 << 24) - 1;

/// The length prefix: three bytes, little-endian.
pub(crate) const HEADER_LEN: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("a frame of {len} bytes is longer than the {limit} bytes allowed")]
    TooLong { len: usize, limit: usize },
}

/// The u24le length prefix of a body of `len` bytes.
pub(crate) fn header(len: usize) -> Result<[u8; HEADER_LEN], FrameError> {
    if len > MAX_FRAME {
        return Err(FrameError::TooLong {
            len,
            limit: MAX_FRAME,
        });
    }
    Ok([len as u8, (len >> 8) as u8, (len >> 16) as u8])
}

/// Appends `u24le(len) ‖ body` to `out`.
pub(crate) fn encode_into(out: &mut Vec<u8>, body: &[u8]) -> Result<(), FrameError> {
    out.extend_from_slice(&header(body.len())?);
    out.extend_from_slice(body);
    Ok(())
}

/// `u24le(len) ‖ body`, as one buffer.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn encode(body: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    encode_into(&mut out, body)?;
    Ok(out)
}

/// The incremental decoder. Feed it with `decode` (one frame at a time) or
/// `feed` (all whole frames of a read).
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    limit: usize,
    /// The length prefix read so far.
    header: [u8; HEADER_LEN],
    header_have: usize,
    /// `Some(len)` once the prefix is whole: the body's length.
    want: Option<usize>,
    /// The body read so far (empty between frames).
    body: Vec<u8>,
    /// Set by the first error; every later call returns it again.
    failed: Option<FrameError>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder taking any u24 length.
    pub(crate) fn new() -> Self {
        Self::with_limit(MAX_FRAME)
    }

    /// A decoder refusing bodies longer than `limit` (capped at `MAX_FRAME`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn with_limit(limit: usize) -> Self {
        FrameDecoder {
            limit: limit.min(MAX_FRAME),
            header: [0; HEADER_LEN],
            header_have: 0,
            want: None,
            body: Vec::new(),
            failed: None,
        }
    }

    /// Takes bytes from the front of `input` until one body is whole
    /// (`Some`, with `input` advanced past it) or `input` is used up
    /// (`None`, the partial frame kept). A body of length 0 comes out as an
    /// empty buffer. An error is fatal: the decoder returns it from then on.
    pub(crate) fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>, FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let want = match self.want {
            Some(want) => want,
            None => {
                while self.header_have < HEADER_LEN {
                    let Some((&byte, rest)) = input.split_first() else {
                        return Ok(None);
                    };
                    self.header[self.header_have] = byte;
                    self.header_have += 1;
                    *input = rest;
                }
                let [a, b, c] = self.header;
                let len = usize::from(a) | (usize::from(b) << 8) | (usize::from(c) << 16);
                if len > self.limit {
                    let error = FrameError::TooLong {
                        len,
                        limit: self.limit,
                    };
                    self.failed = Some(error.clone());
                    return Err(error);
                }
                self.want = Some(len);
                // The whole body is already here: one exact copy.
                if input.len() >= len {
                    let (body, rest) = input.split_at(len);
                    *input = rest;
                    self.reset();
                    return Ok(Some(body.to_vec()));
                }
                len
            }
        };
        let missing = want - self.body.len();
        let take = missing.min(input.len());
        let (chunk, rest) = input.split_at(take);
        self.grow(self.body.len() + take, want);
        self.body.extend_from_slice(chunk);
        *input = rest;
        if self.body.len() == want {
            let body = std::mem::take(&mut self.body);
            self.reset();
            return Ok(Some(body));
        }
        Ok(None)
    }

    /// Every body made whole by `bytes`, oldest first.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut frames = Vec::new();
        while let Some(frame) = self.decode(&mut bytes)? {
            frames.push(frame);
        }
        Ok(frames)
    }

    /// True between frames, with nothing of the next one read.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn is_idle(&self) -> bool {
        self.header_have == 0 && self.want.is_none()
    }

    /// The bytes the partial body's buffer holds room for (what the
    /// decoder has allocated).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn buffered_capacity(&self) -> usize {
        self.body.capacity()
    }

    /// Grows the body buffer to hold `needed` bytes: at least doubling, never
    /// past the declared length `want`, so memory follows the bytes received.
    fn grow(&mut self, needed: usize, want: usize) {
        let capacity = self.body.capacity();
        if needed <= capacity {
            return;
        }
        let target = needed.max(capacity.saturating_mul(2)).min(want);
        self.body.reserve_exact(target - self.body.len());
    }

    fn reset(&mut self) {
        self.header_have = 0;
        self.want = None;
        self.body = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_a_u24le_length() {
        assert_eq!(encode(b"hello").unwrap(), b"\x05\x00\x00hello");
        assert_eq!(header(0).unwrap(), [0, 0, 0]);
        assert_eq!(header(56).unwrap(), [0x38, 0, 0]);
        assert_eq!(header(0x0001_0000).unwrap(), [0, 0, 1]);
        assert_eq!(header(MAX_FRAME).unwrap(), [0xff, 0xff, 0xff]);
        assert_eq!(
            header(MAX_FRAME + 1),
            Err(FrameError::TooLong {
                len: MAX_FRAME + 1,
                limit: MAX_FRAME
            })
        );
        assert!(encode(&vec![0; MAX_FRAME + 1]).is_err());
    }

    #[test]
    fn decodes_frames_whole_and_byte_by_byte() {
        let mut wire = Vec::new();
        for body in [&b"hello"[..], b"", b"x", &[7; 300]] {
            encode_into(&mut wire, body).unwrap();
        }
        let whole = FrameDecoder::new().feed(&wire).unwrap();
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[0], b"hello");
        assert!(whole[1].is_empty());
        assert_eq!(whole[2], b"x");
        assert_eq!(whole[3], vec![7; 300]);
        let mut decoder = FrameDecoder::new();
        let mut bytewise = Vec::new();
        for byte in &wire {
            bytewise.extend(decoder.feed(std::slice::from_ref(byte)).unwrap());
        }
        assert_eq!(bytewise, whole);
        assert!(decoder.is_idle());
    }

    #[test]
    fn a_huge_length_alone_allocates_nothing() {
        let mut decoder = FrameDecoder::new();
        assert!(decoder.feed(&[0xff, 0xff, 0xff]).unwrap().is_empty());
        assert_eq!(decoder.buffered_capacity(), 0);
        assert!(!decoder.is_idle());
        assert!(decoder.feed(&[1; 10]).unwrap().is_empty());
        assert!(decoder.buffered_capacity() < 64);
        // The buffer follows the bytes: at most twice what arrived.
        let mut have = 10;
        for _ in 0..20 {
            decoder.feed(&[2; 1000]).unwrap();
            have += 1000;
            assert!(decoder.buffered_capacity() <= 2 * have);
        }
    }

    #[test]
    fn the_buffer_never_outgrows_the_declared_length() {
        let mut decoder = FrameDecoder::new();
        let len = 100_000;
        decoder.feed(&header(len).unwrap()).unwrap();
        let mut got = Vec::new();
        for _ in 0..(len / 999) {
            got.extend(decoder.feed(&[3; 999]).unwrap());
            assert!(decoder.buffered_capacity() <= len);
        }
        got.extend(decoder.feed(&vec![3; len % 999]).unwrap());
        assert_eq!(got, vec![vec![3; len]]);
    }

    #[test]
    fn the_limit_is_a_sticky_error() {
        let mut decoder = FrameDecoder::with_limit(10);
        assert_eq!(decoder.feed(b"\x0a\x00\x000123456789").unwrap().len(), 1);
        let error = FrameError::TooLong { len: 11, limit: 10 };
        assert_eq!(decoder.feed(b"\x0b\x00\x00"), Err(error.clone()));
        assert_eq!(decoder.feed(b"\x00\x00\x00"), Err(error));
    }

    fn frames() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..8),
                prop::collection::vec(any::<u8>(), 0..3000),
            ],
            0..12,
        )
    }

    proptest! {
        #[test]
        fn any_split_decodes_the_same(
            bodies in frames(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        ) {
            let mut wire = Vec::new();
            for body in &bodies {
                encode_into(&mut wire, body).unwrap();
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            cuts.sort_unstable();
            let mut decoder = FrameDecoder::new();
            let mut got = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([wire.len()]) {
                got.extend(decoder.feed(&wire[from..cut]).unwrap());
                from = cut;
            }
            prop_assert_eq!(got, bodies);
            prop_assert!(decoder.is_idle());
        }

        #[test]
        fn garbage_never_panics(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16),
            limit in 0usize..100,
        ) {
            let mut limited = FrameDecoder::with_limit(limit);
            let mut open = FrameDecoder::new();
            for chunk in &chunks {
                let _ = limited.feed(chunk);
                let _ = open.feed(chunk);
                prop_assert!(open.buffered_capacity() <= 2 * 64 * 16);
            }
        }
    }
}
