//! The dashboard's pages over a real SQLite market, in-process (the browser test in
//! `crates/lvdian/tests/dashboard.rs` drives them in Chromium): what the forms refuse, where
//! links may lead, the headers every page carries, and hostile paths and queries that must
//! never make a page fail.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Clock;

impl api::hub::Clock for Clock {
    fn now_ms(&self) -> i64 {
        1_709_251_200_000
    }
}

struct Site {
    app: Router,
    operator: String,
    _db: TempFile,
}

struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

async fn site(name: &str) -> Site {
    let path = std::env::temp_dir().join(format!("lvdian-web-{name}-{}.db", std::process::id()));
    let db = TempFile(path.clone());
    let store = store::Store::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let operator = store
        .insert_participant(
            &store::NewParticipant {
                name: "浙江电力交易中心".into(),
                role: domain::Role::Operator,
                province: domain::Province::parse("ZJ").unwrap(),
            },
            0,
        )
        .await
        .unwrap();
    let token = api::auth::new_token();
    store
        .insert_token(operator.id, &api::auth::token_hash(&token), "test", 0)
        .await
        .unwrap();
    let state = api::AppState::load(store, Arc::new(Clock)).await.unwrap();
    Site {
        app: web::app(api::router(state.clone()), state),
        operator: token,
        _db: db,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Site {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&self, path: &str, cookie: &str) -> Answer {
        let request = Request::get(path)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    async fn post_form(&self, path: &str, cookie: &str, form: &str) -> Answer {
        let request = Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.send(request).await
    }

    async fn api(&self, path: &str, body: Value) -> Value {
        let request = Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.operator))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let answer = self.send(request).await;
        assert!(answer.status.is_success(), "{path}: {}", answer.body);
        serde_json::from_str(&answer.body).unwrap()
    }
}

const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn an_empty_market_has_pages_and_the_first_visit_gets_its_anti_forgery_cookie() {
    let site = site("empty").await;
    for path in ["/", "/sessions", "/network", "/signin"] {
        let page = site.get(path, "").await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.body.contains("绿电交易大厅"),
            "{path} is in Chinese by default"
        );
        let cookies: Vec<_> = page.headers.get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(cookies.len(), 1, "{path}");
        let cookie = cookies[0].to_str().unwrap();
        assert!(cookie.starts_with("lvd_csrf="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        // The form carries the cookie's value.
        let value = &cookie["lvd_csrf=".len()..][..64];
        if path == "/signin" {
            assert!(page.body.contains(&format!("value=\"{value}\"")));
        }
        let csp = page.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
    // A returning visitor keeps its cookie.
    let page = site.get("/", &format!("lvd_csrf={CSRF}")).await;
    assert!(page.headers.get(header::SET_COOKIE).is_none());
    assert!(site.get("/", "").await.body.contains("尚无交易数据"));
}

#[tokio::test]
async fn forms_without_the_visits_token_are_refused_and_nothing_is_done() {
    let site = site("forms").await;
    let session = site
        .api(
            "/api/v1/sessions",
            json!({"name": "测试", "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
                   "mode": "call_auction", "first_month": "2024-04", "last_month": "2024-04",
                   "energy_price_min": "0", "energy_price_max": "1000", "lot_mwh": "1",
                   "compensation": "50"}),
        )
        .await;
    let id = session["id"].as_u64().unwrap();
    let signed_in = format!("lvd_token={}; lvd_csrf={CSRF}", site.operator);
    let action = |csrf: &str| format!("csrf={csrf}&nonce=n1&action=announce");
    // No token, another token, no cookie at all: refused, and the session stays a draft.
    for (cookie, form) in [
        (signed_in.as_str(), "nonce=n1&action=announce".to_owned()),
        (signed_in.as_str(), action(&"f".repeat(64))),
        (signed_in.as_str(), action("")),
        (&format!("lvd_token={}", site.operator), action(CSRF)),
    ] {
        let answer = site
            .post_form(&format!("/sessions/{id}/action"), cookie, &form)
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{form}");
        assert!(answer.body.contains("表单已失效"), "{}", answer.body);
    }
    let page = site.get(&format!("/sessions/{id}"), &signed_in).await;
    assert!(page.body.contains("草稿"), "still a draft");
    // A post the browser says came from another site is refused even with the token.
    let request = Request::post(format!("/sessions/{id}/action"))
        .header(header::COOKIE, &signed_in)
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(action(CSRF)))
        .unwrap();
    assert_eq!(site.send(request).await.status, StatusCode::FORBIDDEN);
    // The page's own form acts, once: sent again with the same nonce it is the same reply.
    for _ in 0..2 {
        let answer = site
            .post_form(&format!("/sessions/{id}/action"), &signed_in, &action(CSRF))
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    }
    let page = site.get(&format!("/sessions/{id}"), &signed_in).await;
    assert!(page.body.contains("已公告"), "announced once");
    // Sign-out is a form too.
    let answer = site.post_form("/signout", &signed_in, "").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signing_in_sets_an_http_only_strict_cookie_and_a_wrong_token_is_told() {
    let site = site("signin").await;
    let cookie = format!("lvd_csrf={CSRF}");
    let answer = site
        .post_form(
            "/signin",
            &cookie,
            &format!("csrf={CSRF}&token={}", site.operator),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers[header::LOCATION], "/operator");
    let set = answer.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.starts_with(&format!("lvd_token={};", site.operator)),
        "{set}"
    );
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"));

    for token in ["lvd_0000", "", &"x".repeat(5000), "lvd_%00"] {
        let answer = site
            .post_form("/signin", &cookie, &format!("csrf={CSRF}&token={token}"))
            .await;
        assert!(
            answer.status == StatusCode::UNAUTHORIZED || answer.status == StatusCode::BAD_REQUEST,
            "{token:.20}: {}",
            answer.status
        );
        assert!(answer.headers.get(header::SET_COOKIE).is_none());
    }
    // Pages of a signed-in participant send the others to sign in.
    for path in ["/me", "/operator"] {
        let answer = site.get(path, &cookie).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(answer.headers[header::LOCATION], "/signin");
    }
    // A stale token shows the pages signed out.
    let page = site.get("/sessions", "lvd_token=lvd_gone").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("signin-link"));
}

