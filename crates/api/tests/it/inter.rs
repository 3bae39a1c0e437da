//! An inter-provincial (省间) coupled call auction through the API: corridors in the session
//! request, orders from two provinces, contracts across the corridor with their losses, results
//! per province and corridor, the year's statistics, and the same after a restart (replay).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Harness, NOW_MS};
use crate::on_both;

pub(crate) async fn participant(
    h: &Harness,
    name: &str,
    role: &str,
    province: &str,
) -> (u64, String) {
    let body = h
        .post(
            "/api/v1/participants",
            &h.operator.clone(),
            json!({"name": name, "role": role, "province": province}),
            StatusCode::CREATED,
        )
        .await;
    (
        body["participant"]["id"].as_u64().unwrap(),
        body["token"].as_str().unwrap().to_owned(),
    )
}

fn order(side: &str, mwh: &str, energy: &str) -> Value {
    json!({"side": side, "period": "h01", "mwh": mwh, "energy_price": energy, "env_price": "0.00"})
}

fn contract(id: u64, s: u64, seller: u64, buyer: u64, mwh: &str, energy: &str) -> Value {
    json!({"id": id, "session": s, "seller": seller, "buyer": buyer,
           "volumes": [{"period": "h01", "mwh": mwh}], "total_mwh": mwh,
           "energy_price": energy, "env_price": "0.00", "compensation": "50.00",
           "status": "effective", "created_at_ms": NOW_MS})
}

