//! `lvdian faults`: rounds of load, SIGKILL and restart against the real `lvdian serve`
//! process, checking after each restart what a crash must not change.
//!
//! A round starts `lvdian serve` (this same executable) on the backend's database, opens a call
//! auction (集中竞价) for new participants and loads it with `loadtest`'s driver — single orders
//! and batches, cancels, reads, every write with an idempotency key — kills the server with
//! SIGKILL at a moment drawn from the seeded generator, and restarts it. Beside the orders, one
//! client transfers certificates (绿证) one per request, with keys, from a project registered,
//! metered and issued for the round (a month of its own per round). Then:
//! - every request left unanswered — orders, cancels, transfers — is sent again with its key (it
//!   must succeed) and once more (the same reply: it acted once);
//! - the buyer holds exactly one certificate per acknowledged transfer and the seller the rest
//!   of the month's issue (certificates conserved);
//! - every acknowledged order is stored exactly once, as sent, and every acknowledged cancel
//!   applied, with no order that no request accounts for;
//! - the session is closed and cleared by the server, and its contracts must equal an offline
//!   clear of the stored live orders by a fresh engine;
//! - after the server stops, `lvdian verify` (hash chain, conservation of certificates, stored
//!   snapshots) must pass.
//!
//! On PostgreSQL a killed server's backends may still be committing what it last sent, so
//! after a kill the round waits until the database has no other connection before it reads.

use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use domain::{Kwh, Participant, ParticipantId, Price, Role, SessionId, Side};
use exchange::session::{Command, Session, Stamp};
use reqwest::Method;
use serde_json::{Value, json};
use store::Store;

use crate::bench::ScratchDatabase;
use crate::loadtest::{
    Api, Batching, Market, Outcome, Plan, Retry, Rng, SessionKind, Until, acknowledged_orders,
    compare, drive, open_market, stored_orders,
};

/// What `lvdian faults` runs.
pub struct Faults {
    /// Rounds per backend.
    pub rounds: usize,
    /// `sqlite`, `postgres` or database URLs, in order.
    pub databases: Vec<String>,
    /// The seed of every choice (kill moments, clients' orders); random when absent.
    pub seed: Option<u64>,
    /// Participants per round, one client each.
    pub clients: usize,
    /// The kill lands up to this many ms after the round's first 25 acknowledged orders.
    pub kill_within_ms: u64,
}

/// Rounds per database at most: each issues certificates for a month of its own, counting
/// back from [`LAST_MONTH`].
pub const MAX_ROUNDS: usize = 300;
/// The production month of the first round's certificates.
const LAST_MONTH: (u16, u8) = (2026, 11);

/// Runs every round on every database; an error names the first round that failed and how.
pub fn run(faults: &Faults) -> Result<()> {
    if !(1..=MAX_ROUNDS).contains(&faults.rounds)
        || faults.clients < 2
        || faults.kill_within_ms == 0
    {
        bail!(
            "--rounds must be 1 to {MAX_ROUNDS}, --kill-within-ms positive and --clients at least 2"
        );
    }
    let seed = faults.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!("faults: seed {seed} (run again with --seed {seed})");
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for database in &faults.databases {
            let started = Instant::now();
            let scratch = ScratchDatabase::create(database, "faults").await?;
            let result = rounds(faults, &exe, &scratch.url, seed).await;
            scratch.remove().await;
            let totals = result.with_context(|| format!("faults on {database} (seed {seed})"))?;
            println!(
                "faults {database}: {} rounds ok in {:.1} s: {} orders acknowledged, {} cancels, {} certificates transferred, {} requests retried after a kill, {} contracts cleared as offline",
                faults.rounds,
                started.elapsed().as_secs_f64(),
                totals.orders,
                totals.cancels,
                totals.transfers,
                totals.retried,
                totals.contracts,
            );
        }
        Ok(())
    })
}

#[derive(Default)]
struct Totals {
    transfers: u64,
    orders: usize,
    cancels: usize,
    retried: usize,
    contracts: usize,
}

