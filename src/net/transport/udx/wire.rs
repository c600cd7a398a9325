//! The UDX packet codec, byte-compatible with libudx (udx-native 1.21.3):
//! the 20-byte little-endian header, SACK blocks, the data offset that MTU
//! probes pad with, and the payload. Pure functions over byte slices; never
//! panics on any input. The stream state machine (`stream.rs`) decides what
//! to send; this file only says how it looks on the wire.

#![cfg_attr(not(test), allow(dead_code))]

/// Bytes of every UDX header: magic, version, type, data offset, id, rwnd,
/// seq, ack.
pub(crate) const HEADER_LEN: usize = 20;
/// First byte of every UDX datagram.
pub(crate) const MAGIC: u8 = 0xff;
/// Second byte of every UDX datagram.
pub(crate) const VERSION: u8 = 1;
/// The largest datagram we ever send (JS reads with a 2,048-byte buffer;
/// 1,472 is the IPv4 max at MTU 1500).
pub(crate) const MAX_DATAGRAM: usize = 1472;
/// The MTU every stream starts at, and libudx's first probe
/// (`UDX_MTU_BASE`).
pub(crate) const MTU_BASE: usize = 1200;
/// libudx probes MTUs this far apart (`UDX_MTU_STEP`)...
const MTU_STEP: usize = 32;
/// ... up to this one, its last probe wherever the steps fall
/// (`UDX_MTU_MAX`).
const MTU_MAX: usize = 1500;
/// The IP and UDP headers under a datagram: IPv4, IPv6.
const IP_UDP_HEADERS: [usize; 2] = [20 + 8, 40 + 8];

/// Stream data at `seq`; consumes one sequence number.
pub(crate) const DATA: u8 = 0x01;
/// The sender finished writing; consumes one sequence number.
pub(crate) const END: u8 = 0x02;
/// The bytes after the header are SACK blocks.
pub(crate) const SACK: u8 = 0x04;
/// One unreliable datagram; consumes no sequence number.
pub(crate) const MESSAGE: u8 = 0x08;
/// The sender destroyed the stream; sent once, never retransmitted.
pub(crate) const DESTROY: u8 = 0x10;
/// Keepalive or zero-window probe; must be answered with an ack.
pub(crate) const HEARTBEAT: u8 = 0x20;

/// Bytes of one SACK block: `start` u32, `end` u32 (end exclusive).
const SACK_BLOCK_LEN: usize = 8;

/// The fixed header of a UDX packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Type flags (`DATA | END | SACK | MESSAGE | DESTROY | HEARTBEAT`);
    /// 0 is a pure ack.
    pub(crate) kind: u8,
    /// Bytes between the header and the payload (SACK blocks or probe
    /// padding). `encode` computes it; `decode` reports what was on the wire.
    pub(crate) data_offset: u8,
    /// The receiver's stream id.
    pub(crate) id: u32,
    /// The sender's receive window in bytes.
    pub(crate) rwnd: u32,
    /// DATA/END: this packet's sequence number; otherwise the sender's next
    /// seq, not consumed.
    pub(crate) seq: u32,
    /// Cumulative: the next sequence number the sender expects.
    pub(crate) ack: u32,
}

/// One decoded UDX packet, borrowing its payload from the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet<'a> {
    pub(crate) header: Header,
    /// SACK blocks `[start, end)` as sent (unvalidated), when the SACK flag
    /// is set.
    pub(crate) sacks: Vec<(u32, u32)>,
    /// The bytes after `20 + data_offset`.
    pub(crate) payload: &'a [u8],
}

/// True for a datagram that is UDX: 0xff 0x01 and at least 20 bytes (how a
/// shared socket tells UDX from dht-rpc and probes).
pub(crate) fn is_udx(datagram: &[u8]) -> bool {
    datagram.len() >= HEADER_LEN && datagram[0] == MAGIC && datagram[1] == VERSION
}

