//! The named choices of [`PeerConfig`](super::PeerConfig): [`Network`], [`WireProtocol`],
//! [`WsSubprotocol`] and [`BodyCodec`]. Each is written and read (serde, [`FromStr`],
//! [`Display`](fmt::Display)) under Go eRPC's names, so a Go configuration file loads as it is.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use erpc_proto::proto::{
    HttpProto, JsonProto, PbProto, Protocol, RawProto, ThriftProto, WsProto, WsSubProto,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A name that is none of a choice's names ([`Network`], [`WireProtocol`], …).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?} (one of: {})", .expected.join(", "))]
#[non_exhaustive]
pub struct UnknownName {
    /// What was named (`network`, `protocol`, …).
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The names accepted.
    pub expected: &'static [&'static str],
}

/// An enum of fixed names: `as_str` (the name written), `NAMES` (every name read, aliases
/// included), `ALL`, `FromStr`, `Display` and serde as that text.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident ($what:literal) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $name:literal $(| $alias:literal)*,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $ty {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// Every name read, aliases included.
            pub const NAMES: &'static [&'static str] = &[$($name, $($alias,)*)+];

            /// The name written (Go's).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(name: &str) -> Result<Self, UnknownName> {
                match name {
                    $($name $(| $alias)* => Ok($ty::$variant),)+
                    _ => Err(UnknownName {
                        what: $what,
                        name: name.to_owned(),
                        expected: $ty::NAMES,
                    }),
                }
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, name: &str) -> bool {
                name.parse::<$ty>() == Ok(*self)
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, name: &&str) -> bool {
                *self == **name
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

named_enum! {
    /// What carries a peer's sessions ([`PeerConfig::network`](super::PeerConfig::network)),
    /// by Go eRPC's network names. Networks other than TCP and unix sockets need their
    /// adapter feature (`kcp`, `ws`, `quic`, `unixpacket`); a peer without it refuses to
    /// listen or dial on them with a clear error.
    pub enum Network ("network") {
        /// TCP over IPv4 or IPv6 (Go's default).
        #[default]
        Tcp = "tcp",
        /// TCP over IPv4 only.
        Tcp4 = "tcp4",
        /// TCP over IPv6 only.
        Tcp6 = "tcp6",
        /// Unix stream sockets: addresses are socket paths.
        Unix = "unix",
        /// Unix seqpacket sockets (Linux): addresses are socket paths.
        Unixpacket = "unixpacket",
        /// KCP over UDP with kcp-go's FEC, as Go's `kcp` network.
        Kcp = "kcp",
        /// WebSocket, as Go's `mixer/websocket` (see
        /// [`ws_subproto`](super::PeerConfig::ws_subproto)).
        Ws = "ws",
        /// QUIC over UDP; TLS is part of it.
        Quic = "quic",
    }
}

impl Network {
    /// Whether addresses on this network are unix socket paths.
    pub const fn is_unix(self) -> bool {
        matches!(self, Network::Unix | Network::Unixpacket)
    }
}

named_enum! {
    /// The framing of messages on a stream
    /// ([`PeerConfig::protocol`](super::PeerConfig::protocol)); nothing on the wire names
    /// it, so both ends must choose the same one. A protocol of your own goes to the
    /// builder's `protocol` instead.
    pub enum WireProtocol ("protocol") {
        /// rawproto, eRPC's default.
        #[default]
        Raw = "raw",
        /// jsonproto.
        Json = "json",
        /// pbproto (protobuf framing).
        Protobuf = "protobuf" | "pb",
        /// thriftproto, binary variant (THeader framing).
        Thrift = "thrift" | "thrift-binary",
        /// thriftproto, struct variant (thrift codec bodies, no filters).
        ThriftStruct = "thrift-struct",
        /// httproto (HTTP/1.1 text; no PUSH, gzip is the only filter).
        Http = "http",
    }
}

impl WireProtocol {
    /// The protocol itself.
    pub fn protocol(self) -> Arc<dyn Protocol> {
        match self {
            WireProtocol::Raw => Arc::new(RawProto),
            WireProtocol::Json => Arc::new(JsonProto),
            WireProtocol::Protobuf => Arc::new(PbProto),
            WireProtocol::Thrift => Arc::new(ThriftProto::BINARY),
            WireProtocol::ThriftStruct => Arc::new(ThriftProto::STRUCT),
            WireProtocol::Http => Arc::new(HttpProto::default()),
        }
    }
}

named_enum! {
    /// How each websocket message holds an eRPC message on network `ws`
    /// ([`PeerConfig::ws_subproto`](super::PeerConfig::ws_subproto)). See
    /// [`erpc_proto::proto::ws`].
    pub enum WsSubprotocol ("ws sub-protocol") {
        /// A bare JSON object per message (Go's default `jsonSubProto`).
        #[default]
        Json = "json",
        /// A protobuf payload per message (Go's `pbSubProto`).
        Pb = "pb" | "protobuf",
        /// A frame of the peer's stream protocol per message.
        Proto = "proto",
    }
}

impl WsSubprotocol {
    /// The websocket protocol with this sub-protocol over `stream` (the frames of
    /// [`WsSubprotocol::Proto`]); `stream` itself when it already is a websocket protocol.
    pub fn protocol(self, stream: &Arc<dyn Protocol>) -> Arc<dyn Protocol> {
        if stream.name() == "websocket" {
            return Arc::clone(stream);
        }
        let sub = match self {
            WsSubprotocol::Json => WsSubProto::Json,
            WsSubprotocol::Pb => WsSubProto::Pb,
            WsSubprotocol::Proto => WsSubProto::Proto(Arc::clone(stream)),
        };
        Arc::new(WsProto::new(sub))
    }
}

/// The name of a body codec ([`PeerConfig::default_body_codec`](super::PeerConfig::default_body_codec)):
/// Go's built-in ones, or the name of a codec you registered. Written and read as the name.
///
/// ```
/// use erpc_peer::BodyCodec;
/// assert_eq!("protobuf".parse::<BodyCodec>(), Ok(BodyCodec::Protobuf));
/// assert_eq!(BodyCodec::from("pretty-json").as_str(), "pretty-json");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyCodec {
    /// `json` (Go's default).
    #[default]
    Json,
    /// `protobuf`.
    Protobuf,
    /// `thrift`.
    Thrift,
    /// `xml`.
    Xml,
    /// `form` (URL-encoded).
    Form,
    /// `plain` (text and bytes as they are).
    Plain,
    /// A codec registered under this name (`PeerBuilder::codecs`).
    Custom(String),
}

