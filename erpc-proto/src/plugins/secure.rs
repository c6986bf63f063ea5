//! [`Secure`]: Go eRPC's `plugin/secure`, body encryption wire-compatible with Go.
//!
//! # Security
//!
//! **This is weak cryptography, offered only to talk to Go eRPC peers that use it.** It is
//! AES in ECB mode (identical plaintext blocks give identical ciphertext blocks, so patterns
//! in the body show through), with no IV and **no MAC**: anyone on the path can replay,
//! reorder, truncate or splice ciphertext blocks undetected, and the key is used as it is,
//! without derivation. Meta travels in clear. For confidentiality and integrity use TLS
//! (`tls` feature of erpc-peer) instead, or beside it.
//!
//! # Wire format (Go's)
//!
//! * Meta `X-Secure: true` (exactly `true`; any other value is removed) marks a body as
//!   encrypted. The body is then `Encrypt{cipherversion = 1, ciphertext = 2}` (two strings)
//!   encoded with the message's own body codec: JSON
//!   `{"cipherversion":"…","ciphertext":"…"}`, protobuf fields 1 and 2.
//! * `cipherversion` is the lowercase hex MD5 of the key; `ciphertext` the lowercase hex of
//!   AES-ECB(key, PKCS#7(plaintext)); the plaintext is the body as its codec encoded it.
//!   Key length 16, 24 or 32 bytes selects AES-128, AES-192 or AES-256.
//! * On a CALL, `X-Accept-Secure: true|false` asks for or refuses an encrypted REPLY: an
//!   encrypted call gets an encrypted reply unless it says `false`; a plain call gets one when
//!   it says `true`. Encrypted replies carry `X-Secure: true`; error replies are never
//!   encrypted. PUSHes and REPLYs with `X-Secure: true` are decrypted the same way.
//!
//! # Statuses (Go's)
//!
//! With the plugin's code (Go's `statCode`, [`DEFAULT_CODE`] in the Go peer):
//! `"decrypt ciphertext error"` (wrong cipherversion, bad hex, bad padding) and
//! `"unmarshal raw body error"` (the decrypted JSON is malformed). A body that is not an
//! `Encrypt` is `400 "Bad Message"`; a ciphertext that is not whole AES blocks is
//! `500 "Internal Server Error"` with cause `crypto/aes: input not full block` (Go recovers
//! from a panic there). The causes are Go's texts: hex errors, JSON syntax errors (Go's
//! scanner, reproduced) and JSON shape errors of the `Encrypt` body.
//!
//! One difference remains: Go decodes the decrypted body into the handler's argument inside
//! the plugin, so a JSON body of the wrong *type* (a string for `[]int`) is
//! `"unmarshal raw body error"` there; here the plugin checks only that the JSON is well
//! formed, and the handler's own decoding answers a wrong type (`400 "Bad Message"`). Bodies
//! of other codecs are checked by the handler only.
//!
//! Where Go is lax this plugin is stricter, with the same status: a padding byte of 0 or above
//! 16 (which Go accepts, stripping nothing or more than a block) is `"remove pad error"`.
//! An `Encrypt` without `cipherversion` is not decrypted: the body becomes empty, as in Go.

use std::fmt;

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use bytes::Bytes;
use md5::{Digest, Md5};

use crate::codec::{CodecId, CodecRegistry};
use crate::plugin::{MessageCtx, Plugin, Swap};
use crate::{Code, Message, MessageType, Status};

/// The meta key that marks an encrypted body (value `true`).
pub const SECURE_META_KEY: &str = "X-Secure";
/// The meta key with which a CALL asks for (`true`) or refuses (`false`) an encrypted reply.
pub const ACCEPT_SECURE_META_KEY: &str = "X-Accept-Secure";
/// The status code the Go peer's `--secure-code` defaults to.
pub const DEFAULT_CODE: Code = Code(100_001);

/// The swap key under which a call's "encrypt the reply" decision is kept.
const ACCEPT_SWAP_KEY: &str = "secure.accept";

const AES_BLOCK: usize = 16;

/// Why a [`Secure`] plugin could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecureError {
    /// The key is not 16, 24 or 32 bytes long.
    #[error("secure: invalid AES key size {0} (want 16, 24 or 32 bytes)")]
    KeySize(usize),
}

#[derive(Clone)]
enum Cipher {
    Aes128(aes::Aes128),
    Aes192(aes::Aes192),
    Aes256(aes::Aes256),
}

impl Cipher {
    fn new(key: &[u8]) -> Result<Self, SecureError> {
        let bad = |_| SecureError::KeySize(key.len());
        Ok(match key.len() {
            16 => Cipher::Aes128(aes::Aes128::new_from_slice(key).map_err(bad)?),
            24 => Cipher::Aes192(aes::Aes192::new_from_slice(key).map_err(bad)?),
            32 => Cipher::Aes256(aes::Aes256::new_from_slice(key).map_err(bad)?),
            n => return Err(SecureError::KeySize(n)),
        })
    }

