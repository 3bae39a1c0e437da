//! Spec §1 bounds through the API (issue 9): orders, listings, proposals, session settings and
//! meter readings beyond them are a 400 naming the field and the bound, and store nothing; the
//! largest allowed values are cleared, published, settled, issued and counted in the year's
//! statistics without overflow, to the fen.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::certificates::upload_month;
use crate::harness::Harness;
use crate::on_both;

/// March 2024 (31 days, 2,976 quarter-hours): every interval of each `(meter, participant,
/// kWh)`.
fn march(meters: &[(&str, u64, i64)]) -> String {
    let mut csv = String::from("meter,participant,start,kwh\n");
    for (meter, participant, kwh) in meters {
        for day in 1..=31 {
            for q in 0..96 {
                csv.push_str(&format!(
                    "{meter},{participant},2024-03-{day:02}T{:02}:{:02},{kwh}\n",
                    q / 4,
                    q % 4 * 15
                ));
            }
        }
    }
    csv
}

/// A refusal's status and message, from a POST.
async fn refused(h: &Harness, path: &str, token: &str, body: Value) -> String {
    let reply = h.post(path, token, body, StatusCode::BAD_REQUEST).await;
    reply["message"].as_str().unwrap().to_owned()
}

async fn beyond_the_bounds_is_a_400_naming_field_and_bound(h: Harness) {
    let (g, gen_token) = h.participant("G", "generator").await;
    let (_, user_token) = h.participant("U", "user").await;
    let op = h.operator.clone();

    // The issue's order: 9,000,000,000,000,000 MWh.
    let s = h.session("call_auction", Some("uniform")).await;
    h.actions(s, &["announce", "open"]).await;
    let orders = format!("/api/v1/sessions/{s}/orders");
    let order = |mwh: &str, energy: &str| json!({"side": "sell", "period": "h01", "mwh": mwh, "energy_price": energy, "env_price": "0.00"});
    assert_eq!(
        refused(&h, &orders, &gen_token, order("9000000000000000", "400.00")).await,
        "field `mwh`: `9000000000000000` is beyond the bound of 1000000 MWh"
    );
    assert_eq!(
        refused(&h, &orders, &gen_token, order("1000000.0005", "400.00")).await,
        "field `mwh`: `1000000.0005` has more than 3 decimals"
    );
    assert_eq!(
        refused(&h, &orders, &gen_token, order("1000000.5", "400.00")).await,
        "field `mwh`: `1000000.5` is beyond the bound of 1000000 MWh"
    );
    assert_eq!(
        refused(&h, &orders, &gen_token, order("1", "-100000.01")).await,
        "field `energy_price`: `-100000.01` is beyond the bound of ±100000.00 yuan/MWh"
    );
    let batch = json!({"orders": [order("1", "400.00"), order("1000001", "400.00")]});
    assert_eq!(
        refused(&h, &format!("{orders}/batch"), &gen_token, batch).await,
        "field `orders[1].mwh`: `1000001` is beyond the bound of 1000000 MWh"
    );
    // Nothing was stored: the operator sees no order.
    let stored = h.get(&orders, Some(&op), StatusCode::OK).await;
    assert_eq!(stored, json!([]));

    // A listing and a proposal beyond the bound.
    let l = h.session("listing", None).await;
    h.actions(l, &["announce", "open"]).await;
    let listing = json!({"side": "sell", "volumes": [{"period": "h01", "mwh": "1"}, {"period": "h02", "mwh": "1000000.5"}],
        "energy_price": "400.00", "env_price": "0.00"});
    assert_eq!(
        refused(
            &h,
            &format!("/api/v1/sessions/{l}/listings"),
            &gen_token,
            listing
        )
        .await,
        "field `volumes[1].mwh`: `1000000.5` is beyond the bound of 1000000 MWh"
    );
    let listings = h
        .get(
            &format!("/api/v1/sessions/{l}/listings"),
            Some(&op),
            StatusCode::OK,
        )
        .await;
    assert_eq!(listings, json!([]));
    let b = h.session("bilateral", None).await;
    h.actions(b, &["announce", "open"]).await;
    let proposal = json!({"counterparty": g, "volumes": [{"period": "h01", "mwh": "2000000"}],
        "energy_price": "400.00", "env_price": "0.00", "compensation": "50.00"});
    assert_eq!(
        refused(
            &h,
            &format!("/api/v1/sessions/{b}/proposals"),
            &user_token,
            proposal
        )
        .await,
        "field `volumes[0].mwh`: `2000000` is beyond the bound of 1000000 MWh"
    );
    let proposal = json!({"counterparty": g, "volumes": [{"period": "h01", "mwh": "1"}],
        "energy_price": "400.00", "env_price": "0.00", "compensation": "100000.01"});
    assert_eq!(
        refused(
            &h,
            &format!("/api/v1/sessions/{b}/proposals"),
            &user_token,
            proposal
        )
        .await,
        "field `compensation`: `100000.01` is beyond the bound of ±100000.00 yuan/MWh"
    );
    let proposals = h
        .get(
            &format!("/api/v1/sessions/{b}/proposals"),
            Some(&op),
            StatusCode::OK,
        )
        .await;
    assert_eq!(proposals, json!([]));

    // A session whose own bound is beyond the spec's.
    let body = json!({"name": "too wide", "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
        "mode": "listing", "first_month": "2024-03", "last_month": "2024-03",
        "energy_price_min": "0.00", "energy_price_max": "100000.01", "lot_mwh": "1", "compensation": "0.00"});
    assert_eq!(
        refused(&h, "/api/v1/sessions", &op, body).await,
        "field `energy_price_max`: `100000.01` is beyond the bound of ±100000.00 yuan/MWh"
    );
    h.finish().await;
}

