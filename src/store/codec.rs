//! How values become SQL columns and back, for the SQL stores.
//!
//! Anything with money or structure goes in as serde_json text, which keeps decimals
//! exactly (`rust_decimal` serialises as a string). Integers stay integers. A value
//! that does not decode is reported as [`ReadError::Corrupt`], never guessed at.

use std::fmt::Display;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::{
    IdempotencyScope, ReadError, ReadResult, Record, RecordKey, StoreError, StoreResult,
};

/// Serialises a value to JSON text.
pub(crate) fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(Box::new(e)))
}

/// Parses JSON text written by [`to_json`]; `what` names the value in an error.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: impl Display) -> ReadResult<T> {
    serde_json::from_str(text).map_err(|e| ReadError::corrupt(what.to_string(), e))
}

/// Parses a record's body read by its key, naming the key in an error.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn record_from_json(text: &str, key: &RecordKey) -> ReadResult<Record> {
    serde_json::from_str(text).map_err(|e| ReadError::corrupt_record(key.clone(), e))
}

/// A timestamp as text, in exactly the form serde gives it inside records (RFC 3339
/// with every nanosecond), so it reads back to the same instant.
pub(crate) fn time_to_text(at: DateTime<Utc>) -> StoreResult<String> {
    match serde_json::to_value(at) {
        Ok(serde_json::Value::String(text)) => Ok(text),
        // serde writes a `DateTime` as a string; anything else is a bug to report,
        // not a value to store.
        Ok(other) => Err(StoreError::Backend(
            format!("timestamp {at} serialised as {other}, not a string").into(),
        )),
        Err(e) => Err(StoreError::Backend(Box::new(e))),
    }
}

/// Parses a timestamp written by [`time_to_text`].
pub(crate) fn time_from_text(text: String, what: impl Display) -> ReadResult<DateTime<Utc>> {
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|e| ReadError::corrupt(format!("timestamp of {what}"), e))
}

/// A stored count or sequence: never negative.
pub(crate) fn to_u64(value: i64, what: impl Display) -> ReadResult<u64> {
    u64::try_from(value).map_err(|e| ReadError::corrupt(format!("{what} {value}"), e))
}

/// A record's stored version: never negative (the table checks it is at least 1).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn record_version(value: i64, key: &RecordKey) -> ReadResult<u64> {
    u64::try_from(value)
        .map_err(|e| ReadError::corrupt_record(key.clone(), format_args!("version {value}: {e}")))
}

/// A caller's count or position as a SQL integer; past `i64::MAX` means "all".
pub(crate) fn clamp_i64<T: TryInto<i64>>(value: T) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

/// The scope's name in the `idempotency` table; stable, whatever serde does.
pub(crate) fn scope_text(scope: IdempotencyScope) -> &'static str {
    match scope {
        IdempotencyScope::PlaceOrder => "place_order",
        IdempotencyScope::RecordPayment => "record_payment",
        IdempotencyScope::ReceiveStock => "receive_stock",
        IdempotencyScope::AdjustStock => "adjust_stock",
        IdempotencyScope::ReceivePurchaseOrder => "receive_purchase_order",
        IdempotencyScope::IssueCreditNote => "issue_credit_note",
        IdempotencyScope::RecordRefund => "record_refund",
        IdempotencyScope::RequestReturn => "request_return",
        IdempotencyScope::ReceiveReturn => "receive_return",
        IdempotencyScope::AmendOrder => "amend_order",
        IdempotencyScope::RegisterCustomer => "register_customer",
        IdempotencyScope::Ship => "ship",
        IdempotencyScope::RaisePurchaseOrder => "raise_purchase_order",
        IdempotencyScope::Replenish => "replenish",
        IdempotencyScope::ApprovePurchaseOrder => "approve_purchase_order",
        IdempotencyScope::CancelPurchaseOrder => "cancel_purchase_order",
        IdempotencyScope::ClosePurchaseOrder => "close_purchase_order",
        IdempotencyScope::HoldOrder => "hold_order",
        IdempotencyScope::ReleaseHold => "release_hold",
        IdempotencyScope::CancelOrder => "cancel_order",
        IdempotencyScope::AuthoriseReturn => "authorise_return",
        IdempotencyScope::RejectReturn => "reject_return",
        IdempotencyScope::CloseReturn => "close_return",
        IdempotencyScope::OpenFreightRun => "open_freight_run",
        IdempotencyScope::BookFreight => "book_freight",
        IdempotencyScope::CancelFreight => "cancel_freight",
        IdempotencyScope::ReschedulePurchaseOrder => "reschedule_purchase_order",
        IdempotencyScope::ReleaseToThirdParty => "release_to_third_party",
        IdempotencyScope::ThirdPartyMessage => "third_party_message",
        IdempotencyScope::PaymentEvent => "payment_event",
        IdempotencyScope::RecordSettlement => "record_settlement",
        IdempotencyScope::AuthoriseOrder => "authorise_order",
    }
}

/// A unit enum value as its JSON writes it (`"on_hold"` → `on_hold`): what the
/// listing indexes keep, so that filling one from stored JSON gives the same text.
pub(crate) fn enum_text<T: Serialize>(
    value: &T,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => Ok(text),
        Ok(other) => Err(format!("{other} is not a unit variant").into()),
        Err(e) => Err(Box::new(e)),
    }
}

/// Each record read by a listing of one kind, as an `E`: a record of another
/// kind there is a corrupt store.
pub(crate) fn all_of_kind<E: crate::store::Entity>(
    found: Vec<(u64, Record)>,
) -> ReadResult<Vec<crate::store::Versioned<E>>> {
    found
        .into_iter()
        .map(|(version, record)| {
            let key = record.key();
            E::from_record(record)
                .map(|value| crate::store::Versioned { value, version })
                .ok_or_else(|| ReadError::corrupt_record(key, format!("listed as a {}", E::kind())))
        })
        .collect()
}

/// Parses text with `FromStr`, reporting a failure as a malformed stored value.
pub(crate) fn parse<T>(text: &str, what: impl Display) -> ReadResult<T>
where
    T: std::str::FromStr,
    T::Err: Display,
{
    text.parse()
        .map_err(|e: T::Err| ReadError::corrupt(format!("{what} {text:?}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_exactly_even_far_from_now() {
        for at in [
            DateTime::<Utc>::UNIX_EPOCH,
            DateTime::parse_from_rfc3339("2026-03-02T09:00:00.123456789Z")
                .unwrap()
                .with_timezone(&Utc),
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MIN_UTC,
        ] {
            let text = time_to_text(at).unwrap();
            assert_eq!(time_from_text(text, "a test").unwrap(), at);
        }
    }
}
