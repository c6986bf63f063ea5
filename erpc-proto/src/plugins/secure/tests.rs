use std::time::Instant;

use super::*;
use crate::plugin::SessionInfo;
use crate::Meta;

const KEY: &[u8] = b"0123456789abcdef";
const VERSION: &str = "4032af8d61035123906e58e067140cc5";

fn plugin() -> Secure {
    Secure::new(KEY, DEFAULT_CODE).unwrap()
}

fn msg(mtype: MessageType, codec: CodecId, body: &'static [u8], meta: &[(&str, &str)]) -> Message {
    let mut m = Message::new(mtype, 1, "/math/add");
    m.body_codec = codec;
    m.body = Bytes::from_static(body);
    let mut md = Meta::new();
    for (k, v) in meta {
        md.add(k, v);
    }
    m.meta = md;
    m
}

#[allow(clippy::disallowed_methods)] // a test needs some instant; secure never reads it
fn origin() -> Instant {
    Instant::now()
}

/// Runs `hook` with a fresh context over `m` and `swap`.
fn with_cx<R>(m: &mut Message, swap: &mut Swap, hook: impl FnOnce(&mut MessageCtx<'_>) -> R) -> R {
    let info = SessionInfo::default();
    let mut cx = MessageCtx {
        message: m,
        session: &info,
        now: origin(),
        swap,
    };
    hook(&mut cx)
}

fn status_parts(st: &Status) -> (i32, &str, Option<&str>) {
    (st.code().0, st.msg(), st.cause())
}

#[test]
fn go_vectors() {
    let p = plugin();
    assert_eq!(p.cipher_version(), VERSION);
    assert_eq!(p.encrypt_hex(b"[10,2]"), "b7a42adbb800e48dc7c72604dafc3594");
    assert_eq!(p.encrypt_hex(b"12"), "8b5fe807a26006af9d7a252a074c06d6");
    assert_eq!(
        p.decrypt_hex(b"b7a42adbb800e48dc7c72604dafc3594").unwrap(),
        b"[10,2]"
    );
    // Go's hex decoder takes upper case too.
    assert_eq!(
        p.decrypt_hex(b"8B5FE807A26006AF9D7A252A074C06D6").unwrap(),
        b"12"
    );
    // A whole block of plaintext gets a whole block of padding.
    assert_eq!(p.encrypt_hex(&[7u8; 16]).len(), 64);
    assert_eq!(p.encrypt_hex(b"").len(), 32);
}

#[test]
fn key_sizes() {
    for n in [16, 24, 32] {
        let key = vec![b'k'; n];
        let p = Secure::new(&key, Code(7)).unwrap();
        let plain = b"the quick brown fox jumps over the lazy dog";
        let c = p.encrypt_hex(plain);
        assert_eq!(c.len() % 32, 0);
        assert_eq!(p.decrypt_hex(c.as_bytes()).unwrap(), plain);
    }
    // Different key sizes give different ciphertexts of one plaintext.
    let a = Secure::new(&[1; 16], Code(7)).unwrap().encrypt_hex(b"x");
    let b = Secure::new(&[1; 32], Code(7)).unwrap().encrypt_hex(b"x");
    assert_ne!(a, b);
    for n in [0, 1, 15, 17, 31, 33, 64] {
        assert_eq!(
            Secure::new(&vec![0; n], Code(7)).unwrap_err(),
            SecureError::KeySize(n)
        );
    }
    // The key never shows in Debug.
    let dbg = format!("{:?}", plugin());
    assert!(!dbg.contains("0123456789abcdef"), "{dbg}");
}

/// Ciphertext of raw blocks (no padding added) under the test key.
fn raw_cipher(plain: &[u8]) -> String {
    let mut buf = plain.to_vec();
    plugin().cipher.encrypt_blocks(&mut buf);
    hex::encode(buf)
}

#[test]
fn bad_ciphertext_is_gos_status_never_a_panic() {
    let p = plugin();
    let dec = |s: &str| p.decrypt_hex(s.as_bytes()).unwrap_err();
    let d = |cause: &str| (100_001, "decrypt ciphertext error", Some(cause.to_owned()));
    let parts = |st: Status| {
        (
            st.code().0,
            st.msg().to_owned(),
            st.cause().map(str::to_owned),
        )
    };
    let owned = |(c, m, x): (i32, &str, Option<String>)| (c, m.to_owned(), x);
    // Go's hex texts: an invalid byte before an odd length.
    assert_eq!(
        parts(dec("zz")),
        owned(d("encoding/hex: invalid byte: U+007A 'z'"))
    );
    assert_eq!(
        parts(dec("abg")),
        owned(d("encoding/hex: invalid byte: U+0067 'g'"))
    );
    assert_eq!(
        parts(dec("abc")),
        owned(d("encoding/hex: odd length hex string"))
    );
    assert_eq!(
        parts(dec("a\u{1}")),
        owned(d("encoding/hex: invalid byte: U+0001"))
    );
    assert_eq!(
        parts(dec(" 0")),
        owned(d("encoding/hex: invalid byte: U+0020 ' '"))
    );
    // Not whole blocks: Go's recovered panic.
    for s in ["ab", "b7a42adbb800e48dc7c72604dafc35", &"00".repeat(17)] {
        assert_eq!(
            parts(dec(s)),
            (
                500,
                "Internal Server Error".to_owned(),
                Some("crypto/aes: input not full block".to_owned())
            )
        );
    }
    assert_eq!(parts(dec("")), owned(d("input padded bytes is empty")));
    // Padding byte larger than the data.
    let mut block = [0u8; 16];
    block[15] = 0xff;
    assert_eq!(
        parts(dec(&raw_cipher(&block))),
        owned(d("input padded bytes is invalid"))
    );
    // Padding byte 0 (Go accepts it), 17 (Go strips more than a block), inconsistent bytes.
    block[15] = 0;
    assert_eq!(
        parts(dec(&raw_cipher(&block))),
        owned(d("remove pad error"))
    );
    let mut two = [17u8; 32];
    two[0] = b'x';
    assert_eq!(parts(dec(&raw_cipher(&two))), owned(d("remove pad error")));
    let mut bad = [3u8; 16];
    bad[14] = 2;
    assert_eq!(parts(dec(&raw_cipher(&bad))), owned(d("remove pad error")));
    // Good padding of exactly one block.
    assert_eq!(
        p.decrypt_hex(raw_cipher(&[16u8; 16]).as_bytes()).unwrap(),
        b""
    );
}

#[test]
fn seal_call_json_is_gos_body() {
    let p = plugin();
    let mut m = msg(
        MessageType::CALL,
        CodecId::JSON,
        b"[10,2]",
        &[(SECURE_META_KEY, "true")],
    );
    with_cx(&mut m, &mut Swap::new(), |cx| p.pre_write_call(cx)).unwrap();
    assert_eq!(
        &m.body[..],
        format!(
            r#"{{"cipherversion":"{VERSION}","ciphertext":"b7a42adbb800e48dc7c72604dafc3594"}}"#
        )
        .as_bytes()
    );
    assert_eq!(m.meta.peek(SECURE_META_KEY), Some(&b"true"[..]));
}

#[test]
fn unmarked_messages_pass_and_other_flag_values_are_removed() {
    let p = plugin();
    let mut m = msg(MessageType::CALL, CodecId::JSON, b"[1]", &[]);
    with_cx(&mut m, &mut Swap::new(), |cx| p.pre_write_call(cx)).unwrap();
    assert_eq!(&m.body[..], b"[1]");
    let mut m = msg(
        MessageType::PUSH,
        CodecId::JSON,
        b"[1]",
        &[(SECURE_META_KEY, "TRUE")],
    );
    with_cx(&mut m, &mut Swap::new(), |cx| p.pre_write_push(cx)).unwrap();
    assert_eq!(&m.body[..], b"[1]");
    assert!(!m.meta.contains(SECURE_META_KEY));
    let mut m = msg(
        MessageType::CALL,
        CodecId::JSON,
        b"[2]",
        &[(SECURE_META_KEY, "1")],
    );
    with_cx(&mut m, &mut Swap::new(), |cx| p.post_read_call_body(cx)).unwrap();
    assert_eq!(&m.body[..], b"[2]");
    assert!(!m.meta.contains(SECURE_META_KEY));
}

fn sealed(body: &'static [u8], codec: CodecId) -> Message {
    let mut m = msg(MessageType::CALL, codec, body, &[(SECURE_META_KEY, "true")]);
    with_cx(&mut m, &mut Swap::new(), |cx| plugin().pre_write_call(cx)).unwrap();
    m
}

#[test]
fn call_roundtrip_and_reply_decision() {
    let p = plugin();
    // Encrypted call: decrypted; the reply is encrypted.
    let mut m = sealed(b"[10,2]", CodecId::JSON);
    let mut swap = Swap::new();
    with_cx(&mut m, &mut swap, |cx| p.post_read_call_body(cx)).unwrap();
    assert_eq!(&m.body[..], b"[10,2]");
    let mut reply = msg(MessageType::REPLY, CodecId::JSON, b"12", &[]);
    with_cx(&mut reply, &mut swap, |cx| p.pre_write_reply(cx)).unwrap();
    assert_eq!(
        &reply.body[..],
        format!(
            r#"{{"cipherversion":"{VERSION}","ciphertext":"8b5fe807a26006af9d7a252a074c06d6"}}"#
        )
        .as_bytes()
    );
    assert_eq!(reply.meta.peek(SECURE_META_KEY), Some(&b"true"[..]));
    // The caller decrypts it.
    let mut swap2 = Swap::new();
    with_cx(&mut reply, &mut swap2, |cx| p.post_read_reply_body(cx)).unwrap();
    assert_eq!(&reply.body[..], b"12");

    // Encrypted call with X-Accept-Secure: false: plain reply.
    let mut m = sealed(b"[1,1]", CodecId::JSON);
    m.meta.set(ACCEPT_SECURE_META_KEY, "false");
    let mut swap = Swap::new();
    with_cx(&mut m, &mut swap, |cx| p.post_read_call_body(cx)).unwrap();
    let mut reply = msg(MessageType::REPLY, CodecId::JSON, b"2", &[]);
    with_cx(&mut reply, &mut swap, |cx| p.pre_write_reply(cx)).unwrap();
    assert_eq!(&reply.body[..], b"2");
    assert!(!reply.meta.contains(SECURE_META_KEY));

    // Plain call with X-Accept-Secure: true: encrypted reply; without: plain.
    for (accept, encrypted) in [(Some("true"), true), (Some("yes"), false), (None, false)] {
        let meta: Vec<(&str, &str)> = accept
            .map(|a| (ACCEPT_SECURE_META_KEY, a))
            .into_iter()
            .collect();
        let mut m = msg(MessageType::CALL, CodecId::JSON, b"[20,4]", &meta);
        let mut swap = Swap::new();
        with_cx(&mut m, &mut swap, |cx| p.post_read_call_body(cx)).unwrap();
        assert_eq!(&m.body[..], b"[20,4]");
        let mut reply = msg(MessageType::REPLY, CodecId::JSON, b"24", &[]);
        with_cx(&mut reply, &mut swap, |cx| p.pre_write_reply(cx)).unwrap();
        assert_eq!(
            reply.meta.contains(SECURE_META_KEY),
            encrypted,
            "{accept:?}"
        );
        assert_eq!(&reply.body[..] != b"24", encrypted);
    }

    // Error replies are never encrypted.
    let mut m = sealed(b"[1]", CodecId::JSON);
    let mut swap = Swap::new();
    with_cx(&mut m, &mut swap, |cx| p.post_read_call_body(cx)).unwrap();
    let mut reply = Message::new(MessageType::REPLY, 1, "/x");
    reply.status = Status::new(Code(1001), "custom error", Some("custom cause"));
    with_cx(&mut reply, &mut swap, |cx| p.pre_write_reply(cx)).unwrap();
    assert!(reply.body.is_empty());
    assert_eq!(reply.status.code(), Code(1001));
}

#[test]
fn push_is_decrypted() {
    let p = plugin();
    let mut m = sealed(b"\"hi\"", CodecId::JSON);
    m.mtype = MessageType::PUSH;
    let mut swap = Swap::new();
    with_cx(&mut m, &mut swap, |cx| p.post_read_push_body(cx)).unwrap();
    assert_eq!(&m.body[..], b"\"hi\"");
    assert!(swap.is_empty(), "a push asks for no reply");
}

fn open_err(body: &'static [u8], codec: CodecId) -> Status {
    let mut m = msg(MessageType::CALL, codec, body, &[(SECURE_META_KEY, "true")]);
    with_cx(&mut m, &mut Swap::new(), |cx| {
        plugin().post_read_call_body(cx)
    })
    .unwrap_err()
}

#[test]
fn bad_bodies_are_gos_statuses() {
    let wrong = Secure::new(b"fedcba9876543210", DEFAULT_CODE).unwrap();
    let mut m = msg(
        MessageType::CALL,
        CodecId::JSON,
        b"[10,2]",
        &[(SECURE_META_KEY, "true")],
    );
    with_cx(&mut m, &mut Swap::new(), |cx| wrong.pre_write_call(cx)).unwrap();
    let st = with_cx(&mut m, &mut Swap::new(), |cx| {
        plugin().post_read_call_body(cx)
    })
    .unwrap_err();
    let cause = format!(
        "inconsistent encryption version, get:\"{}\", want:\"{VERSION}\"",
        wrong.cipher_version()
    );
    assert_eq!(
        status_parts(&st),
        (100_001, "decrypt ciphertext error", Some(cause.as_str()))
    );

    let st = open_err(
        br#"{"cipherversion":"x\"y","ciphertext":"ab"}"#,
        CodecId::JSON,
    );
    assert_eq!(
        st.cause(),
        Some(format!(r#"inconsistent encryption version, get:"x\"y", want:"{VERSION}""#).as_str())
    );
    let st = open_err(
        br#"{"cipherversion":"4032af8d61035123906e58e067140cc5","ciphertext":"zz"}"#,
        CodecId::JSON,
    );
    assert_eq!(
        status_parts(&st),
        (
            100_001,
            "decrypt ciphertext error",
            Some("encoding/hex: invalid byte: U+007A 'z'")
        )
    );
    let st = open_err(b"[1,2]", CodecId::JSON);
    assert_eq!(
        status_parts(&st),
        (
            400,
            "Bad Message",
            Some("json: cannot unmarshal array into Go value of type secure.Encrypt")
        )
    );
    let st = open_err(b"12", CodecId::JSON);
    assert_eq!(
        st.cause(),
        Some("json: cannot unmarshal number into Go value of type secure.Encrypt")
    );
    let st = open_err(br#"{"ciphertext":5}"#, CodecId::JSON);
    assert_eq!(
        st.cause(),
        Some(
            "json: cannot unmarshal number into Go struct field Encrypt.ciphertext of type string"
        )
    );
    let st = open_err(br#"{"a":"#, CodecId::JSON);
    assert_eq!(
        status_parts(&st),
        (400, "Bad Message", Some("unexpected end of JSON input"))
    );
    let st = open_err(b"whatever", CodecId::PLAIN);
    assert_eq!(
        status_parts(&st),
        (
            400,
            "Bad Message",
            Some("plain codec: []byte can not be directly converted to *secure.Encrypt type")
        )
    );
    // Decrypted bytes that are not JSON.
    let mut m = sealed(b"not json", CodecId::JSON);
    let st = with_cx(&mut m, &mut Swap::new(), |cx| {
        plugin().post_read_call_body(cx)
    })
    .unwrap_err();
    assert_eq!(
        status_parts(&st),
        (
            100_001,
            "unmarshal raw body error",
            Some("invalid character 'o' in literal null (expecting 'u')")
        )
    );
    // The plugin's own code.
    let p7 = Secure::new(KEY, Code(7)).unwrap();
    let mut m = msg(
        MessageType::CALL,
        CodecId::JSON,
        br#"{"cipherversion":"4032af8d61035123906e58e067140cc5","ciphertext":"abc"}"#,
        &[(SECURE_META_KEY, "true")],
    );
    let st = with_cx(&mut m, &mut Swap::new(), |cx| p7.post_read_call_body(cx)).unwrap_err();
    assert_eq!(st.code(), Code(7));
}

#[test]
fn lenient_shapes_as_go() {
    let p = plugin();
    // No cipherversion (or null, or an empty body): no decryption, an empty body.
    for body in [
        &br#"{"ciphertext":"zz"}"#[..],
        b"null",
        b"",
        br#"{"cipherversion":null}"#,
    ] {
        let mut m = msg(
            MessageType::CALL,
            CodecId::JSON,
            b"",
            &[(SECURE_META_KEY, "true")],
        );
        m.body = Bytes::copy_from_slice(body);
        let mut swap = Swap::new();
        with_cx(&mut m, &mut swap, |cx| p.post_read_call_body(cx)).unwrap();
        assert!(m.body.is_empty());
        assert!(swap.contains(ACCEPT_SWAP_KEY));
    }
    // Keys in any case, unknown keys ignored.
    let mut m = msg(
        MessageType::CALL,
        CodecId::JSON,
        br#"{"CipherVersion":"4032af8d61035123906e58e067140cc5","CIPHERTEXT":"b7a42adbb800e48dc7c72604dafc3594","x":[1]}"#,
        &[(SECURE_META_KEY, "true")],
    );
    with_cx(&mut m, &mut Swap::new(), |cx| p.post_read_call_body(cx)).unwrap();
    assert_eq!(&m.body[..], b"[10,2]");
}

#[cfg(feature = "protobuf")]
#[test]
fn protobuf_bodies() {
    let p = plugin();
    let mut m = sealed(b"\x08\x01", CodecId::PROTOBUF);
    // Field 1 (cipherversion, 32 bytes), field 2 (ciphertext, 32 hex chars).
    assert_eq!(&m.body[..2], b"\x0a\x20");
    assert_eq!(&m.body[2..34], VERSION.as_bytes());
    assert_eq!(&m.body[34..36], b"\x12\x20");
    with_cx(&mut m, &mut Swap::new(), |cx| p.post_read_call_body(cx)).unwrap();
    assert_eq!(&m.body[..], b"\x08\x01");
    let st = open_err(b"\xff\xff\xff", CodecId::PROTOBUF);
    assert_eq!(st.code(), Code::BAD_MESSAGE);
}

#[test]
fn plain_reply_cannot_be_sealed() {
    let p = plugin();
    let mut call = msg(
        MessageType::CALL,
        CodecId::PLAIN,
        b"x",
        &[(ACCEPT_SECURE_META_KEY, "true")],
    );
    let mut swap = Swap::new();
    with_cx(&mut call, &mut swap, |cx| p.post_read_call_body(cx)).unwrap();
    let mut reply = msg(MessageType::REPLY, CodecId::PLAIN, b"x", &[]);
    with_cx(&mut reply, &mut swap, |cx| p.pre_write_reply(cx)).unwrap();
    assert_eq!(
        status_parts(&reply.status),
        (
            500,
            "Internal Server Error",
            Some("plain codec: *secure.Encrypt can not be directly converted to []byte type")
        )
    );
    assert!(reply.body.is_empty());
    assert!(!reply.meta.contains(SECURE_META_KEY));
}

#[test]
fn go_quote_and_unicode_verb() {
    assert_eq!(
        crate::go_text::quote("a\"b\\c\n\u{1}é"),
        "\"a\\\"b\\\\c\\n\\x01é\""
    );
    assert_eq!(go_unicode_verb(b'z'), "U+007A 'z'");
    assert_eq!(go_unicode_verb(0x7f), "U+007F");
    assert_eq!(go_unicode_verb(0xe9), "U+00E9 'é'");
}
