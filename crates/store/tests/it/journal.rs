//! Sessions, the journal, and the orders and contracts a batch writes with it.

use domain::{
    ContractStatus, Kwh, Order, OrderId, ParticipantId, Period, Price, Role, SessionId, Side,
    TimeInForce,
};
use exchange::session::{Command, Event, Session, SessionState, Stamp};
use store::{Batch, JournalEntry, SessionRow, StoreError};

use crate::Db;
use crate::fixtures::{
    at_ms, contract, elaborate_settings, empty_batch, every_kind_of_command, new_participant,
    order, party, price, response, rolling_settings,
};

crate::on_both_backends!(
    sessions_round_trip_settings,
    journal_round_trips_every_command,
    orders_and_contracts_round_trip,
    failed_batches_write_nothing,
    unknown_sessions_are_missing,
    replay_rebuilds_the_session,
);

async fn sessions_round_trip_settings(db: &mut Db) {
    let s = &db.store;
    let a = s
        .insert_session("2025年3月浙江绿电滚动撮合", &rolling_settings(), 1_000)
        .await
        .unwrap();
    let b = s
        .insert_session("跨省年度集中竞价", &elaborate_settings(), 2_000)
        .await
        .unwrap();
    assert_eq!((a, b), (SessionId(1), SessionId(2)));
    assert_eq!(
        s.sessions().await.unwrap(),
        vec![
            SessionRow {
                id: SessionId(1),
                name: "2025年3月浙江绿电滚动撮合".to_owned(),
                settings: rolling_settings(),
                state: SessionState::Draft,
                created_at_ms: 1_000,
            },
            SessionRow {
                id: SessionId(2),
                name: "跨省年度集中竞价".to_owned(),
                settings: elaborate_settings(),
                state: SessionState::Draft,
                created_at_ms: 2_000,
            },
        ]
    );
}

async fn journal_round_trips_every_command(db: &mut Db) {
    let s = &db.store;
    let one = s
        .insert_session("one", &rolling_settings(), 1)
        .await
        .unwrap();
    let two = s
        .insert_session("two", &rolling_settings(), 2)
        .await
        .unwrap();
    let entries = every_kind_of_command(1);
    assert_eq!(entries.len(), 14);

    // Two batches of session one, the second moving its state; one entry of session two with
    // the same seq as session one's first, which is no clash.
    s.append(&Batch {
        entries: entries[..5].to_vec(),
        ..empty_batch(one)
    })
    .await
    .unwrap();
    s.append(&Batch {
        entries: entries[5..].to_vec(),
        state: Some(SessionState::Published),
        ..empty_batch(one)
    })
    .await
    .unwrap();
    let other = JournalEntry {
        seq: 1,
        at_ms: -5,
        command: Command::Cancel,
    };
    s.append(&Batch {
        entries: vec![other.clone()],
        state: Some(SessionState::Cancelled),
        ..empty_batch(two)
    })
    .await
    .unwrap();

    assert_eq!(s.journal(one).await.unwrap(), entries);
    assert_eq!(s.journal(two).await.unwrap(), vec![other]);
    assert_eq!(s.journal(SessionId(3)).await.unwrap(), vec![]);
    let states: Vec<SessionState> = s
        .sessions()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.state)
        .collect();
    assert_eq!(states, [SessionState::Published, SessionState::Cancelled]);

    // A batch of nothing but a state change.
    s.append(&Batch {
        state: Some(SessionState::Open),
        ..empty_batch(one)
    })
    .await
    .unwrap();
    assert_eq!(s.sessions().await.unwrap()[0].state, SessionState::Open);
    assert_eq!(s.journal(one).await.unwrap().len(), 14);
}

