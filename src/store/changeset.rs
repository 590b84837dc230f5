//! What a command hands the store to commit, and the entity plumbing behind it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Product, TaxTable};
use crate::customer::Customer;
use crate::event::Event;
use crate::fulfilment::{Shipment, ThirdPartyFeed};
use crate::ids::{
    CreditNoteId, CustomerId, IdempotencyKey, InvoiceId, LocationId, OrderId, PaymentId,
    PurchaseOrderId, ReturnId, ShipmentId, Sku, SupplierId,
};
use crate::ledger::{AccountCode, CreditNote, Invoice, JournalEntry, Payment};
use crate::money::{Currency, Money};
use crate::order::Order;
use crate::payment::Settlement;
use crate::purchasing::{BackOrderQueue, PurchaseOrder, ReorderRule, Supplier};
use crate::returns::ReturnAuthorization;
use crate::stock::{Location, ReservationChange, StockMovement};
use crate::store::{CounterDelta, Merge, StoreError};

/// A stored value with the version it was stored at. Versions start at 1 and grow by
/// one on every update; pass the version you read back as the expected version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its version.
    pub version: u64,
}

impl<T: Clone> Versioned<&T> {
    /// A copy of the value lent, at the same version.
    pub fn cloned(&self) -> Versioned<T> {
        Versioned {
            value: self.value.clone(),
            version: self.version,
        }
    }
}

/// A named gapless counter (invoice numbers), updated with an expected version like
/// any entity so two writers can never take the same number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Counter {
    /// The counter's name.
    pub name: String,
    /// The last value handed out.
    pub value: u64,
}

/// Every kind of entity, boxed up for the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[allow(missing_docs)] // each variant is the entity of the same name
pub enum Record {
    Customer(Customer),
    Product(Product),
    Location(Location),
    TaxTable(TaxTable),
    Order(Order),
    Invoice(Invoice),
    Payment(Payment),
    Shipment(Shipment),
    Counter(Counter),
    Supplier(Supplier),
    PurchaseOrder(PurchaseOrder),
    BackOrderQueue(BackOrderQueue),
    ReorderRule(ReorderRule),
    CreditNote(CreditNote),
    Return(ReturnAuthorization),
    ThirdPartyFeed(ThirdPartyFeed),
    Settlement(crate::payment::Settlement),
}

/// The store-wide key of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", content = "key", rename_all = "snake_case")]
#[allow(missing_docs)] // each variant is the key of the entity of the same name
pub enum RecordKey {
    Customer(CustomerId),
    Product(Sku),
    Location(LocationId),
    TaxTable,
    Order(OrderId),
    Invoice(InvoiceId),
    Payment(PaymentId),
    Shipment(ShipmentId),
    Counter(String),
    Supplier(SupplierId),
    PurchaseOrder(PurchaseOrderId),
    BackOrderQueue(Sku),
    ReorderRule(Sku, LocationId),
    CreditNote(CreditNoteId),
    Return(ReturnId),
    ThirdPartyFeed(LocationId),
    Settlement(String),
}

/// Every kind's name ([`RecordKey::kind`]), in the order of [`RecordKey`]'s
/// variants: a store that keeps one table per kind can index them by
/// [`RecordKey::kind_index`].
pub(crate) const KINDS: [&str; 17] = [
    "customer",
    "product",
    "location",
    "tax_table",
    "order",
    "invoice",
    "payment",
    "shipment",
    "counter",
    "supplier",
    "purchase_order",
    "back_order_queue",
    "reorder_rule",
    "credit_note",
    "return",
    "third_party_feed",
    "settlement",
];

/// The position of the kind named `kind` in [`KINDS`].
pub(crate) fn kind_index(kind: &str) -> Option<usize> {
    KINDS.iter().position(|k| *k == kind)
}

