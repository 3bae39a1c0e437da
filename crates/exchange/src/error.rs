//! Why the exchange refused something: one typed variant per rule, each naming the offending value.

use domain::{Kwh, OrderId, ParticipantId, Period, PeriodTemplate, Price, Province, Role, Side};

use crate::bilateral::ProposalStatus;
use crate::listing::ListingStatus;
use crate::session::{CommandKind, Mode, SessionState, Target};

/// Why the exchange refused a command (or a session's settings).
///
/// A refused command changes nothing: the session checks every rule before it mutates anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The session's settings make no sense (see `SessionSettings::validate`).
    #[error("invalid session settings: {field}: {reason}")]
    InvalidSettings {
        /// The setting, as named in files and the API.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A coupled clearing could not be computed (the LP solver failed); the session stays
    /// closed.
    #[error("coupled clearing failed: {reason}")]
    ClearingFailed {
        /// The solver's message.
        reason: String,
    },
    /// The caller's stamp does not come strictly after the last accepted one.
    #[error("sequence {got} is not after the last accepted sequence {last}")]
    SequenceNotIncreasing {
        /// The last sequence number the session accepted.
        last: u64,
        /// The sequence number given.
        got: u64,
    },
    /// The command is not allowed in the session's current state.
    #[error("cannot {action} while the session is {state}")]
    WrongState {
        /// What was attempted.
        action: CommandKind,
        /// The session's state.
        state: SessionState,
    },
    /// The session's trading mode does not take this command.
    #[error("a {mode} session does not accept {action}")]
    WrongMode {
        /// What was attempted.
        action: CommandKind,
        /// The session's mode.
        mode: Mode,
    },
    /// The participant's role may not trade this side (`Role::may_buy` / `Role::may_sell`).
    #[error("participant {participant} is a {role}, which may not {}", side.as_str())]
    RoleMayNotTrade {
        /// Who tried.
        participant: ParticipantId,
        /// Its role.
        role: Role,
        /// The side it tried to trade.
        side: Side,
    },
    /// The participant's province is not in the session's scope.
    #[error("participant {participant} belongs to {province}, outside the session's scope")]
    ProvinceOutOfScope {
        /// Who tried.
        participant: ParticipantId,
        /// Its province.
        province: Province,
    },
    /// The period is not in the session's template.
    #[error("period index {} is not in the session's template of {periods} periods", period.0)]
    UnknownPeriod {
        /// The period given.
        period: Period,
        /// How many periods the template has.
        periods: usize,
    },
    /// A list of per-period volumes names a period twice.
    #[error("period index {} appears more than once", period.0)]
    DuplicatePeriod {
        /// The repeated period.
        period: Period,
    },
    /// A list of per-period volumes is empty.
    #[error("no volume given: at least one period is needed")]
    NoVolume,
    /// A volume is zero or negative.
    #[error("volume {volume} in period index {} is not positive", period.0)]
    VolumeNotPositive {
        /// Its period.
        period: Period,
        /// The volume given.
        volume: Kwh,
    },
    /// A volume is not a whole number of lots.
    #[error("volume {volume} in period index {} is not a multiple of the lot {lot}", period.0)]
    VolumeNotLotMultiple {
        /// Its period.
        period: Period,
        /// The volume given.
        volume: Kwh,
        /// The session's lot size.
        lot: Kwh,
    },
    /// A volume is beyond the bound of spec §1 ([`Kwh::MAX_VOLUME`], 1,000,000 MWh). Parsers
    /// refuse such values already; the engine checks again because commands also come from
    /// journals and other callers.
    #[error("volume {volume} in period index {} is beyond the bound of {}", period.0, Kwh::MAX_VOLUME_TEXT)]
    VolumeAboveBound {
        /// Its period.
        period: Period,
        /// The volume given.
        volume: Kwh,
    },
    /// A price is beyond the bound of spec §1 (±[`Price::MAX_ABS`], ±100,000.00 yuan/MWh).
    #[error("{field} {price} is beyond the bound of {}", Price::MAX_ABS_TEXT)]
    PriceBeyondBound {
        /// Which price: `energy price`, `environmental value` or `compensation price`.
        field: &'static str,
        /// The price given.
        price: Price,
    },
    /// The session already holds as many orders (listings, proposals) as it takes; the caps
    /// keep every total of a session inside `i64` (see the `session` module).
    #[error("the session already holds {limit} {what}, the most it takes")]
    SessionFull {
        /// `orders`, `listings` or `proposals`.
        what: &'static str,
        /// The cap.
        limit: usize,
    },
    /// The energy price is outside the session's bounds.
    #[error("energy price {price} is outside [{min}, {max}]")]
    EnergyPriceOutOfBounds {
        /// The energy price given.
        price: Price,
        /// The session's lower bound.
        min: Price,
        /// The session's upper bound.
        max: Price,
    },
    /// The session fixes the energy price (`bid_on = environment`) and this one differs.
    #[error("energy price {price} differs from the session's fixed energy price {fixed}")]
    EnergyPriceNotFixed {
        /// The energy price given.
        price: Price,
        /// The price the session fixes.
        fixed: Price,
    },
    /// The environmental value is negative.
    #[error("environmental value {price} is negative")]
    EnvironmentNegative {
        /// The environmental value given.
        price: Price,
    },
    /// The environmental value is above the session's cap.
    #[error("environmental value {price} is above the cap {cap}")]
    EnvironmentAboveCap {
        /// The environmental value given.
        price: Price,
        /// The session's cap.
        cap: Price,
    },
    /// A compensation price is negative.
    #[error("compensation price {price} is negative")]
    CompensationNegative {
        /// The compensation price given.
        price: Price,
    },
    /// No order, listing or proposal has this id in the session.
    #[error("unknown {0}")]
    Unknown(Target),
    /// Only the owner of an order or a listing may cancel or withdraw it.
    #[error("participant {participant} does not own {target} (owner {owner})")]
    NotOwner {
        /// Who tried.
        participant: ParticipantId,
        /// What it tried to act on.
        target: Target,
        /// Who owns it.
        owner: ParticipantId,
    },
    /// The order was already filled, cancelled or expired.
    #[error("order {order} is no longer live")]
    OrderNotLive {
        /// The order.
        order: OrderId,
    },
    /// The listing can no longer be taken or withdrawn.
    #[error("listing {listing} is {status}, not open")]
    ListingNotOpen {
        /// The listing.
        listing: u64,
        /// Its status.
        status: ListingStatus,
    },
    /// The proposal can no longer be confirmed.
    #[error("proposal {proposal} is {status}, not pending")]
    ProposalNotPending {
        /// The proposal.
        proposal: u64,
        /// Its status.
        status: ProposalStatus,
    },
    /// Only a proposal's counterparty may confirm it.
    #[error(
        "participant {participant} is not the counterparty {counterparty} of proposal {proposal}"
    )]
    NotCounterparty {
        /// Who tried.
        participant: ParticipantId,
        /// The proposal.
        proposal: u64,
        /// Its counterparty.
        counterparty: ParticipantId,
    },
    /// A bilateral proposal needs one party that may sell and one that may buy.
    #[error("a {proposer_role} and a {counterparty_role} are not a seller and a buyer")]
    NotABuyerSellerPair {
        /// The proposer's role.
        proposer_role: Role,
        /// The counterparty's role.
        counterparty_role: Role,
    },
    /// The command would make a participant trade with itself.
    #[error("participant {participant} would trade with itself")]
    SelfTrade {
        /// The participant.
        participant: ParticipantId,
    },
    /// A take asks for more than a listing has left in a period.
    #[error(
        "listing {listing} has {remaining} left in period index {}, less than {requested}",
        period.0
    )]
    ExceedsRemaining {
        /// The listing.
        listing: u64,
        /// The period.
        period: Period,
        /// The volume asked for.
        requested: Kwh,
        /// What the listing has left in that period.
        remaining: Kwh,
    },
}

