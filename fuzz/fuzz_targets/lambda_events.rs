//! `cargo +nightly fuzz run lambda_events` — the body is `otto_fuzz::bodies::lambda_events` (shared with the stable
//! corpus replay in tests/tests/fuzz_corpus.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| otto_fuzz::bodies::lambda_events(data));
