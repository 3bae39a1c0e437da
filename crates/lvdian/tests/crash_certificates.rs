//! Crash test for certificate transfers with idempotency keys: the real `lvdian serve` process,
//! concurrent clients transferring one certificate per request, SIGKILL at a random moment,
//! restart, and every unanswered request retried with its key. Each key must have moved exactly
//! one certificate — never none after a 201, never two after a retry — and the stored ledger must
//! verify. The reply of a transfer is stored in the transaction of its ledger entry, which is
//! what makes this hold wherever the kill lands.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

mod common;

use common::{BIN, Server, create_operator, post, start};

/// March 2024 for meter `MG1` of `generator`: 1,000 kWh every quarter-hour (2,976 certificates).
fn meters(generator: u64) -> String {
    let mut csv = String::from("meter,participant,start,kwh\n");
    for day in 1..=31 {
        for q in 0..96 {
            csv.push_str(&format!(
                "MG1,{generator},2024-03-{day:02}T{:02}:{:02},1000\n",
                q / 4,
                q % 4 * 15
            ));
        }
    }
    csv
}

/// The certificates `token`'s holder has, in all.
async fn held(client: &reqwest::Client, server: &Server, token: &str) -> u64 {
    let body: Value = client
        .get(server.api("/certificates"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["certificates"].as_u64().unwrap())
        .sum()
}

async fn run(url: &str) {
    let operator = create_operator(url);
    let mut server = start(url).await;
    let client = reqwest::Client::new();
    let party = async |name: &str, role: &str| {
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
        (
            body["participant"]["id"].as_u64().unwrap(),
            body["token"].as_str().unwrap().to_owned(),
        )
    };
    let (g, generator) = party("G", "generator").await;
    let (u, user) = party("U", "user").await;
    let (_, grid) = party("grid", "grid").await;
    let (status, body) = post(
        &client,
        server.api("/projects"),
        &operator,
        json!({"code": "33010000000000001", "technology": "wind_offshore", "capacity_kw": 300000,
               "province": "ZJ", "owner": g, "meters": ["MG1"]}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let upload = client
        .post(server.api("/meters/2024-03"))
        .bearer_auth(&grid)
        .header("content-type", "text/csv")
        .body(meters(g))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status().as_u16(), 201);
    let (status, body) = post(
        &client,
        server.api("/certificates/issue"),
        &operator,
        json!({"month": "2024-03"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (status, body["issued"][0]["certificates"].as_u64()),
        (201, Some(2976)),
        "{body}"
    );

    // Three clients transfer one certificate per request until the server dies.
    let acknowledged = Arc::new(Mutex::new(0u64));
    let unanswered: Arc<Mutex<Vec<String>>> = Arc::default();
    let transfer = json!({"to": u, "project": "33010000000000001", "month": "2024-03", "count": 1, "price_yuan": "5.00"});
    let mut clients = Vec::new();
    for c in 0..3 {
        let (acknowledged, unanswered) = (Arc::clone(&acknowledged), Arc::clone(&unanswered));
        let (url, token, body) = (
            server.api("/certificates/transfer"),
            generator.clone(),
            transfer.clone(),
        );
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0..2_000 {
                let key = format!("c{c}-n{n}");
                match post(&client, url.clone(), &token, body.clone(), Some(&key)).await {
                    Ok((201, _)) => *acknowledged.lock().unwrap() += 1,
                    Ok((status, reply)) => panic!("transfer refused: {status} {reply}"),
                    Err(_) => {
                        unanswered.lock().unwrap().push(key);
                        return;
                    }
                }
            }
        }));
    }
    // A random moment up to 0.7 s after the 11th acknowledgement (on a loaded machine with
    // PostgreSQL a fixed time can pass before 10 are).
    let waited = std::time::Instant::now();
    while *acknowledged.lock().unwrap() <= 10 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the server acknowledged at most 10 transfers in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut seed = [0u8; 2];
    getrandom::fill(&mut seed).unwrap();
    let delay = u64::from(u16::from_le_bytes(seed)) % 700;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    server.kill_mid_work().await; // SIGKILL
    for c in clients {
        c.await.unwrap();
    }
    let acknowledged = *acknowledged.lock().unwrap();
    let unanswered = unanswered.lock().unwrap().clone();
    eprintln!(
        "killed {delay} ms after the 11th acknowledgement: {acknowledged} transfers acknowledged, {} unanswered",
        unanswered.len()
    );
    assert!(unanswered.len() <= 3);

    // After a restart, every acknowledged transfer is there; each unanswered key, retried twice,
    // moves one certificate at most once and answers the same both times.
    let mut server = start(url).await;
    let before = held(&client, &server, &user).await;
    assert!(
        (acknowledged..=acknowledged + unanswered.len() as u64).contains(&before),
        "{before} held after the restart, {acknowledged} acknowledged"
    );
    for key in &unanswered {
        let first = post(
            &client,
            server.api("/certificates/transfer"),
            &generator,
            transfer.clone(),
            Some(key),
        )
        .await
        .unwrap();
        assert_eq!(first.0, 201, "{}", first.1);
        let again = post(
            &client,
            server.api("/certificates/transfer"),
            &generator,
            transfer.clone(),
            Some(key),
        )
        .await
        .unwrap();
        assert_eq!(again, first, "a retry is answered as the first time");
    }
    let after = held(&client, &server, &user).await;
    assert_eq!(
        after,
        acknowledged + unanswered.len() as u64,
        "one certificate per key"
    );
    assert_eq!(held(&client, &server, &generator).await, 2976 - after);
    server.kill();

    let verify = std::process::Command::new(BIN)
        .args(["verify", "--db", url])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // The issue and one entry per transfer.
    assert_eq!(
        String::from_utf8_lossy(&verify.stdout).trim(),
        format!("ok {} entries", 1 + after)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_transfers_moves_one_certificate_per_key_sqlite() {
    let dir = std::env::temp_dir().join(format!("lvdian-crash-certs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("crash.db").display());
    run(&url).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_transfers_moves_one_certificate_per_key_postgres() {
    let Some((base, name, url)) = common::postgres_database("crash_certs").await else {
        return;
    };
    run(&url).await;
    store::Store::drop_postgres_database(&base, &name)
        .await
        .unwrap();
}
