//! Listing sessions (挂牌/摘牌): takes in lots, partial takes, over-takes refused, first come
//! first served, withdrawal and lapse.

use domain::{ParticipantId, Role, Side};
use exchange::ExchangeError;
use exchange::listing::{Listing, ListingStatus};
use exchange::session::{Command, CommandKind, Event, Mode, SessionState, Target};

use crate::session::{
    Driver, at_ms, contract, generator, h, mwh, party, price, settings, user, volumes, yuan,
};

fn list(by: u64, side: Side, vols: &[(u16, &str)]) -> Command {
    let participant = match side {
        Side::Sell => generator(by),
        Side::Buy => party(by, Role::Retailer, "ZJ"),
    };
    Command::List {
        by: participant,
        side,
        volumes: volumes(vols),
        price: price("380.00", "25.00"),
    }
}

fn take(by: u64, listing: u64, vols: &[(u16, &str)]) -> Command {
    Command::Take {
        by: user(by),
        listing,
        volumes: volumes(vols),
    }
}

/// An open listing session where generator 1 listed (seq 3) 10 MWh in h09 and 4 MWh in h10 at
/// 380.00 + 25.00.
fn listed() -> Driver {
    let mut d = Driver::open(settings(Mode::Listing));
    let events = d.ok(list(1, Side::Sell, &[(10, "4"), (9, "10")]));
    assert_eq!(
        events,
        vec![Event::ListingOpened(Listing {
            id: 3,
            owner: ParticipantId(1),
            side: Side::Sell,
            price: price("380.00", "25.00"),
            listed: volumes(&[(9, "10"), (10, "4")]),
            remaining: volumes(&[(9, "10"), (10, "4")]),
            status: ListingStatus::Open,
            listed_at_ms: at_ms(3),
        })]
    );
    d
}

#[test]
fn takes_in_lots_make_one_contract_each_at_the_listed_price() {
    let mut d = listed();
    let listed_price = price("380.00", "25.00");

    // Seq 4: user 2 takes 3 MWh of h09.
    let c1 = contract(1, 1, 2, &[(9, "3")], listed_price, yuan("50.00"), 4);
    assert_eq!(
        d.ok(take(2, 3, &[(9, "3")])),
        vec![
            Event::ContractMade(c1.clone()),
            Event::ListingTaken {
                listing: 3,
                taker: ParticipantId(2),
                volumes: volumes(&[(9, "3")]),
                contract: c1.id,
            },
        ]
    );
    assert_eq!(
        d.session.listing(3).unwrap().remaining,
        volumes(&[(9, "7"), (10, "4")])
    );

    // Not in lots, too much, and a period that was never listed are refused.
    assert_eq!(
        d.err(take(4, 3, &[(9, "2.5")])),
        ExchangeError::VolumeNotLotMultiple {
            period: h(9),
            volume: mwh("2.5"),
            lot: mwh("1"),
        }
    );
    assert_eq!(
        d.err(take(4, 3, &[(10, "1"), (9, "8")])),
        ExchangeError::ExceedsRemaining {
            listing: 3,
            period: h(9),
            requested: mwh("8"),
            remaining: mwh("7"),
        }
    );
    assert_eq!(
        d.err(take(4, 3, &[(11, "1")])),
        ExchangeError::ExceedsRemaining {
            listing: 3,
            period: h(11),
            requested: mwh("1"),
            remaining: mwh("0"),
        }
    );
    assert_eq!(
        d.err(take(4, 3, &[(9, "1"), (9, "1")])),
        ExchangeError::DuplicatePeriod { period: h(9) }
    );
    assert_eq!(d.err(take(4, 3, &[])), ExchangeError::NoVolume);

    // Seq 5: user 4 takes the rest of both periods; the listing is filled.
    d.ok(take(4, 3, &[(10, "4"), (9, "7")]));
    let listing = d.session.listing(3).unwrap();
    assert_eq!(listing.status, ListingStatus::Filled);
    assert_eq!(listing.remaining, vec![]);
    assert_eq!(
        d.session.contracts(),
        &[
            c1,
            contract(
                2,
                1,
                4,
                &[(9, "7"), (10, "4")],
                listed_price,
                yuan("50.00"),
                5
            )
        ]
    );
    assert_eq!(
        d.err(take(2, 3, &[(9, "1")])),
        ExchangeError::ListingNotOpen {
            listing: 3,
            status: ListingStatus::Filled,
        }
    );
}

