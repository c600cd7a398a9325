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
//!                         └─ cone1-pc, cone2-pc, rand1-pc, rand2-pc (.2)
//!   cone1's home has a switch (cone1-sw, a bridge) and a second host:
//!     cone1 (10.0.1.1) ─ cone1-sw ─┬─ cone1-pc  10.0.1.2
//!                                  └─ cone1-pc2 10.0.1.3
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
//!   `iptables` rule there can cut two homes apart (`Lab::block`): the
//!   seed and room scenarios make "two NAT'd peers that cannot reach each
//!   other" of two cone homes that way. The two random homes are the other
//!   such pair, which no holepunch can join (`nat_pairs`).
//! - Home routers accept only ESTABLISHED,RELATED traffic from their WAN
//!   (FORWARD and INPUT); the rest from the WAN is dropped. They do not
//!   hairpin: a packet from a home host to its router's public address is
//!   the router's own (no DNAT rule sends it back in), so two hosts behind
//!   cone1 reach each other only on their home network (`same_router`
//!   checks that before it relies on it).
//!
//! Lifetime, the simplest robust design: the test binary builds one lab on
//! first use (`Lab::shared`) and hands it to one test at a time (a mutex:
//! tests change its drop rules). The same guard holds the harness's
//! `one_at_a_time` lock, so a lab test never runs beside the other tests
//! that start several processes (tmux, JS peers) in the same binary: side
//! by side on 2 cores they would only measure the contention. The tests of
//! the binary that start no such processes (`cli`) still run in parallel
//! with them. The lab is removed when the test process exits
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
//! The files: this one builds the topology and owns the namespaces
//! (`Lab`, `Block`); `hosts` names the hosts and their addresses; `scene`
//! runs hychat and JS processes on the hosts for one scenario and writes
//! its failure report (`Scene`, `Peer`, `uncaught_panics`); `scenarios`
//! holds the scenarios themselves, and `nat_pairs` the chat across each
//! pair of NATs with either side dialing, both shared by the tests
//! (`tests/binary/lab.rs`) and the bench (`benches/lab.rs`), so the bench
//! measures exactly what the tests assert; `robustness` the runs where a
//! peer or a DHT node dies under hychat (a server killed mid-punch, a
//! relay node killed and restarted); `first_dials` the first dials of
//! fresh JS servers across each pair of NATs, on a DHT of JS nodes, with
//! no retries (issue 30); `same_router` the two hosts behind cone1, which
//! connect over their home network (the LAN shortcut), hychat and JS alike;
//! `blind_relay` a relay that dies under a stream it carries.
//! Each scenario ends with one
//! check on every hychat log it made (`uncaught_panics`): a panic must be
//! followed by hychat's `recovered from a panic` line; the scenarios on
//! the all-hychat DHT (JS pairs, `hychat dial` of JS writers, the NAT
//! pairs) also want no panic at all from its bootstrap nodes
//! (`Scene::check_nodes_never_panicked`), each `hychat dial` none at all
//! either, and no UDP socket left on its host once it exited
//! (`Lab::udp_sockets`), and each hychat of the NAT pairs none at all and
//! a clean exit on SIGTERM. Every wait is bounded and every process is
//! stopped by its pid (`Background`).
//! `HYCHAT_LAB_KEEP=1` keeps the storage directories (and their
//! `hychat.log`) after the run and prints where they are.

pub mod blind_relay;
pub mod first_dials;
pub mod hosts;
pub mod logs;
pub mod nat_pairs;
pub mod records;
pub mod robustness;
pub mod same_router;
pub mod scenarios;
pub mod scene;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::ops::Deref;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use super::bin::{BIN, HYCHAT_ENV};
use super::js;
use super::process::{one_at_a_time, Background};

use hosts::{
    Home, DHT_PORT, HOMES, INET, INET_HOMES, INET_PUBLIC, LAN_HOSTS, LAN_SWITCH, PUBLIC_HOSTS,
};

