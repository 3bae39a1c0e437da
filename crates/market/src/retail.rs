//! Retail (零售): retailers' contracts with their retail users, and the allocation of a
//! retailer's settled wholesale `Q_env` among them in the month close (spec §5).
//!
//! - A retail contract binds a `retailer` and a `retail_user` (the same province) for whole
//!   months, with a monthly green demand in whole MWh and an agreed environmental price.
//! - A retail user buys through one retailer at a time: its contracts with different retailers
//!   may not cover the same month.
//! - In the close of month M, each retailer's wholesale `Q_env` (the sum over its settlement
//!   lines as buyer) goes to its retail users by `settlement::allocate_retail` over their
//!   contracts covering M (in contract id order): all of the demand when enough, else higher
//!   agreed prices first, the marginal price level pro rata. What is not allocated stays with
//!   the retailer. Certificates stay in the retailer's account; the allocation says whose
//!   consumption they cover.

use std::collections::BTreeMap;

use domain::{Kwh, Participant, ParticipantId, Price, RetailContract, Role, YearMonth};
use settlement::{RetailDemand, allocate_retail};

use crate::close::MonthContract;
use crate::report::{RetailLine, SettlementReport};

/// The most green demand one retail contract may ask per month: the volume bound of spec §1.
pub const MAX_MONTHLY_MWH: i64 = Kwh::MAX_VOLUME.0 / 1000;

/// Why a retail contract is refused; each names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetailError {
    /// A field's value is invalid.
    #[error("field `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The user already buys through another retailer in an overlapping month.
    #[error(
        "retail user {user} buys through retailer {other} in {month} already (retail contract {contract}); a retail user has one retailer at a time"
    )]
    Overlap {
        /// The retail user.
        user: u64,
        /// The other retailer.
        other: u64,
        /// The first month both cover.
        month: YearMonth,
        /// The other contract.
        contract: u64,
    },
}

impl RetailError {
    /// The field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            RetailError::Invalid { field, .. } => field,
            RetailError::Overlap { .. } => "user",
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> RetailError {
    RetailError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Checks a new retail contract between `retailer` and `user` against the rules and the
/// user's existing contracts.
pub fn check_new(
    contract: &RetailContract,
    retailer: &Participant,
    user: &Participant,
    existing: &[RetailContract],
) -> Result<(), RetailError> {
    if retailer.role != Role::Retailer {
        return Err(invalid(
            "retailer",
            format!(
                "participant {} is a {}, not a retailer",
                retailer.id.0, retailer.role
            ),
        ));
    }
    if user.role != Role::RetailUser {
        return Err(invalid(
            "user",
            format!(
                "participant {} is a {}, not a retail_user",
                user.id.0, user.role
            ),
        ));
    }
    if user.province != retailer.province {
        return Err(invalid(
            "user",
            format!(
                "participant {} is in {}, the retailer in {}",
                user.id.0, user.province, retailer.province
            ),
        ));
    }
    for (field, m) in [
        ("first_month", contract.first_month),
        ("last_month", contract.last_month),
    ] {
        if !domain::MARKET_YEARS.contains(&m.year()) {
            return Err(invalid(
                field,
                format!("{m} is not a month of 2000-01..2099-12"),
            ));
        }
    }
    if contract.last_month < contract.first_month {
        return Err(invalid(
            "last_month",
            format!(
                "{} is before first_month {}",
                contract.last_month, contract.first_month
            ),
        ));
    }
    if !(1..=MAX_MONTHLY_MWH).contains(&contract.monthly_mwh) {
        return Err(invalid(
            "monthly_mwh",
            format!(
                "{} is not a whole number of MWh from 1 to {MAX_MONTHLY_MWH}",
                contract.monthly_mwh
            ),
        ));
    }
    if contract.env_price < Price::ZERO || contract.env_price > Price::MAX_ABS {
        return Err(invalid(
            "env_price",
            format!(
                "{} is not within 0 to {}",
                contract.env_price,
                Price::MAX_ABS
            ),
        ));
    }
    for other in existing.iter().filter(|o| o.user == contract.user) {
        if other.retailer == contract.retailer {
            continue;
        }
        let first = other.first_month.max(contract.first_month);
        if first <= other.last_month.min(contract.last_month) {
            return Err(RetailError::Overlap {
                user: contract.user.0,
                other: other.retailer.0,
                month: first,
                contract: other.id,
            });
        }
    }
    Ok(())
}

/// The retail allocation of `month` (see the module doc): one line per retail contract
/// covering the month whose retailer bought green power in it, by retailer then contract id.
pub fn allocate_month(
    report: &SettlementReport,
    contracts: &[MonthContract],
    retail: &[RetailContract],
    month: YearMonth,
) -> Vec<RetailLine> {
    let buyer: BTreeMap<&str, ParticipantId> = contracts
        .iter()
        .map(|c| (c.terms.id.as_str(), c.buyer))
        .collect();
    // Each retailer's wholesale Q_env of the month (whole MWh; at most a few per contract).
    let mut wholesale: BTreeMap<ParticipantId, i64> = BTreeMap::new();
    for line in &report.lines {
        if let Some(b) = buyer.get(line.contract.as_str()) {
            *wholesale.entry(*b).or_default() += line.env_mwh.parse::<i64>().unwrap_or(0);
        }
    }
    let mut covering: BTreeMap<ParticipantId, Vec<&RetailContract>> = BTreeMap::new();
    for r in retail.iter().filter(|r| r.covers(month)) {
        covering.entry(r.retailer).or_default().push(r);
    }
    let mut lines = Vec::new();
    for (retailer, mut users) in covering {
        let Some(&q_env) = wholesale.get(&retailer) else {
            continue;
        };
        users.sort_by_key(|r| r.id);
        let demands: Vec<RetailDemand> = users
            .iter()
            .map(|r| RetailDemand {
                user: r.id.to_string(),
                demand_mwh: r.monthly_mwh,
                agreed_env_price: r.env_price,
            })
            .collect();
        for (r, (_, mwh)) in users.iter().zip(allocate_retail(q_env, &demands)) {
            lines.push(RetailLine {
                retail_contract: r.id,
                retailer: retailer.0,
                user: r.user.0,
                demand_mwh: r.monthly_mwh.to_string(),
                env_mwh: mwh.to_string(),
            });
        }
    }
    lines
}
