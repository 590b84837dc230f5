//! The baseline's identifiers: 36-character UUID-like text, as long as o2c's ids.

pub(super) const CUSTOMER: u16 = 1;
pub(super) const ORDER: u16 = 2;
pub(super) const INVOICE: u16 = 3;
pub(super) const PAYMENT: u16 = 4;
pub(super) const SHIPMENT: u16 = 5;

/// The id of the `n`th entity of kind `kind`.
pub(super) fn uid(kind: u16, n: usize) -> String {
    format!("00000000-{kind:04x}-7000-8000-{n:012x}")
}
