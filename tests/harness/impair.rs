//! The userspace UDP impairment proxy of the transport tests and benches
//! (`tc netem` is not available on the test machines): two loopback UDP
//! sockets, `a_side` for peer A and `b_side` for peer B, and one thread
//! that forwards each datagram to the other peer with seeded loss,
//! duplication, delay and jitter (which reorders), truncation, a size cap
//! and an optional rate limit, counting what it did per direction
//! (`ProxyStats`) and, when `HYCHAT_IMPAIR_LOG` is set, logging one line per
//! datagram with the UDX header decoded (`describe_datagram`).
//!
//! A datagram that arrives on `a_side` is forwarded from `b_side` to B, and
//! one that arrives on `b_side` from `a_side` to A, so each peer sees the
//! proxy as its one remote address. Peers' addresses are given up front or
//! learned from the first datagram on each side; until then what is due
//! for that peer is held (bounded) and sent once the address is known.
//! `Impairment::new_source_after` makes what goes to one peer leave from a
//! new port from its n-th datagram on (a NAT rebinding); the old port keeps
//! receiving.
//!
//! Decisions come from one `StdRng` per direction seeded with its
//! `Impairment::seed`, and every datagram draws the same six numbers
//! whatever is turned on, so the fate of the n-th datagram of a direction
//! depends only on the seed and n, not on timing. Every loop is bounded: the
//! thread wakes at least every 20 ms, reads and sends a bounded batch,
//! holds at most `MAX_QUEUED` datagrams per direction, and stops when the
//! `Proxy` is dropped.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, BufWriter, ErrorKind, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Datagrams waiting for their departure time, per direction; beyond it a
/// datagram is dropped and counted as `dropped_overflow`.
pub const MAX_QUEUED: usize = 100_000;
/// Bytes waiting for their departure time, per direction (same rule).
pub const MAX_QUEUED_BYTES: usize = 64 << 20;
/// Datagrams kept for a peer whose address is not known yet, per direction.
pub const MAX_HELD: usize = 1_000;
/// The longest the thread sleeps, and so the longest `Drop` waits for it.
const TICK: Duration = Duration::from_millis(20);
/// Datagrams read from one socket per turn of the loop.
const READ_BATCH: usize = 256;
/// Big enough for any UDP datagram, so the largest is seen whole.
const RECV_BUFFER: usize = 65_536;
/// The kernel buffers asked for on both sockets (the kernel may cap them).
const SOCKET_BUFFER: usize = 4 << 20;
/// The environment variable that turns the log on: `stderr`, `-` or `1`
/// for stderr, anything else is a file the lines are appended to.
pub const LOG_ENV: &str = "HYCHAT_IMPAIR_LOG";

/// What happens to the datagrams of one direction.
#[derive(Clone, Debug, PartialEq)]
pub struct Impairment {
    /// Chance that a datagram is dropped, 0.0 to 1.0.
    pub loss: f64,
    /// Chance that a forwarded datagram is sent twice, 0.0 to 1.0; each
    /// copy gets its own jitter.
    pub duplicate: f64,
    /// Added to every datagram.
    pub delay: Duration,
    /// An extra uniform 0..jitter per datagram, which reorders.
    pub jitter: Duration,
    /// Chance that a datagram is held back by a spike of
    /// `spike_min..spike_max` on top of its delay (and so reordered).
    pub spike: f64,
    pub spike_min: Duration,
    pub spike_max: Duration,
    /// Datagrams longer than N bytes are cut to their first N bytes.
    pub truncate_above: Option<usize>,
    /// Datagrams longer than N bytes are dropped (an MTU cap). Applied
    /// before `truncate_above`.
    pub drop_above: Option<usize>,
    /// A link of this many bytes (of UDP payload) per second before the
    /// delay: each datagram waits for the ones before it to go out.
    pub rate: Option<u64>,
    /// With `rate`: the bytes that may wait for the link; a datagram that
    /// would make the backlog longer is dropped (`dropped_overflow`).
    pub rate_queue: usize,
    /// From this direction's n-th datagram (counted from 0) on, what it
    /// forwards leaves from a new loopback socket: the receiving peer sees
    /// another source port, as after a NAT rebinding. The old side keeps
    /// taking what that peer sends, and so does the new socket (for a peer
    /// that answers the source).
    pub new_source_after: Option<u64>,
    /// Seeds this direction's decisions.
    pub seed: u64,
}

