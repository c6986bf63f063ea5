//! One KCP session over FEC, sans-IO.

use std::collections::VecDeque;
use std::io;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kcp::Kcp;

use crate::{FecDecoder, FecEncoder, FecError, FecStats, KcpConfig, FEC_HEADER_LEN};

/// Where the `kcp` crate writes its output: one `write` call is one KCP packet.
#[derive(Debug)]
struct RawOutput(mpsc::Sender<Vec<u8>>);

impl io::Write for RawOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The receiver lives as long as the `KcpConn` owning this output.
        let _ = self.0.send(buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

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
/// The ARQ is the `kcp` crate (a port of the C library): its segments (`conv | cmd 81–84 |
/// frg | wnd | ts | sn | una | len`, little-endian) are kcp-go's, and it is set to kcp-go's
/// parameters, so both ends interoperate. Sender policies differ from kcp-go's where kcp-go
/// departed from the C library: the RTO of a lost segment doubles (kcp-go adds one RTO), and
/// there is no early retransmit.
///
/// The `kcp` crate's sequence and clock arithmetic wraps as its C original does, but is
/// written with plain operators: built with overflow checks (a debug build), a hostile
/// datagram would panic it. This workspace turns overflow checks off for that one crate in
/// every profile (`[profile.*.package.kcp]` in the root `Cargo.toml`); an application
/// embedding erpc-kcp in a debug build should do the same.
pub struct KcpConn {
    kcp: Kcp<RawOutput>,
    raw: mpsc::Receiver<Vec<u8>>,
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
            .field("conv", &self.kcp.conv())
            .field("wait_snd", &self.kcp.wait_snd())
            .field("dead", &self.kcp.is_dead_link())
            .field("transmit", &self.transmit.len())
            .finish_non_exhaustive()
    }
}

impl KcpConn {
    /// A session with conversation id `conv` (the dialer picks it at random; a listener takes
    /// it from the first data packet), created at `now`.
    pub fn new(conv: u32, config: &KcpConfig, now: Instant) -> Result<Self, FecError> {
        let (tx, raw) = mpsc::channel();
        let mut kcp = Kcp::new(conv, RawOutput(tx));
        // The FEC header comes on top of what KCP writes.
        kcp.set_mtu(config.mtu.saturating_sub(FEC_HEADER_LEN))
            .map_err(|_| FecError::PayloadTooLong(config.mtu))?;
        kcp.set_wndsize(config.send_window, config.recv_window);
        kcp.set_nodelay(
            config.nodelay,
            config.interval_ms as i32,
            config.fast_resend as i32,
            !config.congestion_control,
        );
        kcp.set_maximum_resend_times(config.dead_link);
        let mut conn = Self {
            kcp,
            raw,
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
        conn.handle_timeout(now);
        Ok(conn)
    }

    /// The conversation id.
    pub fn conv(&self) -> u32 {
        self.kcp.conv()
    }

    fn millis(&self, now: Instant) -> u32 {
        // KCP clocks are 32-bit milliseconds that wrap.
        now.saturating_duration_since(self.epoch).as_millis() as u32
    }

    /// Takes one UDP packet from the peer, received at `now`.
    pub fn handle_input(&mut self, now: Instant, packet: &[u8]) {
        self.last_input = now;
        let kcp = &mut self.kcp;
        let errors = &mut self.kcp_input_errors;
        self.fec_decoder.input(now, packet, |payload| {
            if kcp.input(payload).is_err() {
                *errors += 1;
            }
        });
        if self.config.ack_nodelay {
            let _ = self.kcp.flush_ack();
        }
        self.encode_output();
    }

    /// Runs KCP's timers (retransmissions, ACKs, window probes) at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = self.kcp.update(self.millis(now));
        self.encode_output();
        if self.kcp.wait_snd() > 0
            && now.saturating_duration_since(self.last_input) >= self.config.silence_timeout
        {
            self.silent_dead = true;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due (at most one interval away).
    pub fn poll_timeout(&self, now: Instant) -> Instant {
        let current = self.millis(now);
        now + Duration::from_millis(u64::from(self.kcp.check(current)))
    }

    /// The next UDP packet to send to the peer.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    fn encode_output(&mut self) {
        let mut out = Vec::new();
        while let Ok(packet) = self.raw.try_recv() {
            // KCP packets are at most mtu - 8 bytes, within the FEC limit.
            if self.fec_encoder.encode(&packet, &mut out).is_err() {
                continue;
            }
        }
        self.transmit.extend(out);
    }

    /// Whether [`send`](Self::send) would take bytes now: fewer than a send window of
    /// segments wait to be sent or acknowledged (kcp-go's rule for `Write`).
    pub fn writable(&self) -> bool {
        let waiting = self.kcp.wait_snd();
        waiting < usize::from(self.kcp.snd_wnd())
    }

    /// The peer's receive window as it last advertised it, in segments (0: it is full, and
    /// KCP probes it).
    pub fn remote_window(&self) -> u16 {
        self.kcp.rmt_wnd()
    }

    /// Segments sent but not yet acknowledged, and queued.
    pub fn unacknowledged(&self) -> usize {
        self.kcp.wait_snd()
    }

    /// Queues up to one send window of `data` (split into segments of at most
    /// [`KcpConfig::mss`] bytes) and sends what the windows allow at once, as kcp-go does.
    /// Returns how many bytes were taken: 0 when not [`writable`](Self::writable).
    pub fn send(&mut self, data: &[u8]) -> usize {
        if !self.writable() || data.is_empty() {
            return 0;
        }
        let mss = self.config.mss().max(1);
        let take = data.len().min(mss * usize::from(self.kcp.snd_wnd()));
        for chunk in data[..take].chunks(mss) {
            // One chunk is one fragment: never too big.
            let _ = self.kcp.send(chunk);
        }
        let _ = self.kcp.flush();
        self.encode_output();
        take
    }

    /// Copies received bytes into `buf`, returning how many (0: nothing to read now).
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        if self.read_at == self.reading.len() {
            let Ok(size) = self.kcp.peeksize() else {
                return 0;
            };
            self.reading.resize(size, 0);
            self.read_at = 0;
            match self.kcp.recv(&mut self.reading) {
                Ok(n) => self.reading.truncate(n),
                Err(_) => {
                    self.reading.clear();
                    return 0;
                }
            }
        }
        let n = buf.len().min(self.reading.len() - self.read_at);
        buf[..n].copy_from_slice(&self.reading[self.read_at..self.read_at + n]);
        self.read_at += n;
        n
    }

    /// Whether [`read`](Self::read) has bytes.
    pub fn readable(&self) -> bool {
        self.read_at < self.reading.len() || self.kcp.peeksize().is_ok()
    }

    /// Whether the link is dead: a segment went unacknowledged `dead_link` times, or
    /// segments waited for an ACK while the peer was silent for
    /// [`KcpConfig::silence_timeout`].
    pub fn is_dead(&self) -> bool {
        self.kcp.is_dead_link() || self.silent_dead
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
