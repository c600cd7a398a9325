//! Transport benchmark: hychat's own UDX and secret stream against the JS
//! reference (udx-native and @hyperswarm/secret-stream) in one run, on
//! loopback (a bench binary: it prints figures and asserts nothing about
//! time). Run with `cargo bench --bench transport`; the JS peers' packages
//! are installed with `npm ci --prefix tests/js` when missing.
//!
//! 1. Bulk throughput of one stream, raw UDX and the secret stream over it
//!    (64 KiB messages), for hychat → hychat, hychat → JS, JS → hychat and
//!    JS → JS, on loopback and through the impairment proxy
//!    (`tests/harness/impair.rs`) at 20 ms each way with 1 % loss each way,
//!    and at 5 % loss each way. The time runs from the sender's first write
//!    to the receiver's END after the last byte; every byte must arrive
//!    intact (SHA-256 of both sides), or the bench exits with an error.
//!    The sender's retransmits are printed beside it (hychat's
//!    `UdxStream::stats`, udx-native's `stream.retransmits`), and the
//!    datagrams the kernel dropped for a full socket receive buffer
//!    meanwhile (`RcvbufErrors`, machine-wide). The JS ends
//!    are `tests/js/udx-peer.js`, one process each; the hychat ends are
//!    sockets of this process.
//! 2. Catch-up of a 10,000-message log by a new reader, JS → hychat,
//!    JS → JS and hychat → hychat (`harness::catch_up`, which
//!    `benches/replication.rs` runs for all four pairs).
//! 3. Idle: two connected `hychat seed`s (the release binary, one
//!    following the other) and two connected JS peers (the writer and a
//!    viewer of its log, hyperswarm), side by side for 60 s: the CPU time
//!    of each (`/proc/PID/stat`, user + system) as a share of one core, and
//!    its wake-ups (voluntary context switches) per second.
//!
//! hychat's transport is private to the library, so this bench compiles it
//! from the library's sources (the modules below), optimized as the
//! release binary has it.
//!
//! Sizes from the environment: `HYCHAT_BENCH_BYTES` (loopback, default
//! 8 MiB), `HYCHAT_BENCH_IMPAIRED_BYTES` (default 2 MiB),
//! `HYCHAT_BENCH_CASE_SECS` (the bound on one transfer, default 120; a
//! transfer beyond it is printed as such), `HYCHAT_BENCH_LOG` (default
//! 10,000 messages), `HYCHAT_BENCH_IDLE_SECS` (default 60);
//! `HYCHAT_BENCH_PARTS` (such as `1,3`) runs only those parts.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use hypercore_handshake::CipherEvent;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

// This bench uses `harness::js`, `harness::process`, `harness::impair`,
// `harness::catch_up`, `harness::node`, `harness::bin`, `harness::bench`
// and `harness::env`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bench::{context_switches, cpu_ticks, ticks_per_second, udp_counter, Pair};
use harness::bin::{hychat, own_key, spawn_hychat, start_bootstrap};
use harness::catch_up::Writers;
use harness::env;
use harness::impair::{Direction, Impairment, Proxy};
use harness::js::{self, ensure_js_peers, JsViewer, JsWriter, Mode};
use harness::node::bootstrap_node;
use harness::process::Background;
use hychat::net::testing::transport::{
    Keys, Pending as HalfOpen, Secret as Session, Socket as UdxSocket, Stream as UdxStream,
};

const MIB: u64 = 1 << 20;
/// The secret stream's messages: each sender writes its bytes as messages
/// of this size (the sizes are rounded up to whole messages).
const MESSAGE: usize = 64 * 1024;
/// Stream ids: the sender's and the receiver's.
const SENDER_ID: u32 = 0x0001_0001;
const RECEIVER_ID: u32 = 0x0002_0002;
/// The longest a JS peer takes to start, connect or answer an order.
const STEP: Duration = Duration::from_secs(30);
/// The seeds of the proxy's two directions: in every pair, the n-th
/// datagram of a direction meets the same fate.
const SEED_DATA: u64 = 0x5eed_0001;
const SEED_ACKS: u64 = 0x5eed_0002;

