//! Crash test for a final settlement (issue 10): the real `lvdian serve` process is SIGKILLed
//! while it runs `POST /api/v1/settlements {"final": true}` — before the request arrives, while
//! it gathers and transfers, around its commit, after its reply — and restarted. The month's
//! record, the ledger entries of its certificate moves and the reply under the idempotency key
//! commit in one transaction, so each round must find all of it or none of it: either the month
//! is final, every buyer holds its certificates and a retry with the same key replays the reply;
//! or no certificate moved, and the retry with the same key settles exactly once. Either way
//! `lvdian verify` is ok and every project-month's certificates are conserved.
//!
//! One market is set up through the API; each round runs on a fresh copy of its database, with
//! a kill delay that is a fraction of the duration of an uninterrupted run measured first.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

use common::{BIN, Server, create_operator, post, start};

const MONTH: &str = "2024-03";
/// Generators, one project with one meter each; as many users, one consumption meter each.
const PARTIES: usize = 10;
/// Hourly periods: every generator sells, and every user buys, 1 MWh in each.
const PERIODS: usize = 24;
/// kWh every meter reads every quarter-hour of March: 29.76 MWh, so 29 certificates a project
/// and enough consumption to take every contract whole.
const KWH_PER_QUARTER: u64 = 10;
/// Kill delays as per mille of the measured duration of an uninterrupted final run.
const KILL_PER_MILLE: [u64; 12] = [0, 100, 250, 400, 500, 600, 700, 800, 875, 950, 1_025, 1_100];

/// What the market set up: who is who, what was issued, what the final run must move.
struct Market {
    operator: String,
    /// Generators' ids.
    generators: Vec<u64>,
    /// Users' ids.
    users: Vec<u64>,
    /// Certificates issued per project code.
    issued: BTreeMap<String, u64>,
    /// The project of each generator.
    project_of: BTreeMap<u64, String>,
    /// Contracts the final run settles (one transfer of one certificate each).
    contracts: u64,
    /// Certificates each participant holds once the month is final.
    settled: BTreeMap<u64, u64>,
}

impl Market {
    fn participants(&self) -> impl Iterator<Item = u64> + '_ {
        self.generators.iter().chain(&self.users).copied()
    }

    /// Ledger entries before the final run (one issue per project) and after it.
    fn entries(&self, is_final: bool) -> u64 {
        self.issued.len() as u64 + if is_final { self.contracts } else { 0 }
    }
}

/// March 2024 for every (meter, participant): `KWH_PER_QUARTER` each quarter-hour.
fn meters(rows: &[(String, u64)]) -> String {
    let mut csv = String::from("meter,participant,start,kwh\n");
    for (meter, participant) in rows {
        for day in 1..=31 {
            for q in 0..96 {
                csv.push_str(&format!(
                    "{meter},{participant},{MONTH}-{day:02}T{:02}:{:02},{KWH_PER_QUARTER}\n",
                    q / 4,
                    q % 4 * 15
                ));
            }
        }
    }
    csv
}

/// POSTs and expects `status`; returns the body.
async fn expect(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
    status: u16,
) -> Value {
    let (got, reply) = post(client, url, token, body, None).await.unwrap();
    assert_eq!(got, status, "{reply}");
    reply
}