#[tokio::test]
async fn the_language_switch_stays_on_this_site() {
    let site = site("lang").await;
    for (back, to) in [
        ("/sessions", "/sessions"),
        ("%2Fsessions%3Fstate%3Dopen", "/sessions?state=open"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/%5Cevil.example", "/"),
        ("", "/"),
    ] {
        let answer = site.get(&format!("/lang/en?back={back}"), "").await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{back}");
        assert_eq!(answer.headers[header::LOCATION], to, "{back}");
        let set = answer.headers[header::SET_COOKIE].to_str().unwrap();
        assert!(
            set.starts_with("lvd_lang=en;") && set.contains("Max-Age"),
            "{set}"
        );
    }
    let answer = site.get("/lang/xx?back=/", "").await;
    assert!(answer.headers.get(header::SET_COOKIE).is_none());
    let page = site.get("/sessions", "lvd_lang=en").await;
    assert!(page.body.contains("Session calendar") && page.body.contains("lang=\"en\""));
}

#[tokio::test]
async fn hostile_paths_and_queries_never_fail_a_page() {
    let site = site("hostile").await;
    let name = "<script>alert(1)</script>\"'&";
    site.api(
        "/api/v1/sessions",
        json!({"name": name, "scope": "intra", "provinces": ["ZJ"], "horizon": "month",
               "mode": "rolling", "first_month": "2024-04", "last_month": "2024-04",
               "energy_price_min": "0", "energy_price_max": "1000", "lot_mwh": "1",
               "compensation": "50"}),
    )
    .await;
    let operator = format!("lvd_token={}; lvd_csrf={CSRF}", site.operator);
    let page = site.get("/operator", &operator).await;
    assert!(!page.body.contains("<script>alert"), "names are escaped");
    assert!(page.body.contains("alert(1)"), "the name is shown, escaped");
    let long = "9".repeat(10_000);
    let paths = [
        "/sessions/abc".to_owned(),
        "/sessions/0".to_owned(),
        "/sessions/18446744073709551615".to_owned(),
        format!("/sessions/{long}"),
        "/sessions/1?period=%00".to_owned(),
        "/sessions/1?period=h99".to_owned(),
        "/sessions/1/depth/events".to_owned(),
        "/sessions?state=%3Cscript%3E".to_owned(),
        "/?year=99999".to_owned(),
        "/?year=-1".to_owned(),
        format!("/?year={long}"),
        "/me?month=2024-13".to_owned(),
        "/me?after=%22%3E%3Cscript%3E".to_owned(),
        "/me/consumption/2024-01.exe".to_owned(),
        "/me/consumption/..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/static/..%2FCargo.toml".to_owned(),
        "/static/nope.js".to_owned(),
    ];
    for cookie in [
        "",
        operator.as_str(),
        "lvd_lang=%00; lvd_csrf=zz; lvd_token=",
    ] {
        for path in &paths {
            let answer = site.get(path, cookie).await;
            assert!(
                !answer.status.is_server_error(),
                "{path} ({cookie:.10}): {}",
                answer.status
            );
            assert!(!answer.body.contains("<script>alert"), "{path}");
        }
    }
    // Malformed forms are refused without effect.
    for form in ["", "csrf", "%ZZ", &"a=1&".repeat(10_000)] {
        let answer = site.post_form("/sessions/1/orders", &operator, form).await;
        assert!(
            answer.status.is_client_error(),
            "{form:.20}: {}",
            answer.status
        );
    }
    // The vendored files are served with a long cache life; anything else is not there.
    let js = site
        .get(&format!("/static/{}", web::assets::ECHARTS), "")
        .await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    // A path the dashboard does not know is the API's JSON 404.
    let answer = site.get("/api/v1/nothing", "").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.body.contains("\"error\""));
}
