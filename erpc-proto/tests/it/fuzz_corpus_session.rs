//! Replays the corpus of the `session` fuzz target (and any crash artifacts) through the same
//! checks the target runs, so that a regression shows up in `cargo test` without a fuzzer.
#![cfg(feature = "testing")]

use std::path::{Path, PathBuf};

#[allow(unreachable_pub, dead_code)]
#[path = "../../../fuzz/src/session.rs"]
mod session;

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn session_corpus_replays_clean() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = files(&fuzz.join("corpus/session"));
    assert!(!corpus.is_empty(), "the session corpus is committed");
    for f in corpus
        .iter()
        .chain(files(&fuzz.join("artifacts/session")).iter())
    {
        let data = std::fs::read(f).expect("readable corpus file");
        session::check(&data);
    }
}
