//! `lvdian report` (issue 11, item 4) on the real binary: a small market is built over HTTP on
//! a fresh SQLite database — two Zhejiang generators and a Qinghai one with a project and a
//! meter each, three users; a call auction delivering December 2023 (for the year-on-year
//! growth), a call auction and an inter-provincial coupled call auction over the QH→ZJ
//! corridor delivering March 2024, a rolling session delivering May–June 2024; March's meters
//! uploaded by the grid, its certificates issued, its final settlement (证电合一), and a claim.
//! Then the server is stopped and the report written from the database:
//!
//! - twice to two folders: byte-identical files;
//! - in English: different files, English headings;
//! - its figures are those of `GET /api/v1/statistics/2024`, on the page and in the CSVs;
//! - an empty year renders, with its notes;
//! - the same market on PostgreSQL gives the same files;
//! - a bad `--year`, a missing database or an unusable `--out` are refused with a message
//!   naming the problem, and nothing is written.
//!
//! With `LVDIAN_REPORT_KEEP=DIR`, the Chinese and English reports are also copied to `DIR/zh`
//! and `DIR/en` (for `.ci/report_screenshot.sh`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

mod common;

use common::{BIN, create_operator, post, start};

/// The files of a report folder.
const FILES: [&str; 9] = [
    "report.html",
    "summary.csv",
    "months.csv",
    "provinces.csv",
    "technologies.csv",
    "source_provinces.csv",
    "corridors.csv",
    "price_bands.csv",
    "sessions_by_mode.csv",
];

/// kWh every meter reads every quarter-hour of March 2024: 29.76 MWh in the month.
const KWH_PER_QUARTER: u64 = 10;

/// POSTs and expects `status`; returns the body.
async fn expect(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
    status: u16,
) -> Value {
    let (got, reply) = post(client, url, token, body, None).await.unwrap();
    assert_eq!(got, status, "{reply}");
    reply
}

/// March 2024 for every (meter, participant).
fn meters(rows: &[(&str, u64)]) -> String {
    let mut csv = String::from("meter,participant,start,kwh\n");
    for (meter, participant) in rows {
        for day in 1..=31 {
            for q in 0..96 {
                csv.push_str(&format!(
                    "{meter},{participant},2024-03-{day:02}T{:02}:{:02},{KWH_PER_QUARTER}\n",
                    q / 4,
                    q % 4 * 15
                ));
            }
        }
    }
    csv
}