async fn rounds(faults: &Faults, exe: &std::path::Path, url: &str, seed: u64) -> Result<Totals> {
    let operator = create_operator(exe, url)?;
    let grid = {
        let server = Serve::start(exe, url).await?;
        let reply = server
            .api()?
            .post_ok(
                "/participants",
                &operator,
                &json!({"name": format!("faults grid {}", std::process::id()), "role": "grid", "province": "ZJ"}),
            )
            .await?;
        reply["token"]
            .as_str()
            .context("no token for the grid")?
            .to_owned()
    };
    let mut rng = Rng::new(seed);
    let mut totals = Totals::default();
    for round in 1..=faults.rounds {
        let round_seed = rng.next_u64();
        let kill_after = Duration::from_millis(rng.below(faults.kill_within_ms));
        let line = one_round(
            faults,
            exe,
            url,
            &operator,
            &grid,
            round,
            round_seed,
            kill_after,
            &mut totals,
        )
        .await
        .with_context(|| format!("round {round}"))?;
        println!("round {round}: {line}");
    }
    Ok(totals)
}

#[allow(clippy::too_many_arguments)]
async fn one_round(
    faults: &Faults,
    exe: &std::path::Path,
    url: &str,
    operator: &str,
    grid: &str,
    round: usize,
    seed: u64,
    kill_after: Duration,
    totals: &mut Totals,
) -> Result<String> {
    let mut server = Serve::start(exe, url).await?;
    let api = server.api()?;
    let tag = format!("faults {} round {round}", std::process::id());
    let market = open_market(
        &api,
        operator,
        faults.clients,
        SessionKind::CallAuction,
        &tag,
    )
    .await?;
    let plan = Plan {
        kind: SessionKind::CallAuction,
        batch: Batching::Mixed(20),
        cancel_percent: 10,
        read_percent: 5,
        seed,
        until: Until::Failure,
        retry: Retry::Never,
    };
    let certificates = issue_certificates(&api, operator, grid, &market, round).await?;
    let transfers = {
        let (api, certificates) = (api.clone(), certificates.clone());
        tokio::spawn(async move { certificates.transfer_until_failure(&api).await })
    };
    let progress = Arc::new(AtomicUsize::new(0));
    let load = {
        let (api, market, progress) = (api.clone(), market.clone(), Arc::clone(&progress));
        tokio::spawn(async move { drive(&api, &market, &plan, Some(progress)).await })
    };
    let waited = Instant::now();
    while progress.load(Ordering::Relaxed) < 25 {
        if waited.elapsed() > Duration::from_secs(60) || load.is_finished() {
            bail!("the server acknowledged fewer than 25 orders in 60 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(kill_after).await;
    server.kill().await?;
    let mut outcome = load.await.context("the load failed")?;
    let (transferred, unanswered_transfer) = transfers.await.context("the transfers failed")??;
    if !outcome.errors.is_empty() {
        bail!("requests failed before the kill:\n{}", outcome.table());
    }

    let mut server = Serve::start(exe, url).await?;
    let api = server.api()?;
    let mut retried = retry_unanswered(&api, &market, &mut outcome).await?;
    let transferred = transferred
        + match unanswered_transfer {
            Some(key) => {
                retried += 1;
                certificates.retry_transfer(&api, &key).await?
            }
            None => 0,
        };
    certificates.check_conserved(&api, transferred).await?;
    let stored = stored_orders(&api, operator, market.session).await?;
    let check = compare(&stored, &market, &outcome);
    if !check.passed() || check.acknowledged != check.stored_once {
        bail!("after the restart: {check}");
    }
    let contracts = clears_as_offline(&api, operator, &market, &stored).await?;
    api.session_actions(market.session, operator, &["publish"])
        .await?;
    server.kill().await?;
    verify(exe, url)?;

    totals.orders += check.acknowledged;
    totals.cancels += check.cancels;
    totals.retried += retried;
    totals.contracts += contracts;
    totals.transfers += transferred;
    Ok(format!(
        "killed {} ms after the 25th order; {} orders, {} cancels stored once, {transferred} of {} certificates transferred, {retried} unanswered retried once; {contracts} contracts as offline; verify ok",
        kill_after.as_millis(),
        check.acknowledged,
        check.cancels,
        certificates.issued,
    ))
}

/// A round's certificates: a project of the round's first generator with a month of meter data
/// of its own, issued; transferred one per request to the round's first user.
#[derive(Clone)]
struct RoundCertificates {
    project: String,
    month: String,
    issued: u64,
    seller: String,
    buyer: String,
    buyer_id: u64,
}

/// Registers the project, uploads its month of meter data (1,000 kWh every quarter-hour) as the
/// grid, and issues the month.
async fn issue_certificates(
    api: &Api,
    operator: &str,
    grid: &str,
    market: &Market,
    round: usize,
) -> Result<RoundCertificates> {
    let (seller, buyer) = (&market.traders[0], &market.traders[1]);
    let (year, month) = LAST_MONTH;
    let month = domain::YearMonth::new(year, month)?
        .minus_months(u32::try_from(round - 1)?)
        .context("no month for this round")?;
    let project = format!("{:017}", 33_010_000_000_000_000u64 + round as u64);
    let meter = format!("MF{round}");
    api.post_ok(
        "/projects",
        operator,
        &json!({"code": project, "technology": "wind_offshore", "capacity_kw": 300000,
                "province": "ZJ", "owner": seller.id, "meters": [meter]}),
    )
    .await?;
    let mut csv = String::from("meter,participant,start,kwh\n");
    for day in 1..=month.days() {
        for q in 0..96 {
            csv.push_str(&format!(
                "{meter},{},{month}-{day:02}T{:02}:{:02},1000\n",
                seller.id,
                q / 4,
                q % 4 * 15
            ));
        }
    }
    api.post_text_ok(&format!("/meters/{month}"), grid, csv)
        .await?;
    let issued = api
        .post_ok(
            "/certificates/issue",
            operator,
            &json!({"month": month.to_string()}),
        )
        .await?;
    let issued = issued["issued"][0]["certificates"]
        .as_u64()
        .with_context(|| format!("nothing issued: {issued}"))?;
    Ok(RoundCertificates {
        project,
        month: month.to_string(),
        issued,
        seller: seller.token.clone(),
        buyer: buyer.token.clone(),
        buyer_id: buyer.id,
    })
}

impl RoundCertificates {
    fn transfer(&self) -> Value {
        json!({"to": self.buyer_id, "project": self.project, "month": self.month, "count": 1, "price_yuan": "5.00"})
    }

    /// Transfers one certificate per request until a request is unanswered (the kill) or the
    /// issue is used up; the transfers acknowledged and the key left unanswered.
    async fn transfer_until_failure(&self, api: &Api) -> Result<(u64, Option<String>)> {
        let body = self.transfer();
        for n in 0..self.issued {
            let key = format!("t-n{n}");
            match api
                .send(
                    Method::POST,
                    "/certificates/transfer",
                    &self.seller,
                    Some(&body),
                    Some(&key),
                )
                .await
            {
                Ok((status, _)) if status.is_success() => {}
                Ok((status, reply)) if !status.is_server_error() => {
                    bail!("transfer {key} refused: {status} {reply}")
                }
                _ => return Ok((n, Some(key))),
            }
        }
        Ok((self.issued, None))
    }

    /// Sends the unanswered transfer again with its key, twice: it must succeed and answer the
    /// same both times. One more certificate transferred.
    async fn retry_transfer(&self, api: &Api, key: &str) -> Result<u64> {
        let body = self.transfer();
        let send = || {
            api.send(
                Method::POST,
                "/certificates/transfer",
                &self.seller,
                Some(&body),
                Some(key),
            )
        };
        let first = send().await?;
        if !first.0.is_success() {
            bail!(
                "the retry of transfer {key} was refused: {} {}",
                first.0,
                first.1
            );
        }
        let again = send().await?;
        if again != first {
            bail!("transfer {key} answered differently when sent again: {first:?} then {again:?}");
        }
        Ok(1)
    }

    /// The buyer holds one certificate per transfer, the seller the rest of the issue.
    async fn check_conserved(&self, api: &Api, transferred: u64) -> Result<()> {
        let held = async |token: &str| -> Result<u64> {
            let reply = api
                .get_ok(&format!("/certificates?month={}", self.month), token)
                .await?;
            let holdings = reply["holdings"].as_array().context("no holdings")?;
            Ok(holdings
                .iter()
                .filter(|h| h["project"] == self.project.as_str())
                .filter_map(|h| h["certificates"].as_u64())
                .sum())
        };
        let (buyer, seller) = (held(&self.buyer).await?, held(&self.seller).await?);
        if buyer != transferred || buyer + seller != self.issued {
            bail!(
                "certificates not conserved: {transferred} transfers acknowledged, the buyer holds {buyer}, the seller {seller}, {} issued",
                self.issued
            );
        }
        Ok(())
    }
}

/// Sends every unanswered request again with its key: it must succeed, and a second send must
/// get the same reply (the request acted once). Its orders and cancel then count as
/// acknowledged. Returns how many there were.
async fn retry_unanswered(api: &Api, market: &Market, outcome: &mut Outcome) -> Result<usize> {
    let unanswered = std::mem::take(&mut outcome.unanswered);
    for write in &unanswered {
        let trader = &market.traders[write.client];
        let send = || {
            api.send(
                write.method.clone(),
                &write.path,
                &trader.token,
                write.body.as_ref(),
                Some(&write.key),
            )
        };
        let first = send().await.context("a retry after the restart")?;
        if !first.0.is_success() {
            bail!(
                "the retry of {} {} (key {}) was refused: {} {}",
                write.method,
                write.path,
                write.key,
                first.0,
                first.1
            );
        }
        let again = send().await.context("a second retry")?;
        if again != first {
            bail!(
                "{} {} (key {}) answered differently when sent again: {} {} then {} {}",
                write.method,
                write.path,
                write.key,
                first.0,
                first.1,
                again.0,
                again.1
            );
        }
        match write.cancels {
            Some(order) => outcome.cancelled.push(order),
            None => outcome.acknowledged.extend(
                acknowledged_orders(write, &first.1, trader.id).map_err(anyhow::Error::msg)?,
            ),
        }
    }
    Ok(unanswered.len())
}

/// Closes and clears the session on the server, and checks its contracts equal those of a
/// fresh engine given the stored live orders in the same order. Returns the contracts made.
async fn clears_as_offline(
    api: &Api,
    operator: &str,
    market: &Market,
    stored: &[Value],
) -> Result<usize> {
    let session = market.session;
    api.session_actions(session, operator, &["close", "clear"])
        .await?;
    let contracts = api
        .get_ok(
            &format!("/contracts?session={session}&limit=10000"),
            operator,
        )
        .await?;
    let contracts = contracts
        .as_array()
        .context("the contracts are not a list")?;
    if contracts.len() >= 10_000 {
        bail!("more than one page of contracts: lower --clients or --kill-within-ms");
    }
    let got: Vec<Value> = contracts
        .iter()
        .map(|c| json!({"seller": c["seller"], "buyer": c["buyer"], "total_mwh": c["total_mwh"], "energy_price": c["energy_price"], "env_price": c["env_price"]}))
        .collect();
    // The session's settings as the server holds them, read back rather than written again.
    let view: api::dto::SessionView = serde_json::from_value(
        api.get_ok(&format!("/sessions/{session}"), operator)
            .await?,
    )
    .context("the session's view")?;
    let settings = view
        .settings
        .parse()
        .map_err(|e| anyhow::anyhow!("the session's settings: {}", e.message))?;
    let expected = offline_clear(market, settings, stored)?;
    if got != expected {
        bail!(
            "the server's clearing made {} contracts, the offline clear of the stored orders {}; first difference: {:?}",
            got.len(),
            expected.len(),
            got.iter()
                .zip(&expected)
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("{a} ≠ {b}"))
        );
    }
    Ok(got.len())
}

/// The contracts a fresh engine with the session's `settings` makes from the stored orders
/// still live, in id order.
fn offline_clear(
    market: &Market,
    settings: exchange::session::SessionSettings,
    stored: &[Value],
) -> Result<Vec<Value>> {
    let exchange::session::Scope::Intra(province) = settings.scope.clone() else {
        bail!("the round's session is not of one province");
    };
    let template = settings.template.clone();
    let mut session = Session::new(SessionId(market.session), settings)
        .map_err(|e| anyhow::anyhow!("reference session: {e:?}"))?;
    let mut seq = 0;
    let mut apply = |session: &mut Session, command: Command| {
        seq += 1;
        session
            .apply(command, Stamp { seq, at_ms: 0 })
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("the offline engine refused a command: {e:?}"))
    };
    apply(&mut session, Command::Announce)?;
    apply(&mut session, Command::Open)?;
    let mut live: Vec<&Value> = stored
        .iter()
        .filter(|o| o["live_mwh"].is_string())
        .collect();
    live.sort_by_key(|o| o["id"].as_u64());
    for o in live {
        let participant = o["participant"]
            .as_u64()
            .context("order without participant")?;
        let trader = market
            .traders
            .iter()
            .find(|t| t.id == participant)
            .with_context(|| {
                format!(
                    "order {} of participant {participant}, not of this round",
                    o["id"]
                )
            })?;
        let text = |field: &str| {
            o[field]
                .as_str()
                .with_context(|| format!("order {} without {field}", o["id"]))
        };
        let price = |field: &str| -> Result<Price> {
            Price::parse_yuan_per_mwh(text(field)?).map_err(|e| anyhow::anyhow!("{field}: {e}"))
        };
        let period = text("period")?;
        apply(
            &mut session,
            Command::SubmitOrder {
                by: Participant {
                    id: ParticipantId(participant),
                    name: String::new(),
                    role: trader
                        .role
                        .parse::<Role>()
                        .map_err(|e| anyhow::anyhow!("role: {e:?}"))?,
                    province: province.clone(),
                },
                side: if text("side")? == "sell" {
                    Side::Sell
                } else {
                    Side::Buy
                },
                period: template
                    .parse(period)
                    .map_err(|e| anyhow::anyhow!("period {period}: {e}"))?,
                volume: Kwh::parse_mwh(text("live_mwh")?)
                    .map_err(|e| anyhow::anyhow!("live_mwh: {e}"))?,
                price: domain::TwoPartPrice {
                    energy: price("energy_price")?,
                    environment: price("env_price")?,
                },
                time_in_force: domain::TimeInForce::Limit,
            },
        )?;
    }
    apply(&mut session, Command::Close)?;
    apply(&mut session, Command::Clear)?;
    Ok(session
        .contracts()
        .iter()
        .map(|c| json!({"seller": c.seller.0, "buyer": c.buyer.0, "total_mwh": c.total_volume().mwh().to_string(),
                        "energy_price": c.price.energy.to_string(), "env_price": c.price.environment.to_string()}))
        .collect())
}

/// `lvdian admin create-operator` on the database; its token.
fn create_operator(exe: &std::path::Path, url: &str) -> Result<String> {
    let output = Process::new(exe)
        .args(["admin", "create-operator", "--name"])
        .arg(format!("faults operator {}", std::process::id()))
        .args(["--database-url", url])
        .output()
        .context("cannot run lvdian admin create-operator")?;
    if !output.status.success() {
        bail!(
            "lvdian admin create-operator failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// `lvdian verify --db url` must pass.
fn verify(exe: &std::path::Path, url: &str) -> Result<()> {
    let output = Process::new(exe)
        .args(["verify", "--db", url])
        .output()
        .context("cannot run lvdian verify")?;
    if !output.status.success() {
        bail!(
            "lvdian verify failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// A running `lvdian serve`, killed when dropped.
struct Serve {
    child: Child,
    base: String,
    url: String,
}

impl Serve {
    /// Starts `lvdian serve` on a free port and waits (up to 60 s) for `/healthz`.
    async fn start(exe: &std::path::Path, url: &str) -> Result<Serve> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Process::new(exe)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", url])
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start lvdian serve")?;
        let mut serve = Serve {
            child,
            base: format!("http://127.0.0.1:{port}"),
            url: url.to_owned(),
        };
        let api = serve.api()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while api.wait_healthy(Duration::from_millis(200)).await.is_err() {
            if let Some(status) = serve.child.try_wait()? {
                bail!("lvdian serve exited at start: {status}");
            }
            if Instant::now() > deadline {
                bail!("lvdian serve did not answer /healthz in 60 s");
            }
        }
        Ok(serve)
    }

    fn api(&self) -> Result<Api> {
        Api::new(&self.base, Duration::from_secs(30))
    }

    /// SIGKILL; then, on PostgreSQL, waits (up to 30 s) until none of the dead process's
    /// connections can still commit.
    async fn kill(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        if !self.url.starts_with("postgres") {
            return Ok(());
        }
        let store = Store::connect(&self.url).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while store.other_connections().await? > 0 {
            if Instant::now() > deadline {
                bail!("the killed server's database connections did not end in 30 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        store.close().await;
        Ok(())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::session_request;

    /// The reference clear refuses an order of someone outside the round, rather than guess.
    #[test]
    fn offline_clear_names_a_stranger() {
        let market = Market {
            session: 1,
            traders: Vec::new(),
        };
        let stored = vec![json!({"id": 3, "participant": 9, "live_mwh": "1.000"})];
        let request: api::dto::NewSessionRequest =
            serde_json::from_value(session_request("test", SessionKind::CallAuction)).unwrap();
        let settings = request.parse().unwrap();
        let error = offline_clear(&market, settings, &stored)
            .unwrap_err()
            .to_string();
        assert!(error.contains("participant 9"), "{error}");
    }
}
