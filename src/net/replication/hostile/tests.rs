//! Property tests of hostile peers against a real hypercore: each case
//! feeds one reader a sequence of hostile inputs, checks the log after each
//! (the harness's invariants: no panic, never longer than the writer's log,
//! only the writer's bytes, the replication's view of the log right), and
//! ends with an honest peer completing the log while the hostile one stays
//! attached. Then the inputs that once broke something, one test each.

use super::*;
use crate::net::compat::decoder_guard::wire_fits;
use crate::net::replication::state::MAX_STRIKES;
use proptest::prelude::*;

/// Blocks in the writer's log: a tree of three roots (8 + 4 + 1).
const LENGTH: u64 = 13;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// What an attack begins with: the log's length and every block claimed.
fn opening() -> Vec<Hostile> {
    super::opening(LENGTH)
}

/// One input per seed, of the kinds given (chosen by the seed).
fn inputs(kinds: &[Kind], seeds: &[u64]) -> Vec<Hostile> {
    seeds
        .iter()
        .map(|&seed| {
            let kind = kinds[(seed % kinds.len() as u64) as usize];
            input_of(kind, &mut StdRng::seed_from_u64(seed), LENGTH)
        })
        .collect()
}

/// `count` honest answers: a reader part-way through its download.
fn honest(count: usize) -> Vec<Hostile> {
    (0..count)
        .map(|pick| Hostile::Answer {
            pick,
            mutations: vec![],
        })
        .collect()
}

/// The log's length and contiguous length.
type Lengths = (u64, u64);

/// Feeds `inputs` to a harness (a detached peer's successor makes the
/// opening claims first); `check` sees each input with its outcome and the
/// log's lengths before and after it.
async fn attack(
    harness: &mut Harness,
    inputs: &[Hostile],
    mut check: impl FnMut(&Hostile, Outcome, Lengths, Lengths) -> Result<(), Broken>,
) -> Result<(), Broken> {
    let mut script: VecDeque<Hostile> = inputs.iter().cloned().collect();
    while let Some(input) = script.pop_front() {
        let info = harness.core().info();
        let before = (info.length, info.contiguous_length);
        let outcome = harness
            .step(&input)
            .await
            .map_err(|e| Broken::from(format!("{e}, after {input:?}")))?;
        let info = harness.core().info();
        let after = (info.length, info.contiguous_length);
        check(&input, outcome, before, after)
            .map_err(|e| Broken::from(format!("{e}: {input:?} came to {outcome:?}")))?;
        if outcome == Outcome::Detached {
            for claim in opening().into_iter().rev() {
                script.push_front(claim);
            }
        }
    }
    Ok(())
}

/// An in-memory reader of a fresh writer, holding the writer's first `head`
/// blocks already, attacked with `inputs`, then completed by an honest peer.
fn in_memory(
    seed: u64,
    head: u64,
    inputs: Vec<Hostile>,
    check: impl FnMut(&Hostile, Outcome, Lengths, Lengths) -> Result<(), Broken>,
) -> Result<(), Broken> {
    runtime().block_on(async {
        let writer = Writer::new(seed, LENGTH).await?;
        let reader = writer.memory_reader().await?;
        if head > 0 {
            head_start(seed, head, &reader).await?;
        }
        let mut harness = Harness::new(&writer, reader).await?;
        attack(&mut harness, &inputs, check).await?;
        harness.complete().await.map(|_| ())
    })
}