/// The receiver's stream id of a UDX datagram, without decoding the rest.
pub(crate) fn peek_id(datagram: &[u8]) -> Option<u32> {
    if !is_udx(datagram) {
        return None;
    }
    read_u32(datagram, 4)
}

/// True when a datagram of `len` bytes has the size of an MTU probe as
/// libudx pads one: exactly the MTU it probes (1,200 + 32·k, or 1,500),
/// over IPv4 or IPv6. A padded packet of any other size was cut short on
/// the way, its data with it. (libudx also probes the OS's path MTU when
/// that is below 1,500 and off the steps; refusing such a probe only stops
/// the peer's search one step lower, after three tries.)
pub(crate) fn is_probe_size(len: usize) -> bool {
    IP_UDP_HEADERS.iter().any(|headers| {
        let mtu = len + headers;
        (MTU_BASE..=MTU_MAX).contains(&mtu)
            && ((mtu - MTU_BASE).is_multiple_of(MTU_STEP) || mtu == MTU_MAX)
    })
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let b: [u8; 4] = bytes.get(at..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// Decodes one datagram; None for anything that is not a valid UDX packet
/// (bad magic/version, short, data offset beyond the packet, ...). Never
/// panics.
///
/// As libudx's `process_packet`: the payload starts at `20 + data_offset`;
/// with the SACK flag, the blocks span `data_offset` bytes when
/// `0 < data_offset < payload length`, else the whole payload (libudx sends
/// its SACK blocks as the payload with data offset 0).
pub(crate) fn decode(datagram: &[u8]) -> Option<Packet<'_>> {
    if !is_udx(datagram) {
        return None;
    }
    let header = Header {
        kind: datagram[2],
        data_offset: datagram[3],
        id: read_u32(datagram, 4)?,
        rwnd: read_u32(datagram, 8)?,
        seq: read_u32(datagram, 12)?,
        ack: read_u32(datagram, 16)?,
    };
    let rest = datagram.get(HEADER_LEN..)?;
    let offset = usize::from(header.data_offset);
    // libudx drops a packet whose data offset reaches beyond it.
    let payload = rest.get(offset..)?;
    let mut sacks = Vec::new();
    if header.kind & SACK != 0 {
        let region = if offset > 0 && offset < rest.len() {
            rest.get(..offset)?
        } else {
            rest
        };
        sacks.reserve(region.len() / SACK_BLOCK_LEN);
        for block in region.chunks_exact(SACK_BLOCK_LEN) {
            let start = read_u32(block, 0)?;
            let end = read_u32(block, 4)?;
            sacks.push((start, end));
        }
    }
    Some(Packet {
        header,
        sacks,
        payload,
    })
}

/// Appends the encoding of a packet to `out`: header, then SACK blocks (if
/// any; sets the SACK flag), then `padding` zero bytes counted in
/// data_offset (an MTU probe), then payload.
///
/// `header.data_offset` is ignored and computed: a pure SACK (no payload,
/// no padding) goes out as libudx sends it, blocks as the payload with data
/// offset 0; otherwise data offset counts the blocks plus the padding, and
/// blocks that would not fit in the one-byte offset are left out.
pub(crate) fn encode(
    header: &Header,
    sacks: &[(u32, u32)],
    padding: u8,
    payload: &[u8],
    out: &mut Vec<u8>,
) {
    let mut kind = header.kind;
    let blocks: &[(u32, u32)];
    let data_offset: u8;
    if sacks.is_empty() {
        blocks = &[];
        data_offset = padding;
    } else if payload.is_empty() && padding == 0 {
        kind |= SACK;
        blocks = sacks;
        data_offset = 0;
    } else {
        let room = (usize::from(u8::MAX) - usize::from(padding)) / SACK_BLOCK_LEN;
        blocks = &sacks[..sacks.len().min(room)];
        if !blocks.is_empty() {
            kind |= SACK;
        }
        // At most 255 by the choice of `room`.
        data_offset =
            u8::try_from(blocks.len() * SACK_BLOCK_LEN + usize::from(padding)).unwrap_or(u8::MAX);
    }
    out.reserve(HEADER_LEN + blocks.len() * SACK_BLOCK_LEN + usize::from(padding) + payload.len());
    out.push(MAGIC);
    out.push(VERSION);
    out.push(kind);
    out.push(data_offset);
    out.extend_from_slice(&header.id.to_le_bytes());
    out.extend_from_slice(&header.rwnd.to_le_bytes());
    out.extend_from_slice(&header.seq.to_le_bytes());
    out.extend_from_slice(&header.ack.to_le_bytes());
    for &(start, end) in blocks {
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&end.to_le_bytes());
    }
    out.resize(out.len() + usize::from(padding), 0);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(clean).expect("test vector is hex")
    }

    const A_TO_B: u32 = 0x5566_7788;
    const B_TO_A: u32 = 0x1122_3344;
    const RWND: u32 = 4_194_304;

    fn header(kind: u8, id: u32, seq: u32, ack: u32) -> Header {
        Header {
            kind,
            data_offset: 0,
            id,
            rwnd: RWND,
            seq,
            ack,
        }
    }

    /// Encodes, compares with the vector, decodes the vector and compares
    /// with what was encoded.
    fn check(h: Header, sacks: &[(u32, u32)], padding: u8, payload: &[u8], vector: &str) {
        let want = hex(vector);
        let mut out = Vec::new();
        encode(&h, sacks, padding, payload, &mut out);
        assert_eq!(hex::encode(&out), hex::encode(&want));
        let p = decode(&want).expect("vector decodes");
        let mut h2 = h;
        if !sacks.is_empty() {
            h2.kind |= SACK;
        }
        h2.data_offset = want[3];
        assert_eq!(p.header, h2);
        assert_eq!(p.sacks, sacks);
        if sacks.is_empty() {
            assert_eq!(p.payload, payload);
        }
        assert!(is_udx(&want));
        assert_eq!(peek_id(&want), Some(h.id));
    }

    #[test]
    fn vectors_of_section_7_1() {
        check(
            header(DATA, A_TO_B, 0, 0),
            &[],
            0,
            b"hello",
            "ff01 01 00 88776655 00004000 00000000 00000000 68656c6c6f",
        );
        check(
            header(0, B_TO_A, 0, 1),
            &[],
            0,
            b"",
            "ff01 00 00 44332211 00004000 00000000 01000000",
        );
        check(
            header(DATA, B_TO_A, 0, 1),
            &[],
            0,
            b"world!",
            "ff01 01 00 44332211 00004000 00000000 01000000 776f726c6421",
        );
        check(
            header(MESSAGE, A_TO_B, 1, 1),
            &[],
            0,
            b"msg",
            "ff01 08 00 88776655 00004000 01000000 01000000 6d7367",
        );
        check(
            header(MESSAGE, A_TO_B, 1, 1),
            &[],
            0,
            b"",
            "ff01 08 00 88776655 00004000 01000000 01000000",
        );
        check(
            header(END, A_TO_B, 1, 1),
            &[],
            0,
            b"",
            "ff01 02 00 88776655 00004000 01000000 01000000",
        );
        check(
            header(0, B_TO_A, 1, 2),
            &[],
            0,
            b"",
            "ff01 00 00 44332211 00004000 01000000 02000000",
        );
        check(
            header(HEARTBEAT, A_TO_B, 1, 0),
            &[],
            0,
            b"",
            "ff01 20 00 88776655 00004000 01000000 00000000",
        );
        check(
            header(DESTROY, A_TO_B, 1, 0),
            &[],
            0,
            b"",
            "ff01 10 00 88776655 00004000 01000000 00000000",
        );
        check(
            header(0, B_TO_A, 0, 3),
            &[(4, 5)],
            0,
            b"",
            "ff01 04 00 44332211 00004000 00000000 03000000 04000000 05000000",
        );
        check(
            header(0, B_TO_A, 0, 3),
            &[(4, 6)],
            0,
            b"",
            "ff01 04 00 44332211 00004000 00000000 03000000 04000000 06000000",
        );
    }

    #[test]
    fn mtu_probe_vector() {
        let data: Vec<u8> = (0..1152u32).map(|i| (i % 251) as u8 + 1).collect();
        let mut want = hex("ff01 01 20 88776655 00004000 1e000000 00000000");
        want.extend_from_slice(&[0u8; 32]);
        want.extend_from_slice(&data);
        assert_eq!(want.len(), 1204);
        let mut out = Vec::new();
        encode(&header(DATA, A_TO_B, 30, 0), &[], 32, &data, &mut out);
        assert_eq!(out, want);
        let p = decode(&want).expect("probe decodes");
        assert_eq!(p.header.data_offset, 32);
        assert_eq!(p.header.seq, 30);
        assert_eq!(p.payload, &data[..]);
        assert!(p.sacks.is_empty());
    }

    #[test]
    fn one_sack_block_is_parsed() {
        // udx 0.2.0 skipped a SACK with exactly one block.
        let d = hex("ff01 04 00 44332211 00004000 00000000 03000000 04000000 05000000");
        let p = decode(&d).expect("decodes");
        assert_eq!(p.sacks, vec![(4, 5)]);
    }

    #[test]
    fn many_sack_blocks_and_a_trailing_fragment() {
        let blocks: Vec<(u32, u32)> = (0..50).map(|i| (10 + 3 * i, 11 + 3 * i)).collect();
        let mut out = Vec::new();
        encode(&header(0, 7, 0, 3), &blocks, 0, b"", &mut out);
        assert_eq!(out.len(), HEADER_LEN + 400);
        assert_eq!(out[3], 0);
        assert_eq!(decode(&out).expect("decodes").sacks, blocks);
        // A partial block at the end is ignored, as `L / 8` does.
        out.extend_from_slice(&[1, 2, 3]);
        assert_eq!(decode(&out).expect("decodes").sacks, blocks);
    }

    #[test]
    fn sack_blocks_in_the_data_offset_with_data() {
        let mut out = Vec::new();
        encode(
            &header(DATA, 7, 5, 3),
            &[(4, 5), (7, 9)],
            0,
            b"abc",
            &mut out,
        );
        assert_eq!(out[2], DATA | SACK);
        assert_eq!(out[3], 16);
        let p = decode(&out).expect("decodes");
        assert_eq!(p.sacks, vec![(4, 5), (7, 9)]);
        assert_eq!(p.payload, b"abc");
        // Too many blocks for a one-byte offset are cut to fit.
        let blocks: Vec<(u32, u32)> = (0..50).map(|i| (i, i + 1)).collect();
        let mut out = Vec::new();
        encode(&header(DATA, 7, 5, 3), &blocks, 8, b"x", &mut out);
        let p = decode(&out).expect("decodes");
        assert!(usize::from(out[3]) <= 255);
        assert_eq!(p.payload, b"x");
        assert_eq!(p.sacks.len(), (255 - 8) / 8 + 1); // padding zeros read as (0,0)
        assert_eq!(&p.sacks[..30], &blocks[..30]);
    }

    #[test]
    fn sack_region_is_the_data_offset_only_below_the_payload_length() {
        // data_offset 8 with 16 bytes after the header: blocks span 8 bytes.
        let mut d = hex("ff01 04 08 01000000 00004000 00000000 03000000");
        d.extend_from_slice(&hex("04000000 05000000 06000000 07000000"));
        let p = decode(&d).expect("decodes");
        assert_eq!(p.sacks, vec![(4, 5)]);
        assert_eq!(p.payload.len(), 8);
        // data_offset equal to the length: the whole payload is blocks.
        let mut d = hex("ff01 04 08 01000000 00004000 00000000 03000000");
        d.extend_from_slice(&hex("04000000 05000000"));
        let p = decode(&d).expect("decodes");
        assert_eq!(p.sacks, vec![(4, 5)]);
        assert!(p.payload.is_empty());
    }

    #[test]
    fn hostile_inputs_are_refused() {
        assert!(decode(&[]).is_none());
        assert!(decode(&[0xff]).is_none());
        assert!(decode(&[0xff, 0x01]).is_none());
        let good = hex("ff01 01 00 88776655 00004000 00000000 00000000 68656c6c6f");
        assert!(decode(&good[..19]).is_none());
        assert!(decode(&good[..20]).is_some());
        let mut bad = good.clone();
        bad[0] = 0xfe;
        assert!(decode(&bad).is_none());
        assert!(peek_id(&bad).is_none());
        let mut bad = good.clone();
        bad[1] = 2;
        assert!(decode(&bad).is_none());
        // Data offset beyond the packet.
        let mut bad = good.clone();
        bad[3] = 6;
        assert!(decode(&bad).is_none());
        let mut ok = good.clone();
        ok[3] = 5;
        assert_eq!(decode(&ok).expect("offset to the end").payload, b"");
        // dht-rpc and a 1-byte probe are not UDX.
        assert!(!is_udx(&[0x13; 40]));
        assert!(!is_udx(&[0x00]));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
            if let Some(p) = decode(&bytes) {
                prop_assert!(HEADER_LEN + usize::from(p.header.data_offset) <= bytes.len());
                prop_assert!(p.sacks.len() * 8 <= bytes.len() - HEADER_LEN);
                prop_assert_eq!(p.payload.len(), bytes.len() - HEADER_LEN - usize::from(p.header.data_offset));
            }
        }

        #[test]
        fn decode_never_panics_on_udx_shaped_bytes(
            kind in any::<u8>(), offset in any::<u8>(),
            rest in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut d = vec![MAGIC, VERSION, kind, offset];
            d.extend_from_slice(&rest);
            let _ = decode(&d);
            let _ = peek_id(&d);
        }

        #[test]
        fn encode_decode_round_trips(
            kind in prop_oneof![Just(0u8), Just(DATA), Just(END), Just(DATA | END), Just(MESSAGE), Just(HEARTBEAT), Just(DESTROY)],
            id in any::<u32>(), rwnd in any::<u32>(), seq in any::<u32>(), ack in any::<u32>(),
            sacks in proptest::collection::vec((any::<u32>(), any::<u32>()), 0..50),
            padding in any::<u8>(),
            payload in proptest::collection::vec(any::<u8>(), 0..1300),
        ) {
            let h = Header { kind, data_offset: 0, id, rwnd, seq, ack };
            let mut out = Vec::new();
            encode(&h, &sacks, padding, &payload, &mut out);
            let p = decode(&out).expect("own encoding decodes");
            prop_assert_eq!(p.header.id, id);
            prop_assert_eq!(p.header.rwnd, rwnd);
            prop_assert_eq!(p.header.seq, seq);
            prop_assert_eq!(p.header.ack, ack);
            prop_assert_eq!(p.header.kind & !SACK, kind);
            if sacks.is_empty() {
                prop_assert_eq!(p.payload, &payload[..]);
                prop_assert_eq!(p.header.data_offset, padding);
                prop_assert!(p.sacks.is_empty());
            } else if payload.is_empty() && padding == 0 {
                prop_assert_eq!(&p.sacks, &sacks);
            } else {
                let fit = sacks.len().min((255 - usize::from(padding)) / 8);
                prop_assert_eq!(&p.sacks[..fit], &sacks[..fit]);
                if !payload.is_empty() {
                    prop_assert_eq!(p.payload, &payload[..]);
                }
            }
        }
    }
}
