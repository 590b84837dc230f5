//! The demo server (`examples/server`) over HTTP, as a host drives it: the whole
//! order-to-cash cycle, the problems bad input gets, replays, the event stream,
//! the self-service page, and the durable stores across a restart.
//!
//! Each test starts its own server (the example binary, on a free port) and
//! talks to it with `reqwest`; nothing here calls the library directly but the
//! PostgreSQL test's clean-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../server_support/mod.rs"]
mod server_support;

mod bad_input;
mod cycle;
mod events;
mod http;
mod load;
mod replays;
mod stores;
mod track;
