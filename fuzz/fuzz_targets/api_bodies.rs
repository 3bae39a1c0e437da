//! The API's request bodies: every `api::dto` request type, deserialised and parsed.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/api/tests/it/hostile_input.rs"]
mod api_hostile;

libfuzzer_sys::fuzz_target!(
    init: lvdian_fuzz::write_seeds(api_hostile::body_seeds()),
    |data: &[u8]| api_hostile::check_request_bodies(data)
);
