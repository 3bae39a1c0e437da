//! Meter data, certificates and settlement through the API: 证电合一 on a final run, trade once,
//! and concurrent double transfers of the same certificates (exactly one succeeds).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Harness;
use crate::on_both;

/// March 2024 (31 days): every quarter-hour, the generator's meter reads `gen` kWh and the
/// user's `use_` kWh.
pub(crate) fn meter_csv(generator: u64, user: u64, gen_kwh: i64, use_kwh: i64) -> String {
    march_csv(&[
        ("MG1", generator.to_string(), gen_kwh),
        ("MU1", user.to_string(), use_kwh),
    ])
}

/// A March 2024 meter file: each (meter, participant column, kWh) reads that kWh every
/// quarter-hour.
pub(crate) fn march_csv(rows: &[(&str, String, i64)]) -> String {
    month_csv("2024-03", 31, rows)
}

/// A meter file of `month` (of `days` days): each (meter, participant column, kWh) reads that
/// kWh every quarter-hour.
pub(crate) fn month_csv(month: &str, days: u32, rows: &[(&str, String, i64)]) -> String {
    let mut csv = String::from("meter,participant,start,kwh\n");
    for (meter, participant, kwh) in rows {
        for day in 1..=days {
            for q in 0..96 {
                csv.push_str(&format!(
                    "{meter},{participant},{month}-{day:02}T{:02}:{:02},{kwh}\n",
                    q / 4,
                    q % 4 * 15
                ));
            }
        }
    }
    csv
}

