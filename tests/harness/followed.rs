//! A follower's copy of a log, built in-process without a network, for the
//! restart test (`tests/engine/reopen.rs`) and the storage bench: every
//! block of the source moves into the copy as a hypercore proof
//! (`create_proof` on the source, `verify_and_apply_proof` on the copy, the
//! calls a replicator makes on each side), and the copy is opened and
//! created through the engine's own path for followed logs
//! (`net::testing::open_followed_log`, on hychat's storage backend). What
//! the copy holds is what a catch-up over the network leaves: the signed
//! length, every block and its tree nodes. Only the transport is skipped:
//! the built-in replicator fetches one block per round trip (about 240
//! blocks/s here), where this applies thousands per second.

use std::path::Path;
use std::time::{Duration, Instant};

use hychat::domain::LogKey;
use hychat::net::{testing, FollowEntry, Store};
use hypercore::Hypercore;
use hypercore_schema::{RequestBlock, RequestUpgrade};

/// What `extend_copy` did.
#[derive(Debug, Clone, Copy)]
pub struct Copied {
    /// Blocks applied to the copy.
    pub blocks: u64,
    /// The copy's length afterwards: the source's.
    pub length: u64,
    pub elapsed: Duration,
}

/// Brings `copy` up to `source`'s length: one upgrade proof to the
/// source's signed length, then one proof per block the copy lacks, each
/// asking only for the tree nodes the copy is missing.
pub async fn extend_copy(source: &Hypercore, copy: &Hypercore) -> Result<Copied, String> {
    let started = Instant::now();
    let length = source.info().length;
    let held = copy.info().length;
    if held < length {
        let upgrade = RequestUpgrade {
            start: held,
            length: length - held,
        };
        let proof = source
            .create_proof(None, None, None, Some(upgrade))
            .await
            .map_err(|e| format!("the source made no upgrade proof to {length}: {e}"))?
            .ok_or_else(|| format!("the source has no upgrade proof to {length}"))?;
        let applied = copy
            .verify_and_apply_proof(proof)
            .await
            .map_err(|e| format!("the copy refused the upgrade to {length}: {e}"))?;
        if !applied || copy.info().length != length {
            return Err(format!(
                "the upgrade to {length} left the copy at {}",
                copy.info().length
            ));
        }
    }
    let mut blocks = 0;
    for index in 0..length {
        if copy.has(index) {
            continue;
        }
        let nodes = copy
            .missing_nodes(index)
            .await
            .map_err(|e| format!("block {index}: missing nodes: {e}"))?;
        let proof = source
            .create_proof(Some(RequestBlock { index, nodes }), None, None, None)
            .await
            .map_err(|e| format!("block {index}: no proof from the source: {e}"))?
            .ok_or_else(|| format!("block {index}: the source has no proof of it"))?;
        let applied = copy
            .verify_and_apply_proof(proof)
            .await
            .map_err(|e| format!("block {index}: the copy refused its proof: {e}"))?;
        if !applied || !copy.has(index) {
            return Err(format!("block {index}: its proof was not applied"));
        }
        blocks += 1;
    }
    Ok(Copied {
        blocks,
        length: copy.info().length,
        elapsed: started.elapsed(),
    })
}

/// The key of a log.
pub fn key_of(core: &Hypercore) -> LogKey {
    LogKey(core.key_pair().public.to_bytes())
}

/// Makes `follower` (a storage no engine runs on) follow the own log held
/// in `writer` (nor there), as a follower that has caught up: the log in
/// its follow list and its copy holding every block, built from the
/// writer's own log by `extend_copy`. The writer's log is marked clean
/// again afterwards, as its engine leaves it. Running it again on the same
/// storages copies only the blocks appended since.
pub async fn follow_offline(writer: &Path, follower: &Path) -> Result<(LogKey, Copied), String> {
    let source = testing::open_own_log(writer)
        .await
        .map_err(|e| format!("cannot open the writer's own log: {e}"))?;
    let key = key_of(&source);
    let copied = copy_into(&source, follower).await;
    testing::close_own_log(writer, &source)
        .map_err(|e| format!("cannot mark the writer's own log clean: {e}"))?;
    let copied = copied?;
    let store = Store::open(follower).map_err(|e| e.to_string())?;
    let mut follows = store.load_follows().map_err(|e| e.to_string())?;
    if !follows.iter().any(|entry| entry.key == key) {
        follows.push(FollowEntry { key, name: None });
        store.save_follows(&follows).map_err(|e| e.to_string())?;
    }
    Ok((key, copied))
}

/// Extends the copy of `source` in `follower` to `source`'s length.
async fn copy_into(source: &Hypercore, follower: &Path) -> Result<Copied, String> {
    let key = key_of(source);
    let copy = testing::open_followed_log(follower, key)
        .await
        .map_err(|e| format!("cannot open the follower's copy: {e}"))?;
    let copied = extend_copy(source, &copy).await?;
    if key_of(&copy) != key {
        return Err("the copy has another key than the source".into());
    }
    Ok(copied)
}
