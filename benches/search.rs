//! Channel search benchmark (a bench binary: it prints figures and asserts
//! nothing about time). Run with `cargo bench --bench search`.
//!
//! 1. Builds 1,000,000 indexed messages on disk (`HYCHAT_BENCH_MESSAGES`
//!    sets the total): 4 logs of 250,000, each written through the message
//!    index a log's task writes (`index.jsonl` and `index.pos`). Texts are 3
//!    to 12 words from a vocabulary of about 100, some capitalized, some
//!    with quotes or non-ASCII; one in about 100,000 holds a rare word, one
//!    in about 200 a common one. 9 in 10 messages are in the room searched,
//!    the rest in another.
//! 2. Searches the room as the engine answers `NetCommand::Search`, each
//!    query `HYCHAT_BENCH_RUNS` times (default 5) after one untimed run,
//!    with the page cache warm: a rare word, the common word (thousands of
//!    matches), the common word in other case, a word that every line holds
//!    in its keys but few texts do ("message"), a non-ASCII word, and a
//!    single letter (hundreds of thousands of matches, capped at 10,000).
//!    Prints the median and the slowest run in ms, the matches returned and
//!    whether they were capped, beside the count a plain scan of the
//!    generated texts expects.
//! 3. The rare word again, cold: before each of 3 runs the index files are
//!    synced and dropped from the page cache (`posix_fadvise` DONTNEED), so
//!    the search reads them from the disk, as the first search after a
//!    start may.

use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::OffsetDateTime;

use hychat::domain::{ChatMessage, LogKey, RoomName};
use hychat::net::history::SearchRequest;
use hychat::net::testing;

// It uses counts, not seeds.
#[allow(dead_code)]
#[path = "../tests/harness/env.rs"]
mod env;

const LOGS: u64 = 4;
const ROOM: &str = "general";

/// The everyday words the texts are made of.
const WORDS: &[&str] = &[
    "the",
    "a",
    "and",
    "to",
    "of",
    "in",
    "is",
    "it",
    "you",
    "that",
    "was",
    "for",
    "on",
    "are",
    "with",
    "as",
    "i",
    "his",
    "they",
    "be",
    "at",
    "one",
    "have",
    "this",
    "from",
    "or",
    "had",
    "by",
    "hot",
    "word",
    "but",
    "what",
    "some",
    "we",
    "can",
    "out",
    "other",
    "were",
    "all",
    "there",
    "when",
    "up",
    "use",
    "your",
    "how",
    "said",
    "an",
    "each",
    "she",
    "which",
    "do",
    "their",
    "time",
    "if",
    "will",
    "way",
    "about",
    "many",
    "then",
    "them",
    "write",
    "would",
    "like",
    "so",
    "these",
    "her",
    "long",
    "make",
    "thing",
    "see",
    "him",
    "two",
    "has",
    "look",
    "more",
    "day",
    "could",
    "go",
    "come",
    "did",
    "number",
    "sound",
    "no",
    "most",
    "people",
    "my",
    "over",
    "know",
    "water",
    "than",
    "call",
    "first",
    "who",
    "may",
    "down",
    "side",
    "been",
    "now",
    "find",
    "lunch",
    "build",
    "merge",
    "deploy",
    "tests",
    "ok",
    "thanks",
    "lol",
    "\"quoted\"",
    "Zoë",
    "café",
    "naïve",
];
const RARE: &str = "xylophone";
const COMMON: &str = "coffee";

/// The queries timed, with a plain scan's expected count of each.
struct Expected {
    query: &'static str,
    what: &'static str,
    count: usize,
}

fn text(rng: &mut StdRng) -> String {
    let words = rng.gen_range(3..=12);
    let mut out = Vec::with_capacity(words + 1);
    for _ in 0..words {
        let word = WORDS[rng.gen_range(0..WORDS.len())];
        if rng.gen_ratio(1, 10) {
            let mut chars = word.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            out.push(format!("{}{}", first.unwrap_or_default(), chars.as_str()));
        } else {
            out.push(word.to_string());
        }
    }
    if rng.gen_ratio(1, 100_000) {
        out.insert(rng.gen_range(0..=out.len()), RARE.to_string());
    }
    if rng.gen_ratio(1, 200) {
        out.insert(rng.gen_range(0..=out.len()), COMMON.to_string());
    }
    out.join(" ")
}

