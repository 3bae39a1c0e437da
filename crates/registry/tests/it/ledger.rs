//! The ledger: canonical bytes, the hash chain, and verification naming the first bad entry.

use domain::{Fen, Kwh};
use registry::{
    Body, Digest, Entry, Registry, RegistryError, SerialRange, VerifyFailure, replay, verify,
    verify_bytes,
};

use crate::{bilateral, p, project, settlement, ym};

/// A small ledger using every kind of entry.
pub fn scenario() -> Registry {
    let mut reg = Registry::new();
    let (a, b, c) = (p(1), p(2), p(3));
    let (m1, m2) = (ym("2024-01"), ym("2024-02"));
    reg.issue(project(1), a, m1, Kwh(20_400), 1_000).unwrap();
    reg.issue(project(2), b, m1, Kwh(7_000), 1_001).unwrap();
    reg.issue(project(1), a, m2, Kwh(9_700), 1_002).unwrap();
    reg.transfer(a, c, project(1), m1, 5, settlement(11, "2024-01"), 2_000)
        .unwrap();
    let l = reg.list(a, project(1), m1, 4, Fen(2_500), 2_001).unwrap();
    reg.buy_listing(l, c, 3, 2_002).unwrap();
    reg.transfer(b, c, project(2), m1, 2, bilateral(30), 2_003)
        .unwrap();
    reg.claim(c, project(1), m1, 6, "Ningbo Steel & Co. <东厂>", 3_000)
        .unwrap();
    reg.delist(a, l, 3_001).unwrap();
    reg.expire(ym("2026-02"), 4_000).unwrap();
    reg
}

#[test]
fn a_valid_ledger_verifies_and_replays_to_the_same_registry() {
    let reg = scenario();
    let entries = reg.entries();
    assert_eq!(entries.len(), 10);
    assert_eq!(entries[0].prev_hash, Digest::GENESIS);
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    let report = verify(entries).unwrap();
    assert_eq!(report.to_string(), "ok 10 entries");
    assert_eq!(report.head, reg.head());
    assert_eq!(report.totals, reg.check_conservation().unwrap());
    let (replayed, _) = replay(entries).unwrap();
    assert_eq!(replayed, reg);
    let bytes: Vec<Vec<u8>> = entries.iter().map(Entry::to_bytes).collect();
    assert_eq!(verify_bytes(&bytes).unwrap(), report);
    assert!(verify(&[]).is_ok_and(|r| r.entries == 0 && r.head == Digest::GENESIS));
}

#[test]
fn entries_round_trip_through_bytes_and_json() {
    for entry in scenario().entries() {
        let bytes = entry.to_bytes();
        assert_eq!(&bytes[..5], b"LVDG\x01");
        assert_eq!(Entry::from_bytes(&bytes).unwrap(), *entry);
        let json = serde_json::to_string(entry).unwrap();
        assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), *entry);
        assert_eq!(entry.computed_hash(), entry.hash);
    }
    let mut bytes = scenario().entries()[0].to_bytes();
    bytes.push(0);
    assert!(Entry::from_bytes(&bytes).is_err());
}

#[test]
fn the_entry_format_is_pinned() {
    let mut reg = Registry::new();
    let e = reg
        .issue(
            project(1),
            p(1),
            ym("2024-03"),
            Kwh(12_345),
            1_700_000_000_000,
        )
        .unwrap();
    let json = serde_json::to_value(e).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "seq": 1,
            "at_ms": 1_700_000_000_000i64,
            "prev_hash": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "hash": e.hash.to_string(),
            "body": {
                "kind": "issue",
                "project": "33010000000000001",
                "month": "2024-03",
                "owner": 1,
                "metered_kwh": 12345,
                "carry_in_kwh": 0,
                "carry_out_kwh": 345,
                "issued": "33010000000000001202403000000001-33010000000000001202403000000012"
            }
        })
    );
    let canonical = e.canonical_bytes();
    let mut expected = b"LVDG\x01".to_vec();
    expected.extend(1u64.to_be_bytes());
    expected.extend(1_700_000_000_000i64.to_be_bytes());
    expected.push(1); // issue
    expected.extend(b"33010000000000001");
    expected.extend(202_403u32.to_be_bytes());
    expected.extend(1u64.to_be_bytes());
    expected.extend(12_345i64.to_be_bytes());
    expected.extend(0i64.to_be_bytes());
    expected.extend(345i64.to_be_bytes());
    expected.push(1);
    expected.extend(b"33010000000000001");
    expected.extend(202_403u32.to_be_bytes());
    expected.extend(1u32.to_be_bytes());
    expected.extend(12u32.to_be_bytes());
    assert_eq!(canonical, expected);
    // SHA-256 of 32 zero bytes followed by those canonical bytes.
    assert_eq!(
        e.hash.to_string(),
        "sha256:067880ff7266f8b8fb22ddc4ec9f60318492b5d1b3d80bc8acbe4322b251c270"
    );
}

