//! [`Thrift<T>`]: bodies of types the Thrift compiler generated (`thrift --gen rs`, the
//! Apache `thrift` crate's [`TSerializable`]), written and read with TBinaryProtocol as Go
//! eRPC's thrift codec does.

use bytes::Bytes;
use thrift::protocol::{
    TBinaryInputProtocol, TBinaryOutputProtocol, TOutputProtocol, TSerializable,
};

use crate::codec::{CodecError, CodecId, CodecRegistry, DecodeBody, EncodeBody};

/// A body of a Thrift-generated type (feature `thrift-idl`): a TBinaryProtocol struct, the
/// bytes Go eRPC's thrift codec (`t`) writes for the same IDL struct (field headers, values,
/// STOP; no message header, so the binary protocol's strict flag does not show). Only the
/// thrift codec carries it; a call or push that names no codec uses it
/// ([`EncodeBody::preferred_codec`]).
///
/// An empty body reads as the empty struct (a lone STOP, Go's encoding of a nil body): it
/// decodes when every field is optional and fails like any other body that lacks a required
/// field.
///
/// For plain Rust types with serde, the thrift codec reads and writes the same bytes
/// without generated code ([`ThriftCodec`](crate::codec::ThriftCodec)).
#[derive(Clone, Default, PartialEq, Eq, Hash, Debug)]
#[allow(clippy::exhaustive_structs)] // a newtype over the generated struct, by design
pub struct Thrift<T>(pub T);

/// Checks that `codec` is the registered thrift codec.
fn check_thrift(codec: CodecId, codecs: &CodecRegistry) -> Result<(), CodecError> {
    let resolved = codecs.resolve(codec)?;
    if codec != CodecId::THRIFT {
        return Err(CodecError::unsupported(
            resolved.name(),
            "a Thrift-generated struct (Thrift<T>) can only be carried by the thrift codec",
        ));
    }
    Ok(())
}

impl<T: TSerializable> EncodeBody for Thrift<T> {
    fn encode_body(&self, codec: CodecId, codecs: &CodecRegistry) -> Result<Bytes, CodecError> {
        check_thrift(codec, codecs)?;
        let mut out = Vec::new();
        {
            let mut p = TBinaryOutputProtocol::new(&mut out, true);
            self.0
                .write_to_out_protocol(&mut p)
                .and_then(|()| p.flush())
                .map_err(|e| CodecError::encode("thrift", e))?;
        }
        Ok(Bytes::from(out))
    }

    fn preferred_codec(&self) -> Option<CodecId> {
        Some(CodecId::THRIFT)
    }
}

impl<T: TSerializable> DecodeBody for Thrift<T> {
    fn decode_body(
        codec: CodecId,
        body: Bytes,
        codecs: &CodecRegistry,
    ) -> Result<Self, CodecError> {
        // The empty struct: Go writes a nil body as a lone STOP.
        let bytes: &[u8] = if body.is_empty() { &[0] } else { &body };
        if !body.is_empty() {
            check_thrift(codec, codecs)?;
        }
        let mut p = TBinaryInputProtocol::new(bytes, true);
        T::read_from_in_protocol(&mut p)
            .map(Thrift)
            .map_err(|e| CodecError::decode("thrift", e))
    }
}
