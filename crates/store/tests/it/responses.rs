//! Remembered responses for idempotency keys, and the access log.

use domain::ParticipantId;
use store::{AccessRow, Batch};

use crate::Db;
use crate::fixtures::{empty_batch, every_kind_of_command, response, rolling_settings};

crate::on_both_backends!(
    remembered_responses_are_never_overwritten,
    batches_remember_responses,
    access_log_keeps_insertion_order,
    old_responses_are_forgotten,
    many_keys_are_looked_up_in_one_query,
);

/// `idempotent_many` answers each (participant, key) in the order asked, as `idempotent` would:
/// a key of another participant is not found, a key asked twice is found twice.
async fn many_keys_are_looked_up_in_one_query(db: &mut Db) {
    let s = &db.store;
    s.remember(&response(1, "k-1", 201, "{\"a\":1}"))
        .await
        .unwrap();
    s.remember(&response(2, "k-2", 200, "{\"b\":2}"))
        .await
        .unwrap();
    let asked: Vec<(ParticipantId, String)> =
        [(2, "k-2"), (1, "k-2"), (1, "k-1"), (3, "x"), (1, "k-1")]
            .into_iter()
            .map(|(p, k)| (ParticipantId(p), k.to_owned()))
            .collect();
    let found = s.idempotent_many(&asked).await.unwrap();
    let mut one_by_one = Vec::new();
    for (p, k) in &asked {
        one_by_one.push(s.idempotent(*p, k).await.unwrap());
    }
    assert_eq!(found, one_by_one);
    let statuses: Vec<Option<u16>> = found.iter().map(|f| f.as_ref().map(|r| r.status)).collect();
    assert_eq!(statuses, [Some(200), None, Some(201), None, Some(201)]);
    assert!(s.idempotent_many(&[]).await.unwrap().is_empty());
    // The most a query takes.
    let most: Vec<(ParticipantId, String)> = (0..store::MAX_KEYS_PER_LOOKUP)
        .map(|i| (ParticipantId(1), format!("k-{i}")))
        .collect();
    let found = s.idempotent_many(&most).await.unwrap();
    assert_eq!(found.iter().filter(|f| f.is_some()).count(), 1);
}

/// Keys past their retention are forgotten; younger ones stay.
async fn old_responses_are_forgotten(db: &mut Db) {
    let s = &db.store;
    s.remember(&response(1, "k-1", 201, "{}")).await.unwrap();
    s.remember(&response(2, "k-2", 201, "{}")).await.unwrap();
    // Remembered just now (wall clock): a cutoff in the past keeps them.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert_eq!(
        s.forget_idempotent_before(now_ms - 3_600_000)
            .await
            .unwrap(),
        0
    );
    assert!(
        s.idempotent(ParticipantId(1), "k-1")
            .await
            .unwrap()
            .is_some()
    );
    // A cutoff after them forgets both.
    assert_eq!(
        s.forget_idempotent_before(now_ms + 3_600_000)
            .await
            .unwrap(),
        2
    );
    assert_eq!(s.idempotent(ParticipantId(1), "k-1").await.unwrap(), None);
    assert_eq!(s.idempotent(ParticipantId(2), "k-2").await.unwrap(), None);
}

async fn remembered_responses_are_never_overwritten(db: &mut Db) {
    let s = &db.store;
    let first = response(
        1,
        "order-0001",
        201,
        "{\"order\":\"O3\",\"价格\":\"420.50\"}",
    );
    assert_eq!(
        s.idempotent(ParticipantId(1), "order-0001").await.unwrap(),
        None
    );
    s.remember(&first).await.unwrap();
    assert_eq!(
        s.idempotent(ParticipantId(1), "order-0001").await.unwrap(),
        Some(first.clone())
    );

    // A second response for the same key is dropped without error.
    s.remember(&response(1, "order-0001", 409, "{\"error\":\"late\"}"))
        .await
        .unwrap();
    assert_eq!(
        s.idempotent(ParticipantId(1), "order-0001").await.unwrap(),
        Some(first.clone())
    );

    // Keys are per participant.
    let other = response(2, "order-0001", 422, "");
    s.remember(&other).await.unwrap();
    assert_eq!(
        s.idempotent(ParticipantId(2), "order-0001").await.unwrap(),
        Some(other)
    );
    assert_eq!(
        s.idempotent(ParticipantId(1), "order-0001").await.unwrap(),
        Some(first)
    );
    assert_eq!(
        s.idempotent(ParticipantId(1), "order-0002").await.unwrap(),
        None
    );
    assert_eq!(
        s.idempotent(ParticipantId(3), "order-0001").await.unwrap(),
        None
    );
}

async fn batches_remember_responses(db: &mut Db) {
    let s = &db.store;
    let one = s
        .insert_session("one", &rolling_settings(), 1)
        .await
        .unwrap();
    s.remember(&response(1, "a", 200, "first a")).await.unwrap();
    s.append(&Batch {
        entries: every_kind_of_command(1)[..1].to_vec(),
        responses: vec![
            // Already remembered: kept as it was.
            response(1, "a", 500, "second a"),
            response(1, "b", 201, "first b"),
            // The same key twice in one batch: the first wins.
            response(1, "b", 202, "second b"),
            response(2, "a", 200, "p2 a"),
        ],
        ..empty_batch(one)
    })
    .await
    .unwrap();
    assert_eq!(
        s.idempotent(ParticipantId(1), "a").await.unwrap(),
        Some(response(1, "a", 200, "first a"))
    );
    assert_eq!(
        s.idempotent(ParticipantId(1), "b").await.unwrap(),
        Some(response(1, "b", 201, "first b"))
    );
    assert_eq!(
        s.idempotent(ParticipantId(2), "a").await.unwrap(),
        Some(response(2, "a", 200, "p2 a"))
    );
}

async fn access_log_keeps_insertion_order(db: &mut Db) {
    let s = &db.store;
    assert_eq!(s.access_log().await.unwrap(), vec![]);
    let rows = [
        (7, 3_000, "GET /api/v1/sessions/3/orders"),
        (7, 1_000, "GET /api/v1/sessions/3/orders?participant=P2"),
        (2, 2_000, "GET /api/v1/sessions/1/contracts"),
        (7, 1_000, "GET /api/v1/sessions/3/orders?participant=P2"),
    ];
    for (participant, at_ms, what) in rows {
        s.log_access(ParticipantId(participant), at_ms, what)
            .await
            .unwrap();
    }
    let expected: Vec<AccessRow> = rows
        .iter()
        .map(|&(participant, at_ms, what)| AccessRow {
            participant: ParticipantId(participant),
            at_ms,
            what: what.to_owned(),
        })
        .collect();
    assert_eq!(s.access_log().await.unwrap(), expected);
}
