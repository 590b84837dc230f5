//! Newtype identifiers.
//!
//! Every entity has its own id type so an `OrderId` can never be passed where an
//! `InvoiceId` is expected. Ids are UUIDv7 (time-ordered, so they index well) with
//! private fields; they print and parse as the plain UUID and serialise the same way.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (for ids that come from the host's own records).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// Identifies a customer profile.
    CustomerId
);
uuid_id!(
    /// Identifies an order.
    OrderId
);
uuid_id!(
    /// Identifies an invoice (its human-facing number is [`crate::ledger::InvoiceNumber`]).
    InvoiceId
);
uuid_id!(
    /// Identifies a recorded payment.
    PaymentId
);
uuid_id!(
    /// Identifies a shipment.
    ShipmentId
);
uuid_id!(
    /// Identifies a journal entry.
    EntryId
);
uuid_id!(
    /// Identifies a supplier.
    SupplierId
);
uuid_id!(
    /// Identifies a return authorisation.
    ReturnId
);
uuid_id!(
    /// Identifies a credit note (its human-facing number is
    /// [`crate::ledger::CreditNoteNumber`]).
    CreditNoteId
);
uuid_id!(
    /// Identifies a purchase order.
    PurchaseOrderId
);

/// A gapless, human-facing document number, handed out by the store in the commit
/// that creates the document (see [`crate::store::Series`]).
macro_rules! document_number {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(u64);

        impl $name {
            /// Wraps a number.
            pub const fn new(n: u64) -> Self {
                Self(n)
            }
            /// The number.
            pub const fn value(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "-{:06}"), self.0)
            }
        }
    };
}
pub(crate) use document_number;

document_number!(
    /// The gapless, human-facing order number (`SO-000042`), a customer can quote.
    OrderNumber,
    "SO"
);
document_number!(
    /// The gapless, human-facing purchase-order number (`PO-000042`), for suppliers.
    PurchaseOrderNumber,
    "PO"
);
document_number!(
    /// The gapless, human-facing return authorisation number (`RMA-000042`), for the
    /// parcel label.
    ReturnNumber,
    "RMA"
);

macro_rules! code_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        ///
        /// Shared, immutable text: cloning one (which orders, events and stock rows do
        /// constantly) is a reference-count increment, not an allocation.
        #[derive(Debug, Clone, PartialOrd, Ord, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        // The rules `validate_code` checks, stated in the schema too: 1 to 64
        // characters, no control characters, nothing blank at either end.
        #[cfg_attr(feature = "schema", schemars(extend(
            "minLength" = 1,
            "maxLength" = 64,
            "pattern" = "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
        )))]
        #[serde(try_from = "String")]
        pub struct $name(Arc<str>);

        /// Equal text is equal, as `str` compares it; a clone of the same code is
        /// known equal at once, and short codes compare as two words instead of a
        /// call to `memcmp` (orders, stock and keys compare codes constantly).
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.0, &other.0) || same_text(&self.0, &other.0)
            }
        }

        impl Eq for $name {}

        /// Hashes the text, as `str` does, so equal codes hash alike.
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        impl $name {
            /// Validates and wraps a code: 1 to 64 characters, no control characters,
            /// no leading or trailing whitespace.
            ///
            /// # Errors
            /// [`InvalidCode`] when the code breaks those rules.
            pub fn new(code: impl Into<String>) -> Result<Self, InvalidCode> {
                let code = code.into();
                validate_code(&code, $what)?;
                Ok(Self(Arc::from(code)))
            }

            /// The code as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidCode;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidCode;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.as_ref().to_owned()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

code_id!(
    /// A stock-keeping unit: the host's own product code (`"TSHIRT-M-BLUE"`).
    Sku,
    "SKU"
);
code_id!(
    /// A stock location code: a warehouse, a store, a 3PL site (`"WH-EAST"`).
    LocationId,
    "location"
);
code_id!(
    /// A caller-chosen idempotency key: the same key always means the same command.
    IdempotencyKey,
    "idempotency key"
);

impl IdempotencyKey {
    /// A key no other call has (a UUIDv7's text): for a command its caller will
    /// not retry, or one whose key is stored before the first try (a job's row)
    /// so that a retry after a crash sends the same key again. A retry with a new
    /// key is a new command.
    pub fn generate() -> Self {
        Self(Arc::from(uuid::Uuid::now_v7().to_string()))
    }

    /// `text` as a key, or — when it is no key (too long, say: an outside
    /// party's id joined to its name) — `{prefix}-{hash}` of it, the same for
    /// the same text: how an outside party's message becomes its own key.
    pub(crate) fn from_text_or_hash(text: &str, prefix: &str) -> Result<Self, InvalidCode> {
        Self::new(text).or_else(|_| {
            Self::new(format!(
                "{prefix}-{:016x}",
                crate::fingerprint::fnv1a(text.as_bytes())
            ))
        })
    }
}

/// Whether `a` and `b` hold the same bytes: codes up to 16 bytes as two
/// overlapping words each (a 5-byte location, a 10-byte SKU), longer ones as
/// slices.
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= 16 {
        if let (Some(a0), Some(b0), Some(a1), Some(b1)) = (
            a.first_chunk::<8>(),
            b.first_chunk::<8>(),
            a.last_chunk::<8>(),
            b.last_chunk::<8>(),
        ) {
            return u64::from_ne_bytes(*a0) == u64::from_ne_bytes(*b0)
                && u64::from_ne_bytes(*a1) == u64::from_ne_bytes(*b1);
        }
        if let (Some(a0), Some(b0), Some(a1), Some(b1)) = (
            a.first_chunk::<4>(),
            b.first_chunk::<4>(),
            a.last_chunk::<4>(),
            b.last_chunk::<4>(),
        ) {
            return u32::from_ne_bytes(*a0) == u32::from_ne_bytes(*b0)
                && u32::from_ne_bytes(*a1) == u32::from_ne_bytes(*b1);
        }
    }
    a == b
}

