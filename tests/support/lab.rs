//! The network lab: Linux network namespaces joined by veth pairs into a
//! small internet with real routers and real NAT, so the real `hychat`
//! binary (and the JS peers of `tests/js`) run on separate hosts.
//!
//! ```text
//!                         inet (router, ip_forward)
//!   198.51.100.0/24 ─┬─ dht .2   pub1 .11   pub2 .12   jsdht1..3 .21-.23
//!                    │  (each a point-to-point link: a /32 and a route)
//!   203.0.113.0/24  ─┴─ cone1 .11  cone2 .12   (MASQUERADE)
//!                       rand1 .21  rand2 .22   (MASQUERADE --random)
//!                         │ each a home router with one host on 10.0.N.0/24:
//!                         └─ cone1-pc, cone2-pc, rand1-pc, rand2-pc
//!
//!   lansw (a bridge): lan1 192.168.50.11, lan2 .12, landht .2 (no router)
//! ```
//!
//! - Every host is a namespace named `hy<pid>-<host>`; every veth pair is
//!   made directly inside two namespaces (`ip link add X netns A type veth
//!   peer name Y netns B`), and `ip_forward` is set only inside routers. The
//!   root namespace's interfaces, routes and sysctls are never touched and
//!   nothing is routed out of the lab.
//! - All public traffic crosses the `inet` router's FORWARD chain, so one
//!   `iptables` rule there can cut two homes apart (`Lab::block`). The
//!   pinned crates cannot holepunch a NAT that gives a new port per
//!   destination, and a host behind `MASQUERADE --random` cannot even reach
//!   public hosts with them, so "two NAT'd peers that cannot reach each
//!   other" is emulated by two cone homes with a drop rule between them.
//! - Home routers accept only ESTABLISHED,RELATED traffic from their WAN
//!   (FORWARD and INPUT); the rest from the WAN is dropped.
//!
//! Lifetime, the simplest robust design: the test binary builds one lab on
//! first use (`Lab::shared`) and hands it to one test at a time (a mutex:
//! tests change its drop rules, and side by side on 2 cores they would only
//! measure the contention). The lab is removed when the test process exits
//! (`libc::atexit`, which runs after the harness finished every test, also
//! when some failed). A process that is killed cannot run it, so every
//! build first removes the `hy<pid>-*` namespaces of pids that are no longer
//! alive. Children run with `PR_SET_PDEATHSIG` = SIGKILL, so none outlive a
//! killed test. A bench builds its own `Lab` and removes it on drop.
//!
//! When the lab cannot be built (not root, `ip` or `iptables` missing, a
//! namespace cannot be made), every lab test fails with one sentence saying
//! what is missing: these tests never skip silently.
//!
//! The scenarios themselves (`scenarios`) live here too, so the bench
//! (`benches/lab.rs`) measures exactly what the tests assert. Each ends
//! with one check on every hychat log it made (`uncaught_panics`): a panic
//! must be followed by hychat's `recovered from a panic` line. Every wait
//! is bounded and every process is stopped by its pid (`Background`).
//! `HYCHAT_LAB_KEEP=1` keeps the storage directories (and their
//! `hychat.log`) after the run and prints where they are.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{Background, Transcript, BIN, HYCHAT_ENV, QUICK};

/// What a failed build says, before the detail.
const NEEDS: &str = "the network lab needs root and iproute2 + iptables: run the tests as root, \
                     or run .ci/run which installs them";

/// The port every DHT node of the lab listens on (each host has its own).
pub const DHT_PORT: u16 = 49737;

/// The router every public host and home router hangs off.
pub const INET: &str = "inet";
/// The public host running the hychat bootstrap node.
pub const DHT: &str = "dht";
pub const PUB1: &str = "pub1";
pub const PUB2: &str = "pub2";
/// Public hosts for JS DHT nodes.
pub const JS_DHT_HOSTS: [&str; 3] = ["jsdht1", "jsdht2", "jsdht3"];
/// The LAN: a switch, two hosts and a host for a DHT node.
pub const LAN_SWITCH: &str = "lansw";
pub const LAN1: &str = "lan1";
pub const LAN2: &str = "lan2";
pub const LANDHT: &str = "landht";
/// Home routers (their WAN address is what `addr` gives) ...
pub const CONE1_ROUTER: &str = "cone1";
pub const CONE2_ROUTER: &str = "cone2";
pub const RAND1_ROUTER: &str = "rand1";
pub const RAND2_ROUTER: &str = "rand2";
/// ... and the host behind each.
pub const CONE1: &str = "cone1-pc";
pub const CONE2: &str = "cone2-pc";
pub const RAND1: &str = "rand1-pc";
pub const RAND2: &str = "rand2-pc";

const INET_PUBLIC: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const INET_HOMES: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

const PUBLIC_HOSTS: [(&str, Ipv4Addr); 6] = [
    (DHT, Ipv4Addr::new(198, 51, 100, 2)),
    (PUB1, Ipv4Addr::new(198, 51, 100, 11)),
    (PUB2, Ipv4Addr::new(198, 51, 100, 12)),
    (JS_DHT_HOSTS[0], Ipv4Addr::new(198, 51, 100, 21)),
    (JS_DHT_HOSTS[1], Ipv4Addr::new(198, 51, 100, 22)),
    (JS_DHT_HOSTS[2], Ipv4Addr::new(198, 51, 100, 23)),
];

const LAN_HOSTS: [(&str, Ipv4Addr); 3] = [
    (LANDHT, Ipv4Addr::new(192, 168, 50, 2)),
    (LAN1, Ipv4Addr::new(192, 168, 50, 11)),
    (LAN2, Ipv4Addr::new(192, 168, 50, 12)),
];

struct Home {
    router: &'static str,
    host: &'static str,
    wan: Ipv4Addr,
    /// N of 10.0.N.0/24.
    subnet: u8,
    random: bool,
}

const HOMES: [Home; 4] = [
    Home {
        router: CONE1_ROUTER,
        host: CONE1,
        wan: Ipv4Addr::new(203, 0, 113, 11),
        subnet: 1,
        random: false,
    },
    Home {
        router: CONE2_ROUTER,
        host: CONE2,
        wan: Ipv4Addr::new(203, 0, 113, 12),
        subnet: 2,
        random: false,
    },
    Home {
        router: RAND1_ROUTER,
        host: RAND1,
        wan: Ipv4Addr::new(203, 0, 113, 21),
        subnet: 3,
        random: true,
    },
    Home {
        router: RAND2_ROUTER,
        host: RAND2,
        wan: Ipv4Addr::new(203, 0, 113, 22),
        subnet: 4,
        random: true,
    },
];

/// The namespace prefix of the process `pid`.
fn prefix_of(pid: u32) -> String {
    format!("hy{pid}-")
}

/// `ip` and `iptables`, found on PATH or in the sbin directories.
#[derive(Clone, Debug)]
struct Tools {
    ip: PathBuf,
    iptables: PathBuf,
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn tools() -> Result<Tools, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(format!("{NEEDS} (this process is not root)"));
    }
    let ip = find_tool("ip").ok_or_else(|| format!("{NEEDS} (`ip` is not installed)"))?;
    let iptables =
        find_tool("iptables").ok_or_else(|| format!("{NEEDS} (`iptables` is not installed)"))?;
    Ok(Tools { ip, iptables })
}

