//! The fold: events in, read models out (see the module docs for the design).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use smallvec::SmallVec;

use super::{cycle, fulfilment, inventory, payments, pipeline, receivables, returns, sales};
use crate::event::{Event, RecordedEvent};
use crate::ids::{CustomerId, OrderId, OrderNumber, Sku};
use crate::money::Currency;
use crate::order::{Channel, Hold};
use crate::stock::StockLevel;
use crate::store::{Fetched, Prefetch, Record, RecordKey};

/// What the projector remembers of each order from its events: enough to place its
/// documents in a channel, and its milestones for cycle times and on-time-in-full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderTrack {
    pub channel: Channel,
    pub customer: CustomerId,
    pub currency: Currency,
    pub placed_at: DateTime<Utc>,
    /// What the order is worth (its placed total, then each amendment's value).
    pub total: Decimal,
    /// Σ of payments applied to its invoices.
    pub paid: Decimal,
    pub paid_at: Option<DateTime<Utc>>,
    pub first_shipped_at: Option<DateTime<Utc>>,
    pub last_shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The latest date a back-ordered line was promised for.
    pub promised_on: Option<NaiveDate>,
    /// A back-ordered line had no promise date at some point.
    pub unpromised: bool,
    /// Units were cancelled: the order can no longer be in full.
    pub cut_short: bool,
    /// Stock fell short when it was placed.
    pub short: bool,
    /// The holds placed and not yet released.
    pub holds: SmallVec<[Hold; 2]>,
    /// Cancelled whole (not only its unshipped remainder).
    pub cancelled: bool,
    /// Delivered and paid in full.
    pub completed: bool,
}

impl OrderTrack {
    fn new(
        channel: Channel,
        customer: CustomerId,
        total: crate::money::Money,
        placed_at: DateTime<Utc>,
    ) -> Self {
        Self {
            channel,
            customer,
            currency: total.currency(),
            placed_at,
            total: total.amount(),
            paid: Decimal::ZERO,
            paid_at: None,
            first_shipped_at: None,
            last_shipped_at: None,
            delivered_at: None,
            promised_on: None,
            unpromised: false,
            cut_short: false,
            short: false,
            holds: SmallVec::new(),
            cancelled: false,
            completed: false,
        }
    }
}

/// Every read model, and the sequence of the last event folded into them.
///
/// Built by [`crate::Oms`] (see [`crate::Oms::refresh_reports`]); two folds of the
/// same events over the same records are equal, whatever batches they came in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadModels {
    cursor: u64,
    /// The order whose placement's events are being folded: the reservations and
    /// back orders that follow its `OrderPlaced` in the same commit say how much of
    /// it stock filled at once.
    placing: Option<OrderId>,
    orders: HashMap<OrderId, OrderTrack>,
    /// The order each number names, for a customer quoting theirs.
    numbers: HashMap<OrderNumber, OrderId>,
    /// SKUs whose stock moved since the inventory report last read it.
    stale_stock: BTreeSet<Sku>,
    /// A count may have moved any SKU's stock.
    all_stock_stale: bool,
    pub(super) sales: sales::Sales,
    pub(super) receivables: receivables::Receivables,
    pub(super) cycles: cycle::Cycles,
    pub(super) fulfilment: fulfilment::Fulfilment,
    pub(super) inventory: inventory::Inventory,
    pub(super) payments: payments::Payments,
    pub(super) returns: returns::Returns,
    pub(super) pipeline: pipeline::Pipeline,
}

/// The documents a batch of events names, to be read at once.
pub(crate) fn wanted_documents(models: &ReadModels, events: &[RecordedEvent]) -> Prefetch {
    let mut keys: BTreeSet<RecordKey> = BTreeSet::new();
    let mut placed: BTreeSet<OrderId> = BTreeSet::new();
    for recorded in events {
        let event = &recorded.event;
        if let Event::OrderPlaced { order, .. } = event {
            placed.insert(*order);
        }
        for key in named(event) {
            keys.insert(key);
        }
        // An order's channel comes from its placement; one placed before the
        // cursor's history (an old log) is read instead.
        if let Some(order) = documented_order(event)
            && !models.orders.contains_key(&order)
            && !placed.contains(&order)
        {
            keys.insert(RecordKey::Order(order));
        }
    }
    Prefetch {
        records: keys.into_iter().collect(),
        ..Prefetch::default()
    }
}