    /// ECB over whole blocks, in place (`buf.len()` is a multiple of 16).
    fn encrypt_blocks(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_exact_mut(AES_BLOCK) {
            let block = GenericArray::from_mut_slice(chunk);
            match self {
                Cipher::Aes128(c) => c.encrypt_block(block),
                Cipher::Aes192(c) => c.encrypt_block(block),
                Cipher::Aes256(c) => c.encrypt_block(block),
            }
        }
    }

    fn decrypt_blocks(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_exact_mut(AES_BLOCK) {
            let block = GenericArray::from_mut_slice(chunk);
            match self {
                Cipher::Aes128(c) => c.decrypt_block(block),
                Cipher::Aes192(c) => c.decrypt_block(block),
                Cipher::Aes256(c) => c.decrypt_block(block),
            }
        }
    }
}

/// Go eRPC's `plugin/secure` (see the [module docs](self), and read its security note).
///
/// Register the same plugin (same key and code) on both peers; then a message whose meta has
/// `X-Secure: true` travels encrypted, and a call with `X-Accept-Secure: true` gets an
/// encrypted reply.
///
/// ```
/// use erpc_proto::plugins::secure::{Secure, DEFAULT_CODE};
///
/// let secure = Secure::new(b"0123456789abcdef", DEFAULT_CODE).unwrap();
/// assert_eq!(secure.cipher_version(), "4032af8d61035123906e58e067140cc5");
/// assert_eq!(secure.encrypt_hex(b"[10,2]"), "b7a42adbb800e48dc7c72604dafc3594");
/// assert_eq!(secure.decrypt_hex(b"8b5fe807a26006af9d7a252a074c06d6").unwrap(), b"12");
/// assert!(Secure::new(b"short", DEFAULT_CODE).is_err());
/// ```
#[derive(Clone)]
pub struct Secure {
    cipher: Cipher,
    version: String,
    code: Code,
    codecs: CodecRegistry,
}

impl fmt::Debug for Secure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("Secure")
            .field("cipher_version", &self.version)
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
}

impl Secure {
    /// A plugin with this AES key (16, 24 or 32 raw bytes: AES-128/192/256) whose errors
    /// carry `code` (Go's `statCode`; the Go peer's default is [`DEFAULT_CODE`]).
    pub fn new(key: &[u8], code: Code) -> Result<Self, SecureError> {
        let cipher = Cipher::new(key)?;
        let version = hex::encode(Md5::digest(key));
        Ok(Secure {
            cipher,
            version,
            code,
            codecs: CodecRegistry::default(),
        })
    }

    /// Uses `codecs` for bodies whose codec is neither JSON, protobuf nor plain (those three
    /// are handled as Go does); the default is [`CodecRegistry::default`].
    pub fn with_codecs(mut self, codecs: CodecRegistry) -> Self {
        self.codecs = codecs;
        self
    }

    /// The `cipherversion` this plugin writes and expects: the lowercase hex MD5 of the key.
    pub fn cipher_version(&self) -> &str {
        &self.version
    }

    /// The status code of this plugin's errors.
    pub fn code(&self) -> Code {
        self.code
    }

    /// AES-ECB with PKCS#7 padding, as lowercase hex (Go's `goutil.AESEncrypt`).
    pub fn encrypt_hex(&self, plaintext: &[u8]) -> String {
        let pad = AES_BLOCK - plaintext.len() % AES_BLOCK;
        let mut buf = Vec::with_capacity(plaintext.len() + pad);
        buf.extend_from_slice(plaintext);
        buf.resize(plaintext.len() + pad, pad as u8);
        self.cipher.encrypt_blocks(&mut buf);
        hex::encode(buf)
    }

    /// The inverse of [`encrypt_hex`](Self::encrypt_hex); the error is the status Go answers
    /// (hex in either case is accepted, as Go's decoder does).
    pub fn decrypt_hex(&self, ciphertext: &[u8]) -> Result<Vec<u8>, Status> {
        let mut buf = go_hex_decode(ciphertext).map_err(|cause| self.decrypt_error(cause))?;
        if buf.len() % AES_BLOCK != 0 {
            return Err(Status::with_cause(
                Code::INTERNAL_SERVER_ERROR,
                "crypto/aes: input not full block",
            ));
        }
        self.cipher.decrypt_blocks(&mut buf);
        let l = buf.len();
        let Some(&last) = buf.last() else {
            return Err(self.decrypt_error("input padded bytes is empty".into()));
        };
        let n = usize::from(last);
        if n > l {
            return Err(self.decrypt_error("input padded bytes is invalid".into()));
        }
        if n == 0 || n > AES_BLOCK || buf[l - n..].iter().any(|&b| b != last) {
            return Err(self.decrypt_error("remove pad error".into()));
        }
        buf.truncate(l - n);
        Ok(buf)
    }