/// Runs a setup command to its end; the error names it and its stderr.
fn run_tool(program: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "`{} {}` failed: {}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Names of every namespace, from `ip netns list` ("NAME (id: N)" lines).
fn namespaces(ip: &Path) -> Vec<String> {
    run_tool(ip, &["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let found = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The pid in a lab namespace name `hy<pid>-<host>`, if it is one.
fn lab_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("hy")?;
    let (digits, host) = rest.split_once('-')?;
    if digits.is_empty() || host.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Removes the lab namespaces of test processes that are gone.
fn remove_stale(ip: &Path) {
    for name in namespaces(ip) {
        if let Some(pid) = lab_pid(&name) {
            if pid != std::process::id() && !alive(pid) {
                let _ = run_tool(ip, &["netns", "del", &name]);
            }
        }
    }
}

/// Removes every namespace of this process's lab (the `atexit` path too).
fn remove_ours(ip: &Path) {
    let prefix = prefix_of(std::process::id());
    for name in namespaces(ip) {
        if name.starts_with(&prefix) && lab_pid(&name).is_some() {
            let _ = run_tool(ip, &["netns", "del", &name]);
        }
    }
}

static IP_FOR_EXIT: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_at_exit() {
    if let Some(ip) = IP_FOR_EXIT.get() {
        remove_ours(ip);
    }
}

/// The lab: its namespaces and addresses. Removed on drop.
pub struct Lab {
    tools: Tools,
    prefix: String,
    built: Vec<String>,
    addrs: BTreeMap<&'static str, Ipv4Addr>,
}

impl Lab {
    /// The test binary's lab, built on first use and handed to one test at
    /// a time. Panics with one sentence when it cannot be built.
    pub fn shared() -> MutexGuard<'static, Lab> {
        static LAB: OnceLock<Result<Mutex<Lab>, String>> = OnceLock::new();
        let lab = LAB.get_or_init(|| {
            let lab = Lab::build()?;
            if IP_FOR_EXIT.set(lab.tools.ip.clone()).is_ok() {
                // SAFETY: registers a plain function with no captured state.
                unsafe {
                    libc::atexit(remove_at_exit);
                }
            }
            Ok(Mutex::new(lab))
        });
        match lab {
            Ok(lab) => lab.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            Err(reason) => panic!("{reason}"),
        }
    }

    /// Builds the whole topology; on an error, removes what was built.
    pub fn build() -> Result<Lab, String> {
        let tools = tools()?;
        remove_stale(&tools.ip);
        let mut lab = Lab {
            tools,
            prefix: prefix_of(std::process::id()),
            built: Vec::new(),
            addrs: BTreeMap::new(),
        };
        match lab.build_topology() {
            Ok(()) => Ok(lab),
            // `lab` is dropped here, which removes what was built.
            Err(detail) => Err(format!("{NEEDS} (building the lab failed: {detail})")),
        }
    }

    fn build_topology(&mut self) -> Result<(), String> {
        self.add_host(INET)?;
        self.sysctl(INET, "net.ipv4.ip_forward=1")?;
        for (host, addr) in PUBLIC_HOSTS {
            self.add_host(host)?;
            self.wire(INET, &format!("p-{host}"), INET_PUBLIC, host, "eth0", addr)?;
            self.addrs.insert(host, addr);
        }
        for home in &HOMES {
            self.add_home(home)?;
        }
        self.add_host(LAN_SWITCH)?;
        self.ip_in(LAN_SWITCH, &["link", "add", "br0", "type", "bridge"])?;
        self.ip_in(LAN_SWITCH, &["link", "set", "br0", "up"])?;
        for (host, addr) in LAN_HOSTS {
            self.add_host(host)?;
            let port = format!("p-{host}");
            self.veth(LAN_SWITCH, &port, host, "eth0")?;
            self.ip_in(LAN_SWITCH, &["link", "set", &port, "master", "br0", "up"])?;
            self.ip_in(host, &["addr", "add", &format!("{addr}/24"), "dev", "eth0"])?;
            self.ip_in(host, &["link", "set", "eth0", "up"])?;
            self.addrs.insert(host, addr);
        }
        Ok(())
    }

    fn add_home(&mut self, home: &Home) -> Result<(), String> {
        let router = home.router;
        self.add_host(router)?;
        self.sysctl(router, "net.ipv4.ip_forward=1")?;
        self.wire(
            INET,
            &format!("h-{router}"),
            INET_HOMES,
            router,
            "wan",
            home.wan,
        )?;
        self.addrs.insert(router, home.wan);
        let gateway = Ipv4Addr::new(10, 0, home.subnet, 1);
        let host_addr = Ipv4Addr::new(10, 0, home.subnet, 2);
        self.add_host(home.host)?;
        self.veth(router, "lan", home.host, "eth0")?;
        self.ip_in(
            router,
            &["addr", "add", &format!("{gateway}/24"), "dev", "lan"],
        )?;
        self.ip_in(router, &["link", "set", "lan", "up"])?;
        let host = home.host;
        self.ip_in(
            host,
            &["addr", "add", &format!("{host_addr}/24"), "dev", "eth0"],
        )?;
        self.ip_in(host, &["link", "set", "eth0", "up"])?;
        self.ip_in(
            host,
            &["route", "add", "default", "via", &gateway.to_string()],
        )?;
        self.addrs.insert(host, host_addr);
        let mut masquerade = vec![
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-o",
            "wan",
            "-j",
            "MASQUERADE",
        ];
        if home.random {
            masquerade.push("--random");
        }
        self.iptables(router, &masquerade)?;
        for chain in ["FORWARD", "INPUT"] {
            self.iptables(
                router,
                &[
                    "-A",
                    chain,
                    "-i",
                    "wan",
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "ESTABLISHED,RELATED",
                    "-j",
                    "ACCEPT",
                ],
            )?;
            self.iptables(router, &["-A", chain, "-i", "wan", "-j", "DROP"])?;
        }
        Ok(())
    }

    /// The namespace of `host`.
    pub fn ns(&self, host: &str) -> String {
        format!("{}{host}", self.prefix)
    }

    /// The address of `host` (a home router's: its WAN address).
    pub fn addr(&self, host: &str) -> Ipv4Addr {
        *self
            .addrs
            .get(host)
            .unwrap_or_else(|| panic!("the lab has no host {host:?}"))
    }

    /// `addr(host):DHT_PORT`, where a DHT node on `host` listens.
    pub fn dht_addr(&self, host: &str) -> String {
        format!("{}:{DHT_PORT}", self.addr(host))
    }

    fn add_host(&mut self, host: &str) -> Result<(), String> {
        let ns = self.ns(host);
        run_tool(&self.tools.ip, &["netns", "add", &ns])?;
        self.built.push(ns);
        self.ip_in(host, &["link", "set", "lo", "up"])
    }

    fn ip_in(&self, host: &str, args: &[&str]) -> Result<(), String> {
        let ns = self.ns(host);
        let mut all = vec!["-n", ns.as_str()];
        all.extend_from_slice(args);
        run_tool(&self.tools.ip, &all).map(drop)
    }

    fn exec_in(&self, host: &str, program: &Path, args: &[&str]) -> Result<String, String> {
        let ns = self.ns(host);
        let program = program.to_str().expect("a UTF-8 tool path");
        let mut all = vec!["netns", "exec", ns.as_str(), program];
        all.extend_from_slice(args);
        run_tool(&self.tools.ip, &all)
    }

    fn sysctl(&self, host: &str, setting: &str) -> Result<(), String> {
        let sysctl = find_tool("sysctl").ok_or("`sysctl` is not installed")?;
        self.exec_in(host, &sysctl, &["-qw", setting]).map(drop)
    }

    fn iptables(&self, host: &str, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["-w", "10"];
        all.extend_from_slice(args);
        self.exec_in(host, &self.tools.iptables.clone(), &all)
    }

    /// A veth pair made directly inside two namespaces, both ends up.
    fn veth(&self, a: &str, a_if: &str, b: &str, b_if: &str) -> Result<(), String> {
        let (ns_a, ns_b) = (self.ns(a), self.ns(b));
        run_tool(
            &self.tools.ip,
            &[
                "link", "add", a_if, "netns", &ns_a, "type", "veth", "peer", "name", b_if, "netns",
                &ns_b,
            ],
        )?;
        self.ip_in(a, &["link", "set", a_if, "up"])?;
        self.ip_in(b, &["link", "set", b_if, "up"])
    }

    /// A point-to-point link from `router` to `host`: the router's side has
    /// `gateway`/32 and a route to `addr`; the host's side has `addr`/32, a
    /// route to the gateway and the default route through it.
    fn wire(
        &self,
        router: &str,
        router_if: &str,
        gateway: Ipv4Addr,
        host: &str,
        host_if: &str,
        addr: Ipv4Addr,
    ) -> Result<(), String> {
        self.veth(router, router_if, host, host_if)?;
        let (gateway, addr) = (gateway.to_string(), addr.to_string());
        self.ip_in(
            router,
            &["addr", "add", &format!("{gateway}/32"), "dev", router_if],
        )?;
        self.ip_in(
            router,
            &["route", "add", &format!("{addr}/32"), "dev", router_if],
        )?;
        self.ip_in(
            host,
            &["addr", "add", &format!("{addr}/32"), "dev", host_if],
        )?;
        self.ip_in(
            host,
            &["route", "add", &format!("{gateway}/32"), "dev", host_if],
        )?;
        self.ip_in(host, &["route", "add", "default", "via", &gateway])
    }

    /// `program` run inside `host`'s namespace (`ip netns exec`, which execs
    /// it: the child's pid is the program's), with none of hychat's
    /// environment variables, killed if the thread that started it ends.
    pub fn command(&self, host: &str, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(&self.tools.ip);
        command
            .arg("netns")
            .arg("exec")
            .arg(self.ns(host))
            .arg(program);
        for name in HYCHAT_ENV.iter().chain(&["HYCHAT_BIND", "HYCHAT_JS_HOST"]) {
            command.env_remove(name);
        }
        // SAFETY: prctl is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        command
    }

    /// A shell line that runs the hychat binary on `host` with `args`, with
    /// none of hychat's environment variables: for a terminal (tmux).
    pub fn shell_line(&self, host: &str, args: &[String]) -> String {
        let quote = |text: &str| {
            assert!(!text.contains('\''), "no quotes in lab arguments: {text}");
            format!("'{text}'")
        };
        let ip = self.tools.ip.to_str().expect("a UTF-8 path to ip");
        let args: Vec<String> = args.iter().map(|a| quote(a)).collect();
        format!(
            "unset {} HYCHAT_BIND; {} netns exec {} {} {}",
            HYCHAT_ENV.join(" "),
            quote(ip),
            self.ns(host),
            quote(BIN),
            args.join(" ")
        )
    }

    /// The hychat binary on `host` with `args` (which carry `--storage`
    /// and `--bootstrap`: see `Peer`), in the background.
    pub fn spawn(&self, host: &str, name: &str, args: &[String]) -> Background {
        let mut command = self.command(host, BIN);
        command.args(args);
        Background::spawn(name, command, false)
    }

    /// The hychat binary on `host` with `args`, to its end (at most `bound`).
    pub fn run(&self, host: &str, args: &[String], bound: Duration) -> Output {
        let mut command = self.command(host, BIN);
        command.args(args);
        let mut command = assert_cmd::Command::from_std(command);
        command.timeout(bound);
        command
            .output()
            .unwrap_or_else(|e| panic!("cannot run hychat on {host}: {e}"))
    }

    /// `node tests/js/SCRIPT args` on `host`, its DHT bound to every
    /// interface there (`HYCHAT_JS_HOST`), with a stdin pipe.
    pub fn spawn_js(&self, host: &str, name: &str, script: &str, args: &[String]) -> Background {
        super::js::ensure_js_peers();
        let mut command = self.command(host, "node");
        command
            .arg(super::js::js_dir().join(script))
            .args(args)
            .env("HYCHAT_JS_HOST", "0.0.0.0");
        Background::spawn(name, command, true)
    }

    /// The home router `host` sits behind, if it is behind one.
    pub fn router_of(&self, host: &str) -> Option<&'static str> {
        HOMES
            .iter()
            .find(|home| home.host == host)
            .map(|home| home.router)
    }

    /// Connections a home router has masqueraded so far (the nat table sees
    /// the first packet of each): evidence that traffic crossed its NAT.
    pub fn masqueraded(&self, router: &str) -> u64 {
        let listing = self
            .iptables(
                router,
                &["-t", "nat", "-L", "POSTROUTING", "-v", "-n", "-x"],
            )
            .unwrap_or_default();
        listing
            .lines()
            .filter(|l| l.contains("MASQUERADE"))
            .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    /// Drops every packet between two hosts (by address) on the `inet`
    /// router until the guard is dropped.
    pub fn block(&self, a: &str, b: &str) -> Block<'_> {
        let block = Block {
            lab: self,
            a: self.addr(a).to_string(),
            b: self.addr(b).to_string(),
        };
        for (from, to) in block.directions() {
            self.iptables(
                INET,
                &["-I", "FORWARD", "-s", &from, "-d", &to, "-j", "DROP"],
            )
            .unwrap_or_else(|e| panic!("cannot block {a} <-> {b}: {e}"));
        }
        block
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.built.iter().rev() {
            let _ = run_tool(&self.tools.ip, &["netns", "del", ns]);
        }
    }
}

/// A drop rule between two addresses on the `inet` router.
pub struct Block<'lab> {
    lab: &'lab Lab,
    a: String,
    b: String,
}

impl Block<'_> {
    fn directions(&self) -> [(String, String); 2] {
        [
            (self.a.clone(), self.b.clone()),
            (self.b.clone(), self.a.clone()),
        ]
    }

    /// Packets the rule dropped so far, both directions.
    pub fn dropped(&self) -> u64 {
        let listing = self
            .lab
            .iptables(INET, &["-L", "FORWARD", "-v", "-n", "-x"])
            .unwrap_or_default();
        listing
            .lines()
            .filter(|l| l.contains("DROP") && l.contains(&self.a) && l.contains(&self.b))
            .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        for (from, to) in self.directions() {
            let _ = self.lab.iptables(
                INET,
                &["-D", "FORWARD", "-s", &from, "-d", &to, "-j", "DROP"],
            );
        }
    }
}