async fn coupled_session_walkthrough(h: Harness) {
    let (g1, g1_token) = participant(&h, "青海光伏", "generator", "QH").await;
    let (uq, uq_token) = participant(&h, "西宁用户", "user", "QH").await;
    let (g2, g2_token) = participant(&h, "浙江风电", "generator", "ZJ").await;
    let (uz, uz_token) = participant(&h, "杭州用户", "user", "ZJ").await;
    let request = json!({
        "name": "2025年3月省间绿电集中竞价", "scope": "inter", "provinces": ["ZJ", "QH"],
        "horizon": "month", "mode": "call_auction", "method": "coupled",
        "corridors": [{"from": "QH", "to": "ZJ", "capacity_mwh": "5.000", "loss": "0.05", "tariff": "10.00"}],
        "first_month": "2025-03", "last_month": "2025-03",
        "energy_price_min": "100.00", "energy_price_max": "600.00", "lot_mwh": "1", "compensation": "50.00"
    });
    // A coupled session is inter-provincial, and its corridors join provinces of its scope.
    let mut intra = request.clone();
    intra["scope"] = json!("intra");
    intra["provinces"] = json!(["ZJ"]);
    let (status, _) = h
        .call(
            axum::http::Method::POST,
            "/api/v1/sessions",
            Some(&h.operator.clone()),
            Some(intra),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut bad_loss = request.clone();
    bad_loss["corridors"][0]["loss"] = json!("1.5");
    let (status, body) = h
        .call(
            axum::http::Method::POST,
            "/api/v1/sessions",
            Some(&h.operator.clone()),
            Some(bad_loss),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("corridors[0].loss")
    );

    let created = h
        .post(
            "/api/v1/sessions",
            &h.operator.clone(),
            request,
            StatusCode::CREATED,
        )
        .await;
    let s = created["id"].as_u64().unwrap();
    assert_eq!(
        created["settings"]["corridors"],
        json!([{"from": "QH", "to": "ZJ", "capacity_mwh": "5.000", "loss": "0.05", "tariff": "10.00"}])
    );
    assert_eq!(created["settings"]["method"], "coupled");
    h.actions(s, &["announce", "open"]).await;
    let path = format!("/api/v1/sessions/{s}/orders");
    for (token, body) in [
        (&g1_token, order("sell", "10", "200.00")),
        (&uq_token, order("buy", "3", "250.00")),
        (&g2_token, order("sell", "10", "400.00")),
        (&uz_token, order("buy", "8", "500.00")),
    ] {
        h.post(&path, token, body, StatusCode::CREATED).await;
    }
    h.actions(s, &["close"]).await;
    // QH→ZJ carries its 5 MWh capacity, 4.75 delivered (5% lost). QH clears at 225.00
    // (midpoint of 250 and 200), ZJ at 450.00 (midpoint of 500 and 400). Contracts: QH's
    // seller with QH's buyer, ZJ's with ZJ's, and QH's seller with ZJ's buyer across the
    // corridor: 5 MWh sent at QH's price, 0.25 MWh lost.
    let cleared = h
        .post(
            &format!("/api/v1/sessions/{s}/clear"),
            &h.operator.clone(),
            json!(null),
            StatusCode::OK,
        )
        .await;
    let mut cross = contract(3, s, g1, uz, "5.000", "225.00");
    cross["corridor"] = json!({"from": "QH", "to": "ZJ",
        "losses": [{"period": "h01", "mwh": "0.250"}], "loss_mwh": "0.250"});
    let expected_contracts = json!([
        contract(1, s, g1, uq, "3.000", "225.00"),
        contract(2, s, g2, uz, "3.250", "450.00"),
        cross
    ]);
    assert_eq!(cleared["contracts"], expected_contracts);
    h.actions(s, &["publish"]).await;

    let (uz_token, expected_contracts) = (&uz_token, &expected_contracts);
    let check = |h: Harness| async move {
        let results = h
            .get(
                &format!("/api/v1/sessions/{s}/results"),
                None,
                StatusCode::OK,
            )
            .await;
        assert_eq!(
            results["periods"][0],
            json!({"period": "h01", "volume_mwh": "11.000", "price": null,
                "provinces": [
                    {"province": "QH", "price": "225.00", "buy_mwh": "3.000", "sell_mwh": "8.000"},
                    {"province": "ZJ", "price": "450.00", "buy_mwh": "8.000", "sell_mwh": "3.250"}],
                "flows": [{"from": "QH", "to": "ZJ", "sent_mwh": "5.000", "delivered_mwh": "4.750",
                    // 4.75 × 450.00 − 5 × 225.00 − 5 × 10.00 tariff.
                    "congestion_rent_yuan": "962.50"}]})
        );
        assert_eq!(
            results["periods"][1],
            json!({"period": "h02", "volume_mwh": "0.000", "price": null,
                "provinces": [
                    {"province": "QH", "price": null, "buy_mwh": "0.000", "sell_mwh": "0.000"},
                    {"province": "ZJ", "price": null, "buy_mwh": "0.000", "sell_mwh": "0.000"}],
                "flows": [{"from": "QH", "to": "ZJ", "sent_mwh": "0.000", "delivered_mwh": "0.000",
                    // No prices in either province: no rent.
                    "congestion_rent_yuan": null}]})
        );
        assert_eq!(
            (
                results["participants"].as_u64(),
                results["contracts"].as_u64(),
                results["total_mwh"].as_str()
            ),
            (Some(4), Some(3), Some("11.250"))
        );
        // Statistics are public: 11.25 MWh contracted, 5 of it across the corridor (4/9).
        let stats = h.get("/api/v1/statistics/2025", None, StatusCode::OK).await;
        assert_eq!(
            stats,
            json!({"year": 2025, "sessions": 1,
                "sessions_by_mode": [{"mode": "call_auction/coupled", "scope": "inter", "sessions": 1}],
                "traded_mwh": "11.250", "inter_provincial_mwh": "5.000", "inter_provincial_share": "0.4444",
                "provinces": [
                    {"province": "QH", "sold_mwh": "8.000", "bought_mwh": "3.000", "imported_mwh": "0.000", "exported_mwh": "5.000"},
                    {"province": "ZJ", "sold_mwh": "3.250", "bought_mwh": "8.000", "imported_mwh": "4.750", "exported_mwh": "0.000"}]})
        );
        let empty = h.get("/api/v1/statistics/2024", None, StatusCode::OK).await;
        assert_eq!(
            empty,
            json!({"year": 2024, "sessions": 0, "sessions_by_mode": [], "traded_mwh": "0.000",
                "inter_provincial_mwh": "0.000", "inter_provincial_share": "0", "provinces": []})
        );
        // The buyer across the corridor sees both its contracts, the corridor recorded.
        let mine = h
            .get("/api/v1/contracts", Some(uz_token), StatusCode::OK)
            .await;
        assert_eq!(
            mine,
            json!([expected_contracts[1].clone(), expected_contracts[2].clone()])
        );
        h
    };
    let h = check(h).await;
    // A restart replays the journal: the same results, contracts and statistics.
    let h = check(h.restart().await).await;
    h.finish().await;
}
on_both!(coupled, coupled_session_walkthrough);
