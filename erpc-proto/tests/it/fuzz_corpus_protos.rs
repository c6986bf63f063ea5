//! Replays the fuzz corpora of `json_decode`, `pb_decode`, `thrift_decode` and `http_decode`
//! (`fuzz/corpus/<target>/`, seeded from the Go vectors and grown by cargo-fuzz) through every
//! one of those four checks, so `cargo test` guards what the fuzzers found without needing
//! nightly or libFuzzer.

use std::path::{Path, PathBuf};

#[path = "../../../fuzz/fuzz_targets/proto_checks.rs"]
mod proto_checks;

const TARGETS: [&str; 4] = ["json_decode", "pb_decode", "thrift_decode", "http_decode"];

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for target in TARGETS {
        for dir in [
            root.join("corpus").join(target),
            root.join("artifacts").join(target),
        ] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                if e.path().is_file() {
                    files.push(e.path());
                }
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_corpus_file_through_every_decoder() {
    let files = corpus_files();
    for path in &files {
        // A running fuzzer may have just removed a file it reduced.
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        for (name, check) in [
            ("json", proto_checks::json as fn(&[u8])),
            ("pb", proto_checks::pb),
            ("thrift", proto_checks::thrift),
            ("http", proto_checks::http),
        ] {
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "{} through {name}", path.display());
        }
    }
    // The seeds alone are 66 files, in every target's directory.
    assert!(
        files.len() >= 66,
        "{} corpus files: is fuzz/corpus there?",
        files.len()
    );
    for target in TARGETS {
        assert!(
            files
                .iter()
                .any(|f| f.parent().is_some_and(|d| d.ends_with(target))),
            "no corpus file of {target}"
        );
    }
}
