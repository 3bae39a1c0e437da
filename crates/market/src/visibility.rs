//! Who sees what (spec §7). Handlers ask these functions and render the answer; a read the
//! answer marks `logged` is written to the access log by the caller before it answers.
//!
//! - Public: announced sessions, published results, the rolling book's depth, statistics.
//! - A participant: its own orders, contracts, settlement lines, certificates.
//! - Sealed call-auction orders: only the operator before clearing; only their owner after
//!   (the regulator reads all, every read logged).
//! - The operator and the regulator read every participant's contracts, certificates and
//!   meter data; the regulator's reads are logged.

use domain::{Contract, Order, OrderId, ParticipantId, Role};
use exchange::session::{Mode, Session, SessionState};

use crate::report::SettlementReport;

/// Who is asking: a signed-in participant, or nobody (a public read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// The participant.
    pub id: ParticipantId,
    /// Its role.
    pub role: Role,
}

/// What a viewer may read of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Only its own records.
    Own,
    /// Every record; `logged` when the read must be written to the access log.
    All {
        /// The regulator's reads are logged.
        logged: bool,
    },
    /// Nothing, for this reason.
    Denied(String),
}

impl Access {
    /// Whether a record owned by `owners` may be read by `viewer` under this access.
    pub fn admits(&self, viewer: Viewer, owners: &[ParticipantId]) -> bool {
        match self {
            Access::All { .. } => true,
            Access::Own => owners.contains(&viewer.id),
            Access::Denied(_) => false,
        }
    }

    /// Whether the read must be logged.
    pub fn logged(&self) -> bool {
        matches!(self, Access::All { logged: true })
    }
}

/// The operator and the regulator: who see everyone's records (and drafts).
pub fn is_insider(role: Role) -> bool {
    matches!(role, Role::Operator | Role::Regulator)
}

/// Everyone's records for insiders (the regulator's reads logged), one's own for the rest.
fn insider_or_own(role: Role) -> Access {
    match role {
        Role::Regulator => Access::All { logged: true },
        Role::Operator => Access::All { logged: false },
        _ => Access::Own,
    }
}

/// Whether a session is visible: drafts only to insiders, every other state to everyone.
pub fn session_visible(viewer: Option<Viewer>, state: SessionState) -> bool {
    state != SessionState::Draft || viewer.is_some_and(|v| is_insider(v.role))
}

/// Whether a session's results (Q*, P* per period, participants) are visible: to everyone once
/// published, and to insiders from clearing on.
pub fn results_visible(viewer: Option<Viewer>, state: SessionState) -> bool {
    state == SessionState::Published
        || (state == SessionState::Cleared && viewer.is_some_and(|v| is_insider(v.role)))
}

/// Whether a session's listing (挂牌) is visible: to everyone while open, to its owner and
/// insiders always.
pub fn listing_visible(viewer: Viewer, owner: ParticipantId, open: bool) -> bool {
    open || insider_or_own(viewer.role).admits(viewer, &[owner])
}

/// Whether a bilateral proposal is visible: to its two parties and insiders.
pub fn proposal_visible(
    viewer: Viewer,
    proposer: ParticipantId,
    counterparty: ParticipantId,
) -> bool {
    insider_or_own(viewer.role).admits(viewer, &[proposer, counterparty])
}

/// Access to a session's orders. Call-auction orders are sealed: the operator sees them all
/// until clearing and none of others' afterwards; the regulator sees all, logged. In other
/// modes the operator sees all orders; a participant sees its own.
pub fn orders_access(viewer: Viewer, mode: &Mode, state: SessionState) -> Access {
    let sealed = matches!(mode, Mode::CallAuction(_));
    let cleared = matches!(state, SessionState::Cleared | SessionState::Published);
    match viewer.role {
        Role::Operator if sealed && cleared => Access::Denied(
            "the session has cleared: sealed bids are visible only to their owners (and the regulator)"
                .to_owned(),
        ),
        role => insider_or_own(role),
    }
}

/// The orders of `session` that `viewer` may read, in submission order, and whether the read
/// is logged; or why none may be read.
pub fn visible_orders(viewer: Viewer, session: &Session) -> Result<(Vec<&Order>, bool), String> {
    visible_orders_page(viewer, session, None, usize::MAX)
}

/// A page of [`visible_orders`]: those with an id above `after` (all when `None`), at most
/// `limit`, in id order. The orders before `after` are skipped by search, not read.
pub fn visible_orders_page(
    viewer: Viewer,
    session: &Session,
    after: Option<OrderId>,
    limit: usize,
) -> Result<(Vec<&Order>, bool), String> {
    let access = orders_access(viewer, &session.settings().mode, session.state());
    if let Access::Denied(reason) = access {
        return Err(reason);
    }
    let orders = session.orders();
    let first = after.map_or(0, |after| orders.partition_point(|o| o.id <= after));
    let page = orders[first..]
        .iter()
        .filter(|o| access.admits(viewer, &[o.participant]))
        .take(limit)
        .collect();
    Ok((page, access.logged()))
}

/// Access to contracts: a participant's own (as seller or buyer), all for insiders.
pub fn contracts_access(viewer: Viewer) -> Access {
    records_access(viewer)
}

/// Access to participants' records in a list (projects, contracts): one's own, all for
/// insiders (the regulator's reads logged).
pub fn records_access(viewer: Viewer) -> Access {
    insider_or_own(viewer.role)
}

/// Whether `viewer` may read `contract`.
pub fn contract_visible(viewer: Viewer, contract: &Contract) -> bool {
    contracts_access(viewer).admits(viewer, &[contract.seller, contract.buyer])
}

/// Access to another participant's certificates, settlement lines or meter data: the
/// viewer's own always; another's only for insiders (the regulator's reads logged).
pub fn participant_data_access(viewer: Viewer, subject: ParticipantId) -> Access {
    if subject == viewer.id {
        return Access::Own;
    }
    match insider_or_own(viewer.role) {
        Access::Own => Access::Denied(format!(
            "only the operator and the regulator read participant {}'s records",
            subject.0
        )),
        all => all,
    }
}

/// The lines of a settlement report that `viewer` may read — its own contracts' (as seller or
/// buyer, `parties` naming each line's pair), all for insiders — with the transfers of those
/// lines and the retail lines it is party to (as retailer or retail user).
pub fn visible_settlement(
    viewer: Viewer,
    report: &SettlementReport,
    parties: impl Fn(&str) -> Option<(ParticipantId, ParticipantId)>,
) -> SettlementReport {
    let access = contracts_access(viewer);
    let admits = |contract: &str| {
        parties(contract).is_some_and(|(s, b)| access.admits(viewer, &[s, b]))
            || matches!(access, Access::All { .. })
    };
    SettlementReport {
        month: report.month.clone(),
        is_final: report.is_final,
        lines: report
            .lines
            .iter()
            .filter(|l| admits(&l.contract))
            .cloned()
            .collect(),
        transfers: report
            .transfers
            .as_ref()
            .map(|t| t.iter().filter(|l| admits(&l.contract)).cloned().collect()),
        retail: report
            .retail
            .iter()
            .filter(|l| access.admits(viewer, &[ParticipantId(l.retailer), ParticipantId(l.user)]))
            .cloned()
            .collect(),
    }
}
