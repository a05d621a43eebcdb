//! The discount cycle end to end on the embedded store.
otto_tests::discount_suite!(otto_tests::harness::embedded);
