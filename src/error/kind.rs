//! What sort of failure an error is, for the one `match` a host writes.

use serde::{Deserialize, Serialize};

/// The coarse sort of an [`Error`](crate::Error): what a host does about it.
///
/// Every error has one ([`Error::kind`](crate::Error::kind)) beside its exact
/// code ([`Error::code`](crate::Error::code)). A host serving o2c over HTTP might
/// answer each kind with the status below — a suggestion, not a rule:
///
/// | kind              | HTTP | what happened                                          | what to do                         |
/// |-------------------|------|--------------------------------------------------------|------------------------------------|
/// | `not_found`       | 404  | a record the request addressed or named does not exist | show it; fix the id                |
/// | `invalid_input`   | 422  | the request is malformed: a field, code or amount      | show it; fix the request           |
/// | `refused`         | 409  | well formed, but a business rule says no, now          | show it; the state must change     |
/// | `conflict`        | 409  | other writers won, or the key was used for another command | retry later with the same key ([`Error::is_retryable`](crate::Error::is_retryable)) or use a new key |
/// | `unavailable`     | 503  | the store or the carrier is down or timed out          | retry later; page if it persists   |
/// | `internal`        | 500  | not the caller's fault: corrupt data, configuration, a bug | page an operator                   |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// A record the request addressed or named does not exist.
    NotFound,
    /// The request is malformed: a field, a code or an amount is wrong.
    InvalidInput,
    /// The request is well formed, but a business rule refuses it in the current
    /// state (on hold, already paid, out of stock).
    Refused,
    /// Concurrent writers kept winning, or an idempotency key was already used
    /// for a different command.
    Conflict,
    /// The store or the carrier is down or did not answer in time.
    Unavailable,
    /// Not the caller's fault: corrupt stored data, a configuration problem (the
    /// chart of accounts), or a bug in o2c.
    Internal,
}

impl ErrorKind {
    /// Every kind, in the table's order.
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::NotFound,
        ErrorKind::InvalidInput,
        ErrorKind::Refused,
        ErrorKind::Conflict,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    /// The kind's name, as serialized: `not_found`, `invalid_input`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Refused => "refused",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    /// The HTTP status the table above suggests.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::NotFound => 404,
            ErrorKind::InvalidInput => 422,
            ErrorKind::Refused | ErrorKind::Conflict => 409,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