/// The wall clock in milliseconds since the Unix epoch, as udx-peer.js
/// reports it (`t0`, `t`).
fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1e3)
        .unwrap_or(0.0)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layer {
    Raw,
    Secret,
}

impl Layer {
    fn name(self) -> &'static str {
        match self {
            Layer::Raw => "raw UDX",
            Layer::Secret => "secret stream",
        }
    }
}

/// The network between the two ends.
struct Link {
    name: &'static str,
    bytes: u64,
    /// What the proxy does to data (sender to receiver) and to acks.
    impairment: Option<(Impairment, Impairment)>,
}

impl Link {
    /// Impaired both ways alike: `loss` of the datagrams dropped, the rest
    /// delayed by `delay_ms`.
    fn impaired(name: &'static str, bytes: u64, loss: f64, delay_ms: u64) -> Link {
        Link {
            name,
            bytes,
            impairment: Some((
                Impairment::lossy(loss, delay_ms, SEED_DATA),
                Impairment::lossy(loss, delay_ms, SEED_ACKS),
            )),
        }
    }

    fn all(loopback_bytes: u64, impaired_bytes: u64) -> [Link; 3] {
        [
            Link {
                name: "loopback",
                bytes: loopback_bytes,
                impairment: None,
            },
            Link::impaired("20 ms + 1 % loss", impaired_bytes, 0.01, 20),
            Link::impaired("5 % loss", impaired_bytes, 0.05, 0),
        ]
    }
}

/// udx-peer.js: one udx-native socket and stream, driven by JSON orders
/// on stdin, reporting JSON lines on stdout.
struct JsUdx {
    process: Background,
    /// Lines read but not asked for yet.
    backlog: Vec<Value>,
    port: u16,
}

impl JsUdx {
    fn spawn(name: &str, id: u32) -> Result<JsUdx, String> {
        let process = js::node(name, "udx-peer.js", &["--id".into(), id.to_string()], true);
        let mut peer = JsUdx {
            process,
            backlog: Vec::new(),
            port: 0,
        };
        let ready = peer.expect("ready", STEP)?;
        peer.port = ready["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("{name} named no port: {ready}"))?;
        Ok(peer)
    }

    fn order(&mut self, order: Value) {
        self.process.write_line(&order.to_string());
    }

    /// The next line with `key`, from the backlog or within `within`; a
    /// line with `error` or `fatal` is an error.
    fn expect(&mut self, key: &str, within: Duration) -> Result<Value, String> {
        if let Some(i) = self.backlog.iter().position(|l| l.get(key).is_some()) {
            return Ok(self.backlog.remove(i));
        }
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Some(text) = self.process.next_line(left) else {
                return Err(format!(
                    "no {key:?} from {} within {within:?}\n{}",
                    self.process.name(),
                    self.process.describe()
                ));
            };
            let value: Value =
                serde_json::from_str(&text).unwrap_or_else(|_| json!({ "unparsed": text }));
            let failed = value.get("fatal").is_some()
                || (value.get("closed").is_none()
                    && value.get("error").is_some_and(|e| !e.is_null()));
            if failed {
                return Err(format!(
                    "{} failed while {key:?} was awaited: {value}\n{}",
                    self.process.name(),
                    self.process.describe()
                ));
            }
            if value.get(key).is_some() {
                return Ok(value);
            }
            self.backlog.push(value);
        }
    }

    /// `expect` on a blocking-friendly thread of the runtime.
    fn expect_now(&mut self, key: &str, within: Duration) -> Result<Value, String> {
        tokio::task::block_in_place(|| self.expect(key, within))
    }
}

/// One end of a transfer.
enum End {
    Hychat {
        socket: UdxSocket,
        half: Option<HalfOpen>,
        /// Kept (a clone) so the stream lives, and for its stats.
        stream: Option<UdxStream>,
    },
    Js(JsUdx),
}