impl ExchangeError {
    /// The message for a participant: like `Display`, but periods are written as the labels of
    /// the session's template (`h01`) and volumes in MWh, as files and the API write them.
    pub fn describe(&self, template: &PeriodTemplate) -> String {
        let text = self.describe_value(template);
        match self.field() {
            Some(field) if !matches!(self, ExchangeError::InvalidSettings { .. }) => {
                format!("field `{field}`: {text}")
            }
            _ => text,
        }
    }

    /// The request field a refusal is about, as files and the API name it (`energy_price`,
    /// `env_price`, `compensation`, `mwh`, `period`), or `None` for refusals about the state of
    /// the session or the caller.
    pub fn field(&self) -> Option<&'static str> {
        use ExchangeError as E;
        match self {
            E::InvalidSettings { field, .. } => Some(field),
            E::UnknownPeriod { .. } | E::DuplicatePeriod { .. } => Some("period"),
            E::NoVolume => Some("volumes"),
            E::VolumeNotPositive { .. }
            | E::VolumeNotLotMultiple { .. }
            | E::VolumeAboveBound { .. }
            | E::ExceedsRemaining { .. } => Some("mwh"),
            E::EnergyPriceOutOfBounds { .. } | E::EnergyPriceNotFixed { .. } => {
                Some("energy_price")
            }
            E::EnvironmentNegative { .. } | E::EnvironmentAboveCap { .. } => Some("env_price"),
            E::CompensationNegative { .. } => Some("compensation"),
            E::PriceBeyondBound { field, .. } => Some(match *field {
                "energy price" => "energy_price",
                "environmental value" => "env_price",
                "compensation price" => "compensation",
                _ => "price",
            }),
            _ => None,
        }
    }

    /// [`ExchangeError::describe`] without the field.
    fn describe_value(&self, template: &PeriodTemplate) -> String {
        let label = |p: &Period| {
            if template.contains(*p) {
                template.label(*p).to_string()
            } else {
                format!("index {}", p.0)
            }
        };
        match self {
            ExchangeError::DuplicatePeriod { period } => {
                format!("period {} appears more than once", label(period))
            }
            ExchangeError::VolumeNotPositive { period, volume } => format!(
                "volume {} MWh in period {} is not positive",
                volume.mwh(),
                label(period)
            ),
            ExchangeError::VolumeNotLotMultiple {
                period,
                volume,
                lot,
            } => format!(
                "volume {} MWh in period {} is not a multiple of the lot {} MWh",
                volume.mwh(),
                label(period),
                lot.mwh()
            ),
            ExchangeError::VolumeAboveBound { period, volume } => format!(
                "volume {} MWh in period {} is beyond the bound of {}",
                volume.mwh(),
                label(period),
                Kwh::MAX_VOLUME_TEXT
            ),
            ExchangeError::ExceedsRemaining {
                listing,
                period,
                requested,
                remaining,
            } => format!(
                "listing {listing} has {} MWh left in period {}, less than {} MWh",
                remaining.mwh(),
                label(period),
                requested.mwh()
            ),
            other => other.to_string(),
        }
    }

    /// A stable snake_case code for the kind of refusal (`energy_price_out_of_bounds`), for
    /// APIs and reports; the message says the rest.
    pub fn code(&self) -> &'static str {
        match self {
            ExchangeError::InvalidSettings { .. } => "invalid_settings",
            ExchangeError::SequenceNotIncreasing { .. } => "sequence_not_increasing",
            ExchangeError::WrongState { .. } => "wrong_state",
            ExchangeError::WrongMode { .. } => "wrong_mode",
            ExchangeError::RoleMayNotTrade { .. } => "role_may_not_trade",
            ExchangeError::ProvinceOutOfScope { .. } => "province_out_of_scope",
            ExchangeError::UnknownPeriod { .. } => "unknown_period",
            ExchangeError::DuplicatePeriod { .. } => "duplicate_period",
            ExchangeError::NoVolume => "no_volume",
            ExchangeError::VolumeNotPositive { .. } => "volume_not_positive",
            ExchangeError::VolumeNotLotMultiple { .. } => "volume_not_lot_multiple",
            ExchangeError::VolumeAboveBound { .. } => "volume_above_bound",
            ExchangeError::PriceBeyondBound { .. } => "price_beyond_bound",
            ExchangeError::SessionFull { .. } => "session_full",
            ExchangeError::EnergyPriceOutOfBounds { .. } => "energy_price_out_of_bounds",
            ExchangeError::EnergyPriceNotFixed { .. } => "energy_price_not_fixed",
            ExchangeError::EnvironmentNegative { .. } => "environment_negative",
            ExchangeError::EnvironmentAboveCap { .. } => "environment_above_cap",
            ExchangeError::CompensationNegative { .. } => "compensation_negative",
            ExchangeError::Unknown(_) => "unknown",
            ExchangeError::NotOwner { .. } => "not_owner",
            ExchangeError::OrderNotLive { .. } => "order_not_live",
            ExchangeError::ListingNotOpen { .. } => "listing_not_open",
            ExchangeError::ProposalNotPending { .. } => "proposal_not_pending",
            ExchangeError::NotCounterparty { .. } => "not_counterparty",
            ExchangeError::NotABuyerSellerPair { .. } => "not_a_buyer_seller_pair",
            ExchangeError::SelfTrade { .. } => "self_trade",
            ExchangeError::ExceedsRemaining { .. } => "exceeds_remaining",
            ExchangeError::ClearingFailed { .. } => "clearing_failed",
        }
    }
}
