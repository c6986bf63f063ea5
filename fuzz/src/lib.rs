//! The checks behind the fuzz targets, kept in plain functions so that
//! `erpc-proto/tests/fuzz_corpus.rs` can replay the corpus through exactly the same code.

pub mod raw_decode;
pub mod session;
