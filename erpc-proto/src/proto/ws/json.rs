//! The websocket JSON sub-protocol (Go's `jsonSubProto`): one JSON object per message, read
//! and written with jsonproto's scanner and escaping (see the [parent module](super)).

use bytes::{BufMut, Bytes, BytesMut};

use super::super::json::{header_strings, put_decimal, put_escaped, top_level_values, Kind, Value};
use super::{filtered_body, unfiltered_body};
use crate::xfer::XferPipe;
use crate::{CodecId, DecodeError, EncodeError, Message, MessageType, WireConfig};

/// Appends the JSON object of `msg` (filters applied to the body).
pub(super) fn encode(
    msg: &Message,
    cfg: &WireConfig,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let body = filtered_body(msg, cfg)?;
    out.reserve(
        120 + msg.service_method.len() + msg.meta.query_len() + body.len() + body.len() / 8,
    );
    out.put_slice(b"{\"seq\":");
    put_decimal(out, i64::from(msg.seq));
    out.put_slice(b",\"mtype\":");
    put_decimal(out, i64::from(msg.mtype.0));
    out.put_slice(b",\"serviceMethod\":\"");
    put_escaped(out, msg.service_method.as_bytes());
    // Meta and status are percent-encoded: nothing to escape.
    out.put_slice(b"\",\"meta\":\"");
    msg.meta.write_query(out);
    out.put_slice(b"\",\"bodyCodec\":");
    put_decimal(out, i64::from(msg.body_codec.0));
    out.put_slice(b",\"body\":\"");
    put_escaped(out, &body);
    out.put_slice(b"\",\"xferPipe\":[");
    for (i, &id) in msg.xfer_pipe.ids().iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        put_decimal(out, i64::from(id));
    }
    out.put_u8(b']');
    if !msg.status.is_ok() {
        out.put_slice(b",\"status\":\"");
        msg.status.write_query(out);
        out.put_u8(b'"');
    }
    out.put_u8(b'}');
    Ok(())
}

/// Reads one message from the JSON text, leniently like Go's gjson lookups.
pub(super) fn decode(text: Bytes, cfg: &WireConfig) -> Result<Message, DecodeError> {
    const KEYS: [&[u8]; 8] = [
        b"seq",
        b"mtype",
        b"serviceMethod",
        b"meta",
        b"bodyCodec",
        b"body",
        b"xferPipe",
        b"status",
    ];
    let [seq, mtype, sm, meta, codec, body, pipe, status] = top_level_values(&text, KEYS);
    let xfer_pipe = xfer_ids(pipe.as_ref(), &text)?;
    let body = unfiltered_body(&xfer_pipe, Value::string(body.as_ref(), &text), cfg)?;
    let (service_method, status, meta) =
        header_strings(&text, sm.as_ref(), status.as_ref(), meta.as_ref())?;
    Ok(Message {
        seq: Value::int(seq.as_ref(), &text) as i32,
        mtype: MessageType(Value::int(mtype.as_ref(), &text) as u8),
        service_method,
        status,
        meta,
        body_codec: CodecId(Value::int(codec.as_ref(), &text) as u8),
        body,
        xfer_pipe,
    })
}

