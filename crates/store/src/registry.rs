//! The certificate ledger's entries and versioned meter data.
//!
//! The ledger's entries are stored as opaque bytes (the registry's canonical encoding) with
//! their sequence number; verification happens outside, from exactly these bytes. Meter data is
//! stored one row per meter, month and version, the month's values packed in the row's
//! `packing`:
//!
//! - 0 (the first rows): 8 bytes little-endian per value;
//! - 1 (migration 0009): per value, the zigzag LEB128 varint of its difference from the one
//!   before (the first from zero);
//! - 2 (migration 0010, written now): the varints of 1, each token `u` either one value,
//!   `zigzag(delta) << 1`, or a run, `((run − 2) << 1) | 1`: `run ≥ 2` values equal to the one
//!   before. Distributed PV is zero all night, and a run of 40 quarter-hours takes one byte.
//!
//! All three are read; a blob that does not decode to exactly the row's `intervals` values is
//! [`StoreError::Corrupt`] naming the meter.

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

/// The highest sequence number stored in the ledger (0 when empty).
pub(crate) const LEDGER_LAST_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) FROM ledger";

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

/// The packing of meter months written now (migration 0010): varint deltas and runs of repeats.
const PACKING: i64 = 2;

/// The most values a stored month's decoding reserves room for ahead: a month of 31 days. A
/// longer row grows as it decodes; a corrupt `intervals` cannot make it allocate ahead.
const MAX_RESERVE: usize = 31 * 96;

impl MeterMonth {
    /// The month's values packed, and their packing: 2 or 1, whichever is smaller. Runs (2)
    /// halve a PV meter, zero all night, but cost a noisy consumption meter about a sixth more
    /// than plain deltas (1). A value more than 2⁶² from the one before (never in meter data,
    /// whose readings are within ±10⁹) only 1 holds.
    fn packed(&self) -> (i64, Vec<u8>) {
        let deltas = pack_deltas(&self.kwh);
        match pack_runs(&self.kwh) {
            Some(runs) if runs.len() < deltas.len() => (PACKING, runs),
            _ => (1, deltas),
        }
    }
}

/// Packing 1: the zigzag varint of each value's difference from the one before.
fn pack_deltas(kwh: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(kwh.len() * 2);
    let mut previous: i64 = 0;
    for &v in kwh {
        // Wrapping: any i64 round-trips, the differences of meter data are small anyway.
        push_varint(&mut out, zigzag(v.wrapping_sub(previous)));
        previous = v;
    }
    out
}

/// Packing 2: packing 1 with each run of 2 or more values equal to the one before as one token;
/// `None` if a difference needs more than 63 bits of zigzag (its token would not fit 64).
fn pack_runs(kwh: &[i64]) -> Option<Vec<u8>> {
    // A PV month takes about a byte a value by day and next to nothing by night.
    let mut out = Vec::with_capacity(kwh.len() + 16);
    let mut previous: i64 = 0;
    let mut i = 0;
    while i < kwh.len() {
        let run = kwh[i..].iter().take_while(|&&v| v == previous).count();
        if run >= 2 {
            push_varint(&mut out, ((run as u64 - 2) << 1) | 1);
            i += run;
            continue;
        }
        let delta = zigzag(kwh[i].wrapping_sub(previous));
        if delta >> 63 != 0 {
            return None;
        }
        push_varint(&mut out, delta << 1);
        previous = kwh[i];
        i += 1;
    }
    Some(out)
}

