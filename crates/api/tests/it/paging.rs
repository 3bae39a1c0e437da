//! Contracts, and a session's orders, are read in pages: the `Link` header names the next one,
//! and the pages together are the whole list.

use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::Harness;
use crate::on_both;

/// GETs `path` as `token`: the status, the JSON body and the `Link` header.
pub(crate) async fn get_page(
    h: &Harness,
    path: &str,
    token: &str,
) -> (StatusCode, Value, Option<String>) {
    let request = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = h.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let link = response
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap(), link)
}

async fn contracts_in_pages(h: Harness) {
    let (_, seller) = h.participant("海上风电一号", "generator").await;
    let (_, buyer) = h.participant("杭州某制造企业", "user").await;
    // Two rolling sessions, 12 trades each: 24 contracts.
    for _ in 0..2 {
        let s = h.session("rolling", None).await;
        h.actions(s, &["announce", "open"]).await;
        for period in 1..=12 {
            let order = |side: &str| {
                json!({"side": side, "period": format!("h{period:02}"), "mwh": "1",
                "energy_price": "400.00", "env_price": "20.00"})
            };
            h.submit(s, &[(&seller, order("sell")), (&buyer, order("buy"))])
                .await;
        }
    }
    let (status, all, link) = get_page(&h, "/api/v1/contracts?limit=10000", &h.operator).await;
    assert_eq!(
        (status, all.as_array().unwrap().len(), link),
        (StatusCode::OK, 24, None)
    );

    // Pages of 10: 10, 10, 4, each naming the next until the last.
    let (pages, _) = all_pages(&h, "/api/v1/contracts?limit=10".to_owned(), &buyer).await;
    assert_eq!(pages, [10, 10, 4]);
    // The pages together are the whole list, in order.
    let (_, first, _) = get_page(&h, "/api/v1/contracts?limit=10", &buyer).await;
    let (_, second, _) = get_page(
        &h,
        &format!(
            "/api/v1/contracts?limit=10&after=S{}-C{}",
            first[9]["session"], first[9]["id"]
        ),
        &buyer,
    )
    .await;
    assert_eq!(first.as_array().unwrap()[..], all.as_array().unwrap()[..10]);
    assert_eq!(
        second.as_array().unwrap()[..],
        all.as_array().unwrap()[10..20]
    );

    // Refusals name the field.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("after=C3", "after"),
        ("after=S1-C", "after"),
    ] {
        let (status, body) = h
            .call(
                Method::GET,
                &format!("/api/v1/contracts?{query}"),
                Some(&buyer),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    h.finish().await;
}

on_both!(contracts_are_read_in_pages, contracts_in_pages);

/// Follows `Link` headers from `path`: each page's length, and every item in order.
async fn all_pages(h: &Harness, mut path: String, token: &str) -> (Vec<usize>, Vec<Value>) {
    let (mut lengths, mut items) = (Vec::new(), Vec::new());
    loop {
        let (status, page, link) = get_page(h, &path, token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        lengths.push(page.as_array().unwrap().len());
        items.extend(page.as_array().unwrap().iter().cloned());
        let Some(link) = link else { break };
        assert!(link.ends_with(">; rel=\"next\""), "{link}");
        path = link
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_owned();
    }
    (lengths, items)
}

async fn orders_in_pages(h: Harness) {
    let (_, seller) = h.participant("海上风电一号", "generator").await;
    let (_, other) = h.participant("陆上风电二号", "generator").await;
    let s = h.session("rolling", None).await;
    h.actions(s, &["announce", "open"]).await;
    // 7 orders of the seller between 5 of another, none crossing.
    let order = |period: u32| {
        json!({"side": "sell", "period": format!("h{period:02}"), "mwh": "1",
        "energy_price": "400.00", "env_price": "20.00"})
    };
    for period in 1..=12 {
        let by = if period % 2 == 0 && period <= 10 {
            &other
        } else {
            &seller
        };
        h.submit(s, &[(by, order(period))]).await;
    }
    let orders = format!("/api/v1/sessions/{s}/orders");
    let (status, all, link) = get_page(&h, &orders, &seller).await;
    assert_eq!(
        (status, all.as_array().unwrap().len(), link),
        (StatusCode::OK, 7, None),
        "without `limit`, every order at once"
    );
    // Pages of 3 of the seller's own: 3, 3, 1, together the whole list.
    let (lengths, items) = all_pages(&h, format!("{orders}?limit=3"), &seller).await;
    assert_eq!(lengths, [3, 3, 1]);
    assert_eq!(items[..], all.as_array().unwrap()[..]);
    // The operator's pages hold everyone's 12; a page ending at the last order names none.
    let (lengths, _) = all_pages(&h, format!("{orders}?limit=4"), &h.operator).await;
    assert_eq!(lengths, [4, 4, 4]);
    let (_, page, link) = get_page(&h, &format!("{orders}?after=1000000&limit=5"), &seller).await;
    assert_eq!((page, link), (json!([]), None));

    // Refusals name the field.
    for query in ["limit=0", "limit=10001", "after=x", "after=-1"] {
        let (status, body) = h
            .call(
                Method::GET,
                &format!("{orders}?{query}"),
                Some(&seller),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let field = query.split('=').next().unwrap();
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    h.finish().await;
}

on_both!(orders_are_read_in_pages, orders_in_pages);
