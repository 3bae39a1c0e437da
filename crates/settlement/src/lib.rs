//! lvdian's monthly green power settlement (spec §5): pure functions from the month's meter data
//! and contracts to each contract's settlement. No IO, no clock, no SQL: files come in as bytes.
//!
//! - [`parse_meters`] validates a month of `meters.csv` (per meter, per 15-minute interval, kWh)
//!   into [`MeterData`]: monthly energy per participant and every meter's readings per interval.
//!   The file has a row per meter and interval ([`METERS_HEADER`]) or a row per meter and day
//!   with 96 readings (96点, [`DAY_ROWS_HEADER`], written by [`write_day_rows`]), told apart by
//!   its header. A file with any bad row imports nothing; [`MeterErrors`] lists the rows by line
//!   and reason. [`MeterParser`] does the same on a file streamed in pieces, and [`merge_parts`]
//!   joins the parsers of a file cut into parts read side by side (~54 million rows in well
//!   under a second).
//! - [`check_upload`] applies the rules of whose meters a stored upload may hold (known
//!   participants, projects' meters only under their owner, no change of owner, no empty file,
//!   months of the market) to facts its caller gathers ([`UploadFacts`]).
//! - [`parse_contracts`] validates `contracts.csv` into [`ContractTerms`] the same way.
//! - [`settle`] computes each contract's [`Line`]: the pro rata shares `G_k`, `L_k` of short
//!   sellers and buyers, delivered energy `D_k`, environmental MWh with the sub-MWh carry,
//!   energy and environmental money, and the shortfall compensation and its [`Payer`].
//! - [`allocate_retail`] shares a retailer's wholesale environmental value among its retail
//!   users ([`RetailDemand`]).
//! - The settlement month is `domain::YearMonth`, with its quarter-hour intervals (Asia/Shanghai,
//!   no DST).
//!
//! Quantities are whole kWh in `i64`, prices fen/MWh, money fen; every product is exact and
//! rounded once per line item (`domain::Fen::of`). The money path asserts its invariants
//! (no party credited more than it metered, `D_k ≤ C_k`, kWh conserved between `D_k`, `Q_env_k`
//! and the carries): a broken invariant stops the run rather than print a wrong bill.

mod contracts;
mod hourly;
mod meters;
mod retail;
mod settle;
mod upload;

pub use contracts::{
    CONTRACTS_HEADER, ContractError, ContractErrors, ContractTerms, parse_contracts,
};
pub use domain::{INTERVALS_PER_DAY, MonthError, YearMonth, is_leap_year};
pub use hourly::{HourMatch, HourlyMatch, hourly_match, hourly_match_with};
pub use meters::{
    DAY_ROWS_HEADER, Incomplete, MAX_INTERVAL_KWH, MAX_REPORTED, METERS_HEADER, Meter, MeterData,
    MeterErrors, MeterParser, ParticipantEnergy, RowError, RowProblem, merge_parts, parse_meters,
    parse_meters_with, write_day_rows,
};
pub use retail::{RetailDemand, allocate_retail};
pub use settle::{Line, Payer, Settlement, settle};
pub use upload::{
    MeterProblem, MeterRefusal, UploadError, UploadFacts, check_market_month, check_project_meters,
    check_upload,
};
