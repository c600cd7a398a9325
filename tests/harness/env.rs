//! Sizes and seeds a test or bench reads from the environment
//! (`HYCHAT_CRASH_RUNS`, `HYCHAT_BENCH_MESSAGES`, ...). A count must be a
//! positive whole number: 0 would make a test pass without doing anything,
//! and a typo would silently run the default, so either fails at once with
//! a sentence naming the variable.

/// The positive count in the environment variable `name`, or `default`
/// when it is not set. Panics with a sentence on anything else.
pub fn count(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(value) => parse_count(&value).unwrap_or_else(|| {
            panic!("{name} must be a positive whole number (such as 50), not {value:?}")
        }),
    }
}

/// A positive count, with `_` or `,` allowed between digits (1_000_000).
fn parse_count(value: &str) -> Option<u64> {
    value
        .trim()
        .replace(['_', ','], "")
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

/// The seed in the environment variable `name`, or one from the clock.
/// Never 0, from which a generator would not move: a set value that is 0 or
/// not a number fails with a sentence.
pub fn seed(name: &str) -> u64 {
    match std::env::var(name) {
        Ok(value) => parse_count(&value).unwrap_or_else(|| {
            panic!("{name} must be a seed to replay (a number above 0), not {value:?}")
        }),
        Err(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        }
    }
}

#[test]
fn only_positive_whole_numbers_are_counts() {
    assert_eq!(parse_count("50"), Some(50));
    assert_eq!(parse_count(" 1_000_000 "), Some(1_000_000));
    assert_eq!(parse_count("1,000"), Some(1_000));
    for bad in ["0", "-3", "", "fifty", "5.5", "0_0"] {
        assert_eq!(parse_count(bad), None, "{bad:?}");
    }
}
