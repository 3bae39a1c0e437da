//! `lvdian loadtest` and `lvdian faults` as a user runs them: a short load on each backend must
//! report every route it used and pass its exactly-once check, against its own in-process
//! server and against a running `lvdian serve`; one crash round per backend must pass.

use std::process::{Command, Output};

mod common;

use common::{BIN, create_operator, start};

fn lvdian(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

/// Runs a load test and checks its report: every route of the mix in the table with requests,
/// the exactly-once line clean, the raw store rate measured.
fn check_loadtest(args: &[&str], routes: &[&str]) {
    let output = lvdian(&[&["loadtest", "--duration", "2", "--clients", "4"], args].concat());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for route in routes {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(route))
            .unwrap_or_else(|| panic!("no line for {route} in\n{stdout}"));
        let requests: u64 = line
            .split_whitespace()
            .nth(route.split_whitespace().count())
            .unwrap()
            .parse()
            .unwrap();
        assert!(requests > 0, "{line}");
    }
    let check = stdout
        .lines()
        .find(|l| l.starts_with("exactly-once:"))
        .unwrap_or_else(|| panic!("no exactly-once line in\n{stdout}"));
    assert!(
        check.contains(" 0 lost, 0 duplicated, 0 mismatched") && check.ends_with("— ok"),
        "{check}"
    );
    assert!(
        !check.starts_with("exactly-once: 0 acknowledged"),
        "no order acknowledged: {check}"
    );
    assert!(
        stdout.contains("raw store append (") && stdout.contains("% of it"),
        "{stdout}"
    );
}

const SINGLE: &[&str] = &[
    "POST /sessions/{id}/orders ",
    "DELETE /sessions/{id}/orders/{order}",
    "GET /sessions/{id}/depth",
];

#[test]
fn loadtest_sqlite_single_orders() {
    check_loadtest(&["--database", "sqlite", "--batch", "1"], SINGLE);
}

#[test]
fn loadtest_sqlite_batches() {
    check_loadtest(
        &["--database", "sqlite", "--batch", "50"],
        &["POST /sessions/{id}/orders/batch"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadtest_postgres_single_orders() {
    if store::testing::database_url().is_none() {
        return;
    }
    check_loadtest(&["--database", "postgres", "--batch", "1"], SINGLE);
}

/// Against a running `lvdian serve`, with the token `lvdian admin create-operator` printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadtest_drives_a_running_server() {
    let dir = std::env::temp_dir().join(format!("lvdian-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("served.db").display());
    let operator = create_operator(&url);
    let server = start(&url).await;
    let base = server.base.clone();
    tokio::task::spawn_blocking(move || {
        check_loadtest(
            &[
                "--url",
                &base,
                "--token",
                &operator,
                "--raw-store",
                "sqlite",
            ],
            SINGLE,
        );
    })
    .await
    .unwrap();
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server that is not there is a clear error, not a panic.
#[test]
fn loadtest_against_no_server_says_so() {
    let output = lvdian(&[
        "loadtest",
        "--url",
        "http://127.0.0.1:9",
        "--token",
        "lvd_nothing",
        "--duration",
        "1",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: POST /sessions"), "{stderr}");
}

fn check_faults(database: &str) {
    let output = lvdian(&[
        "faults",
        "--rounds",
        "1",
        "--database",
        database,
        "--seed",
        "11",
        "--clients",
        "4",
        "--kill-within-ms",
        "300",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("faults: seed 11"), "{stdout}");
    assert!(stdout.contains("round 1: killed "), "{stdout}");
    assert!(
        stdout.contains(&format!("faults {database}: 1 rounds ok")),
        "{stdout}"
    );
}

#[test]
fn faults_round_sqlite() {
    check_faults("sqlite");
}

#[test]
fn faults_round_postgres() {
    if store::testing::database_url().is_none() {
        return;
    }
    check_faults("postgres");
}
