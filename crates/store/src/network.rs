//! The network registry: the corridors (输电通道) between provinces that the operator keeps, one
//! row per direction. Sessions never read this table when they replay: a coupled session copies
//! the corridors it uses into its settings when it is created.

use domain::{Kwh, ParticipantId, Price, Province};
use sqlx::error::ErrorKind;

use crate::rows::{self, to_db};
use crate::{Pool, Result, Store, StoreError, on_pool, violation};

/// A registered corridor: energy may be sent from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkCorridor {
    /// The sending province.
    pub from: Province,
    /// The receiving province (not `from`).
    pub to: Province,
    /// The most energy that may be sent in a period, not negative.
    pub capacity: Kwh,
    /// Fraction of sent energy lost, in 1/10000 (`0.035` is 350), in `0..10000`.
    pub loss: i64,
    /// Transmission tariff per MWh sent, not negative.
    pub tariff: Price,
    /// When it was last written (ms since the Unix epoch).
    pub updated_at_ms: i64,
    /// Who last wrote it.
    pub updated_by: ParticipantId,
}

impl Store {
    /// Registers a corridor, or replaces the one registered for the same (from, to).
    ///
    /// An unknown `updated_by` is [`StoreError::Missing`] (`participant P7`). Values the table
    /// refuses (`from = to`, a negative capacity or tariff, a loss outside `0..10000`) are
    /// database errors: callers check them first.
    pub async fn put_corridor(&self, corridor: &NetworkCorridor) -> Result<()> {
        const SQL: &str = "INSERT INTO corridors \
                           (from_province, to_province, capacity_kwh, loss, tariff, updated_at_ms, updated_by) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7) \
                           ON CONFLICT (from_province, to_province) DO UPDATE SET \
                           capacity_kwh = excluded.capacity_kwh, loss = excluded.loss, \
                           tariff = excluded.tariff, updated_at_ms = excluded.updated_at_ms, \
                           updated_by = excluded.updated_by";
        let updated_by = to_db(corridor.updated_by.0, "participant id")?;
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(corridor.from.as_str())
            .bind(corridor.to.as_str())
            .bind(corridor.capacity.0)
            .bind(corridor.loss)
            .bind(corridor.tariff.0)
            .bind(corridor.updated_at_ms)
            .bind(updated_by)
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| {
            violation(e, |kind| {
                (kind == ErrorKind::ForeignKeyViolation).then(|| StoreError::Missing {
                    what: format!("participant {}", corridor.updated_by),
                })
            })
        })
    }

    /// Removes the corridor registered from `from` to `to`; returns whether there was one.
    pub async fn delete_corridor(&self, from: &Province, to: &Province) -> Result<bool> {
        const SQL: &str = "DELETE FROM corridors WHERE from_province = $1 AND to_province = $2";
        let deleted = on_pool!(self, pool => sqlx::query(SQL)
            .bind(from.as_str())
            .bind(to.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(deleted > 0)
    }

    /// Every registered corridor, sorted by (from, to). Province codes are upper-case ASCII
    /// letters, which every collation of either backend orders the same way.
    pub async fn corridors(&self) -> Result<Vec<NetworkCorridor>> {
        const SQL: &str = "SELECT from_province, to_province, capacity_kwh, loss, tariff, \
                           updated_at_ms, updated_by \
                           FROM corridors ORDER BY from_province, to_province";
        let rows: Vec<rows::CorridorTuple> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter().map(rows::corridor).collect()
    }
}