/// A line a process must print: what it says (for the failure report) and
/// the test of a line.
pub type LineCheck<'a> = (&'a str, &'a dyn Fn(&str) -> bool);

/// One measured step of a scenario.
#[derive(Clone, Debug)]
pub struct Timing {
    pub what: String,
    pub took: Duration,
}

/// A hychat user on a lab host: its storage, its bootstrap list, its nick.
#[derive(Clone, Debug)]
pub struct Peer {
    pub host: &'static str,
    pub storage: PathBuf,
    pub bootstrap: String,
    pub nick: String,
}

impl Peer {
    /// The global options, then `args`.
    pub fn args(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec![
            "--storage".to_string(),
            self.storage
                .to_str()
                .expect("a UTF-8 temp path")
                .to_string(),
            "--bootstrap".to_string(),
            self.bootstrap.clone(),
            "--nick".to_string(),
            self.nick.clone(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }

    /// `--room ROOM` then `args`.
    pub fn room_args(&self, room: &str, args: &[&str]) -> Vec<String> {
        let mut all = vec!["--room", room];
        all.extend_from_slice(args);
        self.args(&all)
    }
}

/// One scenario's processes, storage directories and timings, and the
/// failure report that shows all of them.
pub struct Scene<'lab> {
    pub lab: &'lab Lab,
    name: String,
    dirs: Vec<TempDir>,
    /// Each storage directory with the processes that ran on it.
    storages: Vec<PathBuf>,
    transcripts: Vec<(PathBuf, Transcript)>,
    timings: Vec<Timing>,
    tag: String,
}

/// Upper bound for a message to cross the lab, discovery included.
pub const ARRIVAL: Duration = Duration::from_secs(60);
/// How long `send --wait` stays online for a peer.
pub const SEND_WAIT: u64 = 45;

impl<'lab> Scene<'lab> {
    pub fn new(lab: &'lab Lab, name: &str) -> Self {
        Self {
            lab,
            name: name.to_string(),
            dirs: Vec::new(),
            storages: Vec::new(),
            transcripts: Vec::new(),
            timings: Vec::new(),
            tag: format!("{name} run {}", std::process::id()),
        }
    }

