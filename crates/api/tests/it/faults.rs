//! Faults and retries (issue 9): a panic inside one session never reaches another, a session
//! whose journal no longer replays is left out at start, and an `Idempotency-Key` makes exactly
//! one effect — per participant, route and path — however often and however concurrently it is
//! sent; a key reused for another request is refused with 422.

use axum::Router;
use axum::http::{Method, Request, StatusCode};
use domain::{Kwh, Participant, ParticipantId, Period, Price, Province, Role, SessionId, Side};
use domain::{TimeInForce, TwoPartPrice};
use exchange::session::Command;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::Harness;
use crate::on_both;

/// One request: `body` is JSON unless `content_type` says otherwise.
async fn send(
    app: Router,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = app
        .oneshot(request.body(axum::body::Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

/// Sends the same POST `n` times at once with one key; asserts that every reply is the same and
/// has `status`, and returns it.
async fn sixteen_at_once(
    h: &Harness,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
    key: &str,
    status: StatusCode,
) -> Value {
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (app, path, token, ct, body, key) = (
            h.app.clone(),
            path.to_owned(),
            token.to_owned(),
            content_type.to_owned(),
            body.clone(),
            key.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            send(app, Method::POST, &path, &token, &ct, body, Some(&key)).await
        }));
    }
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    let first = replies[0].clone();
    assert_eq!(first.0, status, "POST {path}: {}", first.1);
    for reply in &replies {
        assert_eq!(reply, &first, "POST {path}: the 16 replies differ");
    }
    first.1
}

/// [`sixteen_at_once`] with a JSON body.
async fn sixteen_json(
    h: &Harness,
    path: &str,
    token: &str,
    body: Value,
    key: &str,
    status: StatusCode,
) -> Value {
    let bytes = body.to_string().into_bytes();
    sixteen_at_once(h, path, token, "application/json", bytes, key, status).await
}

/// The length of a JSON array the GET returns (at `field` if given).
async fn count(h: &Harness, path: &str, token: &str, field: Option<&str>) -> usize {
    let body = h.get(path, Some(token), StatusCode::OK).await;
    let list = match field {
        Some(f) => &body[f],
        None => &body,
    };
    list.as_array()
        .unwrap_or_else(|| panic!("GET {path}: {body}"))
        .len()
}

