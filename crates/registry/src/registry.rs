//! The registry: accounts, holdings as serial ranges with a state, and the operations that move
//! them, each writing exactly one ledger entry.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use domain::{Fen, Kwh, ParticipantId, ProjectCode};
use serde::{Deserialize, Serialize};

use crate::ledger::{
    Body, Cancelled, CertState, Command, Digest, Entry, ListingId, TransferReason,
};
use crate::serial::MAX_SEQ;
use crate::{RegistryError, SerialRange, YearMonth};

mod checkpoint;

/// How many months a certificate stays valid, its production month included.
pub const VALIDITY_MONTHS: u32 = 24;

/// The longest beneficiary name a claim accepts, in characters.
pub const MAX_BENEFICIARY_CHARS: usize = 200;

/// The first month in which certificates produced in `production` are expired: `production` +
/// 24 months. Certificates of March 2024 are valid from 2024-03 through 2026-02 and expire at the
/// start of 2026-03. `None` past year 9999.
pub fn expiry_month(production: YearMonth) -> Option<YearMonth> {
    production.plus_months(VALIDITY_MONTHS)
}

/// Certificate counts by state. `issued_total` is every certificate ever issued (serials
/// numbered); the five state counts partition it.
///
/// The `u64`s cannot overflow: a project-month holds at most `MAX_SEQ` = 999,999,999
/// certificates (issuance refuses more) and there are fewer than 2^32 project-months, so any
/// total is below 4.3·10^18 < 2^64.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Totals {
    /// Certificates ever issued.
    pub issued_total: u64,
    /// Now in state `issued`.
    pub issued: u64,
    /// Now `listed`.
    pub listed: u64,
    /// Now `transferred`.
    pub transferred: u64,
    /// Now `claimed`.
    pub claimed: u64,
    /// Now `cancelled` (expired).
    pub cancelled: u64,
}

impl Totals {
    /// Still held: issued, listed or transferred.
    pub fn held(&self) -> u64 {
        self.issued + self.listed + self.transferred
    }

    /// The count in one state.
    pub fn count(&self, state: CertState) -> u64 {
        match state {
            CertState::Issued => self.issued,
            CertState::Listed => self.listed,
            CertState::Transferred => self.transferred,
            CertState::Claimed => self.claimed,
            CertState::Cancelled => self.cancelled,
        }
    }

    /// The conservation rule (spec §6): issued = held + claimed + cancelled.
    pub fn conserved(&self) -> bool {
        self.issued_total == self.held() + self.claimed + self.cancelled
    }

    fn add_states(&mut self, by_state: &[u64; 5]) {
        self.issued += by_state[CertState::Issued.index()];
        self.listed += by_state[CertState::Listed.index()];
        self.transferred += by_state[CertState::Transferred.index()];
        self.claimed += by_state[CertState::Claimed.index()];
        self.cancelled += by_state[CertState::Cancelled.index()];
    }
}

/// One range of an account's holdings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Holding {
    /// The certificates.
    pub range: SerialRange,
    /// Their state.
    pub state: CertState,
    /// The listing offering them, when listed.
    pub listing: Option<ListingId>,
}

/// The lifecycle of one project-month's certificates: how many were issued, moved once to
/// another account (settlement, bilateral, listing bought) and claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleCounts {
    /// The project.
    pub project: ProjectCode,
    /// The production month.
    pub month: YearMonth,
    /// Certificates issued.
    pub issued: u64,
    /// Of them, moved out of the first holder's account.
    pub transferred: u64,
    /// Of them, claimed.
    pub claimed: u64,
}

/// A standalone listing (挂牌): certificates of one project-month offered at a price per
/// certificate, bought in lots of one certificate (摘牌).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Listing {
    /// Its id.
    pub id: ListingId,
    /// Who offers (the certificates' first holder).
    pub owner: ParticipantId,
    /// The project.
    pub project: ProjectCode,
    /// The production month.
    pub month: YearMonth,
    /// Fen per certificate.
    pub price_per_cert: Fen,
    /// How many were listed.
    pub listed: u32,
    /// How many are left; the listing is open while this is above zero.
    pub remaining: u32,
}

/// Why [`Registry::check_conservation`] failed: a bug, never a user error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("project {project} {month}: {reason}")]
pub struct ConservationError {
    /// The project.
    pub project: ProjectCode,
    /// The production month.
    pub month: YearMonth,
    /// What does not add up.
    pub reason: String,
}

/// A run of consecutive certificates with one holder, state and listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    first: u32,
    count: u32,
    /// Index into `Registry::accounts`.
    holder: u32,
    state: CertState,
    /// The listing id when listed, else 0.
    listing: u64,
}

impl Piece {
    fn same_kind(&self, other: &Piece) -> bool {
        self.holder == other.holder && self.state == other.state && self.listing == other.listing
    }
}

/// Every certificate of one project and production month, as pieces sorted by sequence number
/// that partition `1..=issued`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProjectMonth {
    project: ProjectCode,
    month: YearMonth,
    issued: u32,
    pieces: Vec<Piece>,
    /// Certificates per state, indexed by `CertState::index`, kept with every move.
    by_state: [u64; 5],
    /// Certificates moved out of their first holder's account (by settlement, a bilateral
    /// transfer or a listing bought): each moves at most once, so this never goes down.
    moved: u64,
}

impl ProjectMonth {
    fn range(&self, first: u32, count: u32) -> SerialRange {
        SerialRange::new(self.project, self.month, first, count).expect("pieces are valid ranges")
    }

