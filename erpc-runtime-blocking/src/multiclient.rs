//! [`MultiClient`]: erpc-peer's multiclient pool (Go's `mixer/multiclient`) with blocking
//! calls — the same pool, driven by this adapter's threads.

use std::ops::Deref;

use erpc_peer::multiclient::{MultiClientConfig, MultiClientStats};
use erpc_proto::codec::{DecodeBody, EncodeBody};
use erpc_proto::Status;

use crate::peer::Peer;
use crate::rt::{block_on, Threads};
use crate::session::Session;

/// Several sessions to one address, each call on the least-loaded one; the rules are
/// [`erpc_peer::multiclient`]'s. With an idle timeout one background thread closes idle
/// sessions (it ends once every clone is dropped). Cheap to clone.
#[derive(Clone, Debug)]
pub struct MultiClient {
    inner: erpc_peer::MultiClient<Threads>,
}

impl MultiClient {
    /// A pool of sessions to `addr` dialed by `peer`.
    pub fn new(peer: &Peer, addr: impl Into<String>, config: MultiClientConfig) -> Self {
        MultiClient {
            inner: erpc_peer::MultiClient::new(peer.as_async().clone(), addr, config),
        }
    }

    /// The async pool this one drives.
    pub fn as_async(&self) -> &erpc_peer::MultiClient<Threads> {
        &self.inner
    }

    /// The address.
    pub fn addr(&self) -> &str {
        self.inner.addr()
    }

    /// The pool's figures.
    pub fn stats(&self) -> MultiClientStats {
        self.inner.stats()
    }

    /// A session for one call (blocks while one is dialed); see
    /// [`erpc_peer::MultiClient::hire`].
    pub fn hire(&self) -> Result<Hired, Status> {
        let hired = block_on(self.inner.hire())?;
        let session = Session::new((*hired).clone());
        Ok(Hired {
            _hired: hired,
            session,
        })
    }

    /// Calls `service_method` on the least-loaded session, blocking until the reply.
    pub fn call<A, T>(&self, service_method: &str, args: &A) -> Result<T, Status>
    where
        A: EncodeBody + ?Sized,
        T: DecodeBody,
    {
        self.hire()?.call(service_method, args)
    }

    /// Pushes on the least-loaded session.
    pub fn push<A: EncodeBody + ?Sized>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<(), Status> {
        self.hire()?.push(service_method, args)
    }

    /// Closes the sessions idle too long now.
    pub fn close_idle(&self) {
        self.inner.close_idle();
    }

    /// Closes the pool and its sessions.
    pub fn close(&self) {
        self.inner.close();
    }
}

/// A session hired from a [`MultiClient`]; derefs to the blocking [`Session`] and counts
/// as loaded until dropped.
#[derive(Debug)]
pub struct Hired {
    _hired: erpc_peer::multiclient::Hired<Threads>,
    session: Session,
}

impl Deref for Hired {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}
