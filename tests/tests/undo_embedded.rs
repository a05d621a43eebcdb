//! Undo, review-then-apply and policy settings on the embedded store.
otto_tests::undo_suite!(otto_tests::harness::embedded);
