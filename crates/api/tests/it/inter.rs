//! An inter-provincial (省间) coupled call auction through the API: corridors in the session
//! request, orders from two provinces, contracts across the corridor with their losses, results
//! per province and corridor, the year's statistics, and the same after a restart (replay). And
//! the network registry: corridors registered by the operator, copied into a coupled session
//! created without corridors, the copy kept when the registry changes.

use axum::http::{Method, StatusCode};
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
            Method::POST,
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
            Method::POST,
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
    h.submit(
        s,
        &[
            (g1_token.as_str(), order("sell", "10", "200.00")),
            (uq_token.as_str(), order("buy", "3", "250.00")),
            (g2_token.as_str(), order("sell", "10", "400.00")),
            (uz_token.as_str(), order("buy", "8", "500.00")),
        ],
    )
    .await;
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
        let expected = json!({"year": 2025, "sessions": 1,
                "sessions_by_mode": [{"mode": "call_auction/coupled", "scope": "inter", "sessions": 1}],
                "traded_mwh": "11.250", "inter_provincial_mwh": "5.000", "inter_provincial_share": "0.4444",
                // (3 × 225 + 3.25 × 450 + 5 × 225) / 11.25 = 290.00.
                "participants": 4, "average_energy_price": "290.00", "average_env_price": "0.00",
                "provinces": [
                    {"province": "QH", "sold_mwh": "8.000", "bought_mwh": "3.000", "imported_mwh": "0.000", "exported_mwh": "5.000"},
                    {"province": "ZJ", "sold_mwh": "3.250", "bought_mwh": "8.000", "imported_mwh": "4.750", "exported_mwh": "0.000"}],
                "top_corridors": [{"from": "QH", "to": "ZJ", "sent_mwh": "5.000", "delivered_mwh": "4.750"}]});
        assert_eq!(crate::harness::only_keys_of(&stats, &expected), expected);
        // Two buyers; ZJ imports 4.750 of its 8.000 MWh (0.59375 → 0.5938) and pays on average
        // (3.25 × 450 + 5 × 225) / 8.25 = 313.636 → 313.64 yuan/MWh; no projects, no technology.
        assert_eq!(stats["users"], 2);
        assert_eq!(stats["provinces"][1]["inter_provincial_share"], "0.5938");
        assert_eq!(stats["provinces"][1]["average_energy_price"], "313.64");
        assert_eq!(
            stats["by_technology"],
            json!([{"technology": "unknown", "mwh": "11.250"}])
        );
        let empty = h.get("/api/v1/statistics/2024", None, StatusCode::OK).await;
        let zero_month = |m: u32| {
            json!({"month": format!("2024-{m:02}"), "intra_mwh": "0.000",
            "inter_mwh": "0.000", "settled_mwh": "0.000",
            "certificates": {"issued": 0, "transferred": 0, "claimed": 0}})
        };
        assert_eq!(
            empty,
            json!({"year": 2024, "months": (1..=12).map(zero_month).collect::<Vec<_>>(),
                "energy_price_bands": [], "traded_growth_percent": null, "settled_mwh": "0.000",
                "settled_growth_percent": null, "users": 0, "by_technology": [], "by_source_province": [],
                "certificates": {"issued": 0, "transferred": 0, "claimed": 0}, "sessions": 0, "sessions_by_mode": [], "traded_mwh": "0.000",
                "inter_provincial_mwh": "0.000", "inter_provincial_share": "0", "participants": 0,
                "average_energy_price": null, "average_env_price": null, "provinces": [], "top_corridors": []})
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

/// PUT `/api/v1/network/corridors/{from}/{to}` as the operator.
pub(crate) async fn put_corridor(
    h: &Harness,
    from: &str,
    to: &str,
    body: Value,
) -> (StatusCode, Value) {
    h.call(
        Method::PUT,
        &format!("/api/v1/network/corridors/{from}/{to}"),
        Some(&h.operator.clone()),
        Some(body),
    )
    .await
}

pub(crate) fn corridor_body(capacity_mwh: &str, loss: &str, tariff: &str) -> Value {
    json!({"capacity_mwh": capacity_mwh, "loss": loss, "tariff": tariff})
}

/// A registered corridor as the API shows it (written at the harness's fixed clock).
fn registered(from: &str, to: &str, capacity_mwh: &str, loss: &str, tariff: &str) -> Value {
    json!({"from": from, "to": to, "capacity_mwh": capacity_mwh, "loss": loss, "tariff": tariff,
           "updated_at_ms": NOW_MS})
}

/// A corridor as a session's settings show it.
fn in_settings(from: &str, to: &str, capacity_mwh: &str, loss: &str, tariff: &str) -> Value {
    json!({"from": from, "to": to, "capacity_mwh": capacity_mwh, "loss": loss, "tariff": tariff})
}

/// A coupled call auction for March 2025 over `provinces`, without corridors.
fn coupled_request(name: &str, provinces: &[&str]) -> Value {
    json!({
        "name": name, "scope": "inter", "provinces": provinces,
        "horizon": "month", "mode": "call_auction", "method": "coupled",
        "first_month": "2025-03", "last_month": "2025-03",
        "energy_price_min": "100.00", "energy_price_max": "600.00", "lot_mwh": "1", "compensation": "50.00"
    })
}

async fn network_registry_walkthrough(h: Harness) {
    let operator = h.operator.clone();
    let network = "/api/v1/network/corridors";
    assert_eq!(h.get(network, None, StatusCode::OK).await, json!([]));

    // Register QH→ZJ, then replace it; register GS→ZJ, and NM→ZJ (Inner Mongolia, which the
    // session below does not trade in).
    let (status, body) =
        put_corridor(&h, "QH", "ZJ", corridor_body("5.000", "0.05", "10.00")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            registered("QH", "ZJ", "5.000", "0.05", "10.00")
        )
    );
    let (status, body) = put_corridor(&h, "QH", "ZJ", corridor_body("4", "0.050", "10")).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            registered("QH", "ZJ", "4.000", "0.05", "10.00")
        )
    );
    let (status, _) = put_corridor(&h, "GS", "ZJ", corridor_body("3", "0.035", "12.50")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = put_corridor(&h, "NM", "ZJ", corridor_body("100.5", "0.1", "0")).await;
    assert_eq!(status, StatusCode::OK);
    let listed = json!([
        registered("GS", "ZJ", "3.000", "0.035", "12.50"),
        registered("NM", "ZJ", "100.500", "0.1", "0.00"),
        registered("QH", "ZJ", "4.000", "0.05", "10.00"),
    ]);
    assert_eq!(h.get(network, None, StatusCode::OK).await, listed);

    // Bad requests name their field and write nothing, also over a registered corridor.
    for (from, to, body, field) in [
        ("QH", "ZJ", corridor_body("4", "1.2", "10"), "field `loss`"),
        ("QH", "ZJ", corridor_body("4", "-0.1", "10"), "field `loss`"),
        ("QH", "QH", corridor_body("4", "0.05", "10"), "field `to`"),
        ("qh", "ZJ", corridor_body("4", "0.05", "10"), "field `from`"),
        ("QH", "Z", corridor_body("4", "0.05", "10"), "field `to`"),
        (
            "QH",
            "ZJ",
            corridor_body("-1", "0.05", "10"),
            "field `capacity_mwh`",
        ),
        (
            "QH",
            "ZJ",
            corridor_body("1.0001", "0.05", "10"),
            "field `capacity_mwh`",
        ),
        (
            "QH",
            "ZJ",
            corridor_body("4", "0.05", "-0.01"),
            "field `tariff`",
        ),
        (
            "QH",
            "ZJ",
            corridor_body("4", "0.05", "ten"),
            "field `tariff`",
        ),
        (
            "QH",
            "ZJ",
            json!({"capacity_mwh": "4", "loss": "0.05", "tariff": "10", "capacity_by_period": {}}),
            "unknown field `capacity_by_period`",
        ),
        (
            "QH",
            "ZJ",
            json!({"capacity_mwh": "4", "loss": "0.05"}),
            "missing field `tariff`",
        ),
    ] {
        let (status, reply) = put_corridor(&h, from, to, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{from}→{to}: {reply}");
        assert_eq!(reply["error"], "bad_request", "{reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(message.contains(field), "{from}→{to}: {message}");
    }
    assert_eq!(h.get(network, None, StatusCode::OK).await, listed);

    let (g_gs, g_gs_token) = participant(&h, "甘肃风电", "generator", "GS").await;
    let (u_gs, u_gs_token) = participant(&h, "兰州用户", "user", "GS").await;
    let (g_qh, g_qh_token) = participant(&h, "青海光伏", "generator", "QH").await;
    let (u_qh, u_qh_token) = participant(&h, "西宁用户", "user", "QH").await;
    let (g_zj, g_zj_token) = participant(&h, "浙江风电", "generator", "ZJ").await;
    let (u_zj, u_zj_token) = participant(&h, "杭州用户", "user", "ZJ").await;

    // A coupled session without corridors copies the registered ones joining its provinces:
    // GS→ZJ and QH→ZJ, not NM→ZJ.
    let created = h
        .post(
            "/api/v1/sessions",
            &operator,
            coupled_request("2025年3月省间绿电集中竞价", &["QH", "GS", "ZJ"]),
            StatusCode::CREATED,
        )
        .await;
    let s = created["id"].as_u64().unwrap();
    let snapshot = json!([
        in_settings("GS", "ZJ", "3.000", "0.035", "12.50"),
        in_settings("QH", "ZJ", "4.000", "0.05", "10.00"),
    ]);
    assert_eq!(created["settings"]["corridors"], snapshot);

    h.actions(s, &["announce", "open"]).await;
    h.submit(
        s,
        &[
            (g_gs_token.as_str(), order("sell", "10", "220.00")),
            (u_gs_token.as_str(), order("buy", "2", "260.00")),
            (g_qh_token.as_str(), order("sell", "10", "200.00")),
            (u_qh_token.as_str(), order("buy", "3", "250.00")),
            (g_zj_token.as_str(), order("sell", "10", "400.00")),
            (u_zj_token.as_str(), order("buy", "12", "500.00")),
        ],
    )
    .await;
    h.actions(s, &["close"]).await;
    // Both corridors are worth filling (ZJ values energy at 400.00 or more) and carry their
    // capacity: GS→ZJ sends 3 MWh and loses 0.105 (3.5%), QH→ZJ sends 4 and loses 0.2 (5%).
    // ZJ's buyer takes its 12 MWh: 2.895 + 3.8 imported, 5.305 from ZJ's seller. Prices are
    // the §3.3 midpoints, which meet the corridor conditions: GS 240.00 (260 and 220), QH
    // 225.00 (250 and 200), ZJ 450.00 (500 and 400); 450 × 0.965 ≥ 240 + 12.50 and
    // 450 × 0.95 ≥ 225 + 10. Contracts: each province's own pairs (by province, GS, QH, ZJ),
    // then each corridor's (in the settings' order), sent energy at the sender's price.
    let cleared = h
        .post(
            &format!("/api/v1/sessions/{s}/clear"),
            &operator,
            json!(null),
            StatusCode::OK,
        )
        .await;
    let mut from_gs = contract(4, s, g_gs, u_zj, "3.000", "240.00");
    from_gs["corridor"] = json!({"from": "GS", "to": "ZJ",
        "losses": [{"period": "h01", "mwh": "0.105"}], "loss_mwh": "0.105"});
    let mut from_qh = contract(5, s, g_qh, u_zj, "4.000", "225.00");
    from_qh["corridor"] = json!({"from": "QH", "to": "ZJ",
        "losses": [{"period": "h01", "mwh": "0.200"}], "loss_mwh": "0.200"});
    assert_eq!(
        cleared["contracts"],
        json!([
            contract(1, s, g_gs, u_gs, "2.000", "240.00"),
            contract(2, s, g_qh, u_qh, "3.000", "225.00"),
            contract(3, s, g_zj, u_zj, "5.305", "450.00"),
            from_gs,
            from_qh
        ])
    );
    h.actions(s, &["publish"]).await;

    // The registry changes; the session keeps its copy.
    for (from, to) in [("QH", "ZJ"), ("GS", "ZJ")] {
        let (status, _) = h
            .call(
                Method::DELETE,
                &format!("{network}/{from}/{to}"),
                Some(&operator),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{from}→{to}");
    }
    let (status, reply) = h
        .call(
            Method::DELETE,
            &format!("{network}/QH/ZJ"),
            Some(&operator),
            None,
        )
        .await;
    assert_eq!(
        (status, reply["message"].as_str()),
        (
            StatusCode::NOT_FOUND,
            Some("no corridor from QH to ZJ is registered")
        )
    );
    assert_eq!(
        h.get(network, None, StatusCode::OK).await,
        json!([registered("NM", "ZJ", "100.500", "0.1", "0.00")])
    );

    // With nothing registered between its provinces, a coupled session without corridors is
    // refused; given corridors, it uses them as before.
    let (status, reply) = h
        .call(
            Method::POST,
            "/api/v1/sessions",
            Some(&operator),
            Some(coupled_request("无通道", &["QH", "GS", "ZJ"])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert_eq!(
        reply["message"],
        "field `corridors`: none given, and no registered corridor joins the session's provinces"
    );
    let mut given = coupled_request("自带通道", &["QH", "ZJ"]);
    given["corridors"] = json!([in_settings("QH", "ZJ", "1.000", "0.01", "1.00")]);
    let created = h
        .post("/api/v1/sessions", &operator, given, StatusCode::CREATED)
        .await;
    assert_eq!(
        created["settings"]["corridors"],
        json!([in_settings("QH", "ZJ", "1.000", "0.01", "1.00")])
    );

    let check = |h: Harness| {
        let snapshot = snapshot.clone();
        async move {
            let session = h
                .get(&format!("/api/v1/sessions/{s}"), None, StatusCode::OK)
                .await;
            assert_eq!(session["settings"]["corridors"], snapshot);
            let results = h
                .get(
                    &format!("/api/v1/sessions/{s}/results"),
                    None,
                    StatusCode::OK,
                )
                .await;
            assert_eq!(
                results["periods"][0],
                json!({"period": "h01", "volume_mwh": "17.000", "price": null,
                    "provinces": [
                        {"province": "GS", "price": "240.00", "buy_mwh": "2.000", "sell_mwh": "5.000"},
                        {"province": "QH", "price": "225.00", "buy_mwh": "3.000", "sell_mwh": "7.000"},
                        {"province": "ZJ", "price": "450.00", "buy_mwh": "12.000", "sell_mwh": "5.305"}],
                    "flows": [
                        // 2.895 × 450.00 − 3 × 240.00 − 3 × 12.50.
                        {"from": "GS", "to": "ZJ", "sent_mwh": "3.000", "delivered_mwh": "2.895",
                            "congestion_rent_yuan": "545.25"},
                        // 3.8 × 450.00 − 4 × 225.00 − 4 × 10.00.
                        {"from": "QH", "to": "ZJ", "sent_mwh": "4.000", "delivered_mwh": "3.800",
                            "congestion_rent_yuan": "770.00"}]})
            );
            assert_eq!(
                (
                    results["participants"].as_u64(),
                    results["contracts"].as_u64(),
                    results["total_mwh"].as_str()
                ),
                (Some(6), Some(5), Some("17.305"))
            );
            h
        }
    };
    let h = check(h).await;
    // Replay rebuilds the session from its settings, not from the registry (now without GS→ZJ
    // and QH→ZJ): the same corridors and results.
    let h = check(h.restart().await).await;
    h.finish().await;
}
on_both!(network, network_registry_walkthrough);
