//! The append-only, hash-chained ledger: its entries, their canonical bytes and their hashes.
//!
//! # Entry format
//!
//! An [`Entry`] is `{seq, at_ms, prev_hash, hash, body}`. `seq` counts from 1 without gaps;
//! `prev_hash` is the previous entry's `hash` ([`Digest::GENESIS`], 32 zero bytes, for entry 1);
//! `hash = SHA-256(prev_hash.bytes ‖ canonical bytes)`. Every digest carries its algorithm id
//! (`"sha256"`), written `"sha256:<64 hex digits>"` in JSON.
//!
//! The canonical bytes are a hand-written, fixed-order binary encoding, fully determined by the
//! entry's values (all integers big-endian):
//!
//! ```text
//! canonical = "LVDG" | version u8 (1) | seq u64 | at_ms i64 | body
//! stored    = "LVDG" | version u8 (1) | seq u64 | at_ms i64
//!             | prev alg u8 (1 = sha256) | prev 32 bytes | hash alg u8 | hash 32 bytes | body
//! ```
//!
//! `body` starts with a tag byte (1 issue, 2 transfer, 3 list, 4 delist, 5 buy, 6 claim,
//! 7 expire) followed by the variant's fields in declaration order: ids `u64`, kWh and fen `i64`,
//! counts `u32`, a project code its 17 ASCII digits, a month `u32` `YYYYMM`, a serial range
//! project + month + first `u32` + count `u32`, a string `u32` length + UTF-8, a list `u32`
//! length + items, an option a byte 0 or 1 + the value, a state one byte (1 issued … 5
//! cancelled). [`Entry::to_bytes`] gives the stored bytes and [`Entry::from_bytes`] reads them
//! back, refusing any byte string that is not exactly the encoding of the entry it decodes to,
//! so an entry is re-verifiable from its stored bytes. Entries are also `serde` values (JSON
//! for the API); the hash is always over the canonical bytes, never over JSON.

use std::fmt;

use domain::{ContractId, Fen, Kwh, ParticipantId, ProjectCode, SessionId};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{SerialRange, YearMonth};

const MAGIC: &[u8; 4] = b"LVDG";
const VERSION: u8 = 1;

/// A standalone listing's id (挂牌), given by the registry from 1 in listing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ListingId(pub u64);

impl fmt::Display for ListingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.0)
    }
}

/// Where a certificate is in its life (spec §6): `issued → (listed) → transferred → claimed`,
/// or `cancelled` once expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertState {
    /// In its first holder's account (the project's owner), free to list, transfer or claim.
    Issued,
    /// Offered by its first holder in a standalone listing; moves only by a purchase of it.
    Listed,
    /// Moved once to a buyer. Trade once: it may now only be claimed or expire.
    Transferred,
    /// 核销: declared consumed for a beneficiary. Final.
    Claimed,
    /// Expired unclaimed and cancelled (注销). Final.
    Cancelled,
}

impl CertState {
    /// All states, in life order.
    pub const ALL: [CertState; 5] = [
        CertState::Issued,
        CertState::Listed,
        CertState::Transferred,
        CertState::Claimed,
        CertState::Cancelled,
    ];

    /// The state's name in files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CertState::Issued => "issued",
            CertState::Listed => "listed",
            CertState::Transferred => "transferred",
            CertState::Claimed => "claimed",
            CertState::Cancelled => "cancelled",
        }
    }

    /// Whether certificates in this state are still held (counted as `held` by the
    /// conservation rule): issued, listed or transferred.
    pub fn is_held(self) -> bool {
        matches!(
            self,
            CertState::Issued | CertState::Listed | CertState::Transferred
        )
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn code(self) -> u8 {
        self as u8 + 1
    }

    pub(crate) fn from_code(code: u8) -> Option<CertState> {
        CertState::ALL
            .get(usize::from(code).checked_sub(1)?)
            .copied()
    }
}

