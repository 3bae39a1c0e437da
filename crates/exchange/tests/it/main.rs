//! The exchange crate's integration tests, one module per part of the engine.

mod auction;
mod bilateral;
mod bounds;
mod coupling;
mod inter;
mod listing;
mod rolling;
mod session;
