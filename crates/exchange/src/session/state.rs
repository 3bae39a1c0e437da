//! Where a session is in its life ([`SessionState`], spec §3) and the lifecycle commands that
//! move it: `announce`, `open`, `close`, `clear`, `publish` and `cancel`. Leaving `open` winds
//! down what lives only while open; entering `cleared` runs a call auction's clearing.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CommandKind, Event, Mode, Session, Stamp};
use crate::ExchangeError;
use crate::auction::Method;
use crate::bilateral::ProposalStatus;
use crate::listing::ListingStatus;

/// Where a session is in its life (spec §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Being set up; invisible to participants.
    Draft,
    /// Announced to the market; not yet taking orders.
    Announced,
    /// Taking orders, listings, takes, proposals and confirmations.
    Open,
    /// No longer taking anything; a call auction waits to be cleared.
    Closed,
    /// Results computed and contracts made.
    Cleared,
    /// Results public. Final.
    Published,
    /// Called off before publication. Final.
    Cancelled,
}

impl SessionState {
    /// All states, in lifecycle order.
    pub const ALL: [SessionState; 7] = [
        SessionState::Draft,
        SessionState::Announced,
        SessionState::Open,
        SessionState::Closed,
        SessionState::Cleared,
        SessionState::Published,
        SessionState::Cancelled,
    ];

    /// The state's name as written in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Draft => "draft",
            SessionState::Announced => "announced",
            SessionState::Open => "open",
            SessionState::Closed => "closed",
            SessionState::Cleared => "cleared",
            SessionState::Published => "published",
            SessionState::Cancelled => "cancelled",
        }
    }

    /// The state a lifecycle command leads to from this one, or `None` when the command is not
    /// allowed here (or is not a lifecycle command).
    pub fn after(self, action: CommandKind) -> Option<SessionState> {
        use SessionState as S;
        match (action, self) {
            (CommandKind::Announce, S::Draft) => Some(S::Announced),
            (CommandKind::Open, S::Announced) => Some(S::Open),
            (CommandKind::Close, S::Open) => Some(S::Closed),
            (CommandKind::Clear, S::Closed) => Some(S::Cleared),
            (CommandKind::Publish, S::Cleared) => Some(S::Published),
            (CommandKind::Cancel, S::Published | S::Cancelled) => None,
            (CommandKind::Cancel, _) => Some(S::Cancelled),
            _ => None,
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Session {
    /// Refuses `action` unless the session is open.
    pub(super) fn require_open(&self, action: CommandKind) -> Result<(), ExchangeError> {
        if self.state == SessionState::Open {
            Ok(())
        } else {
            Err(ExchangeError::WrongState {
                action,
                state: self.state,
            })
        }
    }

    /// Applies a lifecycle command: moves to the state it leads to, winds down what lived only
    /// while open, and clears a call auction on entering `cleared`.
    pub(super) fn transition(
        &mut self,
        action: CommandKind,
        stamp: Stamp,
    ) -> Result<Vec<Event>, ExchangeError> {
        let from = self.state;
        let to = from.after(action).ok_or(ExchangeError::WrongState {
            action,
            state: from,
        })?;
        // A coupled clearing is computed before anything changes, so that a solver failure
        // refuses the command instead of leaving a half-cleared session.
        let coupled = if to == SessionState::Cleared
            && self.settings.mode == Mode::CallAuction(Method::Coupled)
        {
            Some(self.solve_coupled()?)
        } else {
            None
        };
        self.state = to;
        let mut events = vec![Event::StateChanged { from, to }];
        if from == SessionState::Open {
            self.wind_down(&mut events);
        }
        if let Some(clearing) = coupled {
            self.clear_coupled(clearing, stamp, &mut events);
        } else if let (SessionState::Cleared, Mode::CallAuction(method)) = (to, self.settings.mode)
        {
            self.clear_auction(method, stamp, &mut events);
        }
        Ok(events)
    }

    /// Ends what lives only while the session is open: resting rolling orders, open listings,
    /// pending proposals. Call-auction orders wait for clearing.
    fn wind_down(&mut self, events: &mut Vec<Event>) {
        if self.settings.mode == Mode::Rolling {
            for order in &self.orders {
                let book = &mut self.books[usize::from(order.period.0)];
                if let Some(volume) = book.cancel(order.id) {
                    events.push(Event::OrderExpired {
                        order: order.id,
                        volume,
                    });
                }
            }
        }
        for listing in &mut self.listings {
            if listing.status == ListingStatus::Open {
                let remaining = listing.end(ListingStatus::Lapsed);
                events.push(Event::ListingLapsed {
                    listing: listing.id,
                    remaining,
                });
            }
        }
        for proposal in &mut self.proposals {
            if proposal.status == ProposalStatus::Pending {
                proposal.status = ProposalStatus::Lapsed;
                events.push(Event::ProposalLapsed {
                    proposal: proposal.id,
                });
            }
        }
    }
}
