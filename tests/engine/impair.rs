//! The impairment proxy of the transport tests (`harness::impair`), checked
//! with plain UDP sockets as its two peers: unimpaired it forwards every
//! datagram unchanged both ways, learning addresses it was not given; loss
//! is near its rate and the same for the same seed; duplication, delay,
//! jitter (reordering), truncation, the size cap and the rate limit do what
//! they say; the log decodes UDX headers; dropping it stops its thread at
//! once. Plain `#[test]`s (the proxy runs its own thread), together well
//! under 3 s; every wait is bounded.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::harness::impair::{describe_datagram, Direction, Impairment, Proxy};

/// The longest any one wait here takes before the test fails.
const WAIT: Duration = Duration::from_secs(5);
/// Datagrams sent before the sender waits for the proxy and drains the
/// receiver, so no kernel buffer overflows and every drop is the proxy's.
const BATCH: usize = 32;

fn peer() -> UdpSocket {
    let socket = UdpSocket::bind(("127.0.0.1", 0)).expect("bind a loopback peer");
    socket.set_nonblocking(true).expect("nonblocking");
    socket
}

/// Datagram `n`: its index, then `len - 4` bytes that depend on it.
fn datagram(n: u32, len: usize) -> Vec<u8> {
    let mut data = n.to_le_bytes().to_vec();
    data.extend((0..len.saturating_sub(4)).map(|i| (i as u32 * 31 + n) as u8));
    data.truncate(len);
    data
}

fn index(data: &[u8]) -> u32 {
    u32::from_le_bytes(data[..4].try_into().expect("an index"))
}

/// Everything waiting on `socket` now: data, source, arrival.
fn drain(socket: &UdpSocket, into: &mut Vec<(Vec<u8>, SocketAddr, Instant)>) {
    let mut buffer = vec![0u8; 65_536];
    for _ in 0..100_000 {
        match socket.recv_from(&mut buffer) {
            Ok((len, from)) => into.push((buffer[..len].to_vec(), from, Instant::now())),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) => panic!("receiving failed: {e}"),
        }
    }
}

/// Receives on `socket` until `count` datagrams arrived, at most `WAIT`.
fn receive(socket: &UdpSocket, count: usize) -> Vec<(Vec<u8>, SocketAddr, Instant)> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.len() < count && Instant::now() < deadline {
        drain(socket, &mut got);
        std::thread::sleep(Duration::from_micros(200));
    }
    assert_eq!(got.len(), count, "datagrams received within {WAIT:?}");
    got
}

