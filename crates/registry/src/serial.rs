//! Certificate serials and serial ranges.

use std::fmt;
use std::str::FromStr;

use domain::ProjectCode;
use serde::{Deserialize, Serialize};

use crate::{RegistryError, YearMonth};

/// The largest sequence number a serial can carry: nine digits.
pub const MAX_SEQ: u32 = 999_999_999;

/// One certificate's serial: 32 digits, the 17-digit project filing code, the production month
/// `YYYYMM` and a 9-digit sequence number from 1 within that project-month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serial {
    /// The project whose energy it certifies.
    pub project: ProjectCode,
    /// The production month.
    pub month: YearMonth,
    /// The sequence number within the project-month, 1 to [`MAX_SEQ`].
    pub seq: u32,
}

impl Serial {
    /// Parses 32 digits.
    pub fn parse(text: &str) -> Result<Serial, RegistryError> {
        let bad = || RegistryError::BadSerial(text.to_owned());
        if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let project = ProjectCode::parse(&text[..17]).map_err(|_| bad())?;
        let month =
            YearMonth::from_yyyymm(text[17..23].parse().map_err(|_| bad())?).map_err(|_| bad())?;
        let seq: u32 = text[23..].parse().map_err(|_| bad())?;
        if seq == 0 {
            return Err(bad());
        }
        Ok(Serial {
            project,
            month,
            seq,
        })
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:09}", self.project, self.month.yyyymm(), self.seq)
    }
}

/// A block of consecutive certificates of one project and production month: the serials
/// `first ..= first + count - 1`. Written `"<first serial>-<last serial>"`.
///
/// A value that exists is valid: `count ≥ 1`, `first ≥ 1` and the last sequence number fits
/// nine digits. Splitting and merging values is free; the registry's holdings change only
/// through its operations, each of which writes a ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SerialRange {
    project: ProjectCode,
    month: YearMonth,
    first: u32,
    count: u32,
}

impl SerialRange {
    /// The `count` certificates from sequence number `first`.
    pub fn new(
        project: ProjectCode,
        month: YearMonth,
        first: u32,
        count: u32,
    ) -> Result<SerialRange, RegistryError> {
        let last = u64::from(first) + u64::from(count) - 1;
        if count == 0 || first == 0 || last > u64::from(MAX_SEQ) {
            return Err(RegistryError::BadSerial(format!(
                "{project}{}: {count} certificates from sequence {first}",
                month.yyyymm()
            )));
        }
        Ok(SerialRange {
            project,
            month,
            first,
            count,
        })
    }

    /// Parses `"<first serial>-<last serial>"`; both serials must name one project-month.
    pub fn parse(text: &str) -> Result<SerialRange, RegistryError> {
        let bad = || RegistryError::BadSerial(text.to_owned());
        let (first, last) = text.split_once('-').ok_or_else(bad)?;
        let (first, last) = (Serial::parse(first)?, Serial::parse(last)?);
        if first.project != last.project || first.month != last.month || last.seq < first.seq {
            return Err(bad());
        }
        SerialRange::new(
            first.project,
            first.month,
            first.seq,
            last.seq - first.seq + 1,
        )
    }

    /// The project.
    pub fn project(&self) -> ProjectCode {
        self.project
    }

    /// The production month.
    pub fn month(&self) -> YearMonth {
        self.month
    }

    /// The first sequence number.
    pub fn first(&self) -> u32 {
        self.first
    }

    /// The last sequence number (inclusive).
    pub fn last(&self) -> u32 {
        self.first + (self.count - 1)
    }

    /// How many certificates (MWh) the range holds, at least 1.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The first serial.
    pub fn first_serial(&self) -> Serial {
        Serial {
            project: self.project,
            month: self.month,
            seq: self.first,
        }
    }

    /// The last serial.
    pub fn last_serial(&self) -> Serial {
        Serial {
            project: self.project,
            month: self.month,
            seq: self.last(),
        }
    }

