//! Meter data of one month: a validating parser for `meters.csv` and the compact result.
//!
//! The file (formats.md) comes in one of two layouts, told apart by its header:
//!
//! - **Interval rows**, [`METERS_HEADER`] `meter,participant,start,kwh`: one row per meter and
//!   15-minute interval (`M1,U1,2023-05-01T00:15,42`). A Zhejiang month is ~54 million rows.
//! - **Day rows** (96点, the grid's load-curve export), [`DAY_ROWS_HEADER`]
//!   `meter,participant,date,00:00,00:15,…,23:45`: one row per meter and day with the day's 96
//!   readings in quarter-hour order, each column named by its interval's local start
//!   (`M1,U1,2023-05-01,0,0,…,17`). The same month is 96 times fewer rows and about an eighth
//!   of the bytes (~4 bytes a reading instead of ~35). [`write_day_rows`] writes it.
//!
//! Both hold the same data under the same rules and give the same [`MeterData`]: names
//! non-empty, UTF-8, without quotes; readings whole kWh from 0 to [`MAX_INTERVAL_KWH`]; times
//! inside the month; every interval of a meter exactly once (a day row fills its whole day, so a
//! repeated day is a duplicate and a missing day leaves the meter incomplete); one participant
//! per meter.
//!
//! The parser works on bytes: no CSV crate, no `String` per row, digits read by hand. Each row
//! is first tried against a *guess* of its meter — the meter of the previous row (files sorted
//! by meter), else the meter that followed that one last time (files sorted by time) — by
//! comparing the row's leading `meter,participant,` bytes with the guess's; a hit needs no
//! hashing and no splitting. A miss looks the meter up by name, and a row that still does not fit
//! takes the slow path, which names the problem.
//!
//! [`MeterParser`] takes the file in pieces of any size, so a caller can stream it through a small
//! buffer instead of holding 2 GB. Large files are cut into parts that separate parsers read on
//! their own threads; [`merge_parts`] joins them in file order. A part after the first has no
//! header and takes its layout from its first row; the parts must agree with the header. Any bad
//! row, or any clash between parts, sends the caller back to one sequential parse, so the
//! reported errors never depend on how the file was cut: the same file always gives the same
//! result.
//!
//! A file with any bad row imports nothing (spec §5): the result is either the whole
//! [`MeterData`] or [`MeterErrors`] listing the bad rows by 1-based line number.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use domain::Kwh;

use domain::{INTERVALS_PER_DAY, YearMonth, digits};

/// The header of a meter file of interval rows, `meter,participant,start,kwh`.
pub const METERS_HEADER: &str = "meter,participant,start,kwh";

/// The header of a meter file of day rows: `meter,participant,date`, then the 96 quarter-hours
/// of a local day, each named by its start `HH:MM`.
pub const DAY_ROWS_HEADER: &str = concat!(
    "meter,participant,date",
    ",00:00,00:15,00:30,00:45,01:00,01:15,01:30,01:45,02:00,02:15,02:30,02:45",
    ",03:00,03:15,03:30,03:45,04:00,04:15,04:30,04:45,05:00,05:15,05:30,05:45",
    ",06:00,06:15,06:30,06:45,07:00,07:15,07:30,07:45,08:00,08:15,08:30,08:45",
    ",09:00,09:15,09:30,09:45,10:00,10:15,10:30,10:45,11:00,11:15,11:30,11:45",
    ",12:00,12:15,12:30,12:45,13:00,13:15,13:30,13:45,14:00,14:15,14:30,14:45",
    ",15:00,15:15,15:30,15:45,16:00,16:15,16:30,16:45,17:00,17:15,17:30,17:45",
    ",18:00,18:15,18:30,18:45,19:00,19:15,19:30,19:45,20:00,20:15,20:30,20:45",
    ",21:00,21:15,21:30,21:45,22:00,22:15,22:30,22:45,23:00,23:15,23:30,23:45",
);

/// Fields of a day row: meter, participant, date and the day's readings.
const DAY_ROW_FIELDS: usize = 3 + INTERVALS_PER_DAY;

/// The largest reading of one meter in one 15-minute interval: 10⁹ kWh, the bound of spec §1
/// ([`Kwh::MAX_INTERVAL`]; a 4,000 GW plant, the largest on earth is 22.5 GW). A meter's month
/// is then at most 2,976 × 10⁹ ≈ 3·10¹² kWh, and a participant's total over its meters stays
/// inside `i64` up to 3 million meters (about 70 GB of readings in memory), which is checked.
pub const MAX_INTERVAL_KWH: i64 = Kwh::MAX_INTERVAL.0;

/// At most this many problems of each kind are listed in [`MeterErrors`]; the counts are exact.
pub const MAX_REPORTED: usize = 100;

/// Digits a reading may have on the fast path (which then needs no bound check: 9 digits are
/// below [`MAX_INTERVAL_KWH`]); a 10-digit reading takes the slow path.
const MAX_KWH_DIGITS: usize = 9;

/// Files smaller than this are scanned on one thread by [`parse_meters`].
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// An interval not (yet) in the file. Readings are never negative, so it cannot collide.
const MISSING: i64 = -1;

/// No meter.
const NONE: u32 = u32::MAX;

/// What is wrong with one row of `meters.csv`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    /// The first line is neither [`METERS_HEADER`] nor [`DAY_ROWS_HEADER`].
    #[error(
        "the header must be `{METERS_HEADER}` or, for day rows, \
         `meter,participant,date,00:00,00:15,…,23:45`, found `{0}`"
    )]
    Header(String),
    /// The row does not have 4 comma-separated fields.
    #[error("{0} fields, expected 4 (meter,participant,start,kwh)")]
    ColumnCount(usize),
    /// The day row does not have 99 comma-separated fields.
    #[error("{0} fields, expected 99 (meter,participant,date and 96 quarter-hours)")]
    DayColumnCount(usize),
    /// A name field is empty.
    #[error("is empty")]
    Empty(&'static str),
    /// A name field is not UTF-8 or contains a quote (quoted fields are not supported).
    #[error("`{1}` is not a plain name (UTF-8, no quotes)")]
    BadName(&'static str, String),
    /// `kwh` is not a whole number.
    #[error("`{0}` is not a whole number of kWh")]
    Kwh(String),
    /// `kwh` is negative.
    #[error("`{0}` is negative")]
    Negative(String),
    /// `kwh` is above [`MAX_INTERVAL_KWH`].
    #[error("`{0}` kWh in 15 minutes is beyond the bound of {bound}", bound = Kwh::MAX_INTERVAL_TEXT)]
    TooLarge(String),
    /// `start` is not a local date and time `YYYY-MM-DDTHH:MM`.
    #[error("`{0}` is not a local time of the form 2023-05-01T00:15")]
    MalformedStart(String),
    /// `start` is a valid time of another month.
    #[error("`{0}` is outside the month {1}")]
    OutsideMonth(String, YearMonth),
    /// `start` is not at minute 00, 15, 30 or 45.
    #[error("`{0}` is not the start of a 15-minute interval (minute 00, 15, 30 or 45)")]
    NotQuarterHour(String),
    /// `date` is not a date `YYYY-MM-DD`.
    #[error("`{0}` is not a date of the form 2023-05-01")]
    MalformedDate(String),
    /// `date` is a valid date of another month.
    #[error("`{0}` is outside the month {1}")]
    DateOutsideMonth(String, YearMonth),
    /// A reading of a day row is bad: `problem` is [`Kwh`](Self::Kwh),
    /// [`Negative`](Self::Negative) or [`TooLarge`](Self::TooLarge).
    #[error("{problem}")]
    Reading {
        /// The reading's quarter-hour of the day, 0 (`00:00`) to 95 (`23:45`).
        quarter: usize,
        /// What is wrong with it.
        problem: Box<RowProblem>,
    },
    /// The meter already has a reading for this interval.
    #[error("meter `{meter}` already has a reading for {start}")]
    Duplicate {
        /// The meter.
        meter: String,
        /// The interval's start.
        start: String,
    },
    /// The meter already has the readings of this day.
    #[error("meter `{meter}` already has readings for {date}")]
    DuplicateDay {
        /// The meter.
        meter: String,
        /// The day, `2023-05-01`.
        date: String,
    },
    /// The meter was given to another participant on an earlier line.
    #[error("meter `{meter}` belongs to `{first}` (line {first_line}), not `{participant}`")]
    ParticipantConflict {
        /// The meter.
        meter: String,
        /// The participant this row names.
        participant: String,
        /// The participant of the meter's first row.
        first: String,
        /// The line of the meter's first row.
        first_line: u64,
    },
}

impl RowProblem {
    /// The column the problem is in, when it is in one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            RowProblem::Header(_) | RowProblem::ColumnCount(_) | RowProblem::DayColumnCount(_) => {
                None
            }
            RowProblem::Empty(field) | RowProblem::BadName(field, _) => Some(field),
            RowProblem::Kwh(_) | RowProblem::Negative(_) | RowProblem::TooLarge(_) => Some("kwh"),
            RowProblem::MalformedStart(_)
            | RowProblem::OutsideMonth(..)
            | RowProblem::NotQuarterHour(_)
            | RowProblem::Duplicate { .. } => Some("start"),
            RowProblem::MalformedDate(_)
            | RowProblem::DateOutsideMonth(..)
            | RowProblem::DuplicateDay { .. } => Some("date"),
            RowProblem::Reading { quarter, .. } => Some(quarter_name(*quarter)),
            RowProblem::ParticipantConflict { .. } => Some("participant"),
        }
    }
}

