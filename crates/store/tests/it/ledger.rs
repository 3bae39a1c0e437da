//! Ledger entries and versioned meter data.

use store::{LedgerRow, MeterMonth, StoreError, StoredCheckpoint};

use crate::Db;

crate::on_both_backends!(
    checkpoints_follow_the_ledger,
    meter_uploads_and_ledger_appends_run_side_by_side,
    final_settlement_is_all_or_nothing,
    ledger_appends_in_order_only,
    meter_corrections_are_new_versions
);

fn row(seq: u64, bytes: &[u8]) -> LedgerRow {
    LedgerRow {
        seq,
        at_ms: 1_000 + seq as i64,
        entry: bytes.to_vec(),
    }
}

async fn ledger_appends_in_order_only(db: &mut Db) {
    let s = &db.store;
    assert_eq!(s.ledger().await.unwrap(), vec![]);
    // The reply to the request that made the entries is remembered in their transaction.
    let reply = crate::fixtures::response(4, "POST /api/v1/certificates/transfer\nt-1", 201, "{}");
    s.append_ledger(&[row(1, b"one"), row(2, &[0, 255, 7])], Some(&reply))
        .await
        .unwrap();
    assert_eq!(
        s.idempotent(reply.participant, &reply.key).await.unwrap(),
        Some(reply.clone())
    );
    // A gap, or a number already taken, writes nothing.
    for bad in [
        vec![row(4, b"four")],
        vec![row(3, b"three"), row(5, b"five")],
        vec![row(2, b"again")],
    ] {
        let other = crate::fixtures::response(4, "t-bad", 201, "{}");
        match s.append_ledger(&bad, Some(&other)).await {
            Err(StoreError::Conflict { what }) => {
                assert!(what.starts_with("ledger entry"), "{what}")
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(
            s.idempotent(other.participant, &other.key).await.unwrap(),
            None
        );
    }
    s.append_ledger(&[row(3, b"three")], None).await.unwrap();
    assert_eq!(
        s.ledger().await.unwrap(),
        vec![row(1, b"one"), row(2, &[0, 255, 7]), row(3, b"three")]
    );
    db.reopen().await;
    assert_eq!(db.store.ledger().await.unwrap().len(), 3);
}

async fn checkpoints_follow_the_ledger(db: &mut Db) {
    let s = &db.store;
    let at = |seq: u64, state: &[u8]| StoredCheckpoint {
        seq,
        state: state.to_vec(),
    };
    assert_eq!(s.registry_checkpoint().await.unwrap(), None);
    // A checkpoint of the empty ledger, then one beyond the stored entries: refused.
    s.put_registry_checkpoint(&at(0, b"empty"), 1)
        .await
        .unwrap();
    match s.put_registry_checkpoint(&at(1, b"early"), 2).await {
        Err(StoreError::Conflict { what }) => assert!(what.contains("ledger ends at 0"), "{what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        s.registry_checkpoint().await.unwrap(),
        Some(at(0, b"empty"))
    );
    s.append_ledger(&[row(1, b"one"), row(2, b"two"), row(3, b"three")], None)
        .await
        .unwrap();
    // Large states round-trip through the compression; the latest position is read.
    let big: Vec<u8> = (0..300_000u32)
        .flat_map(|i| (i % 251).to_be_bytes())
        .collect();
    s.put_registry_checkpoint(&at(2, &big), 3).await.unwrap();
    assert_eq!(s.registry_checkpoint().await.unwrap(), Some(at(2, &big)));
    s.put_registry_checkpoint(&at(2, b"again"), 4)
        .await
        .unwrap();
    s.put_registry_checkpoint(&at(3, b"three"), 5)
        .await
        .unwrap();
    db.reopen().await;
    assert_eq!(
        db.store.registry_checkpoint().await.unwrap(),
        Some(at(3, b"three"))
    );
    assert_eq!(
        db.store.ledger_range(2, 3).await.unwrap(),
        vec![row(2, b"two"), row(3, b"three")]
    );
    assert_eq!(db.store.ledger_range(4, u64::MAX).await.unwrap(), vec![]);
}

/// A meter upload and ledger appends at the same time both commit: every write transaction
/// takes the write lock when it begins (on SQLite a deferred one that read first failed with
/// "database is locked" when another wrote meanwhile).
async fn meter_uploads_and_ledger_appends_run_side_by_side(db: &mut Db) {
    let month = |n: usize| MeterMonth {
        meter: format!("M{n}"),
        month: "2024-02".into(),
        participant: "G1".into(),
        kwh: vec![n as i64; 2_784],
    };
    let uploads = {
        let s = db.store.clone();
        tokio::spawn(async move {
            for round in 0..20 {
                let months: Vec<MeterMonth> = (0..50).map(month).collect();
                s.put_meter_months(&months, round).await.unwrap();
            }
        })
    };
    let appends = {
        let s = db.store.clone();
        tokio::spawn(async move {
            for seq in 1..=200 {
                s.append_ledger(&[row(seq, b"entry")], None).await.unwrap();
            }
        })
    };
    uploads.await.unwrap();
    appends.await.unwrap();
    assert_eq!(db.store.ledger().await.unwrap().len(), 200);
    let stored = db.store.meter_months("2024-02").await.unwrap();
    assert_eq!(stored.len(), 50);
    assert!(stored.iter().all(|(_, version)| *version == 20));
}

async fn meter_corrections_are_new_versions(db: &mut Db) {
    let s = &db.store;
    let month = |meter: &str, kwh: Vec<i64>| MeterMonth {
        meter: meter.into(),
        month: "2024-02".into(),
        participant: "G1".into(),
        kwh,
    };
    let first = vec![month("M1", vec![1, 2, 3]), month("M2", vec![0, -0, 9])];
    assert_eq!(s.put_meter_months(&first, 10).await.unwrap(), vec![1, 1]);
    // A correction of M1 is version 2; the latest version is what a month reads.
    assert_eq!(
        s.put_meter_months(&[month("M1", vec![1, 2, 4])], 20)
            .await
            .unwrap(),
        vec![2]
    );
    assert_eq!(
        s.meter_months("2024-02").await.unwrap(),
        vec![
            (month("M1", vec![1, 2, 4]), 2),
            (month("M2", vec![0, 0, 9]), 1)
        ]
    );
    assert_eq!(s.meter_months("2024-03").await.unwrap(), vec![]);
    // One participant's meters, latest versions: G1's both; nobody's; more ids than one
    // statement binds.
    let ids = |list: &[&str]| list.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    assert_eq!(
        s.meter_months_of("2024-02", &ids(&["U9", "G1"]))
            .await
            .unwrap(),
        s.meter_months("2024-02").await.unwrap()
    );
    assert_eq!(
        s.meter_months_of("2024-02", &ids(&["U9"])).await.unwrap(),
        vec![]
    );
    assert_eq!(s.meter_months_of("2024-02", &[]).await.unwrap(), vec![]);
    let mut many: Vec<String> = (0..1200).map(|i| format!("P{i}")).collect();
    many.push("G1".into());
    assert_eq!(s.meter_months_of("2024-02", &many).await.unwrap().len(), 2);

    // Who each meter was stored under, over months and versions, each pair once.
    let other = MeterMonth {
        month: "2024-03".into(),
        participant: "U7".into(),
        ..month("M2", vec![5])
    };
    s.put_meter_months(&[other], 30).await.unwrap();
    let pair = |m: &str, p: &str| (m.to_owned(), p.to_owned());
    assert_eq!(
        s.meter_owners(&["M2", "M1", "M9"]).await.unwrap(),
        vec![pair("M1", "G1"), pair("M2", "G1"), pair("M2", "U7")]
    );
    assert_eq!(s.meter_owners(&[]).await.unwrap(), vec![]);
    // More meters than one statement binds.
    let many: Vec<String> = (0..2500).map(|i| format!("X{i}")).collect();
    let mut names: Vec<&str> = many.iter().map(String::as_str).collect();
    names.push("M1");
    assert_eq!(
        s.meter_owners(&names).await.unwrap(),
        vec![pair("M1", "G1")]
    );
}

/// A final settlement's record, its ledger entries and its reply commit together: a failure
/// injected after the record was written (every ledger insert fails) leaves none of them, and
/// the run then goes through once.
async fn final_settlement_is_all_or_nothing(db: &mut Db) {
    let reply = crate::fixtures::response(1, "POST /api/v1/settlements\nf-1", 201, "{}");
    let moves = [row(1, b"one"), row(2, b"two")];
    db.break_ledger().await;
    let failed = db
        .store
        .record_final_settlement("2024-03", "{\"final\":true}", 5, &moves, Some(&reply))
        .await;
    assert!(matches!(failed, Err(StoreError::Database(_))), "{failed:?}");
    assert_eq!(db.store.final_settlement("2024-03").await.unwrap(), None);
    assert_eq!(db.store.ledger().await.unwrap(), vec![]);
    assert_eq!(
        db.store
            .idempotent(reply.participant, &reply.key)
            .await
            .unwrap(),
        None
    );

    db.heal_ledger().await;
    db.store
        .record_final_settlement("2024-03", "{\"final\":true}", 5, &moves, Some(&reply))
        .await
        .unwrap();
    assert_eq!(
        db.store
            .final_settlement("2024-03")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"final\":true}")
    );
    assert_eq!(db.store.ledger().await.unwrap(), moves.to_vec());
    assert_eq!(
        db.store
            .idempotent(reply.participant, &reply.key)
            .await
            .unwrap(),
        Some(reply)
    );
    // Never twice: the month is final, and nothing of the second run is written.
    match db
        .store
        .record_final_settlement("2024-03", "{}", 6, &[row(3, b"three")], None)
        .await
    {
        Err(StoreError::Conflict { what }) => assert_eq!(what, "the final settlement of 2024-03"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(db.store.ledger().await.unwrap().len(), 2);

    // The record is stored compressed (migration 0011); a record written before, as text, reads
    // as it was; a packed record that does not decompress is named as corrupt.
    let before_0011 = "UPDATE final_settlements SET result = '{\"old\":1}', packed = NULL";
    db.raw(before_0011, before_0011).await;
    assert_eq!(
        db.store
            .final_settlement("2024-03")
            .await
            .unwrap()
            .as_deref(),
        Some("{\"old\":1}")
    );
    db.raw(
        "UPDATE final_settlements SET packed = x'ff00ff'",
        "UPDATE final_settlements SET packed = '\\xff00ff'::bytea",
    )
    .await;
    match db.store.final_settlement("2024-03").await {
        Err(StoreError::Corrupt { table, reason }) => {
            assert_eq!(table, "final_settlements");
            assert!(
                reason.starts_with("month 2024-03: the packed document"),
                "{reason}"
            );
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
}
