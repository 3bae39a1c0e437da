//! `/`: the market overview — the year's figures and charts, the numbers of
//! `GET /api/v1/statistics/{year}` and `lvdian report` (the `market` statistics), kept by the
//! service and refreshed after writes.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Frame, frame, render, utc};
use crate::Web;
use crate::i18n::{self, Lang, grouped};
use crate::visit::Visit;

#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<String>,
}

/// The figures as the page shows them.
pub struct Figures {
    pub as_of: String,
    pub stale: bool,
    pub traded: String,
    pub traded_growth: Option<String>,
    pub settled: String,
    pub settled_growth: Option<String>,
    pub inter: String,
    pub inter_share: String,
    pub sessions: usize,
    pub participants: usize,
    pub users: usize,
    pub energy_price: String,
    pub env_price: String,
    pub issued: String,
    pub transferred: String,
    pub claimed: String,
    pub monthly_chart: String,
    pub technology_chart: String,
    pub province_chart: String,
    pub price_chart: String,
    /// Corridor by name, sent and delivered MWh.
    pub corridors: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct Overview {
    pub frame: Frame,
    pub year: u16,
    pub years: Vec<u16>,
    pub figures: Option<Figures>,
}

/// `GET /?year=YYYY`: the year asked for (a year of the market), else the last delivery year of
/// any session.
pub async fn page(
    State(web): State<Web>,
    visit: Visit,
    Query(query): Query<YearQuery>,
) -> Response {
    let mut frame = frame(&web, &visit, "overview").await;
    let span = web.app.market_years();
    let asked = query
        .year
        .and_then(|y| y.parse::<u16>().ok())
        .filter(|y| domain::MARKET_YEARS.contains(y));
    let year = asked
        .or_else(|| span.as_ref().map(|s| *s.end()))
        .unwrap_or_else(|| clock_year(web.app.now_ms()));
    let mut years: Vec<u16> = span.map(|s| s.rev().collect()).unwrap_or_default();
    if !years.contains(&year) {
        years.push(year);
        years.sort_unstable_by(|a, b| b.cmp(a));
    }
    let figures = match web
        .app
        .statistics(year, api::statistics::Freshness::Kept)
        .await
    {
        Ok(kept) if kept.report.sessions > 0 || kept.report.traded_mwh != "0.000" => {
            let stale = kept.generation != web.app.statistics_generation();
            Some(figures(visit.lang, &kept.report, utc(kept.as_of_ms), stale))
        }
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(year, "overview without figures: {}", e.message);
            None
        }
    };
    frame.charts = figures.is_some();
    render(
        &visit,
        &Overview {
            frame,
            year,
            years,
            figures,
        },
    )
}

fn clock_year(ms: i64) -> u16 {
    let (y, _, _) = domain::civil_from_days(ms.div_euclid(86_400_000));
    u16::try_from(y).unwrap_or(2000)
}

fn figures(lang: Lang, r: &market::AnnualReport, as_of: String, stale: bool) -> Figures {
    let t = lang.texts();
    let none = || "—".to_owned();
    let months: Vec<&str> = r.months.iter().map(|m| m.month.as_str()).collect();
    let monthly = json!({
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "data": [t.intra, t.inter, t.settled]},
        "grid": {"left": 60, "right": 20, "bottom": 30, "top": 40},
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value"},
        "series": [
            bar(t.intra, r.months.iter().map(|m| &m.intra_mwh), Some("volume")),
            bar(t.inter, r.months.iter().map(|m| &m.inter_mwh), Some("volume")),
            {"name": t.settled, "type": "line", "data": r.months.iter().map(|m| number(&m.settled_mwh)).collect::<Vec<_>>()},
        ]
    });
    let technology = json!({
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0},
        "series": [{
            "type": "pie",
            "radius": ["35%", "65%"],
            "data": r.by_technology.iter().map(|v| json!({
                "name": i18n::technology_name(lang, &v.technology),
                "value": number(&v.mwh),
            })).collect::<Vec<_>>(),
        }]
    });
    let provinces = json!({
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 60, "right": 20, "bottom": 30, "top": 20},
        "xAxis": {"type": "category", "data": r.by_source_province.iter().map(|v| i18n::province_name(lang, &v.province)).collect::<Vec<_>>()},
        "yAxis": {"type": "value"},
        "series": [bar(t.traded, r.by_source_province.iter().map(|v| &v.mwh), None)],
    });
    let prices = json!({
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 60, "right": 20, "bottom": 30, "top": 20},
        "xAxis": {"type": "category", "data": r.energy_price_bands.iter().map(|b| format!("{}–{}", b.from_price, b.to_price)).collect::<Vec<_>>()},
        "yAxis": {"type": "value"},
        "series": [bar(t.traded, r.energy_price_bands.iter().map(|b| &b.mwh), None)],
    });
    Figures {
        as_of,
        stale,
        traded: grouped(&r.traded_mwh),
        traded_growth: r.traded_growth_percent.clone(),
        settled: grouped(&r.settled_mwh),
        settled_growth: r.settled_growth_percent.clone(),
        inter: grouped(&r.inter_provincial_mwh),
        inter_share: percent(&r.inter_provincial_share),
        sessions: r.sessions,
        participants: r.participants,
        users: r.users,
        energy_price: r.average_energy_price.clone().unwrap_or_else(none),
        env_price: r.average_env_price.clone().unwrap_or_else(none),
        issued: grouped(&r.certificates.issued.to_string()),
        transferred: grouped(&r.certificates.transferred.to_string()),
        claimed: grouped(&r.certificates.claimed.to_string()),
        monthly_chart: monthly.to_string(),
        technology_chart: technology.to_string(),
        province_chart: provinces.to_string(),
        price_chart: prices.to_string(),
        corridors: r
            .top_corridors
            .iter()
            .map(|c| {
                (
                    format!(
                        "{} → {}",
                        i18n::province_name(lang, &c.from),
                        i18n::province_name(lang, &c.to)
                    ),
                    grouped(&c.sent_mwh),
                    grouped(&c.delivered_mwh),
                )
            })
            .collect(),
    }
}

/// A bar series of decimal MWh strings (stacked when `stack` names a stack).
fn bar<'a>(name: &str, values: impl Iterator<Item = &'a String>, stack: Option<&str>) -> Value {
    let mut series = json!({
        "name": name,
        "type": "bar",
        "data": values.map(|v| number(v)).collect::<Vec<_>>(),
    });
    if let Some(stack) = stack {
        series["stack"] = json!(stack);
    }
    series
}

/// A value of a chart: the exact decimal string, which ECharts reads as a number.
fn number(decimal: &str) -> Value {
    Value::String(decimal.to_owned())
}

/// A share with 4 decimals (`"0.2513"`) as a percent with 2 (`"25.13"`), exactly.
fn percent(share: &str) -> String {
    let (int, frac) = share.split_once('.').unwrap_or((share, ""));
    let frac = format!("{frac:0<4}");
    let whole = format!("{}{}", int, &frac[..2]);
    let whole = whole.trim_start_matches('0');
    format!(
        "{}.{}",
        if whole.is_empty() { "0" } else { whole },
        &frac[2..4]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_become_percents_exactly() {
        assert_eq!(percent("0.2513"), "25.13");
        assert_eq!(percent("0"), "0.00");
        assert_eq!(percent("1.0000"), "100.00");
        assert_eq!(percent("0.0005"), "0.05");
    }
}
