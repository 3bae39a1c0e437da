//! `lvdian report --year YYYY [--db URL] [--out DIR] [--lang zh|en]`: the annual report
//! (年度报告, spec §8) of a year from stored data, as one self-contained HTML page with five
//! SVG charts and eight CSV tables.
//!
//! The figures are `market::AnnualReport`'s, computed by `market::statistics` from what
//! [`api::AppState::annual_report`] gathers — the very report `GET /api/v1/statistics/{year}`
//! answers; this module only renders it ([`render`] is pure: the same report gives the same
//! bytes). [`figures`] turns its decimal strings into 亿千瓦时 / 万千瓦时 (or GWh / MWh) with
//! integer arithmetic, [`charts`] draws with `plotters`' SVG backend, [`html`] and [`csv`]
//! write the files, and [`run`] writes them into a temporary folder beside `--out` that is
//! renamed into place only once everything is written.

mod charts;
mod csv;
mod figures;
mod html;
mod texts;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use market::AnnualReport;
use store::Store;

/// The language of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Chinese: volumes in 亿千瓦时 and 万千瓦时.
    Zh,
    /// English: volumes in GWh and MWh.
    En,
}

impl From<Lang> for web::i18n::Lang {
    fn from(lang: Lang) -> web::i18n::Lang {
        match lang {
            Lang::Zh => web::i18n::Lang::Zh,
            Lang::En => web::i18n::Lang::En,
        }
    }
}

/// What `lvdian report` was asked for.
pub struct ReportArgs {
    /// The delivery year (already within `domain::MARKET_YEARS`).
    pub year: u16,
    /// The database.
    pub database_url: String,
    /// The folder to write; `./lvdian-report-<year>` by default.
    pub out: Option<PathBuf>,
    /// The language.
    pub lang: Lang,
}

/// The name of the page in the report's folder.
pub const PAGE: &str = "report.html";

/// Parses `--year`: a year of the market, 2000 to 2099.
pub fn parse_year(text: &str) -> Result<u16, String> {
    let year: u16 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a year (YYYY)"))?;
    if !domain::MARKET_YEARS.contains(&year) {
        return Err(format!(
            "{year} is not a year of the market, which runs from 2000 to 2099"
        ));
    }
    Ok(year)
}

/// Loads the year's report from the database, renders it and writes the folder; prints where
/// the files are.
pub fn run(args: &ReportArgs) -> Result<()> {
    let started = Instant::now();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("lvdian-report-{}", args.year)));
    // Refuse an unusable --out before the (possibly long) load.
    check_out(&out)?;
    eprintln!("loading the market from {} …", args.database_url);
    let report = load(&args.database_url, args.year)?;
    write(&report, &out, args.lang, started)
}

/// Renders `report` and writes its folder `out` (whole or not at all); prints where the files
/// are and how long it took since `started`.
pub fn write(report: &AnnualReport, out: &Path, lang: Lang, started: Instant) -> Result<()> {
    check_out(out)?;
    let files = render(report, lang)?;
    write_folder(out, &files)?;
    let out = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    println!(
        "wrote the {} annual report to {}/ in {} ms:",
        report.year,
        out.display(),
        started.elapsed().as_millis()
    );
    for (name, _) in &files {
        println!("  {}", out.join(name).display());
    }
    Ok(())
}

/// The year's report, through the same code as the statistics route.
fn load(url: &str, year: u16) -> Result<AnnualReport> {
    crate::server::require_existing_sqlite(url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = Store::connect(url).await.with_context(|| {
            if url.starts_with("sqlite:") {
                format!("cannot open the database {url}")
            } else {
                format!("cannot open the database {url} (is its server running and reachable?)")
            }
        })?;
        store
            .migrate()
            .await
            .with_context(|| format!("cannot apply the migrations to {url}"))?;
        let app = api::AppState::load(store.clone(), Arc::new(api::hub::SystemClock))
            .await
            .map_err(|e| anyhow::anyhow!("cannot load the market from {url}: {}", e.message))?;
        let unloadable = app.hub.unloadable();
        if let Some((id, why)) = unloadable.first() {
            bail!(
                "{} session(s) could not be rebuilt from the journal, so the report would \
                 leave them out (session {id}: {why})",
                unloadable.len()
            );
        }
        let report = app
            .annual_report(year)
            .await
            .map_err(|e| anyhow::anyhow!("cannot compute the {year} report: {}", e.message))?;
        store.close().await;
        Ok(report)
    })
}

/// Every file of the report: `report.html`, then the CSV tables. Pure and deterministic.
pub fn render(report: &AnnualReport, lang: Lang) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let t = texts::texts(lang);
    let charts = html::Charts {
        monthly: charts::monthly(report, t)?,
        technology: charts::technology(report, t)?,
        prices: charts::prices(report, t)?,
        corridors: charts::corridors(report, t)?,
        certificates: charts::certificates(report, t)?,
    };
    let tables = csv::tables(report, t);
    let names: Vec<&str> = tables.iter().map(|(name, _)| *name).collect();
    let page = html::page(report, t, &charts, &names)?;
    let mut files = vec![(PAGE, page.into_bytes())];
    files.extend(tables.into_iter().map(|(n, text)| (n, text.into_bytes())));
    Ok(files)
}