impl RecordKey {
    /// The position of the key's kind in [`KINDS`].
    pub(crate) fn kind_index(&self) -> usize {
        match self {
            RecordKey::Customer(_) => 0,
            RecordKey::Product(_) => 1,
            RecordKey::Location(_) => 2,
            RecordKey::TaxTable => 3,
            RecordKey::Order(_) => 4,
            RecordKey::Invoice(_) => 5,
            RecordKey::Payment(_) => 6,
            RecordKey::Shipment(_) => 7,
            RecordKey::Counter(_) => 8,
            RecordKey::Supplier(_) => 9,
            RecordKey::PurchaseOrder(_) => 10,
            RecordKey::BackOrderQueue(_) => 11,
            RecordKey::ReorderRule(..) => 12,
            RecordKey::CreditNote(_) => 13,
            RecordKey::Return(_) => 14,
            RecordKey::ThirdPartyFeed(_) => 15,
            RecordKey::Settlement(_) => 16,
        }
    }

    /// The entity kind's name, for errors and table names.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordKey::Customer(_) => "customer",
            RecordKey::Product(_) => "product",
            RecordKey::Location(_) => "location",
            RecordKey::TaxTable => "tax_table",
            RecordKey::Order(_) => "order",
            RecordKey::Invoice(_) => "invoice",
            RecordKey::Payment(_) => "payment",
            RecordKey::Shipment(_) => "shipment",
            RecordKey::Counter(_) => "counter",
            RecordKey::Supplier(_) => "supplier",
            RecordKey::PurchaseOrder(_) => "purchase_order",
            RecordKey::BackOrderQueue(_) => "back_order_queue",
            RecordKey::ReorderRule(..) => "reorder_rule",
            RecordKey::CreditNote(_) => "credit_note",
            RecordKey::Return(_) => "return",
            RecordKey::ThirdPartyFeed(_) => "third_party_feed",
            RecordKey::Settlement(_) => "settlement",
        }
    }

    /// The key as text (`"order/0190..."`), for errors and logs.
    pub fn describe(&self) -> String {
        let id = match self {
            RecordKey::Customer(id) => id.to_string(),
            RecordKey::Product(sku) => sku.to_string(),
            RecordKey::Location(id) => id.to_string(),
            RecordKey::TaxTable => String::new(),
            RecordKey::Order(id) => id.to_string(),
            RecordKey::Invoice(id) => id.to_string(),
            RecordKey::Payment(id) => id.to_string(),
            RecordKey::Shipment(id) => id.to_string(),
            RecordKey::Counter(name) => name.clone(),
            RecordKey::Supplier(id) => id.to_string(),
            RecordKey::PurchaseOrder(id) => id.to_string(),
            RecordKey::BackOrderQueue(sku) => sku.to_string(),
            // Codes may hold any printable character, so the SKU's length keeps
            // "A@B" + "C" apart from "A" + "B@C".
            RecordKey::CreditNote(id) => id.to_string(),
            RecordKey::Return(id) => id.to_string(),
            RecordKey::ThirdPartyFeed(id) => id.to_string(),
            RecordKey::Settlement(payout) => payout.clone(),
            RecordKey::ReorderRule(sku, location) => {
                format!("{}:{sku}@{location}", sku.as_str().len())
            }
        };
        format!("{}/{id}", self.kind())
    }
}

