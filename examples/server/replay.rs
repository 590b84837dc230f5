//! Replays for the writes the library does not key itself (saving a product, a
//! location, a rule; webhooks; `run_due`). Commands the library keys (placing,
//! paying, shipping, ...) are replayed by the library, durably, from its own
//! idempotency records; this cache only covers the rest, in this process.
//!
//! Those writes are idempotent by nature (saving the same product twice leaves
//! one product), so a replay lost to a restart or to eviction does no harm: the
//! write runs again and ends in the same state. What the cache adds is the
//! promise of the header: the first answer, and `Idempotent-Replayed: true`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::StatusCode;

/// Answers remembered at most; the oldest go first.
const CAPACITY: usize = 10_000;

/// A write's first answer, by its key.
#[derive(Default)]
pub struct Replays {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    answers: HashMap<String, Answer>,
    order: VecDeque<String>,
}

/// What was answered, and to which request.
#[derive(Clone)]
pub struct Answer {
    /// The request's method, path and body, hashed.
    pub request: u64,
    pub status: StatusCode,
    pub body: Bytes,
}

impl Replays {
    /// The answer given to `key`, if any.
    pub fn get(&self, key: &str) -> Option<Answer> {
        self.lock().answers.get(key).cloned()
    }

    /// Remembers `answer` for `key` (a success only: a failure may be retried).
    pub fn put(&self, key: &str, answer: Answer) {
        let mut inner = self.lock();
        if inner.answers.insert(key.to_owned(), answer).is_none() {
            inner.order.push_back(key.to_owned());
        }
        while inner.order.len() > CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                inner.answers.remove(&old);
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
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> u64 {
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

/// The layer on each write the library does not key: the first answer to a key
/// is kept, and a repeat gets it back; the same key with another request is a
/// conflict, as the library answers for its own keys.
pub async fn remember(
    axum::extract::State(replays): axum::extract::State<std::sync::Arc<Replays>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;

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
    let bytes = match axum::body::to_bytes(body, crate::app::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return crate::problem::Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request.too_large",
                format!("the body is larger than {} bytes", crate::app::BODY_LIMIT),
            )
            .into_response();
        }
    };
    let request_print = fingerprint(parts.method.as_str(), parts.uri.path(), &bytes);
    if let Some(answer) = replays.get(&key) {
        if answer.request != request_print {
            return crate::problem::Problem::new(
                StatusCode::CONFLICT,
                "idempotency.key_reused",
                "this Idempotency-Key was used for a different request: use a new key",
            )
            .into_response();
        }
        return crate::app::replayed(answer.status, answer.body);
    }
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            replays.put(
                &key,
                Answer {
                    request: request_print,
                    status: parts.status,
                    body: bytes.clone(),
                },
            );
            axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
        }
        Err(_) => crate::problem::Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server.internal",
            "the answer could not be read",
        )
        .into_response(),
    }
}
