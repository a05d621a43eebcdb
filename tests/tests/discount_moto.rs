//! The discount cycle end to end on DynamoDB + SQS (moto).
otto_tests::discount_suite!(otto_tests::harness::moto);
