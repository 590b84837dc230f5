//! An embeddable order-to-cash core: orders from any channel, stock reserved
//! atomically and never oversold, back-orders handed to purchasing, invoices,
//! payments and a double-entry ledger, shipping through pluggable carriers,
//! returns, and an event log — as a library your backend links in.
//!
//! Everything goes through one service, [`Oms`], over two ports: a [`Store`](store::Store)
//! (persistence: [`MemoryStore`](store::MemoryStore) by default, the embedded
//! SQLite store behind feature `sqlite`, or your own) and a
//! [`Carrier`](fulfilment::Carrier) (transport: a table-rate parcel carrier and
//! in-store pickup ship here). Every command is an `async fn` with a `Send`
//! future; each reads what it needs in one batched read, decides in a pure
//! function of the domain module it belongs to, and commits once.
//!
//! ```
//! use o2c::prelude::*;
//! use o2c::customer::PaymentMethod;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # pollster::block_on(async {
//! let oms = Oms::new(MemoryStore::new(), TableRateCarrier::new("Parcelly")
//!     .zone("US", 0)
//!     .band(5_000, vec![Money::from_minor(700, Currency::USD)]));
//! oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, "0.08".parse()?)).await?;
//! let tee = Sku::new("TEE-M")?;
//! oms.save_product(Product::new(tee.clone(), "T-shirt", Money::from_minor(2000, Currency::USD),
//!     Money::from_minor(800, Currency::USD), TaxClass::standard())).await?;
//! let wh = LocationId::new("WH-1")?;
//! let dock = Address::new("Warehouse", "1 Dock Rd", "Reno", "89501", "US");
//! oms.save_location(Location::new(wh.clone(), "Reno", LocationKind::Warehouse, dock, 1)).await?;
//! oms.receive_stock(ReceiveStock::new(IdempotencyKey::new("grn-1")?, tee.clone(), wh.clone(), 10)
//!     .reference("opening")).await?;
//! let ada = oms.register_customer(NewCustomer::new("Ada", "ada@example.com",
//!     Address::new("Ada", "12 Way", "Boston", "02108", "US"), Currency::USD),
//!     IdempotencyKey::new("signup-ada")?).await?;
//!
//! // Placed (a retry with the same key returns the same order), stock reserved,
//! // invoiced; paid; shipped.
//! let order = oms.place_order(PlaceOrder::new(IdempotencyKey::new("cart-42")?, ada.id,
//!     Channel::Web, Currency::USD).line(tee.clone(), 2)).await?;
//! let invoice = oms.invoice(order.invoices[0]).await?;
//! oms.record_payment(RecordPayment::new(IdempotencyKey::new("charge-1")?, invoice.id,
//!     invoice.total()?, PaymentMethod::Card)).await?;
//! oms.ship(order.id, IdempotencyKey::new("ship-42")?).await?;
//! assert_eq!(oms.stock_level(&tee, &wh).await?.on_hand, 8);
//! assert!(oms.audit().await?.is_clean());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! # What it guarantees
//!
//! - **No overselling**: stock moves as deltas guarded inside the commit
//!   (`0 ≤ reserved ≤ on_hand`), so concurrent orders on one SKU never oversell.
//! - **Balanced books**: journal entries are built balanced per currency, in
//!   whole minor units; amounts are exact decimals with a currency, never floats.
//! - **All or nothing, once**: a command commits everything or nothing, and a
//!   keyed command retried returns its first result.
//! - **An audit that finds damage**: [`Oms::audit`] reconciles the ledger,
//!   every account against its documents, and the documents against each other.
//!
//! # Where to go next
//!
//! - [`Oms`]: every command and view;
//! - [`Error`]: each failure's stable [`code`](Error::code) and
//!   [`kind`](Error::kind), for a host's error responses;
//! - [`Store`](store::Store) and its `# Contract`, to bring your own database, with
//!   `o2c::testing` (feature `testing`) to prove it;
//! - [`Carrier`](fulfilment::Carrier), to plug in a real carrier;
//! - the README, for the architecture, the stores, the guarantees in full and
//!   the measurements.
//!
//! # Features
//!
//! - `sqlite`: `o2c::store::sqlite`, the embedded, durable SQLite store
//!   (SQLite is compiled in);
//! - `testing`: `o2c::testing`, the store conformance suite and the
//!   `Counting` store wrapper;
//! - `tracing`: a span per command (its key and id, attempts, outcome and error
//!   code), an event per lost race, a span per store call; ids and keys only,
//!   never a customer's name, e-mail or address;
//! - `schema`: `o2c::schema`, JSON Schemas of every command and view, from the
//!   types (through `schemars`);
//! - `json-numbers`: amounts may come as JSON numbers (`12.50`), read from their
//!   text, never through `f64` (it turns on serde_json's `arbitrary_precision`
//!   for the whole build, hence opt-in; without it amounts are strings).
#![cfg_attr(docsrs, feature(doc_cfg))]
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
pub mod automation;
pub mod catalog;
pub mod clock;
/// A `with_<field>` method per field of a `#[non_exhaustive]` command, each
/// setting that field and returning the command:
/// `with_setters!(ReceiveStock { with_reference => reference: String })`.
macro_rules! with_setters {
    ($ty:ty { $($method:ident => $field:ident: $fty:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("With `", stringify!($field), "` set to `value`.")]
                #[must_use]
                pub fn $method(mut self, value: $fty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}
pub(crate) use with_setters;

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
pub mod payment;
pub mod purchasing;
pub mod quantity;
pub mod reports;
pub mod returns;
#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
pub mod schema;
mod sleep;
pub mod stock;
pub mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use automation::{AutomationPolicy, DueReport};
pub use error::{Error, ErrorKind};
pub use oms::{
    AdjustStock, Applied, Backoff, IssueCreditNote, Oms, OmsConfig, PaymentsSettled,
    PurchasingPolicy, ReceivePurchaseOrder, ReceiveReturn, ReceiveStock, RecordPayment,
    RecordRefund, RequestExchange, RequestReturn, Valuation,
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
    pub use crate::{
        AdjustStock, Applied, Error, ErrorKind, Oms, OmsConfig, ReceiveStock, RecordPayment,
    };
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
