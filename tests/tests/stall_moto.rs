//! The stall watch on DynamoDB (moto).
otto_tests::stall_suite!(otto_tests::harness::moto);
