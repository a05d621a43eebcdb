//! Concurrent releases of held rows on DynamoDB (moto).
otto_tests::holds_suite!(otto_tests::harness::moto);
