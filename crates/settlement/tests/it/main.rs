//! The settlement crate's integration tests: meter validation, §5 settlement cases with their
//! numbers worked by hand, retail allocation, and property tests of the invariants.

mod bounds;
mod day_rows;
mod hostile_input;
mod hourly;
mod meters;
mod props;
mod retail;
mod settle;

use settlement::{METERS_HEADER, YearMonth};

/// The month most cases use: May 2023, 31 days, 2,976 quarter-hours.
pub fn may() -> YearMonth {
    YearMonth::parse("2023-05").unwrap()
}

/// Rows of one meter for every interval of `month`, summing to `total` kWh: each interval gets
/// `total / n`, and the first `total % n` intervals one kWh more.
pub fn meter_rows(month: YearMonth, meter: &str, participant: &str, total: i64) -> String {
    let n = month.intervals() as i64;
    let mut out = String::new();
    for i in 0..n {
        let kwh = total / n + i64::from(i < total % n);
        let start = month.interval_start(i as usize);
        out.push_str(&format!("{meter},{participant},{start},{kwh}\n"));
    }
    out
}

/// A whole meter file: the header and complete rows for each `(meter, participant, total)`.
pub fn meter_file(month: YearMonth, meters: &[(&str, &str, i64)]) -> String {
    let mut out = format!("{METERS_HEADER}\n");
    for (meter, participant, total) in meters {
        out.push_str(&meter_rows(month, meter, participant, *total));
    }
    out
}