/// Zigzag: small differences of either sign become small unsigned numbers (0, −1, 1, −2 → 0, 1,
/// 2, 3).
fn zigzag(delta: i64) -> u64 {
    ((delta << 1) ^ (delta >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Appends `value` as LEB128: 7 bits a byte, low first, the high bit set on all but the last.
fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The LEB128 varint at `*at`, moving `*at` past it; `None` at the end of `bytes`.
fn next_varint(bytes: &[u8], at: &mut usize) -> std::result::Result<Option<u64>, &'static str> {
    if *at == bytes.len() {
        return Ok(None);
    }
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&byte) = bytes.get(*at) else {
            return Err("the last varint is cut off");
        };
        *at += 1;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            return Err("a varint beyond 64 bits");
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err("a varint longer than 10 bytes")
}

/// The values of a stored month: `intervals` of them, in the row's `packing`.
fn unpack(bytes: &[u8], packing: i64, intervals: i64, meter: &str) -> Result<Vec<i64>> {
    let corrupt = |reason: String| StoreError::Corrupt {
        table: "meter_months",
        reason: format!("meter {meter:?}: {reason}"),
    };
    let Ok(count) = usize::try_from(intervals) else {
        return Err(corrupt(format!("{intervals} intervals")));
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
            // Each value takes a byte at least.
            let mut values = Vec::with_capacity(count.min(bytes.len()));
            let (mut previous, mut at) = (0i64, 0);
            while let Some(z) = next_varint(bytes, &mut at).map_err(|e| corrupt(e.to_owned()))? {
                previous = previous.wrapping_add(unzigzag(z));
                values.push(previous);
            }
            values
        }
        2 => {
            let mut values = Vec::with_capacity(count.min(MAX_RESERVE));
            let (mut previous, mut at) = (0i64, 0);
            while let Some(u) = next_varint(bytes, &mut at).map_err(|e| corrupt(e.to_owned()))? {
                let left = count - values.len();
                if u & 1 == 0 {
                    if left == 0 {
                        return Err(corrupt(format!("more than the row's {count} values")));
                    }
                    previous = previous.wrapping_add(unzigzag(u >> 1));
                    values.push(previous);
                } else {
                    // Checked before growing: a run is never longer than the row's intervals.
                    let run = (u >> 1) + 2;
                    if run > left as u64 {
                        return Err(corrupt(format!(
                            "a run of {run} values where {left} of the row's {count} are left"
                        )));
                    }
                    values.resize(values.len() + run as usize, previous);
                }
            }
            values
        }
        other => return Err(corrupt(format!("unknown packing {other}"))),
    };
    if values.len() != count {
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
        const FINAL: &str = "INSERT INTO final_settlements (month, created_at_ms, result, packed) VALUES ($1, $2, '', $3)";
        let conflict = |e: sqlx::Error, what: String| match e.as_database_error().map(|d| d.kind())
        {
            Some(sqlx::error::ErrorKind::UniqueViolation) => StoreError::Conflict { what },
            _ => StoreError::Database(e),
        };
        let seqs = rows
            .iter()
            .map(|r| to_db(r.seq, "ledger seq"))
            .collect::<Result<Vec<i64>>>()?;
        // Many entries per statement: a month's settlement moves hundreds of thousands.
        macro_rules! write {
            ($db:ty, $pool:expr, $max_variables:expr) => {{
                let mut tx = $pool.begin_with(self.begin_write()).await?;
                if let Some((month, result, at_ms)) = final_settlement {
                    sqlx::query(FINAL)
                        .bind(month)
                        .bind(at_ms)
                        .bind(crate::rows::pack_document(result))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, format!("the final settlement of {month}")))?;
                }
                let per = crate::append::rows_per_insert(3, $max_variables);
                for (chunk, seqs) in rows.chunks(per).zip(seqs.chunks(per)) {
                    let mut insert =
                        sqlx::QueryBuilder::<$db>::new("INSERT INTO ledger (seq, at_ms, entry) ");
                    insert.push_values(chunk.iter().zip(seqs), |mut b, (row, seq)| {
                        b.push_bind(*seq)
                            .push_bind(row.at_ms)
                            .push_bind(row.entry.as_slice());
                    });
                    insert.build().execute(&mut *tx).await.map_err(|e| {
                        conflict(
                            e,
                            format!("ledger entries {} to {}", seqs[0], seqs[seqs.len() - 1]),
                        )
                    })?;
                }
                if let Some(r) = remember {
                    crate::remember_in!(tx, r);
                }
                tx.commit().await?;
                Ok(())
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool, _) => {
                write!(sqlx::Sqlite, pool, crate::append::SQLITE_MAX_VARIABLES)
            }
            Pool::Postgres(pool) => {
                write!(sqlx::Postgres, pool, crate::append::POSTGRES_MAX_VARIABLES)
            }
        }
    }

    /// The highest sequence number stored in the ledger (0 when empty).
    pub async fn ledger_last_seq(&self) -> Result<u64> {
        let (last,): (i64,) =
            on_pool!(self, pool => sqlx::query_as(LEDGER_LAST_SEQ).fetch_one(pool).await)?;
        u64::try_from(last)
            .map_err(|_| crate::rows::corrupt("ledger", format!("sequence number {last}")))
    }

    /// Every ledger entry, by sequence number.
    pub async fn ledger(&self) -> Result<Vec<LedgerRow>> {
        self.ledger_range(0, u64::MAX).await
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
        // The latest versions of the months written, read in one query a month; a meter month
        // given twice in `months` gets two versions, in order.
        const LATEST: &str =
            "SELECT meter, MAX(version) FROM meter_months WHERE month = $1 GROUP BY meter";
        // Packed before the transaction: a province's month is tens of millions of values.
        let packed: Vec<(i64, Vec<u8>)> = months.iter().map(MeterMonth::packed).collect();
        let distinct: std::collections::BTreeSet<&str> =
            months.iter().map(|m| m.month.as_str()).collect();
        macro_rules! write {
            ($db:ty, $pool:expr, $max_variables:expr) => {{
                let mut tx = $pool.begin_with(self.begin_write()).await?;
                let mut latest: std::collections::HashMap<(String, String), i64> =
                    std::collections::HashMap::new();
                for month in distinct {
                    let rows: Vec<(String, i64)> = sqlx::query_as(LATEST)
                        .bind(month)
                        .fetch_all(&mut *tx)
                        .await?;
                    latest.extend(
                        rows.into_iter()
                            .map(|(meter, v)| ((meter, month.to_owned()), v)),
                    );
                }
                let versions: Vec<i64> = months
                    .iter()
                    .map(|m| {
                        let v = latest
                            .entry((m.meter.clone(), m.month.clone()))
                            .or_insert(0);
                        *v += 1;
                        *v
                    })
                    .collect();
                let per = crate::append::rows_per_insert(9, $max_variables);
                for ((chunk, versions), packed) in months
                    .chunks(per)
                    .zip(versions.chunks(per))
                    .zip(packed.chunks(per))
                {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO meter_months (meter, month, version, participant, intervals, \
                         total_kwh, kwh, imported_at_ms, packing) ",
                    );
                    insert.push_values(
                        chunk.iter().zip(versions).zip(packed),
                        |mut b, ((m, version), (packing, bytes))| {
                            b.push_bind(m.meter.as_str())
                                .push_bind(m.month.as_str())
                                .push_bind(*version)
                                .push_bind(m.participant.as_str())
                                .push_bind(m.kwh.len() as i64)
                                .push_bind(m.kwh.iter().sum::<i64>())
                                .push_bind(bytes.as_slice())
                                .push_bind(at_ms)
                                .push_bind(*packing);
                        },
                    );
                    insert.build().execute(&mut *tx).await?;
                }
                let versions: Vec<u32> = versions.iter().map(|&v| v as u32).collect();
                if let Some(r) = remember(&versions) {
                    crate::remember_in!(tx, &r);
                }
                tx.commit().await?;
                Ok(versions)
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool, _) => {
                write!(sqlx::Sqlite, pool, crate::append::SQLITE_MAX_VARIABLES)
            }
            Pool::Postgres(pool) => {
                write!(sqlx::Postgres, pool, crate::append::POSTGRES_MAX_VARIABLES)
            }
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
        let rows: Vec<MeterRow> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(month).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|row| meter_month(month, row))
            .collect()
    }

    /// The latest version of the month of every meter of `participants` (ids as stored), by
    /// meter id: what one participant's hourly matching reads.
    pub async fn meter_months_of(
        &self,
        month: &str,
        participants: &[String],
    ) -> Result<Vec<(MeterMonth, u32)>> {
        let mut out = Vec::new();
        for chunk in participants.chunks(500) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT m.meter, m.participant, m.version, m.kwh, m.packing, m.intervals, \
                 m.total_kwh FROM meter_months m \
                 WHERE m.month = $1 AND m.participant IN ({}) AND m.version = \
                   (SELECT MAX(version) FROM meter_months v WHERE v.meter = m.meter AND v.month = m.month)",
                marks.join(", ")
            );
            let rows: Vec<MeterRow> = on_pool!(self, pool => {
                let mut query = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(month);
                for p in chunk {
                    query = query.bind(p.as_str());
                }
                query.fetch_all(pool).await
            })?;
            for row in rows {
                out.push(meter_month(month, row)?);
            }
        }
        out.sort_by(|(a, _), (b, _)| a.meter.cmp(&b.meter));
        Ok(out)
    }
}

