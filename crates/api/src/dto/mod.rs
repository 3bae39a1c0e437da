//! What goes over the wire. Quantities are decimal strings, as in the offline formats: energy in
//! MWh with up to 3 decimals (`"10.000"`), prices in yuan/MWh with up to 2 (`"420.50"`). Periods
//! are labels of the session's template (`"h01"`). Requests are parsed here into engine commands,
//! and every error names its field.
//!
//! One module per resource, every type re-exported here (`crate::dto::OrderRequest`):
//! [`common`] the field parsers and volumes per period that the others share, [`participants`]
//! (and projects, tokens, the access log), [`sessions`], [`network`], [`orders`] (and the
//! outcome of a command), [`contracts`], [`listings`], [`proposals`], [`results`] (published
//! results and depth) and [`certificates`] (and hourly matching); the annual statistics and
//! the settlement and issuance reports are `market`'s types.

pub mod certificates;
pub mod common;
pub mod contracts;
pub mod listings;
pub mod network;
pub mod orders;
pub mod participants;
pub mod proposals;
pub mod results;
pub mod retail;
pub mod sessions;

pub use certificates::{
    CertificateClaim, CertificateListingView, CertificatePurchase, CertificateTransfer, Delisted,
    ExpiredCertificates, HoldingView, Holdings, HourlyMatchView, PdfBytes,
};
pub use common::{PeriodMwh, parse_mwh, parse_price, parse_text};
pub use contracts::{ContractCorridorView, ContractView, contract_view};
pub use listings::{ListingRequest, ListingView, TakeRequest, listing_view};
pub use network::{NetworkCorridorRequest, NetworkCorridorView, corridor_ends};
pub use orders::{
    BatchItem, BatchResult, CommandResult, FillView, OrderBatchRequest, OrderRequest, OrderView,
    order_view,
};
pub use participants::{
    AccessView, MAX_PROJECT_METERS, NewParticipantRequest, NewProjectRequest, ParticipantView,
    ParticipantWithToken, ProjectView, TokenView,
};
pub use proposals::{ProposalRequest, ProposalView, proposal_view};
pub use results::{DepthView, FlowView, LevelView, PeriodResult, ProvincePeriodView, ResultsView};
pub use retail::{RetailContractRequest, RetailContractView};
pub use sessions::{
    CorridorRequest, NewSessionRequest, SessionView, settings_view, takes_network, with_network,
};
