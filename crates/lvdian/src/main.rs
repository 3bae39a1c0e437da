//! `lvdian`: the command-line entry to the green power market engine.

mod bench;
mod clear;
mod demo;
mod faults;
#[cfg(test)]
mod hostile_input;
mod loadtest;
mod meters;
mod parquet;
mod report;
mod server;
mod settle;
mod verify;
mod year_run;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the demo and the server allocate and free millions of small values (rows, JSON,
/// ledger entries); with the system allocator, malloc and free were about 16% of the CPU
/// samples of a demo at `--scale 0.3` (perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The demo's scale by default: Zhejiang's size.
const DEFAULT_SCALE: f64 = 1.0;

/// lvdian (绿电): a green electricity market — exchange, settlement and certificate registry.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Clear one call auction (集中竞价) from a JSON order file and print the result as JSON.
    ///
    /// The file holds `method` ("uniform" for 边际统一出清, "high_low" for 高低匹配, or
    /// "coupled" for inter-provincial clearing over corridors, 省间) and `orders`, each with id,
    /// participant, side (buy/sell), period label, mwh and price as decimal strings ("10.000"
    /// MWh, "420.50" yuan/MWh), plus `province` and the file's `corridors` for "coupled". Array
    /// order is submission order. The result lists, per period sorted by label, the matched
    /// volume Q*, the price P* (per province for "coupled", with corridor flows) and every
    /// order's fills. Errors name the order and field, go to stderr, and exit with 1.
    Clear {
        /// The order file (see formats.md); `-` reads standard input.
        file: PathBuf,
        /// For "coupled": also give each corridor flow its congestion rent (阻塞盈余),
        /// `congestion_rent_yuan`: the receiving province's value of what is delivered, less
        /// the sending province's value of what is sent and the tariff (null where a province
        /// has no price). Not part of formats.md's output, hence opt-in.
        #[arg(long)]
        congestion_rent: bool,
    },
    /// A year of green power through the service: Zhejiang 2022 and 2023 (绿电交易), settled
    /// and certified, with the annual report.
    ///
    /// `sim`'s province — wholesale users and retail users behind retailers (售电公司),
    /// distributed PV through aggregators (聚合商), offshore wind, and generators in Qinghai,
    /// Gansu, Xinjiang and Ningxia on corridors into Zhejiang — trades ~95 sessions a year of
    /// every mode and scope through the session hub and the store; every month is closed through
    /// the API as the exchange does it: the grid's meter data (96点), 绿证 issuance, the final
    /// settlement with 证电合一 transfers, the buyers' claims (核销). Everything goes into a new
    /// SQLite database; the demo prints what it did, checks conservation, and writes each
    /// year's report (HTML with charts, and CSV) beside the database. Then open the same data in
    /// the service: `lvdian serve --database-url sqlite:<db>`.
    #[command(alias = "demo-year")]
    Demo {
        /// The scenario's seed.
        #[arg(long, default_value_t = 2023)]
        seed: u64,
        /// The years to run, in order (comma-separated); the market carries from one to the
        /// next.
        #[arg(long, value_delimiter = ',', default_value = "2022,2023")]
        years: Vec<u16>,
        /// The scale of the population and volumes: 1 is Zhejiang's size (16,000 users, 8.2
        /// billion kWh in 2023); 0.01 runs in seconds.
        #[arg(long, default_value_t = DEFAULT_SCALE)]
        scale: f64,
        /// Target: green power traded in 2023 at scale 1, kWh (82.13亿千瓦时); other years
        /// follow from the growth.
        #[arg(long, default_value_t = 8_213_000_000)]
        traded_kwh: i64,
        /// Target: growth on the year before, basis points (21,885 = +218.85%).
        #[arg(long, default_value_t = 21_885)]
        growth_bp: i64,
        /// Target: the inter-provincial share of the volume, basis points (2,600 = 26%).
        #[arg(long, default_value_t = 2_600)]
        inter_share_bp: i64,
        /// Target: participating electricity users at scale 1, wholesale and retail.
        #[arg(long, default_value_t = 16_200)]
        users: usize,
        /// The new SQLite database to write; each year's report is written beside it
        /// (`report-<year>/`).
        #[arg(long, default_value = "lvdian-demo/lvdian.db")]
        db: PathBuf,
        /// The language of the reports: zh (中文) or en.
        #[arg(long, value_enum, default_value_t = report::Lang::Zh)]
        lang: report::Lang,
    },
    /// One month, in memory: a Zhejiang-style market through all four trading modes —
    /// 集中竞价, 滚动撮合, 挂牌/摘牌, 双边协商 — and print what each made.
    ///
    /// The scenario is generated from a seed: the same seed prints the same report (apart from
    /// the timing lines).
    DemoMonth {
        /// The scenario's seed.
        #[arg(long, default_value_t = 2023)]
        seed: u64,
        /// Sellers: offshore wind generators and distributed-PV aggregators.
        #[arg(long, default_value_t = 60)]
        sellers: usize,
        /// Buyers: wholesale users and retailers.
        #[arg(long, default_value_t = 1_000)]
        buyers: usize,
        /// Commands sent to the rolling-matching session.
        #[arg(long, default_value_t = 1_000_000)]
        rolling_orders: usize,
    },
    /// Serve the exchange over HTTP (JSON API under /api/v1, OpenAPI at /api/v1/openapi.json).
    ///
    /// With no flags it uses an SQLite file ./lvdian.db (created, WAL mode). Every session is
    /// rebuilt from its journal at start, so a restart continues open sessions. Register the
    /// first operator with `lvdian admin create-operator`.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// sqlite:PATH or postgres://user@host/db.
        #[arg(long, env = "LVDIAN_DATABASE_URL", default_value = server::DEFAULT_DATABASE_URL)]
        database_url: String,
        /// Log JSON lines instead of text (RUST_LOG filters either way).
        #[arg(long)]
        log_json: bool,
    },
    /// Create the database if needed and apply its migrations.
    Migrate {
        /// sqlite:PATH or postgres://user@host/db.
        #[arg(long, env = "LVDIAN_DATABASE_URL", default_value = server::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Administration that needs no running server.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Settle one month of green contracts against meter data (formats.md): pro-rata splits
    /// when a seller or buyer is short, delivered green energy, whole-MWh environmental volume
    /// with kWh carried forward, energy and environmental money, shortfall compensation and who
    /// pays it. Prints JSON, lines sorted by contract id. A bad row in either file is reported
    /// with its line and field, and nothing is printed on stdout.
    Settle {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// contracts.csv: contract,seller,buyer,mwh,energy_price,env_price,comp_price,carry_kwh.
        #[arg(long)]
        contracts: PathBuf,
        /// meters.csv (meter,participant,start,kwh) or the same columns as `.parquet` — every
        /// 15-minute interval of the month for every meter.
        #[arg(long)]
        meters: PathBuf,
    },
    /// Hourly matching (beyond today's monthly rules): how much of a buyer's consumption is
    /// covered, hour by hour, by the generation behind its green contracts — the 24/7 score,
    /// the unmatched consumption and the excess generation. Same files as `settle`.
    Match {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// contracts.csv, as for `settle`.
        #[arg(long)]
        contracts: PathBuf,
        /// meters.csv, as for `settle`.
        #[arg(long)]
        meters: PathBuf,
        /// The buyer (its name in the files).
        #[arg(long)]
        buyer: String,
        /// Also list every hour of the month.
        #[arg(long)]
        hours: bool,
    },
    /// Check the green certificate ledger: recompute its SHA-256 hash chain and replay every
    /// entry (conservation: issued = held + claimed + cancelled per project and month). Prints
    /// `ok <entries> entries` and exits 0, or names the first bad entry and exits 1.
    Verify {
        /// sqlite:PATH or postgres://user@host/db.
        #[arg(long = "db", env = "LVDIAN_DATABASE_URL", default_value = server::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Write the annual report (年度报告, spec §8) of a year from stored data: one
    /// self-contained HTML page and CSV tables, readable with no server and no network.
    ///
    /// The figures are those of `GET /api/v1/statistics/YEAR` (the `market` crate's
    /// statistics): volume traded and settled with year-on-year growth, sessions by mode and
    /// scope, participants and users, the inter-provincial share and corridors, technologies
    /// and source provinces, average energy and environmental prices, certificates issued,
    /// transferred and claimed, and every province. The page (`report.html`: inline CSS,
    /// five inline SVG charts, no script) shows volumes in 亿千瓦时/万千瓦时 (Chinese) or
    /// GWh/MWh (English); the CSV files hold every figure exactly, in MWh. The same data gives
    /// byte-identical files. The folder is written whole or not at all; an earlier report in
    /// it is replaced.
    Report {
        /// The delivery year, 2000 to 2099 (contracts count in the months they deliver in).
        #[arg(long, value_parser = report::parse_year)]
        year: u16,
        /// sqlite:PATH or postgres://user@host/db.
        #[arg(long = "db", env = "LVDIAN_DATABASE_URL", default_value = server::DEFAULT_DATABASE_URL)]
        database_url: String,
        /// The folder to write [default: ./lvdian-report-YEAR].
        #[arg(long)]
        out: Option<PathBuf>,
        /// The language of the page.
        #[arg(long, value_enum, default_value_t = report::Lang::Zh)]
        lang: report::Lang,
    },
    /// Meter data (计量数据).
    Meters {
        #[command(subcommand)]
        command: MetersCommand,
    },
    /// Load a server with concurrent participants for a bounded time: throughput and p50, p99,
    /// p99.9 latency per route, then a check that every acknowledged order is stored exactly
    /// once and every acknowledged cancel applied (exit 1 if not).
    ///
    /// Each participant (half generators selling, half users buying) runs one HTTP client that
    /// submits orders — one per request, or `--batch` per request through `/orders/batch` —
    /// cancels some of its live orders and reads (the book's depth, the session, its own
    /// orders), in a rolling-matching (滚动撮合) session whose sell and buy prices never cross.
    /// Every write carries an Idempotency-Key; a request that times out is sent again with the
    /// same key, so it acts once. In the same run the store's raw append rate (batches of 500
    /// orders committed directly, no HTTP) is measured on a fresh database, and the HTTP rate
    /// is shown as a share of it.
    ///
    /// Without `--url` a server is started in this process on a fresh database (`--database`),
    /// as `lvdian bench http` does. With `--url` an existing server is driven: pass an
    /// operator's token (`lvdian admin create-operator` prints one); the load registers its own
    /// participants and session there.
    ///
    /// Examples:
    ///   lvdian loadtest --clients 64 --batch 1 --duration 20
    ///   lvdian loadtest --database postgres --clients 8 --batch 500
    ///   lvdian loadtest --url http://127.0.0.1:8080 --token lvd_... --duration 60
    #[command(verbatim_doc_comment)]
    Loadtest {
        /// A running server to drive, http://HOST:PORT; without it a server is started in this
        /// process.
        #[arg(long, requires = "token")]
        url: Option<String>,
        /// An operator's API token for `--url`.
        #[arg(long, env = "LVDIAN_OPERATOR_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Without `--url`: `sqlite` (a fresh temporary file), `postgres` (a fresh database on
        /// the server of LVDIAN_TEST_DATABASE_URL, or the local one), or a database URL to use
        /// as is.
        #[arg(long, default_value = "sqlite", conflicts_with = "url")]
        database: String,
        /// Concurrent participants, one HTTP client each.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Seconds of load.
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Orders per submit request: 1 uses POST /sessions/{id}/orders, more (up to 10000)
        /// POST /sessions/{id}/orders/batch.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Percentage of requests that cancel one of the client's live orders.
        #[arg(long, default_value_t = 10)]
        cancel_percent: u32,
        /// Percentage of requests that read.
        #[arg(long, default_value_t = 10)]
        read_percent: u32,
        /// Seed of every client's choices.
        #[arg(long, default_value_t = 13)]
        seed: u64,
        /// Milliseconds before an unanswered request is sent again (same Idempotency-Key).
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        /// Where to measure the store's raw append rate: sqlite, postgres, a database URL, or
        /// none [default: the backend under test; sqlite with --url].
        #[arg(long)]
        raw_store: Option<String>,
    },
    /// Crash rounds against the real server: load, SIGKILL at a random moment, restart, check.
    ///
    /// Each round starts `lvdian serve` (this executable) on the database, opens a call auction
    /// (集中竞价) for new participants and loads it as `lvdian loadtest` does (single orders and
    /// batches, cancels, reads; every write with an Idempotency-Key) while one client transfers
    /// certificates of a project issued for the round one per request, kills the server with
    /// SIGKILL at a moment drawn from the seed, and restarts it. Then every unanswered request
    /// is sent again with its key (it must succeed, and a second send must get the same reply),
    /// every acknowledged order must be stored exactly once and every acknowledged cancel
    /// applied, the buyer must hold one certificate per acknowledged transfer and the seller the
    /// rest, the session's clearing on the server must equal an offline clear of the stored
    /// orders, and `lvdian verify` must pass. The seed is printed; the same seed draws the same
    /// kill delays and orders (the kill's effect still depends on timing). Exit 1 at the first
    /// failed round, naming it.
    ///
    /// Examples:
    ///   lvdian faults                       # 50 rounds on SQLite, then 50 on PostgreSQL
    ///   lvdian faults --rounds 3 --database sqlite --seed 7
    #[command(verbatim_doc_comment)]
    Faults {
        /// Rounds per database.
        #[arg(long, default_value_t = 50)]
        rounds: usize,
        /// Databases, in order (comma-separated): `sqlite` (a fresh temporary file), `postgres`
        /// (a fresh database on the server of LVDIAN_TEST_DATABASE_URL, or the local one), or
        /// database URLs to use as they are.
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        database: Vec<String>,
        /// The seed of the kill moments and orders [default: from the clock, printed].
        #[arg(long)]
        seed: Option<u64>,
        /// Participants per round, one client each.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// The kill lands up to this many ms after a round's first 25 acknowledged orders.
        #[arg(long, default_value_t = 1_000)]
        kill_within_ms: u64,
    },
    /// Benchmarks that need a running server.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum MetersCommand {
    /// Validate a month of 15-minute meter data (meters.csv: meter,participant,start,kwh) and
    /// store it. A file with any bad row — unknown or inconsistent meter, duplicate interval,
    /// negative value, interval outside the month, missing intervals — is reported row by row
    /// and nothing is imported. Importing a meter's month again stores a new version
    /// (a correction); final settlements already run are not reopened.
    Import {
        /// The file: meters.csv, or Parquet (`.parquet`) with the same four columns.
        file: PathBuf,
        /// The month the data is for, YYYY-MM.
        #[arg(long)]
        month: String,
        /// sqlite:PATH or postgres://user@host/db.
        #[arg(long, env = "LVDIAN_DATABASE_URL", default_value = server::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Acknowledged orders per second over HTTP on loopback: a real server in this process,
    /// concurrent clients, every order committed before its reply.
    Http {
        /// `sqlite` (a fresh temporary file), `postgres` (a fresh database on the server of
        /// LVDIAN_TEST_DATABASE_URL, or the local one), or a database URL to use as is.
        #[arg(long, default_value = "sqlite")]
        database: String,
        /// Orders in all.
        #[arg(long, default_value_t = 200_000)]
        orders: usize,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Orders per request; 1 uses the single-order route.
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Register an exchange operator (交易中心) and print its first API token on stdout.
    CreateOperator {
        /// The operator's registered name.
        #[arg(long, default_value = "交易中心")]
        name: String,
        /// Its province code.
        #[arg(long, default_value = "ZJ")]
        province: String,
        /// sqlite:PATH or postgres://user@host/db.
        #[arg(long, env = "LVDIAN_DATABASE_URL", default_value = server::DEFAULT_DATABASE_URL)]
        database_url: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Clear {
            file,
            congestion_rent,
        } => clear_command(&file, congestion_rent),
        Command::DemoMonth {
            seed,
            sellers,
            buyers,
            rolling_orders,
        } => {
            demo::run(&demo::DemoSize {
                seed,
                sellers,
                buyers,
                rolling_orders,
            });
            ExitCode::SUCCESS
        }
        Command::Demo {
            seed,
            years,
            scale,
            traded_kwh,
            growth_bp,
            inter_share_bp,
            users,
            db,
            lang,
        } => report(year_run::main(
            &year_run::YearRun {
                seed,
                years,
                targets: sim::year::YearTargets {
                    traded_kwh,
                    growth_bp,
                    inter_share_bp,
                    users,
                    scale,
                    ..sim::year::YearTargets::default()
                },
            },
            &db,
            lang,
        )),
        Command::Serve {
            listen,
            database_url,
            log_json,
        } => {
            server::init_logging(log_json);
            report(server::serve(listen, &database_url))
        }
        Command::Migrate { database_url } => report(server::migrate(&database_url)),
        Command::Admin {
            command:
                AdminCommand::CreateOperator {
                    name,
                    province,
                    database_url,
                },
        } => report(server::create_operator(&database_url, &name, &province)),
        Command::Settle {
            month,
            contracts,
            meters,
        } => match settle::run(&month, &contracts, &meters) {
            Ok(output) => {
                print!("{output}");
                ExitCode::SUCCESS
            }
            Err(e) => report(Err(e)),
        },
        Command::Match {
            month,
            contracts,
            meters,
            buyer,
            hours,
        } => match settle::hourly(&month, &contracts, &meters, &buyer, hours) {
            Ok(output) => {
                print!("{output}");
                ExitCode::SUCCESS
            }
            Err(e) => report(Err(e)),
        },
        Command::Verify { database_url } => match verify::run(&database_url) {
            Ok(code) => code,
            Err(e) => report(Err(e)),
        },
        Command::Report {
            year,
            database_url,
            out,
            lang,
        } => report(report::run(&report::ReportArgs {
            year,
            database_url,
            out,
            lang,
        })),
        Command::Meters {
            command:
                MetersCommand::Import {
                    file,
                    month,
                    database_url,
                },
        } => report(meters::import(&database_url, &file, &month)),
        Command::Loadtest {
            url,
            token,
            database,
            clients,
            duration,
            batch,
            cancel_percent,
            read_percent,
            seed,
            timeout_ms,
            raw_store,
        } => report(loadtest::run(&loadtest::LoadTest {
            target: match (url, token) {
                (Some(url), Some(operator_token)) => loadtest::Target::Url {
                    url,
                    operator_token,
                },
                _ => loadtest::Target::InProcess { database },
            },
            clients,
            duration: std::time::Duration::from_secs(duration),
            batch,
            cancel_percent,
            read_percent,
            seed,
            timeout: std::time::Duration::from_millis(timeout_ms),
            raw_store,
        })),
        Command::Faults {
            rounds,
            database,
            seed,
            clients,
            kill_within_ms,
        } => report(faults::run(&faults::Faults {
            rounds,
            databases: database,
            seed,
            clients,
            kill_within_ms,
        })),
        Command::Bench {
            command:
                BenchCommand::Http {
                    database,
                    orders,
                    clients,
                    batch,
                },
        } => report(bench::run(&bench::HttpBench {
            database,
            orders,
            clients,
            batch,
        })),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn clear_command(path: &std::path::Path, congestion_rent: bool) -> ExitCode {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    };
    let text = match text {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let cleared = clear::parse(&text).and_then(|file| {
        let cleared = file.clear(congestion_rent)?;
        // The output is written only once clearing has succeeded, as it is serialised.
        let mut out = std::io::stdout().lock();
        Ok(cleared.write_json(&mut out).and_then(|()| out.flush()))
    });
    match cleared {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: cannot write the result: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
