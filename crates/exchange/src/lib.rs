//! lvdian's exchange engine: turns orders into contracts, exactly and deterministically.
//!
//! - [`auction`]: 集中竞价, the sealed call auction per period (`uniform` and `high_low`).
//! - [`rolling`]: 滚动撮合, continuous price-time matching with public depth.
//! - [`listing`]: 挂牌/摘牌, listing a lot and taking it in lot-size multiples.
//! - [`bilateral`]: 双边协商, proposal and confirmation.
//! - [`session`]: 交易场次, the session state machine that holds one of the modes above, checks
//!   every order against the session's settings and turns trades into [`domain::Contract`]s.
//!
//! Architecture invariant: nothing here reads the wall clock, the disk or a random source. Every
//! command comes with the caller's sequence number and timestamp, so replaying the same commands
//! gives byte-identical results.

pub mod auction;
pub mod bilateral;
pub mod coupling;
mod curve;
mod error;
pub mod listing;
pub mod rolling;
pub mod session;

pub use error::ExchangeError;
