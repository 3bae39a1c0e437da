//! The calendar month: the one `YearMonth` of the whole platform.
//!
//! A session's delivery window, a settlement run, a meter upload and a certificate's production
//! month are all a [`YearMonth`], written `2024-03` in files and JSON and `202403` inside a
//! certificate serial. Its quarter-hours are in Asia/Shanghai local time, which has no daylight
//! saving: every local day has exactly 96 of them, so a month has `96 × days`. The calendar
//! arithmetic is done by hand (Gregorian leap years); no date crate is needed for so little.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Quarter-hours in a local day (no DST in Asia/Shanghai).
pub const INTERVALS_PER_DAY: usize = 96;

/// Why a text or a number is not a month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a month of the form YYYY-MM, such as 2023-05")]
pub struct MonthError(pub String);

/// A calendar month with a four-digit year (1000–9999), ordered by time.
///
/// A month of the market is further within [`crate::MARKET_YEARS`]; the type itself accepts
/// every four-digit year so that files can be read and refused with a precise reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct YearMonth {
    year: u16,
    month: u8,
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

impl YearMonth {
    /// The month `month` (1–12) of `year` (1000–9999).
    pub fn new(year: u16, month: u8) -> Result<YearMonth, MonthError> {
        if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(MonthError(format!("{year:04}-{month:02}")));
        }
        Ok(YearMonth { year, month })
    }

    /// Parses exactly `YYYY-MM` (ASCII digits, a hyphen, nothing else).
    pub fn parse(text: &str) -> Result<YearMonth, MonthError> {
        // Quoted as written, so the user finds it (error bodies escape what JSON must).
        let bad = || MonthError(text.to_owned());
        let b = text.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return Err(bad());
        }
        let year = digits(&b[0..4]).ok_or_else(bad)?;
        let month = digits(&b[5..7]).ok_or_else(bad)?;
        YearMonth::new(year as u16, month as u8).map_err(|_| bad())
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month of the year, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day number (days since 1970-01-01) of the month's first day, after Howard
    /// Hinnant's `days_from_civil`; the inverse of [`civil_from_days`].
    pub fn first_day_number(self) -> i64 {
        let (month, year) = (i64::from(self.month), i64::from(self.year));
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Days in this month (28–31).
    pub fn days(self) -> u8 {
        match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if is_leap_year(self.year) => 29,
            _ => 28,
        }
    }

    /// 15-minute intervals in this month: `96 × days`.
    pub fn intervals(self) -> usize {
        usize::from(self.days()) * INTERVALS_PER_DAY
    }

    /// The local start of interval `index` (0-based) as written in files: `2023-05-01T00:15`.
    ///
    /// # Panics
    /// If `index` is not an interval of this month.
    pub fn interval_start(self, index: usize) -> String {
        assert!(index < self.intervals(), "interval {index} out of {self}");
        let day = index / INTERVALS_PER_DAY + 1;
        let quarter = index % INTERVALS_PER_DAY;
        format!(
            "{self}-{day:02}T{:02}:{:02}",
            quarter / 4,
            (quarter % 4) * 15
        )
    }

    /// The month written as the number `YYYYMM` (as inside a serial): `202403`.
    pub fn yyyymm(self) -> u32 {
        u32::from(self.year) * 100 + u32::from(self.month)
    }

    /// The month from the number `YYYYMM`.
    pub fn from_yyyymm(value: u32) -> Result<YearMonth, MonthError> {
        let bad = || MonthError(value.to_string());
        let year = u16::try_from(value / 100).map_err(|_| bad())?;
        YearMonth::new(year, (value % 100) as u8).map_err(|_| bad())
    }

    /// Months since January of year 0: consecutive months have consecutive indexes.
    pub fn index(self) -> u32 {
        u32::from(self.year) * 12 + u32::from(self.month) - 1
    }

    /// The month `months` after this one, or `None` past year 9999.
    pub fn plus_months(self, months: u32) -> Option<YearMonth> {
        Self::from_index(self.index().checked_add(months)?)
    }

    /// The month `months` before this one, or `None` before year 1000.
    pub fn minus_months(self, months: u32) -> Option<YearMonth> {
        Self::from_index(self.index().checked_sub(months)?)
    }

    /// The months from this one through `last`, inclusive (none when `last` is earlier).
    pub fn through(self, last: YearMonth) -> impl Iterator<Item = YearMonth> {
        (self.index()..=last.index()).filter_map(Self::from_index)
    }

    fn from_index(index: u32) -> Option<YearMonth> {
        let year = u16::try_from(index / 12).ok()?;
        YearMonth::new(year, (index % 12) as u8 + 1).ok()
    }
}

