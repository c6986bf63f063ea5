//! rawproto against the Go eRPC golden vectors: decode, encode, and incremental decoding of
//! the whole stream cut at every chunk size and at random points.

use bytes::BytesMut;
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::{Message, WireConfig};
use erpc_tests::vectors::{self, Vector};

fn raw() -> Vec<Vector> {
    vectors::by_proto("raw")
}

#[test]
fn there_are_raw_vectors() {
    // 17 captured and 23 packed (see tests/vectors/README.md).
    assert_eq!(raw().len(), 40);
}

#[test]
fn decode_gives_go_unpacked() {
    erpc_tests::proto_vectors::check_decode(&RawProto, "raw");
}

#[test]
fn packed_and_unpacked_fields_agree_for_raw() {
    for v in raw() {
        assert_eq!(v.fields, v.go_unpacked, "{}", v.name);
    }
}

#[test]
fn encode_gives_the_go_bytes() {
    let cfg = WireConfig::default();
    let mut gzip_seen = 0;
    for v in raw() {
        let msg = v.message();
        let mut out = BytesMut::new();
        RawProto
            .encode(&msg, &cfg, &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        if v.has_gzip() {
            // Another deflate encoder may write other, equally valid bytes: decode ours.
            gzip_seen += 1;
            let back = RawProto
                .decode(&mut out, &cfg)
                .unwrap_or_else(|e| panic!("{}: {e}", v.name))
                .unwrap_or_else(|| panic!("{}: incomplete", v.name));
            assert_eq!(back, msg, "{}", v.name);
            assert!(out.is_empty(), "{}", v.name);
        } else {
            assert_eq!(hex::encode(&out), hex::encode(&v.frame), "{}", v.name);
        }
    }
    assert_eq!(gzip_seen, 5, "gzip vectors");
}

#[test]
fn status_and_meta_text_match_go() {
    for v in raw() {
        let msg = v.message();
        assert_eq!(
            Some(msg.status.to_query_string()),
            v.status_wire,
            "{}: status",
            v.name
        );
        assert_eq!(
            Some(msg.meta.to_query_string()),
            v.meta_wire,
            "{}: meta",
            v.name
        );
    }
}

/// The concatenation of every raw frame, and the messages it holds in order.
fn stream() -> (Vec<u8>, Vec<Message>) {
    let vs = raw();
    let bytes = vs.iter().flat_map(|v| v.frame.iter().copied()).collect();
    let msgs = vs.iter().map(Vector::unpacked_message).collect();
    (bytes, msgs)
}

/// Feeds `stream` to the decoder in pieces ending at `cuts` (increasing, the last one is the
/// stream length) and returns every message decoded.
fn decode_in_pieces(stream: &[u8], cuts: impl IntoIterator<Item = usize>) -> Vec<Message> {
    let cfg = WireConfig::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut start = 0;
    for end in cuts {
        buf.extend_from_slice(&stream[start..end]);
        start = end;
        while let Some(m) = RawProto.decode(&mut buf, &cfg).expect("valid stream") {
            out.push(m);
        }
    }
    assert_eq!(start, stream.len(), "cuts must end at the stream length");
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    out
}

#[test]
fn stream_in_fixed_size_chunks() {
    let (bytes, msgs) = stream();
    for size in 1..=64 {
        let cuts = (1..=bytes.len().div_ceil(size)).map(|i| (i * size).min(bytes.len()));
        assert_eq!(decode_in_pieces(&bytes, cuts), msgs, "chunk size {size}");
    }
}

#[test]
fn stream_at_random_cut_points() {
    let (bytes, msgs) = stream();
    // A small deterministic generator (xorshift64*) so that a failure replays.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for round in 0..200 {
        let max_step = [2, 8, 64, 700, 4096][round % 5];
        let mut cuts = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            at = (at + 1 + (next() % max_step) as usize).min(bytes.len());
            cuts.push(at);
        }
        assert_eq!(
            decode_in_pieces(&bytes, cuts.iter().copied()),
            msgs,
            "round {round}, cuts {cuts:?}"
        );
    }
}

#[test]
fn whole_stream_at_once() {
    let (bytes, msgs) = stream();
    assert_eq!(decode_in_pieces(&bytes, [bytes.len()]), msgs);
}
