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
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let store = Store::connect(url)
                .await
                .with_context(|| format!("cannot open {url}"))?;
            store.migrate().await?;
            let verdict = check(&store).await;
            store.close().await;
            verdict
        })
}

/// How many ledger entries are read at a time: the ledger is verified as it is read, so memory
/// holds one part of it and the registry's state, not the whole ledger.
const LEDGER_PART: u64 = 50_000;

async fn check(store: &Store) -> Result<ExitCode> {
    if let Some(first) = check_snapshots(store).await?.first() {
        eprintln!("{first}");
        return Ok(ExitCode::FAILURE);
    }
    let checkpoint = match store.registry_checkpoint().await? {
        Some(c) if registry::Registry::checkpoint_seq(&c.state).ok() != Some(c.seq) => {
            eprintln!(
                "the registry checkpoint filed under entry {} is not a checkpoint of it",
                c.seq
            );
            return Ok(ExitCode::FAILURE);
        }
        other => other.map(|c| c.state),
    };
    let verdict = async {
        let mut verifier = registry::StreamVerifier::new(checkpoint.as_deref())?;
        let mut position = 0u64;
        loop {
            let rows = store
                .ledger_range(position + 1, position + LEDGER_PART)
                .await
                .map_err(Failed::Store)?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                break;
            };
            for row in &rows {
                position += 1;
                // A stored sequence number out of place is reported like any other bad entry.
                if row.seq != position {
                    return Err(Failed::Entry(format!(
                        "entry {position}: stored with sequence number {}",
                        row.seq
                    )));
                }
                verifier.push(&row.entry)?;
            }
            position = last;
        }
        // Rows past a gap of a whole part were not read: a gap is a missing entry.
        let stored_last = store.ledger_last_seq().await.map_err(Failed::Store)?;
        if stored_last > position {
            return Err(Failed::Entry(format!(
                "entry {}: missing (the ledger goes on to sequence number {stored_last})",
                position + 1
            )));
        }
        Ok(verifier.finish()?)
    };
    match verdict.await {
        Ok(report) => {
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(Failed::Store(e)) => Err(e.into()),
        Err(Failed::Entry(message)) => {
            eprintln!("{message}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Why verification stopped: the store could not be read, or an entry is bad.
enum Failed {
    Store(store::StoreError),
    Entry(String),
}

impl From<registry::VerifyError> for Failed {
    fn from(e: registry::VerifyError) -> Failed {
        Failed::Entry(e.to_string())
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
