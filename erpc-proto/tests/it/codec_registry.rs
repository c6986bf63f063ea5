//! The codec registry: built-in codecs, custom codecs, registration rules.
#![cfg(all(
    feature = "json",
    feature = "protobuf",
    feature = "thrift",
    feature = "xml",
    feature = "form",
    feature = "plain"
))]

use std::sync::Arc;

use bytes::Bytes;
use erpc_proto::codec::{
    Codec, CodecError, CodecId, CodecRegistry, DecodeBody, DecodeFn, EncodeBody, RegisterError,
};
use serde::{Deserialize, Serialize};

#[test]
fn default_registry_has_go_ids_and_names() {
    let reg = CodecRegistry::default();
    let expected = [
        (CodecId::FORM, "form"),
        (CodecId::JSON, "json"),
        (CodecId::PROTOBUF, "protobuf"),
        (CodecId::PLAIN, "plain"),
        (CodecId::THRIFT, "thrift"),
        (CodecId::XML, "xml"),
    ];
    let listed: Vec<(CodecId, String)> =
        reg.iter().map(|c| (c.id(), c.name().to_owned())).collect();
    assert_eq!(
        listed,
        expected
            .iter()
            .map(|&(id, name)| (id, name.to_owned()))
            .collect::<Vec<_>>()
    );
    for (id, name) in expected {
        assert!(reg.contains(id));
        assert_eq!(reg.codec(id).unwrap().name(), name);
        assert_eq!(reg.by_name(name).unwrap().id(), id);
    }
    assert_eq!(
        (CodecId::JSON.0, CodecId::PROTOBUF.0, CodecId::THRIFT.0),
        (106, 112, 116)
    );
    assert_eq!(
        (CodecId::XML.0, CodecId::FORM.0, CodecId::PLAIN.0),
        (120, 102, 115)
    );
    assert!(!reg.contains(CodecId::NONE));
    assert!(reg.by_name("").is_none());
    assert!(CodecRegistry::empty().iter().next().is_none());
}

#[test]
fn resolve_reports_none_and_unknown() {
    let reg = CodecRegistry::default();
    assert_eq!(reg.resolve(CodecId::NONE).unwrap_err(), CodecError::NoCodec);
    assert_eq!(
        reg.resolve(CodecId(b'z')).unwrap_err(),
        CodecError::UnknownCodec(CodecId(b'z'))
    );
    assert_eq!(CodecError::NoCodec.to_string(), "unsupported codec id: 0");
    assert_eq!(
        CodecError::UnknownCodec(CodecId(122)).to_string(),
        "unsupported codec id: 122"
    );
}

/// A user codec: a tiny length-prefixed format over serde_json values, standing in for the
/// msgpack codec a user might write.
#[derive(Debug)]
struct Framed;

impl Codec for Framed {
    fn id(&self) -> CodecId {
        CodecId(b'm')
    }

    fn name(&self) -> &str {
        "framed-json"
    }

    fn encode(
        &self,
        value: &dyn erased_serde::Serialize,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let json = serde_json::to_vec(value).map_err(|e| CodecError::encode(self.name(), e))?;
        let len = u32::try_from(json.len()).map_err(|e| CodecError::encode(self.name(), e))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&json);
        Ok(())
    }

    fn decode<'de>(
        &self,
        body: &'de [u8],
        visit: &mut DecodeFn<'_, 'de>,
    ) -> Result<(), CodecError> {
        let (len, rest) = body
            .split_first_chunk::<4>()
            .ok_or_else(|| CodecError::decode(self.name(), "missing length"))?;
        if u32::from_be_bytes(*len) as usize != rest.len() {
            return Err(CodecError::decode(self.name(), "length mismatch"));
        }
        let mut de = serde_json::Deserializer::from_slice(rest);
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut de))
            .map_err(|e| CodecError::decode(self.name(), e))?;
        de.end().map_err(|e| CodecError::decode(self.name(), e))
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Point {
    x: i32,
    y: Option<String>,
}

#[test]
fn custom_codec_round_trip() {
    let mut reg = CodecRegistry::default();
    reg.register(Framed).unwrap();
    let id = CodecId(b'm');
    assert!(reg.contains(id));
    assert_eq!(reg.by_name("framed-json").unwrap().id(), id);

    let p = Point {
        x: 3,
        y: Some("z".into()),
    };
    let body = p.encode_body(id, &reg).unwrap();
    assert_eq!(&body[..4], &[0, 0, 0, 15]);
    assert_eq!(&body[4..], br#"{"x":3,"y":"z"}"#);
    assert_eq!(Point::decode_body(id, body.clone(), &reg).unwrap(), p);
    assert_eq!(reg.decode::<Point>(id, body).unwrap(), p);
    assert!(matches!(
        Point::decode_body(id, Bytes::from_static(b"\0\0\0\x09{\"x\":1}"), &reg),
        Err(CodecError::Decode { ref codec, .. }) if codec == "framed-json"
    ));

    // A registry without it does not know the id.
    let plain = CodecRegistry::default();
    assert_eq!(
        p.encode_body(id, &plain).unwrap_err(),
        CodecError::UnknownCodec(id)
    );
}

#[test]
fn registration_rules() {
    let mut reg = CodecRegistry::default();

    #[derive(Debug)]
    struct Named(u8, &'static str);
    impl Codec for Named {
        fn id(&self) -> CodecId {
            CodecId(self.0)
        }
        fn name(&self) -> &str {
            self.1
        }
        fn encode(
            &self,
            _: &dyn erased_serde::Serialize,
            _: &mut Vec<u8>,
        ) -> Result<(), CodecError> {
            Ok(())
        }
        fn decode<'de>(&self, _: &'de [u8], _: &mut DecodeFn<'_, 'de>) -> Result<(), CodecError> {
            Ok(())
        }
    }

    assert_eq!(
        reg.register(Named(0, "zero")).unwrap_err(),
        RegisterError::ZeroId
    );
    assert_eq!(
        reg.register(Named(b'j', "json2")).unwrap_err(),
        RegisterError::DuplicateId(CodecId::JSON)
    );
    assert_eq!(
        reg.register(Named(b'J', "json")).unwrap_err(),
        RegisterError::DuplicateName("json".into())
    );

    // Clones share until one is changed.
    let before = reg.clone();
    reg.register_arc(Arc::new(Named(200, "high"))).unwrap();
    assert!(reg.contains(CodecId(200)));
    assert!(!before.contains(CodecId(200)));

    // A codec that never calls the decoder is reported, not a panic.
    assert!(matches!(
        i32::decode_body(CodecId(200), Bytes::from_static(b"1"), &reg),
        Err(CodecError::Decode { .. })
    ));

    let built = CodecRegistry::empty().with(Framed).unwrap();
    assert_eq!(format!("{built:?}"), "{CodecId('m'): \"framed-json\"}");
}
