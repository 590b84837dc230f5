//! The baseline: the same order-to-cash bookkeeping written by hand over plain
//! collections, with no o2c type on its hot path.
//!
//! [`Plain`] holds the state and answers the [`Workload`] calls; its commands are
//! split as o2c's service is: [`ordering`], [`billing`] (invoices and payments) and
//! [`shipping`], over the [`records`] it keeps, its [`ledger`] and [`money`] helpers.

mod billing;
mod ledger;
mod money;
mod ordering;
pub(crate) mod records;
mod shipping;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hint::black_box;
use std::time::Instant;

use rust_decimal::Decimal;

use tokio::runtime::Runtime;

use crate::Res;
use crate::args::{Config, Limit};
use crate::mix::NewOrder;
use crate::pass::{PassResult, run_pass};
use crate::workload::{Batch, Locked, Placed, Refusal, Workload};
use crate::world::{UNKNOWN_SKU, World, reduced_rate, standard_rate};
use money::cents;
use records::{
    Event, JournalLine, Level, Movement, MovementReason, PlainCustomer, PlainInvoice, PlainOrder,
    PlainPayment, PlainProduct, PlainShipment, RecordedEvent,
};
use shipping::Booking;

/// The hand-written order-to-cash system.
pub(crate) struct Plain {
    pub(crate) now_ms: u64,
    /// Catalogue codes by index: the generated inputs, converted up front.
    pub(crate) codes: Vec<String>,
    pub(crate) products: HashMap<String, PlainProduct>,
    pub(crate) location_codes: Vec<String>,
    /// Location indexes by priority (then code).
    pub(crate) by_priority: Vec<usize>,
    pub(crate) stock: HashMap<String, Vec<Level>>,
    pub(crate) movements: HashMap<(String, usize), Vec<Movement>>,
    pub(crate) customers: Vec<PlainCustomer>,
    pub(crate) orders: Vec<PlainOrder>,
    pub(crate) orders_by_customer: HashMap<usize, Vec<usize>>,
    pub(crate) ready_to_ship: BTreeSet<(u64, usize)>,
    pub(crate) invoices: Vec<PlainInvoice>,
    pub(crate) invoice_counter: u64,
    pub(crate) payments: Vec<PlainPayment>,
    pub(crate) shipments: Vec<PlainShipment>,
    bookings: HashMap<String, Booking>,
    pub(crate) tracking_events: HashMap<String, Vec<String>>,
    pub(crate) booking_serial: u64,
    pub(crate) journal: Vec<JournalLine>,
    pub(crate) entries: u64,
    pub(crate) balances: HashMap<&'static str, Decimal>,
    pub(crate) events: Vec<RecordedEvent>,
    pub(crate) order_keys: HashMap<String, usize>,
    pub(crate) payment_keys: HashMap<String, usize>,
}

impl Plain {
    /// The baseline loaded with `world`: catalogue, opening stock and customers.
    pub(crate) fn setup(world: &World) -> Plain {
        let locations = world.locations.len();
        let mut plain = Plain {
            now_ms: 0,
            codes: world.products.iter().map(|p| p.code.clone()).collect(),
            products: HashMap::with_capacity(world.products.len()),
            location_codes: world.locations.clone(),
            by_priority: (0..locations).collect(),
            stock: HashMap::with_capacity(world.products.len()),
            movements: HashMap::new(),
            customers: Vec::new(),
            orders: Vec::new(),
            orders_by_customer: HashMap::new(),
            ready_to_ship: BTreeSet::new(),
            invoices: Vec::new(),
            invoice_counter: 0,
            payments: Vec::new(),
            shipments: Vec::new(),
            bookings: HashMap::new(),
            tracking_events: HashMap::new(),
            booking_serial: 0,
            journal: Vec::new(),
            entries: 0,
            balances: HashMap::new(),
            events: Vec::new(),
            order_keys: HashMap::new(),
            payment_keys: HashMap::new(),
        };
        let on_hand = i64::from(world.stock);
        for spec in &world.products {
            let product = PlainProduct {
                name: spec.name.clone(),
                price: Decimal::new(spec.price_cents, 2),
                cost: Decimal::new(spec.cost_cents, 2),
                tax_rate: if spec.reduced_tax {
                    reduced_rate()
                } else {
                    standard_rate()
                },
                weight_grams: spec.weight_grams,
                reorder_point: spec.reorder_point,
            };
            plain.products.insert(spec.code.clone(), product);
            let level = Level {
                on_hand,
                reserved: 0,
            };
            plain
                .stock
                .insert(spec.code.clone(), vec![level; locations]);
            for location in 0..locations {
                let opening = Movement {
                    quantity: on_hand,
                    reason: MovementReason::Receipt,
                    at_ms: 0,
                };
                plain
                    .movements
                    .insert((spec.code.clone(), location), vec![opening]);
            }
        }
        plain.customers = (0..world.customers)
            .map(|_| PlainCustomer {
                orders_placed: 0,
                lifetime_value: Decimal::ZERO,
                last_order_ms: None,
                balance: Decimal::ZERO,
                credit: Decimal::ZERO,
                uninvoiced: Decimal::ZERO,
            })
            .collect();
        plain
    }

