//! The read models under the simulation: folded a little after every command (the
//! way a dashboard refreshing all day would), they must end equal to a fold of
//! the whole log from scratch, and agree with the raw store — what every invoice
//! still owes, the stock at every location, the units every order waits for.

use std::collections::BTreeMap;
use std::sync::Arc;

use o2c::Oms;
use o2c::fulfilment::PickupCarrier;
use o2c::ledger::Invoice;
use o2c::money::Currency;
use o2c::order::Order;
use o2c::reports::{DateRange, Page, PageRequest, StockFilter};
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
    problems
}