/// The name of a day row's reading column: `10:30` for quarter 42 (`?` beyond the day).
fn quarter_name(quarter: usize) -> &'static str {
    let at = "meter,participant,date,".len() + 6 * quarter;
    DAY_ROWS_HEADER.get(at..at + 5).unwrap_or("?")
}

/// A bad row: its 1-based line number in the file (the header is line 1) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub problem: RowProblem,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem.field() {
            Some(field) => write!(f, "line {}, field `{field}`: {}", self.line, self.problem),
            None => write!(f, "line {}: {}", self.line, self.problem),
        }
    }
}

/// A meter that lacks readings for some intervals of the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    /// The meter.
    pub meter: String,
    /// How many of the month's intervals it lacks.
    pub missing: usize,
    /// The first interval it lacks, `2023-05-01T00:15`.
    pub first_missing: String,
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "meter `{}`: {} intervals missing, the first {}",
            self.meter, self.missing, self.first_missing
        )
    }
}

/// Why a meter file was refused; nothing of it was imported.
///
/// Row errors come first. Completeness is judged only once every row is good (a bad row leaves
/// its interval unfilled, which would be reported twice otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeterErrors {
    /// Bad rows in line order, at most [`MAX_REPORTED`].
    pub rows: Vec<RowError>,
    /// How many rows are bad in all.
    pub bad_rows: usize,
    /// Incomplete meters by name, at most [`MAX_REPORTED`].
    pub incomplete: Vec<Incomplete>,
    /// How many meters are incomplete in all.
    pub incomplete_meters: usize,
}

impl fmt::Display for MeterErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bad_rows > 0 {
            write!(f, "{}, nothing imported", count(self.bad_rows, "bad row"))?;
            for error in &self.rows {
                write!(f, "\n  {error}")?;
            }
            if self.bad_rows > self.rows.len() {
                write!(f, "\n  ... and {} more", self.bad_rows - self.rows.len())?;
            }
        }
        if self.incomplete_meters > 0 {
            if self.bad_rows > 0 {
                writeln!(f)?;
            }
            let meters = count(self.incomplete_meters, "meter");
            let lack = if self.incomplete_meters == 1 {
                "lacks"
            } else {
                "lack"
            };
            write!(
                f,
                "{meters} {lack} intervals of the month, nothing imported"
            )?;
            for meter in &self.incomplete {
                write!(f, "\n  {meter}")?;
            }
            if self.incomplete_meters > self.incomplete.len() {
                let more = self.incomplete_meters - self.incomplete.len();
                write!(f, "\n  ... and {more} more")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for MeterErrors {}

/// `1 bad row`, `2 bad rows`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// One meter's month: its readings per 15-minute interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    name: String,
    participant: usize,
    total: Kwh,
    values: Vec<i64>,
}

impl Meter {
    /// The meter's id.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its participant, as an index into [`MeterData::participants`].
    pub fn participant(&self) -> usize {
        self.participant
    }

    /// Its energy of the month.
    pub fn total(&self) -> Kwh {
        self.total
    }

    /// kWh per 15-minute interval, `96 × days` of them, index `96 × (day − 1) + quarter`.
    pub fn intervals(&self) -> &[i64] {
        &self.values
    }

    /// The kWh of each interval, taken.
    pub fn into_intervals(self) -> Vec<i64> {
        self.values
    }
}

/// A participant's metered energy of the month: on-grid generation for a seller, consumption for
/// a buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantEnergy {
    name: String,
    total: Kwh,
    meters: Vec<usize>,
}

impl ParticipantEnergy {
    /// The participant's id.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sum of its meters over the month.
    pub fn total(&self) -> Kwh {
        self.total
    }

    /// Its meters, as indexes into [`MeterData::meters`], in name order.
    pub fn meters(&self) -> &[usize] {
        &self.meters
    }
}

/// A month of validated meter data: every meter has every interval.
///
/// Keeps both the monthly total per participant (for §5 settlement) and each meter's readings per
/// interval (for hourly matching), one `Vec<i64>` of `96 × days` per meter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterData {
    month: YearMonth,
    meters: Vec<Meter>,
    participants: Vec<ParticipantEnergy>,
}

impl MeterData {
    /// The meters, by id, each with the index of its participant in the second list.
    pub fn into_parts(self) -> (Vec<Meter>, Vec<ParticipantEnergy>) {
        (self.meters, self.participants)
    }

    /// The month.
    pub fn month(&self) -> YearMonth {
        self.month
    }

    /// All meters, sorted by name.
    pub fn meters(&self) -> &[Meter] {
        &self.meters
    }

    /// A meter by name.
    pub fn meter(&self, name: &str) -> Option<&Meter> {
        let i = self
            .meters
            .binary_search_by(|m| m.name.as_str().cmp(name))
            .ok()?;
        Some(&self.meters[i])
    }

    /// All participants with meters, sorted by name.
    pub fn participants(&self) -> &[ParticipantEnergy] {
        &self.participants
    }

    /// A participant's energy of the month; zero for one without meters.
    pub fn participant_total(&self, name: &str) -> Kwh {
        self.participants
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .map_or(Kwh::ZERO, |i| self.participants[i].total)
    }

    /// A participant's readings per interval, summed over its meters; `None` for one without
    /// meters.
    pub fn participant_intervals(&self, name: &str) -> Option<Vec<i64>> {
        let i = self
            .participants
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()?;
        let mut sum = vec![0i64; self.month.intervals()];
        for &m in &self.participants[i].meters {
            for (s, &v) in sum.iter_mut().zip(&self.meters[m].values) {
                *s += v;
            }
        }
        Some(sum)
    }
}

/// Parses and validates one month of `meters.csv` held in memory, in either layout (interval
/// rows or day rows, by the header), on 2 threads for files of 1 MB or more. See
/// [`parse_meters_with`].
pub fn parse_meters(bytes: &[u8], month: YearMonth) -> Result<MeterData, MeterErrors> {
    let threads = if bytes.len() < PARALLEL_MIN_BYTES {
        1
    } else {
        2
    };
    parse_meters_with(bytes, month, threads)
}

/// Parses and validates one month of `meters.csv` held in memory, cut into `threads` parts
/// parsed side by side (1 or 0 means sequentially). The result does not depend on `threads`: a
/// bad file is parsed again on one thread, so that its errors come in file order.
///
/// See [`MeterParser`] for what is refused.
pub fn parse_meters_with(
    bytes: &[u8],
    month: YearMonth,
    threads: usize,
) -> Result<MeterData, MeterErrors> {
    if threads > 1 {
        let cut = |k: usize| bytes.len() * k / threads;
        let parts: Vec<MeterParser> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|k| {
                    let piece = &bytes[cut(k)..cut(k + 1)];
                    scope.spawn(move || {
                        let mut parser = if k == 0 {
                            MeterParser::new(month)
                        } else {
                            MeterParser::continuation(month)
                        };
                        parser.push(piece);
                        parser
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a meter parsing thread panicked"))
                .collect()
        });
        if let Some(result) = merge_parts(parts) {
            return result;
        }
    }
    let mut parser = MeterParser::new(month);
    parser.push(bytes);
    parser.finish()
}

/// The layout of a meter file, named by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// [`METERS_HEADER`]: one row per meter and interval.
    Intervals,
    /// [`DAY_ROWS_HEADER`]: one row per meter and day.
    Days,
}

impl Layout {
    /// The layout of a header line, without its line end and byte-order mark.
    fn of_header(line: &[u8]) -> Option<Layout> {
        if line == METERS_HEADER.as_bytes() {
            Some(Layout::Intervals)
        } else if line == DAY_ROWS_HEADER.as_bytes() {
            Some(Layout::Days)
        } else {
            None
        }
    }

    /// The layout the first non-empty line of `lines` looks written in (a row of day rows has 98
    /// commas, an interval row 3), or `None` if every line is empty. Only a guess: a part that
    /// guesses wrong disagrees with the header in [`merge_parts`], which then gives up.
    fn of_first_row(lines: &[u8]) -> Option<Layout> {
        let row = lines
            .split(|&b| b == b'\n')
            .map(trim_line_end)
            .find(|row| !row.is_empty())?;
        let commas = row.iter().filter(|&&b| b == b',').count();
        Some(if commas > 3 {
            Layout::Days
        } else {
            Layout::Intervals
        })
    }
}

