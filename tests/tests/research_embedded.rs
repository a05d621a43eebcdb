//! The research cycle end to end on the embedded store.
otto_tests::research_suite!(otto_tests::harness::embedded);
otto_tests::research_redelivery_suite!(otto_tests::harness::embedded);