impl End {
    /// A JS end (`js`) or a hychat one, with its stream `id`.
    fn open(js: bool, role: &str, id: u32) -> Result<End, String> {
        if js {
            let peer =
                tokio::task::block_in_place(|| JsUdx::spawn(&format!("udx-peer.js ({role})"), id))?;
            return Ok(End::Js(peer));
        }
        let socket = UdxSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .map_err(|e| format!("bind a loopback UDX socket: {e}"))?;
        let half = socket
            .create_stream(id)
            .map_err(|e| format!("create a stream: {e}"))?;
        Ok(End::Hychat {
            socket,
            half: Some(half),
            stream: None,
        })
    }

    fn addr(&self) -> SocketAddr {
        match self {
            End::Hychat { socket, .. } => socket
                .local_addr()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0))),
            End::Js(peer) => SocketAddr::from(([127, 0, 0, 1], peer.port)),
        }
    }

    /// Connects the raw stream to `remote_id` at `dest` (which sends
    /// nothing) and, with `keys`, starts the secret stream on it (which
    /// sends its first frame): hychat's is returned, to be polled.
    fn connect(
        &mut self,
        dest: SocketAddr,
        remote_id: u32,
        keys: Option<&Keys>,
    ) -> Result<Option<Session>, String> {
        match self {
            End::Hychat { half, stream, .. } => {
                let half = half.take().ok_or("the stream was connected already")?;
                let connected = half
                    .connect(dest, remote_id)
                    .map_err(|e| format!("connect: {e}"))?;
                *stream = Some(connected.clone());
                Ok(keys.map(|keys| Session::start(keys, connected)))
            }
            End::Js(peer) => {
                // Given first, the secret stream starts on connect.
                if let Some(keys) = keys {
                    peer.order(secret_order(keys));
                }
                peer.order(json!({ "connect": { "port": dest.port(), "host": "127.0.0.1", "id": remote_id } }));
                peer.expect_now("connected", STEP)?;
                if keys.is_some() {
                    peer.expect_now("secret", STEP)?;
                }
                Ok(None)
            }
        }
    }

    fn stream(&self) -> Option<UdxStream> {
        match self {
            End::Hychat { stream, .. } => stream.clone(),
            End::Js(_) => None,
        }
    }
}

/// (the sender's keys, the receiver's); the sender is the initiator.
fn key_pair(rng: &mut StdRng) -> (Keys, Keys) {
    let mut draw = || {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        bytes
    };
    let (a_tx, b_tx, a_public, b_public) = (draw(), draw(), draw(), draw());
    let mut hash = [0u8; 64];
    hash[..32].copy_from_slice(&draw());
    hash[32..].copy_from_slice(&draw());
    // The keys of a finished handshake, made up (the handshake itself is
    // not measured): what each end's secret stream starts with.
    let keys = |is_initiator, tx, rx, public, remote_public| Keys {
        is_initiator,
        tx,
        rx,
        hash,
        public,
        remote_public,
    };
    (
        keys(true, a_tx, b_tx, a_public, b_public),
        keys(false, b_tx, a_tx, b_public, a_public),
    )
}

/// The order that starts a JS end's secret stream with `keys`.
fn secret_order(keys: &Keys) -> Value {
    let split = keys;
    json!({
        "secret": {
            "isInitiator": split.is_initiator,
            "tx": hex::encode(split.tx),
            "rx": hex::encode(split.rx),
            "hash": hex::encode(split.hash),
            "publicKey": hex::encode(keys.public),
            "remotePublicKey": hex::encode(split.remote_public),
            // As hyperswarm runs it; no line per message received.
            "keepAlive": 5000,
            "quiet": true,
        }
    })
}

/// What a receiver got.
struct Received {
    bytes: u64,
    sha256: String,
    ended: bool,
    /// `wall_ms` when it had everything.
    at_ms: f64,
}