impl fmt::Display for CertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why certificates move in a [`Command::Transfer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransferReason {
    /// 证电合一: the final settlement of a green power contract moves its `Q_env` certificates
    /// with the energy.
    Settlement {
        /// The settled contract.
        contract: ContractId,
        /// The session that made it.
        session: SessionId,
        /// The settled month.
        settlement_month: YearMonth,
    },
    /// A standalone bilateral certificate trade, lot 1 certificate.
    Bilateral {
        /// Price in fen per certificate (shown as yuan per certificate).
        price_per_cert: Fen,
    },
}

/// What a caller asks the registry to do: the inputs of one operation. Every ledger entry's
/// body holds its command ([`Body::command`]) and the effects the rules gave it, so replaying
/// the commands reproduces the bodies exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Issue a project's certificates for one production month from its metered energy.
    Issue {
        /// The project.
        project: ProjectCode,
        /// Who receives the certificates (the project's owner).
        owner: ParticipantId,
        /// The production month.
        month: YearMonth,
        /// The project's metered on-grid energy of the month.
        metered_kwh: Kwh,
    },
    /// Move certificates of one project-month from their first holder to another account.
    Transfer {
        /// Who gives.
        from: ParticipantId,
        /// Who receives.
        to: ParticipantId,
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
        /// How many.
        count: u32,
        /// Settlement or bilateral trade.
        reason: TransferReason,
    },
    /// Offer certificates in a standalone listing.
    List {
        /// Who offers (their first holder).
        owner: ParticipantId,
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
        /// How many.
        count: u32,
        /// Fen per certificate.
        price_per_cert: Fen,
    },
    /// Withdraw what is left of a listing.
    Delist {
        /// The listing's owner.
        owner: ParticipantId,
        /// The listing.
        listing: ListingId,
    },
    /// Buy certificates from a listing (摘牌), at its price.
    BuyListing {
        /// The listing.
        listing: ListingId,
        /// Who buys.
        buyer: ParticipantId,
        /// How many.
        count: u32,
    },
    /// Claim (核销) certificates for a beneficiary.
    Claim {
        /// Who holds them.
        holder: ParticipantId,
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
        /// How many.
        count: u32,
        /// For whose consumption.
        beneficiary: String,
    },
    /// Expire and cancel every unclaimed certificate whose validity ended before `now_month`.
    Expire {
        /// The current month.
        now_month: YearMonth,
    },
}

/// Certificates cancelled by an expiry, with the holder and state they had.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cancelled {
    /// Their holder (they stay in its account, cancelled).
    pub holder: ParticipantId,
    /// Their state before: issued, listed or transferred.
    pub was: CertState,
    /// The serials.
    pub range: SerialRange,
}

/// What one ledger entry records: the command and its effects.
///
/// `ranges` lists the certificates moved, sorted by serial, adjacent ones merged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// Certificates issued to a project's owner.
    Issue {
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
        /// Who received them.
        owner: ParticipantId,
        /// The metered energy of the month.
        metered_kwh: Kwh,
        /// The sub-MWh remainder carried in from the project's previous issuance.
        carry_in_kwh: Kwh,
        /// The sub-MWh remainder carried to the project's next issuance.
        carry_out_kwh: Kwh,
        /// The certificates issued, `None` when less than 1 MWh.
        issued: Option<SerialRange>,
    },
    /// Certificates moved from their first holder to another account.
    Transfer {
        /// Who gave.
        from: ParticipantId,
        /// Who received.
        to: ParticipantId,
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
        /// How many.
        count: u32,
        /// Why.
        reason: TransferReason,
        /// The certificates moved.
        ranges: Vec<SerialRange>,
    },
    /// Certificates offered in a listing.
    List {
        /// The new listing.
        listing: ListingId,
        /// Who offers.
        owner: ParticipantId,
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
        /// How many.
        count: u32,
        /// Fen per certificate.
        price_per_cert: Fen,
        /// The certificates listed.
        ranges: Vec<SerialRange>,
    },
    /// A listing withdrawn; what was left returns to `issued`.
    Delist {
        /// The listing.
        listing: ListingId,
        /// Its owner.
        owner: ParticipantId,
        /// The certificates returned.
        ranges: Vec<SerialRange>,
    },
    /// Certificates bought from a listing.
    Buy {
        /// The listing.
        listing: ListingId,
        /// Its owner.
        seller: ParticipantId,
        /// Who bought.
        buyer: ParticipantId,
        /// How many.
        count: u32,
        /// Fen per certificate, the listing's price.
        price_per_cert: Fen,
        /// The certificates moved.
        ranges: Vec<SerialRange>,
    },
    /// Certificates claimed.
    Claim {
        /// Who held them.
        holder: ParticipantId,
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
        /// How many.
        count: u32,
        /// For whose consumption.
        beneficiary: String,
        /// The certificates claimed.
        ranges: Vec<SerialRange>,
    },
    /// An expiry run.
    Expire {
        /// The month it ran in.
        now_month: YearMonth,
        /// The last production month it expired (`now_month` − 24).
        expired_through: YearMonth,
        /// What it cancelled, sorted by serial.
        cancelled: Vec<Cancelled>,
        /// The listings it closed because their certificates expired, by id.
        closed_listings: Vec<ListingId>,
    },
}

impl Body {
    /// The command this body records, which replaying applies again.
    pub fn command(&self) -> Command {
        match self {
            Body::Issue {
                project,
                month,
                owner,
                metered_kwh,
                ..
            } => Command::Issue {
                project: *project,
                owner: *owner,
                month: *month,
                metered_kwh: *metered_kwh,
            },
            Body::Transfer {
                from,
                to,
                project,
                month,
                count,
                reason,
                ..
            } => Command::Transfer {
                from: *from,
                to: *to,
                project: *project,
                month: *month,
                count: *count,
                reason: *reason,
            },
            Body::List {
                owner,
                project,
                month,
                count,
                price_per_cert,
                ..
            } => Command::List {
                owner: *owner,
                project: *project,
                month: *month,
                count: *count,
                price_per_cert: *price_per_cert,
            },
            Body::Delist { listing, owner, .. } => Command::Delist {
                owner: *owner,
                listing: *listing,
            },
            Body::Buy {
                listing,
                buyer,
                count,
                ..
            } => Command::BuyListing {
                listing: *listing,
                buyer: *buyer,
                count: *count,
            },
            Body::Claim {
                holder,
                project,
                month,
                count,
                beneficiary,
                ..
            } => Command::Claim {
                holder: *holder,
                project: *project,
                month: *month,
                count: *count,
                beneficiary: beneficiary.clone(),
            },
            Body::Expire { now_month, .. } => Command::Expire {
                now_month: *now_month,
            },
        }
    }

    /// The certificates this entry moved (issued, transferred, listed, returned, bought,
    /// claimed or cancelled), sorted by serial.
    pub fn ranges(&self) -> Vec<SerialRange> {
        match self {
            Body::Issue { issued, .. } => issued.iter().copied().collect(),
            Body::Transfer { ranges, .. }
            | Body::List { ranges, .. }
            | Body::Delist { ranges, .. }
            | Body::Buy { ranges, .. }
            | Body::Claim { ranges, .. } => ranges.clone(),
            Body::Expire { cancelled, .. } => cancelled.iter().map(|c| c.range).collect(),
        }
    }

    /// The operation's name: `issue`, `transfer`, `list`, `delist`, `buy`, `claim`, `expire`.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::Issue { .. } => "issue",
            Body::Transfer { .. } => "transfer",
            Body::List { .. } => "list",
            Body::Delist { .. } => "delist",
            Body::Buy { .. } => "buy",
            Body::Claim { .. } => "claim",
            Body::Expire { .. } => "expire",
        }
    }
}

/// A hash algorithm a [`Digest`] was made with. Only SHA-256 for now; the id travels with
/// every hash so that a later algorithm can be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256, id `"sha256"`.
    Sha256,
}

impl HashAlg {
    /// The algorithm's id.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
        }
    }
}

/// A hash with its algorithm id: `"sha256:<64 hex digits>"` in text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest {
    /// The algorithm.
    pub alg: HashAlg,
    /// The hash.
    pub bytes: [u8; 32],
}

impl Digest {
    /// The `prev_hash` of the first entry: SHA-256 id, 32 zero bytes.
    pub const GENESIS: Digest = Digest {
        alg: HashAlg::Sha256,
        bytes: [0; 32],
    };

    /// Parses `"sha256:<64 lower-case hex digits>"`.
    pub fn parse(text: &str) -> Result<Digest, DecodeError> {
        let bad = || DecodeError(format!("`{text}` is not a digest `sha256:<64 hex digits>`"));
        let hex = text.strip_prefix("sha256:").ok_or_else(bad)?;
        if hex.len() != 64 {
            return Err(bad());
        }
        let nibble = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        };
        let mut bytes = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            bytes[i] = nibble(pair[0]).ok_or_else(bad)? << 4 | nibble(pair[1]).ok_or_else(bad)?;
        }
        Ok(Digest {
            alg: HashAlg::Sha256,
            bytes,
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alg.as_str())?;
        f.write_str(":")?;
        for b in self.bytes {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TryFrom<String> for Digest {
    type Error = DecodeError;
    fn try_from(text: String) -> Result<Digest, DecodeError> {
        Digest::parse(&text)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_string()
    }
}

/// Bytes or text that are not a well-formed ledger entry or digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// One ledger entry. See the [module docs](self) for the format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the ledger, from 1 without gaps.
    pub seq: u64,
    /// When the operation happened, in the caller's clock (ms since the Unix epoch).
    pub at_ms: i64,
    /// The previous entry's hash ([`Digest::GENESIS`] for entry 1).
    pub prev_hash: Digest,
    /// `SHA-256(prev_hash ‖ canonical bytes)`.
    pub hash: Digest,
    /// What happened.
    pub body: Body,
}

impl Entry {
    /// An entry with its hash computed: the way to make an entry that chains onto `prev_hash`.
    pub fn seal(seq: u64, at_ms: i64, prev_hash: Digest, body: Body) -> Entry {
        let hash = hash_of(prev_hash, seq, at_ms, &body);
        Entry {
            seq,
            at_ms,
            prev_hash,
            hash,
            body,
        }
    }

    /// The canonical bytes that are hashed (everything but the two digests).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        Enc(&mut out).canonical(self.seq, self.at_ms, &self.body);
        out
    }

    /// The hash this entry should have, recomputed from its `prev_hash` and content.
    pub fn computed_hash(&self) -> Digest {
        hash_of(self.prev_hash, self.seq, self.at_ms, &self.body)
    }

    /// The stored bytes: the canonical encoding with both digests.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        let mut enc = Enc(&mut out);
        enc.header(self.seq, self.at_ms);
        enc.digest(self.prev_hash);
        enc.digest(self.hash);
        enc.body(&self.body);
        out
    }

    /// Reads stored bytes back. Refuses bytes that are not exactly [`Entry::to_bytes`] of the
    /// entry they decode to (trailing bytes, unknown tags, a bool that is neither 0 nor 1, …).
    /// It does not check the hash: that is [`crate::verify`]'s job.
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, DecodeError> {
        let mut dec = Dec { bytes, pos: 0 };
        if dec.take(4)? != MAGIC {
            return Err(DecodeError("not a ledger entry (bad magic)".into()));
        }
        let version = dec.u8()?;
        if version != VERSION {
            return Err(DecodeError(format!("unknown entry version {version}")));
        }
        let seq = dec.u64()?;
        let at_ms = dec.i64()?;
        let prev_hash = dec.digest()?;
        let hash = dec.digest()?;
        let body = dec.body()?;
        if dec.pos != bytes.len() {
            return Err(DecodeError(format!(
                "{} bytes after the entry",
                bytes.len() - dec.pos
            )));
        }
        let entry = Entry {
            seq,
            at_ms,
            prev_hash,
            hash,
            body,
        };
        // Decoding is strict field by field, so this holds; it is cheap insurance that one
        // entry has exactly one byte string.
        if entry.to_bytes() != bytes {
            return Err(DecodeError("not in canonical form".into()));
        }
        Ok(entry)
    }

    /// The certificates the entry moved, sorted by serial.
    pub fn ranges(&self) -> Vec<SerialRange> {
        self.body.ranges()
    }
}

/// `SHA-256(prev_hash ‖ canonical bytes)`, streamed into the hasher without a buffer.
pub(crate) fn hash_of(prev_hash: Digest, seq: u64, at_ms: i64, body: &Body) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.bytes);
    Enc(&mut hasher).canonical(seq, at_ms, body);
    Digest {
        alg: HashAlg::Sha256,
        bytes: hasher.finalize().into(),
    }
}

/// Where encoded bytes go: a buffer or straight into a hasher.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

pub(crate) struct Enc<'a, S: Sink>(pub(crate) &'a mut S);

impl<S: Sink> Enc<'_, S> {
    fn canonical(&mut self, seq: u64, at_ms: i64, body: &Body) {
        self.header(seq, at_ms);
        self.body(body);
    }

    fn header(&mut self, seq: u64, at_ms: i64) {
        self.0.put(MAGIC);
        self.u8(VERSION);
        self.u64(seq);
        self.i64(at_ms);
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.0.put(&[v]);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.put(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.put(&v.to_be_bytes());
    }
    pub(crate) fn i64(&mut self, v: i64) {
        self.0.put(&v.to_be_bytes());
    }
    pub(crate) fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).expect("a ledger list or string over 4 GiB"));
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.put(s.as_bytes());
    }
    pub(crate) fn digest(&mut self, d: Digest) {
        self.u8(match d.alg {
            HashAlg::Sha256 => 1,
        });
        self.0.put(&d.bytes);
    }
    pub(crate) fn project(&mut self, p: ProjectCode) {
        self.0.put(p.as_str().as_bytes());
    }
    pub(crate) fn month(&mut self, m: YearMonth) {
        self.u32(m.yyyymm());
    }
    fn range(&mut self, r: &SerialRange) {
        self.project(r.project());
        self.month(r.month());
        self.u32(r.first());
        self.u32(r.count());
    }
    fn ranges(&mut self, rs: &[SerialRange]) {
        self.len(rs.len());
        for r in rs {
            self.range(r);
        }
    }
    fn reason(&mut self, reason: &TransferReason) {
        match reason {
            TransferReason::Settlement {
                contract,
                session,
                settlement_month,
            } => {
                self.u8(1);
                self.u64(contract.0);
                self.u64(session.0);
                self.month(*settlement_month);
            }
            TransferReason::Bilateral { price_per_cert } => {
                self.u8(2);
                self.i64(price_per_cert.0);
            }
        }
    }

    fn body(&mut self, body: &Body) {
        match body {
            Body::Issue {
                project,
                month,
                owner,
                metered_kwh,
                carry_in_kwh,
                carry_out_kwh,
                issued,
            } => {
                self.u8(1);
                self.project(*project);
                self.month(*month);
                self.u64(owner.0);
                self.i64(metered_kwh.0);
                self.i64(carry_in_kwh.0);
                self.i64(carry_out_kwh.0);
                match issued {
                    None => self.u8(0),
                    Some(r) => {
                        self.u8(1);
                        self.range(r);
                    }
                }
            }
            Body::Transfer {
                from,
                to,
                project,
                month,
                count,
                reason,
                ranges,
            } => {
                self.u8(2);
                self.u64(from.0);
                self.u64(to.0);
                self.project(*project);
                self.month(*month);
                self.u32(*count);
                self.reason(reason);
                self.ranges(ranges);
            }
            Body::List {
                listing,
                owner,
                project,
                month,
                count,
                price_per_cert,
                ranges,
            } => {
                self.u8(3);
                self.u64(listing.0);
                self.u64(owner.0);
                self.project(*project);
                self.month(*month);
                self.u32(*count);
                self.i64(price_per_cert.0);
                self.ranges(ranges);
            }
            Body::Delist {
                listing,
                owner,
                ranges,
            } => {
                self.u8(4);
                self.u64(listing.0);
                self.u64(owner.0);
                self.ranges(ranges);
            }
            Body::Buy {
                listing,
                seller,
                buyer,
                count,
                price_per_cert,
                ranges,
            } => {
                self.u8(5);
                self.u64(listing.0);
                self.u64(seller.0);
                self.u64(buyer.0);
                self.u32(*count);
                self.i64(price_per_cert.0);
                self.ranges(ranges);
            }
            Body::Claim {
                holder,
                project,
                month,
                count,
                beneficiary,
                ranges,
            } => {
                self.u8(6);
                self.u64(holder.0);
                self.project(*project);
                self.month(*month);
                self.u32(*count);
                self.str(beneficiary);
                self.ranges(ranges);
            }
            Body::Expire {
                now_month,
                expired_through,
                cancelled,
                closed_listings,
            } => {
                self.u8(7);
                self.month(*now_month);
                self.month(*expired_through);
                self.len(cancelled.len());
                for c in cancelled {
                    self.u64(c.holder.0);
                    self.u8(c.was.code());
                    self.range(&c.range);
                }
                self.len(closed_listings.len());
                for l in closed_listings {
                    self.u64(l.0);
                }
            }
        }
    }
}

pub(crate) struct Dec<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Dec<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| DecodeError(format!("truncated at byte {}", self.pos)))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    /// A list length, bounded by the bytes left (each item takes at least `min_item` bytes).
    pub(crate) fn len(&mut self, min_item: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item) > self.bytes.len() - self.pos {
            return Err(DecodeError(format!(
                "a list of {n} items does not fit the entry"
            )));
        }
        Ok(n)
    }
    pub(crate) fn str(&mut self) -> Result<String, DecodeError> {
        let n = self.len(1)?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("a string is not UTF-8".into()))
    }
    pub(crate) fn digest(&mut self) -> Result<Digest, DecodeError> {
        match self.u8()? {
            1 => Ok(Digest {
                alg: HashAlg::Sha256,
                bytes: self.array()?,
            }),
            other => Err(DecodeError(format!("unknown hash algorithm {other}"))),
        }
    }
    pub(crate) fn project(&mut self) -> Result<ProjectCode, DecodeError> {
        let bytes = self.take(17)?;
        std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| ProjectCode::parse(s).ok())
            .ok_or_else(|| DecodeError("a project code is not 17 digits".into()))
    }
    pub(crate) fn month(&mut self) -> Result<YearMonth, DecodeError> {
        let v = self.u32()?;
        YearMonth::from_yyyymm(v).map_err(|e| DecodeError(e.to_string()))
    }
    pub(crate) fn participant(&mut self) -> Result<ParticipantId, DecodeError> {
        Ok(ParticipantId(self.u64()?))
    }
    fn range(&mut self) -> Result<SerialRange, DecodeError> {
        let project = self.project()?;
        let month = self.month()?;
        let first = self.u32()?;
        let count = self.u32()?;
        SerialRange::new(project, month, first, count).map_err(|e| DecodeError(e.to_string()))
    }
    fn ranges(&mut self) -> Result<Vec<SerialRange>, DecodeError> {
        let n = self.len(29)?;
        (0..n).map(|_| self.range()).collect()
    }
    fn state(&mut self) -> Result<CertState, DecodeError> {
        let code = self.u8()?;
        CertState::from_code(code).ok_or_else(|| DecodeError(format!("unknown state {code}")))
    }
    fn reason(&mut self) -> Result<TransferReason, DecodeError> {
        match self.u8()? {
            1 => Ok(TransferReason::Settlement {
                contract: ContractId(self.u64()?),
                session: SessionId(self.u64()?),
                settlement_month: self.month()?,
            }),
            2 => Ok(TransferReason::Bilateral {
                price_per_cert: Fen(self.i64()?),
            }),
            other => Err(DecodeError(format!("unknown transfer reason {other}"))),
        }
    }

    fn body(&mut self) -> Result<Body, DecodeError> {
        let tag = self.u8()?;
        let body = match tag {
            1 => Body::Issue {
                project: self.project()?,
                month: self.month()?,
                owner: self.participant()?,
                metered_kwh: Kwh(self.i64()?),
                carry_in_kwh: Kwh(self.i64()?),
                carry_out_kwh: Kwh(self.i64()?),
                issued: match self.u8()? {
                    0 => None,
                    1 => Some(self.range()?),
                    other => return Err(DecodeError(format!("bad option byte {other}"))),
                },
            },
            2 => Body::Transfer {
                from: self.participant()?,
                to: self.participant()?,
                project: self.project()?,
                month: self.month()?,
                count: self.u32()?,
                reason: self.reason()?,
                ranges: self.ranges()?,
            },
            3 => Body::List {
                listing: ListingId(self.u64()?),
                owner: self.participant()?,
                project: self.project()?,
                month: self.month()?,
                count: self.u32()?,
                price_per_cert: Fen(self.i64()?),
                ranges: self.ranges()?,
            },
            4 => Body::Delist {
                listing: ListingId(self.u64()?),
                owner: self.participant()?,
                ranges: self.ranges()?,
            },
            5 => Body::Buy {
                listing: ListingId(self.u64()?),
                seller: self.participant()?,
                buyer: self.participant()?,
                count: self.u32()?,
                price_per_cert: Fen(self.i64()?),
                ranges: self.ranges()?,
            },
            6 => Body::Claim {
                holder: self.participant()?,
                project: self.project()?,
                month: self.month()?,
                count: self.u32()?,
                beneficiary: self.str()?,
                ranges: self.ranges()?,
            },
            7 => {
                let now_month = self.month()?;
                let expired_through = self.month()?;
                let n = self.len(38)?;
                let cancelled = (0..n)
                    .map(|_| {
                        Ok(Cancelled {
                            holder: self.participant()?,
                            was: self.state()?,
                            range: self.range()?,
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?;
                let n = self.len(8)?;
                let closed_listings = (0..n)
                    .map(|_| Ok(ListingId(self.u64()?)))
                    .collect::<Result<_, DecodeError>>()?;
                Body::Expire {
                    now_month,
                    expired_through,
                    cancelled,
                    closed_listings,
                }
            }
            other => return Err(DecodeError(format!("unknown entry kind {other}"))),
        };
        Ok(body)
    }
}
