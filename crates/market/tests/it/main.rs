//! The market rules against sessions made by the exchange, meter months and a registry.

mod close;
mod fixtures;
mod statistics;
mod visibility;
