//! Every route × every role, with the exact status each gets (spec §7), and 401 without a token.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Harness;
use crate::on_both;

/// The roles in the order of the expected-status columns.
const ROLES: [&str; 8] = [
    "operator",
    "regulator",
    "grid",
    "retail_user",
    "generator",
    "aggregator",
    "user",
    "retailer",
];

fn is_seller(role: &str) -> bool {
    matches!(role, "generator" | "aggregator")
}

async fn role_by_route(h: Harness) {
    let mut tokens = vec![(ROLES[0], h.operator.clone(), 0u64)];
    for role in &ROLES[1..] {
        let (id, token) = h.participant(&format!("{role}-1"), role).await;
        tokens.push((role, token, id));
    }
    let id_of = |role: &str| tokens.iter().find(|t| t.0 == role).unwrap().2;
    let token_of = |role: &str| tokens.iter().find(|t| t.0 == role).unwrap().1.clone();
    let (generator, user) = (id_of("generator"), id_of("user"));

    let auction = h.session("call_auction", None).await;
    let rolling = h.session("rolling", None).await;
    let listing = h.session("listing", None).await;
    let bilateral = h.session("bilateral", None).await;
    for s in [auction, rolling, listing, bilateral] {
        h.actions(s, &["announce", "open"]).await;
    }
    let lot = json!({"side": "sell", "volumes": [{"period": "h10", "mwh": "10"}], "energy_price": "400.00", "env_price": "25.00"});
    let listed = h
        .post(
            &format!("/api/v1/sessions/{listing}/listings"),
            &token_of("generator"),
            lot.clone(),
            StatusCode::CREATED,
        )
        .await["created"]
        .as_u64()
        .unwrap();
    let to_withdraw = h
        .post(
            &format!("/api/v1/sessions/{listing}/listings"),
            &token_of("generator"),
            lot,
            StatusCode::CREATED,
        )
        .await["created"]
        .as_u64()
        .unwrap();
    let proposal_body = json!({"counterparty": user, "volumes": [{"period": "h01", "mwh": "1"}], "energy_price": "400.00", "env_price": "20.00", "compensation": "50.00"});
    let proposal = h
        .post(
            &format!("/api/v1/sessions/{bilateral}/proposals"),
            &token_of("generator"),
            proposal_body,
            StatusCode::CREATED,
        )
        .await["created"]
        .as_u64()
        .unwrap();

    let (status, _) = h
        .call(
            Method::PUT,
            "/api/v1/network/corridors/QH/ZJ",
            Some(&h.operator),
            Some(json!({"capacity_mwh": "1", "loss": "0", "tariff": "0"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let order = |role: &str| {
        let side = if is_seller(role) { "sell" } else { "buy" };
        json!({"side": side, "period": "h01", "mwh": "1", "energy_price": "400.00", "env_price": "20.00"})
    };
    // (method, path, body for a role, expected statuses in ROLES order)
    type Body = Box<dyn Fn(&str) -> Option<Value>>;
    let none: fn() -> Body = || Box::new(|_| None);
    let rows: Vec<(Method, String, Body, [u16; 8])> = vec![
        (
            Method::POST,
            "/api/v1/participants".into(),
            Box::new(|role| {
                Some(json!({"name": format!("new by {role}"), "role": "user", "province": "ZJ"}))
            }),
            [201, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/participants".into(),
            none(),
            [200, 200, 403, 403, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/participants/me".into(),
            none(),
            [200; 8],
        ),
        (
            Method::POST,
            format!("/api/v1/participants/{generator}/tokens"),
            none(),
            [201, 403, 403, 403, 201, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/projects".into(),
            Box::new(move |_| {
                Some(
                    json!({"code": "33010000000000001", "technology": "wind_offshore", "capacity_kw": 300000, "province": "ZJ", "owner": generator}),
                )
            }),
            [201, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/projects".into(),
            none(),
            [200, 200, 403, 403, 200, 200, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/access-log".into(),
            none(),
            [200, 200, 403, 403, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/sessions".into(),
            Box::new(|_| {
                Some(
                    json!({"name": "s", "scope": "intra", "provinces": ["ZJ"], "horizon": "month", "mode": "rolling", "first_month": "2024-04", "last_month": "2024-04", "energy_price_min": "300", "energy_price_max": "500", "lot_mwh": "1", "compensation": "0"}),
                )
            }),
            [201, 403, 403, 403, 403, 403, 403, 403],
        ),
        (Method::GET, "/api/v1/sessions".into(), none(), [200; 8]),
        // Already open: the operator may try, and the engine says 409.
        (
            Method::POST,
            format!("/api/v1/sessions/{auction}/open"),
            none(),
            [409, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{auction}/orders"),
            Box::new(move |role| Some(order(role))),
            [403, 403, 403, 403, 201, 201, 201, 201],
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{auction}/orders/batch"),
            Box::new(move |role| Some(json!({"orders": [order(role)]}))),
            [403, 403, 403, 403, 200, 200, 200, 200],
        ),
        (
            Method::DELETE,
            format!("/api/v1/sessions/{auction}/orders/999999"),
            none(),
            [403, 403, 403, 403, 404, 404, 404, 404],
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{auction}/orders"),
            none(),
            [200; 8],
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{auction}/results"),
            none(),
            [409; 8],
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{rolling}/depth?period=h01"),
            none(),
            [200; 8],
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{listing}/listings"),
            Box::new(move |role| {
                let side = if is_seller(role) { "sell" } else { "buy" };
                Some(
                    json!({"side": side, "volumes": [{"period": "h11", "mwh": "1"}], "energy_price": "400.00", "env_price": "25.00"}),
                )
            }),
            [403, 403, 403, 403, 201, 201, 201, 201],
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{listing}/listings"),
            none(),
            [200; 8],
        ),
        // A seller cannot take a sell listing; the lister cannot take its own.
        (
            Method::POST,
            format!("/api/v1/sessions/{listing}/listings/{listed}/take"),
            Box::new(|_| Some(json!({"volumes": [{"period": "h10", "mwh": "0.5"}]}))),
            [403, 403, 403, 403, TAKE_OWN, 403, 201, 201],
        ),
        // Only the owner withdraws.
        (
            Method::DELETE,
            format!("/api/v1/sessions/{listing}/listings/{to_withdraw}"),
            none(),
            [403, 403, 403, 403, 200, 403, 403, 403],
        ),
        (
            Method::POST,
            format!("/api/v1/sessions/{bilateral}/proposals"),
            Box::new(move |role| {
                let counterparty = if is_seller(role) { user } else { generator };
                Some(
                    json!({"counterparty": counterparty, "volumes": [{"period": "h02", "mwh": "1"}], "energy_price": "400.00", "env_price": "20.00", "compensation": "50.00"}),
                )
            }),
            [403, 403, 403, 403, 201, 201, 201, 201],
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{bilateral}/proposals"),
            none(),
            [200; 8],
        ),
        // Only the counterparty confirms, once.
        (
            Method::POST,
            format!("/api/v1/sessions/{bilateral}/proposals/{proposal}/confirm"),
            none(),
            [403, 403, 403, 403, 403, 403, 201, 403],
        ),
        (Method::GET, "/api/v1/contracts".into(), none(), [200; 8]),
        // Meter data is the grid's (an empty file is a 400 for it).
        (
            Method::POST,
            "/api/v1/meters/2024-03".into(),
            none(),
            [403, 403, 400, 403, 403, 403, 403, 403],
        ),
        (
            Method::POST,
            "/api/v1/certificates/issue".into(),
            Box::new(|_| Some(json!({"month": "2024-03"}))),
            [201, 403, 403, 403, 403, 403, 403, 403],
        ),
        (Method::GET, "/api/v1/certificates".into(), none(), [200; 8]),
        (
            Method::GET,
            format!("/api/v1/certificates?participant={generator}"),
            none(),
            [200, 200, 403, 403, 200, 403, 403, 403],
        ),
        // Nothing was issued: traders get 404 for the project-month; the user, sending to
        // itself, is refused first (400 same_account).
        (
            Method::POST,
            "/api/v1/certificates/transfer".into(),
            Box::new(move |_| {
                Some(
                    json!({"to": user, "project": "33010000000000001", "month": "2024-03", "count": 1, "price_yuan": "1.00"}),
                )
            }),
            [403, 403, 403, 403, 404, 404, 400, 404],
        ),
        (
            Method::POST,
            "/api/v1/certificates/claim".into(),
            Box::new(|_| {
                Some(
                    json!({"project": "33010000000000001", "month": "2024-03", "count": 1, "beneficiary": "x"}),
                )
            }),
            [403, 403, 403, 403, 404, 404, 404, 404],
        ),
        (
            Method::POST,
            "/api/v1/settlements".into(),
            Box::new(|_| Some(json!({"month": "2024-03"}))),
            [200, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/api/v1/consumption-certificates/2024-03".into(),
            none(),
            [404; 8],
        ),
        (
            Method::POST,
            "/api/v1/certificates/listings".into(),
            Box::new(|_| {
                Some(
                    json!({"project": "33010000000000001", "month": "2024-03", "count": 1, "price_yuan": "1.00"}),
                )
            }),
            [403, 403, 403, 403, 404, 404, 404, 404],
        ),
        (
            Method::GET,
            "/api/v1/certificates/listings".into(),
            none(),
            [200; 8],
        ),
        (
            Method::POST,
            "/api/v1/certificates/listings/99/buy".into(),
            Box::new(|_| Some(json!({"count": 1}))),
            [403, 403, 403, 403, 404, 404, 404, 404],
        ),
        (
            Method::DELETE,
            "/api/v1/certificates/listings/99".into(),
            none(),
            [403, 403, 403, 403, 404, 404, 404, 404],
        ),
        (
            Method::POST,
            "/api/v1/certificates/expire".into(),
            Box::new(|_| Some(json!({"month": "2024-03"}))),
            [200, 403, 403, 403, 403, 403, 403, 403],
        ),
        // No meter data: 404 for one's own; others' only for the operator and regulator.
        (
            Method::GET,
            "/api/v1/hourly-match/2024-03".into(),
            none(),
            [404; 8],
        ),
        (
            Method::GET,
            format!("/api/v1/hourly-match/2024-03?participant={user}"),
            none(),
            [404, 404, 403, 403, 403, 403, 404, 403],
        ),
        // Annual statistics are public.
        (
            Method::GET,
            "/api/v1/statistics/2024".into(),
            none(),
            [200; 8],
        ),
        // The network registry is public to read and the operator's to change: the operator
        // registers GS→ZJ and removes QH→ZJ (registered above); the other roles are refused
        // before anything is written (checked after the table).
        (
            Method::GET,
            "/api/v1/network/corridors".into(),
            none(),
            [200; 8],
        ),
        (
            Method::PUT,
            "/api/v1/network/corridors/GS/ZJ".into(),
            Box::new(|role| {
                let capacity = if role == "operator" { "5.000" } else { "6.000" };
                Some(json!({"capacity_mwh": capacity, "loss": "0.035", "tariff": "10.00"}))
            }),
            [200, 403, 403, 403, 403, 403, 403, 403],
        ),
        (
            Method::DELETE,
            "/api/v1/network/corridors/QH/ZJ".into(),
            none(),
            [204, 403, 403, 403, 403, 403, 403, 403],
        ),
    ];

    let mut failures = Vec::new();
    for (method, path, body, expected) in &rows {
        // No token: 401 on every route that needs one.
        let public = *method == Method::GET
            && (path.contains("/depth")
                || path.ends_with("/results")
                || path == "/api/v1/sessions"
                || path.starts_with("/api/v1/statistics")
                || path == "/api/v1/network/corridors");
        if !public {
            let (status, reply) = h.call(method.clone(), path, None, body("user")).await;
            if status != StatusCode::UNAUTHORIZED || reply["error"] != "unauthorized" {
                failures.push(format!("{method} {path} without a token: {status} {reply}"));
            }
        }
        for (i, (role, token, _)) in tokens.iter().enumerate() {
            let (status, reply) = h.call(method.clone(), path, Some(token), body(role)).await;
            if status.as_u16() != expected[i] {
                failures.push(format!(
                    "{method} {path} as {role}: expected {}, got {status} {reply}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A token that is not ours is 401.
    let (status, _) = h
        .call(
            Method::GET,
            "/api/v1/participants/me",
            Some("lvd_0000"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.get("/api/v1/network/corridors", None, StatusCode::OK)
            .await,
        json!([{"from": "GS", "to": "ZJ", "capacity_mwh": "5.000", "loss": "0.035",
                "tariff": "10.00", "updated_at_ms": crate::harness::NOW_MS}])
    );
    h.finish().await;
}

/// What the lister gets when it takes its own listing: the role rule (a seller may not buy)
/// comes before the self-trade rule.
const TAKE_OWN: u16 = 403;

on_both!(roles, role_by_route);
