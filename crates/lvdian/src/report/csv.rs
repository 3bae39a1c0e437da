//! The report's tables as CSV (RFC 4180: comma-separated, `\n` line ends, fields quoted when
//! they hold a comma, a quote or a line break). Figures are the report's own strings — MWh
//! with 3 decimals, prices in yuan/MWh with 2, shares with 4 — so the files are exact; an
//! absent figure (a growth with nothing the year before, an average with no volume) is an
//! empty field. Column names are the JSON fields' names in both languages; only the `name`
//! columns (and the summary's `label`) follow `--lang`.

use market::AnnualReport;

use super::texts::{Texts, mode_name, province_name, scope_name, technology_name};

/// Every CSV file: its name and its text.
pub fn tables(report: &AnnualReport, t: &Texts) -> Vec<(&'static str, String)> {
    vec![
        ("summary.csv", summary(report, t)),
        ("months.csv", months(report)),
        ("provinces.csv", provinces(report, t)),
        ("technologies.csv", technologies(report, t)),
        ("source_provinces.csv", sources(report, t)),
        ("corridors.csv", corridors(report, t)),
        ("price_bands.csv", price_bands(report)),
        ("sessions_by_mode.csv", sessions(report, t)),
    ]
}

fn summary(r: &AnnualReport, t: &Texts) -> String {
    let c = &r.certificates;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows: Vec<[String; 4]> = vec![
        row("year", "", &r.year.to_string(), ""),
        row(
            "sessions",
            t.session_count,
            &r.sessions.to_string(),
            "sessions",
        ),
        row("traded_mwh", t.traded, &r.traded_mwh, "MWh"),
        row(
            "traded_growth_percent",
            t.growth,
            &opt(&r.traded_growth_percent),
            "%",
        ),
        row("settled_mwh", t.settled, &r.settled_mwh, "MWh"),
        row(
            "settled_growth_percent",
            t.growth,
            &opt(&r.settled_growth_percent),
            "%",
        ),
        row(
            "inter_provincial_mwh",
            t.inter_volume,
            &r.inter_provincial_mwh,
            "MWh",
        ),
        row(
            "inter_provincial_share",
            t.inter_share,
            &r.inter_provincial_share,
            "ratio",
        ),
        row(
            "participants",
            t.participants,
            &r.participants.to_string(),
            "parties",
        ),
        row("users", t.users, &r.users.to_string(), "parties"),
        row(
            "average_energy_price",
            t.energy_price,
            &opt(&r.average_energy_price),
            "yuan/MWh",
        ),
        row(
            "average_env_price",
            t.env_price,
            &opt(&r.average_env_price),
            "yuan/MWh",
        ),
        row(
            "certificates_issued",
            t.issued,
            &c.issued.to_string(),
            "certificates",
        ),
        row(
            "certificates_transferred",
            t.transferred,
            &c.transferred.to_string(),
            "certificates",
        ),
        row(
            "certificates_claimed",
            t.claimed,
            &c.claimed.to_string(),
            "certificates",
        ),
    ];
    let mut out = line(&["figure", "label", "value", "unit"]);
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

fn row(figure: &str, label: &str, value: &str, unit: &str) -> [String; 4] {
    [figure, label, value, unit].map(str::to_owned)
}

fn months(r: &AnnualReport) -> String {
    let mut out = line(&[
        "month",
        "intra_mwh",
        "inter_mwh",
        "settled_mwh",
        "certificates_issued",
        "certificates_transferred",
        "certificates_claimed",
    ]);
    for m in &r.months {
        let c = &m.certificates;
        out.push_str(&line(&[
            m.month.clone(),
            m.intra_mwh.clone(),
            m.inter_mwh.clone(),
            m.settled_mwh.clone(),
            c.issued.to_string(),
            c.transferred.to_string(),
            c.claimed.to_string(),
        ]));
    }
    out
}

fn provinces(r: &AnnualReport, t: &Texts) -> String {
    let mut out = line(&[
        "province",
        "name",
        "sold_mwh",
        "bought_mwh",
        "imported_mwh",
        "exported_mwh",
        "traded_mwh",
        "traded_growth_percent",
        "settled_mwh",
        "inter_provincial_share",
        "sessions",
        "participants",
        "users",
        "average_energy_price",
        "average_env_price",
        "certificates_issued",
        "certificates_transferred",
        "certificates_claimed",
    ]);
    for p in &r.provinces {
        let c = &p.certificates;
        out.push_str(&line(&[
            p.province.clone(),
            province_name(t.lang, &p.province),
            p.sold_mwh.clone(),
            p.bought_mwh.clone(),
            p.imported_mwh.clone(),
            p.exported_mwh.clone(),
            p.traded_mwh.clone(),
            p.traded_growth_percent.clone().unwrap_or_default(),
            p.settled_mwh.clone(),
            p.inter_provincial_share.clone(),
            p.sessions.to_string(),
            p.participants.to_string(),
            p.users.to_string(),
            p.average_energy_price.clone().unwrap_or_default(),
            p.average_env_price.clone().unwrap_or_default(),
            c.issued.to_string(),
            c.transferred.to_string(),
            c.claimed.to_string(),
        ]));
    }
    out
}

fn technologies(r: &AnnualReport, t: &Texts) -> String {
    let mut out = line(&["technology", "name", "mwh"]);
    for v in &r.by_technology {
        out.push_str(&line(&[
            v.technology.clone(),
            technology_name(t.lang, &v.technology),
            v.mwh.clone(),
        ]));
    }
    out
}

fn sources(r: &AnnualReport, t: &Texts) -> String {
    let mut out = line(&["province", "name", "mwh"]);
    for v in &r.by_source_province {
        out.push_str(&line(&[
            v.province.clone(),
            province_name(t.lang, &v.province),
            v.mwh.clone(),
        ]));
    }
    out
}

fn corridors(r: &AnnualReport, t: &Texts) -> String {
    let mut out = line(&[
        "from",
        "to",
        "from_name",
        "to_name",
        "sent_mwh",
        "delivered_mwh",
    ]);
    for c in &r.top_corridors {
        out.push_str(&line(&[
            c.from.clone(),
            c.to.clone(),
            province_name(t.lang, &c.from),
            province_name(t.lang, &c.to),
            c.sent_mwh.clone(),
            c.delivered_mwh.clone(),
        ]));
    }
    out
}

fn price_bands(r: &AnnualReport) -> String {
    let mut out = line(&["from_price", "to_price", "mwh"]);
    for b in &r.energy_price_bands {
        out.push_str(&line(&[
            b.from_price.clone(),
            b.to_price.clone(),
            b.mwh.clone(),
        ]));
    }
    out
}

fn sessions(r: &AnnualReport, t: &Texts) -> String {
    let mut out = line(&["mode", "mode_name", "scope", "scope_name", "sessions"]);
    for s in &r.sessions_by_mode {
        out.push_str(&line(&[
            s.mode.clone(),
            mode_name(t.lang, &s.mode),
            s.scope.clone(),
            scope_name(t.lang, &s.scope),
            s.sessions.to_string(),
        ]));
    }
    out
}

/// One CSV line with its `\n`.
fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(line(&["a", "b,c", "d\"e", ""]), "a,\"b,c\",\"d\"\"e\",\n");
    }
}
