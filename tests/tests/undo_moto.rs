//! Undo, review-then-apply and policy settings on DynamoDB (moto).
otto_tests::undo_suite!(otto_tests::harness::moto);
