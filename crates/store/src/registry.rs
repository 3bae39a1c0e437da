//! The certificate ledger's entries and versioned meter data.
//!
//! The ledger's entries are stored as opaque bytes (the registry's canonical encoding) with
//! their sequence number; verification happens outside, from exactly these bytes. Meter data is
//! stored one row per meter, month and version, the month's values packed as little-endian i64.

use sqlx::AssertSqlSafe;

use crate::rows::to_db;
use crate::{Pool, Result, Store, StoreError, StoredResponse, on_pool};

/// One stored ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    /// Its sequence number, from 1, without gaps.
    pub seq: u64,
    /// When it was made (ms since the Unix epoch).
    pub at_ms: i64,
    /// The registry's canonical bytes of the entry (hash included).
    pub entry: Vec<u8>,
}

/// One meter's data for one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterMonth {
    /// The meter id.
    pub meter: String,
    /// The month, `YYYY-MM`.
    pub month: String,
    /// The participant it measures.
    pub participant: String,
    /// kWh per 15-minute interval, in time order (96 per day).
    pub kwh: Vec<i64>,
}

/// The packing of meter months written now (migration 0009): varint deltas.
const PACKING: i64 = 1;

impl MeterMonth {
    /// The month's values packed (`PACKING` 1): each the zigzag LEB128 varint of its difference
    /// from the one before (the first from zero). A meter's month moves little from one
    /// quarter-hour to the next, so most values take one or two bytes instead of eight.
    fn packed(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.kwh.len() * 2);
        let mut previous: i64 = 0;
        for &v in &self.kwh {
            // Values are within ±10^9 (spec §1), so the difference cannot overflow.
            let delta = v.wrapping_sub(previous);
            previous = v;
            let mut zigzag = ((delta << 1) ^ (delta >> 63)) as u64;
            loop {
                let byte = (zigzag & 0x7f) as u8;
                zigzag >>= 7;
                if zigzag == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
        out
    }
}

/// The values of a stored month: `intervals` of them, in the row's `packing`.
fn unpack(bytes: &[u8], packing: i64, intervals: i64, meter: &str) -> Result<Vec<i64>> {
    let corrupt = |reason: String| StoreError::Corrupt {
        table: "meter_months",
        reason: format!("meter {meter:?}: {reason}"),
    };
    let values = match packing {
        0 => {
            if !bytes.len().is_multiple_of(8) {
                return Err(corrupt(format!(
                    "{} bytes is not a whole number of values",
                    bytes.len()
                )));
            }
            bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        }
        1 => {
            let mut values = Vec::with_capacity(usize::try_from(intervals).unwrap_or(0));
            let (mut previous, mut zigzag, mut shift) = (0i64, 0u64, 0u32);
            for &byte in bytes {
                if shift >= 64 {
                    return Err(corrupt("a varint longer than 10 bytes".to_owned()));
                }
                zigzag |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    let delta = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
                    previous = previous.wrapping_add(delta);
                    values.push(previous);
                    (zigzag, shift) = (0, 0);
                }
            }
            if shift != 0 {
                return Err(corrupt("the last varint is cut off".to_owned()));
            }
            values
        }
        other => return Err(corrupt(format!("unknown packing {other}"))),
    };
    if i64::try_from(values.len()) != Ok(intervals) {
        return Err(corrupt(format!(
            "{} values where the row says {intervals}",
            values.len()
        )));
    }
    Ok(values)
}

impl Store {
    /// Appends ledger entries in one transaction, with the response to remember for the request's
    /// idempotency key if given (so that a crash never separates a change from its remembered
    /// reply). Sequence numbers must continue the stored ones exactly (a gap or a taken number is
    /// refused as a conflict, and nothing is written).
    pub async fn append_ledger(
        &self,
        rows: &[LedgerRow],
        remember: Option<&StoredResponse>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.write_ledger(rows, None, remember).await
    }

