//! Sealed bids (spec §7): before clearing only the operator (and the owner) sees call-auction
//! orders; afterwards only their owners; the regulator reads all, and each read is logged.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{Harness, NOW_MS};
use crate::on_both;

async fn sealed_bids(h: Harness) {
    let (g, gen_token) = h.participant("G", "generator").await;
    let (u, user_token) = h.participant("U", "user").await;
    let (r, regulator) = h.participant("能源监管", "regulator").await;
    let s = h.session("call_auction", None).await;
    h.actions(s, &["announce", "open"]).await;
    let path = format!("/api/v1/sessions/{s}/orders");
    h.post(&path, &gen_token, json!({"side": "sell", "period": "h05", "mwh": "4", "energy_price": "360.00", "env_price": "20.00"}), StatusCode::CREATED).await;
    h.post(&path, &user_token, json!({"side": "buy", "period": "h05", "mwh": "3", "energy_price": "420.00", "env_price": "20.00"}), StatusCode::CREATED).await;
    let owners = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["participant"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };

    // Before clearing.
    assert_eq!(
        owners(&h.get(&path, Some(&h.operator), StatusCode::OK).await),
        vec![g, u]
    );
    assert_eq!(
        owners(&h.get(&path, Some(&gen_token), StatusCode::OK).await),
        vec![g]
    );
    assert_eq!(
        owners(&h.get(&path, Some(&user_token), StatusCode::OK).await),
        vec![u]
    );
    assert_eq!(
        owners(&h.get(&path, Some(&regulator), StatusCode::OK).await),
        vec![g, u]
    );
    // There is no public depth for a sealed auction.
    h.get(
        &format!("/api/v1/sessions/{s}/depth?period=h05"),
        None,
        StatusCode::CONFLICT,
    )
    .await;

    h.actions(s, &["close", "clear"]).await;
    // After clearing: the operator no longer sees others' bids; owners see theirs with fills.
    let refused = h.get(&path, Some(&h.operator), StatusCode::FORBIDDEN).await;
    assert_eq!(refused["error"], "forbidden");
    let mine = h.get(&path, Some(&user_token), StatusCode::OK).await;
    // 3 MWh at midpoint(440.00, 380.00) = 410.00.
    assert_eq!(
        (owners(&mine), mine[0]["fills"].clone()),
        (vec![u], json!([{"mwh": "3.000", "price": "410.00"}]))
    );
    assert_eq!(
        owners(&h.get(&path, Some(&regulator), StatusCode::OK).await),
        vec![g, u]
    );

    // The regulator's two reads are logged, and only those.
    let log = h
        .get("/api/v1/access-log", Some(&regulator), StatusCode::OK)
        .await;
    let what = format!("GET /api/v1/sessions/{s}/orders");
    assert_eq!(
        log,
        json!([{"participant": r, "at_ms": NOW_MS, "what": what}, {"participant": r, "at_ms": NOW_MS, "what": what}])
    );
    h.finish().await;
}
on_both!(sealed, sealed_bids);