/// The stock the inventory report must read before it answers.
pub(crate) enum StaleStock {
    /// Every level (a stock count changed a location's SKUs unnamed).
    All,
    /// Every location of these SKUs.
    Skus(Vec<Sku>),
}

/// The SKUs whose stock the events moved (their documents read): `None` when a
/// count may have moved any.
fn moved_stock(events: &[RecordedEvent], docs: &Documents<'_>) -> Option<BTreeSet<Sku>> {
    let mut skus: BTreeSet<Sku> = BTreeSet::new();
    for recorded in events {
        match &recorded.event {
            Event::StockCounted { .. } => return None,
            Event::ShipmentBooked { shipment, .. } => {
                if let Some(Record::Shipment(s)) = docs.get(&RecordKey::Shipment(*shipment)) {
                    skus.extend(s.lines.iter().map(|l| l.sku.clone()));
                }
            }
            Event::OrderCancelled { order, .. }
            | Event::OrderRemainderCancelled { order, .. }
            | Event::OrderAmended { order, .. } => {
                if let Some(Record::Order(o)) = docs.get(&RecordKey::Order(*order)) {
                    skus.extend(o.lines.iter().map(|l| l.sku.clone()));
                }
            }
            Event::StockReservedForOrder { reservations, .. } => {
                skus.extend(reservations.iter().map(|r| r.sku.clone()));
            }
            Event::OrderReleased { lines, .. } | Event::ReleaseRejected { lines, .. } => {
                skus.extend(lines.iter().map(|l| l.sku.clone()));
            }
            event => skus.extend(moved_sku(event).cloned()),
        }
    }
    Some(skus)
}

/// The SKU whose stock an event names.
fn moved_sku(event: &Event) -> Option<&Sku> {
    match event {
        Event::StockReserved { sku, .. }
        | Event::StockReleased { sku, .. }
        | Event::StockReceived { sku, .. }
        | Event::StockAdjusted { sku, .. }
        | Event::GoodsReceived { sku, .. }
        | Event::BackOrderAllocated { sku, .. }
        | Event::ReturnReceived { sku, .. }
        | Event::ReorderRuleSaved { sku, .. }
        | Event::ProductSaved { sku } => Some(sku),
        _ => None,
    }
}

/// The order whose channel a document-bearing event needs.
fn documented_order(event: &Event) -> Option<OrderId> {
    match event {
        Event::InvoiceIssued { order, .. }
        | Event::CreditNoteIssued { order, .. }
        | Event::ShipmentBooked { order, .. }
        | Event::ReturnReceived { order, .. }
        | Event::PaymentRecorded { order, .. } => Some(*order),
        _ => None,
    }
}

/// The records an event names whose contents the read models take.
fn named(event: &Event) -> Vec<RecordKey> {
    match event {
        Event::InvoiceIssued { invoice, .. }
        | Event::InvoiceVoided { invoice, .. }
        | Event::PaymentReminder { invoice, .. }
        | Event::CustomerOverdue { invoice, .. } => vec![RecordKey::Invoice(*invoice)],
        Event::PaymentRecorded {
            payment, invoice, ..
        } => vec![RecordKey::Payment(*payment), RecordKey::Invoice(*invoice)],
        Event::CreditNoteIssued {
            credit_note,
            invoice,
            order,
            ..
        } => vec![
            RecordKey::CreditNote(*credit_note),
            RecordKey::Invoice(*invoice),
            RecordKey::Order(*order),
        ],
        Event::RefundIssued { payment, .. } | Event::RefundFailed { payment, .. } => {
            vec![RecordKey::Payment(*payment)]
        }
        Event::ShipmentBooked { shipment, .. } => vec![RecordKey::Shipment(*shipment)],
        // Restocked goods come back at their cost, moving the average.
        Event::ReturnReceived {
            sku,
            restocked_at: Some(_),
            ..
        } => vec![RecordKey::Product(sku.clone())],
        Event::ReturnRequested { rma, .. } => vec![RecordKey::Return(*rma)],
        Event::BackOrderCreated { order, .. }
        | Event::BackOrderAllocated { order, .. }
        | Event::PromiseDateChanged { order, .. }
        | Event::OrderCancelled { order, .. }
        | Event::OrderRemainderCancelled { order, .. }
        | Event::OrderAmended { order, .. }
        | Event::OrderCompleted { order } => vec![RecordKey::Order(*order)],
        Event::PurchaseOrderRaised { purchase_order, .. }
        | Event::PurchaseOrderApproved { purchase_order }
        | Event::PurchaseOrderCancelled { purchase_order }
        | Event::PurchaseOrderClosed { purchase_order }
        | Event::PurchaseOrderLate { purchase_order, .. } => {
            vec![RecordKey::PurchaseOrder(*purchase_order)]
        }
        // A receipt moves the product's moving-average cost too.
        Event::GoodsReceived {
            purchase_order,
            sku,
            ..
        } => vec![
            RecordKey::PurchaseOrder(*purchase_order),
            RecordKey::Product(sku.clone()),
        ],
        Event::ProductSaved { sku } => vec![RecordKey::Product(sku.clone())],
        Event::ReorderRuleSaved { sku, location } => {
            vec![RecordKey::ReorderRule(sku.clone(), location.clone())]
        }
        _ => Vec::new(),
    }
}

