//! The fault-injection harness on DynamoDB + SQS (moto): fewer, smaller seeds (every port call
//! is an HTTP request). Skipped only when moto is not configured and not required.

use otto_tests::faults::{self, Config};
use otto_tests::harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_seeds_hold_every_invariant_on_moto() {
    if harness::moto_names().is_none() {
        eprintln!("skipped: adapter not configured (moto)");
        return;
    }
    let seeds = faults::seeds(10);
    let s = faults::run_seeds(
        faults::moto,
        faults::fresh_store,
        &seeds,
        &Config {
            live: faults::verbose(),
            ..Config::moto()
        },
        1,
    )
    .await;
    faults::report(&s, |seed| {
        format!("OTTO_FAULT_SEED={seed} cargo test -p otto-tests --test faults_moto -- --nocapture (with the moto environment, see scripts/test)")
    });
}
