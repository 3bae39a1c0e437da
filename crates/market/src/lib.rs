//! lvdian's market rules that span the engines: a pure crate (no IO, no clock, no SQL) between
//! `exchange`, `settlement` and `registry` below and the API and the CLI above, which only
//! gather facts, call these functions and render the typed reports they return.
//!
//! - [`close`]: the month close — which contracts deliver in a month and how much (spec §4,
//!   月度分解, for sessions of any horizon), their carry-ins (spec §5), the settlement report.
//! - [`certificates`]: issuance from meter months and the 证电合一 transfer plan of a final
//!   settlement (spec §6).
//! - [`statistics`]: the annual report of spec §8, for the market and per province.
//! - [`visibility`]: who sees which orders, contracts, settlement lines and certificates
//!   (spec §7).
//! - [`meters`]: a month's metered energy by participant, by meter and by quarter-hour.
//! - [`retail`]: retail contracts' rules and the allocation of retailers' `Q_env` to their
//!   retail users in the month close.
//! - [`report`]: the report types, serialised the same way by `lvdian` and the API.

pub mod certificates;
pub mod close;
pub mod meters;
pub mod report;
pub mod retail;
pub mod statistics;
pub mod visibility;

pub use certificates::{
    CertificateError, PlannedMove, issue_month, settle_certificates, transfer_plan,
};
pub use close::{
    MonthContract, carries_into, carry_months, check_conservation, close_month, contract_key,
    delivering, monthly_losses, monthly_volumes, open_earlier_months, parse_contract_key,
    settle_terms,
};
pub use report::{
    IssuanceReport, IssuedProject, RetailLine, SettledVolume, SettledVolumes, SettlementCursor,
    SettlementLine, SettlementReport, TransferLine,
};
pub use statistics::{AnnualReport, MarketFacts, annual_report, average_price};
pub use visibility::{Access, Viewer};