/// hychat's receiving side at work.
type Reading = JoinHandle<std::io::Result<Received>>;

fn read_raw(mut stream: UdxStream, limit: u64, progress: Arc<AtomicU64>) -> Reading {
    tokio::spawn(async move {
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut bytes = 0u64;
        let mut ended = false;
        // Bounded by the END, by `limit` and by the caller's timeout.
        while bytes <= limit {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                ended = true;
                break;
            }
            hash.update(&buf[..n]);
            bytes += n as u64;
            progress.store(bytes, Ordering::Relaxed);
        }
        Ok(Received {
            bytes,
            sha256: hex::encode(hash.finalize()),
            ended,
            at_ms: wall_ms(),
        })
    })
}

fn read_secret(mut session: Session, limit: u64, progress: Arc<AtomicU64>) -> Reading {
    tokio::spawn(async move {
        let mut hash = Sha256::new();
        let mut bytes = 0u64;
        let mut ended = false;
        // Bounded by the END, by `limit` and by the caller's timeout.
        while bytes <= limit {
            match session.next().await {
                Some(CipherEvent::Message(message)) => {
                    hash.update(&message);
                    bytes += message.len() as u64;
                    progress.store(bytes, Ordering::Relaxed);
                }
                Some(CipherEvent::HandshakePayload(_)) => {}
                Some(CipherEvent::ErrStuff(e)) => return Err(e),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        Ok(Received {
            bytes,
            sha256: hex::encode(hash.finalize()),
            ended,
            at_ms: wall_ms(),
        })
    })
}

/// How one transfer went.
enum Outcome {
    Done {
        seconds: f64,
        /// The sender's retransmitted packets.
        retransmits: Option<u64>,
        /// Datagrams the proxy dropped: data direction, ack direction.
        dropped: Option<(u64, u64)>,
        /// Datagrams the kernel dropped for a full socket receive buffer
        /// during the transfer (machine-wide: other work may add some).
        overflowed: Option<u64>,
    },
    /// Not done within the bound: how many bytes had arrived.
    TimedOut { arrived: u64 },
}

struct Case<'a> {
    link: &'a Link,
    layer: Layer,
    pair: Pair,
    bound: Duration,
}

/// One transfer. `Err` when something failed or a byte arrived wrong:
/// the bench stops then.
async fn transfer(case: &Case<'_>) -> Result<Outcome, String> {
    let bytes = case.link.bytes;
    let mut sender = End::open(case.pair.js_writer(), "sender", SENDER_ID)?;
    let mut receiver = End::open(case.pair.js_reader(), "receiver", RECEIVER_ID)?;
    // The proxy's peer A is the sender, B the receiver.
    let proxy = match &case.link.impairment {
        None => None,
        Some((data, acks)) => Some(
            Proxy::start(
                Some(sender.addr()),
                Some(receiver.addr()),
                data.clone(),
                acks.clone(),
            )
            .map_err(|e| format!("start the impairment proxy: {e}"))?,
        ),
    };
    let (sender_dest, receiver_dest) = match &proxy {
        Some(proxy) => (proxy.a_side(), proxy.b_side()),
        None => (receiver.addr(), sender.addr()),
    };
    let mut rng = StdRng::seed_from_u64(0x7a11_5eed ^ bytes);
    let (sender_keys, receiver_keys) = key_pair(&mut rng);
    let secret = case.layer == Layer::Secret;
    let keys = |keys| secret.then_some(keys);
    // The receiver first: udx-native drops what comes before its connect
    // (the sender's first frame; the receiver's own first frame is not
    // needed by the sender, and is sent again if it was dropped).
    let receiver_session = receiver.connect(receiver_dest, SENDER_ID, keys(&receiver_keys))?;
    let sender_session = sender.connect(sender_dest, RECEIVER_ID, keys(&sender_keys))?;

    // The receiving side reads from now on.
    let progress = Arc::new(AtomicU64::new(0));
    let limit = bytes + MIB;
    let reading = match (&receiver, receiver_session) {
        (End::Hychat { .. }, Some(session)) => Some(read_secret(session, limit, progress.clone())),
        (End::Hychat { .. }, None) => {
            let stream = receiver.stream().ok_or("not connected")?;
            Some(read_raw(stream, limit, progress.clone()))
        }
        (End::Js(_), _) => None,
    };

    // The sender starts.
    let overflowed_before = udp_counter("RcvbufErrors");
    let mut writing: Option<JoinHandle<std::io::Result<()>>> = None;
    let mut sent_hash = None;
    let mut started_ms = None;
    match &mut sender {
        End::Hychat { stream, .. } => {
            let mut data = vec![0u8; bytes as usize];
            rng.fill_bytes(&mut data);
            sent_hash = Some(sha256_hex(&data));
            started_ms = Some(wall_ms());
            writing = Some(match sender_session {
                Some(mut session) => tokio::spawn(async move {
                    for message in data.chunks(MESSAGE) {
                        session.feed(message.to_vec()).await?;
                    }
                    session.close().await
                }),
                None => {
                    let mut stream = stream.clone().ok_or("not connected")?;
                    tokio::spawn(async move {
                        stream.write_all(&data).await?;
                        stream.shutdown().await
                    })
                }
            });
        }
        End::Js(peer) => {
            // One order a line: a line's orders run in key order.
            if secret {
                let count = bytes.div_ceil(MESSAGE as u64);
                if count * MESSAGE as u64 != bytes {
                    return Err(format!(
                        "{bytes} B is not a whole number of {MESSAGE}-byte messages"
                    ));
                }
                peer.order(json!({ "write": { "bytes": MESSAGE, "seed": 7, "count": count } }));
            } else {
                peer.order(json!({ "send": { "bytes": bytes, "seed": 7 } }));
            }
            peer.order(json!({ "end": true }));
        }
    }

    // The receiver's END, within the bound.
    let received = match (&mut receiver, reading) {
        (End::Hychat { .. }, Some(mut reading)) => {
            match tokio::time::timeout(case.bound, &mut reading).await {
                Ok(Ok(Ok(received))) => Some(received),
                Ok(Ok(Err(e))) => return Err(format!("hychat's receiving stream failed: {e}")),
                Ok(Err(e)) => return Err(format!("hychat's reader stopped: {e}")),
                Err(_) => {
                    // Its stream would keep the socket's driver running.
                    reading.abort();
                    None
                }
            }
        }
        (End::Js(peer), _) => match peer.expect_now("received", case.bound) {
            Ok(line) => Some(Received {
                bytes: line["received"].as_u64().unwrap_or_default(),
                sha256: line["sha256"].as_str().unwrap_or_default().to_string(),
                ended: line["ended"] == json!(true),
                at_ms: line["t"].as_f64().unwrap_or_default(),
            }),
            Err(_) => {
                peer.order(json!({ "report": true }));
                let arrived = peer
                    .expect_now("received", STEP)
                    .ok()
                    .and_then(|line| line["received"].as_u64());
                progress.store(arrived.unwrap_or_default(), Ordering::Relaxed);
                None
            }
        },
        (End::Hychat { .. }, None) => return Err("no reader on the hychat side".into()),
    };
    let overflowed = udp_counter("RcvbufErrors")
        .zip(overflowed_before)
        .map(|(after, before)| after.saturating_sub(before));
    let Some(received) = received else {
        if let Some(writing) = writing {
            writing.abort();
        }
        return Ok(Outcome::TimedOut {
            arrived: progress.load(Ordering::Relaxed),
        });
    };

    // What the sender says it sent, and its retransmits.
    let retransmits = match &mut sender {
        End::Hychat { stream, .. } => {
            if let Some(writing) = writing {
                match tokio::time::timeout(STEP, writing).await {
                    Ok(Ok(Ok(()))) => {}
                    Ok(Ok(Err(e))) => return Err(format!("hychat's sending stream failed: {e}")),
                    Ok(Err(e)) => return Err(format!("hychat's writer stopped: {e}")),
                    Err(_) => return Err("hychat's writer did not finish".into()),
                }
            }
            stream.as_ref().map(|s| s.retransmits())
        }
        End::Js(peer) => {
            let line = peer.expect_now(if secret { "written" } else { "sent" }, STEP)?;
            if line["ok"] != json!(true) {
                return Err(format!("the JS sender's bytes were not all acked: {line}"));
            }
            sent_hash = line["sha256"].as_str().map(str::to_string);
            started_ms = line["t0"].as_f64();
            peer.order(json!({ "stats": true }));
            peer.expect_now("stats", STEP)?["stats"]["retransmits"].as_u64()
        }
    };
    let sent_hash = sent_hash.ok_or("the sender named no hash")?;
    let started_ms = started_ms.ok_or("the sender named no start time")?;
    if received.bytes != bytes || received.sha256 != sent_hash || !received.ended {
        return Err(format!(
            "{} over {} on {}: {} of {bytes} B arrived (sha256 {}, ended {}), \
             not the bytes sent (sha256 {sent_hash})",
            case.pair.label(),
            case.layer.name(),
            case.link.name,
            received.bytes,
            received.sha256,
            received.ended
        ));
    }
    let dropped = proxy.as_ref().map(|proxy| {
        let stats = proxy.stats();
        (
            stats.direction(Direction::AToB).dropped,
            stats.direction(Direction::BToA).dropped,
        )
    });
    Ok(Outcome::Done {
        seconds: (received.at_ms - started_ms).max(0.001) / 1e3,
        retransmits,
        dropped,
        overflowed,
    })
}

/// The four pairs (sender → receiver), in the order of the table's columns.
const PAIRS: [Pair; 4] = [
    Pair::HychatToHychat,
    Pair::HychatToJs,
    Pair::JsToHychat,
    Pair::JsToJs,
];

/// One row of the bulk table: a link and a layer, a result per pair.
struct Row {
    link: &'static str,
    layer: Layer,
    bytes: u64,
    outcomes: Vec<Outcome>,
}

fn rate(bytes: u64, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done { seconds, .. } => format!("{:.1}", bytes as f64 / seconds / 1e6),
        Outcome::TimedOut { .. } => "timeout".to_string(),
    }
}

