//! A bounded queue from a blocking thread to a future: the producer (a reader or accept
//! thread) blocks while it is full, the consumer polls it. The consumer is woken only when
//! it waits, the producer only when it waits.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};

use crate::rt::lock;

struct State<T> {
    items: VecDeque<T>,
    /// The consumer's waker while it waits for an item.
    waker: Option<Waker>,
    /// Whether the producer waits for room.
    producer_waits: bool,
    /// The consumer is gone: the producer's sends fail.
    rx_closed: bool,
    /// The producer is gone: once empty, the consumer sees the end.
    tx_closed: bool,
}

struct Shared<T> {
    cap: usize,
    state: Mutex<State<T>>,
    room: Condvar,
}

/// The producing end.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The consuming end.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A queue of at most `cap` items (at least 1).
pub(crate) fn pipe<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        cap: cap.max(1),
        state: Mutex::new(State {
            items: VecDeque::with_capacity(cap.max(1)),
            waker: None,
            producer_waits: false,
            rx_closed: false,
            tx_closed: false,
        }),
        room: Condvar::new(),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

impl<T> Sender<T> {
    /// Queues `item`, blocking while the queue is full; gives it back if the consumer is gone.
    pub(crate) fn send(&self, item: T) -> Result<(), T> {
        let sh = &*self.shared;
        let mut st = lock(&sh.state);
        loop {
            if st.rx_closed {
                return Err(item);
            }
            if st.items.len() < sh.cap {
                break;
            }
            st.producer_waits = true;
            st = sh.room.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.items.push_back(item);
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Whether the consumer is gone.
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.shared.state).rx_closed
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut st = lock(&self.shared.state);
            st.tx_closed = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once the producer is gone and the queue is empty.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let sh = &*self.shared;
        let mut st = lock(&sh.state);
        if let Some(item) = st.items.pop_front() {
            if std::mem::take(&mut st.producer_waits) {
                sh.room.notify_one();
            }
            return Poll::Ready(Some(item));
        }
        if st.tx_closed {
            return Poll::Ready(None);
        }
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let items = {
            let mut st = lock(&self.shared.state);
            st.rx_closed = true;
            std::mem::take(&mut st.items)
        };
        self.shared.room.notify_all();
        drop(items);
    }
}