/// The records one batch read, by key.
pub(crate) struct Documents<'a> {
    by_key: HashMap<RecordKey, &'a Record>,
}

impl<'a> Documents<'a> {
    pub(crate) fn new(fetched: &'a Fetched) -> Self {
        Self {
            by_key: fetched
                .records
                .iter()
                .map(|(_, record)| (record.key(), record.as_ref()))
                .collect(),
        }
    }

    pub(crate) fn get(&self, key: &RecordKey) -> Option<&'a Record> {
        self.by_key.get(key).copied()
    }
}

impl ReadModels {
    /// Nothing folded yet: the cursor at 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sequence of the last event folded in.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The order `number` names, if one was placed with it.
    pub(crate) fn order_by_number(&self, number: &OrderNumber) -> Option<OrderId> {
        self.numbers.get(number).copied()
    }

    /// The names of the read models that differ between `self` and `other` (for
    /// a check that a rebuild matches the models kept up to date).
    pub fn differences(&self, other: &ReadModels) -> Vec<&'static str> {
        let mut differ = Vec::new();
        let mut check = |name, same: bool| {
            if !same {
                differ.push(name);
            }
        };
        check("cursor", self.cursor == other.cursor);
        check("placing", self.placing == other.placing);
        check("orders", self.orders == other.orders);
        check("numbers", self.numbers == other.numbers);
        check(
            "stale_stock",
            self.stale_stock == other.stale_stock && self.all_stock_stale == other.all_stock_stale,
        );
        check("sales", self.sales == other.sales);
        check("receivables", self.receivables == other.receivables);
        check("cycles", self.cycles == other.cycles);
        check("fulfilment", self.fulfilment == other.fulfilment);
        check("payments", self.payments == other.payments);
        check("returns", self.returns == other.returns);
        check("pipeline", self.pipeline == other.pipeline);
        differ.extend(self.inventory.differences(&other.inventory));
        differ
    }

    /// Folds `events` (the ones after [`ReadModels::cursor`], in order) with the
    /// records `docs` read for them. The stock they moved is only marked: the
    /// inventory report reads it when it is asked ([`ReadModels::settle_stock`]),
    /// so following the log never reads stock.
    pub(crate) fn apply(&mut self, events: &[RecordedEvent], docs: &Documents<'_>) {
        for recorded in events {
            if recorded.sequence <= self.cursor {
                continue;
            }
            self.fold(recorded, docs);
            self.cursor = recorded.sequence;
        }
        // What changes in place is taken as it stands now, replacing what the
        // record gave before.
        for recorded in events {
            for key in named(&recorded.event) {
                match docs.get(&key) {
                    Some(Record::Invoice(invoice)) => self.receivables.project(invoice),
                    Some(Record::Order(order)) => self.fulfilment.project(order),
                    Some(Record::PurchaseOrder(po)) => self.inventory.project_purchase(po),
                    Some(Record::Product(product)) => self.inventory.project_product(product),
                    Some(Record::ReorderRule(rule)) => self.inventory.project_rule(rule),
                    _ => {}
                }
            }
        }
        match moved_stock(events, docs) {
            None => self.all_stock_stale = true,
            Some(skus) if !self.all_stock_stale => self.stale_stock.extend(skus),
            Some(_) => {}
        }
    }

    /// The stock to read before the inventory report answers, if any.
    pub(crate) fn stale_stock(&self) -> Option<StaleStock> {
        if self.all_stock_stale {
            Some(StaleStock::All)
        } else if self.stale_stock.is_empty() {
            None
        } else {
            Some(StaleStock::Skus(self.stale_stock.iter().cloned().collect()))
        }
    }

    /// Takes the levels read for `asked` (every level, for [`StaleStock::All`]).
    pub(crate) fn settle_stock(&mut self, asked: &StaleStock, levels: &[StockLevel]) {
        match asked {
            StaleStock::All => {
                self.inventory.project_stock(levels, true);
                self.all_stock_stale = false;
                self.stale_stock.clear();
            }
            StaleStock::Skus(skus) => {
                self.inventory.project_stock(levels, false);
                for sku in skus {
                    self.stale_stock.remove(sku);
                }
            }
        }
    }

    fn track(&self, order: &OrderId, docs: &Documents<'_>) -> Option<OrderTrack> {
        if let Some(track) = self.orders.get(order) {
            return Some(track.clone());
        }
        match docs.get(&RecordKey::Order(*order)) {
            Some(Record::Order(o)) => Some(OrderTrack::new(
                o.channel,
                o.customer,
                crate::money::Money::zero(o.currency),
                o.placed_at,
            )),
            _ => None,
        }
    }

    fn fold(&mut self, recorded: &RecordedEvent, docs: &Documents<'_>) {
        let at = recorded.recorded_at;
        let event = &recorded.event;
        // A placement's events come together: anything else ends the window.
        if let Some(placing) = self.placing {
            let same = matches!(
                event,
                Event::StockReservedForOrder { order, .. }
                | Event::StockReserved { order, .. }
                | Event::BackOrderCreated { order, .. } if *order == placing
            );
            if !same {
                self.placing = None;
            }
        }
        // The order's standing before and after the event: whatever the event
        // changed, its stage or its worth, moves it between the pipeline's rows
        // without a walk over every order.
        let restaged = pipeline::restaged_order(event).map(|order| {
            let before = self.orders.get(&order).map(pipeline::Standing::of);
            (order, before)
        });
        self.fold_event(event, at, docs);
        if let Some((order, before)) = restaged {
            let after = self.orders.get_mut(&order).map(|track| {
                track.note_stage(event);
                pipeline::Standing::of(track)
            });
            self.pipeline.moved(before, after);
        }
    }

    /// What `event` changes in every read model but the pipeline.
    fn fold_event(&mut self, event: &Event, at: DateTime<Utc>, docs: &Documents<'_>) {
        match event {
            Event::OrderPlaced {
                order,
                number,
                customer,
                channel,
                total,
            } => {
                if let Some(number) = number {
                    self.numbers.insert(*number, *order);
                }
                let track = OrderTrack::new(*channel, *customer, *total, at);
                self.fulfilment.placed(&track);
                self.orders.insert(*order, track);
                self.placing = Some(*order);
            }
            Event::StockReservedForOrder {
                order,
                reservations,
            } if self.placing == Some(*order) => {
                if let Some(track) = self.orders.get(order) {
                    let units = reservations.iter().map(|r| r.quantity.as_i64()).sum();
                    self.fulfilment.filled_at_placement(track, units);
                }
            }
            Event::StockReserved {
                order, quantity, ..
            } if self.placing == Some(*order) => {
                if let Some(track) = self.orders.get(order) {
                    self.fulfilment
                        .filled_at_placement(track, quantity.as_i64());
                }
            }
            Event::BackOrderCreated {
                order,
                quantity,
                promised_on,
                ..
            } => {
                if let Some(track) = self.orders.get_mut(order) {
                    if self.placing == Some(*order) {
                        let first = !track.short;
                        track.short = true;
                        self.fulfilment
                            .short_at_placement(track, quantity.as_i64(), first);
                    }
                    promise(track, *promised_on);
                }
            }
            Event::OrderAmended { order, value, .. } => {
                if let Some(track) = self.orders.get_mut(order) {
                    track.total = value.amount();
                }
            }
            Event::OrderRemainderCancelled { order, value, .. } => {
                if let Some(track) = self.orders.get_mut(order) {
                    track.cut_short = true;
                    if let Some(value) = value {
                        track.total = value.amount();
                    }
                }
            }
            Event::OrderCancelled { order, .. } => {
                if let Some(track) = self.orders.get_mut(order) {
                    track.cut_short = true;
                }
            }
            Event::InvoiceIssued { invoice, order, .. } => {
                if let (Some(Record::Invoice(doc)), Some(track)) = (
                    docs.get(&RecordKey::Invoice(*invoice)),
                    self.track(order, docs),
                ) {
                    self.sales.invoiced(&track, doc);
                    self.returns.invoiced(doc);
                    self.receivables.issued(doc);
                }
            }
            Event::InvoiceVoided { invoice, order } => {
                if let (Some(Record::Invoice(doc)), Some(track)) = (
                    docs.get(&RecordKey::Invoice(*invoice)),
                    self.track(order, docs),
                ) {
                    self.sales.voided(&track, doc, at);
                    self.returns.voided(doc, at);
                    self.receivables.voided(doc, at);
                }
            }
            Event::CreditNoteIssued {
                credit_note, order, ..
            } => {
                if let (Some(Record::CreditNote(doc)), Some(track)) = (
                    docs.get(&RecordKey::CreditNote(*credit_note)),
                    self.track(order, docs),
                ) {
                    self.sales.credited(&track, doc);
                }
            }
            Event::ShipmentBooked {
                shipment, order, ..
            } => {
                if let Some(Record::Shipment(doc)) = docs.get(&RecordKey::Shipment(*shipment)) {
                    if let Some(track) = self.track(order, docs) {
                        self.sales.shipped(&track, doc);
                    }
                    self.inventory.shipped(doc);
                }
                if let Some(track) = self.orders.get_mut(order) {
                    if track.first_shipped_at.is_none() {
                        track.first_shipped_at = Some(at);
                        self.cycles
                            .reached(track, cycle::CycleStage::PlacedToShipped, at);
                    }
                    track.last_shipped_at = Some(at);
                }
            }
            Event::ShipmentDelivered { order, .. } => {
                if let Some(track) = self.orders.get_mut(order)
                    && track.delivered_at.is_none()
                {
                    track.delivered_at = Some(at);
                    self.cycles
                        .reached(track, cycle::CycleStage::PlacedToDelivered, at);
                    if let Some(shipped) = track.first_shipped_at {
                        self.cycles.between(
                            track,
                            cycle::CycleStage::ShippedToDelivered,
                            shipped,
                            at,
                        );
                    }
                }
            }
            Event::OrderCompleted { order } => {
                if let Some(track) = self.orders.get(order) {
                    self.fulfilment.completed(track, at);
                }
            }
            Event::ReturnRequested { rma, .. } => {
                if let Some(Record::Return(doc)) = docs.get(&RecordKey::Return(*rma)) {
                    self.returns.requested(doc, at);
                }
            }
            Event::ReturnReceived {
                order,
                sku,
                quantity,
                cost,
                ..
            } => {
                if let Some(track) = self.track(order, docs) {
                    self.sales
                        .returned(&track, sku, quantity.as_i64(), *cost, at);
                }
                self.returns.received(sku, quantity.as_i64(), at);
            }
            Event::PaymentRecorded {
                payment,
                order,
                applied,
                ..
            } => {
                if let Some(Record::Payment(doc)) = docs.get(&RecordKey::Payment(*payment)) {
                    self.payments.recorded(doc, at);
                }
                if let Some(track) = self.orders.get_mut(order) {
                    track.paid = track.paid.saturating_add(applied.amount());
                    if track.paid_at.is_none() && track.paid >= track.total {
                        track.paid_at = Some(at);
                        self.cycles
                            .reached(track, cycle::CycleStage::PlacedToPaid, at);
                    }
                }
            }
            Event::RefundIssued { amount, .. } => self.payments.refunded(*amount, at),
            Event::RefundFailed { amount, .. } => self.payments.refund_failed(*amount, at),
            Event::PaymentAuthorised { amount, .. } => self.payments.authorised(*amount, at),
            Event::PaymentDeclined { order, .. } => {
                let currency = self.orders.get(order).map(|t| t.currency);
                self.payments.declined(currency, at);
            }
            Event::CaptureFailed { amount, .. } => self.payments.capture_failed(*amount, at),
            Event::PaymentSettled { gross, fee, .. } => self.payments.settled(*gross, *fee, at),
            _ => {}
        }
    }
}

/// Keeps the latest promise an order's lines were given when they were
/// back-ordered. A date moved later ([`Event::PromiseDateChanged`]) does not move
/// the goalposts: on-time-in-full measures against what the customer was told.
fn promise(track: &mut OrderTrack, promised_on: Option<NaiveDate>) {
    match promised_on {
        Some(day) => track.promised_on = Some(track.promised_on.map_or(day, |p| p.max(day))),
        None => track.unpromised = true,
    }
}