fn retransmits(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done {
            retransmits: Some(n),
            ..
        } => n.to_string(),
        _ => "-".to_string(),
    }
}

/// One finished transfer, as it comes.
fn print_case(case: &Case<'_>, outcome: &Outcome) {
    let what = format!(
        "{:<17} {:<13} {:<15} {:>5.1} MiB",
        case.link.name,
        case.layer.name(),
        case.pair.label(),
        case.link.bytes as f64 / MIB as f64
    );
    match outcome {
        Outcome::Done {
            seconds,
            retransmits,
            dropped,
            overflowed,
        } => {
            let retransmits = retransmits.map_or("-".to_string(), |n| n.to_string());
            let overflowed = overflowed.map_or("-".to_string(), |n| n.to_string());
            let dropped = dropped.map_or(String::new(), |(data, acks)| {
                format!("; the proxy dropped {data} data-way and {acks} ack-way datagrams")
            });
            println!(
                "{what}  {seconds:>7.3} s  {:>7.1} MB/s  {retransmits} retransmits; \
                 {overflowed} kernel receive-buffer drops{dropped}",
                case.link.bytes as f64 / seconds / 1e6
            );
        }
        Outcome::TimedOut { arrived } => println!(
            "{what}  not done within {:?} ({arrived} B arrived)",
            case.bound
        ),
    }
}

