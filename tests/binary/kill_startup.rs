//! kill -9 at random moments of the start of hychat: a storage with an own
//! log of 5,000 messages and a followed log of 300 (downloaded from its
//! writer) is opened by `hychat seed` or `hychat tail KEY`, headless, and
//! killed within its first 300 ms, 50 times. After every kill `hychat key`
//! prints the same key, the followed log opens whole, and both index files
//! hold every block, each the one written; at the end both logs deliver
//! every message, from their indexes and from the logs themselves. The runs
//! and the checks are the harness's (`harness::kills::startup_kills`).
//!
//! Counts: `HYCHAT_KILL_STARTUP_KILLS` (50), `HYCHAT_KILL_STARTUP_OWN`
//! (5,000), `HYCHAT_KILL_STARTUP_FOLLOWED` (300), `HYCHAT_KILL_STARTUP_MS`
//! (300); the seed of the moments is printed and replays a run
//! (`HYCHAT_KILL_STARTUP_SEED`).

use std::time::Duration;

use crate::harness::env;
use crate::harness::kills::{startup_kills, StartupPlan};
use crate::harness::process::one_at_a_time;

#[test]
fn kill_9_during_start_up_loses_nothing_and_the_logs_always_open() {
    let _one = one_at_a_time();
    let plan = StartupPlan {
        kills: env::count("HYCHAT_KILL_STARTUP_KILLS", 50),
        own_messages: env::count("HYCHAT_KILL_STARTUP_OWN", 5_000) as usize,
        followed_messages: env::count("HYCHAT_KILL_STARTUP_FOLLOWED", 300) as usize,
        window: Duration::from_millis(env::count("HYCHAT_KILL_STARTUP_MS", 300)),
        seed: env::seed("HYCHAT_KILL_STARTUP_SEED"),
        print_runs: true,
    };
    println!(
        "start-up kill test: {} kills within {:?} of the start, own log {} messages, followed log {}, seed {}",
        plan.kills, plan.window, plan.own_messages, plan.followed_messages, plan.seed
    );
    let report = startup_kills(plan);
    if let Some(failure) = &report.first_failure {
        panic!(
            "{failure}\n({} kills made; replay with HYCHAT_KILL_STARTUP_SEED={})",
            report.kills, plan.seed
        );
    }
    assert_eq!(
        report.kills, plan.kills,
        "every kill made (seed {})",
        plan.seed
    );
    println!(
        "start-up kill test: {} kills ({} of hychat tail, {} of hychat seed; {} before the own log was open ({} of them \
         in a start that rebuilds it from its journal), {} with it open, {} with the followed log open; {} checked in place) in {:.0} s; \
         {} messages checked against the {} own and {} followed written; {} torn and {} repeated index lines",
        report.kills,
        report.tails,
        report.kills - report.tails,
        report.by_stage[0],
        report.during_rebuild,
        report.by_stage[1],
        report.by_stage[2],
        report.in_place,
        report.elapsed.as_secs_f64(),
        report.checked,
        report.own_messages,
        report.followed_messages,
        report.torn,
        report.repeats
    );
}