    /// Records the final settlement of `month` (its result, JSON) together with the ledger
    /// entries of its certificate moves (证电合一) and the reply to remember, in **one**
    /// transaction: a failure at any point leaves none of them, and the run can be repeated. A
    /// month already settled finally is a conflict (`the final settlement of 2024-03`), and so is
    /// a ledger sequence that does not continue the stored one.
    pub async fn record_final_settlement(
        &self,
        month: &str,
        result: &str,
        at_ms: i64,
        rows: &[LedgerRow],
        remember: Option<&StoredResponse>,
    ) -> Result<()> {
        self.write_ledger(rows, Some((month, result, at_ms)), remember)
            .await
    }

    /// Writes ledger entries, a final settlement record and a remembered reply in one
    /// transaction.
    async fn write_ledger(
        &self,
        rows: &[LedgerRow],
        final_settlement: Option<(&str, &str, i64)>,
        remember: Option<&StoredResponse>,
    ) -> Result<()> {
        let last = self.ledger_last_seq().await?;
        for (i, row) in rows.iter().enumerate() {
            let expected = last + 1 + i as u64;
            if row.seq != expected {
                return Err(StoreError::Conflict {
                    what: format!("ledger entry {} (the next must be {expected})", row.seq),
                });
            }
        }
        const SQL: &str = "INSERT INTO ledger (seq, at_ms, entry) VALUES ($1, $2, $3)";
        const FINAL: &str =
            "INSERT INTO final_settlements (month, created_at_ms, result) VALUES ($1, $2, $3)";
        let conflict = |e: sqlx::Error, what: String| match e.as_database_error().map(|d| d.kind())
        {
            Some(sqlx::error::ErrorKind::UniqueViolation) => StoreError::Conflict { what },
            _ => StoreError::Database(e),
        };
        macro_rules! write {
            ($pool:expr) => {{
                let mut tx = $pool.begin_with(self.begin_write()).await?;
                if let Some((month, result, at_ms)) = final_settlement {
                    sqlx::query(FINAL)
                        .bind(month)
                        .bind(at_ms)
                        .bind(result)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, format!("the final settlement of {month}")))?;
                }
                for row in rows {
                    sqlx::query(SQL)
                        .bind(to_db(row.seq, "ledger seq")?)
                        .bind(row.at_ms)
                        .bind(row.entry.as_slice())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, format!("ledger entry {}", row.seq)))?;
                }
                if let Some(r) = remember {
                    crate::remember_in!(tx, r);
                }
                tx.commit().await?;
                Ok(())
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool) => write!(pool),
            Pool::Postgres(pool) => write!(pool),
        }
    }

    async fn ledger_last_seq(&self) -> Result<u64> {
        const SQL: &str = "SELECT COALESCE(MAX(seq), 0) FROM ledger";
        let (last,): (i64,) = on_pool!(self, pool => sqlx::query_as(SQL).fetch_one(pool).await)?;
        Ok(last as u64)
    }

    /// Every ledger entry, by sequence number.
    pub async fn ledger(&self) -> Result<Vec<LedgerRow>> {
        const SQL: &str = "SELECT seq, at_ms, entry FROM ledger ORDER BY seq";
        let rows: Vec<(i64, i64, Vec<u8>)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(seq, at_ms, entry)| LedgerRow {
                seq: seq as u64,
                at_ms,
                entry,
            })
            .collect())
    }

    /// Stores meter months, each as the next version of its (meter, month), in one transaction;
    /// returns the versions given, in order.
    pub async fn put_meter_months(&self, months: &[MeterMonth], at_ms: i64) -> Result<Vec<u32>> {
        self.put_meter_months_remembered(months, at_ms, |_| None)
            .await
    }

    /// [`Store::put_meter_months`], remembering in the same transaction the response `remember`
    /// makes of the versions written (the reply to a request with an idempotency key).
    pub async fn put_meter_months_remembered(
        &self,
        months: &[MeterMonth],
        at_ms: i64,
        remember: impl FnOnce(&[u32]) -> Option<StoredResponse>,
    ) -> Result<Vec<u32>> {
        const NEXT: &str =
            "SELECT COALESCE(MAX(version), 0) FROM meter_months WHERE meter = $1 AND month = $2";
        const INSERT: &str = "INSERT INTO meter_months \
             (meter, month, version, participant, intervals, total_kwh, kwh, imported_at_ms, packing) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        macro_rules! write {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await?;
                let mut versions = Vec::with_capacity(months.len());
                for m in months {
                    let (last,): (i64,) = sqlx::query_as(NEXT)
                        .bind(m.meter.as_str())
                        .bind(m.month.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                    let version = last + 1;
                    let total: i64 = m.kwh.iter().sum();
                    sqlx::query(INSERT)
                        .bind(m.meter.as_str())
                        .bind(m.month.as_str())
                        .bind(version)
                        .bind(m.participant.as_str())
                        .bind(m.kwh.len() as i64)
                        .bind(total)
                        .bind(m.packed())
                        .bind(at_ms)
                        .bind(PACKING)
                        .execute(&mut *tx)
                        .await?;
                    versions.push(version as u32);
                }
                if let Some(r) = remember(&versions) {
                    crate::remember_in!(tx, &r);
                }
                tx.commit().await?;
                Ok(versions)
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool) => write!(pool),
            Pool::Postgres(pool) => write!(pool),
        }
    }

    /// Every participant each of `meters` has been stored under, in any month and version, as
    /// sorted `(meter, participant)` pairs; meters never stored have none. Meter uploads use it
    /// to keep a meter with the owner of its first upload.
    pub async fn meter_owners(&self, meters: &[&str]) -> Result<Vec<(String, String)>> {
        // Bound parameters per statement, well under SQLite's 32,766 and PostgreSQL's 65,535;
        // the primary key (meter, month, version) serves each lookup.
        const CHUNK: usize = 1000;
        let mut owners = Vec::new();
        for chunk in meters.chunks(CHUNK) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT DISTINCT meter, participant FROM meter_months WHERE meter IN ({})",
                placeholders.join(", ")
            );
            let rows: Vec<(String, String)> = on_pool!(self, pool => {
                let mut query = sqlx::query_as(AssertSqlSafe(sql.as_str()));
                for meter in chunk {
                    query = query.bind(*meter);
                }
                query.fetch_all(pool).await
            })?;
            owners.extend(rows);
        }
        owners.sort();
        owners.dedup();
        Ok(owners)
    }

    /// The latest version of every meter's month as its total (the sum of its quarter-hours,
    /// stored when it was written): `(meter, participant, kWh)` by meter id. What settlement and
    /// issuance read, without unpacking a province's quarter-hours.
    pub async fn meter_month_totals(&self, month: &str) -> Result<Vec<(String, String, i64)>> {
        const SQL: &str = "SELECT m.meter, m.participant, m.total_kwh \
             FROM meter_months m \
             WHERE m.month = $1 AND m.version = \
               (SELECT MAX(version) FROM meter_months v WHERE v.meter = m.meter AND v.month = m.month) \
             ORDER BY m.meter";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).bind(month).fetch_all(pool).await)?)
    }

    /// The latest version of every meter's data for a month, by meter id.
    pub async fn meter_months(&self, month: &str) -> Result<Vec<(MeterMonth, u32)>> {
        const SQL: &str = "SELECT m.meter, m.participant, m.version, m.kwh, m.packing, m.intervals, \
             m.total_kwh FROM meter_months m \
             WHERE m.month = $1 AND m.version = \
               (SELECT MAX(version) FROM meter_months v WHERE v.meter = m.meter AND v.month = m.month) \
             ORDER BY m.meter";
        type Row = (String, String, i64, Vec<u8>, i64, i64, i64);
        let rows: Vec<Row> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(month).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(meter, participant, version, bytes, packing, intervals, total)| {
                let kwh = unpack(&bytes, packing, intervals, &meter)?;
                // The month close reads the stored total (`meter_month_totals`): it must be
                // the quarter-hours' sum.
                if kwh.iter().sum::<i64>() != total {
                    return Err(StoreError::Corrupt {
                        table: "meter_months",
                        reason: format!(
                            "meter {meter:?}: the stored total {total} kWh is not the sum of its quarter-hours"
                        ),
                    });
                }
                Ok((
                    MeterMonth {
                        meter,
                        month: month.to_owned(),
                        participant,
                        kwh,
                    },
                    version as u32,
                ))
            })
            .collect()
    }
}

