//! Participants, their API tokens, and their projects.

use domain::{ParticipantId, Project, ProjectCode, Role, Technology};
use store::StoreError;

use crate::Db;
use crate::fixtures::{new_participant, party, province};

crate::on_both_backends!(
    participants_get_ids_in_order,
    duplicate_names_conflict,
    tokens_log_in,
    projects_round_trip,
    bad_projects_write_nothing,
    registration_is_one_transaction,
);

fn conflict(what: &str) -> String {
    format!("{what} already exists")
}

fn missing(what: &str) -> String {
    format!("{what} does not exist")
}

async fn participants_get_ids_in_order(db: &mut Db) {
    let s = &db.store;
    let g = s
        .insert_participant(&new_participant("浙能风电", Role::Generator, "ZJ"), 1_000)
        .await
        .unwrap();
    let u = s
        .insert_participant(&new_participant("U1", Role::RetailUser, "QH"), 2_000)
        .await
        .unwrap();
    assert_eq!(g, party(1, "浙能风电", Role::Generator));
    assert_eq!(u.id, ParticipantId(2));
    assert_eq!(u.role, Role::RetailUser);
    assert_eq!(u.province, province("QH"));

    assert_eq!(
        s.participant(ParticipantId(2)).await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(s.participant(ParticipantId(3)).await.unwrap(), None);
    assert_eq!(s.participants().await.unwrap(), vec![g, u]);
}

async fn duplicate_names_conflict(db: &mut Db) {
    let s = &db.store;
    s.insert_participant(&new_participant("G1", Role::Generator, "ZJ"), 1)
        .await
        .unwrap();
    let e = s
        .insert_participant(&new_participant("G1", Role::User, "QH"), 2)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict { what } if what == "participant name \"G1\""),
        "{e:?}"
    );
    assert_eq!(e.to_string(), conflict("participant name \"G1\""));

    // The refused name used no id up, on either backend.
    let next = s
        .insert_participant(&new_participant("G2", Role::Retailer, "ZJ"), 3)
        .await
        .unwrap();
    assert_eq!(next.id, ParticipantId(2));
    let names: Vec<String> = s
        .participants()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["G1", "G2"]);
}

async fn tokens_log_in(db: &mut Db) {
    let s = &db.store;
    let g = s
        .insert_participant(&new_participant("G1", Role::Generator, "ZJ"), 1)
        .await
        .unwrap();
    let r = s
        .insert_participant(&new_participant("监管局", Role::Regulator, "ZJ"), 2)
        .await
        .unwrap();
    let hash_g = [0x11; 32];
    let mut hash_r = [0u8; 32];
    hash_r[31] = 1; // differs from an all-zero hash in the last byte only
    s.insert_token(g.id, &hash_g, "laptop", 10).await.unwrap();
    s.insert_token(r.id, &hash_r, "audit", 11).await.unwrap();
    s.insert_token(g.id, &[0x22; 32], "second", 12)
        .await
        .unwrap();

    assert_eq!(
        s.participant_by_token(&hash_g).await.unwrap(),
        Some(g.clone())
    );
    assert_eq!(
        s.participant_by_token(&[0x22; 32]).await.unwrap(),
        Some(g.clone())
    );
    assert_eq!(s.participant_by_token(&hash_r).await.unwrap(), Some(r));
    assert_eq!(s.participant_by_token(&[0u8; 32]).await.unwrap(), None);

    let e = s
        .insert_token(ParticipantId(9), &[0x33; 32], "nobody", 13)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Missing { what } if what == "participant P9"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), missing("participant P9"));
    assert_eq!(s.participant_by_token(&[0x33; 32]).await.unwrap(), None);

    let e = s
        .insert_token(g.id, &hash_g, "again", 14)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict { what } if what == "token hash"),
        "{e:?}"
    );
}

fn project(code: &str, owner: u64, technology: Technology, meters: &[&str]) -> Project {
    Project {
        code: ProjectCode::parse(code).unwrap(),
        technology,
        capacity_kw: 49_500,
        province: province("ZJ"),
        owner: ParticipantId(owner),
        subsidised: false,
        meters: meters.iter().map(|m| (*m).to_owned()).collect(),
    }
}

