//! Fingerprints of commands, for idempotency: a key replayed with the same content
//! returns the first outcome; with other content it is refused. The same content
//! must fingerprint the same in every process and every release, so amounts are
//! brought to one form first and the hashes are fixed, not Rust's.
//!
//! Two schemes, each frozen once shipped, named in every stored entry
//! ([`IdempotencyEntry::fingerprint_version`]):
//! - **1** (o2c 0.1): FNV-1a over the command's JSON, a byte at a time;
//! - **2** (o2c 0.2, written now): a compact tagged encoding ([`encode`]) hashed a
//!   word at a time — no JSON and no escaping, about a quarter less work than the
//!   first on a checkout, and tied to no JSON writer's exact output.
//!
//! A retry is compared under the scheme its first run was stored with, so a key
//! used before an upgrade still replays after it.

mod encode;
mod legacy;

#[cfg(test)]
pub(crate) use legacy::to_writer as legacy_json;
pub(crate) use legacy::writing as writing_legacy;

use serde::Serialize;

use crate::error::Error;
use crate::money::Money;
use crate::order::{AmendOrder, Amendment, Discount, LineRequest, PlaceOrder};
use crate::store::IdempotencyEntry;

/// `m` at the smallest scale that holds it. `5.0` and `5.00` are the same amount
/// ([`Money`] compares them equal), so a command must fingerprint the same with either:
/// commands pass their amounts through this before [`fingerprint`].
pub(crate) fn canonical_money(m: Money) -> Money {
    Money::new(m.amount().normalize(), m.currency())
}

/// A discount with its number at the smallest scale, as [`canonical_money`].
pub(crate) fn canonical_discount(d: Discount) -> Discount {
    match d {
        Discount::Percent(p) => Discount::Percent(p.normalize()),
        Discount::Amount(m) => Discount::Amount(canonical_money(m)),
    }
}

/// The order command with every amount in canonical form, for its fingerprint.
pub(crate) fn canonical_order(cmd: &PlaceOrder) -> PlaceOrder {
    let mut cmd = cmd.clone();
    for line in &mut cmd.lines {
        *line = canonical_request(line);
    }
    cmd.order_discount = cmd.order_discount.map(canonical_discount);
    cmd.shipping_charge = cmd.shipping_charge.map(canonical_money);
    cmd
}

/// The amendment with every amount in canonical form, for its fingerprint.
pub(crate) fn canonical_amendment(cmd: &AmendOrder) -> AmendOrder {
    let mut cmd = cmd.clone();
    for change in &mut cmd.changes {
        if let Amendment::AddLine(line) = change {
            *line = canonical_request(line);
        }
    }
    cmd
}

/// A line request with its amounts in canonical form, for a fingerprint.
fn canonical_request(line: &LineRequest) -> LineRequest {
    LineRequest {
        unit_price: line.unit_price.map(canonical_money),
        discount: line.discount.map(canonical_discount),
        ..line.clone()
    }
}

/// Line requests with their amounts in canonical form, for a fingerprint.
pub(crate) fn canonical_requests(lines: &[LineRequest]) -> Vec<LineRequest> {
    lines.iter().map(canonical_request).collect()
}

/// The scheme new entries are stored with.
pub(crate) const CURRENT_VERSION: u32 = 2;

/// A command's fingerprint under the current scheme, and the command itself, for
/// the rare entry stored under an older one.
pub(crate) struct Fingerprint<'a> {
    value: u64,
    command: &'a (dyn Legacy + Sync),
}

impl Fingerprint<'_> {
    /// The fingerprint a new entry stores, under [`Fingerprint::version`].
    pub(crate) fn value(&self) -> u64 {
        self.value
    }

    /// The scheme [`Fingerprint::value`] was taken with: what a new entry records
    /// beside it.
    pub(crate) fn version(&self) -> u32 {
        CURRENT_VERSION
    }

    /// True if `entry` was stored for this same content, under whichever scheme
    /// it names.
    ///
    /// # Errors
    /// [`Error::Invalid`] if the command cannot be encoded, or the entry names a
    /// scheme this build does not know (one written by a newer release).
    pub(crate) fn matches(&self, entry: &IdempotencyEntry) -> Result<bool, Error> {
        match entry.fingerprint_version {
            CURRENT_VERSION => Ok(entry.fingerprint == self.value),
            1 => Ok(entry.fingerprint == self.command.json_fnv()?),
            other => Err(Error::inconsistent(
                "idempotency entry",
                format!("fingerprint scheme {other} is newer than this build knows"),
            )),
        }
    }
}

