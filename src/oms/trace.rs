//! What a command tells `tracing` (feature `tracing`): a span per command named
//! `o2c.command`, with the command's name, its idempotency key or the id it
//! addresses, how many attempts it took and its outcome (`ok`, or the error's
//! [code](crate::Error::code)); an event per lost race and per retry; and a span
//! per store call inside it (`o2c.store`, with the call's name), whose time a
//! subscriber reports. Fields carry ids, keys and codes only, never a customer's
//! name, e-mail or address.
//!
//! Without the feature every function here is a plain pass-through.

#[cfg(feature = "tracing")]
pub(crate) use on::{Command, gave_up, lost_race, store};

#[cfg(not(feature = "tracing"))]
pub(crate) use off::{Command, gave_up, lost_race, store};

#[cfg(feature = "tracing")]
mod on {
    use std::fmt::Display;
    use std::future::Future;

    use tracing::Instrument;
    use tracing::field::Empty;

    use crate::error::Error;

    /// The span of one command.
    pub(crate) struct Command(tracing::Span);

    impl Command {
        /// A command sent with an idempotency key.
        pub(crate) fn keyed(name: &'static str, key: &dyn Display) -> Self {
            Self::plain(name).with("key", key)
        }

        /// A command that addresses a record by id.
        pub(crate) fn addressed(name: &'static str, id: &dyn Display) -> Self {
            Self::plain(name).with("id", id)
        }

        /// A command sent with an idempotency key that addresses a record by id.
        pub(crate) fn keyed_on(name: &'static str, key: &dyn Display, id: &dyn Display) -> Self {
            Self::keyed(name, key).with("id", id)
        }

        /// A command with neither: every field but the name is recorded later.
        pub(crate) fn plain(name: &'static str) -> Self {
            Command(tracing::info_span!(
                "o2c.command",
                command = name,
                key = Empty,
                id = Empty,
                attempts = Empty,
                outcome = Empty,
                code = Empty,
            ))
        }

        fn with(self, field: &'static str, value: &dyn Display) -> Self {
            self.0.record(field, tracing::field::display(value));
            self
        }

        /// Runs `attempts` (the command's retry loop) inside the span and
        /// records how it ended.
        pub(crate) async fn run<T, F>(self, attempts: F) -> Result<T, Error>
        where
            F: Future<Output = (Result<T, Error>, u32)>,
        {
            let span = self.0;
            let (result, tries) = attempts.instrument(span.clone()).await;
            span.record("attempts", tries);
            match &result {
                Ok(_) => {
                    span.record("outcome", "ok");
                }
                Err(e) => {
                    span.record("outcome", "error");
                    span.record("code", e.code());
                }
            }
            result
        }
    }

    /// An attempt lost a race to another writer and will be retried.
    pub(crate) fn lost_race(attempt: u32, error: &Error) {
        tracing::debug!(attempt, code = error.code(), "o2c: lost a race; retrying");
    }

    /// The command lost every attempt and gives up with `Contention`.
    pub(crate) fn gave_up(attempts: u32) {
        tracing::warn!(attempts, "o2c: the records kept changing; giving up");
    }

    /// A store call, in a span of its own.
    pub(crate) fn store<F: Future>(
        call: &'static str,
        future: F,
    ) -> impl Future<Output = F::Output> {
        future.instrument(tracing::debug_span!("o2c.store", call))
    }
}

#[cfg(not(feature = "tracing"))]
mod off {
    use std::fmt::Display;
    use std::future::Future;

    use crate::error::Error;

    pub(crate) struct Command;

    impl Command {
        pub(crate) fn keyed(_: &'static str, _: &dyn Display) -> Self {
            Command
        }

        pub(crate) fn addressed(_: &'static str, _: &dyn Display) -> Self {
            Command
        }

        pub(crate) fn keyed_on(_: &'static str, _: &dyn Display, _: &dyn Display) -> Self {
            Command
        }

        pub(crate) fn plain(_: &'static str) -> Self {
            Command
        }

        pub(crate) async fn run<T, F>(self, attempts: F) -> Result<T, Error>
        where
            F: Future<Output = (Result<T, Error>, u32)>,
        {
            attempts.await.0
        }
    }

    pub(crate) fn lost_race(_: u32, _: &Error) {}

    pub(crate) fn gave_up(_: u32) {}

    pub(crate) fn store<F: Future>(_: &'static str, future: F) -> F {
        future
    }
}
