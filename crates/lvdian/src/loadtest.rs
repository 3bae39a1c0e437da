//! `lvdian loadtest`: many participants trading against one server for a bounded time, with
//! latency per route, a check that every acknowledged order is stored exactly once, and the
//! store's raw append rate measured in the same run for comparison.
//!
//! The pieces are shared with `lvdian bench http` and `lvdian faults`:
//! - [`Api`]: JSON over HTTP to one server, bearer token and `Idempotency-Key` per request;
//! - [`open_market`]: participants and an open session (rolling or call auction);
//! - [`drive`]: the participants' clients, each a seeded sequence of submits (one order per
//!   request or batches), cancels of its own live orders and reads, every write carrying an
//!   idempotency key that a retry re-sends, so a retry acts at most once;
//! - [`check_exactly_once`]: the acknowledged orders and cancels read back through the API;
//! - [`raw_append_rate`]: the store's group commit of batches of orders, no HTTP.
//!
//! Quantities and prices are generated and compared as the API's exact decimal strings; only
//! latencies and rates are floats.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use store::Store;

use crate::bench::{InProcessServer, ScratchDatabase};

/// What `lvdian loadtest` runs.
pub struct LoadTest {
    /// The server to drive.
    pub target: Target,
    /// Concurrent participants, one HTTP client each (half sell, half buy).
    pub clients: usize,
    /// How long the clients send (retries of unanswered requests may run a little longer).
    pub duration: Duration,
    /// Orders per submit request; 1 uses `POST /orders`, more `POST /orders/batch`.
    pub batch: usize,
    /// Of each client's requests, the percentage that cancel one of its live orders.
    pub cancel_percent: u32,
    /// Of each client's requests, the percentage that read (depth, the session, own orders).
    pub read_percent: u32,
    /// Seeds every client's choices.
    pub seed: u64,
    /// A request unanswered after this long is sent again with the same key.
    pub timeout: Duration,
    /// Where to measure the store's raw append rate: `sqlite`, `postgres`, a database URL, or
    /// `none`; by default the backend of the database under test (SQLite for `--url`).
    pub raw_store: Option<String>,
}

/// The server a load test drives.
pub enum Target {
    /// A running server (`http://host:port`) and an operator's token.
    Url { url: String, operator_token: String },
    /// A server started in this process on a fresh database (`sqlite`, `postgres` or a URL), as
    /// `lvdian bench http` does.
    InProcess { database: String },
}

/// Runs the load test, prints the report; an error when an acknowledged order or cancel was
/// lost or duplicated.
pub fn run(test: &LoadTest) -> Result<()> {
    if test.clients == 0 || test.batch == 0 || test.batch > 10_000 {
        bail!("--clients must be positive and --batch between 1 and 10000");
    }
    if test.cancel_percent + test.read_percent > 100 {
        bail!("--cancel-percent and --read-percent add up to more than 100");
    }
    if test.duration.is_zero() {
        bail!("--duration must be positive");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (server, backend) = match &test.target {
            Target::Url {
                url,
                operator_token,
            } => (
                None,
                Api::new(url, test.timeout)?.with_operator(operator_token),
            ),
            Target::InProcess { database } => {
                let scratch = ScratchDatabase::create(database, "load").await?;
                let server = InProcessServer::start(&scratch.url).await?;
                let api =
                    Api::new(&server.base, test.timeout)?.with_operator(&server.operator_token);
                (Some((server, scratch)), api)
            }
        };
        let result = load_and_report(test, &backend, server.as_ref().map(|(s, _)| s)).await;
        if let Some((server, scratch)) = server {
            server.stop().await;
            scratch.remove().await;
        }
        result
    })
}

async fn load_and_report(
    test: &LoadTest,
    api: &Api,
    server: Option<&InProcessServer>,
) -> Result<()> {
    let operator = api.operator.clone().context("no operator token")?;
    let tag = format!("load {} {}", test.seed, std::process::id());
    let market = open_market(api, &operator, test.clients, SessionKind::Rolling, &tag).await?;
    eprintln!(
        "loadtest: {} clients, {} per submit, {} s, seed {}, session {}",
        test.clients,
        test.batch,
        test.duration.as_secs_f64(),
        test.seed,
        market.session
    );
    let backend = match (server, &test.target) {
        (Some(s), _) => s.backend(),
        _ => "remote",
    };
    let raw_choice = test.raw_store.clone().unwrap_or_else(|| match backend {
        "postgres" => "postgres".to_owned(),
        _ => "sqlite".to_owned(),
    });
    let raw = if raw_choice == "none" {
        None
    } else {
        // Measured before the load, on a fresh database, so the database server is not still
        // busy with the load's writes (PostgreSQL's checkpoints) when it runs.
        eprintln!("loadtest: measuring the store's raw append rate ({raw_choice})");
        let scratch = ScratchDatabase::create(&raw_choice, "raw").await?;
        let rate = raw_append_rate(&scratch.url).await;
        scratch.remove().await;
        Some((raw_choice, rate?))
    };

    let plan = Plan {
        kind: SessionKind::Rolling,
        batch: Batching::Every(test.batch),
        cancel_percent: test.cancel_percent,
        read_percent: test.read_percent,
        seed: test.seed,
        until: Until::Deadline(Instant::now() + test.duration),
        retry: Retry::UntilAnswered {
            grace: Duration::from_secs(30),
        },
    };
    let outcome = drive(api, &market, &plan, None).await;
    let check = check_exactly_once(api, &operator, &market, &outcome).await?;

    print!("{}", outcome.table());
    let orders_per_s = outcome.orders_acknowledged() as f64 / outcome.elapsed.as_secs_f64();
    println!(
        "orders acknowledged: {} in {:.1} s = {:.0} orders/s ({backend}, {} clients, {} per request); {} retries",
        outcome.orders_acknowledged(),
        outcome.elapsed.as_secs_f64(),
        orders_per_s,
        test.clients,
        test.batch,
        outcome.retries,
    );
    if let Some((choice, raw)) = &raw {
        println!(
            "raw store append ({choice}, batches of {RAW_BATCH} orders): {raw:.0} orders/s; over HTTP: {:.1}% of it",
            100.0 * orders_per_s / raw
        );
    }
    println!("{check}");
    print_targets(
        test,
        backend,
        &outcome,
        orders_per_s,
        raw.as_ref().map(|r| r.1),
    );
    if !check.passed() {
        bail!("exactly-once check failed: {check}");
    }
    Ok(())
}

