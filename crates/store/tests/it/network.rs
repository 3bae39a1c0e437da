//! The network registry: corridors upserted, listed by (from, to), deleted.

use domain::{Kwh, ParticipantId, Price, Role};
use store::{NetworkCorridor, StoreError};

use crate::Db;
use crate::fixtures::{new_participant, province};

crate::on_both_backends!(
    corridors_upsert_list_and_delete,
    corridors_need_a_known_writer,
);

fn corridor(from: &str, to: &str, capacity_kwh: i64, loss: i64, tariff: i64) -> NetworkCorridor {
    NetworkCorridor {
        from: province(from),
        to: province(to),
        capacity: Kwh(capacity_kwh),
        loss,
        tariff: Price(tariff),
        updated_at_ms: 1_000,
        updated_by: ParticipantId(1),
    }
}

async fn corridors_upsert_list_and_delete(db: &mut Db) {
    let s = &db.store;
    s.insert_participant(&new_participant("交易中心", Role::Operator, "ZJ"), 1)
        .await
        .unwrap();
    assert_eq!(s.corridors().await.unwrap(), vec![]);

    // Written out of order; listed by (from, to). Both directions of a pair are two corridors.
    let qh_zj = corridor("QH", "ZJ", 5_000_000, 350, 1_000);
    let gs_zj = corridor("GS", "ZJ", 0, 0, 0);
    let zj_qh = corridor("ZJ", "QH", 1_000, 9_999, 250);
    let gs_qh = corridor("GS", "QH", 2_500, 120, 1_250);
    for c in [&qh_zj, &gs_zj, &zj_qh, &gs_qh] {
        s.put_corridor(c).await.unwrap();
    }
    assert_eq!(
        s.corridors().await.unwrap(),
        vec![gs_qh.clone(), gs_zj.clone(), qh_zj.clone(), zj_qh.clone()]
    );

    // Writing the same (from, to) again replaces every value, the writer and the time included.
    s.insert_participant(&new_participant("交易中心二", Role::Operator, "QH"), 2)
        .await
        .unwrap();
    let changed = NetworkCorridor {
        capacity: Kwh(4_000_000),
        loss: 500,
        tariff: Price(1_050),
        updated_at_ms: 2_000,
        updated_by: ParticipantId(2),
        ..qh_zj.clone()
    };
    s.put_corridor(&changed).await.unwrap();
    assert_eq!(
        s.corridors().await.unwrap(),
        vec![gs_qh.clone(), gs_zj.clone(), changed.clone(), zj_qh.clone()]
    );

    // A delete says whether there was a corridor; the reverse direction is another one.
    assert!(
        s.delete_corridor(&province("ZJ"), &province("QH"))
            .await
            .unwrap()
    );
    assert!(
        !s.delete_corridor(&province("ZJ"), &province("QH"))
            .await
            .unwrap()
    );
    assert!(
        !s.delete_corridor(&province("ZJ"), &province("GS"))
            .await
            .unwrap()
    );
    assert_eq!(
        s.corridors().await.unwrap(),
        vec![gs_qh.clone(), gs_zj.clone(), changed.clone()]
    );

    db.reopen().await;
    assert_eq!(
        db.store.corridors().await.unwrap(),
        vec![gs_qh, gs_zj, changed]
    );
}

async fn corridors_need_a_known_writer(db: &mut Db) {
    let s = &db.store;
    let e = s
        .put_corridor(&NetworkCorridor {
            updated_by: ParticipantId(7),
            ..corridor("QH", "ZJ", 1_000, 0, 0)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Missing { what } if what == "participant P7"),
        "{e:?}"
    );
    assert_eq!(s.corridors().await.unwrap(), vec![]);
}
