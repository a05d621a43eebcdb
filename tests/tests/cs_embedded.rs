//! Customer-service triage on the embedded store.
otto_tests::cs_suite!(otto_tests::harness::embedded);