async fn orders_and_contracts_round_trip(db: &mut Db) {
    let s = &db.store;
    let one = s
        .insert_session("one", &rolling_settings(), 1)
        .await
        .unwrap();
    let two = s
        .insert_session("two", &rolling_settings(), 2)
        .await
        .unwrap();
    let extreme = Order {
        id: OrderId(u64::try_from(i64::MAX).unwrap()),
        participant: ParticipantId(4_000_000_000),
        side: Side::Buy,
        period: Period(u16::MAX),
        volume: Kwh(i64::MAX),
        price: price(i64::MIN, -1),
        time_in_force: TimeInForce::Ioc,
        submitted_at_ms: i64::MIN,
    };
    let orders = vec![
        order(5, 1, Side::Sell, 8, 10_000),
        extreme.clone(),
        order(2, 2, Side::Buy, 95, 1),
    ];
    let mut settled = contract(one, 2, 1, 2);
    settled.status = ContractStatus::Settled;
    settled.compensation = Price(-7);
    let contracts = vec![
        contract(one, 3, 2, 1),
        settled.clone(),
        contract(one, 1, 1, 2),
    ];
    s.append(&Batch {
        entries: every_kind_of_command(1)[..2].to_vec(),
        orders: orders.clone(),
        contracts: contracts.clone(),
        ..empty_batch(one)
    })
    .await
    .unwrap();
    s.append(&Batch {
        orders: vec![order(5, 3, Side::Buy, 0, 2_000)],
        contracts: vec![contract(two, 1, 3, 4)],
        ..empty_batch(two)
    })
    .await
    .unwrap();

    // By id, exactly as given.
    assert_eq!(
        s.orders(one).await.unwrap(),
        vec![orders[2].clone(), orders[0].clone(), extreme]
    );
    assert_eq!(s.orders(one).await.unwrap()[1].price, price(40_005, 1_995));
    assert_eq!(
        s.contracts(one).await.unwrap(),
        vec![contracts[2].clone(), settled, contracts[0].clone()]
    );
    assert_eq!(
        s.contracts(one).await.unwrap()[0].volumes,
        crate::fixtures::volumes(&[(8, 1_000), (9, 2_500)])
    );
    assert_eq!(
        s.orders(two).await.unwrap(),
        vec![order(5, 3, Side::Buy, 0, 2_000)]
    );
    assert_eq!(
        s.contracts(two).await.unwrap(),
        vec![contract(two, 1, 3, 4)]
    );
    assert_eq!(s.orders(SessionId(3)).await.unwrap(), vec![]);
}

/// What a session has stored, to compare before and after a refused batch.
async fn everything(db: &Db, session: SessionId) -> String {
    let s = &db.store;
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        s.journal(session).await.unwrap(),
        s.orders(session).await.unwrap(),
        s.contracts(session).await.unwrap(),
        s.sessions().await.unwrap(),
        s.idempotent(ParticipantId(1), "k-new").await.unwrap(),
        s.idempotent(ParticipantId(1), "k-1").await.unwrap(),
    )
}

async fn failed_batches_write_nothing(db: &mut Db) {
    let s = &db.store;
    let one = s
        .insert_session("one", &rolling_settings(), 1)
        .await
        .unwrap();
    let entries = every_kind_of_command(1);
    s.append(&Batch {
        entries: entries[..3].to_vec(),
        state: Some(SessionState::Open),
        orders: vec![order(3, 1, Side::Sell, 8, 10_000)],
        contracts: vec![contract(one, 1, 1, 2)],
        responses: vec![response(1, "k-1", 201, "{\"seq\":3}")],
        ..empty_batch(one)
    })
    .await
    .unwrap();
    let before = everything(db, one).await;
    assert_eq!(s.journal(one).await.unwrap(), entries[..3]);

    // Everything a refused batch would have written, but for the part named.
    let good = Batch {
        entries: entries[3..6].to_vec(),
        state: Some(SessionState::Closed),
        orders: vec![order(4, 2, Side::Buy, 23, 1_000)],
        contracts: vec![contract(one, 2, 1, 2)],
        responses: vec![response(1, "k-new", 200, "{}")],
        ..empty_batch(one)
    };

    // With a state change (statement by statement) and without (on SQLite, one script whose
    // failing statement is not known): the same errors, and nothing written.
    for state in [good.state, None] {
        let good = Batch {
            state,
            ..good.clone()
        };
        // seq 3 is taken: the journal insert fails first.
        let mut taken = good.clone();
        taken.entries.insert(0, entries[2].clone());
        let e = s.append(&taken).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict { what } if what == "journal entry 3 of session S1"),
            "{e:?}"
        );
        assert_eq!(everything(db, one).await, before);

        // Order 3 is taken: the journal entries went in before the orders failed, and are gone.
        let mut taken = good.clone();
        taken.orders.push(order(3, 2, Side::Buy, 8, 5_000));
        let e = s.append(&taken).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict { what } if what == "order O3 of session S1"),
            "{e:?}"
        );
        assert_eq!(everything(db, one).await, before);

        // Contract 1 is taken: the last insert before the state update and responses fails.
        let mut taken = good.clone();
        taken.contracts.push(contract(one, 1, 2, 1));
        let e = s.append(&taken).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict { what } if what == "contract C1 of session S1"),
            "{e:?}"
        );
        assert_eq!(everything(db, one).await, before);

        // The same seq twice in one batch.
        let mut twice = good.clone();
        twice.entries.push(entries[4].clone());
        let e = s.append(&twice).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict { what } if what == "journal entry 5 of session S1"),
            "{e:?}"
        );
        assert_eq!(everything(db, one).await, before);
    }

    // The good batch itself goes in whole.
    s.append(&good).await.unwrap();
    assert_eq!(s.journal(one).await.unwrap(), entries[..6]);
    assert_eq!(s.orders(one).await.unwrap().len(), 2);
    assert_eq!(s.contracts(one).await.unwrap().len(), 2);
    assert_eq!(s.sessions().await.unwrap()[0].state, SessionState::Closed);
    assert_eq!(
        s.idempotent(ParticipantId(1), "k-new").await.unwrap(),
        Some(response(1, "k-new", 200, "{}"))
    );
}

