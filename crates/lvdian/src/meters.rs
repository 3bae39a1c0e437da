//! `lvdian meters import FILE --month YYYY-MM`: validate a month of 15-minute meter data and store
//! it, all or nothing, each meter as the next version of its month (a re-import is a correction).
//! A `.parquet` file is read as Parquet (see `parquet.rs`), anything else as `meters.csv`.
//!
//! The database is the server's, so the file meets the rules of a grid upload over HTTP
//! (`settlement::check_upload`, with the facts read by `api::meters::upload_facts`): a month of
//! the market, data rows, registered participants by id, projects' meters under their owners,
//! no meter changing owner. A refused file stores nothing.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use domain::YearMonth;
use indicatif::{ProgressBar, ProgressStyle};
use store::{MeterMonth, Store};

use crate::parquet;

/// Reads the file with a progress bar (it can be gigabytes: a month of a province is ~54 M rows).
fn read_with_progress(path: &Path) -> Result<Vec<u8>> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(len).with_style(
        ProgressStyle::with_template(
            "reading  {bar:40} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec})",
        )
        .expect("valid template"),
    );
    let mut bytes = Vec::with_capacity(len as usize);
    let mut chunk = vec![0u8; 8 << 20];
    loop {
        let n = file
            .read(&mut chunk)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(bytes)
}

fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Validates and imports; prints a summary line on success.
pub fn import(url: &str, path: &Path, month: &str) -> Result<()> {
    let month = YearMonth::parse(month).map_err(|e| anyhow::anyhow!("--month: {}", e.0))?;
    settlement::check_market_month(month).map_err(|e| anyhow::anyhow!("--month: {e}"))?;
    let started = Instant::now();
    let data = if parquet::is_parquet(path) {
        let parsing = spinner("reading and validating");
        let data = parquet::read_meters(path, month);
        parsing.finish_and_clear();
        data?
    } else {
        let bytes = read_with_progress(path)?;
        let parsing = spinner("validating");
        let data = settlement::parse_meters(&bytes, month);
        parsing.finish_and_clear();
        data.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    };
    let participants = data.participants();
    let months: Vec<MeterMonth> = data
        .meters()
        .iter()
        .map(|m| MeterMonth {
            meter: m.name().to_owned(),
            month: month.to_string(),
            participant: participants[m.participant()].name().to_owned(),
            kwh: m.intervals().to_vec(),
        })
        .collect();
    let storing = spinner("storing");
    let versions = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let store = Store::connect(url)
                .await
                .with_context(|| format!("cannot open {url}"))?;
            store.migrate().await?;
            let facts = api::meters::upload_facts(&store, &data).await?;
            if let Err(e) = settlement::check_upload(&data, &facts) {
                store.close().await;
                anyhow::bail!("{}: {e}", path.display());
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let versions = store.put_meter_months(&months, now).await?;
            store.close().await;
            anyhow::Ok(versions)
        })?;
    storing.finish_and_clear();
    let corrected = versions.iter().filter(|v| **v > 1).count();
    let rows: usize = months.iter().map(|m| m.kwh.len()).sum();
    println!(
        "imported {month}: {} meters, {rows} readings, {} participants ({corrected} corrections) in {:.1} s",
        months.len(),
        participants.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
