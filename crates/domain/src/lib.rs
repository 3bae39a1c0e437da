//! lvdian's domain: the vocabulary every other crate speaks.
//!
//! - Exact units ([`Kwh`], [`Price`] in fen/MWh, [`Fen`]) that parse from and format to the decimal
//!   strings of files and APIs, with the spec's one rounding rule ([`div_round_half_away`]).
//! - Delivery [`Period`]s under a session's [`PeriodTemplate`] (96 quarter-hours, 24 hours, or a
//!   time-of-use [`TouTemplate`]).
//! - [`Participant`]s with their [`Role`] and [`Province`], and the [`Project`]s (generating units)
//!   they own, named by a [`ProjectCode`].
//! - [`Order`]s with a [`TwoPartPrice`], and the [`Contract`]s the exchange makes from them.
//! - [`TextRule`]: the length limit and character policy of every free-text field (names NFC,
//!   no control or invisible characters; identifiers ASCII), and [`MARKET_YEARS`].
//!
//! A value of these types that exists is valid: constructors that take outside text return a
//! [`DomainError`] or [`UnitError`] saying what is wrong. Nothing here does IO or reads a clock.

mod month;
mod party;
mod period;
mod share;
mod text;
mod trade;
mod units;

pub use month::{INTERVALS_PER_DAY, MonthError, YearMonth, civil_from_days, digits, is_leap_year};
pub use party::{
    ContractId, OrderId, Participant, ParticipantId, Project, ProjectCode, Province, Role,
    SessionId, Technology,
};
pub use period::{Period, PeriodLabel, PeriodTemplate, TouBand, TouTemplate};
pub use share::{pro_rata, split_by_weight};
pub use text::{TextError, TextKind, TextProblem, TextRule, is_control, is_invisible, shown};
pub use trade::{
    Contract, ContractCorridor, ContractStatus, Order, PeriodVolume, RetailContract, Side,
    TimeInForce, TwoPartPrice,
};
pub use units::{Fen, Kwh, LossRate, MwhDisplay, Price, UnitError, div_round_half_away};

/// The years the market's months may fall in. A month outside (`9999-12`, `0001-01`) is refused
/// at input: no delivery, meter reading or certificate of this market lies there, and the month
/// types alone accept years up to 9999.
pub const MARKET_YEARS: std::ops::RangeInclusive<u16> = 2000..=2099;

/// A domain value that cannot be constructed from what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field's value is invalid.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as named in files and the API.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A period label the session's template does not have.
    #[error("unknown period `{0}`")]
    UnknownPeriod(String),
}

impl DomainError {
    /// A field's value is invalid, for this reason.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
        DomainError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}