    fn level(&self, sku: &str, location: usize) -> Option<Level> {
        self.stock.get(sku)?.get(location).copied()
    }

    fn level_mut(&mut self, sku: &str, location: usize) -> Result<&mut Level, String> {
        self.stock
            .get_mut(sku)
            .and_then(|at| at.get_mut(location))
            .ok_or_else(|| format!("no stock record for {sku} at {location}"))
    }

    /// Appends `events` to the event log, numbered from 1.
    fn emit(&mut self, events: Vec<Event>) {
        for event in events {
            let sequence = self.events.len() as u64 + 1;
            self.events.push(RecordedEvent {
                sequence,
                at_ms: self.now_ms,
                event,
            });
        }
    }

    /// The latest order of `customer`, read as a status screen would: its number of
    /// lines, if there is one.
    fn read_order_status(&self, customer: usize) -> Option<usize> {
        let id = *self.orders_by_customer.get(&customer)?.last()?;
        let order = self.orders.get(id)?;
        // What the caller gets back: the order's lines and its two statuses.
        let lines: Vec<(String, u32, u32, Decimal)> = order
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.quantity, l.shipped, l.amounts.net))
            .collect();
        let count = lines.len();
        black_box((order.fulfilment(), order.payment_status(), lines));
        Some(count)
    }

    /// (distinct SKUs of the `recent` orders, how many of them are below their reorder
    /// point)
    fn read_stock_level(&self, recent: &VecDeque<usize>) -> (u64, u64) {
        let skus: HashSet<&str> = recent
            .iter()
            .filter_map(|&id| self.orders.get(id))
            .flat_map(|o| o.lines.iter().map(|l| l.sku.as_str()))
            .collect();
        let mut low = 0;
        for sku in &skus {
            let available: i64 = self
                .stock
                .get(*sku)
                .map_or(0, |at| at.iter().map(|l| l.available()).sum());
            let reorder_point = self.products.get(*sku).map_or(0, |p| p.reorder_point);
            if available < i64::from(reorder_point) {
                low += 1;
            }
        }
        (skus.len() as u64, low)
    }
}

impl Workload for Plain {
    type OrderRef = usize;
    type InvoiceRef = usize;

    fn tick(&mut self) {
        self.now_ms += 1;
    }

    fn last_event(&mut self) -> Result<u64, String> {
        Ok(self.events.len() as u64)
    }

    fn journal_lines(&mut self) -> Result<u64, String> {
        Ok(self.journal.len() as u64)
    }

    fn place_order(&mut self, n: u64, order: &NewOrder) -> Result<Placed<usize, usize>, Refusal> {
        let requested: Vec<(String, u32)> = order
            .lines
            .iter()
            .map(|l| {
                let code = l
                    .sku
                    .and_then(|i| self.codes.get(i))
                    .map_or(UNKNOWN_SKU, String::as_str);
                (code.to_owned(), l.quantity)
            })
            .collect();
        let lines = requested.len();
        let (id, invoice) = self.place(format!("order-{n}"), order.customer, requested)?;
        let total = self
            .invoices
            .get(invoice)
            .ok_or_else(|| Refusal::Failed("no invoice".into()))?
            .total;
        Ok(Placed {
            order: id,
            invoice,
            total_cents: cents(total).map_err(Refusal::Failed)?,
            lines,
        })
    }

    fn pay(&mut self, n: u64, invoice: usize, cents: i64) -> Result<(), String> {
        self.record_payment(format!("pay-{n}"), invoice, Decimal::new(cents, 2))
            .map(drop)
    }

    fn order_status(&mut self, customer: usize) -> Result<Option<usize>, String> {
        Ok(self.read_order_status(customer))
    }

    fn ship_batch(&mut self, limit: usize) -> Result<Batch, String> {
        Ok(self.ship_ready(limit))
    }

    fn stock_level(&mut self, recent: &VecDeque<usize>) -> Result<(u64, u64), String> {
        Ok(self.read_stock_level(recent))
    }
}

/// The baseline's run: its setup time and its pass.
#[derive(Debug)]
pub(crate) struct BaselineRun {
    pub(crate) setup_seconds: f64,
    pub(crate) pass: PassResult,
}

/// Sets the baseline up from `world` and runs the mix, caller `i` until
/// `limits[i]`; concurrent callers share it behind one lock.
pub(crate) fn run_baseline(
    cfg: &Config,
    world: &World,
    limits: &[Limit],
    runtime: Option<&Runtime>,
) -> Res<BaselineRun> {
    let started = Instant::now();
    let system = std::sync::Arc::new(Locked::new(Plain::setup(world)));
    let setup_seconds = started.elapsed().as_secs_f64();
    let pass = run_pass(&system, cfg, limits, "baseline", runtime)?;
    Ok(BaselineRun {
        setup_seconds,
        pass,
    })
}
