//! Plugins: hooks at the points eRPC defines (reference §9.2), run synchronously by the
//! session (message hooks) or by the runtime adapter (peer and connection lifecycle hooks).
//!
//! Every hook has a no-op default, so a plugin implements only what it needs. Hooks that Go
//! lets abort return `Err(Status)` to abort; hooks whose failure Go only logs also return a
//! `Result`, and the caller logs an error at `warn` level and carries on.
//!
//! | Hook | Container | Failure |
//! |---|---|---|
//! | `pre_new_peer`, `post_new_peer`, `post_reg`, `post_listen` | global | error returned by the builder |
//! | `post_dial`, `post_accept` | global | the connection is closed |
//! | `post_disconnect` | global | logged |
//! | `pre_write_call` / `pre_write_push` | global | the call/push fails with the status, nothing sent |
//! | `post_write_call` / `post_write_push` | global | logged |
//! | `pre_write_reply` / `post_write_reply` | route (global if no route) | logged, cannot abort |
//! | `pre_read_header` | global | the connection is closed |
//! | `post_read_call_header` | global | a REPLY with the status |
//! | `post_read_push_header` | global | the push is dropped |
//! | `post_read_reply_header` | global | the status completes the call |
//! | `pre_read_call_body`, `post_read_call_body` | route | a REPLY with the status |
//! | `pre_read_push_body`, `post_read_push_body` | route | the push is dropped |
//! | `pre_read_reply_body`, `post_read_reply_body` | global | the status completes the call |

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::{Message, Status};

/// What a message hook sees of the session it runs in.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session id (Go: remote address on the accepting side, local address on the
    /// dialing side; the application may change it).
    pub id: String,
    /// The peer's address, when the transport has one.
    pub remote_addr: Option<String>,
    /// Whether this side dialed the connection.
    pub dialed: bool,
}

impl SessionInfo {
    /// Session info with the given id, remote address and role.
    pub fn new(id: impl Into<String>, remote_addr: Option<String>, dialed: bool) -> Self {
        SessionInfo {
            id: id.into(),
            remote_addr,
            dialed,
        }
    }
}

/// The context of a message hook: the message (which the hook may rewrite), the session and
/// the current time.
#[derive(Debug)]
#[non_exhaustive]
pub struct MessageCtx<'a> {
    /// The message being written or read. On the read side the body is still encoded.
    pub message: &'a mut Message,
    /// The session.
    pub session: &'a SessionInfo,
    /// The time the session was given with the input or command.
    pub now: Instant,
    /// Values kept for this exchange (Go's `ctx.Swap()`); see [`Swap`].
    pub swap: &'a mut Swap,
}

/// Values plugins keep for one message exchange (Go's `ctx.Swap()`).
///
/// For an incoming CALL the swap lives as long as the call: what its read hooks
/// (`post_read_call_header`, `pre_read_call_body`, `post_read_call_body`) store is there again
/// in `pre_write_reply` and `post_write_reply` of its reply (the secure plugin remembers this
/// way whether the caller accepts an encrypted reply). Every other message gets a fresh, empty
/// swap for its hooks. Keys are `'static` strings; use a prefix of your plugin's name.
#[derive(Default)]
pub struct Swap(Vec<(&'static str, Box<dyn Any + Send + Sync>)>);

impl Swap {
    /// An empty swap (allocates nothing).
    pub const fn new() -> Self {
        Swap(Vec::new())
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn insert<T: Any + Send + Sync>(&mut self, key: &'static str, value: T) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = Box::new(value),
            None => self.0.push((key, Box::new(value))),
        }
    }

    /// The value under `key`, if there is one of type `T`.
    pub fn get<T: Any>(&self, key: &str) -> Option<&T> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.downcast_ref())
    }

    /// Whether something is stored under `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }

    /// Removes what is stored under `key`; returns whether there was something.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(k, _)| *k != key);
        self.0.len() != before
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Swap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

/// A description of a registered route, for `post_reg`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The service method.
    pub service_method: String,
    /// Whether it is a push route (else a call route).
    pub push: bool,
}

impl RouteInfo {
    /// A route description.
    pub fn new(service_method: impl Into<String>, push: bool) -> Self {
        RouteInfo {
            service_method: service_method.into(),
            push,
        }
    }
}

type HookResult = Result<(), Status>;

