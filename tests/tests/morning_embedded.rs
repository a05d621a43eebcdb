//! The morning cycle end to end on the embedded store.
otto_tests::morning_suite!(otto_tests::harness::embedded);
