//! `report.html`: one self-contained page — inline CSS, the five SVG charts inline, no script,
//! no external URL, no downloaded font — readable from the disk with no server and no network.
//! Every figure on it comes from the report's strings through [`super::figures`].

use std::fmt::Write as _;

use anyhow::Result;
use market::AnnualReport;

use super::Lang;
use super::charts::Svg;
use super::figures::{self, VolumeUnit};
use super::texts::{Texts, mode_name, province_name, scope_name, technology_name};

/// The five charts, drawn.
pub struct Charts {
    pub monthly: Svg,
    pub technology: Svg,
    pub prices: Svg,
    pub corridors: Svg,
    pub certificates: Svg,
}

/// CJK fonts first (as Debian, Windows and macOS name them), then the generic family; nothing
/// is downloaded.
const STYLE: &str = r#"
:root { --green: #2e7d32; --ink: #1f2933; --muted: #5f6b7a; --line: #e3e7ec; --soft: #f4f8f4; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", sans-serif;
  font-size: 15px; line-height: 1.6; }
svg text { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 32px 28px 48px; }
header { border-bottom: 4px solid var(--green); padding-bottom: 12px; margin-bottom: 8px; }
h1 { font-size: 30px; margin: 0 0 4px; color: var(--green); }
header p { margin: 0; color: var(--muted); }
h2 { font-size: 21px; margin: 36px 0 12px; padding-left: 10px; border-left: 5px solid var(--green); }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0; }
.card { background: var(--soft); border: 1px solid #d5e6d6; border-radius: 8px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 26px; font-weight: 700; color: var(--green); line-height: 1.3; }
.card .unit { font-size: 13px; font-weight: 400; color: var(--muted); margin-left: 4px; }
.card .note { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 10px 0 18px; font-size: 14px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: right; }
td { white-space: nowrap; }
th { background: #eef3ee; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
tr.total td { font-weight: 700; border-top: 2px solid #c8d3c9; }
figure { margin: 12px 0 20px; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { text-align: center; color: var(--muted); font-size: 13px; margin-top: 4px; }
p.note, footer { color: var(--muted); font-size: 13px; }
footer { border-top: 1px solid var(--line); margin-top: 36px; padding-top: 8px; }
footer li { margin: 2px 0; }
.scroll { overflow-x: auto; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; align-items: start; }
@media print { main { max-width: none; } figure, table { break-inside: avoid; } }
"#;

/// The page.
pub fn page(r: &AnnualReport, t: &Texts, charts: &Charts, csv_files: &[&str]) -> Result<String> {
    let mut h = String::new();
    let title = t.title(r.year);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <header><h1>{}</h1><p>{}</p></header>\n",
        t.html_lang,
        esc(&title),
        esc(&title),
        esc(t.subtitle)
    );
    summary(&mut h, r, t)?;
    monthly(&mut h, r, t, &charts.monthly)?;
    sessions(&mut h, r, t);
    inter(&mut h, r, t, &charts.corridors)?;
    technology(&mut h, r, t, &charts.technology)?;
    prices(&mut h, r, t, &charts.prices)?;
    certificates(&mut h, r, t, &charts.certificates);
    provinces(&mut h, r, t)?;
    footer(&mut h, t, csv_files);
    h.push_str("</main>\n</body>\n</html>\n");
    Ok(h)
}

/// A volume in the unit that suits it alone, with that unit: `("82.13", "亿千瓦时")`.
fn headline(t: &Texts, mwh: &str) -> Result<(String, &'static str)> {
    let kwh = figures::kwh(mwh)?;
    let unit = VolumeUnit::for_volume(t.lang, kwh);
    Ok((unit.show(kwh), unit.name()))
}

/// The unit of a table's volumes: 亿 or 万千瓦时 by its largest (Chinese); MWh, exact
/// (English).
fn table_unit(t: &Texts, mwh: &[&str]) -> Result<VolumeUnit> {
    if t.lang == Lang::En {
        return Ok(VolumeUnit::Mwh);
    }
    let mut max = 0;
    for m in mwh {
        max = max.max(figures::kwh(m)?);
    }
    Ok(VolumeUnit::for_volume(t.lang, max))
}

/// A column heading with its unit.
fn with_unit(t: &Texts, heading: &str, unit: &str) -> String {
    match t.lang {
        Lang::Zh => format!("{heading}（{unit}）"),
        Lang::En => format!("{heading} ({unit})"),
    }
}

fn card(h: &mut String, label: &str, value: &str, unit: &str, note: &str) {
    let _ = writeln!(
        h,
        "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}<span class=\"unit\">{}</span></div><div class=\"note\">{}</div></div>",
        esc(label),
        esc(value),
        esc(unit),
        esc(note)
    );
}

fn summary(h: &mut String, r: &AnnualReport, t: &Texts) -> Result<()> {
    let _ = writeln!(h, "<section id=\"summary\">\n<h2>{}</h2>", esc(t.summary));
    let growth = |g: &Option<String>| -> Result<String> {
        Ok(format!("{} {}", t.growth, figures::growth(g.as_deref())?))
    };
    h.push_str("<div class=\"cards\">\n");
    let (traded, traded_unit) = headline(t, &r.traded_mwh)?;
    card(
        h,
        t.traded,
        &traded,
        traded_unit,
        &growth(&r.traded_growth_percent)?,
    );
    let (settled, settled_unit) = headline(t, &r.settled_mwh)?;
    card(
        h,
        t.settled,
        &settled,
        settled_unit,
        &growth(&r.settled_growth_percent)?,
    );
    let (inter, inter_unit) = headline(t, &r.inter_provincial_mwh)?;
    card(
        h,
        t.inter_volume,
        &inter,
        inter_unit,
        &format!(
            "{} {}",
            t.inter_share,
            figures::share_percent(&r.inter_provincial_share)?
        ),
    );
    card(
        h,
        t.session_count,
        &figures::count(r.sessions as u64),
        t.session_unit,
        "",
    );
    card(
        h,
        t.users,
        &figures::count(r.users as u64),
        t.party_unit,
        &format!(
            "{} {}",
            t.participants,
            figures::count(r.participants as u64)
        ),
    );
    let price = |p: &Option<String>| p.clone().unwrap_or_else(|| "—".to_owned());
    card(
        h,
        t.energy_price,
        &price(&r.average_energy_price),
        t.price_unit,
        "",
    );
    card(
        h,
        t.env_price,
        &price(&r.average_env_price),
        t.price_unit,
        "",
    );
    let c = &r.certificates;
    card(
        h,
        t.issued,
        &figures::count(c.issued),
        t.certificate_unit,
        &format!(
            "{} {} · {} {}",
            t.transferred,
            figures::count(c.transferred),
            t.claimed,
            figures::count(c.claimed)
        ),
    );
    h.push_str("</div>\n");

    // Every figure with its exact value.
    let _ = writeln!(
        h,
        "<table id=\"figures\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        esc(t.figure),
        esc(t.value),
        esc(t.exact)
    );
    let volume = |h: &mut String, label: &str, mwh: &str| -> Result<()> {
        let (v, unit) = headline(t, mwh)?;
        row(
            h,
            &[
                label.to_owned(),
                format!("{v} {unit}"),
                format!("{} MWh", figures::mwh(mwh)?),
            ],
        );
        Ok(())
    };
    volume(h, t.traded, &r.traded_mwh)?;
    row(
        h,
        &[
            format!("{} · {}", t.traded, t.growth),
            figures::growth(r.traded_growth_percent.as_deref())?,
            r.traded_growth_percent.clone().unwrap_or_default(),
        ],
    );
    volume(h, t.settled, &r.settled_mwh)?;
    row(
        h,
        &[
            format!("{} · {}", t.settled, t.growth),
            figures::growth(r.settled_growth_percent.as_deref())?,
            r.settled_growth_percent.clone().unwrap_or_default(),
        ],
    );
    volume(h, t.inter_volume, &r.inter_provincial_mwh)?;
    row(
        h,
        &[
            t.inter_share.to_owned(),
            figures::share_percent(&r.inter_provincial_share)?,
            r.inter_provincial_share.clone(),
        ],
    );
    for (label, n) in [
        (t.session_count, r.sessions as u64),
        (t.participants, r.participants as u64),
        (t.users, r.users as u64),
        (t.issued, c.issued),
        (t.transferred, c.transferred),
        (t.claimed, c.claimed),
    ] {
        row(h, &[label.to_owned(), figures::count(n), n.to_string()]);
    }
    for (label, p) in [
        (t.energy_price, &r.average_energy_price),
        (t.env_price, &r.average_env_price),
    ] {
        row(
            h,
            &[
                label.to_owned(),
                p.as_ref()
                    .map_or_else(|| "—".to_owned(), |p| format!("{p} {}", t.price_unit)),
                p.clone().unwrap_or_default(),
            ],
        );
    }
    h.push_str("</table>\n");
    if r.traded_growth_percent.is_none() {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(t.growth_none));
    }
    h.push_str("</section>\n");
    Ok(())
}

fn monthly(h: &mut String, r: &AnnualReport, t: &Texts, chart: &Svg) -> Result<()> {
    let _ = writeln!(h, "<section id=\"months\">\n<h2>{}</h2>", esc(t.monthly));
    figure(h, chart, t.fig_monthly);
    let cells: Vec<&str> = r
        .months
        .iter()
        .flat_map(|m| {
            [
                m.intra_mwh.as_str(),
                m.inter_mwh.as_str(),
                m.settled_mwh.as_str(),
            ]
        })
        .collect();
    let unit = table_unit(t, &cells)?;
    head(
        h,
        &[
            t.month.to_owned(),
            with_unit(t, t.intra_col, unit.name()),
            with_unit(t, t.inter_col, unit.name()),
            with_unit(t, t.settled_col, unit.name()),
            t.issued.to_owned(),
            t.transferred.to_owned(),
            t.claimed.to_owned(),
        ],
    );
    for (i, m) in r.months.iter().enumerate() {
        let c = &m.certificates;
        row(
            h,
            &[
                t.months.get(i).map_or(m.month.clone(), |n| (*n).to_owned()),
                unit.show(figures::kwh(&m.intra_mwh)?),
                unit.show(figures::kwh(&m.inter_mwh)?),
                unit.show(figures::kwh(&m.settled_mwh)?),
                figures::count(c.issued),
                figures::count(c.transferred),
                figures::count(c.claimed),
            ],
        );
    }
    h.push_str("</table>\n</section>\n");
    Ok(())
}

fn sessions(h: &mut String, r: &AnnualReport, t: &Texts) {
    let _ = writeln!(h, "<section id=\"sessions\">\n<h2>{}</h2>", esc(t.sessions));
    head(
        h,
        &[
            t.mode.to_owned(),
            t.scope.to_owned(),
            t.session_count.to_owned(),
        ],
    );
    for s in &r.sessions_by_mode {
        row(
            h,
            &[
                mode_name(t.lang, &s.mode),
                scope_name(t.lang, &s.scope),
                figures::count(s.sessions as u64),
            ],
        );
    }
    total(
        h,
        &[
            t.total.to_owned(),
            String::new(),
            figures::count(r.sessions as u64),
        ],
    );
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<p>{} {} · {} {}</p>\n</section>",
        esc(t.participants),
        figures::count(r.participants as u64),
        esc(t.users),
        figures::count(r.users as u64)
    );
}

fn inter(h: &mut String, r: &AnnualReport, t: &Texts, chart: &Svg) -> Result<()> {
    let _ = writeln!(h, "<section id=\"inter\">\n<h2>{}</h2>", esc(t.inter));
    let (v, unit) = headline(t, &r.inter_provincial_mwh)?;
    let _ = writeln!(
        h,
        "<p>{} {} {} · {} {}</p>",
        esc(t.inter_volume),
        esc(&v),
        esc(unit),
        esc(t.inter_share),
        esc(&figures::share_percent(&r.inter_provincial_share)?)
    );
    figure(h, chart, t.fig_corridors);
    let cells: Vec<&str> = r
        .top_corridors
        .iter()
        .flat_map(|c| [c.sent_mwh.as_str(), c.delivered_mwh.as_str()])
        .collect();
    let unit = table_unit(t, &cells)?;
    head(
        h,
        &[
            t.corridor.to_owned(),
            with_unit(t, t.sent, unit.name()),
            with_unit(t, t.delivered, unit.name()),
        ],
    );
    for c in &r.top_corridors {
        row(
            h,
            &[
                format!(
                    "{} → {}",
                    province_name(t.lang, &c.from),
                    province_name(t.lang, &c.to)
                ),
                unit.show(figures::kwh(&c.sent_mwh)?),
                unit.show(figures::kwh(&c.delivered_mwh)?),
            ],
        );
    }
    h.push_str("</table>\n");
    if r.top_corridors.is_empty() {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(t.corridors_none));
    }
    h.push_str("</section>\n");
    Ok(())
}

