//! `cargo +nightly fuzz run vendor_responses` — the body is `otto_fuzz::bodies::vendor_responses`
//! (shared with the stable corpus replay in tests/tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| otto_fuzz::bodies::vendor_responses(data));