async fn every_post_route_is_exactly_once(h: Harness) {
    let op = h.operator.clone();
    // Participants and their tokens.
    let before = count(&h, "/api/v1/participants", &op, None).await;
    let made = sixteen_json(
        &h,
        "/api/v1/participants",
        &op,
        json!({"name": "海上风电一号", "role": "generator", "province": "ZJ"}),
        "p-1",
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        count(&h, "/api/v1/participants", &op, None).await,
        before + 1
    );
    let (g, gen_token) = (
        made["participant"]["id"].as_u64().unwrap(),
        made["token"].as_str().unwrap().to_owned(),
    );
    let (u, user_token) = h.participant("杭州某制造企业", "user").await;
    let (u2, _) = h.participant("U2", "user").await;
    let (_, grid) = h.participant("国网浙江", "grid").await;
    let token = sixteen_json(
        &h,
        &format!("/api/v1/participants/{u}/tokens"),
        &op,
        json!({}),
        "t-1",
        StatusCode::CREATED,
    )
    .await;
    let second_token = token["token"].as_str().unwrap();
    h.get(
        "/api/v1/participants/me",
        Some(second_token),
        StatusCode::OK,
    )
    .await;

    // Projects.
    sixteen_json(
        &h,
        "/api/v1/projects",
        &op,
        json!({"code": "33010000000000001", "technology": "wind_offshore", "capacity_kw": 300000,
               "province": "ZJ", "owner": g, "meters": ["MG1"]}),
        "pr-1",
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(count(&h, "/api/v1/projects", &op, None).await, 1);

    // Sessions and their actions.
    let sessions_before = count(&h, "/api/v1/sessions", &op, None).await;
    let created = sixteen_json(&h, "/api/v1/sessions", &op, json!({
        "name": "2024年3月绿电集中竞价", "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
        "mode": "call_auction", "first_month": "2024-03", "last_month": "2024-03",
        "energy_price_min": "332.24", "energy_price_max": "498.36", "lot_mwh": "0.5", "compensation": "50.00"}),
        "s-1", StatusCode::CREATED).await;
    assert_eq!(
        count(&h, "/api/v1/sessions", &op, None).await,
        sessions_before + 1
    );
    let s = created["id"].as_u64().unwrap();
    for action in ["announce", "open"] {
        let done = sixteen_json(
            &h,
            &format!("/api/v1/sessions/{s}/{action}"),
            &op,
            json!(null),
            action,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            done["state"],
            if action == "open" {
                "open"
            } else {
                "announced"
            }
        );
    }

    // Orders, one by one and in a batch.
    let orders = format!("/api/v1/sessions/{s}/orders");
    sixteen_json(&h, &orders, &gen_token,
        json!({"side": "sell", "period": "h12", "mwh": "6.5", "energy_price": "350.00", "env_price": "30.00"}),
        "o-1", StatusCode::CREATED).await;
    let batch = sixteen_json(&h, &format!("{orders}/batch"), &user_token,
        json!({"orders": [{"side": "buy", "period": "h12", "mwh": "10", "energy_price": "400.50", "env_price": "20.00"}]}),
        "b-1", StatusCode::OK).await;
    assert_eq!(batch["accepted"], 1);
    assert_eq!(count(&h, &orders, &gen_token, None).await, 1);
    assert_eq!(count(&h, &orders, &user_token, None).await, 1);
    for action in ["close", "clear", "publish"] {
        sixteen_json(
            &h,
            &format!("/api/v1/sessions/{s}/{action}"),
            &op,
            json!(null),
            action,
            StatusCode::OK,
        )
        .await;
    }
    assert_eq!(count(&h, "/api/v1/contracts", &user_token, None).await, 1);

    // A listing and its take.
    let l = h.session("listing", None).await;
    h.actions(l, &["announce", "open"]).await;
    let listing = sixteen_json(&h, &format!("/api/v1/sessions/{l}/listings"), &gen_token,
        json!({"side": "sell", "volumes": [{"period": "h10", "mwh": "3"}], "energy_price": "400.00", "env_price": "25.00"}),
        "l-1", StatusCode::CREATED).await["created"].as_u64().unwrap();
    assert_eq!(
        count(
            &h,
            &format!("/api/v1/sessions/{l}/listings"),
            &user_token,
            None
        )
        .await,
        1
    );
    sixteen_json(
        &h,
        &format!("/api/v1/sessions/{l}/listings/{listing}/take"),
        &user_token,
        json!({"volumes": [{"period": "h10", "mwh": "2"}]}),
        "take-1",
        StatusCode::CREATED,
    )
    .await;
    let left = h
        .get(
            &format!("/api/v1/sessions/{l}/listings"),
            Some(&user_token),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        left[0]["remaining"],
        json!([{"period": "h10", "mwh": "1.000"}])
    );

    // A proposal and its confirmation.
    let b = h.session("bilateral", None).await;
    h.actions(b, &["announce", "open"]).await;
    let proposal = sixteen_json(&h, &format!("/api/v1/sessions/{b}/proposals"), &gen_token,
        json!({"counterparty": u, "volumes": [{"period": "h01", "mwh": "1"}], "energy_price": "410.00",
               "env_price": "30.00", "compensation": "60.00"}), "pp-1", StatusCode::CREATED).await["created"].as_u64().unwrap();
    assert_eq!(
        count(
            &h,
            &format!("/api/v1/sessions/{b}/proposals"),
            &gen_token,
            None
        )
        .await,
        1
    );
    sixteen_json(
        &h,
        &format!("/api/v1/sessions/{b}/proposals/{proposal}/confirm"),
        &user_token,
        json!(null),
        "c-1",
        StatusCode::CREATED,
    )
    .await;
    // One contract from the auction, one take, one confirmation.
    assert_eq!(count(&h, "/api/v1/contracts", &user_token, None).await, 3);

    // Meter data, issuance, transfers, claims, certificate listings and purchases, settlements.
    let upload = sixteen_at_once(
        &h,
        "/api/v1/meters/2024-03",
        &grid,
        "text/csv",
        crate::certificates::meter_csv(g, u, 3, 2).into_bytes(),
        "m-1",
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(upload["corrections"], 0);
    let issued = sixteen_json(
        &h,
        "/api/v1/certificates/issue",
        &op,
        json!({"month": "2024-03"}),
        "i-1",
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(issued["issued"][0]["certificates"], 8);
    let listed = sixteen_json(&h, "/api/v1/certificates/listings", &gen_token,
        json!({"project": "33010000000000001", "month": "2024-03", "count": 2, "price_yuan": "5.00"}), "cl-1", StatusCode::CREATED).await;
    assert_eq!(
        count(&h, "/api/v1/certificates/listings", &user_token, None).await,
        1
    );
    let id = listed["id"].as_u64().unwrap();
    sixteen_json(
        &h,
        &format!("/api/v1/certificates/listings/{id}/buy"),
        &user_token,
        json!({"count": 1}),
        "buy-1",
        StatusCode::CREATED,
    )
    .await;
    sixteen_json(&h, "/api/v1/certificates/transfer", &gen_token,
        json!({"to": u2, "project": "33010000000000001", "month": "2024-03", "count": 1, "price_yuan": "5.00"}), "tr-1", StatusCode::CREATED).await;
    sixteen_json(&h, "/api/v1/certificates/claim", &user_token,
        json!({"project": "33010000000000001", "month": "2024-03", "count": 1, "beneficiary": "杭州某制造企业"}), "cm-1", StatusCode::CREATED).await;
    sixteen_json(
        &h,
        "/api/v1/settlements",
        &op,
        json!({"month": "2024-03"}),
        "d-1",
        StatusCode::OK,
    )
    .await;
    let settled = sixteen_json(
        &h,
        "/api/v1/settlements",
        &op,
        json!({"month": "2024-03", "final": true}),
        "f-1",
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(settled["transfers"][0]["certificates"], 5, "{settled}");
    // Issue, list, buy, transfer, claim, the final run's transfer: once each.
    let rows = h.store.ledger().await.unwrap();
    assert_eq!(rows.len(), 6);
    // 8 issued: 1 bought and claimed by U, 1 transferred to U2, 5 moved to U on settlement, and
    // 1 of the listing left listed.
    let mine = h
        .get("/api/v1/certificates", Some(&user_token), StatusCode::OK)
        .await;
    let held: u64 = mine["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["certificates"].as_u64().unwrap())
        .sum();
    assert_eq!(held, 6, "{mine}");
    // March 2024's certificates are valid through February 2026: all but the claimed one lapse.
    let expired = sixteen_json(
        &h,
        "/api/v1/certificates/expire",
        &op,
        json!({"month": "2026-03"}),
        "e-1",
        StatusCode::OK,
    )
    .await;
    assert_eq!(expired, json!({"month": "2026-03", "cancelled": 7}));
    assert_eq!(h.store.ledger().await.unwrap().len(), 7);
    h.finish().await;
}
on_both!(every_post_route_once, every_post_route_is_exactly_once);

async fn key_reused_for_another_request(h: Harness) {
    let (_, gen_token) = h.participant("G", "generator").await;
    let s = h.session("call_auction", None).await;
    h.actions(s, &["announce", "open"]).await;
    let path = format!("/api/v1/sessions/{s}/orders");
    let order = |mwh: &str| json!({"side": "sell", "period": "h12", "mwh": mwh, "energy_price": "350.00", "env_price": "30.00"});
    let (status, first) = h
        .call_with(
            Method::POST,
            &path,
            Some(&gen_token),
            Some(order("6.5")),
            Some("k-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = h
        .call_with(
            Method::POST,
            &path,
            Some(&gen_token),
            Some(order("6.5")),
            Some("k-1"),
        )
        .await;
    assert_eq!((status, &again), (StatusCode::CREATED, &first));
    let (status, refused) = h
        .call_with(
            Method::POST,
            &path,
            Some(&gen_token),
            Some(order("7")),
            Some("k-1"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused,
        json!({"error": "idempotency_key_reused", "message": format!(
            "field `Idempotency-Key`: key \"k-1\" was first used for a different request to POST {path}; send a new key for a new request")})
    );
    assert_eq!(count(&h, &path, &gen_token, None).await, 1);

    // The same on an unsequenced route.
    let op = h.operator.clone();
    let body = |name: &str| Some(json!({"name": name, "role": "user", "province": "ZJ"}));
    let (status, _) = h
        .call_with(
            Method::POST,
            "/api/v1/participants",
            Some(&op),
            body("U1"),
            Some("p"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, refused) = h
        .call_with(
            Method::POST,
            "/api/v1/participants",
            Some(&op),
            body("U2"),
            Some("p"),
        )
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("idempotency_key_reused")
        )
    );
    let names: Vec<String> = h
        .get("/api/v1/participants", Some(&op), StatusCode::OK)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        names.contains(&"U1".to_owned()) && !names.contains(&"U2".to_owned()),
        "{names:?}"
    );

    // A read with a key is a read: never answered from a remembered reply.
    for expected in [1, 2] {
        let (status, orders) = h
            .call_with(Method::GET, &path, Some(&gen_token), None, Some("read-1"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(orders.as_array().unwrap().len(), expected, "{orders}");
        if expected == 1 {
            h.post(&path, &gen_token, order("2"), StatusCode::CREATED)
                .await;
        }
    }

    // A malformed key is a 400 naming the header.
    let (status, body) = h
        .call_with(
            Method::POST,
            &path,
            Some(&gen_token),
            Some(order("1")),
            Some("é"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"],
        "field `Idempotency-Key`: must be 1 to 200 visible ASCII characters"
    );
    h.finish().await;
}
on_both!(key_reused_is_422, key_reused_for_another_request);

async fn one_key_on_two_routes(h: Harness) {
    let op = h.operator.clone();
    let (status, participant) = h
        .call_with(
            Method::POST,
            "/api/v1/participants",
            Some(&op),
            Some(json!({"name": "G", "role": "generator", "province": "ZJ"})),
            Some("same"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, session) = h.call_with(Method::POST, "/api/v1/sessions", Some(&op), Some(json!({
        "name": "S1", "scope": "intra", "provinces": ["ZJ"], "horizon": "month", "mode": "call_auction",
        "first_month": "2024-03", "last_month": "2024-03", "energy_price_min": "332.24",
        "energy_price_max": "498.36", "lot_mwh": "0.5", "compensation": "50.00"})), Some("same")).await;
    // A session, not the participant's reply (which holds its token).
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["name"], "S1");
    assert!(session.get("token").is_none());
    let gen_token = participant["token"].as_str().unwrap().to_owned();

    // One key to the orders of two sessions: two orders.
    let s1 = session["id"].as_u64().unwrap();
    let s2 = h.session("call_auction", None).await;
    for s in [s1, s2] {
        h.actions(s, &["announce", "open"]).await;
        let (status, body) = h.call_with(Method::POST, &format!("/api/v1/sessions/{s}/orders"), Some(&gen_token),
            Some(json!({"side": "sell", "period": "h12", "mwh": "1", "energy_price": "350.00", "env_price": "30.00"})),
            Some("same")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            count(
                &h,
                &format!("/api/v1/sessions/{s}/orders"),
                &gen_token,
                None
            )
            .await,
            1
        );
    }
    h.finish().await;
}
on_both!(one_key_two_routes, one_key_on_two_routes);

/// A sell order of `mwh` MWh for hour 12 by `by`, as the engine takes it.
/// The generator a test registered as `name`, with the id the store gave it.
fn generator(id: u64, name: &str) -> Participant {
    Participant {
        id: ParticipantId(id),
        name: name.into(),
        role: Role::Generator,
        province: Province::parse("ZJ").unwrap(),
    }
}

fn sell(by: &Participant, mwh: i64) -> Command {
    Command::SubmitOrder {
        by: by.clone(),
        side: Side::Sell,
        period: Period(11),
        volume: Kwh(mwh * 1000),
        price: TwoPartPrice {
            energy: Price(35_000),
            environment: Price(3_000),
        },
        time_in_force: TimeInForce::Limit,
    }
}

async fn panic_in_one_session(h: Harness) {
    let (g, gen_token) = h.participant("G", "generator").await;
    let a = h.session("call_auction", None).await;
    let b = h.session("call_auction", None).await;
    for s in [a, b] {
        h.actions(s, &["announce", "open"]).await;
    }
    let order = json!({"side": "sell", "period": "h12", "mwh": "1", "energy_price": "350.00", "env_price": "30.00"});
    h.post(
        &format!("/api/v1/sessions/{a}/orders"),
        &gen_token,
        order.clone(),
        StatusCode::CREATED,
    )
    .await;

    // A job whose rendering panics inside A's sequencer, after its command was applied.
    let by = generator(g, "G");
    let handle = h.state.hub.session(SessionId(a)).unwrap();
    let failed = handle
        .submit(
            vec![sell(&by, 2)],
            None,
            Box::new(|_, _| panic!("injected by the test")),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (failed.status, failed.code.as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
    );
    assert!(
        failed.message.contains("injected by the test"),
        "{}",
        failed.message
    );

    // Every public route that reads all sessions still answers, and B trades on.
    h.get("/api/v1/sessions", None, StatusCode::OK).await;
    h.get("/api/v1/contracts", Some(&gen_token), StatusCode::OK)
        .await;
    h.get("/api/v1/statistics/2024", None, StatusCode::OK).await;
    h.post(
        &format!("/api/v1/sessions/{b}/orders"),
        &gen_token,
        order.clone(),
        StatusCode::CREATED,
    )
    .await;
    h.actions(b, &["close", "clear", "publish"]).await;
    // A reads as it was committed (the injected order is not there) and refuses commands.
    let view = h
        .get(
            &format!("/api/v1/sessions/{a}"),
            Some(&h.operator),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        (view["state"].as_str(), view["suspended"].as_bool()),
        (Some("open"), Some(true))
    );
    let mine = h
        .get(
            &format!("/api/v1/sessions/{a}/orders"),
            Some(&gen_token),
            StatusCode::OK,
        )
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let (_, metrics) = h.call(Method::GET, "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("lvdian_session_panics_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lvdian_sessions{state=\"suspended\"} 1\n"),
        "{metrics}"
    );
    let (status, body) = h
        .call(
            Method::POST,
            &format!("/api/v1/sessions/{a}/orders"),
            Some(&gen_token),
            Some(order.clone()),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("session_failed"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("injected by the test"),
        "{body}"
    );

    // After a restart every route serves again, A included.
    let h = h.restart().await;
    h.post(
        &format!("/api/v1/sessions/{a}/orders"),
        &gen_token,
        order,
        StatusCode::CREATED,
    )
    .await;
    h.actions(a, &["close", "clear", "publish"]).await;
    h.get("/api/v1/sessions", None, StatusCode::OK).await;
    h.get("/api/v1/statistics/2024", None, StatusCode::OK).await;
    h.finish().await;
}
on_both!(panic_isolated_to_its_session, panic_in_one_session);

/// The sequencer applies the next group while the last one commits. When that commit fails,
/// the next group is never written: both groups' jobs are told 503, and the session is rebuilt
/// from the store, which holds neither.
async fn failed_commit_with_the_next_group_applied(h: Harness) {
    let (g, gen_token) = h.participant("G", "generator").await;
    let a = h.session("call_auction", None).await;
    h.actions(a, &["announce", "open"]).await;
    let by = generator(g, "G");
    let handle = h.state.hub.session(SessionId(a)).unwrap();
    let last = handle.read(|s| s.last_seq()).unwrap();

    // Another writer takes the next sequence number first and holds its transaction open, so
    // the first group's commit waits for it and then conflicts.
    let mut side = h.side_connection().await;
    side.begin_write().await;
    let foreign = serde_json::to_string(&sell(&by, 7))
        .unwrap()
        .replace('\'', "''");
    side.execute(&format!(
        "INSERT INTO journal (session_id, seq, at_ms, command) VALUES ({a}, {}, 0, '{foreign}')",
        last + 1
    ))
    .await;

    let submit = |mwh| {
        let handle = std::sync::Arc::clone(&handle);
        let command = sell(&by, mwh);
        tokio::spawn(async move {
            handle
                .submit(
                    vec![command],
                    None,
                    Box::new(|_, _| api::hub::Reply {
                        status: 201,
                        body: "{}".into(),
                    }),
                )
                .await
        })
    };
    let first = submit(1);
    let applied = |n: u64| {
        let handle = std::sync::Arc::clone(&handle);
        async move {
            for _ in 0..500 {
                if handle.read(|s| s.last_seq()) == Some(last + n) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("the engine never applied {n} more command(s)");
        }
    };
    applied(1).await;
    // The first group is committing (and waiting); the second is applied behind it.
    let second = submit(2);
    applied(2).await;
    side.execute("COMMIT").await;

    let first = first.await.unwrap().unwrap_err();
    let second = second.await.unwrap().unwrap_err();
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE, "{first:?}");
    assert!(first.message.contains("not recorded"), "{}", first.message);
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE, "{second:?}");
    assert!(
        second.message.contains("committed just before this one"),
        "{}",
        second.message
    );

    // Rebuilt from the store: the other writer's order, and neither of the two groups.
    let volumes = handle.read(|s| {
        (
            s.last_seq(),
            s.orders().iter().map(|o| o.volume.0).collect::<Vec<_>>(),
        )
    });
    assert_eq!(volumes, (Some(last + 1), vec![7_000]));
    let journal = h.store.journal(SessionId(a)).await.unwrap();
    assert_eq!(journal.last().map(|e| e.seq), Some(last + 1));
    // And the session goes on.
    h.post(
        &format!("/api/v1/sessions/{a}/orders"),
        &gen_token,
        json!({"side": "sell", "period": "h12", "mwh": "3", "energy_price": "350.00", "env_price": "30.00"}),
        StatusCode::CREATED,
    )
    .await;
    let journal = h.store.journal(SessionId(a)).await.unwrap();
    assert_eq!(journal.last().map(|e| e.seq), Some(last + 2));
    h.finish().await;
}
on_both!(
    failed_commit_drops_the_next_group,
    failed_commit_with_the_next_group_applied
);

async fn journal_that_no_longer_replays(h: Harness) {
    let (g, gen_token) = h.participant("G", "generator").await;
    let a = h.session("call_auction", None).await;
    let b = h.session("call_auction", None).await;
    for s in [a, b] {
        h.actions(s, &["announce", "open"]).await;
    }
    // Append to A's journal an order by a participant the engine cannot accept: a user selling.
    let by = Participant {
        id: ParticipantId(g + 100),
        name: "U".into(),
        role: Role::User,
        province: Province::parse("ZJ").unwrap(),
    };
    h.store
        .append(&store::Batch {
            session: SessionId(a),
            entries: vec![store::JournalEntry {
                seq: 3,
                at_ms: 0,
                command: sell(&by, 1),
            }],
            state: None,
            orders: vec![],
            contracts: vec![],
            responses: vec![],
        })
        .await
        .unwrap();
    let h = h.restart().await;
    let (status, body) = h
        .call(
            Method::GET,
            &format!("/api/v1/sessions/{a}"),
            Some(&h.operator),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("session_failed"))
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("journal entry 3 no longer applies"),
        "{body}"
    );
    let listed = h.get("/api/v1/sessions", None, StatusCode::OK).await;
    let ids: Vec<u64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![b]);
    let (_, metrics) = h.call(Method::GET, "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("lvdian_sessions{state=\"unloadable\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lvdian_sessions{state=\"open\"} 1\n"),
        "{metrics}"
    );
    h.post(&format!("/api/v1/sessions/{b}/orders"), &gen_token,
        json!({"side": "sell", "period": "h12", "mwh": "1", "energy_price": "350.00", "env_price": "30.00"}), StatusCode::CREATED).await;
    h.finish().await;
}
on_both!(
    unreplayable_session_left_out,
    journal_that_no_longer_replays
);

async fn failed_sign_ins_are_limited(h: Harness) {
    use axum::extract::connect_info::MockConnectInfo;
    let from = |ip: [u8; 4]| {
        api::router(h.state.clone())
            .layer(MockConnectInfo(std::net::SocketAddr::from((ip, 40_000))))
    };
    let scanner = from([192, 0, 2, 7]);
    let get = |app: Router, token: &'static str| async move {
        let response = app
            .oneshot(
                Request::get("/api/v1/participants/me")
                    .header("authorization", format!("Bearer {token}"))
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        (status, retry_after, body)
    };
    for _ in 0..api::auth::SIGN_IN_BURST {
        let (status, retry_after, _) = get(scanner.clone(), "lvd_wrong").await;
        assert_eq!((status, retry_after), (StatusCode::UNAUTHORIZED, None));
    }
    // The allowance comes back at a few a second, so a quick scanner is soon refused.
    let mut refused = None;
    for _ in 0..api::auth::SIGN_IN_BURST {
        let reply = get(scanner.clone(), "lvd_wrong").await;
        if reply.0 != StatusCode::UNAUTHORIZED {
            refused = Some(reply);
            break;
        }
    }
    let (status, retry_after, body) = refused.expect("no 429 within twice the burst");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(body["error"], "too_many_requests");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("too many failed sign-ins from 192.0.2.7"),
        "{body}"
    );
    // Another address is not held back, nor is a valid token from the same one.
    let (status, _, _) = get(from([192, 0, 2, 8]), "lvd_wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let operator: &'static str = Box::leak(h.operator.clone().into_boxed_str());
    let (status, _, me) = get(scanner, operator).await;
    assert_eq!(
        (status, me["role"].as_str()),
        (StatusCode::OK, Some("operator"))
    );
    h.finish().await;
}
on_both!(failed_sign_ins_limited, failed_sign_ins_are_limited);

/// Whether a keyed POST's reply was stored in the transaction of its effect (the response is
/// marked so), rather than by the idempotency layer afterwards.
async fn stored_with_its_effect(
    h: &Harness,
    path: &str,
    token: &str,
    body: Value,
    key: &str,
) -> bool {
    let bytes = body.to_string().into_bytes();
    stored_with(h, path, token, "application/json", bytes, key).await
}

/// [`stored_with_its_effect`] for any body.
async fn stored_with(
    h: &Harness,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
    key: &str,
) -> bool {
    let request = Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .header("idempotency-key", key)
        .body(axum::body::Body::from(body))
        .unwrap();
    let response = h.app.clone().oneshot(request).await.unwrap();
    assert!(
        response.status().is_success(),
        "POST {path}: {}",
        response.status()
    );
    response
        .extensions()
        .get::<api::idempotency::Remembered>()
        .is_some()
}

async fn replies_commit_with_their_effects(h: Harness) {
    let (g, gen_token) = h.participant("G", "generator").await;
    let (u, user_token) = h.participant("U", "user").await;
    let (_, grid) = h.participant("grid", "grid").await;
    h.wind_project(g).await;
    let s = h.session("call_auction", None).await;
    h.actions(s, &["announce", "open"]).await;
    // An order: written with the session's journal entry.
    assert!(stored_with_its_effect(&h, &format!("/api/v1/sessions/{s}/orders"), &gen_token,
        json!({"side": "sell", "period": "h12", "mwh": "1", "energy_price": "350.00", "env_price": "30.00"}), "o").await);
    // Meter data, and certificates: written with their rows and ledger entries.
    let csv = crate::certificates::meter_csv(g, u, 3, 2).into_bytes();
    assert!(stored_with(&h, "/api/v1/meters/2024-03", &grid, "text/csv", csv, "m").await);
    let op = h.operator.clone();
    assert!(
        stored_with_its_effect(
            &h,
            "/api/v1/certificates/issue",
            &op,
            json!({"month": "2024-03"}),
            "i"
        )
        .await
    );
    assert!(stored_with_its_effect(&h, "/api/v1/certificates/transfer", &gen_token,
        json!({"to": u, "project": "33010000000000001", "month": "2024-03", "count": 1, "price_yuan": "5.00"}), "t").await);
    assert!(stored_with_its_effect(&h, "/api/v1/certificates/claim", &user_token,
        json!({"project": "33010000000000001", "month": "2024-03", "count": 1, "beneficiary": "U"}), "c").await);
    // A participant (with its first token) and a session: written with their rows.
    assert!(
        stored_with_its_effect(
            &h,
            "/api/v1/participants",
            &op,
            json!({"name": "U2", "role": "user", "province": "ZJ"}),
            "p"
        )
        .await
    );
    assert!(
        stored_with_its_effect(
            &h,
            "/api/v1/sessions",
            &op,
            json!({"name": "S2", "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
                   "mode": "call_auction", "first_month": "2024-03", "last_month": "2024-03",
                   "energy_price_min": "332.24", "energy_price_max": "498.36", "lot_mwh": "0.5",
                   "compensation": "50.00"}),
            "s"
        )
        .await
    );
    // A project and a token: written with their rows.
    assert!(
        stored_with_its_effect(
            &h,
            "/api/v1/projects",
            &op,
            json!({"code": "33010000000000002", "technology": "pv_central", "capacity_kw": 1000,
                   "province": "ZJ", "owner": g, "meters": ["MG2"]}),
            "pr"
        )
        .await
    );
    assert!(
        stored_with_its_effect(
            &h,
            &format!("/api/v1/participants/{u}/tokens"),
            &op,
            json!({}),
            "tk"
        )
        .await
    );
    // A final settlement: its record, certificate moves and reply in one transaction.
    assert!(
        stored_with_its_effect(
            &h,
            "/api/v1/settlements",
            &op,
            json!({"month": "2024-03", "final": true}),
            "f"
        )
        .await
    );
    // A draft settlement has no effect: the layer remembers its reply.
    assert!(
        !stored_with_its_effect(
            &h,
            "/api/v1/settlements",
            &op,
            json!({"month": "2024-03"}),
            "d"
        )
        .await
    );
    h.finish().await;
}
on_both!(
    replies_commit_with_effects,
    replies_commit_with_their_effects
);

/// A clock that steps back a second at every reading.
struct Backwards(std::sync::atomic::AtomicI64);

impl api::hub::Clock for Backwards {
    fn now_ms(&self) -> i64 {
        self.0
            .fetch_sub(1_000, std::sync::atomic::Ordering::Relaxed)
    }
}

/// Regression: certificate changes read the time under the registry's lock and never stamp a
/// command before the last entry. A time read before the lock could be older than an entry a
/// concurrent request appended meanwhile, and the registry refused it (409 `clock_went_back`,
/// seen once in the certificate crash test under the system clock).
async fn certificate_changes_stamp_in_order(h: Harness) {
    let clock = std::sync::Arc::new(Backwards(std::sync::atomic::AtomicI64::new(1_000_000)));
    let certificates = api::certificates::Certificates::load(h.store.clone(), clock)
        .await
        .unwrap();
    let month = registry::YearMonth::parse("2024-03").unwrap();
    for (code, owner) in [("33010000000000001", 7), ("33010000000000002", 8)] {
        let project = domain::ProjectCode::parse(code).unwrap();
        let count = certificates
            .change(|r, now| {
                let entry = r.issue(project, ParticipantId(owner), month, Kwh(5_500), now)?;
                Ok(entry.ranges().iter().map(|x| x.count()).sum::<u32>())
            })
            .await
            .unwrap();
        assert_eq!(count, 5);
    }
    let rows = h.store.ledger().await.unwrap();
    let stamps: Vec<i64> = rows.iter().map(|r| r.at_ms).collect();
    assert_eq!(stamps, vec![1_000_000, 1_000_000]);
    h.finish().await;
}
on_both!(
    certificate_stamps_in_order,
    certificate_changes_stamp_in_order
);