impl Impairment {
    /// Forwards every datagram at once, unchanged.
    pub fn none() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            spike: 0.0,
            spike_min: Duration::ZERO,
            spike_max: Duration::ZERO,
            truncate_above: None,
            drop_above: None,
            rate: None,
            rate_queue: 256 << 10,
            new_source_after: None,
            seed: 1,
        }
    }

    /// Drops `loss` of the datagrams and delays the rest by `delay_ms`.
    pub fn lossy(loss: f64, delay_ms: u64, seed: u64) -> Self {
        Self {
            loss,
            delay: Duration::from_millis(delay_ms),
            seed,
            ..Self::none()
        }
    }

    /// Holds back `chance` of the datagrams by `min..max` each (uniform),
    /// losing none: the datagrams behind them overtake them.
    pub fn spiky(chance: f64, min: Duration, max: Duration, seed: u64) -> Self {
        Self {
            spike: chance,
            spike_min: min,
            spike_max: max,
            seed,
            ..Self::none()
        }
    }

    /// Drops everything: the peer seems to vanish.
    pub fn blackhole() -> Self {
        Self {
            loss: 1.0,
            ..Self::none()
        }
    }
}

/// One direction of the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// What A sends (to `a_side`), forwarded to B.
    AToB,
    /// What B sends (to `b_side`), forwarded to A.
    BToA,
}

impl Direction {
    fn index(self) -> usize {
        match self {
            Direction::AToB => 0,
            Direction::BToA => 1,
        }
    }

    fn opposite(self) -> Direction {
        match self {
            Direction::AToB => Direction::BToA,
            Direction::BToA => Direction::AToB,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Direction::AToB => "a>b",
            Direction::BToA => "b>a",
        }
    }
}

/// The counts of one direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Datagrams received from the sending peer.
    pub datagrams_in: u64,
    pub bytes_in: u64,
    /// Datagrams sent to the other peer, duplicates included.
    pub forwarded: u64,
    pub bytes_forwarded: u64,
    /// All the drops: `dropped_loss + dropped_size + dropped_overflow`.
    pub dropped: u64,
    /// Dropped by the `loss` draw.
    pub dropped_loss: u64,
    /// Dropped by `drop_above`.
    pub dropped_size: u64,
    /// Dropped because a queue was full (`MAX_QUEUED`, `MAX_QUEUED_BYTES`,
    /// `MAX_HELD`, the rate limit's `rate_queue`).
    pub dropped_overflow: u64,
    /// Datagrams sent twice.
    pub duplicated: u64,
    /// Datagrams held back by a spike.
    pub spiked: u64,
    /// Datagrams cut by `truncate_above`.
    pub truncated: u64,
    /// The largest datagram received, in bytes.
    pub largest: usize,
    /// The new socket this direction forwards from, once
    /// `new_source_after` took effect.
    pub new_source: Option<SocketAddr>,
    /// Datagrams that waited for the other peer's address.
    pub held: u64,
    /// Datagrams waiting now (for their time or for an address).
    pub queued: usize,
    /// Sends the kernel refused (other than a full buffer, which is retried).
    pub send_errors: u64,
}

/// What the proxy did so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    pub a_to_b: DirectionStats,
    pub b_to_a: DirectionStats,
    /// Peer A's address, given or learned.
    pub a: Option<SocketAddr>,
    /// Peer B's address, given or learned.
    pub b: Option<SocketAddr>,
}

impl ProxyStats {
    pub fn direction(&self, direction: Direction) -> &DirectionStats {
        match direction {
            Direction::AToB => &self.a_to_b,
            Direction::BToA => &self.b_to_a,
        }
    }

    fn direction_mut(&mut self, direction: Direction) -> &mut DirectionStats {
        match direction {
            Direction::AToB => &mut self.a_to_b,
            Direction::BToA => &mut self.b_to_a,
        }
    }
}