fn any_outcome(_: &Hostile, _: Outcome, _: Lengths, _: Lengths) -> Result<(), Broken> {
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Requests of us (truncated, oversized, out of range, of another fork,
    /// for hashes and seeks) always get an answer, a proof only of what we
    /// hold (the harness checks every served block is the writer's), and
    /// never change the log.
    #[test]
    fn requests_get_the_writers_blocks_or_a_no_data(
        seed in any::<u64>(),
        filled in 0usize..20,
        seeds in proptest::collection::vec(any::<u64>(), 1..40),
    ) {
        let mut script = opening();
        script.extend(honest(filled));
        let attack_from = script.len();
        script.extend(inputs(&[Kind::Request], &seeds));
        let mut at = 0;
        let result = in_memory(seed, 0, script, |input, outcome, before, after| {
            at += 1;
            if at <= attack_from {
                return Ok(());
            }
            if before != after {
                return Err("a request changed the log".into());
            }
            match (input, outcome) {
                (Hostile::Request { .. }, Outcome::AnsweredData | Outcome::AnsweredNoData) => Ok(()),
                (Hostile::Request { .. }, _) => Err("a request went unanswered".into()),
                // Truncated requests: dropped, or answered.
                (_, Outcome::Undecodable | Outcome::AnsweredData | Outcome::AnsweredNoData) => Ok(()),
                _ => Err("a truncated request did something else".into()),
            }
        });
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }

    /// Data for requests never made, valid proofs included, is ignored:
    /// the log does not change and the peer stays.
    #[test]
    fn data_never_asked_for_is_ignored(
        seed in any::<u64>(),
        filled in 0usize..20,
        seeds in proptest::collection::vec(any::<u64>(), 1..40),
    ) {
        let mut script = opening();
        script.extend(honest(filled));
        script.extend(inputs(&[Kind::Unasked], &seeds));
        let result = in_memory(seed, 0, script, |input, outcome, before, after| {
            if let Hostile::Unasked { .. } = input {
                if outcome != Outcome::Ignored || before != after {
                    return Err("data never asked for was taken".into());
                }
            }
            Ok(())
        });
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }

    /// Mutated proofs (wrong index, tampered value, nodes dropped, added or
    /// changed, bad signatures, wrong upgrade start or length, another
    /// fork, huge lengths, an upgrade and a block together) among honest
    /// ones, no-datas and time passing, on a reader that may already hold
    /// an older length: the log only ever holds the writer's blocks, and
    /// still completes.
    #[test]
    fn mutated_proofs_never_corrupt_the_log(
        seed in any::<u64>(),
        head in 0..LENGTH,
        seeds in proptest::collection::vec(any::<u64>(), 1..60),
    ) {
        let mut script = opening();
        script.extend(inputs(
            &[Kind::Mutated, Kind::Mutated, Kind::Mutated, Kind::Honest, Kind::NoData, Kind::Wait],
            &seeds,
        ));
        let result = in_memory(seed, head, script, any_outcome);
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }

    /// Bytes off the wire, random or a real proof mangled and cut: whatever
    /// decodes is fed, and nothing panics or gets into the log unverified.
    #[test]
    fn bytes_off_the_wire_never_panic(
        seed in any::<u64>(),
        seeds in proptest::collection::vec(any::<u64>(), 1..60),
    ) {
        let mut script = opening();
        script.extend(inputs(&[Kind::Raw, Kind::Mangled, Kind::Mangled, Kind::Honest], &seeds));
        let result = in_memory(seed, 0, script, any_outcome);
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }

    /// Any mix of everything a hostile peer can do.
    #[test]
    fn any_mix_keeps_the_log_sound(
        seed in any::<u64>(),
        head in 0..LENGTH,
        inputs in proptest::collection::vec(any::<u64>(), 1..80),
    ) {
        let mut script = opening();
        script.extend(
            inputs
                .iter()
                .map(|&s| arbitrary(&mut StdRng::seed_from_u64(s), LENGTH)),
        );
        let result = in_memory(seed, head, script, any_outcome);
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// The same on a followed log as the engine opens it: on disk, on
    /// hychat's storage backend (`log::open_clone`), from an older length.
    #[test]
    fn any_mix_keeps_a_followed_log_on_disk_sound(
        seed in any::<u64>(),
        head in 0..LENGTH,
        inputs in proptest::collection::vec(any::<u64>(), 1..60),
    ) {
        let mut script = opening();
        script.extend(
            inputs
                .iter()
                .map(|&s| arbitrary(&mut StdRng::seed_from_u64(s), LENGTH)),
        );
        let dir = tempfile::tempdir().expect("a temp dir");
        let result: Result<(), Broken> = runtime().block_on(async {
            let writer = Writer::new(seed, LENGTH).await?;
            let reader = crate::net::log::open_clone(dir.path(), writer.key())
                .await
                .map_err(Broken::from_error)?;
            if head > 0 {
                head_start(seed, head, &reader).await?;
            }
            let mut harness = Harness::new(&writer, reader).await?;
            attack(&mut harness, &script, any_outcome).await?;
            harness.complete().await.map(|_| ())
        });
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}

/// A peer whose every proof fails verification (a flipped byte in the
/// block, a flipped signature on the upgrade) is detached after
/// `MAX_STRIKES` of them, and nothing of it reaches the log.
#[test]
fn a_peer_whose_proofs_fail_is_detached() {
    let tampered = Hostile::Answer {
        pick: 0,
        mutations: vec![
            Mutation::Value { at: 3, xor: 0x20 },
            Mutation::Signature { at: 5, xor: 1 },
        ],
    };
    let mut outcomes = vec![];
    let mut script = opening();
    script.extend(std::iter::repeat_n(tampered, MAX_STRIKES as usize));
    let result = in_memory(7, 0, script, |_, outcome, before, after| {
        outcomes.push(outcome);
        if before != after || outcome == Outcome::Applied {
            return Err("a failing proof changed the log".into());
        }
        Ok(())
    });
    assert_eq!(result, Ok(()));
    let answers = &outcomes[2..2 + MAX_STRIKES as usize];
    assert_eq!(
        answers.last(),
        Some(&Outcome::Detached),
        "outcomes: {outcomes:?}"
    );
    assert!(answers[..answers.len() - 1]
        .iter()
        .all(|o| *o == Outcome::Refused));
}

/// Once: a peer that claimed the log and never answered kept the upgrade
/// (always asked of the longest peer, again after each timeout) and then
/// the last block (asked again of the same peer after each timeout), so an
/// honest peer beside it never completed the log.
#[test]
fn a_silent_peer_holds_up_neither_the_upgrade_nor_a_block() {
    let silent = vec![Hostile::Wait { secs: 1 }];
    for head in [0, 5] {
        let mut script = opening();
        script.extend(silent.clone());
        assert_eq!(in_memory(3, head, script, any_outcome), Ok(()));
    }
    // The peer answers the upgrade and all but two blocks, then falls
    // silent with those two asked of it.
    let mut script = opening();
    script.extend(honest(LENGTH as usize - 1));
    let mut lengths = vec![];
    let result = in_memory(3, 0, script, |_, _, _, after| {
        lengths.push(after);
        Ok(())
    });
    assert_eq!(result, Ok(()));
    let (length, contiguous) = lengths.last().copied().unwrap_or_default();
    assert_eq!(length, LENGTH);
    assert!(contiguous < LENGTH, "blocks were left to the silent peer");
}

/// Once: an upgrade proof with a root's length near `u64::MAX` made the
/// crate's sum of root lengths overflow inside `verify_and_apply_proof`,
/// holding the log's lock (debug builds panic on it): the log was dead.
/// Now the checks refuse it, and the log goes on.
#[test]
fn a_node_length_near_the_maximum_is_refused() {
    let mut script = opening();
    script.push(Hostile::Answer {
        pick: 0,
        mutations: vec![Mutation::NodeLength(Nodes::Upgrade, 0, u64::MAX - 2)],
    });
    let mut outcomes = vec![];
    let result = in_memory(5, 0, script, |_, outcome, _, _| {
        outcomes.push(outcome);
        Ok(())
    });
    assert_eq!(result, Ok(()));
    assert_eq!(outcomes.last(), Some(&Outcome::Refused));
}

/// Once: a peer that said its log is `u64::MAX` long was asked for that
/// upgrade, and its answer reached the crate's tree arithmetic, which
/// overflows on it (`2 * (start + length)`). Claims stop at `MAX_BLOCK`.
#[test]
fn a_length_past_any_log_is_never_asked_for() {
    let script = vec![
        Hostile::Sync {
            fork: 0,
            length: u64::MAX,
        },
        Hostile::Range {
            drop: false,
            start: 0,
            length: u64::MAX,
        },
        Hostile::Answer {
            pick: 0,
            mutations: vec![],
        },
    ];
    let mut outcomes = vec![];
    let result = in_memory(6, 0, script, |_, outcome, _, _| {
        outcomes.push(outcome);
        Ok(())
    });
    assert_eq!(result, Ok(()));
    assert_eq!(outcomes.last(), Some(&Outcome::Refused));
}

#[test]
fn counts_past_the_bytes_left_never_reach_the_decoder() {
    // A bitfield of 2^40 words: 11 bytes that make compact-encoding 2.2.0
    // allocate 4 TiB, and abort the process.
    let bitfield = [7u8, 0, 0xff, 0, 0, 0, 0, 0, 1, 0, 0];
    assert!(!wire_fits(&bitfield));
    assert!(matches!(decode_hostile(&bitfield), Fed::Unsafe));
    // A few words too many only fail to decode.
    let short = [7u8, 0, 9, 1, 2, 3, 4];
    assert!(!wire_fits(&short));
    assert!(matches!(decode_hostile(&short), Fed::Undecodable));
    // A data message whose block claims 2^62 tree nodes.
    let mut data = vec![3u8, 1, 1, 0, 0, 1, b'x', 0xff];
    data.extend((1u64 << 62).to_le_bytes());
    assert!(!wire_fits(&data));
    // What an honest peer sends fits.
    runtime().block_on(async {
        let writer = Writer::new(1, LENGTH).await.expect("a writer");
        let request = Request {
            id: 1,
            fork: 0,
            block: Some(RequestBlock { index: 3, nodes: 0 }),
            hash: None,
            seek: None,
            upgrade: Some(RequestUpgrade {
                start: 0,
                length: LENGTH,
            }),
            manifest: false,
            priority: 0,
        };
        let answer = writer.answer(request).await;
        assert!(matches!(answer, Message::Data(_)));
        let bytes = answer.to_encoded_bytes().expect("encodes");
        assert!(wire_fits(&bytes));
        assert!(matches!(decode_hostile(&bytes), Fed::Message(_)));
    });
}

#[test]
fn panics_caught_on_the_way_are_counted() {
    count_panics();
    let before = panics_so_far();
    let caught = std::panic::catch_unwind(|| panic!("caught"));
    assert!(caught.is_err());
    assert_eq!(panics_so_far(), before + 1);
}