/// A stable 64-bit fingerprint of a command's content (see the module docs).
///
/// # Errors
/// [`Error::Invalid`] if the command's `Serialize` fails.
pub(crate) fn fingerprint<T: Serialize + Sync>(command: &T) -> Result<Fingerprint<'_>, Error> {
    let value = encode::hash(command).map_err(|e| Error::invalid("command", e.to_string()))?;
    Ok(Fingerprint { value, command })
}

/// The first scheme, for entries stored under it.
trait Legacy {
    fn json_fnv(&self) -> Result<u64, Error>;
}

impl<T: Serialize> Legacy for T {
    /// FNV-1a of the JSON o2c 0.1 wrote for the command ([`legacy`]), hashed as it
    /// is written, never buffered.
    fn json_fnv(&self) -> Result<u64, Error> {
        let mut hasher = Fnv1a(FNV_OFFSET);
        legacy::to_writer(&mut hasher, self)
            .map_err(|e| Error::invalid("command", e.to_string()))?;
        Ok(hasher.0)
    }
}

/// FNV-1a's 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// 64-bit FNV-1a of `bytes`, continued from `hash`. Frozen: scheme 1's stored
/// fingerprints and the own fleet's key digests depend on it.
fn fnv1a_from(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// 64-bit FNV-1a of `bytes`: a stable hash of short texts kept in stores.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(FNV_OFFSET, bytes)
}

/// FNV-1a as an `io::Write` sink.
struct Fnv1a(u64);

