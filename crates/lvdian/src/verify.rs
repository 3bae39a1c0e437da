//! `lvdian verify [--db URL]`: recompute the certificate ledger's hash chain and conservation,
//! check the stored registry checkpoint against the ledger replayed to its position, and every
//! stored session snapshot against the replay of its journal.

use std::process::ExitCode;

use anyhow::{Context, Result};
use store::Store;

/// Verifies the ledger stored at `url`: prints `ok <entries> entries` and returns success, or
/// names the first bad entry on stderr and returns failure (exit 1). A stored registry
/// checkpoint that is not the state the ledger replays to at its position, or a stored snapshot
/// of a published session that differs from the replay of its journal, is named on stderr and
/// fails too.
pub fn run(url: &str) -> Result<ExitCode> {
    crate::server::require_existing_sqlite(url)?;
    let (rows, checkpoint, bad_snapshots) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let store = Store::connect(url)
                .await
                .with_context(|| format!("cannot open {url}"))?;
            store.migrate().await?;
            let rows = store.ledger().await?;
            let checkpoint = store.registry_checkpoint().await?;
            let bad_snapshots = check_snapshots(&store).await?;
            store.close().await;
            anyhow::Ok((rows, checkpoint, bad_snapshots))
        })?;
    if let Some(first) = bad_snapshots.first() {
        eprintln!("{first}");
        return Ok(ExitCode::FAILURE);
    }
    // A stored sequence number out of place is reported like any other bad entry.
    if let Some((position, row)) = rows
        .iter()
        .enumerate()
        .find(|(i, r)| r.seq != *i as u64 + 1)
    {
        eprintln!(
            "entry {}: stored with sequence number {}",
            position + 1,
            row.seq
        );
        return Ok(ExitCode::FAILURE);
    }
    let bytes: Vec<&[u8]> = rows.iter().map(|r| r.entry.as_slice()).collect();
    let checkpoint = match checkpoint {
        Some(c) if registry::Registry::checkpoint_seq(&c.state).ok() != Some(c.seq) => {
            eprintln!(
                "the registry checkpoint filed under entry {} is not a checkpoint of it",
                c.seq
            );
            return Ok(ExitCode::FAILURE);
        }
        other => other.map(|c| c.state),
    };
    match registry::verify_bytes_with_checkpoint(&bytes, checkpoint.as_deref()) {
        Ok(report) => {
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Replays the journal of every session with a stored snapshot and compares: one message per
/// snapshot that differs (or does not read), in session order.
async fn check_snapshots(store: &Store) -> Result<Vec<String>> {
    let snapshots = store.session_snapshots().await?;
    let mut problems = Vec::new();
    for row in store.sessions().await? {
        let Some(stored) = snapshots.get(&row.id) else {
            continue;
        };
        let journal = store.journal(row.id).await?;
        let entries = journal.into_iter().map(store::JournalEntry::stamped);
        let replayed = match exchange::session::Session::replay(row.id, row.settings, entries) {
            Ok(session) => session.snapshot(),
            Err(e) => {
                problems.push(format!("session {}: {e}", row.id));
                continue;
            }
        };
        let kept: Option<serde_json::Value> = serde_json::from_str(&stored.json).ok();
        if replayed.last_seq != Some(stored.last_seq)
            || kept.as_ref() != Some(&serde_json::to_value(&replayed)?)
        {
            problems.push(format!(
                "session {}: its stored snapshot differs from the replay of its journal",
                row.id
            ));
        }
    }
    Ok(problems)
}
