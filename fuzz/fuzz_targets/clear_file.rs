//! The order file of `lvdian clear` (the binary's `clear::run`).
#![no_main]

// The binary's modules as its `main.rs` declares them, so that their `crate::` paths resolve.
#[allow(dead_code)]
#[path = "../../crates/lvdian/src/clear.rs"]
mod clear;
#[allow(dead_code)]
#[path = "../../crates/lvdian/src/hostile_input.rs"]
mod hostile_input;
#[allow(dead_code)]
#[path = "../../crates/lvdian/src/parquet.rs"]
mod parquet;

libfuzzer_sys::fuzz_target!(
    init: lvdian_fuzz::write_seeds(hostile_input::clear_seeds()),
    |data: &[u8]| hostile_input::check_clear_file(data)
);
