//! A province-year of green power through the service (issue 11, first cut): `sim`'s scenario
//! (population, calendar, agents) driven through the same code `lvdian serve` runs — the store,
//! the session hub and its sequencers, and the HTTP routes (in process) for meter uploads,
//! certificate issuance, monthly final settlement and claims — into a SQLite database.
//!
//! Sessions are driven through the hub (`SessionHandle::submit`, the path every trading route
//! takes after parsing its JSON), so the agents' engine commands need no JSON round trip; the
//! month close goes through the routes themselves. The clock is the scenario's: each session
//! runs on its planned date, each month closes on the first day of the next, so two runs with
//! the same seed write the same data.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use api::AppState;
use api::hub::Clock;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::{RetailContract, Role, YearMonth};
use exchange::session::{Command, Session};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use sim::year::{Calendar, Population, Positions, YearTargets, agents};
use store::{NewParticipant, Store};
use tower::ServiceExt;

/// What to run.
#[derive(Debug, Clone)]
pub struct YearRun {
    /// The scenario's seed.
    pub seed: u64,
    /// The years, in order (the market continues from one to the next).
    pub years: Vec<u16>,
    /// The size targets and the scale (1 = Zhejiang's size).
    pub targets: YearTargets,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Sessions run.
    pub sessions: usize,
    /// Commands accepted and refused by the sessions.
    pub accepted: usize,
    /// Commands refused.
    pub refused: usize,
    /// Months closed (meters, issuance, final settlement).
    pub months: usize,
    /// Settlement lines checked: each contract once a month, `C = D + S + losses` exactly.
    pub lines_checked: usize,
    /// Certificates issued, and of them held, claimed and cancelled, after the last month.
    pub certificates: registry::Totals,
    /// Where the time went.
    pub stages: Stages,
}

/// The wall time of each stage of a run, summed over the months.
#[derive(Debug, Clone, Default)]
pub struct Stages {
    /// Sessions: created, traded, cleared, published.
    pub sessions: std::time::Duration,
    /// The grid's meter files: written and uploaded.
    pub meters: std::time::Duration,
    /// Certificates issued.
    pub issue: std::time::Duration,
    /// Final settlements, with their certificate moves.
    pub settle: std::time::Duration,
    /// Buyers' claims.
    pub claims: std::time::Duration,
}

/// The scenario's clock: set by the driver, read by the service. A task that acts at another
/// time than the driver (the grid uploading next month's meter data while this month closes)
/// runs in a [`ACTING_AT`] scope, and the service reads that time in it.
#[derive(Debug, Default)]
struct ScenarioClock(AtomicI64);

tokio::task_local! {
    /// The time of the task's requests, when it is not the driver's.
    static ACTING_AT: i64;
}

impl Clock for ScenarioClock {
    fn now_ms(&self) -> i64 {
        ACTING_AT
            .try_with(|&at| at)
            .unwrap_or_else(|_| self.0.load(Ordering::Relaxed))
    }
}

/// 09:00 on the first day of the month after `month`: when the month closes.
fn closing_time(month: YearMonth) -> i64 {
    let close = month.plus_months(1).expect("a later month");
    sim::year::SimDate {
        year: close.year(),
        month: close.month(),
        day: 1,
    }
    .at_ms(9)
}

