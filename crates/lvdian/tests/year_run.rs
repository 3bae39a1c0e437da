//! `lvdian demo` at a small scale: a year of the scenario through the service, twice with
//! the same seed (the same figures), once with another (different ones), and `lvdian verify`
//! on what it wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

fn lvdian(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lvdian"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs the demo into `dir/<name>/lvdian.db` (its reports beside it), with `more` flags;
/// returns its statistics lines (the timing lines left out).
fn run(dir: &Path, name: &str, seed: &str, more: &[&str]) -> (PathBuf, Vec<String>) {
    let db = dir.join(name).join("lvdian.db");
    let mut args = vec![
        "demo",
        "--scale",
        "0.001",
        "--years",
        "2022,2023",
        "--seed",
        seed,
        "--db",
        db.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    let out = lvdian(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // The run checks every month's settlement and the certificates, and says so.
    assert!(text.contains("conservation: "), "{text}");
    let lines: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("2022:") || l.starts_with("2023:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    (db, lines)
}

/// Every file of a folder, by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() > 3, "{} holds {} files", dir.display(), out.len());
    out
}

#[test]
fn a_small_year_runs_through_the_service_reproducibly() {
    let dir = std::env::temp_dir().join(format!("lvdian-year-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (db, first) = run(&dir, "a", "2023", &[]);
    let (_, again) = run(&dir, "b", "2023", &[]);
    let (_, other) = run(&dir, "c", "7", &[]);
    let (_, smaller) = run(&dir, "d", "2023", &["--traded-kwh", "6000000000"]);
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_ne!(first, smaller);
    // The same seed writes byte-identical reports; another seed or target other ones; and
    // `lvdian report` on the database writes the demo's report again.
    let reports = |name: &str| files(&dir.join(name).join("report-2023"));
    assert_eq!(reports("a"), reports("b"));
    assert_ne!(reports("a"), reports("c"));
    assert_ne!(reports("a"), reports("d"));
    let again = dir.join("again");
    let out = lvdian(&[
        "report",
        "--year",
        "2023",
        "--db",
        &format!("sqlite:{}", db.display()),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files(&again), reports("a"));
    // 2023 traded about 1/1000 of 82.13亿千瓦时, three times 2022, in 95 sessions.
    assert!(first[1].contains("95 sessions"), "{}", first[1]);
    assert!(first[1].contains("(growth 2"), "{}", first[1]);
    // A database already there is not overwritten.
    let out = lvdian(&[
        "demo",
        "--scale",
        "0.001",
        "--years",
        "2023",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
    // The certificate ledger and the sessions' snapshots check out.
    let url = format!("sqlite:{}", db.display());
    let out = lvdian(&["verify", "--db", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
