//! Crash test: the real `lvdian serve` process, several concurrent clients, SIGKILL at a random
//! moment, restart. Every acknowledged order must be there, retries must not duplicate, and the
//! session must clear exactly as an uninterrupted run of the same orders does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::{
    Participant, ParticipantId, Period, Province, Role, SessionId, Side, TimeInForce, TwoPartPrice,
};
use exchange::session::{Command as EngineCommand, Session, Stamp};
use serde_json::{Value, json};

mod common;

use common::{Server, create_operator, post, start};

/// A deterministic order of client `c`, number `n`.
fn order_of(c: usize, n: usize, seller: bool) -> Value {
    let hour = (c * 7 + n) % 24 + 1;
    let mwh = 1 + (c * 31 + n * 17) % 9;
    let energy = 360 + (c * 13 + n * 29) % 80;
    json!({"side": if seller { "sell" } else { "buy" }, "period": format!("h{hour:02}"), "mwh": mwh.to_string(),
           "energy_price": format!("{energy}.00"), "env_price": "20.00"})
}

async fn run(url: &str) {
    let operator = create_operator(url);
    let mut server = start(url).await;
    let client = reqwest::Client::new();
    let api = |s: &Server, path: &str| s.api(path);

    // Two sellers and two buyers, one client each.
    let mut parties = Vec::new();
    for (name, role) in [
        ("G1", "generator"),
        ("G2", "aggregator"),
        ("U1", "user"),
        ("U2", "retailer"),
    ] {
        let (status, body) = post(
            &client,
            api(&server, "/participants"),
            &operator,
            json!({"name": name, "role": role, "province": "ZJ"}),
            None,
        )
        .await
        .unwrap();
        assert_eq!(status, 201, "{body}");
        parties.push((
            body["participant"]["id"].as_u64().unwrap(),
            role,
            body["token"].as_str().unwrap().to_owned(),
        ));
    }
    let (status, body) = post(&client, api(&server, "/sessions"), &operator, json!({
        "name": "crash", "scope": "intra", "provinces": ["ZJ"], "horizon": "month", "mode": "call_auction",
        "first_month": "2024-03", "last_month": "2024-03", "energy_price_min": "300.00", "energy_price_max": "500.00",
        "lot_mwh": "1", "compensation": "50.00"}), None).await.unwrap();
    assert_eq!(status, 201, "{body}");
    let session = body["id"].as_u64().unwrap();
    for action in ["announce", "open"] {
        post(
            &client,
            api(&server, &format!("/sessions/{session}/{action}")),
            &operator,
            json!(null),
            None,
        )
        .await
        .unwrap();
    }

    // Clients submit until the server dies; each remembers what was acknowledged and what was
    // sent without an answer.
    let acknowledged: Arc<Mutex<Vec<(u64, Value)>>> = Arc::default();
    let unanswered: Arc<Mutex<Vec<(usize, String, Value)>>> = Arc::default();
    let orders_url = api(&server, &format!("/sessions/{session}/orders"));
    let mut clients = Vec::new();
    for (c, (_, role, token)) in parties.iter().cloned().enumerate() {
        let (acknowledged, unanswered, url) = (
            Arc::clone(&acknowledged),
            Arc::clone(&unanswered),
            orders_url.clone(),
        );
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                let body = order_of(c, n, matches!(role, "generator" | "aggregator"));
                let key = format!("c{c}-n{n}");
                match post(&client, url.clone(), &token, body.clone(), Some(&key)).await {
                    Ok((201, reply)) => acknowledged
                        .lock()
                        .unwrap()
                        .push((reply["order"]["id"].as_u64().unwrap(), body)),
                    Ok((status, reply)) => panic!("order refused: {status} {reply}"),
                    Err(_) => {
                        unanswered.lock().unwrap().push((c, key, body));
                        return;
                    }
                }
            }
        }));
    }
    // A random moment up to 1 s after the first 25 orders are acknowledged (on a loaded
    // machine with PostgreSQL a fixed time can pass before any is).
    let waited = std::time::Instant::now();
    while acknowledged.lock().unwrap().len() < 25 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the server acknowledged fewer than 25 orders in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut seed = [0u8; 2];
    getrandom::fill(&mut seed).unwrap();
    let delay = u64::from(u16::from_le_bytes(seed)) % 1000;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    server.kill_mid_work().await; // SIGKILL
    for c in clients {
        c.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!(
        "killed {delay} ms after the 25th acknowledgement, with {} orders acknowledged",
        acknowledged.len()
    );

    let mut server = start(url).await;
    let orders_url = api(&server, &format!("/sessions/{session}/orders"));
    let stored = |v: &Value| json!({"side": v["side"], "period": v["period"], "mwh": v["mwh"], "energy_price": v["energy_price"], "env_price": v["env_price"]});
    let normal = |body: &Value| {
        let mwh = format!("{}.000", body["mwh"].as_str().unwrap());
        json!({"side": body["side"], "period": body["period"], "mwh": mwh, "energy_price": body["energy_price"], "env_price": body["env_price"]})
    };
    let client = reqwest::Client::new();
    let all = |client: reqwest::Client, url: String, operator: String| async move {
        client
            .get(url)
            .bearer_auth(operator)
            .send()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
    };
    let after_restart = all(client.clone(), orders_url.clone(), operator.clone()).await;
    for (id, body) in &acknowledged {
        let found = after_restart
            .iter()
            .find(|o| o["id"].as_u64() == Some(*id))
            .unwrap_or_else(|| panic!("acknowledged order {id} lost"));
        assert_eq!(stored(found), normal(body), "order {id}");
    }
    // Retrying the unanswered requests with their keys never makes a second order.
    let unanswered = unanswered.lock().unwrap().clone();
    for (c, key, body) in &unanswered {
        let (status, reply) = post(
            &client,
            orders_url.clone(),
            &parties[*c].2,
            body.clone(),
            Some(key),
        )
        .await
        .unwrap();
        assert_eq!(status, 201, "{reply}");
        let (again, reply_again) = post(
            &client,
            orders_url.clone(),
            &parties[*c].2,
            body.clone(),
            Some(key),
        )
        .await
        .unwrap();
        assert_eq!(
            (again, &reply_again),
            (201, &reply),
            "a retry is answered as the first time"
        );
    }
    let final_orders = all(client.clone(), orders_url.clone(), operator.clone()).await;
    assert!(final_orders.len() <= acknowledged.len() + unanswered.len());
    assert!(final_orders.len() >= acknowledged.len());

    for action in ["close", "clear"] {
        let (status, reply) = post(
            &client,
            api(&server, &format!("/sessions/{session}/{action}")),
            &operator,
            json!(null),
            None,
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{reply}");
    }
    let contracts: Vec<Value> = client
        .get(api(&server, "/contracts"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // The uninterrupted run: the same orders, in the same order, through a fresh engine.
    let by_id = |id: u64| {
        let (_, role, _) = parties.iter().find(|p| p.0 == id).unwrap();
        Participant {
            id: ParticipantId(id),
            name: String::new(),
            role: role.parse::<Role>().unwrap(),
            province: Province::parse("ZJ").unwrap(),
        }
    };
    let mut fresh = reference_session();
    let mut seq = 0;
    let mut apply = |session: &mut Session, command: EngineCommand| {
        seq += 1;
        session.apply(command, Stamp { seq, at_ms: 0 }).unwrap();
    };
    apply(&mut fresh, EngineCommand::Announce);
    apply(&mut fresh, EngineCommand::Open);
    for o in &final_orders {
        let price =
            |field: &str| domain::Price::parse_yuan_per_mwh(o[field].as_str().unwrap()).unwrap();
        apply(
            &mut fresh,
            EngineCommand::SubmitOrder {
                by: by_id(o["participant"].as_u64().unwrap()),
                side: if o["side"] == "sell" {
                    Side::Sell
                } else {
                    Side::Buy
                },
                period: Period(o["period"].as_str().unwrap()[1..].parse::<u16>().unwrap() - 1),
                volume: domain::Kwh::parse_mwh(o["mwh"].as_str().unwrap()).unwrap(),
                price: TwoPartPrice {
                    energy: price("energy_price"),
                    environment: price("env_price"),
                },
                time_in_force: TimeInForce::Limit,
            },
        );
    }
    apply(&mut fresh, EngineCommand::Close);
    apply(&mut fresh, EngineCommand::Clear);
    let expected: Vec<Value> = fresh
        .contracts()
        .iter()
        .map(|c| json!({"seller": c.seller.0, "buyer": c.buyer.0, "total_mwh": c.total_volume().mwh().to_string(),
                        "energy_price": c.price.energy.to_string(), "env_price": c.price.environment.to_string()}))
        .collect();
    let got: Vec<Value> = contracts
        .iter()
        .map(|c| json!({"seller": c["seller"], "buyer": c["buyer"], "total_mwh": c["total_mwh"], "energy_price": c["energy_price"], "env_price": c["env_price"]}))
        .collect();
    assert!(!expected.is_empty(), "the reference run made no contracts");
    assert_eq!(got, expected);
    eprintln!(
        "{} orders after restart, {} contracts, equal to the uninterrupted run",
        final_orders.len(),
        got.len()
    );
    server.kill();
}

fn reference_session() -> Session {
    use exchange::auction::Method;
    use exchange::session::{
        BidOn, DeliveryWindow, Horizon, Mode, Scope, SessionSettings, YearMonth,
    };
    let month = YearMonth::new(2024, 3).unwrap();
    Session::new(
        SessionId(1),
        SessionSettings {
            scope: Scope::Intra(Province::parse("ZJ").unwrap()),
            horizon: Horizon::Month,
            mode: Mode::CallAuction(Method::Uniform),
            delivery: DeliveryWindow {
                first_month: month,
                last_month: month,
            },
            template: domain::PeriodTemplate::Hours,
            energy_price_min: domain::Price(30_000),
            energy_price_max: domain::Price(50_000),
            env_price_cap: None,
            lot: domain::Kwh(1_000),
            bid_on: BidOn::Total,
            compensation: domain::Price(5_000),
            corridors: Vec::new(),
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acknowledged_order_sqlite() {
    let dir = std::env::temp_dir().join(format!("lvdian-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("crash.db").display());
    run(&url).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_no_acknowledged_order_postgres() {
    let Some(base) = store::testing::database_url() else {
        return;
    };
    // A database of its own, so the server's tables start empty.
    let name = format!("lvdian_crash_{}", std::process::id());
    let url = store::Store::create_postgres_database(&base, &name)
        .await
        .unwrap();
    run(&url).await;
    store::Store::drop_postgres_database(&base, &name)
        .await
        .unwrap();
}