/// The summary: MB/s per pair (retransmits by the sender in brackets).
fn print_table(rows: &[Row]) {
    println!();
    println!("bulk throughput, MB/s (10^6 B/s), the sender's retransmits in brackets:");
    let mut header = format!("{:<17} {:<13} {:>9}", "link", "layer", "size");
    for pair in PAIRS {
        header.push_str(&format!("  {:>18}", pair.label()));
    }
    println!("{header}");
    for row in rows {
        let mut line = format!(
            "{:<17} {:<13} {:>5.1} MiB",
            row.link,
            row.layer.name(),
            row.bytes as f64 / MIB as f64
        );
        for outcome in &row.outcomes {
            let cell = format!("{} ({})", rate(row.bytes, outcome), retransmits(outcome));
            line.push_str(&format!("  {cell:>18}"));
        }
        println!("{line}");
    }
}

/// Part 1: every link, layer and pair, one transfer each.
async fn bulk(links: &[Link], bound: Duration) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for link in links {
        for layer in [Layer::Raw, Layer::Secret] {
            let mut outcomes = Vec::new();
            for pair in PAIRS {
                let case = Case {
                    link,
                    layer,
                    pair,
                    bound,
                };
                let outcome = transfer(&case).await?;
                print_case(&case, &outcome);
                outcomes.push(outcome);
            }
            rows.push(Row {
                link: link.name,
                layer,
                bytes: link.bytes,
                outcomes,
            });
        }
    }
    Ok(rows)
}

