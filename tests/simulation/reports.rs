//! The read models under the simulation: folded a little after every command (the
//! way a dashboard refreshing all day would), they must end equal to a fold of
//! the whole log from scratch, and agree with the raw store — what every invoice
//! still owes, the stock at every location, the units every order waits for,
//! the orders at each stage of the pipeline and the number each is found by.

use std::collections::BTreeMap;
use std::sync::Arc;

use o2c::Oms;
use o2c::fulfilment::PickupCarrier;
use o2c::ledger::Invoice;
use o2c::money::Currency;
use o2c::order::{Channel, Order, OrderStatus};
use o2c::reports::{DateRange, Page, PageRequest, PipelineStage, StockFilter};
use o2c::store::Store;
use rust_decimal::Decimal;

use crate::sim::Sim;

/// Folds what the last command committed (faults off: a refresh that failed would
/// only be retried by the next one).
pub fn fold_a_little<S: Store>(sim: &Sim<'_, S>) {
    if let Err(e) = sim
        .plan()
        .quietly(|| pollster::block_on(sim.oms.refresh_reports()))
    {
        sim.fail(&format!("the read models could not fold the log: {e}"));
    }
}

/// Every page of a report.
fn all_pages<T>(mut ask: impl FnMut(&PageRequest) -> Result<Page<T>, o2c::Error>) -> Vec<T> {
    let mut request = PageRequest::first(100);
    let mut rows = Vec::new();
    loop {
        let page = ask(&request).expect("a report page");
        let next = request.next(&page);
        rows.extend(page.items);
        match next {
            Some(n) => request = n,
            None => return rows,
        }
    }
}

pub fn read_models_agree<S: Store>(sim: &Sim<'_, S>) -> Vec<String> {
    let mut problems = Vec::new();
    let kept = sim
        .plan()
        .quietly(|| pollster::block_on(sim.oms.read_models()))
        .expect("fold the log");
    let fresh = Oms::new(Arc::clone(&sim.direct), PickupCarrier::new());
    let rebuilt = pollster::block_on(fresh.read_models()).expect("fold the log from scratch");
    if kept != rebuilt {
        problems.push(format!(
            "the read models kept up to date differ from a rebuild in {:?}",
            kept.differences(&rebuilt)
        ));
    }

    // Ageing, as of any day: its totals are what the invoices still owe.
    let today = {
        use o2c::clock::Clock;
        sim.outside.clock.now().date_naive()
    };
    let ageing = pollster::block_on(fresh.receivables_ageing(today, &PageRequest::first(100)))
        .expect("ageing");
    let mut owed: BTreeMap<Currency, Decimal> = BTreeMap::new();
    for invoice in sim.all::<Invoice>() {
        let left = invoice.outstanding().expect("outstanding");
        if left.is_positive() {
            *owed.entry(left.currency()).or_default() += left.amount();
        }
    }
    let totals: BTreeMap<Currency, Decimal> = ageing
        .totals
        .iter()
        .map(|row| (row.total.currency(), row.total.amount()))
        .collect();
    if totals != owed {
        problems.push(format!(
            "ageing totals {totals:?}, but the invoices owe {owed:?}"
        ));
    }

    // Inventory: every level as the store holds it.
    let year = DateRange::days_up_to(today, 365);
    let rows = all_pages(|page| pollster::block_on(fresh.inventory(year, StockFilter::All, page)));
    let reported: BTreeMap<_, _> = rows
        .iter()
        .map(|r| ((r.sku.clone(), r.location.clone()), (r.on_hand, r.reserved)))
        .collect();
    let stored: BTreeMap<_, _> = sim
        .read(sim.direct.all_stock_levels())
        .into_iter()
        .map(|l| ((l.sku, l.location), (l.on_hand, l.reserved)))
        .collect();
    // Rows for a reorder rule or units on order where nothing is stocked yet
    // show nothing on hand.
    let mut reported = reported;
    reported.retain(|site, held| stored.contains_key(site) || *held != (0, 0));
    if reported != stored {
        problems.push(format!(
            "inventory report {reported:?}, but the store holds {stored:?}"
        ));
    }

    // Back orders: the units every order line waits for.
    let rows = all_pages(|page| pollster::block_on(fresh.back_order_ageing(page)));
    let reported: BTreeMap<_, _> = rows.iter().map(|r| (r.sku.clone(), r.units)).collect();
    let mut waiting: BTreeMap<_, i64> = BTreeMap::new();
    for order in sim.all::<Order>() {
        for line in &order.lines {
            if !line.backordered.is_zero() {
                *waiting.entry(line.sku.clone()).or_default() += line.backordered.as_i64();
            }
        }
    }
    if reported != waiting {
        problems.push(format!(
            "back-order ageing {reported:?}, but the orders wait for {waiting:?}"
        ));
    }
    problems.extend(pipeline_agrees(sim, &fresh));
    problems
}