    /// A message text unique to this run.
    pub fn text(&self, what: &str) -> String {
        format!("{what} ({})", self.tag)
    }

    /// A temp directory, removed with the scene unless `HYCHAT_LAB_KEEP`
    /// is set (then its path is printed, for a look at the logs).
    fn temp_dir(&mut self, what: &str) -> PathBuf {
        let dir = tempfile::Builder::new()
            .prefix(&format!("hychat-lab-{what}-"))
            .tempdir()
            .expect("a temp dir");
        if std::env::var_os("HYCHAT_LAB_KEEP").is_some() {
            let path = dir.keep();
            eprintln!("[{}] keeping {}", self.name, path.display());
            return path;
        }
        let path = dir.path().to_path_buf();
        self.dirs.push(dir);
        path
    }

    fn storage(&mut self, what: &str) -> PathBuf {
        let path = self.temp_dir(what);
        self.storages.push(path.clone());
        path
    }

    pub fn peer(&mut self, host: &'static str, nick: &str, bootstrap: &str) -> Peer {
        Peer {
            host,
            storage: self.storage(&format!("{host}-{nick}")),
            bootstrap: bootstrap.to_string(),
            nick: nick.to_string(),
        }
    }

    fn watch(&mut self, storage: &Path, process: &Background) {
        self.transcripts
            .push((storage.to_path_buf(), process.transcript()));
    }

    /// Everything so far, then panics: every process's output and the tail
    /// of every hychat log of the scenario.
    pub fn fail(&self, what: &str) -> ! {
        let mut text = format!("[{}] {what}\n", self.name);
        for (_, transcript) in &self.transcripts {
            text.push_str(&format!("\n{}\n", transcript.describe()));
        }
        for storage in &self.storages {
            text.push_str(&format!("\n{}\n", super::log_tail(storage)));
        }
        panic!("{text}");
    }

    pub fn record(&mut self, what: &str, took: Duration) {
        eprintln!("[{}] {what}: {:.1} s", self.name, took.as_secs_f64());
        self.timings.push(Timing {
            what: what.to_string(),
            took,
        });
    }

    /// A long-running hychat command of `peer` in the background.
    pub fn spawn(&mut self, peer: &Peer, what: &str, args: Vec<String>) -> Background {
        let name = format!("hychat {what} ({} on {})", peer.nick, peer.host);
        let process = self.lab.spawn(peer.host, &name, &args);
        self.watch(&peer.storage.clone(), &process);
        process
    }

    /// A hychat command of `peer` run to its end; fails the scenario unless
    /// it exits with 0. Returns stdout and stderr.
    pub fn run(&mut self, peer: &Peer, args: Vec<String>, bound: Duration) -> (String, String) {
        let output = self.lab.run(peer.host, &args, bound);
        let stdout = super::stdout_of(&output);
        let stderr = super::stderr_of(&output);
        if !output.status.success() {
            self.fail(&format!(
                "`hychat {}` on {} failed with {:?}\nstdout: {stdout}\nstderr: {stderr}",
                args.join(" "),
                peer.host,
                output.status
            ));
        }
        (stdout, stderr)
    }

    /// The peer's key (`hychat key`).
    pub fn key(&mut self, peer: &Peer) -> String {
        let (stdout, _) = self.run(peer, peer.args(&["key"]), QUICK);
        let key = stdout.trim().to_string();
        if !super::is_key(&key) {
            self.fail(&format!("hychat key printed no key: {stdout:?}"));
        }
        key
    }

    /// `hychat send TEXT` (offline: only appends).
    pub fn send(&mut self, peer: &Peer, room: Option<&str>, text: &str) {
        let args = match room {
            Some(room) => peer.room_args(room, &["send", text]),
            None => peer.args(&["send", text]),
        };
        self.run(peer, args, QUICK);
    }

    /// `hychat send TEXT --wait SEND_WAIT`: appends, stays online until a
    /// peer downloaded it, and fails the scenario if none did. Returns how
    /// long that took.
    pub fn send_and_wait(&mut self, peer: &Peer, room: Option<&str>, text: &str) -> Duration {
        let wait = SEND_WAIT.to_string();
        let command = ["send", text, "--wait", wait.as_str()];
        let args = match room {
            Some(room) => peer.room_args(room, &command),
            None => peer.args(&command),
        };
        let started = Instant::now();
        let (_, stderr) = self.run(peer, args, QUICK + Duration::from_secs(SEND_WAIT));
        if !stderr.contains("a peer has downloaded the new messages") {
            self.fail(&format!(
                "`hychat send {text:?} --wait {SEND_WAIT}` on {} ({}): no peer downloaded it\nstderr: {stderr}",
                peer.host, peer.nick
            ));
        }
        started.elapsed()
    }

    /// `hychat follow KEY`.
    pub fn follow(&mut self, peer: &Peer, key: &str) {
        self.run(peer, peer.args(&["follow", key]), QUICK);
    }

    /// `hychat tail KEY --json` in the background.
    pub fn tail(&mut self, peer: &Peer, key: &str) -> Background {
        let what = format!("tail {}", &key[..8]);
        self.spawn(peer, &what, peer.args(&["tail", key, "--json"]))
    }

    /// `hychat [--room ROOM] seed` in the background, once it says it runs.
    pub fn seed(&mut self, peer: &Peer, room: Option<&str>) -> Background {
        let args = match room {
            Some(room) => peer.room_args(room, &["seed"]),
            None => peer.args(&["seed"]),
        };
        let mut seed = self.spawn(peer, "seed", args);
        if seed
            .wait_for_line(QUICK, |l| l.starts_with("seeding every log"))
            .is_none()
        {
            self.fail(&format!("hychat seed on {} did not start", peer.host));
        }
        seed
    }

    /// `hychat bootstrap` on `host`'s address and `DHT_PORT`, once it
    /// listens. Returns the process and the address to give peers.
    pub fn bootstrap_node(&mut self, host: &'static str) -> (Background, String) {
        let storage = self.storage(&format!("{host}-bootstrap"));
        let ip = self.lab.addr(host).to_string();
        let args: Vec<String> = [
            "--storage",
            storage.to_str().expect("a UTF-8 temp path"),
            "bootstrap",
            "--host",
            &ip,
            "--port",
            &DHT_PORT.to_string(),
        ]
        .map(str::to_string)
        .to_vec();
        let name = format!("hychat bootstrap (on {host})");
        let mut node = self.lab.spawn(host, &name, &args);
        self.watch(&storage, &node);
        let address = self.lab.dht_addr(host);
        let expected = format!("bootstrap node listening on {address}");
        if node.wait_for_line(QUICK, |l| l == expected).is_none() {
            self.fail(&format!(
                "the hychat bootstrap node on {host} did not start"
            ));
        }
        (node, address)
    }

