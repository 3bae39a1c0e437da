//! The API in-process (`Router::oneshot`), against a real SQLite file and, when
//! `LVDIAN_TEST_DATABASE_URL` is set, a real PostgreSQL schema per test.

mod certificates;
mod harness;
mod inter;
mod market;
mod roles;
mod transit;
mod visibility;
