//! Orders against the documents about them: each line's invoices, shipments,
//! returns, reservations and back-order queue places; each order's totals.

use rust_decimal::Decimal;

use super::{Audit, Violation, add, add_to};
use crate::ids::{OrderId, Sku};
use crate::ledger::InvoiceLine;
use crate::money::Money;
use crate::order::{LineAmounts, Order, OrderLine, OrderStatus};
use crate::purchasing::BackOrderQueue;
use crate::store::{ReadResult, Snapshot, each};

/// What the documents say about one order line. Kept for every order line until
/// its order is read, so it is small: a million orders have five million of these.
#[derive(Debug, Default)]
pub(super) struct LineTally {
    /// Σ gross, discount, net and tax over its invoice lines, void invoices
    /// included (a voided order keeps its invoiced units).
    pub(super) invoiced: Option<LineAmounts>,
    /// Units its invoices bill, void ones included.
    pub(super) invoiced_units: u32,
    /// Units its standing invoices still bill: invoiced less credited.
    pub(super) billed: u32,
    /// The tax rate its first invoice line bills at, and whether another differs.
    pub(super) rate: Option<(Decimal, bool)>,
    /// A fingerprint of the SKU its first invoice line bills, and whether another
    /// differs (a fingerprint, not the SKU, to keep the tally small).
    pub(super) sku: Option<(u64, bool)>,
    /// Σ units on its shipments.
    pub(super) shipped: u32,
    /// Σ units received back on its returns.
    pub(super) returned: u32,
    /// The SKUs its shipment and return lines name, as for `sku`.
    pub(super) moved_sku: Option<(u64, bool)>,
}

impl LineTally {
    /// Counts one invoice line billing this order line.
    pub(super) fn bill(&mut self, line: &InvoiceLine, stands: bool) {
        let billed = LineAmounts {
            gross: line.gross,
            discount: line.discount,
            net: line.net,
            tax: line.tax,
        };
        self.invoiced = Some(match self.invoiced {
            // An overflowing sum stays as it was: the comparison reports it.
            Some(sum) => sum.checked_add(&billed).unwrap_or(sum),
            None => billed,
        });
        self.invoiced_units = self.invoiced_units.saturating_add(line.quantity.units());
        if stands {
            self.billed = self
                .billed
                .saturating_add(line.quantity.saturating_sub(line.credited).units());
        }
        note(&mut self.rate, line.tax_rate);
        note(&mut self.sku, sku_fingerprint(&line.sku));
    }
}

/// Keeps the first value seen, and whether any other differed from it.
pub(super) fn note<T: PartialEq>(seen: &mut Option<(T, bool)>, value: T) {
    match seen {
        None => *seen = Some((value, false)),
        Some((first, differs)) => *differs |= *first != value,
    }
}

/// [`note`]s `value` under `key`.
pub(super) fn note_in<K: std::hash::Hash + Eq, T: PartialEq>(
    seen: &mut super::Map<K, (T, bool)>,
    key: K,
    value: T,
) {
    use std::collections::hash_map::Entry;
    match seen.entry(key) {
        Entry::Occupied(mut noted) => {
            let (first, differs) = noted.get_mut();
            *differs |= *first != value;
        }
        Entry::Vacant(slot) => {
            slot.insert((value, false));
        }
    }
}

/// True when the values noted were not all `want`.
fn disagrees<T: PartialEq>(seen: &Option<(T, bool)>, want: &T) -> bool {
    seen.as_ref()
        .is_some_and(|(first, differs)| *differs || first != want)
}

pub(super) fn sku_fingerprint(sku: &Sku) -> u64 {
    use std::hash::{Hash, Hasher};
    // Fixed keys: the same SKU gives the same fingerprint for the whole audit.
    let mut hasher = std::hash::DefaultHasher::new();
    sku.hash(&mut hasher);
    hasher.finish()
}

