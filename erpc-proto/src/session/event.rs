//! What a session reports to its driver.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::router::RouteId;
use crate::{CodecId, DecodeError, Message, Status};

/// Identifies an outgoing call of a session until it completes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CallId {
    pub(crate) seq: i32,
    pub(crate) serial: u64,
}

impl CallId {
    /// The call's seq on the wire.
    pub fn seq(self) -> i32 {
        self.seq
    }
}

/// Identifies an incoming call that awaits its reply; hand it back to
/// [`Session::reply`](super::Session::reply).
#[derive(PartialEq, Eq, Hash, Debug)]
pub struct ReplyToken {
    pub(crate) serial: u64,
    pub(crate) seq: i32,
}

impl ReplyToken {
    /// The seq of the call (and so of its reply).
    pub fn seq(&self) -> i32 {
        self.seq
    }
}

/// An incoming CALL that passed routing and the read hooks: run its handler, then answer
/// with [`Session::reply`](super::Session::reply).
#[derive(Debug)]
#[non_exhaustive]
pub struct IncomingCall {
    /// Hand this back with the reply.
    pub token: ReplyToken,
    /// The matched route (the unknown-call fallback when `unknown`).
    pub route: RouteId,
    /// Whether the unknown-call fallback matched.
    pub unknown: bool,
    /// The message; its body is still encoded with `message.body_codec`.
    pub message: Message,
    /// The codec the reply will use unless the handler picks another: `X-Accept-Body-Codec`
    /// when valid and known, else the call's own codec (eRPC's negotiation).
    pub reply_codec: CodecId,
}

/// An incoming PUSH that passed routing and the read hooks.
#[derive(Debug)]
#[non_exhaustive]
pub struct IncomingPush {
    /// The matched route.
    pub route: RouteId,
    /// Whether the unknown-push fallback matched.
    pub unknown: bool,
    /// The message; its body is still encoded.
    pub message: Message,
}

/// How an outgoing call ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct CallDone {
    /// The call.
    pub id: CallId,
    /// The REPLY (its status is OK, its service method restored from the call), or the
    /// status the call failed with: the reply's error status, a plugin's, 408 on deadline,
    /// 102 when the connection closed.
    pub result: Result<Message, Status>,
    /// Time from the call to its completion.
    pub elapsed: Duration,
}

/// Why a session closed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum CloseReason {
    /// The application closed it.
    Local,
    /// The peer closed the connection cleanly.
    PeerClosed,
    /// The connection ended inside a frame.
    UnexpectedEof,
    /// The peer sent bytes that are not a valid frame.
    Protocol(Arc<DecodeError>),
    /// The peer sent a message type that is not allowed here (eRPC closes without reply).
    MessageTypeNotAllowed(u8),
    /// The heartbeat peer went silent, or a CALL ping failed.
    HeartbeatTimeout,
    /// The session reached its maximum age.
    SessionAge,
    /// The authentication handshake failed (the status says why).
    AuthFailed(Status),
    /// A `pre_read_header` plugin stopped reading.
    Plugin(Status),
    /// The transport failed (reported by the driver through `handle_transport_error`).
    Transport(String),
}

impl CloseReason {
    /// The status pending calls complete with: 102 `Connection Closed`, with the reason as
    /// cause (empty for a clean close, as Go).
    pub fn status(&self) -> Status {
        match self {
            CloseReason::Local | CloseReason::PeerClosed => {
                Status::from_code(crate::Code::CONN_CLOSED)
            }
            CloseReason::AuthFailed(st) => Status::with_cause(
                crate::Code::DIAL_FAILED,
                st.cause().unwrap_or(st.msg()).to_owned(),
            ),
            other => Status::with_cause(crate::Code::CONN_CLOSED, other.to_string()),
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Local => f.write_str("closed locally"),
            CloseReason::PeerClosed => f.write_str("EOF"),
            CloseReason::UnexpectedEof => f.write_str("unexpected EOF inside a frame"),
            CloseReason::Protocol(e) => write!(f, "{e}"),
            CloseReason::MessageTypeNotAllowed(t) => {
                write!(f, "message type not allowed: {}", crate::MessageType(*t))
            }
            CloseReason::HeartbeatTimeout => f.write_str("heartbeat timeout"),
            CloseReason::SessionAge => f.write_str("i/o timeout: session age reached"),
            CloseReason::AuthFailed(st) => write!(f, "auth failed: {st}"),
            CloseReason::Plugin(st) => write!(f, "plugin stopped reading: {st}"),
            CloseReason::Transport(e) => f.write_str(e),
        }
    }
}

/// Something the driver must act on, from [`Session::poll_event`](super::Session::poll_event).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// Run a call handler and reply.
    Call(IncomingCall),
    /// Run a push handler.
    Push(IncomingPush),
    /// An outgoing call completed.
    CallDone(CallDone),
    /// Accepting side with [`Auth::Checker`](super::Auth::Checker): the peer's AUTH_CALL;
    /// answer with [`Session::accept_auth`](super::Session::accept_auth).
    AuthRequest(Message),
    /// The authentication handshake succeeded (dialing side: the AUTH_REPLY; accepting side:
    /// the AUTH_REPLY that was sent). Messages held back until now are on their way.
    Authenticated(Message),
    /// The session closed; every pending call has completed before this event. Flush
    /// [`poll_transmit`](super::Session::poll_transmit) once more, then close the transport.
    Closed(CloseReason),
}
