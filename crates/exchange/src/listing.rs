//! 挂牌/摘牌: listing a lot and taking it (spec §3.2).
//!
//! A participant lists a [`Listing`]: a side, a two-part price and a volume per period. While the
//! session is open, counterparties take all or part of it in lot-size multiples, first come first
//! served (the session applies commands in sequence order), and every take becomes one contract at
//! the listed price. The owner may withdraw what is left; what is left at close lapses.
//!
//! The session checks who may list and take (role, province, lot, prices); this module holds the
//! listing itself and the rules about its remaining volume.

use std::fmt;

use domain::{Kwh, ParticipantId, Period, PeriodVolume, Side, TwoPartPrice};
use serde::{Deserialize, Serialize};

use crate::ExchangeError;

/// Where a listing is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingStatus {
    /// Open to takes.
    Open,
    /// Every period has been taken in full.
    Filled,
    /// Withdrawn by its owner.
    Withdrawn,
    /// The session closed (or was cancelled) with volume left.
    Lapsed,
}

impl fmt::Display for ListingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListingStatus::Open => "open",
            ListingStatus::Filled => "filled",
            ListingStatus::Withdrawn => "withdrawn",
            ListingStatus::Lapsed => "lapsed",
        })
    }
}

/// 挂牌: an offer to sell (or to buy) a volume per period at a fixed two-part price.
///
/// Volumes are energy per period over the session's whole delivery window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Its id: the sequence number of the command that listed it.
    pub id: u64,
    /// Who listed it.
    pub owner: ParticipantId,
    /// The side of the owner: `sell` means takers buy.
    pub side: Side,
    /// The price every take pays.
    pub price: TwoPartPrice,
    /// The volumes as listed, sorted by period.
    pub listed: Vec<PeriodVolume>,
    /// What is left to take, sorted by period; periods taken in full are dropped.
    pub remaining: Vec<PeriodVolume>,
    /// Where it is in its life.
    pub status: ListingStatus,
    /// When it was listed, in the caller's clock (ms since the Unix epoch).
    pub listed_at_ms: i64,
}

impl Listing {
    /// A new open listing; `volumes` must already be validated and sorted by period.
    pub(crate) fn new(
        id: u64,
        owner: ParticipantId,
        side: Side,
        price: TwoPartPrice,
        volumes: Vec<PeriodVolume>,
        listed_at_ms: i64,
    ) -> Listing {
        Listing {
            id,
            owner,
            side,
            price,
            remaining: volumes.clone(),
            listed: volumes,
            status: ListingStatus::Open,
            listed_at_ms,
        }
    }

    /// What is left to take in a period (zero when the period was not listed or is taken).
    pub fn remaining_in(&self, period: Period) -> Kwh {
        self.remaining
            .iter()
            .find(|v| v.period == period)
            .map_or(Kwh::ZERO, |v| v.volume)
    }

    /// The side a taker trades.
    pub fn taker_side(&self) -> Side {
        self.side.opposite()
    }

    /// `(seller, buyer)` of a contract between this listing's owner and `taker`.
    pub fn parties(&self, taker: ParticipantId) -> (ParticipantId, ParticipantId) {
        match self.side {
            Side::Sell => (self.owner, taker),
            Side::Buy => (taker, self.owner),
        }
    }

    /// Checks that the listing is open and that `taker` may take `volumes` from it (volumes
    /// already validated for periods, lots and duplicates). Role and province are the session's.
    pub(crate) fn check_take(
        &self,
        taker: ParticipantId,
        volumes: &[PeriodVolume],
    ) -> Result<(), ExchangeError> {
        self.check_open()?;
        if taker == self.owner {
            return Err(ExchangeError::SelfTrade { participant: taker });
        }
        for v in volumes {
            let remaining = self.remaining_in(v.period);
            if v.volume > remaining {
                return Err(ExchangeError::ExceedsRemaining {
                    listing: self.id,
                    period: v.period,
                    requested: v.volume,
                    remaining,
                });
            }
        }
        Ok(())
    }

    /// Checks that the listing can still be taken or withdrawn.
    pub(crate) fn check_open(&self) -> Result<(), ExchangeError> {
        match self.status {
            ListingStatus::Open => Ok(()),
            status => Err(ExchangeError::ListingNotOpen {
                listing: self.id,
                status,
            }),
        }
    }

    /// Takes `volumes` (checked by [`Listing::check_take`]); the listing is `Filled` when
    /// nothing is left.
    pub(crate) fn take(&mut self, volumes: &[PeriodVolume]) {
        for v in volumes {
            let left = self
                .remaining
                .iter_mut()
                .find(|r| r.period == v.period)
                .expect("take was checked");
            assert!(left.volume >= v.volume, "take was checked");
            left.volume -= v.volume;
        }
        self.remaining.retain(|r| r.volume > Kwh::ZERO);
        if self.remaining.is_empty() {
            self.status = ListingStatus::Filled;
        }
    }

    /// Ends an open listing with `status` (withdrawn or lapsed); returns what was left.
    pub(crate) fn end(&mut self, status: ListingStatus) -> Vec<PeriodVolume> {
        debug_assert_eq!(self.status, ListingStatus::Open);
        self.status = status;
        self.remaining.clone()
    }
}
