//! One JSON error body for every refusal (issue 9): path and query values that don't parse,
//! unknown routes and methods, bodies over their limit (413 naming it), a batch over the order
//! limit told about that limit, and an OpenAPI document that lists every 4xx a route can return
//! and gives the patterns of the strings requests carry.

use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::Harness;
use crate::on_both;

/// Sends a raw body; returns the status, the content type and the JSON body.
async fn raw(
    h: &Harness,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = h
        .app
        .clone()
        .oneshot(request.body(axum::body::Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, content_type, value)
}

async fn every_refusal_is_a_json_body(h: Harness) {
    let op = h.operator.clone();
    let s = h.session("rolling", None).await;
    h.actions(s, &["announce", "open"]).await;
    for (method, path, status, message) in [
        (
            Method::GET,
            "/api/v1/sessions/-1".to_owned(),
            StatusCode::BAD_REQUEST,
            "field `id`: `-1` is not a valid u64",
        ),
        (
            Method::GET,
            "/api/v1/sessions/abc/results".to_owned(),
            StatusCode::BAD_REQUEST,
            "field `id`: `abc` is not a valid u64",
        ),
        (
            Method::GET,
            format!("/api/v1/sessions/{s}/depth?period=h01&levels=-1"),
            StatusCode::BAD_REQUEST,
            "field `levels`: invalid digit found in string",
        ),
        (
            Method::GET,
            "/api/v1/no/such/route".to_owned(),
            StatusCode::NOT_FOUND,
            "no such route",
        ),
        (
            Method::PATCH,
            "/api/v1/sessions".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED,
            "this route does not take this method",
        ),
    ] {
        let (got, content_type, body) = raw(&h, method.clone(), &path, Some(&op), vec![]).await;
        assert_eq!(
            (got, content_type.as_str()),
            (status, "application/json"),
            "{method} {path}: {body}"
        );
        assert_eq!(body["message"], message, "{method} {path}");
        assert!(body["error"].is_string(), "{body}");
    }
    h.finish().await;
}
on_both!(refusals_are_json, every_refusal_is_a_json_body);

async fn bodies_over_their_limits(h: Harness) {
    let (_, user_token) = h.participant("U", "user").await;
    let s = h.session("call_auction", None).await;
    h.actions(s, &["announce", "open"]).await;
    let order = json!({"side": "buy", "period": "h12", "mwh": "1", "energy_price": "400.00", "env_price": "20.00"});

    // 50,001 orders (about 6 MB) are told about the 10,000-order limit, not the body limit.
    let batch = json!({"orders": vec![order.clone(); 50_001]})
        .to_string()
        .into_bytes();
    assert!(batch.len() > 2 << 20);
    let (status, _, body) = raw(
        &h,
        Method::POST,
        &format!("/api/v1/sessions/{s}/orders/batch"),
        Some(&user_token),
        batch,
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("field `orders`: must hold 1 to 10000 orders, not 50001")
        )
    );
    // A batch body beyond even its own limit (32 MiB) is a 413 naming both limits.
    let huge = vec![b' '; (32 << 20) + 1];
    let (status, _, body) = raw(
        &h,
        Method::POST,
        &format!("/api/v1/sessions/{s}/orders/batch"),
        Some(&user_token),
        huge,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str(), body["message"].as_str()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("payload_too_large"),
            Some(
                "the request body is larger than the limit of 33554432 bytes (a batch holds at most 10000 orders)"
            )
        )
    );
    // An ordinary route takes 2 MiB.
    let mut big = order.clone();
    big["padding"] = json!("x".repeat(3 << 20));
    let (status, _, body) = raw(
        &h,
        Method::POST,
        &format!("/api/v1/sessions/{s}/orders"),
        Some(&user_token),
        big.to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("the request body is larger than the limit of 2097152 bytes")
        )
    );
    // With an idempotency key too (the key's layer reads the body first).
    let request = Request::post(format!("/api/v1/sessions/{s}/orders"))
        .header("authorization", format!("Bearer {user_token}"))
        .header("idempotency-key", "big-1")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(big.to_string()))
        .unwrap();
    let response = h.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let orders = h
        .get(
            &format!("/api/v1/sessions/{s}/orders"),
            Some(&user_token),
            StatusCode::OK,
        )
        .await;
    assert_eq!(orders, json!([]));
    h.finish().await;
}
on_both!(bodies_over_limits, bodies_over_their_limits);

async fn openapi_lists_every_refusal(h: Harness) {
    let doc = h.get("/api/v1/openapi.json", None, StatusCode::OK).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let mut expected = vec!["400", "401", "429", "503"];
            if path.contains('{') {
                expected.push("404");
            }
            if operation.get("requestBody").is_some() {
                expected.push("413");
            }
            if method != "get" {
                expected.push("422");
                let parameters = operation["parameters"].as_array().unwrap();
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                    "{method} {path} does not document Idempotency-Key"
                );
            }
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    let pattern = |schema: &str, field: &str| {
        schemas[schema]["properties"][field]["pattern"]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(
        pattern("OrderRequest", "mwh").as_deref(),
        Some(api::openapi::MWH_PATTERN)
    );
    assert_eq!(
        pattern("OrderRequest", "energy_price").as_deref(),
        Some(api::openapi::YUAN_PATTERN)
    );
    assert_eq!(
        pattern("OrderRequest", "period").as_deref(),
        Some(api::openapi::PERIOD_PATTERN)
    );
    assert_eq!(
        pattern("NewSessionRequest", "first_month").as_deref(),
        Some(api::openapi::MONTH_PATTERN)
    );
    let month = doc["paths"]["/api/v1/meters/{month}"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "month")
        .unwrap()
        .clone();
    assert_eq!(month["schema"]["pattern"], api::openapi::MONTH_PATTERN);
    h.finish().await;
}
on_both!(openapi_refusals, openapi_lists_every_refusal);

