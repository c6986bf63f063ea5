//! One KCP session over FEC, sans-IO.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::arq::{Arq, ArqParams};
use crate::{FecDecoder, FecEncoder, FecError, FecStats, KcpConfig, FEC_HEADER_LEN};

/// One KCP session (kcp-go's `UDPSession` without the socket): KCP ARQ in message mode over
/// kcp-go's FEC layer.
///
/// Drive it like this, in any order and as often as you like:
///
/// * every UDP packet from the peer: [`handle_input`](Self::handle_input);
/// * at [`poll_timeout`](Self::poll_timeout): [`handle_timeout`](Self::handle_timeout);
/// * after either, and after [`send`](Self::send): send each [`poll_transmit`](Self::poll_transmit)
///   packet to the peer;
/// * [`read`](Self::read) what arrived; [`send`](Self::send) when [`writable`](Self::writable).
///
/// Like Go eRPC's use of `kcp.UDPSession`, the messages form a byte stream: `send` splits its
/// bytes into segments of at most [`KcpConfig::mss`] bytes (each one KCP message), `read`
/// returns them in order. KCP has no FIN: a peer that is gone is noticed by
/// [`is_dead`](Self::is_dead) once a segment went unacknowledged `dead_link` times.
///
/// The ARQ follows kcp-go v5.5.12's rules, not only its segment format (`conv | cmd 81–84 |
/// frg | wnd | ts | sn | una | len`, little-endian): receive window 32, linear RTO back-off,
/// early and fast retransmit, selective ACK marking, the ACK filter, window probing, and its
/// congestion window arithmetic. All sequence and clock arithmetic wraps explicitly, so no
/// datagram can make it overflow.
pub struct KcpConn {
    arq: Arq,
    next_flush: Instant,
    fec_encoder: FecEncoder,
    fec_decoder: FecDecoder,
    transmit: VecDeque<Vec<u8>>,
    /// The message being read and how much of it was read.
    reading: Vec<u8>,
    read_at: usize,
    epoch: Instant,
    config: KcpConfig,
    kcp_input_errors: u64,
    last_input: Instant,
    silent_dead: bool,
}

impl std::fmt::Debug for KcpConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KcpConn")
            .field("conv", &self.arq.conv())
            .field("wait_snd", &self.arq.wait_snd())
            .field("dead", &self.arq.is_dead())
            .field("transmit", &self.transmit.len())
            .finish_non_exhaustive()
    }
}

impl KcpConn {
    /// A session with conversation id `conv` (the dialer picks it at random; a listener takes
    /// it from the first data packet), created at `now`.
    pub fn new(conv: u32, config: &KcpConfig, now: Instant) -> Result<Self, FecError> {
        // The FEC header comes on top of what KCP writes.
        let mtu = config.mtu.saturating_sub(FEC_HEADER_LEN);
        if mtu <= crate::KCP_OVERHEAD || config.mtu > crate::MAX_PACKET_LEN {
            return Err(FecError::PayloadTooLong(config.mtu));
        }
        let arq = Arq::new(
            conv,
            ArqParams {
                mtu: mtu as u32,
                send_window: u32::from(config.send_window.max(1)),
                recv_window: u32::from(config.recv_window.max(1)),
                interval: config.interval_ms.clamp(10, 5000),
                nodelay: config.nodelay,
                fast_resend: config.fast_resend,
                congestion_control: config.congestion_control,
                dead_link: config.dead_link.max(1),
            },
        );
        let mut conn = Self {
            arq,
            next_flush: now,
            fec_encoder: FecEncoder::new(&config.fec)?,
            fec_decoder: FecDecoder::new(&config.fec)?,
            transmit: VecDeque::new(),
            reading: Vec::new(),
            read_at: 0,
            epoch: now,
            config: config.clone(),
            kcp_input_errors: 0,
            last_input: now,
            silent_dead: false,
        };
        // kcp-go schedules a session's first update at its creation (it opens the congestion
        // window to one segment).
        conn.handle_timeout(now);
        Ok(conn)
    }

    /// The conversation id.
    pub fn conv(&self) -> u32 {
        self.arq.conv()
    }

    fn millis(&self, now: Instant) -> u32 {
        // KCP clocks are 32-bit milliseconds that wrap.
        now.saturating_duration_since(self.epoch).as_millis() as u32
    }

