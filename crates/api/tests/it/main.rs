//! The API in-process (`Router::oneshot`), against a real SQLite file and, when
//! `LVDIAN_TEST_DATABASE_URL` is set, a real PostgreSQL schema per test.

mod bounds;
mod certificates;
mod errors;
mod faults;
mod harness;
mod hostile;
mod hostile_input;
mod inter;
mod market;
mod months;
mod paging;
mod retail;
mod roles;
mod snapshots;
mod transit;
mod typed;
mod visibility;
