//! A registry's state at one ledger position as bytes (a checkpoint), so that a service can
//! start from it and replay only the entries after it instead of the whole ledger.
//!
//! The bytes hold what the ledger cannot be read without, and nothing derived: the projects
//! (code, carry, last month), the accounts, every project-month's pieces as counts (the serials
//! follow from the order), the listings, the settlement spans, the expiry month and the head of
//! the chain. Indexes are rebuilt on restore. Encoding is canonical — a state has one byte
//! string — so `lvdian verify` checks a stored checkpoint by replaying the ledger to its
//! position and comparing bytes. Restoring checks every invariant it can without the ledger
//! (pieces partition the issued serials, listings match their listed certificates, indexes in
//! range) and refuses bytes that break one; it never panics on what it is given.
//!
//! ```text
//! "LVRC" 1  seq:u64 last_at_ms:i64 head:digest  expired:(0 | 1 month)
//! projects:  n (code:17 carry:i64 last_month:u32)…
//! accounts:  n (participant:u64)…
//! pms:       n (project:u32 month:u32 issued:u32 moved:u64 pieces: n (count:u32 holder:u32 state:u8 listing:u64)…)…
//! listings:  n (owner:u64 pm:u32 price:i64 listed:u32 remaining:u32)…
//! spans:     n (month:u32 n (first:u64 last:u64)…)…
//! ```
//! Integers are big-endian; `n` is a u32 count.

use std::collections::BTreeMap;

use domain::{Fen, Kwh, ParticipantId, ProjectCode};

use super::{Account, Piece, Project, ProjectMonth, Registry};
use crate::Listing;
use crate::ledger::{CertState, Dec, DecodeError, Digest, Enc, ListingId};
use crate::serial::MAX_SEQ;

const MAGIC: &[u8; 4] = b"LVRC";
const VERSION: u8 = 1;

fn bad(reason: impl Into<String>) -> DecodeError {
    DecodeError(format!("checkpoint: {}", reason.into()))
}

/// Reads the magic, the version and the position: a decoder at the rest, and the position.
fn header(bytes: &[u8]) -> Result<(Dec<'_>, u64), DecodeError> {
    let mut dec = Dec { bytes, pos: 0 };
    if dec.u32().map_err(|_| bad("too short"))?.to_be_bytes() != *MAGIC {
        return Err(bad("not a registry checkpoint (bad magic)"));
    }
    let version = dec.u8()?;
    if version != VERSION {
        return Err(bad(format!("unknown version {version}")));
    }
    let seq = dec.u64()?;
    Ok((dec, seq))
}