impl Record {
    /// Whether the record is the one at `key`: what `self.key() == *key` says,
    /// without building the key (a scan of a command's reads or puts does this
    /// for every record it passes).
    pub(crate) fn has_key(&self, key: &RecordKey) -> bool {
        match (self, key) {
            (Record::Customer(c), RecordKey::Customer(k)) => c.id == *k,
            (Record::Product(p), RecordKey::Product(k)) => p.sku == *k,
            (Record::Location(l), RecordKey::Location(k)) => l.id == *k,
            (Record::TaxTable(_), RecordKey::TaxTable) => true,
            (Record::Order(o), RecordKey::Order(k)) => o.id == *k,
            (Record::Invoice(i), RecordKey::Invoice(k)) => i.id == *k,
            (Record::Payment(p), RecordKey::Payment(k)) => p.id == *k,
            (Record::Shipment(s), RecordKey::Shipment(k)) => s.id == *k,
            (Record::Counter(c), RecordKey::Counter(k)) => c.name == *k,
            (Record::Supplier(s), RecordKey::Supplier(k)) => s.id == *k,
            (Record::PurchaseOrder(p), RecordKey::PurchaseOrder(k)) => p.id == *k,
            (Record::BackOrderQueue(q), RecordKey::BackOrderQueue(k)) => q.sku == *k,
            (Record::ReorderRule(r), RecordKey::ReorderRule(sku, location)) => {
                r.sku == *sku && r.location == *location
            }
            (Record::CreditNote(c), RecordKey::CreditNote(k)) => c.id == *k,
            (Record::Return(r), RecordKey::Return(k)) => r.id == *k,
            (Record::ThirdPartyFeed(f), RecordKey::ThirdPartyFeed(k)) => f.location == *k,
            (Record::Settlement(s), RecordKey::Settlement(k)) => s.payout == *k,
            _ => false,
        }
    }

    /// The record's key.
    pub fn key(&self) -> RecordKey {
        match self {
            Record::Customer(c) => RecordKey::Customer(c.id),
            Record::Product(p) => RecordKey::Product(p.sku.clone()),
            Record::Location(l) => RecordKey::Location(l.id.clone()),
            Record::TaxTable(_) => RecordKey::TaxTable,
            Record::Order(o) => RecordKey::Order(o.id),
            Record::Invoice(i) => RecordKey::Invoice(i.id),
            Record::Payment(p) => RecordKey::Payment(p.id),
            Record::Shipment(s) => RecordKey::Shipment(s.id),
            Record::Counter(c) => RecordKey::Counter(c.name.clone()),
            Record::Supplier(s) => RecordKey::Supplier(s.id),
            Record::PurchaseOrder(p) => RecordKey::PurchaseOrder(p.id),
            Record::BackOrderQueue(q) => RecordKey::BackOrderQueue(q.sku.clone()),
            Record::ReorderRule(r) => RecordKey::ReorderRule(r.sku.clone(), r.location.clone()),
            Record::CreditNote(c) => RecordKey::CreditNote(c.id),
            Record::Return(r) => RecordKey::Return(r.id),
            Record::ThirdPartyFeed(f) => RecordKey::ThirdPartyFeed(f.location.clone()),
            Record::Settlement(s) => RecordKey::Settlement(s.payout.clone()),
        }
    }
}

/// A type the store keeps as a versioned [`Record`].
pub trait Entity: Clone + Send + Sync + Sized + 'static {
    /// Its identity.
    type Key: Clone + Send + Sync;
    /// The kind's name, as [`RecordKey::kind`] gives it.
    fn kind() -> &'static str;
    /// Wraps a key.
    fn record_key(key: &Self::Key) -> RecordKey;
    /// Boxes the value.
    fn into_record(self) -> Record;
    /// Unboxes a record of this kind.
    fn from_record(record: Record) -> Option<Self>;
    /// Borrows a record of this kind.
    fn from_record_ref(record: &Record) -> Option<&Self>;
}