    fn decrypt_error(&self, cause: String) -> Status {
        Status::new(self.code, "decrypt ciphertext error", Some(cause))
    }

    /// Encrypts an outgoing message's body when it is marked (or, for a reply, when its call
    /// asked); Go's `PreWriteCall`/`PreWritePush`/`PreWriteReply`.
    fn seal(&self, msg: &mut Message, swap: &Swap) -> Result<(), Status> {
        if !msg.status.is_ok() {
            return Ok(());
        }
        if !take_secure_flag(msg) {
            if !swap.contains(ACCEPT_SWAP_KEY) {
                return Ok(());
            }
            msg.meta.set(SECURE_META_KEY, "true");
        }
        let ciphertext = self.encrypt_hex(&msg.body);
        msg.body = encode_encrypt(msg.body_codec, &self.version, &ciphertext, &self.codecs)?;
        Ok(())
    }

    /// Decrypts an incoming message's body when it is marked; for a CALL also records whether
    /// its reply is to be encrypted. Go's `PreRead*Body` + `PostRead*Body`.
    fn open(&self, msg: &mut Message, swap: &mut Swap) -> Result<(), Status> {
        let secure = take_secure_flag(msg);
        if msg.mtype == MessageType::CALL {
            let accept = msg.meta.peek(ACCEPT_SECURE_META_KEY);
            let wants = if secure {
                accept != Some(b"false")
            } else {
                accept == Some(b"true")
            };
            if wants {
                swap.insert(ACCEPT_SWAP_KEY, ());
            }
        }
        if !secure {
            return Ok(());
        }
        let enc = decode_encrypt(msg.body_codec, &msg.body, &self.codecs)?;
        let plaintext = if enc.cipherversion.is_empty() {
            Vec::new()
        } else if enc.cipherversion != self.version {
            return Err(self.decrypt_error(format!(
                "inconsistent encryption version, get:{}, want:{}",
                crate::go_text::quote(&enc.cipherversion),
                crate::go_text::quote(&self.version)
            )));
        } else {
            self.decrypt_hex(enc.ciphertext.as_bytes())?
        };
        if msg.body_codec == CodecId::JSON && !plaintext.is_empty() {
            if let Err(e) = go_json::check_valid(&plaintext) {
                return Err(Status::new(self.code, "unmarshal raw body error", Some(e)));
            }
        }
        msg.body = Bytes::from(plaintext);
        Ok(())
    }
}

/// Whether `X-Secure` is exactly `true`; any other value is removed (Go's `isSecure`).
fn take_secure_flag(msg: &mut Message) -> bool {
    match msg.meta.peek(SECURE_META_KEY) {
        Some(b"true") => true,
        Some(_) => {
            msg.meta.remove(SECURE_META_KEY);
            false
        }
        None => false,
    }
}

impl Plugin for Secure {
    fn name(&self) -> &str {
        "secure(encrypt/decrypt)"
    }

    fn pre_write_call(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.seal(cx.message, cx.swap)
    }

    fn pre_write_push(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.seal(cx.message, cx.swap)
    }

    fn pre_write_reply(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        // This hook cannot abort: a reply that cannot be sealed becomes the error reply Go
        // sends when its framework fails to marshal the `Encrypt` body.
        if let Err(st) = self.seal(cx.message, cx.swap) {
            let msg = &mut *cx.message;
            msg.meta.remove(SECURE_META_KEY);
            msg.body = Bytes::new();
            msg.body_codec = CodecId::NONE;
            msg.status = st;
        }
        Ok(())
    }

    fn post_read_call_body(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.open(cx.message, cx.swap)
    }

    fn post_read_push_body(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.open(cx.message, cx.swap)
    }

    fn post_read_reply_body(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        self.open(cx.message, cx.swap)
    }
}

/// The two fields of Go's `secure.Encrypt`.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Encrypt {
    cipherversion: String,
    ciphertext: String,
}

#[cfg(feature = "protobuf")]
#[derive(Clone, PartialEq, prost::Message)]
struct EncryptPb {
    #[prost(string, tag = "1")]
    cipherversion: String,
    #[prost(string, tag = "2")]
    ciphertext: String,
}

