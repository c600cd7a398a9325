//! kill -9 at random moments while `hychat send` appends a burst: after
//! every kill the own log opens with the same key, and at the end every
//! message whose append `send --progress` acknowledged is in the log, in
//! order, with no message twice. 50 runs by default (`HYCHAT_CRASH_RUNS`);
//! the seed of the random moments is printed so a failure can be replayed
//! (`HYCHAT_CRASH_SEED`). The runs and the checks are the shared harness's
//! (`harness::crash::kill_runs`, where the moments are described), which
//! the storage bench runs too; this test asserts on its report.

use crate::harness::crash::kill_runs;
use crate::harness::env;

#[test]
fn kill_9_during_appends_loses_no_acknowledged_message() {
    let runs = env::count("HYCHAT_CRASH_RUNS", 50);
    let seed = env::seed("HYCHAT_CRASH_SEED");
    println!("crash test: {runs} runs, seed {seed}");
    let report = kill_runs(runs, seed, true);
    if let Some(failure) = &report.first_failure {
        panic!(
            "{failure}\n({} of {} runs survived; replay with HYCHAT_CRASH_SEED={seed})",
            report.survived, report.runs
        );
    }
    assert_eq!(
        (report.runs, report.survived),
        (runs, runs),
        "every run made and survived (seed {seed})"
    );
    println!(
        "crash test: {runs} kills in {:.0} s, {} messages acknowledged, {} in the log, all present",
        report.elapsed.as_secs_f64(),
        report.acknowledged,
        report.in_log
    );
}
