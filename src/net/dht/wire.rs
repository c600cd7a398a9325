//! The dht-rpc message envelope, as JS dht-rpc and hyperdht put it on the
//! wire (compact-encoding): requests (`0x03`) and replies (`0x13`) with
//! their optional fields. Pure; decoding untrusted datagrams never panics
//! and refuses anything truncated or oversized (bytes after the known
//! fields are ignored, as JS ignores fields it does not know).

use std::net::{Ipv4Addr, SocketAddrV4};

pub(crate) const REQUEST: u8 = 0x03;
pub(crate) const RESPONSE: u8 = 0x13;
/// Internal commands (the request's `internal` flag set).
pub(crate) const PING: u64 = 0;
pub(crate) const PING_NAT: u64 = 1;
/// The most closer nodes a reply may list (JS sends at most 20).
const MAX_CLOSER_NODES: u64 = 64;

/// A request, without the id and token a probe never sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) tid: u16,
    /// The address the request is sent to.
    pub(crate) to: SocketAddrV4,
    pub(crate) internal: bool,
    pub(crate) command: u64,
    pub(crate) target: Option<[u8; 32]>,
    pub(crate) value: Option<Vec<u8>>,
}

/// A reply. `to` is the address the replying node saw the request come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) tid: u16,
    pub(crate) to: SocketAddrV4,
    pub(crate) id: Option<[u8; 32]>,
    pub(crate) token: Option<[u8; 32]>,
    pub(crate) closer_nodes: Vec<SocketAddrV4>,
    pub(crate) error: u64,
    pub(crate) value: Option<Vec<u8>>,
}

/// Why a datagram is not a reply we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    #[error("the datagram ends early")]
    Truncated,
    #[error("not a dht-rpc reply (type byte {0:#04x})")]
    NotAReply(u8),
    #[error("too many closer nodes ({0})")]
    TooManyNodes(u64),
}

/// A ping: the reply tells us the address the node saw.
pub(crate) fn ping(tid: u16, to: SocketAddrV4) -> Request {
    Request {
        tid,
        to,
        internal: true,
        command: PING,
        target: None,
        value: None,
    }
}

/// A PING_NAT: the node answers to our host at `port` instead, so the reply
/// arrives only if something outside can reach that port unasked.
pub(crate) fn ping_nat(tid: u16, to: SocketAddrV4, port: u16) -> Request {
    Request {
        tid,
        to,
        internal: true,
        command: PING_NAT,
        target: None,
        value: Some(port.to_le_bytes().to_vec()),
    }
}

pub(crate) fn encode_request(request: &Request) -> Vec<u8> {
    let mut out = vec![REQUEST];
    let flags = u8::from(request.internal) << 2
        | u8::from(request.target.is_some()) << 3
        | u8::from(request.value.is_some()) << 4;
    out.push(flags);
    out.extend_from_slice(&request.tid.to_le_bytes());
    put_ipv4(&mut out, request.to);
    put_uint(&mut out, request.command);
    if let Some(target) = &request.target {
        out.extend_from_slice(target);
    }
    if let Some(value) = &request.value {
        put_buffer(&mut out, value);
    }
    out
}

/// Replies are only read, never sent, outside the tests (their fake nodes).
#[cfg(test)]
pub(crate) fn encode_reply(reply: &Reply) -> Vec<u8> {
    let mut out = vec![RESPONSE];
    let flags = u8::from(reply.id.is_some())
        | u8::from(reply.token.is_some()) << 1
        | u8::from(!reply.closer_nodes.is_empty()) << 2
        | u8::from(reply.error != 0) << 3
        | u8::from(reply.value.is_some()) << 4;
    out.push(flags);
    out.extend_from_slice(&reply.tid.to_le_bytes());
    put_ipv4(&mut out, reply.to);
    if let Some(id) = &reply.id {
        out.extend_from_slice(id);
    }
    if let Some(token) = &reply.token {
        out.extend_from_slice(token);
    }
    if !reply.closer_nodes.is_empty() {
        put_uint(&mut out, reply.closer_nodes.len() as u64);
        for node in &reply.closer_nodes {
            put_ipv4(&mut out, *node);
        }
    }
    if reply.error != 0 {
        put_uint(&mut out, reply.error);
    }
    if let Some(value) = &reply.value {
        put_buffer(&mut out, value);
    }
    out
}

/// Decodes an untrusted datagram as a reply.
pub(crate) fn decode_reply(bytes: &[u8]) -> Result<Reply, WireError> {
    let mut r = Reader(bytes);
    let kind = r.u8()?;
    if kind != RESPONSE {
        return Err(WireError::NotAReply(kind));
    }
    let flags = r.u8()?;
    let tid = r.u16()?;
    let to = r.ipv4()?;
    let id = (flags & 1 != 0).then(|| r.fixed32()).transpose()?;
    let token = (flags & 2 != 0).then(|| r.fixed32()).transpose()?;
    let mut closer_nodes = Vec::new();
    if flags & 4 != 0 {
        let count = r.uint()?;
        if count > MAX_CLOSER_NODES {
            return Err(WireError::TooManyNodes(count));
        }
        for _ in 0..count {
            closer_nodes.push(r.ipv4()?);
        }
    }
    let error = if flags & 8 != 0 { r.uint()? } else { 0 };
    let value = (flags & 16 != 0).then(|| r.buffer()).transpose()?.flatten();
    // JS may append fields it adds later; only a reply that ends early is
    // refused, anything after the known fields is ignored.
    Ok(Reply {
        tid,
        to,
        id,
        token,
        closer_nodes,
        error,
        value,
    })
}