/// Appends one meter's month to a meter file of day rows: a row per day,
/// `meter,participant,YYYY-MM-DD,v1,…,v96\n`. The file starts with [`DAY_ROWS_HEADER`] and a
/// newline, which the caller writes once; then any number of meters, each once.
///
/// `values` are the month's readings, 96 per day (as [`Meter::intervals`]).
///
/// # Panics
/// If `values` is not `96 × days` long, a value is outside `0..=`[`MAX_INTERVAL_KWH`], or a name
/// could not be read back (empty, or holding a quote, a comma or a line break).
pub fn write_day_rows(
    out: &mut Vec<u8>,
    meter: &str,
    participant: &str,
    month: YearMonth,
    values: &[i64],
) {
    assert_eq!(values.len(), month.intervals(), "the intervals of {month}");
    for (field, name) in [("meter", meter), ("participant", participant)] {
        if let Err(problem) = check_typed_name(field, name.as_bytes()) {
            panic!("{field}: {problem}");
        }
    }
    // `meter,participant,2023-05-`: each row's start but for its day.
    let mut key = Vec::with_capacity(meter.len() + participant.len() + 10);
    key.extend_from_slice(meter.as_bytes());
    key.push(b',');
    key.extend_from_slice(participant.as_bytes());
    key.push(b',');
    key.extend_from_slice(&prefix(month));
    // A row's readings, each a comma and at most 10 digits, and its newline are written here
    // first, so that `out` grows once a row rather than once a reading.
    let mut row = [0u8; INTERVALS_PER_DAY * 11 + 1];
    for (day, readings) in values.chunks_exact(INTERVALS_PER_DAY).enumerate() {
        let mut len = 0;
        for &kwh in readings {
            assert!(
                (0..=MAX_INTERVAL_KWH).contains(&kwh),
                "{kwh} kWh is not a reading"
            );
            row[len] = b',';
            len += 1 + write_decimal(&mut row[len + 1..], kwh as u32);
        }
        row[len] = b'\n';
        len += 1;
        let date = day as u32 + 1;
        out.reserve(key.len() + 2 + len);
        out.extend_from_slice(&key);
        out.extend_from_slice(&[b'0' + (date / 10) as u8, b'0' + (date % 10) as u8]);
        out.extend_from_slice(&row[..len]);
    }
}

/// `00`, `01`, …, `99`: the two digits of each number below 100.
const DIGIT_PAIRS: &[u8; 200] = &{
    let mut pairs = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        pairs[2 * i] = b'0' + (i / 10) as u8;
        pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

/// Writes `n` in decimal at the start of `out` and returns how many bytes it took (1–10), two
/// digits at a time.
#[inline]
fn write_decimal(out: &mut [u8], mut n: u32) -> usize {
    if n < 10 {
        out[0] = b'0' + n as u8;
        return 1;
    }
    let len = n.ilog10() as usize + 1;
    let mut end = len;
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        end -= 2;
        out[end..end + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        out[..2].copy_from_slice(&DIGIT_PAIRS[n as usize * 2..n as usize * 2 + 2]);
    } else {
        out[0] = b'0' + n as u8;
    }
    len
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the header line (a whole file or its first part).
    Header,
    /// A later part, before its first newline.
    Head,
    /// Reading rows.
    Rows,
    /// The header was wrong; everything after it is ignored.
    BadHeader,
}

/// An incremental parser of one month of `meters.csv`, in either layout (interval rows,
/// [`METERS_HEADER`], or day rows, [`DAY_ROWS_HEADER`]): [`push`](Self::push) the file in pieces
/// of any size, then [`finish`](Self::finish).
///
/// The whole file is refused if any row is bad: a wrong number of fields, an empty, quoted or
/// non-UTF-8 name, a reading (`kwh`, or a day row's `HH:MM` column) not a whole non-negative
/// number up to [`MAX_INTERVAL_KWH`], `start` malformed (`YYYY-MM-DDTHH:MM`), outside the month
/// or not on a quarter-hour, `date` malformed (`YYYY-MM-DD`) or outside the month, a second
/// reading for a meter's interval (or day), or a meter named with a second participant. Once all
/// rows are good, every meter must have every interval of the month. Empty lines are skipped
/// (they still count in line numbers); lines may end in `\r\n`; a UTF-8 byte-order mark may
/// precede the header.
///
/// To parse a large file on several threads, cut it anywhere into consecutive parts, give the
/// first to a [`new`](Self::new) parser and each later one to a
/// [`continuation`](Self::continuation) parser, and join them with [`merge_parts`].
pub struct MeterParser {
    stage: Stage,
    /// A continuation's bytes up to and including its first newline: the end of the line the
    /// previous part ends in.
    head: Vec<u8>,
    /// The line being received: the bytes after the last newline pushed.
    pending: Vec<u8>,
    scan: Scan,
}

impl MeterParser {
    /// A parser for a whole file, or for the first part of a cut one.
    pub fn new(month: YearMonth) -> MeterParser {
        MeterParser {
            stage: Stage::Header,
            head: Vec::new(),
            pending: Vec::new(),
            scan: Scan::new(month),
        }
    }

    /// A parser for a later part of a cut file: the part's bytes up to its first newline finish
    /// the line the previous part ends in.
    pub fn continuation(month: YearMonth) -> MeterParser {
        MeterParser {
            stage: Stage::Head,
            ..MeterParser::new(month)
        }
    }

    /// Parses the next piece of the file (any size; lines may straddle pieces).
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.stage == Stage::Head {
            match bytes.iter().position(|&b| b == b'\n') {
                None => {
                    self.head.extend_from_slice(bytes);
                    return;
                }
                Some(i) => {
                    self.head.extend_from_slice(&bytes[..=i]);
                    bytes = &bytes[i + 1..];
                    self.stage = Stage::Rows;
                }
            }
        }
        let Some(last) = bytes.iter().rposition(|&b| b == b'\n') else {
            self.pending.extend_from_slice(bytes);
            return;
        };
        let (mut complete, rest) = bytes.split_at(last + 1);
        if !self.pending.is_empty() {
            let first = complete
                .iter()
                .position(|&b| b == b'\n')
                .expect("ends with a newline");
            let mut line = std::mem::take(&mut self.pending);
            line.extend_from_slice(&complete[..=first]);
            self.lines(&line);
            line.clear();
            self.pending = line;
            complete = &complete[first + 1..];
        }
        self.lines(complete);
        self.pending.extend_from_slice(rest);
    }

    /// A parser for rows that come already split into fields, from a typed file such as
    /// Parquet: no header, no text to cut. Feed it with [`push_row`](Self::push_row); like any
    /// parser it may be one of several parts joined by [`merge_parts`].
    pub fn rows(month: YearMonth) -> MeterParser {
        let mut parser = MeterParser {
            stage: Stage::Rows,
            ..MeterParser::new(month)
        };
        parser.scan.layout = Some(Layout::Intervals);
        parser
    }

    /// Validates one row given as fields, with exactly the checks of a `meters.csv` row, and
    /// reports a problem under `line` (for a file without a header, the caller chooses the
    /// numbering; lvdian uses the 1-based row index + 1, the line the row would have in the
    /// CSV file with its header).
    ///
    /// `start` is the text `YYYY-MM-DDTHH:MM`; `kwh` is `None` for a missing value (reported
    /// as `NULL`). Names are refused, besides the CSV rules (empty, not UTF-8, quotes), when
    /// they contain a comma or a line break: such a name could not be written in `meters.csv`.
    ///
    /// # Panics
    /// For a parser made by [`new`](Self::new) or [`continuation`](Self::continuation).
    #[inline]
    pub fn push_row(
        &mut self,
        line: u64,
        meter: &[u8],
        participant: &[u8],
        start: &[u8],
        kwh: Option<i64>,
    ) {
        assert!(
            self.stage == Stage::Rows && self.head.is_empty() && self.pending.is_empty(),
            "push_row needs a parser made by MeterParser::rows"
        );
        self.scan.line = line;
        self.scan.typed_row(meter, participant, start, kwh);
    }

    /// Rows of one meter, on consecutive lines from `line`: [`push_row`](Self::push_row) for
    /// each, with every row's `meter` and `participant` the ones given and its start given as
    /// local minutes since 1970-01-01T00:00 (what a Parquet TIMESTAMP of whole minutes holds).
    /// The same checks and messages, with a start shown as `YYYY-MM-DDTHH:MM`, but the names
    /// are looked up once and a row of the month is placed by arithmetic instead of forming the
    /// start's text and reading it back.
    ///
    /// # Panics
    /// For a parser made by [`new`](Self::new) or [`continuation`](Self::continuation), or if
    /// `minutes` and `kwh` differ in length.
    pub fn push_rows_minute(
        &mut self,
        line: u64,
        meter: &[u8],
        participant: &[u8],
        minutes: &[i64],
        kwh: &[Option<i64>],
    ) {
        assert!(
            self.stage == Stage::Rows && self.head.is_empty() && self.pending.is_empty(),
            "push_rows_minute needs a parser made by MeterParser::rows"
        );
        assert_eq!(minutes.len(), kwh.len(), "a start and a reading per row");
        self.scan.typed_run(line, meter, participant, minutes, kwh);
    }

    /// Parses whole lines.
    fn lines(&mut self, mut complete: &[u8]) {
        if self.stage == Stage::Header && !complete.is_empty() {
            let end = complete
                .iter()
                .position(|&b| b == b'\n')
                .map_or(complete.len(), |i| i + 1);
            self.header(&complete[..end]);
            complete = &complete[end..];
        }
        if self.stage == Stage::Rows {
            self.scan.scan(complete);
        }
    }

    fn header(&mut self, line: &[u8]) {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        let line = trim_line_end(line);
        if let Some(layout) = Layout::of_header(line) {
            self.scan.layout = Some(layout);
            self.stage = Stage::Rows;
        } else {
            let found = String::from_utf8_lossy(line).into_owned();
            self.scan.report(RowProblem::Header(found));
            self.stage = Stage::BadHeader;
        }
        self.scan.line = 2;
    }

    /// The result of a whole file.
    ///
    /// # Panics
    /// For a [`continuation`](Self::continuation) parser: parts go to [`merge_parts`].
    pub fn finish(mut self) -> Result<MeterData, MeterErrors> {
        assert!(
            self.stage != Stage::Head,
            "a continuation is finished by merge_parts"
        );
        let last = std::mem::take(&mut self.pending);
        if self.stage == Stage::Header {
            self.header(&last); // a file of one line, or none
        } else if !last.is_empty() {
            self.lines(&last);
        }
        let scan = self.scan;
        if scan.bad_rows > 0 {
            return Err(MeterErrors {
                rows: scan.errors,
                bad_rows: scan.bad_rows,
                ..MeterErrors::default()
            });
        }
        finish(scan.month, scan.meters)
    }
}

