//! Period labels, province codes, roles and filing codes.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/domain/tests/hostile_input.rs"]
mod domain_hostile;

libfuzzer_sys::fuzz_target!(
    init: lvdian_fuzz::write_seeds(domain_hostile::label_seeds().into_iter().chain(domain_hostile::name_seeds())),
    |data: &[u8]| {
        domain_hostile::check_period_labels(data);
        domain_hostile::check_names(data);
    }
);
