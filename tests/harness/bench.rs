//! What only the benches use: the pairs of implementations they compare,
//! percentiles of measured durations, the fields of a process's
//! `/proc/PID/status`, the CPU time it used (`/proc/PID/stat`) and its
//! threads' context switches, and the kernel's UDP counters
//! (`/proc/net/snmp`). Run sizes come from the environment through
//! `env::count`.

use std::time::Duration;

/// A writer (or sender) and a reader (or receiver), each hychat or JS:
/// the pairs the benches compare in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pair {
    JsToJs,
    JsToHychat,
    HychatToJs,
    HychatToHychat,
}

impl Pair {
    pub const ALL: [Pair; 4] = [
        Pair::JsToJs,
        Pair::JsToHychat,
        Pair::HychatToJs,
        Pair::HychatToHychat,
    ];

    /// Whether the writer is the JS reference.
    pub fn js_writer(self) -> bool {
        matches!(self, Pair::JsToJs | Pair::JsToHychat)
    }

    /// Whether the reader is the JS reference.
    pub fn js_reader(self) -> bool {
        matches!(self, Pair::JsToJs | Pair::HychatToJs)
    }

    pub fn label(self) -> &'static str {
        match self {
            Pair::JsToJs => "JS → JS",
            Pair::JsToHychat => "JS → hychat",
            Pair::HychatToJs => "hychat → JS",
            Pair::HychatToHychat => "hychat → hychat",
        }
    }
}

/// The `p`-th percentile (0.0 to 1.0) of `sorted`, which must not be empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// The fields of `/proc/{pid}/status` as a lookup: `field("VmRSS:")` is the
/// number after that name (kB for the memory fields), NaN when the process
/// or the field is gone or the value is not a number.
pub fn proc_status(pid: &str) -> impl Fn(&str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    move |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    }
}

/// The CPU time process `pid` used so far, user and system (fields 14 and
/// 15 of `/proc/{pid}/stat`), in clock ticks; `None` when it is gone.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // the fields are counted from the last `)`, which ends it (field 3 on).
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// Clock ticks per second, the unit of `cpu_ticks`.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf reads a constant of the system; no memory is passed.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// The context switches of every thread of process `pid` so far, voluntary
/// (it slept: a wake-up each) and involuntary; `None` when it is gone.
/// Threads that ended are not counted.
pub fn context_switches(pid: u32) -> Option<(u64, u64)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let (mut voluntary, mut involuntary) = (0, 0);
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            let mut words = line.split_whitespace();
            let (Some(name), Some(value)) = (words.next(), words.next()) else {
                continue;
            };
            let value: u64 = value.parse().unwrap_or(0);
            match name {
                "voluntary_ctxt_switches:" => voluntary += value,
                "nonvoluntary_ctxt_switches:" => involuntary += value,
                _ => {}
            }
        }
    }
    Some((voluntary, involuntary))
}

/// A counter of the kernel's UDP statistics (`/proc/net/snmp`, the `Udp:`
/// lines), such as `RcvbufErrors`: datagrams dropped because a socket's
/// receive buffer was full, on the whole machine (its network namespace).
pub fn udp_counter(name: &str) -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (udp.next()?, udp.next()?);
    let at = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(at)?.parse().ok()
}