/// gjson's `Array()` of the `xferPipe` value, each element's `Int()` as a filter id: missing or
/// null is empty, a non-array is one element. More than 255 ids is an error.
fn xfer_ids(v: Option<&Value>, text: &Bytes) -> Result<XferPipe, DecodeError> {
    let Some(v) = v else {
        return Ok(XferPipe::new());
    };
    let mut ids = Vec::new();
    match v.kind {
        Kind::Null => {}
        Kind::Json if text[v.start] == b'[' => {
            // Elements of a flat array; nested values are not filter ids (gjson: 0).
            let inner = &text[v.start + 1..v.end.saturating_sub(1).max(v.start + 1)];
            let mut depth = 0usize;
            let mut in_str = false;
            let mut esc = false;
            let mut start = 0;
            let mut elems = Vec::new();
            for (i, &b) in inner.iter().enumerate() {
                if in_str {
                    match (esc, b) {
                        (true, _) => esc = false,
                        (false, b'\\') => esc = true,
                        (false, b'"') => in_str = false,
                        _ => {}
                    }
                    continue;
                }
                match b {
                    b'"' => in_str = true,
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => depth = depth.saturating_sub(1),
                    b',' if depth == 0 => {
                        elems.push(&inner[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            elems.push(&inner[start..]);
            for e in elems {
                let e = e.trim_ascii();
                if e.is_empty() {
                    continue;
                }
                ids.push(element_int(e) as u8);
            }
        }
        _ => ids.push(Value::int(Some(v), text) as u8),
    }
    if ids.len() > 255 {
        return Err(DecodeError::Malformed(format!(
            "{} transfer filter ids, more than 255",
            ids.len()
        )));
    }
    Ok(XferPipe::from_bytes(Bytes::from(ids)))
}

/// gjson's `Int()` of one array element's raw text (looked up as the value of a one-key object,
/// so that the scanner's rules apply unchanged).
fn element_int(e: &[u8]) -> i64 {
    let wrapped = Bytes::from([b"{\"v\":".as_slice(), e, b"}".as_slice()].concat());
    let [found] = top_level_values(&wrapped, [b"v"]);
    Value::int(found.as_ref(), &wrapped)
}

#[cfg(test)]
mod tests {
    use super::super::{WsProto, WsSubProto};
    use super::*;
    use crate::proto::Protocol;
    use crate::{Code, Status};

    fn rec(text: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_u32(text.len() as u32);
        b.put_slice(text);
        b
    }

    fn ws() -> WsProto {
        WsProto::new(WsSubProto::Json)
    }

    #[test]
    fn go_shape_byte_for_byte() {
        let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
        msg.meta.add("author", "henrylee2cn");
        msg.body_codec = CodecId::JSON;
        msg.body = Bytes::from_static(b"[1,2,3,4,5]");
        let cfg = WireConfig::default();
        let mut out = BytesMut::new();
        ws().encode(&msg, &cfg, &mut out).unwrap();
        assert_eq!(
            &out[4..],
            &br#"{"seq":1,"mtype":1,"serviceMethod":"/math/add","meta":"author=henrylee2cn","bodyCodec":106,"body":"[1,2,3,4,5]","xferPipe":[]}"#[..]
        );
        assert_eq!(ws().decode(&mut out, &cfg).unwrap().unwrap(), msg);
        // Go's reply to a failed call, as the README shows it.
        let go = rec(br#"{"seq":7,"mtype":2,"serviceMethod":"","meta":"","bodyCodec":0,"body":"","xferPipe":[]}"#);
        let m = ws().decode(&mut go.clone(), &cfg).unwrap().unwrap();
        assert_eq!(
            (m.seq, m.mtype, m.status.is_ok()),
            (7, MessageType::REPLY, true)
        );
    }

    #[test]
    fn status_and_filters_roundtrip() {
        let cfg = WireConfig::default();
        let mut msg = Message::new(MessageType::REPLY, 5, "");
        msg.status = Status::new(Code(1001), "custom error", Some("custom cause"));
        msg.xfer_pipe = XferPipe::from_ids(b"g");
        msg.body = Bytes::from_static(b"\"quoted\" \\ back\tslash \x00 bytes \xff");
        let mut out = BytesMut::new();
        ws().encode(&msg, &cfg, &mut out).unwrap();
        let mut tail = BytesMut::from(&br#","xferPipe":[103],"status":""#[..]);
        msg.status.write_query(&mut tail);
        tail.put_slice(b"\"}");
        assert!(out[4..].ends_with(&tail), "{:?}", out);
        assert!(out.starts_with(b"\0\0"));
        assert_eq!(ws().decode(&mut out, &cfg).unwrap().unwrap(), msg);
        // Without a status key, an OK message exactly Go's shape.
        let mut ok = Message::new(MessageType::REPLY, 5, "");
        ok.body = Bytes::from_static(b"42");
        let mut out = BytesMut::new();
        ws().encode(&ok, &cfg, &mut out).unwrap();
        assert!(!out[4..].windows(8).any(|w| w == b"\"status\""));
    }

    #[test]
    fn lenient_reader() {
        let cfg = WireConfig::default();
        // md5 is undone on "hi": not md5 filter output, so a filter error.
        assert!(matches!(
            ws().decode(&mut rec(br#"  {"xferPipe":[109],"body":"hi"}"#), &cfg),
            Err(DecodeError::Filter { .. })
        ));
        let m = ws()
            .decode(
                &mut rec(br#"{"extra":{"seq":9},"seq":"4","mtype":3,"body":"hi","xferPipe":null}"#),
                &cfg,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.seq, m.mtype, &m.body[..]),
            (4, MessageType::PUSH, &b"hi"[..])
        );
        assert!(m.xfer_pipe.is_empty());
        let ids = xfer_ids(
            top_level_values(br#"{"p":[109 , "103", 1.5e0]}"#, [b"p"])[0].as_ref(),
            &Bytes::from_static(br#"{"p":[109 , "103", 1.5e0]}"#),
        )
        .unwrap();
        assert_eq!(ids.ids(), &[109, 103, 1]);
        // Text that holds no object: every field zero (the session then rejects mtype 0).
        let m = ws().decode(&mut rec(b"[1,2]"), &cfg).unwrap().unwrap();
        assert_eq!(m.mtype, MessageType(0));
    }

    #[test]
    fn bad_input_errors() {
        let cfg = WireConfig::default();
        // An unknown filter id.
        assert!(matches!(
            ws().decode(
                &mut rec(br#"{"seq":1,"mtype":1,"body":"x","xferPipe":[200]}"#),
                &cfg
            ),
            Err(DecodeError::UnknownFilter(200))
        ));
        // A bad status text.
        assert!(matches!(
            ws().decode(
                &mut rec(b"{\"seq\":1,\"mtype\":2,\"status\":\"code=1&msg=%ff\"}"),
                &cfg
            ),
            Err(DecodeError::BadStatus)
        ));
        // Too many ids.
        let many = format!("{{\"xferPipe\":[{}]}}", vec!["1"; 300].join(","));
        assert!(matches!(
            ws().decode(&mut rec(many.as_bytes()), &cfg),
            Err(DecodeError::Malformed(_))
        ));
        // Service method not UTF-8.
        assert!(matches!(
            ws().decode(&mut rec(b"{\"serviceMethod\":\"\xff\"}"), &cfg),
            Err(DecodeError::InvalidServiceMethod)
        ));
    }
}