/// A row of `meter_months`: meter, participant, version, packed kWh, packing, intervals, total.
type MeterRow = (String, String, i64, Vec<u8>, i64, i64, i64);

/// A stored meter month unpacked, its total checked against its quarter-hours.
fn meter_month(
    month: &str,
    (meter, participant, version, bytes, packing, intervals, total): MeterRow,
) -> Result<(MeterMonth, u32)> {
    let kwh = unpack(&bytes, packing, intervals, &meter)?;
    // The month close reads the stored total (`meter_month_totals`): it must be the
    // quarter-hours' sum.
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
        const SQL: &str = "INSERT INTO final_settlements (month, created_at_ms, result, packed) VALUES ($1, $2, '', $3)";
        let packed = crate::rows::pack_document(result);
        on_pool!(self, pool => sqlx::query(SQL).bind(month).bind(at_ms).bind(&packed).execute(pool).await.map(drop))
            .map_err(|e| match e.as_database_error().map(|d| d.kind()) {
                Some(sqlx::error::ErrorKind::UniqueViolation) => StoreError::Conflict {
                    what: format!("the final settlement of {month}"),
                },
                _ => StoreError::Database(e),
            })
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
        const SQL: &str = "SELECT result, packed FROM final_settlements WHERE month = $1";
        let row: Option<(String, Option<Vec<u8>>)> =
            on_pool!(self, pool => sqlx::query_as(SQL).bind(month).fetch_optional(pool).await)?;
        row.map(|(text, packed)| unpack_final(month, text, packed))
            .transpose()
    }
}

