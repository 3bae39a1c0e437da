//! Production and settlement months.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::RegistryError;

/// A calendar month, `YYYY-MM`, with a four-digit year (1000–9999).
///
/// Ordered by time. Written `2024-03` in files and JSON, and `202403` inside a serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct YearMonth {
    year: u16,
    month: u8,
}

impl YearMonth {
    /// The month `month` (1–12) of `year` (1000–9999).
    pub fn new(year: u16, month: u8) -> Result<YearMonth, RegistryError> {
        if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(RegistryError::BadMonth(format!("{year:04}-{month:02}")));
        }
        Ok(YearMonth { year, month })
    }

    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Result<YearMonth, RegistryError> {
        let bad = || RegistryError::BadMonth(text.to_owned());
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return Err(bad());
        }
        YearMonth::new(
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
        )
    }

    /// The month written as the number `YYYYMM` (as inside a serial): `202403`.
    pub fn yyyymm(self) -> u32 {
        u32::from(self.year) * 100 + u32::from(self.month)
    }

    /// The month from the number `YYYYMM`.
    pub fn from_yyyymm(value: u32) -> Result<YearMonth, RegistryError> {
        let year =
            u16::try_from(value / 100).map_err(|_| RegistryError::BadMonth(value.to_string()))?;
        YearMonth::new(year, (value % 100) as u8)
            .map_err(|_| RegistryError::BadMonth(value.to_string()))
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month of the year, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// Months since January of year 0: consecutive months have consecutive indexes.
    pub fn index(self) -> u32 {
        u32::from(self.year) * 12 + u32::from(self.month) - 1
    }

    /// The month `months` after this one, or `None` past year 9999.
    pub fn plus_months(self, months: u32) -> Option<YearMonth> {
        let index = self.index().checked_add(months)?;
        let year = u16::try_from(index / 12).ok()?;
        YearMonth::new(year, (index % 12) as u8 + 1).ok()
    }

    /// The month `months` before this one, or `None` before year 1000.
    pub fn minus_months(self, months: u32) -> Option<YearMonth> {
        let index = self.index().checked_sub(months)?;
        let year = u16::try_from(index / 12).ok()?;
        YearMonth::new(year, (index % 12) as u8 + 1).ok()
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = RegistryError;
    fn from_str(text: &str) -> Result<YearMonth, RegistryError> {
        YearMonth::parse(text)
    }
}

impl TryFrom<String> for YearMonth {
    type Error = RegistryError;
    fn try_from(text: String) -> Result<YearMonth, RegistryError> {
        YearMonth::parse(&text)
    }
}

impl From<YearMonth> for String {
    fn from(month: YearMonth) -> String {
        month.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_formats_and_counts() {
        let m = YearMonth::parse("2024-03").unwrap();
        assert_eq!(m.to_string(), "2024-03");
        assert_eq!(m.yyyymm(), 202_403);
        assert_eq!(YearMonth::from_yyyymm(202_403).unwrap(), m);
        assert_eq!(m.plus_months(24).unwrap().to_string(), "2026-03");
        assert_eq!(m.plus_months(10).unwrap().to_string(), "2025-01");
        assert_eq!(m.minus_months(3).unwrap().to_string(), "2023-12");
        assert!(YearMonth::parse("2024-13").is_err());
        assert!(YearMonth::parse("2024-3").is_err());
        assert!(YearMonth::parse("24-03").is_err());
        assert!(YearMonth::from_yyyymm(202_400).is_err());
        assert!(YearMonth::new(9999, 12).unwrap().plus_months(1).is_none());
    }
}
