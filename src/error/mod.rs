mod body;
#[cfg(test)]
mod codes;
mod kind;

pub use kind::ErrorKind;

use crate::fulfilment::CarrierError;
use crate::ids::{IdempotencyKey, InvalidCode};
use crate::ledger::{LedgerError, PaymentError};
use crate::money::MoneyError;
use crate::order::OrderError;
use crate::stock::StockError;
use crate::store::{IdempotencyScope, ReadError, StoreError};

/// Everything an [`Oms`](crate::Oms) call can fail with.
///
/// A failed call has changed nothing in the store. The one thing outside the store a
/// call may touch is a carrier booking: a `ship` whose commit fails is retried with
/// the same booking keys (so the carrier returns the same booking, never a second),
/// and a `ship` that fails for good cancels the bookings it made.
///
/// Each error has a stable code ([`Error::code`], such as `order.on_hold`) and a
/// coarse [`ErrorKind`] ([`Error::kind`]) — not found, invalid input, refused,
/// conflict, unavailable, internal — so a host maps every error with one `match`
/// (the kind's table suggests HTTP statuses). It serializes as a body a host can
/// send its client as it is (`{"code", "kind", "retryable", "message"}`; see
/// [`Error::public_message`] for what the message leaves out).
///
/// What the variants mean to a host:
/// - [`Error::Order`], [`Error::Stock`], [`Error::Payment`], [`Error::NotFound`],
///   [`Error::Invalid`], [`Error::InvalidCode`], [`Error::IdempotencyKeyReused`],
///   [`Error::Money`]: the request was wrong or cannot be met; show it to the user.
/// - [`Error::Contention`]: other writers kept winning; retry later (same key).
/// - [`Error::Carrier`]: the carrier failed or offers nothing suitable; a timeout may
///   be retried with the same call.
/// - [`Error::ThirdParty`]: a third-party warehouse did not answer (retry the same
///   call: it sends the recorded release again) or refused a release; or one of
///   its reports names units it was never given (show it to whoever runs the feed).
/// - [`Error::Provider`]: the payment provider did not answer (retry the same
///   call: the service asks the provider what became of it before sending it
///   again), declined the customer's card, or refused a call.
/// - [`Error::Read`]: the store could not be read, whether by the command or by
///   its commit. [`ReadError::Backend`] is an outage: retry later (an HTTP host
///   answers 503), and page an operator if it persists. [`ReadError::Corrupt`] is
///   a stored value that does not decode: retrying does not help; page an
///   operator (500). Neither is a lost race, nor the request's fault.
/// - [`Error::Store`]: a commit failed — a conflict, stock or bounded-counter
///   race that outlived the retries, or [`StoreError::Backend`] (an outage, as
///   above): retry, and page an operator if `Backend` persists.
/// - [`Error::Ledger`]: a posting was refused (a chart or configuration problem): page
///   an operator; this is not the user's fault.
/// - [`Error::Export`]: a journal export's range starts after it ends (fix the
///   request), its writer failed (try again), or an entry names an account the
///   chart lost (page an operator).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The order command was invalid or not allowed now.
    #[error(transparent)]
    Order(#[from] OrderError),
    /// Stock could not cover the request.
    #[error(transparent)]
    Stock(#[from] StockError),
    /// The payment was invalid.
    #[error(transparent)]
    Payment(#[from] PaymentError),
    /// A ledger posting was refused.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Amount arithmetic failed (overflow, currency mismatch).
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The carrier failed.
    #[error(transparent)]
    Carrier(#[from] CarrierError),
    /// A third-party warehouse did not answer or refused a release, or sent a
    /// report that cannot be applied.
    #[error(transparent)]
    ThirdParty(#[from] crate::fulfilment::ThirdPartyError),
    /// The payment provider did not answer, declined, or refused a call.
    #[error(transparent)]
    Provider(#[from] crate::payment::ProviderError),
    /// Reading the store failed: an outage or corrupt data, never a lost race.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Committing to the store failed. Never [`StoreError::Read`]: a read that
    /// fails inside a commit is reported as [`Error::Read`].
    #[error(transparent)]
    Store(StoreError),
    /// A return command was refused.
    #[error(transparent)]
    Return(#[from] crate::returns::ReturnError),
    /// A credit note or refund was refused.
    #[error(transparent)]
    Credit(#[from] crate::ledger::CreditError),
    /// A purchasing command was refused.
    #[error(transparent)]
    Purchasing(#[from] crate::purchasing::PurchasingError),
    /// Exporting the journal failed: a bad range, or the writer failed.
    #[error(transparent)]
    Export(#[from] crate::ledger::ExportError),
    /// A code (SKU, location, key) was malformed.
    #[error(transparent)]
    InvalidCode(#[from] InvalidCode),
    /// A record does not exist: the one the call addresses (`addressed`: the
    /// order of `ship(order)`, the invoice a payment is for — a host answers
    /// 404), or one the request or a stored record refers to (a product, a
    /// location, the customer of a new order — the request is wrong: 422).
    #[error("{entity} {id} not found")]
    NotFound {
        /// What kind of record ([`Entity::kind`](crate::store::Entity::kind)).
        entity: &'static str,
        /// Its id.
        id: String,
        /// True if it is the record the call addresses; false if it is one the
        /// request (or a record the call read) refers to.
        addressed: bool,
    },
    /// A field of the request is invalid.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The idempotency key was already used for a command with different content.
    #[error("idempotency key {key} was already used for a different {scope:?} command")]
    IdempotencyKeyReused {
        /// The command kind.
        scope: IdempotencyScope,
        /// The key.
        key: IdempotencyKey,
    },
    /// A stored record refers to one that does not exist (an order's product, an
    /// invoice's order): the stored data is inconsistent, not the request wrong.
    /// Nothing was written; page an operator.
    #[error("a stored record refers to {entity} {id}, which does not exist")]
    DanglingReference {
        /// What kind of record is missing.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// A rule o2c keeps for itself did not hold (a decision that should have been
    /// complete with its reads, a record a commit should hold): a bug or damaged
    /// data, never the caller's fault. Nothing was written; please report it.
    #[error("internal inconsistency in {what}: {reason}")]
    Inconsistent {
        /// Where.
        what: &'static str,
        /// What did not hold.
        reason: String,
    },
    /// A command decided on a record it had not read first: a bug in o2c (please
    /// report it), never the caller's fault. Nothing was written.
    #[error("a decision needed {key:?}, which the command did not read first")]
    NotPrefetched {
        /// The record that was not read.
        key: crate::store::RecordKey,
    },
    /// Concurrent writers kept changing the records this command needed.
    #[error("gave up after {attempts} attempts: the records kept changing")]
    Contention {
        /// Attempts made.
        attempts: u32,
    },
}

impl From<StoreError> for Error {
    /// [`Error::Store`], but a failed read inside the commit becomes
    /// [`Error::Read`], so a host finds every failed read in one place.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Read(read) => Error::Read(read),
            other => Error::Store(other),
        }
    }
}

impl Error {
    /// The record the call addresses does not exist.
    pub(crate) fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
            addressed: true,
        }
    }

    /// A record the request, or a record the call read, refers to does not exist.
    pub(crate) fn unknown_reference(entity: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
            addressed: false,
        }
    }

    /// This error, with a missing record marked as one the request refers to
    /// rather than the one it addresses: for the helpers that find records of
    /// any sort.
    pub(crate) fn into_reference(self) -> Self {
        match self {
            Error::NotFound { entity, id, .. } => Error::unknown_reference(entity, id),
            other => other,
        }
    }

    /// A record a stored record refers to does not exist.
    pub(crate) fn dangling(entity: &'static str, id: impl ToString) -> Self {
        Error::DanglingReference {
            entity,
            id: id.to_string(),
        }
    }

    /// This error, with a missing record marked as one a stored record refers
    /// to: for the helpers that find records of any sort.
    pub(crate) fn into_dangling(self) -> Self {
        match self {
            Error::NotFound { entity, id, .. } => Error::dangling(entity, id),
            other => other,
        }
    }

    /// A rule o2c keeps for itself did not hold in `what`.
    pub(crate) fn inconsistent(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Inconsistent {
            what,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The error's stable, machine-readable code: `area.what`, such as
    /// `order.on_hold`, `stock.insufficient` or `record.not_found`. Codes never
    /// change once released (a test keeps the full list, `src/error/codes.txt`);
    /// new ones may be added. Match on these, not on the message.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Order(e) => e.code(),
            Error::Stock(e) => e.code(),
            Error::Payment(e) => e.code(),
            Error::Ledger(e) => e.code(),
            Error::Money(e) => e.code(),
            Error::Carrier(e) => e.code(),
            Error::ThirdParty(e) => e.code(),
            Error::Provider(e) => e.code(),
            Error::Read(e) => e.code(),
            Error::Store(e) => e.code(),
            Error::Return(e) => e.code(),
            Error::Credit(e) => e.code(),
            Error::Purchasing(e) => e.code(),
            Error::Export(e) => e.code(),
            Error::InvalidCode(_) => "request.invalid_code",
            Error::NotFound {
                addressed: true, ..
            } => "record.not_found",
            Error::NotFound {
                addressed: false, ..
            } => "request.unknown_reference",
            Error::Invalid { .. } => "request.invalid",
            Error::IdempotencyKeyReused { .. } => "idempotency.key_reused",
            Error::NotPrefetched { .. } => "internal.not_prefetched",
            Error::DanglingReference { .. } => "internal.dangling_reference",
            Error::Inconsistent { .. } => "internal.inconsistent",
            Error::Contention { .. } => "store.contention",
        }
    }

    /// What sort of failure this is, for the one `match` a host writes (an HTTP
    /// status, whether to retry): see [`ErrorKind`] for the table.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Order(e) => e.kind(),
            Error::Stock(e) => e.kind(),
            Error::Payment(e) => e.kind(),
            // A posting refused is a chart or configuration problem, whatever
            // the arithmetic that found it.
            Error::Ledger(_) => ErrorKind::Internal,
            Error::Money(e) => e.kind(),
            Error::Carrier(e) => e.kind(),
            Error::ThirdParty(e) => e.kind(),
            Error::Provider(e) => e.kind(),
            Error::Read(e) => e.kind(),
            Error::Store(e) => e.kind(),
            Error::Return(e) => e.kind(),
            Error::Credit(e) => e.kind(),
            Error::Purchasing(e) => e.kind(),
            Error::Export(e) => e.kind(),
            Error::InvalidCode(_)
            | Error::Invalid { .. }
            | Error::NotFound {
                addressed: false, ..
            } => ErrorKind::InvalidInput,
            Error::NotFound {
                addressed: true, ..
            } => ErrorKind::NotFound,
            Error::IdempotencyKeyReused { .. } | Error::Contention { .. } => ErrorKind::Conflict,
            Error::NotPrefetched { .. }
            | Error::DanglingReference { .. }
            | Error::Inconsistent { .. } => ErrorKind::Internal,
        }
    }

    /// True for failures a retry of the same command may get past: a race that
    /// outlived the retries, a carrier's or third-party warehouse's timeout, a commit interrupted with its
    /// outcome unknown ([`StoreError::Interrupted`]: the retry, with the same
    /// key, returns the first result if it did commit). False for [`Error::Read`]
    /// and [`StoreError::Backend`]: whether an outage is over is the host's to
    /// judge, and corrupt data stays corrupt.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Contention { .. }
                | Error::Carrier(CarrierError::Timeout { .. })
                | Error::ThirdParty(crate::fulfilment::ThirdPartyError::Unavailable { .. })
                | Error::Provider(crate::payment::ProviderError::Timeout { .. })
        ) || matches!(self, Error::Store(e) if e.is_lost_race() || matches!(e, StoreError::Interrupted(..)))
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::store::RecordKey;

    /// An outage, as a driver would report it.
    fn outage() -> ReadError {
        ReadError::Backend(Box::new(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset",
        )))
    }

    /// The error `e` has as its source, if it is an I/O error.
    fn io_source(e: &dyn std::error::Error) -> Option<&io::Error> {
        e.source().and_then(|s| s.downcast_ref::<io::Error>())
    }

    #[test]
    fn a_failed_read_keeps_its_source_as_a_commit_error_and_as_the_crate_error() {
        let read = outage();
        assert_eq!(
            io_source(&read).map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );

        let store = StoreError::from(outage());
        assert!(matches!(store, StoreError::Read(ReadError::Backend(_))));
        assert_eq!(
            io_source(&store).map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
        assert_eq!(store.to_string(), read.to_string());

        let error = Error::from(outage());
        assert!(matches!(error, Error::Read(ReadError::Backend(_))));
        assert_eq!(
            io_source(&error).map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );

        // A read that failed inside a commit is a failed read to the service too.
        let lifted = Error::from(StoreError::from(outage()));
        assert!(matches!(lifted, Error::Read(ReadError::Backend(_))));
        assert_eq!(
            io_source(&lifted).map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
    }

    #[test]
    fn failed_reads_are_reported_as_reads_and_not_retryable() {
        let corrupt = ReadError::corrupt_record(RecordKey::TaxTable, "not JSON");
        assert_eq!(
            corrupt.to_string(),
            "stored record tax_table/ is corrupt: not JSON"
        );
        for e in [
            Error::from(outage()),
            Error::from(StoreError::from(corrupt)),
        ] {
            assert!(matches!(e, Error::Read(_)), "{e:?}");
            assert!(!e.is_retryable(), "{e:?}");
        }
        // A commit's own backend failure stays a store error.
        let commit = Error::from(StoreError::Backend("disk full".into()));
        assert!(matches!(commit, Error::Store(StoreError::Backend(_))));
    }
}