/// The targets on this machine, said as met or missed (never enforced: a load test
/// reports what it saw).
fn print_targets(
    test: &LoadTest,
    backend: &str,
    outcome: &Outcome,
    orders_per_s: f64,
    raw: Option<f64>,
) {
    if test.batch == 1 && backend == "sqlite" {
        let p99_ms = outcome
            .latencies
            .get(ROUTE_SUBMIT)
            .map_or(f64::NAN, |l| percentile_ms(l, 0.99));
        let met = orders_per_s >= 10_000.0 && p99_ms <= 10.0;
        println!(
            "target single orders ≥ 10,000/s with p99 ≤ 10 ms on SQLite: {} ({orders_per_s:.0}/s, p99 {p99_ms:.2} ms)",
            if met { "met" } else { "missed" }
        );
    }
    if let (true, Some(raw)) = (test.batch > 1, raw) {
        let share = 100.0 * orders_per_s / raw;
        println!(
            "target batched orders ≥ 50% of the store's raw append rate: {} ({share:.1}%)",
            if share >= 50.0 { "met" } else { "missed" }
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// JSON over HTTP to one server: `base` is `http://host:port/api/v1`.
#[derive(Clone)]
pub(crate) struct Api {
    client: reqwest::Client,
    base: String,
    operator: Option<String>,
}

/// A reply: its status and its JSON body (`null` when it had none or it was not JSON).
pub(crate) type Reply = (StatusCode, Value);

impl Api {
    /// A client of the server at `url` (`http://host:port`, with or without `/api/v1`), whose
    /// requests give up after `timeout`.
    pub(crate) fn new(url: &str, timeout: Duration) -> Result<Api> {
        let root = url.trim_end_matches('/').trim_end_matches("/api/v1");
        if !root.starts_with("http://") && !root.starts_with("https://") {
            bail!("--url must start with http:// or https://, not {url:?}");
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(1024)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Api {
            client,
            base: format!("{root}/api/v1"),
            operator: None,
        })
    }

    fn with_operator(mut self, token: &str) -> Api {
        self.operator = Some(token.to_owned());
        self
    }

    /// The server's root (`http://host:port`).
    pub(crate) fn root(&self) -> &str {
        self.base.trim_end_matches("/api/v1")
    }

    /// Sends one request under `/api/v1` as `token`.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// POSTs and insists on a 2xx reply.
    pub(crate) async fn post_ok(&self, path: &str, token: &str, body: &Value) -> Result<Value> {
        let (status, reply) = self
            .send(Method::POST, path, token, Some(body), None)
            .await
            .with_context(|| format!("POST {path}"))?;
        if !status.is_success() {
            bail!("POST {path}: {status}: {reply}");
        }
        Ok(reply)
    }

    /// POSTs CSV text and insists on a 2xx reply.
    pub(crate) async fn post_text_ok(&self, path: &str, token: &str, csv: String) -> Result<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = response.status();
        let reply: Value = serde_json::from_slice(&response.bytes().await?).unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path}: {status}: {reply}");
        }
        Ok(reply)
    }

    /// Moves a session through `actions` (`announce`, `open`, `close`, `clear`, `publish`) as
    /// the operator.
    pub(crate) async fn session_actions(
        &self,
        session: u64,
        operator: &str,
        actions: &[&str],
    ) -> Result<()> {
        for action in actions {
            self.post_ok(
                &format!("/sessions/{session}/{action}"),
                operator,
                &Value::Null,
            )
            .await?;
        }
        Ok(())
    }

    /// GETs and insists on a 2xx reply.
    pub(crate) async fn get_ok(&self, path: &str, token: &str) -> Result<Value> {
        let (status, reply) = self
            .send(Method::GET, path, token, None, None)
            .await
            .with_context(|| format!("GET {path}"))?;
        if !status.is_success() {
            bail!("GET {path}: {status}: {reply}");
        }
        Ok(reply)
    }

    /// Waits (up to `limit`) until `/healthz` answers.
    pub(crate) async fn wait_healthy(&self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let healthy = self
                .client
                .get(format!("{}/healthz", self.root()))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the server at {} did not answer /healthz in {limit:?}",
                    self.root()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The market

/// The trading mode of the session a load runs in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SessionKind {
    /// 滚动撮合 with sell and buy prices that never cross: every order rests, so the book's
    /// depth is worth reading and every cancel finds its order.
    Rolling,
    /// 集中竞价 with crossing prices, to be cleared after the load.
    CallAuction,
}

/// One participant of a load.
#[derive(Clone, Debug)]
pub(crate) struct Trader {
    pub(crate) id: u64,
    pub(crate) role: String,
    pub(crate) token: String,
    pub(crate) sells: bool,
}

/// The session and its participants.
#[derive(Clone, Debug)]
pub(crate) struct Market {
    pub(crate) session: u64,
    pub(crate) traders: Vec<Trader>,
}

/// The `POST /sessions` body of a round's session: Zhejiang, March 2024, hourly periods.
pub(crate) fn session_request(tag: &str, kind: SessionKind) -> Value {
    let mode = match kind {
        SessionKind::Rolling => "rolling",
        SessionKind::CallAuction => "call_auction",
    };
    json!({
        "name": format!("{tag} {mode}"), "scope": "intra", "provinces": ["ZJ"], "horizon": "month", "mode": mode,
        "first_month": "2024-03", "last_month": "2024-03", "energy_price_min": "300.00", "energy_price_max": "500.00",
        "lot_mwh": "0.001", "compensation": "50.00"})
}

/// Registers `traders` participants (generators and users, alternately) and opens a session
/// for them, as the operator. `tag` makes the names unique on a server used before.
pub(crate) async fn open_market(
    api: &Api,
    operator: &str,
    traders: usize,
    kind: SessionKind,
    tag: &str,
) -> Result<Market> {
    let session = api
        .post_ok("/sessions", operator, &session_request(tag, kind))
        .await?["id"]
        .as_u64()
        .context("no session id in the reply")?;
    api.session_actions(session, operator, &["announce", "open"])
        .await?;
    let mut list = Vec::with_capacity(traders);
    for c in 0..traders {
        let (role, sells) = if c % 2 == 0 {
            ("generator", true)
        } else {
            ("user", false)
        };
        let reply = api
            .post_ok(
                "/participants",
                operator,
                &json!({"name": format!("{tag} {role} {c}"), "role": role, "province": "ZJ"}),
            )
            .await?;
        list.push(Trader {
            id: reply["participant"]["id"]
                .as_u64()
                .context("no participant id")?,
            role: role.to_owned(),
            token: reply["token"].as_str().context("no token")?.to_owned(),
            sells,
        });
    }
    Ok(Market {
        session,
        traders: list,
    })
}

/// A deterministic generator (SplitMix64): every client's choices follow from the run's seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; the modulo bias is negligible for small `n`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// One order's JSON body, in the exact strings the API stores and returns (3 decimals of MWh,
/// 2 of yuan/MWh). In a rolling session sells ask 400.00–449.99 and buys bid 300.00–349.99, so
/// nothing trades; in a call auction both sides lie in 360.00–439.99 and the auction clears.
pub(crate) fn order_body(rng: &mut Rng, sells: bool, kind: SessionKind) -> Value {
    let hour = rng.below(24) + 1;
    let kwh = 1_000 + rng.below(9_000);
    let fen = rng.below(5_000) as i64;
    let energy_fen = match (kind, sells) {
        (SessionKind::Rolling, true) => 40_000 + fen,
        (SessionKind::Rolling, false) => 30_000 + fen,
        (SessionKind::CallAuction, _) => 36_000 + fen * 8_000 / 5_000,
    };
    json!({"side": if sells { "sell" } else { "buy" }, "period": format!("h{hour:02}"),
           "mwh": format!("{}.{:03}", kwh / 1_000, kwh % 1_000),
           "energy_price": format!("{}.{:02}", energy_fen / 100, energy_fen % 100), "env_price": "20.00"})
}

// ---------------------------------------------------------------------------------------------
// The driver

/// How clients batch their orders.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Batching {
    /// Every client sends this many orders per submit (1: the single-order route).
    Every(usize),
    /// Even clients send single orders, odd ones batches of this size.
    Mixed(usize),
}

