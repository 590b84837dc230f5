//! The first answer to each `Idempotency-Key`, kept for every write, so a
//! replay gets exactly what the first request got, marked
//! `Idempotent-Replayed: true`.
//!
//! Two layers keep a write from happening twice. Commands the library keys
//! (placing, paying, shipping, …) carry the header's key into the library,
//! which replays them durably from its own records; writes the library does not
//! key (saving a product, webhooks, `run_due`) are idempotent by nature. What
//! this cache adds, in this process, is the first answer itself: the library
//! replays a keyed command with its record *as it stands now* (an order placed
//! and since shipped comes back shipped), and a natural write would answer with
//! the state now. Past the cache — after a restart, or once evicted — a keyed
//! replay still gets the library's answer, marked, and a natural write runs
//! again and ends in the same state.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::problem::Problem;

/// Answers remembered at most; the oldest go first.
const MAX_ANSWERS: usize = 10_000;
/// Bytes of answers remembered at most.
const MAX_BYTES: usize = 32 * 1024 * 1024;
/// An answer larger than this is not remembered (the layers above still keep
/// its write from happening twice).
const MAX_ANSWER: usize = 64 * 1024;

/// The first answers, by key.
#[derive(Default)]
pub struct Replays {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Keys with a kept answer, oldest first.
    kept: VecDeque<String>,
    bytes: usize,
}

enum Entry {
    /// A request with this key is being served now.
    Pending { request: u64 },
    /// What the first request with this key got.
    Kept(Answer),
}

/// What was answered, and to which request.
#[derive(Clone)]
struct Answer {
    /// The request's method, path and body, hashed.
    request: u64,
    status: StatusCode,
    content_type: Option<axum::http::HeaderValue>,
    body: Bytes,
}

/// What to do with a request, by its key.
enum Begin {
    /// The first with this key: serve it.
    Serve,
    /// Answered before: send that again.
    Replay(Answer),
    /// The key's request is being served now.
    InFlight,
    /// The key was used for a different request.
    Reused,
}

impl Replays {
    fn begin(&self, key: &str, request: u64) -> Begin {
        let mut inner = self.lock();
        match inner.entries.get(key) {
            None => {
                inner
                    .entries
                    .insert(key.to_owned(), Entry::Pending { request });
                Begin::Serve
            }
            Some(Entry::Pending { request: first }) if *first != request => Begin::Reused,
            Some(Entry::Pending { .. }) => Begin::InFlight,
            Some(Entry::Kept(answer)) if answer.request == request => Begin::Replay(answer.clone()),
            Some(Entry::Kept(_)) => Begin::Reused,
        }
    }

    /// The request with `key` failed, or its answer is too large to keep: the
    /// key is free again (a retry is served afresh).
    fn forget(&self, key: &str) {
        let mut inner = self.lock();
        if matches!(inner.entries.get(key), Some(Entry::Pending { .. })) {
            inner.entries.remove(key);
        }
    }

    fn keep(&self, key: &str, answer: Answer) {
        let mut inner = self.lock();
        inner.bytes += answer.body.len();
        inner.entries.insert(key.to_owned(), Entry::Kept(answer));
        inner.kept.push_back(key.to_owned());
        while inner.kept.len() > MAX_ANSWERS || inner.bytes > MAX_BYTES {
            let Some(old) = inner.kept.pop_front() else {
                break;
            };
            if let Some(Entry::Kept(gone)) = inner.entries.remove(&old) {
                inner.bytes -= gone.body.len();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves whole entries: carry on.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A request's fingerprint: the same method, path and body hash the same.
fn fingerprint(method: &str, path: &str, body: &[u8]) -> u64 {
    // FNV-1a: stable across runs, no dependency.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in method
        .bytes()
        .chain([0])
        .chain(path.bytes())
        .chain([0])
        .chain(body.iter().copied())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The layer on every write: the first answer to a key is kept and sent again
/// to a repeat; a repeat while the first is still being served is told to try
/// again; the same key with another request is a conflict, as the library
/// answers for its own keys.
pub async fn remember(
    axum::extract::State(replays): axum::extract::State<std::sync::Arc<Replays>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let key = request
        .headers()
        .get(crate::extract::IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(key) = key else {
        // The handler's own key extractor says what is missing.
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::app::BODY_LIMIT).await else {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_large",
            format!("the body is larger than {} bytes", crate::app::BODY_LIMIT),
        )
        .into_response();
    };
    let print = fingerprint(parts.method.as_str(), parts.uri.path(), &bytes);
    match replays.begin(&key, print) {
        Begin::Serve => {}
        Begin::Replay(answer) => {
            return crate::app::replayed(answer.status, answer.content_type, answer.body);
        }
        Begin::InFlight => {
            return Problem::new(
                StatusCode::CONFLICT,
                "idempotency.in_progress",
                "a request with this Idempotency-Key is being served now; send it again shortly",
            )
            .retryable()
            .into_response();
        }
        Begin::Reused => {
            return Problem::new(
                StatusCode::CONFLICT,
                "idempotency.key_reused",
                "this Idempotency-Key was used for a different request: use a new key",
            )
            .into_response();
        }
    }
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let response = next.run(request).await;
    if !response.status().is_success() {
        replays.forget(&key);
        return response;
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_ANSWER).await {
        Ok(bytes) => {
            let answer = Answer {
                request: print,
                status: parts.status,
                content_type: parts.headers.get(axum::http::header::CONTENT_TYPE).cloned(),
                body: bytes.clone(),
            };
            replays.keep(&key, answer);
            axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
        }
        Err(_) => {
            // Too large to keep: the write stands, its answer is lost to a
            // replay here (the library still replays a keyed command).
            replays.forget(&key);
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server.answer_too_large",
                "the write was done, but its answer was too large to send; read the record",
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(request: u64, body: &'static str) -> Answer {
        Answer {
            request,
            status: StatusCode::OK,
            content_type: None,
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn a_key_serves_once_then_replays_its_first_answer() {
        let replays = Replays::default();
        assert!(matches!(replays.begin("k", 1), Begin::Serve));
        assert!(matches!(replays.begin("k", 1), Begin::InFlight));
        replays.keep("k", answer(1, "first"));
        assert!(matches!(replays.begin("k", 1), Begin::Replay(a) if a.body == "first"));
        assert!(matches!(replays.begin("k", 2), Begin::Reused));
    }

    #[test]
    fn a_failed_request_frees_its_key() {
        let replays = Replays::default();
        assert!(matches!(replays.begin("k", 1), Begin::Serve));
        replays.forget("k");
        assert!(matches!(replays.begin("k", 2), Begin::Serve));
    }

    #[test]
    fn the_oldest_answers_go_first() {
        let replays = Replays::default();
        for n in 0..=MAX_ANSWERS {
            let key = n.to_string();
            assert!(matches!(replays.begin(&key, 1), Begin::Serve));
            replays.keep(&key, answer(1, "x"));
        }
        assert!(matches!(replays.begin("0", 1), Begin::Serve));
        assert!(matches!(replays.begin("1", 1), Begin::Replay(_)));
    }
}
