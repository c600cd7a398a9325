//! The transport's test matrix through the impairment proxy
//! (`tests/harness/impair.rs`; rows T4–T9, T11–T13 and T15 of the shared
//! transport note §8.4) on real loopback sockets: hychat against hychat,
//! and hychat against udx-native and @hyperswarm/secret-stream as
//! `tests/js/udx-peer.js` runs them (its driver is `js_tests.rs`). What
//! arrived is compared by SHA-256; datagram sizes and HEARTBEATs are read
//! from the proxy's log. The cases of one test run at once, each on its own
//! sockets and proxy, so the whole stays short; every wait is bounded.
//!
//! The JS cases need `node` and the JS modules (`npm ci --prefix tests/js`).

use std::any::Any;
use std::io;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::{FutureExt, SinkExt, StreamExt};
use hypercore_handshake::CipherEvent;
use serde_json::json;
use tempfile::NamedTempFile;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::js_tests::impair::{kernel_drops, Direction, Impairment, Log, Proxy, ProxyStats};
use super::js_tests::{
    expect_ended, js_pattern, loopback, open_raw, open_secret, raw_exchange, secret_exchange,
    sha256_hex, through, JsPeer, RawPair, RawRun, SecretPair, MIB, WAIT,
};
use super::session::Session;
use super::tests::{largest_message, messages_both_ways, next_message, sessions, T9_SIZES};
use super::udx::socket::{UdxSocket, UdxStream};
use super::udx::stream::Stats;

/// The bulk of the bulk rows, each way: 340 full packets, so that 1 % loss
/// loses a few.
const BULK: usize = 384 * 1024;
/// Added to every datagram of the bulk rows, each way: a round trip of a
/// few milliseconds, as on a LAN, rather than loopback's microseconds.
const DELAY_MS: u64 = 2;
/// The largest datagram hychat sends (MTU 1200 less the IPv4 and UDP
/// headers).
const HYCHAT_DATAGRAM: usize = 1172;
/// How long the receiver of T13 stops reading.
const STALL: Duration = Duration::from_secs(3);
/// What a vanished peer is given to be noticed in (T11): a keepalive 5 s
/// after the last write, then libudx's six RTOs (about 13 s).
const VANISH_WAIT: Duration = Duration::from_secs(30);
/// Stream ids of a hychat pair.
const A_ID: u32 = 0x0a0a_0001;
const B_ID: u32 = 0x0b0b_0002;

// ----------------------------------------------------------------------
// Running cases at once
// ----------------------------------------------------------------------