/// When clients stop.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Until {
    /// At this moment.
    Deadline(Instant),
    /// When a request fails (the server was killed): the request is kept as unanswered.
    Failure,
}

/// What a client does when a request gets no answer (a timeout, a dropped connection, a 503).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Retry {
    /// Send it again with the same idempotency key until answered, for up to `grace` after the
    /// deadline; then keep it as unanswered.
    UntilAnswered { grace: Duration },
    /// Keep it as unanswered and stop the client (the fault test retries after the restart).
    Never,
}

/// What the clients do.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) kind: SessionKind,
    pub(crate) batch: Batching,
    pub(crate) cancel_percent: u32,
    pub(crate) read_percent: u32,
    pub(crate) seed: u64,
    pub(crate) until: Until,
    pub(crate) retry: Retry,
}

/// The routes, as the report names them.
pub(crate) const ROUTE_SUBMIT: &str = "POST /sessions/{id}/orders";
const ROUTE_BATCH: &str = "POST /sessions/{id}/orders/batch";
const ROUTE_CANCEL: &str = "DELETE /sessions/{id}/orders/{order}";
const ROUTE_DEPTH: &str = "GET /sessions/{id}/depth";
const ROUTE_SESSION: &str = "GET /sessions/{id}";
const ROUTE_OWN_ORDERS: &str = "GET /sessions/{id}/orders";
/// Orders per page of a client's read of its own.
const OWN_ORDERS_PAGE: u32 = 100;

