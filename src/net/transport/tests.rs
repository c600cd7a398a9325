//! The transport on real sockets (loopback): two UDX sockets, raw streams
//! both ways, then the secret stream on them after a real IK handshake,
//! with messages up to 1 MiB, as hypercore-protocol drives a connection.

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hypercore_handshake::{CipherEvent, CipherTrait};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::secret::noise::{IkInitiator, IkResponder, KeyPair};
use super::secret::stream::MAX_PLAINTEXT;
use super::session::Session;
use super::udx::socket::{UdxSocket, UdxStream};

const WAIT: Duration = Duration::from_secs(20);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Two connected streams on two sockets: (a, b).
fn pair() -> (UdxStream, UdxStream, UdxSocket, UdxSocket) {
    let (sa, sb) = (
        UdxSocket::bind(loopback()).unwrap(),
        UdxSocket::bind(loopback()).unwrap(),
    );
    let a = sa.create_stream(1).unwrap();
    let b = sb.create_stream(2).unwrap();
    let a = a.connect(sb.local_addr().unwrap(), 2).unwrap();
    let b = b.connect(sa.local_addr().unwrap(), 1).unwrap();
    (a, b, sa, sb)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn raw_streams_carry_a_megabyte_each_way_and_end() {
    let (mut a, mut b, _sa, _sb) = pair();
    let (to_b, to_a) = (pattern(1 << 20, 1), pattern(1 << 20, 2));
    let (send_b, send_a) = (to_b.clone(), to_a.clone());
    let writer_a = {
        let mut a = a.clone();
        tokio::spawn(async move {
            a.write_all(&send_b).await.unwrap();
            a.shutdown().await.unwrap();
        })
    };
    let writer_b = {
        let mut b = b.clone();
        tokio::spawn(async move {
            b.write_all(&send_a).await.unwrap();
            b.shutdown().await.unwrap();
        })
    };
    let (mut got_b, mut got_a) = (Vec::new(), Vec::new());
    tokio::time::timeout(WAIT, async {
        b.read_to_end(&mut got_b).await.unwrap();
        a.read_to_end(&mut got_a).await.unwrap();
    })
    .await
    .expect("both ends read to the end in time");
    writer_a.await.unwrap();
    writer_b.await.unwrap();
    assert!(
        got_b == to_b,
        "b got {} bytes, not the megabyte sent",
        got_b.len()
    );
    assert!(
        got_a == to_a,
        "a got {} bytes, not the megabyte sent",
        got_a.len()
    );
    assert!(a.stats().packets_in > 0 && b.stats().packets_out > 900);
}

#[tokio::test]
async fn a_datagram_for_nobody_comes_out_of_recv() {
    let sa = UdxSocket::bind(loopback()).unwrap();
    let sb = UdxSocket::bind(loopback()).unwrap();
    sb.send(sa.local_addr().unwrap(), b"\x03hello");
    let (from, bytes) = tokio::time::timeout(WAIT, sa.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, sb.local_addr().unwrap());
    assert_eq!(bytes, b"\x03hello");
}

#[tokio::test]
async fn a_low_ttl_send_leaves_later_sends_at_the_default() {
    let sa = UdxSocket::bind(loopback()).unwrap();
    let sb = UdxSocket::bind(loopback()).unwrap();
    let to = sb.local_addr().unwrap();
    sa.send_ttl(to, b"\x00", 5);
    sa.send(to, b"\x01");
    for expected in [&b"\x00"[..], b"\x01"] {
        let (_, bytes) = tokio::time::timeout(WAIT, sb.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bytes, expected);
    }
}

#[tokio::test]
async fn the_first_packet_of_a_half_open_stream_names_its_source_and_is_kept() {
    let sa = UdxSocket::bind(loopback()).unwrap();
    let sb = UdxSocket::bind(loopback()).unwrap();
    let waiting = sb.create_stream(20).unwrap();
    let mut a = sa
        .create_stream(10)
        .unwrap()
        .connect(sb.local_addr().unwrap(), 20)
        .unwrap();
    a.write_all(b"first bytes").await.unwrap();
    let from = tokio::time::timeout(WAIT, waiting.first_source())
        .await
        .expect("the first packet reached the half-open stream");
    assert_eq!(from, sa.local_addr().unwrap());
    let mut b = waiting.connect(from, 10).unwrap();
    let mut got = [0u8; 11];
    tokio::time::timeout(Duration::from_millis(500), b.read_exact(&mut got))
        .await
        .expect("the kept packet is read without a resend (libudx resends after 1 s)")
        .unwrap();
    assert_eq!(&got, b"first bytes");
}

/// A finished IK handshake: (client's session, server's session).
pub(super) fn sessions(a: UdxStream, b: UdxStream) -> (Session, Session, KeyPair, KeyPair) {
    let (client_keys, server_keys) = (KeyPair::generate(), KeyPair::generate());
    let mut client = IkInitiator::new(&client_keys, &server_keys.public, b"prologue").unwrap();
    let mut server = IkResponder::new(&server_keys, b"prologue");
    let first = client.write_first(b"").unwrap();
    server.read_first(&first).unwrap();
    let (answer, server_split) = server.write_answer(b"").unwrap();
    let (_, client_split) = client.read_answer(&answer).unwrap();
    (
        Session::start(&client_split, client_keys.public, a, &[]),
        Session::start(&server_split, server_keys.public, b, &[]),
        client_keys,
        server_keys,
    )
}

pub(super) async fn next_message(session: &mut Session) -> Vec<u8> {
    loop {
        match tokio::time::timeout(WAIT, session.next()).await {
            Ok(Some(CipherEvent::Message(bytes))) => return bytes,
            Ok(Some(CipherEvent::HandshakePayload(_))) => continue,
            Ok(Some(CipherEvent::ErrStuff(e))) => panic!("the session failed: {e}"),
            Ok(None) => panic!("the session ended"),
            Err(_) => panic!("no message within {WAIT:?}"),
        }
    }
}

/// The messages of the transport note's T9: empty (a keepalive, which is
/// not delivered), 1 byte, frames of exactly 64 KiB and one byte more, and
/// 1 MiB; with `largest_message`, the largest a frame holds.
pub(super) const T9_SIZES: [usize; 5] = [0, 1, 65_516, 65_517, 1 << 20];

/// `message` from `from` to `to`, sent and read at once (a message larger
/// than the windows needs both); it must be the next one `to` delivers.
/// An empty message is sent and not waited for.
async fn one_way(from: &mut Session, to: &mut Session, message: &[u8], what: &str) {
    if message.is_empty() {
        from.send(Vec::new()).await.unwrap();
        return;
    }
    let (sent, got) = tokio::join!(from.send(message.to_vec()), next_message(to));
    sent.unwrap();
    assert!(
        got == message,
        "a {}-byte {what} arrived as {} bytes",
        message.len(),
        got.len()
    );
}

/// The largest message a frame holds (16,777,198 bytes), one way: sealing
/// and opening it is most of its cost.
pub(super) async fn largest_message(from: &mut Session, to: &mut Session) {
    let message = pattern(MAX_PLAINTEXT, 7);
    one_way(from, to, &message, "largest message").await;
}

/// Each of `sizes` from the client, then the same back from the server, in
/// turn: each arrives whole and in order (an empty one not at all).
pub(super) async fn messages_both_ways(
    client: &mut Session,
    server: &mut Session,
    sizes: &[usize],
) {
    for &len in sizes {
        let message = pattern(len, len as u8);
        one_way(client, server, &message, "message").await;
        one_way(server, client, &message, "reply").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_carry_messages_of_every_size_up_to_the_largest_both_ways() {
    let (a, b, _sa, _sb) = pair();
    let (mut client, mut server, client_keys, server_keys) = sessions(a, b);
    assert!(client.is_initiator() && !server.is_initiator());
    assert_eq!(server.remote_public_key(), Some(client_keys.public));
    assert_eq!(client.remote_public_key(), Some(server_keys.public));
    assert_eq!(client.handshake_hash(), server.handshake_hash());
    assert_eq!(MAX_PLAINTEXT, 16_777_198);
    messages_both_ways(&mut client, &mut server, &T9_SIZES).await;
    largest_message(&mut client, &mut server).await;
    // One byte more is refused here, and the session goes on.
    let refused = client.send(vec![0; MAX_PLAINTEXT + 1]).await;
    assert_eq!(
        refused.map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::InvalidInput)
    );
    messages_both_ways(&mut client, &mut server, &[1]).await;
}

#[tokio::test]
async fn a_session_ends_when_the_peer_resets_its_stream() {
    let (a, b, _sa, _sb) = pair();
    let (mut client, server, _, _) = sessions(a, b.clone());
    drop(server);
    b.destroy();
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match client.next().await {
                None | Some(CipherEvent::ErrStuff(_)) => return,
                Some(_) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the client saw the reset");
}

#[tokio::test]
async fn packets_that_came_before_their_stream_are_injected_and_read() {
    let sa = UdxSocket::bind(loopback()).unwrap();
    let sb = UdxSocket::bind(loopback()).unwrap();
    let mut a = sa
        .create_stream(10)
        .unwrap()
        .connect(sb.local_addr().unwrap(), 20)
        .unwrap();
    a.write_all(b"early").await.unwrap();
    // No stream 20 yet: the packet comes out of `recv()`.
    let (from, early) = tokio::time::timeout(WAIT, sb.recv())
        .await
        .unwrap()
        .unwrap();
    let mut b = sb.create_stream(20).unwrap().connect(from, 10).unwrap();
    sb.inject(&[early], from);
    let mut got = [0u8; 5];
    tokio::time::timeout(Duration::from_millis(500), b.read_exact(&mut got))
        .await
        .expect("the injected packet is read without a resend (libudx resends after 1 s)")
        .unwrap();
    assert_eq!(&got, b"early");
}