/// Every word the OpenAPI document lists for a field is one its parser takes: a request with it
/// is never refused for that field (it may be for another).
async fn listed_words_are_accepted(h: Harness) {
    let (g, gen_token) = h.participant("G", "generator").await;
    let s = h.session("rolling", None).await;
    h.actions(s, &["announce", "open"]).await;
    let session = json!({"name": "S", "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
        "mode": "call_auction", "first_month": "2024-03", "last_month": "2024-03",
        "energy_price_min": "332.24", "energy_price_max": "498.36", "lot_mwh": "0.5", "compensation": "50.00"});
    let order = json!({"side": "sell", "period": "h01", "mwh": "1", "energy_price": "400.00", "env_price": "20.00"});
    let project = json!({"code": "33010000000000001", "technology": "hydro", "capacity_kw": 1000,
        "province": "ZJ", "owner": g, "meters": []});
    let mut checked = 0;
    let mut words: Vec<(&str, Vec<String>)> = api::openapi::VOCABULARY
        .iter()
        .map(|(field, words)| (*field, words.iter().map(|w| (*w).to_owned()).collect()))
        .collect();
    words.push((
        "role",
        domain::Role::ALL
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
    ));
    for (field, words) in words {
        for (n, word) in words.iter().enumerate() {
            let (path, token, mut body) = match field {
                "side" | "time_in_force" => (
                    format!("/api/v1/sessions/{s}/orders"),
                    gen_token.clone(),
                    order.clone(),
                ),
                "technology" => (
                    "/api/v1/projects".to_owned(),
                    h.operator.clone(),
                    project.clone(),
                ),
                "role" => (
                    "/api/v1/participants".to_owned(),
                    h.operator.clone(),
                    json!({"name": format!("P{n}"), "province": "ZJ"}),
                ),
                "format" => {
                    let (status, body) = h
                        .call(
                            Method::GET,
                            &format!("/api/v1/consumption-certificates/2024-03?format={word}"),
                            Some(&gen_token),
                            None,
                        )
                        .await;
                    let refused = format!("field `format`: `{word}` is not");
                    assert!(
                        !(status == StatusCode::BAD_REQUEST
                            && body["message"]
                                .as_str()
                                .is_some_and(|m| m.starts_with(&refused))),
                        "{body}"
                    );
                    checked += 1;
                    continue;
                }
                _ => (
                    "/api/v1/sessions".to_owned(),
                    h.operator.clone(),
                    session.clone(),
                ),
            };
            body[field] = json!(word);
            let (status, reply) = h.call(Method::POST, &path, Some(&token), Some(body)).await;
            let refused = format!("field `{field}`: `{word}` is not");
            assert!(
                !(status == StatusCode::BAD_REQUEST
                    && reply["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with(&refused))),
                "{field} = {word}: {reply}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 38);
    // And a word that is not listed is refused by that field's parser, naming it.
    let mut bad = order.clone();
    bad["side"] = json!("bid");
    let (status, reply) = h
        .call(
            Method::POST,
            &format!("/api/v1/sessions/{s}/orders"),
            Some(&gen_token),
            Some(bad),
        )
        .await;
    assert_eq!(
        (status, reply["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("field `side`: `bid` is not \"buy\" or \"sell\"")
        )
    );
    h.finish().await;
}
on_both!(listed_words, listed_words_are_accepted);

/// A session delivers within the market's years, as meter data and certificates do.
async fn delivery_outside_the_market_years(h: Harness) {
    for (first, last, message) in [
        (
            "1999-12",
            "1999-12",
            "invalid session settings: delivery: first month 1999-12 is outside the market's years 2000–2099",
        ),
        (
            "2099-12",
            "2100-01",
            "invalid session settings: delivery: last month 2100-01 is outside the market's years 2000–2099",
        ),
    ] {
        let (status, body) = h
            .call(
                Method::POST,
                "/api/v1/sessions",
                Some(&h.operator),
                Some(json!({
                "name": "S", "scope": "intra", "provinces": ["ZJ"], "horizon": "year",
                "mode": "call_auction", "first_month": first, "last_month": last,
                "energy_price_min": "332.24", "energy_price_max": "498.36", "lot_mwh": "0.5",
                "compensation": "50.00"})),
            )
            .await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::BAD_REQUEST, Some(message)),
            "{body}"
        );
    }
    assert_eq!(
        h.get("/api/v1/sessions", Some(&h.operator), StatusCode::OK)
            .await,
        json!([])
    );
    h.finish().await;
}
on_both!(delivery_in_market_years, delivery_outside_the_market_years);
