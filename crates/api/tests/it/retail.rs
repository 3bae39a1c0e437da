//! Retail end to end: a retailer registers retail contracts, buys green power, and the month's
//! final settlement shares its settled environmental value among its retail users, each of whom
//! reads only its own share.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::certificates::{march_csv, upload_month};
use crate::harness::Harness;
use crate::on_both;

async fn retail_allocation(h: Harness) {
    let (g, gen_token) = h.participant("海上风电一号", "generator").await;
    let (r, retailer) = h.participant("浙江某售电公司", "retailer").await;
    let (a, a_token) = h.participant("零售用户甲", "retail_user").await;
    let (b, b_token) = h.participant("零售用户乙", "retail_user").await;
    let (_, other_retailer) = h.participant("另一售电公司", "retailer").await;
    let (_, grid) = h.participant("国网浙江", "grid").await;
    h.wind_project(g).await;

    // Retail contracts: A 6 MWh a month at 30.00, B 6 at 20.00, over 2024.
    let contract = |user: u64, env: &str| {
        json!({"user": user, "first_month": "2024-01",
        "last_month": "2024-12", "monthly_mwh": "6", "env_price": env})
    };
    let ca = h
        .post(
            "/api/v1/retail-contracts",
            &retailer,
            contract(a, "30.00"),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        ca,
        json!({"id": ca["id"], "retailer": r, "user": a, "first_month": "2024-01", "last_month": "2024-12",
            "monthly_mwh": "6", "env_price": "30.00", "created_at_ms": ca["created_at_ms"]})
    );
    h.post(
        "/api/v1/retail-contracts",
        &retailer,
        contract(b, "20.00"),
        StatusCode::CREATED,
    )
    .await;
    // Refusals: only retailers register; the user must be a retail user; whole MWh; one retailer
    // at a time.
    for (token, body, status, needle) in [
        (
            &gen_token,
            contract(a, "30.00"),
            StatusCode::FORBIDDEN,
            "may not register retail contracts",
        ),
        (
            &retailer,
            contract(g, "30.00"),
            StatusCode::BAD_REQUEST,
            "not a retail_user",
        ),
        (
            &retailer,
            json!({"user": a, "first_month": "2024-01", "last_month": "2024-12",
            "monthly_mwh": "6.5", "env_price": "30.00"}),
            StatusCode::BAD_REQUEST,
            "monthly_mwh",
        ),
        (
            &retailer,
            json!({"user": a, "first_month": "2024-05", "last_month": "2024-01",
            "monthly_mwh": "6", "env_price": "30.00"}),
            StatusCode::BAD_REQUEST,
            "last_month",
        ),
        (
            &other_retailer,
            contract(a, "40.00"),
            StatusCode::CONFLICT,
            "one retailer at a time",
        ),
    ] {
        let (got, body) = h
            .call(
                Method::POST,
                "/api/v1/retail-contracts",
                Some(token),
                Some(body),
            )
            .await;
        assert_eq!(got, status, "{body}");
        assert!(body["message"].as_str().unwrap().contains(needle), "{body}");
    }
    // Each retail user sees its own contract; the retailer both.
    let mine = h
        .get("/api/v1/retail-contracts", Some(&a_token), StatusCode::OK)
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let all = h
        .get("/api/v1/retail-contracts", Some(&retailer), StatusCode::OK)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);

    // The retailer buys 10 MWh for March from the generator.
    let s = h.session("call_auction", None).await;
    h.actions(s, &["announce", "open"]).await;
    let order = |side: &str, energy: &str, env: &str| {
        json!({"side": side, "period": "h12", "mwh": "10",
        "energy_price": energy, "env_price": env})
    };
    h.submit(
        s,
        &[
            (&gen_token, order("sell", "350.00", "30.00")),
            (&retailer, order("buy", "400.50", "20.00")),
        ],
    )
    .await;
    h.actions(s, &["close", "clear", "publish"]).await;
    // 4 kWh a quarter-hour each: 11,904 kWh generated and consumed, more than contracted.
    let (status, _) = upload_month(
        &h,
        &grid,
        "2024-03",
        march_csv(&[("MG1", g.to_string(), 4), ("MR1", r.to_string(), 4)]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    h.post(
        "/api/v1/certificates/issue",
        &h.operator,
        json!({"month": "2024-03"}),
        StatusCode::CREATED,
    )
    .await;
    // Q_env = 10 MWh for a demand of 12: A (30.00) is served first, in full; B gets the 4 left.
    let done = h
        .post(
            "/api/v1/settlements",
            &h.operator,
            json!({"month": "2024-03", "final": true}),
            StatusCode::CREATED,
        )
        .await;
    let retail = json!([
        {"retail_contract": ca["id"], "retailer": r, "user": a, "demand_mwh": "6", "env_mwh": "6"},
        {"retail_contract": ca["id"].as_u64().unwrap() + 1, "retailer": r, "user": b, "demand_mwh": "6", "env_mwh": "4"}]);
    assert_eq!(done["retail"], retail);
    assert_eq!(done["lines"][0]["env_mwh"], "10");

    // What each may read of the final settlement.
    let read = |token: String| {
        let h = &h;
        async move {
            h.get("/api/v1/settlements/2024-03", Some(&token), StatusCode::OK)
                .await
        }
    };
    let seen_by_a = read(a_token.clone()).await;
    assert_eq!(
        (
            seen_by_a["lines"].as_array().unwrap().len(),
            &seen_by_a["retail"]
        ),
        (0, &json!([retail[0]]))
    );
    let seen_by_b = read(b_token.clone()).await;
    assert_eq!(seen_by_b["retail"], json!([retail[1]]));
    let seen_by_retailer = read(retailer.clone()).await;
    assert_eq!(
        (
            seen_by_retailer["lines"].as_array().unwrap().len(),
            &seen_by_retailer["retail"]
        ),
        (1, &retail)
    );
    let seen_by_generator = read(gen_token.clone()).await;
    assert_eq!(seen_by_generator["lines"].as_array().unwrap().len(), 1);
    assert!(
        seen_by_generator.get("retail").is_none(),
        "{seen_by_generator}"
    );
    assert_eq!(read(h.operator.clone()).await, done);
    // In pages of one: the line (with its transfers), then each allocation; the `Link` header
    // leads from one to the next, and a bad cursor or limit names its field.
    let mut path = "/api/v1/settlements/2024-03?limit=1".to_owned();
    let mut pages = Vec::new();
    loop {
        let (status, page, link) = crate::paging::get_page(&h, &path, &h.operator).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages.push(page);
        let Some(link) = link else { break };
        let (url, rel) = link.split_once(">; ").unwrap();
        assert_eq!(rel, "rel=\"next\"");
        path = url.trim_start_matches('<').to_owned();
    }
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(
        (
            &pages[0]["lines"],
            &pages[0]["transfers"],
            pages[0].get("retail")
        ),
        (&done["lines"], &done["transfers"], None)
    );
    assert_eq!(
        (
            &pages[1]["lines"],
            &pages[1]["transfers"],
            &pages[1]["retail"]
        ),
        (&json!([]), &json!([]), &json!([retail[0]]))
    );
    assert_eq!(pages[2]["retail"], json!([retail[1]]));
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("after=S1-C1", "after"),
        ("after=retail:x", "after"),
        ("after=line:", "after"),
    ] {
        let (status, body, _) = crate::paging::get_page(
            &h,
            &format!("/api/v1/settlements/2024-03?{query}"),
            &h.operator,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("field `{field}`")),
            "{query}: {body}"
        );
    }
    h.get(
        "/api/v1/settlements/2024-04",
        Some(&a_token),
        StatusCode::NOT_FOUND,
    )
    .await;
    h.finish().await;
}

on_both!(retail_allocation_in_the_month_close, retail_allocation);
