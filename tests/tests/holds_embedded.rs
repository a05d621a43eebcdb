//! Concurrent releases of held rows on the embedded store.
otto_tests::holds_suite!(otto_tests::harness::embedded);
