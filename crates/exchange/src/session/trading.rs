//! The commands of an open session: orders (submit, cancel; a rolling order matches at once),
//! listings (list, take, withdraw) and bilateral proposals (propose, confirm). Each checks
//! everything before it changes anything, so a refused command leaves the session as it was.

use domain::{
    Kwh, Order, OrderId, Participant, ParticipantId, Period, PeriodVolume, Price, Side,
    TimeInForce, TwoPartPrice,
};

use super::{
    CommandKind, Event, MAX_LISTINGS, MAX_ORDERS, MAX_PROPOSALS, Mode, Session, Stamp, Target,
    TradeRecord,
};
use crate::ExchangeError;
use crate::auction::Method;
use crate::bilateral::{self, Proposal, ProposalStatus};
use crate::listing::{Listing, ListingStatus};
use crate::rolling::Incoming;

impl Session {
    /// Accepts a call-auction or rolling order. A participant trades one side of a period in a
    /// session, the side of its first order there (self-trade prevention: an order on the other
    /// side is refused).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn submit(
        &mut self,
        by: &Participant,
        side: Side,
        period: Period,
        volume: Kwh,
        price: TwoPartPrice,
        time_in_force: TimeInForce,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::SubmitOrder)?;
        if self.orders.len() >= MAX_ORDERS {
            return Err(ExchangeError::SessionFull {
                what: "orders",
                limit: MAX_ORDERS,
            });
        }
        self.settings.check_participant(by, side)?;
        self.settings.check_volume(period, volume)?;
        self.settings.check_price(price)?;
        if self
            .sides
            .get(&(by.id, period))
            .is_some_and(|&first| first != side)
        {
            return Err(ExchangeError::SelfTrade { participant: by.id });
        }

        let order = Order {
            id: OrderId(stamp.seq),
            participant: by.id,
            side,
            period,
            volume,
            price,
            time_in_force,
            submitted_at_ms: stamp.at_ms,
        };
        // Below MAX_ORDERS = 10^8 < 2^32, checked above.
        let position = u32::try_from(self.orders.len()).expect("fewer than 2^32 orders a session");
        self.order_index.insert(order.id.0, position);
        if self.settings.mode == Mode::CallAuction(Method::Coupled) {
            let province = self
                .settings
                .coupled_provinces()
                .iter()
                .position(|p| *p == by.province)
                .expect("the province was checked to be in scope");
            self.order_provinces.insert(order.id, province as u32);
        }
        self.orders.push(order.clone());
        self.sides.insert((by.id, period), side);
        let mut events = vec![Event::OrderAccepted {
            order: order.clone(),
        }];
        if self.settings.mode == Mode::Rolling {
            self.match_rolling(&order, stamp, &mut events);
        }
        Ok(events)
    }

    /// Matches a new rolling order; each trade becomes a contract at the resting order's
    /// two-part price for the trade's period and volume.
    fn match_rolling(&mut self, order: &Order, stamp: Stamp, events: &mut Vec<Event>) {
        let incoming = Incoming {
            id: order.id,
            owner: order.participant,
            side: order.side,
            volume: order.volume,
            price: self.settings.ranking_price(order.price),
            time_in_force: order.time_in_force,
        };
        let mut trades = Vec::new();
        let outcome = self.books[usize::from(order.period.0)].submit(incoming, &mut trades);
        for trade in trades {
            let resting = self
                .order(trade.resting)
                .expect("resting orders are the session's")
                .price;
            debug_assert_eq!(self.settings.ranking_price(resting), trade.price);
            let record = TradeRecord {
                period: order.period,
                buy_order: trade.buy_order,
                sell_order: trade.sell_order,
                resting: trade.resting,
                buyer: trade.buyer,
                seller: trade.seller,
                volume: trade.volume,
                price: resting,
            };
            let contract = self.make_contract(
                trade.seller,
                trade.buyer,
                vec![PeriodVolume {
                    period: order.period,
                    volume: trade.volume,
                }],
                resting,
                self.settings.compensation,
                stamp.at_ms,
            );
            events.push(Event::Traded(record));
            events.push(Event::ContractMade(contract));
        }
        if outcome.cancelled > Kwh::ZERO {
            events.push(Event::OrderCancelled {
                order: order.id,
                volume: outcome.cancelled,
            });
        }
    }

    pub(super) fn cancel_order(
        &mut self,
        by: ParticipantId,
        id: OrderId,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::CancelOrder)?;
        let order = self
            .order(id)
            .ok_or(ExchangeError::Unknown(Target::Order(id)))?;
        if order.participant != by {
            return Err(ExchangeError::NotOwner {
                participant: by,
                target: Target::Order(id),
                owner: order.participant,
            });
        }
        let volume = self
            .live_volume(id)
            .ok_or(ExchangeError::OrderNotLive { order: id })?;
        let period = order.period;
        match self.settings.mode {
            Mode::Rolling => {
                let cancelled = self.books[usize::from(period.0)].cancel(id);
                assert_eq!(cancelled, Some(volume), "live order rests in its book");
            }
            _ => {
                self.withdrawn.insert(id);
            }
        }
        Ok(vec![Event::OrderCancelled { order: id, volume }])
    }

    pub(super) fn list(
        &mut self,
        by: &Participant,
        side: Side,
        volumes: &[PeriodVolume],
        price: TwoPartPrice,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::List)?;
        if self.listings.len() >= MAX_LISTINGS {
            return Err(ExchangeError::SessionFull {
                what: "listings",
                limit: MAX_LISTINGS,
            });
        }
        self.settings.check_participant(by, side)?;
        let volumes = self.settings.check_volumes(volumes)?;
        self.settings.check_price(price)?;
        let listing = Listing::new(stamp.seq, by.id, side, price, volumes, stamp.at_ms);
        self.listings.push(listing.clone());
        Ok(vec![Event::ListingOpened(listing)])
    }

    pub(super) fn take(
        &mut self,
        by: &Participant,
        id: u64,
        volumes: &[PeriodVolume],
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::Take)?;
        let at = self.listing_index(id)?;
        let listing = &self.listings[at];
        listing.check_open()?;
        self.settings.check_participant(by, listing.taker_side())?;
        let volumes = self.settings.check_volumes(volumes)?;
        listing.check_take(by.id, &volumes)?;

        let (seller, buyer) = listing.parties(by.id);
        let price = listing.price;
        self.listings[at].take(&volumes);
        let contract = self.make_contract(
            seller,
            buyer,
            volumes.clone(),
            price,
            self.settings.compensation,
            stamp.at_ms,
        );
        let contract_id = contract.id;
        Ok(vec![
            Event::ContractMade(contract),
            Event::ListingTaken {
                listing: id,
                taker: by.id,
                volumes,
                contract: contract_id,
            },
        ])
    }

    pub(super) fn withdraw(
        &mut self,
        by: ParticipantId,
        id: u64,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::Withdraw)?;
        let at = self.listing_index(id)?;
        let listing = &self.listings[at];
        if listing.owner != by {
            return Err(ExchangeError::NotOwner {
                participant: by,
                target: Target::Listing(id),
                owner: listing.owner,
            });
        }
        listing.check_open()?;
        let remaining = self.listings[at].end(ListingStatus::Withdrawn);
        Ok(vec![Event::ListingWithdrawn {
            listing: id,
            remaining,
        }])
    }

    pub(super) fn propose(
        &mut self,
        by: &Participant,
        counterparty: &Participant,
        volumes: &[PeriodVolume],
        price: TwoPartPrice,
        compensation: Price,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::Propose)?;
        if self.proposals.len() >= MAX_PROPOSALS {
            return Err(ExchangeError::SessionFull {
                what: "proposals",
                limit: MAX_PROPOSALS,
            });
        }
        let side = bilateral::proposer_side(by, counterparty)?;
        self.settings.check_province(by)?;
        self.settings.check_province(counterparty)?;
        if by.id == counterparty.id {
            return Err(ExchangeError::SelfTrade { participant: by.id });
        }
        let volumes = self.settings.check_volumes(volumes)?;
        self.settings.check_price(price)?;
        if compensation < Price::ZERO {
            return Err(ExchangeError::CompensationNegative {
                price: compensation,
            });
        }
        if !compensation.within_bounds() {
            return Err(ExchangeError::PriceBeyondBound {
                field: "compensation price",
                price: compensation,
            });
        }
        let (seller, buyer) = match side {
            Side::Sell => (by.id, counterparty.id),
            Side::Buy => (counterparty.id, by.id),
        };
        let proposal = Proposal {
            id: stamp.seq,
            proposer: by.id,
            counterparty: counterparty.id,
            seller,
            buyer,
            volumes,
            price,
            compensation,
            status: ProposalStatus::Pending,
            proposed_at_ms: stamp.at_ms,
        };
        self.proposals.push(proposal.clone());
        Ok(vec![Event::ProposalMade(proposal)])
    }

    pub(super) fn confirm(
        &mut self,
        by: ParticipantId,
        id: u64,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        self.require_open(CommandKind::Confirm)?;
        let at = self.proposal_index(id)?;
        let proposal = &self.proposals[at];
        proposal.check_confirm(by)?;
        let (seller, buyer) = (proposal.seller, proposal.buyer);
        let (volumes, price, compensation) = (
            proposal.volumes.clone(),
            proposal.price,
            proposal.compensation,
        );
        let contract = self.make_contract(seller, buyer, volumes, price, compensation, stamp.at_ms);
        let contract_id = contract.id;
        self.proposals[at].status = ProposalStatus::Confirmed {
            contract: contract_id,
        };
        Ok(vec![
            Event::ContractMade(contract),
            Event::ProposalConfirmed {
                proposal: id,
                contract: contract_id,
            },
        ])
    }
}