async fn projects_round_trip(db: &mut Db) {
    let s = &db.store;
    s.insert_participant(&new_participant("G1", Role::Generator, "ZJ"), 1)
        .await
        .unwrap();
    s.insert_participant(&new_participant("A1", Role::Aggregator, "QH"), 2)
        .await
        .unwrap();
    let pv = Project {
        capacity_kw: u64::try_from(i64::MAX).unwrap(),
        province: province("QH"),
        subsidised: true,
        ..project("63010000000000007", 2, Technology::PvDistributed, &[])
    };
    let wind = project(
        "33010000000000001",
        1,
        Technology::WindOffshore,
        &["M-3", "电表-1", "M-2"],
    );
    // Inserted out of code order; read back by code.
    s.insert_project(&pv, 100).await.unwrap();
    s.insert_project(&wind, 101).await.unwrap();
    assert_eq!(s.projects().await.unwrap(), vec![wind, pv]);

    // Every technology is stored by a name that reads back as itself.
    let all = [
        Technology::WindOnshore,
        Technology::WindOffshore,
        Technology::PvCentral,
        Technology::PvDistributed,
        Technology::Hydro,
        Technology::Biomass,
        Technology::Other,
    ];
    for (i, technology) in all.into_iter().enumerate() {
        let code = format!("4401000000000{:04}", i);
        s.insert_project(&project(&code, 1, technology, &[]), 200)
            .await
            .unwrap();
    }
    let technologies: Vec<Technology> = s
        .projects()
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.code.as_str().starts_with("4401"))
        .map(|p| p.technology)
        .collect();
    assert_eq!(technologies, all);
}

async fn bad_projects_write_nothing(db: &mut Db) {
    let s = &db.store;
    s.insert_participant(&new_participant("G1", Role::Generator, "ZJ"), 1)
        .await
        .unwrap();
    let first = project("33010000000000001", 1, Technology::Hydro, &["M1", "M2"]);
    s.insert_project(&first, 10).await.unwrap();

    let e = s
        .insert_project(
            &project("33010000000000001", 1, Technology::Biomass, &["M9"]),
            11,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict { what } if what == "project code \"33010000000000001\""),
        "{e:?}"
    );

    let e = s
        .insert_project(
            &project("33010000000000002", 7, Technology::Biomass, &["M9"]),
            12,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Missing { what } if what == "participant P7"),
        "{e:?}"
    );

    // A meter already measuring the first project: the new project is not written either.
    let e = s
        .insert_project(
            &project("33010000000000003", 1, Technology::Biomass, &["M8", "M2"]),
            13,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict { what } if what == "meter \"M2\""),
        "{e:?}"
    );

    // A project listing one meter twice.
    let e = s
        .insert_project(
            &project("33010000000000004", 1, Technology::Biomass, &["M7", "M7"]),
            14,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict { what } if what == "meter \"M7\""),
        "{e:?}"
    );

    assert_eq!(s.projects().await.unwrap(), vec![first]);
    // M8 and M7 were rolled back with their projects, so they are free again.
    let last = project("33010000000000005", 1, Technology::Other, &["M8", "M7"]);
    s.insert_project(&last, 15).await.unwrap();
    assert_eq!(s.projects().await.unwrap().len(), 2);
}

/// A participant, its first token and the remembered reply are written together; a taken name
/// writes none of them.
async fn registration_is_one_transaction(db: &mut Db) {
    let s = &db.store;
    let reply = |p: &domain::Participant| {
        Some(crate::fixtures::response(
            1,
            &format!("POST /p\nk-{}", p.id.0),
            201,
            "{}",
        ))
    };
    let g = s
        .register_participant(
            &new_participant("浙能风电", Role::Generator, "ZJ"),
            1_000,
            &[7; 32],
            "first",
            reply,
        )
        .await
        .unwrap();
    assert_eq!(g, party(1, "浙能风电", Role::Generator));
    assert_eq!(
        s.participant_by_token(&[7; 32]).await.unwrap(),
        Some(g.clone())
    );
    assert!(
        s.idempotent(ParticipantId(1), "POST /p\nk-1")
            .await
            .unwrap()
            .is_some()
    );

    // The name is taken: no participant, no token, nothing remembered.
    let taken = s
        .register_participant(
            &new_participant("浙能风电", Role::User, "ZJ"),
            2_000,
            &[8; 32],
            "first",
            |_| Some(crate::fixtures::response(1, "POST /p\nk-2", 201, "{}")),
        )
        .await;
    match taken {
        Err(StoreError::Conflict { what }) => assert_eq!(what, "participant name \"浙能风电\""),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.participant_by_token(&[8; 32]).await.unwrap(), None);
    assert_eq!(
        s.idempotent(ParticipantId(1), "POST /p\nk-2")
            .await
            .unwrap(),
        None
    );
    // A token already in use refuses the whole registration, the participant included.
    let reused = s
        .register_participant(
            &new_participant("U1", Role::User, "ZJ"),
            3_000,
            &[7; 32],
            "first",
            |_| None,
        )
        .await;
    assert!(
        matches!(reused, Err(StoreError::Conflict { .. })),
        "{reused:?}"
    );
    db.reopen().await;
    let ids: Vec<u64> = db
        .store
        .participants()
        .await
        .unwrap()
        .iter()
        .map(|p| p.id.0)
        .collect();
    assert_eq!(ids, vec![1]);
}
