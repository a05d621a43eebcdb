//! Otto's fuzz bodies. Everything lives in [`bodies`], a self-contained module (it names only
//! external crates, never `crate::`), so that:
//! * the libFuzzer targets in `fuzz_targets/` call `otto_fuzz::bodies::<target>(data)`, and
//! * `tests/tests/fuzz_corpus.rs` in the main workspace includes the same file with
//!   `#[path = "../../fuzz/src/bodies.rs"] mod bodies;` and replays `fuzz/corpus/<target>/` on
//!   stable, without depending on this crate (which would drag `libfuzzer-sys` in and make the
//!   fuzz crate a member of two workspaces).

pub mod bodies;