/// One process watched while idle.
struct Watched {
    name: &'static str,
    pid: u32,
    ticks: u64,
    /// Voluntary context switches of all its threads: its wake-ups.
    wakeups: u64,
}

impl Watched {
    fn start(name: &'static str, process: &Background) -> Result<Watched, String> {
        let pid = process.pid();
        Ok(Watched {
            name,
            pid,
            ticks: cpu_ticks(pid).ok_or_else(|| format!("{name} (pid {pid}) is gone"))?,
            wakeups: context_switches(pid).map_or(0, |(voluntary, _)| voluntary),
        })
    }

    fn report(&self, seconds: f64) -> Result<(), String> {
        let (name, pid) = (self.name, self.pid);
        let ticks = cpu_ticks(pid)
            .ok_or_else(|| format!("{name} (pid {pid}) stopped while idle"))?
            .saturating_sub(self.ticks);
        let per_second = ticks_per_second();
        let wakeups = context_switches(pid)
            .map_or(0, |(voluntary, _)| voluntary)
            .saturating_sub(self.wakeups);
        println!(
            "{name:<22} {ticks:>5} ticks ({per_second}/s) in {seconds:.0} s = {:>6.3} % of a core   {:>7.1} wake-ups/s",
            ticks as f64 / (per_second as f64 * seconds) * 100.0,
            wakeups as f64 / seconds
        );
        Ok(())
    }
}

/// Waits (bounded) for a seed's line saying a peer replicates with it.
fn until_connected(seed: &mut Background) -> Result<(), String> {
    seed.wait_for_line(STEP * 2, |l| l.contains(" replicates ["))
        .map(drop)
        .ok_or_else(|| format!("{} met no peer\n{}", seed.name(), seed.describe()))
}

/// How many `peer ... left` lines a seed printed since it was last read.
fn departures(seed: &mut Background) -> usize {
    let mut left = 0;
    // Bounded: what is already printed, at most this many lines.
    for _ in 0..10_000 {
        match seed.next_line(Duration::ZERO) {
            Some(line) if line.contains(" left") => left += 1,
            Some(_) => {}
            None => break,
        }
    }
    left
}

