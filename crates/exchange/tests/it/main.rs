//! The exchange crate's integration tests, one module per part of the engine.

mod auction;
mod rolling;
mod session;
