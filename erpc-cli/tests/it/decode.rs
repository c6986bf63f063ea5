//! `erpc decode` against the Go golden vectors: its JSON must equal each vector's
//! `go_unpacked` (what Go's own `Unpack()` read back).

use crate::common;
use std::path::PathBuf;

use common::{run, run_with_stdin};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors"))
}

/// (name, proto, hex, go_unpacked) of every vector.
fn vectors() -> Vec<(String, String, String, Value)> {
    let index: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(vectors_dir().join("index.json")).expect("index.json"),
    )
    .expect("index.json is a list of names");
    assert!(index.len() > 100, "only {} vectors", index.len());
    index
        .into_iter()
        .map(|name| {
            let json: Value = serde_json::from_str(
                &std::fs::read_to_string(vectors_dir().join(format!("{name}.json"))).unwrap(),
            )
            .unwrap();
            let hex = std::fs::read_to_string(vectors_dir().join(format!("{name}.hex"))).unwrap();
            let proto = json["proto"].as_str().unwrap().to_owned();
            (
                name,
                proto,
                hex.trim().to_owned(),
                json["go_unpacked"].clone(),
            )
        })
        .collect()
}

fn decode_one(proto: &str, hex: &str) -> Result<Value, String> {
    let r = run(&["decode", "--proto", proto, hex]);
    if !r.status.success() {
        return Err(r.stderr);
    }
    let lines: Vec<&str> = r.stdout.lines().collect();
    if lines.len() != 1 {
        return Err(format!("{} lines: {}", lines.len(), r.stdout));
    }
    serde_json::from_str(lines[0]).map_err(|e| format!("{e}: {}", lines[0]))
}

#[test]
fn every_raw_vector_matches_go_unpacked() {
    let mut n = 0;
    for (name, proto, hex, want) in vectors() {
        if proto != "raw" {
            continue;
        }
        let got = decode_one("raw", &hex).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want, "{name}");
        n += 1;
    }
    assert!(n >= 40, "only {n} raw vectors");
}

/// The other protocols' decoders are exercised the same way (thrift vectors are read as the
/// binary variant, which is what they are).
#[test]
fn every_other_vector_matches_go_unpacked() {
    let mut n = 0;
    for (name, proto, hex, want) in vectors() {
        if proto == "raw" {
            continue;
        }
        let got = decode_one(&proto, &hex).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want, "{name}");
        n += 1;
    }
    assert!(n >= 60, "only {n} vectors");
}

#[test]
fn several_frames_and_stdin() {
    let all = vectors();
    let pick = |n: &str| all.iter().find(|v| v.0 == n).unwrap().clone();
    let (_, _, call, want_call) = pick("raw_call_math_add");
    let (_, _, reply, want_reply) = pick("raw_reply_math_add");
    // Two frames in one hex argument (with whitespace), then as two arguments.
    for args in [
        vec!["decode".to_owned(), format!("{call}\n {reply}")],
        vec!["decode".to_owned(), call.clone(), reply.clone()],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args);
        let lines: Vec<Value> = r
            .ok()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, vec![want_call.clone(), want_reply.clone()]);
    }
    // Raw bytes on stdin, and hex text on stdin.
    let bytes = hex::decode(&call).unwrap();
    let r = run_with_stdin(&["decode", "-"], &bytes);
    assert_eq!(
        serde_json::from_str::<Value>(r.ok().trim()).unwrap(),
        want_call
    );
    let r = run_with_stdin(&["decode", "-"], format!("{call}\n").as_bytes());
    assert_eq!(
        serde_json::from_str::<Value>(r.ok().trim()).unwrap(),
        want_call
    );
}

#[test]
fn bad_input_is_one_error_line() {
    let r = run(&["decode", "zz"]);
    assert!(r.error_line().contains("invalid hex"), "{r:#?}");
    // A truncated frame: the header promises more bytes than there are.
    let r = run(&["decode", "0000003a00013101"]);
    assert!(r.error_line().contains("incomplete"), "{r:#?}");
    // A frame whose length field is smaller than its own header.
    let r = run(&["decode", "00000002"]);
    r.error_line();
    let r = run_with_stdin(&["decode", "-"], b"");
    assert!(r.error_line().contains("nothing to decode"), "{r:#?}");
}
