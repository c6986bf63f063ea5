//! Checks for arbitrary bytes fed to `RawProto::decode`.
//!
//! This file is also compiled into `erpc-proto/tests/fuzz_corpus.rs` (through `#[path]`), so it
//! depends on nothing but `bytes` and `erpc_proto`.

use bytes::BytesMut;
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::{EncodeError, WireConfig};

/// Decodes `data` as a raw stream twice, with a 1 MiB limit and with the default (1 GiB) limit.
///
/// # Panics
///
/// When the decoder misbehaves: it consumes bytes without producing a message or error, it
/// consumes nothing for a message, or a message it accepted does not survive an
/// encode → decode round trip.
pub fn check(data: &[u8]) {
    check_with(data, &WireConfig::default().with_max_message_size(1 << 20));
    check_with(data, &WireConfig::default());
}

/// [`check`] with one configuration.
pub fn check_with(data: &[u8], cfg: &WireConfig) {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match RawProto.decode(&mut buf, cfg) {
            Ok(Some(msg)) => {
                assert!(buf.len() < before, "a decoded frame consumes bytes");
                let mut out = BytesMut::new();
                match RawProto.encode(&msg, cfg, &mut out) {
                    Ok(()) => {
                        let again = RawProto
                            .decode(&mut out, cfg)
                            .expect("our own frame decodes")
                            .expect("our own frame is complete");
                        assert_eq!(again, msg, "re-encoded frame decodes to the same message");
                        assert!(out.is_empty(), "exactly one frame written");
                    }
                    // Escaping can make status or meta text longer than what was read (a raw
                    // `/` becomes `%2F`), and so the frame; nothing else may fail.
                    Err(EncodeError::FieldTooLong { .. } | EncodeError::FrameTooLarge { .. }) => {
                        assert!(out.is_empty(), "a failed encode writes nothing");
                    }
                    Err(e) => panic!("re-encoding a decoded message failed: {e}"),
                }
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "an incomplete frame consumes nothing");
                return;
            }
            Err(_) => return,
        }
    }
}