/// Waits until the proxy has read `count` datagrams in `direction`.
fn proxy_read(proxy: &Proxy, direction: Direction, count: u64) {
    let deadline = Instant::now() + WAIT;
    while proxy.stats().direction(direction).datagrams_in < count {
        assert!(
            Instant::now() < deadline,
            "the proxy read {} of {count} datagrams within {WAIT:?}",
            proxy.stats().direction(direction).datagrams_in
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Sends `payloads` from `from` to `to` a batch at a time, waiting after
/// each for the proxy to forward it, and returns what `receiver` got.
fn pump(
    proxy: &Proxy,
    direction: Direction,
    from: &UdpSocket,
    to: SocketAddr,
    receiver: &UdpSocket,
    payloads: &[Vec<u8>],
) -> Vec<Vec<u8>> {
    pump_from(proxy, direction, from, to, receiver, payloads)
        .into_iter()
        .map(|(data, _)| data)
        .collect()
}

/// `pump`, with the source of each datagram received.
fn pump_from(
    proxy: &Proxy,
    direction: Direction,
    from: &UdpSocket,
    to: SocketAddr,
    receiver: &UdpSocket,
    payloads: &[Vec<u8>],
) -> Vec<(Vec<u8>, SocketAddr)> {
    let already = proxy.stats().direction(direction).datagrams_in;
    let mut got = Vec::new();
    for (n, batch) in payloads.chunks(BATCH).enumerate() {
        for data in batch {
            from.send_to(data, to).expect("send to the proxy");
        }
        proxy_read(proxy, direction, already + (n * BATCH + batch.len()) as u64);
        assert!(proxy.settle(WAIT), "the proxy did not settle");
        drain(receiver, &mut got);
    }
    got.into_iter()
        .map(|(data, from, _)| (data, from))
        .collect()
}

#[test]
fn impair_none_forwards_every_datagram_unchanged_both_ways() {
    let (a, b) = (peer(), peer());
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let proxy = Proxy::start(
        Some(a_addr),
        Some(b_addr),
        Impairment::none(),
        Impairment::none(),
    )
    .unwrap();
    let sizes = |n: u32| [0, 1, 4, 1172, 1472, 9000][n as usize % 6].max(4);
    let to_b: Vec<Vec<u8>> = (0..300).map(|n| datagram(n, sizes(n))).collect();
    let to_a: Vec<Vec<u8>> = (1000..1300).map(|n| datagram(n, sizes(n))).collect();
    let got_b = pump_from(&proxy, Direction::AToB, &a, proxy.a_side(), &b, &to_b);
    let got_a = pump_from(&proxy, Direction::BToA, &b, proxy.b_side(), &a, &to_a);

    assert!(got_b.iter().all(|(_, from)| *from == proxy.b_side()));
    assert!(got_a.iter().all(|(_, from)| *from == proxy.a_side()));
    let got_b: Vec<_> = got_b.into_iter().map(|(data, _)| data).collect();
    let got_a: Vec<_> = got_a.into_iter().map(|(data, _)| data).collect();
    assert!(got_b == to_b, "A to B arrived changed or out of order");
    assert!(got_a == to_a, "B to A arrived changed or out of order");

    let stats = proxy.stats();
    for counts in [&stats.a_to_b, &stats.b_to_a] {
        assert_eq!(counts.datagrams_in, 300);
        assert_eq!(counts.forwarded, 300);
        assert_eq!(counts.bytes_in, counts.bytes_forwarded);
        assert_eq!(
            counts.dropped + counts.duplicated + counts.truncated + counts.send_errors,
            0
        );
        assert_eq!(counts.largest, 9000);
    }
    assert_eq!((stats.a, stats.b), (Some(a_addr), Some(b_addr)));
}

#[test]
fn impair_learns_both_addresses_and_holds_what_is_due_until_then() {
    let (a, b) = (peer(), peer());
    let proxy = Proxy::start(None, None, Impairment::none(), Impairment::none()).unwrap();
    // B speaks first: A's address is unknown, so the datagram waits.
    b.send_to(&datagram(1, 100), proxy.b_side()).unwrap();
    proxy_read(&proxy, Direction::BToA, 1);
    let deadline = Instant::now() + WAIT;
    while proxy.stats().b_to_a.held == 0 {
        assert!(Instant::now() < deadline, "nothing was held for A");
        std::thread::sleep(Duration::from_millis(1));
    }
    // A's first datagram teaches the proxy A's address: both go through.
    a.send_to(&datagram(2, 200), proxy.a_side()).unwrap();
    let got_b = receive(&b, 1);
    let got_a = receive(&a, 1);
    assert_eq!(got_b[0].0, datagram(2, 200));
    assert_eq!(got_a[0].0, datagram(1, 100));
    let stats = proxy.stats();
    assert_eq!(stats.a, Some(a.local_addr().unwrap()));
    assert_eq!(stats.b, Some(b.local_addr().unwrap()));
    assert_eq!((stats.b_to_a.held, stats.b_to_a.forwarded), (1, 1));
    assert_eq!((stats.a_to_b.held, stats.a_to_b.forwarded), (0, 1));
}

/// The indices that got through 2,000 datagrams A to B with 20% loss.
fn lossy_run(seed: u64) -> (Vec<u32>, u64) {
    let (a, b) = (peer(), peer());
    let proxy = Proxy::start(
        None,
        Some(b.local_addr().unwrap()),
        Impairment::lossy(0.2, 0, seed),
        Impairment::none(),
    )
    .unwrap();
    let payloads: Vec<Vec<u8>> = (0..2000).map(|n| datagram(n, 32)).collect();
    let got = pump(&proxy, Direction::AToB, &a, proxy.a_side(), &b, &payloads);
    let stats = proxy.stats().a_to_b;
    assert_eq!(stats.datagrams_in, 2000);
    assert_eq!(stats.dropped, stats.dropped_loss);
    assert_eq!(stats.forwarded + stats.dropped, 2000);
    assert_eq!(got.len() as u64, stats.forwarded);
    (got.iter().map(|data| index(data)).collect(), stats.dropped)
}

#[test]
fn impair_loss_is_near_its_rate_and_the_same_for_the_same_seed() {
    let (first, lost) = lossy_run(7);
    assert!(
        (300..=500).contains(&lost),
        "20% of 2,000 lost should be near 400, not {lost}"
    );
    assert!(first.windows(2).all(|w| w[0] < w[1]), "loss reordered");
    let (again, lost_again) = lossy_run(7);
    assert_eq!(lost_again, lost, "the same seed lost a different count");
    assert!(again == first, "the same seed lost different datagrams");
    let (other, _) = lossy_run(8);
    assert!(other != first, "another seed lost the same datagrams");
}

#[test]
fn impair_duplicates_about_as_often_as_asked() {
    let (a, b) = (peer(), peer());
    let impairment = Impairment {
        duplicate: 0.3,
        seed: 3,
        ..Impairment::none()
    };
    let proxy = Proxy::start(
        None,
        Some(b.local_addr().unwrap()),
        impairment,
        Impairment::none(),
    )
    .unwrap();
    let payloads: Vec<Vec<u8>> = (0..500).map(|n| datagram(n, 64)).collect();
    let got = pump(&proxy, Direction::AToB, &a, proxy.a_side(), &b, &payloads);
    let stats = proxy.stats().a_to_b;
    assert!(
        (100..=200).contains(&stats.duplicated),
        "30% of 500 duplicated should be near 150, not {}",
        stats.duplicated
    );
    assert_eq!(got.len() as u64, 500 + stats.duplicated);
    assert_eq!(stats.forwarded, 500 + stats.duplicated);
    let mut copies = BTreeMap::new();
    for data in &got {
        assert_eq!(*data, datagram(index(data), 64), "a copy differs");
        *copies.entry(index(data)).or_insert(0u64) += 1;
    }
    assert_eq!(copies.len(), 500, "a datagram went missing");
    assert_eq!(
        copies.values().filter(|c| **c == 2).count() as u64,
        stats.duplicated
    );
    assert!(copies.values().all(|c| *c <= 2));
}

#[test]
fn impair_delays_every_datagram_by_at_least_the_delay() {
    const DELAY: Duration = Duration::from_millis(40);
    let (a, b) = (peer(), peer());
    let proxy = Proxy::start(
        None,
        Some(b.local_addr().unwrap()),
        Impairment::lossy(0.0, DELAY.as_millis() as u64, 1),
        Impairment::none(),
    )
    .unwrap();
    let mut sent = Vec::new();
    for n in 0..10 {
        sent.push(Instant::now());
        a.send_to(&datagram(n, 100), proxy.a_side()).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let got = receive(&b, 10);
    for (data, _, arrived) in &got {
        let latency = *arrived - sent[index(data) as usize];
        assert!(
            latency >= DELAY,
            "datagram {} took {latency:?}",
            index(data)
        );
        assert!(
            latency < DELAY + Duration::from_secs(1),
            "datagram {} took {latency:?}",
            index(data)
        );
    }
    let order: Vec<u32> = got.iter().map(|(data, _, _)| index(data)).collect();
    assert_eq!(
        order,
        (0..10).collect::<Vec<_>>(),
        "a fixed delay reordered"
    );
}

#[test]
fn impair_jitter_reorders_within_its_bound() {
    const JITTER: Duration = Duration::from_millis(30);
    let (a, b) = (peer(), peer());
    let impairment = Impairment {
        jitter: JITTER,
        seed: 11,
        ..Impairment::none()
    };
    let proxy = Proxy::start(
        None,
        Some(b.local_addr().unwrap()),
        impairment,
        Impairment::none(),
    )
    .unwrap();
    let start = Instant::now();
    for n in 0..100 {
        a.send_to(&datagram(n, 100), proxy.a_side()).unwrap();
    }
    let sent_in = start.elapsed();
    let got = receive(&b, 100);
    let order: Vec<u32> = got.iter().map(|(data, _, _)| index(data)).collect();
    let inversions = order.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(
        inversions > 10,
        "jitter left the order almost whole: {order:?}"
    );
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    let last = got.last().unwrap().2 - start;
    assert!(
        last < sent_in + JITTER + Duration::from_secs(1),
        "the last datagram came {last:?} after the first was sent"
    );
}

#[test]
fn impair_truncates_and_drops_by_size() {
    let (a, b) = (peer(), peer());
    let truncate = Impairment {
        truncate_above: Some(100),
        ..Impairment::none()
    };
    let cap = Impairment {
        drop_above: Some(1200),
        ..Impairment::none()
    };
    let proxy = Proxy::start(
        Some(a.local_addr().unwrap()),
        Some(b.local_addr().unwrap()),
        truncate,
        cap,
    )
    .unwrap();
    let sizes = [50, 100, 101, 1500];
    let payloads: Vec<Vec<u8>> = (0..4).map(|n| datagram(n, sizes[n as usize])).collect();
    let got = pump(&proxy, Direction::AToB, &a, proxy.a_side(), &b, &payloads);
    let lengths: Vec<usize> = got.iter().map(Vec::len).collect();
    assert_eq!(lengths, [50, 100, 100, 100]);
    for (data, sent) in got.iter().zip(&payloads) {
        assert_eq!(
            data[..],
            sent[..data.len()],
            "a cut datagram is not a prefix"
        );
    }
    let stats = proxy.stats().a_to_b;
    assert_eq!(
        (stats.truncated, stats.dropped, stats.largest),
        (2, 0, 1500)
    );

    let sizes = [1200, 1201, 1500, 10];
    let payloads: Vec<Vec<u8>> = (0..4).map(|n| datagram(n, sizes[n as usize])).collect();
    let got = pump(&proxy, Direction::BToA, &b, proxy.b_side(), &a, &payloads);
    assert!(got == [payloads[0].clone(), payloads[3].clone()]);
    let stats = proxy.stats().b_to_a;
    assert_eq!(
        (stats.dropped_size, stats.dropped, stats.forwarded),
        (2, 2, 2)
    );
    assert_eq!(stats.largest, 1500);
}

#[test]
fn impair_rate_limit_spaces_datagrams_and_set_switches_to_a_blackhole() {
    let (a, b) = (peer(), peer());
    let limited = Impairment {
        rate: Some(1_000_000),
        ..Impairment::none()
    };
    let proxy = Proxy::start(
        None,
        Some(b.local_addr().unwrap()),
        limited,
        Impairment::none(),
    )
    .unwrap();
    // 50 kB at 1 MB/s: the last leaves about 50 ms after the first.
    for n in 0..50 {
        a.send_to(&datagram(n, 1000), proxy.a_side()).unwrap();
    }
    let got = receive(&b, 50);
    let spread = got.last().unwrap().2 - got[0].2;
    assert!(
        spread >= Duration::from_millis(40),
        "50 kB at 1 MB/s took {spread:?}"
    );

    proxy.set(Direction::AToB, Impairment::blackhole());
    let payloads: Vec<Vec<u8>> = (0..20).map(|n| datagram(n, 100)).collect();
    let got = pump(&proxy, Direction::AToB, &a, proxy.a_side(), &b, &payloads);
    assert!(got.is_empty(), "a blackhole let {} through", got.len());
    assert_eq!(proxy.stats().a_to_b.dropped_loss, 20);
}

#[test]
fn impair_log_decodes_udx_headers() {
    let hex = |s: &str| hex::decode(s.replace(' ', "")).unwrap();
    // The datagrams of the transport note's UDX vectors.
    let data = hex("ff01 01 00 88776655 00004000 00000000 00000000 68656c6c6f");
    assert_eq!(
        describe_datagram(&data),
        "UDX DATA off=0 id=0x55667788 rwnd=4194304 seq=0 ack=0 payload=5"
    );
    let ack = hex("ff01 00 00 44332211 00004000 00000000 01000000");
    assert_eq!(
        describe_datagram(&ack),
        "UDX ACK off=0 id=0x11223344 rwnd=4194304 seq=0 ack=1 payload=0"
    );
    let sack = hex("ff01 04 00 44332211 00004000 00000000 03000000 04000000 05000000");
    assert_eq!(
        describe_datagram(&sack),
        "UDX SACK off=0 id=0x11223344 rwnd=4194304 seq=0 ack=3 sack=[4,5) payload=0"
    );
    let mut probe = hex("ff01 01 20 88776655 00004000 1e000000 00000000");
    probe.extend([0u8; 32]);
    probe.extend([7u8; 1152]);
    assert!(describe_datagram(&probe)
        .ends_with("off=32 id=0x55667788 rwnd=4194304 seq=30 ack=0 payload=1152"));
    assert_eq!(describe_datagram(&[0x03, 0x01, 0x02]), "other 030102");
}

#[test]
fn impair_drop_stops_the_proxy_at_once() {
    let a = peer();
    let proxy = Proxy::start(
        None,
        Some(a.local_addr().unwrap()),
        Impairment::lossy(0.0, 10_000, 1),
        Impairment::none(),
    )
    .unwrap();
    for n in 0..100 {
        a.send_to(&datagram(n, 100), proxy.a_side()).unwrap();
    }
    let deadline = Instant::now() + WAIT;
    while proxy.stats().a_to_b.queued < 100 {
        assert!(Instant::now() < deadline, "the proxy queued too little");
        std::thread::sleep(Duration::from_millis(1));
    }
    let start = Instant::now();
    drop(proxy);
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "dropping the proxy took {took:?}"
    );
}