fn technology(h: &mut String, r: &AnnualReport, t: &Texts, chart: &Svg) -> Result<()> {
    let _ = writeln!(
        h,
        "<section id=\"technology\">\n<h2>{}</h2>",
        esc(t.technology)
    );
    figure(h, chart, t.fig_technology);
    h.push_str("<div class=\"pair\">\n");
    let cells: Vec<&str> = r.by_technology.iter().map(|v| v.mwh.as_str()).collect();
    let unit = table_unit(t, &cells)?;
    head(h, &[t.tech.to_owned(), with_unit(t, t.volume, unit.name())]);
    for v in &r.by_technology {
        row(
            h,
            &[
                technology_name(t.lang, &v.technology),
                unit.show(figures::kwh(&v.mwh)?),
            ],
        );
    }
    h.push_str("</table>\n");
    let cells: Vec<&str> = r
        .by_source_province
        .iter()
        .map(|v| v.mwh.as_str())
        .collect();
    let unit = table_unit(t, &cells)?;
    head(
        h,
        &[
            t.source_province.to_owned(),
            with_unit(t, t.volume, unit.name()),
        ],
    );
    for v in &r.by_source_province {
        row(
            h,
            &[
                province_name(t.lang, &v.province),
                unit.show(figures::kwh(&v.mwh)?),
            ],
        );
    }
    h.push_str("</table>\n</div>\n</section>\n");
    Ok(())
}