/// A final settlement record as stored: packed, or as text before migration 0011.
fn unpack_final(month: &str, text: String, packed: Option<Vec<u8>>) -> Result<String> {
    crate::rows::unpack_document("final_settlements", &format!("month {month}"), text, packed)
}

#[cfg(test)]
mod packing_tests {
    use super::*;

    /// `values` packed in `packing` (1 or 2), read back.
    fn round_trip(values: &[i64], packing: i64) -> Vec<i64> {
        let bytes = match packing {
            1 => pack_deltas(values),
            _ => pack_runs(values).expect("fits packing 2"),
        };
        unpack(&bytes, packing, values.len() as i64, "M1").unwrap()
    }

    /// A xorshift64 sequence: the same series on every run.
    struct Seeded(u64);

    impl Seeded {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> i64 {
            (self.next() % n) as i64
        }
    }

    /// A distributed PV month as the grid meters it: nothing from 19:00 to 06:00, by day a smooth
    /// curve up to 60 kWh a quarter-hour (a parabola) less up to 15 % of clouds, at random.
    fn pv_month(rng: &mut Seeded) -> Vec<i64> {
        (0..31 * 96)
            .map(|i| {
                let t = i % 96 - 24; // quarter-hours since 06:00
                if !(1..52).contains(&t) {
                    return 0;
                }
                let sun = 60 * 4 * t * (52 - t) / (52 * 52);
                sun * (85 + rng.below(16)) / 100
            })
            .collect()
    }

    #[test]
    fn random_series_round_trip_in_both_packings() {
        let mut rng = Seeded(0x9e37_79b9_7f4a_7c15);
        for case in 0..400 {
            let len = rng.below(3000) as usize;
            let mut walk = 0i64;
            let values: Vec<i64> = (0..len)
                .map(|_| match case % 6 {
                    0 => rng.below(2_000_000_001) - 1_000_000_000,
                    1 => {
                        walk = (walk + rng.below(21) - 10).clamp(-1_000_000_000, 1_000_000_000);
                        walk
                    }
                    2 => rng.below(3),
                    3 => [0, 0, 0, 7, 7, 1_000_000_000][rng.below(6) as usize],
                    4 => {
                        // Long runs of a few levels.
                        if rng.below(20) == 0 {
                            walk = rng.below(100);
                        }
                        walk
                    }
                    _ => rng.below(61),
                })
                .collect();
            for packing in [1, 2] {
                assert_eq!(round_trip(&values, packing), values, "case {case}");
            }
        }
        for _ in 0..20 {
            let pv = pv_month(&mut rng);
            assert_eq!(round_trip(&pv, 2), pv);
        }
    }