/// A code (SKU, location, idempotency key) that is empty, too long or unprintable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {code:?}: {reason}")]
pub struct InvalidCode {
    /// Which kind of code was rejected.
    pub what: &'static str,
    /// The rejected text.
    pub code: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

/// Longest code we accept; long enough for any real SKU scheme, short enough to index.
pub const MAX_CODE_LEN: usize = 64;

pub(crate) fn validate_code(code: &str, what: &'static str) -> Result<(), InvalidCode> {
    let reject = |reason| {
        Err(InvalidCode {
            what,
            code: code.to_owned(),
            reason,
        })
    };
    if code.is_empty() {
        return reject("must not be empty");
    }
    if code.chars().count() > MAX_CODE_LEN {
        return reject("longer than 64 characters");
    }
    if code.chars().any(char::is_control) {
        return reject("contains control characters");
    }
    if code.trim() != code {
        return reject("has leading or trailing whitespace");
    }
    Ok(())
}

/// `skus` each once, in order of first appearance: what a command reads by SKU.
/// A few are checked against the list kept so far; past a few (a stock report
/// over a hundred SKUs, a replenishment run) against a set, where the list's
/// pairwise comparisons would cost more than the read they prepare.
pub(crate) fn distinct<'a>(skus: impl IntoIterator<Item = &'a Sku>) -> Vec<Sku> {
    const LIST_BEATS_SET: usize = 16;
    type Set<'a> = std::collections::HashSet<&'a Sku, foldhash::fast::RandomState>;
    let skus = skus.into_iter();
    let mut firsts: Vec<&'a Sku> = Vec::with_capacity(skus.size_hint().0);
    let mut seen: Option<Set<'a>> = None;
    for sku in skus {
        let new = match &mut seen {
            Some(set) => set.insert(sku),
            None => !firsts.contains(&sku),
        };
        if new {
            firsts.push(sku);
            if seen.is_none() && firsts.len() > LIST_BEATS_SET {
                let mut set = Set::with_capacity_and_hasher(firsts.capacity(), Default::default());
                set.extend(firsts.iter().copied());
                seen = Some(set);
            }
        }
    }
    firsts.into_iter().cloned().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_round_trip_through_text_and_json() {
        let id = OrderId::from_uuid(Uuid::now_v7());
        assert_eq!(id.to_string().parse::<OrderId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<OrderId>(&json).unwrap(), id);
    }

    #[test]
    fn distinct_keeps_first_appearances_in_order_short_and_long() {
        let sku = |i: usize| Sku::new(format!("S{i}")).unwrap();
        for n in [0, 1, 5, 16, 17, 40, 200] {
            // Each SKU twice, the second time in reverse, with 3 repeated often.
            let mut asked: Vec<Sku> = (0..n).map(sku).collect();
            asked.extend((0..n).rev().map(sku));
            asked.extend(std::iter::repeat_n(sku(3), 5));
            let want: Vec<Sku> = (0..n.max(4))
                .filter(|i| *i < n || *i == 3)
                .map(sku)
                .collect();
            assert_eq!(distinct(&asked), want, "{n} SKUs");
        }
    }

    #[test]
    fn codes_are_validated() {
        assert_eq!(Sku::new("TEE-M").unwrap().as_str(), "TEE-M");
        assert_eq!(Sku::new("Größe-緑").unwrap().to_string(), "Größe-緑");
        assert_eq!(Sku::new("").unwrap_err().reason, "must not be empty");
        assert!(Sku::new(" A").is_err());
        assert!(Sku::new("A\nB").is_err());
        assert!(LocationId::new("x".repeat(65)).is_err());
        assert!(LocationId::new("x".repeat(64)).is_ok());
    }

    #[test]
    fn codes_compare_by_their_text_at_every_length() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789";
        for len in 1..=text.len() {
            let code = &text[..len];
            let a = Sku::new(code).unwrap();
            assert_eq!(a, a.clone(), "{code}");
            assert_eq!(a, Sku::new(code).unwrap(), "{code}");
            // One byte changed anywhere makes it another code.
            for at in 0..len {
                let mut other = code.as_bytes().to_vec();
                other[at] = b'#';
                let b = Sku::new(String::from_utf8(other).unwrap()).unwrap();
                assert_ne!(a, b, "{code} at {at}");
                assert_eq!(a == b, a.as_str() == b.as_str());
            }
            if len > 1 {
                assert_ne!(
                    a,
                    Sku::new(&code[..len - 1]).unwrap(),
                    "{code} and its prefix"
                );
            }
        }
    }

    #[test]
    fn codes_reject_bad_json() {
        assert!(serde_json::from_str::<Sku>("\"\"").is_err());
        assert_eq!(
            serde_json::from_str::<Sku>("\"A-1\"").unwrap(),
            Sku::new("A-1").unwrap()
        );
    }
}
