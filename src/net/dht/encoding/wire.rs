//! The dht-rpc message envelope, as JS dht-rpc and hyperdht put it on the
//! wire: requests (`0x03`) and replies (`0x13`) with their optional fields
//! (`codec` has the primitives). Pure; decoding untrusted datagrams never
//! panics and refuses anything truncated or oversized. Bytes after the
//! known fields are ignored, as JS ignores fields it does not know.

use std::net::SocketAddrV4;

use super::codec::{put_buffer, put_ipv4, put_ipv4_array, put_uint, CodecError, Reader};

pub(crate) const REQUEST: u8 = 0x03;
pub(crate) const RESPONSE: u8 = 0x13;
/// Internal commands (the request's `internal` flag set).
pub(crate) const PING: u64 = 0;
pub(crate) const PING_NAT: u64 = 1;
pub(crate) const FIND_NODE: u64 = 2;
pub(crate) const DOWN_HINT: u64 = 3;
pub(crate) const DELAYED_PING: u64 = 4;
/// dht-rpc's error codes.
pub(crate) const UNKNOWN_COMMAND: u64 = 1;
pub(crate) const INVALID_TOKEN: u64 = 2;
/// The most closer nodes a reply may list (JS sends at most 20).
pub(crate) const MAX_CLOSER_NODES: usize = 64;

/// A request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) tid: u16,
    /// The address the request is sent to.
    pub(crate) to: SocketAddrV4,
    /// The sender's node id; only persistent (non-ephemeral) nodes send one.
    pub(crate) id: Option<[u8; 32]>,
    /// A token the receiver gave the sender earlier (for storage commands).
    pub(crate) token: Option<[u8; 32]>,
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

/// One datagram of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Request(Request),
    Reply(Reply),
}

/// Why a datagram is not a message we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    #[error("the datagram ends early")]
    Truncated,
    #[error("not a dht-rpc reply (type byte {0:#04x})")]
    NotAReply(u8),
    #[error("not a dht-rpc message (type byte {0:#04x})")]
    NotAMessage(u8),
    #[error("too many closer nodes ({0})")]
    TooManyNodes(u64),
}

impl From<CodecError> for WireError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::TooMany(n) => WireError::TooManyNodes(n),
            CodecError::Truncated => WireError::Truncated,
        }
    }
}

impl Request {
    /// A request with no id, token, target or value.
    pub(crate) fn new(tid: u16, to: SocketAddrV4, internal: bool, command: u64) -> Self {
        Request {
            tid,
            to,
            id: None,
            token: None,
            internal,
            command,
            target: None,
            value: None,
        }
    }
}

impl Reply {
    /// The bare reply to `request`, which came from `from`.
    pub(crate) fn to_request(request: &Request, from: SocketAddrV4) -> Self {
        Reply {
            tid: request.tid,
            to: from,
            id: None,
            token: None,
            closer_nodes: Vec::new(),
            error: 0,
            value: None,
        }
    }
}

/// A ping: the reply tells us the address the node saw.
pub(crate) fn ping(tid: u16, to: SocketAddrV4) -> Request {
    Request::new(tid, to, true, PING)
}

/// A PING_NAT: the node answers to our host at `port` instead, so the reply
/// arrives only if something outside can reach that port unasked.
pub(crate) fn ping_nat(tid: u16, to: SocketAddrV4, port: u16) -> Request {
    Request {
        value: Some(port.to_le_bytes().to_vec()),
        ..Request::new(tid, to, true, PING_NAT)
    }
}

pub(crate) fn encode_request(request: &Request) -> Vec<u8> {
    let mut out = vec![REQUEST];
    let flags = u8::from(request.id.is_some())
        | u8::from(request.token.is_some()) << 1
        | u8::from(request.internal) << 2
        | u8::from(request.target.is_some()) << 3
        | u8::from(request.value.is_some()) << 4;
    out.push(flags);
    out.extend_from_slice(&request.tid.to_le_bytes());
    put_ipv4(&mut out, request.to);
    if let Some(id) = &request.id {
        out.extend_from_slice(id);
    }
    if let Some(token) = &request.token {
        out.extend_from_slice(token);
    }
    put_uint(&mut out, request.command);
    if let Some(target) = &request.target {
        out.extend_from_slice(target);
    }
    if let Some(value) = &request.value {
        put_buffer(&mut out, value);
    }
    out
}

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
        put_ipv4_array(&mut out, &reply.closer_nodes);
    }
    if reply.error != 0 {
        put_uint(&mut out, reply.error);
    }
    if let Some(value) = &reply.value {
        put_buffer(&mut out, value);
    }
    out
}

/// Decodes an untrusted datagram as a request or a reply.
pub(crate) fn decode(bytes: &[u8]) -> Result<Message, WireError> {
    match bytes.first() {
        Some(&REQUEST) => decode_request(bytes).map(Message::Request),
        Some(&RESPONSE) => decode_reply(bytes).map(Message::Reply),
        Some(&other) => Err(WireError::NotAMessage(other)),
        None => Err(WireError::Truncated),
    }
}

fn decode_request(bytes: &[u8]) -> Result<Request, WireError> {
    let mut r = Reader(bytes);
    let kind = r.u8()?;
    if kind != REQUEST {
        return Err(WireError::NotAMessage(kind));
    }
    let flags = r.u8()?;
    let tid = r.u16()?;
    let to = r.ipv4()?;
    let id = (flags & 1 != 0).then(|| r.fixed32()).transpose()?;
    let token = (flags & 2 != 0).then(|| r.fixed32()).transpose()?;
    let internal = flags & 4 != 0;
    let command = r.uint()?;
    let target = (flags & 8 != 0).then(|| r.fixed32()).transpose()?;
    let value = (flags & 16 != 0)
        .then(|| r.buffer())
        .transpose()?
        .flatten()
        .map(<[u8]>::to_vec);
    Ok(Request {
        tid,
        to,
        id,
        token,
        internal,
        command,
        target,
        value,
    })
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
    let closer_nodes = if flags & 4 != 0 {
        r.ipv4_array(MAX_CLOSER_NODES)?
    } else {
        Vec::new()
    };
    let error = if flags & 8 != 0 { r.uint()? } else { 0 };
    let value = (flags & 16 != 0)
        .then(|| r.buffer())
        .transpose()?
        .flatten()
        .map(<[u8]>::to_vec);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

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

    prop_compose! {
        fn any_request()(
            tid in any::<u16>(),
            to in any_addr(),
            id in proptest::option::of(any::<[u8; 32]>()),
            token in proptest::option::of(any::<[u8; 32]>()),
            internal in any::<bool>(),
            command in any::<u64>(),
            target in proptest::option::of(any::<[u8; 32]>()),
            value in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..300)),
        ) -> Request {
            Request { tid, to, id, token, internal, command, target, value }
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
        fn requests_round_trip(request in any_request()) {
            prop_assert_eq!(decode(&encode_request(&request)), Ok(Message::Request(request)));
        }

        #[test]
        fn any_bytes_decode_as_a_message_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }
    }
}