fn failure_at(entries: &[Entry]) -> (u64, VerifyFailure) {
    let err = verify(entries).unwrap_err();
    (err.first_bad_seq, err.reason)
}

/// Re-hashes entries from `from` (0-based) on, as a forger who rewrites the chain would.
fn reseal(entries: &mut [Entry], from: usize) {
    for i in from..entries.len() {
        let prev = if i == 0 {
            Digest::GENESIS
        } else {
            entries[i - 1].hash
        };
        let e = &entries[i];
        entries[i] = Entry::seal(e.seq, e.at_ms, prev, e.body.clone());
    }
}

#[test]
fn a_changed_entry_is_named() {
    let mut entries = scenario().entries().to_vec();
    if let Body::Transfer { count, .. } = &mut entries[3].body {
        *count = 6;
    }
    assert!(matches!(
        failure_at(&entries),
        (4, VerifyFailure::HashMismatch { .. })
    ));
    let mut entries = scenario().entries().to_vec();
    entries[5].at_ms += 1;
    assert!(matches!(
        failure_at(&entries),
        (6, VerifyFailure::HashMismatch { .. })
    ));
    let mut entries = scenario().entries().to_vec();
    entries[2].hash.bytes[0] ^= 1;
    assert!(matches!(
        failure_at(&entries),
        (3, VerifyFailure::HashMismatch { .. })
    ));
}

#[test]
fn a_deleted_or_moved_entry_is_named() {
    let mut entries = scenario().entries().to_vec();
    entries.remove(4);
    assert_eq!(
        failure_at(&entries),
        (5, VerifyFailure::OutOfSequence { found: 6 })
    );
    let mut entries = scenario().entries().to_vec();
    entries.swap(6, 8);
    assert_eq!(
        failure_at(&entries),
        (7, VerifyFailure::OutOfSequence { found: 9 })
    );
    // Renumbered after a deletion: the chain breaks instead.
    let mut entries = scenario().entries().to_vec();
    entries.remove(4);
    for (i, e) in entries.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
    }
    assert_eq!(failure_at(&entries).0, 5);
    let mut entries = scenario().entries().to_vec();
    entries[7].prev_hash = entries[5].hash;
    assert_eq!(failure_at(&entries), (8, VerifyFailure::BrokenChain));
}

#[test]
fn a_resealed_entry_that_breaks_a_rule_is_named() {
    let reg = scenario();
    // Entry 7 is B's bilateral sale to C; make C sell on what it bought (trade once).
    let mut entries = reg.entries().to_vec();
    entries[6].body = Body::Transfer {
        from: p(3),
        to: p(2),
        project: project(1),
        month: ym("2024-01"),
        count: 1,
        reason: bilateral(99),
        ranges: vec![SerialRange::new(project(1), ym("2024-01"), 1, 1).unwrap()],
    };
    reseal(&mut entries, 6);
    let (seq, reason) = failure_at(&entries);
    assert_eq!(seq, 7);
    assert!(
        matches!(
            reason,
            VerifyFailure::RuleViolated(RegistryError::AlreadyTransferred { .. })
        ),
        "{reason}"
    );

    // Entry 4 records other serials than the rules move: the effects do not match.
    let mut entries = reg.entries().to_vec();
    if let Body::Transfer { ranges, .. } = &mut entries[3].body {
        ranges[0] = SerialRange::new(project(1), ym("2024-01"), 2, 5).unwrap();
    }
    reseal(&mut entries, 3);
    assert!(matches!(
        failure_at(&entries),
        (4, VerifyFailure::EffectMismatch(_))
    ));

    // An entry timed before its predecessor.
    let mut entries = reg.entries().to_vec();
    entries[4].at_ms = 0;
    reseal(&mut entries, 4);
    assert!(matches!(
        failure_at(&entries),
        (
            5,
            VerifyFailure::RuleViolated(RegistryError::ClockWentBack { .. })
        )
    ));
}

#[test]
fn stored_bytes_that_do_not_decode_are_named() {
    let mut bytes: Vec<Vec<u8>> = scenario().entries().iter().map(Entry::to_bytes).collect();
    bytes[2].truncate(40);
    let err = verify_bytes(&bytes).unwrap_err();
    assert_eq!(err.first_bad_seq, 3);
    assert!(matches!(err.reason, VerifyFailure::Undecodable(_)));
    assert!(
        err.to_string().starts_with("entry 3: cannot be read"),
        "{err}"
    );
}

#[test]
fn entries_after_a_seq_are_what_a_store_still_needs() {
    let reg = scenario();
    assert_eq!(reg.entries_after(0).len(), 10);
    assert_eq!(reg.entries_after(7)[0].seq, 8);
    assert!(reg.entries_after(10).is_empty());
    assert!(reg.entries_after(99).is_empty());
}
