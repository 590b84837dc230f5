//! Change notifications across processes: every commit that appends events
//! sends `NOTIFY o2c_commit` with its tenant's name (delivered when it commits),
//! and one connection per store `LISTEN`s and moves the commit signal of the
//! tenant named. So a host waiting for events in one process wakes on a commit
//! made by another.
//!
//! One listening connection serves every tenant of the store (a connection per
//! tenant would exhaust `max_connections` as the pool would). If it breaks, it
//! reconnects after a second and wakes every waiter once, so a notification lost
//! meanwhile costs a re-read, never a missed event.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use futures_util::future::{Either, select};
use tokio::sync::oneshot;
use tokio_postgres::{AsyncMessage, Config, NoTls};

use crate::store::CommitSignal;

/// The channel every o2c commit notifies.
pub(super) const CHANNEL: &str = "o2c_commit";

/// The commit signal of each open tenant, by name.
#[derive(Default)]
pub(super) struct Listeners {
    signals: Mutex<HashMap<String, Weak<CommitSignal>>>,
}

impl Listeners {
    /// The signal of `tenant`, shared by every handle open on it.
    pub(super) fn signal(&self, tenant: &str) -> Arc<CommitSignal> {
        let mut signals = self.signals.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(signal) = signals.get(tenant).and_then(Weak::upgrade) {
            return signal;
        }
        signals.retain(|_, signal| signal.strong_count() > 0);
        let signal = Arc::new(CommitSignal::new());
        signals.insert(tenant.to_owned(), Arc::downgrade(&signal));
        signal
    }

    fn notify(&self, tenant: &str) {
        let signal = self
            .signals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tenant)
            .and_then(Weak::upgrade);
        if let Some(signal) = signal {
            signal.notify();
        }
    }

    fn notify_all(&self) {
        let signals: Vec<Arc<CommitSignal>> = self
            .signals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for signal in signals {
            signal.notify();
        }
    }
}

/// Listens until `stop` fires (its sender dropped with the store), reconnecting
/// after a second whenever the connection breaks.
pub(super) async fn listen(
    config: Config,
    listeners: Arc<Listeners>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        let session = pin!(session(&config, &listeners));
        if let Either::Right(_) = select(session, &mut stop).await {
            return;
        }
        // Whatever was notified while the connection was down: look again.
        listeners.notify_all();
        let nap = pin!(tokio::time::sleep(Duration::from_secs(1)));
        if let Either::Right(_) = select(nap, &mut stop).await {
            return;
        }
    }
}

/// One listening connection, until it breaks.
async fn session(config: &Config, listeners: &Arc<Listeners>) {
    let Ok((client, mut connection)) = config.connect(NoTls).await else {
        return;
    };
    let relay = Arc::clone(listeners);
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => relay.notify(n.payload()),
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    if client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .is_ok()
    {
        // Listening from here: anything committed before may have been missed.
        listeners.notify_all();
        let _ = driver.await;
    } else {
        driver.abort();
    }
    drop(client);
}
