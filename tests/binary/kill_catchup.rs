//! kill -9 at random moments of the catch-up of a followed log: a follower
//! (`hychat seed` after `hychat follow KEY`) downloads a writer's log from
//! the writer's `hychat seed` on a loopback bootstrap node and is killed,
//! many times into the same storage. After every kill the storage opens
//! (offline, on a copy), its index holds only the writer's blocks and keeps
//! what it held, and every indexed block is in the log itself; at the end
//! the follower finishes its catch-up and its index and its log hold every
//! block the writer wrote. The runs and the checks are the harness's
//! (`harness::kills::catchup_kills`, where the moments are described).
//!
//! At least 50 kills fall inside a catch-up (`HYCHAT_KILL_CATCHUP_KILLS`),
//! of a 300-message log (`HYCHAT_KILL_CATCHUP_MESSAGES`), at most 12 into
//! one follower storage before its catch-up is let finish
//! (`HYCHAT_KILL_CATCHUP_PER_STORAGE`); the seed of the moments is printed
//! and replays them (`HYCHAT_KILL_CATCHUP_SEED`).

use crate::harness::env;
use crate::harness::kills::{catchup_kills, CatchupPlan};
use crate::harness::process::one_at_a_time;

#[test]
fn kill_9_during_a_catch_up_loses_no_block_and_the_log_always_opens() {
    let _one = one_at_a_time();
    let plan = CatchupPlan {
        kills: env::count("HYCHAT_KILL_CATCHUP_KILLS", 50),
        messages: env::count("HYCHAT_KILL_CATCHUP_MESSAGES", 300) as usize,
        per_storage: env::count("HYCHAT_KILL_CATCHUP_PER_STORAGE", 12),
        seed: env::seed("HYCHAT_KILL_CATCHUP_SEED"),
        print_runs: true,
    };
    println!(
        "catch-up kill test: {} kills inside a catch-up of {} messages, seed {}",
        plan.kills, plan.messages, plan.seed
    );
    let report = catchup_kills(plan);
    if let Some(failure) = &report.first_failure {
        panic!(
            "{failure}\n({} kills made, {} inside a catch-up; replay with HYCHAT_KILL_CATCHUP_SEED={})",
            report.kills, report.inside, plan.seed
        );
    }
    println!(
        "catch-up kill test: {} kills ({} inside a catch-up; {} at start-up, {} after the length was seen, {} after arrivals) \
         into {} follower storages in {:.0} s; {} left blocks downloaded but not yet indexed; \
         {} messages checked against the writer's {}; {} torn and {} repeated index lines",
        report.kills,
        report.inside,
        report.by_moment[0],
        report.by_moment[1],
        report.by_moment[2],
        report.storages,
        report.elapsed.as_secs_f64(),
        report.ahead,
        report.checked,
        report.messages,
        report.torn,
        report.repeats
    );
}