    /// A JS DHT node (`bootstrap.js`) on `host`, joined to `bootstrap`.
    pub fn js_dht_node(&mut self, host: &'static str, bootstrap: &str) -> Background {
        let ip = self.lab.addr(host).to_string();
        let args = [DHT_PORT.to_string(), ip, bootstrap.to_string()];
        let name = format!("js DHT node (on {host})");
        let mut node = self.lab.spawn_js(host, &name, "bootstrap.js", &args);
        self.transcripts.push((PathBuf::new(), node.transcript()));
        let expected = format!("BOOTSTRAP {}", self.lab.dht_addr(host));
        if node
            .wait_for_line(super::js::JS_STARTUP, |l| l == expected)
            .is_none()
        {
            self.fail(&format!("the JS DHT node on {host} did not start"));
        }
        node
    }

    /// A JS process that has no hychat log (writer, viewer).
    pub fn js(
        &mut self,
        host: &'static str,
        name: &str,
        script: &str,
        args: &[String],
    ) -> Background {
        let process = self.lab.spawn_js(host, name, script, args);
        self.transcripts
            .push((PathBuf::new(), process.transcript()));
        process
    }

    /// A fresh storage directory for a JS peer.
    pub fn js_storage(&mut self, what: &str) -> PathBuf {
        self.temp_dir(&format!("js-{what}"))
    }

    /// Reads `tail --json` lines until one carries `text`; fails the
    /// scenario after `bound`. Returns how long it took.
    pub fn expect_text(&self, tail: &mut Background, text: &str, bound: Duration) -> Duration {
        let started = Instant::now();
        let found = tail.wait_for_line(bound, |line| {
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|value| value["text"] == text)
        });
        if found.is_none() {
            self.fail(&format!(
                "{} printed no message {text:?} within {bound:?}",
                tail.name()
            ));
        }
        started.elapsed()
    }

    /// Reads a seed's lines until `accept` takes one; fails after `bound`.
    pub fn expect_line(
        &self,
        process: &mut Background,
        what: &str,
        bound: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> String {
        process.wait_for_line(bound, accept).unwrap_or_else(|| {
            self.fail(&format!(
                "{} never said {what} within {bound:?}",
                process.name()
            ))
        })
    }

    /// Reads a process's lines until every one of `wanted` matched a line
    /// (in any order); fails after `bound`.
    pub fn expect_all(&self, process: &mut Background, bound: Duration, wanted: &[LineCheck]) {
        let deadline = Instant::now() + bound;
        let mut seen = vec![false; wanted.len()];
        while seen.iter().any(|s| !s) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(line) = process.next_line(left) else {
                let missing: Vec<&str> = wanted
                    .iter()
                    .zip(&seen)
                    .filter(|(_, seen)| !**seen)
                    .map(|((what, _), _)| *what)
                    .collect();
                self.fail(&format!(
                    "{} never said {} within {bound:?}",
                    process.name(),
                    missing.join(", ")
                ));
            };
            for (i, (_, accept)) in wanted.iter().enumerate() {
                seen[i] |= accept(&line);
            }
        }
    }

    /// Waits until `peer` holds `text` in its local index of `key`'s log
    /// (`logs/KEY/index.jsonl`), in `room` when given; fails after `bound`.
    pub fn expect_in_index(
        &self,
        peer: &Peer,
        key: &str,
        text: &str,
        room: Option<&str>,
        bound: Duration,
    ) {
        let path = peer.storage.join("feeds").join(key).join("index.jsonl");
        let deadline = Instant::now() + bound;
        loop {
            let index = std::fs::read_to_string(&path).unwrap_or_default();
            let found = index.lines().any(|line| {
                serde_json::from_str::<serde_json::Value>(line).is_ok_and(|value| {
                    line.contains(text)
                        && room.is_none_or(|room| {
                            value["room"] == room
                                || value["message"]["room"] == room
                                || line.contains(&format!("\"room\":\"{room}\""))
                        })
                })
            });
            if found {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "{} ({}) does not hold {text:?} in {} after {bound:?}:\n{index}",
                    peer.nick,
                    peer.host,
                    path.display()
                ));
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// The check every scenario ends with: no hychat of the scenario
    /// panicked without recovering (see `uncaught_panics`).
    pub fn check_no_uncaught_panics(&self) {
        let mut problems = Vec::new();
        for storage in &self.storages {
            let log = std::fs::read_to_string(storage.join("hychat.log")).unwrap_or_default();
            let stderr: Vec<String> = self
                .transcripts
                .iter()
                .filter(|(dir, _)| dir == storage)
                .map(|(_, transcript)| transcript.describe())
                .collect();
            if let Some(problem) = uncaught_panics(&log, &stderr) {
                problems.push(format!(
                    "{}: {problem}",
                    storage.join("hychat.log").display()
                ));
            }
        }
        if !problems.is_empty() {
            self.fail(&format!(
                "a hychat panicked without recovering:\n{}",
                problems.join("\n")
            ));
        }
    }

    /// Ends the scenario: the panic check, then its timings.
    pub fn finish(self) -> Vec<Timing> {
        self.check_no_uncaught_panics();
        self.timings.clone()
    }
}

/// The phrase hychat logs when it caught a panic and went on.
pub const RECOVERED: &str = "recovered from a panic";

/// Whether a hychat panicked without recovering: in its log file (where
/// the stderr of every command but `bootstrap` goes), every line with
/// `panicked at` must be followed by a line with `recovered from a panic`.
/// `hychat bootstrap` keeps its stderr, so a panic printed there (any of
/// `outputs`) must be answered by a recovery line in the log file.
pub fn uncaught_panics(log: &str, outputs: &[String]) -> Option<String> {
    let lines: Vec<&str> = log.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.contains("panicked at") && !lines[i + 1..].iter().any(|l| l.contains(RECOVERED)) {
            return Some(format!("`{}` is followed by no recovery line", line.trim()));
        }
    }
    for output in outputs {
        if let Some(line) = output.lines().find(|l| l.contains("panicked at")) {
            if !log.contains(RECOVERED) {
                return Some(format!(
                    "the process printed `{}` and the log has no recovery line",
                    line.trim()
                ));
            }
        }
    }
    None
}

