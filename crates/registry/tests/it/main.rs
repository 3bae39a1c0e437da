//! The registry's integration tests: hand-written cases, ledger verification, property tests
//! and the consumption certificate documents.

mod cases;
mod document;
mod ledger;
mod props;

use domain::{ContractId, Fen, ParticipantId, ProjectCode, SessionId};
use registry::{TransferReason, YearMonth};

/// Participant `n`.
pub fn p(n: u64) -> ParticipantId {
    ParticipantId(n)
}

/// Project `3301000000000000n` (n < 10) or the like: 17 digits ending in `n`.
pub fn project(n: u64) -> ProjectCode {
    ProjectCode::parse(&format!("{:017}", 33_010_000_000_000_000 + n)).unwrap()
}

/// A month from `YYYY-MM`.
pub fn ym(text: &str) -> YearMonth {
    YearMonth::parse(text).unwrap()
}

/// A settlement of contract `c` in session 1 for `month`.
pub fn settlement(c: u64, month: &str) -> TransferReason {
    TransferReason::Settlement {
        contract: ContractId(c),
        session: SessionId(1),
        settlement_month: ym(month),
    }
}

/// A bilateral trade at `yuan` per certificate.
pub fn bilateral(yuan: i64) -> TransferReason {
    TransferReason::Bilateral {
        price_per_cert: Fen(yuan * 100),
    }
}