impl BodyCodec {
    const BUILTIN: [(BodyCodec, &'static str); 6] = [
        (BodyCodec::Json, "json"),
        (BodyCodec::Protobuf, "protobuf"),
        (BodyCodec::Thrift, "thrift"),
        (BodyCodec::Xml, "xml"),
        (BodyCodec::Form, "form"),
        (BodyCodec::Plain, "plain"),
    ];

    /// The codec's name, as its [`Codec::name`](erpc_proto::codec::Codec::name).
    pub fn as_str(&self) -> &str {
        match self {
            BodyCodec::Custom(name) => name,
            builtin => Self::BUILTIN
                .iter()
                .find(|(c, _)| c == builtin)
                .map_or("", |(_, name)| name),
        }
    }
}

impl From<&str> for BodyCodec {
    fn from(name: &str) -> Self {
        Self::BUILTIN
            .iter()
            .find(|(_, n)| *n == name)
            .map_or_else(|| BodyCodec::Custom(name.to_owned()), |(c, _)| c.clone())
    }
}

impl PartialEq<str> for BodyCodec {
    fn eq(&self, name: &str) -> bool {
        self.as_str() == name
    }
}

impl PartialEq<&str> for BodyCodec {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

impl FromStr for BodyCodec {
    type Err = std::convert::Infallible;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(BodyCodec::from(name))
    }
}

impl fmt::Display for BodyCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BodyCodec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BodyCodec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(BodyCodec::from(&*name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &n in Network::ALL {
            assert_eq!(n.as_str().parse::<Network>(), Ok(n));
        }
        for &p in WireProtocol::ALL {
            assert_eq!(p.as_str().parse::<WireProtocol>(), Ok(p));
            assert_eq!(p.protocol().name().parse::<WireProtocol>(), Ok(p));
        }
        for &s in WsSubprotocol::ALL {
            assert_eq!(s.as_str().parse::<WsSubprotocol>(), Ok(s));
        }
        for (c, name) in BodyCodec::BUILTIN {
            assert_eq!(c.as_str(), name);
            assert_eq!(BodyCodec::from(name), c);
        }
    }

    #[test]
    fn aliases_read_and_unknown_names_say_what_is_accepted() {
        assert_eq!("pb".parse::<WireProtocol>(), Ok(WireProtocol::Protobuf));
        assert_eq!(WireProtocol::Protobuf.as_str(), "protobuf");
        assert_eq!("protobuf".parse::<WsSubprotocol>(), Ok(WsSubprotocol::Pb));
        let e = "udp".parse::<Network>().unwrap_err();
        assert_eq!(e.name, "udp");
        assert!(e
            .to_string()
            .starts_with("unknown network \"udp\" (one of: tcp, tcp4"));
        assert_eq!(
            BodyCodec::from("pretty-json"),
            BodyCodec::Custom("pretty-json".into())
        );
        // Compared with text under any of their names.
        assert!(Network::Ws == "ws" && WireProtocol::Protobuf == "pb");
        assert!(Network::Tcp != "tcp4" && BodyCodec::Xml == "xml");
    }

    #[test]
    fn serde_uses_the_names() {
        assert_eq!(
            serde_json::to_string(&Network::Unixpacket).unwrap(),
            "\"unixpacket\""
        );
        assert_eq!(
            serde_json::from_str::<WireProtocol>("\"thrift-struct\"").unwrap(),
            WireProtocol::ThriftStruct
        );
        assert!(serde_json::from_str::<Network>("\"udp\"").is_err());
        assert_eq!(
            serde_json::to_string(&BodyCodec::Custom("x".into())).unwrap(),
            "\"x\""
        );
    }

    #[test]
    fn ws_subprotocols_wrap_the_stream_protocol() {
        let raw = WireProtocol::Raw.protocol();
        for &s in WsSubprotocol::ALL {
            let ws = s.protocol(&raw);
            assert_eq!(ws.name(), "websocket");
            assert!(Arc::ptr_eq(&s.protocol(&ws), &ws));
        }
    }
}
