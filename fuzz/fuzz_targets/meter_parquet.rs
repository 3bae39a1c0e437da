//! Parquet meter files (the binary's `parquet::read_meters`).
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
    init: {
        // `read_meters` turns the `parquet` crate's panics on corrupt pages into errors, but
        // libFuzzer's panic hook would abort before they are caught: back to the default hook.
        // A panic that escapes the check still aborts (libfuzzer-sys catches it and aborts).
        drop(std::panic::take_hook());
        lvdian_fuzz::write_seeds(hostile_input::parquet_seeds())
    },
    |data: &[u8]| hostile_input::check_parquet_file(data)
);
