#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod audit;
pub mod catalog;
pub mod clock;
mod config;
pub mod customer;
pub mod decide;
mod error;
pub mod event;
mod fingerprint;
pub mod fulfilment;
pub mod ids;
pub mod ledger;
pub mod lines;
pub mod money;
mod oms;
pub mod order;
pub mod purchasing;
pub mod quantity;
pub mod returns;
mod sleep;
pub mod stock;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, ErrorKind};
pub use oms::{
    AdjustStock, Backoff, IssueCreditNote, Oms, OmsConfig, PurchasingPolicy, ReceivePurchaseOrder,
    ReceiveReturn, ReceiveStock, RecordPayment, RecordRefund, RequestExchange, RequestReturn,
    Valuation,
};

/// The most used types in one import: `use o2c::prelude::*;`.
pub mod prelude {
    pub use crate::catalog::{Product, TaxClass, TaxTable};
    pub use crate::clock::{Clock, IdGen, ManualClock, SeededIds, SystemClock, UuidV7};
    pub use crate::customer::{Address, Customer, NewCustomer, PaymentMethod, PaymentTerms};
    pub use crate::fulfilment::{
        Carrier, PickupCarrier, Shipment, ShipmentStatus, TableRateCarrier,
    };
    pub use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
    pub use crate::ledger::{InvoicePolicy, OverpaymentPolicy};
    pub use crate::money::{Currency, Money, Rounding};
    pub use crate::order::{
        AmendOrder, Channel, Delivery, Discount, Hold, Order, OrderStatus, PlaceOrder, ServiceLevel,
    };
    pub use crate::stock::{Location, LocationKind, StockLevel};
    pub use crate::store::{MemoryStore, Store};
    pub use crate::{AdjustStock, Error, Oms, OmsConfig, ReceiveStock, RecordPayment};
}
