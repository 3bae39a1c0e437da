//! Retail contracts (零售合同) between a retailer and its retail users.

use domain::{ParticipantId, RetailContract, YearMonth};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::parse_price;
use crate::error::ApiError;

/// A retail contract the calling retailer registers with one of its retail users.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetailContractRequest {
    /// The retail user (二级用户), a participant id of role retail_user in the retailer's
    /// province.
    pub user: u64,
    /// The first month covered, YYYY-MM.
    pub first_month: String,
    /// The last month covered, YYYY-MM (not before the first).
    pub last_month: String,
    /// Green demand of each month, whole MWh (1 to 1000000), e.g. "120".
    pub monthly_mwh: String,
    /// The agreed environmental price, yuan/MWh (not negative): the higher, the earlier served
    /// when the retailer's settled environmental value is short.
    pub env_price: String,
}

impl RetailContractRequest {
    /// The contract of `retailer` registered at `at_ms` (its id assigned by the store); the
    /// rules that need other participants and contracts are `market::retail::check_new`'s.
    pub fn parse(&self, retailer: ParticipantId, at_ms: i64) -> Result<RetailContract, ApiError> {
        let month =
            |field: &str, text: &str| YearMonth::parse(text).map_err(|e| ApiError::field(field, e));
        let monthly_mwh = self
            .monthly_mwh
            .parse::<i64>()
            .ok()
            .filter(|_| self.monthly_mwh.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::field(
                    "monthly_mwh",
                    format!(
                        "`{}` is not a whole number of MWh",
                        domain::shown(&self.monthly_mwh)
                    ),
                )
            })?;
        Ok(RetailContract {
            id: 0,
            retailer,
            user: ParticipantId(self.user),
            first_month: month("first_month", &self.first_month)?,
            last_month: month("last_month", &self.last_month)?,
            monthly_mwh,
            env_price: parse_price("env_price", &self.env_price)?,
            created_at_ms: at_ms,
        })
    }
}

/// A registered retail contract.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RetailContractView {
    /// Its id.
    pub id: u64,
    /// The retailer (participant id).
    pub retailer: u64,
    /// The retail user (participant id).
    pub user: u64,
    /// The first month covered.
    pub first_month: String,
    /// The last month covered.
    pub last_month: String,
    /// Green demand of each month, whole MWh.
    pub monthly_mwh: String,
    /// The agreed environmental price, yuan/MWh.
    pub env_price: String,
    /// When it was registered (ms since the Unix epoch).
    pub created_at_ms: i64,
}

impl From<&RetailContract> for RetailContractView {
    fn from(c: &RetailContract) -> RetailContractView {
        RetailContractView {
            id: c.id,
            retailer: c.retailer.0,
            user: c.user.0,
            first_month: c.first_month.to_string(),
            last_month: c.last_month.to_string(),
            monthly_mwh: c.monthly_mwh.to_string(),
            env_price: c.env_price.to_string(),
            created_at_ms: c.created_at_ms,
        }
    }
}