/// A plugin. `name` must be unique within a container.
#[allow(unused_variables)]
pub trait Plugin: Send + Sync + fmt::Debug + 'static {
    /// A unique name.
    fn name(&self) -> &str;

    /// Before the peer is built; may edit its configuration (the adapter's `PeerConfig`,
    /// passed as `Any`).
    fn pre_new_peer(&self, config: &mut dyn Any) -> HookResult {
        Ok(())
    }
    /// After the peer is built.
    fn post_new_peer(&self) -> HookResult {
        Ok(())
    }
    /// Once per registered route.
    fn post_reg(&self, route: &RouteInfo) -> HookResult {
        Ok(())
    }
    /// After a listener opened, before accepting.
    fn post_listen(&self, addr: &str) -> HookResult {
        Ok(())
    }
    /// After each successful connect (including redials); failure closes the connection and
    /// counts as a failed dial attempt.
    fn post_dial(&self, session: &SessionInfo, is_redial: bool) -> HookResult {
        Ok(())
    }
    /// After a connection was accepted; failure closes it.
    fn post_accept(&self, session: &SessionInfo) -> HookResult {
        Ok(())
    }
    /// After a session finally closed (logged only).
    fn post_disconnect(&self, session: &SessionInfo) -> HookResult {
        Ok(())
    }

    /// An outgoing CALL is built; `Err` fails the call with that status, nothing is sent.
    fn pre_write_call(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// The CALL was queued for writing (logged only).
    fn post_write_call(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// An outgoing PUSH is built; `Err` fails the push, nothing is sent.
    fn pre_write_push(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// The PUSH was queued for writing (logged only).
    fn post_write_push(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// A REPLY is built (codec chosen); logged only, cannot abort.
    fn pre_write_reply(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// The REPLY was queued for writing (logged only).
    fn post_write_reply(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }

    /// Before each incoming message is processed; `Err` closes the connection.
    fn pre_read_header(&self, session: &SessionInfo) -> HookResult {
        Ok(())
    }
    /// An incoming CALL's header, before route lookup (may rewrite the service method);
    /// `Err` replies with the status.
    fn post_read_call_header(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// An incoming PUSH's header, before route lookup; `Err` drops the push.
    fn post_read_push_header(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// An incoming REPLY's header, matched to its call; `Err` completes the call with it.
    fn post_read_reply_header(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// An incoming CALL's route is known, body not yet handed over; `Err` replies.
    fn pre_read_call_body(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// Same for a PUSH; `Err` drops it.
    fn pre_read_push_body(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// Same for a REPLY; `Err` completes the call with it.
    fn pre_read_reply_body(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// The CALL's body is available (a plugin may transform it, e.g. decrypt); `Err` skips
    /// the handler and replies with the status.
    fn post_read_call_body(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// Same for a PUSH; `Err` skips the handler.
    fn post_read_push_body(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
    /// Same for an OK REPLY; `Err` becomes the call's status.
    fn post_read_reply_body(&self, cx: &mut MessageCtx<'_>) -> HookResult {
        Ok(())
    }
}

/// An ordered, immutable list of plugins, cheap to clone (and free when empty).
#[derive(Clone, Default)]
pub struct Plugins(Option<Arc<[Arc<dyn Plugin>]>>);

/// Why a plugin list could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// Two plugins in one effective list have the same name.
    #[error("plugin name {0:?} is used twice")]
    DuplicateName(String),
}

impl Plugins {
    /// An empty list.
    pub fn new() -> Self {
        Plugins::default()
    }

    /// A list of the given plugins, in order; names must be unique.
    pub fn from_vec(list: Vec<Arc<dyn Plugin>>) -> Result<Self, PluginError> {
        for (i, p) in list.iter().enumerate() {
            if list[..i].iter().any(|q| q.name() == p.name()) {
                return Err(PluginError::DuplicateName(p.name().to_owned()));
            }
        }
        Ok(Plugins(if list.is_empty() {
            None
        } else {
            Some(list.into())
        }))
    }

    /// This list followed by `more` (a group's own plugins after its parent's).
    pub fn extended(&self, more: &[Arc<dyn Plugin>]) -> Result<Self, PluginError> {
        let mut v: Vec<Arc<dyn Plugin>> = self.iter().cloned().collect();
        v.extend(more.iter().cloned());
        Plugins::from_vec(v)
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The plugins in order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Plugin>> {
        self.0.iter().flat_map(|list| list.iter())
    }

    /// Runs an aborting hook on each plugin in order; the first error stops the chain.
    pub fn run<F>(&self, mut f: F) -> HookResult
    where
        F: FnMut(&dyn Plugin) -> HookResult,
    {
        for p in self.iter() {
            f(&**p)?;
        }
        Ok(())
    }

    /// Runs a hook whose failure is only logged.
    pub fn run_logged<F>(&self, hook: &'static str, mut f: F)
    where
        F: FnMut(&dyn Plugin) -> HookResult,
    {
        for p in self.iter() {
            if let Err(st) = f(&**p) {
                tracing::warn!(plugin = p.name(), hook, status = %st, "plugin hook failed");
            }
        }
    }
}

impl fmt::Debug for Plugins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|p| p.name()))
            .finish()
    }
}