fn encode_encrypt(
    codec: CodecId,
    version: &str,
    ciphertext: &str,
    codecs: &CodecRegistry,
) -> Result<Bytes, Status> {
    match codec {
        // Both strings are hex: nothing to escape. Go's field order.
        CodecId::JSON => Ok(Bytes::from(format!(
            r#"{{"cipherversion":"{version}","ciphertext":"{ciphertext}"}}"#
        ))),
        #[cfg(feature = "protobuf")]
        CodecId::PROTOBUF => Ok(Bytes::from(prost::Message::encode_to_vec(&EncryptPb {
            cipherversion: version.to_owned(),
            ciphertext: ciphertext.to_owned(),
        }))),
        CodecId::PLAIN => Err(Status::with_cause(
            Code::INTERNAL_SERVER_ERROR,
            "plain codec: *secure.Encrypt can not be directly converted to []byte type",
        )),
        other => {
            let enc = Encrypt {
                cipherversion: version.to_owned(),
                ciphertext: ciphertext.to_owned(),
            };
            codecs
                .encode(other, &enc)
                .map_err(|e| Status::with_cause(Code::INTERNAL_SERVER_ERROR, e.to_string()))
        }
    }
}

fn decode_encrypt(codec: CodecId, body: &Bytes, codecs: &CodecRegistry) -> Result<Encrypt, Status> {
    // Go never decodes an empty body: the zero `Encrypt`.
    if body.is_empty() {
        return Ok(Encrypt::default());
    }
    let bad = |cause: String| Status::with_cause(Code::BAD_MESSAGE, cause);
    match codec {
        #[cfg(feature = "json")]
        CodecId::JSON => decode_encrypt_json(body).map_err(bad),
        #[cfg(feature = "protobuf")]
        CodecId::PROTOBUF => {
            let pb: EncryptPb =
                prost::Message::decode(body.clone()).map_err(|e| bad(format!("proto: {e}")))?;
            Ok(Encrypt {
                cipherversion: pb.cipherversion,
                ciphertext: pb.ciphertext,
            })
        }
        CodecId::PLAIN => Err(bad(
            "plain codec: []byte can not be directly converted to *secure.Encrypt type".into(),
        )),
        other => codecs
            .decode::<Encrypt>(other, body.clone())
            .map_err(|e| bad(e.to_string())),
    }
}

/// Go's `json.Unmarshal(body, &Encrypt{})`: keys matched case-insensitively, unknown keys
/// ignored, `null`s leave fields as they are; Go's words for shape errors.
#[cfg(feature = "json")]
fn decode_encrypt_json(body: &[u8]) -> Result<Encrypt, String> {
    use serde_json::Value;
    fn kind(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
    go_json::check_valid(body)?;
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let obj = match v {
        Value::Null => return Ok(Encrypt::default()),
        Value::Object(o) => o,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type secure.Encrypt",
                kind(&other)
            ))
        }
    };
    let mut enc = Encrypt::default();
    let mut first_err = None;
    for (k, v) in obj {
        let (field, name) = if k.eq_ignore_ascii_case("cipherversion") {
            (&mut enc.cipherversion, "cipherversion")
        } else if k.eq_ignore_ascii_case("ciphertext") {
            (&mut enc.ciphertext, "ciphertext")
        } else {
            continue;
        };
        match v {
            Value::String(s) => *field = s,
            Value::Null => {}
            other => {
                first_err.get_or_insert_with(|| {
                    format!(
                        "json: cannot unmarshal {} into Go struct field Encrypt.{name} of type string",
                        kind(&other)
                    )
                });
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(enc),
    }
}

/// Go's `hex.Decode`, with its error texts (an invalid byte is reported before an odd
/// length).
fn go_hex_decode(src: &[u8]) -> Result<Vec<u8>, String> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let invalid = |c: u8| format!("encoding/hex: invalid byte: {}", go_unicode_verb(c));
    let mut out = Vec::with_capacity(src.len() / 2);
    let mut pairs = src.chunks_exact(2);
    for pair in &mut pairs {
        let hi = nibble(pair[0]).ok_or_else(|| invalid(pair[0]))?;
        let lo = nibble(pair[1]).ok_or_else(|| invalid(pair[1]))?;
        out.push(hi << 4 | lo);
    }
    if let [c] = pairs.remainder() {
        nibble(*c).ok_or_else(|| invalid(*c))?;
        return Err("encoding/hex: odd length hex string".into());
    }
    Ok(out)
}

/// Go's `fmt.Sprintf("%#U", rune(b))` for a byte: `U+007A 'z'`, or `U+0001` when the rune
/// is not printable.
fn go_unicode_verb(b: u8) -> String {
    let c = char::from(b);
    if crate::go_text::is_print(c) {
        format!("U+{:04X} '{c}'", u32::from(b))
    } else {
        format!("U+{:04X}", u32::from(b))
    }
}

mod go_json;
#[cfg(test)]
mod tests;
