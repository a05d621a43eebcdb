//! The stall watch on the embedded store.
otto_tests::stall_suite!(otto_tests::harness::embedded);
