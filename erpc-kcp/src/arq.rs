//! The KCP ARQ itself, sans-IO, with kcp-go v5.5.12's sender and receiver rules.
//!
//! Segments on the wire: `conv u32 | cmd u8 | frg u8 | wnd u16 | ts u32 | sn u32 | una u32 |
//! len u32 | data`, little-endian; commands 81 push, 82 ack, 83 window ask, 84 window tell.
//! Sequence numbers and millisecond clocks are 32-bit and wrap: every comparison is a
//! wrapping difference, and no arithmetic on a wire value can overflow.

use std::collections::VecDeque;

use crate::KCP_OVERHEAD;

const CMD_PUSH: u8 = 81;
const CMD_ACK: u8 = 82;
const CMD_WASK: u8 = 83;
const CMD_WINS: u8 = 84;
const ASK_SEND: u8 = 1;
const ASK_TELL: u8 = 2;
const RTO_DEFAULT: u32 = 200;
const RTO_MIN_NODELAY: u32 = 30;
const RTO_MIN: u32 = 100;
const RTO_MAX: u32 = 60_000;
const THRESH_INIT: u32 = 2;
const THRESH_MIN: u32 = 2;
const PROBE_INIT: u32 = 7_000;
const PROBE_LIMIT: u32 = 120_000;

/// `later - earlier` on a wrapping 32-bit clock or sequence space.
fn diff(later: u32, earlier: u32) -> i32 {
    later.wrapping_sub(earlier) as i32
}

#[derive(Debug, Default)]
struct Segment {
    frg: u8,
    ts: u32,
    sn: u32,
    resend_at: u32,
    rto: u32,
    fastack: u32,
    xmit: u32,
    acked: bool,
    data: Vec<u8>,
}

/// Why [`Arq::input`] stopped reading a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputError {
    /// Shorter than one segment header.
    Short,
    /// A segment of another conversation.
    Conv,
    /// A segment whose length runs past the packet.
    Length,
    /// An unknown command.
    Command,
}

/// Tunables, from [`KcpConfig`](crate::KcpConfig).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArqParams {
    pub(crate) mtu: u32,
    pub(crate) send_window: u32,
    pub(crate) recv_window: u32,
    pub(crate) interval: u32,
    pub(crate) nodelay: bool,
    pub(crate) fast_resend: u32,
    pub(crate) congestion_control: bool,
    pub(crate) dead_link: u32,
}

/// One KCP control block.
#[derive(Debug)]
pub(crate) struct Arq {
    conv: u32,
    p: ArqParams,
    mss: u32,
    dead: bool,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    ssthresh: u32,
    rx_rttvar: i64,
    rx_srtt: i64,
    rx_rto: u32,
    rx_minrto: u32,
    rmt_wnd: u32,
    cwnd: u32,
    incr: u32,
    probe: u8,
    probe_wait: u32,
    ts_probe: u32,
    snd_queue: VecDeque<Segment>,
    snd_buf: VecDeque<Segment>,
    rcv_queue: VecDeque<Segment>,
    rcv_buf: VecDeque<Segment>,
    acklist: Vec<(u32, u32)>,
    /// Packets written by `flush`, each at most `mtu` bytes.
    out: Vec<Vec<u8>>,
    building: Vec<u8>,
}

impl Arq {
    pub(crate) fn new(conv: u32, p: ArqParams) -> Self {
        let mss = p.mtu.saturating_sub(KCP_OVERHEAD as u32).max(1);
        Self {
            conv,
            p,
            mss,
            dead: false,
            snd_una: 0,
            snd_nxt: 0,
            rcv_nxt: 0,
            ssthresh: THRESH_INIT,
            rx_rttvar: 0,
            rx_srtt: 0,
            rx_rto: RTO_DEFAULT,
            rx_minrto: if p.nodelay { RTO_MIN_NODELAY } else { RTO_MIN },
            rmt_wnd: 32,
            cwnd: 0,
            incr: 0,
            probe: 0,
            probe_wait: 0,
            ts_probe: 0,
            snd_queue: VecDeque::new(),
            snd_buf: VecDeque::new(),
            rcv_queue: VecDeque::new(),
            rcv_buf: VecDeque::new(),
            acklist: Vec::new(),
            out: Vec::new(),
            building: Vec::with_capacity(p.mtu as usize),
        }
    }

    pub(crate) fn conv(&self) -> u32 {
        self.conv
    }

    pub(crate) fn mss(&self) -> usize {
        self.mss as usize
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.dead
    }

    pub(crate) fn remote_window(&self) -> u32 {
        self.rmt_wnd
    }

    pub(crate) fn send_window(&self) -> u32 {
        self.p.send_window
    }

    /// Segments queued or in flight (kcp-go's `WaitSnd`).
    pub(crate) fn wait_snd(&self) -> usize {
        self.snd_buf.len() + self.snd_queue.len()
    }