/// Where the per-datagram log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Log {
    Off,
    Stderr,
    /// Appended to, created if missing.
    File(PathBuf),
}

impl Log {
    /// What `HYCHAT_IMPAIR_LOG` says: unset or empty is off; `stderr`, `-`
    /// or `1` is stderr; anything else is a file path.
    pub fn from_env() -> Self {
        match std::env::var_os(LOG_ENV) {
            None => Log::Off,
            Some(value) if value.is_empty() => Log::Off,
            Some(value) if value == "stderr" || value == "-" || value == "1" => Log::Stderr,
            Some(value) => Log::File(PathBuf::from(value)),
        }
    }
}

struct Shared {
    stop: AtomicBool,
    stats: Mutex<ProxyStats>,
    /// New impairments for the thread to pick up, by direction index.
    updates: Mutex<[Option<Impairment>; 2]>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The proxy; its thread stops and its sockets close when it is dropped.
pub struct Proxy {
    a_side: SocketAddr,
    b_side: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Binds `a_side` and `b_side` on 127.0.0.1 and starts forwarding. `a`
    /// and `b` are the peers' addresses, or `None` to learn each from the
    /// first datagram on its side. A peer that is not given is reached only
    /// once it has sent something: give the address of one that may only
    /// receive (a one-way transfer to it), or what is due for it waits in
    /// the hold (`MAX_HELD`) and the sender times out. Logs as
    /// `HYCHAT_IMPAIR_LOG` says.
    pub fn start(
        a: Option<SocketAddr>,
        b: Option<SocketAddr>,
        a_to_b: Impairment,
        b_to_a: Impairment,
    ) -> io::Result<Self> {
        Self::start_with_log(a, b, a_to_b, b_to_a, Log::from_env())
    }

    /// `start`, with the log chosen here rather than by the environment.
    pub fn start_with_log(
        a: Option<SocketAddr>,
        b: Option<SocketAddr>,
        a_to_b: Impairment,
        b_to_a: Impairment,
        log: Log,
    ) -> io::Result<Self> {
        let sockets = [bind_loopback()?, bind_loopback()?];
        let a_side = sockets[0].local_addr()?;
        let b_side = sockets[1].local_addr()?;
        let log: Option<Box<dyn Write + Send>> = match log {
            Log::Off => None,
            Log::Stderr => Some(Box::new(BufWriter::new(io::stderr()))),
            Log::File(path) => Some(Box::new(BufWriter::new(
                OpenOptions::new().create(true).append(true).open(path)?,
            ))),
        };
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            stats: Mutex::new(ProxyStats {
                a,
                b,
                ..ProxyStats::default()
            }),
            updates: Mutex::new([None, None]),
        });
        let mut worker = Worker {
            sockets,
            peers: [a, b],
            lanes: [Lane::new(a_to_b), Lane::new(b_to_a)],
            sources: [None, None],
            shared: shared.clone(),
            log,
            tag: format!("impair:{}", a_side.port()),
            started: Instant::now(),
            order: 0,
        };
        let thread = thread::Builder::new()
            .name(format!("impair proxy {a_side}/{b_side}"))
            .spawn(move || worker.run())?;
        Ok(Self {
            a_side,
            b_side,
            shared,
            thread: Some(thread),
        })
    }

    /// What peer A sends to.
    pub fn a_side(&self) -> SocketAddr {
        self.a_side
    }

    /// What peer B sends to.
    pub fn b_side(&self) -> SocketAddr {
        self.b_side
    }

    pub fn stats(&self) -> ProxyStats {
        lock(&self.shared.stats).clone()
    }

    /// The ports of the proxy's sockets, new sources included (for
    /// `kernel_drops`).
    pub fn ports(&self) -> Vec<u16> {
        let stats = self.stats();
        [
            Some(self.a_side),
            Some(self.b_side),
            stats.a_to_b.new_source,
            stats.b_to_a.new_source,
        ]
        .into_iter()
        .flatten()
        .map(|addr| addr.port())
        .collect()
    }

    /// Replaces the impairment of `direction` from the next datagram on,
    /// with a generator seeded afresh from its `seed`. Datagrams already
    /// waiting keep their departure time.
    pub fn set(&self, direction: Direction, impairment: Impairment) {
        lock(&self.shared.updates)[direction.index()] = Some(impairment);
    }

    /// Waits until nothing is waiting in either direction, at most
    /// `timeout`; false when something still is.
    pub fn settle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if stats.a_to_b.queued == 0 && stats.b_to_a.queued == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread checks `stop` at least every `TICK`.
            let _ = thread.join();
        }
    }
}

