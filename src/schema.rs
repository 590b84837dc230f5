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

/// Where an OpenAPI document keeps its schemas: the definitions of a generator
/// from [`openapi_generator`] are written for this place.
pub const OPENAPI_COMPONENTS: &str = "#/components/schemas/";

/// A generator whose `$ref`s point into an OpenAPI 3.1 document's
/// `components.schemas`: hand it to [`command_refs`] and [`view_refs`] (and to a
/// host's own types), then put its `take_definitions(true)` there.
pub fn openapi_generator() -> SchemaGenerator {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = OPENAPI_COMPONENTS.trim_start_matches('#').into();
    });
    settings.into_generator()
}

/// Each command of [`commands`], by the same name, as a schema of `generator`:
/// a `$ref` to its definition (or the schema inline, for the few types schemars
/// always inlines).
pub fn command_refs(generator: &mut SchemaGenerator) -> BTreeMap<&'static str, Schema> {
    let mut list = List::Refs(generator, BTreeMap::new());
    command_list(&mut list);
    list.into_schemas()
}

/// Each view of [`views`], by the same name, as a schema of `generator` (see
/// [`command_refs`]).
pub fn view_refs(generator: &mut SchemaGenerator) -> BTreeMap<&'static str, Schema> {
    let mut list = List::Refs(generator, BTreeMap::new());
    view_list(&mut list);
    list.into_schemas()
}

/// The one list of commands and views, written once and read two ways:
/// standalone schemas, or references into one generator's definitions.
enum List<'g> {
    Standalone(BTreeMap<&'static str, Schema>),
    Refs(&'g mut SchemaGenerator, BTreeMap<&'static str, Schema>),
}

impl List<'_> {
    fn add<T: JsonSchema>(&mut self, name: &'static str) {
        match self {
            List::Standalone(out) => out.insert(name, of::<T>()),
            List::Refs(generator, out) => out.insert(name, generator.subschema_for::<T>()),
        };
    }

    fn into_schemas(self) -> BTreeMap<&'static str, Schema> {
        match self {
            List::Standalone(out) | List::Refs(_, out) => out,
        }
    }
}

/// What a host takes in: each command's body, by its type's name, plus the
/// pieces a command takes as arguments (an idempotency key, a hold, a tracking
/// event, a listing's query).
pub fn commands() -> BTreeMap<&'static str, Schema> {
    let mut list = List::Standalone(BTreeMap::new());
    command_list(&mut list);
    list.into_schemas()
}

fn command_list(list: &mut List<'_>) {
    list.add::<PlaceOrder>("PlaceOrder");
    list.add::<AmendOrder>("AmendOrder");
    list.add::<RecordPayment>("RecordPayment");
    list.add::<NewCustomer>("NewCustomer");
    list.add::<ReceiveStock>("ReceiveStock");
    list.add::<AdjustStock>("AdjustStock");
    list.add::<IssueCreditNote>("IssueCreditNote");
    list.add::<RecordRefund>("RecordRefund");
    list.add::<RequestReturn>("RequestReturn");
    list.add::<RequestExchange>("RequestExchange");
    list.add::<ReceiveReturn>("ReceiveReturn");
    list.add::<ReceivePurchaseOrder>("ReceivePurchaseOrder");
    list.add::<Product>("Product");
    list.add::<Location>("Location");
    list.add::<TaxTable>("TaxTable");
    list.add::<Supplier>("Supplier");
    list.add::<ReorderRule>("ReorderRule");
    list.add::<Hold>("Hold");
    list.add::<TrackingEvent>("TrackingEvent");
    list.add::<ThirdPartyMessage>("ThirdPartyMessage");
    list.add::<crate::payment::PaymentNotification>("PaymentNotification");
    list.add::<crate::payment::RecordSettlement>("RecordSettlement");
    list.add::<OrderQuery>("OrderQuery");
    list.add::<crate::reports::PageRequest>("PageRequest");
    list.add::<crate::reports::DateRange>("DateRange");
    list.add::<crate::reports::SalesQuery>("SalesQuery");
    list.add::<crate::reports::StockFilter>("StockFilter");
    list.add::<IdempotencyKey>("IdempotencyKey");
}

/// What a host hands out: records, views, pages, reports, the event log and
/// the error body, by name.
pub fn views() -> BTreeMap<&'static str, Schema> {
    let mut list = List::Standalone(BTreeMap::new());
    view_list(&mut list);
    list.into_schemas()
}

fn view_list(list: &mut List<'_>) {
    list.add::<Order>("Order");
    list.add::<OrderView>("OrderView");
    list.add::<Applied<Order>>("AppliedOrder");
    list.add::<Page<Order, OrderCursor>>("OrderPage");
    list.add::<Customer>("Customer");
    list.add::<Page<Customer, CustomerId>>("CustomerPage");
    list.add::<Invoice>("Invoice");
    list.add::<Payment>("Payment");
    list.add::<CreditNote>("CreditNote");
    list.add::<Shipment>("Shipment");
    list.add::<Release>("Release");
    list.add::<Applied<ThirdPartyOutcome>>("ThirdPartyOutcome");
    list.add::<ThirdPartyFeed>("ThirdPartyFeed");
    list.add::<crate::payment::Settlement>("Settlement");
    list.add::<ReturnAuthorization>("ReturnAuthorization");
    list.add::<PurchaseOrder>("PurchaseOrder");
    list.add::<Requisition>("Requisition");
    list.add::<OfferRanking>("OfferRanking");
    list.add::<StockLevel>("StockLevel");
    list.add::<Availability>("Availability");
    list.add::<Valuation>("Valuation");
    list.add::<TrialBalance>("TrialBalance");
    list.add::<JournalEntry>("JournalEntry");
    list.add::<RecordedEvent>("RecordedEvent");
    list.add::<AuditReport>("AuditReport");
    list.add::<crate::automation::DueReport>("DueReport");
    list.add::<crate::reports::AgeingReport>("AgeingReport");
    list.add::<crate::reports::Page<crate::reports::SalesRow>>("SalesPage");
    list.add::<crate::reports::Page<crate::reports::CycleRow>>("CyclePage");
    list.add::<crate::reports::Page<crate::reports::FillRow>>("FillPage");
    list.add::<crate::reports::Page<crate::reports::OtifRow>>("OtifPage");
    list.add::<crate::reports::Page<crate::reports::BackOrderRow>>("BackOrderPage");
    list.add::<crate::reports::Page<crate::reports::InventoryRow>>("InventoryPage");
    list.add::<crate::reports::Page<crate::reports::PaymentRow>>("PaymentPage");
    list.add::<crate::reports::Page<crate::reports::ReturnRow>>("ReturnPage");
    list.add::<Vec<crate::reports::PipelineRow>>("PipelineRows");
    list.add::<Error>("Error");
}
