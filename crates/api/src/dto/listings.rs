//! Listings of energy in a listing session: listing (挂牌) and taking (摘牌).

use domain::{Participant, PeriodTemplate, TwoPartPrice};
use exchange::listing::Listing;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{PeriodMwh, parse_price, parse_side, parse_volumes, volumes_view};
use crate::error::ApiError;

/// Lists a lot (挂牌).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingRequest {
    /// sell to offer energy, buy to ask for it.
    pub side: String,
    /// Volumes per period.
    pub volumes: Vec<PeriodMwh>,
    /// Energy price, yuan/MWh.
    pub energy_price: String,
    /// Environmental value, yuan/MWh.
    pub env_price: String,
}

impl ListingRequest {
    /// Parses into a command.
    pub fn command(
        &self,
        template: &PeriodTemplate,
        by: &Participant,
    ) -> Result<exchange::session::Command, ApiError> {
        Ok(exchange::session::Command::List {
            by: by.clone(),
            side: parse_side("side", &self.side)?,
            volumes: parse_volumes("volumes", template, &self.volumes)?,
            price: TwoPartPrice {
                energy: parse_price("energy_price", &self.energy_price)?,
                environment: parse_price("env_price", &self.env_price)?,
            },
        })
    }
}

/// Takes part of a listing (摘牌).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeRequest {
    /// Volumes per period, lot multiples.
    pub volumes: Vec<PeriodMwh>,
}

/// A listing.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListingView {
    /// Its id.
    pub id: u64,
    /// Who listed.
    pub owner: u64,
    /// buy or sell.
    pub side: String,
    /// Energy price.
    pub energy_price: String,
    /// Environmental value.
    pub env_price: String,
    /// As listed.
    pub listed: Vec<PeriodMwh>,
    /// Still available.
    pub remaining: Vec<PeriodMwh>,
    /// open, filled, withdrawn or lapsed.
    pub status: String,
}

/// Renders a listing.
pub fn listing_view(template: &PeriodTemplate, l: &Listing) -> ListingView {
    ListingView {
        id: l.id,
        owner: l.owner.0,
        side: l.side.as_str().to_owned(),
        energy_price: l.price.energy.to_string(),
        env_price: l.price.environment.to_string(),
        listed: volumes_view(template, &l.listed),
        remaining: volumes_view(template, &l.remaining),
        status: l.status.to_string(),
    }
}

impl TakeRequest {
    /// Parses into a command.
    pub fn command(
        &self,
        template: &PeriodTemplate,
        by: &Participant,
        listing: u64,
    ) -> Result<exchange::session::Command, ApiError> {
        Ok(exchange::session::Command::Take {
            by: by.clone(),
            listing,
            volumes: parse_volumes("volumes", template, &self.volumes)?,
        })
    }
}
