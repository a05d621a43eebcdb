//! The cycle pipeline on the embedded store and in-process queue.
otto_tests::pipeline_suite!(otto_tests::harness::embedded);