/// Sets the market up on the empty database at `url` through the API: participants, projects,
/// a published rolling session of `PARTIES × PERIODS` one-MWh contracts delivering March,
/// March's meters and certificates.
async fn set_up(url: &str) -> Market {
    let operator = create_operator(url);
    let mut server = start(url).await;
    let client = reqwest::Client::new();
    let party = async |name: String, role: &str| {
        let body = expect(
            &client,
            server.api("/participants"),
            &operator,
            json!({"name": name, "role": role, "province": "ZJ"}),
            201,
        )
        .await;
        (
            body["participant"]["id"].as_u64().unwrap(),
            body["token"].as_str().unwrap().to_owned(),
        )
    };
    let mut generators = Vec::new();
    let mut users = Vec::new();
    for i in 1..=PARTIES {
        generators.push(party(format!("G{i}"), "generator").await);
        users.push(party(format!("U{i}"), "user").await);
    }
    let (_, grid) = party("grid".to_owned(), "grid").await;
    let mut project_of = BTreeMap::new();
    let mut meter_rows = Vec::new();
    for (i, (g, _)) in generators.iter().enumerate() {
        let code = format!("330100000000{:05}", i + 1);
        expect(
            &client,
            server.api("/projects"),
            &operator,
            json!({"code": code, "technology": "wind_onshore", "capacity_kw": 50000,
                   "province": "ZJ", "owner": g, "meters": [format!("MG{}", i + 1)]}),
            201,
        )
        .await;
        project_of.insert(*g, code);
        meter_rows.push((format!("MG{}", i + 1), *g));
    }
    for (i, (u, _)) in users.iter().enumerate() {
        meter_rows.push((format!("MU{}", i + 1), *u));
    }

    // Rolling matching: the generators' asks rest at prices that differ by generator and
    // period; each user's bid then takes the cheapest ask left, so buyers and sellers mix.
    let session = expect(&client, server.api("/sessions"), &operator, json!({
        "name": "crash-final", "scope": "intra", "provinces": ["ZJ"], "horizon": "month", "mode": "rolling",
        "first_month": MONTH, "last_month": MONTH, "energy_price_min": "300.00", "energy_price_max": "500.00",
        "lot_mwh": "1", "compensation": "50.00"}), 201).await["id"]
        .as_u64()
        .unwrap();
    let act = async |action: &str| {
        expect(
            &client,
            server.api(&format!("/sessions/{session}/{action}")),
            &operator,
            json!(null),
            200,
        )
        .await;
    };
    act("announce").await;
    act("open").await;
    let batch = |side: &str, price: &dyn Fn(usize) -> u64| {
        let orders: Vec<Value> = (0..PERIODS)
            .map(|p| {
                json!({"side": side, "period": format!("h{:02}", p + 1), "mwh": "1",
                            "energy_price": format!("{}.00", price(p)), "env_price": "20.00"})
            })
            .collect();
        json!({"orders": orders})
    };
    let orders = server.api(&format!("/sessions/{session}/orders/batch"));
    for (i, (_, token)) in generators.iter().enumerate() {
        let ask = |p: usize| 380 + ((i * 7 + p * 3) % 11) as u64;
        let reply = expect(&client, orders.clone(), token, batch("sell", &ask), 200).await;
        assert_eq!(reply["accepted"], PERIODS, "{reply}");
    }
    for (_, token) in &users {
        let reply = expect(&client, orders.clone(), token, batch("buy", &|_| 450), 200).await;
        assert_eq!(reply["accepted"], PERIODS, "{reply}");
    }
    act("close").await;
    act("clear").await;
    act("publish").await;
    let contracts: Vec<Value> = client
        .get(server.api("/contracts"))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(contracts.len(), PARTIES * PERIODS);
    let mut settled: BTreeMap<u64, u64> = BTreeMap::new();
    for c in &contracts {
        assert_eq!(c["total_mwh"], "1.000", "{c}");
        *settled.entry(c["buyer"].as_u64().unwrap()).or_default() += 1;
    }
    let mixed = contracts
        .iter()
        .filter(|c| {
            let seller = generators
                .iter()
                .position(|g| Some(g.0) == c["seller"].as_u64());
            let buyer = users.iter().position(|u| Some(u.0) == c["buyer"].as_u64());
            seller != buyer
        })
        .count();
    assert!(mixed > 0, "every user bought from one generator only");

    let upload = client
        .post(server.api(&format!("/meters/{MONTH}")))
        .bearer_auth(&grid)
        .header("content-type", "text/csv")
        .body(meters(&meter_rows))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status().as_u16(), 201);
    let issue = expect(
        &client,
        server.api("/certificates/issue"),
        &operator,
        json!({"month": MONTH}),
        201,
    )
    .await;
    let issued: BTreeMap<String, u64> = issue["issued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["project"].as_str().unwrap().to_owned(),
                i["certificates"].as_u64().unwrap(),
            )
        })
        .collect();
    let per_project = 31 * 96 * KWH_PER_QUARTER / 1000;
    assert_eq!(issued.len(), PARTIES);
    assert!(issued.values().all(|n| *n == per_project), "{issue}");
    for (g, _) in &generators {
        settled.insert(*g, per_project - PERIODS as u64);
    }
    server.kill();
    Market {
        operator,
        generators: generators.iter().map(|g| g.0).collect(),
        users: users.iter().map(|u| u.0).collect(),
        issued,
        project_of,
        contracts: contracts.len() as u64,
        settled,
    }
}

/// Every participant's holdings: certificates per project, all of them of March and issued
/// (nothing is claimed, listed or expired here).
async fn holdings(
    client: &reqwest::Client,
    server: &Server,
    market: &Market,
) -> BTreeMap<u64, BTreeMap<String, u64>> {
    let mut all = BTreeMap::new();
    for p in market.participants() {
        let body: Value = client
            .get(server.api(&format!("/certificates?participant={p}")))
            .bearer_auth(&market.operator)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut mine: BTreeMap<String, u64> = BTreeMap::new();
        for h in body["holdings"].as_array().unwrap() {
            assert_eq!(h["month"], MONTH, "{h}");
            *mine
                .entry(h["project"].as_str().unwrap().to_owned())
                .or_default() += h["certificates"].as_u64().unwrap();
        }
        all.insert(p, mine);
    }
    all
}

