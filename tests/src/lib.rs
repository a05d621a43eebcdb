//! Shared test support: the port contract suite (one generic suite, instantiated for every
//! adapter), fixtures, and the harnesses that build ports on the embedded store and on moto.

pub mod contract;
pub mod discount;
pub mod fixtures;
pub mod harness;
pub mod morning;
pub mod pipeline;
pub mod research;

pub use harness::Harness;
