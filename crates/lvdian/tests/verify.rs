//! `lvdian verify` on a real ledger in a real SQLite file: ok, then one changed byte is named.

use std::process::Command;

use domain::{Fen, Kwh, ParticipantId, ProjectCode};
use registry::{Registry, TransferReason, YearMonth};
use store::{LedgerRow, Store};

#[tokio::test]
async fn verify_passes_then_names_the_entry_with_a_changed_byte() {
    let dir = std::env::temp_dir().join(format!("lvdian-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let url = format!("sqlite:{}", path.display());

    // A small year: issue 12.345 MWh (12 certificates, 345 kWh carried), transfer 5, claim 3.
    let mut registry = Registry::new();
    let project = ProjectCode::parse("33010000000000001").unwrap();
    let month = YearMonth::new(2024, 3).unwrap();
    let (owner, buyer) = (ParticipantId(1), ParticipantId(2));
    registry
        .issue(project, owner, month, Kwh(12_345), 1)
        .unwrap();
    registry
        .transfer(
            owner,
            buyer,
            project,
            month,
            5,
            TransferReason::Bilateral {
                price_per_cert: Fen(500),
            },
            2,
        )
        .unwrap();
    registry
        .claim(buyer, project, month, 3, "杭州某制造企业", 3)
        .unwrap();
    let rows: Vec<LedgerRow> = registry
        .entries()
        .iter()
        .map(|e| LedgerRow {
            seq: e.seq,
            at_ms: e.at_ms,
            entry: e.to_bytes(),
        })
        .collect();
    assert_eq!(rows.len(), 3);
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.append_ledger(&rows, None).await.unwrap();
    store.close().await;

    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_lvdian"))
            .args(["verify", "--db", &url])
            .output()
            .unwrap()
    };
    let out = verify();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "ok 3 entries\n");

    // Someone with write access to the database drops the append-only guard and changes one
    // byte of entry 2 (the transfer): verify names entry 2.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TRIGGER ledger_no_update")
        .execute(&pool)
        .await
        .unwrap();
    let (mut bytes,): (Vec<u8>,) = sqlx::query_as("SELECT entry FROM ledger WHERE seq = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    sqlx::query("UPDATE ledger SET entry = $1 WHERE seq = 2")
        .bind(bytes)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("entry 2: "), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