impl Registry {
    /// The registry's state as a checkpoint at [`Registry::last_seq`]: canonical bytes that
    /// [`Registry::restore`] reads back.
    pub fn checkpoint(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.pms.len() * 40);
        let mut enc = Enc(&mut out);
        for &b in MAGIC {
            enc.u8(b);
        }
        enc.u8(VERSION);
        enc.u64(self.last_seq());
        enc.i64(self.last_at_ms);
        enc.digest(self.head);
        match self.expired_through {
            None => enc.u8(0),
            Some(m) => {
                enc.u8(1);
                enc.month(m);
            }
        }
        let mut codes = vec![None; self.projects.len()];
        for (&code, &p) in &self.project_index {
            codes[p as usize] = Some(code);
        }
        enc.len(self.projects.len());
        for (project, code) in self.projects.iter().zip(codes) {
            enc.project(code.expect("every project is indexed"));
            enc.i64(project.carry.0);
            enc.month(project.last_month);
        }
        enc.len(self.accounts.len());
        for account in &self.accounts {
            enc.u64(account.id.0);
        }
        enc.len(self.pms.len());
        for book in &self.pms {
            enc.u32(self.project_index[&book.project]);
            enc.month(book.month);
            enc.u32(book.issued);
            enc.u64(book.moved);
            enc.len(book.pieces.len());
            for piece in &book.pieces {
                enc.u32(piece.count);
                enc.u32(piece.holder);
                enc.u8(piece.state.code());
                enc.u64(piece.listing);
            }
        }
        enc.len(self.listings.len());
        for (listing, pm) in &self.listings {
            enc.u64(listing.owner.0);
            enc.u32(*pm);
            enc.i64(listing.price_per_cert.0);
            enc.u32(listing.listed);
            enc.u32(listing.remaining);
        }
        enc.len(self.settlement_spans.len());
        for (month, spans) in &self.settlement_spans {
            enc.month(*month);
            enc.len(spans.len());
            for &(first, last) in spans {
                enc.u64(first);
                enc.u64(last);
            }
        }
        out
    }

    /// The ledger position of checkpoint bytes: the sequence number of the last entry in it.
    pub fn checkpoint_seq(bytes: &[u8]) -> Result<u64, DecodeError> {
        header(bytes).map(|(_, seq)| seq)
    }

    /// A registry from checkpoint bytes ([`Registry::checkpoint`]), holding no entries: the
    /// entries after the checkpoint's position are to be replayed onto it. Refuses bytes that
    /// are not a consistent state.
    pub fn restore(bytes: &[u8]) -> Result<Registry, DecodeError> {
        let (mut dec, seq) = header(bytes)?;
        let mut registry = Registry::new();
        registry.base = seq;
        registry.last_at_ms = dec.i64()?;
        registry.head = dec.digest()?;
        if registry.base == 0 && registry.head != Digest::GENESIS {
            return Err(bad("an empty ledger with a head"));
        }
        registry.expired_through = match dec.u8()? {
            0 => None,
            1 => Some(dec.month()?),
            other => return Err(bad(format!("expiry flag {other}"))),
        };
        for p in 0..dec.len(29)? {
            let code = dec.project()?;
            let carry = dec.i64()?;
            if !(0..1000).contains(&carry) {
                return Err(bad(format!("project {code} carries {carry} kWh")));
            }
            let last_month = dec.month()?;
            registry.projects.push(Project {
                carry: Kwh(carry),
                last_month,
                months: Vec::new(),
            });
            if registry.project_index.insert(code, p as u32).is_some() {
                return Err(bad(format!("project {code} twice")));
            }
        }
        let mut codes: Vec<ProjectCode> = Vec::with_capacity(registry.projects.len());
        codes.extend(registry.project_index.iter().map(|(&code, _)| code));
        codes.sort_by_key(|code| registry.project_index[code]);
        for a in 0..dec.len(8)? {
            let id = ParticipantId(dec.u64()?);
            registry.accounts.push(Account {
                id,
                pms: Vec::new(),
            });
            if registry.account_index.insert(id, a as u32).is_some() {
                return Err(bad(format!("account {id} twice")));
            }
        }
        for pm in 0..dec.len(24)? {
            let pm = pm as u32;
            let p = dec.u32()?;
            let project = registry
                .projects
                .get_mut(p as usize)
                .ok_or_else(|| bad(format!("project-month {pm} names project {p}")))?;
            let code = codes[p as usize];
            let month = dec.month()?;
            if project
                .months
                .last()
                .is_some_and(|&(last, _)| last >= month)
            {
                return Err(bad(format!(
                    "{code} {month} is not after its previous month"
                )));
            }
            project.months.push((month, pm));
            let issued = dec.u32()?;
            let moved = dec.u64()?;
            if issued > MAX_SEQ || moved > u64::from(issued) {
                return Err(bad(format!(
                    "{code} {month}: {issued} issued, {moved} moved"
                )));
            }
            let mut book = ProjectMonth {
                project: code,
                month,
                issued,
                pieces: Vec::new(),
                by_state: [0; 5],
                moved,
            };
            let mut first = 1u32;
            for _ in 0..dec.len(17)? {
                let count = dec.u32()?;
                let holder = dec.u32()?;
                let code = dec.u8()?;
                let state = CertState::from_code(code)
                    .ok_or_else(|| bad(format!("unknown state {code}")))?;
                let listing = dec.u64()?;
                if count == 0 || count > issued - (first - 1) {
                    return Err(bad(format!(
                        "{} {month}: a piece of {count} at {first} of {issued}",
                        book.project
                    )));
                }
                let account = registry
                    .accounts
                    .get_mut(holder as usize)
                    .ok_or_else(|| bad(format!("a piece held by account {holder}")))?;
                if account.pms.last() != Some(&pm) {
                    account.pms.push(pm);
                }
                book.pieces.push(Piece {
                    first,
                    count,
                    holder,
                    state,
                    listing,
                });
                book.by_state[state.index()] += u64::from(count);
                first += count;
            }
            registry.pms.push(book);
            registry.pms_by_month.entry(month).or_default().push(pm);
        }
        for (p, project) in registry.projects.iter().enumerate() {
            if project.months.last().map(|&(m, _)| m) != Some(project.last_month) {
                return Err(bad(format!(
                    "project {} has no project-month {}",
                    codes[p], project.last_month
                )));
            }
        }
        for i in 0..dec.len(28)? {
            let owner = ParticipantId(dec.u64()?);
            let pm = dec.u32()?;
            let book = registry
                .pms
                .get(pm as usize)
                .ok_or_else(|| bad(format!("listing {} names project-month {pm}", i + 1)))?;
            let listing = Listing {
                id: ListingId(i as u64 + 1),
                owner,
                project: book.project,
                month: book.month,
                price_per_cert: Fen(dec.i64()?),
                listed: dec.u32()?,
                remaining: dec.u32()?,
            };
            if listing.remaining > listing.listed || listing.price_per_cert.0 < 0 {
                return Err(bad(format!("listing {} is not a listing", listing.id)));
            }
            registry.listings.push((listing, pm));
        }
        for (pm, book) in registry.pms.iter().enumerate() {
            for piece in book.pieces.iter().filter(|p| p.listing != 0) {
                let of = usize::try_from(piece.listing - 1)
                    .ok()
                    .and_then(|i| registry.listings.get(i));
                if of.is_none_or(|&(_, at)| at as usize != pm) {
                    return Err(bad(format!(
                        "{} {} lists certificates under listing {}",
                        book.project, book.month, piece.listing
                    )));
                }
            }
        }
        let mut spans = BTreeMap::new();
        for _ in 0..dec.len(8)? {
            let month = dec.month()?;
            let mut list: Vec<(u64, u64)> = Vec::new();
            for _ in 0..dec.len(16)? {
                let (first, last) = (dec.u64()?, dec.u64()?);
                let follows = list
                    .last()
                    .is_none_or(|&(_, l)| first > l.saturating_add(1));
                if first == 0 || first > last || last > registry.base || !follows {
                    return Err(bad(format!("the settlement spans of {month}")));
                }
                list.push((first, last));
            }
            if spans.insert(month, list).is_some() {
                return Err(bad(format!("the settlement spans of {month} twice")));
            }
        }
        registry.settlement_spans = spans;
        if dec.pos != bytes.len() {
            return Err(bad(format!(
                "{} bytes after the state",
                bytes.len() - dec.pos
            )));
        }
        registry
            .check_conservation()
            .map_err(|e| bad(e.to_string()))?;
        Ok(registry)
    }
}
