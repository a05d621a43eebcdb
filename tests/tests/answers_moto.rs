//! Cited answers on DynamoDB (moto).
otto_tests::answers_suite!(otto_tests::harness::moto);
