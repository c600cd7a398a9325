//! How a puncher punches, as hyperdht's holepuncher decides it: which
//! strategy a pair of firewall verdicts calls for, the exact probes each
//! strategy sends and when (`ProbeSchedule`), and which of the remote's
//! addresses count as verified. Whether a random punch may start now is the
//! node's (`kademlia/throttle.rs`). Pure: no IO, no clock; every call that
//! needs the time takes `now`.
//!
//! A probe is the one-byte datagram `sockets::PROBE`. The caller sends what
//! `ProbeSchedule::next` returns, sleeps until `next_wake`, and aborts the
//! punch when the schedule is exhausted (`next_wake` is `None`). A probe
//! arriving on any puncher socket ends the punch (the caller drops the
//! schedule): the initiator is connected, the other side echoes it.
//!
//! Timing follows JS's loops: each pause starts when the probes before it
//! were sent, so a late wake delays everything after it instead of bursting
//! to catch up.
//!
//! `Probe::low_ttl` says what JS does: the first probes of a pass go out at
//! TTL 5 (`sockets::LOW_TTL`), the rest at the default.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::sampler::Firewall;

/// Consistent strategy: ticks, and the gap after each.
pub(crate) const CONSISTENT_TICKS: u32 = 10;
pub(crate) const CONSISTENT_GAP: Duration = Duration::from_secs(1);
/// Random and birthday strategies: probes (about 35 s), and the gap after each.
pub(crate) const RANDOM_PROBES: u32 = 1750;
pub(crate) const RANDOM_GAP: Duration = Duration::from_millis(20);
/// Random probes go to ports uniform in `[MIN_RANDOM_PORT, 65535]`.
pub(crate) const MIN_RANDOM_PORT: u16 = 1000;
/// Birthday strategy: sockets the puncher holds (its main socket included),
/// and the pause between opening them and the round-robin probes.
pub(crate) const BIRTHDAY_SOCKETS: usize = 256;
pub(crate) const BIRTHDAY_PAUSE: Duration = Duration::from_millis(100);

/// One of the remote puncher's addresses, and whether its host is verified:
/// a token made for that host came back through a relay we trust. Random
/// strategies only ever target a verified host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RemoteAddress {
    pub(crate) addr: SocketAddrV4,
    pub(crate) verified: bool,
}

/// The remote's addresses after a holepunch message listing `addresses`:
/// an address is verified when its host is `verified_host` (this message's
/// token was echoed), or when its host was verified in `previous`.
pub(crate) fn remote_addresses(
    addresses: &[SocketAddrV4],
    verified_host: Option<Ipv4Addr>,
    previous: &[RemoteAddress],
) -> Vec<RemoteAddress> {
    addresses
        .iter()
        .map(|&addr| RemoteAddress {
            addr,
            verified: verified_host == Some(*addr.ip())
                || previous
                    .iter()
                    .any(|p| p.verified && p.addr.ip() == addr.ip()),
        })
        .collect()
}

/// Why no punch is attempted although both sides are willing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Both NATs pick a new port per destination (JS:
    /// `HOLEPUNCH_DOUBLE_RANDOMIZED_NATS`).
    DoubleRandom,
    /// One side's verdict is still unknown (JS: `HOLEPUNCH_PROBE_TIMEOUT`).
    UnknownVerdict,
}

/// What to do about a pair of verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// Both consistent (or open): probe each remote address, 10 ticks.
    Consistent,
    /// We are consistent, the remote random: 1750 probes to random ports of
    /// its verified host.
    RandomProbes {
        host: Ipv4Addr,
    },
    /// We are random, the remote consistent: open 256 sockets towards its
    /// verified address, then probe from them in turn.
    Birthday {
        target: SocketAddrV4,
    },
    Refused(Refusal),
    /// No remote address, or no verified one where the strategy needs it
    /// (JS: `REMOTE_NOT_HOLEPUNCHABLE`).
    NotPunchable,
}