/// An order the server acknowledged, with what it was sent as.
#[derive(Clone, Debug)]
pub(crate) struct Acknowledged {
    pub(crate) id: u64,
    pub(crate) participant: u64,
    /// Its fields as [`fields_of`] writes them: one short string, not the JSON body, so that a
    /// million acknowledged orders do not cost the driver (in the server's process) gigabytes.
    pub(crate) fields: String,
}

/// The fields an order is compared on, side, period, MWh and both prices, as one string.
pub(crate) fn fields_of(order: &Value) -> String {
    let text = |f: &str| order[f].as_str().unwrap_or("?");
    format!(
        "{} {} {} {} {}",
        text("side"),
        text("period"),
        text("mwh"),
        text("energy_price"),
        text("env_price")
    )
}

/// A write sent without an answer: what a retry after a restart must send again.
#[derive(Clone, Debug)]
pub(crate) struct Unanswered {
    pub(crate) client: usize,
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) body: Option<Value>,
    pub(crate) key: String,
    /// The orders it submits (none for a cancel).
    pub(crate) orders: Vec<Value>,
    /// The order it cancels.
    pub(crate) cancels: Option<u64>,
}

/// What the clients did and saw.
#[derive(Default, Debug)]
pub(crate) struct Outcome {
    /// Latencies in µs per route, from the first send to the answer (retries included).
    pub(crate) latencies: BTreeMap<&'static str, Vec<u32>>,
    /// Answers that were not a success, per route (after any retries).
    pub(crate) errors: BTreeMap<&'static str, u64>,
    /// The first few of those, to show.
    pub(crate) error_samples: Vec<String>,
    pub(crate) retries: u64,
    pub(crate) acknowledged: Vec<Acknowledged>,
    /// Orders whose cancel was acknowledged.
    pub(crate) cancelled: Vec<u64>,
    pub(crate) unanswered: Vec<Unanswered>,
    pub(crate) elapsed: Duration,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        for (route, mut l) in other.latencies {
            self.latencies.entry(route).or_default().append(&mut l);
        }
        for (route, n) in other.errors {
            *self.errors.entry(route).or_default() += n;
        }
        let room = 10usize.saturating_sub(self.error_samples.len());
        self.error_samples
            .extend(other.error_samples.into_iter().take(room));
        self.retries += other.retries;
        self.acknowledged.extend(other.acknowledged);
        self.cancelled.extend(other.cancelled);
        self.unanswered.extend(other.unanswered);
    }

    /// Orders acknowledged in all.
    pub(crate) fn orders_acknowledged(&self) -> usize {
        self.acknowledged.len()
    }

    fn error(&mut self, route: &'static str, what: String) {
        *self.errors.entry(route).or_default() += 1;
        if self.error_samples.len() < 10 {
            self.error_samples.push(format!("{route}: {what}"));
        }
    }

    /// The per-route table.
    pub(crate) fn table(&self) -> String {
        let seconds = self.elapsed.as_secs_f64();
        let mut out = format!(
            "{:<38} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}\n",
            "route", "requests", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors"
        );
        let mut routes: Vec<&str> = self.latencies.keys().copied().collect();
        routes.extend(
            self.errors
                .keys()
                .filter(|r| !self.latencies.contains_key(*r)),
        );
        for route in routes {
            let mut latencies = self.latencies.get(route).cloned().unwrap_or_default();
            latencies.sort_unstable();
            out.push_str(&format!(
                "{route:<38} {:>9} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7}\n",
                latencies.len(),
                latencies.len() as f64 / seconds,
                percentile_ms(&latencies, 0.5),
                percentile_ms(&latencies, 0.99),
                percentile_ms(&latencies, 0.999),
                percentile_ms(&latencies, 1.0),
                self.errors.get(route).copied().unwrap_or(0),
            ));
        }
        for sample in &self.error_samples {
            out.push_str(&format!("  error: {sample}\n"));
        }
        out
    }
}

/// The `q` quantile of latencies in µs (sorted or not), in ms: the smallest value with at least
/// `q` of them at or below it. NaN when there are none.
pub(crate) fn percentile_ms(latencies_us: &[u32], q: f64) -> f64 {
    if latencies_us.is_empty() {
        return f64::NAN;
    }
    let mut sorted = latencies_us.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1_000.0
}

/// Runs every trader's client under `plan` until it stops; `progress`, if given, counts the
/// orders acknowledged so far (the fault test waits on it before it kills).
pub(crate) async fn drive(
    api: &Api,
    market: &Market,
    plan: &Plan,
    progress: Option<Arc<std::sync::atomic::AtomicUsize>>,
) -> Outcome {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(market.traders.len());
    for (c, trader) in market.traders.iter().enumerate() {
        let client = Client {
            api: api.clone(),
            index: c,
            trader: trader.clone(),
            session: market.session,
            plan: plan.clone(),
            rng: Rng::new(plan.seed ^ (c as u64).wrapping_mul(0xA076_1D64_78BD_642F)),
            progress: progress.clone(),
        };
        tasks.push(tokio::spawn(client.run()));
    }
    let mut outcome = Outcome::default();
    for task in tasks {
        match task.await {
            Ok(o) => outcome.merge(o),
            Err(e) => outcome.error("client", format!("a client task failed: {e}")),
        }
    }
    outcome.elapsed = started.elapsed();
    outcome
}