/// Datagrams the kernel dropped for a full receive buffer on the loopback
/// UDP sockets with these ports, as Linux counts them (`/proc/net/udp`, its
/// last column; 0 elsewhere): losses the proxy does not see, from bursts
/// faster than a reader.
pub fn kernel_drops(ports: &[u16]) -> u64 {
    let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let port = u16::from_str_radix(words.get(1)?.rsplit(':').next()?, 16).ok()?;
            let drops: u64 = words.last()?.parse().ok()?;
            ports.contains(&port).then_some(drops)
        })
        .sum()
}

fn bind_loopback() -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(("127.0.0.1", 0))?;
    socket.set_nonblocking(true)?;
    for (force, plain) in [
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
    ] {
        // The forcing option needs privileges; the plain one is capped by
        // the kernel's maximum. Either is only a help against kernel drops.
        if !set_buffer(&socket, force) {
            set_buffer(&socket, plain);
        }
    }
    Ok(socket)
}

fn set_buffer(socket: &UdpSocket, option: libc::c_int) -> bool {
    let size = SOCKET_BUFFER as libc::c_int;
    // SAFETY: a valid socket descriptor and a pointer to a c_int of the
    // length given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            &size as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// A datagram waiting for its departure time; ordered by that time, then
/// by arrival, so equal times keep their order.
struct Pending {
    due: Instant,
    order: u64,
    data: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

/// One direction inside the thread.
struct Lane {
    impairment: Impairment,
    rng: StdRng,
    waiting: BinaryHeap<Reverse<Pending>>,
    waiting_bytes: usize,
    /// Due, but the destination's address is not known yet.
    held: VecDeque<Vec<u8>>,
    /// When the rate-limited link is free again.
    link_free: Instant,
    /// Datagrams received so far in this direction.
    arrivals: u64,
}

impl Lane {
    fn new(impairment: Impairment) -> Self {
        Self {
            rng: StdRng::seed_from_u64(impairment.seed),
            impairment,
            waiting: BinaryHeap::new(),
            waiting_bytes: 0,
            held: VecDeque::new(),
            link_free: Instant::now(),
            arrivals: 0,
        }
    }

    fn queued(&self) -> usize {
        self.waiting.len() + self.held.len()
    }
}

/// What happened to one arriving datagram, for the log.
enum Fate {
    Lost,
    TooLarge(usize),
    Overflow,
    Sent {
        delays: Vec<Duration>,
        truncated_to: Option<usize>,
    },
}

struct Worker {
    /// `a_side`, `b_side`.
    sockets: [UdpSocket; 2],
    /// A's address, B's address.
    peers: [Option<SocketAddr>; 2],
    /// a→b, b→a.
    lanes: [Lane; 2],
    /// The sockets a→b and b→a forward from, once `new_source_after`
    /// replaced `b_side` or `a_side` for that.
    sources: [Option<UdpSocket>; 2],
    shared: Arc<Shared>,
    log: Option<Box<dyn Write + Send>>,
    tag: String,
    started: Instant,
    /// Arrival order across both directions, the heap's tie-break.
    order: u64,
}

impl Worker {
    fn run(&mut self) {
        let mut buffer = vec![0u8; RECV_BUFFER];
        let mut line = String::new();
        while !self.shared.stop.load(Ordering::Relaxed) {
            self.take_updates();
            for side in [Direction::AToB, Direction::BToA] {
                self.read_batch(side, &mut buffer, &mut line);
            }
            for source in [Direction::AToB, Direction::BToA] {
                // What the receiving peer sends to a new source travels
                // the other way.
                if self.sources[source.index()].is_some() {
                    self.read_source(source, &mut buffer, &mut line);
                }
            }
            let mut blocked = false;
            for direction in [Direction::AToB, Direction::BToA] {
                blocked |= self.send_due(direction);
            }
            self.publish_queued();
            if let Some(log) = self.log.as_mut() {
                let _ = log.flush();
            }
            let wait = if blocked {
                Duration::from_millis(1)
            } else {
                self.next_wait()
            };
            self.poll(wait);
        }
        if let Some(log) = self.log.as_mut() {
            let _ = log.flush();
        }
    }

    fn take_updates(&mut self) {
        let updates = std::mem::take(&mut *lock(&self.shared.updates));
        for (lane, update) in self.lanes.iter_mut().zip(updates) {
            if let Some(impairment) = update {
                lane.rng = StdRng::seed_from_u64(impairment.seed);
                lane.impairment = impairment;
            }
        }
    }

    /// Reads what arrived on the side where `direction` enters: `a_side`
    /// for a→b, `b_side` for b→a.
    fn read_batch(&mut self, direction: Direction, buffer: &mut [u8], line: &mut String) {
        let side = direction.index();
        for _ in 0..READ_BATCH {
            let (len, from) = match self.sockets[side].recv_from(buffer) {
                Ok(received) => received,
                // WouldBlock ends the batch; so does anything else (on
                // loopback, an ICMP error from an earlier send).
                Err(_) => return,
            };
            let now = Instant::now();
            if self.peers[side].is_none() {
                self.peers[side] = Some(from);
                let mut stats = lock(&self.shared.stats);
                match direction {
                    Direction::AToB => stats.a = Some(from),
                    Direction::BToA => stats.b = Some(from),
                }
            }
            self.arrive(direction, &buffer[..len], now, line);
        }
    }

    /// Reads what the peer that `source` forwards to sent to the new source
    /// socket: it travels the opposite way.
    fn read_source(&mut self, source: Direction, buffer: &mut [u8], line: &mut String) {
        for _ in 0..READ_BATCH {
            let Some(socket) = self.sources[source.index()].as_ref() else {
                return;
            };
            let Ok((len, _)) = socket.recv_from(buffer) else {
                return;
            };
            self.arrive(source.opposite(), &buffer[..len], Instant::now(), line);
        }
    }

    /// The decisions for one datagram; schedules what is to be sent.
    fn arrive(&mut self, direction: Direction, data: &[u8], now: Instant, line: &mut String) {
        let order = self.order;
        self.order += 1;
        let lane = &mut self.lanes[direction.index()];
        let index = lane.arrivals;
        lane.arrivals += 1;
        let source = &mut self.sources[direction.index()];
        if source.is_none() && lane.impairment.new_source_after == Some(index) {
            // A failed bind keeps the old source; the stats say which.
            if let Ok(socket) = bind_loopback() {
                lock(&self.shared.stats).direction_mut(direction).new_source =
                    socket.local_addr().ok();
                *source = Some(socket);
            }
        }
        // Always the same six draws, so the n-th datagram's fate depends
        // on the seed and n only.
        let loss_draw: f64 = lane.rng.gen();
        let duplicate_draw: f64 = lane.rng.gen();
        let jitter_draws: [f64; 2] = [lane.rng.gen(), lane.rng.gen()];
        let spike_draws: [f64; 2] = [lane.rng.gen(), lane.rng.gen()];
        let imp = &lane.impairment;

        let mut stats = lock(&self.shared.stats);
        let counts = stats.direction_mut(direction);
        counts.datagrams_in += 1;
        counts.bytes_in += data.len() as u64;
        counts.largest = counts.largest.max(data.len());

        let fate = if imp.drop_above.is_some_and(|cap| data.len() > cap) {
            counts.dropped_size += 1;
            Fate::TooLarge(imp.drop_above.unwrap_or_default())
        } else if loss_draw < imp.loss {
            counts.dropped_loss += 1;
            Fate::Lost
        } else {
            let truncated_to = imp.truncate_above.filter(|cap| data.len() > *cap);
            let data = &data[..truncated_to.unwrap_or(data.len())];
            // The rate-limited link, before the delay.
            let mut ready = now;
            let mut fits = true;
            if let Some(rate) = imp.rate.filter(|rate| *rate > 0) {
                let start = lane.link_free.max(now);
                let backlog = (start - now).as_secs_f64() * rate as f64;
                if backlog + data.len() as f64 > imp.rate_queue as f64 {
                    fits = false;
                } else {
                    lane.link_free =
                        start + Duration::from_secs_f64(data.len() as f64 / rate as f64);
                    ready = lane.link_free;
                }
            }
            if spike_draws[0] < imp.spike {
                let spread = imp.spike_max.saturating_sub(imp.spike_min);
                ready += imp.spike_min + spread.mul_f64(spike_draws[1]);
            }
            let copies = if duplicate_draw < imp.duplicate { 2 } else { 1 };
            let room = lane.waiting.len() + copies <= MAX_QUEUED
                && lane.waiting_bytes + copies * data.len() <= MAX_QUEUED_BYTES;
            if fits && room {
                let mut delays = Vec::with_capacity(copies);
                for draw in &jitter_draws[..copies] {
                    let due = ready + imp.delay + imp.jitter.mul_f64(*draw);
                    delays.push(due - now);
                    lane.waiting.push(Reverse(Pending {
                        due,
                        order,
                        data: data.to_vec(),
                    }));
                    lane.waiting_bytes += data.len();
                }
                // Counted queued in the same breath as read: a waiter that
                // sees the datagram read never sees an empty queue before
                // it went out.
                counts.queued = lane.queued();
                if truncated_to.is_some() {
                    counts.truncated += 1;
                }
                if copies == 2 {
                    counts.duplicated += 1;
                }
                if spike_draws[0] < imp.spike {
                    counts.spiked += 1;
                }
                Fate::Sent {
                    delays,
                    truncated_to,
                }
            } else {
                counts.dropped_overflow += 1;
                Fate::Overflow
            }
        };
        if !matches!(fate, Fate::Sent { .. }) {
            counts.dropped += 1;
        }
        drop(stats);

        if let Some(log) = self.log.as_mut() {
            line.clear();
            let elapsed = now - self.started;
            let _ = write!(
                line,
                "{} {:>10.3}ms {} #{index} {}B {} => ",
                self.tag,
                elapsed.as_secs_f64() * 1e3,
                direction.label(),
                data.len(),
                describe_datagram(data),
            );
            match &fate {
                Fate::Lost => line.push_str("lost"),
                Fate::TooLarge(cap) => {
                    let _ = write!(line, "dropped (above {cap})");
                }
                Fate::Overflow => line.push_str("dropped (queue full)"),
                Fate::Sent {
                    delays,
                    truncated_to,
                } => {
                    if let Some(cap) = truncated_to {
                        let _ = write!(line, "truncated to {cap}, ");
                    }
                    for (n, delay) in delays.iter().enumerate() {
                        if n > 0 {
                            line.push_str(", duplicate ");
                        }
                        let _ = write!(line, "+{:.3}ms", delay.as_secs_f64() * 1e3);
                    }
                }
            }
            line.push('\n');
            let _ = log.write_all(line.as_bytes());
        }
    }

    /// Sends what is due in `direction`; true when the socket's buffer was
    /// full and the rest must wait.
    fn send_due(&mut self, direction: Direction) -> bool {
        let index = direction.index();
        // a→b leaves from b_side towards B, b→a from a_side towards A.
        let (out, to) = match direction {
            Direction::AToB => (1, self.peers[1]),
            Direction::BToA => (0, self.peers[0]),
        };
        let lane = &mut self.lanes[index];
        let socket = self.sources[index].as_ref().unwrap_or(&self.sockets[out]);
        let mut stats = lock(&self.shared.stats);
        let counts = stats.direction_mut(direction);
        if let Some(to) = to {
            while let Some(data) = lane.held.front() {
                match socket.send_to(data, to) {
                    Ok(_) => {
                        counts.forwarded += 1;
                        counts.bytes_forwarded += data.len() as u64;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                    Err(_) => counts.send_errors += 1,
                }
                lane.held.pop_front();
            }
        }
        let now = Instant::now();
        while lane.waiting.peek().is_some_and(|p| p.0.due <= now) {
            let Some(Reverse(pending)) = lane.waiting.pop() else {
                break;
            };
            let Some(to) = to else {
                lane.waiting_bytes -= pending.data.len();
                if lane.held.len() < MAX_HELD {
                    counts.held += 1;
                    lane.held.push_back(pending.data);
                } else {
                    counts.dropped_overflow += 1;
                    counts.dropped += 1;
                }
                continue;
            };
            match socket.send_to(&pending.data, to) {
                Ok(_) => {
                    counts.forwarded += 1;
                    counts.bytes_forwarded += pending.data.len() as u64;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    lane.waiting.push(Reverse(pending));
                    return true;
                }
                Err(_) => counts.send_errors += 1,
            }
            lane.waiting_bytes -= pending.data.len();
        }
        false
    }

    fn publish_queued(&self) {
        let mut stats = lock(&self.shared.stats);
        stats.a_to_b.queued = self.lanes[0].queued();
        stats.b_to_a.queued = self.lanes[1].queued();
    }

    /// Until the next departure, at most `TICK`.
    fn next_wait(&self) -> Duration {
        let now = Instant::now();
        self.lanes
            .iter()
            .filter_map(|lane| lane.waiting.peek())
            .map(|p| p.0.due.saturating_duration_since(now))
            .fold(TICK, Duration::min)
    }

    /// Sleeps until a socket is readable or `wait` passes.
    fn poll(&self, wait: Duration) {
        let mut fds: Vec<libc::pollfd> = self
            .sockets
            .iter()
            .chain(self.sources.iter().flatten())
            .map(|socket| libc::pollfd {
                fd: socket.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // Rounded up to the millisecond: never early.
        let millis = wait.as_micros().div_ceil(1000).min(TICK.as_millis()) as libc::c_int;
        // SAFETY: valid pollfd structures, their count passed.
        unsafe {
            libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis);
        }
    }
}

/// UDX's type flags (`include/udx.h`) and their names in the log.
const UDX_FLAGS: [(u8, &str); 6] = [
    (0x01, "DATA"),
    (0x02, "END"),
    (0x04, "SACK"),
    (0x08, "MESSAGE"),
    (0x10, "DESTROY"),
    (0x20, "HEARTBEAT"),
];

/// One datagram in words: a UDX packet (`0xff 0x01` and 20 bytes or more)
/// with its header fields, its SACK blocks and its payload length, or the
/// first bytes of anything else.
pub fn describe_datagram(data: &[u8]) -> String {
    if data.len() < 20 || data[0] != 0xff || data[1] != 0x01 {
        let head: String = data.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return format!("other {head}");
    }
    let u32_at =
        |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    let kind = data[2];
    let offset = data[3] as usize;
    let mut names: Vec<String> = UDX_FLAGS
        .iter()
        .filter(|(bit, _)| kind & bit != 0)
        .map(|(_, name)| name.to_string())
        .collect();
    let unknown = kind & !0x3f;
    if unknown != 0 {
        names.push(format!("0x{unknown:02x}"));
    }
    if names.is_empty() {
        names.push("ACK".to_string());
    }
    let mut text = format!(
        "UDX {} off={offset} id=0x{:08x} rwnd={} seq={} ack={}",
        names.join("|"),
        u32_at(4),
        u32_at(8),
        u32_at(12),
        u32_at(16),
    );
    let body = &data[20..];
    let mut payload = body.len().saturating_sub(offset);
    if kind & 0x04 != 0 {
        // As libudx reads them: `data_offset` bytes of blocks when it is
        // inside the payload, else the whole payload.
        let blocks = if offset > 0 && offset < body.len() {
            &body[..offset]
        } else {
            payload = 0;
            body
        };
        text.push_str(" sack=");
        for block in blocks.chunks_exact(8).take(50) {
            let start = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
            let end = u32::from_le_bytes([block[4], block[5], block[6], block[7]]);
            let _ = write!(text, "[{start},{end})");
        }
    }
    let _ = write!(text, " payload={payload}");
    if offset > body.len() {
        text.push_str(" (offset beyond the datagram)");
    }
    text
}