/// The strategy for our verdict `local` and the remote's `remote`, given the
/// remote's addresses. `Open` counts as `Consistent`.
pub(crate) fn choose(
    local: Firewall,
    remote: Firewall,
    remote_addresses: &[RemoteAddress],
) -> Strategy {
    let (local, remote) = (local.coerce(), remote.coerce());
    if local == Firewall::Random && remote == Firewall::Random {
        return Strategy::Refused(Refusal::DoubleRandom);
    }
    if local == Firewall::Unknown || remote == Firewall::Unknown {
        return Strategy::Refused(Refusal::UnknownVerdict);
    }
    if remote_addresses.is_empty() {
        return Strategy::NotPunchable;
    }
    if local == Firewall::Consistent && remote == Firewall::Consistent {
        return Strategy::Consistent;
    }
    let Some(verified) = remote_addresses.iter().find(|a| a.verified) else {
        return Strategy::NotPunchable;
    };
    if local == Firewall::Consistent {
        Strategy::RandomProbes {
            host: *verified.addr.ip(),
        }
    } else {
        Strategy::Birthday {
            target: verified.addr,
        }
    }
}

/// A strategy's name, as the network pane and `dial` show how a stream was
/// punched (`Taken::Punched`).
pub(crate) fn strategy_name(strategy: &Strategy) -> &'static str {
    match strategy {
        Strategy::Consistent => "consistent",
        Strategy::RandomProbes { .. } => "random probes",
        Strategy::Birthday { .. } => "birthday sockets",
        Strategy::Refused(_) | Strategy::NotPunchable => "none",
    }
}

/// Whether our side is unstable: our verdict is unknown, or both sides are
/// random. An unstable puncher reopens on a new socket (up to 3 times).
#[cfg(test)]
pub(crate) fn is_unstable(local: Firewall, remote: Firewall) -> bool {
    local == Firewall::Unknown || (local == Firewall::Random && remote == Firewall::Random)
}

/// Whether a punch between these verdicts is a random punch, subject to
/// the node's `RandomThrottle`.
pub(crate) fn is_random_punch(local: Firewall, remote: Firewall) -> bool {
    local == Firewall::Random || remote == Firewall::Random
}

/// One probe to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Probe {
    /// Which puncher socket sends it: 0 is the puncher's main socket, the
    /// others are birthday sockets.
    pub(crate) socket: usize,
    /// Open this socket (a new pool socket) before sending.
    pub(crate) open: bool,
    pub(crate) to: SocketAddrV4,
    /// Send with a low TTL (JS: 5, far enough to open our own NAT, not far
    /// enough to reach and upset the remote's) rather than the default 64.
    pub(crate) low_ttl: bool,
}

#[derive(Debug, Clone)]
enum Plan {
    Consistent {
        remote: Vec<RemoteAddress>,
        ticks: u32,
    },
    Random {
        host: Ipv4Addr,
        left: u32,
        rng: Box<StdRng>,
    },
    Birthday {
        target: SocketAddrV4,
        opened: bool,
        next_socket: usize,
        low_ttl_passes: u32,
        left: u32,
    },
}

/// The probes of one punch, in order and in time.
#[derive(Debug, Clone)]
pub(crate) struct ProbeSchedule {
    plan: Plan,
    /// When the next step is due; `None` once exhausted.
    due: Option<Instant>,
}

impl ProbeSchedule {
    /// The schedule for `strategy`, starting `now`; `None` when the strategy
    /// sends nothing. `seed` drives the random ports.
    pub(crate) fn start(
        now: Instant,
        strategy: Strategy,
        initiator: bool,
        remote_addresses: &[RemoteAddress],
        seed: u64,
    ) -> Option<Self> {
        match strategy {
            Strategy::Consistent => Some(Self::consistent(now, initiator, remote_addresses)),
            Strategy::RandomProbes { host } => Some(Self::random(now, host, seed)),
            Strategy::Birthday { target } => Some(Self::birthday(now, target)),
            Strategy::Refused(_) | Strategy::NotPunchable => None,
        }
    }

