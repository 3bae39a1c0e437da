//! `/network`: the registered transmission corridors (输电通道) as a graph and a table.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::{Frame, failed, frame, render};
use crate::Web;
use crate::i18n::{self, grouped};
use crate::visit::Visit;
use api::dto::network::NetworkCorridorView;

pub struct CorridorRow {
    pub corridor: String,
    pub capacity: String,
    pub loss: String,
    pub tariff: String,
}

/// A corridor's energy in a year.
pub struct CarriedRow {
    pub corridor: String,
    pub sent: String,
    pub delivered: String,
}

#[derive(Template)]
#[template(path = "network.html")]
pub struct Network {
    pub frame: Frame,
    pub rows: Vec<CorridorRow>,
    /// The corridors that carried energy in `year`, most first.
    pub sent: Vec<CarriedRow>,
    pub year: Option<u16>,
    pub chart: String,
}

/// `GET /network`.
pub async fn page(State(web): State<Web>, visit: Visit) -> Response {
    let mut frame = frame(&web, &visit, "network").await;
    let corridors: Vec<NetworkCorridorView> = match web
        .get(visit.anonymous(), "/api/v1/network/corridors")
        .await
    {
        Ok(c) => c,
        Err(f) => return failed(&web, &visit, f, "/").await,
    };
    let lang = visit.lang;
    let name = |code: &str| i18n::province_name(lang, code);
    // The energy each corridor carried in the market's last year (the kept statistics).
    let year = web.app.market_years().map(|y| *y.end());
    let carried = match year {
        Some(year) => web
            .app
            .statistics(year, api::statistics::Freshness::Kept)
            .await
            .map(|k| k.report.top_corridors.clone())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut provinces: Vec<&str> = corridors
        .iter()
        .flat_map(|c| [c.from.as_str(), c.to.as_str()])
        .chain(
            carried
                .iter()
                .flat_map(|c| [c.from.as_str(), c.to.as_str()]),
        )
        .collect();
    provinces.sort_unstable();
    provinces.dedup();
    let chart = json!({
        "tooltip": {},
        "series": [{
            "type": "graph",
            "layout": "circular",
            "roam": false,
            "label": {"show": true},
            "edgeSymbol": ["none", "arrow"],
            "edgeLabel": {"show": true, "formatter": "{c}"},
            "lineStyle": {"curveness": 0.2, "width": 2},
            "symbolSize": 46,
            "data": provinces.iter().map(|p| json!({"name": name(p)})).collect::<Vec<_>>(),
            "links": carried.iter().map(|c| json!({
                "source": name(&c.from),
                "target": name(&c.to),
                "value": c.sent_mwh,
            })).chain(corridors.iter().filter(|c| !carried.iter().any(|k| k.from == c.from && k.to == c.to)).map(|c| json!({
                "source": name(&c.from),
                "target": name(&c.to),
                "value": c.capacity_mwh,
                "lineStyle": {"type": "dashed"},
            }))).collect::<Vec<_>>(),
        }]
    });
    frame.charts = !provinces.is_empty();
    let sent = carried
        .iter()
        .map(|c| CarriedRow {
            corridor: format!("{} → {}", name(&c.from), name(&c.to)),
            sent: grouped(&c.sent_mwh),
            delivered: grouped(&c.delivered_mwh),
        })
        .collect();
    let rows = corridors
        .iter()
        .map(|c| CorridorRow {
            corridor: format!("{} → {}", name(&c.from), name(&c.to)),
            capacity: grouped(&c.capacity_mwh),
            loss: c.loss.clone(),
            tariff: c.tariff.clone(),
        })
        .collect();
    render(
        &visit,
        &Network {
            frame,
            rows,
            sent,
            year,
            chart: chart.to_string(),
        },
    )
}