    /// Whether the range holds `serial`.
    pub fn contains(&self, serial: Serial) -> bool {
        serial.project == self.project
            && serial.month == self.month
            && (self.first..=self.last()).contains(&serial.seq)
    }

    /// The first `n` certificates and the rest, when `0 < n < count`.
    pub fn split_at(&self, n: u32) -> Option<(SerialRange, SerialRange)> {
        if n == 0 || n >= self.count {
            return None;
        }
        let head = SerialRange { count: n, ..*self };
        let tail = SerialRange {
            first: self.first + n,
            count: self.count - n,
            ..*self
        };
        debug_assert_eq!(head.count + tail.count, self.count);
        Some((head, tail))
    }

    /// This range and `next` as one, when `next` starts right after this one in the same
    /// project-month.
    pub fn merge(&self, next: &SerialRange) -> Option<SerialRange> {
        let adjacent = self.project == next.project
            && self.month == next.month
            && u64::from(self.last()) + 1 == u64::from(next.first);
        adjacent.then(|| SerialRange {
            count: self.count + next.count,
            ..*self
        })
    }
}

impl fmt::Display for SerialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first_serial(), self.last_serial())
    }
}

impl FromStr for SerialRange {
    type Err = RegistryError;
    fn from_str(text: &str) -> Result<SerialRange, RegistryError> {
        SerialRange::parse(text)
    }
}

impl TryFrom<String> for SerialRange {
    type Error = RegistryError;
    fn try_from(text: String) -> Result<SerialRange, RegistryError> {
        SerialRange::parse(&text)
    }
}

impl From<SerialRange> for String {
    fn from(range: SerialRange) -> String {
        range.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u32, count: u32) -> SerialRange {
        SerialRange::new(
            ProjectCode::parse("33010000000000001").unwrap(),
            YearMonth::new(2024, 3).unwrap(),
            first,
            count,
        )
        .unwrap()
    }

    #[test]
    fn formats_and_parses() {
        let r = range(1, 12);
        let text = "33010000000000001202403000000001-33010000000000001202403000000012";
        assert_eq!(r.to_string(), text);
        assert_eq!(SerialRange::parse(text).unwrap(), r);
        assert_eq!(
            r.last_serial().to_string(),
            "33010000000000001202403000000012"
        );
        let max = range(MAX_SEQ, 1);
        assert_eq!(
            max.to_string(),
            "33010000000000001202403999999999-33010000000000001202403999999999"
        );
        assert!(SerialRange::parse(&max.to_string()).is_ok());
    }

    #[test]
    fn refuses_bad_ranges() {
        let p = ProjectCode::parse("33010000000000001").unwrap();
        let m = YearMonth::new(2024, 3).unwrap();
        assert!(SerialRange::new(p, m, 0, 1).is_err());
        assert!(SerialRange::new(p, m, 1, 0).is_err());
        assert!(SerialRange::new(p, m, MAX_SEQ, 2).is_err());
        for bad in [
            "33010000000000001202403000000012-33010000000000001202403000000001",
            "33010000000000001202403000000001-33010000000000002202403000000012",
            "33010000000000001202403000000001-33010000000000001202404000000012",
            "33010000000000001202403000000000-33010000000000001202403000000012",
            "33010000000000001202413000000001-33010000000000001202413000000012",
            "3301000000000000120240300000001-33010000000000001202403000000012",
            "33010000000000001202403000000001",
        ] {
            assert!(SerialRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn splits_and_merges_without_losing_a_certificate() {
        let r = range(5, 10);
        let (a, b) = r.split_at(3).unwrap();
        assert_eq!((a.first(), a.count(), b.first(), b.count()), (5, 3, 8, 7));
        assert_eq!(a.merge(&b), Some(r));
        assert_eq!(b.merge(&a), None);
        assert!(r.split_at(0).is_none() && r.split_at(10).is_none());
    }
}