    /// Consistent: `CONSISTENT_TICKS` ticks `CONSISTENT_GAP` apart, each
    /// probing every verified remote address from socket 0, and the
    /// unverified ones too on ticks 4 and 8. The initiator ticks at once; the
    /// other side waits one gap first (its fast-mode probe just went out).
    pub(crate) fn consistent(now: Instant, initiator: bool, remote: &[RemoteAddress]) -> Self {
        ProbeSchedule {
            plan: Plan::Consistent {
                remote: remote.to_vec(),
                ticks: 0,
            },
            due: if initiator {
                Some(now)
            } else {
                now.checked_add(CONSISTENT_GAP)
            },
        }
    }

    /// Random probes: `RANDOM_PROBES` probes `RANDOM_GAP` apart from socket
    /// 0 to `host` at ports uniform in `[MIN_RANDOM_PORT, 65535]`.
    pub(crate) fn random(now: Instant, host: Ipv4Addr, seed: u64) -> Self {
        ProbeSchedule {
            plan: Plan::Random {
                host,
                left: RANDOM_PROBES,
                rng: Box::new(StdRng::seed_from_u64(seed)),
            },
            due: Some(now),
        }
    }

    /// Birthday: at once, open sockets 1 to 255 and send one low-TTL probe
    /// from each to `target`; `BIRTHDAY_PAUSE` later, `RANDOM_PROBES` probes
    /// `RANDOM_GAP` apart to `target`, round-robin over all 256 sockets
    /// from socket 0, the first full pass at low TTL.
    pub(crate) fn birthday(now: Instant, target: SocketAddrV4) -> Self {
        ProbeSchedule {
            plan: Plan::Birthday {
                target,
                opened: false,
                next_socket: 0,
                low_ttl_passes: 1,
                left: RANDOM_PROBES,
            },
            due: Some(now),
        }
    }

    /// The remote's addresses changed mid-punch. Only the consistent
    /// strategy reads them again (on its next tick).
    pub(crate) fn set_remote_addresses(&mut self, addresses: &[RemoteAddress]) {
        if let Plan::Consistent { remote, .. } = &mut self.plan {
            *remote = addresses.to_vec();
        }
    }