impl std::io::Write for Fnv1a {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 = fnv1a_from(self.0, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ids::IdempotencyKey;
    use crate::ids::OrderId;
    use crate::store::{IdempotencyScope, IdempotentOutcome};

    fn entry(fingerprint: u64, fingerprint_version: u32) -> IdempotencyEntry {
        IdempotencyEntry {
            scope: IdempotencyScope::PlaceOrder,
            key: IdempotencyKey::new("k").unwrap(),
            fingerprint,
            fingerprint_version,
            outcome: IdempotentOutcome::Order(OrderId::from_uuid(uuid::Uuid::nil())),
        }
    }

    #[test]
    fn fingerprints_are_stable_and_content_sensitive() {
        let (a1, a1_again, a2) = (("a", 1), ("a", 1), ("a", 2));
        let print = fingerprint(&a1).unwrap();
        assert_eq!(print.value(), fingerprint(&a1_again).unwrap().value());
        assert_ne!(print.value(), fingerprint(&a2).unwrap().value());
    }

    #[test]
    fn the_first_scheme_is_frozen() {
        // FNV-1a of the empty JSON string `""`, as o2c 0.1 stored it.
        assert_eq!("".json_fnv().unwrap(), 0x07cc_7607_b494_9e25);
    }

    #[test]
    fn an_entry_is_compared_under_the_scheme_it_was_stored_with() {
        let command = ("place", 3u32);
        let print = fingerprint(&command).unwrap();
        assert!(
            print
                .matches(&entry(print.value(), CURRENT_VERSION))
                .unwrap()
        );
        assert!(
            !print
                .matches(&entry(print.value() ^ 1, CURRENT_VERSION))
                .unwrap()
        );
        // A key first used under o2c 0.1 replays after the upgrade…
        let legacy = command.json_fnv().unwrap();
        assert!(print.matches(&entry(legacy, 1)).unwrap());
        // …and other content under it is still refused.
        assert!(
            !fingerprint(&("place", 4u32))
                .unwrap()
                .matches(&entry(legacy, 1))
                .unwrap()
        );
        // A scheme from a newer release is refused, not guessed at.
        assert!(print.matches(&entry(print.value(), 3)).is_err());
    }

    /// Commands as hosts send them, with every kind of field: each tag, field name
    /// and variant of the second scheme is in one of them.
    fn sample_commands() -> (PlaceOrder, crate::stock::ReceiveStock) {
        use crate::customer::Address;
        use crate::ids::{CustomerId, LocationId, Sku};
        use crate::money::{Currency, Money};
        use crate::order::ServiceLevel;
        use crate::order::{Channel, Delivery, LineRequest};
        use rust_decimal::Decimal;
        let usd = |cents| Money::from_minor(cents, Currency::USD);
        let mut order = PlaceOrder::new(
            IdempotencyKey::new("web-cart-7f3a").unwrap(),
            CustomerId::from_uuid(uuid::Uuid::from_u128(0x0123_4567_89ab_cdef)),
            Channel::Web,
            Currency::USD,
        )
        .line(Sku::new("TEE-BLUE-M").unwrap(), 2)
        .deliver(Delivery::Ship {
            address: std::sync::Arc::new(Address::new("Ada", "1 High St", "Boston", "02108", "US")),
            service: ServiceLevel::Express,
        })
        .shipping(usd(995))
        .discount(Discount::Percent(Decimal::new(10, 2)));
        order.lines.push(LineRequest {
            unit_price: Some(usd(1250)),
            discount: Some(Discount::Amount(usd(100))),
            ..LineRequest::new(Sku::new("MUG").unwrap(), 1)
        });
        order.note = Some("gift \"wrap\"".into());
        let receipt = crate::stock::ReceiveStock {
            idempotency_key: IdempotencyKey::new("opening-MUG-WH-EAST").unwrap(),
            sku: Sku::new("MUG").unwrap(),
            location: LocationId::new("WH-EAST").unwrap(),
            quantity: 40,
            reference: "opening stock".into(),
        };
        (order, receipt)
    }

    #[test]
    fn both_schemes_are_frozen_for_real_commands() {
        let (order, receipt) = sample_commands();
        let order = canonical_order(&order);
        // Stored keys rest on these: a change to either scheme (a tag, a field
        // name's encoding, the hash, the JSON) fails here before it refuses a
        // genuine retry. A new scheme gets a new number instead. (The second
        // scheme was frozen anew, before its first release, when 0.2 spelled
        // variants in snake_case and amounts at their currency's scale.)
        assert_eq!(fingerprint(&order).unwrap().value(), 0x42c5_a08e_ae8f_1716);
        assert_eq!(order.json_fnv().unwrap(), 0xe214_f595_5406_7ce6);
        assert_eq!(
            fingerprint(&receipt).unwrap().value(),
            0x0dae_8c3d_f27f_0d04
        );
        assert_eq!(receipt.json_fnv().unwrap(), 0x1a82_e8f4_b7d8_66d6);
    }

    /// Commands with the enums and amounts the first scheme's JSON spelled its
    /// own way: their first-scheme fingerprints, as o2c 0.1 computed them.
    #[test]
    fn the_first_scheme_spells_enums_and_amounts_as_o2c_0_1_did() {
        use crate::customer::PaymentMethod;
        use crate::ids::{InvoiceId, LocationId, ReturnId};
        use crate::ledger::{OverpaymentPolicy, RecordPayment};
        use crate::money::{Currency, Money};
        use crate::purchasing::BackOrderPolicy;
        use crate::quantity::Quantity;
        use crate::returns::{Condition, ReceiveReturn, ReturnReason};
        let (order, _) = sample_commands();
        let order = canonical_order(&order.back_order(BackOrderPolicy::ShipAvailable));
        let mut pay = RecordPayment::new(
            IdempotencyKey::new("psp-1").unwrap(),
            InvoiceId::from_uuid(uuid::Uuid::from_u128(7)),
            canonical_money(Money::new(
                rust_decimal::Decimal::new(1000, 2),
                Currency::EUR,
            )),
            PaymentMethod::BankTransfer,
        );
        pay.overpayment = OverpaymentPolicy::CreditCustomer;
        let back = ReceiveReturn {
            idempotency_key: IdempotencyKey::new("rma-in").unwrap(),
            rma: ReturnId::from_uuid(uuid::Uuid::from_u128(9)),
            lines: vec![
                (
                    1,
                    Quantity::new(2),
                    Condition::Resellable {
                        location: LocationId::new("WH-EAST").unwrap(),
                    },
                ),
                (2, Quantity::new(1), Condition::Damaged),
            ],
        };
        let asked = (
            crate::returns::RequestReturn {
                idempotency_key: IdempotencyKey::new("rma").unwrap(),
                order: crate::ids::OrderId::from_uuid(uuid::Uuid::from_u128(3)),
                lines: vec![(1, Quantity::new(1), ReturnReason::NoLongerWanted)],
            },
            Vec::<crate::order::LineRequest>::new(),
        );
        // Taken from o2c 0.1's JSON, which spelled variants as Rust does
        // (`"Web"`, `"ShipAvailable"`, `{"Resellable":{…}}`) and amounts as the
        // canonical decimal (`"12.5"`, `"10"`).
        assert_eq!(order.json_fnv().unwrap(), 0xe676_c126_64c0_cb0a);
        assert_eq!(pay.json_fnv().unwrap(), 0xe991_5625_855d_536a);
        assert_eq!(back.json_fnv().unwrap(), 0x4c27_5377_1a18_53bc);
        assert_eq!(asked.json_fnv().unwrap(), 0x0488_887b_8ae1_de03);
    }
}
