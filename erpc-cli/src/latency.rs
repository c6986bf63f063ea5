//! The call latencies of a benchmark run, in memory that does not grow with the number of
//! calls: an HDR histogram (3 significant digits, so every percentile is within 0.1% of the
//! exact one) with the exact count, sum, minimum and maximum beside it. Callers record into
//! a small buffer of their own and merge it into the shared summary when it fills, so the
//! lock is taken once per [`BATCH`] calls.

use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;

/// Latencies a caller buffers before it merges them.
const BATCH: usize = 256;
/// The largest latency told apart (longer ones count as this): one hour, in nanoseconds.
const HIGHEST_NS: u64 = 3_600_000_000_000;

/// What every caller of a run measured.
#[derive(Debug)]
pub(crate) struct Summary {
    hist: Histogram<u64>,
    sum_ns: u128,
    min_ns: u64,
    max_ns: u64,
}

impl Summary {
    fn new() -> Summary {
        Summary {
            hist: Histogram::new_with_bounds(1, HIGHEST_NS, 3)
                .expect("constant histogram bounds are valid"),
            sum_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
        }
    }

    fn add(&mut self, ns: &[u64]) {
        for &v in ns {
            self.hist.saturating_record(v.max(1));
            self.sum_ns += u128::from(v);
            self.min_ns = self.min_ns.min(v);
            self.max_ns = self.max_ns.max(v);
        }
    }

    /// Calls measured.
    pub(crate) fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The latency below which a share `q` (0..=1) of the calls finished, in ns (0 when
    /// nothing was measured).
    pub(crate) fn quantile_ns(&self, q: f64) -> u64 {
        if self.count() == 0 {
            return 0;
        }
        self.hist
            .value_at_quantile(q)
            .clamp(self.min_ns, self.max_ns)
    }

    /// The mean latency in ns (0 when nothing was measured).
    pub(crate) fn mean_ns(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => self.sum_ns as f64 / n as f64,
        }
    }

    /// The shortest latency in ns (0 when nothing was measured).
    pub(crate) fn min_ns(&self) -> u64 {
        if self.count() == 0 {
            0
        } else {
            self.min_ns
        }
    }

    /// The longest latency in ns.
    pub(crate) fn max_ns(&self) -> u64 {
        self.max_ns
    }
}

/// The summary the callers of one run share.
#[derive(Clone, Debug)]
pub(crate) struct Latencies {
    shared: Arc<Mutex<Summary>>,
}

impl Latencies {
    pub(crate) fn new() -> Latencies {
        Latencies {
            shared: Arc::new(Mutex::new(Summary::new())),
        }
    }

    /// A recorder for one caller.
    pub(crate) fn recorder(&self) -> Recorder {
        Recorder {
            shared: self.clone(),
            buf: Vec::with_capacity(BATCH),
        }
    }

    /// The summary, once every recorder is gone.
    pub(crate) fn finish(self) -> Summary {
        match Arc::try_unwrap(self.shared) {
            Ok(m) => m.into_inner().unwrap_or_else(|e| e.into_inner()),
            // A recorder still alive (a caller that did not end): what was merged so far.
            Err(shared) => {
                let s = shared.lock().unwrap_or_else(|e| e.into_inner());
                let mut copy = Summary::new();
                copy.hist.add(&s.hist).expect("same bounds");
                copy.sum_ns = s.sum_ns;
                copy.min_ns = s.min_ns;
                copy.max_ns = s.max_ns;
                copy
            }
        }
    }
}

/// One caller's buffer; merged when full and when dropped.
#[derive(Debug)]
pub(crate) struct Recorder {
    shared: Latencies,
    buf: Vec<u64>,
}

impl Recorder {
    /// Records one call's latency.
    pub(crate) fn record(&mut self, ns: u64) {
        self.buf.push(ns);
        if self.buf.len() == BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            let mut s = self.shared.shared.lock().unwrap_or_else(|e| e.into_inner());
            s.add(&self.buf);
            drop(s);
            self.buf.clear();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_a_tenth_of_a_percent_of_the_exact_ones() {
        let lat = Latencies::new();
        let mut exact = Vec::new();
        // Three callers, 10,000 calls, latencies from 1 µs to about 50 ms.
        for c in 0..3u64 {
            let mut r = lat.recorder();
            for i in 0..3334u64 {
                let v = 1_000 + (i * 7919 + c * 104_729) % 50_000_000;
                r.record(v);
                exact.push(v);
            }
        }
        let s = lat.finish();
        exact.sort_unstable();
        assert_eq!(s.count(), exact.len() as u64);
        for q in [0.5, 0.9, 0.99, 0.999] {
            let rank = ((q * exact.len() as f64).ceil() as usize).clamp(1, exact.len());
            let want = exact[rank - 1] as f64;
            let got = s.quantile_ns(q) as f64;
            assert!((got - want).abs() / want < 0.001, "q {q}: {got} vs {want}");
        }
        assert_eq!(s.min_ns(), exact[0]);
        assert_eq!(s.max_ns(), *exact.last().unwrap());
        let mean = exact.iter().map(|&v| v as f64).sum::<f64>() / exact.len() as f64;
        assert!((s.mean_ns() - mean).abs() < 1.0);
    }

    #[test]
    fn nothing_measured_reads_as_zeros() {
        let s = Latencies::new().finish();
        assert_eq!(
            (s.count(), s.quantile_ns(0.99), s.min_ns(), s.max_ns()),
            (0, 0, 0, 0)
        );
        assert_eq!(s.mean_ns(), 0.0);
    }
}