/// Syncs the index files in `dir` and asks the kernel to drop them from
/// the page cache.
fn drop_from_cache(dir: &Path) {
    for name in ["index.jsonl", "index.pos"] {
        let Ok(file) = std::fs::File::open(dir.join(name)) else {
            continue;
        };
        let _ = file.sync_all();
        // SAFETY: a plain system call on a descriptor this function owns.
        let _ = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
}

fn main() {
    let total = env::count("HYCHAT_BENCH_MESSAGES", 1_000_000);
    let runs = env::count("HYCHAT_BENCH_RUNS", 5) as usize;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "search bench: {total} messages in {LOGS} logs, {cores} cores, {} build",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );

    let storage = tempfile::tempdir().expect("temp dir");
    let mut expected = vec![
        Expected {
            query: RARE,
            what: "rare word",
            count: 0,
        },
        Expected {
            query: COMMON,
            what: "common word",
            count: 0,
        },
        Expected {
            query: "COFFEE",
            what: "common word, other case",
            count: 0,
        },
        Expected {
            query: "message",
            what: "in every line's keys",
            count: 0,
        },
        Expected {
            query: "zoë",
            what: "non-ASCII word",
            count: 0,
        },
        Expected {
            query: "e",
            what: "single letter",
            count: 0,
        },
    ];
    let built = Instant::now();
    let mut rng = StdRng::seed_from_u64(15);
    let start = OffsetDateTime::from_unix_timestamp(1_780_000_000).expect("a time");
    let mut dirs: Vec<(LogKey, PathBuf)> = Vec::new();
    let mut bytes = 0u64;
    for log in 0..LOGS {
        let key = LogKey([log as u8 + 1; 32]);
        let dir = storage.path().join(format!("log{log}"));
        std::fs::create_dir_all(&dir).expect("log dir");
        let count = total / LOGS + u64::from(log < total % LOGS);
        let nickname = format!("writer-{log}");
        let messages = (0..count).map(|i| {
            let at = start + Duration::from_secs(i * LOGS + log);
            let mut message = ChatMessage::new_chat(&nickname, &text(&mut rng), at);
            let in_room = rng.gen_ratio(9, 10);
            if in_room {
                message.room = Some(ROOM.to_string());
                let lower = message.text.to_lowercase();
                for e in expected.iter_mut() {
                    if lower.contains(&e.query.to_lowercase()) {
                        e.count += 1;
                    }
                }
            } else {
                message.room = Some("random".to_string());
            }
            message
        });
        testing::write_index(&dir, messages).expect("write the index");
        bytes += std::fs::metadata(dir.join("index.jsonl")).map_or(0, |m| m.len());
        dirs.push((key, dir));
    }
    println!(
        "built in {:.1} s: index.jsonl {:.1} MB in all",
        built.elapsed().as_secs_f64(),
        bytes as f64 / 1e6
    );

    let room = RoomName::parse(ROOM).expect("room name");
    println!(
        "{:<36} {:>10} {:>10} {:>9} {:>9} {:>7}",
        "query", "median ms", "max ms", "matches", "expected", "capped"
    );
    for e in &expected {
        let request = SearchRequest {
            generation: 1,
            room: Some(room.clone()),
            logs: dirs.iter().map(|(key, _)| *key).collect(),
            query: e.query.to_string(),
        };
        let first = testing::search(&dirs, &request);
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let began = Instant::now();
            let results = testing::search(&dirs, &request);
            times.push(began.elapsed());
            std::hint::black_box(results);
        }
        times.sort();
        let median = times[times.len() / 2];
        let max = times[times.len() - 1];
        println!(
            "{:<36} {:>10.1} {:>10.1} {:>9} {:>9} {:>7}",
            format!("{:?} ({})", e.query, e.what),
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            first.matches.len(),
            e.count,
            if first.capped { "yes" } else { "no" },
        );
    }

    let request = SearchRequest {
        generation: 1,
        room: Some(room),
        logs: dirs.iter().map(|(key, _)| *key).collect(),
        query: RARE.to_string(),
    };
    let mut times = Vec::new();
    for _ in 0..3 {
        for (_, dir) in &dirs {
            drop_from_cache(dir);
        }
        let began = Instant::now();
        std::hint::black_box(testing::search(&dirs, &request));
        times.push(began.elapsed());
    }
    times.sort();
    println!(
        "{:<36} {:>10.1} {:>10.1}",
        format!("{RARE:?} (cold: files not cached)"),
        times[1].as_secs_f64() * 1e3,
        times[2].as_secs_f64() * 1e3,
    );
}
