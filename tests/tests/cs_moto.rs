//! Customer-service triage on DynamoDB (moto).
otto_tests::cs_suite!(otto_tests::harness::moto);
