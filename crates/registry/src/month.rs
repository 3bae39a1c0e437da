//! Production and settlement months: the platform's one [`YearMonth`], from `domain`.
//!
//! Ordered by time. Written `2024-03` in files and JSON, and `202403` inside a serial.

pub use domain::YearMonth;

impl From<domain::MonthError> for crate::RegistryError {
    fn from(e: domain::MonthError) -> crate::RegistryError {
        crate::RegistryError::BadMonth(e.0)
    }
}
