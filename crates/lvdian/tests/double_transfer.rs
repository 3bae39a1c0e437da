//! Concurrent double transfer of the same certificates against the real `lvdian serve`: exactly
//! one succeeds, and the stored ledger verifies with `lvdian verify`.

mod common;

use std::process::Command;

use common::{BIN, create_operator, post, start};
use serde_json::json;

async fn run(url: &str) {
    let operator = create_operator(url);
    let mut server = start(url).await;
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for (name, role) in [
        ("G", "generator"),
        ("U1", "user"),
        ("U2", "user"),
        ("grid", "grid"),
    ] {
        let (status, body) = post(
            &client,
            server.api("/participants"),
            &operator,
            json!({"name": name, "role": role, "province": "ZJ"}),
            None,
        )
        .await
        .unwrap();
        assert_eq!(status, 201, "{body}");
        ids.push((
            body["participant"]["id"].as_u64().unwrap(),
            body["token"].as_str().unwrap().to_owned(),
        ));
    }
    let [(g, gen_token), (u1, _), (u2, _), (_, grid)] = <[_; 4]>::try_from(ids).unwrap();
    let (status, body) = post(
        &client,
        server.api("/projects"),
        &operator,
        json!({"code": "33010000000000001", "technology": "wind_offshore",
        "capacity_kw": 300000, "province": "ZJ", "owner": g, "meters": ["MG1"]}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    // February 2024: 29 days × 96 quarter-hours × 4 kWh = 11,136 kWh → 11 certificates.
    let mut csv = String::from("meter,participant,start,kwh\n");
    for day in 1..=29 {
        for q in 0..96 {
            csv.push_str(&format!(
                "MG1,{g},2024-02-{day:02}T{:02}:{:02},4\n",
                q / 4,
                q % 4 * 15
            ));
        }
    }
    let upload = client
        .post(server.api("/meters/2024-02"))
        .bearer_auth(&grid)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status().as_u16(), 201);
    let (status, body) = post(
        &client,
        server.api("/certificates/issue"),
        &operator,
        json!({"month": "2024-02"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (status, body["issued"][0]["certificates"].as_u64()),
        (201, Some(11))
    );

    // Twelve concurrent requests to move all 11 certificates, to two different buyers.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (client, url, token) = (
            client.clone(),
            server.api("/certificates/transfer"),
            gen_token.clone(),
        );
        let to = if i % 2 == 0 { u1 } else { u2 };
        tasks.push(tokio::spawn(async move {
            let body = json!({"to": to, "project": "33010000000000001", "month": "2024-02", "count": 11, "price_yuan": "3.00"});
            post(&client, url, &token, body, None).await.unwrap().0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![201], vec![409; 11]].concat());
    server.kill();

    // The ledger holds the issue and exactly one transfer, and verifies.
    let out = Command::new(BIN)
        .args(["verify", "--db", url])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "ok 2 entries\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_double_transfer_sqlite() {
    let dir = std::env::temp_dir().join(format!("lvdian-double-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    run(&format!("sqlite:{}", dir.join("double.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_double_transfer_postgres() {
    let Some((base, name, url)) = common::postgres_database("double").await else {
        return;
    };
    run(&url).await;
    store::Store::drop_postgres_database(&base, &name)
        .await
        .unwrap();
}