fn prices(h: &mut String, r: &AnnualReport, t: &Texts, chart: &Svg) -> Result<()> {
    let _ = writeln!(h, "<section id=\"prices\">\n<h2>{}</h2>", esc(t.prices));
    let price = |p: &Option<String>| {
        p.as_ref()
            .map_or_else(|| "—".to_owned(), |p| format!("{p} {}", t.price_unit))
    };
    let _ = writeln!(
        h,
        "<p>{} {} · {} {}</p>",
        esc(t.energy_price),
        esc(&price(&r.average_energy_price)),
        esc(t.env_price),
        esc(&price(&r.average_env_price))
    );
    figure(h, chart, t.fig_prices);
    let cells: Vec<&str> = r
        .energy_price_bands
        .iter()
        .map(|b| b.mwh.as_str())
        .collect();
    let unit = table_unit(t, &cells)?;
    head(h, &[t.band.to_owned(), with_unit(t, t.volume, unit.name())]);
    for b in &r.energy_price_bands {
        row(
            h,
            &[
                format!("{} – {}", b.from_price, b.to_price),
                unit.show(figures::kwh(&b.mwh)?),
            ],
        );
    }
    h.push_str("</table>\n");
    let _ = writeln!(h, "<p class=\"note\">{}</p>\n</section>", esc(t.bands_note));
    Ok(())
}