macro_rules! entity {
    ($ty:ty, $key:ty, $variant:ident, $kind:literal, |$k:ident| $make_key:expr) => {
        impl Entity for $ty {
            type Key = $key;
            fn kind() -> &'static str {
                $kind
            }
            fn record_key($k: &Self::Key) -> RecordKey {
                $make_key
            }
            fn into_record(self) -> Record {
                Record::$variant(self)
            }
            fn from_record(record: Record) -> Option<Self> {
                match record {
                    Record::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn from_record_ref(record: &Record) -> Option<&Self> {
                match record {
                    Record::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

entity!(Customer, CustomerId, Customer, "customer", |k| {
    RecordKey::Customer(*k)
});
entity!(Product, Sku, Product, "product", |k| RecordKey::Product(
    k.clone()
));
entity!(Location, LocationId, Location, "location", |k| {
    RecordKey::Location(k.clone())
});
entity!(TaxTable, (), TaxTable, "tax_table", |_k| {
    RecordKey::TaxTable
});
entity!(Order, OrderId, Order, "order", |k| RecordKey::Order(*k));
entity!(Invoice, InvoiceId, Invoice, "invoice", |k| {
    RecordKey::Invoice(*k)
});
entity!(Payment, PaymentId, Payment, "payment", |k| {
    RecordKey::Payment(*k)
});
entity!(Shipment, ShipmentId, Shipment, "shipment", |k| {
    RecordKey::Shipment(*k)
});
entity!(Counter, String, Counter, "counter", |k| RecordKey::Counter(
    k.clone()
));
entity!(ReturnAuthorization, ReturnId, Return, "return", |k| {
    RecordKey::Return(*k)
});
entity!(
    ThirdPartyFeed,
    LocationId,
    ThirdPartyFeed,
    "third_party_feed",
    |k| RecordKey::ThirdPartyFeed(k.clone())
);
entity!(Settlement, String, Settlement, "settlement", |k| {
    RecordKey::Settlement(k.clone())
});
entity!(CreditNote, CreditNoteId, CreditNote, "credit_note", |k| {
    RecordKey::CreditNote(*k)
});
entity!(Supplier, SupplierId, Supplier, "supplier", |k| {
    RecordKey::Supplier(*k)
});
entity!(
    PurchaseOrder,
    PurchaseOrderId,
    PurchaseOrder,
    "purchase_order",
    |k| RecordKey::PurchaseOrder(*k)
);
entity!(
    BackOrderQueue,
    Sku,
    BackOrderQueue,
    "back_order_queue",
    |k| RecordKey::BackOrderQueue(k.clone())
);
entity!(
    ReorderRule,
    (Sku, LocationId),
    ReorderRule,
    "reorder_rule",
    |k| RecordKey::ReorderRule(k.0.clone(), k.1.clone())
);

/// An insert or update of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Put {
    /// The new value.
    pub record: Record,
    /// `None`: the record must not exist yet. `Some(v)`: it must be at version `v`.
    pub expected: Option<u64>,
}

impl Put {
    /// Inserts a new record.
    pub fn insert<E: Entity>(value: E) -> Self {
        Self {
            record: value.into_record(),
            expected: None,
        }
    }

    /// Updates a record last read at `version`.
    pub fn update<E: Entity>(value: E, version: u64) -> Self {
        Self {
            record: value.into_record(),
            expected: Some(version),
        }
    }

    /// Inserts when `version` is `None`, else updates.
    pub fn upsert<E: Entity>(value: E, version: Option<u64>) -> Self {
        Self {
            record: value.into_record(),
            expected: version,
        }
    }
}

/// Which command an idempotency key belongs to: keys are unique per scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[allow(missing_docs)] // each variant is the command of the same name
pub enum IdempotencyScope {
    PlaceOrder,
    RecordPayment,
    ReceiveStock,
    AdjustStock,
    ReceivePurchaseOrder,
    IssueCreditNote,
    RecordRefund,
    RequestReturn,
    ReceiveReturn,
    AmendOrder,
    RegisterCustomer,
    Ship,
    RaisePurchaseOrder,
    Replenish,
    ApprovePurchaseOrder,
    CancelPurchaseOrder,
    ClosePurchaseOrder,
    HoldOrder,
    ReleaseHold,
    CancelOrder,
    AuthoriseReturn,
    RejectReturn,
    CloseReturn,
    /// The first booking on one of the own fleet's runs, which sets its capacity.
    OpenFreightRun,
    /// A booking on the own fleet, by the booking's key.
    BookFreight,
    /// A booking on the own fleet cancelled, by the booking's key.
    CancelFreight,
    /// A sent purchase order expected on another day.
    ReschedulePurchaseOrder,
    /// Lines released to a third-party warehouse.
    ReleaseToThirdParty,
    /// A message from a third-party warehouse, by its id.
    ThirdPartyMessage,
    /// A payment provider's notification, keyed `{provider}/{id}`.
    PaymentEvent,
    /// A payment provider's payout, keyed by its id.
    RecordSettlement,
    /// Authorising an order's card again after a decline or a lapse.
    AuthoriseOrder,
}

/// What a keyed command produced, so a retry can return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[allow(missing_docs)] // each variant is the id the command created
pub enum IdempotentOutcome {
    Order(OrderId),
    Payment(PaymentId),
    Stock,
    CreditNote(CreditNoteId),
    Return(ReturnId),
    Customer(CustomerId),
    Shipments(Vec<ShipmentId>),
    PurchaseOrders(Vec<PurchaseOrderId>),
    /// A run of the own fleet opened with its truck's pallets and kilograms.
    FreightRunOpened {
        pallets: u32,
        kg: u32,
    },
    FreightBooking(crate::fulfilment::FreightBooking),
    /// A booking on the own fleet cancelled at this time.
    FreightCancelled(chrono::DateTime<chrono::Utc>),
    /// Lines released to a third-party warehouse, as sent.
    Released(crate::fulfilment::Release),
    /// A third-party warehouse's stock count applied (or found stale).
    StockCounted(crate::fulfilment::CountResult),
    /// A payment provider's payout recorded, by its id.
    Settlement(String),
    /// A payment provider's notification applied (or found to change nothing).
    PaymentEvent,
}

/// The scheme of entries stored before schemes were recorded.
fn first_fingerprint_scheme() -> u32 {
    1
}

/// A used idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IdempotencyEntry {
    /// The command kind.
    pub scope: IdempotencyScope,
    /// The key.
    pub key: IdempotencyKey,
    /// A stable hash of the command's content: a retry must match it.
    pub fingerprint: u64,
    /// The scheme `fingerprint` was taken with: 2 since o2c 0.2; entries stored by
    /// o2c 0.1 have none and read as 1. A store keeps it as given.
    #[serde(default = "first_fingerprint_scheme")]
    pub fingerprint_version: u32,
    /// What the command produced.
    pub outcome: IdempotentOutcome,
}

/// A read a command's decision rested on, re-checked inside the commit: if it no
/// longer holds, the commit fails with [`super::StoreError::Conflict`] and the command
/// decides again from fresh reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// The record is still at `version` (the changeset does not write it). A
    /// shipment checks the cost of what it ships this way.
    Version {
        /// The record.
        key: RecordKey,
        /// The version that was read.
        version: u64,
    },
    /// The SKU's on-hand, summed over every location, is still `on_hand`. A cost
    /// change revalues exactly this many units.
    SkuOnHand {
        /// The SKU.
        sku: Sku,
        /// The total that was read.
        on_hand: i64,
    },
}

/// Everything one command changes, committed all or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Changeset {
    /// The command's time: events are recorded at it.
    pub at: DateTime<Utc>,
    /// Entity inserts and updates, each with its expected version.
    pub puts: Vec<Put>,
    /// On-hand changes (appended to the movement journal).
    pub movements: Vec<StockMovement>,
    /// Reserved changes.
    pub reservations: Vec<ReservationChange>,
    /// Journal entries to append.
    pub journal: Vec<JournalEntry>,
    /// Events to append.
    pub events: Vec<Event>,
    /// The command's idempotency key, if it has one.
    pub idempotency: Option<IdempotencyEntry>,
    /// Reads the decision depended on, re-checked at commit.
    pub checks: Vec<Check>,
    /// Documents the commit inserts that the store numbers (see
    /// [`Changeset::assign_numbers`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbered: Vec<RecordKey>,
    /// Changes the store makes to records as they stand at commit (see
    /// [`Changeset::apply_merges`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merges: Vec<Merge>,
    /// Moves of bounded counters other than stock, applied under the guard
    /// `0 ≤ used ≤ limit` (see [`Changeset::move_counter`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counters: Vec<CounterDelta>,
}

/// An account balance's key: account, then currency.
pub type BalanceKey = (AccountCode, Currency);

/// The net change a changeset makes to one SKU at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockDelta {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// Σ of the changeset's movements there.
    pub on_hand: i64,
    /// Σ of its reservation changes there.
    pub reserved: i64,
}

impl Changeset {
    /// Puts a new `value`: the commit fails if a record with its key exists.
    pub fn insert<E: Entity>(&mut self, value: E) {
        self.puts.push(Put::insert(value));
    }

    /// Puts `value` over the record read at `version`: the commit fails with a
    /// conflict if another writer changed it since.
    pub fn update<E: Entity>(&mut self, value: E, version: u64) {
        self.puts.push(Put::update(value, version));
    }

    /// Requires the record at `key` to be still at `version` when the commit
    /// applies, without writing it: for a record the decision rests on.
    pub fn check_version(&mut self, key: RecordKey, version: u64) {
        self.checks.push(Check::Version { key, version });
    }

    /// Replaces the value of a record this changeset already puts, keeping the
    /// version the put expects: for a command that changes a record again after
    /// queuing it (an invoice paid in the same commit that issued it). Returns
    /// `false`, changing nothing, if no put has that record's key.
    #[must_use]
    pub fn restate<E: Entity>(&mut self, value: E) -> bool {
        let record = value.into_record();
        let key = record.key();
        match self.puts.iter_mut().find(|p| p.record.has_key(&key)) {
            Some(put) => {
                put.record = record;
                true
            }
            None => false,
        }
    }

    /// The record a put of this changeset gives `key`, if any: what a command
    /// that changes a record again in the same commit must start from.
    pub fn pending(&self, key: &RecordKey) -> Option<&Record> {
        self.puts
            .iter()
            .find(|p| p.record.has_key(key))
            .map(|p| &p.record)
    }

    /// The changeset's stock changes summed per SKU × location, in order of first
    /// appearance: what a store applies under the guard `0 ≤ reserved ≤ on_hand`
    /// (stock's bounded counters: [`Bounds::after`](crate::store::Bounds::after)
    /// with on-hand as the limit and reserved as what is used).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if a sum overflows.
    pub fn stock_deltas(&self) -> Result<Vec<StockDelta>, StoreError> {
        let overflow = || StoreError::Invalid {
            reason: "stock delta overflows".to_owned(),
        };
        // A command touches a few keys, so a list beats a map.
        let mut deltas: Vec<StockDelta> =
            Vec::with_capacity(self.movements.len().max(self.reservations.len()));
        let mut add = |sku: &Sku, location: &LocationId, on_hand: i64, reserved: i64| {
            let slot = match deltas
                .iter_mut()
                .find(|d| &d.sku == sku && &d.location == location)
            {
                Some(slot) => slot,
                None => {
                    deltas.push(StockDelta {
                        sku: sku.clone(),
                        location: location.clone(),
                        on_hand: 0,
                        reserved: 0,
                    });
                    deltas.last_mut().ok_or_else(overflow)?
                }
            };
            slot.on_hand = slot.on_hand.checked_add(on_hand).ok_or_else(overflow)?;
            slot.reserved = slot.reserved.checked_add(reserved).ok_or_else(overflow)?;
            Ok::<(), StoreError>(())
        };
        for m in &self.movements {
            add(&m.sku, &m.location, m.quantity, 0)?;
        }
        for r in &self.reservations {
            add(&r.sku, &r.location, 0, r.quantity)?;
        }
        Ok(deltas)
    }

    /// The balances the changeset's journal entries lead to, for every account and
    /// currency they touch, in order of first appearance. `stored` gives an account's
    /// balance before the commit (zero if it has none).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if a balance overflows; whatever `stored` fails with.
    pub fn balances_after(
        &self,
        mut stored: impl FnMut(&AccountCode, Currency) -> Result<Money, StoreError>,
    ) -> Result<Vec<(BalanceKey, Money)>, StoreError> {
        // At most one per line; a command posts a handful.
        let lines = self.journal.iter().map(|e| e.lines().len()).sum();
        let mut balances: Vec<(BalanceKey, Money)> = Vec::with_capacity(lines);
        for line in self.journal.iter().flat_map(JournalEntry::lines) {
            let currency = line.amount.currency();
            let found = balances
                .iter()
                .position(|((a, c), _)| a == &line.account && *c == currency);
            let index = match found {
                Some(i) => i,
                None => {
                    let current = stored(&line.account, currency)?;
                    balances.push(((line.account.clone(), currency), current));
                    balances.len().saturating_sub(1)
                }
            };
            if let Some((_, balance)) = balances.get_mut(index) {
                *balance = balance
                    .checked_add(line.amount)
                    .map_err(|e| StoreError::Invalid {
                        reason: format!("balance of {}: {e}", line.account),
                    })?;
            }
        }
        Ok(balances)
    }

    /// An empty changeset at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            at,
            puts: Vec::new(),
            movements: Vec::new(),
            reservations: Vec::new(),
            journal: Vec::new(),
            events: Vec::new(),
            idempotency: None,
            checks: Vec::new(),
            numbered: Vec::new(),
            merges: Vec::new(),
            counters: Vec::new(),
        }
    }

    /// True if committing it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty()
            && self.movements.is_empty()
            && self.reservations.is_empty()
            && self.journal.is_empty()
            && self.events.is_empty()
            && self.idempotency.is_none()
            && self.checks.is_empty()
            && self.numbered.is_empty()
            && self.merges.is_empty()
            && self.counters.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    /// Stores file records by `RecordKey::kind` and look them up by `Entity::kind`:
    /// the two must agree for every kind.
    #[test]
    fn entity_kinds_match_record_key_kinds() {
        let id = Uuid::nil();
        let sku = Sku::new("S").unwrap();
        let location = LocationId::new("L").unwrap();
        assert_eq!(
            Customer::kind(),
            Customer::record_key(&CustomerId::from_uuid(id)).kind()
        );
        assert_eq!(Product::kind(), Product::record_key(&sku).kind());
        assert_eq!(Location::kind(), Location::record_key(&location).kind());
        assert_eq!(TaxTable::kind(), TaxTable::record_key(&()).kind());
        assert_eq!(
            Order::kind(),
            Order::record_key(&OrderId::from_uuid(id)).kind()
        );
        assert_eq!(
            Invoice::kind(),
            Invoice::record_key(&InvoiceId::from_uuid(id)).kind()
        );
        assert_eq!(
            Payment::kind(),
            Payment::record_key(&PaymentId::from_uuid(id)).kind()
        );
        assert_eq!(
            Shipment::kind(),
            Shipment::record_key(&ShipmentId::from_uuid(id)).kind()
        );
        assert_eq!(Counter::kind(), Counter::record_key(&"c".to_owned()).kind());
    }

    /// A kind's index names the kind its key names.
    #[test]
    fn kind_indexes_match_kind_names() {
        let id = Uuid::nil();
        let sku = Sku::new("S").unwrap();
        let location = LocationId::new("L").unwrap();
        let keys = [
            RecordKey::Customer(CustomerId::from_uuid(id)),
            RecordKey::Product(sku.clone()),
            RecordKey::Location(location.clone()),
            RecordKey::TaxTable,
            RecordKey::Order(OrderId::from_uuid(id)),
            RecordKey::Invoice(InvoiceId::from_uuid(id)),
            RecordKey::Payment(PaymentId::from_uuid(id)),
            RecordKey::Shipment(ShipmentId::from_uuid(id)),
            RecordKey::Counter("c".to_owned()),
            RecordKey::Supplier(SupplierId::from_uuid(id)),
            RecordKey::PurchaseOrder(PurchaseOrderId::from_uuid(id)),
            RecordKey::BackOrderQueue(sku.clone()),
            RecordKey::ReorderRule(sku, location.clone()),
            RecordKey::CreditNote(CreditNoteId::from_uuid(id)),
            RecordKey::Return(ReturnId::from_uuid(id)),
            RecordKey::ThirdPartyFeed(location),
            RecordKey::Settlement("po_1".to_owned()),
        ];
        assert_eq!(keys.len(), KINDS.len());
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(key.kind_index(), i);
            assert_eq!(KINDS[i], key.kind());
            assert_eq!(kind_index(key.kind()), Some(i));
        }
        assert_eq!(kind_index("nothing"), None);
    }

    mod deltas {
        use proptest::prelude::*;

        use super::*;
        use crate::stock::{MovementReason, ReservationChange, StockMovement};

        fn pair(n: u8) -> (Sku, LocationId) {
            (
                Sku::new(format!("S{}", n % 20)).unwrap(),
                LocationId::new(format!("L{}", n / 20)).unwrap(),
            )
        }

        /// The sums as the definition says: each pair once, in order of first
        /// appearance (movements before reservations), by comparing every pair.
        fn summed(changes: &Changeset) -> Vec<(Sku, LocationId, i64, i64)> {
            let mut out: Vec<(Sku, LocationId, i64, i64)> = Vec::new();
            let all = changes
                .movements
                .iter()
                .map(|m| (&m.sku, &m.location, m.quantity, 0))
                .chain(
                    changes
                        .reservations
                        .iter()
                        .map(|r| (&r.sku, &r.location, 0, r.quantity)),
                );
            for (sku, location, on_hand, reserved) in all {
                match out.iter_mut().find(|d| &d.0 == sku && &d.1 == location) {
                    Some(d) => {
                        d.2 += on_hand;
                        d.3 += reserved;
                    }
                    None => out.push((sku.clone(), location.clone(), on_hand, reserved)),
                }
            }
            out
        }

        proptest! {
            /// However many pairs a changeset touches (a shipping run's hundred
            /// among them), each is summed once, in order of first appearance.
            #[test]
            fn sum_each_pair_once_in_order_of_first_appearance(
                moves in proptest::collection::vec((0u8..60, -5i64..5), 0..80),
                holds in proptest::collection::vec((0u8..60, -5i64..5), 0..80),
            ) {
                let mut changes = Changeset::new(chrono::DateTime::UNIX_EPOCH);
                for (n, quantity) in moves {
                    let (sku, location) = pair(n);
                    changes.movements.push(StockMovement {
                        sku,
                        location,
                        quantity,
                        reason: MovementReason::Adjustment { reason: "test".into() },
                        at: changes.at,
                        value: None,
                    });
                }
                for (n, quantity) in holds {
                    let (sku, location) = pair(n);
                    changes.reservations.push(ReservationChange {
                        sku,
                        location,
                        order: OrderId::from_uuid(Uuid::nil()),
                        quantity,
                    });
                }
                let got: Vec<(Sku, LocationId, i64, i64)> = changes
                    .stock_deltas()
                    .unwrap()
                    .into_iter()
                    .map(|d| (d.sku, d.location, d.on_hand, d.reserved))
                    .collect();
                prop_assert_eq!(got, summed(&changes));
            }
        }
    }
}