impl Audit<'_> {
    /// Units waiting in the back-order queues, per order line.
    pub(super) fn back_order_queues(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let queued = &mut self.queued;
        each::<BackOrderQueue>(snapshot, |queue| {
            for waiting in &queue.waiting {
                let units = queued
                    .entry((waiting.order, queue.sku.clone(), waiting.line_no))
                    .or_default();
                *units = units.saturating_add(u64::from(waiting.quantity.units()));
            }
        })?;
        Ok(())
    }

    /// Each order, one at a time, against what the other documents said of it.
    pub(super) fn orders(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut count = 0;
        let mut problems = Vec::new();
        each::<Order>(snapshot, |order| {
            count += 1;
            problems.extend(self.order(order).into_iter().map(|reason| {
                Violation::OrderInconsistent {
                    order: order.id,
                    reason,
                }
            }));
        })?;
        self.report.orders = count;
        self.report.violations.extend(problems);
        Ok(())
    }

    /// What is wrong with one order, in words.
    fn order(&mut self, order: &Order) -> Vec<String> {
        let mut problems = Vec::new();
        let open = matches!(order.status, OrderStatus::Open | OrderStatus::OnHold);
        for line in &order.lines {
            if open {
                for r in &line.reservations {
                    let held = self
                        .stock
                        .reserved
                        .entry((line.sku.clone(), r.location.clone()))
                        .or_default();
                    *held = held.saturating_add(r.quantity.as_i64());
                }
            }
            for r in line.reservations.iter().filter(|r| r.released > r.quantity) {
                problems.push(format!(
                    "line {}: {} units released to {}, only {} reserved there",
                    line.line_no, r.released, r.location, r.quantity
                ));
            }
            let tally = self
                .lines
                .remove(&(order.id, line.line_no))
                .unwrap_or_default();
            problems.extend(line_problems(order, line, &tally));
            let key = (order.id, line.sku.clone(), line.line_no);
            let queued = self.queued.remove(&key).unwrap_or(0);
            let backordered = u64::from(line.backordered.units());
            if queued != backordered {
                self.report.violations.push(Violation::BackOrderMismatch {
                    order: order.id,
                    sku: line.sku.clone(),
                    line: line.line_no,
                    queued,
                    backordered,
                });
            }
        }
        if order
            .paid
            .cmp_amount(order.invoiced)
            .is_ok_and(|o| o.is_gt())
        {
            problems.push(format!(
                "paid {} exceeds invoiced {}",
                order.paid, order.invoiced
            ));
        }
        let zero = Money::zero(order.currency);
        let (invoiced, paid, credited) = self
            .billing
            .order_sums
            .remove(&order.id)
            .unwrap_or((zero, zero, zero));
        if (invoiced, paid, credited) != (order.invoiced, order.paid, order.credit_total()) {
            problems.push(format!(
                "invoiced {}, paid {}, credited {}, but its invoices say {invoiced}, {paid}, {credited}",
                order.invoiced,
                order.paid,
                order.credit_total()
            ));
        }
        // Cost of goods is posted per shipment and remembered per line (for
        // returns): the two must agree.
        let posted = self.stock.shipment_costs.remove(&order.id);
        let mut remembered: Option<Money> = None;
        for cost in order
            .lines
            .iter()
            .filter_map(|l| l.shipped_cost)
            .filter(|c| !c.is_zero())
        {
            add(remembered.get_or_insert(Money::zero(cost.currency())), cost);
        }
        if posted != remembered {
            problems.push(format!(
                "its lines shipped goods costing {remembered:?}, but its shipments posted {posted:?}"
            ));
        }
        let billed_to = self.billing.billed_to.remove(&order.id);
        if disagrees(&billed_to, &order.customer) {
            problems.push(format!(
                "placed by {} but its invoices bill {}",
                order.customer,
                billed_to.map_or("nobody".to_owned(), |(first, differs)| if differs {
                    "more than one customer".to_owned()
                } else {
                    first.to_string()
                })
            ));
        }
        if (order.status == OrderStatus::OnHold) == order.holds.is_empty() {
            problems.push(format!(
                "status {:?} with holds {:?}",
                order.status, order.holds
            ));
        }
        if order.status != OrderStatus::Cancelled {
            match order.unbilled_value() {
                Ok(unbilled) => add_to(&mut self.billing.unbilled, order.customer, unbilled),
                Err(_) => problems.push("unbilled value overflows".to_owned()),
            }
        }
        problems
    }

    /// Documents naming order lines that no order has: invoices, shipments or
    /// returns of lines that do not exist, queue places for lines that do not wait.
    pub(super) fn lines_without_orders(&mut self) {
        let mut orphans: Vec<((OrderId, u16), LineTally)> = self.lines.drain().collect();
        orphans.sort_by_key(|(key, _)| *key);
        for ((order, line), tally) in orphans {
            self.report.violations.push(Violation::OrderInconsistent {
                order,
                reason: format!(
                    "line {line} does not exist, but documents name it: invoiced {:?}, shipped {}, returned {}",
                    tally.invoiced.map(|amounts| amounts.total()),
                    tally.shipped,
                    tally.returned
                ),
            });
        }
        let mut queued: Vec<((OrderId, Sku, u16), u64)> = self.queued.drain().collect();
        queued.sort();
        for ((order, sku, line), queued) in queued.into_iter().filter(|(_, q)| *q > 0) {
            self.report.violations.push(Violation::BackOrderMismatch {
                order,
                sku,
                line,
                queued,
                backordered: 0,
            });
        }
        let mut sums: Vec<OrderId> = self.billing.order_sums.keys().copied().collect();
        sums.sort();
        for order in sums {
            self.report.violations.push(Violation::OrderInconsistent {
                order,
                reason: "invoices bill an order that does not exist".to_owned(),
            });
        }
    }
}

