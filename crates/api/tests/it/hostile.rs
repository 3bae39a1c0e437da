//! Hostile input (issue 9): text fields with NUL, control, invisible and direction-changing
//! characters or a megabyte of text are refused with a 400 naming the field and the limit, the
//! same on both backends, and nothing is stored; meter uploads name only registered
//! participants and their meters, never move a meter to another owner, and refuse empty files
//! and months outside the market.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::certificates::upload_month;
use crate::harness::Harness;
use crate::on_both;

/// A 1 MiB name.
fn huge() -> String {
    "x".repeat(1 << 20)
}

/// Each hostile value with the reason it is refused for, for a field of names.
fn hostile_names() -> Vec<(String, &'static str)> {
    vec![
        (
            "G\u{0}1".to_owned(),
            "contains the control character U+0000 at position 2",
        ),
        (
            "G1\u{1b}[31m".to_owned(),
            "contains the control character U+001B at position 3",
        ),
        (
            "G\n1".to_owned(),
            "contains the control character U+000A at position 2",
        ),
        (huge(), "1048576 characters is more than the limit of 100"),
        (
            "浙江\u{200B}电力".to_owned(),
            "contains the invisible or direction-changing character U+200B at position 3",
        ),
        (
            "\u{202E}1G".to_owned(),
            "contains the invisible or direction-changing character U+202E at position 1",
        ),
        (
            "G\u{2066}1\u{2069}".to_owned(),
            "contains the invisible or direction-changing character U+2066 at position 2",
        ),
        (" G1".to_owned(), "begins or ends with white space"),
        (String::new(), "is empty"),
    ]
}

