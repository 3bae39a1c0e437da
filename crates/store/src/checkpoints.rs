//! Checkpoints of the certificate registry (migration 0012) and the ledger reads that go with
//! them: a start reads the latest checkpoint and the entries after it, and a consumption
//! certificate reads the spans of one month's settlement transfers.

use crate::registry::LedgerRow;
use crate::rows::{corrupt, to_db};
use crate::{Pool, Result, Store, on_pool};

/// A stored registry checkpoint: the state after ledger entry `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The last ledger entry it covers.
    pub seq: u64,
    /// `registry::Registry::checkpoint` bytes.
    pub state: Vec<u8>,
}

type LedgerTuple = (i64, i64, Vec<u8>);

fn ledger_rows(rows: Vec<LedgerTuple>) -> Result<Vec<LedgerRow>> {
    rows.into_iter()
        .map(|(seq, at_ms, entry)| {
            Ok(LedgerRow {
                seq: u64::try_from(seq)
                    .map_err(|_| corrupt("ledger", format!("sequence number {seq}")))?,
                at_ms,
                entry,
            })
        })
        .collect()
}

impl Store {
    /// Stores a checkpoint (replacing one at the same position) and drops the others, in one
    /// transaction. The entries it covers
    /// must be stored already: it is refused (a conflict) if the ledger ends before `seq`.
    pub async fn put_registry_checkpoint(
        &self,
        checkpoint: &StoredCheckpoint,
        at_ms: i64,
    ) -> Result<()> {
        const DROP: &str = "DELETE FROM registry_checkpoints WHERE seq <> $1";
        const PUT: &str = "INSERT INTO registry_checkpoints (seq, state, created_at_ms) \
                           VALUES ($1, $2, $3) ON CONFLICT (seq) DO UPDATE \
                           SET state = excluded.state, created_at_ms = excluded.created_at_ms";
        let seq = to_db(checkpoint.seq, "sequence number")?;
        let packed = crate::rows::pack(&checkpoint.state);
        macro_rules! write {
            ($pool:expr) => {{
                let mut tx = $pool.begin_with(self.begin_write()).await?;
                let (last,): (i64,) = sqlx::query_as(crate::registry::LEDGER_LAST_SEQ)
                    .fetch_one(&mut *tx)
                    .await?;
                if last < seq {
                    return Err(crate::StoreError::Conflict {
                        what: format!(
                            "a registry checkpoint after entry {seq}: the ledger ends at {last}"
                        ),
                    });
                }
                sqlx::query(PUT)
                    .bind(seq)
                    .bind(&packed)
                    .bind(at_ms)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(DROP).bind(seq).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool, _) => write!(pool),
            Pool::Postgres(pool) => write!(pool),
        }
    }

    /// The latest registry checkpoint, if any.
    pub async fn registry_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        const SQL: &str = "SELECT seq, state FROM registry_checkpoints ORDER BY seq DESC LIMIT 1";
        let row: Option<(i64, Vec<u8>)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_optional(pool).await)?;
        let Some((seq, packed)) = row else {
            return Ok(None);
        };
        let row = format!("seq {seq}");
        Ok(Some(StoredCheckpoint {
            seq: u64::try_from(seq)
                .map_err(|_| corrupt("registry_checkpoints", "a negative sequence number"))?,
            state: crate::rows::unpack("registry_checkpoints", &row, &packed)?,
        }))
    }

    /// The ledger entries from `first` through `last` (inclusive), by sequence number.
    pub async fn ledger_range(&self, first: u64, last: u64) -> Result<Vec<LedgerRow>> {
        const SQL: &str =
            "SELECT seq, at_ms, entry FROM ledger WHERE seq >= $1 AND seq <= $2 ORDER BY seq";
        let first = to_db(first, "sequence number")?;
        let last = i64::try_from(last).unwrap_or(i64::MAX);
        let rows: Vec<LedgerTuple> = on_pool!(self, pool => sqlx::query_as(SQL)
            .bind(first)
            .bind(last)
            .fetch_all(pool)
            .await)?;
        ledger_rows(rows)
    }
}
