//! The research cycle end to end on DynamoDB + SQS (moto).
otto_tests::research_suite!(otto_tests::harness::moto);
otto_tests::research_redelivery_suite!(otto_tests::harness::moto);