/// Runs the scenario into a new SQLite database at `db` (refused if the file exists).
pub async fn run(run: &YearRun, db: &Path) -> Result<(RunSummary, AppState)> {
    if db.exists() {
        bail!(
            "{} exists; the demo writes a new database (remove it, or choose another with --db)",
            db.display()
        );
    }
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let url = format!("sqlite:{}", db.display());
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot create {url}"))?;
    store.migrate().await?;
    let targets = run.targets.clone();
    let population = Arc::new(Population::generate(run.seed, &targets));
    let clock = Arc::new(ScenarioClock::default());
    let first = run
        .years
        .first()
        .copied()
        .ok_or_else(|| anyhow!("no year to run"))?;
    clock.0.store(
        sim::year::SimDate {
            year: first - 1,
            month: 11,
            day: 1,
        }
        .at_ms(9),
        Ordering::Relaxed,
    );
    let (operator, grid, buyers) = register(&store, &population, clock.now_ms()).await?;
    let app = AppState::load(store, Arc::clone(&clock) as Arc<dyn Clock>)
        .await
        .map_err(|e| anyhow!("{}", e.message))?;
    let router = api::router(app.clone());
    let http = Arc::new(Http {
        router,
        operator,
        grid,
        buyers,
    });
    let mut summary = RunSummary::default();
    for &year in &run.years {
        let calendar = Calendar::for_year(year, &population, &targets);
        let mut positions = Positions::new(&population, year, &targets);
        let bar = progress(
            calendar.sessions.len() as u64,
            &format!("{year} 交易场次 sessions"),
        );
        for planned in &calendar.sessions {
            let started = std::time::Instant::now();
            clock.0.store(planned.date.at_ms(9), Ordering::Relaxed);
            let (accepted, refused, contracts) =
                trade(&app, planned, &population, &positions).await?;
            positions.record(planned.settings.delivery, &contracts);
            summary.sessions += 1;
            summary.accepted += accepted;
            summary.refused += refused;
            summary.stages.sessions += started.elapsed();
            bar.inc(1);
        }
        bar.finish();
        let bar = progress(12, &format!("{year} 月结 month close"));
        // The grid's file of each month is written, and uploaded, while the month before
        // closes: meter data of one month is independent of the close of another.
        let months: Vec<YearMonth> = (1..=12)
            .map(|m| YearMonth::new(year, m).expect("a month"))
            .collect();
        let mut next = Some(upload(&http, meter_file(&population, months[0]), months[0]));
        for (k, &month) in months.iter().enumerate() {
            let started = std::time::Instant::now();
            next.take()
                .expect("the month's upload is under way")
                .await
                .context("the meter upload failed")??;
            summary.stages.meters += started.elapsed();
            next = months
                .get(k + 1)
                .map(|&m| upload(&http, meter_file(&population, m), m));
            clock.0.store(closing_time(month), Ordering::Relaxed);
            let report = close_month(&http, month, &mut summary.stages).await?;
            let contracts = app
                .hub
                .read_all(|sessions| market::delivering(sessions.iter().copied(), month));
            market::check_conservation(&report, &contracts).map_err(|e| anyhow!("{e}"))?;
            summary.lines_checked += report.lines.len();
            summary.months += 1;
            bar.inc(1);
        }
        bar.finish();
    }
    summary.certificates = app
        .certificates
        .read(|r| r.check_conservation())
        .await
        .map_err(|e| anyhow!("certificates are not conserved: {e}"))?;
    Ok((summary, app))
}

/// Registers the population (ids in the scenario's order, so they are the store's) with a
/// token for every buyer, its projects and retail contracts, and the exchange's operator and the
/// grid after them; returns the operator's and the grid's tokens and the buyers'.
async fn register(
    store: &Store,
    population: &Population,
    at_ms: i64,
) -> Result<(String, String, Vec<(domain::ParticipantId, String, String)>)> {
    let mut buyers = Vec::new();
    for p in &population.participants {
        let stored = store
            .insert_participant(
                &NewParticipant {
                    name: p.name.clone(),
                    role: p.role,
                    province: p.province.clone(),
                },
                at_ms,
            )
            .await?;
        if stored.id != p.id {
            bail!(
                "participant {} was stored as {}: the database is not new",
                p.id.0,
                stored.id.0
            );
        }
        if matches!(p.role, Role::User | Role::Retailer) {
            let token = api::auth::new_token();
            store
                .insert_token(p.id, &api::auth::token_hash(&token), "demo", at_ms)
                .await?;
            buyers.push((p.id, p.name.clone(), token));
        }
    }
    for project in &population.projects {
        store.insert_project(project, at_ms).await?;
    }
    for (i, r) in population.retail.iter().enumerate() {
        // The retail user's green demand of a month, whole MWh (at least 1).
        let monthly_mwh = (r.annual_kwh * r.green_share_permille / 1000 / 12 / 1000).max(1);
        let contract = RetailContract {
            id: i as u64 + 1,
            retailer: r.retailer,
            user: r.retail_user,
            first_month: YearMonth::new(2000, 1).expect("a month"),
            last_month: YearMonth::new(2099, 12).expect("a month"),
            monthly_mwh,
            env_price: r.env_price,
            created_at_ms: at_ms,
        };
        store
            .insert_retail_contract_remembered(&contract, |_| None)
            .await?;
    }
    let mut tokens = Vec::new();
    for (name, role) in [
        ("浙江电力交易中心", Role::Operator),
        ("国网浙江省电力有限公司", Role::Grid),
    ] {
        let participant = store
            .insert_participant(
                &NewParticipant {
                    name: name.to_owned(),
                    role,
                    province: domain::Province::parse("ZJ").expect("a province"),
                },
                at_ms,
            )
            .await?;
        let token = api::auth::new_token();
        store
            .insert_token(
                participant.id,
                &api::auth::token_hash(&token),
                "demo",
                at_ms,
            )
            .await?;
        tokens.push(token);
    }
    Ok((tokens.remove(0), tokens.remove(0), buyers))
}