fn certificates(h: &mut String, r: &AnnualReport, t: &Texts, chart: &Svg) {
    let _ = writeln!(
        h,
        "<section id=\"certificates\">\n<h2>{}</h2>",
        esc(t.certificates)
    );
    figure(h, chart, t.fig_certificates);
    // "绿证核发（张）"; in English the heading says it already.
    let heading = |label: &str| match t.lang {
        Lang::Zh => with_unit(t, label, t.certificate_unit),
        Lang::En => label.to_owned(),
    };
    head(
        h,
        &[
            String::new(),
            heading(t.issued),
            heading(t.transferred),
            heading(t.claimed),
        ],
    );
    let c = &r.certificates;
    total(
        h,
        &[
            t.total.to_owned(),
            figures::count(c.issued),
            figures::count(c.transferred),
            figures::count(c.claimed),
        ],
    );
    h.push_str("</table>\n</section>\n");
}

fn provinces(h: &mut String, r: &AnnualReport, t: &Texts) -> Result<()> {
    let _ = writeln!(
        h,
        "<section id=\"provinces\">\n<h2>{}</h2>",
        esc(t.provinces)
    );
    let cells: Vec<&str> = r
        .provinces
        .iter()
        .flat_map(|p| {
            [
                p.sold_mwh.as_str(),
                p.bought_mwh.as_str(),
                p.imported_mwh.as_str(),
                p.exported_mwh.as_str(),
                p.traded_mwh.as_str(),
                p.settled_mwh.as_str(),
            ]
        })
        .collect();
    let unit = table_unit(t, &cells)?;
    let _ = writeln!(
        h,
        "<div class=\"scroll\">\n<table><caption>{}{}</caption>",
        esc(t.volume_unit_caption),
        esc(unit.name())
    );
    header_row(
        h,
        &[
            t.province.to_owned(),
            t.sold.to_owned(),
            t.bought.to_owned(),
            t.imported.to_owned(),
            t.exported.to_owned(),
            t.province_traded.to_owned(),
            t.growth_col.to_owned(),
            t.settled_col.to_owned(),
            t.inter_share.to_owned(),
        ],
    );
    for p in &r.provinces {
        row(
            h,
            &[
                province_name(t.lang, &p.province),
                unit.show(figures::kwh(&p.sold_mwh)?),
                unit.show(figures::kwh(&p.bought_mwh)?),
                unit.show(figures::kwh(&p.imported_mwh)?),
                unit.show(figures::kwh(&p.exported_mwh)?),
                unit.show(figures::kwh(&p.traded_mwh)?),
                figures::growth(p.traded_growth_percent.as_deref())?,
                unit.show(figures::kwh(&p.settled_mwh)?),
                figures::share_percent(&p.inter_provincial_share)?,
            ],
        );
    }
    h.push_str("</table>\n");
    head(
        h,
        &[
            t.province.to_owned(),
            t.session_count.to_owned(),
            t.participants.to_owned(),
            t.users.to_owned(),
            with_unit(t, t.energy_price, t.price_unit),
            with_unit(t, t.env_price, t.price_unit),
            t.issued.to_owned(),
            t.transferred.to_owned(),
            t.claimed.to_owned(),
        ],
    );
    for p in &r.provinces {
        let c = &p.certificates;
        let price = |p: &Option<String>| p.clone().unwrap_or_else(|| "—".to_owned());
        row(
            h,
            &[
                province_name(t.lang, &p.province),
                figures::count(p.sessions as u64),
                figures::count(p.participants as u64),
                figures::count(p.users as u64),
                price(&p.average_energy_price),
                price(&p.average_env_price),
                figures::count(c.issued),
                figures::count(c.transferred),
                figures::count(c.claimed),
            ],
        );
    }
    h.push_str("</table>\n</div>\n</section>\n");
    Ok(())
}