/// Builds the market on the empty database at `url` and returns the server's statistics of
/// 2024, read before it is stopped.
async fn set_up(url: &str) -> Value {
    let operator = create_operator(url);
    let mut server = start(url).await;
    let client = reqwest::Client::new();
    let party = async |name: &str, role: &str, province: &str| {
        let body = expect(
            &client,
            server.api("/participants"),
            &operator,
            json!({"name": name, "role": role, "province": province}),
            201,
        )
        .await;
        (
            body["participant"]["id"].as_u64().unwrap(),
            body["token"].as_str().unwrap().to_owned(),
        )
    };
    let (g1, g1_token) = party("浙江海上风电", "generator", "ZJ").await;
    let (g2, g2_token) = party("浙江分布式光伏聚合商", "generator", "ZJ").await;
    let (g3, g3_token) = party("青海光伏", "generator", "QH").await;
    let (u1, u1_token) = party("杭州用户", "user", "ZJ").await;
    let (u2, u2_token) = party("宁波用户", "user", "ZJ").await;
    let (u3, u3_token) = party("西宁用户", "user", "QH").await;
    let (_, grid) = party("国网浙江", "grid", "ZJ").await;
    let projects = [
        ("33010000000000001", "wind_offshore", "ZJ", g1, "MG1"),
        ("33010000000000002", "pv_distributed", "ZJ", g2, "MG2"),
        ("63010000000000001", "pv_central", "QH", g3, "MG3"),
    ];
    for (code, technology, province, owner, meter) in projects {
        expect(
            &client,
            server.api("/projects"),
            &operator,
            json!({"code": code, "technology": technology, "capacity_kw": 50000,
                   "province": province, "owner": owner, "meters": [meter]}),
            201,
        )
        .await;
    }

    let session = async |settings: Value| {
        let mut request = json!({"scope": "intra", "provinces": ["ZJ"], "horizon": "month",
            "energy_price_min": "100.00", "energy_price_max": "600.00", "lot_mwh": "1",
            "compensation": "50.00"});
        for (k, v) in settings.as_object().unwrap() {
            request[k] = v.clone();
        }
        let id = expect(&client, server.api("/sessions"), &operator, request, 201).await["id"]
            .as_u64()
            .unwrap();
        for action in ["announce", "open"] {
            let path = format!("/sessions/{id}/{action}");
            expect(&client, server.api(&path), &operator, json!(null), 200).await;
        }
        id
    };
    let order = |side: &str, period: &str, mwh: &str, energy: &str| {
        json!({"side": side, "period": period, "mwh": mwh, "energy_price": energy,
               "env_price": "20.00"})
    };
    let submit = async |id: u64, orders: Vec<(&str, Value)>| {
        for (token, body) in orders {
            let path = format!("/sessions/{id}/orders");
            expect(&client, server.api(&path), token, body, 201).await;
        }
    };
    let finish = async |id: u64, actions: &[&str]| {
        for action in actions {
            let path = format!("/sessions/{id}/{action}");
            expect(&client, server.api(&path), &operator, json!(null), 200).await;
        }
    };

    // December 2023: 10 MWh, so 2024 has a growth.
    let s0 = session(
        json!({"name": "2023年12月浙江绿电集中竞价", "mode": "call_auction",
        "method": "uniform", "first_month": "2023-12", "last_month": "2023-12"}),
    )
    .await;
    submit(
        s0,
        vec![
            (&g1_token, order("sell", "h01", "10", "380.00")),
            (&u1_token, order("buy", "h01", "10", "420.00")),
        ],
    )
    .await;
    finish(s0, &["close", "clear", "publish"]).await;

    // March 2024 within Zhejiang: 20 MWh at 400.00 (h01) and 15 MWh at 320.00 (h02).
    let s1 = session(
        json!({"name": "2024年3月浙江绿电集中竞价", "mode": "call_auction",
        "method": "uniform", "first_month": "2024-03", "last_month": "2024-03"}),
    )
    .await;
    submit(
        s1,
        vec![
            (&g1_token, order("sell", "h01", "20", "380.00")),
            (&u1_token, order("buy", "h01", "20", "420.00")),
            (&g2_token, order("sell", "h02", "15", "300.00")),
            (&u2_token, order("buy", "h02", "15", "340.00")),
        ],
    )
    .await;
    finish(s1, &["close", "clear", "publish"]).await;

    // March 2024 between provinces: QH→ZJ carries 5 MWh, 4.75 delivered.
    let s2 = session(
        json!({"name": "2024年3月省间绿电集中竞价", "scope": "inter",
        "provinces": ["ZJ", "QH"], "mode": "call_auction", "method": "coupled",
        "corridors": [{"from": "QH", "to": "ZJ", "capacity_mwh": "5.000", "loss": "0.05",
                       "tariff": "10.00"}],
        "first_month": "2024-03", "last_month": "2024-03"}),
    )
    .await;
    submit(
        s2,
        vec![
            (&g3_token, order("sell", "h01", "10", "200.00")),
            (&u3_token, order("buy", "h01", "3", "250.00")),
            (&g1_token, order("sell", "h01", "3", "400.00")),
            (&u2_token, order("buy", "h01", "8", "500.00")),
        ],
    )
    .await;
    finish(s2, &["close", "clear", "publish"]).await;

    // May–June 2024, rolling matching: 6 MWh at 300.00.
    let s3 = session(
        json!({"name": "2024年5-6月浙江绿电滚动撮合", "mode": "rolling",
        "horizon": "year", "first_month": "2024-05", "last_month": "2024-06"}),
    )
    .await;
    submit(
        s3,
        vec![
            (&g2_token, order("sell", "h12", "6", "300.00")),
            (&u1_token, order("buy", "h12", "6", "300.00")),
        ],
    )
    .await;
    finish(s3, &["close", "clear", "publish"]).await;

    // March's meters, certificates, final settlement (certificates move to the buyers), and
    // a claim of 5 of the certificates U1 now holds.
    let upload = client
        .post(server.api("/meters/2024-03"))
        .bearer_auth(&grid)
        .header("content-type", "text/csv")
        .body(meters(&[
            ("MG1", g1),
            ("MG2", g2),
            ("MG3", g3),
            ("MU1", u1),
            ("MU2", u2),
            ("MU3", u3),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        upload.status().as_u16(),
        201,
        "{}",
        upload.text().await.unwrap()
    );
    expect(
        &client,
        server.api("/certificates/issue"),
        &operator,
        json!({"month": "2024-03"}),
        201,
    )
    .await;
    expect(
        &client,
        server.api("/settlements"),
        &operator,
        json!({"month": "2024-03", "final": true}),
        201,
    )
    .await;
    expect(
        &client,
        server.api("/certificates/claim"),
        &u1_token,
        json!({"project": "33010000000000001", "month": "2024-03", "count": 5,
               "beneficiary": "杭州用户2024年3月用电"}),
        201,
    )
    .await;

    let stats: Value = client
        .get(server.api("/statistics/2024"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    server.kill();
    stats
}

/// Runs `lvdian report ARGS`.
fn report(args: &[&str]) -> Output {
    Command::new(BIN).arg("report").args(args).output().unwrap()
}

/// Runs `lvdian report` and expects success; returns stdout.
fn report_ok(url: &str, year: &str, out: &Path, lang: &str) -> String {
    let done = report(&[
        "--year",
        year,
        "--db",
        url,
        "--out",
        out.to_str().unwrap(),
        "--lang",
        lang,
    ]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    String::from_utf8(done.stdout).unwrap()
}

/// Every file of a report folder, by name.
fn read_folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        files.insert(
            entry.file_name().to_string_lossy().into_owned(),
            std::fs::read(entry.path()).unwrap(),
        );
    }
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    let mut expected = FILES.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "the files of {}", dir.display());
    files
}

/// A CSV file as rows of fields (RFC 4180 quoting), each row as long as the header.
fn csv(text: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(text).unwrap();
    assert!(text.ends_with('\n'));
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    assert!(!quoted, "an unclosed quote");
    let width = rows[0].len();
    assert!(rows.iter().all(|r| r.len() == width), "{rows:?}");
    rows
}

/// A CSV table as maps from the header's names to fields.
fn records(text: &[u8]) -> Vec<BTreeMap<String, String>> {
    let rows = csv(text);
    rows[1..]
        .iter()
        .map(|r| rows[0].iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

/// A JSON string or number as the CSV writes it (null as empty).
fn field(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Digits grouped by thousands, as the page writes numbers.
fn grouped(number: &str) -> String {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// A MWh figure in 万千瓦时 with 2 decimals, half away from zero (for positive figures):
/// 0.01万千瓦时 is 100 kWh.
fn wan(mwh: &str) -> String {
    let kwh: u64 = mwh.replace('.', "").parse().unwrap();
    let hundreds = (kwh + 50) / 100;
    grouped(&format!("{}.{:02}", hundreds / 100, hundreds % 100))
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvdian-report-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_renders_the_statistics_of_the_stored_market() {
    let dir = temp_dir("market");
    let url = format!("sqlite:{}", dir.join("lvdian.db").display());
    let stats = set_up(&url).await;
    // The market is what the test means it to be.
    assert_eq!(stats["sessions"], 3, "{stats}");
    assert!(stats["traded_growth_percent"].is_string(), "{stats}");
    assert_eq!(
        stats["top_corridors"].as_array().unwrap().len(),
        1,
        "{stats}"
    );
    assert!(
        stats["certificates"]["claimed"].as_u64() == Some(5),
        "{stats}"
    );
    assert!(
        stats["certificates"]["transferred"].as_u64() > Some(0),
        "{stats}"
    );
    assert_ne!(stats["settled_mwh"], "0.000", "{stats}");

    // Twice: byte-identical. The time `lvdian report` takes is printed for the record.
    let started = std::time::Instant::now();
    let printed = report_ok(&url, "2024", &dir.join("a"), "zh");
    eprintln!("lvdian report took {} ms", started.elapsed().as_millis());
    assert!(
        printed.contains(&dir.join("a").join("report.html").display().to_string()),
        "{printed}"
    );
    report_ok(&url, "2024", &dir.join("b"), "zh");
    let zh = read_folder(&dir.join("a"));
    assert_eq!(zh, read_folder(&dir.join("b")), "two runs differ");
    // Again into the same folder: the earlier report is replaced, identically.
    report_ok(&url, "2024", &dir.join("a"), "zh");
    assert_eq!(zh, read_folder(&dir.join("a")));

    // English differs, with English headings.
    report_ok(&url, "2024", &dir.join("en"), "en");
    let en = read_folder(&dir.join("en"));
    assert_ne!(zh["report.html"], en["report.html"]);
    let page_en = String::from_utf8(en["report.html"].clone()).unwrap();
    for heading in [
        "Green Electricity Trading — Annual Report 2024",
        "Inter-provincial trading and corridors",
        "Certificates issued",
        "Average energy price",
        "Volume (MWh)",
    ] {
        assert!(page_en.contains(heading), "no `{heading}` in English");
    }

    // The page: self-contained, five charts, the server's figures.
    let page = String::from_utf8(zh["report.html"].clone()).unwrap();
    assert_eq!(page.matches("<svg").count(), 5);
    for external in ["<script", "<link", "src=", "url(", "@import", "https:"] {
        assert!(!page.contains(external), "the page has `{external}`");
    }
    assert_eq!(
        page.matches("http:").count(),
        page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "only SVG namespaces name a URL"
    );
    for heading in [
        "2024年绿电交易年度报告",
        "省间交易与输电通道",
        "绿证核发",
        "绿证核销",
        "平均电能量价格",
        "平均绿色环境价值",
        "集中竞价（省间耦合出清）",
        "滚动撮合",
        "青海→浙江",
        "海上风电",
    ] {
        assert!(page.contains(heading), "no `{heading}` on the page");
    }
    let s = |key: &str| stats[key].as_str().unwrap().to_owned();
    let mut shown = vec![
        format!("{} MWh", grouped(&s("traded_mwh"))),
        format!("{} MWh", grouped(&s("settled_mwh"))),
        format!("{} MWh", grouped(&s("inter_provincial_mwh"))),
        format!("{}<span class=\"unit\">万千瓦时", wan(&s("traded_mwh"))),
        format!("同比 +{}%", s("traded_growth_percent")),
        format!("{} 元/兆瓦时", s("average_energy_price")),
        format!("{} 元/兆瓦时", s("average_env_price")),
    ];
    // A share of 4 decimals as a percentage: "0.4444" is 44.44%.
    let share: u64 = s("inter_provincial_share")
        .replace('.', "")
        .parse()
        .unwrap();
    shown.push(format!("{}.{:02}%", share / 100, share % 100));
    for key in ["sessions", "participants", "users"] {
        shown.push(format!(
            "<td>{}</td><td>{}</td></tr>",
            stats[key], stats[key]
        ));
    }
    for key in ["issued", "transferred", "claimed"] {
        let n = &stats["certificates"][key];
        shown.push(format!("<td>{n}</td><td>{n}</td></tr>"));
    }
    for figure in shown {
        assert!(page.contains(&figure), "no `{figure}` on the page");
    }

    // The CSVs parse and hold the server's figures.
    let summary: BTreeMap<String, String> = records(&zh["summary.csv"])
        .into_iter()
        .map(|r| (r["figure"].clone(), r["value"].clone()))
        .collect();
    for key in [
        "year",
        "sessions",
        "traded_mwh",
        "traded_growth_percent",
        "settled_mwh",
        "settled_growth_percent",
        "inter_provincial_mwh",
        "inter_provincial_share",
        "participants",
        "users",
        "average_energy_price",
        "average_env_price",
    ] {
        assert_eq!(summary[key], field(&stats[key]), "summary.csv: {key}");
    }
    for key in ["issued", "transferred", "claimed"] {
        assert_eq!(
            summary[&format!("certificates_{key}")],
            field(&stats["certificates"][key])
        );
    }
    let months = records(&zh["months.csv"]);
    assert_eq!(months.len(), 12);
    for (row, m) in months.iter().zip(stats["months"].as_array().unwrap()) {
        for key in ["month", "intra_mwh", "inter_mwh", "settled_mwh"] {
            assert_eq!(row[key], field(&m[key]), "months.csv {key}: {m}");
        }
        for key in ["issued", "transferred", "claimed"] {
            assert_eq!(
                row[&format!("certificates_{key}")],
                field(&m["certificates"][key])
            );
        }
    }
    let same = |file: &str, list: &str, keys: &[&str]| {
        let rows = records(&zh[file]);
        let expected = stats[list].as_array().unwrap();
        assert_eq!(rows.len(), expected.len(), "{file}");
        assert!(!rows.is_empty(), "{file} is empty");
        for (row, e) in rows.iter().zip(expected) {
            for key in keys {
                assert_eq!(row[*key], field(&e[*key]), "{file} {key}: {e}");
            }
        }
    };
    same(
        "provinces.csv",
        "provinces",
        &[
            "province",
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
        ],
    );
    same("technologies.csv", "by_technology", &["technology", "mwh"]);
    same(
        "source_provinces.csv",
        "by_source_province",
        &["province", "mwh"],
    );
    same(
        "corridors.csv",
        "top_corridors",
        &["from", "to", "sent_mwh", "delivered_mwh"],
    );
    same(
        "price_bands.csv",
        "energy_price_bands",
        &["from_price", "to_price", "mwh"],
    );
    same(
        "sessions_by_mode.csv",
        "sessions_by_mode",
        &["mode", "scope", "sessions"],
    );
    assert_eq!(records(&zh["provinces.csv"])[0]["name"], "青海");
    assert_eq!(records(&en["provinces.csv"])[0]["name"], "Qinghai");

    // An empty year renders: charts with their notes, zeros in the tables.
    report_ok(&url, "2030", &dir.join("empty"), "zh");
    let empty = read_folder(&dir.join("empty"));
    let page = String::from_utf8(empty["report.html"].clone()).unwrap();
    assert_eq!(page.matches("<svg").count(), 5);
    assert!(page.contains("2030年无交易数据"));
    assert!(page.contains("本年无经输电通道的省间耦合交易"));
    let months = records(&empty["months.csv"]);
    assert_eq!(months.len(), 12);
    assert!(months.iter().all(|m| m["intra_mwh"] == "0.000"));
    assert_eq!(csv(&empty["corridors.csv"]).len(), 1, "a header alone");

    if let Ok(keep) = std::env::var("LVDIAN_REPORT_KEEP") {
        for (lang, from) in [("zh", "a"), ("en", "en")] {
            let to = Path::new(&keep).join(lang);
            std::fs::create_dir_all(&to).unwrap();
            for file in FILES {
                std::fs::copy(dir.join(from).join(file), to.join(file)).unwrap();
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same market on PostgreSQL gives the same report, byte for byte, as on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_is_the_same_on_postgresql() {
    let Some((base, name, pg_url)) = common::postgres_database("report").await else {
        return;
    };
    let dir = temp_dir("postgres");
    let sqlite_url = format!("sqlite:{}", dir.join("lvdian.db").display());
    let on_sqlite = set_up(&sqlite_url).await;
    let on_postgres = set_up(&pg_url).await;
    assert_eq!(on_sqlite, on_postgres);
    report_ok(&sqlite_url, "2024", &dir.join("sqlite"), "zh");
    report_ok(&pg_url, "2024", &dir.join("postgres"), "zh");
    assert_eq!(
        read_folder(&dir.join("sqlite")),
        read_folder(&dir.join("postgres"))
    );
    store::Store::drop_postgres_database(&base, &name)
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let dir = temp_dir("refused");
    let db = dir.join("lvdian.db");
    let migrated = Command::new(BIN)
        .args([
            "migrate",
            "--database-url",
            &format!("sqlite:{}", db.display()),
        ])
        .output()
        .unwrap();
    assert!(migrated.status.success());
    let url = format!("sqlite:{}", db.display());
    let out = dir.join("out");
    let out_arg = out.to_str().unwrap();
    let refused = |args: &[&str], message: &str| {
        let done = report(args);
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(!done.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(done.stdout.is_empty(), "{args:?}");
    };
    for year in ["1999", "2100"] {
        refused(
            &["--year", year, "--db", &url, "--out", out_arg],
            &format!("{year} is not a year of the market, which runs from 2000 to 2099"),
        );
    }
    refused(
        &["--year", "24", "--db", &url, "--out", out_arg],
        "24 is not a year of the market",
    );
    refused(
        &["--year", "last", "--db", &url, "--out", out_arg],
        "`last` is not a year",
    );
    let missing = dir.join("missing.db");
    refused(
        &[
            "--year",
            "2024",
            "--db",
            &format!("sqlite:{}", missing.display()),
            "--out",
            out_arg,
        ],
        &format!("no database at {}", missing.display()),
    );
    assert!(!missing.exists(), "a missing database was created");
    // --out under a file, and a folder holding something else than a report.
    let file = dir.join("file.txt");
    std::fs::write(&file, "not a folder").unwrap();
    let under_file = file.join("out");
    refused(
        &[
            "--year",
            "2024",
            "--db",
            &url,
            "--out",
            under_file.to_str().unwrap(),
        ],
        "is not a folder",
    );
    let other = dir.join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    refused(
        &[
            "--year",
            "2024",
            "--db",
            &url,
            "--out",
            other.to_str().unwrap(),
        ],
        "will not replace",
    );
    assert_eq!(
        std::fs::read_to_string(other.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
    // Nothing written: no --out folder, no temporary folder left beside it.
    assert!(!out.exists());
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("lvdian.db"))
        .collect();
    left.sort();
    assert_eq!(left, ["file.txt", "other"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_explains_the_command() {
    let help = Command::new(BIN)
        .args(["report", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--year",
        "--db",
        "--out",
        "--lang",
        "亿千瓦时",
        "report.html",
        "CSV",
    ] {
        assert!(text.contains(flag), "no `{flag}` in:\n{text}");
    }
}
