//! The fuzz run behind `benches/fuzz_replication.rs`: fresh readers fed
//! random hostile inputs, each outcome counted, every broken invariant
//! kept as an example, and an honest peer completing each log after them.

use super::*;

/// The outcomes in the order of `FuzzReport::by_input`'s counts.
pub const OUTCOMES: [&str; 8] = [
    "undecodable",
    "unsafe bytes",
    "answered",
    "no-data",
    "applied",
    "refused",
    "detached",
    "ignored",
];

/// Counts of a fuzz run.
#[derive(Debug, Default, Clone)]
pub struct FuzzReport {
    pub seed: u64,
    pub inputs: u64,
    pub cases: u64,
    pub undecodable: u64,
    /// Inputs whose bytes the crate's decoder cannot take: it would reserve
    /// more than `SAFE_RESERVATION` for them, or it panicked.
    pub unsafe_bytes: u64,
    pub answered_data: u64,
    pub answered_no_data: u64,
    pub applied: u64,
    pub refused: u64,
    pub detached: u64,
    pub ignored: u64,
    /// Panics on the way, in hychat or in hypercore, caught or not (the
    /// driver catches hypercore's), but for the protocol decoder's.
    pub panics: u64,
    /// Broken invariants, the first few described.
    pub violations: u64,
    pub examples: Vec<String>,
    pub honest_completions: u64,
    pub honest_failures: u64,
    pub elapsed: Duration,
    /// The run stopped at its time bound before all inputs ran.
    pub bounded: bool,
    /// Per kind of input, how many came to each of `OUTCOMES`.
    pub by_input: std::collections::BTreeMap<&'static str, [u64; 8]>,
}

impl FuzzReport {
    fn count(&mut self, input: &Hostile, outcome: Outcome) {
        let column = match outcome {
            Outcome::Undecodable => 0,
            Outcome::Unsafe => 1,
            Outcome::AnsweredData => 2,
            Outcome::AnsweredNoData => 3,
            Outcome::Applied => 4,
            Outcome::Refused => 5,
            Outcome::Detached => 6,
            Outcome::Ignored => 7,
        };
        self.by_input.entry(input.name()).or_default()[column] += 1;
        let slot = match outcome {
            Outcome::Undecodable => &mut self.undecodable,
            Outcome::Unsafe => &mut self.unsafe_bytes,
            Outcome::AnsweredData => &mut self.answered_data,
            Outcome::AnsweredNoData => &mut self.answered_no_data,
            Outcome::Applied => &mut self.applied,
            Outcome::Refused => &mut self.refused,
            Outcome::Detached => &mut self.detached,
            Outcome::Ignored => &mut self.ignored,
        };
        *slot += 1;
    }

    fn violation(&mut self, what: impl Into<Broken>) {
        self.violations += 1;
        if self.examples.len() < 10 {
            self.examples.push(what.into().0);
        }
    }
}

/// What one fuzz run does.
#[derive(Clone, Copy, Debug)]
pub struct FuzzPlan {
    /// Where the random inputs start.
    pub seed: u64,
    /// How many hostile inputs in all.
    pub inputs: u64,
    /// How many inputs each fresh reader takes.
    pub per_case: u64,
    /// The writer's log length in blocks.
    pub length: u64,
    /// When to stop early.
    pub bound: Duration,
}

/// Runs `plan.inputs` hostile inputs from `plan.seed`, `plan.per_case`
/// against each fresh in-memory reader of one writer of `plan.length`
/// blocks, each case closed by an honest completion; stops early at
/// `plan.bound`.
pub async fn fuzz(plan: FuzzPlan) -> FuzzReport {
    let started = Instant::now();
    count_panics();
    let panics = panics_so_far();
    let excused = DECODER_PANICS.with(|p| p.get());
    let mut report = fuzz_cases(plan).await;
    // Every panic on the way counts, whoever caught it, but the protocol
    // decoder's own (counted as bytes it cannot take).
    let decoder = DECODER_PANICS.with(|p| p.get()) - excused;
    report.panics = (panics_so_far() - panics).saturating_sub(decoder);
    report.elapsed = started.elapsed();
    report
}

async fn fuzz_cases(plan: FuzzPlan) -> FuzzReport {
    let FuzzPlan {
        seed,
        inputs,
        per_case,
        length,
        bound,
    } = plan;
    let started = Instant::now();
    let mut report = FuzzReport {
        seed,
        ..FuzzReport::default()
    };
    let writer = match Writer::new(seed, length).await {
        Ok(writer) => writer,
        Err(e) => {
            report.violation(format!("no writer: {e}"));
            return report;
        }
    };
    let per_case = per_case.max(1);
    while report.inputs < inputs {
        if started.elapsed() > bound {
            report.bounded = true;
            break;
        }
        let mut rng =
            StdRng::seed_from_u64(seed ^ report.cases.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        report.cases += 1;
        let case = per_case.min(inputs - report.inputs);
        run_case(&writer, seed, &mut rng, case, &mut report).await;
    }
    report
}

pub(super) async fn run_case(
    writer: &Writer,
    seed: u64,
    rng: &mut StdRng,
    inputs: u64,
    report: &mut FuzzReport,
) {
    let reader = match writer.memory_reader().await {
        Ok(reader) => reader,
        Err(e) => return report.violation(format!("no reader: {e}")),
    };
    let length = writer.length();
    // Half the readers already hold an older length of the log.
    if rng.gen() {
        let head = rng.gen_range(1..length.max(2));
        if let Err(e) = head_start(seed, head, &reader).await {
            return report.violation(e);
        }
    }
    let mut harness = match Harness::new(writer, reader).await {
        Ok(harness) => harness,
        Err(e) => return report.violation(e),
    };
    let mut script: VecDeque<Hostile> = opening(length).into();
    for _ in 0..inputs {
        let input = script.pop_front().unwrap_or_else(|| arbitrary(rng, length));
        report.inputs += 1;
        match AssertUnwindSafe(harness.step(&input)).catch_unwind().await {
            Ok(Ok(outcome)) => {
                report.count(&input, outcome);
                if outcome == Outcome::Detached {
                    // The next hostile peer makes its claims first.
                    script.extend(opening(length));
                }
            }
            Ok(Err(broken)) => {
                report.violation(format!("{broken} after {input:?}"));
                return;
            }
            Err(_) => {
                report.violation(format!("panic on {input:?}"));
                return;
            }
        }
    }
    match AssertUnwindSafe(harness.complete()).catch_unwind().await {
        Ok(Ok(_)) => report.honest_completions += 1,
        Ok(Err(e)) => {
            report.honest_failures += 1;
            report.violation(e);
        }
        Err(_) => {
            report.honest_failures += 1;
            report.violation("panic while an honest peer completed the log");
        }
    }
}