/// Joins the parsers of a file's consecutive parts (the first made by [`MeterParser::new`], the
/// others by [`MeterParser::continuation`]) into the file's result.
///
/// Returns `None` when the parts alone cannot say exactly what a sequential parse would: a row is
/// bad (its line number depends on the parts before it), two parts clash (the same interval of a
/// meter, or a meter with two participants), a part's rows look of the other layout than the
/// header's, or a cut fell inside the header or left a part without a newline. The caller then
/// parses the file sequentially with one [`MeterParser`], which names every bad row. A good file
/// never needs that.
///
/// # Panics
/// If `parts` is empty or its parsers are of different months.
pub fn merge_parts(mut parts: Vec<MeterParser>) -> Option<Result<MeterData, MeterErrors>> {
    assert!(!parts.is_empty(), "no parts");
    let month = parts[0].scan.month;
    assert!(parts.iter().all(|p| p.scan.month == month));
    if parts.iter().any(|p| p.stage != Stage::Rows) {
        return None;
    }
    // The header's layout; a later part has guessed its own from its first row, if it had one.
    let layout = parts[0].scan.layout;
    debug_assert!(layout.is_some(), "the first part has read its header");
    if parts
        .iter()
        .any(|p| p.scan.layout.is_some_and(|l| Some(l) != layout))
    {
        return None;
    }
    for part in &mut parts {
        part.scan.layout = layout;
    }
    // The line each cut fell in: the end of one part and the head of the next. Which part reads
    // it does not matter: a good file's result does not depend on the order of its rows.
    for i in 1..parts.len() {
        let mut line = std::mem::take(&mut parts[i - 1].pending);
        line.extend_from_slice(&parts[i].head);
        parts[i].scan.scan(&line);
    }
    let last = parts.last_mut().expect("not empty");
    let tail = std::mem::take(&mut last.pending);
    last.scan.scan(&tail);
    if parts.iter().any(|p| p.scan.bad_rows > 0) {
        return None;
    }
    let meters = merge(parts.into_iter().map(|p| p.scan))?;
    Some(finish(month, meters))
}

/// Merges the parts' meters, or `None` when two parts clash (the same interval of a meter in
/// both, or a meter with two participants).
fn merge(scans: impl Iterator<Item = Scan>) -> Option<Vec<ScanMeter>> {
    let mut meters: Vec<ScanMeter> = Vec::new();
    let mut index: FxMap<Box<[u8]>, u32> = FxMap::default();
    for scan in scans {
        if meters.is_empty() {
            meters = scan.meters;
            index = scan.index;
            continue;
        }
        for meter in scan.meters {
            match index.get(meter.name()) {
                None => {
                    index.insert(meter.name().into(), meters.len() as u32);
                    meters.push(meter);
                }
                Some(&m) => {
                    let into = &mut meters[m as usize];
                    if into.key != meter.key {
                        return None; // another participant
                    }
                    for (a, &b) in into.values.iter_mut().zip(&meter.values) {
                        if b != MISSING {
                            if *a != MISSING {
                                return None;
                            }
                            *a = b;
                        }
                    }
                    into.total += meter.total;
                    into.filled += meter.filled;
                }
            }
        }
    }
    Some(meters)
}

/// Checks completeness and builds the sorted result.
fn finish(month: YearMonth, mut meters: Vec<ScanMeter>) -> Result<MeterData, MeterErrors> {
    meters.sort_unstable_by(|a, b| a.name().cmp(b.name()));
    let intervals = month.intervals();
    let mut errors = MeterErrors::default();
    for meter in &meters {
        debug_assert!(meter.filled <= intervals);
        if meter.filled < intervals {
            errors.incomplete_meters += 1;
            if errors.incomplete.len() < MAX_REPORTED {
                let first = meter
                    .values
                    .iter()
                    .position(|&v| v == MISSING)
                    .expect("an incomplete meter has a missing interval");
                errors.incomplete.push(Incomplete {
                    meter: utf8(meter.name()),
                    missing: intervals - meter.filled,
                    first_missing: month.interval_start(first),
                });
            }
        }
    }
    if errors.incomplete_meters > 0 {
        return Err(errors);
    }
    let mut groups: BTreeMap<&[u8], Vec<usize>> = BTreeMap::new();
    for (i, meter) in meters.iter().enumerate() {
        groups.entry(meter.participant()).or_default().push(i);
    }
    let mut owner = vec![0usize; meters.len()];
    let participants: Vec<ParticipantEnergy> = groups
        .into_iter()
        .enumerate()
        .map(|(p, (name, list))| {
            // A meter's month is at most 2,976 × 10⁹ kWh: i64 holds the sum of 3 million of
            // them, more meters than fit in memory (see MAX_INTERVAL_KWH); checked anyway.
            let total: i64 = list
                .iter()
                .try_fold(0i64, |sum, &m| sum.checked_add(meters[m].total))
                .expect("a participant's month fits i64");
            for &m in &list {
                owner[m] = p;
            }
            ParticipantEnergy {
                name: utf8(name),
                total: Kwh(total),
                meters: list,
            }
        })
        .collect();
    let meters: Vec<Meter> = meters
        .into_iter()
        .zip(owner)
        .map(|(m, participant)| {
            debug_assert_eq!(m.values.iter().sum::<i64>(), m.total);
            Meter {
                name: utf8(m.name()),
                participant,
                total: Kwh(m.total),
                values: m.values,
            }
        })
        .collect();
    Ok(MeterData {
        month,
        meters,
        participants,
    })
}