    #[test]
    fn edge_series_round_trip() {
        let extremes: Vec<i64> = (0..2976)
            .map(|i| [1_000_000_000, -1_000_000_000][i % 2])
            .collect();
        let cases: Vec<Vec<i64>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![5],
            vec![5, 5],
            vec![5, 5, 5],
            vec![5, 7, 7, 7],
            vec![0; 2976],
            (0..2976).map(|i| i % 2).collect(),
            extremes,
            vec![1_000_000_000; 2976],
            vec![0, 1_000_000_000, -1_000_000_000, 1_000_000_000, 0],
        ];
        for values in cases {
            assert_eq!(round_trip(&values, 1), values);
            assert_eq!(round_trip(&values, 2), values);
        }
        // A month of zeros is one run; a run that ends the month is one token.
        assert_eq!(pack_runs(&[0; 2976]).unwrap(), [0xbd, 0x2e]); // (2974 << 1) | 1 = 5949
        assert_eq!(pack_runs(&[5, 7, 7, 7]).unwrap(), [20, 8, 1]);
        assert_eq!(pack_runs(&[5, 5]).unwrap(), [20, 0]); // a repeat alone is a delta of 0
        // Differences beyond 2⁶² fall back to packing 1.
        let wild = vec![i64::MAX, i64::MIN, 0, -1];
        assert_eq!(pack_runs(&wild), None);
        let m = MeterMonth {
            meter: "M1".into(),
            month: "2024-03".into(),
            participant: "1".into(),
            kwh: wild.clone(),
        };
        let (packing, bytes) = m.packed();
        assert_eq!(packing, 1);
        assert_eq!(unpack(&bytes, 1, 4, "M1").unwrap(), wild);
        // Each month takes the smaller packing: runs for a meter that is often still, plain
        // deltas for one that never is.
        let still = MeterMonth {
            kwh: (0..2976)
                .map(|i| if i % 96 < 40 { 0 } else { 30 + i % 7 })
                .collect(),
            ..m.clone()
        };
        assert_eq!(still.packed().0, 2);
        let noisy = MeterMonth {
            kwh: (0..2976).map(|i| 500 + (i * 7919) % 61).collect(),
            ..m.clone()
        };
        assert_eq!(noisy.packed().0, 1);
        for month in [&still, &noisy] {
            let (packing, bytes) = month.packed();
            assert_eq!(unpack(&bytes, packing, 2976, "M1").unwrap(), month.kwh);
        }
        // The first format still reads.
        let old: Vec<u8> = [5i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(unpack(&old, 0, 2, "M1").unwrap(), vec![5, 7]);
    }

    /// Bytes per value of a PV month, packing 1 and 2 (printed with `--nocapture`): runs take the
    /// night away.
    #[test]
    fn a_pv_month_packs_smaller_with_runs() {
        let mut rng = Seeded(7);
        let (mut deltas, mut runs, mut values) = (0, 0, 0);
        for _ in 0..100 {
            let pv = pv_month(&mut rng);
            deltas += pack_deltas(&pv).len();
            runs += pack_runs(&pv).unwrap().len();
            values += pv.len();
        }
        let per_mille = |bytes: usize| bytes * 1000 / values;
        eprintln!(
            "PV month: packing 1 {} bytes a thousand values, packing 2 {}",
            per_mille(deltas),
            per_mille(runs)
        );
        assert!(per_mille(runs) < 600, "{}", per_mille(runs));
        assert!(runs * 3 < deltas * 2);
    }

    #[test]
    fn damaged_packing_is_named() {
        let reason = |bytes: &[u8], packing: i64, intervals: i64| match unpack(
            bytes, packing, intervals, "M1",
        ) {
            Err(StoreError::Corrupt {
                table: "meter_months",
                reason,
            }) => reason,
            other => panic!("{other:?}"),
        };
        for packing in [1, 2] {
            assert_eq!(
                reason(&[0x80], packing, 1),
                "meter \"M1\": the last varint is cut off"
            );
            assert_eq!(
                reason(&[0xff; 11], packing, 1),
                "meter \"M1\": a varint beyond 64 bits"
            );
            assert_eq!(
                reason(&[0x80; 11], packing, 1),
                "meter \"M1\": a varint longer than 10 bytes"
            );
            assert_eq!(
                reason(&[2], packing, 2),
                "meter \"M1\": 1 values where the row says 2"
            );
            assert_eq!(reason(&[], packing, -1), "meter \"M1\": -1 intervals");
        }
        assert_eq!(
            reason(&[2, 2], 1, 1),
            "meter \"M1\": 2 values where the row says 1"
        );
        assert_eq!(
            reason(&[4, 4], 2, 1),
            "meter \"M1\": more than the row's 1 values"
        );
        // A run beyond the row's intervals is refused before anything grows, however long.
        assert_eq!(
            reason(&[4, 3], 2, 3),
            "meter \"M1\": a run of 3 values where 2 of the row's 3 are left"
        );
        let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(
            reason(&huge, 2, 2976),
            format!(
                "meter \"M1\": a run of {} values where 2976 of the row's 2976 are left",
                u64::MAX / 2 + 2
            )
        );
        // A row claiming more intervals than any month reserves no more than a month ahead.
        assert_eq!(
            reason(&[1], 2, i64::MAX),
            format!("meter \"M1\": 2 values where the row says {}", i64::MAX)
        );
        assert_eq!(reason(&[2], 7, 1), "meter \"M1\": unknown packing 7");
        assert_eq!(
            reason(&[0; 9], 0, 1),
            "meter \"M1\": 9 bytes is not a whole number of values"
        );
    }
}