/// Checks that the holdings are those of a month settled finally (`is_final`) or of a month
/// untouched, and that every project's certificates are all held by someone.
fn check_holdings(market: &Market, held: &BTreeMap<u64, BTreeMap<String, u64>>, is_final: bool) {
    let mut per_project: BTreeMap<String, u64> = BTreeMap::new();
    for mine in held.values() {
        for (project, n) in mine {
            *per_project.entry(project.clone()).or_default() += n;
        }
    }
    assert_eq!(per_project, market.issued, "certificates are conserved");
    for (p, mine) in held {
        let total: u64 = mine.values().sum();
        let expected = match market.project_of.get(p) {
            Some(project) if !is_final => market.issued[project],
            _ if !is_final => 0,
            _ => market.settled[p],
        };
        assert_eq!(
            total, expected,
            "participant {p} (final: {is_final}): {mine:?}"
        );
    }
}

/// `lvdian verify` on the database: ok, with `entries` ledger entries.
fn verify(url: &str, entries: u64) {
    let out = Command::new(BIN)
        .args(["verify", "--db", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("ok {entries} entries")
    );
}

/// When a round kills the server.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// This long after sending the request.
    After(Duration),
    /// Once the reply has arrived.
    AfterReply,
}

/// What a round saw.
struct Round {
    kill: Kill,
    /// The reply, if it arrived before the kill.
    answered: Option<Value>,
    /// Whether the kill left the month final.
    is_final: bool,
    /// From sending the request to its reply (or to the kill).
    elapsed: Duration,
}

/// One round on a fresh copy of the market's database at `url`: send the final run, kill as
/// `kill` says, then check all or nothing, the retries and `lvdian verify`. Every final run of
/// the market answers `reference` (the measured run's reply), when given.
async fn round(
    url: &str,
    market: &Market,
    n: usize,
    kill: Kill,
    reference: Option<&Value>,
) -> Round {
    let client = reqwest::Client::new();
    let request = json!({"month": MONTH, "final": true});
    let key = format!("final-{n}");
    let mut server = start(url).await;
    let started = Instant::now();
    let sent = tokio::spawn({
        let (client, url) = (client.clone(), server.api("/settlements"));
        let (token, request, key) = (market.operator.clone(), request.clone(), key.clone());
        async move { post(&client, url, &token, request, Some(&key)).await }
    });
    let (answered, elapsed) = match kill {
        Kill::After(delay) => {
            tokio::time::sleep(delay).await;
            server.kill_mid_work().await; // SIGKILL
            (sent.await.unwrap().ok(), started.elapsed())
        }
        Kill::AfterReply => {
            let reply = sent.await.unwrap().unwrap();
            let elapsed = started.elapsed();
            server.kill_mid_work().await; // SIGKILL
            (Some(reply), elapsed)
        }
    };
    let answered = answered.map(|(status, body)| {
        assert_eq!(status, 201, "{body}");
        let transfers = body["transfers"].as_array().unwrap().len() as u64;
        assert_eq!(transfers, market.contracts, "one transfer per contract");
        body
    });

    // What the kill left on disk: the month final with all its ledger entries, or none.
    let outcome = Command::new(BIN)
        .args(["verify", "--db", url])
        .output()
        .unwrap();
    let is_final = String::from_utf8_lossy(&outcome.stdout).trim()
        == format!("ok {} entries", market.entries(true));
    verify(url, market.entries(is_final));
    assert!(
        answered.is_none() || is_final,
        "a final run answered 201 was lost"
    );

    // The restarted server agrees: holdings all moved, or none; certificates conserved.
    let mut server = start(url).await;
    check_holdings(market, &holdings(&client, &server, market).await, is_final);

    // The retry with the request's key settles once (or replays the committed run); a second
    // retry replays the first's reply; a new key is refused.
    let settle = async |key: &str| {
        post(
            &client,
            server.api("/settlements"),
            &market.operator,
            request.clone(),
            Some(key),
        )
        .await
        .unwrap()
    };
    let retried = settle(&key).await;
    assert_eq!(retried.0, 201, "{}", retried.1);
    for earlier in answered.iter().chain(reference) {
        assert_eq!(&retried.1, earlier, "the retry answers as the first run");
    }
    assert_eq!(
        settle(&key).await,
        retried,
        "a second retry replays the reply"
    );
    let (status, refused) = settle(&format!("{key}-new")).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (409, Some("already_final")),
        "{refused}"
    );
    check_holdings(market, &holdings(&client, &server, market).await, true);
    server.kill();
    verify(url, market.entries(true));
    Round {
        kill,
        answered,
        is_final,
        elapsed,
    }
}

