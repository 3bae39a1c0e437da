//! Snapshots of published sessions (migration 0008): derived data that spares a start the replay
//! of journals that can no longer change.

use std::collections::BTreeMap;

use domain::SessionId;

use crate::rows::{corrupt, to_db};
use crate::{Pool, Result, Store, on_pool};

/// A stored snapshot: the journal's last sequence number it covers, and its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSnapshot {
    /// The last sequence number of the journal it was taken after.
    pub last_seq: u64,
    /// `exchange::session::Snapshot` as JSON.
    pub json: String,
}

impl Store {
    /// Stores the snapshot of a published session, unless it has one already.
    pub async fn put_session_snapshot(
        &self,
        session: SessionId,
        snapshot: &StoredSnapshot,
        at_ms: i64,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO session_snapshots (session_id, last_seq, snapshot, created_at_ms, packed) \
                           VALUES ($1, $2, '', $3, $4) ON CONFLICT (session_id) DO NOTHING";
        let id = to_db(session.0, "session id")?;
        let last_seq = to_db(snapshot.last_seq, "sequence number")?;
        let packed = crate::rows::pack_document(&snapshot.json);
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(id)
            .bind(last_seq)
            .bind(at_ms)
            .bind(&packed)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Every stored snapshot, by session.
    pub async fn session_snapshots(&self) -> Result<BTreeMap<SessionId, StoredSnapshot>> {
        const SQL: &str = "SELECT session_id, last_seq, snapshot, packed FROM session_snapshots";
        let rows: Vec<(i64, i64, String, Option<Vec<u8>>)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(id, last_seq, text, packed)| {
                let json = crate::rows::unpack_document(
                    "session_snapshots",
                    &format!("session {id}"),
                    text,
                    packed,
                )?;
                let bad =
                    |what: &str| corrupt("session_snapshots", format!("session {id}: {what}"));
                Ok((
                    SessionId(u64::try_from(id).map_err(|_| bad("id"))?),
                    StoredSnapshot {
                        last_seq: u64::try_from(last_seq).map_err(|_| bad("last_seq"))?,
                        json,
                    },
                ))
            })
            .collect()
    }

    /// The last sequence number of every session's journal (sessions with entries only).
    pub async fn journal_last_seqs(&self) -> Result<BTreeMap<SessionId, u64>> {
        const SQL: &str = "SELECT session_id, MAX(seq) FROM journal GROUP BY session_id";
        let rows: Vec<(i64, i64)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(id, seq)| {
                let bad = || corrupt("journal", format!("session {id}: sequence {seq}"));
                Ok((
                    SessionId(u64::try_from(id).map_err(|_| bad())?),
                    u64::try_from(seq).map_err(|_| bad())?,
                ))
            })
            .collect()
    }
}
