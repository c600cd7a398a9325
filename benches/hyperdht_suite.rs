//! The hyperdht authors' own brittle tests against a DHT of hychat nodes,
//! beside the same tests on a DHT of JS nodes, in one run (a bench binary:
//! it prints counts and asserts nothing). Run with
//!
//! ```text
//! HYCHAT_HYPERDHT_SRC=/path/to/hyperdht cargo bench --bench hyperdht_suite
//! ```
//!
//! `HYCHAT_HYPERDHT_SRC` names a hyperdht source checkout: its `test/`
//! folder is not in the published package, so it is read from there and
//! never copied into this repository. For each file of `HYCHAT_SUITE_FILES`
//! (default `announces.js,storing.js,connections.js`, under its `test/`),
//! `tests/js/hyperdht-suite.js` runs the file twice against the installed
//! hyperdht (`tests/js`, hyperdht 6.34): once with the helpers' testnet
//! made of `hychat bootstrap` nodes (the release binary, at most
//! `HYCHAT_SUITE_NODES` per testnet, default 10), the tests' `nodes` being
//! ephemeral JS clients of it, and once with hyperdht's own testnet of JS
//! nodes. Printed per file and DHT: the tests passed, failed, skipped and
//! not finished, of the total, then each failure with its error. Each run
//! of a file is bounded by `HYCHAT_SUITE_FILE_SECS` (default 600) and its
//! output is kept under the cargo target's tmp folder.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

// This bench uses only `harness::bin`, `harness::js`, `harness::process`
// and `harness::env`.
#[allow(dead_code)]
#[path = "../tests/harness/mod.rs"]
mod harness;

use harness::bin::BIN;
use harness::env;
use harness::js::{ensure_js_peers, js_dir};
use harness::process::Background;

const DEFAULT_FILES: &str = "announces.js,storing.js,connections.js";

/// The authors' tests that cannot pass on a DHT of hychat nodes alone for a
/// reason outside hychat, and why. In that setup the `nodes` a test is
/// handed are ephemeral JS clients, not members of the DHT.
const NEEDS_A_JS_MEMBER: [(&str, &str); 4] = [
    (
        "server announces relay addrs",
        "it runs `findNode(a.id)` on a node of the testnet, and a client has no id",
    ),
    (
        "connect when we relay ourself",
        "it looks for the testnet node whose `remoteAddress()` relays the server; a client has none",
    ),
    (
        "bootstrap with suggested-IP",
        "it bootstraps a new node from a testnet node's address; a client listens on none",
    ),
    (
        "same-LAN explicit keypair opens server",
        "it fails on the DHT of JS nodes as well (hyperdht's own regression test of its LAN shortcut)",
    ),
];

/// Why a failed test was expected to fail on the DHT of hychat nodes.
fn expected_failure(failure: &str) -> Option<&'static str> {
    NEEDS_A_JS_MEMBER
        .iter()
        .find(|(name, _)| failure.contains(name))
        .map(|(_, why)| *why)
}
/// What the runner needs beyond the JS peers' packages.
const RUNNER_PACKAGES: [&str; 3] = ["brittle", "graceful-goodbye", "newline-decoder"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dht {
    Hychat,
    Js,
}

impl Dht {
    fn arg(self) -> &'static str {
        match self {
            Dht::Hychat => "hychat",
            Dht::Js => "js",
        }
    }
}

/// One test file's run on one DHT.
struct FileRun {
    pass: u64,
    fail: u64,
    skip: u64,
    unfinished: u64,
    /// `name: error` of each test that failed or did not finish.
    failures: Vec<String>,
    /// Why the run gave no summary, when it did not.
    broken: Option<String>,
    took: Duration,
}

impl FileRun {
    fn total(&self) -> u64 {
        self.pass + self.fail + self.skip + self.unfinished
    }

    fn line(&self) -> String {
        if let Some(why) = &self.broken {
            return format!("no result ({why})");
        }
        let mut text = format!(
            "{}/{} passed, {} failed",
            self.pass,
            self.total(),
            self.fail
        );
        if self.skip > 0 {
            text.push_str(&format!(", {} skipped", self.skip));
        }
        if self.unfinished > 0 {
            text.push_str(&format!(", {} not finished", self.unfinished));
        }
        text.push_str(&format!(" ({:.0} s)", self.took.as_secs_f64()));
        text
    }
}

fn checkout() -> PathBuf {
    let Some(src) = std::env::var_os("HYCHAT_HYPERDHT_SRC") else {
        panic!(
            "HYCHAT_HYPERDHT_SRC is not set: it must name a hyperdht source checkout whose \
             test/ folder holds the authors' brittle tests (they are not in the npm package)"
        );
    };
    let src = PathBuf::from(src);
    assert!(
        src.join("test").join("helpers").is_dir(),
        "HYCHAT_HYPERDHT_SRC is {}, which has no test/helpers folder: it must name a hyperdht \
         source checkout",
        src.display()
    );
    src
}

/// Kills what is left of the process group `pgid` (the runner and the
/// hychat nodes it started), which this bench created.
fn kill_group(pgid: u32) {
    // SAFETY: signalling a process group this bench created; ESRCH when it
    // is already gone is fine.
    unsafe {
        libc::killpg(pgid as libc::pid_t, libc::SIGKILL);
    }
}

