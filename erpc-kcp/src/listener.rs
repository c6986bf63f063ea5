//! Many KCP sessions behind one UDP socket, sans-IO.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use crate::{data_conv_sn, KcpConfig, KcpConn};

/// What [`KcpListener::handle_input`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenerInput {
    /// The packet went to the session of its address.
    Delivered,
    /// A new session was created for this address and conversation; accept it.
    Accepted {
        /// The peer.
        addr: SocketAddr,
        /// Its conversation id.
        conv: u32,
    },
    /// A data packet with a new conv and sequence number 0 from an address that had a
    /// session: the old session was dropped (kcp-go does the same) and a new one created.
    Replaced {
        /// The peer.
        addr: SocketAddr,
        /// The dropped session's conversation id.
        old_conv: u32,
        /// The new session's conversation id.
        conv: u32,
    },
    /// Dropped: not a data packet of a known or new session, or the session table is full.
    Dropped,
}

/// Demultiplexes the packets of one UDP socket into KCP sessions, as kcp-go's `Listener`.
///
/// Sessions are keyed by the peer's address (a kcp-go dialer uses one socket per session,
/// and parity packets carry no conv); each also has its conv, and packets of another conv
/// are dropped unless they start a new conversation (sequence number 0), which replaces the
/// old session. A session is created on the first data packet from an unknown address, at
/// most [`max_sessions`](Self::new) at a time. Sessions whose link died are removed by
/// [`handle_timeout`](Self::handle_timeout) and reported.
#[derive(Debug)]
pub struct KcpListener {
    config: KcpConfig,
    max_sessions: usize,
    sessions: HashMap<SocketAddr, KcpConn>,
    dropped: u64,
}

/// Default bound of [`KcpListener`]'s session table.
pub const DEFAULT_MAX_SESSIONS: usize = 4096;

impl KcpListener {
    /// A listener whose sessions use `config`, holding at most `max_sessions` of them.
    pub fn new(config: KcpConfig, max_sessions: usize) -> Self {
        Self {
            config,
            max_sessions,
            sessions: HashMap::new(),
            dropped: 0,
        }
    }

    /// Takes one UDP packet from `from`, received at `now`.
    pub fn handle_input(&mut self, now: Instant, from: SocketAddr, packet: &[u8]) -> ListenerInput {
        let first = data_conv_sn(packet);
        let mut replaced = None;
        if let Some(conn) = self.sessions.get_mut(&from) {
            match first {
                Some((conv, _)) if conv == conn.conv() => {}
                None => {}
                Some((_, 0)) if self.max_sessions > 0 => replaced = Some(conn.conv()),
                Some(_) => {
                    self.dropped += 1;
                    return ListenerInput::Dropped;
                }
            }
            if replaced.is_none() {
                conn.handle_input(now, packet);
                return ListenerInput::Delivered;
            }
            self.sessions.remove(&from);
        }
        let Some((conv, _)) = first else {
            self.dropped += 1;
            return ListenerInput::Dropped;
        };
        if self.sessions.len() >= self.max_sessions {
            self.dropped += 1;
            return ListenerInput::Dropped;
        }
        let Ok(mut conn) = KcpConn::new(conv, &self.config, now) else {
            self.dropped += 1;
            return ListenerInput::Dropped;
        };
        conn.handle_input(now, packet);
        self.sessions.insert(from, conn);
        match replaced {
            Some(old_conv) => ListenerInput::Replaced {
                addr: from,
                old_conv,
                conv,
            },
            None => ListenerInput::Accepted { addr: from, conv },
        }
    }

    /// Adds a session this side started (a dialer: a [`KcpListener`] with `max_sessions` 0
    /// then demultiplexes the dialed socket without ever accepting). Replaces any session of
    /// `addr`.
    pub fn insert(&mut self, addr: SocketAddr, conn: KcpConn) {
        self.sessions.insert(addr, conn);
    }

    /// The session of `addr`.
    pub fn session_mut(&mut self, addr: &SocketAddr) -> Option<&mut KcpConn> {
        self.sessions.get_mut(addr)
    }

    /// Removes the session of `addr` (its stream was closed).
    pub fn remove(&mut self, addr: &SocketAddr) -> Option<KcpConn> {
        self.sessions.remove(addr)
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there is no session.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Packets dropped so far (see [`ListenerInput::Dropped`]).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Runs every session's timers whose deadline is `now` or earlier; removes the sessions
    /// whose link died and returns their addresses and convs.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<(SocketAddr, u32)> {
        let mut dead = Vec::new();
        for (addr, conn) in &mut self.sessions {
            conn.handle_timeout(now);
            if conn.is_dead() {
                dead.push((*addr, conn.conv()));
            }
        }
        for (addr, _) in &dead {
            self.sessions.remove(addr);
        }
        dead
    }

    /// The earliest deadline among the sessions, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sessions.values().map(KcpConn::poll_timeout).min()
    }

    /// Moves every session's queued UDP packets, with their destinations, onto `out` (one
    /// pass over the sessions).
    pub fn drain_transmits(&mut self, out: &mut impl Extend<(SocketAddr, Vec<u8>)>) {
        for (addr, conn) in &mut self.sessions {
            out.extend(std::iter::from_fn(|| {
                conn.poll_transmit().map(|p| (*addr, p))
            }));
        }
    }

    /// The next UDP packet to send, with its destination.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.sessions
            .iter_mut()
            .find_map(|(addr, conn)| conn.poll_transmit().map(|p| (*addr, p)))
    }
}
