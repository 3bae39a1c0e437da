//! The web dashboard in a real browser (issue 12): Debian's `chromium` driven through
//! `chromedriver` (fantoccini) against `lvdian serve` on a small demo database
//! (`lvdian demo --scale 0.01`).
//!
//! - The overview shows the year's traded volume and draws its charts.
//! - A participant signs in, sees its own contracts and certificates and not another's, submits
//!   an order in an open call auction and sees it listed.
//! - A second participant sees none of the first one's sealed bid on any page, before or after
//!   clearing.
//! - The operator closes, clears and publishes the session; its results page shows Q* and P*.
//! - The language switch turns the headings to English.
//! - A form post without the page's anti-forgery token is refused.
//!
//! Screenshots of every page are written to `target/tmp/dashboard/` (or `LVDIAN_SCREENSHOTS`).
//! Without chromedriver the test says so and passes, except in CI (`CI` set), where `.ci/run`
//! installs it and a missing driver fails the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process, killed on drop.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser(profile: &Path) -> (Driver, Client) {
    let port = common::free_port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,1800",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => {
                let timeouts = fantoccini::wd::TimeoutConfiguration::new(
                    Some(Duration::from_secs(30)),
                    Some(Duration::from_secs(30)),
                    Some(Duration::ZERO),
                );
                client.update_timeouts(timeouts).await.unwrap();
                return (driver, client);
            }
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "chromedriver did not answer: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Where the screenshots go.
fn shots() -> PathBuf {
    let dir = std::env::var_os("LVDIAN_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(client: &Client, name: &str) {
    eprintln!("dashboard: {name}");
    let png = client.screenshot().await.unwrap();
    assert!(png.len() > 1000, "{name}: an empty screenshot");
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// The text of the element `css` selects, once there is one. A page that is being replaced (a
/// click that navigates) can drop the element between finding and reading it; then it is found
/// again.
async fn text(client: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let element = client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        match element.text().await {
            Ok(text) => return text,
            Err(e) => {
                assert!(Instant::now() < deadline, "{css}: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn sign_in(client: &Client, base: &str, token: &str) {
    client.goto(&format!("{base}/signin")).await.unwrap();
    let form = client.form(Locator::Css("#signin-form")).await.unwrap();
    form.set_by_name("token", token).await.unwrap();
    form.submit().await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("#who"))
        .await
        .unwrap();
}

async fn sign_out(client: &Client) {
    client
        .find(Locator::Css("form[action='/signout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("#signin-link"))
        .await
        .unwrap();
}

/// Clicks a lifecycle button on the session's page and waits for the new state.
async fn act(client: &Client, base: &str, session: u64, action: &str, state: &str) {
    client
        .goto(&format!("{base}/sessions/{session}"))
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css(&format!("#action-{action}")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = text(client, "#session-state").await;
        if shown.contains(state) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{action}: the session shows {shown}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get(http: &reqwest::Client, url: String, token: &str) -> Value {
    let response = http.get(&url).bearer_auth(token).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// The ids of a participant's first page of contracts, as the page writes them.
async fn contract_ids(http: &reqwest::Client, api: &str, token: &str) -> Vec<String> {
    get(http, format!("{api}/contracts?limit=100"), token)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("S{}-C{}", c["session"], c["id"]))
        .collect()
}

/// The serial ranges a participant holds, with their production months.
async fn ranges(http: &reqwest::Client, api: &str, token: &str) -> Vec<(String, String)> {
    get(http, format!("{api}/certificates"), token).await["holdings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["range"].as_str().unwrap().to_owned(),
                h["month"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_in_a_browser() {
    // A browser that stops answering fails the test rather than hanging CI.
    tokio::time::timeout(Duration::from_secs(600), dashboard())
        .await
        .expect("the browser test finished within 10 minutes");
}

async fn dashboard() {
    if !Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: install chromium and chromium-driver"
        );
        eprintln!("skipped: {CHROMEDRIVER} is not installed (apt-get install chromium-driver)");
        return;
    }
    let work = tempdir();
    let demo = Command::new(common::BIN)
        .args(["demo", "--scale", "0.01"])
        .current_dir(&work)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let url = format!("sqlite:{}", work.join("lvdian-demo/lvdian.db").display());
    let operator = common::create_operator(&url);
    let mut server = common::start(&url).await;
    let base = server.base.clone();
    let api = server.api("");
    let http = reqwest::Client::new();

    // Two electricity users of Zhejiang with contracts, and a Zhejiang generator, each given a
    // token by the operator.
    let participants = get(&http, format!("{api}/participants"), &operator).await;
    let of_role = |role: &str| -> Vec<u64> {
        participants
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["role"] == role && p["province"] == "ZJ")
            .map(|p| p["id"].as_u64().unwrap())
            .collect()
    };
    let token_of = |id: u64| {
        let http = http.clone();
        let api = api.clone();
        let operator = operator.clone();
        async move {
            let (status, body) = common::post(
                &http,
                format!("{api}/participants/{id}/tokens"),
                &operator,
                json!({}),
                None,
            )
            .await
            .unwrap();
            assert_eq!(status, 201, "{body}");
            body["token"].as_str().unwrap().to_owned()
        }
    };
    let mut users = Vec::new();
    for id in of_role("user") {
        let token = token_of(id).await;
        if !contract_ids(&http, &api, &token).await.is_empty()
            && !ranges(&http, &api, &token).await.is_empty()
        {
            users.push((id, token));
        }
        if users.len() == 2 {
            break;
        }
    }
    assert_eq!(
        users.len(),
        2,
        "the demo has two users with contracts and certificates"
    );
    let (_, a_token) = users[0].clone();
    let (_, b_token) = users[1].clone();
    let generator = of_role("generator")[0];
    let g_token = token_of(generator).await;

    let profile = tempdir();
    let (_driver, client) = browser(&profile).await;

    // The overview: the year's traded volume, and its charts drawn.
    client.goto(&format!("{base}/")).await.unwrap();
    let traded = text(&client, "#traded .v").await;
    let report = get(&http, format!("{api}/statistics/2023"), &operator).await;
    let expected = report["traded_mwh"].as_str().unwrap().replace('.', "");
    assert_eq!(
        traded.replace([',', '.'], ""),
        expected,
        "traded volume shown"
    );
    wait_for_charts(&client, 4).await;
    shot(&client, "overview-zh").await;
    client.goto(&format!("{base}/sessions")).await.unwrap();
    text(&client, "#sessions").await;
    shot(&client, "sessions-zh").await;
    client.goto(&format!("{base}/network")).await.unwrap();
    wait_for_charts(&client, 1).await;
    shot(&client, "network-zh").await;

    // The operator creates a call auction from its page, announces and opens it.
    sign_in(&client, &base, &operator).await;
    client.goto(&format!("{base}/operator")).await.unwrap();
    let form = client.form(Locator::Css("#session-form")).await.unwrap();
    form.set_by_name("name", "2024年1月浙江绿电集中竞价（浏览器测试）")
        .await
        .unwrap();
    form.set_by_name("mode", "call_auction").await.unwrap();
    form.set_by_name("method", "uniform").await.unwrap();
    form.set_by_name("first_month", "2024-01").await.unwrap();
    form.set_by_name("last_month", "2024-01").await.unwrap();
    form.set_by_name("lot_mwh", "0.001").await.unwrap();
    form.submit().await.unwrap();
    let done = text(&client, "#done").await;
    let session: u64 = done
        .split([' ', ':'])
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no session id in {done:?}"));
    shot(&client, "operator-zh").await;
    act(&client, &base, session, "announce", "已公告").await;
    act(&client, &base, session, "open", "交易中").await;
    sign_out(&client).await;

    // A signs in: its own contracts and certificates (of a month it holds some), none of B's.
    sign_in(&client, &base, &a_token).await;
    let (a_ranges, b_ranges) = (
        ranges(&http, &api, &a_token).await,
        ranges(&http, &api, &b_token).await,
    );
    let month = &a_ranges[0].1;
    client
        .goto(&format!("{base}/me?month={month}"))
        .await
        .unwrap();
    let page = client.source().await.unwrap();
    let (a_contracts, b_contracts) = (
        contract_ids(&http, &api, &a_token).await,
        contract_ids(&http, &api, &b_token).await,
    );
    assert!(page.contains(&a_contracts[0]), "A's contract is listed");
    for c in b_contracts.iter().filter(|c| !a_contracts.contains(c)) {
        assert!(
            !page.contains(&format!(">{c}<")),
            "B's contract {c} shown to A"
        );
    }
    assert!(page.contains(&a_ranges[0].0), "A's certificates are listed");
    for (r, _) in &b_ranges {
        assert!(!page.contains(r), "B's certificates {r} shown to A");
    }
    shot(&client, "me-zh").await;
    client
        .goto(&format!("{base}/me/settlement?month={month}"))
        .await
        .unwrap();
    text(&client, "#settlement").await;
    shot(&client, "me-settlement-zh").await;
    sign_out(&client).await;

    // What B's pages show before A bids: a value of A's bid found there already (a contract
    // of B's may have the same price) says nothing, so only the others are looked for.
    let pages = [
        format!("{base}/sessions/{session}"),
        format!("{base}/me"),
        format!("{base}/me/settlement"),
        format!("{base}/sessions"),
        format!("{base}/"),
        format!("{base}/network"),
    ];
    sign_in(&client, &base, &b_token).await;
    let mut baseline = Vec::new();
    for page in &pages {
        eprintln!("dashboard: baseline {page}");
        client.goto(page).await.unwrap();
        baseline.push(client.source().await.unwrap());
    }
    sign_out(&client).await;
    sign_in(&client, &base, &a_token).await;

    // A bids in the open auction from the session's page, below any offer: 3.217 MWh at
    // 251.37 + 21.13 in h11, never filled, so nothing of it becomes public.
    client
        .goto(&format!("{base}/sessions/{session}"))
        .await
        .unwrap();
    let form = client.form(Locator::Css("#order-form")).await.unwrap();
    form.set_by_name("side", "buy").await.unwrap();
    form.set_by_name("period", "h11").await.unwrap();
    form.set_by_name("mwh", "3.217").await.unwrap();
    form.set_by_name("energy_price", "251.37").await.unwrap();
    form.set_by_name("env_price", "21.13").await.unwrap();
    form.submit().await.unwrap();
    let orders = text(&client, "#orders").await;
    assert!(
        orders.contains("3.217") && orders.contains("251.37") && orders.contains("21.13"),
        "A's order is listed: {orders}"
    );
    shot(&client, "session-open-zh").await;
    let sealed = ["3.217", "251.37", "21.13"];

    // The forms are refused without the page's anti-forgery token, or from another site.
    let form_post = |csrf: Option<&str>, cross_site: bool| {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut body = vec![
            ("nonce", "f".repeat(32)),
            ("side", "buy".to_owned()),
            ("period", "h12".to_owned()),
            ("mwh", "1.000".to_owned()),
            ("energy_price", "200.00".to_owned()),
            ("env_price", "1.00".to_owned()),
        ];
        if let Some(csrf) = csrf {
            body.push(("csrf", csrf.to_owned()));
        }
        let mut request = http
            .post(format!("{base}/sessions/{session}/orders"))
            .header(
                "cookie",
                format!("lvd_token={a_token}; lvd_csrf={}", "ab".repeat(32)),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                body.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&"),
            );
        if cross_site {
            request = request.header("sec-fetch-site", "cross-site");
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(form_post(None, false).await, 403, "no anti-forgery token");
    assert_eq!(
        form_post(Some(&"cd".repeat(32)), false).await,
        403,
        "a wrong one"
    );
    assert_eq!(
        form_post(Some(&"ab".repeat(32)), true).await,
        403,
        "another site"
    );
    assert_eq!(
        form_post(Some(&"ab".repeat(32)), false).await,
        303,
        "the page's own"
    );
    sign_out(&client).await;

    // The generator offers and B bids in h10 (through the API), so the session clears there.
    for (token, side, price) in [(&g_token, "sell", "300.00"), (&b_token, "buy", "455.55")] {
        let (status, body) = common::post(
            &http,
            format!("{api}/sessions/{session}/orders"),
            token,
            json!({"side": side, "period": "h10", "mwh": "5.000", "energy_price": price, "env_price": "10.00"}),
            None,
        )
        .await
        .unwrap();
        assert_eq!(status, 201, "{body}");
    }

    // B sees nothing of A's sealed bid on any page, before clearing...
    sign_in(&client, &base, &b_token).await;
    assert_sealed(&client, &pages, &baseline, &sealed).await;
    shot(&client, "session-open-other-zh").await;
    sign_out(&client).await;

    // The operator closes, clears and publishes from the session's page.
    sign_in(&client, &base, &operator).await;
    act(&client, &base, session, "close", "已闭市").await;
    act(&client, &base, session, "clear", "已出清").await;
    act(&client, &base, session, "publish", "已发布").await;
    let results = text(&client, "#results-table").await;
    let h10 = results
        .lines()
        .find(|l| l.starts_with("h10"))
        .unwrap_or_else(|| panic!("no h10 in {results}"));
    let figures: Vec<&str> = h10.split_whitespace().collect();
    assert_eq!(figures[1], "5.000", "Q* of h10: {h10}");
    assert!(
        figures[2].contains('.') && figures[2] != "—",
        "P* of h10: {h10}"
    );
    wait_for_charts(&client, 1).await;
    shot(&client, "session-results-zh").await;
    sign_out(&client).await;

    // ... nor after.
    sign_in(&client, &base, &b_token).await;
    assert_sealed(&client, &pages, &baseline, &sealed).await;
    sign_out(&client).await;

    // An open rolling session's depth updates by itself (server-sent events): an offer placed
    // through the API appears on the page without a reload, at its total price (301.00 energy
    // + 9.00 environmental value: the book ranks total prices).
    let (status, rolling) = common::post(
        &http,
        format!("{api}/sessions"),
        &operator,
        json!({"name": "2024年2月浙江绿电滚动撮合（浏览器测试）", "scope": "intra", "provinces": ["ZJ"],
               "horizon": "intra_month", "mode": "rolling", "first_month": "2024-02",
               "last_month": "2024-02", "energy_price_min": "0", "energy_price_max": "1000",
               "lot_mwh": "1", "compensation": "50"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{rolling}");
    let rolling = rolling["id"].as_u64().unwrap();
    for action in ["announce", "open"] {
        let (status, body) = common::post(
            &http,
            format!("{api}/sessions/{rolling}/{action}"),
            &operator,
            json!({}),
            None,
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    client
        .goto(&format!("{base}/sessions/{rolling}?period=h09"))
        .await
        .unwrap();
    // The table is replaced as events arrive, so it is read in one script call (an element
    // found first could be gone by the time its text is asked for).
    let depth = || async {
        client
            .execute(
                "const t = document.getElementById('depth-table'); return t ? t.innerText : '';",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    client
        .wait()
        .for_element(Locator::Css("#depth-table"))
        .await
        .unwrap();
    assert!(!depth().await.contains("310.00"));
    let (status, body) = common::post(
        &http,
        format!("{api}/sessions/{rolling}/orders"),
        &g_token,
        json!({"side": "sell", "period": "h09", "mwh": "7.000", "energy_price": "301.00", "env_price": "9.00"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !depth().await.contains("310.00") {
        assert!(
            Instant::now() < deadline,
            "the depth did not update by itself"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shot(&client, "session-rolling-depth-zh").await;

    // The language switch: headings in English, remembered on the next page.
    client.goto(&format!("{base}/sessions")).await.unwrap();
    client
        .find(Locator::Css("#lang-switch"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(text(&client, "#heading").await, "Session calendar");
    client.goto(&format!("{base}/")).await.unwrap();
    assert!(
        text(&client, "#heading")
            .await
            .starts_with("Green power market overview"),
    );
    wait_for_charts(&client, 4).await;
    shot(&client, "overview-en").await;
    client
        .goto(&format!("{base}/sessions/{session}"))
        .await
        .unwrap();
    assert!(
        text(&client, "#results")
            .await
            .contains("Cleared volume Q*")
    );
    shot(&client, "session-results-en").await;
    sign_in(&client, &base, &a_token).await;
    client.goto(&format!("{base}/me")).await.unwrap();
    assert!(text(&client, "#heading").await.starts_with("My business"));
    shot(&client, "me-en").await;
    // At phone width.
    client.set_window_size(390, 1600).await.unwrap();
    client.goto(&format!("{base}/")).await.unwrap();
    wait_for_charts(&client, 4).await;
    shot(&client, "overview-phone-en").await;
    let overflow = client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, json!(false), "the overview fits a phone's width");

    client.close().await.unwrap();
    server.kill();
    eprintln!("screenshots in {}", shots().display());
}

/// Waits until `n` charts have been drawn (ECharts put a canvas in each).
async fn wait_for_charts(client: &Client, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let drawn = client
            .find_all(Locator::Css("[data-drawn='true'] canvas"))
            .await
            .unwrap()
            .len();
        if drawn >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{drawn} of {n} charts drawn");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// No page of `pages` shows any of `sealed` that it did not show before (`baseline`).
async fn assert_sealed(client: &Client, pages: &[String], baseline: &[String], sealed: &[&str]) {
    for (page, before) in pages.iter().zip(baseline) {
        client.goto(page).await.unwrap();
        let source = client.source().await.unwrap();
        for value in sealed.iter().filter(|v| !before.contains(*v)) {
            assert!(
                !source.contains(value),
                "{page} shows {value} of another participant's sealed bid"
            );
        }
    }
}

fn tempdir() -> PathBuf {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("lvdian-dashboard-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
