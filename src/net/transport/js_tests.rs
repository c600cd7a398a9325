//! The transport against the real JS modules: hychat's UDX streams and
//! secret stream talking to udx-native and @hyperswarm/secret-stream, as
//! run by the bare peer `tests/js/udx-peer.js` (no DHT), on loopback and
//! through the userspace impairment proxy (`tests/harness/impair.rs`).
//! Raw bytes both ways with clean ENDs, a burst whose MTU probes hychat must
//! read, the secret stream in both roles after an IK handshake made here,
//! and the same over loss, delay, reordering and duplication. What arrived
//! is compared by bytes or SHA-256 on both sides.
//!
//! These tests need `node` and the JS modules (`npm ci --prefix tests/js`);
//! without them they fail, saying so.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hypercore_handshake::{CipherEvent, CipherTrait};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use super::secret::noise::{IkInitiator, IkResponder, KeyPair, Split};
use super::session::Session;
use super::udx::socket::{UdxSocket, UdxStream};
use super::udx::stream::Stats;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../tests/harness/impair.rs"]
pub(super) mod impair;

use impair::{Direction, Impairment, Log, Proxy};

/// The longest any one step waits (a transfer, a report, a close).
pub(super) const WAIT: Duration = Duration::from_secs(20);
/// The longest node takes to start and bind.
const READY_WAIT: Duration = Duration::from_secs(15);
/// The JS peer exits within a second once its stdin closed; this is the
/// most we wait before killing it.
const EXIT_WAIT: Duration = Duration::from_secs(5);
/// Stream ids: hychat's stream and the JS peer's.
pub(super) const HYCHAT_ID: u32 = 0x0001_1111;
pub(super) const JS_ID: u32 = 0x0002_2222;
pub(super) const MIB: usize = 1 << 20;
/// The first MiB of the pattern with seed 1, as udx-peer.js documents it.
const SEED_1_MIB_SHA256: &str = "65d702b9306d2c4a824b3e6e00d818eb29d98eebe44a9a7b5e687d508b67da27";
/// What a datagram of hychat's and libudx's base MTU is at most (1,200
/// minus the IPv4 and UDP headers).
const BASE_DATAGRAM: usize = 1200 - 28;

pub(super) fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// udx-peer.js's pattern: xorshift32 from `seed ^ 0x9e3779b9`, each state
/// appended little-endian.
pub(super) fn js_pattern(seed: u32, n: usize) -> Vec<u8> {
    let mut x = seed ^ 0x9e37_79b9;
    if x == 0 {
        x = 1;
    }
    let mut out = Vec::with_capacity(n + 4);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(super) fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// One line the JS peer printed, and when it arrived.
pub(super) struct Line {
    pub(super) at: Instant,
    pub(super) value: Value,
}

/// The JS peer: one node process running udx-peer.js, its orders on stdin
/// and its reports from stdout. Dropping it kills the process (only it).
pub(super) struct JsPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Line>,
    /// Lines read but not asked for yet, in order.
    backlog: VecDeque<Line>,
    /// Every line so far, for failure messages.
    transcript: Vec<String>,
    stderr: Arc<Mutex<String>>,
    pub(super) addr: SocketAddr,
}

