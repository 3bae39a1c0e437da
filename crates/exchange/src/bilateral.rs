//! 双边协商: bilateral negotiation, a proposal and its confirmation (spec §3.1).
//!
//! One party proposes a contract to a named counterparty: per-period volumes, a two-part price and
//! a compensation price. The proposer is the seller when its role may sell and the counterparty's
//! may buy, the buyer in the opposite case; any other pair of roles is refused. The proposal
//! becomes a contract when the counterparty confirms it while the session is open; proposals
//! still pending when the session closes (or is cancelled) lapse.

use std::fmt;

use domain::{ContractId, Participant, ParticipantId, PeriodVolume, Price, Side, TwoPartPrice};
use serde::{Deserialize, Serialize};

use crate::ExchangeError;

/// Where a proposal is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum ProposalStatus {
    /// Waiting for the counterparty.
    Pending,
    /// Confirmed: it became this contract.
    Confirmed {
        /// The contract made.
        contract: ContractId,
    },
    /// The session closed (or was cancelled) before the counterparty confirmed.
    Lapsed,
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposalStatus::Pending => f.write_str("pending"),
            ProposalStatus::Confirmed { contract } => write!(f, "confirmed as {contract}"),
            ProposalStatus::Lapsed => f.write_str("lapsed"),
        }
    }
}

/// A proposed bilateral contract.
///
/// Volumes are energy per period over the session's whole delivery window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Its id: the sequence number of the command that made it.
    pub id: u64,
    /// Who proposed it.
    pub proposer: ParticipantId,
    /// Who must confirm it.
    pub counterparty: ParticipantId,
    /// The party that delivers (the proposer or the counterparty).
    pub seller: ParticipantId,
    /// The party that takes.
    pub buyer: ParticipantId,
    /// Volumes per period, sorted by period, each positive.
    pub volumes: Vec<PeriodVolume>,
    /// The contract's two-part price.
    pub price: TwoPartPrice,
    /// 偏差补偿价格: the contract's compensation price for environmental shortfall.
    pub compensation: Price,
    /// Where it is in its life.
    pub status: ProposalStatus,
    /// When it was proposed, in the caller's clock (ms since the Unix epoch).
    pub proposed_at_ms: i64,
}

impl Proposal {
    /// Checks that `by` may confirm this proposal now (the session checks state and mode). Who
    /// asks is checked before the proposal's status, so a third party learns nothing of it.
    pub(crate) fn check_confirm(&self, by: ParticipantId) -> Result<(), ExchangeError> {
        if by != self.counterparty {
            return Err(ExchangeError::NotCounterparty {
                participant: by,
                proposal: self.id,
                counterparty: self.counterparty,
            });
        }
        if self.status != ProposalStatus::Pending {
            return Err(ExchangeError::ProposalNotPending {
                proposal: self.id,
                status: self.status,
            });
        }
        Ok(())
    }
}

/// The side the proposer takes: `sell` when it may sell and the counterparty may buy, `buy` in
/// the opposite case. Any other pair of roles is refused.
pub(crate) fn proposer_side(
    proposer: &Participant,
    counterparty: &Participant,
) -> Result<Side, ExchangeError> {
    if proposer.role.may_sell() && counterparty.role.may_buy() {
        Ok(Side::Sell)
    } else if proposer.role.may_buy() && counterparty.role.may_sell() {
        Ok(Side::Buy)
    } else {
        Err(ExchangeError::NotABuyerSellerPair {
            proposer_role: proposer.role,
            counterparty_role: counterparty.role,
        })
    }
}