    pub(crate) fn take_output(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.out)
    }

    /// Queues one message (message mode: up to 255 fragments of at most mss bytes).
    /// Returns false for an empty or too long message.
    pub(crate) fn send(&mut self, message: &[u8]) -> bool {
        let mss = self.mss as usize;
        let count = message.len().div_ceil(mss).max(1);
        if message.is_empty() || count > 255 {
            return false;
        }
        for (i, chunk) in message.chunks(mss).enumerate() {
            self.snd_queue.push_back(Segment {
                frg: (count - i - 1) as u8,
                data: chunk.to_vec(),
                ..Segment::default()
            });
        }
        true
    }

    /// Size of the next whole message, if one is ready.
    pub(crate) fn peek_size(&self) -> Option<usize> {
        let first = self.rcv_queue.front()?;
        if first.frg == 0 {
            return Some(first.data.len());
        }
        if self.rcv_queue.len() < usize::from(first.frg) + 1 {
            return None;
        }
        let mut len = 0;
        for seg in &self.rcv_queue {
            len += seg.data.len();
            if seg.frg == 0 {
                break;
            }
        }
        Some(len)
    }

    /// Appends the next whole message to `out`; false when none is ready.
    pub(crate) fn recv(&mut self, out: &mut Vec<u8>) -> bool {
        if self.peek_size().is_none() {
            return false;
        }
        let was_full = self.rcv_queue.len() >= self.p.recv_window as usize;
        while let Some(seg) = self.rcv_queue.pop_front() {
            out.extend_from_slice(&seg.data);
            if seg.frg == 0 {
                break;
            }
        }
        self.move_ready();
        if was_full && self.rcv_queue.len() < self.p.recv_window as usize {
            // Tell the peer at once that the window opened again.
            self.probe |= ASK_TELL;
        }
        true
    }

    /// Moves in-order segments from the receive buffer to the receive queue.
    fn move_ready(&mut self) {
        while let Some(seg) = self.rcv_buf.front() {
            if seg.sn != self.rcv_nxt || self.rcv_queue.len() >= self.p.recv_window as usize {
                break;
            }
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
            if let Some(seg) = self.rcv_buf.pop_front() {
                self.rcv_queue.push_back(seg);
            }
        }
    }

    fn wnd_unused(&self) -> u16 {
        let free = (self.p.recv_window as usize).saturating_sub(self.rcv_queue.len());
        free.min(usize::from(u16::MAX)) as u16
    }

    fn update_ack(&mut self, rtt: i32) {
        let rtt = i64::from(rtt);
        if self.rx_srtt == 0 {
            self.rx_srtt = rtt;
            self.rx_rttvar = rtt >> 1;
        } else {
            let delta = rtt - self.rx_srtt;
            self.rx_srtt += delta >> 3;
            let delta = delta.abs();
            if rtt < self.rx_srtt - self.rx_rttvar {
                // An RTT well below the mean: let the variance follow slowly.
                self.rx_rttvar += (delta - self.rx_rttvar) >> 5;
            } else {
                self.rx_rttvar += (delta - self.rx_rttvar) >> 2;
            }
        }
        let var4 = (self.rx_rttvar.max(0) << 2).max(i64::from(self.p.interval));
        let rto = (self.rx_srtt.max(0) + var4).clamp(i64::from(self.rx_minrto), i64::from(RTO_MAX));
        self.rx_rto = rto as u32;
    }

    fn shrink_buf(&mut self) {
        self.snd_una = self.snd_buf.front().map_or(self.snd_nxt, |s| s.sn);
    }

    fn parse_ack(&mut self, sn: u32) {
        if diff(sn, self.snd_una) < 0 || diff(sn, self.snd_nxt) >= 0 {
            return;
        }
        for seg in &mut self.snd_buf {
            if seg.sn == sn {
                seg.acked = true;
                seg.data = Vec::new();
                break;
            }
            if diff(sn, seg.sn) < 0 {
                break;
            }
        }
    }

    fn parse_fastack(&mut self, sn: u32, ts: u32) {
        if diff(sn, self.snd_una) < 0 || diff(sn, self.snd_nxt) >= 0 {
            return;
        }
        for seg in &mut self.snd_buf {
            if diff(sn, seg.sn) < 0 {
                break;
            }
            if sn != seg.sn && diff(seg.ts, ts) <= 0 {
                seg.fastack = seg.fastack.saturating_add(1);
            }
        }
    }

    fn parse_una(&mut self, una: u32) {
        while self.snd_buf.front().is_some_and(|s| diff(una, s.sn) > 0) {
            self.snd_buf.pop_front();
        }
    }

    fn parse_data(&mut self, seg: Segment) {
        let sn = seg.sn;
        if diff(sn, self.rcv_nxt.wrapping_add(self.p.recv_window)) >= 0
            || diff(sn, self.rcv_nxt) < 0
        {
            return;
        }
        // Insert in order, from the back (segments mostly arrive in order); drop repeats.
        let mut at = 0;
        for (i, s) in self.rcv_buf.iter().enumerate().rev() {
            if s.sn == sn {
                return self.move_ready();
            }
            if diff(sn, s.sn) > 0 {
                at = i + 1;
                break;
            }
        }
        self.rcv_buf.insert(at, seg);
        self.move_ready();
    }

    /// Takes the KCP part of one packet at `now_ms`. `regular` is false for packets rebuilt
    /// by FEC: they update neither the peer's window nor the RTT.
    pub(crate) fn input(
        &mut self,
        now_ms: u32,
        mut data: &[u8],
        regular: bool,
    ) -> Result<(), InputError> {
        if data.len() < KCP_OVERHEAD {
            return Err(InputError::Short);
        }
        let prev_una = self.snd_una;
        let mut latest_ack_ts = None;
        while data.len() >= KCP_OVERHEAD {
            let u32_at =
                |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
            let conv = u32_at(0);
            let cmd = data[4];
            let frg = data[5];
            let wnd = u16::from_le_bytes([data[6], data[7]]);
            let ts = u32_at(8);
            let sn = u32_at(12);
            let una = u32_at(16);
            let len = u32_at(20) as usize;
            if conv != self.conv {
                return Err(InputError::Conv);
            }
            let body = &data[KCP_OVERHEAD..];
            if body.len() < len {
                return Err(InputError::Length);
            }
            if !(CMD_PUSH..=CMD_WINS).contains(&cmd) {
                return Err(InputError::Command);
            }
            if regular {
                self.rmt_wnd = u32::from(wnd);
            }
            self.parse_una(una);
            self.shrink_buf();
            match cmd {
                CMD_ACK => {
                    self.parse_ack(sn);
                    self.parse_fastack(sn, ts);
                    latest_ack_ts = Some(ts);
                }
                // Beyond the receive window: dropped unacknowledged (the peer resends).
                CMD_PUSH if diff(sn, self.rcv_nxt.wrapping_add(self.p.recv_window)) < 0 => {
                    self.acklist.push((sn, ts));
                    if diff(sn, self.rcv_nxt) >= 0 {
                        self.parse_data(Segment {
                            frg,
                            ts,
                            sn,
                            data: body[..len].to_vec(),
                            ..Segment::default()
                        });
                    }
                }
                CMD_WASK => self.probe |= ASK_TELL,
                // CMD_WINS (its window was read above), or a push beyond the window.
                _ => {}
            }
            data = &body[len..];
        }
        if let (Some(ts), true) = (latest_ack_ts, regular) {
            let rtt = diff(now_ms, ts);
            if rtt >= 0 {
                self.update_ack(rtt);
            }
        }
        if self.p.congestion_control && diff(self.snd_una, prev_una) > 0 && self.cwnd < self.rmt_wnd
        {
            let mss = self.mss;
            if self.cwnd < self.ssthresh {
                self.cwnd += 1;
                self.incr = self.incr.saturating_add(mss);
            } else {
                self.incr = self.incr.max(mss);
                self.incr = self.incr.saturating_add(mss * mss / self.incr + mss / 16);
                if (self.cwnd + 1).saturating_mul(mss) <= self.incr {
                    self.cwnd = self.incr.div_ceil(mss);
                }
            }
            if self.cwnd > self.rmt_wnd {
                self.cwnd = self.rmt_wnd;
                self.incr = self.rmt_wnd.saturating_mul(mss);
            }
        }
        Ok(())
    }

    /// Whether ACKs are waiting to be sent.
    pub(crate) fn has_acks(&self) -> bool {
        !self.acklist.is_empty()
    }

    /// Appends one encoded segment, starting a new packet when it would not fit.
    fn put(&mut self, cmd: u8, frg: u8, wnd: u16, ts: u32, sn: u32, data: &[u8]) {
        if self.building.len() + KCP_OVERHEAD + data.len() > self.p.mtu as usize {
            self.emit();
        }
        let b = &mut self.building;
        b.extend_from_slice(&self.conv.to_le_bytes());
        b.push(cmd);
        b.push(frg);
        b.extend_from_slice(&wnd.to_le_bytes());
        b.extend_from_slice(&ts.to_le_bytes());
        b.extend_from_slice(&sn.to_le_bytes());
        b.extend_from_slice(&self.rcv_nxt.to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
    }

    fn emit(&mut self) {
        if !self.building.is_empty() {
            let packet =
                std::mem::replace(&mut self.building, Vec::with_capacity(self.p.mtu as usize));
            self.out.push(packet);
        }
    }

    /// Sends ACKs, window probes, new and due segments at `now_ms` (kcp-go's `flush`);
    /// returns the ms until the next call is due (at most the interval). With `ack_only`,
    /// only the ACKs.
    pub(crate) fn flush(&mut self, now_ms: u32, ack_only: bool) -> u32 {
        let wnd = self.wnd_unused();
        let acks = std::mem::take(&mut self.acklist);
        let last = acks.len().saturating_sub(1);
        for (i, &(sn, ts)) in acks.iter().enumerate() {
            // ACKs below rcv_nxt are covered by una (bufferbloat filter); the last always goes.
            if diff(sn, self.rcv_nxt) >= 0 || i == last {
                self.put(CMD_ACK, 0, wnd, ts, sn, &[]);
            }
        }
        if ack_only {
            self.emit();
            return self.p.interval;
        }

        if self.rmt_wnd == 0 {
            if self.probe_wait == 0 {
                self.probe_wait = PROBE_INIT;
                self.ts_probe = now_ms.wrapping_add(self.probe_wait);
            } else if diff(now_ms, self.ts_probe) >= 0 {
                self.probe_wait = self.probe_wait.max(PROBE_INIT);
                self.probe_wait = (self.probe_wait + self.probe_wait / 2).min(PROBE_LIMIT);
                self.ts_probe = now_ms.wrapping_add(self.probe_wait);
                self.probe |= ASK_SEND;
            }
        } else {
            self.ts_probe = 0;
            self.probe_wait = 0;
        }
        if self.probe & ASK_SEND != 0 {
            self.put(CMD_WASK, 0, wnd, 0, 0, &[]);
        }
        if self.probe & ASK_TELL != 0 {
            self.put(CMD_WINS, 0, wnd, 0, 0, &[]);
        }
        self.probe = 0;

        let mut cwnd = self.p.send_window.min(self.rmt_wnd);
        if self.p.congestion_control {
            cwnd = cwnd.min(self.cwnd);
        }
        let mut new_segments = 0;
        while diff(self.snd_nxt, self.snd_una.wrapping_add(cwnd)) < 0 {
            let Some(mut seg) = self.snd_queue.pop_front() else {
                break;
            };
            seg.sn = self.snd_nxt;
            self.snd_nxt = self.snd_nxt.wrapping_add(1);
            self.snd_buf.push_back(seg);
            new_segments += 1;
        }

        let resent = if self.p.fast_resend > 0 {
            self.p.fast_resend
        } else {
            u32::MAX
        };
        let (mut changed, mut lost) = (0u32, false);
        let mut next_in = self.p.interval as i32;
        let rx_rto = self.rx_rto;
        let step = if self.p.nodelay { rx_rto / 2 } else { rx_rto };
        let mut buf = std::mem::take(&mut self.snd_buf);
        for seg in buf.iter_mut().filter(|s| !s.acked) {
            let due = if seg.xmit == 0 {
                seg.rto = rx_rto;
                true
            } else if seg.fastack >= resent {
                seg.rto = rx_rto;
                changed += 1;
                true
            } else if seg.fastack > 0 && new_segments == 0 {
                // Early retransmit: something later was acked and nothing new goes out.
                seg.rto = rx_rto;
                changed += 1;
                true
            } else if diff(now_ms, seg.resend_at) >= 0 {
                // kcp-go backs off linearly: one more RTO each time.
                seg.rto = seg.rto.saturating_add(step);
                lost = true;
                true
            } else {
                false
            };
            if due {
                seg.fastack = 0;
                seg.resend_at = now_ms.wrapping_add(seg.rto);
                seg.xmit += 1;
                seg.ts = now_ms;
                self.put(CMD_PUSH, seg.frg, wnd, seg.ts, seg.sn, &seg.data);
                if seg.xmit >= self.p.dead_link {
                    self.dead = true;
                }
            }
            let until = diff(seg.resend_at, now_ms);
            if until > 0 && until < next_in {
                next_in = until;
            }
        }
        self.snd_buf = buf;
        self.emit();

        if self.p.congestion_control {
            if changed > 0 {
                let inflight = self.snd_nxt.wrapping_sub(self.snd_una);
                self.ssthresh = (inflight / 2).max(THRESH_MIN);
                // kcp-go adds `resent` with 32-bit wrapping (with fast resend off: minus one).
                self.cwnd = self.ssthresh.wrapping_add(resent);
                self.incr = self.cwnd.wrapping_mul(self.mss);
            }
            if lost {
                self.ssthresh = (cwnd / 2).max(THRESH_MIN);
                self.cwnd = 1;
                self.incr = self.mss;
            }
            if self.cwnd < 1 {
                self.cwnd = 1;
                self.incr = self.mss;
            }
        }
        next_in.max(1) as u32
    }
}