impl JsPeer {
    /// Starts the peer with stream id `id` and waits for it to be bound.
    pub(super) async fn spawn(id: u32) -> JsPeer {
        let js_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
        let script: PathBuf = js_dir.join("udx-peer.js");
        for module in ["udx-native", "@hyperswarm/secret-stream"] {
            assert!(
                js_dir.join("node_modules").join(module).is_dir(),
                "the JS interop tests need the JS modules in tests/js/node_modules \
                 ({module} is missing): run `npm ci --prefix tests/js` (node is needed too)"
            );
        }
        let spawned = Command::new("node")
            .arg(&script)
            .arg("--id")
            .arg(id.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => panic!(
                "the JS interop tests need `node` on the PATH and the JS modules \
                 installed with `npm ci --prefix tests/js`; node could not be started: {e}"
            ),
            Err(e) => panic!("could not start node for {}: {e}", script.display()),
        };
        let stdin = child.stdin.take().expect("node's stdin is piped");
        let stdout = child.stdout.take().expect("node's stdout is piped");
        let stderr_pipe = child.stderr.take().expect("node's stderr is piped");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(text)) = reader.next_line().await {
                let value =
                    serde_json::from_str(&text).unwrap_or_else(|_| json!({ "unparsed": text }));
                if tx
                    .send(Line {
                        at: Instant::now(),
                        value,
                    })
                    .is_err()
                {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = Arc::clone(&stderr);
            tokio::spawn(async move {
                let mut reader = BufReader::new(stderr_pipe).lines();
                while let Ok(Some(text)) = reader.next_line().await {
                    let mut kept = stderr.lock().unwrap_or_else(|p| p.into_inner());
                    if kept.len() < 16 * 1024 {
                        kept.push_str(&text);
                        kept.push('\n');
                    }
                }
            });
        }
        let mut peer = JsPeer {
            child,
            stdin: Some(stdin),
            lines,
            backlog: VecDeque::new(),
            transcript: Vec::new(),
            stderr,
            addr: loopback(),
        };
        let ready = peer.expect("ready", READY_WAIT).await.value;
        let port = ready["port"].as_u64().expect("ready names a port");
        assert_eq!(ready["id"].as_u64(), Some(u64::from(id)), "{ready}");
        peer.addr = SocketAddr::from(([127, 0, 0, 1], port as u16));
        peer
    }

    pub(super) fn context(&self) -> String {
        let stderr = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let tail: Vec<&String> = self.transcript.iter().rev().take(20).rev().collect();
        format!("JS lines (last 20): {tail:?}; JS stderr: {stderr:?}")
    }

    /// Sends one order line.
    pub(super) async fn order(&mut self, order: Value) {
        let mut text = order.to_string();
        text.push('\n');
        let stdin = self.stdin.as_mut().expect("stdin is open");
        let written = tokio::time::timeout(WAIT, stdin.write_all(text.as_bytes())).await;
        if !matches!(written, Ok(Ok(()))) {
            panic!("could not give the JS peer {order}: {}", self.context());
        }
    }

    /// The next line that has `key`, from the backlog or within `within`.
    /// A line with `error` or `fatal` fails the test.
    pub(super) async fn expect(&mut self, key: &str, within: Duration) -> Line {
        if let Some(i) = self.backlog.iter().position(|l| l.value.get(key).is_some()) {
            if let Some(line) = self.backlog.remove(i) {
                return line;
            }
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.transcript.push(line.value.to_string());
                    // A close's error is for `expect_clean_close` to judge.
                    let failed = line.value.get("fatal").is_some()
                        || (line.value.get("closed").is_none()
                            && line.value.get("error").is_some_and(|e| !e.is_null()));
                    if failed {
                        panic!(
                            "the JS peer reported a failure while {key} was awaited: {}; {}",
                            line.value,
                            self.context()
                        );
                    }
                    if line.value.get(key).is_some() {
                        return line;
                    }
                    self.backlog.push_back(line);
                }
                Ok(None) => panic!(
                    "the JS peer stopped before reporting {key}: {}",
                    self.context()
                ),
                Err(_) => panic!(
                    "no {key} from the JS peer within {within:?}: {}",
                    self.context()
                ),
            }
        }
    }

    /// The peer's udx-native stats now.
    pub(super) async fn stats(&mut self) -> Value {
        self.order(json!({ "stats": true })).await;
        self.expect("stats", WAIT).await.value["stats"].clone()
    }

    /// Waits for the peer's close report and asserts it was clean.
    pub(super) async fn expect_clean_close(&mut self) -> Value {
        let closed = self.expect("closed", WAIT).await.value;
        assert!(
            closed["error"].is_null(),
            "the JS stream closed with an error: {closed}; {}",
            self.context()
        );
        closed
    }

    /// Closes stdin (the peer exits within a second) and waits for the
    /// exit, killing this child if it is late. Asserts a clean exit.
    pub(super) async fn finish(mut self) {
        drop(self.stdin.take());
        let status = match tokio::time::timeout(EXIT_WAIT, self.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                let _ = self.child.kill().await;
                panic!(
                    "the JS peer did not exit within {EXIT_WAIT:?} of its stdin closing: {}",
                    self.context()
                );
            }
        };
        let status = status.expect("waited for node");
        assert!(
            status.success(),
            "the JS peer exited with {status}: {}",
            self.context()
        );
    }
}

