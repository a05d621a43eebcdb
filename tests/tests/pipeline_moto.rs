//! The cycle pipeline on DynamoDB + SQS (moto).
otto_tests::pipeline_suite!(otto_tests::harness::moto);
