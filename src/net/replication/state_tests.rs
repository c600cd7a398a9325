//! Tests of `Replication`: messages in, effects out, with no hypercore (an
//! `Apply` is answered by the test).

use super::*;
use hypercore_protocol::schema::{Bitfield, NoData};

fn local(length: u64) -> Local {
    Local {
        length,
        fork: 0,
        writable: false,
    }
}

fn sync(length: u64) -> Message {
    synchronize(0, length, 0)
}

fn range(start: u64, length: u64) -> Message {
    range_message(start..start + length)
}

/// The requests among `effects`: (peer, id, asked).
fn asks(effects: &[Effect]) -> Vec<(PeerId, u64, Asked)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Ask { peer, id, asked } => Some((*peer, *id, *asked)),
            _ => None,
        })
        .collect()
}

fn sent_to(effects: &[Effect], to: PeerId) -> Vec<&Message> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(peer, m) if *peer == to => Some(m),
            _ => None,
        })
        .collect()
}

fn data_for(id: u64, block: Option<u64>, upgrade: Option<(u64, u64)>) -> Message {
    Message::Data(super::checks::data_answering(id, block, upgrade))
}

#[test]
fn a_new_follower_asks_the_upgrade_then_blocks_newest_first() {
    let t0 = Instant::now();
    let mut r = Replication::new(local(0), RangeSet::default());
    let hello = r.attach(1);
    assert!(
        matches!(sent_to(&hello, 1)[..], [Message::Synchronize(_)]),
        "our sync goes out at once: {hello:?}"
    );
    r.on_message(1, range(0, 1000), t0);
    r.on_message(1, sync(1000), t0);
    let first = r.schedule(t0);
    let first = asks(&first);
    assert_eq!(first.len(), 1, "only the upgrade: {first:?}");
    let (_, id, asked) = first[0];
    assert_eq!(asked.upgrade, Some((0, 1000)));
    assert_eq!(asked.block, None, "never a block with an upgrade");
    let effects = r.on_message(1, data_for(id, None, Some((0, 1000))), t0);
    assert!(matches!(effects[..], [Effect::Apply { .. }]));
    r.applied(1, id, Applied::Done, local(1000));
    let blocks: Vec<u64> = asks(&r.schedule(t0))
        .iter()
        .filter_map(|(_, _, a)| a.block)
        .collect();
    assert_eq!(blocks.len(), INFLIGHT.0, "a full window in flight");
    let expected: Vec<u64> = (0..1000).rev().take(INFLIGHT.0).collect();
    assert_eq!(blocks, expected, "newest first");
}

#[test]
fn requests_spread_over_peers_and_move_on_after_no_data_or_timeout() {
    let t0 = Instant::now();
    let mut r = Replication::new(local(100), RangeSet::default());
    for peer in [1, 2] {
        r.attach(peer);
        r.on_message(peer, range(0, 100), t0);
        r.on_message(peer, sync(100), t0);
    }
    let asked = asks(&r.schedule(t0));
    assert_eq!(asked.len(), 2 * INFLIGHT.0);
    assert!(asked.iter().any(|(p, _, _)| *p == 1) && asked.iter().any(|(p, _, _)| *p == 2));
    let (peer, id, a) = asked[0];
    let block = a.block.unwrap_or_default();
    // A no-data: that peer is not asked for the block again; the other is.
    r.on_message(peer, Message::NoData(NoData { request: id }), t0);
    let again = asks(&r.schedule(t0));
    let other = if peer == 1 { 2 } else { 1 };
    assert!(
        again
            .iter()
            .all(|(p, _, a)| a.block != Some(block) || *p == other),
        "{again:?}"
    );
    // Nothing answered: everything is asked again after the timeout,
    // which is when the driver wakes.
    assert_eq!(r.next_deadline(), Some(t0 + REQUEST_TIMEOUT));
    let later = asks(&r.schedule(t0 + REQUEST_TIMEOUT));
    assert_eq!(later.len(), 2 * INFLIGHT.0, "re-asked after the timeout");
    assert_eq!(r.next_deadline(), Some(t0 + 2 * REQUEST_TIMEOUT));
}