/// Where each side sends: directly, or through an impairment proxy with
/// hychat as its peer A and the JS peer as its peer B.
pub(super) struct Route {
    pub(super) hychat_dest: SocketAddr,
    pub(super) js_dest: SocketAddr,
    pub(super) proxy: Option<Proxy>,
}

/// How the two sides are joined: directly, or through a proxy impairing
/// hychat → JS and JS → hychat, logging as `log` says.
pub(super) type Via = Option<(Impairment, Impairment, Log)>;

/// Impaired both ways, the log as `HYCHAT_IMPAIR_LOG` says.
pub(super) fn through(hychat_to_js: Impairment, js_to_hychat: Impairment) -> Via {
    Some((hychat_to_js, js_to_hychat, Log::from_env()))
}

fn route(socket: &UdxSocket, js: &JsPeer, via: Via) -> Route {
    let local = socket.local_addr().unwrap();
    match via {
        None => Route {
            hychat_dest: js.addr,
            js_dest: local,
            proxy: None,
        },
        Some((a_to_b, b_to_a, log)) => {
            let proxy = Proxy::start_with_log(Some(local), Some(js.addr), a_to_b, b_to_a, log)
                .expect("the impairment proxy starts");
            Route {
                hychat_dest: proxy.a_side(),
                js_dest: proxy.b_side(),
                proxy: Some(proxy),
            }
        }
    }
}

/// 2% loss, 1% duplication, 10 ms delay and up to 6 ms jitter (which
/// reorders), one direction, seeded.
fn impaired(seed: u64) -> Impairment {
    Impairment {
        duplicate: 0.01,
        jitter: Duration::from_millis(6),
        ..Impairment::lossy(0.02, 10, seed)
    }
}