fn put_uint(out: &mut Vec<u8>, n: u64) {
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

fn put_ipv4(out: &mut Vec<u8>, addr: SocketAddrV4) {
    out.extend_from_slice(&addr.ip().octets());
    out.extend_from_slice(&addr.port().to_le_bytes());
}

fn put_buffer(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn uint(&mut self) -> Result<u64, WireError> {
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

    fn fixed32(&mut self) -> Result<[u8; 32], WireError> {
        let mut out = [0; 32];
        out.copy_from_slice(self.take(32)?);
        Ok(out)
    }

    fn ipv4(&mut self) -> Result<SocketAddrV4, WireError> {
        let b = self.take(6)?;
        let ip = Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        Ok(SocketAddrV4::new(ip, u16::from_le_bytes([b[4], b[5]])))
    }

    /// A length-prefixed buffer; length 0 is "absent", as in JS.
    fn buffer(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let len = self.uint()?;
        let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
        let bytes = self.take(len)?;
        Ok((!bytes.is_empty()).then(|| bytes.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    #[test]
    fn a_ping_is_encoded_as_js_dht_rpc_expects() {
        // type, flags (internal), tid 0x0102 LE, to 198.51.100.1:49737, command 0.
        let bytes = encode_request(&ping(0x0102, addr("198.51.100.1:49737")));
        assert_eq!(hex::encode(bytes), "03040201c633640149c200");
    }

    #[test]
    fn a_ping_nat_carries_the_port_little_endian() {
        let bytes = encode_request(&ping_nat(7, addr("198.51.100.1:49737"), 40000));
        assert_eq!(
            hex::encode(bytes),
            "031407 00c633640149c201 02409c".replace(' ', "")
        );
    }

    #[test]
    fn a_reply_from_a_node_decodes() {
        let reply = Reply {
            tid: 9,
            to: addr("203.0.113.2:40000"),
            id: Some([0x65; 32]),
            token: Some([0x22; 32]),
            closer_nodes: vec![addr("198.51.100.10:49737")],
            error: 0,
            value: None,
        };
        let bytes = encode_reply(&reply);
        assert_eq!(bytes[0], RESPONSE);
        assert_eq!(bytes[1], 0b0111);
        assert_eq!(decode_reply(&bytes), Ok(reply));
    }

    #[test]
    fn hostile_datagrams_are_refused() {
        assert_eq!(decode_reply(&[]), Err(WireError::Truncated));
        assert_eq!(decode_reply(&[0x13]), Err(WireError::Truncated));
        assert_eq!(decode_reply(&[0x03, 0]), Err(WireError::NotAReply(3)));
        let mut many = vec![0x13, 4, 0, 0, 1, 2, 3, 4, 5, 6, 0xfe];
        many.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode_reply(&many),
            Err(WireError::TooManyNodes(u64::from(u32::MAX)))
        );
        let huge_value = [
            0x13, 16, 0, 0, 1, 2, 3, 4, 5, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(decode_reply(&huge_value), Err(WireError::Truncated));
    }

    prop_compose! {
        fn any_addr()(ip in any::<u32>(), port in any::<u16>()) -> SocketAddrV4 {
            SocketAddrV4::new(Ipv4Addr::from(ip), port)
        }
    }

    prop_compose! {
        fn any_reply()(
            tid in any::<u16>(),
            to in any_addr(),
            id in proptest::option::of(any::<[u8; 32]>()),
            token in proptest::option::of(any::<[u8; 32]>()),
            closer_nodes in proptest::collection::vec(any_addr(), 0..20),
            error in any::<u64>(),
            value in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..300)),
        ) -> Reply {
            Reply { tid, to, id, token, closer_nodes, error, value }
        }
    }

    proptest! {
        #[test]
        fn replies_round_trip(reply in any_reply()) {
            prop_assert_eq!(decode_reply(&encode_reply(&reply)), Ok(reply));
        }

        #[test]
        fn any_bytes_decode_or_are_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_reply(&bytes);
        }

        #[test]
        fn a_truncated_reply_is_refused(reply in any_reply(), cut in 1usize..40) {
            let bytes = encode_reply(&reply);
            let cut = cut.min(bytes.len());
            prop_assert!(decode_reply(&bytes[..bytes.len() - cut]).is_err());
        }

        #[test]
        fn uints_round_trip(n in any::<u64>()) {
            let mut out = Vec::new();
            put_uint(&mut out, n);
            prop_assert_eq!(Reader(&out).uint(), Ok(n));
        }
    }
}