/// The pipeline holds every stored order once, and its closed and held orders
/// are the ones the store says; each order is found by its number.
fn pipeline_agrees<S: Store>(sim: &Sim<'_, S>, fresh: &Oms<Arc<S>, PickupCarrier>) -> Vec<String> {
    let mut problems = Vec::new();
    let rows = pollster::block_on(fresh.order_pipeline()).expect("order pipeline");
    let orders = sim.all::<Order>();
    let counted: u64 = rows.iter().map(|r| r.orders).sum();
    if counted != orders.len() as u64 {
        problems.push(format!(
            "the pipeline counts {counted} orders, but the store holds {}",
            orders.len()
        ));
    }
    // The stages an order's status tells outright; placed, shipped and delivered
    // are told apart only by its events.
    let told = |stage| match stage {
        PipelineStage::Cancelled => Some(OrderStatus::Cancelled),
        PipelineStage::Completed => Some(OrderStatus::Completed),
        PipelineStage::OnHold => Some(OrderStatus::OnHold),
        _ => None,
    };
    let mut reported: BTreeMap<(PipelineStage, Channel), u64> = BTreeMap::new();
    for row in rows.iter().filter(|r| told(r.stage).is_some()) {
        *reported.entry((row.stage, row.channel)).or_default() += row.orders;
    }
    let mut stored: BTreeMap<(PipelineStage, Channel), u64> = BTreeMap::new();
    for order in &orders {
        if let Some(stage) = PipelineStage::ALL
            .into_iter()
            .find(|s| told(*s) == Some(order.status))
        {
            *stored.entry((stage, order.channel)).or_default() += 1;
        }
    }
    if reported != stored {
        problems.push(format!(
            "the pipeline's closed and held orders {reported:?}, but the store's {stored:?}"
        ));
    }
    // What the open and closed orders are worth: each order's value as it
    // stands, after amendments and cancelled remainders (a cancelled order
    // keeps what it was worth, so it is left out).
    let mut reported: BTreeMap<String, rust_decimal::Decimal> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.stage != PipelineStage::Cancelled) {
        *reported
            .entry(row.value.currency().to_string())
            .or_default() += row.value.amount();
    }
    let mut stored: BTreeMap<String, rust_decimal::Decimal> = BTreeMap::new();
    for order in orders.iter().filter(|o| o.status != OrderStatus::Cancelled) {
        let value = order.value().expect("an order's value");
        *stored.entry(value.currency().to_string()).or_default() += value.amount();
    }
    if reported != stored {
        problems.push(format!(
            "the pipeline says the orders not cancelled are worth {reported:?}, but they are worth {stored:?}"
        ));
    }
    // A sample: each lookup reads the log once to stay current.
    for order in orders.iter().take(50) {
        let Some(number) = order.number else {
            problems.push(format!("order {} has no number", order.id));
            continue;
        };
        let found = pollster::block_on(fresh.order_by_number(&number)).expect("order by number");
        if found != Some(order.id) {
            problems.push(format!(
                "order {number} is {}, but the lookup finds {found:?}",
                order.id
            ));
        }
    }
    problems
}
