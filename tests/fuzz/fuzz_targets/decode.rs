//! Every command and every stored record from arbitrary JSON: decoding never
//! panics, and whatever decodes encodes to JSON that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use o2c::catalog::{Product, TaxTable};
use o2c::customer::NewCustomer;
use o2c::event::RecordedEvent;
use o2c::ledger::{IssueCreditNote, JournalEntry, RecordPayment, RecordRefund};
use o2c::order::{AmendOrder, PlaceOrder};
use o2c::purchasing::{ReceivePurchaseOrder, ReorderRule, Supplier};
use o2c::returns::{ReceiveReturn, RequestExchange, RequestReturn};
use o2c::stock::{AdjustStock, Location, ReceiveStock, StockMovement};
use o2c::store::{IdempotencyEntry, Record};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `json` as a `T`; if it decodes, its own JSON must decode to it again.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(json: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(json) else {
        return;
    };
    let again = serde_json::to_vec(&value).expect("a decoded value encodes");
    let back: T = serde_json::from_slice(&again).unwrap_or_else(|e| {
        panic!(
            "{} re-encoded as {} does not decode: {e}",
            std::any::type_name::<T>(),
            String::from_utf8_lossy(&again)
        )
    });
    assert_eq!(back, value, "{}", std::any::type_name::<T>());
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the type, so one corpus reaches all of them.
    let Some((&which, json)) = data.split_first() else {
        return;
    };
    match which % 22 {
        0 => round_trip::<PlaceOrder>(json),
        1 => round_trip::<AmendOrder>(json),
        2 => round_trip::<RecordPayment>(json),
        3 => round_trip::<NewCustomer>(json),
        4 => round_trip::<ReceiveStock>(json),
        5 => round_trip::<AdjustStock>(json),
        6 => round_trip::<IssueCreditNote>(json),
        7 => round_trip::<RecordRefund>(json),
        8 => round_trip::<RequestReturn>(json),
        9 => round_trip::<RequestExchange>(json),
        10 => round_trip::<ReceiveReturn>(json),
        11 => round_trip::<ReceivePurchaseOrder>(json),
        12 => round_trip::<Product>(json),
        13 => round_trip::<Location>(json),
        14 => round_trip::<Supplier>(json),
        15 => round_trip::<TaxTable>(json),
        16 => round_trip::<ReorderRule>(json),
        17 => round_trip::<Record>(json),
        18 => round_trip::<RecordedEvent>(json),
        19 => round_trip::<JournalEntry>(json),
        20 => round_trip::<IdempotencyEntry>(json),
        _ => round_trip::<StockMovement>(json),
    }
});