/// Part 3: two connected hychat seeds and two connected JS peers, side by
/// side, idle for `seconds`.
fn idle(seconds: u64) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (_bootstrap, port) = start_bootstrap(&dir.path().join("bootstrap"));
    let bind = ["--bind", "127.0.0.1"];
    let (a, b) = (dir.path().join("seed-a"), dir.path().join("seed-b"));
    let sent = hychat(&a, port)
        .args(bind)
        .args(["send", "one message before going idle"])
        .output()
        .map_err(|e| e.to_string())?;
    if !sent.status.success() {
        return Err(format!("hychat send failed: {sent:?}"));
    }
    let key = own_key(&a, port);
    let followed = hychat(&b, port)
        .args(["follow", &key])
        .output()
        .map_err(|e| e.to_string())?;
    if !followed.status.success() {
        return Err(format!("hychat follow failed: {followed:?}"));
    }
    let mut seed_a = spawn_hychat(
        "hychat seed (writer)",
        &a,
        port,
        &[bind[0], bind[1], "seed"],
    );
    let mut seed_b = spawn_hychat(
        "hychat seed (follower)",
        &b,
        port,
        &[bind[0], bind[1], "seed"],
    );
    until_connected(&mut seed_a)?;
    until_connected(&mut seed_b)?;

    let bootstrap = format!("127.0.0.1:{port}");
    let mut writer = JsWriter::start(&dir.path().join("js-writer"), &bootstrap, Mode::Both, false)?;
    writer.append(0, "one message before going idle")?;
    let mut viewer = JsViewer::start(&writer.key, &dir.path().join("js-viewer"), &bootstrap);
    if viewer.next_block(STEP * 2).is_none() {
        return Err(format!(
            "the JS viewer got no block\n{}",
            viewer.process.describe()
        ));
    }
    // What connecting and the first download cost is not idle.
    std::thread::sleep(Duration::from_secs(3));
    departures(&mut seed_a);
    departures(&mut seed_b);

    let watched = [
        Watched::start("hychat seed (writer)", &seed_a)?,
        Watched::start("hychat seed (follower)", &seed_b)?,
        Watched::start("JS writer", &writer.process)?,
        Watched::start("JS viewer", &viewer.process)?,
    ];
    let started = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let elapsed = started.elapsed().as_secs_f64();
    println!("idle, connected, {seconds} s (user + system CPU time, /proc/PID/stat):");
    for process in &watched {
        process.report(elapsed)?;
    }
    let left = departures(&mut seed_a) + departures(&mut seed_b);
    if left > 0 {
        println!("(the hychat seeds said {left} time(s) that a peer left during the window)");
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    // RUST_LOG=hychat=debug shows the engine's log on stderr.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    ensure_js_peers();
    // Whole secret-stream messages.
    let whole = |bytes: u64| bytes.div_ceil(MESSAGE as u64) * MESSAGE as u64;
    let loopback_bytes = whole(env::count("HYCHAT_BENCH_BYTES", 8 * MIB));
    let impaired_bytes = whole(env::count("HYCHAT_BENCH_IMPAIRED_BYTES", 2 * MIB));
    let bound = Duration::from_secs(env::count("HYCHAT_BENCH_CASE_SECS", 120));
    let log_length = env::count("HYCHAT_BENCH_LOG", 10_000);
    let idle_seconds = env::count("HYCHAT_BENCH_IDLE_SECS", 60);
    let parts = std::env::var("HYCHAT_BENCH_PARTS").unwrap_or_else(|_| "1,2,3".into());
    let part = |n: &str| parts.split(',').any(|p| p.trim() == n);

    if part("1") {
        println!("1. bulk throughput of one stream, from the first write to the END after the last byte:");
        let links = Link::all(loopback_bytes, impaired_bytes);
        match bulk(&links, bound).await {
            Ok(rows) => print_table(&rows),
            Err(e) => {
                eprintln!("the transport bench stopped: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if part("2") {
        println!();
        println!("2. catch-up on loopback:");
        let bootstrap = bootstrap_node().await;
        let addr = bootstrap.local_addr();
        let tmp = tempfile::tempdir().expect("temp dir");
        let writers = Writers::write(addr, tmp.path(), log_length).await;
        writers
            .catch_up(
                addr,
                tmp.path(),
                &[Pair::JsToHychat, Pair::JsToJs, Pair::HychatToHychat],
            )
            .await;
    }
    if part("3") {
        println!();
        println!("3. idle:");
        if let Err(e) = tokio::task::block_in_place(|| idle(idle_seconds)) {
            eprintln!("the idle measurement failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