/// The value of a run of ASCII digits (at most 9), or `None` if any byte is not a digit.
pub fn digits(bytes: &[u8]) -> Option<u32> {
    debug_assert!(bytes.len() <= 9);
    let mut value: u32 = 0;
    for &b in bytes {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value * 10 + u32::from(d);
    }
    Some(value)
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = MonthError;
    fn from_str(text: &str) -> Result<YearMonth, MonthError> {
        YearMonth::parse(text)
    }
}

impl TryFrom<String> for YearMonth {
    type Error = MonthError;
    fn try_from(text: String) -> Result<YearMonth, MonthError> {
        YearMonth::parse(&text)
    }
}

impl From<YearMonth> for String {
    fn from(month: YearMonth) -> String {
        month.to_string()
    }
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard
/// Hinnant's `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_day_numbers_invert_civil_from_days() {
        assert_eq!(YearMonth::parse("1970-01").unwrap().first_day_number(), 0);
        assert_eq!(
            YearMonth::parse("2023-05").unwrap().first_day_number(),
            19_478
        );
        for year in [1000, 1600, 1900, 1969, 2000, 2023, 2024, 2100, 9999] {
            for month in 1..=12 {
                let m = YearMonth::new(year, month).unwrap();
                let day = m.first_day_number();
                assert_eq!(civil_from_days(day), (i64::from(year), u32::from(month), 1));
            }
        }
    }

    #[test]
    fn months_parse_strictly() {
        let may = YearMonth::parse("2023-05").unwrap();
        assert_eq!((may.year(), may.month(), may.days()), (2023, 5, 31));
        assert_eq!(may.intervals(), 2976);
        assert_eq!(may.to_string(), "2023-05");
        for bad in [
            "2023-5",
            "2023-13",
            "2023-00",
            "202305",
            "2023-05-01",
            "0999-01",
            "２023-05",
            "24-03",
            "",
        ] {
            assert!(YearMonth::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::from_str::<YearMonth>("\"2025-03\"").unwrap(),
            YearMonth::new(2025, 3).unwrap()
        );
        assert!(serde_json::from_str::<YearMonth>("\"2025-13\"").is_err());
    }

    #[test]
    fn february_follows_the_gregorian_leap_years() {
        let days = |y, m| YearMonth::new(y, m).unwrap().days();
        assert_eq!(
            (days(2024, 2), days(2023, 2), days(1900, 2), days(2000, 2)),
            (29, 28, 28, 29)
        );
        let year: u32 = (1..=12).map(|m| u32::from(days(2023, m))).sum();
        assert_eq!(year, 365);
    }

    #[test]
    fn interval_starts_are_local_quarter_hours() {
        let may = YearMonth::parse("2023-05").unwrap();
        assert_eq!(may.interval_start(0), "2023-05-01T00:00");
        assert_eq!(may.interval_start(1), "2023-05-01T00:15");
        assert_eq!(may.interval_start(96), "2023-05-02T00:00");
        assert_eq!(may.interval_start(2975), "2023-05-31T23:45");
    }

    #[test]
    fn counts_and_serial_numbers() {
        let m = YearMonth::parse("2024-03").unwrap();
        assert_eq!(m.yyyymm(), 202_403);
        assert_eq!(YearMonth::from_yyyymm(202_403).unwrap(), m);
        assert_eq!(m.plus_months(24).unwrap().to_string(), "2026-03");
        assert_eq!(m.plus_months(10).unwrap().to_string(), "2025-01");
        assert_eq!(m.minus_months(3).unwrap().to_string(), "2023-12");
        assert!(YearMonth::from_yyyymm(202_400).is_err());
        assert!(YearMonth::new(9999, 12).unwrap().plus_months(1).is_none());
        let q: Vec<String> = m
            .through(m.plus_months(2).unwrap())
            .map(|m| m.to_string())
            .collect();
        assert_eq!(q, ["2024-03", "2024-04", "2024-05"]);
        assert_eq!(m.through(m.minus_months(1).unwrap()).count(), 0);
    }
}