#[test]
fn first_come_first_served() {
    let mut d = listed();
    // Two users want 6 MWh of h09 each; the one with the earlier sequence number gets it.
    d.ok(take(2, 3, &[(9, "6")]));
    assert_eq!(
        d.err(take(4, 3, &[(9, "6")])),
        ExchangeError::ExceedsRemaining {
            listing: 3,
            period: h(9),
            requested: mwh("6"),
            remaining: mwh("4"),
        }
    );
    // The late one can still take what is left.
    d.ok(take(4, 3, &[(9, "4")]));
    let buyers: Vec<(u64, i64)> = d
        .session
        .contracts()
        .iter()
        .map(|c| (c.buyer.0, c.total_volume().0))
        .collect();
    assert_eq!(buyers, [(2, 6000), (4, 4000)]);
}

#[test]
fn a_buy_listing_is_taken_by_sellers() {
    let mut d = Driver::open(settings(Mode::Listing));
    d.ok(list(4, Side::Buy, &[(12, "5")])); // 3: retailer 4 asks for 5 MWh
    assert_eq!(
        d.err(take(2, 3, &[(12, "1")])),
        ExchangeError::RoleMayNotTrade {
            participant: ParticipantId(2),
            role: Role::User,
            side: Side::Sell,
        }
    );
    d.ok(Command::Take {
        by: generator(1),
        listing: 3,
        volumes: volumes(&[(12, "2")]),
    }); // 4
    assert_eq!(
        d.session.contracts(),
        &[contract(
            1,
            1,
            4,
            &[(12, "2")],
            price("380.00", "25.00"),
            yuan("50.00"),
            4
        )]
    );
}

#[test]
fn the_owner_cannot_take_its_own_listing() {
    let mut d = listed();
    // Generator 1 presenting itself as a user: the role check passes, the self-trade one not.
    assert_eq!(
        d.err(Command::Take {
            by: party(1, Role::User, "ZJ"),
            listing: 3,
            volumes: volumes(&[(9, "1")]),
        }),
        ExchangeError::SelfTrade {
            participant: ParticipantId(1)
        }
    );
    assert_eq!(
        d.err(take(2, 99, &[(9, "1")])),
        ExchangeError::Unknown(Target::Listing(99))
    );
}

#[test]
fn listings_are_withdrawn_by_their_owner_and_lapse_at_close() {
    let mut d = listed();
    d.ok(list(2, Side::Sell, &[(1, "1")])); // 4
    d.ok(take(5, 3, &[(9, "1")])); // 5
    assert_eq!(
        d.err(Command::Withdraw {
            by: ParticipantId(2),
            listing: 3
        }),
        ExchangeError::NotOwner {
            participant: ParticipantId(2),
            target: Target::Listing(3),
            owner: ParticipantId(1),
        }
    );
    assert_eq!(
        d.ok(Command::Withdraw {
            by: ParticipantId(1),
            listing: 3
        }),
        vec![Event::ListingWithdrawn {
            listing: 3,
            remaining: volumes(&[(9, "9"), (10, "4")]),
        }]
    ); // 6
    assert_eq!(
        d.err(take(5, 3, &[(9, "1")])),
        ExchangeError::ListingNotOpen {
            listing: 3,
            status: ListingStatus::Withdrawn,
        }
    );
    assert_eq!(
        d.ok(Command::Close),
        vec![
            Event::StateChanged {
                from: SessionState::Open,
                to: SessionState::Closed
            },
            Event::ListingLapsed {
                listing: 4,
                remaining: volumes(&[(1, "1")]),
            },
        ]
    );
    assert_eq!(d.session.listing(4).unwrap().status, ListingStatus::Lapsed);
    assert_eq!(
        d.err(take(5, 4, &[(1, "1")])),
        ExchangeError::WrongState {
            action: CommandKind::Take,
            state: SessionState::Closed,
        }
    );
    assert_eq!(d.session.contracts().len(), 1);
}