/// Runs one planned session through the hub: created, announced and opened, the agents' two
/// rounds, closed, cleared, published. Returns the commands accepted and refused, and the
/// contracts it made.
async fn trade(
    app: &AppState,
    planned: &sim::year::PlannedSession,
    population: &Population,
    positions: &Positions,
) -> Result<(usize, usize, Vec<domain::Contract>)> {
    let store = &app.store;
    let id = store
        .insert_session_remembered(&planned.name, &planned.settings, app.now_ms(), |_| None)
        .await?;
    let handle = app.hub.start(
        planned.name.clone(),
        Session::new(id, planned.settings.clone()).map_err(|e| anyhow!("{}: {e}", planned.name))?,
    );
    let (mut accepted, mut refused) = (0, 0);
    let mut submit = async |commands: Vec<Command>, lifecycle: bool| -> Result<()> {
        for chunk in commands.chunks(2_000) {
            let (count, render) = counting();
            handle
                .submit(chunk.to_vec(), None, render)
                .await
                .map_err(|e| anyhow!("{}: {}", planned.name, e.message))?;
            let bad = count.load(Ordering::Relaxed) as usize;
            if lifecycle && bad > 0 {
                bail!("{}: a lifecycle command was refused", planned.name);
            }
            refused += bad;
            accepted += chunk.len() - bad;
        }
        Ok(())
    };
    submit(vec![Command::Announce, Command::Open], true).await?;
    submit(agents::first_round(planned, population, positions), false).await?;
    let (listings, proposals) = handle.read(|s| (s.listings().to_vec(), s.proposals().to_vec()));
    submit(
        agents::second_round(planned, population, positions, &listings, &proposals),
        false,
    )
    .await?;
    submit(vec![Command::Close, Command::Clear, Command::Publish], true).await?;
    let contracts = handle.read(|s| s.contracts().to_vec());
    Ok((accepted, refused, contracts))
}

/// A render that counts the refused commands of a job.
fn counting() -> (Arc<AtomicI64>, api::hub::Render) {
    let count = Arc::new(AtomicI64::new(0));
    let counted = Arc::clone(&count);
    let render: api::hub::Render = Box::new(move |_session, outcomes| {
        counted.store(
            outcomes.iter().filter(|o| o.is_err()).count() as i64,
            Ordering::Relaxed,
        );
        api::hub::Reply {
            status: 200,
            body: String::new(),
        }
    });
    (count, render)
}

/// The service's routes, called in process as the operator or the grid.
struct Http {
    router: axum::Router,
    operator: String,
    grid: String,
    /// Every buyer: id, name, token.
    buyers: Vec<(domain::ParticipantId, String, String)>,
}

impl Http {
    async fn send(
        &self,
        token: &str,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Value)> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(Body::from(body))?;
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    async fn post(&self, path: &str, body: &Value, expect: StatusCode) -> Result<Value> {
        let (status, answer) = self
            .send(
                &self.operator,
                "POST",
                path,
                "application/json",
                body.to_string().into_bytes(),
            )
            .await?;
        if status != expect {
            bail!("POST {path}: {status}: {answer}");
        }
        Ok(answer)
    }
}