/// Waits for a background process to exit by itself, at most `bound`.
pub fn wait_exit(process: &mut Background, bound: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + bound;
    while process.is_running() {
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
    process.terminate()
}

/// The scenarios the lab tests assert and the lab bench times. Each builds
/// its processes on the lab, fails with a full report, ends with the panic
/// check, and returns its timings (the first is the first message).
pub mod scenarios {
    use super::*;

    /// Two hychats follow each other: each one's history reaches the other
    /// (both tails started after the messages were written), then each one's
    /// live message reaches the other's running tail (`send --wait`).
    pub fn two_way(scene: &mut Scene, a: &'static str, b: &'static str, bootstrap: &str) {
        let routers: Vec<&str> = [a, b]
            .iter()
            .filter_map(|host| scene.lab.router_of(host))
            .collect();
        let before: Vec<u64> = routers.iter().map(|r| scene.lab.masqueraded(r)).collect();
        let ann = scene.peer(a, "ann", bootstrap);
        let bob = scene.peer(b, "bob", bootstrap);
        let key_ann = scene.key(&ann);
        let key_bob = scene.key(&bob);
        scene.follow(&ann, &key_bob);
        scene.follow(&bob, &key_ann);
        let history_ann = scene.text(&format!("history from ann on {a}"));
        let history_bob = scene.text(&format!("history from bob on {b}"));
        scene.send(&ann, None, &history_ann);
        scene.send(&bob, None, &history_bob);

        let mut tail_on_ann = scene.tail(&ann, &key_bob);
        let mut tail_on_bob = scene.tail(&bob, &key_ann);
        let took = scene.expect_text(&mut tail_on_bob, &history_ann, ARRIVAL);
        scene.record(&format!("history {a} -> {b}"), took);
        let took = scene.expect_text(&mut tail_on_ann, &history_bob, ARRIVAL);
        scene.record(&format!("history {b} -> {a} (after the other)"), took);

        // Live, bob to ann: bob's storage is free once his tail stops.
        tail_on_bob.terminate();
        let live_bob = scene.text(&format!("live from bob on {b}"));
        let started = Instant::now();
        scene.send_and_wait(&bob, None, &live_bob);
        scene.expect_text(&mut tail_on_ann, &live_bob, Duration::from_secs(15));
        scene.record(&format!("live {b} -> {a}"), started.elapsed());

        // Live, ann to bob: bob tails again (ann's history first).
        let mut tail_on_bob = scene.tail(&bob, &key_ann);
        scene.expect_text(&mut tail_on_bob, &history_ann, ARRIVAL);
        tail_on_ann.terminate();
        let live_ann = scene.text(&format!("live from ann on {a}"));
        let started = Instant::now();
        scene.send_and_wait(&ann, None, &live_ann);
        scene.expect_text(&mut tail_on_bob, &live_ann, Duration::from_secs(15));
        scene.record(&format!("live {a} -> {b}"), started.elapsed());
        tail_on_bob.terminate();
        // The messages really crossed each NAT on the way.
        for (router, before) in routers.iter().zip(before) {
            if scene.lab.masqueraded(router) <= before {
                scene.fail(&format!("the NAT of {router} masqueraded nothing"));
            }
        }
    }

    /// Whether a seed line says it holds `short`'s log complete with at
    /// least `blocks` blocks: `HH:MM:SS log SHORT D/L` with D = L >= blocks.
    pub fn holds(line: &str, short: &str, blocks: u64) -> bool {
        let Some((_, progress)) = line.split_once(&format!(" log {short} ")) else {
            return false;
        };
        let Some((downloaded, length)) = progress.trim().split_once('/') else {
            return false;
        };
        match (downloaded.parse::<u64>(), length.parse::<u64>()) {
            (Ok(downloaded), Ok(length)) => downloaded == length && length >= blocks,
            _ => false,
        }
    }

    /// Scenario 1: two hosts on one LAN, a hychat bootstrap node on a third.
    pub fn lan(lab: &Lab) -> Vec<Timing> {
        let mut scene = Scene::new(lab, "lan");
        let (node, address) = scene.bootstrap_node(LANDHT);
        two_way(&mut scene, LAN1, LAN2, &address);
        drop(node);
        scene.finish()
    }

    /// Scenario 2a: a public host and a host behind a cone NAT.
    pub fn public_and_cone(lab: &Lab) -> Vec<Timing> {
        let mut scene = Scene::new(lab, "public-cone");
        let (node, address) = scene.bootstrap_node(DHT);
        two_way(&mut scene, PUB1, CONE1, &address);
        drop(node);
        scene.finish()
    }

    /// Scenario 2b: two hosts behind two cone NATs.
    pub fn cone_and_cone(lab: &Lab) -> Vec<Timing> {
        let mut scene = Scene::new(lab, "cone-cone");
        let (node, address) = scene.bootstrap_node(DHT);
        two_way(&mut scene, CONE1, CONE2, &address);
        drop(node);
        scene.finish()
    }

    /// Scenario 3: a writer and a reader behind two NATs that cannot reach
    /// each other, and a seed on a public host that follows the writer:
    /// history, live, and with the writer offline.
    pub fn seed_between_blocked_nats(lab: &Lab) -> Vec<Timing> {
        let mut scene = Scene::new(lab, "seed-relay");
        let (node, address) = scene.bootstrap_node(DHT);
        let block = lab.block(CONE1_ROUTER, CONE2_ROUTER);
        let writer = scene.peer(CONE1, "wendy", &address);
        let reader = scene.peer(CONE2, "rita", &address);
        let seeder = scene.peer(PUB1, "seed", &address);
        let key = scene.key(&writer);
        let short = key[..8].to_string();
        scene.follow(&seeder, &key);
        let history = scene.text("history from wendy behind cone1");
        scene.send(&writer, None, &history);

        let mut seed = scene.seed(&seeder, None);
        let mut writer_online = scene.seed(&writer, None);
        let started = Instant::now();
        scene.expect_line(&mut seed, "that it holds wendy's log", ARRIVAL, |l| {
            holds(l, &short, 1)
        });
        let mut tail = scene.tail(&reader, &key);
        scene.expect_text(&mut tail, &history, ARRIVAL);
        scene.record(
            "history cone1-pc -> seed on pub1 -> cone2-pc",
            started.elapsed(),
        );

        writer_online.terminate();
        let live = scene.text("live from wendy behind cone1");
        let started = Instant::now();
        scene.send_and_wait(&writer, None, &live);
        scene.expect_text(&mut tail, &live, Duration::from_secs(20));
        scene.record("live cone1-pc -> seed -> cone2-pc", started.elapsed());

        tail.terminate();
        let offline = scene.text("sent by wendy before she went offline");
        scene.send_and_wait(&writer, None, &offline);
        // The writer's process has ended: only the seed holds this message.
        let mut tail = scene.tail(&reader, &key);
        let took = scene.expect_text(&mut tail, &offline, ARRIVAL);
        scene.record("writer offline: seed -> cone2-pc", took);
        tail.terminate();
        drop(seed);
        eprintln!(
            "[seed-relay] the drop rule between cone1 and cone2 dropped {} packets",
            block.dropped()
        );
        drop(block);
        drop(node);
        scene.finish()
    }

    /// Scenario 4: a room of three, two members behind NATs that cannot
    /// reach each other and a public `--room R seed`; each member's
    /// messages reach the other, from before they met and live.
    pub fn room_between_blocked_nats(lab: &Lab) -> Vec<Timing> {
        let mut scene = Scene::new(lab, "room");
        let (node, address) = scene.bootstrap_node(DHT);
        let block = lab.block(CONE1_ROUTER, CONE2_ROUTER);
        let room = format!("lab-room-{}", std::process::id());
        let room = room.as_str();
        let mia = scene.peer(CONE1, "mia", &address);
        let max = scene.peer(CONE2, "max", &address);
        let host = scene.peer(PUB1, "host", &address);
        let key_mia = scene.key(&mia);
        let key_max = scene.key(&max);
        let (short_mia, short_max) = (key_mia[..8].to_string(), key_max[..8].to_string());
        let from_mia = scene.text("mia writes in the room from behind cone1");
        let from_max = scene.text("max writes in the room from behind cone2");
        scene.send(&mia, Some(room), &from_mia);
        scene.send(&max, Some(room), &from_max);

        let host_seed = scene.seed(&host, Some(room));
        let started = Instant::now();
        let mut mia_seed = scene.seed(&mia, Some(room));
        let mut max_seed = scene.seed(&max, Some(room));
        let met_mia = format!("met {short_mia} in #{room}");
        let met_max = format!("met {short_max} in #{room}");
        scene.expect_all(
            &mut max_seed,
            ARRIVAL,
            &[
                ("that it met mia", &|l: &str| l.ends_with(&met_mia)),
                ("that it holds mia's log", &|l: &str| {
                    holds(l, &short_mia, 1)
                }),
            ],
        );
        scene.expect_in_index(&max, &key_mia, &from_mia, Some(room), QUICK);
        scene.record(
            "room: cone1-pc's message reaches cone2-pc",
            started.elapsed(),
        );
        scene.expect_all(
            &mut mia_seed,
            ARRIVAL,
            &[
                ("that it met max", &|l: &str| l.ends_with(&met_max)),
                ("that it holds max's log", &|l: &str| {
                    holds(l, &short_max, 1)
                }),
            ],
        );
        scene.expect_in_index(&mia, &key_max, &from_max, Some(room), QUICK);
        scene.record(
            "room: cone2-pc's message reaches cone1-pc",
            started.elapsed(),
        );

        // Live: max is online while mia writes.
        mia_seed.terminate();
        let live = scene.text("mia writes live in the room");
        let started = Instant::now();
        scene.send_and_wait(&mia, Some(room), &live);
        scene.expect_line(
            &mut max_seed,
            "that it holds mia's live message",
            ARRIVAL,
            |l| holds(l, &short_mia, 2),
        );
        scene.expect_in_index(&max, &key_mia, &live, Some(room), QUICK);
        scene.record("room live: cone1-pc -> cone2-pc", started.elapsed());
        drop(max_seed);
        drop(host_seed);
        eprintln!(
            "[room] the drop rule between cone1 and cone2 dropped {} packets",
            block.dropped()
        );
        drop(block);
        drop(node);
        scene.finish()
    }

    /// A JS writer on `host` (hypercore 10, both sides of its topic):
    /// started, its key read, and joined to its topic, each within `bound`.
    /// `Err` says which step did not happen.
    pub fn js_writer(
        scene: &mut Scene,
        host: &'static str,
        bootstrap: &str,
        bound: Duration,
    ) -> (Background, Result<String, String>) {
        let storage = scene.js_storage("writer");
        let args = [
            "--storage".to_string(),
            storage.to_str().expect("a UTF-8 temp path").to_string(),
            "--bootstrap".to_string(),
            bootstrap.to_string(),
        ];
        let name = format!("js writer (on {host})");
        let mut writer = scene.js(host, &name, "writer.js", &args);
        let key = writer
            .wait_for_line(bound, |l| l.starts_with("KEY ") || l.starts_with("FATAL"))
            .and_then(|l| l.strip_prefix("KEY ").map(str::to_string));
        let Some(key) = key.filter(|k| super::super::is_key(k)) else {
            return (
                writer,
                Err(format!("the JS writer on {host} printed no key")),
            );
        };
        let joined = writer.wait_for_line(bound, |l| l == "JOINED" || l.starts_with("FATAL"));
        if joined.as_deref() != Some("JOINED") {
            return (
                writer,
                Err(format!(
                    "the JS writer on {host} did not join its topic within {bound:?}"
                )),
            );
        }
        (writer, Ok(key))
    }

    /// A JS viewer of `key` on `host`.
    pub fn js_viewer(
        scene: &mut Scene,
        host: &'static str,
        key: &str,
        bootstrap: &str,
    ) -> Background {
        let storage = scene.js_storage("viewer");
        let args = super::super::js::viewer_args(key, &storage, bootstrap);
        let name = format!("js viewer (on {host})");
        scene.js(host, &name, "viewer.js", &args)
    }

    /// Whether a viewer line is the block with `text`.
    pub fn viewer_shows(line: &str, text: &str) -> bool {
        serde_json::from_str::<serde_json::Value>(line)
            .is_ok_and(|value| value["block"]["text"] == text)
    }

    /// The JS writer behind cone1 and the JS viewer behind cone2, both
    /// bootstrapping from `bootstrap`: the writer appends one message and
    /// the viewer prints it. `Err` says which step did not happen.
    pub fn js_pair(
        scene: &mut Scene,
        bootstrap: &str,
        bound: Duration,
    ) -> Result<Duration, String> {
        let (mut writer, key) = js_writer(scene, CONE1, bootstrap, bound);
        let key = key.map_err(|e| format!("{e}\n{}", writer.describe()))?;
        let mut viewer = js_viewer(scene, CONE2, &key, bootstrap);
        let text = scene.text("from the JS writer behind cone1");
        let started = Instant::now();
        writer.write_line(&text);
        if writer
            .wait_for_line(bound, |l| l.starts_with("APPENDED 0 "))
            .is_none()
        {
            return Err("the JS writer did not append".into());
        }
        match viewer.wait_for_line(bound, |l| viewer_shows(l, &text)) {
            Some(_) => Ok(started.elapsed()),
            None => Err(format!(
                "the JS viewer behind cone2 did not get the writer's message within {bound:?}\n{}\n{}",
                writer.describe(),
                viewer.describe()
            )),
        }
    }

    /// Two hychats on public hosts meet through `bootstrap` alone: ann's
    /// history reaches bob's tail. Returns how long that took.
    pub fn hychats_meet(scene: &mut Scene, bootstrap: &str) -> Duration {
        let ann = scene.peer(PUB1, "ann", bootstrap);
        let bob = scene.peer(PUB2, "bob", bootstrap);
        let key = scene.key(&ann);
        let text = scene.text("ann on pub1, through the hychat node");
        scene.send(&ann, None, &text);
        let seed = scene.seed(&ann, None);
        let mut tail = scene.tail(&bob, &key);
        let took = scene.expect_text(&mut tail, &text, ARRIVAL);
        drop(tail);
        drop(seed);
        took
    }

    /// Scenario 5: JS peers behind two NATs meet on a DHT of a hychat
    /// bootstrap node and three JS DHT nodes; then two hychats meet through
    /// the hychat node alone.
    pub fn js_on_a_mixed_dht(lab: &Lab) -> Vec<Timing> {
        let mut scene = Scene::new(lab, "js-mixed-dht");
        let (node, address) = scene.bootstrap_node(DHT);
        let js_nodes: Vec<Background> = JS_DHT_HOSTS
            .iter()
            .map(|host| scene.js_dht_node(host, &address))
            .collect();
        let mut list = vec![address.clone()];
        list.extend(JS_DHT_HOSTS.iter().map(|host| lab.dht_addr(host)));
        let list = list.join(",");
        match js_pair(&mut scene, &list, ARRIVAL) {
            Ok(took) => scene.record("JS cone1-pc -> JS cone2-pc", took),
            Err(e) => scene.fail(&e),
        }
        let took = hychats_meet(&mut scene, &address);
        scene.record("then hychat pub1 -> pub2 through the hychat node", took);
        drop(js_nodes);
        drop(node);
        scene.finish()
    }

    /// Scenario 5, the other variant: the hychat node is the JS peers' only
    /// DHT node. Whether the JS peers connect is only reported; two hychats
    /// must meet through the node afterwards.
    pub fn js_on_a_hychat_only_dht(lab: &Lab) -> Vec<Timing> {
        let mut scene = Scene::new(lab, "js-hychat-only-dht");
        let (node, address) = scene.bootstrap_node(DHT);
        let started = Instant::now();
        match js_pair(&mut scene, &address, Duration::from_secs(20)) {
            Ok(took) => scene.record("JS cone1-pc -> JS cone2-pc", took),
            Err(e) => eprintln!(
                "[js-hychat-only-dht] after {:.1} s: {e} (allowed: the node is their only DHT node)",
                started.elapsed().as_secs_f64()
            ),
        }
        let took = hychats_meet(&mut scene, &address);
        scene.record("then hychat pub1 -> pub2 through the hychat node", took);
        drop(node);
        let log = std::fs::read_to_string(scene.storages[0].join("hychat.log")).unwrap_or_default();
        let recovered = log.matches(RECOVERED).count();
        eprintln!("[js-hychat-only-dht] the hychat node recovered from {recovered} panics");
        if recovered == 0 {
            scene.fail(
                "the JS peers never made the hychat node panic, so this scenario no longer \
                 exercises its recovery (did the JS peers stop relaying holepunches through it?)",
            );
        }
        scene.finish()
    }

    /// What `hychat seed` says about the network on hosts in each kind of
    /// place, and about each connection's route: a public host (no NAT,
    /// reachable), a host behind a port-preserving NAT, one behind a NAT
    /// with a new port per destination (told apart with two DHT nodes), and
    /// two hosts on one LAN. Each host's facts come from DHT nodes on other
    /// hosts, so a report computed on one machine could not pass.
    pub fn network_report(lab: &Lab) -> Vec<Timing> {
        let mut scene = Scene::new(lab, "network-report");
        let (node, first) = scene.bootstrap_node(DHT);
        let (second_node, second) = scene.bootstrap_node(PUB2);
        let (lan_node, lan_address) = scene.bootstrap_node(LANDHT);
        let both = format!("{first},{second}");
        let public = scene.peer(PUB1, "pat", &both);
        let cone = scene.peer(CONE1, "cody", &both);
        let random = scene.peer(RAND1, "rae", &both);
        let lan_a = scene.peer(LAN1, "lea", &lan_address);
        let lan_b = scene.peer(LAN2, "leo", &lan_address);
        let key_public = scene.key(&public);
        let key_cone = scene.key(&cone);
        let key_lan_a = scene.key(&lan_a);
        let key_lan_b = scene.key(&lan_b);
        scene.follow(&public, &key_cone);
        scene.follow(&cone, &key_public);
        scene.follow(&lan_a, &key_lan_b);
        scene.follow(&lan_b, &key_lan_a);
        let started = Instant::now();
        let mut seeds: Vec<Background> = [&public, &cone, &random, &lan_a, &lan_b]
            .into_iter()
            .map(|peer| scene.seed(peer, None))
            .collect();
        let public_ip = lab.addr(PUB1).to_string();
        let cone_ip = lab.addr(CONE1_ROUTER).to_string();
        let random_ip = lab.addr(RAND1_ROUTER).to_string();
        let report = |line: &str, facts: &[&str], not: &[&str]| {
            line.contains(" network local ")
                && facts.iter().all(|f| line.contains(f))
                && !not.iter().any(|f| line.contains(f))
        };
        let public_public = format!("public {public_ip}");
        let cone_public = format!("public {cone_ip}");
        let random_public = format!("public {random_ip}");
        let lan_a_public = format!("public {}", lab.addr(LAN1));
        let checks: [(&str, usize, Vec<&str>, Vec<&str>); 5] = [
            (
                "public host",
                0,
                vec![&public_public, "no NAT", "reachable from outside"],
                vec!["not reachable"],
            ),
            (
                "cone NAT",
                1,
                vec![
                    &cone_public,
                    "port-preserving NAT",
                    "not reachable from outside",
                ],
                vec![],
            ),
            (
                "random NAT",
                2,
                vec![
                    &random_public,
                    "NAT with a new port per destination",
                    "not reachable from outside",
                ],
                vec![],
            ),
            (
                "LAN host",
                3,
                vec![&lan_a_public, "no NAT", "reachable from outside"],
                vec!["not reachable"],
            ),
            ("other LAN host", 4, vec!["no NAT"], vec!["not reachable"]),
        ];
        for (place, index, facts, not) in &checks {
            let seen = seeds[*index].wait_for_line(ARRIVAL, |l| report(l, facts, not));
            if seen.is_none() {
                scene.fail(&format!(
                    "the {place}'s seed never reported {facts:?} (without {not:?})"
                ));
            }
        }
        scene.record("every host knows where it is", started.elapsed());
        // Each connection says where its peer is, and whose log it carries.
        let short = |key: &str| key[..8].to_string();
        let routes: [(usize, String, String); 4] = [
            (0, short(&key_cone), format!("via internet, {cone_ip}")),
            (1, short(&key_public), format!("via internet, {public_ip}:")),
            (
                3,
                short(&key_lan_b),
                format!("via LAN, {}:", lab.addr(LAN2)),
            ),
            (
                4,
                short(&key_lan_a),
                format!("via LAN, {}:", lab.addr(LAN1)),
            ),
        ];
        for (index, log, route) in &routes {
            // The peer's own log, not marked relayed (nor is ours, which it
            // holds because it follows us).
            let relayed = format!("{log} (relayed)");
            let seen = seeds[*index].wait_for_line(ARRIVAL, |l| {
                l.contains(" replicates [")
                    && l.contains(log.as_str())
                    && !l.contains(&relayed)
                    && !l.contains("(relayed)")
                    && l.contains(route.as_str())
            });
            if seen.is_none() {
                scene.fail(&format!(
                    "seed {index} never showed the peer writing {log} with its route '{route}'"
                ));
            }
        }
        scene.record("every connection knows its route", started.elapsed());
        seeds.clear();
        drop((node, second_node, lan_node));
        scene.finish()
    }

    /// The full-screen chat on a host behind a port-preserving NAT, in a
    /// real terminal (tmux): its network pane (F2) shows the public address
    /// and NAT the DHT nodes report and a connection to a public host over
    /// the internet, and a message typed there reaches a reader on another
    /// public host.
    pub fn tui_behind_a_nat(lab: &Lab) -> Vec<Timing> {
        use super::super::tmux::{ensure_tmux, Tmux};
        ensure_tmux();
        let mut scene = Scene::new(lab, "tui-behind-a-nat");
        let (node, address) = scene.bootstrap_node(DHT);
        let (second_node, second) = scene.bootstrap_node(PUB2);
        let both = format!("{address},{second}");
        let chat = scene.peer(CONE1, "tess", &both);
        let public = scene.peer(PUB1, "pat", &both);
        let reader = scene.peer(PUB2, "rob", &both);
        let key_chat = scene.key(&chat);
        let key_public = scene.key(&public);
        scene.follow(&chat, &key_public);
        scene.follow(&public, &key_chat);
        let seed = scene.seed(&public, None);
        let mut tmux = Tmux::new();
        let script = format!(
            "{}; echo EXITED:$?; sleep 600",
            lab.shell_line(CONE1, &chat.args(&[]))
        );
        tmux.new_session("tess", 120, 36, &script);
        let started = Instant::now();
        let cone_ip = lab.addr(CONE1_ROUTER).to_string();
        let public_ip = lab.addr(PUB1).to_string();
        let fail = |scene: &Scene, tmux: &Tmux, what: &str| -> ! {
            scene.fail(&format!(
                "{what}\n===== the chat =====\n{}",
                tmux.try_capture("tess")
            ))
        };
        let wait = |tmux: &Tmux, accept: &dyn Fn(&str) -> bool| {
            let deadline = Instant::now() + ARRIVAL;
            while Instant::now() < deadline {
                if accept(&tmux.capture("tess")) {
                    return true;
                }
                thread::sleep(Duration::from_millis(200));
            }
            false
        };
        let status_facts = format!("public {cone_ip}");
        if !wait(&tmux, &|screen| {
            screen.contains(&status_facts) && screen.contains("port-preserving NAT")
        }) {
            fail(
                &scene,
                &tmux,
                "the status bar never showed the public address and the NAT",
            );
        }
        scene.record("the status bar knows the NAT", started.elapsed());
        tmux.run(&["send-keys", "-t", "tess", "F2"]);
        let route = format!("internet · {public_ip}:");
        let public_address = format!("{cone_ip} (as DHT nodes see it)");
        if !wait(&tmux, &|screen| {
            screen.contains("port-preserving NAT: peers behind")
                && screen.contains(&public_address)
                && screen.contains("no (a NAT or firewall drops unsolicited traffic)")
                && screen.contains(&route)
        }) {
            fail(&scene, &tmux, "the network pane never showed the NAT, the public address and the route to the public host");
        }
        scene.record("the network pane shows the route", started.elapsed());
        tmux.run(&["send-keys", "-t", "tess", "Escape"]);
        let text = scene.text("typed in the chat behind a NAT");
        tmux.type_line("tess", &text);
        let mut tail = scene.tail(&reader, &key_chat);
        let took = scene.expect_text(&mut tail, &text, ARRIVAL);
        scene.record("typed message -> a reader on a public host", took);
        tmux.type_line("tess", "/quit");
        if !wait(&tmux, &|screen| screen.contains("EXITED:0")) {
            fail(&scene, &tmux, "the chat did not quit cleanly");
        }
        drop((tail, seed, node, second_node));
        scene.finish()
    }
}
