//! JSON Schemas (draft 2020-12) of every command a host takes in and every view
//! it hands out, generated from the types themselves (`schemars`, which reads the
//! same serde attributes the JSON does), so a schema never drifts from what o2c
//! accepts and writes. A host's OpenAPI document reuses them (schemars emits
//! plain JSON Schema, which OpenAPI 3.1 embeds as it is).
//!
//! ```
//! let schemas = o2c::schema::commands();
//! let place = &schemas["PlaceOrder"];
//! assert_eq!(place.get("additionalProperties"), Some(&serde_json::json!(false)));
//! ```

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::audit::AuditReport;
use crate::catalog::{Product, TaxTable};
use crate::customer::{Customer, NewCustomer};
use crate::event::RecordedEvent;
use crate::fulfilment::{
    Release, Shipment, ThirdPartyFeed, ThirdPartyMessage, ThirdPartyOutcome, TrackingEvent,
};
use crate::ids::{CustomerId, IdempotencyKey};
use crate::ledger::{
    CreditNote, Invoice, IssueCreditNote, JournalEntry, Payment, RecordPayment, RecordRefund,
    TrialBalance,
};
use crate::order::{AmendOrder, Hold, Order, OrderCursor, OrderQuery, OrderView, Page, PlaceOrder};
use crate::purchasing::{
    OfferRanking, PurchaseOrder, ReceivePurchaseOrder, ReorderRule, Requisition, Supplier,
};
use crate::returns::{ReceiveReturn, RequestExchange, RequestReturn, ReturnAuthorization};
use crate::stock::{AdjustStock, Availability, Location, ReceiveStock, StockLevel, Valuation};
use crate::{Applied, Error};

/// The schema of `T`, standalone (its definitions under `$defs`).
pub fn of<T: JsonSchema>() -> Schema {
    SchemaGenerator::default().into_root_schema_for::<T>()
}

/// What a host takes in: each command's body, by its type's name, plus the
/// pieces a command takes as arguments (an idempotency key, a hold, a tracking
/// event, a listing's query).
pub fn commands() -> BTreeMap<&'static str, Schema> {
    BTreeMap::from([
        ("PlaceOrder", of::<PlaceOrder>()),
        ("AmendOrder", of::<AmendOrder>()),
        ("RecordPayment", of::<RecordPayment>()),
        ("NewCustomer", of::<NewCustomer>()),
        ("ReceiveStock", of::<ReceiveStock>()),
        ("AdjustStock", of::<AdjustStock>()),
        ("IssueCreditNote", of::<IssueCreditNote>()),
        ("RecordRefund", of::<RecordRefund>()),
        ("RequestReturn", of::<RequestReturn>()),
        ("RequestExchange", of::<RequestExchange>()),
        ("ReceiveReturn", of::<ReceiveReturn>()),
        ("ReceivePurchaseOrder", of::<ReceivePurchaseOrder>()),
        ("Product", of::<Product>()),
        ("Location", of::<Location>()),
        ("TaxTable", of::<TaxTable>()),
        ("Supplier", of::<Supplier>()),
        ("ReorderRule", of::<ReorderRule>()),
        ("Hold", of::<Hold>()),
        ("TrackingEvent", of::<TrackingEvent>()),
        ("ThirdPartyMessage", of::<ThirdPartyMessage>()),
        (
            "PaymentNotification",
            of::<crate::payment::PaymentNotification>(),
        ),
        ("RecordSettlement", of::<crate::payment::RecordSettlement>()),
        ("OrderQuery", of::<OrderQuery>()),
        ("PageRequest", of::<crate::reports::PageRequest>()),
        ("DateRange", of::<crate::reports::DateRange>()),
        ("SalesQuery", of::<crate::reports::SalesQuery>()),
        ("StockFilter", of::<crate::reports::StockFilter>()),
        ("IdempotencyKey", of::<IdempotencyKey>()),
    ])
}

/// What a host hands out: records, views, pages, reports, the event log and
/// the error body, by name.
pub fn views() -> BTreeMap<&'static str, Schema> {
    BTreeMap::from([
        ("Order", of::<Order>()),
        ("OrderView", of::<OrderView>()),
        ("AppliedOrder", of::<Applied<Order>>()),
        ("OrderPage", of::<Page<Order, OrderCursor>>()),
        ("Customer", of::<Customer>()),
        ("CustomerPage", of::<Page<Customer, CustomerId>>()),
        ("Invoice", of::<Invoice>()),
        ("Payment", of::<Payment>()),
        ("CreditNote", of::<CreditNote>()),
        ("Shipment", of::<Shipment>()),
        ("Release", of::<Release>()),
        ("ThirdPartyOutcome", of::<Applied<ThirdPartyOutcome>>()),
        ("ThirdPartyFeed", of::<ThirdPartyFeed>()),
        ("Settlement", of::<crate::payment::Settlement>()),
        ("ReturnAuthorization", of::<ReturnAuthorization>()),
        ("PurchaseOrder", of::<PurchaseOrder>()),
        ("Requisition", of::<Requisition>()),
        ("OfferRanking", of::<OfferRanking>()),
        ("StockLevel", of::<StockLevel>()),
        ("Availability", of::<Availability>()),
        ("Valuation", of::<Valuation>()),
        ("TrialBalance", of::<TrialBalance>()),
        ("JournalEntry", of::<JournalEntry>()),
        ("RecordedEvent", of::<RecordedEvent>()),
        ("AuditReport", of::<AuditReport>()),
        ("DueReport", of::<crate::automation::DueReport>()),
        ("AgeingReport", of::<crate::reports::AgeingReport>()),
        (
            "SalesPage",
            of::<crate::reports::Page<crate::reports::SalesRow>>(),
        ),
        (
            "CyclePage",
            of::<crate::reports::Page<crate::reports::CycleRow>>(),
        ),
        (
            "FillPage",
            of::<crate::reports::Page<crate::reports::FillRow>>(),
        ),
        (
            "OtifPage",
            of::<crate::reports::Page<crate::reports::OtifRow>>(),
        ),
        (
            "BackOrderPage",
            of::<crate::reports::Page<crate::reports::BackOrderRow>>(),
        ),
        (
            "InventoryPage",
            of::<crate::reports::Page<crate::reports::InventoryRow>>(),
        ),
        (
            "PaymentPage",
            of::<crate::reports::Page<crate::reports::PaymentRow>>(),
        ),
        (
            "ReturnPage",
            of::<crate::reports::Page<crate::reports::ReturnRow>>(),
        ),
        ("Error", of::<Error>()),
    ])
}
