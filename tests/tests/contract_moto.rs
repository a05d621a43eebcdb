//! The port contract on DynamoDB / SQS / EventBridge, served by moto_server (`scripts/test` starts
//! it and exports the endpoint). Skipped only when moto is not configured and not required.
otto_tests::contract_suite!(otto_tests::harness::moto);
