//! Replays the fuzz corpus of `raw_decode` (and any local crash artifacts) through the checks the
//! fuzz target runs, so that a regression shows up in `cargo test` without a fuzzer.
//!
//! The checks themselves live in `fuzz/src/raw_decode.rs` and are compiled in here unchanged.

use std::path::{Path, PathBuf};

#[allow(unreachable_pub, dead_code)]
#[path = "../../../fuzz/src/raw_decode.rs"]
mod raw_decode;

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

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn replay(dir: &Path) -> usize {
    let files = files(dir);
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let r = std::panic::catch_unwind(|| raw_decode::check(&data));
        assert!(r.is_ok(), "{} fails the raw_decode checks", f.display());
    }
    files.len()
}

#[test]
fn raw_decode_corpus() {
    let n = replay(&fuzz_dir().join("corpus/raw_decode"));
    // The seed corpus alone holds the 40 raw golden vectors.
    assert!(
        n >= 40,
        "only {n} corpus files: is fuzz/corpus/raw_decode there?"
    );
    // Crash and timeout inputs a local fuzzer run left behind (never committed: what a
    // fuzzer finds is fixed and its input added to the corpus), replayed when present.
    replay(&fuzz_dir().join("artifacts/raw_decode"));
}