fn utf8(bytes: &[u8]) -> String {
    std::str::from_utf8(bytes)
        .expect("names are checked to be UTF-8 when first seen")
        .to_owned()
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether `hay` starts with `key`, comparing 8 bytes at a time (keys are short; a call to
/// `memcmp` per row costs more than the comparison).
#[inline]
fn has_prefix(hay: &[u8], key: &[u8]) -> bool {
    let n = key.len();
    if hay.len() < n {
        return false;
    }
    if n < 8 {
        return hay[..n] == *key;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let mut i = 0;
    while i + 8 < n {
        if word(hay, i) != word(key, i) {
            return false;
        }
        i += 8;
    }
    word(hay, n - 8) == word(key, n - 8)
}

/// One meter as a parser sees it.
struct ScanMeter {
    /// `meter,participant,` exactly as its first row began: a row starting with these bytes is
    /// this meter's, with the right participant.
    key: Box<[u8]>,
    name_len: usize,
    first_line: u64,
    /// kWh per interval, [`MISSING`] where no row gave one yet.
    values: Vec<i64>,
    total: i64,
    filled: usize,
    /// The meter whose row followed this one's last time: the guess for files sorted by time.
    next: u32,
}

impl ScanMeter {
    fn name(&self) -> &[u8] {
        &self.key[..self.name_len]
    }

    fn participant(&self) -> &[u8] {
        &self.key[self.name_len + 1..self.key.len() - 1]
    }

    /// Places a reading in a free interval: `false` (and nothing changed) when the interval
    /// has one already or the reading is out of bounds.
    #[inline]
    fn place(&mut self, interval: usize, kwh: i64) -> bool {
        let slot = &mut self.values[interval];
        let free = *slot == MISSING && (0..=MAX_INTERVAL_KWH).contains(&kwh);
        if free {
            *slot = kwh;
            self.total += kwh;
            self.filled += 1;
        }
        free
    }
}

/// The interval of a start given in local minutes since 1970-01-01T00:00, if it is one of a
/// month's `intervals` from `first_minute`.
#[inline]
fn interval_of_minute(first_minute: i64, intervals: usize, minute: i64) -> Option<usize> {
    let offset = minute.checked_sub(first_minute)?;
    let interval = usize::try_from(offset / 15).ok()?;
    (offset >= 0 && offset % 15 == 0 && interval < intervals).then_some(interval)
}

/// A small, fast hash for short byte keys (FxHash). Meter files come from the grid, not from
/// the open internet, so collision attacks are no concern; a bad key costs speed, never results.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The rows of one file or part: its meters, its errors, where it is.
struct Scan {
    month: YearMonth,
    /// The file's layout; `None` in a continuation until its first row.
    layout: Option<Layout>,
    /// `2023-05-` as a little-endian word.
    prefix: u64,
    days: u32,
    intervals: usize,
    meters: Vec<ScanMeter>,
    index: FxMap<Box<[u8]>, u32>,
    errors: Vec<RowError>,
    bad_rows: usize,
    /// The number of the next line.
    line: u64,
    /// The meter of the last good row.
    prev: u32,
    /// The month's first interval start in local minutes since 1970-01-01T00:00.
    first_minute: i64,
}

impl Scan {
    fn new(month: YearMonth) -> Scan {
        Scan {
            first_minute: month.first_day_number() * 1440,
            month,
            layout: None,
            prefix: u64::from_le_bytes(prefix(month)),
            days: u32::from(month.days()),
            intervals: month.intervals(),
            meters: Vec::new(),
            index: FxMap::default(),
            errors: Vec::new(),
            bad_rows: 0,
            line: 1,
            prev: NONE,
        }
    }

    /// Reads whole lines (the last may lack its newline only at the end of the file).
    fn scan(&mut self, buf: &[u8]) {
        if self.layout.is_none() {
            self.layout = Layout::of_first_row(buf);
        }
        // Still `None`: the lines are empty, which both layouts skip alike.
        match self.layout.unwrap_or(Layout::Intervals) {
            Layout::Intervals => self.scan_rows(buf, Scan::fast_row, Scan::slow_row),
            Layout::Days => self.scan_rows(buf, Scan::fast_day, Scan::slow_day),
        }
    }

    /// [`scan`](Self::scan) with a layout's ways to read a row: `fast` a good row of a given
    /// meter (see [`fast_row`](Self::fast_row)), `slow` any row without its line end.
    #[inline(always)]
    fn scan_rows(
        &mut self,
        buf: &[u8],
        fast: impl Fn(&mut Scan, &[u8], usize, u32) -> Option<usize>,
        slow: impl Fn(&mut Scan, &[u8]) -> Result<u32, RowProblem>,
    ) {
        let mut pos = 0;
        while pos < buf.len() {
            let prev = self.prev;
            if prev != NONE {
                if let Some(end) = fast(self, buf, pos, prev) {
                    pos = end;
                    self.line += 1;
                    continue;
                }
                let next = self.meters[prev as usize].next;
                if next != NONE
                    && let Some(end) = fast(self, buf, pos, next)
                {
                    pos = end;
                    self.line += 1;
                    self.prev = next;
                    continue;
                }
            }
            // The guesses missed: find the meter by name and try again, else the slow path.
            let found = self.lookup(&buf[pos..]);
            let (meter, end) = match found.and_then(|m| Some((m, fast(self, buf, pos, m)?))) {
                Some((m, end)) => (Some(m), end),
                None => {
                    let end = buf[pos..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(buf.len(), |i| pos + i + 1);
                    let row = trim_line_end(&buf[pos..end]);
                    let meter = if row.is_empty() {
                        None
                    } else {
                        match slow(self, row) {
                            Ok(m) => Some(m),
                            Err(problem) => {
                                self.report(problem);
                                None
                            }
                        }
                    };
                    (meter, end)
                }
            };
            if let Some(m) = meter {
                if prev != NONE && prev != m {
                    self.meters[prev as usize].next = m;
                }
                self.prev = m;
            }
            pos = end;
            self.line += 1;
        }
    }

    /// One typed row (see [`MeterParser::push_row`]): the guesses of [`scan`](Self::scan),
    /// then a lookup by name, then the checks of [`slow_row`](Self::slow_row).
    #[inline]
    fn typed_row(&mut self, name: &[u8], participant: &[u8], start: &[u8], kwh: Option<i64>) {
        let interval = if start.len() == 16 {
            self.interval_fast(start)
        } else {
            None
        };
        self.typed_row_at(name, participant, None, interval, kwh, || {
            Cow::Borrowed(start)
        });
    }

    /// Typed rows of one meter (see [`MeterParser::push_rows_minute`]): a row the usual way,
    /// then the good rows after it straight into its meter, until one is not; that one goes the
    /// usual way, knowing the names already.
    fn typed_run(
        &mut self,
        line: u64,
        name: &[u8],
        participant: &[u8],
        minutes: &[i64],
        kwh: &[Option<i64>],
    ) {
        // The run's meter, once a row of it was good.
        let mut known = None;
        let mut i = 0;
        while i < minutes.len() {
            let minute = minutes[i];
            self.line = line + i as u64;
            let interval = self.interval_of_minute(minute);
            known = self
                .typed_row_at(name, participant, known, interval, kwh[i], || {
                    Cow::Owned(local_minute_text(minute).into_bytes())
                })
                .or(known);
            i += 1;
            let Some(m) = known else {
                continue;
            };
            let (first_minute, intervals) = (self.first_minute, self.intervals);
            let meter = &mut self.meters[m as usize];
            while i < minutes.len()
                && let Some(interval) = interval_of_minute(first_minute, intervals, minutes[i])
                && let Some(kwh) = kwh[i]
                && meter.place(interval, kwh)
            {
                i += 1;
            }
        }
        self.line = line + minutes.len() as u64;
    }

    /// The interval of a start given in local minutes since 1970-01-01T00:00, if it is one of
    /// the month's.
    #[inline]
    fn interval_of_minute(&self, minute: i64) -> Option<usize> {
        interval_of_minute(self.first_minute, self.intervals, minute)
    }

    /// [`typed_row`](Self::typed_row) with the start's interval found already (`None` when the
    /// start is not one of the month's good starts); `start` gives its text for the slow path.
    /// `known`: the meter of these names, when the caller knows it already, so that the names
    /// are not compared. Returns the row's meter if the row is good.
    #[inline]
    fn typed_row_at<'s>(
        &mut self,
        name: &[u8],
        participant: &[u8],
        known: Option<u32>,
        interval: Option<usize>,
        kwh: Option<i64>,
        start: impl FnOnce() -> Cow<'s, [u8]>,
    ) -> Option<u32> {
        let prev = self.prev;
        let guess = |scan: &Scan, m: u32| {
            m != NONE && {
                let meter = &scan.meters[m as usize];
                meter.name() == name && meter.participant() == participant
            }
        };
        debug_assert!(
            known.is_none_or(|m| guess(self, m)),
            "a known meter of other names"
        );
        let m = if known.is_some() {
            known
        } else if guess(self, prev) {
            Some(prev)
        } else if prev != NONE && guess(self, self.meters[prev as usize].next) {
            Some(self.meters[prev as usize].next)
        } else {
            None
        };
        // The fast path: a known meter, a good start and reading, a free interval.
        if let (Some(m), Some(kwh), Some(interval)) = (m, kwh, interval)
            && self.meters[m as usize].place(interval, kwh)
        {
            self.prev = m;
            return Some(m);
        }
        match self.typed_slow(name, participant, &start(), kwh) {
            Ok(m) => {
                if prev != NONE && prev != m {
                    self.meters[prev as usize].next = m;
                }
                self.prev = m;
                Some(m)
            }
            Err(problem) => {
                self.report(problem);
                None
            }
        }
    }

    /// A typed row the fast path did not take: a good row of a new meter or a bad one, whose
    /// first problem it names in the order of [`slow_row`](Self::slow_row).
    fn typed_slow(
        &mut self,
        name: &[u8],
        participant: &[u8],
        start: &[u8],
        kwh: Option<i64>,
    ) -> Result<u32, RowProblem> {
        check_typed_name("meter", name)?;
        check_typed_name("participant", participant)?;
        let interval = self.interval_slow(start)?;
        let kwh = match kwh {
            None => return Err(RowProblem::Kwh("NULL".into())),
            Some(v) if v < 0 => return Err(RowProblem::Negative(v.to_string())),
            Some(v) if v > MAX_INTERVAL_KWH => return Err(RowProblem::TooLarge(v.to_string())),
            Some(v) => v,
        };
        let mut key = Vec::with_capacity(name.len() + participant.len() + 2);
        key.extend_from_slice(name);
        key.push(b',');
        key.extend_from_slice(participant);
        key.push(b',');
        let m = self.meter_of(name, participant, &key)?;
        let meter = &mut self.meters[m as usize];
        if meter.values[interval] != MISSING {
            return Err(RowProblem::Duplicate {
                meter: utf8(name),
                start: utf8(start),
            });
        }
        meter.values[interval] = kwh;
        meter.total += kwh;
        meter.filled += 1;
        Ok(m)
    }

    /// Records a problem with the current line.
    fn report(&mut self, problem: RowProblem) {
        self.bad_rows += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(RowError {
                line: self.line,
                problem,
            });
        }
    }

    /// The known meter the row at the start of `rest` names.
    fn lookup(&self, rest: &[u8]) -> Option<u32> {
        let rest = &rest[..rest.len().min(1024)];
        let comma = rest.iter().position(|&b| b == b',')?;
        self.index.get(&rest[..comma]).copied()
    }

    /// Reads the row at `pos` as a good row of meter `m`; returns where the next row starts, or
    /// `None` (having changed nothing) if the row is not exactly that.
    #[inline]
    fn fast_row(&mut self, buf: &[u8], pos: usize, m: u32) -> Option<usize> {
        let key = &self.meters[m as usize].key;
        if !has_prefix(&buf[pos..], key) {
            return None;
        }
        let at = pos + key.len();
        let start = buf.get(at..at + 17)?;
        if start[16] != b',' {
            return None;
        }
        let interval = self.interval_fast(&start[..16])?;
        let digits_at = at + 17;
        let mut p = digits_at;
        let mut kwh: i64 = 0;
        while p < buf.len() {
            let d = buf[p].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if p - digits_at == MAX_KWH_DIGITS {
                return None;
            }
            kwh = kwh * 10 + i64::from(d);
            p += 1;
        }
        if p == digits_at {
            return None;
        }
        let end = match buf.get(p) {
            None => p,
            Some(b'\n') => p + 1,
            Some(b'\r') if buf.get(p + 1) == Some(&b'\n') => p + 2,
            Some(_) => return None,
        };
        let meter = &mut self.meters[m as usize];
        let slot = &mut meter.values[interval];
        if *slot != MISSING {
            return None; // a duplicate: the slow path reports it
        }
        *slot = kwh;
        meter.total += kwh;
        meter.filled += 1;
        Some(end)
    }

    /// The interval of a `start` that is well formed and in the month, or `None`.
    #[inline]
    fn interval_fast(&self, s: &[u8]) -> Option<usize> {
        let head = u64::from_le_bytes(s[..8].try_into().expect("8 bytes"));
        if head != self.prefix || s[10] != b'T' || s[13] != b':' {
            return None;
        }
        let day = two_digits(s[8], s[9])?;
        let hour = two_digits(s[11], s[12])?;
        let minute = two_digits(s[14], s[15])?;
        if day == 0 || day > self.days || hour > 23 || minute > 45 || minute % 15 != 0 {
            return None;
        }
        Some((day as usize - 1) * INTERVALS_PER_DAY + hour as usize * 4 + minute as usize / 15)
    }

    /// Reads the day row at `pos` as a good row of meter `m`; returns where the next row starts,
    /// or `None` (having changed nothing) if the row is not exactly that.
    #[inline]
    fn fast_day(&mut self, buf: &[u8], pos: usize, m: u32) -> Option<usize> {
        let meter = &self.meters[m as usize];
        if !has_prefix(&buf[pos..], &meter.key) {
            return None;
        }
        let at = pos + meter.key.len();
        let date = buf.get(at..at + 11)?;
        if date[10] != b',' {
            return None;
        }
        let day = self.day_fast(&date[..10])?;
        let meter = &mut self.meters[m as usize];
        let slots: &mut [i64; INTERVALS_PER_DAY] = (&mut meter.values[day * INTERVALS_PER_DAY..]
            [..INTERVALS_PER_DAY])
            .try_into()
            .expect("a day's intervals");
        if slots[0] != MISSING {
            return None; // a duplicate: the slow path reports it
        }
        let Some((end, total)) = read_day(buf, at + 11, slots) else {
            slots.fill(MISSING);
            return None;
        };
        meter.total += total;
        meter.filled += INTERVALS_PER_DAY;
        Some(end)
    }

    /// The day of the month (0-based) of a `date` that is well formed and in the month, or
    /// `None`.
    #[inline]
    fn day_fast(&self, s: &[u8]) -> Option<usize> {
        let head = u64::from_le_bytes(s[..8].try_into().expect("8 bytes"));
        if head != self.prefix {
            return None;
        }
        let day = two_digits(s[8], s[9])?;
        (1..=self.days).contains(&day).then(|| day as usize - 1)
    }

    /// Reads a day row the fast path did not take: a good row of a new meter, or a bad one,
    /// whose first problem it names (checked in the order of [`slow_row`](Self::slow_row)).
    fn slow_day(&mut self, row: &[u8]) -> Result<u32, RowProblem> {
        let mut readings = [0i64; INTERVALS_PER_DAY];
        // Most rows here are a new meter's first, and good: read them as the fast path does. Only
        // names and meters are left to check then, which come after dates and readings anyway.
        let mut fields = row.splitn(4, |&b| b == b',');
        let (name, participant) = (fields.next().unwrap_or_default(), fields.next());
        let (date, rest) = (fields.next(), fields.next());
        let day = match (participant, date, rest) {
            (Some(participant), Some(date), Some(rest))
                if date.len() == 10 && read_day(rest, 0, &mut readings).is_some() =>
            {
                self.day_fast(date).map(|day| (participant, date, day))
            }
            _ => None,
        };
        let (participant, date, day) = match day {
            Some(found) => {
                check_name("meter", name)?;
                check_name("participant", found.0)?;
                found
            }
            None => self.check_day_row(row, &mut readings)?,
        };
        let m = self.meter_of(
            name,
            participant,
            &row[..name.len() + 1 + participant.len() + 1],
        )?;
        let meter = &mut self.meters[m as usize];
        let slots = &mut meter.values[day * INTERVALS_PER_DAY..][..INTERVALS_PER_DAY];
        // Day rows fill whole days: a day's first interval tells whether it is there.
        if slots[0] != MISSING {
            return Err(RowProblem::DuplicateDay {
                meter: utf8(name),
                date: utf8(date),
            });
        }
        debug_assert!(slots.iter().all(|&v| v == MISSING));
        slots.copy_from_slice(&readings);
        meter.total += readings.iter().sum::<i64>();
        meter.filled += INTERVALS_PER_DAY;
        Ok(m)
    }

    /// Checks a day row field by field up to its meter, and names its first problem; for a good
    /// row, returns its participant, date and day and fills `readings`.
    fn check_day_row<'a>(
        &self,
        row: &'a [u8],
        readings: &mut [i64; INTERVALS_PER_DAY],
    ) -> Result<(&'a [u8], &'a [u8], usize), RowProblem> {
        let fields = row.split(|&b| b == b',').count();
        if fields != DAY_ROW_FIELDS {
            return Err(RowProblem::DayColumnCount(fields));
        }
        let mut it = row.split(|&b| b == b',');
        let mut field = || it.next().expect("99 fields");
        let (name, participant, date) = (field(), field(), field());
        check_name("meter", name)?;
        check_name("participant", participant)?;
        let day = self.day_slow(date)?;
        for (quarter, (slot, text)) in readings.iter_mut().zip(it).enumerate() {
            *slot = parse_kwh(text).map_err(|problem| RowProblem::Reading {
                quarter,
                problem: Box::new(problem),
            })?;
        }
        Ok((participant, date, day))
    }

    /// The day of the month (0-based) of `date`, or why it is not one of this month.
    fn day_slow(&self, s: &[u8]) -> Result<usize, RowProblem> {
        let text = || String::from_utf8_lossy(s).into_owned();
        let (month, day) = calendar_date(s).ok_or_else(|| RowProblem::MalformedDate(text()))?;
        if month != self.month {
            return Err(RowProblem::DateOutsideMonth(text(), self.month));
        }
        Ok(day as usize - 1)
    }

    /// Reads a row the fast path did not take: a good row (a new meter, an odd layout) or a bad
    /// one, whose first problem it names.
    fn slow_row(&mut self, row: &[u8]) -> Result<u32, RowProblem> {
        let fields = row.split(|&b| b == b',').count();
        if fields != 4 {
            return Err(RowProblem::ColumnCount(fields));
        }
        let mut it = row.split(|&b| b == b',');
        let mut field = || it.next().expect("4 fields");
        let (name, participant, start, kwh) = (field(), field(), field(), field());
        check_name("meter", name)?;
        check_name("participant", participant)?;
        let interval = self.interval_slow(start)?;
        let kwh = parse_kwh(kwh)?;
        let m = self.meter_of(
            name,
            participant,
            &row[..name.len() + 1 + participant.len() + 1],
        )?;
        let meter = &mut self.meters[m as usize];
        if meter.values[interval] != MISSING {
            return Err(RowProblem::Duplicate {
                meter: utf8(name),
                start: utf8(start),
            });
        }
        meter.values[interval] = kwh;
        meter.total += kwh;
        meter.filled += 1;
        Ok(m)
    }

    /// The meter `name` of a row naming `participant` (`key` is `name,participant,`), made
    /// now if it is new; refused if the meter belongs to another participant.
    fn meter_of(&mut self, name: &[u8], participant: &[u8], key: &[u8]) -> Result<u32, RowProblem> {
        match self.index.get(name) {
            Some(&m) => {
                let meter = &self.meters[m as usize];
                if meter.participant() != participant {
                    return Err(RowProblem::ParticipantConflict {
                        meter: utf8(name),
                        participant: utf8(participant),
                        first: utf8(meter.participant()),
                        first_line: meter.first_line,
                    });
                }
                Ok(m)
            }
            None => {
                let m = u32::try_from(self.meters.len()).expect("fewer than 2^32 meters");
                assert!(m != NONE);
                self.index.insert(name.into(), m);
                self.meters.push(ScanMeter {
                    key: key.into(),
                    name_len: name.len(),
                    first_line: self.line,
                    values: vec![MISSING; self.intervals],
                    total: 0,
                    filled: 0,
                    next: NONE,
                });
                Ok(m)
            }
        }
    }

    /// The interval of `start`, or why it is not one of this month.
    fn interval_slow(&self, s: &[u8]) -> Result<usize, RowProblem> {
        let text = || String::from_utf8_lossy(s).into_owned();
        let malformed = || RowProblem::MalformedStart(text());
        if s.len() != 16 || s[10] != b'T' || s[13] != b':' {
            return Err(malformed());
        }
        let date = calendar_date(&s[..10]);
        let time = digits(&s[11..13]).zip(digits(&s[14..16]));
        let (Some((month, day)), Some((hour, minute))) = (date, time) else {
            return Err(malformed());
        };
        if hour > 23 || minute > 59 {
            return Err(malformed());
        }
        if month != self.month {
            return Err(RowProblem::OutsideMonth(text(), self.month));
        }
        if minute % 15 != 0 {
            return Err(RowProblem::NotQuarterHour(text()));
        }
        Ok((day as usize - 1) * INTERVALS_PER_DAY + hour as usize * 4 + minute as usize / 15)
    }
}

/// The value of two ASCII digits, or `None`.
#[inline]
fn two_digits(a: u8, b: u8) -> Option<u32> {
    let (a, b) = (a.wrapping_sub(b'0'), b.wrapping_sub(b'0'));
    (a <= 9 && b <= 9).then_some(u32::from(a) * 10 + u32::from(b))
}

/// The month and day of a calendar date `YYYY-MM-DD` (a four-digit year), or `None`.
fn calendar_date(s: &[u8]) -> Option<(YearMonth, u32)> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(&s[0..4])?, digits(&s[5..7])?, digits(&s[8..10])?);
    // Four digits fit u16 and two fit u8; `new` refuses years before 1000 and months past 12.
    let month = YearMonth::new(year as u16, month as u8).ok()?;
    (1..=u32::from(month.days()))
        .contains(&day)
        .then_some((month, day))
}

