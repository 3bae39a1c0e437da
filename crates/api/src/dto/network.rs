//! The operator's network registry: corridors (输电通道) between provinces.

use domain::{Kwh, ParticipantId, Price, Province};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{loss_text, parse_loss, parse_price};
use crate::error::ApiError;

/// A corridor to register in the network registry, or to replace there; its two provinces are
/// in the path (`/api/v1/network/corridors/{from}/{to}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkCorridorRequest {
    /// The most energy that may be sent in each period, MWh (up to 3 decimals, not negative).
    pub capacity_mwh: String,
    /// Fraction of sent energy lost, up to 4 decimals, below 1, e.g. "0.035".
    pub loss: String,
    /// Transmission tariff, yuan/MWh of sent energy (not negative).
    pub tariff: String,
}

impl NetworkCorridorRequest {
    /// Checks the request for the corridor `from` → `to` (the path's province codes), written by
    /// `by` at `at_ms`. Fields are checked in the order from, to, capacity_mwh, loss, tariff.
    pub fn parse(
        &self,
        from: &str,
        to: &str,
        by: ParticipantId,
        at_ms: i64,
    ) -> Result<store::NetworkCorridor, ApiError> {
        let (from, to) = corridor_ends(from, to)?;
        if from == to {
            return Err(ApiError::field(
                "to",
                format!("is {to}, the same province as `from`"),
            ));
        }
        let capacity =
            Kwh::parse_mwh(&self.capacity_mwh).map_err(|e| ApiError::field("capacity_mwh", e))?;
        let loss = parse_loss("loss", &self.loss)?;
        let tariff = parse_price("tariff", &self.tariff)?;
        if tariff < Price::ZERO {
            return Err(ApiError::field("tariff", format!("{tariff} is negative")));
        }
        Ok(store::NetworkCorridor {
            from,
            to,
            capacity,
            loss,
            tariff,
            updated_at_ms: at_ms,
            updated_by: by,
        })
    }
}

/// The provinces of a corridor's path, `from` and `to`.
pub fn corridor_ends(from: &str, to: &str) -> Result<(Province, Province), ApiError> {
    Ok((
        Province::parse(from).map_err(|e| ApiError::field("from", e))?,
        Province::parse(to).map_err(|e| ApiError::field("to", e))?,
    ))
}

/// A corridor of the network registry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NetworkCorridorView {
    /// Sending province.
    pub from: String,
    /// Receiving province.
    pub to: String,
    /// The most energy that may be sent in each period, MWh.
    pub capacity_mwh: String,
    /// Fraction of sent energy lost, e.g. "0.035".
    pub loss: String,
    /// Transmission tariff, yuan/MWh of sent energy.
    pub tariff: String,
    /// When it was last written (ms since the Unix epoch).
    pub updated_at_ms: i64,
}

impl From<&store::NetworkCorridor> for NetworkCorridorView {
    fn from(c: &store::NetworkCorridor) -> NetworkCorridorView {
        NetworkCorridorView {
            from: c.from.to_string(),
            to: c.to.to_string(),
            capacity_mwh: c.capacity.mwh().to_string(),
            loss: loss_text(c.loss),
            tariff: c.tariff.to_string(),
            updated_at_ms: c.updated_at_ms,
        }
    }
}
