//! `lvdian settle --month YYYY-MM --contracts C.csv --meters M.csv`: one month's settlement
//! offline, in the format of formats.md.
//!
//! Both files are checked whole before anything is settled; the output is built in memory and
//! returned only when everything succeeded, so a bad file never half-writes stdout. The meter
//! file (~2 GB for a Zhejiang month) is streamed through small buffers: it is cut into one part
//! per core, each read and parsed on its own thread by a `settlement::MeterParser`, and the parts
//! are merged. Only a bad file is read a second time, sequentially, so that its errors name
//! their lines exactly.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, anyhow};
use serde_json::json;
use settlement::{MeterData, MeterParser, YearMonth};

use crate::parquet;

/// Bytes read at a time by each thread.
const CHUNK_BYTES: usize = 4 << 20;

/// Meter files smaller than this are read on one thread.
const PARALLEL_MIN_BYTES: u64 = 1 << 20;

/// At most this many threads read the meter file.
const MAX_THREADS: usize = 8;

/// Settles `month` (`YYYY-MM`) from the two files and returns the output JSON text (pretty,
/// keys in the documented order, ending in a newline).
///
/// Errors name the file, and for a bad row its line and field; nothing is printed here.
pub fn run(month: &str, contracts: &Path, meters: &Path) -> anyhow::Result<String> {
    let (month, terms, data) = inputs(month, contracts, meters)?;
    let report = market::settle_terms(month, &terms, |p| data.participant_total(p));
    let mut text = serde_json::to_string_pretty(&report).expect("reports serialise");
    text.push('\n');
    Ok(text)
}

/// The month, contracts and meter data that `settle` and `match` both read, checked.
fn inputs(
    month: &str,
    contracts: &Path,
    meters: &Path,
) -> anyhow::Result<(YearMonth, Vec<settlement::ContractTerms>, MeterData)> {
    let month = YearMonth::parse(month).context("--month")?;
    let contract_bytes =
        std::fs::read(contracts).with_context(|| format!("cannot read {}", contracts.display()))?;
    let terms = settlement::parse_contracts(&contract_bytes)
        .map_err(|e| anyhow!("{}: {e}", contracts.display()))?;
    let data = read_meters(meters, month)?;
    Ok((month, terms, data))
}

/// `lvdian match`: one buyer's hourly matching (24/7 score) for a month, as JSON; with
/// `hours`, every hour of the month too.
pub fn hourly(
    month: &str,
    contracts: &Path,
    meters: &Path,
    buyer: &str,
    hours: bool,
) -> anyhow::Result<String> {
    let (month, terms, data) = inputs(month, contracts, meters)?;
    let m = settlement::hourly_match(buyer, &terms, &data).ok_or_else(|| {
        anyhow!(
            "--buyer: `{buyer}` has no meter data in {}",
            meters.display()
        )
    })?;
    let mut out = json!({
        "month": month.to_string(),
        "buyer": m.buyer,
        "consumption_mwh": m.consumption.mwh().to_string(),
        "green_supply_mwh": m.supply.mwh().to_string(),
        "matched_mwh": m.matched.mwh().to_string(),
        "unmatched_mwh": m.unmatched.mwh().to_string(),
        "excess_mwh": m.excess.mwh().to_string(),
        "hourly_matched_percent": m.score_percent(),
    });
    if hours {
        out["hours"] = m
            .hours
            .iter()
            .map(|h| {
                json!({"day": h.hour / 24 + 1, "hour": h.hour % 24, "consumption_kwh": h.consumption.0,
                       "supply_kwh": h.supply.0, "matched_kwh": h.matched.0})
            })
            .collect();
    }
    let mut text = serde_json::to_string_pretty(&out).expect("JSON values serialise");
    text.push('\n');
    Ok(text)
}

/// Reads and validates the meter file: Parquet for a `.parquet` file (see `parquet.rs`), else
/// `meters.csv` text.
fn read_meters(path: &Path, month: YearMonth) -> anyhow::Result<MeterData> {
    if parquet::is_parquet(path) {
        return parquet::read_meters(path, month);
    }
    let cannot_read = || format!("cannot read {}", path.display());
    let len = std::fs::metadata(path).with_context(cannot_read)?.len();
    let threads = if len < PARALLEL_MIN_BYTES {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
    };
    let result = if threads == 1 {
        None
    } else {
        let parts = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads as u64)
                .map(|k| {
                    let (from, to) = (len * k / threads as u64, len * (k + 1) / threads as u64);
                    scope.spawn(move || {
                        let mut parser = if k == 0 {
                            MeterParser::new(month)
                        } else {
                            MeterParser::continuation(month)
                        };
                        read_range(path, from, to, &mut parser).map(|()| parser)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a meter reading thread panicked"))
                .collect::<std::io::Result<Vec<MeterParser>>>()
        })
        .with_context(cannot_read)?;
        settlement::merge_parts(parts)
    };
    let result = match result {
        Some(result) => result,
        // A small file, or a bad one: one sequential pass, whose errors name exact lines.
        None => {
            let mut parser = MeterParser::new(month);
            read_range(path, 0, u64::MAX, &mut parser).with_context(cannot_read)?;
            parser.finish()
        }
    };
    result.map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Feeds bytes `from..to` of the file (or to its end) to `parser`, a chunk at a time.
fn read_range(path: &Path, from: u64, to: u64, parser: &mut MeterParser) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut file = file.take(to - from);
    let mut buffer = vec![0u8; CHUNK_BYTES];
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        parser.push(&buffer[..n]);
    }
}
