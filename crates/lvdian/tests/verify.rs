//! `lvdian verify` on a real ledger in a real SQLite file: ok, then one changed byte is named.

use std::process::Command;

use domain::{Fen, Kwh, ParticipantId, ProjectCode};
use registry::{Registry, TransferReason, YearMonth};
use store::{LedgerRow, Store};

/// A small year: issue 12.345 MWh (12 certificates, 345 kWh carried), transfer 5, claim 3.
fn small_year() -> Registry {
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
    registry
}

/// The ledger rows a store keeps of `registry`'s entries.
fn rows_of(registry: &Registry) -> Vec<LedgerRow> {
    registry
        .entries()
        .iter()
        .map(|e| LedgerRow {
            seq: e.seq,
            at_ms: e.at_ms,
            entry: e.to_bytes(),
        })
        .collect()
}

/// `lvdian verify --db <url>`, run to its end.
fn run_verify(url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lvdian"))
        .args(["verify", "--db", url])
        .output()
        .unwrap()
}

#[tokio::test]
async fn verify_passes_then_names_the_entry_with_a_changed_byte() {
    let dir = std::env::temp_dir().join(format!("lvdian-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let url = format!("sqlite:{}", path.display());

    let rows = rows_of(&small_year());
    assert_eq!(rows.len(), 3);
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.append_ledger(&rows, None).await.unwrap();
    store.close().await;

    let verify = || run_verify(&url);
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

    // Entry 2 put right, and a row written far past the end (the ledger is read a part at a
    // time): named as a gap.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for sql in [
        "DROP TRIGGER ledger_no_delete",
        "DELETE FROM ledger WHERE seq = 2",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    sqlx::query("INSERT INTO ledger (seq, at_ms, entry) VALUES (2, 2, $1), (60004, 9, x'00')")
        .bind(rows_of(&small_year())[1].entry.clone())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "entry 4: missing (the ledger goes on to sequence number 60004)\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The stored registry checkpoint is checked against the ledger replayed to its position: the
/// true one passes, a changed one is named at its entry.
#[tokio::test]
async fn verify_checks_the_registry_checkpoint() {
    let dir = std::env::temp_dir().join(format!("lvdian-verify-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("ledger.db").display());
    let registry = small_year();
    let (after_two, _) = registry::replay(&registry.entries()[..2]).unwrap();
    let at_two = after_two.checkpoint();
    let rows = rows_of(&registry);
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.append_ledger(&rows, None).await.unwrap();
    let put = async |seq: u64, state: Vec<u8>| {
        store
            .put_registry_checkpoint(&store::StoredCheckpoint { seq, state }, 4)
            .await
            .unwrap()
    };
    let verify = || {
        let out = run_verify(&url);
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
        )
    };
    put(2, at_two.clone()).await;
    assert_eq!(verify(), (Some(0), "ok 3 entries\n".to_owned()));
    let mut bent = at_two.clone();
    *bent.last_mut().unwrap() ^= 1;
    put(2, bent).await;
    let (code, said) = verify();
    assert_eq!(code, Some(1));
    assert!(
        said.starts_with("entry 2: the stored checkpoint here differs"),
        "{said}"
    );
    // The state after entry 3 filed under entry 2.
    put(2, registry.checkpoint()).await;
    let (code, said) = verify();
    assert_eq!(code, Some(1));
    assert!(
        said.contains("filed under entry 2 is not a checkpoint of it"),
        "{said}"
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A published session's stored snapshot is checked against its journal: ok as written by the
/// server, and a changed snapshot is named.
#[tokio::test]
async fn verify_checks_session_snapshots_against_their_journals() {
    use exchange::session::{Command as SessionCommand, Mode, Session, Stamp};
    use store::{Batch, JournalEntry, StoredSnapshot};

    let dir = std::env::temp_dir().join(format!("lvdian-verify-snap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite:{}", dir.join("market.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();

    // A call auction from the demo's scenario, run to publication.
    let settings = sim::monthly_settings(
        Mode::CallAuction(exchange::auction::Method::Uniform),
        2024,
        3,
    );
    let id = store
        .insert_session_remembered("2024年3月 集中竞价", &settings, 1, |_| None)
        .await
        .unwrap();
    let mut session = Session::new(id, settings).unwrap();
    let market = sim::Market::zhejiang(5, 5);
    let mut commands = vec![SessionCommand::Announce, SessionCommand::Open];
    commands.extend(sim::auction_commands(&market, &mut sim::Rng::new(7)));
    commands.extend([
        SessionCommand::Close,
        SessionCommand::Clear,
        SessionCommand::Publish,
    ]);
    let mut entries = Vec::new();
    for command in commands {
        let seq = entries.len() as u64 + 1;
        let stamp = Stamp {
            seq,
            at_ms: 1_000 + seq as i64,
        };
        if session.apply(command.clone(), stamp).is_ok() {
            entries.push(JournalEntry {
                seq,
                at_ms: stamp.at_ms,
                command,
            });
        }
    }
    store
        .append(&Batch {
            session: id,
            entries: entries.clone(),
            state: Some(exchange::session::SessionState::Published),
            orders: Vec::new(),
            contracts: Vec::new(),
            responses: Vec::new(),
        })
        .await
        .unwrap();
    let snapshot = session.snapshot();
    assert!(!snapshot.contracts.is_empty());
    let stored = StoredSnapshot {
        last_seq: entries.last().unwrap().seq,
        json: serde_json::to_string(&snapshot).unwrap(),
    };
    store.put_session_snapshot(id, &stored, 2).await.unwrap();
    store.close().await;

    let verify = || run_verify(&url);
    let out = verify();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A snapshot whose first contract was changed no longer matches the replay.
    let mut changed: serde_json::Value = serde_json::from_str(&stored.json).unwrap();
    changed["contracts"][0]["buyer"] = serde_json::json!(999);
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE session_snapshots SET snapshot = $1, packed = NULL")
        .bind(changed.to_string())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        format!("session {id}: its stored snapshot differs from the replay of its journal\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A database that is not there is named, not created and called ok.
#[test]
fn verify_refuses_a_missing_database() {
    let path = std::env::temp_dir().join(format!("lvdian-no-such-{}.db", std::process::id()));
    let url = format!("sqlite:{}", path.display());
    let out = run_verify(&url);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"));
    assert!(!path.exists());
}
