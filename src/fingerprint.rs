//! Fingerprints of commands, for idempotency: a key replayed with the same content
//! returns the first outcome; with other content it is refused. The same content
//! must fingerprint the same in every process and every release, so amounts are
//! brought to one form first and the hash is fixed (FNV-1a), not Rust's.

use serde::Serialize;

use crate::error::Error;
use crate::money::Money;
use crate::order::{Discount, PlaceOrder};

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
        line.unit_price = line.unit_price.map(canonical_money);
        line.discount = line.discount.map(canonical_discount);
    }
    cmd.order_discount = cmd.order_discount.map(canonical_discount);
    cmd.shipping_charge = cmd.shipping_charge.map(canonical_money);
    cmd
}

/// A stable 64-bit FNV-1a hash of a command's JSON form: the same content always
/// gives the same fingerprint, in every process and every version of Rust. The JSON
/// is hashed as it is written, never buffered.
pub(crate) fn fingerprint<T: Serialize>(command: &T) -> Result<u64, Error> {
    let mut hasher = Fnv1a(0xcbf2_9ce4_8422_2325);
    serde_json::to_writer(&mut hasher, command)
        .map_err(|e| Error::invalid("command", e.to_string()))?;
    Ok(hasher.0)
}

/// FNV-1a as an `io::Write` sink.
struct Fnv1a(u64);

impl std::io::Write for Fnv1a {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_content_sensitive() {
        assert_eq!(
            fingerprint(&("a", 1)).unwrap(),
            fingerprint(&("a", 1)).unwrap()
        );
        assert_ne!(
            fingerprint(&("a", 1)).unwrap(),
            fingerprint(&("a", 2)).unwrap()
        );
        // FNV-1a of the empty JSON string `""` is fixed forever.
        assert_eq!(fingerprint(&"").unwrap(), 0x07cc_7607_b494_9e25);
    }
}
