//! Session configuration.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::codec::CodecRegistry;
use crate::plugin::Plugins;
use crate::proto::{Protocol, RawProto};
use crate::router::{Mapper, Router};
use crate::{CodecId, Meta, WireConfig};

/// Everything a [`Session`](super::Session) needs to know besides the bytes. Cheap to clone
/// (shared parts are behind `Arc`); a peer builds one and hands a clone to each session.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Whether this side dialed the connection (eRPC's "client role"); decides the auth
    /// direction.
    pub dialed: bool,
    /// The wire protocol (default: rawproto).
    pub protocol: Arc<dyn Protocol>,
    /// Size limit and transfer filters.
    pub wire: WireConfig,
    /// Body codecs this peer knows (used for reply-codec negotiation).
    pub codecs: CodecRegistry,
    /// Routes for incoming calls and pushes.
    pub router: Arc<Router>,
    /// Global plugins, run before any route's own plugins.
    pub plugins: Plugins,
    /// Codec for outgoing CALL/PUSH messages that name none (Go: `DefaultBodyCodec`, JSON).
    pub default_body_codec: CodecId,
    /// Deadline of an outgoing call unless the call sets its own. Go has no call timeout;
    /// erpc-rs defaults to 60 s so that a silent peer cannot hold a caller forever. `None`
    /// waits until the reply or the end of the connection, as Go (so does a duration too
    /// large for a deadline, such as `Duration::MAX`).
    pub call_timeout: Option<Duration>,
    /// Hard lifetime of the session (Go `DefaultSessionAge`): when it passes, the session
    /// closes whatever the traffic. `None` (or a duration too large for a deadline, such as
    /// `Duration::MAX`): unlimited.
    pub session_age: Option<Duration>,
    /// Budget of each incoming call's handler (Go `DefaultContextAge`). When it passes
    /// before the handler replies, the session answers 408 `Handle Timeout` itself (Go would
    /// send nothing at all) and drops the late reply. `None` (or a duration too large for a
    /// deadline): unlimited.
    pub context_age: Option<Duration>,
    /// How long a graceful close waits for calls in flight before failing them with 102
    /// (drivers pass it to [`Session::close`](super::Session::close), which takes the linger
    /// as an argument), and how long a session whose peer closed its side (EOF) waits for
    /// the replies of handlers still running before it closes. A duration too large for a
    /// deadline (`Duration::MAX`) waits for every one of them.
    pub close_linger: Duration,
    /// Send heartbeat pings when the session is idle (Go's `heart-ping` plugin).
    pub heartbeat_ping: Option<HeartbeatPing>,
    /// Answer heartbeat pings on `/heartbeat` and close sessions whose pinger went silent
    /// for twice its rate (Go's `heart-pong` plugin).
    pub heartbeat_pong: bool,
    /// Authentication handshake before any other message (Go's `auth` plugin).
    pub auth: Auth,
    /// With [`Auth::Checker`]: body codec of the AUTH_REPLY the session sends by itself when
    /// the first message is not an AUTH_CALL (Go's checker answers that 401 with the codec
    /// of its reply settings). `None`: [`Self::default_body_codec`]. Peer builders set it to
    /// the codec given to their `auth_checker`.
    pub auth_reply_codec: Option<CodecId>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            dialed: false,
            protocol: Arc::new(RawProto),
            wire: WireConfig::default(),
            codecs: CodecRegistry::default(),
            router: Arc::new(Router::new(Mapper::Http)),
            plugins: Plugins::new(),
            default_body_codec: CodecId::JSON,
            call_timeout: Some(Duration::from_secs(60)),
            session_age: None,
            context_age: None,
            close_linger: Duration::from_secs(15),
            heartbeat_ping: None,
            heartbeat_pong: false,
            auth: Auth::None,
            auth_reply_codec: None,
        }
    }
}

impl SessionConfig {
    /// The configuration of the dialing side.
    pub fn dialer() -> Self {
        SessionConfig {
            dialed: true,
            ..SessionConfig::default()
        }
    }

    /// The configuration of the accepting side.
    pub fn acceptor() -> Self {
        SessionConfig::default()
    }
}

/// Heartbeat pinger settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeartbeatPing {
    /// Ping after this much idle time; at least 3 s (smaller values are raised, as in Go) and
    /// at most [`MAX_HEARTBEAT_RATE`](super::MAX_HEARTBEAT_RATE) (larger values are lowered;
    /// the session applies both bounds to whatever is set here). The pong side closes the
    /// session after twice this much silence.
    pub rate: Duration,
    /// Ping with a CALL (a missing or failed pong closes the session) instead of a PUSH.
    pub use_call: bool,
}

impl HeartbeatPing {
    /// The smallest rate Go allows.
    pub const MIN_RATE: Duration = Duration::from_secs(3);

    /// The largest rate the session uses, [`MAX_HEARTBEAT_RATE`](super::MAX_HEARTBEAT_RATE).
    pub const MAX_RATE: Duration = super::MAX_HEARTBEAT_RATE;

    /// Pings by PUSH every `rate` of idleness (kept within 3 s ..= [`Self::MAX_RATE`]).
    pub fn push(rate: Duration) -> Self {
        HeartbeatPing {
            rate: rate.clamp(Self::MIN_RATE, Self::MAX_RATE),
            use_call: false,
        }
    }

    /// Pings by CALL every `rate` of idleness (kept within 3 s ..= [`Self::MAX_RATE`]).
    pub fn call(rate: Duration) -> Self {
        HeartbeatPing {
            rate: rate.clamp(Self::MIN_RATE, Self::MAX_RATE),
            use_call: true,
        }
    }
}

/// The authentication handshake (Go's `auth-bearer` / `auth-checker` plugins).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No handshake.
    #[default]
    None,
    /// Dialing side: send this AUTH_CALL first and wait for an OK AUTH_REPLY before the
    /// session opens.
    Bearer {
        /// Body codec of the auth info (Go's tests use plain `s`).
        codec: CodecId,
        /// The auth info, already encoded.
        info: Bytes,
        /// Meta of the AUTH_CALL.
        meta: Meta,
    },
    /// Accepting side: the first message must be an AUTH_CALL; the session reports it as
    /// [`Event::AuthRequest`](super::Event::AuthRequest) and waits for
    /// [`Session::accept_auth`](super::Session::accept_auth).
    Checker,
}