fn footer(h: &mut String, t: &Texts, csv_files: &[&str]) {
    let _ = writeln!(h, "<footer>\n<h3>{}</h3>\n<ol>", esc(t.notes));
    for d in t.definitions {
        let _ = writeln!(h, "<li>{}</li>", esc(d));
    }
    let _ = writeln!(h, "</ol>\n<p>{}:", esc(t.files));
    for (i, f) in csv_files.iter().enumerate() {
        let sep = if i == 0 { " " } else { " · " };
        let _ = write!(h, "{sep}<a href=\"{}\">{}</a>", esc(f), esc(f));
    }
    h.push_str("</p>\n</footer>\n");
}

fn figure(h: &mut String, chart: &Svg, caption: &str) {
    let _ = writeln!(
        h,
        "<figure>\n{}<figcaption>{}</figcaption>\n</figure>",
        chart.0,
        esc(caption)
    );
}

/// Opens a table with its header row.
fn head(h: &mut String, cells: &[String]) {
    h.push_str("<table>");
    header_row(h, cells);
}

fn header_row(h: &mut String, cells: &[String]) {
    h.push_str("<tr>");
    for c in cells {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>\n");
}

fn row(h: &mut String, cells: &[String]) {
    h.push_str("<tr>");
    for c in cells {
        let _ = write!(h, "<td>{}</td>", esc(c));
    }
    h.push_str("</tr>\n");
}

fn total(h: &mut String, cells: &[String]) {
    h.push_str("<tr class=\"total\">");
    for c in cells {
        let _ = write!(h, "<td>{}</td>", esc(c));
    }
    h.push_str("</tr>\n");
}

/// Text escaped for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
