//! Shared test support: the port contract suite (one generic suite, instantiated for every
//! adapter), fixtures, and the harnesses that build ports on the embedded store and on moto.

pub mod answers;
pub mod answers_set;
pub mod campaign_week;
pub mod contract;
pub mod contract_keys;
pub mod cs;
pub mod discount;
pub mod faults;
pub mod fixtures;
pub mod harness;
pub mod holds;
pub mod merchant_twin;
pub mod morning;
pub mod pipeline;
pub mod research;
pub mod research_redelivery;
pub mod stall;
pub mod undo;

pub use harness::Harness;

/// Instantiates a generic suite for one harness: one `#[tokio::test]` per function of `$module`,
/// skipped (with a line saying so) only when the harness is not configured.
#[macro_export]
macro_rules! instantiate {
    ($module:ident, $make:path; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let Some(h) = $make().await else {
                    eprintln!("skipped: adapter not configured");
                    return;
                };
                $crate::$module::$name(&h).await;
            }
        )+
    };
}