type Case = (String, BoxFuture<'static, String>);

fn case(name: &str, run: impl std::future::Future<Output = String> + Send + 'static) -> Case {
    (name.to_string(), run.boxed())
}

fn panic_text(panic: Box<dyn Any + Send>) -> String {
    match panic.downcast::<String>() {
        Ok(text) => *text,
        Err(panic) => panic
            .downcast_ref::<&str>()
            .map_or_else(|| "a panic".to_string(), |text| text.to_string()),
    }
}

/// Runs every case at once on the runtime's threads, prints each one's
/// report, and fails naming every case that failed.
async fn run_cases(cases: Vec<Case>) {
    let started = Instant::now();
    let running: Vec<_> = cases
        .into_iter()
        .map(|(name, run)| {
            let timed = async move {
                let report = run.await;
                format!("{report} [case {} ms]", started.elapsed().as_millis())
            };
            (name, tokio::spawn(timed))
        })
        .collect();
    let mut failed = Vec::new();
    for (name, handle) in running {
        match handle.await {
            Ok(report) => println!("{name}: {report}"),
            Err(e) if e.is_panic() => {
                failed.push(format!("{name}: {}", panic_text(e.into_panic())))
            }
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    println!("all cases in {} ms", started.elapsed().as_millis());
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
}

// ----------------------------------------------------------------------
// The proxy's log
// ----------------------------------------------------------------------

/// One datagram in the proxy's log.
struct Logged {
    direction: Direction,
    len: usize,
    /// The UDX header in words, then `=>` and what the proxy did.
    text: String,
}

/// A log file for one proxy.
fn log_file() -> (NamedTempFile, Log) {
    let file = NamedTempFile::new().expect("a temporary file for the proxy's log");
    let log = Log::File(file.path().to_path_buf());
    (file, log)
}

/// The datagrams logged so far (the proxy flushes its log every turn of its
/// loop, at least every 20 ms).
fn read_log(file: &NamedTempFile) -> Vec<Logged> {
    let text = std::fs::read_to_string(file.path()).expect("the proxy's log reads");
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let direction = match words.nth(2)? {
                "a>b" => Direction::AToB,
                "b>a" => Direction::BToA,
                _ => return None,
            };
            let len = words.nth(1)?.strip_suffix('B')?.parse().ok()?;
            Some(Logged {
                direction,
                len,
                text: words.collect::<Vec<_>>().join(" "),
            })
        })
        .collect()
}

fn logged_kinds(log: &[Logged], direction: Direction, kind: &str) -> usize {
    let word = format!("UDX {kind} ");
    log.iter()
        .filter(|l| l.direction == direction && l.text.starts_with(&word))
        .count()
}

// ----------------------------------------------------------------------
// hychat to hychat
// ----------------------------------------------------------------------

/// Two hychat streams joined through a proxy: `a` is the proxy's peer A.
struct Pair {
    a: UdxStream,
    b: UdxStream,
    proxy: Proxy,
    sockets: [UdxSocket; 2],
}

impl Pair {
    /// What the kernel dropped on the pair's sockets and the proxy's.
    fn kernel_drops(&self) -> u64 {
        let mut ports = self.proxy.ports();
        ports.extend(self.sockets.iter().map(|s| s.local_addr().unwrap().port()));
        kernel_drops(&ports)
    }
}

fn hychat_pair(a_to_b: Impairment, b_to_a: Impairment, log: Log) -> Pair {
    let sockets = [
        UdxSocket::bind(loopback()).unwrap(),
        UdxSocket::bind(loopback()).unwrap(),
    ];
    let [a_addr, b_addr] = [0, 1].map(|i| sockets[i].local_addr().unwrap());
    let proxy = Proxy::start_with_log(Some(a_addr), Some(b_addr), a_to_b, b_to_a, log)
        .expect("the impairment proxy starts");
    let a = sockets[0].create_stream(A_ID).unwrap();
    let b = sockets[1].create_stream(B_ID).unwrap();
    Pair {
        a: a.connect(proxy.a_side(), B_ID).unwrap(),
        b: b.connect(proxy.b_side(), A_ID).unwrap(),
        proxy,
        sockets,
    }
}

/// What a bulk exchange between two hychat streams measured.
struct Exchanged {
    elapsed: Duration,
    a: Stats,
    b: Stats,
    proxy: ProxyStats,
    kernel_drops: u64,
}

/// Reads `stream` to its END within `within` and checks it got `expected`.
async fn read_all(stream: &mut UdxStream, expected: &[u8], within: Duration, who: &str) {
    let mut got = Vec::with_capacity(expected.len());
    let read = tokio::time::timeout(within, stream.read_to_end(&mut got)).await;
    match read {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!("{who} failed after {} bytes: {e}", got.len()),
        Err(_) => panic!(
            "{who} read {} of {} bytes, then nothing more within {within:?}",
            got.len(),
            expected.len()
        ),
    }
    assert!(
        got == expected,
        "{who} got {} bytes (sha256 {}), not the {} sent (sha256 {})",
        got.len(),
        sha256_hex(&got),
        expected.len(),
        sha256_hex(expected)
    );
}

/// `len` bytes each way at once, both ends END: each side reads exactly
/// what the other wrote within `within`, and both close cleanly.
async fn exchange(pair: &mut Pair, len: usize, within: Duration) -> Exchanged {
    let (to_b, to_a) = (js_pattern(1, len), js_pattern(2, len));
    let start = Instant::now();
    let writers = [(&pair.a, &to_b), (&pair.b, &to_a)].map(|(stream, bytes)| {
        let (mut stream, bytes) = (stream.clone(), bytes.clone());
        tokio::spawn(async move {
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        })
    });
    let (mut a, mut b) = (pair.a.clone(), pair.b.clone());
    tokio::join!(
        read_all(&mut b, &to_b, within, "b"),
        read_all(&mut a, &to_a, within, "a")
    );
    let elapsed = start.elapsed();
    for writer in writers {
        tokio::time::timeout(WAIT, writer)
            .await
            .expect("a writer finished")
            .unwrap()
            .expect("a writer wrote and ended");
    }
    expect_ended(&mut a).await;
    expect_ended(&mut b).await;
    Exchanged {
        elapsed,
        a: a.stats(),
        b: b.stats(),
        proxy: pair.proxy.stats(),
        kernel_drops: pair.kernel_drops(),
    }
}

fn describe(x: &Exchanged) -> String {
    format!(
        "{} ms; a: {} out, {} retransmits, {} RTOs; b: {} out, {} retransmits, {} RTOs; \
         proxy a>b {} in, {} lost, {} duplicated, {} spiked; b>a {} in, {} lost; \
         {} dropped by the kernel",
        x.elapsed.as_millis(),
        x.a.packets_out,
        x.a.retransmits,
        x.a.rtos,
        x.b.packets_out,
        x.b.retransmits,
        x.b.rtos,
        x.proxy.a_to_b.datagrams_in,
        x.proxy.a_to_b.dropped,
        x.proxy.a_to_b.duplicated,
        x.proxy.a_to_b.spiked,
        x.proxy.b_to_a.datagrams_in,
        x.proxy.b_to_a.dropped,
        x.kernel_drops,
    )
}

/// T4: `loss` each way on top of the delay.
fn lossy(loss: f64, seed: u64) -> Impairment {
    Impairment::lossy(loss, DELAY_MS, seed)
}

/// T5: a tenth of the datagrams held back 5–50 ms, none lost.
fn spiky(seed: u64) -> Impairment {
    Impairment {
        delay: Duration::from_millis(DELAY_MS),
        ..Impairment::spiky(
            0.10,
            Duration::from_millis(5),
            Duration::from_millis(50),
            seed,
        )
    }
}

/// T6: 5 % of the datagrams sent twice.
fn duplicating(seed: u64) -> Impairment {
    Impairment {
        duplicate: 0.05,
        ..lossy(0.0, seed)
    }
}

/// T7: an MTU of 1280 on the way (datagrams above it dropped).
fn capped(seed: u64) -> Impairment {
    Impairment {
        drop_above: Some(1280),
        ..lossy(0.0, seed)
    }
}

/// T8: datagrams above 1200 bytes cut to their first 1200.
fn truncating(seed: u64) -> Impairment {
    Impairment {
        truncate_above: Some(1200),
        ..lossy(0.0, seed)
    }
}

/// T15: from the 100th datagram on, the proxy forwards from another port.
fn rebinding(seed: u64) -> Impairment {
    Impairment {
        new_source_after: Some(100),
        ..lossy(0.0, seed)
    }
}

/// No spurious RTO storm on a path that only reorders: at most one RTO
/// per side (for a tail the kernel dropped), and at most two
/// retransmissions for each datagram held back or dropped by the kernel (a
/// spike of up to 50 ms outlasts several round trips of 4 ms, so RACK may
/// resend a held-back packet once, and its resend once more).
fn assert_no_spurious_storm(label: &str, stats: &Stats, held_back: u64, kernel_drops: u64) {
    assert!(
        stats.rtos <= 1,
        "{label}: {} RTOs on a path that only reorders: {stats:?}",
        stats.rtos
    );
    let bound = 2 * (held_back + kernel_drops) + 2;
    assert!(
        stats.retransmits <= bound,
        "{label}: {} retransmissions for {held_back} datagrams held back and {kernel_drops} \
         dropped by the kernel: {stats:?}",
        stats.retransmits
    );
}

/// A bulk exchange between two hychat streams through `a_to_b`/`b_to_a`,
/// intact within `within`.
async fn hychat_bulk(a_to_b: Impairment, b_to_a: Impairment, within: Duration) -> Exchanged {
    let mut pair = hychat_pair(a_to_b, b_to_a, Log::from_env());
    exchange(&mut pair, BULK, within).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hychat_pairs_stay_intact_through_loss_reordering_duplicates_caps_and_rebinding() {
    let mut cases = Vec::new();
    for (loss, seed, within) in [(0.01, 11, 5), (0.05, 13, 8), (0.20, 15, 20)] {
        cases.push(case(
            &format!("T4 hychat {}% loss", loss * 100.0),
            async move {
                let run = hychat_bulk(
                    lossy(loss, seed),
                    lossy(loss, seed + 1),
                    Duration::from_secs(within),
                )
                .await;
                assert!(run.proxy.a_to_b.dropped_loss > 0 && run.proxy.b_to_a.dropped_loss > 0);
                describe(&run)
            },
        ));
    }
    cases.push(case("T5 hychat 10% held back 5-50 ms", async {
        let run = hychat_bulk(spiky(21), spiky(22), Duration::from_secs(5)).await;
        assert!(run.proxy.a_to_b.spiked > 0 && run.proxy.b_to_a.spiked > 0);
        assert_no_spurious_storm("a", &run.a, run.proxy.a_to_b.spiked, run.kernel_drops);
        assert_no_spurious_storm("b", &run.b, run.proxy.b_to_a.spiked, run.kernel_drops);
        describe(&run)
    }));
    cases.push(case("T6 hychat 5% duplicated", async {
        let run = hychat_bulk(duplicating(31), duplicating(32), Duration::from_secs(5)).await;
        assert!(run.proxy.a_to_b.duplicated > 0 && run.proxy.b_to_a.duplicated > 0);
        describe(&run)
    }));
    cases.push(case("T7 hychat above 1280 dropped", async {
        let (file, log) = log_file();
        let mut pair = hychat_pair(capped(41), capped(42), log);
        let run = exchange(&mut pair, BULK, Duration::from_secs(5)).await;
        drop(pair);
        let logged = read_log(&file);
        let largest = logged.iter().map(|l| l.len).max().unwrap_or_default();
        assert!(logged.len() as u64 >= run.a.packets_out + run.b.packets_out);
        assert!(
            largest <= HYCHAT_DATAGRAM,
            "hychat sent a {largest}-byte datagram"
        );
        assert_eq!(run.proxy.a_to_b.dropped + run.proxy.b_to_a.dropped, 0);
        format!("{}; largest datagram {largest} B", describe(&run))
    }));
    cases.push(case("T8 hychat above 1200 truncated", async {
        let run = hychat_bulk(truncating(51), truncating(52), Duration::from_secs(5)).await;
        assert_eq!(run.proxy.a_to_b.truncated + run.proxy.b_to_a.truncated, 0);
        describe(&run)
    }));
    cases.push(case("T15 hychat source ports change", async {
        let run = hychat_bulk(rebinding(61), rebinding(62), Duration::from_secs(5)).await;
        assert!(run.proxy.a_to_b.new_source.is_some() && run.proxy.b_to_a.new_source.is_some());
        describe(&run)
    }));
    run_cases(cases).await;
}

// ----------------------------------------------------------------------
// hychat and JS
// ----------------------------------------------------------------------

fn describe_js(run: &RawRun) -> String {
    let js = &run.js_closed["stats"];
    let proxy = run.proxy.clone().unwrap_or_default();
    format!(
        "hychat->js {} ms, js->hychat {} ms; hychat {} retransmits, {} RTOs; js {} retransmits, \
         {} RTOs, mtu {}; proxy hychat->js {} lost, js->hychat {} lost, largest {} B; \
         {} dropped by the kernel",
        run.to_js.as_millis(),
        run.to_hychat.as_millis(),
        run.hychat.retransmits,
        run.hychat.rtos,
        js["retransmits"],
        js["rtoCount"],
        js["mtu"],
        proxy.a_to_b.dropped,
        proxy.b_to_a.dropped,
        proxy.b_to_a.largest,
        run.kernel_drops,
    )
}

fn js_stat(run: &RawRun, name: &str) -> u64 {
    run.js_closed["stats"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("udx-native reports no {name}: {}", run.js_closed))
}

/// The bulk exchange with JS (`raw_exchange`: both ways at once, ENDs,
/// clean closes), finished within `within`.
async fn js_bulk(to_js: Impairment, to_hychat: Impairment, within: Duration) -> RawRun {
    let run = raw_exchange(BULK, through(to_js, to_hychat)).await;
    let slowest = run.to_js.max(run.to_hychat);
    assert!(
        slowest <= within,
        "the exchange took {} ms, more than {} ms",
        slowest.as_millis(),
        within.as_millis()
    );
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hychat_and_udx_native_stay_intact_through_loss_reordering_duplicates_caps_and_rebinding() {
    let mut cases = Vec::new();
    for (loss, seed, within) in [(0.01, 111, 5), (0.05, 113, 8), (0.20, 115, 20)] {
        cases.push(case(&format!("T4 js {}% loss", loss * 100.0), async move {
            let run = js_bulk(
                lossy(loss, seed),
                lossy(loss, seed + 1),
                Duration::from_secs(within),
            )
            .await;
            describe_js(&run)
        }));
    }
    cases.push(case("T5 js 10% held back 5-50 ms", async {
        let run = js_bulk(spiky(121), spiky(122), Duration::from_secs(5)).await;
        let proxy = run.proxy.clone().unwrap_or_default();
        assert_no_spurious_storm("hychat", &run.hychat, proxy.a_to_b.spiked, run.kernel_drops);
        assert!(js_stat(&run, "rtoCount") <= 1, "{}", describe_js(&run));
        describe_js(&run)
    }));
    cases.push(case("T6 js 5% duplicated", async {
        let run = js_bulk(duplicating(131), duplicating(132), Duration::from_secs(5)).await;
        let proxy = run.proxy.clone().unwrap_or_default();
        assert!(proxy.a_to_b.duplicated > 0 && proxy.b_to_a.duplicated > 0);
        describe_js(&run)
    }));
    cases.push(case("T7 js above 1280 dropped", async {
        let run = js_bulk(capped(141), capped(142), Duration::from_secs(5)).await;
        let proxy = run.proxy.clone().unwrap_or_default();
        assert!(proxy.a_to_b.largest <= HYCHAT_DATAGRAM);
        assert_eq!(proxy.a_to_b.dropped, 0);
        // JS's probes above the cap were lost, and it settled below it.
        assert!(js_stat(&run, "mtu") <= 1280 + 28, "{}", describe_js(&run));
        describe_js(&run)
    }));
    cases.push(case("T8 js above 1200 truncated", async {
        let run = js_bulk(truncating(151), truncating(152), Duration::from_secs(5)).await;
        let proxy = run.proxy.clone().unwrap_or_default();
        // JS probed, its probes were cut, hychat refused them (what it
        // delivered is intact, checked above), and JS stayed at the base.
        assert!(proxy.b_to_a.truncated > 0, "{}", describe_js(&run));
        assert_eq!(js_stat(&run, "mtu"), 1200, "{}", describe_js(&run));
        describe_js(&run)
    }));
    cases.push(case("T15 js source ports change", async {
        let run = js_bulk(rebinding(161), rebinding(162), Duration::from_secs(5)).await;
        let proxy = run.proxy.clone().unwrap_or_default();
        assert!(proxy.a_to_b.new_source.is_some() && proxy.b_to_a.new_source.is_some());
        describe_js(&run)
    }));
    run_cases(cases).await;
}

// ----------------------------------------------------------------------
// T9: secret-stream messages of every size, through loss
// ----------------------------------------------------------------------

// Two tests, each on its runtime: sealing and opening the largest message
// holds a thread for seconds in a debug build, and would stall the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_stream_messages_of_every_size_cross_one_percent_loss_in_order() {
    let cases = vec![case("T9 hychat 1% loss", async {
        let pair = hychat_pair(lossy(0.01, 71), lossy(0.01, 72), Log::from_env());
        let (mut client, mut server, _, _) = sessions(pair.a.clone(), pair.b.clone());
        let start = Instant::now();
        messages_both_ways(&mut client, &mut server, &T9_SIZES).await;
        // The largest back from the server (the loss-free test sends it
        // from the client).
        largest_message(&mut server, &mut client).await;
        let proxy = pair.proxy.stats();
        assert!(proxy.a_to_b.dropped_loss > 0 && proxy.b_to_a.dropped_loss > 0);
        format!(
            "{} ms; a {:?}; b {:?}",
            start.elapsed().as_millis(),
            pair.a.stats(),
            pair.b.stats()
        )
    })];
    run_cases(cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_stream_messages_cross_one_percent_loss_to_and_from_js_in_order() {
    let cases = vec![case("T9 js 1% loss", async {
        // Every size but the empty one, which JS does not report (its
        // keepalive filter drops it, as hychat does), and the largest,
        // which crosses hychat to hychat.
        let (rounds, proxy) = secret_exchange(
            true,
            &T9_SIZES[1..],
            through(lossy(0.01, 73), lossy(0.01, 74)),
        )
        .await;
        let proxy = proxy.unwrap_or_default();
        assert!(proxy.a_to_b.dropped_loss > 0 && proxy.b_to_a.dropped_loss > 0);
        rounds
            .iter()
            .map(|r| {
                format!(
                    "{} B: hychat->js {} ms, js->hychat {} ms",
                    r.len,
                    r.to_js.as_millis(),
                    r.to_hychat.as_millis()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    })];
    run_cases(cases).await;
}

// ----------------------------------------------------------------------
// T11: the peer vanishes
// ----------------------------------------------------------------------

/// Waits for `session` to fail with a timeout, polling it (so its
/// keepalives go out); returns how long that took from `since`.
async fn expect_timeout(session: &mut Session, since: Instant, who: &str) -> Duration {
    let deadline = tokio::time::Instant::from_std(since + VANISH_WAIT);
    loop {
        match tokio::time::timeout_at(deadline, session.next()).await {
            Ok(Some(CipherEvent::ErrStuff(e))) if e.kind() == io::ErrorKind::TimedOut => {
                return since.elapsed();
            }
            Ok(Some(CipherEvent::ErrStuff(e))) => panic!("{who} failed, but not by timeout: {e}"),
            Ok(Some(_)) => continue,
            Ok(None) => panic!("{who} ended cleanly with its peer gone"),
            Err(_) => panic!("{who} still thinks its peer is there after {VANISH_WAIT:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_peer_times_out_on_both_sides() {
    let cases = vec![
        case("T11 hychat", async {
            let pair = hychat_pair(Impairment::none(), Impairment::none(), Log::from_env());
            let (mut client, mut server, _, _) = sessions(pair.a.clone(), pair.b.clone());
            messages_both_ways(&mut client, &mut server, &[100]).await;
            pair.proxy.set(Direction::AToB, Impairment::blackhole());
            pair.proxy.set(Direction::BToA, Impairment::blackhole());
            let since = Instant::now();
            // The client is mid-way through a message when the path goes.
            client.feed(js_pattern(3, MIB)).await.unwrap();
            let (client_after, server_after) = tokio::join!(
                expect_timeout(&mut client, since, "the sending client"),
                expect_timeout(&mut server, since, "the idle server"),
            );
            format!(
                "the client timed out after {} ms, the server after {} ms",
                client_after.as_millis(),
                server_after.as_millis()
            )
        }),
        case("T11 js", async {
            let SecretPair {
                mut js,
                path,
                mut session,
                raw: _raw,
                _socket,
            } = open_secret(true, through(Impairment::none(), Impairment::none())).await;
            session.send(js_pattern(4, 100)).await.unwrap();
            js.expect("message", WAIT).await;
            js.order(json!({ "write": { "bytes": 100, "seed": 5 } }))
                .await;
            assert_eq!(next_message(&mut session).await, js_pattern(5, 100));
            js.expect("written", WAIT).await;
            let proxy = path.proxy.as_ref().expect("a proxy");
            proxy.set(Direction::AToB, Impairment::blackhole());
            proxy.set(Direction::BToA, Impairment::blackhole());
            let since = Instant::now();
            // JS is mid-way through a message when the path goes.
            js.order(json!({ "write": { "bytes": MIB, "seed": 6 } }))
                .await;
            let (hychat_after, closed) = tokio::join!(
                expect_timeout(&mut session, since, "hychat"),
                js.expect("closed", VANISH_WAIT)
            );
            let js_after = closed.at.duration_since(since);
            assert_eq!(
                closed.value["error"],
                json!("ETIMEDOUT"),
                "{}",
                closed.value
            );
            js.finish().await;
            format!(
                "hychat timed out after {} ms, JS after {} ms",
                hychat_after.as_millis(),
                js_after.as_millis()
            )
        }),
    ];
    run_cases(cases).await;
}

// ----------------------------------------------------------------------
// T12: ends and destroys
// ----------------------------------------------------------------------

/// What T12 sends each way before an end or a destroy: 56 packets.
const T12_LEN: usize = 64 * 1024;
/// How long a DESTROY that reached its peer takes to reset it, at most; and
/// how long a peer whose DESTROY was lost on the way is watched.
const RESET_WAIT: Duration = Duration::from_secs(2);

fn t12_path(loss: f64, seed: u64) -> (Impairment, Impairment) {
    (lossy(loss, seed), lossy(loss, seed + 1))
}

/// Whether the proxy passed on the DESTROY that went `direction`: it is
/// sent once and never again, so a lost one resets nothing.
fn destroy_passed(file: &NamedTempFile, direction: Direction) -> bool {
    let log = read_log(file);
    let destroys: Vec<&Logged> = log
        .iter()
        .filter(|l| l.direction == direction && l.text.starts_with("UDX DESTROY "))
        .collect();
    assert_eq!(destroys.len(), 1, "one DESTROY went {direction:?}");
    !destroys[0].text.ends_with("=> lost")
}

/// The stream's reader sees the peer's reset; or, when the DESTROY was lost
/// on the way, nothing at all.
async fn expect_reset(stream: &mut UdxStream, passed: bool, who: &str) -> &'static str {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(RESET_WAIT, stream.read(&mut byte)).await;
    match (passed, read) {
        (true, Ok(Err(e))) if e.kind() == io::ErrorKind::ConnectionReset => "reset",
        (true, other) => panic!("{who} was not reset: {other:?}"),
        (false, Err(_)) => "DESTROY lost on the way, so still open",
        (false, other) => panic!("{who} saw {other:?} though the DESTROY was lost"),
    }
}

/// Two hychat streams trade `T12_LEN` bytes each way, then one destroys
/// its stream: the other is reset.
async fn hychat_destroy(destroyer: Direction, loss: f64, seed: u64) -> String {
    let (file, log) = log_file();
    let (a_to_b, b_to_a) = t12_path(loss, seed);
    let pair = hychat_pair(a_to_b, b_to_a, log);
    let (to_b, to_a) = (js_pattern(7, T12_LEN), js_pattern(8, T12_LEN));
    let [mut a_in, mut a_out, mut b_in, mut b_out] =
        [&pair.a, &pair.a, &pair.b, &pair.b].map(UdxStream::clone);
    let (mut got_a, mut got_b) = (vec![0; T12_LEN], vec![0; T12_LEN]);
    let traded = tokio::time::timeout(WAIT, async {
        tokio::try_join!(
            a_out.write_all(&to_b),
            b_out.write_all(&to_a),
            a_in.read_exact(&mut got_a),
            b_in.read_exact(&mut got_b)
        )
    })
    .await;
    assert!(matches!(traded, Ok(Ok(_))), "the trade failed: {traded:?}");
    assert!(got_a == to_a && got_b == to_b);
    let (gone, mut other) = match destroyer {
        Direction::AToB => (pair.a.clone(), pair.b.clone()),
        Direction::BToA => (pair.b.clone(), pair.a.clone()),
    };
    gone.destroy();
    pair.proxy.settle(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let passed = destroy_passed(&file, destroyer);
    let seen = expect_reset(&mut other, passed, "the other stream").await;
    drop(pair.a);
    drop(pair.b);
    seen.to_string()
}

/// hychat and JS trade `T12_LEN` bytes each way; then one destroys its
/// stream: the other is reset (JS closes with ECONNRESET).
async fn js_destroy(hychat_destroys: bool, loss: f64, seed: u64) -> String {
    let (file, log) = log_file();
    let (to_js, to_hychat) = t12_path(loss, seed);
    let RawPair {
        mut js,
        path,
        mut stream,
        socket: _socket,
    } = open_raw(Some((to_js, to_hychat, log))).await;
    js.order(json!({ "send": { "bytes": T12_LEN, "seed": 9 } }))
        .await;
    let mut got = vec![0; T12_LEN];
    let to_js = js_pattern(10, T12_LEN);
    let mut reader = stream.clone();
    let traded = tokio::time::timeout(WAIT, async {
        tokio::try_join!(stream.write_all(&to_js), reader.read_exact(&mut got))
    })
    .await;
    assert!(matches!(traded, Ok(Ok(_))), "the trade failed: {traded:?}");
    assert!(got == js_pattern(9, T12_LEN));
    let sent = js.expect("sent", WAIT).await.value;
    assert_eq!(sent["ok"], json!(true), "{sent}");
    js_received(&mut js, T12_LEN).await;
    let proxy = path.proxy.as_ref().expect("a proxy");
    let seen = if hychat_destroys {
        stream.destroy();
        proxy.settle(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(50)).await;
        if destroy_passed(&file, Direction::AToB) {
            let closed = js.expect("closed", RESET_WAIT).await.value;
            assert_eq!(closed["error"], json!("ECONNRESET"), "{closed}");
            "reset"
        } else {
            js_received(&mut js, T12_LEN).await;
            "DESTROY lost on the way, so still open"
        }
    } else {
        js.order(json!({ "destroy": true })).await;
        js.expect("closed", WAIT).await;
        proxy.settle(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let passed = destroy_passed(&file, Direction::BToA);
        expect_reset(&mut stream, passed, "hychat's stream").await
    };
    js.finish().await;
    seen.to_string()
}

/// Asks JS what it received until it reports `len` bytes.
async fn js_received(js: &mut JsPeer, len: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        js.order(json!({ "report": true })).await;
        let report = js.expect("received", WAIT).await.value;
        if report["received"].as_u64() == Some(len as u64) {
            return;
        }
        assert!(Instant::now() < deadline, "JS has {report} of {len} bytes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_end_and_destroy_both_ways_with_and_without_loss() {
    let mut cases = Vec::new();
    for (loss, seed) in [(0.0, 81), (0.05, 83)] {
        let percent = loss * 100.0;
        cases.push(case(
            &format!("T12 hychat end, {percent}% loss"),
            async move {
                let (a_to_b, b_to_a) = t12_path(loss, seed);
                let mut pair = hychat_pair(a_to_b, b_to_a, Log::from_env());
                describe(&exchange(&mut pair, T12_LEN, WAIT).await)
            },
        ));
        cases.push(case(&format!("T12 js end, {percent}% loss"), async move {
            let (to_js, to_hychat) = t12_path(loss, seed + 10);
            let run = raw_exchange(T12_LEN, through(to_js, to_hychat)).await;
            describe_js(&run)
        }));
        for (destroyer, offset) in [(Direction::AToB, 20), (Direction::BToA, 30)] {
            let name = format!("T12 hychat destroy {destroyer:?}, {percent}% loss");
            cases.push(case(&name, hychat_destroy(destroyer, loss, seed + offset)));
        }
        for (hychat_destroys, offset) in [(true, 40), (false, 50)] {
            let who = if hychat_destroys { "hychat" } else { "js" };
            let name = format!("T12 {who} destroys a js pair, {percent}% loss");
            cases.push(case(
                &name,
                js_destroy(hychat_destroys, loss, seed + offset),
            ));
        }
    }
    run_cases(cases).await;
}

// ----------------------------------------------------------------------
// T13: the receiver stops reading
// ----------------------------------------------------------------------

/// More than the 4 MiB window, so that it closes.
const T13_LEN: usize = 5 * MIB;

/// What the log shows of a zero window: acks advertising it going
/// `acks`, HEARTBEATs going the other way.
fn zero_window_seen(file: &NamedTempFile, acks: Direction) -> (usize, usize) {
    let log = read_log(file);
    let zero_acks = log
        .iter()
        .filter(|l| l.direction == acks && l.text.contains(" rwnd=0 "))
        .count();
    let heartbeats = logged_kinds(&log, opposite(acks), "HEARTBEAT");
    (zero_acks, heartbeats)
}

fn opposite(direction: Direction) -> Direction {
    match direction {
        Direction::AToB => Direction::BToA,
        Direction::BToA => Direction::AToB,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_probes_a_closed_window_and_resumes_when_it_opens() {
    let cases = vec![
        case("T13 hychat", async {
            let (file, log) = log_file();
            let pair = hychat_pair(Impairment::none(), Impairment::none(), log);
            let bytes = js_pattern(11, T13_LEN);
            let writer = {
                let (mut a, bytes) = (pair.a.clone(), bytes.clone());
                tokio::spawn(async move {
                    a.write_all(&bytes).await?;
                    a.shutdown().await
                })
            };
            let mut b = pair.b.clone();
            tokio::time::sleep(STALL).await;
            let (zero_acks, heartbeats) = zero_window_seen(&file, Direction::BToA);
            assert!(zero_acks > 0, "b never advertised a zero window");
            assert!(heartbeats > 0, "a never probed the zero window");
            let start = Instant::now();
            read_all(&mut b, &bytes, WAIT, "b").await;
            let resumed = start.elapsed();
            tokio::time::timeout(WAIT, writer)
                .await
                .expect("a's writer finished")
                .unwrap()
                .expect("a wrote and ended");
            format!(
                "{zero_acks} zero-window acks, {heartbeats} HEARTBEATs in {} s; the rest read in {} ms",
                STALL.as_secs(),
                resumed.as_millis()
            )
        }),
        case("T13 js to hychat", async {
            let (file, log) = log_file();
            // Every field bound: one left to `..` would be dropped here,
            // the proxy with it.
            let RawPair {
                mut js,
                mut stream,
                socket: _socket,
                path: _proxy,
            } = open_raw(Some((Impairment::none(), Impairment::none(), log))).await;
            js.order(json!({ "send": { "bytes": T13_LEN, "seed": 12 } }))
                .await;
            js.order(json!({ "end": true })).await;
            tokio::time::sleep(STALL).await;
            let (zero_acks, heartbeats) = zero_window_seen(&file, Direction::AToB);
            assert!(zero_acks > 0, "hychat never advertised a zero window");
            assert!(heartbeats > 0, "JS never probed the zero window");
            let start = Instant::now();
            read_all(&mut stream, &js_pattern(12, T13_LEN), WAIT, "hychat").await;
            let resumed = start.elapsed();
            let sent = js.expect("sent", WAIT).await.value;
            assert_eq!(sent["ok"], json!(true), "{sent}");
            stream.shutdown().await.unwrap();
            js.expect_clean_close().await;
            js.finish().await;
            format!(
                "{zero_acks} zero-window acks, {heartbeats} HEARTBEATs in {} s; the rest read in {} ms",
                STALL.as_secs(),
                resumed.as_millis()
            )
        }),
    ];
    run_cases(cases).await;
}
