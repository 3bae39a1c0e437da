//! Bilateral sessions (双边协商): proposal, confirmation by the counterparty only, lapse at
//! close.

use domain::{ContractId, Participant, ParticipantId, Price, Role};
use exchange::ExchangeError;
use exchange::bilateral::{Proposal, ProposalStatus};
use exchange::session::{Command, CommandKind, Event, Mode, SessionState, Target};

use crate::session::{
    Driver, at_ms, contract, generator, party, price, settings, user, volumes, yuan,
};

fn propose(by: Participant, counterparty: Participant, compensation: &str) -> Command {
    Command::Propose {
        by,
        counterparty,
        volumes: volumes(&[(9, "20"), (8, "10")]),
        price: price("390.00", "30.00"),
        compensation: yuan(compensation),
    }
}

fn confirm(by: u64, proposal: u64) -> Command {
    Command::Confirm {
        by: ParticipantId(by),
        proposal,
    }
}

#[test]
fn the_counterparty_confirms_a_proposal_into_a_contract() {
    let mut d = Driver::open(settings(Mode::Bilateral));
    // Seq 3: generator 1 proposes to user 2, with its own compensation price.
    assert_eq!(
        d.ok(propose(generator(1), user(2), "80.00")),
        vec![Event::ProposalMade(Proposal {
            id: 3,
            proposer: ParticipantId(1),
            counterparty: ParticipantId(2),
            seller: ParticipantId(1),
            buyer: ParticipantId(2),
            volumes: volumes(&[(8, "10"), (9, "20")]),
            price: price("390.00", "30.00"),
            compensation: yuan("80.00"),
            status: ProposalStatus::Pending,
            proposed_at_ms: at_ms(3),
        })]
    );
    // Neither a third party nor the proposer may confirm.
    for wrong in [4, 1] {
        assert_eq!(
            d.err(confirm(wrong, 3)),
            ExchangeError::NotCounterparty {
                participant: ParticipantId(wrong),
                proposal: 3,
                counterparty: ParticipantId(2),
            }
        );
    }
    assert_eq!(
        d.err(confirm(2, 8)),
        ExchangeError::Unknown(Target::Proposal(8))
    );
    // Seq 4: the user confirms.
    let c1 = contract(
        1,
        1,
        2,
        &[(8, "10"), (9, "20")],
        price("390.00", "30.00"),
        yuan("80.00"),
        4,
    );
    assert_eq!(
        d.ok(confirm(2, 3)),
        vec![
            Event::ContractMade(c1.clone()),
            Event::ProposalConfirmed {
                proposal: 3,
                contract: ContractId(1),
            },
        ]
    );
    assert_eq!(d.session.contracts(), &[c1]);
    assert_eq!(
        d.err(confirm(2, 3)),
        ExchangeError::ProposalNotPending {
            proposal: 3,
            status: ProposalStatus::Confirmed {
                contract: ContractId(1)
            },
        }
    );
}

#[test]
fn a_buyer_may_propose_to_a_seller() {
    let mut d = Driver::open(settings(Mode::Bilateral));
    let retailer = party(4, Role::Retailer, "ZJ");
    d.ok(propose(retailer, generator(1), "0.00")); // 3
    let p = d.session.proposal(3).unwrap();
    assert_eq!((p.seller, p.buyer), (ParticipantId(1), ParticipantId(4)));
    d.ok(confirm(1, 3)); // 4
    assert_eq!(d.session.contracts()[0].buyer, ParticipantId(4));
}

#[test]
fn proposals_need_a_seller_and_a_buyer_in_scope() {
    let mut d = Driver::open(settings(Mode::Bilateral));
    let cases = [
        (
            propose(generator(1), generator(2), "50.00"),
            ExchangeError::NotABuyerSellerPair {
                proposer_role: Role::Generator,
                counterparty_role: Role::Generator,
            },
        ),
        (
            propose(user(2), party(3, Role::RetailUser, "ZJ"), "50.00"),
            ExchangeError::NotABuyerSellerPair {
                proposer_role: Role::User,
                counterparty_role: Role::RetailUser,
            },
        ),
        (
            propose(party(6, Role::Grid, "ZJ"), user(2), "50.00"),
            ExchangeError::NotABuyerSellerPair {
                proposer_role: Role::Grid,
                counterparty_role: Role::User,
            },
        ),
        (
            propose(generator(1), party(5, Role::User, "AH"), "50.00"),
            ExchangeError::ProvinceOutOfScope {
                participant: ParticipantId(5),
                province: domain::Province::parse("AH").unwrap(),
            },
        ),
        (
            propose(generator(1), party(1, Role::User, "ZJ"), "50.00"),
            ExchangeError::SelfTrade {
                participant: ParticipantId(1),
            },
        ),
        (
            propose(generator(1), user(2), "-0.01"),
            ExchangeError::CompensationNegative { price: Price(-1) },
        ),
        (
            Command::Propose {
                by: generator(1),
                counterparty: user(2),
                volumes: volumes(&[(9, "1")]),
                price: price("510.00", "30.00"),
                compensation: yuan("50.00"),
            },
            ExchangeError::EnergyPriceOutOfBounds {
                price: yuan("510.00"),
                min: yuan("300.00"),
                max: yuan("500.00"),
            },
        ),
    ];
    for (command, expected) in cases {
        assert_eq!(d.err(command), expected);
    }
    assert_eq!(d.session.proposals(), &[]);
}

#[test]
fn unconfirmed_proposals_lapse_at_close() {
    let mut d = Driver::open(settings(Mode::Bilateral));
    d.ok(propose(generator(1), user(2), "50.00")); // 3
    d.ok(propose(generator(1), user(4), "50.00")); // 4
    d.ok(confirm(4, 4)); // 5
    assert_eq!(
        d.ok(Command::Close),
        vec![
            Event::StateChanged {
                from: SessionState::Open,
                to: SessionState::Closed,
            },
            Event::ProposalLapsed { proposal: 3 },
        ]
    );
    assert_eq!(
        d.session.proposal(3).unwrap().status,
        ProposalStatus::Lapsed
    );
    assert_eq!(
        d.err(confirm(2, 3)),
        ExchangeError::WrongState {
            action: CommandKind::Confirm,
            state: SessionState::Closed,
        }
    );
    assert_eq!(d.session.contracts().len(), 1);
}

#[test]
fn cancelling_an_open_session_lapses_its_proposals() {
    let mut d = Driver::open(settings(Mode::Bilateral));
    d.ok(propose(generator(1), user(2), "50.00")); // 3
    assert_eq!(
        d.ok(Command::Cancel),
        vec![
            Event::StateChanged {
                from: SessionState::Open,
                to: SessionState::Cancelled,
            },
            Event::ProposalLapsed { proposal: 3 },
        ]
    );
    assert_eq!(
        d.err(confirm(2, 3)),
        ExchangeError::WrongState {
            action: CommandKind::Confirm,
            state: SessionState::Cancelled,
        }
    );
}