/// Uploads `csv` as month `month`'s meter data (`POST /api/v1/meters/{month}`).
pub(crate) async fn upload_month(
    h: &Harness,
    token: &str,
    month: &str,
    csv: String,
) -> (StatusCode, Value) {
    use tower::ServiceExt;
    let request = axum::http::Request::post(format!("/api/v1/meters/{month}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/csv")
        .body(axum::body::Body::from(csv))
        .unwrap();
    let response = h.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn certificates_end_to_end(h: Harness) {
    let (g, gen_token) = h.participant("海上风电一号", "generator").await;
    let (u, user_token) = h.participant("杭州某制造企业", "user").await;
    let (u2, u2_token) = h.participant("U2", "user").await;
    let (_, grid) = h.participant("国网浙江", "grid").await;
    h.wind_project(g).await;

    // A published call auction for March: 6.5 MWh at 375.25 + 25.00 (see the market tests).
    let s = h.session("call_auction", None).await;
    h.actions(s, &["announce", "open"]).await;
    let order = |side: &str, mwh: &str, energy: &str, env: &str| json!({"side": side, "period": "h12", "mwh": mwh, "energy_price": energy, "env_price": env});
    h.post(
        &format!("/api/v1/sessions/{s}/orders"),
        &gen_token,
        order("sell", "6.5", "350.00", "30.00"),
        StatusCode::CREATED,
    )
    .await;
    h.post(
        &format!("/api/v1/sessions/{s}/orders"),
        &user_token,
        order("buy", "10", "400.50", "20.00"),
        StatusCode::CREATED,
    )
    .await;
    h.actions(s, &["close", "clear", "publish"]).await;

    // Meter data: only the grid uploads; a bad row refuses the whole file.
    let (status, _) = upload_month(&h, &user_token, "2024-03", meter_csv(g, u, 3, 2)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bad = meter_csv(g, u, 3, 2).replace(
        &format!("MU1,{u},2024-03-05T10:00,2"),
        &format!("MU1,{u},2024-03-05T10:00,-2"),
    );
    let (status, body) = upload_month(&h, &grid, "2024-03", bad).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_meter_data"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("field `kwh`: `-2` is negative"),
        "{body}"
    );
    // G makes 3 kWh per quarter-hour (8,928 kWh in March), U uses 2 (5,952 kWh).
    let (status, body) = upload_month(&h, &grid, "2024-03", meter_csv(g, u, 3, 2)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CREATED,
            json!({"month": "2024-03", "meters": 2, "readings": 5952, "corrections": 0})
        )
    );

    // Hourly matching: U uses 8 kWh an hour; G makes 12 kWh an hour (8,928 kWh in March) and
    // sold U 6,500 kWh, so U's share is floor(12 × 6,500 / 8,928) = 8 kWh every hour: 100%.
    let matched = h
        .get(
            "/api/v1/hourly-match/2024-03",
            Some(&user_token),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        matched,
        json!({"month": "2024-03", "participant": u, "consumption_mwh": "5.952", "green_supply_mwh": "5.952",
        "matched_mwh": "5.952", "unmatched_mwh": "0.000", "excess_mwh": "0.000", "hourly_matched_percent": "100.00"})
    );

    // Issuance: 8,928 kWh → 8 certificates, 928 kWh carried.
    let issued = h
        .post(
            "/api/v1/certificates/issue",
            &h.operator,
            json!({"month": "2024-03"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        issued,
        json!({"month": "2024-03", "issued": [{"project": "33010000000000001", "owner": g,
        "metered_mwh": "8.928", "certificates": 8,
        "ranges": ["33010000000000001202403000000001-33010000000000001202403000000008"]}]})
    );
    // The handler still builds this reply with `json!`: it must be exactly the documented
    // `IssuedCertificates`, field for field.
    let typed: market::IssuanceReport = serde_json::from_value(issued.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), issued);

    // Settlement: C = 6,500, G = 8,928, L = 5,952 → D = 5,952, Q_env = 5 MWh, carry 952 kWh,
    // shortfall 548 kWh paid by the buyer (G_k 6,500 > L_k 5,952) at 50.00: 27.40 yuan;
    // energy 5,952 × 375.25 = 2,233.488 → 2,233.49 yuan; environment 5 × 25.00 = 125.00.
    let expected_line = json!({"contract": format!("S{s}-C1"), "delivered_mwh": "5.952",
        "lost_mwh": "0.000", "sent_mwh": "5.952", "env_mwh": "5", "carry_out_kwh": "952", "env_yuan": "125.00",
        "energy_yuan": "2233.49", "shortfall_mwh": "0.548", "comp_yuan": "27.40", "comp_payer": "buyer",
        "carry_in_kwh": "0", "volume_mwh": "6.500"});
    let draft = h
        .post(
            "/api/v1/settlements",
            &h.operator,
            json!({"month": "2024-03"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(draft["lines"], json!([expected_line]));
    let done = h
        .post(
            "/api/v1/settlements",
            &h.operator,
            json!({"month": "2024-03", "final": true}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        done["transfers"],
        json!([{"contract": format!("S{s}-C1"), "project": "33010000000000001", "certificates": 5,
        "ranges": ["33010000000000001202403000000001-33010000000000001202403000000005"], "certificates_missing": 0}])
    );
    let again = h
        .post(
            "/api/v1/settlements",
            &h.operator,
            json!({"month": "2024-03", "final": true}),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(again["error"], "already_final");

    // The buyer's consumption certificate.
    let (status, html) = h
        .call(
            Method::GET,
            "/api/v1/consumption-certificates/2024-03",
            Some(&user_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let html = html.as_str().unwrap();
    assert!(
        html.contains("33010000000000001202403000000001") && html.contains("杭州某制造企业"),
        "{html}"
    );
    use tower::ServiceExt;
    let pdf = h
        .app
        .clone()
        .oneshot(
            axum::http::Request::get("/api/v1/consumption-certificates/2024-03?format=pdf")
                .header("authorization", format!("Bearer {user_token}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = http_body_util::BodyExt::collect(pdf.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert!(bytes.starts_with(b"%PDF-1."));

    // Eight concurrent transfers of G's last 3 certificates: exactly one succeeds.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (app, token) = (h.app.clone(), gen_token.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"to": u2, "project": "33010000000000001", "month": "2024-03", "count": 3, "price_yuan": "5.00"});
            let request = axum::http::Request::post("/api/v1/certificates/transfer")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.to_string()))
                .unwrap();
            app.oneshot(request).await.unwrap().status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().as_u16());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409, 409, 409]);

    // Trade once: the buyer cannot pass its certificates on, but may claim them.
    let refused = h.post("/api/v1/certificates/transfer", &user_token,
        json!({"to": u2, "project": "33010000000000001", "month": "2024-03", "count": 1, "price_yuan": "5.00"}), StatusCode::CONFLICT).await;
    assert_eq!(refused["error"], "already_transferred");
    // Claims of several lots are all or none: 3 + 3 of the 5 it holds claims nothing.
    let before = h
        .get("/api/v1/certificates", Some(&user_token), StatusCode::OK)
        .await;
    let lot =
        |count: u32| json!({"project": "33010000000000001", "month": "2024-03", "count": count});
    let refused = h
        .post(
            "/api/v1/certificates/claims",
            &user_token,
            json!({"lots": [lot(3), lot(3)], "beneficiary": "杭州某制造企业"}),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(refused["error"], "insufficient_certificates", "{refused}");
    for (lots, field) in [
        (json!([]), "`lots`"),
        (
            json!([lot(1), {"project": "3301", "month": "2024-03", "count": 1}]),
            "`lots[1].project`",
        ),
        (
            json!([lot(1), {"project": "33010000000000001", "month": "2024-13", "count": 1}]),
            "`lots[1].month`",
        ),
    ] {
        let refused = h
            .post(
                "/api/v1/certificates/claims",
                &user_token,
                json!({"lots": lots, "beneficiary": "杭州某制造企业"}),
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(
            refused["message"].as_str().unwrap().contains(field),
            "{refused}"
        );
    }
    let lots: Vec<Value> = (0..10_001).map(|_| lot(1)).collect();
    h.post(
        "/api/v1/certificates/claims",
        &user_token,
        json!({"lots": lots, "beneficiary": "杭州某制造企业"}),
        StatusCode::BAD_REQUEST,
    )
    .await;
    h.post(
        "/api/v1/certificates/claims",
        &user_token,
        json!({"lots": [lot(0)], "beneficiary": "杭州某制造企业"}),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        h.get("/api/v1/certificates", Some(&user_token), StatusCode::OK)
            .await,
        before
    );
    h.post("/api/v1/certificates/claim", &user_token,
        json!({"project": "33010000000000001", "month": "2024-03", "count": 5, "beneficiary": "杭州某制造企业"}), StatusCode::CREATED).await;
    let mine = h
        .get("/api/v1/certificates", Some(&user_token), StatusCode::OK)
        .await;
    assert_eq!(
        mine["holdings"],
        json!([{"range": "33010000000000001202403000000001-33010000000000001202403000000005", "project": "33010000000000001",
        "month": "2024-03", "certificates": 5, "state": "claimed", "listing": null}])
    );

    // The stored ledger verifies: issue, settlement transfer, bilateral transfer, claim.
    let rows = h.store.ledger().await.unwrap();
    let bytes: Vec<&[u8]> = rows.iter().map(|r| r.entry.as_slice()).collect();
    assert_eq!(
        registry::verify_bytes(&bytes).unwrap().to_string(),
        "ok 4 entries"
    );
    // And a restart rebuilds the registry from it.
    let h = h.restart().await;
    let theirs = h
        .get(
            &format!("/api/v1/certificates?participant={u2}"),
            Some(&h.operator),
            StatusCode::OK,
        )
        .await;
    assert_eq!(theirs["holdings"][0]["certificates"], 3);
    // U2 claims its 3 in two lots at once; a month filter shows them, another month nothing.
    let claims = h.post("/api/v1/certificates/claims", &u2_token,
        json!({"lots": [{"project": "33010000000000001", "month": "2024-03", "count": 1},
            {"project": "33010000000000001", "month": "2024-03", "count": 2}], "beneficiary": "U2 2024年用电"}),
        StatusCode::CREATED).await;
    assert_eq!(claims.as_array().map(Vec::len), Some(2), "{claims}");
    assert_eq!(claims[1]["certificates"], 2);
    let march = h
        .get(
            "/api/v1/certificates?month=2024-03",
            Some(&u2_token),
            StatusCode::OK,
        )
        .await;
    assert_eq!(march["holdings"][0]["state"], "claimed", "{march}");
    assert_eq!(
        march["holdings"][0]["certificates"], 3,
        "the two claims' ranges join: {march}"
    );
    let april = h
        .get(
            "/api/v1/certificates?month=2024-04",
            Some(&u2_token),
            StatusCode::OK,
        )
        .await;
    assert_eq!(april["holdings"], json!([]));
    h.get(
        "/api/v1/certificates?month=march",
        Some(&u2_token),
        StatusCode::BAD_REQUEST,
    )
    .await;

    // Checkpoints: with one every entry, the next change stores the registry's state after
    // it, a restart starts from it (and the entries after it), and the consumption
    // certificate, whose transfers are before it, still reads them from the ledger.
    assert_eq!(h.store.registry_checkpoint().await.unwrap(), None);
    let document = h
        .call(
            Method::GET,
            "/api/v1/consumption-certificates/2024-03",
            Some(&user_token),
            None,
        )
        .await;
    h.state.certificates.set_checkpoint_every(1);
    let expire = |month: &str| json!({ "month": month });
    h.post(
        "/api/v1/certificates/expire",
        &h.operator,
        expire("2025-03"),
        StatusCode::OK,
    )
    .await;
    let checkpoint = h
        .store
        .registry_checkpoint()
        .await
        .unwrap()
        .expect("a checkpoint");
    assert_eq!(checkpoint.seq, 7);
    let (restored, _) = registry::replay(
        &h.store
            .ledger()
            .await
            .unwrap()
            .iter()
            .map(|r| registry::Entry::from_bytes(&r.entry).unwrap())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert_eq!(checkpoint.state, restored.checkpoint());
    let mine = h
        .get("/api/v1/certificates", Some(&gen_token), StatusCode::OK)
        .await;
    let h = h.restart().await;
    assert_eq!(
        h.get("/api/v1/certificates", Some(&gen_token), StatusCode::OK)
            .await,
        mine
    );
    assert_eq!(
        h.call(
            Method::GET,
            "/api/v1/consumption-certificates/2024-03",
            Some(&user_token),
            None,
        )
        .await,
        document
    );
    // A change after the restart appends after the checkpoint; the next start replays it.
    h.state.certificates.set_checkpoint_every(100);
    h.post(
        "/api/v1/certificates/expire",
        &h.operator,
        expire("2025-04"),
        StatusCode::OK,
    )
    .await;
    let theirs = h
        .get("/api/v1/certificates", Some(&gen_token), StatusCode::OK)
        .await;
    let h = h.restart().await;
    assert_eq!(
        h.get("/api/v1/certificates", Some(&gen_token), StatusCode::OK)
            .await,
        theirs
    );
    assert_eq!(h.store.registry_checkpoint().await.unwrap().unwrap().seq, 7);
    h.finish().await;
}
on_both!(certificates, certificates_end_to_end);

async fn listings_and_expiry(h: Harness) {
    let (g, gen_token) = h.participant("G", "generator").await;
    let (u, user_token) = h.participant("U", "user").await;
    let (_, grid) = h.participant("grid", "grid").await;
    h.post(
        "/api/v1/projects",
        &h.operator,
        json!({"code": "33010000000000002", "technology": "pv_distributed", "capacity_kw": 5000,
        "province": "ZJ", "owner": g, "meters": ["MG1"]}),
        StatusCode::CREATED,
    )
    .await;
    // G makes 3 kWh per quarter-hour: 8,928 kWh → 8 certificates.
    let (status, _) = upload_month(&h, &grid, "2024-03", meter_csv(g, u, 3, 2)).await;
    assert_eq!(status, StatusCode::CREATED);
    h.post(
        "/api/v1/certificates/issue",
        &h.operator,
        json!({"month": "2024-03"}),
        StatusCode::CREATED,
    )
    .await;

    let listing = h.post("/api/v1/certificates/listings", &gen_token,
        json!({"project": "33010000000000002", "month": "2024-03", "count": 3, "price_yuan": "5.00"}), StatusCode::CREATED).await;
    let id = listing["id"].as_u64().unwrap();
    assert_eq!(
        (listing["listed"].as_u64(), listing["price_yuan"].as_str()),
        (Some(3), Some("5.00"))
    );
    assert_eq!(
        h.get(
            "/api/v1/certificates/listings",
            Some(&user_token),
            StatusCode::OK
        )
        .await
        .as_array()
        .unwrap()
        .len(),
        1
    );
    let bought = h
        .post(
            &format!("/api/v1/certificates/listings/{id}/buy"),
            &user_token,
            json!({"count": 2}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        bought["ranges"],
        json!(["33010000000000002202403000000001-33010000000000002202403000000002"])
    );
    let (status, _) = h
        .call(
            Method::DELETE,
            &format!("/api/v1/certificates/listings/{id}"),
            Some(&user_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the owner delists");
    let (status, _) = h
        .call(
            Method::DELETE,
            &format!("/api/v1/certificates/listings/{id}"),
            Some(&gen_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let closed = h
        .post(
            &format!("/api/v1/certificates/listings/{id}/buy"),
            &user_token,
            json!({"count": 1}),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(closed["error"], "listing_closed");

    // Certificates of 2024-03 are valid through 2026-02: nothing expires as of 2026-02, all
    // unclaimed ones (G's 6 and U's 2) as of 2026-03.
    let none = h
        .post(
            "/api/v1/certificates/expire",
            &h.operator,
            json!({"month": "2026-02"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(none, json!({"month": "2026-02", "cancelled": 0}));
    let expired = h
        .post(
            "/api/v1/certificates/expire",
            &h.operator,
            json!({"month": "2026-03"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(expired, json!({"month": "2026-03", "cancelled": 8}));
    // An expired month cannot be claimed any more.
    let claim = h.post("/api/v1/certificates/claim", &user_token,
        json!({"project": "33010000000000002", "month": "2024-03", "count": 1, "beneficiary": "U"}), StatusCode::CONFLICT).await;
    assert_eq!(claim["error"], "insufficient_certificates");
    h.finish().await;
}
on_both!(listings, listings_and_expiry);
