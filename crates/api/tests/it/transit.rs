//! Energy through a province over the API: a coupled session on the chain QH → GS → ZJ, a
//! contract whose path passes through GS, and its month settled on what arrives (spec §3.5,
//! §5 with losses).

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::certificates::upload_month;
use crate::harness::Harness;
use crate::inter::{corridor_body, participant, put_corridor};
use crate::on_both;

/// March 2025 (31 days), every quarter-hour: participant `id`'s meter `name` reads `kwh`.
fn meters(readings: &[(&str, u64, i64)]) -> String {
    let mut csv = String::from("meter,participant,start,kwh\n");
    for &(meter, id, kwh) in readings {
        for day in 1..=31 {
            for q in 0..96 {
                let (hour, minute) = (q / 4, q % 4 * 15);
                csv.push_str(&format!(
                    "{meter},{id},2025-03-{day:02}T{hour:02}:{minute:02},{kwh}\n"
                ));
            }
        }
    }
    csv
}

fn order(side: &str, mwh: &str, energy: &str) -> Value {
    json!({"side": side, "period": "h01", "mwh": mwh, "energy_price": energy, "env_price": "0.00"})
}

async fn through_a_province(h: Harness) {
    let (g1, g1_token) = participant(&h, "青海光伏", "generator", "QH").await;
    let (g2, g2_token) = participant(&h, "甘肃风电", "generator", "GS").await;
    let (u2, u2_token) = participant(&h, "兰州用户", "user", "GS").await;
    let (uz, uz_token) = participant(&h, "杭州用户", "user", "ZJ").await;
    let (_, grid) = participant(&h, "国家电网", "grid", "ZJ").await;
    // The sellers' meters are their projects' (a meter upload names only registered meters).
    for (code, province, owner, meter) in [
        ("63010000000000001", "QH", g1, "QG1"),
        ("62010000000000001", "GS", g2, "GG2"),
    ] {
        h.post(
            "/api/v1/projects",
            &h.operator.clone(),
            json!({"code": code, "technology": "pv_central", "capacity_kw": 100000,
                   "province": province, "owner": owner, "meters": [meter]}),
            StatusCode::CREATED,
        )
        .await;
    }
    // The operator's network: the chain, registered once; the session copies it.
    for (from, to, loss, tariff) in [("QH", "GS", "0.05", "10.00"), ("GS", "ZJ", "0.1", "20.00")] {
        let (status, _) = put_corridor(&h, from, to, corridor_body("10", loss, tariff)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let created = h
        .post(
            "/api/v1/sessions",
            &h.operator.clone(),
            json!({
                "name": "2025年3月省间绿电集中竞价(青甘浙)", "scope": "inter", "provinces": ["QH", "GS", "ZJ"],
                "horizon": "month", "mode": "call_auction", "method": "coupled",
                "first_month": "2025-03", "last_month": "2025-03",
                "energy_price_min": "100.00", "energy_price_max": "600.00", "lot_mwh": "0.5", "compensation": "50.00"
            }),
            StatusCode::CREATED,
        )
        .await;
    let s = created["id"].as_u64().unwrap();
    assert_eq!(
        created["settings"]["corridors"],
        json!([
            {"from": "GS", "to": "ZJ", "capacity_mwh": "10.000", "loss": "0.1", "tariff": "20.00"},
            {"from": "QH", "to": "GS", "capacity_mwh": "10.000", "loss": "0.05", "tariff": "10.00"}])
    );
    h.actions(s, &["announce", "open"]).await;
    h.submit(
        s,
        &[
            (g1_token.as_str(), order("sell", "10", "200.00")),
            (g2_token.as_str(), order("sell", "4", "300.00")),
            (u2_token.as_str(), order("buy", "2", "350.00")),
            (uz_token.as_str(), order("buy", "12", "500.00")),
        ],
    )
    .await;
    h.actions(s, &["close", "clear", "publish"]).await;

    // Both corridors run full (see the engine's chain test): 10 MWh into GS, 9.5 delivered;
    // 10 on to ZJ (9.5 of QH's and 0.5 of GS's), 9 delivered. Prices: the §3.3 midpoints, as
    // they meet (b) and (c): QH 200.00 (its lone seller), GS 325.00 (350 and 300), ZJ 500.00.
    let results = h
        .get(
            &format!("/api/v1/sessions/{s}/results"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        results["periods"][0]["provinces"],
        json!([
            {"province": "GS", "price": "325.00", "buy_mwh": "2.000", "sell_mwh": "2.500"},
            {"province": "QH", "price": "200.00", "buy_mwh": "0.000", "sell_mwh": "10.000"},
            {"province": "ZJ", "price": "500.00", "buy_mwh": "9.000", "sell_mwh": "0.000"}])
    );
    // QH's 10 MWh reach ZJ as 8.55 (1.45 lost on the two corridors), through GS; GS's 0.5
    // reach it as 0.45.
    let contracts = h
        .get("/api/v1/contracts", Some(&uz_token), StatusCode::OK)
        .await;
    let summary: Vec<Value> = contracts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            json!([
                c["seller"],
                c["total_mwh"],
                c["energy_price"],
                c["corridor"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            json!([g1, "10.000", "200.00", {"from": "QH", "to": "ZJ", "via": ["GS"],
                "losses": [{"period": "h01", "mwh": "1.450"}], "loss_mwh": "1.450"}]),
            json!([g2, "0.500", "325.00", {"from": "GS", "to": "ZJ",
                "losses": [{"period": "h01", "mwh": "0.050"}], "loss_mwh": "0.050"}]),
        ]
    );

    // Statistics count each province's own sellers and buyers (GS's transit is neither), and
    // the corridors by what crossed them: both sent 10 MWh, so by name.
    let stats = h.get("/api/v1/statistics/2025", None, StatusCode::OK).await;
    let provinces = json!([
                {"province": "GS", "sold_mwh": "2.500", "bought_mwh": "2.000", "imported_mwh": "0.000", "exported_mwh": "0.500"},
                {"province": "QH", "sold_mwh": "10.000", "bought_mwh": "0.000", "imported_mwh": "0.000", "exported_mwh": "10.000"},
                {"province": "ZJ", "sold_mwh": "0.000", "bought_mwh": "9.000", "imported_mwh": "9.000", "exported_mwh": "0.000"}]);
    assert_eq!(
        (
            crate::harness::only_keys_of(&stats["provinces"], &provinces),
            &stats["top_corridors"]
        ),
        (
            provinces,
            &json!([
                {"from": "GS", "to": "ZJ", "sent_mwh": "10.000", "delivered_mwh": "9.000"},
                {"from": "QH", "to": "GS", "sent_mwh": "10.000", "delivered_mwh": "9.500"}])
        )
    );

    // March: G1 makes 4 kWh a quarter-hour (11,904), G2 and U2 1 (2,976), UZ uses 3 (8,928).
    let (status, _) = upload_month(
        &h,
        &grid,
        "2025-03",
        meters(&[
            ("QG1", g1, 4),
            ("GG2", g2, 1),
            ("GU2", u2, 1),
            ("ZU1", uz, 3),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let draft = h
        .post(
            "/api/v1/settlements",
            &h.operator.clone(),
            json!({"month": "2025-03"}),
            StatusCode::OK,
        )
        .await;
    // UZ receives 8.55 + 0.45 = 9 MWh but used 8,928 kWh: shared pro rata to what arrives,
    // 8,481.6 and 446.4 → 8,481 + 446 and the last kWh to the larger remainder: 8,482 / 446.
    // C2: D 8,482 → 8 MWh, carry 482; sent for it 8,482 + 8,482 × 1,450 / 8,550 (1,438.47)
    //     = 9,920 kWh × 200.00 = 1,984.00; short 68 kWh × 50.00 = 3.40, the buyer's.
    // C3: D 446 → carry 446; sent 446 + 446 × 50 / 450 (49.56) = 496 kWh × 325.00 = 161.20;
    //     short 4 kWh → 0.20, the buyer's.
    // C1 (within GS): 2 MWh delivered, 650.00.
    let line = |c: u64,
                d: &str,
                lost: &str,
                sent: &str,
                env: &str,
                carry: &str,
                energy: &str,
                short: &str,
                comp: &str,
                payer: Value| {
        json!({"contract": format!("S{s}-C{c}"), "delivered_mwh": d, "lost_mwh": lost, "sent_mwh": sent,
               "env_mwh": env, "carry_out_kwh": carry, "env_yuan": "0.00", "energy_yuan": energy,
               "shortfall_mwh": short, "comp_yuan": comp, "comp_payer": payer})
    };
    let expected = json!([
        line(
            1,
            "2.000",
            "0.000",
            "2.000",
            "2",
            "0",
            "650.00",
            "0.000",
            "0.00",
            Value::Null
        ),
        line(
            2,
            "8.482",
            "1.450",
            "9.920",
            "8",
            "482",
            "1984.00",
            "0.068",
            "3.40",
            json!("buyer")
        ),
        line(
            3,
            "0.446",
            "0.050",
            "0.496",
            "0",
            "446",
            "161.20",
            "0.004",
            "0.20",
            json!("buyer")
        ),
    ]);
    assert_eq!(
        crate::harness::only_keys_of(&draft["lines"], &expected),
        expected
    );
    h.finish().await;
}
on_both!(transit, through_a_province);
