//! The port contract on the embedded (SQLite) adapter.
otto_tests::contract_suite!(otto_tests::harness::embedded);
