//! Bilateral proposals (双边协商): proposed by one party, confirmed by the other.

use domain::{Participant, PeriodTemplate, TwoPartPrice};
use exchange::bilateral::Proposal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{PeriodMwh, parse_price, parse_volumes, volumes_view};
use crate::error::ApiError;

/// Proposes a bilateral contract (双边协商).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalRequest {
    /// The counterparty's participant id.
    pub counterparty: u64,
    /// Volumes per period.
    pub volumes: Vec<PeriodMwh>,
    /// Energy price.
    pub energy_price: String,
    /// Environmental value.
    pub env_price: String,
    /// Compensation price for environmental shortfall.
    pub compensation: String,
}

/// A proposal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProposalView {
    /// Its id.
    pub id: u64,
    /// Who proposed.
    pub proposer: u64,
    /// Who must confirm.
    pub counterparty: u64,
    /// Seller.
    pub seller: u64,
    /// Buyer.
    pub buyer: u64,
    /// Volumes.
    pub volumes: Vec<PeriodMwh>,
    /// Energy price.
    pub energy_price: String,
    /// Environmental value.
    pub env_price: String,
    /// Compensation price.
    pub compensation: String,
    /// pending, confirmed as `C<n>`, or lapsed.
    pub status: String,
}

/// Renders a proposal.
pub fn proposal_view(template: &PeriodTemplate, p: &Proposal) -> ProposalView {
    ProposalView {
        id: p.id,
        proposer: p.proposer.0,
        counterparty: p.counterparty.0,
        seller: p.seller.0,
        buyer: p.buyer.0,
        volumes: volumes_view(template, &p.volumes),
        energy_price: p.price.energy.to_string(),
        env_price: p.price.environment.to_string(),
        compensation: p.compensation.to_string(),
        status: p.status.to_string(),
    }
}

impl ProposalRequest {
    /// Parses into a command (the counterparty is looked up by the route).
    pub fn command(
        &self,
        template: &PeriodTemplate,
        by: &Participant,
        counterparty: Participant,
    ) -> Result<exchange::session::Command, ApiError> {
        Ok(exchange::session::Command::Propose {
            by: by.clone(),
            counterparty,
            volumes: parse_volumes("volumes", template, &self.volumes)?,
            price: TwoPartPrice {
                energy: parse_price("energy_price", &self.energy_price)?,
                environment: parse_price("env_price", &self.env_price)?,
            },
            compensation: parse_price("compensation", &self.compensation)?,
        })
    }
}