    fn available(&self, pred: impl Fn(&Piece) -> bool) -> u32 {
        // The pieces partition at most 999,999,999 serials, so the sum fits.
        self.pieces
            .iter()
            .filter(|p| pred(p))
            .map(|p| p.count)
            .sum()
    }

    /// Merges adjacent pieces of the same holder, state and listing: the one canonical form, so
    /// that replaying a ledger reproduces the same pieces.
    fn normalize(&mut self) {
        self.pieces.dedup_by(|next, prev| {
            let merge = prev.same_kind(next);
            if merge {
                debug_assert_eq!(prev.first + prev.count, next.first);
                prev.count += next.count;
            }
            merge
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Project {
    carry: Kwh,
    last_month: YearMonth,
    /// The project's months, in issuance (thus month) order, with their index into `pms`.
    months: Vec<(YearMonth, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    id: ParticipantId,
    /// Every project-month it holds certificates of, in any state, sorted; it may also name
    /// project-months it no longer holds any of (a registry restored from a checkpoint names
    /// only those it holds).
    pms: Vec<u32>,
}

/// The pieces account `acct` may claim: those it holds issued (its own, never sold) or
/// transferred to it.
fn claimable(acct: u32) -> impl Fn(&Piece) -> bool {
    move |p| p.holder == acct && matches!(p.state, CertState::Issued | CertState::Transferred)
}

/// The certificate registry (绿证 registry): the authoritative in-memory model of who holds which
/// certificates in which state, and the ledger of every change.
///
/// Each operation either applies fully and appends exactly one [`Entry`] to the ledger, or
/// returns a [`RegistryError`] having changed nothing. Times come from the caller (`at_ms`,
/// ms since the Unix epoch) and may not go back. The conservation rule is asserted on both
/// sides of every operation (counters always, a full scan of the touched project-months in
/// debug builds); [`Registry::check_conservation`] checks everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    projects: Vec<Project>,
    project_index: HashMap<ProjectCode, u32>,
    pms: Vec<ProjectMonth>,
    /// Project-months by production month, for expiry.
    pms_by_month: BTreeMap<YearMonth, Vec<u32>>,
    accounts: Vec<Account>,
    account_index: HashMap<ParticipantId, u32>,
    /// Listing `id` is at `id - 1`, with its project-month.
    listings: Vec<(Listing, u32)>,
    expired_through: Option<YearMonth>,
    /// The ledger entries after `base`, in memory: every entry for a registry built from
    /// empty; those after its checkpoint for a restored one; none once a store has them and
    /// [`Registry::forget_entries`] was called.
    entries: Vec<Entry>,
    /// The sequence number of the last entry not in `entries`.
    base: u64,
    /// The last entry's time (`i64::MIN` before the first).
    last_at_ms: i64,
    /// Per settlement month, the spans `first..=last` of sequence numbers that hold its
    /// settlement transfers (证电合一), merged when adjacent: where its consumption certificates'
    /// lines are in the ledger.
    settlement_spans: BTreeMap<YearMonth, Vec<(u64, u64)>>,
    head: Digest,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

impl Registry {
    /// An empty registry with an empty ledger.
    pub fn new() -> Registry {
        Registry {
            projects: Vec::new(),
            project_index: HashMap::new(),
            pms: Vec::new(),
            pms_by_month: BTreeMap::new(),
            accounts: Vec::new(),
            account_index: HashMap::new(),
            listings: Vec::new(),
            expired_through: None,
            entries: Vec::new(),
            base: 0,
            last_at_ms: i64::MIN,
            settlement_spans: BTreeMap::new(),
            head: Digest::GENESIS,
        }
    }

    // ---- operations -----------------------------------------------------------------------

    /// Applies one command at time `at_ms`: the single way in. Returns the entry it appended.
    pub fn apply(&mut self, command: Command, at_ms: i64) -> Result<&Entry, RegistryError> {
        let body = self.effects(command, at_ms)?;
        Ok(self.append(at_ms, body))
    }

    /// Replays a stored entry whose hash and chain link were already checked: applies its
    /// command, and appends the entry itself (no second hash) if the effects are the ones it
    /// records. On `Ok(Err(body))` the effects differ (the rules gave `body`); the registry
    /// is then left half-replayed and must be dropped.
    pub(crate) fn replay_entry(&mut self, entry: Entry) -> Result<Result<(), Body>, RegistryError> {
        debug_assert_eq!(entry.seq, self.last_seq() + 1);
        debug_assert_eq!(entry.prev_hash, self.head);
        let body = self.effects(entry.body.command(), entry.at_ms)?;
        if body != entry.body {
            return Ok(Err(body));
        }
        self.record(entry);
        Ok(Ok(()))
    }

    /// Checks and applies a command, returning the body of the entry to write.
    fn effects(&mut self, command: Command, at_ms: i64) -> Result<Body, RegistryError> {
        if at_ms < self.last_at_ms {
            return Err(RegistryError::ClockWentBack {
                at_ms,
                last_ms: self.last_at_ms,
            });
        }
        let body = match command {
            Command::Issue {
                project,
                owner,
                month,
                metered_kwh,
            } => self.do_issue(project, owner, month, metered_kwh)?,
            Command::Transfer {
                from,
                to,
                project,
                month,
                count,
                reason,
            } => self.do_transfer(from, to, project, month, count, reason)?,
            Command::List {
                owner,
                project,
                month,
                count,
                price_per_cert,
            } => self.do_list(owner, project, month, count, price_per_cert)?,
            Command::Delist { owner, listing } => self.do_delist(owner, listing)?,
            Command::BuyListing {
                listing,
                buyer,
                count,
            } => self.do_buy(listing, buyer, count)?,
            Command::Claim {
                holder,
                project,
                month,
                count,
                beneficiary,
            } => self.do_claim(holder, project, month, count, beneficiary)?,
            Command::Expire { now_month } => self.do_expire(now_month)?,
        };
        Ok(body)
    }

    /// Issues the certificates of `project` for production `month` to `owner`:
    /// `floor((metered + carry_in) / 1000)` certificates numbered from sequence 1, where
    /// `carry_in` is the sub-MWh remainder of the project's previous issuance; the new remainder
    /// carries to its next. A project's months are issued once each, in month order (gaps
    /// allowed), and never for an expired month.
    pub fn issue(
        &mut self,
        project: ProjectCode,
        owner: ParticipantId,
        month: YearMonth,
        metered_kwh: Kwh,
        at_ms: i64,
    ) -> Result<&Entry, RegistryError> {
        let command = Command::Issue {
            project,
            owner,
            month,
            metered_kwh,
        };
        self.apply(command, at_ms)
    }

    /// Transfers `count` certificates of a project-month from `from` to `to`, lowest serials
    /// first among those `from` holds in state `issued`. Listed certificates are reserved for
    /// their listing and are not taken; certificates already transferred once are refused
    /// ([`RegistryError::AlreadyTransferred`]): trade once.
    #[allow(clippy::too_many_arguments)]
    pub fn transfer(
        &mut self,
        from: ParticipantId,
        to: ParticipantId,
        project: ProjectCode,
        month: YearMonth,
        count: u32,
        reason: TransferReason,
        at_ms: i64,
    ) -> Result<&Entry, RegistryError> {
        let command = Command::Transfer {
            from,
            to,
            project,
            month,
            count,
            reason,
        };
        self.apply(command, at_ms)
    }

    /// Lists `count` of `owner`'s `issued` certificates of a project-month (lowest serials
    /// first) at `price_per_cert` fen each. Returns the new listing's id.
    pub fn list(
        &mut self,
        owner: ParticipantId,
        project: ProjectCode,
        month: YearMonth,
        count: u32,
        price_per_cert: Fen,
        at_ms: i64,
    ) -> Result<ListingId, RegistryError> {
        let command = Command::List {
            owner,
            project,
            month,
            count,
            price_per_cert,
        };
        match &self.apply(command, at_ms)?.body {
            Body::List { listing, .. } => Ok(*listing),
            other => unreachable!("a list command wrote a {} entry", other.kind()),
        }
    }

    /// Withdraws what is left of a listing; those certificates return to `issued`. Only the
    /// owner may delist.
    pub fn delist(
        &mut self,
        owner: ParticipantId,
        listing: ListingId,
        at_ms: i64,
    ) -> Result<&Entry, RegistryError> {
        self.apply(Command::Delist { owner, listing }, at_ms)
    }

    /// Buys `count` certificates of a listing at its price (lowest serials first): they move to
    /// `buyer` as `transferred`.
    pub fn buy_listing(
        &mut self,
        listing: ListingId,
        buyer: ParticipantId,
        count: u32,
        at_ms: i64,
    ) -> Result<&Entry, RegistryError> {
        let command = Command::BuyListing {
            listing,
            buyer,
            count,
        };
        self.apply(command, at_ms)
    }

    /// Claims (核销) `count` of `holder`'s certificates of a project-month for `beneficiary`,
    /// lowest serials first among those it holds as `transferred` or `issued`.
    ///
    /// Who may claim: the holder of transferred certificates (a buyer declaring its
    /// consumption), and also the first holder of certificates never transferred (the owner
    /// declaring consumption of its own green power, e.g. self-consumed output). Listed
    /// certificates must be delisted first. Claimed is final.
    pub fn claim(
        &mut self,
        holder: ParticipantId,
        project: ProjectCode,
        month: YearMonth,
        count: u32,
        beneficiary: &str,
        at_ms: i64,
    ) -> Result<&Entry, RegistryError> {
        let command = Command::Claim {
            holder,
            project,
            month,
            count,
            beneficiary: beneficiary.to_owned(),
        };
        self.apply(command, at_ms)
    }

    /// Several claims for one beneficiary, all or none: `lots` are `(project, month, count)`;
    /// each is one [`Command::Claim`] entry, applied in order, and none is applied unless every
    /// one can be (a lot of zero, an unknown project-month, or more certificates of a
    /// project-month than the holder can claim, the lots of it added up, refuses them all).
    pub fn claim_all(
        &mut self,
        holder: ParticipantId,
        lots: &[(ProjectCode, YearMonth, u32)],
        beneficiary: &str,
        at_ms: i64,
    ) -> Result<Vec<&Entry>, RegistryError> {
        check_beneficiary(beneficiary)?;
        let mut wanted: BTreeMap<u32, (ProjectCode, YearMonth, u64)> = BTreeMap::new();
        for &(project, month, count) in lots {
            if count == 0 {
                return Err(RegistryError::ZeroCount);
            }
            let pm = self.pm_of(project, month)?;
            wanted.entry(pm).or_insert((project, month, 0)).2 += u64::from(count);
        }
        let acct = self.account_index.get(&holder).copied();
        for (&pm, &(project, month, count)) in &wanted {
            let available = acct.map_or(0, |a| self.pms[pm as usize].available(claimable(a)));
            if u64::from(available) < count {
                return Err(RegistryError::Insufficient {
                    participant: holder,
                    action: "claim",
                    project,
                    month,
                    requested: u32::try_from(count).unwrap_or(u32::MAX),
                    available,
                });
            }
        }
        let first = self.entries.len();
        for &(project, month, count) in lots {
            self.claim(holder, project, month, count, beneficiary, at_ms)?;
        }
        Ok(self.entries[first..].iter().collect())
    }

    /// Expires and cancels every certificate not yet claimed whose validity has ended by
    /// `now_month`: all of production months up to `now_month` − 24 (see [`expiry_month`]).
    /// Open listings of those months close. Each run must expire at least one month more than
    /// the last (runs are monthly); issuance for an expired month is refused from then on.
    pub fn expire(&mut self, now_month: YearMonth, at_ms: i64) -> Result<&Entry, RegistryError> {
        self.apply(Command::Expire { now_month }, at_ms)
    }

    fn do_issue(
        &mut self,
        project: ProjectCode,
        owner: ParticipantId,
        month: YearMonth,
        metered_kwh: Kwh,
    ) -> Result<Body, RegistryError> {
        if metered_kwh.0 < 0 {
            return Err(RegistryError::NegativeEnergy {
                metered: metered_kwh,
            });
        }
        if let Some(expired_through) = self.expired_through
            && month <= expired_through
        {
            return Err(RegistryError::MonthExpired {
                month,
                expired_through,
            });
        }
        let known = self.project_index.get(&project).copied();
        let carry_in = match known {
            Some(p) => {
                let p = &self.projects[p as usize];
                if month <= p.last_month {
                    return Err(RegistryError::MonthNotAfterLast {
                        project,
                        month,
                        last: p.last_month,
                    });
                }
                p.carry
            }
            None => Kwh::ZERO,
        };
        let exhausted = || RegistryError::SequenceExhausted { project, month };
        let total_kwh = metered_kwh
            .0
            .checked_add(carry_in.0)
            .ok_or_else(exhausted)?;
        let certs = u32::try_from(total_kwh / 1000)
            .ok()
            .filter(|&c| c <= MAX_SEQ)
            .ok_or_else(exhausted)?;
        let carry_out = Kwh(total_kwh % 1000);
        debug_assert_eq!(i64::from(certs) * 1000 + carry_out.0, total_kwh);

        // Checked; now apply.
        let owner_acct = self.ensure_account(owner);
        let pm = u32::try_from(self.pms.len()).expect("fewer than 4 billion project-months");
        let p = match known {
            Some(p) => p,
            None => {
                let p = u32::try_from(self.projects.len()).expect("fewer than 4 billion projects");
                self.projects.push(Project {
                    carry: Kwh::ZERO,
                    last_month: month,
                    months: Vec::new(),
                });
                self.project_index.insert(project, p);
                p
            }
        };
        let entry = &mut self.projects[p as usize];
        entry.carry = carry_out;
        entry.last_month = month;
        entry.months.push((month, pm));
        let mut book = ProjectMonth {
            project,
            month,
            issued: certs,
            pieces: Vec::new(),
            by_state: [0; 5],
            moved: 0,
        };
        if certs > 0 {
            book.pieces.push(Piece {
                first: 1,
                count: certs,
                holder: owner_acct,
                state: CertState::Issued,
                listing: 0,
            });
            book.by_state[CertState::Issued.index()] = u64::from(certs);
        }
        let issued = (certs > 0).then(|| book.range(1, certs));
        self.pms.push(book);
        self.pms_by_month.entry(month).or_default().push(pm);
        self.link(owner_acct, pm);
        self.assert_pm(pm);
        Ok(Body::Issue {
            project,
            month,
            owner,
            metered_kwh,
            carry_in_kwh: carry_in,
            carry_out_kwh: carry_out,
            issued,
        })
    }

    fn do_transfer(
        &mut self,
        from: ParticipantId,
        to: ParticipantId,
        project: ProjectCode,
        month: YearMonth,
        count: u32,
        reason: TransferReason,
    ) -> Result<Body, RegistryError> {
        if count == 0 {
            return Err(RegistryError::ZeroCount);
        }
        if from == to {
            return Err(RegistryError::SameAccount(from));
        }
        if let TransferReason::Bilateral { price_per_cert } = reason
            && price_per_cert.0 < 0
        {
            return Err(RegistryError::NegativePrice(price_per_cert));
        }
        let pm = self.pm_of(project, month)?;
        let from_acct = self.account_index.get(&from).copied();
        let book = &self.pms[pm as usize];
        let (transferable, transferred_once) = match from_acct {
            Some(a) => (
                book.available(|p| p.holder == a && p.state == CertState::Issued),
                book.available(|p| p.holder == a && p.state == CertState::Transferred),
            ),
            None => (0, 0),
        };
        if transferable < count {
            return Err(if transferred_once > 0 {
                RegistryError::AlreadyTransferred {
                    participant: from,
                    project,
                    month,
                    requested: count,
                    transferable,
                    transferred_once,
                }
            } else {
                RegistryError::Insufficient {
                    participant: from,
                    action: "transfer",
                    project,
                    month,
                    requested: count,
                    available: transferable,
                }
            });
        }
        let from_acct = from_acct.expect("it holds certificates");
        let to_acct = self.ensure_account(to);
        let ranges = self.take(
            pm,
            count,
            |p| p.holder == from_acct && p.state == CertState::Issued,
            (to_acct, CertState::Transferred, 0),
        );
        self.pms[pm as usize].moved += u64::from(count);
        self.link(to_acct, pm);
        Ok(Body::Transfer {
            from,
            to,
            project,
            month,
            count,
            reason,
            ranges,
        })
    }

    fn do_list(
        &mut self,
        owner: ParticipantId,
        project: ProjectCode,
        month: YearMonth,
        count: u32,
        price_per_cert: Fen,
    ) -> Result<Body, RegistryError> {
        if count == 0 {
            return Err(RegistryError::ZeroCount);
        }
        if price_per_cert.0 < 0 {
            return Err(RegistryError::NegativePrice(price_per_cert));
        }
        let pm = self.pm_of(project, month)?;
        let acct = self.account_index.get(&owner).copied();
        let available = acct.map_or(0, |a| {
            self.pms[pm as usize].available(|p| p.holder == a && p.state == CertState::Issued)
        });
        if available < count {
            return Err(RegistryError::Insufficient {
                participant: owner,
                action: "list",
                project,
                month,
                requested: count,
                available,
            });
        }
        let acct = acct.expect("it holds certificates");
        let id = ListingId(self.listings.len() as u64 + 1);
        let ranges = self.take(
            pm,
            count,
            |p| p.holder == acct && p.state == CertState::Issued,
            (acct, CertState::Listed, id.0),
        );
        let listing = Listing {
            id,
            owner,
            project,
            month,
            price_per_cert,
            listed: count,
            remaining: count,
        };
        self.listings.push((listing, pm));
        Ok(Body::List {
            listing: id,
            owner,
            project,
            month,
            count,
            price_per_cert,
            ranges,
        })
    }

    fn open_listing(&self, id: ListingId) -> Result<(&Listing, u32), RegistryError> {
        let (listing, pm) =
            id.0.checked_sub(1)
                .and_then(|i| self.listings.get(usize::try_from(i).ok()?))
                .ok_or(RegistryError::UnknownListing(id))?;
        if listing.remaining == 0 {
            return Err(RegistryError::ListingClosed(id));
        }
        Ok((listing, *pm))
    }

    fn do_delist(&mut self, owner: ParticipantId, id: ListingId) -> Result<Body, RegistryError> {
        let (listing, pm) = self.open_listing(id)?;
        if listing.owner != owner {
            return Err(RegistryError::NotListingOwner {
                listing: id,
                owner: listing.owner,
                participant: owner,
            });
        }
        let remaining = listing.remaining;
        let acct = self.account_index[&owner];
        let ranges = self.take(
            pm,
            remaining,
            |p| p.state == CertState::Listed && p.listing == id.0,
            (acct, CertState::Issued, 0),
        );
        self.listing_mut(id).remaining = 0;
        Ok(Body::Delist {
            listing: id,
            owner,
            ranges,
        })
    }

    fn do_buy(
        &mut self,
        id: ListingId,
        buyer: ParticipantId,
        count: u32,
    ) -> Result<Body, RegistryError> {
        if count == 0 {
            return Err(RegistryError::ZeroCount);
        }
        let (listing, pm) = self.open_listing(id)?;
        if listing.owner == buyer {
            return Err(RegistryError::SameAccount(buyer));
        }
        if listing.remaining < count {
            return Err(RegistryError::ListingShort {
                listing: id,
                requested: count,
                remaining: listing.remaining,
            });
        }
        let (seller, price_per_cert) = (listing.owner, listing.price_per_cert);
        let buyer_acct = self.ensure_account(buyer);
        let ranges = self.take(
            pm,
            count,
            |p| p.state == CertState::Listed && p.listing == id.0,
            (buyer_acct, CertState::Transferred, 0),
        );
        self.pms[pm as usize].moved += u64::from(count);
        self.link(buyer_acct, pm);
        self.listing_mut(id).remaining -= count;
        Ok(Body::Buy {
            listing: id,
            seller,
            buyer,
            count,
            price_per_cert,
            ranges,
        })
    }

    fn do_claim(
        &mut self,
        holder: ParticipantId,
        project: ProjectCode,
        month: YearMonth,
        count: u32,
        beneficiary: String,
    ) -> Result<Body, RegistryError> {
        if count == 0 {
            return Err(RegistryError::ZeroCount);
        }
        check_beneficiary(&beneficiary)?;
        let pm = self.pm_of(project, month)?;
        let acct = self.account_index.get(&holder).copied();
        let available = acct.map_or(0, |a| self.pms[pm as usize].available(claimable(a)));
        if available < count {
            return Err(RegistryError::Insufficient {
                participant: holder,
                action: "claim",
                project,
                month,
                requested: count,
                available,
            });
        }
        let acct = acct.expect("it holds certificates");
        let ranges = self.take(pm, count, claimable(acct), (acct, CertState::Claimed, 0));
        Ok(Body::Claim {
            holder,
            project,
            month,
            count,
            beneficiary,
            ranges,
        })
    }

    fn do_expire(&mut self, now_month: YearMonth) -> Result<Body, RegistryError> {
        let through = now_month
            .minus_months(VALIDITY_MONTHS)
            .ok_or_else(|| RegistryError::BadMonth(now_month.to_string()))?;
        let lower = match self.expired_through {
            Some(expired_through) if through <= expired_through => {
                return Err(RegistryError::ExpiryNotAdvancing {
                    now_month,
                    expired_through,
                });
            }
            Some(expired_through) => Bound::Excluded(expired_through),
            None => Bound::Unbounded,
        };
        let pms: Vec<u32> = self
            .pms_by_month
            .range((lower, Bound::Included(through)))
            .flat_map(|(_, pms)| pms.iter().copied())
            .collect();
        let mut cancelled = Vec::new();
        for pm in pms {
            self.assert_pm(pm);
            let book = &mut self.pms[pm as usize];
            for piece in book.pieces.iter_mut().filter(|p| p.state.is_held()) {
                let range = SerialRange::new(book.project, book.month, piece.first, piece.count)
                    .expect("pieces are valid ranges");
                cancelled.push(Cancelled {
                    holder: self.accounts[piece.holder as usize].id,
                    was: piece.state,
                    range,
                });
                book.by_state[piece.state.index()] -= u64::from(piece.count);
                book.by_state[CertState::Cancelled.index()] += u64::from(piece.count);
                piece.state = CertState::Cancelled;
                piece.listing = 0;
            }
            book.normalize();
            self.assert_pm(pm);
        }
        cancelled.sort_by_key(|c| c.range);
        let mut closed_listings = Vec::new();
        for (listing, _) in &mut self.listings {
            if listing.remaining > 0 && listing.month <= through {
                listing.remaining = 0;
                closed_listings.push(listing.id);
            }
        }
        self.expired_through = Some(through);
        Ok(Body::Expire {
            now_month,
            expired_through: through,
            cancelled,
            closed_listings,
        })
    }

    // ---- internals -------------------------------------------------------------------------

    fn append(&mut self, at_ms: i64, body: Body) -> &Entry {
        let entry = Entry::seal(self.last_seq() + 1, at_ms, self.head, body);
        self.record(entry);
        self.entries.last().expect("just recorded")
    }

    /// Makes `entry`, whose effects are applied, the head of the ledger.
    fn record(&mut self, entry: Entry) {
        if let Body::Transfer {
            reason: TransferReason::Settlement {
                settlement_month, ..
            },
            ..
        } = &entry.body
        {
            let spans = self.settlement_spans.entry(*settlement_month).or_default();
            match spans.last_mut() {
                Some((_, last)) if *last + 1 == entry.seq => *last = entry.seq,
                _ => spans.push((entry.seq, entry.seq)),
            }
        }
        self.head = entry.hash;
        self.last_at_ms = entry.at_ms;
        self.entries.push(entry);
    }

    fn pm_of(&self, project: ProjectCode, month: YearMonth) -> Result<u32, RegistryError> {
        self.project_index
            .get(&project)
            .and_then(|&p| {
                let months = &self.projects[p as usize].months;
                months
                    .binary_search_by_key(&month, |&(m, _)| m)
                    .ok()
                    .map(|i| months[i].1)
            })
            .ok_or(RegistryError::UnknownProjectMonth { project, month })
    }

    fn ensure_account(&mut self, id: ParticipantId) -> u32 {
        if let Some(&a) = self.account_index.get(&id) {
            return a;
        }
        let a = u32::try_from(self.accounts.len()).expect("fewer than 4 billion accounts");
        self.accounts.push(Account {
            id,
            pms: Vec::new(),
        });
        self.account_index.insert(id, a);
        a
    }

    /// Records that account `acct` holds certificates of `pm`.
    fn link(&mut self, acct: u32, pm: u32) {
        let pms = &mut self.accounts[acct as usize].pms;
        // Usually appended at the end: issuance and settlement run in month order.
        if pms.last().is_some_and(|&last| last < pm) || pms.is_empty() {
            pms.push(pm);
        } else if let Err(at) = pms.binary_search(&pm) {
            pms.insert(at, pm);
        }
    }

    fn listing_mut(&mut self, id: ListingId) -> &mut Listing {
        &mut self.listings[(id.0 - 1) as usize].0
    }

    /// Moves `count` certificates matching `pred`, lowest serials first, to
    /// `(holder, state, listing)`. The caller has checked that enough match.
    fn take(
        &mut self,
        pm: u32,
        count: u32,
        pred: impl Fn(&Piece) -> bool,
        (holder, state, listing): (u32, CertState, u64),
    ) -> Vec<SerialRange> {
        self.assert_pm(pm);
        let book = &mut self.pms[pm as usize];
        debug_assert!(book.available(&pred) >= count, "take: not enough counted");
        let mut moved: Vec<SerialRange> = Vec::new();
        let mut left = count;
        let mut i = 0;
        while left > 0 {
            assert!(
                i < book.pieces.len(),
                "take: ran out of certificates with {left} to move"
            );
            let piece = book.pieces[i];
            if !pred(&piece) {
                i += 1;
                continue;
            }
            let n = piece.count.min(left);
            let new = Piece {
                first: piece.first,
                count: n,
                holder,
                state,
                listing,
            };
            if n == piece.count {
                book.pieces[i] = new;
            } else {
                // Split: the head moves, the tail stays as it was.
                book.pieces[i].first += n;
                book.pieces[i].count -= n;
                book.pieces.insert(i, new);
            }
            i += 1;
            book.by_state[piece.state.index()] -= u64::from(n);
            book.by_state[state.index()] += u64::from(n);
            left -= n;
            let range = book.range(piece.first, n);
            match moved.last_mut().and_then(|last| last.merge(&range)) {
                Some(merged) => *moved.last_mut().expect("merged with it") = merged,
                None => moved.push(range),
            }
        }
        book.normalize();
        debug_assert_eq!(
            moved.iter().map(|r| u64::from(r.count())).sum::<u64>(),
            u64::from(count)
        );
        self.assert_pm(pm);
        moved
    }

    /// The conservation rule for one project-month: counters always (O(1)), the full scan in
    /// debug builds.
    fn assert_pm(&self, pm: u32) {
        let book = &self.pms[pm as usize];
        assert_eq!(
            book.by_state.iter().sum::<u64>(),
            u64::from(book.issued),
            "conservation broken for project {} {}",
            book.project,
            book.month
        );
        if cfg!(debug_assertions)
            && let Err(e) = self.check_pm(pm)
        {
            panic!("{e}");
        }
    }

    fn check_pm(&self, pm: u32) -> Result<(), ConservationError> {
        let book = &self.pms[pm as usize];
        let fail = |reason: String| ConservationError {
            project: book.project,
            month: book.month,
            reason,
        };
        let mut next = 1u32;
        let mut by_state = [0u64; 5];
        for (i, piece) in book.pieces.iter().enumerate() {
            if piece.count == 0 || piece.first != next {
                return Err(fail(format!(
                    "piece {i} starts at {} with {} certificates, expected a start at {next}",
                    piece.first, piece.count
                )));
            }
            if (piece.state == CertState::Listed) != (piece.listing != 0) {
                return Err(fail(format!(
                    "piece {i} is {} with listing {}",
                    piece.state, piece.listing
                )));
            }
            if piece.holder as usize >= self.accounts.len() {
                return Err(fail(format!("piece {i} has no account")));
            }
            if i > 0 && book.pieces[i - 1].same_kind(piece) {
                return Err(fail(format!("pieces {} and {i} are not merged", i - 1)));
            }
            by_state[piece.state.index()] += u64::from(piece.count);
            next = piece.first + piece.count;
        }
        if u64::from(next - 1) != u64::from(book.issued) {
            return Err(fail(format!(
                "pieces cover {} certificates, {} were issued",
                next - 1,
                book.issued
            )));
        }
        if by_state != book.by_state {
            return Err(fail(format!(
                "state counts {by_state:?} differ from the kept {:?}",
                book.by_state
            )));
        }
        Ok(())
    }

    // ---- queries ---------------------------------------------------------------------------

    /// Checks the conservation rule everywhere (spec §6, MUST): for every project and month,
    /// issued = held (issued + listed + transferred) + claimed + cancelled, the holdings
    /// partition the issued serials exactly, every listing's remaining count matches its
    /// listed certificates, and every account's index names every project-month it holds.
    /// Returns the totals.
    pub fn check_conservation(&self) -> Result<Totals, ConservationError> {
        let mut listed_per_listing = vec![0u64; self.listings.len()];
        let mut totals = Totals::default();
        for (pm, book) in self.pms.iter().enumerate() {
            self.check_pm(pm as u32)?;
            for piece in &book.pieces {
                if piece.listing != 0 {
                    let slot = listed_per_listing
                        .get_mut((piece.listing - 1) as usize)
                        .ok_or_else(|| ConservationError {
                            project: book.project,
                            month: book.month,
                            reason: format!("unknown listing {}", piece.listing),
                        })?;
                    *slot += u64::from(piece.count);
                }
                if self.accounts[piece.holder as usize]
                    .pms
                    .binary_search(&(pm as u32))
                    .is_err()
                {
                    return Err(ConservationError {
                        project: book.project,
                        month: book.month,
                        reason: format!(
                            "{} holds certificates its account does not list",
                            self.accounts[piece.holder as usize].id
                        ),
                    });
                }
            }
            totals.issued_total += u64::from(book.issued);
            totals.add_states(&book.by_state);
        }
        for ((listing, _), listed) in self.listings.iter().zip(listed_per_listing) {
            if u64::from(listing.remaining) != listed {
                return Err(ConservationError {
                    project: listing.project,
                    month: listing.month,
                    reason: format!(
                        "listing {} has {} remaining but {listed} certificates listed",
                        listing.id, listing.remaining
                    ),
                });
            }
        }
        // Each project-month balances, so their sum does.
        assert!(totals.conserved(), "totals do not add up: {totals:?}");
        Ok(totals)
    }

    /// Totals over the whole registry.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for book in &self.pms {
            totals.issued_total += u64::from(book.issued);
            totals.add_states(&book.by_state);
        }
        totals
    }

    /// Totals of one project-month, if it was issued.
    pub fn project_month_totals(&self, project: ProjectCode, month: YearMonth) -> Option<Totals> {
        let book = &self.pms[self.pm_of(project, month).ok()? as usize];
        let mut totals = Totals {
            issued_total: u64::from(book.issued),
            ..Totals::default()
        };
        totals.add_states(&book.by_state);
        Some(totals)
    }

    /// What an account holds (in every state, claimed and cancelled included), sorted by
    /// serial. Empty for an unknown participant.
    pub fn holdings(&self, participant: ParticipantId) -> Vec<Holding> {
        self.holdings_of(participant, None)
    }

    /// [`Registry::holdings`] of one production month, or of every month with `None`.
    pub fn holdings_of(
        &self,
        participant: ParticipantId,
        month: Option<YearMonth>,
    ) -> Vec<Holding> {
        let Some(&acct) = self.account_index.get(&participant) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &pm in &self.accounts[acct as usize].pms {
            let book = &self.pms[pm as usize];
            if month.is_some_and(|m| m != book.month) {
                continue;
            }
            for piece in book.pieces.iter().filter(|p| p.holder == acct) {
                out.push(Holding {
                    range: book.range(piece.first, piece.count),
                    state: piece.state,
                    listing: (piece.listing != 0).then_some(ListingId(piece.listing)),
                });
            }
        }
        out.sort_by_key(|h| h.range);
        out
    }

    /// An account's certificate counts by state (`issued_total` is the sum of them: what it
    /// holds or held at the end).
    pub fn account_totals(&self, participant: ParticipantId) -> Totals {
        let mut totals = Totals::default();
        for h in self.holdings(participant) {
            let n = u64::from(h.range.count());
            totals.issued_total += n;
            match h.state {
                CertState::Issued => totals.issued += n,
                CertState::Listed => totals.listed += n,
                CertState::Transferred => totals.transferred += n,
                CertState::Claimed => totals.claimed += n,
                CertState::Cancelled => totals.cancelled += n,
            }
        }
        totals
    }

    /// A listing, open or closed.
    pub fn listing(&self, id: ListingId) -> Option<&Listing> {
        let i = usize::try_from(id.0.checked_sub(1)?).ok()?;
        self.listings.get(i).map(|(l, _)| l)
    }

    /// The open listings, by id.
    pub fn open_listings(&self) -> impl Iterator<Item = &Listing> {
        self.listings
            .iter()
            .map(|(l, _)| l)
            .filter(|l| l.remaining > 0)
    }

    /// The sub-MWh remainder a project carries into its next issuance.
    pub fn carry(&self, project: ProjectCode) -> Option<Kwh> {
        let p = self.project_index.get(&project)?;
        Some(self.projects[*p as usize].carry)
    }

    /// The last production month expired so far.
    pub fn expired_through(&self) -> Option<YearMonth> {
        self.expired_through
    }

    /// The ledger entries held in memory, by sequence number: the whole ledger for a registry
    /// built from empty, those since its checkpoint for a restored one, and none after
    /// [`Registry::forget_entries`].
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Ledger entries after `seq` (those a store has not yet persisted), of those in memory.
    pub fn entries_after(&self, seq: u64) -> &[Entry] {
        let from = usize::try_from(seq.saturating_sub(self.base)).unwrap_or(usize::MAX);
        self.entries.get(from..).unwrap_or(&[])
    }

    /// Drops the entries held in memory (a store holds them): the state is kept, and
    /// [`Registry::entries`] is empty until the next operation.
    pub fn forget_entries(&mut self) {
        self.base = self.last_seq();
        self.entries.clear();
        self.entries.shrink_to(64);
    }

    /// The sequence number of the last entry (0 when the ledger is empty).
    pub fn last_seq(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// The time of the last entry, if any: the next operation may not be stamped earlier.
    pub fn last_at_ms(&self) -> Option<i64> {
        (self.last_seq() > 0).then_some(self.last_at_ms)
    }

    /// The last entry's hash ([`Digest::GENESIS`] when empty): the head of the chain, to keep
    /// apart from the ledger so that truncation can be detected.
    pub fn head(&self) -> Digest {
        self.head
    }

    /// Where the settlement transfers (证电合一) of `settlement_month` are in the ledger: spans
    /// `first..=last` of sequence numbers, in order, that hold every one of them (and nothing
    /// else). A final settlement's transfers are one span.
    pub fn settlement_spans(&self, settlement_month: YearMonth) -> &[(u64, u64)] {
        self.settlement_spans
            .get(&settlement_month)
            .map_or(&[], Vec::as_slice)
    }

    /// Per project and production month, its certificates issued, moved out of their first
    /// holder's account, and claimed, in issuance order.
    pub fn lifecycle_counts(&self) -> impl Iterator<Item = LifecycleCounts> + '_ {
        self.pms.iter().map(|book| LifecycleCounts {
            project: book.project,
            month: book.month,
            issued: u64::from(book.issued),
            transferred: book.moved,
            claimed: book.by_state[CertState::Claimed.index()],
        })
    }

    /// The project-months an entry body concerns, for verification.
    pub(crate) fn pms_of_body(&self, body: &Body) -> Vec<u32> {
        let pm = |project: &ProjectCode, month: &YearMonth| self.pm_of(*project, *month).ok();
        match body {
            Body::Issue { project, month, .. }
            | Body::Transfer { project, month, .. }
            | Body::List { project, month, .. }
            | Body::Claim { project, month, .. } => pm(project, month).into_iter().collect(),
            Body::Delist { listing, .. } | Body::Buy { listing, .. } => self
                .listings
                .get((listing.0.saturating_sub(1)) as usize)
                .map(|(_, pm)| *pm)
                .into_iter()
                .collect(),
            Body::Expire { cancelled, .. } => {
                let mut pms: Vec<u32> = cancelled
                    .iter()
                    .filter_map(|c| pm(&c.range.project(), &c.range.month()))
                    .collect();
                pms.dedup();
                pms
            }
        }
    }

    /// Checks one project-month (used by verification after each entry).
    pub(crate) fn check_pms(&self, pms: &[u32]) -> Result<(), ConservationError> {
        pms.iter().try_for_each(|&pm| self.check_pm(pm))
    }
}

fn check_beneficiary(name: &str) -> Result<(), RegistryError> {
    if name.is_empty() {
        return Err(RegistryError::BadBeneficiary("is empty"));
    }
    if name.trim() != name {
        return Err(RegistryError::BadBeneficiary(
            "has leading or trailing white space",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(RegistryError::BadBeneficiary(
            "contains a control character",
        ));
    }
    if name.chars().count() > MAX_BENEFICIARY_CHARS {
        return Err(RegistryError::BadBeneficiary(
            "is longer than 200 characters",
        ));
    }
    Ok(())
}