/// Waits until hychat's stream closed as `Closed::Ended` (both ENDs acked):
/// a write then fails with BrokenPipe; a reset or timeout fails the test.
pub(super) async fn expect_ended(stream: &mut UdxStream) {
    let deadline = Instant::now() + WAIT;
    loop {
        match stream.write(&[]).await {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return,
            Err(e) => panic!("hychat's stream closed, but not cleanly: {e}"),
            Ok(_) => {}
        }
        assert!(
            Instant::now() < deadline,
            "hychat's stream did not close within {WAIT:?} of both ENDs"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What a raw exchange measured.
pub(super) struct RawRun {
    /// hychat's bytes all reported received by JS (with its END).
    pub(super) to_js: Duration,
    /// JS's bytes all read by hychat (to its END).
    pub(super) to_hychat: Duration,
    /// JS's own figure for its send, until acked.
    pub(super) js_send_ms: u64,
    pub(super) js_closed: Value,
    pub(super) proxy: Option<impair::ProxyStats>,
    /// hychat's stream's counts at its close.
    pub(super) hychat: Stats,
    /// Datagrams the kernel dropped on the sockets of hychat, JS and the
    /// proxy (bursts faster than their readers).
    pub(super) kernel_drops: u64,
}

/// A raw UDX stream between hychat and a JS peer, connected on both
/// sides, nothing sent yet.
pub(super) struct RawPair {
    pub(super) js: JsPeer,
    pub(super) path: Route,
    pub(super) stream: UdxStream,
    /// hychat's socket, which the stream needs.
    pub(super) socket: UdxSocket,
}

pub(super) async fn open_raw(via: Via) -> RawPair {
    let socket = UdxSocket::bind(loopback()).unwrap();
    let mut js = JsPeer::spawn(JS_ID).await;
    let path = route(&socket, &js, via);
    let half = socket.create_stream(HYCHAT_ID).unwrap();
    js.order(
        json!({ "connect": { "port": path.js_dest.port(), "host": "127.0.0.1", "id": HYCHAT_ID } }),
    )
    .await;
    js.expect("connected", WAIT).await;
    let stream = half.connect(path.hychat_dest, JS_ID).unwrap();
    RawPair {
        js,
        path,
        stream,
        socket,
    }
}

/// `len` bytes each way at once on a raw stream, both ends END, both close
/// cleanly; every byte checked on both sides.
pub(super) async fn raw_exchange(len: usize, via: Via) -> RawRun {
    const TO_JS_SEED: u32 = 11;
    const TO_HYCHAT_SEED: u32 = 12;
    let RawPair {
        mut js,
        path,
        mut stream,
        socket,
    } = open_raw(via).await;

    let to_js = js_pattern(TO_JS_SEED, len);
    let start = Instant::now();
    let writer = {
        let mut stream = stream.clone();
        let bytes = to_js.clone();
        tokio::spawn(async move {
            stream.write_all(&bytes).await?;
            stream.shutdown().await
        })
    };
    // One order a line: `json!` sorts an object's keys, and the peer runs
    // a line's orders in key order.
    js.order(json!({ "send": { "bytes": len, "seed": TO_HYCHAT_SEED } }))
        .await;
    js.order(json!({ "end": true })).await;
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut got))
        .await
        .unwrap_or_else(|_| panic!("hychat read {} bytes, then nothing for {WAIT:?}", got.len()))
        .expect("hychat reads JS's bytes to their END");
    let to_hychat = start.elapsed();
    assert!(
        got == js_pattern(TO_HYCHAT_SEED, len),
        "hychat got {} bytes (sha256 {}), not JS's {len}",
        got.len(),
        sha256_hex(&got)
    );
    tokio::time::timeout(WAIT, writer)
        .await
        .expect("hychat's writer finished")
        .unwrap()
        .expect("hychat wrote and ended");

    let received = js.expect("received", WAIT).await;
    let to_js_time = received.at.duration_since(start);
    assert_eq!(received.value["received"].as_u64(), Some(len as u64));
    assert_eq!(received.value["sha256"], json!(sha256_hex(&to_js)));
    assert_eq!(received.value["ended"], json!(true));
    let sent = js.expect("sent", WAIT).await.value;
    assert_eq!(sent["sent"].as_u64(), Some(len as u64), "{sent}");
    assert_eq!(
        sent["ok"],
        json!(true),
        "JS's send was not all acked: {sent}"
    );
    let js_closed = js.expect_clean_close().await;
    expect_ended(&mut stream).await;
    let stats = stream.stats();
    assert!(stats.bytes_in >= len as u64 && stats.bytes_out >= len as u64);
    let proxy = path.proxy.as_ref().map(Proxy::stats);
    let mut ports = path.proxy.as_ref().map(Proxy::ports).unwrap_or_default();
    ports.extend([js.addr.port(), socket.local_addr().unwrap().port()]);
    let kernel_drops = impair::kernel_drops(&ports);
    js.finish().await;
    RawRun {
        to_js: to_js_time,
        to_hychat,
        js_send_ms: sent["ms"].as_u64().unwrap_or_default(),
        js_closed,
        proxy,
        hychat: stats,
        kernel_drops,
    }
}

/// A finished IK handshake made here: (initiator's keys and split,
/// responder's keys and split).
fn handshake() -> ((KeyPair, Split), (KeyPair, Split)) {
    let (initiator_keys, responder_keys) = (KeyPair::generate(), KeyPair::generate());
    let mut initiator = IkInitiator::new(
        &initiator_keys,
        &responder_keys.public,
        b"hychat js interop",
    )
    .unwrap();
    let mut responder = IkResponder::new(&responder_keys, b"hychat js interop");
    let first = initiator.write_first(b"").unwrap();
    responder.read_first(&first).unwrap();
    let (answer, responder_split) = responder.write_answer(b"").unwrap();
    let (_, initiator_split) = initiator.read_answer(&answer).unwrap();
    assert_eq!(initiator_split.hash, responder_split.hash);
    assert_eq!(initiator_split.tx, responder_split.rx);
    (
        (initiator_keys, initiator_split),
        (responder_keys, responder_split),
    )
}

async fn next_message(session: &mut Session) -> Vec<u8> {
    loop {
        match tokio::time::timeout(WAIT, session.next()).await {
            Ok(Some(CipherEvent::Message(bytes))) => return bytes,
            Ok(Some(CipherEvent::HandshakePayload(_))) => continue,
            Ok(Some(CipherEvent::ErrStuff(e))) => panic!("hychat's session failed: {e}"),
            Ok(None) => panic!("hychat's session ended before a message"),
            Err(_) => panic!("no message at hychat within {WAIT:?}"),
        }
    }
}

/// One message size's round: (hychat → JS, JS → hychat).
pub(super) struct Round {
    pub(super) len: usize,
    pub(super) to_js: Duration,
    pub(super) to_hychat: Duration,
}

/// The secret stream between hychat and a JS peer after an IK handshake
/// made here, started on both sides (JS with hyperswarm's keepalive).
pub(super) struct SecretPair {
    pub(super) js: JsPeer,
    pub(super) path: Route,
    pub(super) session: Session,
    /// The UDX stream under `session`.
    pub(super) raw: UdxStream,
    pub(super) _socket: UdxSocket,
}

pub(super) async fn open_secret(hychat_initiator: bool, via: Via) -> SecretPair {
    let ((initiator_keys, initiator_split), (responder_keys, responder_split)) = handshake();
    let ((hychat_keys, hychat_split), (js_keys, js_split)) = if hychat_initiator {
        (
            (initiator_keys, initiator_split),
            (responder_keys, responder_split),
        )
    } else {
        (
            (responder_keys, responder_split),
            (initiator_keys, initiator_split),
        )
    };
    assert_eq!(js_split.is_initiator, !hychat_initiator);

    let socket = UdxSocket::bind(loopback()).unwrap();
    let mut js = JsPeer::spawn(JS_ID).await;
    let path = route(&socket, &js, via);
    let half = socket.create_stream(HYCHAT_ID).unwrap();
    // The secret order first, on its own line, so the secret stream is
    // ready when the raw stream connects.
    js.order(json!({
        "secret": {
            "isInitiator": js_split.is_initiator,
            "tx": hex::encode(js_split.tx),
            "rx": hex::encode(js_split.rx),
            "hash": hex::encode(js_split.hash),
            "publicKey": hex::encode(js_keys.public),
            "remotePublicKey": hex::encode(js_split.remote_public),
            // As hyperswarm runs it: keepalives every 5 s, and empty
            // messages (hychat's keepalives) filtered.
            "keepAlive": 5000,
        }
    }))
    .await;
    js.order(
        json!({ "connect": { "port": path.js_dest.port(), "host": "127.0.0.1", "id": HYCHAT_ID } }),
    )
    .await;
    js.expect("connected", WAIT).await;
    let started = js.expect("secret", WAIT).await.value;
    assert_eq!(started["secret"], json!("started"), "{started}");
    let stream = half.connect(path.hychat_dest, JS_ID).unwrap();
    let raw = stream.clone();
    let session = Session::start(&hychat_split, hychat_keys.public, stream, &[]);
    assert_eq!(session.is_initiator(), hychat_initiator);
    SecretPair {
        js,
        path,
        session,
        raw,
        _socket: socket,
    }
}

/// The secret stream between hychat and JS after an IK handshake made
/// here, hychat initiator or responder; a message of each of `sizes` each
/// way, compared; then both end and close cleanly.
pub(super) async fn secret_exchange(
    hychat_initiator: bool,
    sizes: &[usize],
    via: Via,
) -> (Vec<Round>, Option<impair::ProxyStats>) {
    let SecretPair {
        mut js,
        path,
        mut session,
        mut raw,
        _socket,
    } = open_secret(hychat_initiator, via).await;

    let mut rounds = Vec::new();
    let mut all_to_js = Sha256::new();
    let mut total_to_js = 0usize;
    for (i, &len) in sizes.iter().enumerate() {
        let to_js_seed = 100 + 2 * i as u32;
        let to_hychat_seed = 101 + 2 * i as u32;
        let message = js_pattern(to_js_seed, len);
        all_to_js.update(&message);
        total_to_js += len;
        let start = Instant::now();
        tokio::time::timeout(WAIT, session.send(message.clone()))
            .await
            .expect("hychat's message went into its stream in time")
            .expect("hychat sends a message");
        let arrived = js.expect("message", WAIT).await;
        let to_js = arrived.at.duration_since(start);
        assert_eq!(
            arrived.value["message"].as_u64(),
            Some(len as u64),
            "JS got {} for a {len}-byte message",
            arrived.value
        );
        assert_eq!(
            arrived.value["sha256"],
            json!(sha256_hex(&message)),
            "JS got a different {len}-byte message"
        );

        let start = Instant::now();
        js.order(json!({ "write": { "bytes": len, "seed": to_hychat_seed } }))
            .await;
        let got = next_message(&mut session).await;
        let to_hychat = start.elapsed();
        assert!(
            got == js_pattern(to_hychat_seed, len),
            "a {len}-byte message from JS arrived as {} bytes (sha256 {})",
            got.len(),
            sha256_hex(&got)
        );
        let written = js.expect("written", WAIT).await.value;
        assert_eq!(written["ok"], json!(true), "{written}");
        rounds.push(Round {
            len,
            to_js,
            to_hychat,
        });
    }

    tokio::time::timeout(WAIT, session.close())
        .await
        .expect("hychat's session closed in time")
        .expect("hychat ends its session");
    let received = js.expect("received", WAIT).await.value;
    assert_eq!(received["received"].as_u64(), Some(total_to_js as u64));
    assert_eq!(received["messages"].as_u64(), Some(sizes.len() as u64));
    assert_eq!(received["sha256"], json!(hex::encode(all_to_js.finalize())));
    assert_eq!(received["ended"], json!(true));
    js.order(json!({ "end": true })).await;
    match tokio::time::timeout(WAIT, session.next()).await {
        Ok(None) => {}
        Ok(Some(CipherEvent::Message(m))) => {
            panic!("hychat got a {}-byte message after the last", m.len())
        }
        Ok(Some(CipherEvent::ErrStuff(e))) => panic!("hychat's session ended in an error: {e}"),
        Ok(Some(CipherEvent::HandshakePayload(_))) => panic!("a handshake payload at the end"),
        Err(_) => panic!("hychat's session did not see JS's end within {WAIT:?}"),
    }
    let closed = js.expect_clean_close().await;
    assert!(
        closed["stats"]["rawBytesRead"].as_u64().unwrap_or_default() > total_to_js as u64,
        "{closed}"
    );
    expect_ended(&mut raw).await;
    let proxy = path.proxy.as_ref().map(Proxy::stats);
    js.finish().await;
    (rounds, proxy)
}

pub(super) fn print_rounds(label: &str, rounds: &[Round]) {
    for round in rounds {
        println!(
            "{label}: {} B message: hychat->js {} ms, js->hychat {} ms",
            round.len,
            millis(round.to_js),
            millis(round.to_hychat)
        );
    }
}

pub(super) fn print_proxy(label: &str, stats: &impair::ProxyStats) {
    for (name, d) in [
        ("hychat->js", stats.direction(Direction::AToB)),
        ("js->hychat", stats.direction(Direction::BToA)),
    ] {
        println!(
            "{label} proxy {name}: {} datagrams in, {} forwarded, {} lost, {} duplicated, largest {} B",
            d.datagrams_in, d.forwarded, d.dropped, d.duplicated, d.largest
        );
    }
}

#[tokio::test]
async fn raw_streams_carry_a_mebibyte_each_way_with_udx_native_and_end_cleanly() {
    assert_eq!(sha256_hex(&js_pattern(1, MIB)), SEED_1_MIB_SHA256);
    let run = raw_exchange(MIB, None).await;
    println!(
        "raw loopback: {MIB} B hychat->js {} ms, js->hychat {} ms (js send {} ms)",
        millis(run.to_js),
        millis(run.to_hychat),
        run.js_send_ms
    );
    println!("raw loopback js stats: {}", run.js_closed["stats"]);
}

#[tokio::test]
async fn a_burst_from_udx_native_arrives_whole_and_its_mtu_probes_are_acked() {
    const LEN: usize = 400_000;
    const SEED: u32 = 21;
    // An unimpaired proxy, to see the datagrams' sizes.
    let RawPair {
        mut js,
        path,
        mut stream,
        socket: _socket,
    } = open_raw(through(Impairment::none(), Impairment::none())).await;
    let before = js.stats().await;
    js.order(json!({ "send": { "bytes": LEN, "seed": SEED } }))
        .await;
    js.order(json!({ "end": true })).await;
    let start = Instant::now();
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut got))
        .await
        .expect("hychat read the burst to its END in time")
        .expect("hychat reads the burst");
    let elapsed = start.elapsed();
    assert!(
        got == js_pattern(SEED, LEN),
        "hychat got {} bytes (sha256 {}), not JS's {LEN}",
        got.len(),
        sha256_hex(&got)
    );
    let sent = js.expect("sent", WAIT).await.value;
    assert_eq!(sent["ok"], json!(true), "{sent}");
    let after = js.stats().await;
    let mtu = after["mtu"].as_u64().expect("udx-native exposes mtu");
    let proxy = path.proxy.as_ref().map(Proxy::stats).unwrap();
    let largest = proxy.direction(Direction::BToA).largest;
    println!(
        "burst: {LEN} B js->hychat {} ms; js mtu {} -> {mtu}; largest js datagram {largest} B; js stats {after}",
        millis(elapsed),
        before["mtu"]
    );
    assert!(
        largest > BASE_DATAGRAM,
        "JS sent no datagram above the base MTU ({largest} B at most): no probe was made"
    );
    assert!(
        mtu > 1200,
        "JS's mtu stayed at {mtu}: hychat did not ack its probes ({after})"
    );
    stream.shutdown().await.unwrap();
    js.expect("received", WAIT).await;
    js.expect_clean_close().await;
    expect_ended(&mut stream).await;
    js.finish().await;
}

