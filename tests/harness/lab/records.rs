//! The DHT's mutable and immutable records across NATs: `hychat record`
//! on a host behind one NAT stores a record on the lab's DHT, and on a
//! host behind another NAT gets it back. The records live on the DHT
//! nodes of the public hosts, so neither side ever reaches the other;
//! each request and its reply cross the side's own NAT.

use std::time::{Duration, Instant};

use super::hosts::{CONE1, CONE2, RAND1, RAND2};
use super::scene::Scene;

/// How long one `hychat record` may take: joining the DHT, one query,
/// and for a put one request to each of the closest nodes (up to four
/// tries a second apart for a silent one).
const RECORD_RUN: Duration = Duration::from_secs(30);

/// The seed the mutable record is signed with.
const SEED: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";

/// An immutable record put behind CONE1 and got behind RAND2, and a
/// mutable record put behind CONE2 at seq 1, then seq 2, and got behind
/// RAND1 at seq 2; a put at seq 1 again is refused by every node that
/// holds seq 2. Returns how long the whole took; the scene fails on the
/// first step that does not do what it should.
pub fn records_across_nats(scene: &mut Scene, bootstrap: &str) -> Duration {
    let started = Instant::now();
    let putter = scene.peer(CONE1, "rita", bootstrap);
    let getter = scene.peer(RAND2, "gus", bootstrap);
    let value = scene.text("an immutable record from behind cone1");
    let (put, _) = scene.run(&putter, putter.args(&["record", "put", &value]), RECORD_RUN);
    let Some(hash) = stored_under(&put) else {
        scene.fail(&format!("`hychat record put` printed no hash:\n{put}"));
    };
    let (got, _) = scene.run(&getter, getter.args(&["record", "get", &hash]), RECORD_RUN);
    if !got.lines().any(|line| line == value) {
        scene.fail(&format!(
            "`hychat record get` behind rand2 did not print the value put behind cone1:\n{got}"
        ));
    }

    let writer = scene.peer(CONE2, "mona", bootstrap);
    let reader = scene.peer(RAND1, "milo", bootstrap);
    let first = scene.text("a mutable record at seq 1");
    let second = scene.text("a mutable record at seq 2");
    let put_at = |seq: &str, text: &str| {
        writer.args(&["record", "put-mutable", text, "--seed", SEED, "--seq", seq])
    };
    let (one, _) = scene.run(&writer, put_at("1", &first), RECORD_RUN);
    let Some(key) = signing_key(&one) else {
        scene.fail(&format!("`hychat record put-mutable` named no key:\n{one}"));
    };
    scene.run(&writer, put_at("2", &second), RECORD_RUN);
    let (got, _) = scene.run(
        &reader,
        reader.args(&["record", "get-mutable", &key]),
        RECORD_RUN,
    );
    if !(got.lines().any(|line| line.starts_with("found seq 2 "))
        && got.lines().any(|line| line == second))
    {
        scene.fail(&format!(
            "`hychat record get-mutable` behind rand1 did not find seq 2 put behind cone2:\n{got}"
        ));
    }
    // Seq 1 again: every node that answers holds seq 2 and says so.
    let stale = scene.lab.run(writer.host, &put_at("1", &first), RECORD_RUN);
    let out = String::from_utf8_lossy(&stale.stdout);
    let too_low = out.lines().filter(|l| l.ends_with("(SEQ_TOO_LOW)")).count();
    if stale.status.success() || too_low == 0 {
        scene.fail(&format!(
            "a mutable put below the stored seq was not refused with SEQ_TOO_LOW \
             (status {:?}):\n{out}",
            stale.status
        ));
    }
    started.elapsed()
}

/// The hash of `stored under HASH on N of M nodes`.
fn stored_under(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let rest = line.strip_prefix("stored under ")?;
        rest.split_whitespace().next().map(str::to_string)
    })
}

/// The key of `signing with key KEY`.
fn signing_key(output: &str) -> Option<String> {
    output
        .lines()
        .find_map(|line| line.strip_prefix("signing with key ").map(str::to_string))
}
