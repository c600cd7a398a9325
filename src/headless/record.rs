//! `hychat record`: one put or get of a DHT record, one line per step, and
//! the outcome. A put that no node stored, or a get that found nothing,
//! exits 1. What a node answered is printed as text with its control
//! characters removed: it comes from the network.

use crate::cli::RecordCommand;
use crate::domain::text::sanitize_line;
use crate::net::{self, NetConfig, PutReport, RecordOp, RecordOutcome};

use super::Failure;

/// The longest value printed, in characters.
const SHOWN_CHARS: usize = 4096;

/// Runs one `hychat record` operation.
pub async fn record(config: NetConfig, command: &RecordCommand) -> Result<(), Failure> {
    let op = parse(command)?;
    let bootstrap = net::resolve_bootstrap(config.bootstrap.clone()).await;
    if let RecordOp::PutMutable { seed, .. } = &op {
        println!("signing with key {}", hex::encode(net::public_key_of(seed)));
    }
    let outcome = net::record(config.bind, bootstrap, op, |line| println!("{line}"))
        .await
        .map_err(Failure)?;
    match outcome {
        RecordOutcome::Stored(report) => {
            for (node, error) in &report.refused {
                println!("{node} refused it: {}", PutReport::refusal(*error));
            }
            let stored = report.stored.len();
            let asked = stored + report.refused.len();
            if stored == 0 {
                return Err(Failure(format!(
                    "no DHT node stored the record ({asked} asked)"
                )));
            }
            println!(
                "stored under {} on {stored} of {asked} nodes",
                hex::encode(report.target)
            );
            Ok(())
        }
        RecordOutcome::Found(found) => {
            println!("found seq {} at {}", found.seq, found.from);
            let text = String::from_utf8_lossy(&found.value);
            println!("{}", sanitize_line(&text, SHOWN_CHARS));
            Ok(())
        }
        RecordOutcome::NotFound => Err(Failure("no DHT node holds that record".into())),
        RecordOutcome::Unreachable => Err(Failure(
            "no DHT node answered: check --bootstrap and the network".into(),
        )),
    }
}

fn parse(command: &RecordCommand) -> Result<RecordOp, Failure> {
    Ok(match command {
        RecordCommand::Put { text } => RecordOp::Put {
            value: text.as_bytes().to_vec(),
        },
        RecordCommand::Get { hash } => RecordOp::Get {
            hash: bytes32(hash, "the hash")?,
        },
        RecordCommand::PutMutable { text, seed, seq } => RecordOp::PutMutable {
            seed: bytes32(seed, "the seed")?,
            seq: *seq,
            value: text.as_bytes().to_vec(),
        },
        RecordCommand::GetMutable { key, seq } => RecordOp::GetMutable {
            public_key: bytes32(key, "the key")?,
            seq: *seq,
        },
    })
    .and_then(|op| match &op {
        RecordOp::Put { value } | RecordOp::PutMutable { value, .. } if value.is_empty() => {
            Err(Failure("a record needs a value: TEXT is empty".into()))
        }
        _ => Ok(op),
    })
}

/// 32 bytes from 64 hex characters, or one sentence.
fn bytes32(text: &str, what: &str) -> Result<[u8; 32], Failure> {
    hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| Failure(format!("{what} must be 64 hex characters")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_arguments_get_one_sentence() {
        let cases = [
            (
                RecordCommand::Get { hash: "abc".into() },
                "the hash must be 64 hex characters",
            ),
            (
                RecordCommand::GetMutable {
                    key: "zz".repeat(32),
                    seq: 0,
                },
                "the key must be 64 hex characters",
            ),
            (
                RecordCommand::Put {
                    text: String::new(),
                },
                "a record needs a value: TEXT is empty",
            ),
        ];
        for (command, sentence) in cases {
            assert_eq!(parse(&command).unwrap_err().0, sentence);
        }
        let seed = "11".repeat(32);
        assert_eq!(
            parse(&RecordCommand::PutMutable {
                text: "hi".into(),
                seed,
                seq: 3
            })
            .unwrap(),
            RecordOp::PutMutable {
                seed: [0x11; 32],
                seq: 3,
                value: b"hi".to_vec()
            }
        );
    }
}
