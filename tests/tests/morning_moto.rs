//! The morning cycle end to end on DynamoDB + SQS (moto), SQS-chained.
otto_tests::morning_suite!(otto_tests::harness::moto);