/// The grid's meter file of `month`, written on a blocking thread: one row per meter and day
/// with its 96 readings (96点), every project's generation and every buyer's consumption.
fn meter_file(population: &Arc<Population>, month: YearMonth) -> tokio::task::JoinHandle<Vec<u8>> {
    let population = Arc::clone(population);
    tokio::task::spawn_blocking(move || {
        let mut out = settlement::DAY_ROWS_HEADER.as_bytes().to_vec();
        out.push(b'\n');
        let meters = population.projects.len() + population.buyers.len();
        out.reserve(meters * month.intervals() * 4);
        for p in &population.projects {
            let values = population.generation(p, month);
            settlement::write_day_rows(
                &mut out,
                &p.meters[0],
                &p.owner.0.to_string(),
                month,
                &values,
            );
        }
        for b in &population.buyers {
            let values = population.consumption(b, month);
            settlement::write_day_rows(
                &mut out,
                &b.meter,
                &b.participant.0.to_string(),
                month,
                &values,
            );
        }
        out
    })
}

/// Uploads the grid's meter data of `month` once its file is written (`POST
/// /api/v1/meters/{month}`), as a task of its own acting when the month closes.
fn upload(
    http: &Arc<Http>,
    file: tokio::task::JoinHandle<Vec<u8>>,
    month: YearMonth,
) -> tokio::task::JoinHandle<Result<()>> {
    let http = Arc::clone(http);
    tokio::spawn(ACTING_AT.scope(closing_time(month), async move {
        let file = file.await.context("the meter file writer failed")?;
        let (status, answer) = http
            .send(
                &http.grid,
                "POST",
                &format!("/api/v1/meters/{month}"),
                "text/csv",
                file,
            )
            .await?;
        if status != StatusCode::CREATED {
            bail!("meters of {month}: {status}: {answer}");
        }
        Ok(())
    }))
}

/// Closes a month as the exchange does once its meter data is in: the month's certificates,
/// the final settlement (证电合一), and the buyers' claims; returns the final settlement's
/// report.
async fn close_month(
    http: &Http,
    month: YearMonth,
    stages: &mut Stages,
) -> Result<market::SettlementReport> {
    let started = std::time::Instant::now();
    http.post(
        "/api/v1/certificates/issue",
        &json!({"month": month.to_string()}),
        StatusCode::CREATED,
    )
    .await?;
    stages.issue += started.elapsed();
    let started = std::time::Instant::now();
    let settled = http
        .post(
            "/api/v1/settlements",
            &json!({"month": month.to_string(), "final": true}),
            StatusCode::CREATED,
        )
        .await?;
    stages.settle += started.elapsed();
    let started = std::time::Instant::now();
    claim_half(http, month).await?;
    stages.claims += started.elapsed();
    serde_json::from_value(settled).context("the final settlement's reply")
}

/// Every buyer claims (核销) half of the certificates of `month` it received, rounded down per
/// project, for its own consumption, in one request (all its lots or none): certificates move
/// on to their last state, as they do in the market.
async fn claim_half(http: &Http, month: YearMonth) -> Result<()> {
    for (_, name, token) in &http.buyers {
        let (status, held) = http
            .send(
                token,
                "GET",
                &format!("/api/v1/certificates?month={month}"),
                "application/json",
                Vec::new(),
            )
            .await?;
        if status != StatusCode::OK {
            bail!("holdings of {name}: {status}: {held}");
        }
        let mut by_project: std::collections::BTreeMap<&str, u64> = Default::default();
        for h in held["holdings"].as_array().into_iter().flatten() {
            if h["state"] == "transferred" {
                *by_project
                    .entry(h["project"].as_str().unwrap_or(""))
                    .or_default() += h["certificates"].as_u64().unwrap_or(0);
            }
        }
        let lots: Vec<Value> = by_project
            .into_iter()
            .filter(|(_, count)| count / 2 > 0)
            .map(|(project, count)| {
                json!({"project": project, "month": month.to_string(), "count": count / 2})
            })
            .collect();
        if lots.is_empty() {
            continue;
        }
        let body = json!({"lots": lots, "beneficiary": format!("{name} {}年用电", month.year())});
        let (status, answer) = http
            .send(
                token,
                "POST",
                "/api/v1/certificates/claims",
                "application/json",
                body.to_string().into_bytes(),
            )
            .await?;
        if status != StatusCode::CREATED {
            bail!("claims of {name}: {status}: {answer}");
        }
    }
    Ok(())
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>28} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("a template")
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_owned());
    bar
}