impl Store {
    /// Records the final settlement of a month; a month already settled finally is a conflict
    /// (a final run is never reopened).
    pub async fn insert_final_settlement(
        &self,
        month: &str,
        result: &str,
        at_ms: i64,
    ) -> Result<()> {
        const SQL: &str =
            "INSERT INTO final_settlements (month, created_at_ms, result) VALUES ($1, $2, $3)";
        on_pool!(self, pool => sqlx::query(SQL).bind(month).bind(at_ms).bind(result).execute(pool).await.map(drop))
            .map_err(|e| match e.as_database_error().map(|d| d.kind()) {
                Some(sqlx::error::ErrorKind::UniqueViolation) => StoreError::Conflict {
                    what: format!("the final settlement of {month}"),
                },
                _ => StoreError::Database(e),
            })
    }

    /// Every final settlement run recorded, `(month, result JSON)`, by month.
    pub async fn final_settlements(&self) -> Result<Vec<(String, String)>> {
        const SQL: &str = "SELECT month, result FROM final_settlements ORDER BY month";
        Ok(on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// The months settled finally, in order.
    pub async fn final_settlement_months(&self) -> Result<Vec<String>> {
        const SQL: &str = "SELECT month FROM final_settlements ORDER BY month";
        let rows: Vec<(String,)> =
            on_pool!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(m,)| m).collect())
    }

