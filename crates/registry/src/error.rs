//! The registry's typed refusals.

use domain::{Fen, Kwh, ParticipantId, ProjectCode};

use crate::{ListingId, YearMonth};

/// Why the registry refused an operation. A refused operation changed nothing and wrote no
/// ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A month that is not `YYYY-MM` with a year of four digits.
    #[error("`{0}` is not a month YYYY-MM")]
    BadMonth(String),
    /// A serial or serial range that is not well formed.
    #[error("`{0}` is not a certificate serial (range)")]
    BadSerial(String),
    /// An operation on zero certificates.
    #[error("the number of certificates must be at least 1")]
    ZeroCount,
    /// Metered energy below zero.
    #[error("metered energy {metered} is negative")]
    NegativeEnergy {
        /// What was given.
        metered: Kwh,
    },
    /// Issuance for a month not after the project's last issued month (each project-month is
    /// issued once, in month order, so the carried remainder is well defined).
    #[error("project {project} was already issued for {last}; {month} must come after it")]
    MonthNotAfterLast {
        /// The project.
        project: ProjectCode,
        /// The month asked for.
        month: YearMonth,
        /// The project's last issued month.
        last: YearMonth,
    },
    /// Issuance for a production month whose certificates have already expired.
    #[error("certificates of {month} have expired (every month up to {expired_through} has)")]
    MonthExpired {
        /// The month asked for.
        month: YearMonth,
        /// The last expired production month.
        expired_through: YearMonth,
    },
    /// More certificates in one project-month than nine digits of sequence can number.
    #[error("project {project} {month}: more than 999,999,999 certificates")]
    SequenceExhausted {
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
    },
    /// No certificates were ever issued for this project and month.
    #[error("no certificates were issued for project {project} in {month}")]
    UnknownProjectMonth {
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
    },
    /// A transfer to the account it comes from, or a purchase of one's own listing.
    #[error("{0} cannot trade with itself")]
    SameAccount(ParticipantId),
    /// A price below zero.
    #[error("price {0} yuan per certificate is negative")]
    NegativePrice(Fen),
    /// Fewer certificates in the needed state than asked for.
    #[error(
        "{participant} holds {available} certificates of project {project} {month} that it may \
         {action}, not {requested}"
    )]
    Insufficient {
        /// Who was to give them.
        participant: ParticipantId,
        /// What it was to do with them: `transfer`, `list` or `claim`.
        action: &'static str,
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
        /// How many were asked for.
        requested: u32,
        /// How many it holds in a state that allows the action.
        available: u32,
    },
    /// Certificates already transferred once may not be transferred again (trade once); they
    /// may only be claimed or expire.
    #[error(
        "{participant} holds {transferred_once} certificates of project {project} {month} that \
         were already transferred once and may only be claimed; it may transfer {transferable}, \
         not {requested}"
    )]
    AlreadyTransferred {
        /// Who was to give them.
        participant: ParticipantId,
        /// The project.
        project: ProjectCode,
        /// The production month.
        month: YearMonth,
        /// How many were asked for.
        requested: u32,
        /// How many it may transfer (issued to it, not listed).
        transferable: u32,
        /// How many it holds that were transferred to it.
        transferred_once: u32,
    },
    /// No listing has this id.
    #[error("no listing {0}")]
    UnknownListing(ListingId),
    /// The listing was sold out, delisted or expired.
    #[error("listing {0} is closed")]
    ListingClosed(ListingId),
    /// Only the owner may delist.
    #[error("listing {listing} belongs to {owner}, not {participant}")]
    NotListingOwner {
        /// The listing.
        listing: ListingId,
        /// Its owner.
        owner: ParticipantId,
        /// Who asked.
        participant: ParticipantId,
    },
    /// A purchase of more than the listing has left.
    #[error("listing {listing} has {remaining} certificates left, not {requested}")]
    ListingShort {
        /// The listing.
        listing: ListingId,
        /// How many were asked for.
        requested: u32,
        /// How many it has left.
        remaining: u32,
    },
    /// A claim's beneficiary (the consumer the green power is declared for) is not a usable
    /// name.
    #[error("beneficiary: {0}")]
    BadBeneficiary(&'static str),
    /// An operation timed before the ledger's last entry.
    #[error("time {at_ms} ms is before the ledger's last entry at {last_ms} ms")]
    ClockWentBack {
        /// The operation's time.
        at_ms: i64,
        /// The last entry's time.
        last_ms: i64,
    },
    /// An expiry run that would not expire any month not already expired.
    #[error(
        "expiry as of {now_month} expires nothing new (every month up to {expired_through} has expired)"
    )]
    ExpiryNotAdvancing {
        /// The month asked for.
        now_month: YearMonth,
        /// The last expired production month.
        expired_through: YearMonth,
    },
}

impl RegistryError {
    /// A stable machine-readable code for the API's `{"error": code}`.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::BadMonth(_) => "bad_month",
            RegistryError::BadSerial(_) => "bad_serial",
            RegistryError::ZeroCount => "zero_count",
            RegistryError::NegativeEnergy { .. } => "negative_energy",
            RegistryError::MonthNotAfterLast { .. } => "month_not_after_last",
            RegistryError::MonthExpired { .. } => "month_expired",
            RegistryError::SequenceExhausted { .. } => "sequence_exhausted",
            RegistryError::UnknownProjectMonth { .. } => "unknown_project_month",
            RegistryError::SameAccount(_) => "same_account",
            RegistryError::NegativePrice(_) => "negative_price",
            RegistryError::Insufficient { .. } => "insufficient_certificates",
            RegistryError::AlreadyTransferred { .. } => "already_transferred",
            RegistryError::UnknownListing(_) => "unknown_listing",
            RegistryError::ListingClosed(_) => "listing_closed",
            RegistryError::NotListingOwner { .. } => "not_listing_owner",
            RegistryError::ListingShort { .. } => "listing_short",
            RegistryError::BadBeneficiary(_) => "bad_beneficiary",
            RegistryError::ClockWentBack { .. } => "clock_went_back",
            RegistryError::ExpiryNotAdvancing { .. } => "expiry_not_advancing",
        }
    }
}