/// Expects a 400 `bad_request` with exactly `message`.
fn refused(status: StatusCode, body: &Value, message: &str) {
    assert_eq!(
        (status, body["error"].as_str(), body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"), Some(message)),
    );
}

async fn participant_names(h: Harness) {
    for (name, reason) in hostile_names() {
        let (status, body) = h
            .call(
                Method::POST,
                "/api/v1/participants",
                Some(&h.operator),
                Some(json!({"name": name, "role": "generator", "province": "ZJ"})),
            )
            .await;
        refused(status, &body, &format!("field `name`: {reason}"));
    }
    // Nothing was stored: the operator is still the only participant.
    let all = h
        .get("/api/v1/participants", Some(&h.operator), StatusCode::OK)
        .await;
    assert_eq!(all.as_array().map(Vec::len), Some(1), "{all}");

    // A decomposed é is stored composed, so the composed spelling is the same name.
    let created = h
        .post(
            "/api/v1/participants",
            &h.operator,
            json!({"name": "Cafe\u{301} 电力", "role": "user", "province": "ZJ"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["participant"]["name"], "Caf\u{e9} 电力");
    let (status, body) = h
        .call(
            Method::POST,
            "/api/v1/participants",
            Some(&h.operator),
            Some(json!({"name": "Caf\u{e9} 电力", "role": "user", "province": "ZJ"})),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("participant name \"Caf\u{e9} 电力\" already exists")
        )
    );
    let all = h
        .get("/api/v1/participants", Some(&h.operator), StatusCode::OK)
        .await;
    assert_eq!(all[1]["name"], "Caf\u{e9} 电力");

    // Enumerations refuse a megabyte without sending it back.
    let (status, body) = h
        .call(
            Method::POST,
            "/api/v1/participants",
            Some(&h.operator),
            Some(json!({"name": "G1", "role": huge(), "province": "ZJ"})),
        )
        .await;
    refused(
        status,
        &body,
        &format!(
            "field `role`: `{}… (1048576 characters)` is not a role (generator, aggregator, \
             user, retail_user, retailer, grid, operator, regulator)",
            "x".repeat(32)
        ),
    );
    let (status, body) = h
        .call(
            Method::POST,
            "/api/v1/participants",
            Some(&h.operator),
            Some(json!({"name": "G1", "role": "user", "province": "Z\u{0}"})),
        )
        .await;
    refused(
        status,
        &body,
        "field `province`: province: `Z\\u{0}` is not a code of 2 to 8 upper-case letters, \
         such as ZJ",
    );
    h.finish().await;
}
on_both!(hostile_participant_names, participant_names);

async fn session_names(h: Harness) {
    let session = |name: &str| {
        json!({
            "name": name, "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
            "mode": "call_auction", "first_month": "2024-03", "last_month": "2024-03",
            "energy_price_min": "332.24", "energy_price_max": "498.36", "lot_mwh": "0.5",
            "compensation": "50.00"
        })
    };
    for (name, reason) in hostile_names() {
        let (status, body) = h
            .call(
                Method::POST,
                "/api/v1/sessions",
                Some(&h.operator),
                Some(session(&name)),
            )
            .await;
        refused(status, &body, &format!("field `name`: {reason}"));
    }
    let (status, body) = h
        .call(
            Method::POST,
            "/api/v1/sessions",
            Some(&h.operator),
            Some(session(&"风".repeat(101))),
        )
        .await;
    refused(
        status,
        &body,
        "field `name`: 101 characters is more than the limit of 100",
    );
    let all = h
        .get("/api/v1/sessions", Some(&h.operator), StatusCode::OK)
        .await;
    assert_eq!(all, json!([]));
    // 100 characters, decomposed: stored composed.
    let name = format!("{}e\u{301}", "风".repeat(99));
    let created = h
        .post(
            "/api/v1/sessions",
            &h.operator,
            session(&name),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["name"], format!("{}\u{e9}", "风".repeat(99)));
    h.finish().await;
}
on_both!(hostile_session_names, session_names);

async fn project_fields(h: Harness) {
    let (g, _) = h.participant("G1", "generator").await;
    let project = |meters: Value| {
        json!({"code": "33010000000000001", "technology": "wind_offshore", "capacity_kw": 300000,
               "province": "ZJ", "owner": g, "meters": meters})
    };
    let id_rule = "an identifier is ASCII letters, digits, `-`, `_` and `.`, beginning with a \
                   letter or digit";
    for (meters, message) in [
        (
            json!(["MG1", "M\u{0}2"]),
            "field `meters[1]`: contains the control character U+0000 at position 2".to_owned(),
        ),
        (
            json!([huge()]),
            "field `meters[0]`: 1048576 characters is more than the limit of 64".to_owned(),
        ),
        (
            json!(["M\u{202E}1"]),
            format!("field `meters[0]`: contains U+202E at position 2; {id_rule}"),
        ),
        (
            json!(["M G"]),
            format!("field `meters[0]`: contains U+0020 at position 2; {id_rule}"),
        ),
        (json!([""]), "field `meters[0]`: is empty".to_owned()),
        (
            json!(vec!["M"; 1001]),
            "field `meters`: 1001 meters is more than the limit of 1000".to_owned(),
        ),
    ] {
        let (status, body) = h
            .call(
                Method::POST,
                "/api/v1/projects",
                Some(&h.operator),
                Some(project(meters)),
            )
            .await;
        refused(status, &body, &message);
    }
    let (status, body) = h
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(&h.operator),
            Some(
                json!({"code": "3301\u{0}", "technology": "wind_offshore", "capacity_kw": 1,
                        "province": "ZJ", "owner": g}),
            ),
        )
        .await;
    refused(
        status,
        &body,
        "field `code`: filing_code: `3301\\u{0}` is not 17 digits",
    );
    let all = h
        .get("/api/v1/projects", Some(&h.operator), StatusCode::OK)
        .await;
    assert_eq!(all, json!([]));
    h.finish().await;
}
on_both!(hostile_project_fields, project_fields);

async fn claim_beneficiary(h: Harness) {
    let (_, user) = h.participant("U1", "user").await;
    for (beneficiary, reason) in [
        (
            "杭州\u{0}".to_owned(),
            "contains the control character U+0000 at position 3",
        ),
        (huge(), "1048576 characters is more than the limit of 200"),
        (
            "\u{202E}杭州".to_owned(),
            "contains the invisible or direction-changing character U+202E at position 1",
        ),
    ] {
        let (status, body) = h
            .call(
                Method::POST,
                "/api/v1/certificates/claim",
                Some(&user),
                Some(
                    json!({"project": "33010000000000001", "month": "2024-03", "count": 1,
                            "beneficiary": beneficiary}),
                ),
            )
            .await;
        refused(status, &body, &format!("field `beneficiary`: {reason}"));
    }
    h.finish().await;
}
on_both!(hostile_claim_beneficiary, claim_beneficiary);

/// March 2024, every quarter-hour 1 kWh, for each (meter, participant column).
fn march(rows: &[(&str, String)]) -> String {
    let rows: Vec<(&str, String, i64)> = rows.iter().map(|(m, p)| (*m, p.clone(), 1)).collect();
    crate::certificates::march_csv(&rows)
}

/// Expects a 400 `bad_meter_data` with exactly `message`.
fn bad_meters((status, body): (StatusCode, Value), message: &str) {
    assert_eq!(
        (status, body["error"].as_str(), body["message"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("bad_meter_data"),
            Some(message)
        ),
    );
}

/// `(meter, participant, version)` of every stored meter of March 2024.
async fn stored(h: &Harness) -> Vec<(String, String, u32)> {
    h.store
        .meter_months("2024-03")
        .await
        .unwrap()
        .into_iter()
        .map(|(m, version)| (m.meter, m.participant, version))
        .collect()
}

async fn meter_uploads(h: Harness) {
    let (g, _) = h.participant("G1", "generator").await;
    let (u, _) = h.participant("U1", "user").await;
    let (u2, _) = h.participant("U2", "user").await;
    let (grid_id, grid) = h.participant("grid", "grid").await;
    h.wind_project(g).await;
    let (g, u, u2) = (g.to_string(), u.to_string(), u2.to_string());
    let one = |meter: &str, reason: String| {
        format!(
            "1 meter refused, nothing imported\n  meter `{meter}`, field `participant`: {reason}"
        )
    };
    for (rows, message) in [
        (
            vec![("MG1", g.clone()), ("MX", "-1".to_owned())],
            one(
                "MX",
                "`-1` is not a participant id (a whole number such as 7)".to_owned(),
            ),
        ),
        (
            vec![("MX", "999999".to_owned())],
            one("MX", "participant 999999 does not exist".to_owned()),
        ),
        (
            vec![("MX", format!("0{u}"))],
            one(
                "MX",
                format!("`0{u}` is not a participant id (a whole number such as 7)"),
            ),
        ),
        // The project's meter under someone else.
        (
            vec![("MG1", u.clone())],
            one(
                "MG1",
                format!(
                    "the meter is registered to project 33010000000000001, owned by participant \
                     {g}, not {u}"
                ),
            ),
        ),
        // A seller's meter no project registers.
        (
            vec![("MG9", g.clone())],
            one(
                "MG9",
                format!(
                    "participant {g} is a generator, whose meters are its projects' registered \
                     meters, and no project registers this one"
                ),
            ),
        ),
        (
            vec![("MN1", grid_id.to_string())],
            one(
                "MN1",
                format!("participant {grid_id} is a grid, which has no meters"),
            ),
        ),
        (
            vec![("M\u{0}1", u.clone())],
            "1 meter refused, nothing imported\n  meter `M\\u{0}1`, field `meter`: contains the \
             control character U+0000 at position 2"
                .to_owned(),
        ),
    ] {
        bad_meters(
            upload_month(&h, &grid, "2024-03", march(&rows)).await,
            &message,
        );
    }
    bad_meters(
        upload_month(
            &h,
            &grid,
            "2024-03",
            "meter,participant,start,kwh\n".to_owned(),
        )
        .await,
        "the file has no data rows, nothing imported",
    );
    let (status, body) = upload_month(&h, &grid, "9999-12", march(&[])).await;
    refused(
        status,
        &body,
        "field `month`: month 9999-12 is outside the market's months, 2000-01 to 2099-12",
    );
    let (status, body) = upload_month(&h, &grid, "0000-01", march(&[])).await;
    refused(
        status,
        &body,
        "field `month`: `0000-01` is not a month of the form YYYY-MM, such as 2023-05",
    );
    assert_eq!(stored(&h).await, vec![]);

    // A good file: the project's meter under its owner, a consumption meter under a user.
    let good = march(&[("MG1", g.clone()), ("MU1", u.clone())]);
    let (status, body) = upload_month(&h, &grid, "2024-03", good).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CREATED,
            json!({"month": "2024-03", "meters": 2, "readings": 5952, "corrections": 0})
        )
    );
    let first = vec![
        ("MG1".to_owned(), g.clone(), 1),
        ("MU1".to_owned(), u.clone(), 1),
    ];
    assert_eq!(stored(&h).await, first);

    // A "correction" that moves MU1 to another user is refused, and so is a project claiming it.
    bad_meters(
        upload_month(&h, &grid, "2024-03", march(&[("MU1", u2.clone())])).await,
        &format!(
            "1 meter refused, nothing imported\n  meter `MU1`, field `participant`: the meter is \
             stored under participant {u}, not {u2}: a meter does not change owner by upload"
        ),
    );
    let (status, body) = h
        .call(
            Method::POST,
            "/api/v1/projects",
            Some(&h.operator),
            Some(
                json!({"code": "33010000000000002", "technology": "pv_central",
                        "capacity_kw": 10, "province": "ZJ", "owner": g.parse::<u64>().unwrap(),
                        "meters": ["MG2", "MU1"]}),
            ),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (
            StatusCode::CONFLICT,
            Some(
                format!(
                    "field `meters[1]`: meter `MU1` has data stored under participant {u}; a \
                     meter does not change owner"
                )
                .as_str()
            )
        )
    );
    assert_eq!(stored(&h).await, first);

    // A correction by the same owner is a new version.
    let (status, body) = upload_month(&h, &grid, "2024-03", march(&[("MU1", u.clone())])).await;
    assert_eq!(
        (status, body["corrections"].as_u64()),
        (StatusCode::CREATED, Some(1))
    );
    assert_eq!(
        stored(&h).await,
        vec![
            ("MG1".to_owned(), g.clone(), 1),
            ("MU1".to_owned(), u.clone(), 2),
        ]
    );
    h.finish().await;
}
on_both!(hostile_meter_uploads, meter_uploads);