/// The environment variable that turns hychat's LAN shortcut off (`off`):
/// every lab process starts without it unless a scenario sets it.
pub const LAN_SHORTCUT: &str = "HYCHAT_LAN_SHORTCUT";

/// What a failed build says, before the detail.
const NEEDS: &str = "the network lab needs root and iproute2 + iptables: run the tests as root, \
                     or run .ci/run which installs them";

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
    /// a time (which also holds `one_at_a_time`, see the module header).
    /// Panics with one sentence when it cannot be built.
    pub fn shared() -> SharedLab {
        let one_at_a_time = one_at_a_time();
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
            Ok(lab) => SharedLab {
                lab: lab.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
                _one_at_a_time: one_at_a_time,
            },
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
        let mut hosts = vec![(home.host, Ipv4Addr::new(10, 0, home.subnet, 2))];
        self.add_host(home.host)?;
        match home.second {
            None => self.veth(router, "lan", home.host, "eth0")?,
            Some((second, switch)) => {
                hosts.push((second, Ipv4Addr::new(10, 0, home.subnet, 3)));
                self.add_host(second)?;
                self.add_host(switch)?;
                self.ip_in(switch, &["link", "add", "br0", "type", "bridge"])?;
                self.ip_in(switch, &["link", "set", "br0", "up"])?;
                self.veth(router, "lan", switch, "p-router")?;
                self.veth(switch, "p-pc", home.host, "eth0")?;
                self.veth(switch, "p-pc2", second, "eth0")?;
                for port in ["p-router", "p-pc", "p-pc2"] {
                    self.ip_in(switch, &["link", "set", port, "master", "br0", "up"])?;
                }
            }
        }
        self.ip_in(
            router,
            &["addr", "add", &format!("{gateway}/24"), "dev", "lan"],
        )?;
        self.ip_in(router, &["link", "set", "lan", "up"])?;
        for (host, host_addr) in hosts {
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
        }
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
        for name in HYCHAT_ENV
            .iter()
            .chain(&["HYCHAT_BIND", "HYCHAT_JS_HOST", LAN_SHORTCUT])
        {
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

    /// `spawn`, with `env` set for the process (the lab's own settings,
    /// such as `LAN_SHORTCUT`).
    pub fn spawn_with_env(
        &self,
        host: &str,
        name: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Background {
        let mut command = self.command(host, BIN);
        command.args(args);
        for (key, value) in env {
            command.env(key, value);
        }
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
        js::ensure_js_peers();
        let mut command = self.command(host, "node");
        command
            .arg(js::js_dir().join(script))
            .args(args)
            .env("HYCHAT_JS_HOST", "0.0.0.0");
        Background::spawn(name, command, true)
    }

    /// The UDP sockets open in `host`'s namespace (the kernel's
    /// `/proc/net/udp` and `udp6` lines, headers left out): every one
    /// belongs to a process still running on that host.
    pub fn udp_sockets(&self, host: &str) -> Vec<String> {
        let mut command = self.command(host, "cat");
        command.args(["/proc/net/udp", "/proc/net/udp6"]);
        let output = command
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot list the UDP sockets of {host}: {e}"));
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.trim_start().starts_with("sl "))
            .map(|l| l.trim().to_string())
            .collect()
    }

    /// The home router `host` sits behind, if it is behind one.
    pub fn router_of(&self, host: &str) -> Option<&'static str> {
        HOMES
            .iter()
            .find(|home| home.host == host || home.second.is_some_and(|(second, _)| second == host))
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

/// The lab for one test (`Lab::shared`): the lab's lock and the harness's
/// `one_at_a_time` lock, released in that order when the test ends.
pub struct SharedLab {
    lab: MutexGuard<'static, Lab>,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl Deref for SharedLab {
    type Target = Lab;

    fn deref(&self) -> &Lab {
        &self.lab
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
