//! The settlement month and its 15-minute intervals, in Asia/Shanghai local time.
//!
//! China has no daylight saving time, so every local day has exactly 96 quarter-hours and a month
//! has `96 × days` of them. The calendar arithmetic is done by hand (Gregorian leap years); no date
//! crate is needed for so little.

use std::fmt;

/// Quarter-hours in a local day (no DST in Asia/Shanghai).
pub const INTERVALS_PER_DAY: usize = 96;

/// Why a month string is not a month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a month of the form YYYY-MM, such as 2023-05")]
pub struct MonthError(pub String);

/// A calendar month, `2023-05`: the period one settlement run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: u16,
    month: u8,
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Days in `month` (1–12) of `year`.
///
/// # Panics
/// If `month` is not in 1–12.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => panic!("month {month} out of 1..=12"),
    }
}

impl Month {
    /// The month `month` (1–12) of `year` (1000–9999, four digits in files).
    pub fn new(year: u16, month: u8) -> Result<Month, MonthError> {
        if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(MonthError(format!("{year}-{month:02}")));
        }
        Ok(Month { year, month })
    }

    /// Parses exactly `YYYY-MM`.
    pub fn parse(text: &str) -> Result<Month, MonthError> {
        let bad = || MonthError(text.to_owned());
        let b = text.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return Err(bad());
        }
        let year = digits(&b[0..4]).ok_or_else(bad)?;
        let month = digits(&b[5..7]).ok_or_else(bad)?;
        Month::new(year as u16, month as u8).map_err(|_| bad())
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month of the year, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// Days in this month.
    pub fn days(self) -> usize {
        usize::from(days_in_month(self.year, self.month))
    }

    /// 15-minute intervals in this month: `96 × days`.
    pub fn intervals(self) -> usize {
        self.days() * INTERVALS_PER_DAY
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

    /// The first 8 bytes every interval start of this month begins with: `2023-05-`.
    pub(crate) fn prefix(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out.copy_from_slice(format!("{self}-").as_bytes());
        out
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl std::str::FromStr for Month {
    type Err = MonthError;
    fn from_str(s: &str) -> Result<Month, MonthError> {
        Month::parse(s)
    }
}

/// The value of a run of ASCII digits (at most 9), or `None` if any byte is not a digit.
pub(crate) fn digits(bytes: &[u8]) -> Option<u32> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly() {
        let may = Month::parse("2023-05").unwrap();
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
            "",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn february_follows_the_gregorian_leap_years() {
        assert_eq!(Month::parse("2024-02").unwrap().days(), 29);
        assert_eq!(Month::parse("2023-02").unwrap().days(), 28);
        assert_eq!(Month::parse("1900-02").unwrap().days(), 28);
        assert_eq!(Month::parse("2000-02").unwrap().days(), 29);
        assert_eq!(Month::parse("2024-02").unwrap().intervals(), 29 * 96);
        let days: usize = (1..=12).map(|m| Month::new(2023, m).unwrap().days()).sum();
        assert_eq!(days, 365);
    }

    #[test]
    fn interval_starts_are_local_quarter_hours() {
        let may = Month::parse("2023-05").unwrap();
        assert_eq!(may.interval_start(0), "2023-05-01T00:00");
        assert_eq!(may.interval_start(1), "2023-05-01T00:15");
        assert_eq!(may.interval_start(95), "2023-05-01T23:45");
        assert_eq!(may.interval_start(96), "2023-05-02T00:00");
        assert_eq!(may.interval_start(2975), "2023-05-31T23:45");
        assert_eq!(&may.prefix(), b"2023-05-");
    }
}
