//! `erpc decode`: frames (hex or raw bytes) to JSON, one object per frame, with the field
//! names of the Go vectors' `go_unpacked` (`tests/vectors/README.md`).

use std::io::{Read, Write};

use bytes::BytesMut;
use erpc_proto::{CodecId, CodecRegistry, Message, WireConfig};
use serde::Serialize;

use crate::body;
use erpc_runtime_tokio::WireProtocol;

use crate::client::{named, BoxError};

/// `erpc decode [--proto raw] HEX|-|@FILE...`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct DecodeArgs {
    /// The frames' protocol.
    #[arg(long, value_parser = named::<WireProtocol>(WireProtocol::NAMES),
          default_value_t = WireProtocol::Raw)]
    proto: WireProtocol,
    /// Indent the JSON (several lines per frame).
    #[arg(long)]
    pretty: bool,
    /// One or more frames back to back: hex text (whitespace ignored), `@file` with raw
    /// bytes, or `-` for stdin (raw bytes, or hex text, which is recognised).
    #[arg(
        value_name = "HEX|-|@FILE",
        required = true,
        allow_hyphen_values = true
    )]
    input: Vec<String>,
}

/// A status as the vectors show it: `null` when OK.
#[derive(Serialize, Debug, PartialEq)]
struct StatusJson {
    code: i32,
    msg: String,
    cause: Option<String>,
}

/// A body codec as the vectors show it.
#[derive(Serialize, Debug, PartialEq)]
struct CodecJson {
    id: u8,
    char: String,
    name: String,
}

/// One decoded frame, with the vectors' field names and order.
#[derive(Serialize, Debug, PartialEq)]
pub(crate) struct FrameJson {
    seq: i32,
    mtype: u8,
    mtype_name: &'static str,
    service_method: String,
    status: Option<StatusJson>,
    meta: Vec<(String, String)>,
    body_codec: CodecJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_utf8: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_hex: Option<String>,
    body_len: usize,
    xfer: Vec<u8>,
    xfer_names: Vec<String>,
}

impl FrameJson {
    /// Describes a decoded message (its body is the one before the transfer filters).
    pub(crate) fn new(m: &Message, cfg: &WireConfig) -> FrameJson {
        let st = &m.status;
        let status =
            (!(st.is_ok() && st.raw_msg().is_empty() && st.cause().is_none())).then(|| {
                StatusJson {
                    code: st.code().0,
                    msg: st.raw_msg().to_owned(),
                    cause: st.cause().map(str::to_owned),
                }
            });
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let printable = body::is_printable(&m.body);
        FrameJson {
            seq: m.seq,
            mtype: m.mtype.0,
            mtype_name: m.mtype.name(),
            service_method: m.service_method.as_str().to_owned(),
            status,
            meta: m.meta.iter().map(|(k, v)| (text(k), text(v))).collect(),
            body_codec: codec_json(m.body_codec),
            body_utf8: printable.then(|| text(&m.body)),
            body_hex: (!printable).then(|| hex::encode(&m.body)),
            body_len: m.body.len(),
            xfer: m.xfer_pipe.ids().to_vec(),
            xfer_names: m
                .xfer_pipe
                .ids()
                .iter()
                .map(|&id| cfg.xfer.filter(id).map_or("?", |f| f.name()).to_owned())
                .collect(),
        }
    }
}

fn codec_json(id: CodecId) -> CodecJson {
    let name = if id.0 == 0 {
        "none".to_owned()
    } else {
        CodecRegistry::default()
            .codec(id)
            .map_or("unknown", |c| c.name())
            .to_owned()
    };
    CodecJson {
        id: id.0,
        char: if id.0 == 0 {
            String::new()
        } else {
            char::from(id.0).to_string()
        },
        name,
    }
}

/// Whether `b` is hex text (digits and whitespace only, at least one digit).
fn looks_hex(b: &[u8]) -> bool {
    b.iter().any(u8::is_ascii_hexdigit)
        && b.iter()
            .all(|c| c.is_ascii_hexdigit() || c.is_ascii_whitespace())
}

fn from_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let compact = compact
        .strip_prefix(b"0x")
        .map(<[u8]>::to_vec)
        .unwrap_or(compact);
    hex::decode(&compact).map_err(|e| format!("invalid hex: {e}"))
}

/// The bytes of one input argument.
fn read_input(arg: &str) -> Result<Vec<u8>, String> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        return if looks_hex(&buf) {
            from_hex(&buf)
        } else {
            Ok(buf)
        };
    }
    if let Some(path) = arg.strip_prefix('@') {
        return std::fs::read(path).map_err(|e| format!("cannot read {path:?}: {e}"));
    }
    from_hex(arg.as_bytes())
}

/// Decodes every frame of `bytes`; stops at the first error.
pub(crate) fn decode_all(
    proto: WireProtocol,
    bytes: &[u8],
    mut each: impl FnMut(FrameJson) -> Result<(), BoxError>,
) -> Result<usize, BoxError> {
    let p = proto.protocol();
    let cfg = WireConfig::default();
    let mut buf = BytesMut::from(bytes);
    let mut n = 0;
    while !buf.is_empty() {
        match p.decode(&mut buf, &cfg) {
            Ok(Some(m)) => {
                n += 1;
                each(FrameJson::new(&m, &cfg))?;
            }
            Ok(None) => {
                return Err(
                    format!("frame {}: incomplete, {} bytes left over", n + 1, buf.len()).into(),
                )
            }
            Err(e) => return Err(format!("frame {}: {e}", n + 1).into()),
        }
    }
    Ok(n)
}

/// `erpc decode`.
pub(crate) fn run(a: DecodeArgs) -> Result<(), BoxError> {
    let mut bytes = Vec::new();
    for arg in &a.input {
        bytes.extend(read_input(arg)?);
    }
    if bytes.is_empty() {
        return Err("nothing to decode".into());
    }
    let mut out = std::io::stdout().lock();
    decode_all(a.proto, &bytes, |f| {
        let text = if a.pretty {
            serde_json::to_string_pretty(&f)?
        } else {
            serde_json::to_string(&f)?
        };
        writeln!(out, "{text}")?;
        Ok(())
    })?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_input() {
        assert!(looks_hex(b"00ff\n"));
        assert!(!looks_hex(b"\x00\x00"));
        assert!(!looks_hex(b"POST / HTTP/1.1"));
        assert_eq!(from_hex(b"0x00 0A\n").unwrap(), vec![0, 10]);
        assert!(from_hex(b"0").is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [
            &b"\x00\x00\x00\x05\x00"[..],
            b"\xff\xff\xff\xff",
            b"\x00\x00\x00\x02",
        ] {
            let _ = decode_all(WireProtocol::Raw, input, |_| Ok(()));
        }
        assert!(decode_all(WireProtocol::Raw, b"\x00\x00", |_| Ok(())).is_err());
    }
}