#[test]
fn with_nothing_in_flight_nothing_comes_due() {
    let t0 = Instant::now();
    let mut r = Replication::new(local(0), RangeSet::default());
    r.attach(1);
    r.on_message(1, sync(0), t0);
    r.schedule(t0);
    assert_eq!(r.next_deadline(), None);
}

#[test]
fn requests_we_cannot_serve_get_no_data() {
    let t0 = Instant::now();
    let mut held = RangeSet::default();
    held.insert(0, 5);
    let mut r = Replication::new(local(10), held);
    r.attach(1);
    let request = |index, upgrade: Option<(u64, u64)>| {
        Message::Request(crate::net::compat::frames::test_request(
            9,
            Some((index, 0)),
            upgrade,
        ))
    };
    assert!(matches!(
        r.on_message(1, request(3, None), t0)[..],
        [Effect::Serve(1, _)]
    ));
    for (index, upgrade) in [(7, None), (3, Some((5, u64::MAX))), (99, None)] {
        let effects = r.on_message(1, request(index, upgrade), t0);
        assert!(
            matches!(
                effects[..],
                [Effect::Send(1, Message::NoData(NoData { request: 9 }))]
            ),
            "block {index}, upgrade {upgrade:?}: {effects:?}"
        );
    }
}

#[test]
fn failing_proofs_detach_the_peer_but_stale_ones_do_not() {
    let t0 = Instant::now();
    let mut r = Replication::new(local(50), RangeSet::default());
    r.attach(1);
    r.on_message(1, range(0, 50), t0);
    r.on_message(1, sync(50), t0);
    let asked = asks(&r.schedule(t0));
    let mut detached = false;
    for (i, (peer, id, a)) in asked.iter().take(MAX_STRIKES as usize).enumerate() {
        let effects = r.on_message(*peer, data_for(*id, a.block, None), t0);
        assert!(matches!(effects[..], [Effect::Apply { .. }]), "{effects:?}");
        let after = r.applied(*peer, *id, Applied::Refused("bad".into()), local(50));
        detached = after.iter().any(|e| matches!(e, Effect::Detach(1, _)));
        assert_eq!(detached, i + 1 == MAX_STRIKES as usize, "strike {i}");
    }
    assert!(detached && !r.has_peer(1));

    // A refusal after our length moved on is no fault of the peer's.
    let mut r = Replication::new(local(50), RangeSet::default());
    r.attach(2);
    r.on_message(2, range(0, 60), t0);
    r.on_message(2, sync(50), t0);
    let asked = asks(&r.schedule(t0));
    for (peer, id, a) in asked.iter().take(MAX_STRIKES as usize + 1) {
        r.on_message(*peer, data_for(*id, a.block, None), t0);
        let after = r.applied(*peer, *id, Applied::Refused("moved".into()), local(60));
        assert!(after.is_empty(), "{after:?}");
    }
    assert!(r.has_peer(2));
}

#[test]
fn unasked_and_mismatched_data_is_never_applied() {
    let t0 = Instant::now();
    let mut r = Replication::new(local(20), RangeSet::default());
    r.attach(1);
    r.on_message(1, range(0, 20), t0);
    r.on_message(1, sync(20), t0);
    let asked = asks(&r.schedule(t0));
    // Data for a request never made: ignored.
    assert!(r
        .on_message(1, data_for(10_000, Some(3), None), t0)
        .is_empty());
    // Data for another block than asked: refused, and a strike.
    let (_, id, a) = asked[0];
    let wrong = a.block.map(|b| b + 1);
    let effects = r.on_message(1, data_for(id, wrong, None), t0);
    assert!(effects.iter().all(|e| !matches!(e, Effect::Apply { .. })));
}

