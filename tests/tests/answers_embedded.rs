//! Cited answers on the embedded store.
otto_tests::answers_suite!(otto_tests::harness::embedded);