/// Reads the 96 readings of a good day row from `p` on into `readings`: 1 to
/// [`MAX_KWH_DIGITS`] digits each, separated by commas, the last followed by the end of the line
/// or of `buf`. Returns where the next line starts and the readings' sum, or `None` (with
/// `readings` written in part) if the rest of the row is not exactly that.
///
/// Byte by byte: on the grid's short readings this beat reading 8 bytes at a time (SWAR), in one
/// pass or two, by 20–40%.
#[inline]
fn read_day(
    buf: &[u8],
    mut p: usize,
    readings: &mut [i64; INTERVALS_PER_DAY],
) -> Option<(usize, i64)> {
    let mut total = 0;
    for (quarter, slot) in readings.iter_mut().enumerate() {
        let start = p;
        // The first digit apart from the rest: every reading has one, most have few more.
        let first = buf.get(p)?.wrapping_sub(b'0');
        if first > 9 {
            return None;
        }
        let mut kwh = i64::from(first);
        p += 1;
        while let Some(&b) = buf.get(p) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            // Wrapping: a run of more digits than a reading may have is refused below.
            kwh = kwh.wrapping_mul(10).wrapping_add(i64::from(d));
            p += 1;
        }
        if p - start > MAX_KWH_DIGITS {
            return None;
        }
        *slot = kwh;
        total += kwh;
        if quarter + 1 < INTERVALS_PER_DAY {
            if buf.get(p) != Some(&b',') {
                return None;
            }
            p += 1;
        }
    }
    let next = match buf.get(p) {
        None => p,
        Some(b'\n') => p + 1,
        Some(b'\r') if buf.get(p + 1) == Some(&b'\n') => p + 2,
        Some(_) => return None,
    };
    Some((next, total))
}

