//! Shared by the tests that run the real `lvdian serve` process.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_lvdian");

/// A running `lvdian serve`.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its database.
    pub url: String,
}

impl Server {
    /// `base/api/v1` + `path`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGKILL mid-work, and wait until nothing of the process can still change its database:
    /// on PostgreSQL a killed client's backend may still be committing what it last sent, so
    /// this waits (up to 30 s) until the database has no other connection.
    pub async fn kill_mid_work(&mut self) {
        self.kill();
        if !self.url.starts_with("postgres") {
            return;
        }
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (others,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            if others == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the killed server's connections did not end"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        conn.close().await.unwrap();
    }
}

/// A test that fails midway leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `lvdian serve` on a free port and waits until `/healthz` answers.
pub async fn start(url: &str) -> Server {
    let port = free_port();
    let child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            url,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Server {
        child,
        base,
        url: url.to_owned(),
    }
}

/// Registers an operator with `lvdian admin create-operator`; returns its token.
pub fn create_operator(url: &str) -> String {
    let admin = Command::new(BIN)
        .args(["admin", "create-operator", "--database-url", url])
        .output()
        .unwrap();
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    String::from_utf8(admin.stdout).unwrap().trim().to_owned()
}

/// POSTs JSON as `token`, with an idempotency key if given; returns status and body.
pub async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
    key: Option<&str>,
) -> Result<(u16, Value), reqwest::Error> {
    let mut request = client.post(url).bearer_auth(token).json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// A fresh PostgreSQL database on the server of `LVDIAN_TEST_DATABASE_URL`, or `None` (printing
/// that the test is skipped). Returns (base URL, database name, URL of the new database).
pub async fn postgres_database(tag: &str) -> Option<(String, String, String)> {
    let base = store::testing::database_url()?;
    let name = format!("lvdian_{tag}_{}", std::process::id());
    let url = store::Store::create_postgres_database(&base, &name)
        .await
        .unwrap();
    Some((base, name, url))
}
