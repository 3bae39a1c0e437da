//! `lvdian verify [--db URL]`: recompute the certificate ledger's hash chain and conservation.

use std::process::ExitCode;

use anyhow::{Context, Result};
use store::Store;

/// Verifies the ledger stored at `url`: prints `ok <entries> entries` and returns success, or
/// names the first bad entry on stderr and returns failure (exit 1).
pub fn run(url: &str) -> Result<ExitCode> {
    let rows = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let store = Store::connect(url)
                .await
                .with_context(|| format!("cannot open {url}"))?;
            store.migrate().await?;
            let rows = store.ledger().await?;
            store.close().await;
            anyhow::Ok(rows)
        })?;
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
    match registry::verify_bytes(&bytes) {
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