/// What is wrong with one order line, given what its documents said.
fn line_problems(order: &Order, line: &OrderLine, tally: &LineTally) -> Vec<String> {
    let mut problems = Vec::new();
    let n = line.line_no;
    // Never billed for what was cancelled or came back.
    let kept = line.wanted().saturating_sub(line.returned).units();
    if tally.billed > kept {
        problems.push(format!(
            "line {n}: still billed for {} units, but only {kept} were kept (ordered {} − cancelled {} − returned {})",
            tally.billed, line.quantity, line.cancelled, line.returned
        ));
    }
    // However a line was split over invoices, they bill exactly its share for the
    // units invoiced, field by field: so its price never changed once invoiced, and
    // no invoice line moved money between gross and discount.
    let zero = Money::zero(order.currency);
    let invoiced = tally.invoiced.unwrap_or(LineAmounts {
        gross: zero,
        discount: zero,
        net: zero,
        tax: zero,
    });
    match line.billed(line.invoiced) {
        Ok(share) if share == invoiced => {}
        share => problems.push(format!(
            "line {n}: its invoices bill gross, discount, net, tax {invoiced:?} for {} units; its share is {share:?}",
            line.invoiced
        )),
    }
    if tally.invoiced_units != line.invoiced.units() {
        problems.push(format!(
            "line {n}: invoiced {} but its invoices bill {} units",
            line.invoiced, tally.invoiced_units
        ));
    }
    if let Some((first, differs)) = tally
        .rate
        .filter(|_| disagrees(&tally.rate, &line.tax_rate))
    {
        let billed = if differs {
            "more than one rate".to_owned()
        } else {
            first.to_string()
        };
        problems.push(format!(
            "line {n}: taxed at {} but its invoices bill it at {billed}",
            line.tax_rate
        ));
    }
    let sku = sku_fingerprint(&line.sku);
    if disagrees(&tally.sku, &sku) {
        problems.push(format!(
            "line {n}: is {} but its invoices bill another SKU",
            line.sku
        ));
    }
    if disagrees(&tally.moved_sku, &sku) {
        problems.push(format!(
            "line {n}: is {} but its shipments or returns carry another SKU",
            line.sku
        ));
    }
    if tally.shipped != line.shipped.units() {
        problems.push(format!(
            "line {n}: shipped {} but its shipments carry {}",
            line.shipped, tally.shipped
        ));
    }
    if tally.returned != line.returned.units() {
        problems.push(format!(
            "line {n}: returned {} but its returns received {}",
            line.returned, tally.returned
        ));
    }
    if !line.quantities_add_up() {
        problems.push(format!(
            "line {n}: ordered {} ≠ shipped {} + open {} + back-ordered {} + cancelled {}",
            line.quantity,
            line.shipped,
            line.open(),
            line.backordered,
            line.cancelled
        ));
    }
    if line.returned > line.return_requested || line.return_requested > line.delivered {
        problems.push(format!(
            "line {n}: returned {} / asked back {} beyond delivered {}",
            line.returned, line.return_requested, line.delivered
        ));
    }
    if line.delivered > line.shipped || line.invoiced > line.quantity {
        problems.push(format!(
            "line {n}: delivered or invoiced beyond what exists"
        ));
    }
    if line.amounts.gross.checked_sub(line.amounts.discount).ok() != Some(line.amounts.net) {
        problems.push(format!("line {n}: gross − discount ≠ net"));
    }
    problems
}
