//! Errors as `application/problem+json` (RFC 9457), carrying the library's
//! stable error code, never a driver's or the database's text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use o2c::{Error, ErrorKind};
use serde::Serialize;
use serde_json::Value;

/// A failed request's answer: its body, boxed, so that a handler's `Result`
/// stays small on the path that succeeds.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<ProblemBody>);

/// The body every failed request gets.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Problem")]
pub struct ProblemBody {
    /// `urn:o2c:error:<code>`: one URI per error code.
    #[serde(rename = "type")]
    pub kind_uri: String,
    /// What sort of failure, in words.
    pub title: String,
    /// The HTTP status, repeated for clients that lose it.
    pub status: u16,
    /// What was wrong, fit to show.
    pub detail: String,
    /// The stable machine code (`order.on_hold`, `request.invalid`).
    pub code: String,
    /// The error's kind (`not_found`, `invalid_input`, `refused`, ...).
    pub kind: String,
    /// True when the same request may succeed if sent again later.
    pub retryable: bool,
    /// For a record not found: which kind of record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// For a record not found: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Problem {
    /// A problem of the server's own (the request never reached the library).
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        let kind = match status.as_u16() {
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            503 | 504 => ErrorKind::Unavailable,
            500 => ErrorKind::Internal,
            _ => ErrorKind::InvalidInput,
        };
        Self(Box::new(ProblemBody {
            kind_uri: format!("urn:o2c:error:{code}"),
            title: title(status),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            kind: kind.as_str().to_owned(),
            // Only an outage passes: a conflict the server finds itself (a key
            // reused for another request) will never succeed as it is.
            retryable: kind == ErrorKind::Unavailable,
            entity: None,
            id: None,
        }))
    }

    /// The same request may succeed if sent again shortly.
    pub fn retryable(mut self) -> Self {
        self.0.retryable = true;
        self
    }

    /// A request field that is wrong: 422 `request.invalid`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid", detail)
    }

    /// Nothing at this address (or nothing this caller may see).
    pub fn not_found(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }
}

impl From<Error> for Problem {
    /// The library's error: its code, kind and public message (the error's own
    /// `Serialize` already keeps backend text out), logged in full for the
    /// operator when it is not the caller's fault.
    fn from(error: Error) -> Self {
        let kind = error.kind();
        if matches!(kind, ErrorKind::Internal | ErrorKind::Unavailable) {
            tracing::error!(code = error.code(), error = %error, "request failed");
        }
        let status =
            StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_value(&error).unwrap_or(Value::Null);
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        Self(Box::new(ProblemBody {
            kind_uri: format!("urn:o2c:error:{}", error.code()),
            title: title(status),
            status: status.as_u16(),
            detail: error.public_message(),
            code: error.code().to_owned(),
            kind: kind.as_str().to_owned(),
            retryable: error.is_retryable(),
            entity: text("entity"),
            id: text("id"),
        }))
    }
}

fn title(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("Error").to_owned()
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.0.retryable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
