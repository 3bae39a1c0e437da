//! lvdian's green certificate registry (绿证, GEC): who holds which certificates, in which state,
//! and a hash-chained ledger of every change.
//!
//! One certificate certifies 1 MWh of a project's metered on-grid energy of one production month.
//! Its [`Serial`] has 32 digits: the 17-digit project filing code, the month `YYYYMM` and a
//! 9-digit sequence number from 1 per project-month. Certificates are held as [`SerialRange`]s
//! (`"<first serial>-<last serial>"`), never one row per MWh, so a national ledger of billions
//! of MWh stays small.
//!
//! The [`Registry`] is the authoritative in-memory model. Every certificate is in exactly one
//! [`CertState`] and one account at a time: `issued → (listed) → transferred → claimed`, or
//! `cancelled` once expired. Its operations — [`Registry::issue`], [`Registry::transfer`]
//! (settlement, 证电合一, or a bilateral trade), [`Registry::list`], [`Registry::delist`],
//! [`Registry::buy_listing`], [`Registry::claim`], [`Registry::expire`] — each append exactly
//! one ledger [`Entry`] or return a typed [`RegistryError`] having changed nothing. The rules:
//!
//! - Issuance: `floor((metered + carry_in) / 1000)` certificates per project-month, the kWh
//!   remainder carried to the project's next issued month.
//! - Trade once: a certificate moves out of its first holder's account at most once; after that
//!   it can only be claimed or expire.
//! - Claim: by the holder of transferred certificates, or by the first holder of certificates
//!   never transferred (self-declared consumption); final.
//! - Expiry: certificates of production month `M` are valid for months `M ..= M+23` and expire
//!   at the start of `M+24` ([`expiry_month`]); `expire(now)` cancels every unclaimed
//!   certificate of months `≤ now − 24`.
//! - Conservation (MUST): per project and month, issued = held + claimed + cancelled, where
//!   held = issued, listed or transferred; asserted on both sides of every operation and checked
//!   in full by [`Registry::check_conservation`].
//!
//! The [`ledger`] module defines the entries, their canonical bytes and their SHA-256 chain;
//! [`verify`] / [`verify_bytes`] recompute the chain and replay the entries into a fresh
//! registry, naming the first bad entry. [`consumption_certificate`] renders a buyer's green
//! power consumption certificate as HTML and PDF.
//!
//! Architecture invariant: pure. No IO, no clock (times come with each command), no SQL, no
//! floating point, no `HashMap` iteration reaching a result. A certificate range is never split
//! without a ledger entry.

mod certificate;
mod error;
pub mod ledger;
mod month;
mod pdf;
mod registry;
mod serial;
mod verify;

pub use certificate::{
    ConsumptionLine, Document, DocumentError, consumption_certificate, consumption_lines,
};
pub use error::RegistryError;
pub use ledger::{
    Body, Cancelled, CertState, Command, DecodeError, Digest, Entry, HashAlg, ListingId,
    TransferReason,
};
pub use month::YearMonth;
pub use registry::{
    ConservationError, Holding, LifecycleCounts, Listing, MAX_BENEFICIARY_CHARS, Registry, Totals,
    VALIDITY_MONTHS, expiry_month,
};
pub use serial::{MAX_SEQ, Serial, SerialRange};
pub use verify::{
    StreamVerifier, VerifyError, VerifyFailure, VerifyReport, replay, resume, verify, verify_bytes,
    verify_bytes_with_checkpoint,
};