on_both!(
    beyond_the_bounds_is_refused,
    beyond_the_bounds_is_a_400_naming_field_and_bound
);

async fn the_largest_values_clear_settle_issue_and_count(h: Harness) {
    let (g, gen_token) = h.participant("G", "generator").await;
    let (u, user_token) = h.participant("U", "user").await;
    let (_, grid) = h.participant("Grid", "grid").await;
    let op = h.operator.clone();
    h.post(
        "/api/v1/projects",
        &op,
        json!({"code": "33010000000000001", "technology": "wind_offshore", "capacity_kw": 300000,
        "province": "ZJ", "owner": g, "meters": ["MG1"]}),
        StatusCode::CREATED,
    )
    .await;
    let body = json!({"name": "bounds", "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
        "mode": "call_auction", "method": "uniform", "first_month": "2024-03", "last_month": "2024-03",
        "energy_price_min": "-100000.00", "energy_price_max": "100000.00", "lot_mwh": "1000000",
        "compensation": "100000.00"});
    let s = h
        .post("/api/v1/sessions", &op, body, StatusCode::CREATED)
        .await["id"]
        .as_u64()
        .unwrap();
    h.actions(s, &["announce", "open"]).await;
    // Two sells at 100,000.00 + 0 and two buys at 100,000.00 + 100,000.00, each 1,000,000 MWh.
    let order = |side: &str, env: &str| json!({"side": side, "period": "h01", "mwh": "1000000.000", "energy_price": "100000.00", "env_price": env});
    h.submit(
        s,
        &[
            (&gen_token, order("sell", "0.00")),
            (&gen_token, order("sell", "0.00")),
            (&user_token, order("buy", "100000.00")),
            (&user_token, order("buy", "100000.00")),
        ],
    )
    .await;
    h.actions(s, &["close"]).await;
    // P* = midpoint(200,000.00, 100,000.00) = 150,000.00; environment midpoint(100,000.00, 0) =
    // 50,000.00, energy the rest. The pair trades 2,000,000 MWh in h01: two contracts of the
    // bound.
    let cleared = h
        .post(
            &format!("/api/v1/sessions/{s}/clear"),
            &op,
            json!(null),
            StatusCode::OK,
        )
        .await;
    let contract = |id: u64| {
        json!({"id": id, "session": s, "seller": g, "buyer": u,
            "volumes": [{"period": "h01", "mwh": "1000000.000"}], "total_mwh": "1000000.000",
            "energy_price": "100000.00", "env_price": "50000.00", "compensation": "100000.00",
            "status": "effective", "created_at_ms": crate::harness::NOW_MS})
    };
    assert_eq!(cleared["contracts"], json!([contract(1), contract(2)]));
    h.actions(s, &["publish"]).await;

    // A reading beyond the bound refuses the whole file.
    let over = march(&[("MG1", g, 336_021_505), ("MU1", u, 1_000_000_000)]).replacen(
        &format!("MU1,{u},2024-03-01T00:00,1000000000"),
        &format!("MU1,{u},2024-03-01T00:00,1000000001"),
        1,
    );
    let (status, body) = upload_month(&h, &grid, "2024-03", over).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(
            "field `kwh`: `1000000001` kWh in 15 minutes is beyond the bound of 1000000000 kWh"
        ),
        "{message}"
    );
    // The buyer's meter at the bound all month (2,976,000,000 MWh); the generator's at the most
    // one project-month can be issued for: 336,021,505 × 2,976 = 999,999,998,880 kWh.
    let good = march(&[("MG1", g, 336_021_505), ("MU1", u, 1_000_000_000)]);
    let (status, body) = upload_month(&h, &grid, "2024-03", good).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CREATED,
            json!({"month": "2024-03", "meters": 2, "readings": 5952, "corrections": 0})
        )
    );

    // Issuance: 999,999,998 certificates, 880 kWh carried.
    let issued = h
        .post(
            "/api/v1/certificates/issue",
            &op,
            json!({"month": "2024-03"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(issued["issued"][0]["certificates"], 999_999_998);
    assert_eq!(
        issued["issued"][0]["ranges"],
        json!(["33010000000000001202403000000001-33010000000000001202403999999998"])
    );

    // Draft settlement: each contract delivers 1,000,000 MWh; energy 1,000,000 × 100,000.00 =
    // 100,000,000,000.00 yuan, environment 1,000,000 × 50,000.00 = 50,000,000,000.00 yuan.
    let draft = h
        .post(
            "/api/v1/settlements",
            &op,
            json!({"month": "2024-03"}),
            StatusCode::OK,
        )
        .await;
    let line = |c: u64| {
        json!({"contract": format!("S{s}-C{c}"), "delivered_mwh": "1000000.000", "lost_mwh": "0.000",
            "sent_mwh": "1000000.000", "env_mwh": "1000000", "carry_out_kwh": "0",
            "env_yuan": "50000000000.00", "energy_yuan": "100000000000.00", "shortfall_mwh": "0.000",
            "comp_yuan": "0.00", "comp_payer": null, "carry_in_kwh": "0", "volume_mwh": "1000000.000"})
    };
    assert_eq!(draft["lines"], json!([line(1), line(2)]));

    // The year's statistics.
    let stats = h.get("/api/v1/statistics/2024", None, StatusCode::OK).await;
    assert_eq!(stats["sessions"], 1);
    assert_eq!(stats["traded_mwh"], "2000000.000");
    assert_eq!(stats["average_energy_price"], "100000.00");
    assert_eq!(stats["average_env_price"], "50000.00");
    assert_eq!(
        stats["provinces"],
        json!([{"province": "ZJ", "sold_mwh": "2000000.000", "bought_mwh": "2000000.000",
            "imported_mwh": "0.000", "exported_mwh": "0.000", "traded_mwh": "2000000.000",
            "traded_growth_percent": null, "settled_mwh": "0.000", "inter_provincial_share": "0.0000",
            "sessions": 1, "participants": 2, "users": 1, "average_energy_price": "100000.00",
            "average_env_price": "50000.00",
            "by_technology": [{"technology": "wind_offshore", "mwh": "2000000.000"}],
            "by_source_province": [{"province": "ZJ", "mwh": "2000000.000"}],
            "certificates": {"issued": 999_999_998, "transferred": 0, "claimed": 0},
            "top_corridors": []}])
    );
    h.finish().await;
}

on_both!(
    the_largest_values_go_through,
    the_largest_values_clear_settle_issue_and_count
);
