//! A switch in front of one demo server's sockets.
//!
//! Open: bytes flow. Frozen: no byte goes in or out, like a host whose sshd (or whole kernel)
//! is stopped: the peer's TCP connection stays up and nothing answers. Closed: every read and
//! write fails at once, which ends every session of the server when the demo site stops.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Mode {
    #[default]
    Open,
    Frozen,
    Closed,
}

/// What a registered task is waiting for: each kind of poll keeps its own waker, as reads and
/// writes of one stream may be polled by different tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Read,
    Write,
    Flush,
    Shutdown,
    Open,
}

#[derive(Default)]
struct Inner {
    mode: Mode,
    next_id: u64,
    wakers: HashMap<(u64, Slot), Waker>,
}

#[derive(Default)]
pub(crate) struct Gate {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("mode", &self.mode()).finish()
    }
}

impl Gate {
    pub(crate) fn new() -> Arc<Gate> {
        Arc::new(Gate::default())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn mode(&self) -> Mode {
        self.lock().mode
    }

    /// Switch, and wake every task that waits on the gate so it sees the new mode. Closed is
    /// final.
    pub(crate) fn set(&self, mode: Mode) {
        let wakers: Vec<Waker> = {
            let mut inner = self.lock();
            if inner.mode == Mode::Closed || inner.mode == mode {
                return;
            }
            inner.mode = mode;
            inner.wakers.drain().map(|(_, w)| w).collect()
        };
        for w in wakers {
            w.wake();
        }
    }

    fn ticket(self: &Arc<Self>) -> Ticket {
        let mut inner = self.lock();
        inner.next_id += 1;
        Ticket {
            gate: self.clone(),
            id: inner.next_id,
        }
    }

    /// Wait until the gate is open (true) or closed for good (false).
    pub(crate) async fn until_open(self: &Arc<Self>) -> bool {
        let ticket = self.ticket();
        std::future::poll_fn(|cx| match ticket.poll_mode(Slot::Open, cx) {
            Mode::Open => Poll::Ready(true),
            Mode::Closed => Poll::Ready(false),
            Mode::Frozen => Poll::Pending,
        })
        .await
    }
}

/// One user of the gate; forgets its wakers when dropped.
struct Ticket {
    gate: Arc<Gate>,
    id: u64,
}

impl Ticket {
    /// The current mode, with the task's waker kept so that a change of mode wakes it (also
    /// while open: closing must reach a task blocked in a read of the socket).
    fn poll_mode(&self, slot: Slot, cx: &Context<'_>) -> Mode {
        let mut inner = self.gate.lock();
        let mode = inner.mode;
        if mode != Mode::Closed {
            let key = (self.id, slot);
            match inner.wakers.get(&key) {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => {
                    inner.wakers.insert(key, cx.waker().clone());
                }
            }
        }
        mode
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let id = self.id;
        self.gate.lock().wakers.retain(|(i, _), _| *i != id);
    }
}

/// A socket behind a gate.
pub(crate) struct GatedStream<S> {
    inner: S,
    ticket: Ticket,
}

impl<S> GatedStream<S> {
    pub(crate) fn new(inner: S, gate: &Arc<Gate>) -> Self {
        GatedStream {
            inner,
            ticket: gate.ticket(),
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the demo site stopped")
}

impl<S: AsyncRead + Unpin> AsyncRead for GatedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.ticket.poll_mode(Slot::Read, cx) {
            Mode::Open => Pin::new(&mut this.inner).poll_read(cx, buf),
            Mode::Frozen => Poll::Pending,
            Mode::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for GatedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.ticket.poll_mode(Slot::Write, cx) {
            Mode::Open => Pin::new(&mut this.inner).poll_write(cx, buf),
            Mode::Frozen => Poll::Pending,
            Mode::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.ticket.poll_mode(Slot::Flush, cx) {
            Mode::Open => Pin::new(&mut this.inner).poll_flush(cx),
            Mode::Frozen => Poll::Pending,
            Mode::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.ticket.poll_mode(Slot::Shutdown, cx) {
            Mode::Open => Pin::new(&mut this.inner).poll_shutdown(cx),
            Mode::Frozen => Poll::Pending,
            Mode::Closed => Poll::Ready(Err(closed())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn frozen_streams_stall_and_resume_closed_ones_fail() {
        let gate = Gate::new();
        let (a, b) = tokio::io::duplex(64);
        let mut a = GatedStream::new(a, &gate);
        let mut b = b;
        b.write_all(b"hi").await.unwrap();
        gate.set(Mode::Frozen);
        let mut buf = [0u8; 2];
        let stalled = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            a.read_exact(&mut buf),
        )
        .await;
        assert!(stalled.is_err(), "a frozen stream must not deliver bytes");
        gate.set(Mode::Open);
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hi");

        // A read blocked on an open stream is woken by closing.
        let gate2 = gate.clone();
        let blocked = tokio::spawn(async move {
            let mut one = [0u8; 1];
            a.read(&mut one).await
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        gate2.set(Mode::Closed);
        let r = tokio::time::timeout(std::time::Duration::from_secs(2), blocked)
            .await
            .expect("closing wakes the reader")
            .unwrap();
        assert!(r.is_err());
        // Closed is final.
        gate2.set(Mode::Open);
        assert_eq!(gate2.mode(), Mode::Closed);
        assert!(!gate2.until_open().await);
    }
}