struct Client {
    api: Api,
    index: usize,
    trader: Trader,
    session: u64,
    plan: Plan,
    rng: Rng,
    progress: Option<Arc<std::sync::atomic::AtomicUsize>>,
}

/// How one request ended.
enum Sent {
    Answered(Reply),
    /// No answer; the client stops (the server is gone, or the grace is over).
    Unanswered,
}

impl Client {
    fn batch(&self) -> usize {
        match self.plan.batch {
            Batching::Every(n) => n,
            Batching::Mixed(n) if self.index % 2 == 1 => n,
            Batching::Mixed(_) => 1,
        }
    }

    fn done(&self) -> bool {
        match self.plan.until {
            Until::Deadline(at) => Instant::now() >= at,
            Until::Failure => false,
        }
    }

    async fn run(mut self) -> Outcome {
        let mut outcome = Outcome::default();
        let mut live: Vec<u64> = Vec::new();
        let session = self.session;
        for n in 0u64.. {
            if self.done() {
                break;
            }
            let dice = self.rng.below(100) as u32;
            let key = format!("c{}-n{n}", self.index);
            let keep_going = if dice < self.plan.cancel_percent && !live.is_empty() {
                let order = live.swap_remove(self.rng.below(live.len() as u64) as usize);
                let path = format!("/sessions/{session}/orders/{order}");
                let write = Unanswered {
                    client: self.index,
                    method: Method::DELETE,
                    path,
                    body: None,
                    key,
                    orders: Vec::new(),
                    cancels: Some(order),
                };
                match self.send(ROUTE_CANCEL, &write, &mut outcome).await {
                    Sent::Answered((status, _)) if status.is_success() => {
                        outcome.cancelled.push(order);
                        true
                    }
                    Sent::Answered((status, reply)) => {
                        outcome.error(ROUTE_CANCEL, format!("{status} {reply}"));
                        true
                    }
                    Sent::Unanswered => {
                        outcome.unanswered.push(write);
                        false
                    }
                }
            } else if dice < self.plan.cancel_percent + self.plan.read_percent {
                self.read(&mut outcome).await
            } else {
                let batch = self.batch();
                let orders: Vec<Value> = (0..batch)
                    .map(|_| order_body(&mut self.rng, self.trader.sells, self.plan.kind))
                    .collect();
                let (route, path, body) = if batch == 1 {
                    (
                        ROUTE_SUBMIT,
                        format!("/sessions/{session}/orders"),
                        orders[0].clone(),
                    )
                } else {
                    (
                        ROUTE_BATCH,
                        format!("/sessions/{session}/orders/batch"),
                        json!({ "orders": orders }),
                    )
                };
                let write = Unanswered {
                    client: self.index,
                    method: Method::POST,
                    path,
                    body: Some(body),
                    key,
                    orders,
                    cancels: None,
                };
                match self.send(route, &write, &mut outcome).await {
                    Sent::Answered((status, reply)) if status.is_success() => {
                        let acked = acknowledged_orders(&write, &reply, self.trader.id);
                        match acked {
                            Ok(acked) => {
                                live.extend(acked.iter().map(|a| a.id));
                                if let Some(p) = &self.progress {
                                    p.fetch_add(acked.len(), std::sync::atomic::Ordering::Relaxed);
                                }
                                outcome.acknowledged.extend(acked);
                            }
                            Err(e) => outcome.error(route, e),
                        }
                        true
                    }
                    Sent::Answered((status, reply)) => {
                        outcome.error(route, format!("{status} {reply}"));
                        true
                    }
                    Sent::Unanswered => {
                        outcome.unanswered.push(write);
                        false
                    }
                }
            };
            if !keep_going {
                break;
            }
        }
        outcome
    }

    /// One read: the book's depth (rolling) or the session, and now and then the first page
    /// of the client's own orders (`limit`, as a client of a session of a million orders reads
    /// them).
    async fn read(&mut self, outcome: &mut Outcome) -> bool {
        let session = self.session;
        let (route, path) = match (self.rng.below(10), self.plan.kind) {
            (0, _) => (
                ROUTE_OWN_ORDERS,
                format!("/sessions/{session}/orders?limit={OWN_ORDERS_PAGE}"),
            ),
            (1..=5, SessionKind::Rolling) => (
                ROUTE_DEPTH,
                format!(
                    "/sessions/{session}/depth?period=h{:02}",
                    self.rng.below(24) + 1
                ),
            ),
            _ => (ROUTE_SESSION, format!("/sessions/{session}")),
        };
        let started = Instant::now();
        match self
            .api
            .send(Method::GET, &path, &self.trader.token, None, None)
            .await
        {
            Ok((status, reply)) => {
                record(outcome, route, started);
                if !status.is_success() {
                    outcome.error(route, format!("{status} {reply}"));
                }
                true
            }
            // With `Retry::Never` the server is expected to die: a read it never answered
            // just ends the client.
            Err(e) => match self.plan.retry {
                Retry::Never => false,
                Retry::UntilAnswered { .. } => {
                    outcome.error(route, e.to_string());
                    !self.done()
                }
            },
        }
    }

