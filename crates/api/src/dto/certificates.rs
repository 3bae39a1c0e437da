//! Green certificates (绿证) and hourly matching: what the certificate routes answer (issuance
//! and settlement answer `market`'s report types). A
//! certificate is 1 MWh; serial ranges are written `<first serial>-<last serial>`, each serial
//! the project's 17-digit code, the production month `YYYYMM` and a sequence number.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A participant's certificates.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Holdings {
    /// Whose they are, a participant id.
    pub participant: u64,
    /// Serial ranges with their state, in the registry's order.
    pub holdings: Vec<HoldingView>,
}

/// A serial range of certificates in one state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HoldingView {
    /// The serial range.
    pub range: String,
    /// The project's 17-digit filing code.
    pub project: String,
    /// The production month, YYYY-MM.
    pub month: String,
    /// Certificates in the range.
    pub certificates: u32,
    /// issued, listed, transferred, claimed or cancelled.
    pub state: String,
    /// The listing offering them, when listed; null otherwise.
    pub listing: Option<u64>,
}

/// A standalone certificate trade made.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CertificateTransfer {
    /// The seller, a participant id.
    pub from: u64,
    /// The buyer, a participant id.
    pub to: u64,
    /// Certificates transferred.
    pub certificates: u32,
    /// Their serial ranges.
    pub ranges: Vec<String>,
}

/// A claim (核销) made.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CertificateClaim {
    /// Who claimed, a participant id.
    pub holder: u64,
    /// Certificates claimed.
    pub certificates: u32,
    /// Their serial ranges.
    pub ranges: Vec<String>,
}

/// A standalone certificate listing (挂牌).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CertificateListingView {
    /// Its id.
    pub id: u64,
    /// Who offers, a participant id.
    pub owner: u64,
    /// The project's 17-digit filing code.
    pub project: String,
    /// The production month, YYYY-MM.
    pub month: String,
    /// Price per certificate, yuan.
    pub price_yuan: String,
    /// Certificates listed.
    pub listed: u32,
    /// Certificates left; the listing is open while this is above zero.
    pub remaining: u32,
}

impl From<&registry::Listing> for CertificateListingView {
    fn from(l: &registry::Listing) -> CertificateListingView {
        CertificateListingView {
            id: l.id.0,
            owner: l.owner.0,
            project: l.project.to_string(),
            month: l.month.to_string(),
            price_yuan: l.price_per_cert.to_string(),
            listed: l.listed,
            remaining: l.remaining,
        }
    }
}

/// A purchase from a certificate listing (摘牌).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CertificatePurchase {
    /// The listing bought from.
    pub listing: u64,
    /// The buyer, a participant id.
    pub buyer: u64,
    /// Certificates bought.
    pub certificates: u32,
    /// Their serial ranges.
    pub ranges: Vec<String>,
}

/// A certificate listing withdrawn.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Delisted {
    /// The listing.
    pub listing: u64,
    /// Always `delisted`.
    pub status: String,
}

/// An expiry run.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExpiredCertificates {
    /// The month as of which certificates expired, YYYY-MM.
    pub month: String,
    /// Certificates cancelled (注销) by this run.
    pub cancelled: u64,
}

/// A participant's hourly matching of a month (the 24/7 score).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HourlyMatchView {
    /// The month, YYYY-MM.
    pub month: String,
    /// Whose consumption, a participant id.
    pub participant: u64,
    /// Metered consumption of the month, MWh.
    pub consumption_mwh: String,
    /// Green generation behind its contracts of the month, MWh.
    pub green_supply_mwh: String,
    /// Consumption covered in its own hour, MWh.
    pub matched_mwh: String,
    /// Consumption not covered in its hour, MWh.
    pub unmatched_mwh: String,
    /// Green supply in hours when the participant consumed less, MWh.
    pub excess_mwh: String,
    /// matched / consumption as a percentage with 2 decimals (`"72.22"`); `"0.00"` with no
    /// consumption.
    pub hourly_matched_percent: String,
}

/// The bytes of a PDF document (`application/pdf`).
// Describes the consumption certificate's PDF in the OpenAPI document (a binary string); the
// route answers the renderer's bytes as they are.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfBytes(pub Vec<u8>);