#[tokio::test]
async fn secret_streams_interoperate_with_hychat_as_initiator() {
    let (rounds, _) = secret_exchange(true, &[1, 65_517, MIB], None).await;
    print_rounds("secret loopback, hychat initiator", &rounds);
}

#[tokio::test]
async fn secret_streams_interoperate_with_hychat_as_responder() {
    let (rounds, _) = secret_exchange(false, &[1, 65_517, MIB], None).await;
    print_rounds("secret loopback, hychat responder", &rounds);
}

#[tokio::test]
async fn raw_streams_carry_a_mebibyte_each_way_through_loss_delay_reordering_and_duplicates() {
    let run = raw_exchange(MIB, through(impaired(41), impaired(42))).await;
    println!(
        "raw impaired: {MIB} B hychat->js {} ms, js->hychat {} ms (js send {} ms)",
        millis(run.to_js),
        millis(run.to_hychat),
        run.js_send_ms
    );
    println!("raw impaired js stats: {}", run.js_closed["stats"]);
    let proxy = run.proxy.expect("the run went through the proxy");
    print_proxy("raw impaired", &proxy);
    assert!(proxy.a_to_b.dropped > 0 && proxy.b_to_a.dropped > 0);
}

#[tokio::test]
async fn secret_streams_carry_a_mebibyte_each_way_through_loss_delay_reordering_and_duplicates() {
    let (rounds, proxy) = secret_exchange(true, &[MIB], through(impaired(51), impaired(52))).await;
    print_rounds("secret impaired", &rounds);
    let proxy = proxy.expect("the run went through the proxy");
    print_proxy("secret impaired", &proxy);
    assert!(proxy.a_to_b.dropped > 0 && proxy.b_to_a.dropped > 0);
}