    /// Sends a write, and again with the same key while it gets no answer (as the plan allows).
    async fn send(&self, route: &'static str, write: &Unanswered, outcome: &mut Outcome) -> Sent {
        let started = Instant::now();
        for attempt in 0u32.. {
            if attempt > 0 {
                outcome.retries += 1;
                let pause_ms = u64::from(attempt.min(25)) * 20;
                tokio::time::sleep(Duration::from_millis(pause_ms)).await;
            }
            let sent = self
                .api
                .send(
                    write.method.clone(),
                    &write.path,
                    &self.trader.token,
                    write.body.as_ref(),
                    Some(&write.key),
                )
                .await;
            let retryable = match &sent {
                Ok((status, _)) => status.is_server_error(),
                Err(_) => true,
            };
            if !retryable {
                record(outcome, route, started);
                return Sent::Answered(sent.expect("checked above"));
            }
            let give_up = match (self.plan.retry, self.plan.until) {
                (Retry::Never, _) => true,
                (Retry::UntilAnswered { grace }, Until::Deadline(at)) => {
                    Instant::now() > at + grace
                }
                (Retry::UntilAnswered { .. }, Until::Failure) => attempt >= 50,
            };
            if give_up {
                return Sent::Unanswered;
            }
        }
        unreachable!("the loop returns")
    }
}

fn record(outcome: &mut Outcome, route: &'static str, started: Instant) {
    let us = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
    outcome.latencies.entry(route).or_default().push(us);
}