fn check_name(field: &'static str, name: &[u8]) -> Result<(), RowProblem> {
    if name.is_empty() {
        return Err(RowProblem::Empty(field));
    }
    if std::str::from_utf8(name).is_err() || name.contains(&b'"') {
        return Err(RowProblem::BadName(
            field,
            String::from_utf8_lossy(name).into_owned(),
        ));
    }
    Ok(())
}

/// [`check_name`], and no comma or line break: a name `meters.csv` could hold.
fn check_typed_name(field: &'static str, name: &[u8]) -> Result<(), RowProblem> {
    check_name(field, name)?;
    if name.iter().any(|&b| matches!(b, b',' | b'\n' | b'\r')) {
        return Err(RowProblem::BadName(field, utf8(name)));
    }
    Ok(())
}

fn parse_kwh(s: &[u8]) -> Result<i64, RowProblem> {
    let text = || String::from_utf8_lossy(s).into_owned();
    let (negative, body) = match s.strip_prefix(b"-") {
        Some(body) => (true, body),
        None => (false, s),
    };
    if body.is_empty() || !body.iter().all(u8::is_ascii_digit) {
        return Err(RowProblem::Kwh(text()));
    }
    let significant = body
        .iter()
        .position(|&b| b != b'0')
        .map_or(0, |i| body.len() - i);
    if negative && significant > 0 {
        return Err(RowProblem::Negative(text()));
    }
    // Up to 10 significant digits fit an i64 with room; beyond, the value is too large anyway.
    if significant > MAX_KWH_DIGITS + 1 {
        return Err(RowProblem::TooLarge(text()));
    }
    let value = body.iter().fold(0i64, |v, &b| v * 10 + i64::from(b - b'0'));
    if value > MAX_INTERVAL_KWH {
        return Err(RowProblem::TooLarge(text()));
    }
    Ok(value)
}

/// The first 8 bytes every interval start of `month` begins with: `2023-05-`.
fn prefix(month: YearMonth) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(format!("{month}-").as_bytes());
    out
}