    /// The recorded result of `month`'s final settlement run, if it has one.
    pub async fn final_settlement(&self, month: &str) -> Result<Option<String>> {
        const SQL: &str = "SELECT result FROM final_settlements WHERE month = $1";
        let row: Option<(String,)> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(month).fetch_optional(pool).await)?;
        Ok(row.map(|(r,)| r))
    }
}

#[cfg(test)]
mod packing_tests {
    use super::*;

    fn month(kwh: Vec<i64>) -> MeterMonth {
        MeterMonth {
            meter: "M1".into(),
            month: "2024-03".into(),
            participant: "1".into(),
            kwh,
        }
    }

    #[test]
    fn values_round_trip_compactly() {
        let pv: Vec<i64> = (0..2976)
            .map(|i| {
                if (24..72).contains(&(i % 96)) {
                    300 + i % 7
                } else {
                    0
                }
            })
            .collect();
        for kwh in [
            pv.clone(),
            vec![],
            vec![0, 1_000_000_000, -1_000_000_000, 1_000_000_000, 0],
            vec![i64::MAX, i64::MIN, 0, -1],
        ] {
            let m = month(kwh.clone());
            let packed = m.packed();
            assert_eq!(unpack(&packed, 1, kwh.len() as i64, "M1").unwrap(), kwh);
        }
        // A PV month: under 1.2 bytes a quarter-hour instead of 8.
        assert!(month(pv).packed().len() < 2976 * 12 / 10);
        // The first format still reads.
        let old: Vec<u8> = [5i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(unpack(&old, 0, 2, "M1").unwrap(), vec![5, 7]);
    }

    #[test]
    fn damaged_packing_is_named() {
        assert!(unpack(&[0x80], 1, 1, "M1").is_err(), "cut off");
        assert!(unpack(&[0xff; 11], 1, 1, "M1").is_err(), "too long");
        assert!(unpack(&[2, 2], 1, 1, "M1").is_err(), "count");
        assert!(unpack(&[2], 7, 1, "M1").is_err(), "unknown packing");
        assert!(unpack(&[0; 9], 0, 1, "M1").is_err(), "not whole values");
    }
}