/// The files a report folder holds: what `--out` may already hold to be replaced.
fn is_report_file(name: &str) -> bool {
    name == PAGE || name.ends_with(".csv")
}

/// `--out` must be a folder we may create or replace: missing (under an existing folder), or
/// a folder holding only an earlier report's files.
fn check_out(out: &Path) -> Result<()> {
    let parent = parent_of(out);
    if !parent.is_dir() {
        bail!(
            "cannot write the report to {}: {} is not a folder",
            out.display(),
            parent.display()
        );
    }
    if out.exists() {
        if !out.is_dir() {
            bail!(
                "cannot write the report to {}: it exists and is not a folder",
                out.display()
            );
        }
        let entries = std::fs::read_dir(out)
            .with_context(|| format!("cannot read the folder {}", out.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", out.display()))?;
            let name = entry.file_name();
            let ok = entry.file_type().is_ok_and(|t| t.is_file())
                && name.to_str().is_some_and(is_report_file);
            if !ok {
                bail!(
                    "will not replace {}: it holds {}, which is not a file of a report \
                     (choose another --out)",
                    out.display(),
                    entry.path().display()
                );
            }
        }
    }
    Ok(())
}

/// The folder `path` is in (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `files` into `out` all at once: into a temporary folder beside it, flushed, then
/// renamed into place (an earlier report there is moved aside first and removed after). A
/// failure leaves `out` as it was and removes the temporary folder.
fn write_folder(out: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    check_out(out)?;
    let parent = parent_of(out);
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lvdian-report".to_owned());
    let pid = std::process::id();
    let temp = parent.join(format!(".{name}.tmp-{pid}"));
    let old = parent.join(format!(".{name}.old-{pid}"));
    let written = (|| -> Result<()> {
        std::fs::create_dir(&temp)
            .with_context(|| format!("cannot write to {}", parent.display()))?;
        for (file, bytes) in files {
            let path = temp.join(file);
            let mut f = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            std::io::Write::write_all(&mut f, bytes)
                .and_then(|()| f.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e);
    }
    let replacing = out.exists();
    if replacing && let Err(e) = std::fs::rename(out, &old) {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e).with_context(|| format!("cannot replace {}", out.display()));
    }
    if let Err(e) = std::fs::rename(&temp, out) {
        if replacing {
            let _ = std::fs::rename(&old, out);
        }
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e).with_context(|| format!("cannot move the report into {}", out.display()));
    }
    if replacing {
        std::fs::remove_dir_all(&old)
            .with_context(|| format!("cannot remove the earlier report at {}", old.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report with the extremes a chart must survive: volumes far beyond any market's,
    /// negative prices, ten corridors, a zero growth and no averages.
    fn extreme() -> AnnualReport {
        let month = |m: u32, mwh: &str| {
            serde_json::json!({"month": format!("2031-{m:02}"), "intra_mwh": mwh,
                "inter_mwh": "0.001", "settled_mwh": "0.000",
                "certificates": {"issued": u64::MAX, "transferred": 1, "claimed": 0}})
        };
        let huge = "170141183460469231731687303715884105.727";
        let corridors: Vec<_> = (0..10)
            .map(|i| {
                serde_json::json!({"from": format!("P{}", char::from(b'A' + i)), "to": "ZJ",
                    "sent_mwh": huge, "delivered_mwh": "0.000"})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "year": 2031, "sessions": 1,
            "sessions_by_mode": [{"mode": "future_mode", "scope": "intra", "sessions": 1}],
            "traded_mwh": huge, "traded_growth_percent": "0.00",
            "settled_mwh": "0.000", "settled_growth_percent": "-100.00",
            "inter_provincial_mwh": "0.001", "inter_provincial_share": "0.0000",
            "participants": 2, "users": 1,
            "average_energy_price": null, "average_env_price": null,
            "by_technology": [{"technology": "fusion", "mwh": huge}],
            "by_source_province": [{"province": "ZJ", "mwh": huge}],
            "certificates": {"issued": u64::MAX, "transferred": 0, "claimed": 0},
            "provinces": [],
            "top_corridors": corridors,
            "months": (1..=12).map(|m| month(m, if m == 1 { huge } else { "0.000" }))
                .collect::<Vec<_>>(),
            "energy_price_bands": [{"from_price": "-100000.00", "to_price": "-99980.00", "mwh": "1.000"},
                {"from_price": "99980.00", "to_price": "100000.00", "mwh": huge}],
        }))
        .unwrap()
    }

    #[test]
    fn extremes_render_in_both_languages_and_twice_alike() {
        for lang in [Lang::Zh, Lang::En] {
            let files = render(&extreme(), lang).unwrap();
            assert_eq!(files, render(&extreme(), lang).unwrap());
            let page = String::from_utf8(files[0].1.clone()).unwrap();
            assert_eq!(page.matches("<svg").count(), 5);
            assert!(page.contains("future_mode") && page.contains("fusion"));
        }
    }

    #[test]
    fn years_outside_the_market_are_refused() {
        assert_eq!(parse_year("2000"), Ok(2000));
        assert_eq!(parse_year("2099"), Ok(2099));
        for bad in ["1999", "2100", "0", "65536", "-1", "twenty"] {
            assert!(parse_year(bad).is_err(), "{bad}");
        }
    }
}