    /// Takes one UDP packet from the peer, received at `now`.
    pub fn handle_input(&mut self, now: Instant, packet: &[u8]) {
        self.last_input = now;
        let ms = self.millis(now);
        let arq = &mut self.arq;
        let errors = &mut self.kcp_input_errors;
        self.fec_decoder.input(now, packet, |payload, rebuilt| {
            if arq.input(ms, payload, !rebuilt).is_err() {
                *errors += 1;
            }
        });
        if self.config.ack_nodelay && self.arq.has_acks() {
            self.arq.flush(ms, true);
        }
        self.encode_output();
    }

    /// Runs KCP's timers (retransmissions, ACKs, window probes) if they are due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_flush {
            return;
        }
        let next_in = self.arq.flush(self.millis(now), false);
        self.next_flush = now + Duration::from_millis(u64::from(next_in));
        self.encode_output();
        if self.arq.wait_snd() > 0
            && now.saturating_duration_since(self.last_input) >= self.config.silence_timeout
        {
            self.silent_dead = true;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due (at most one interval away).
    pub fn poll_timeout(&self) -> Instant {
        self.next_flush
    }

    /// The next UDP packet to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    fn encode_output(&mut self) {
        let mut out = Vec::new();
        for packet in self.arq.take_output() {
            // KCP packets are at most mtu - 8 bytes, within the FEC limit.
            let _ = self.fec_encoder.encode(&packet, &mut out);
        }
        self.transmit.extend(out);
    }

    /// Whether [`send`](Self::send) would take bytes now: fewer than a send window of
    /// segments wait to be sent or acknowledged (kcp-go's rule for `Write`).
    pub fn writable(&self) -> bool {
        self.arq.wait_snd() < self.arq.send_window() as usize
    }

    /// The peer's receive window as it last advertised it, in segments (0: it is full, and
    /// KCP probes it).
    pub fn remote_window(&self) -> u32 {
        self.arq.remote_window()
    }

    /// Segments sent but not yet acknowledged, and queued.
    pub fn unacknowledged(&self) -> usize {
        self.arq.wait_snd()
    }

    /// Queues up to one send window of `data` (split into segments of at most
    /// [`KcpConfig::mss`] bytes) and sends what the windows allow at once, as kcp-go does.
    /// Returns how many bytes were taken: 0 when not [`writable`](Self::writable).
    pub fn send(&mut self, now: Instant, data: &[u8]) -> usize {
        if !self.writable() || data.is_empty() {
            return 0;
        }
        let mss = self.arq.mss();
        let take = data.len().min(mss * self.arq.send_window() as usize);
        for chunk in data[..take].chunks(mss) {
            // One chunk is one whole message: never too long.
            self.arq.send(chunk);
        }
        // kcp-go's Write flushes at once (no write delay); the timer keeps its schedule.
        self.arq.flush(self.millis(now), false);
        self.encode_output();
        take
    }

    /// Copies received bytes into `buf`, returning how many (0: nothing to read now).
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        if self.read_at == self.reading.len() {
            self.reading.clear();
            self.read_at = 0;
            if !self.arq.recv(&mut self.reading) {
                return 0;
            }
        }
        let n = buf.len().min(self.reading.len() - self.read_at);
        buf[..n].copy_from_slice(&self.reading[self.read_at..self.read_at + n]);
        self.read_at += n;
        n
    }

    /// Whether [`read`](Self::read) has bytes.
    pub fn readable(&self) -> bool {
        self.read_at < self.reading.len() || self.arq.peek_size().is_some()
    }

    /// Whether the link is dead: a segment went unacknowledged `dead_link` times, or
    /// segments waited for an ACK while the peer was silent for
    /// [`KcpConfig::silence_timeout`].
    pub fn is_dead(&self) -> bool {
        self.arq.is_dead() || self.silent_dead
    }

    /// Counters of the FEC layer.
    pub fn fec_stats(&self) -> &FecStats {
        self.fec_decoder.stats()
    }

    /// Packets (or rebuilt shards) KCP refused (wrong conv, bad segment).
    pub fn kcp_input_errors(&self) -> u64 {
        self.kcp_input_errors
    }
}
