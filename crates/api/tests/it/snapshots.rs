//! A published session is loaded at start from its stored snapshot, not by replaying its
//! journal, and answers exactly as before.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::Harness;
use crate::on_both;

/// What the public, the operator and the buyer read of the two sessions.
async fn reads(h: &Harness, published: u64, open: u64, buyer: &str) -> Vec<serde_json::Value> {
    vec![
        h.get(
            &format!("/api/v1/sessions/{published}/results"),
            None,
            StatusCode::OK,
        )
        .await,
        h.get(
            &format!("/api/v1/contracts?session={published}"),
            Some(&h.operator),
            StatusCode::OK,
        )
        .await,
        h.get(
            &format!("/api/v1/sessions/{published}/orders"),
            Some(buyer),
            StatusCode::OK,
        )
        .await,
        h.get(
            &format!("/api/v1/sessions/{open}/orders"),
            Some(buyer),
            StatusCode::OK,
        )
        .await,
    ]
}

async fn published_sessions_load_from_snapshots(h: Harness) {
    let (_, seller) = h.participant("海上风电一号", "generator").await;
    let (_, buyer) = h.participant("杭州某制造企业", "user").await;
    let published = h.session("call_auction", None).await;
    let open = h.session("call_auction", None).await;
    h.actions(published, &["announce", "open"]).await;
    h.actions(open, &["announce", "open"]).await;
    let order = |side: &str, energy: &str| json!({"side": side, "period": "h12", "mwh": "6.5", "energy_price": energy, "env_price": "20.00"});
    for s in [published, open] {
        h.submit(
            s,
            &[
                (&seller, order("sell", "350.00")),
                (&buyer, order("buy", "400.50")),
            ],
        )
        .await;
    }
    h.actions(published, &["close", "clear", "publish"]).await;
    let before = reads(&h, published, open, &buyer).await;
    let h = h.restart().await;
    let (_, metrics) = h.call(Method::GET, "/metrics", None, None).await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("lvdian_sessions_from_snapshots_total 1\n"),
        "{metrics}"
    );
    let after = reads(&h, published, open, &buyer).await;
    assert_eq!(before, after);
    // The restored session refuses what a published session refuses; the replayed one trades on.
    let (status, _) = h
        .call(
            Method::POST,
            &format!("/api/v1/sessions/{published}/orders"),
            Some(&seller),
            Some(order("sell", "350.00")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    h.actions(open, &["close", "clear", "publish"]).await;
    h.finish().await;
}

on_both!(
    published_sessions_load_from_their_snapshots,
    published_sessions_load_from_snapshots
);