fn run_file(src: &Path, file: &str, dht: Dht, max_nodes: u64, limit: Duration) -> FileRun {
    let mut command = Command::new("node");
    command
        .arg(js_dir().join("hyperdht-suite.js"))
        .arg("--src")
        .arg(src)
        .arg("--mode")
        .arg(dht.arg());
    if dht == Dht::Hychat {
        command
            .arg("--hychat")
            .arg(BIN)
            .arg("--max-nodes")
            .arg(max_nodes.to_string());
    }
    command
        .arg(file)
        .env("HYCHAT_SUITE_FILE_SECS", limit.as_secs().to_string())
        .process_group(0);
    let started = Instant::now();
    let mut runner = Background::spawn(&format!("{} on {}", file, dht.arg()), command, false);
    let pgid = runner.pid();
    // The runner bounds itself; this bound is for a runner that hangs.
    let summary =
        runner.wait_for_line(limit + Duration::from_secs(60), |l| l.starts_with("SUITE "));
    let took = started.elapsed();
    runner.terminate();
    kill_group(pgid);

    let transcript = runner.describe();
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("hyperdht-suite")
        .join(format!("{}-{}.txt", dht.arg(), file.replace('/', "_")));
    let _ = std::fs::create_dir_all(kept.parent().unwrap());
    let _ = std::fs::write(&kept, &transcript);

    let mut run = FileRun {
        pass: 0,
        fail: 0,
        skip: 0,
        unfinished: 0,
        failures: Vec::new(),
        broken: None,
        took,
    };
    let parsed = summary
        .as_deref()
        .and_then(|l| serde_json::from_str::<Value>(&l["SUITE ".len()..]).ok());
    let Some(summary) = parsed else {
        run.broken = Some(format!(
            "the runner printed no summary within {:?}; its output is in {}",
            limit + Duration::from_secs(60),
            kept.display()
        ));
        return run;
    };
    let count = |name: &str| summary["counts"][name].as_u64().unwrap_or(0);
    run.pass = count("pass");
    run.fail = count("fail");
    run.skip = count("skip");
    run.unfinished = count("unfinished");
    for test in summary["tests"].as_array().into_iter().flatten() {
        let result = test["result"].as_str().unwrap_or("?");
        if result == "fail" || result == "unfinished" {
            run.failures.push(format!(
                "{}{}: {}",
                test["name"].as_str().unwrap_or("?"),
                if result == "unfinished" {
                    " (not finished)"
                } else {
                    ""
                },
                test["error"].as_str().unwrap_or("")
            ));
        }
    }
    run
}

fn main() {
    let src = checkout();
    ensure_js_peers();
    for package in RUNNER_PACKAGES {
        assert!(
            js_dir()
                .join("node_modules")
                .join(package)
                .join("package.json")
                .is_file(),
            "{package} is missing from tests/js/node_modules: run `npm ci --prefix tests/js`"
        );
    }
    let files: Vec<String> = std::env::var("HYCHAT_SUITE_FILES")
        .unwrap_or_else(|_| DEFAULT_FILES.to_string())
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    for file in &files {
        assert!(
            src.join("test").join(file).is_file(),
            "{} has no test/{file}",
            src.display()
        );
    }
    let max_nodes = env::count("HYCHAT_SUITE_NODES", 10);
    let limit = Duration::from_secs(env::count("HYCHAT_SUITE_FILE_SECS", 600));

    println!(
        "hyperdht's own tests from {} against the installed hyperdht, on a DHT of hychat \
         nodes (at most {max_nodes} per testnet, {BIN}) and on one of JS nodes",
        src.display()
    );
    let mut results = Vec::new();
    for file in &files {
        for dht in [Dht::Hychat, Dht::Js] {
            let run = run_file(&src, file, dht, max_nodes, limit);
            println!(
                "{file:<18} {:<7} {}",
                match dht {
                    Dht::Hychat => "hychat",
                    Dht::Js => "js",
                },
                run.line()
            );
            results.push((file.clone(), dht, run));
        }
    }

    println!();
    println!(
        "{:<18} {:<40} DHT of JS nodes",
        "file", "DHT of hychat nodes"
    );
    for file in &files {
        let line = |want: Dht| {
            results
                .iter()
                .find(|(f, dht, _)| f == file && *dht == want)
                .map(|(_, _, run)| run.line())
                .unwrap_or_default()
        };
        println!("{file:<18} {:<40} {}", line(Dht::Hychat), line(Dht::Js));
    }
    for (heading, want) in [
        ("failed on the DHT of hychat nodes", Dht::Hychat),
        ("failed on the DHT of JS nodes", Dht::Js),
    ] {
        let failures: Vec<String> = results
            .iter()
            .filter(|(_, dht, _)| *dht == want)
            .flat_map(|(file, _, run)| {
                run.failures.iter().map(move |f| match expected_failure(f) {
                    Some(why) if want == Dht::Hychat => {
                        format!("  {file}: {f}\n    (expected here: {why})")
                    }
                    _ => format!("  {file}: {f}"),
                })
            })
            .collect();
        if !failures.is_empty() {
            println!("\n{heading}:\n{}", failures.join("\n"));
        }
    }
    println!(
        "\neach run's output: {}",
        Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("hyperdht-suite")
            .display()
    );
}