async fn unknown_sessions_are_missing(db: &mut Db) {
    let s = &db.store;
    let one = s
        .insert_session("one", &rolling_settings(), 1)
        .await
        .unwrap();
    let nine = SessionId(9);
    let cases = [
        Batch {
            entries: every_kind_of_command(1)[..1].to_vec(),
            ..empty_batch(nine)
        },
        Batch {
            orders: vec![order(1, 1, Side::Sell, 0, 1_000)],
            ..empty_batch(nine)
        },
        Batch {
            contracts: vec![contract(nine, 1, 1, 2)],
            ..empty_batch(nine)
        },
        Batch {
            state: Some(SessionState::Open),
            responses: vec![response(1, "k", 200, "{}")],
            ..empty_batch(nine)
        },
    ];
    for batch in cases {
        let e = s.append(&batch).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Missing { what } if what == "session S9"),
            "{e:?}"
        );
    }
    assert_eq!(s.idempotent(ParticipantId(1), "k").await.unwrap(), None);

    // A contract of another session than the batch's is refused.
    let e = s
        .append(&Batch {
            contracts: vec![contract(nine, 1, 1, 2)],
            ..empty_batch(one)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Corrupt { table: "contracts", reason }
            if reason == "contract C1 of session S9 is in a batch of session S1"),
        "{e:?}"
    );
    assert_eq!(s.contracts(one).await.unwrap(), vec![]);
}

/// The journal is enough to rebuild a session: a rolling session trades, its commands and what
/// they made are committed in batches as the server does, and replaying the stored journal
/// gives the same orders, contracts and state.
async fn replay_rebuilds_the_session(db: &mut Db) {
    let s = &db.store;
    s.insert_participant(&new_participant("G1", Role::Generator, "ZJ"), 0)
        .await
        .unwrap();
    s.insert_participant(&new_participant("U1", Role::User, "ZJ"), 0)
        .await
        .unwrap();
    let (g, u) = (party(1, "G1", Role::Generator), party(2, "U1", Role::User));
    let id = s
        .insert_session("rolling", &rolling_settings(), 0)
        .await
        .unwrap();
    let mut live = Session::new(id, rolling_settings()).unwrap();

    let submit = |by: &domain::Participant, side, volume_kwh, energy| Command::SubmitOrder {
        by: by.clone(),
        side,
        period: Period(8),
        volume: Kwh(volume_kwh),
        price: price(energy, 2_000),
        time_in_force: TimeInForce::Limit,
    };
    let groups = vec![
        vec![Command::Announce, Command::Open],
        vec![
            submit(&g, Side::Sell, 10_000, 40_000),
            submit(&u, Side::Buy, 4_000, 42_000),
            submit(&g, Side::Sell, 3_000, 39_000),
        ],
        vec![
            submit(&u, Side::Buy, 8_000, 41_000),
            Command::CancelOrder {
                by: g.id,
                order: OrderId(3),
            },
            Command::Close,
        ],
    ];
    let mut seq = 0;
    for commands in groups {
        let mut batch = empty_batch(id);
        let state_before = live.state();
        for command in commands {
            seq += 1;
            let stamp = Stamp {
                seq,
                at_ms: at_ms(seq),
            };
            for event in live.apply(command.clone(), stamp).unwrap() {
                match event {
                    Event::OrderAccepted { order } => batch.orders.push(order),
                    Event::ContractMade(contract) => batch.contracts.push(contract),
                    _ => {}
                }
            }
            batch.entries.push(JournalEntry {
                seq,
                at_ms: stamp.at_ms,
                command,
            });
        }
        if live.state() != state_before {
            batch.state = Some(live.state());
        }
        s.append(&batch).await.unwrap();
    }
    assert_eq!(live.contracts().len(), 3, "the scenario trades three times");

    let mut replayed = Session::new(id, s.sessions().await.unwrap()[0].settings.clone()).unwrap();
    for entry in s.journal(id).await.unwrap() {
        let stamp = Stamp {
            seq: entry.seq,
            at_ms: entry.at_ms,
        };
        replayed.apply(entry.command, stamp).unwrap();
    }
    assert_eq!(replayed.state(), SessionState::Closed);
    assert_eq!(s.sessions().await.unwrap()[0].state, SessionState::Closed);
    assert_eq!(replayed.contracts(), live.contracts());
    assert_eq!(s.contracts(id).await.unwrap(), live.contracts());
    assert_eq!(s.orders(id).await.unwrap(), live.orders());
    assert_eq!(
        serde_json::to_string(&replayed.snapshot()).unwrap(),
        serde_json::to_string(&live.snapshot()).unwrap()
    );
}