/// Local minutes since 1970-01-01T00:00 as `YYYY-MM-DDTHH:MM`.
fn local_minute_text(minute: i64) -> String {
    let (y, m, d) = domain::civil_from_days(minute.div_euclid(1440));
    let of_day = minute.rem_euclid(1440);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}", of_day / 60, of_day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn may() -> YearMonth {
        YearMonth::parse("2023-05").unwrap()
    }

    #[test]
    fn kwh_is_a_whole_non_negative_number() {
        assert_eq!(parse_kwh(b"0"), Ok(0));
        assert_eq!(parse_kwh(b"007"), Ok(7));
        assert_eq!(parse_kwh(b"-0"), Ok(0));
        assert_eq!(parse_kwh(b"999999999"), Ok(999_999_999));
        assert_eq!(parse_kwh(b"1000000000"), Ok(MAX_INTERVAL_KWH));
        assert_eq!(parse_kwh(b"0001000000000"), Ok(MAX_INTERVAL_KWH));
        assert_eq!(
            parse_kwh(b"1000000001"),
            Err(RowProblem::TooLarge("1000000001".into()))
        );
        assert_eq!(
            parse_kwh(b"99999999999999999999999"),
            Err(RowProblem::TooLarge("99999999999999999999999".into()))
        );
        assert_eq!(parse_kwh(b"-3"), Err(RowProblem::Negative("-3".into())));
        for bad in ["", "1.5", "+3", " 3", "3 ", "1e3", "-", "x"] {
            assert_eq!(
                parse_kwh(bad.as_bytes()),
                Err(RowProblem::Kwh(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn starts_are_classified() {
        let scan = Scan::new(may());
        assert_eq!(scan.interval_slow(b"2023-05-01T00:00"), Ok(0));
        assert_eq!(scan.interval_slow(b"2023-05-31T23:45"), Ok(2975));
        assert_eq!(scan.interval_fast(b"2023-05-31T23:45"), Some(2975));
        assert_eq!(scan.interval_fast(b"2023-05-02T00:15"), Some(97));
        for bad in [
            "2023-05-32T00:00",
            "2023-05-00T00:00",
            "2023-05-01T24:00",
            "2023-05-01T00:60",
            "2023-05-01 00:00",
            "2023-05-01T00:00:00",
            "2023-5-01T00:00",
            "2023-13-01T00:00",
        ] {
            assert_eq!(
                scan.interval_slow(bad.as_bytes()),
                Err(RowProblem::MalformedStart(bad.into())),
                "{bad}"
            );
            if bad.len() == 16 {
                assert_eq!(scan.interval_fast(bad.as_bytes()), None, "{bad}");
            }
        }
        assert_eq!(
            scan.interval_slow(b"2023-06-01T00:00"),
            Err(RowProblem::OutsideMonth("2023-06-01T00:00".into(), may()))
        );
        assert_eq!(
            scan.interval_slow(b"2023-05-01T00:07"),
            Err(RowProblem::NotQuarterHour("2023-05-01T00:07".into()))
        );
    }

    #[test]
    fn typed_rows_are_checked_like_csv_rows() {
        let month = YearMonth::parse("2023-02").unwrap();
        let mut csv = String::from("meter,participant,start,kwh\n");
        let mut typed = MeterParser::rows(month);
        let mut line = 2;
        let mut row = |meter: &str, participant: &str, start: &str, kwh: i64| {
            csv.push_str(&format!("{meter},{participant},{start},{kwh}\n"));
            typed.push_row(
                line,
                meter.as_bytes(),
                participant.as_bytes(),
                start.as_bytes(),
                Some(kwh),
            );
            line += 1;
        };
        for i in 0..month.intervals() {
            let start = month.interval_start(i);
            row("M1", "U1", &start, i as i64 % 7);
            row("M2", "U2", &start, 3);
        }
        let good = typed;
        assert_eq!(good.finish(), parse_meters(csv.as_bytes(), month));
        assert!(parse_meters(csv.as_bytes(), month).is_ok());

        let mut typed = MeterParser::rows(month);
        typed.push_row(2, b"M1", b"U1", b"2023-02-01T00:00", Some(-3));
        typed.push_row(3, b"M1", b"U1", b"2023-02-01T00:00", Some(1));
        typed.push_row(4, b"M1", b"U1", b"2023-02-01T00:00", Some(2));
        typed.push_row(5, b"M1", b"U2", b"2023-02-01T00:15", Some(2));
        typed.push_row(6, b"M,2", b"U1", b"2023-02-01T00:15", Some(2));
        typed.push_row(7, b"M3", b"U1", b"NULL", Some(2));
        typed.push_row(8, b"M3", b"U1", b"2023-02-01T00:15", None);
        typed.push_row(
            9,
            b"M3",
            b"U1",
            b"2023-02-01T00:15",
            Some(MAX_INTERVAL_KWH + 1),
        );
        typed.push_row(10, b"", b"U1", b"2023-02-01T00:15", Some(1));
        let errors = typed.finish().unwrap_err();
        let text: Vec<String> = errors.rows.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "line 2, field `kwh`: `-3` is negative",
                "line 4, field `start`: meter `M1` already has a reading for 2023-02-01T00:00",
                "line 5, field `participant`: meter `M1` belongs to `U1` (line 3), not `U2`",
                "line 6, field `meter`: `M,2` is not a plain name (UTF-8, no quotes)",
                "line 7, field `start`: `NULL` is not a local time of the form 2023-05-01T00:15",
                "line 8, field `kwh`: `NULL` is not a whole number of kWh",
                "line 9, field `kwh`: `1000000001` kWh in 15 minutes is beyond the bound of 1000000000 kWh",
                "line 10, field `meter`: is empty",
            ]
        );
    }

    #[test]
    fn rows_by_minute_are_checked_like_rows_by_text() {
        let month = YearMonth::parse("2023-02").unwrap();
        let first = month.first_day_number() * 1440;
        let mut by_text = MeterParser::rows(month);
        let mut by_minute = MeterParser::rows(month);
        let mut line = 2;
        // Each meter's rows by text one by one, and by minute as one run.
        let mut rows = |meter: &str, rows: &[(i64, Option<i64>)]| {
            let (minutes, kwh): (Vec<i64>, Vec<Option<i64>>) = rows.iter().copied().unzip();
            by_minute.push_rows_minute(line, meter.as_bytes(), b"U1", &minutes, &kwh);
            for &(minute, kwh) in rows {
                let start = local_minute_text(minute);
                by_text.push_row(line, meter.as_bytes(), b"U1", start.as_bytes(), kwh);
                line += 1;
            }
        };
        let all: Vec<_> = (0..month.intervals() as i64)
            .map(|i| (first + 15 * i, Some(i % 5)))
            .collect();
        rows("M1", &all);
        // Before and after the month, off the quarter hour, a repeat, a bad reading, a day
        // long before 1970.
        let last = first + 15 * (month.intervals() as i64 - 1);
        rows(
            "M2",
            &[
                (first - 15, Some(1)),
                (last + 15, Some(1)),
                (first + 7, Some(1)),
                (first + 15, Some(1)),
                (first + 30, None),
                (-40_000_000, Some(1)),
            ],
        );
        // Good rows of a meter around a repeat and a bad reading, then more of M1: a repeat.
        rows(
            "M3",
            &[
                (first, Some(1)),
                (first + 15, Some(2)),
                (first + 15, Some(3)),
                (first + 30, Some(4)),
                (first + 45, Some(-1)),
                (first + 45, Some(5)),
            ],
        );
        rows("M1", &[(first + 15, Some(1))]);
        rows("M4", &[]);
        assert_eq!(local_minute_text(first + 15), "2023-02-01T00:15");
        let (text, minute) = (by_text.finish(), by_minute.finish());
        assert!(text.is_err());
        assert_eq!(minute, text);

        // A good month, two meters' rows interleaved in runs of 7, equals the same by text.
        let mut by_text = MeterParser::rows(month);
        let mut by_minute = MeterParser::rows(month);
        let mut line = 2;
        let runs: Vec<(i64, Vec<i64>)> = (0..month.intervals() as i64)
            .collect::<Vec<_>>()
            .chunks(7)
            .flat_map(|c| [(1, c.to_vec()), (2, c.to_vec())])
            .collect();
        for (meter, intervals) in runs {
            let name = format!("M{meter}");
            let minutes: Vec<i64> = intervals.iter().map(|i| first + 15 * i).collect();
            let kwh: Vec<Option<i64>> = intervals.iter().map(|i| Some(i * meter)).collect();
            by_minute.push_rows_minute(line, name.as_bytes(), b"U1", &minutes, &kwh);
            for (&minute, &kwh) in minutes.iter().zip(&kwh) {
                let start = local_minute_text(minute);
                by_text.push_row(line, name.as_bytes(), b"U1", start.as_bytes(), kwh);
                line += 1;
            }
        }
        let (text, minute) = (by_text.finish(), by_minute.finish());
        assert!(text.is_ok());
        assert_eq!(minute, text);
    }

    #[test]
    fn the_day_rows_header_names_every_quarter_hour() {
        let mut header = String::from("meter,participant,date");
        for quarter in 0..INTERVALS_PER_DAY {
            header.push_str(&format!(",{:02}:{:02}", quarter / 4, quarter % 4 * 15));
        }
        assert_eq!(DAY_ROWS_HEADER, header);
        assert_eq!(DAY_ROWS_HEADER.split(',').count(), DAY_ROW_FIELDS);
        assert_eq!(
            (quarter_name(0), quarter_name(42), quarter_name(95)),
            ("00:00", "10:30", "23:45")
        );
        assert_eq!(quarter_name(96), "?");
    }

    #[test]
    fn dates_are_classified() {
        let scan = Scan::new(may());
        assert_eq!(scan.day_slow(b"2023-05-01"), Ok(0));
        assert_eq!(scan.day_slow(b"2023-05-31"), Ok(30));
        assert_eq!(scan.day_fast(b"2023-05-31"), Some(30));
        assert_eq!(scan.day_fast(b"2023-05-09"), Some(8));
        for bad in [
            "2023-05-32",
            "2023-05-00",
            "2023-5-01",
            "2023-05-1",
            "2023/05/01",
            "2023-05-01T00:00",
            "2023-13-01",
            "0999-05-01",
            "2023-05-0x",
            "",
        ] {
            assert_eq!(
                scan.day_slow(bad.as_bytes()),
                Err(RowProblem::MalformedDate(bad.into())),
                "{bad}"
            );
            if bad.len() == 10 {
                assert_eq!(scan.day_fast(bad.as_bytes()), None, "{bad}");
            }
        }
        assert_eq!(
            scan.day_slow(b"2023-06-01"),
            Err(RowProblem::DateOutsideMonth("2023-06-01".into(), may()))
        );
        let february = Scan::new(YearMonth::parse("2023-02").unwrap());
        assert_eq!(
            february.day_slow(b"2023-02-29"),
            Err(RowProblem::MalformedDate("2023-02-29".into()))
        );
        assert_eq!(february.day_fast(b"2023-02-29"), None);
        let leap = Scan::new(YearMonth::parse("2024-02").unwrap());
        assert_eq!(leap.day_fast(b"2024-02-29"), Some(28));
    }

    #[test]
    fn decimals_are_written_like_display() {
        let mut cases: Vec<u32> = vec![0, 9, 10, 99, 100, 101, 999, 1000, 999_999_999];
        cases.push(1_000_000_000);
        cases.push(u32::MAX);
        cases.extend((0..2000).map(|i| i * 7919 % 1_000_003));
        for n in cases {
            let mut out = [0u8; 10];
            let len = write_decimal(&mut out, n);
            assert_eq!(std::str::from_utf8(&out[..len]).unwrap(), n.to_string());
        }
    }

    #[test]
    fn a_day_of_readings_is_read_whole_or_not_at_all() {
        let row = |readings: &[&str], end: &str| {
            let mut text = readings.join(",");
            text.push_str(end);
            text.into_bytes()
        };
        let mut readings = [0i64; INTERVALS_PER_DAY];
        let values: Vec<String> = (0..96).map(|i| (i * 7919 % 100_003).to_string()).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let good = row(&values, "\nM1,U1,2023-05-02,");
        let (next, total) = read_day(&good, 0, &mut readings).unwrap();
        assert_eq!(&good[next..], b"M1,U1,2023-05-02,");
        let expected: Vec<i64> = values.iter().map(|v| v.parse().unwrap()).collect();
        assert_eq!(readings[..], expected[..]);
        assert_eq!(total, expected.iter().sum::<i64>());
        let crlf = row(&values, "\r\nnext row");
        assert_eq!(
            read_day(&crlf, 0, &mut readings).map(|r| r.0),
            Some(crlf.len() - 8)
        );
        let mut long = values.clone();
        long[5] = "123456789";
        assert_eq!(
            read_day(&row(&long, "\n12345678"), 0, &mut readings).map(|r| r.1),
            Some(total - expected[5] + 123_456_789)
        );
        // The last row of a buffer, with or without its newline.
        for end in ["\n", "\r\n", ""] {
            let text = row(&values, end);
            assert_eq!(read_day(&text, 0, &mut readings), Some((text.len(), total)));
        }
        for (i, bad) in [
            (0, ""),
            (3, "1234567890"),
            (95, "-1"),
            (40, "1.5"),
            (7, "1\r"),
        ] {
            let mut readings_text = values.clone();
            readings_text[i] = bad;
            let text = row(&readings_text, "\n12345678");
            assert_eq!(read_day(&text, 0, &mut readings), None, "{bad}");
        }
        for end in ["\r12345678", ",12345678", "x12345678", ",1\n12345678"] {
            assert_eq!(
                read_day(&row(&values, end), 0, &mut readings),
                None,
                "{end}"
            );
        }
        assert_eq!(
            read_day(&row(&values[..95], "\n12345678"), 0, &mut readings),
            None
        );
    }

    #[test]
    fn prefixes_compare_by_words() {
        assert!(has_prefix(b"P0001,G001,2023", b"P0001,G001,"));
        assert!(!has_prefix(b"P0001,G002,2023", b"P0001,G001,"));
        assert!(!has_prefix(b"Q0001,G001,2023", b"P0001,G001,"));
        assert!(has_prefix(b"M1,U1,x", b"M1,U1,"));
        assert!(!has_prefix(b"M1,U2,x", b"M1,U1,"));
        assert!(!has_prefix(b"M1,U", b"M1,U1,"));
        assert!(has_prefix(b"12345678", b"12345678"));
        assert!(!has_prefix(b"1234567", b"12345678"));
        assert!(has_prefix(b"0123456789abcdefX", b"0123456789abcdef"));
        assert!(!has_prefix(b"0123456789abcdeX", b"0123456789abcdef"));
    }
}