    /// When `next` has something to do; `None` once the schedule is
    /// exhausted and the punch should be aborted (also when the next step
    /// would lie past what `Instant` can hold).
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        self.due
    }

    #[cfg(test)]
    pub(crate) fn is_exhausted(&self) -> bool {
        self.due.is_none()
    }

    /// The probes due at `now` (none before `next_wake`). After the last
    /// probes there is one more gap; the step at its end sends nothing and
    /// exhausts the schedule.
    pub(crate) fn next(&mut self, now: Instant) -> Vec<Probe> {
        match self.due {
            Some(due) if now >= due => {}
            _ => return Vec::new(),
        }
        match &mut self.plan {
            Plan::Consistent { remote, ticks } => {
                if *ticks >= CONSISTENT_TICKS {
                    self.due = None;
                    return Vec::new();
                }
                *ticks += 1;
                let tick = *ticks;
                self.due = now.checked_add(CONSISTENT_GAP);
                remote
                    .iter()
                    .filter(|a| a.verified || tick % 4 == 0)
                    .map(|a| Probe {
                        socket: 0,
                        open: false,
                        to: a.addr,
                        low_ttl: false,
                    })
                    .collect()
            }
            Plan::Random { host, left, rng } => {
                if *left == 0 {
                    self.due = None;
                    return Vec::new();
                }
                *left -= 1;
                self.due = now.checked_add(RANDOM_GAP);
                let port = rng.gen_range(MIN_RANDOM_PORT..=u16::MAX);
                vec![Probe {
                    socket: 0,
                    open: false,
                    to: SocketAddrV4::new(*host, port),
                    low_ttl: false,
                }]
            }
            Plan::Birthday {
                target,
                opened,
                next_socket,
                low_ttl_passes,
                left,
            } => {
                if !*opened {
                    *opened = true;
                    self.due = now.checked_add(BIRTHDAY_PAUSE);
                    return (1..BIRTHDAY_SOCKETS)
                        .map(|socket| Probe {
                            socket,
                            open: true,
                            to: *target,
                            low_ttl: true,
                        })
                        .collect();
                }
                if *left == 0 {
                    self.due = None;
                    return Vec::new();
                }
                *left -= 1;
                if *next_socket >= BIRTHDAY_SOCKETS {
                    *next_socket = 0;
                    *low_ttl_passes = low_ttl_passes.saturating_sub(1);
                }
                let socket = *next_socket;
                *next_socket += 1;
                self.due = now.checked_add(RANDOM_GAP);
                vec![Probe {
                    socket,
                    open: false,
                    to: *target,
                    low_ttl: *low_ttl_passes > 0,
                }]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // `Strategy` is ours here, not proptest's trait.
    use super::Strategy;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    const U: Firewall = Firewall::Unknown;
    const O: Firewall = Firewall::Open;
    const C: Firewall = Firewall::Consistent;
    const R: Firewall = Firewall::Random;

    fn addr(host: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, host), port)
    }

    fn verified(host: u8, port: u16) -> RemoteAddress {
        RemoteAddress {
            addr: addr(host, port),
            verified: true,
        }
    }

    fn unverified(host: u8, port: u16) -> RemoteAddress {
        RemoteAddress {
            addr: addr(host, port),
            verified: false,
        }
    }

    /// Runs a schedule to its end, waking exactly when asked: every step's
    /// offset from `start` and its probes, and when it was exhausted.
    fn run(mut s: ProbeSchedule, start: Instant) -> (Vec<(Duration, Vec<Probe>)>, Duration) {
        let mut steps = Vec::new();
        let mut guard = 0;
        while let Some(wake) = s.next_wake() {
            guard += 1;
            assert!(guard < 10_000, "schedule never ends");
            let probes = s.next(wake);
            if !s.is_exhausted() {
                steps.push((wake - start, probes));
            } else {
                assert!(probes.is_empty());
                return (steps, wake - start);
            }
        }
        unreachable!("a schedule ends through next")
    }

    #[test]
    fn strategy_table() {
        let v = [verified(1, 4000)];
        let uv = [unverified(1, 4000)];
        let both = [unverified(2, 5000), verified(1, 4000)];
        let none: [RemoteAddress; 0] = [];
        let refused_dr = Strategy::Refused(Refusal::DoubleRandom);
        let refused_u = Strategy::Refused(Refusal::UnknownVerdict);
        let host = Ipv4Addr::new(198, 51, 100, 1);
        let cases: Vec<(Firewall, Firewall, &[RemoteAddress], Strategy)> = vec![
            // Consistent (or open) on both sides: no verification needed.
            (C, C, &uv, Strategy::Consistent),
            (C, C, &v, Strategy::Consistent),
            (O, C, &uv, Strategy::Consistent),
            (C, O, &uv, Strategy::Consistent),
            (O, O, &uv, Strategy::Consistent),
            (C, C, &none, Strategy::NotPunchable),
            // We are consistent, they are random: their verified host.
            (C, R, &v, Strategy::RandomProbes { host }),
            (O, R, &both, Strategy::RandomProbes { host }),
            (C, R, &uv, Strategy::NotPunchable),
            (C, R, &none, Strategy::NotPunchable),
            // We are random, they are consistent: their verified address.
            (
                R,
                C,
                &v,
                Strategy::Birthday {
                    target: addr(1, 4000),
                },
            ),
            (
                R,
                O,
                &both,
                Strategy::Birthday {
                    target: addr(1, 4000),
                },
            ),
            (R, C, &uv, Strategy::NotPunchable),
            (R, C, &none, Strategy::NotPunchable),
            // Both random: refused, verified or not.
            (R, R, &v, refused_dr),
            (R, R, &uv, refused_dr),
            (R, R, &none, refused_dr),
            // Unknown anywhere: refused.
            (U, C, &v, refused_u),
            (C, U, &v, refused_u),
            (U, U, &v, refused_u),
            (U, R, &v, refused_u),
            (R, U, &v, refused_u),
            (U, O, &v, refused_u),
            (O, U, &none, refused_u),
        ];
        for (local, remote, addrs, want) in cases {
            assert_eq!(
                choose(local, remote, addrs),
                want,
                "{local:?} / {remote:?} / {addrs:?}"
            );
        }
    }

    #[test]
    fn stability_and_random_punches() {
        for (local, remote, unstable, random) in [
            (U, U, true, false),
            (U, C, true, false),
            (U, R, true, true),
            (O, R, false, true),
            (C, R, false, true),
            (R, C, false, true),
            (R, O, false, true),
            (R, U, false, true),
            (R, R, true, true),
            (C, C, false, false),
            (O, O, false, false),
            (C, U, false, false),
        ] {
            assert_eq!(is_unstable(local, remote), unstable, "{local:?}/{remote:?}");
            assert_eq!(
                is_random_punch(local, remote),
                random,
                "{local:?}/{remote:?}"
            );
        }
    }

    #[test]
    fn verified_hosts_carry_over() {
        let (a, b) = (addr(1, 4000), addr(2, 5000));
        let first = remote_addresses(&[a, b], Some(*a.ip()), &[]);
        assert_eq!(first, vec![verified(1, 4000), unverified(2, 5000)]);
        // A later message without an echoed token keeps a's host verified,
        // on any port.
        let a2 = addr(1, 4001);
        let second = remote_addresses(&[a2, b], None, &first);
        assert_eq!(second, vec![verified(1, 4001), unverified(2, 5000)]);
        // A host leaves the list: it is forgotten.
        let third = remote_addresses(&[b], None, &second);
        let fourth = remote_addresses(&[a], None, &third);
        assert_eq!(fourth, vec![unverified(1, 4000)]);
        // No addresses at all.
        assert!(remote_addresses(&[], Some(*a.ip()), &first).is_empty());
    }

    #[test]
    fn consistent_initiator_ticks_ten_times() {
        let start = Instant::now();
        let remote = [verified(1, 4000), unverified(2, 5000)];
        let (steps, end) = run(ProbeSchedule::consistent(start, true, &remote), start);
        assert_eq!(steps.len(), 10);
        for (i, (at, probes)) in steps.iter().enumerate() {
            let tick = i + 1;
            assert_eq!(*at, Duration::from_secs(i as u64), "tick {tick}");
            let mut want = vec![Probe {
                socket: 0,
                open: false,
                to: addr(1, 4000),
                low_ttl: false,
            }];
            if tick == 4 || tick == 8 {
                want.push(Probe {
                    socket: 0,
                    open: false,
                    to: addr(2, 5000),
                    low_ttl: false,
                });
            }
            assert_eq!(probes, &want, "tick {tick}");
        }
        assert_eq!(end, Duration::from_secs(10));
        let total: usize = steps.iter().map(|(_, p)| p.len()).sum();
        assert_eq!(total, 12);
    }

    #[test]
    fn consistent_responder_waits_a_second_first() {
        let start = Instant::now();
        let remote = [unverified(2, 5000)];
        let mut s = ProbeSchedule::consistent(start, false, &remote);
        assert_eq!(s.next_wake(), Some(start + Duration::from_secs(1)));
        // Nothing before it is due.
        assert!(s.next(start).is_empty());
        assert_eq!(s.next_wake(), Some(start + Duration::from_secs(1)));
        let (steps, end) = run(s, start);
        assert_eq!(steps.len(), 10);
        assert_eq!(steps[0].0, Duration::from_secs(1));
        assert_eq!(steps[9].0, Duration::from_secs(10));
        // Only unverified addresses: probes on ticks 4 and 8 alone.
        let sent: Vec<Duration> = steps
            .iter()
            .filter(|(_, p)| !p.is_empty())
            .map(|(at, _)| *at)
            .collect();
        assert_eq!(sent, vec![Duration::from_secs(4), Duration::from_secs(8)]);
        assert_eq!(end, Duration::from_secs(11));
    }

    #[test]
    fn consistent_reads_new_remote_addresses() {
        let start = Instant::now();
        let mut s = ProbeSchedule::consistent(start, true, &[verified(1, 4000)]);
        assert_eq!(s.next(start).len(), 1);
        s.set_remote_addresses(&[verified(1, 4000), verified(3, 6000)]);
        assert_eq!(s.next(start + CONSISTENT_GAP).len(), 2);
    }

    #[test]
    fn late_wakes_push_the_schedule_back() {
        let start = Instant::now();
        let mut s = ProbeSchedule::consistent(start, true, &[verified(1, 4000)]);
        assert_eq!(s.next(start).len(), 1);
        let late = start + Duration::from_millis(2500);
        assert_eq!(s.next(late).len(), 1);
        assert_eq!(s.next_wake(), Some(late + CONSISTENT_GAP));
        // Calling again at the same instant sends nothing.
        assert!(s.next(late).is_empty());
    }

    #[test]
    fn random_probes_1750_over_35_seconds() {
        let start = Instant::now();
        let host = Ipv4Addr::new(198, 51, 100, 9);
        let (steps, end) = run(ProbeSchedule::random(start, host, 7), start);
        assert_eq!(steps.len(), RANDOM_PROBES as usize);
        assert_eq!(end, Duration::from_millis(35_000));
        assert_eq!(steps[0].0, Duration::ZERO);
        assert_eq!(steps[1749].0, Duration::from_millis(34_980));
        let mut ports = BTreeSet::new();
        for (i, (at, probes)) in steps.iter().enumerate() {
            assert_eq!(*at, Duration::from_millis(20 * i as u64));
            assert_eq!(probes.len(), 1);
            let p = probes[0];
            assert_eq!((p.socket, p.open, p.low_ttl), (0, false, false));
            assert_eq!(*p.to.ip(), host);
            assert!(p.to.port() >= MIN_RANDOM_PORT);
            ports.insert(p.to.port());
        }
        // Spread over the range.
        assert!(ports.len() > 1700);
        assert!(ports.first().is_some_and(|&p| p < 3000));
        assert!(ports.last().is_some_and(|&p| p > 63_000));

        // Deterministic per seed.
        let ports_of = |seed| {
            let (steps, _) = run(ProbeSchedule::random(start, host, seed), start);
            steps
                .iter()
                .map(|(_, p)| p[0].to.port())
                .collect::<Vec<_>>()
        };
        assert_eq!(ports_of(7), ports_of(7));
        assert_ne!(ports_of(7), ports_of(8));
    }

    #[test]
    fn birthday_opens_256_sockets_then_round_robins() {
        let start = Instant::now();
        let target = addr(4, 7000);
        let (steps, end) = run(ProbeSchedule::birthday(start, target), start);

        // At once: sockets 1..=255 opened, one low-TTL probe each.
        let (at, opening) = &steps[0];
        assert_eq!(*at, Duration::ZERO);
        assert_eq!(opening.len(), BIRTHDAY_SOCKETS - 1);
        for (i, p) in opening.iter().enumerate() {
            assert_eq!(
                *p,
                Probe {
                    socket: i + 1,
                    open: true,
                    to: target,
                    low_ttl: true
                }
            );
        }

        // Then 1750 probes, from 100 ms, 20 ms apart, round-robin from 0.
        let keepalive = &steps[1..];
        assert_eq!(keepalive.len(), RANDOM_PROBES as usize);
        for (i, (at, probes)) in keepalive.iter().enumerate() {
            assert_eq!(*at, Duration::from_millis(100 + 20 * i as u64));
            assert_eq!(
                probes,
                &vec![Probe {
                    socket: i % BIRTHDAY_SOCKETS,
                    open: false,
                    to: target,
                    low_ttl: i < BIRTHDAY_SOCKETS,
                }]
            );
        }
        assert_eq!(end, Duration::from_millis(100 + 20 * 1750));

        let sockets: BTreeSet<usize> = steps
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.socket))
            .collect();
        assert_eq!(sockets.len(), BIRTHDAY_SOCKETS);
        let opened = steps
            .iter()
            .flat_map(|(_, p)| p.iter())
            .filter(|p| p.open)
            .count();
        assert_eq!(opened, BIRTHDAY_SOCKETS - 1);
    }

    #[test]
    fn start_follows_the_strategy() {
        let now = Instant::now();
        let remote = [verified(1, 4000)];
        let host = Ipv4Addr::new(198, 51, 100, 1);
        assert!(ProbeSchedule::start(now, Strategy::NotPunchable, true, &remote, 0).is_none());
        assert!(ProbeSchedule::start(
            now,
            Strategy::Refused(Refusal::DoubleRandom),
            true,
            &remote,
            0
        )
        .is_none());
        let mut s = ProbeSchedule::start(now, Strategy::Consistent, false, &remote, 0).unwrap();
        assert_eq!(s.next_wake(), Some(now + CONSISTENT_GAP));
        assert_eq!(s.next(now + CONSISTENT_GAP).len(), 1);
        let mut s =
            ProbeSchedule::start(now, Strategy::RandomProbes { host }, false, &remote, 3).unwrap();
        assert_eq!(*s.next(now)[0].to.ip(), host);
        let mut s = ProbeSchedule::start(
            now,
            Strategy::Birthday {
                target: addr(1, 4000),
            },
            true,
            &remote,
            0,
        )
        .unwrap();
        assert_eq!(s.next(now).len(), BIRTHDAY_SOCKETS - 1);
    }

    proptest! {
        #[test]
        fn schedules_hold_their_counts_whatever_the_wake_delays(
            kind in 0u8..3,
            initiator in any::<bool>(),
            seed in any::<u64>(),
            delays in proptest::collection::vec(0u64..3_000, 1..64),
        ) {
            let start = Instant::now();
            let remote = [verified(1, 4000), unverified(2, 5000)];
            let mut s = match kind {
                0 => ProbeSchedule::consistent(start, initiator, &remote),
                1 => ProbeSchedule::random(start, Ipv4Addr::new(198, 51, 100, 1), seed),
                _ => ProbeSchedule::birthday(start, addr(1, 4000)),
            };
            let mut probes = 0usize;
            let mut steps = 0usize;
            let mut i = 0usize;
            let mut last = start;
            while let Some(wake) = s.next_wake() {
                prop_assert!(wake >= last);
                let now = wake + Duration::from_millis(delays[i % delays.len()]);
                i += 1;
                let sent = s.next(now);
                probes += sent.len();
                steps += 1;
                last = now;
                prop_assert!(steps <= 2_000);
                for p in sent {
                    prop_assert!(p.socket < BIRTHDAY_SOCKETS);
                }
            }
            let want = match kind {
                0 => 12,
                1 => RANDOM_PROBES as usize,
                _ => RANDOM_PROBES as usize + BIRTHDAY_SOCKETS - 1,
            };
            prop_assert_eq!(probes, want);
        }
    }
}