/// The orders a successful submit acknowledged: the single route's `order.id`, or the batch's
/// items (every one must have been accepted: the generated orders are valid).
pub(crate) fn acknowledged_orders(
    write: &Unanswered,
    reply: &Value,
    participant: u64,
) -> Result<Vec<Acknowledged>, String> {
    if write.orders.len() == 1 && !write.path.ends_with("/batch") {
        let id = reply["order"]["id"]
            .as_u64()
            .ok_or_else(|| format!("no order id in {reply}"))?;
        return Ok(vec![Acknowledged {
            id,
            participant,
            fields: fields_of(&write.orders[0]),
        }]);
    }
    let items = reply["items"]
        .as_array()
        .ok_or_else(|| format!("no items in {reply}"))?;
    if items.len() != write.orders.len() {
        return Err(format!(
            "{} items for {} orders",
            items.len(),
            write.orders.len()
        ));
    }
    items
        .iter()
        .zip(&write.orders)
        .map(|(item, body)| match item["order"].as_u64() {
            Some(id) => Ok(Acknowledged {
                id,
                participant,
                fields: fields_of(body),
            }),
            None => Err(format!("order refused in a batch: {item}")),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The exactly-once check

/// What reading the session's orders back found.
#[derive(Debug, Default)]
pub(crate) struct Check {
    pub(crate) acknowledged: usize,
    /// Acknowledged orders found once, as sent.
    pub(crate) stored_once: usize,
    /// Acknowledged orders not stored.
    pub(crate) lost: Vec<u64>,
    /// Stored orders of the load's participants that no acknowledgement or unanswered request
    /// accounts for, plus ids stored more than once.
    pub(crate) duplicated: usize,
    /// Acknowledged orders stored with other fields than sent.
    pub(crate) mismatched: Vec<u64>,
    pub(crate) cancels: usize,
    /// Acknowledged cancels whose order is still live.
    pub(crate) cancels_lost: Vec<u64>,
    /// Orders of requests never answered (each stored at most once, so not counted as lost).
    pub(crate) unanswered_orders: usize,
}

impl Check {
    pub(crate) fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated == 0
            && self.mismatched.is_empty()
            && self.cancels_lost.is_empty()
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exactly-once: {} acknowledged orders, {} stored once, {} lost, {} duplicated, {} mismatched; \
             {} acknowledged cancels, {} not applied; {} orders in unanswered requests — {}",
            self.acknowledged,
            self.stored_once,
            self.lost.len(),
            self.duplicated,
            self.mismatched.len(),
            self.cancels,
            self.cancels_lost.len(),
            self.unanswered_orders,
            if self.passed() { "ok" } else { "FAILED" }
        )?;
        if let Some(id) = self.lost.first() {
            write!(f, " (first lost: order {id})")?;
        }
        if let Some(id) = self.mismatched.first() {
            write!(f, " (first mismatched: order {id})")?;
        }
        if let Some(id) = self.cancels_lost.first() {
            write!(f, " (first cancel not applied: order {id})")?;
        }
        Ok(())
    }
}

/// Orders per page when the session's orders are read back (the API's largest page).
const STORED_PAGE: usize = 10_000;

/// The session's orders as the operator sees them (all of them, in a rolling session or a call
/// auction before clearing), read a page at a time: one reply of millions of orders would outlast
/// the client's timeout and hold the session's readers meanwhile.
pub(crate) async fn stored_orders(api: &Api, operator: &str, session: u64) -> Result<Vec<Value>> {
    let mut orders = Vec::new();
    let mut after = String::new();
    loop {
        let path = format!("/sessions/{session}/orders?limit={STORED_PAGE}{after}");
        let page = match api.get_ok(&path, operator).await? {
            Value::Array(page) => page,
            other => bail!("the orders of session {session} are not a list: {other}"),
        };
        let full = page.len() == STORED_PAGE;
        let last = page.last().and_then(|o| o["id"].as_u64());
        orders.extend(page);
        match last {
            Some(last) if full => after = format!("&after={last}"),
            _ => return Ok(orders),
        }
    }
}

/// Reads the session's orders back and checks every acknowledged order is stored once, as sent,
/// and every acknowledged cancel applied.
pub(crate) async fn check_exactly_once(
    api: &Api,
    operator: &str,
    market: &Market,
    outcome: &Outcome,
) -> Result<Check> {
    let stored = stored_orders(api, operator, market.session).await?;
    Ok(compare(&stored, market, outcome))
}

/// [`check_exactly_once`] on orders already read.
pub(crate) fn compare(stored: &[Value], market: &Market, outcome: &Outcome) -> Check {
    let ours: HashSet<u64> = market.traders.iter().map(|t| t.id).collect();
    let mut by_id: HashMap<u64, &Value> = HashMap::new();
    let mut check = Check {
        acknowledged: outcome.acknowledged.len(),
        cancels: outcome.cancelled.len(),
        unanswered_orders: outcome.unanswered.iter().map(|u| u.orders.len()).sum(),
        ..Check::default()
    };
    for order in stored {
        let (Some(id), Some(participant)) = (order["id"].as_u64(), order["participant"].as_u64())
        else {
            check.duplicated += 1;
            continue;
        };
        if !ours.contains(&participant) {
            continue;
        }
        if by_id.insert(id, order).is_some() {
            check.duplicated += 1;
        }
    }
    let mut accounted: HashSet<u64> = HashSet::new();
    for acked in &outcome.acknowledged {
        if !accounted.insert(acked.id) {
            // Two acknowledgements named one order: one request acted twice or two shared it.
            check.duplicated += 1;
            continue;
        }
        match by_id.get(&acked.id) {
            None => check.lost.push(acked.id),
            Some(stored) => {
                let same = fields_of(stored) == acked.fields
                    && stored["participant"].as_u64() == Some(acked.participant);
                if same {
                    check.stored_once += 1;
                } else {
                    check.mismatched.push(acked.id);
                }
            }
        }
    }
    let unexplained = by_id.keys().filter(|id| !accounted.contains(id)).count();
    check.duplicated += unexplained.saturating_sub(check.unanswered_orders);
    for order in &outcome.cancelled {
        let still_live = by_id
            .get(order)
            .is_some_and(|o| o["live_mwh"].as_str().is_some_and(|m| m != "0.000"));
        if still_live {
            check.cancels_lost.push(*order);
        }
    }
    check
}

// ---------------------------------------------------------------------------------------------
// The store's raw rate

/// Orders per group commit in [`raw_append_rate`] (as `cargo test -p store --test it rate`).
pub(crate) const RAW_BATCH: u64 = 500;
/// Group commits in [`raw_append_rate`].
const RAW_BATCHES: u64 = 100;

/// Orders per second the store commits when handed batches of [`RAW_BATCH`] order submissions
/// (journal entries and their orders) directly, on the database at `url`.
pub(crate) async fn raw_append_rate(url: &str) -> Result<f64> {
    use domain::{Kwh, Order, OrderId, Participant, Period, Price, Province, Role, Side};
    use domain::{TimeInForce, TwoPartPrice};
    use exchange::session::Command;

    let store = Store::connect(url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    store.migrate().await?;
    let province = Province::parse("ZJ")?;
    let generator = store
        .insert_participant(
            &store::NewParticipant {
                name: "raw append generator".to_owned(),
                role: Role::Generator,
                province: province.clone(),
            },
            0,
        )
        .await?;
    // The settings of the load's session, as the API builds them.
    let request: api::dto::NewSessionRequest =
        serde_json::from_value(session_request("raw append", SessionKind::Rolling))?;
    let settings = request
        .parse()
        .map_err(|e| anyhow::anyhow!("the session's settings: {}", e.message))?;
    let session = store.insert_session("raw append", &settings, 0).await?;
    let by = Participant {
        id: generator.id,
        name: generator.name.clone(),
        role: Role::Generator,
        province,
    };
    let batches: Vec<store::Batch> = (0..RAW_BATCHES)
        .map(|b| {
            let mut batch = store::Batch::new(session);
            for seq in 1 + b * RAW_BATCH..1 + (b + 1) * RAW_BATCH {
                let period = Period((seq % 24) as u16);
                let volume = Kwh(1_000 * (1 + (seq % 7) as i64));
                let price = TwoPartPrice {
                    energy: Price(40_000 + (seq % 100) as i64),
                    environment: Price(2_000),
                };
                let at_ms = 1_740_000_000_000 + seq as i64;
                batch.entries.push(store::JournalEntry {
                    seq,
                    at_ms,
                    command: Command::SubmitOrder {
                        by: by.clone(),
                        side: Side::Sell,
                        period,
                        volume,
                        price,
                        time_in_force: TimeInForce::Limit,
                    },
                });
                batch.orders.push(Order {
                    id: OrderId(seq),
                    participant: by.id,
                    side: Side::Sell,
                    period,
                    volume,
                    price,
                    time_in_force: TimeInForce::Limit,
                    submitted_at_ms: at_ms,
                });
            }
            batch
        })
        .collect();
    let started = Instant::now();
    for batch in &batches {
        store.append(batch).await?;
    }
    let elapsed = started.elapsed();
    let stored = store.orders(session).await?.len() as u64;
    store.close().await;
    if stored != RAW_BATCH * RAW_BATCHES {
        bail!(
            "the raw append stored {stored} orders, not {}",
            RAW_BATCH * RAW_BATCHES
        );
    }
    Ok((RAW_BATCH * RAW_BATCHES) as f64 / elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trader(id: u64) -> Trader {
        Trader {
            id,
            role: "generator".to_owned(),
            token: String::new(),
            sells: true,
        }
    }

    fn body(mwh: &str) -> Value {
        json!({"side": "sell", "period": "h01", "mwh": mwh, "energy_price": "400.00", "env_price": "20.00"})
    }

    fn stored(id: u64, participant: u64, mwh: &str, live: Option<&str>) -> Value {
        let mut order = body(mwh);
        order["id"] = json!(id);
        order["participant"] = json!(participant);
        order["live_mwh"] = json!(live);
        order
    }

    fn acked(id: u64, mwh: &str) -> Acknowledged {
        Acknowledged {
            id,
            participant: 7,
            fields: fields_of(&body(mwh)),
        }
    }

    fn check(stored: &[Value], outcome: &Outcome) -> Check {
        let market = Market {
            session: 1,
            traders: vec![trader(7)],
        };
        compare(stored, &market, outcome)
    }

    #[test]
    fn every_acknowledged_order_stored_once_passes() {
        let outcome = Outcome {
            acknowledged: vec![acked(3, "1.000"), acked(4, "2.500")],
            cancelled: vec![4],
            ..Outcome::default()
        };
        let found = check(
            &[
                stored(3, 7, "1.000", Some("1.000")),
                stored(4, 7, "2.500", None),
                // Someone else's order is not the load's business.
                stored(5, 8, "9.000", Some("9.000")),
            ],
            &outcome,
        );
        assert!(found.passed(), "{found}");
        assert_eq!((found.acknowledged, found.stored_once), (2, 2));
    }

    #[test]
    fn lost_duplicated_mismatched_and_unapplied_cancels_are_counted() {
        let outcome = Outcome {
            acknowledged: vec![acked(3, "1.000"), acked(4, "2.500"), acked(6, "1.000")],
            cancelled: vec![3],
            ..Outcome::default()
        };
        let found = check(
            &[
                stored(3, 7, "1.000", Some("1.000")),
                stored(4, 7, "2.000", Some("2.000")),
                stored(9, 7, "1.000", Some("1.000")),
            ],
            &outcome,
        );
        assert!(!found.passed());
        assert_eq!(found.lost, vec![6]);
        assert_eq!(found.mismatched, vec![4]);
        assert_eq!(found.duplicated, 1);
        assert_eq!(found.cancels_lost, vec![3]);
        assert!(
            found
                .to_string()
                .ends_with("(first cancel not applied: order 3)"),
            "{found}"
        );
    }

    #[test]
    fn an_order_of_an_unanswered_request_is_not_a_duplicate() {
        let outcome = Outcome {
            acknowledged: vec![acked(3, "1.000")],
            unanswered: vec![Unanswered {
                client: 0,
                method: Method::POST,
                path: "/sessions/1/orders".to_owned(),
                body: Some(body("1.000")),
                key: "c0-n1".to_owned(),
                orders: vec![body("1.000")],
                cancels: None,
            }],
            ..Outcome::default()
        };
        let once = [
            stored(3, 7, "1.000", Some("1.000")),
            stored(4, 7, "1.000", Some("1.000")),
        ];
        assert!(check(&once, &outcome).passed());
        let twice = [&once[..], &[stored(5, 7, "1.000", Some("1.000"))]].concat();
        assert_eq!(check(&twice, &outcome).duplicated, 1);
    }

    #[test]
    fn percentiles_are_ranks_of_the_sorted_latencies() {
        let latencies: Vec<u32> = (1..=1_000).rev().map(|ms| ms * 1_000).collect();
        // In whole µs, so no float is compared exactly.
        let us = |ms: f64| (ms * 1_000.0).round() as i64;
        assert_eq!(us(percentile_ms(&latencies, 0.5)), 500_000);
        assert_eq!(us(percentile_ms(&latencies, 0.99)), 990_000);
        assert_eq!(us(percentile_ms(&latencies, 0.999)), 999_000);
        assert_eq!(us(percentile_ms(&latencies, 1.0)), 1_000_000);
        assert_eq!(us(percentile_ms(&[7_000], 0.999)), 7_000);
        assert!(percentile_ms(&[], 0.5).is_nan());
    }

    #[test]
    fn generated_orders_are_exact_decimal_strings_inside_the_bounds() {
        let mut rng = Rng::new(1);
        for _ in 0..1_000 {
            for (sells, kind) in [
                (true, SessionKind::Rolling),
                (false, SessionKind::Rolling),
                (true, SessionKind::CallAuction),
            ] {
                let order = order_body(&mut rng, sells, kind);
                let volume = domain::Kwh::parse_mwh(order["mwh"].as_str().unwrap()).unwrap();
                assert!((1_000..10_000).contains(&volume.0), "{order}");
                let price = order["energy_price"].as_str().unwrap();
                let price = domain::Price::parse_yuan_per_mwh(price).unwrap();
                assert!((30_000..=50_000).contains(&price.0), "{order}");
                if kind == SessionKind::Rolling {
                    assert_eq!(
                        price.0 >= 40_000,
                        sells,
                        "rolling sides never cross: {order}"
                    );
                }
            }
        }
    }
}