/// `lvdian demo-year`: runs the scenario and prints what it did and each year's statistics.
pub fn main(run_: &YearRun, db: &Path, lang: crate::report::Lang) -> Result<()> {
    let t = &run_.targets;
    if !(t.scale > 0.0 && t.scale <= 1.0) {
        bail!("--scale: {} is not above 0 and at most 1", t.scale);
    }
    if !(1_000_000..=100_000_000_000).contains(&t.traded_kwh) {
        bail!(
            "--traded-kwh: {} is not between 10^6 and 10^11 kWh",
            t.traded_kwh
        );
    }
    if !(0..=100_000).contains(&t.growth_bp) {
        bail!("--growth-bp: {} is not between 0 and 100,000", t.growth_bp);
    }
    if !(0..=5_000).contains(&t.inter_share_bp) {
        bail!(
            "--inter-share-bp: {} is not between 0 and 5,000 (the corridors carry at most half)",
            t.inter_share_bp
        );
    }
    if !(1_000..=100_000).contains(&t.users) {
        bail!("--users: {} is not between 1,000 and 100,000", t.users);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let reports = runtime.block_on(async {
        let started = std::time::Instant::now();
        let (summary, app) = run(run_, db).await?;
        println!(
            "{} sessions, {} commands accepted ({} refused), {} months closed, in {:.1} s",
            summary.sessions,
            summary.accepted,
            summary.refused,
            summary.months,
            started.elapsed().as_secs_f64()
        );
        let s = &summary.stages;
        println!(
            "time: sessions {:.1} s, meter data {:.1} s, issuance {:.1} s, final settlement {:.1} s, claims {:.1} s",
            s.sessions.as_secs_f64(),
            s.meters.as_secs_f64(),
            s.issue.as_secs_f64(),
            s.settle.as_secs_f64(),
            s.claims.as_secs_f64()
        );
        let t = &summary.certificates;
        println!(
            "conservation: {} settlement lines, each contract once a month, contracted = delivered + short + lost; certificates issued {} = held {} + claimed {} + cancelled {}",
            summary.lines_checked, t.issued_total, t.held(), t.claimed, t.cancelled
        );
        let mut reports = Vec::new();
        for &year in &run_.years {
            let started = std::time::Instant::now();
            let report = app
                .annual_report(year)
                .await
                .map_err(|e| anyhow!("{}", e.message))?;
            println!(
                "{year}: traded {} MWh (growth {}%), settled {} MWh, {} sessions, {} users, inter-provincial {} ; certificates issued {} transferred {} claimed {}",
                report.traded_mwh,
                report.traded_growth_percent.as_deref().unwrap_or("-"),
                report.settled_mwh,
                report.sessions,
                report.users,
                report.inter_provincial_share,
                report.certificates.issued,
                report.certificates.transferred,
                report.certificates.claimed
            );
            reports.push((report, started));
        }
        // Closing checkpoints the WAL into the database file and removes it, so the run leaves
        // one file, whole.
        app.store.close().await;
        anyhow::Ok(reports)
    })?;
    // The annual reports, written next to the database from the market just run (`lvdian
    // report` renders the same from the database).
    let folder = db.parent().unwrap_or(Path::new("."));
    for (report, started) in &reports {
        let out = folder.join(format!("report-{}", report.year));
        crate::report::write(report, &out, lang, *started)?;
    }
    println!(
        "open it in the service: lvdian serve --database-url sqlite:{}",
        db.display()
    );
    Ok(())
}