#[test]
fn bitfields_and_wants_tell_what_is_held() {
    let t0 = Instant::now();
    let mut held = RangeSet::default();
    held.insert(0, 10);
    held.insert(20, 5);
    let mut r = Replication::new(local(30), held);
    r.attach(1);
    r.on_message(1, sync(30), t0);
    let answer = r.on_message(
        1,
        Message::Want(Want {
            start: 0,
            length: 1 << 40,
        }),
        t0,
    );
    let ranges: Vec<(u64, u64)> = sent_to(&answer, 1)
        .iter()
        .filter_map(|m| match m {
            Message::Range(r) => Some((r.start, r.length)),
            _ => None,
        })
        .collect();
    assert_eq!(ranges, vec![(0, 10), (20, 5)]);
    // A bitfield from the peer: blocks 25..27 can be asked of it.
    let mut r = Replication::new(local(30), RangeSet::default());
    r.attach(1);
    r.on_message(1, sync(30), t0);
    r.on_message(
        1,
        Message::Bitfield(Bitfield {
            start: 0,
            bitfield: vec![0b11 << 25],
        }),
        t0,
    );
    let blocks: Vec<Option<u64>> = asks(&r.schedule(t0))
        .iter()
        .map(|(_, _, a)| a.block)
        .collect();
    assert_eq!(blocks, vec![Some(26), Some(25)]);
}

#[test]
fn a_local_append_is_announced_with_a_sync_and_a_range() {
    let t0 = Instant::now();
    let writer = Local {
        length: 3,
        fork: 0,
        writable: true,
    };
    let mut held = RangeSet::default();
    held.insert(0, 3);
    let mut r = Replication::new(writer, held);
    r.attach(1);
    r.on_message(1, sync(3), t0);
    r.schedule(t0);
    r.local_changed(
        Local {
            length: 4,
            ..writer
        },
        3..4,
    );
    let effects = r.schedule(t0);
    let to_peer = sent_to(&effects, 1);
    assert!(to_peer.iter().any(|m| matches!(
        m,
        Message::Range(Range {
            start: 3,
            length: 1,
            ..
        })
    )));
    assert!(to_peer
        .iter()
        .any(|m| matches!(m, Message::Synchronize(s) if s.length == 4 && s.remote_length == 3)));
    assert!(asks(&effects).is_empty(), "a writer never downloads");
}

#[test]
fn any_peer_gets_the_full_window_at_once_js_or_hychat() {
    let t0 = Instant::now();
    let mut r = Replication::new(local(100), RangeSet::default());
    r.attach(1);
    r.on_message(1, range(0, 100), t0);
    r.on_message(1, sync(100), t0);
    assert_eq!(asks(&r.schedule(t0)).len(), INFLIGHT.0, "no hello needed");
}

#[test]
fn what_a_silent_peer_was_asked_goes_to_another_peer() {
    let t0 = Instant::now();
    let later = t0 + REQUEST_TIMEOUT;
    // The upgrade: asked of peer 1 (ties go to the lower id), then, once it
    // timed out, of peer 2, though peer 1 claims the same length.
    let mut r = Replication::new(local(0), RangeSet::default());
    for peer in [1, 2] {
        r.attach(peer);
        r.on_message(peer, sync(10), t0);
    }
    let first = asks(&r.schedule(t0));
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].0, first[0].2.upgrade), (1, Some((0, 10))));
    let again = asks(&r.schedule(later));
    assert_eq!((again[0].0, again[0].2.upgrade), (2, Some((0, 10))));
    // A block: the same.
    let mut held = RangeSet::default();
    held.insert(0, 9);
    let mut r = Replication::new(local(10), held);
    for peer in [1, 2] {
        r.attach(peer);
        r.on_message(peer, range(0, 10), t0);
        r.on_message(peer, sync(10), t0);
    }
    let first = asks(&r.schedule(t0));
    assert_eq!((first.len(), first[0].0, first[0].2.block), (1, 1, Some(9)));
    let again = asks(&r.schedule(later));
    assert_eq!((again.len(), again[0].0, again[0].2.block), (1, 2, Some(9)));
}

#[test]
fn a_length_past_any_log_is_cut_to_max_block() {
    let t0 = Instant::now();
    let mut r = Replication::new(local(3), RangeSet::default());
    r.attach(1);
    r.on_message(1, sync(u64::MAX), t0);
    let asked = asks(&r.schedule(t0));
    assert_eq!(
        asked.first().map(|(_, _, a)| a.upgrade),
        Some(Some((3, crate::net::replication::ranges::MAX_BLOCK - 3)))
    );
}
