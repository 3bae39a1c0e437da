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
        // libFuzzer's panic hook would abort before they are caught: back to the default hook,
        // except that a panic in our own decoding (`parquet.rs`, not the crate) is a finding
        // and aborts at once. A panic that escapes the check still aborts (libfuzzer-sys
        // catches it and aborts).
        drop(std::panic::take_hook()); // libfuzzer-sys's
        let default = std::panic::take_hook(); // the standard one
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            if info
                .location()
                .is_some_and(|at| at.file().ends_with("crates/lvdian/src/parquet.rs"))
            {
                std::process::abort();
            }
        }));
        lvdian_fuzz::write_seeds(hostile_input::parquet_seeds())
    },
    |data: &[u8]| hostile_input::check_parquet_file(data)
);