/// Where the rounds' databases come from.
trait Databases {
    /// A fresh copy of the set-up market's database; returns its URL.
    async fn copy(&self, n: usize) -> String;
    /// Drops copy `n`.
    async fn drop_copy(&self, n: usize);
}

async fn run(databases: &impl Databases, setup_url: &str) {
    let started = Instant::now();
    let market = set_up(setup_url).await;
    let set_up_s = started.elapsed().as_secs_f64();

    // An uninterrupted run (killed after its reply) measures how long a final run takes.
    let mut rounds = Vec::new();
    let url = databases.copy(0).await;
    let measured = round(&url, &market, 0, Kill::AfterReply, None).await;
    databases.drop_copy(0).await;
    let duration = measured.elapsed;
    let reference = measured.answered.clone();
    rounds.push(measured);
    for (i, per_mille) in KILL_PER_MILLE.iter().enumerate() {
        let n = i + 1;
        let url = databases.copy(n).await;
        let delay = duration * *per_mille as u32 / 1_000;
        rounds.push(round(&url, &market, n, Kill::After(delay), reference.as_ref()).await);
        databases.drop_copy(n).await;
    }

    eprintln!(
        "{} contracts; set up in {set_up_s:.1} s; a final run took {} ms",
        market.contracts,
        duration.as_millis()
    );
    for (n, r) in rounds.iter().enumerate() {
        eprintln!(
            "round {n}: kill {:?}, after {} ms: {}",
            r.kill,
            r.elapsed.as_millis(),
            match (&r.answered, r.is_final) {
                (Some(_), _) => "answered, all committed",
                (None, true) => "unanswered, all committed (the retry replayed the reply)",
                (None, false) => "unanswered, nothing committed (the retry settled once)",
            },
        );
    }
    assert!(
        rounds.iter().any(|r| !r.is_final),
        "no kill landed before the commit"
    );
    assert!(
        rounds.iter().any(|r| r.is_final),
        "no kill landed after the commit"
    );
    eprintln!("total {:.1} s", started.elapsed().as_secs_f64());
}

/// SQLite: each round copies the set-up file with `VACUUM INTO`.
struct SqliteFiles {
    dir: std::path::PathBuf,
}

impl SqliteFiles {
    fn url(&self, name: &str) -> String {
        format!("sqlite:{}", self.dir.join(name).display())
    }
}

impl Databases for SqliteFiles {
    async fn copy(&self, n: usize) -> String {
        let pool = sqlx::SqlitePool::connect(&self.url("setup.db"))
            .await
            .unwrap();
        let target = self.dir.join(format!("round{n}.db"));
        sqlx::query("VACUUM INTO $1")
            .bind(target.display().to_string())
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        self.url(&format!("round{n}.db"))
    }

    async fn drop_copy(&self, n: usize) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(self.dir.join(format!("round{n}.db{suffix}")));
        }
    }
}

/// PostgreSQL: each round's database is created from the set-up one as its template.
struct PostgresDatabases {
    base: String,
    setup: String,
    setup_url: String,
}

impl PostgresDatabases {
    fn name(&self, n: usize) -> String {
        format!("{}_r{n}", self.setup)
    }
}

impl Databases for PostgresDatabases {
    async fn copy(&self, n: usize) -> String {
        use sqlx::Connection;
        let name = self.name(n);
        let mut conn = sqlx::PgConnection::connect(&self.base).await.unwrap();
        // The killed server's connections to the template may take a moment to end.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let created = sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{}\"",
                self.setup
            )))
            .execute(&mut conn)
            .await;
            match created {
                Ok(_) => break,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("retrying CREATE DATABASE: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("CREATE DATABASE {name}: {e}"),
            }
        }
        conn.close().await.unwrap();
        let (head, _) = self
            .setup_url
            .rsplit_once(&format!("/{}", self.setup))
            .unwrap();
        format!("{head}/{name}")
    }

    async fn drop_copy(&self, n: usize) {
        store::Store::drop_postgres_database(&self.base, &self.name(n))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_final_settlement_leaves_all_or_nothing_sqlite() {
    let dir = std::env::temp_dir().join(format!("lvdian-crash-final-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = SqliteFiles { dir: dir.clone() };
    run(&files, &files.url("setup.db")).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_final_settlement_leaves_all_or_nothing_postgres() {
    let Some((base, setup, setup_url)) = common::postgres_database("crash_final").await else {
        return;
    };
    let databases = PostgresDatabases {
        base: base.clone(),
        setup: setup.clone(),
        setup_url: setup_url.clone(),
    };
    run(&databases, &setup_url).await;
    store::Store::drop_postgres_database(&base, &setup)
        .await
        .unwrap();
}
