//! Stock and the documents that move it: levels against movements and
//! reservations, shipments, returns and purchase orders against the movements they
//! caused, and what receipts, shipments and returns imply for the accounts.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{Audit, Map, Violation, add, add_to, orders, scratch};
use crate::catalog::Product;
use crate::fulfilment::Shipment;
use crate::ids::{LocationId, OrderId, PurchaseOrderId, ReturnId, ShipmentId, Sku};
use crate::money::{Currency, Money};
use crate::purchasing::PurchaseOrder;
use crate::returns::ReturnAuthorization;
use crate::stock::MovementReason;
use crate::store::{ReadResult, Snapshot, each};

/// What the audit has added up about stock.
#[derive(Debug, Default)]
pub(super) struct StockTally {
    costs: Map<Sku, Money>,
    /// (on-hand, reserved) per SKU × location.
    levels: Map<(Sku, LocationId), (i64, i64)>,
    /// Σ movements per SKU × location.
    moved: Map<(Sku, LocationId), i64>,
    /// Σ open reservations per SKU × location, from the orders.
    pub(super) reserved: Map<(Sku, LocationId), i64>,
    /// Σ on-hand × cost per currency.
    pub(super) inventory: BTreeMap<Currency, Money>,
    /// Cost of goods the shipments of each order posted.
    pub(super) shipment_costs: Map<OrderId, Money>,
    /// Units that left stock for each shipment, per SKU.
    shipped_out: Map<(ShipmentId, Sku), i64>,
    /// Units that came back on the shelf for each return, per SKU.
    restocked_in: Map<(ReturnId, Sku), i64>,
    /// Units received for each purchase order, per SKU.
    received_in: Map<(PurchaseOrderId, Sku), i64>,
    /// What those receipts were worth, per purchase order and SKU.
    received_value: Map<(PurchaseOrderId, Sku), Money>,
    /// Units 0.1 received for a purchase order, as a receipt whose reference named
    /// it (`"PO <id>"`): counted with the order's when it exists, never reported
    /// when it does not (a host's own reference may look the same).
    received_before_0_2: Map<(PurchaseOrderId, Sku), i64>,
    /// Receipts and returns written before 0.2, which carry no value.
    pub(super) legacy_receipts: usize,
    pub(super) legacy_returns: Vec<ReturnId>,
}

impl Audit<'_> {
    /// Product costs, and each stock level with its value at cost.
    pub(super) fn products_and_stock(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let tally = &mut self.stock;
        each::<Product>(snapshot, |p| {
            tally.costs.insert(p.sku.clone(), p.cost);
        })?;
        let mut count = 0;
        snapshot.each_stock_level(&mut |level| {
            count += 1;
            tally.levels.insert(
                (level.sku.clone(), level.location.clone()),
                (level.on_hand, level.reserved),
            );
            if let Some(cost) = tally.costs.get(&level.sku)
                && let Ok(value) = cost.checked_mul(Decimal::from(level.on_hand))
            {
                add_to(&mut tally.inventory, value.currency(), value);
            }
        })?;
        self.report.stock_levels = count;
        Ok(())
    }

    /// Σ movements per level, per shipment, per return and per purchase order; and
    /// what each receipt adds to inventory and goods received.
    pub(super) fn movements(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut problems = Vec::new();
        let (tally, expected, postings) = (&mut self.stock, &mut self.expected, self.postings);
        let (id, at) = scratch();
        snapshot.each_movement(&mut |m| {
            let units = tally
                .moved
                .entry((m.sku.clone(), m.location.clone()))
                .or_default();
            *units = units.saturating_add(m.quantity);
            let (per_document, reference) = match &m.reason {
                MovementReason::Shipment { shipment } => {
                    // Units leave on a shipment: count them as the shipment's.
                    let out = tally
                        .shipped_out
                        .entry((*shipment, m.sku.clone()))
                        .or_default();
                    *out = out.saturating_sub(m.quantity);
                    (None, None)
                }
                MovementReason::Return { rma } => {
                    let back = tally.restocked_in.entry((*rma, m.sku.clone())).or_default();
                    *back = back.saturating_add(m.quantity);
                    (None, None)
                }
                MovementReason::PurchaseOrder { purchase_order } => {
                    (Some(*purchase_order), Some(format!("PO {purchase_order}")))
                }
                MovementReason::Receipt { reference } => {
                    // Before 0.2 (no value) a purchase-order receipt was a receipt
                    // whose reference named the order.
                    if let Some(po) = reference
                        .strip_prefix("PO ")
                        .and_then(|id| id.parse::<PurchaseOrderId>().ok())
                        .filter(|_| m.value.is_none())
                    {
                        let got = tally
                            .received_before_0_2
                            .entry((po, m.sku.clone()))
                            .or_default();
                        *got = got.saturating_add(m.quantity);
                    }
                    (None, Some(reference.clone()))
                }
                MovementReason::Adjustment { .. } => (None, None),
            };
            if let Some(po) = per_document {
                let got = tally.received_in.entry((po, m.sku.clone())).or_default();
                *got = got.saturating_add(m.quantity);
                if let Some(value) = m.value {
                    let worth = tally
                        .received_value
                        .entry((po, m.sku.clone()))
                        .or_insert(Money::zero(value.currency()));
                    add(worth, value);
                }
            }
            if let Some(reference) = reference {
                match m.value {
                    Some(value) => {
                        let entry = postings.receipt(&reference, value, id, at);
                        if let Err(reason) = expected.post(entry) {
                            problems.push(Violation::DocumentUnpostable {
                                document: format!("receipt {reference}"),
                                reason,
                            });
                        }
                    }
                    None => tally.legacy_receipts += 1,
                }
            }
        })?;
        self.report.violations.extend(problems);
        Ok(())
    }

    /// Each shipment: its postings; its lines counted against the order lines they
    /// ship; its units against the stock that left for it.
    pub(super) fn shipments(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut problems = Vec::new();
        let (lines, shipped_out) = (&mut self.lines, &mut self.stock.shipped_out);
        let shipment_costs = &mut self.stock.shipment_costs;
        let (expected, postings) = (&mut self.expected, self.postings);
        let (id, at) = scratch();
        each::<Shipment>(snapshot, |s| {
            let mut units: BTreeMap<&Sku, i64> = BTreeMap::new();
            for line in &s.lines {
                let tally = lines.entry((s.order, line.line_no)).or_default();
                tally.shipped = tally.shipped.saturating_add(line.quantity.units());
                orders::note(&mut tally.moved_sku, orders::sku_fingerprint(&line.sku));
                let n = units.entry(&line.sku).or_default();
                *n = n.saturating_add(i64::from(line.quantity.units()));
            }
            for (sku, n) in units {
                let out = shipped_out.remove(&(s.id, sku.clone())).unwrap_or(0);
                if out != n {
                    problems.push(Violation::ShipmentInconsistent {
                        shipment: s.id,
                        reason: format!("carries {n} units of {sku}, but {out} left stock for it"),
                    });
                }
            }
            if !s.cost_of_goods.is_zero() {
                let cost = shipment_costs
                    .entry(s.order)
                    .or_insert(Money::zero(s.cost_of_goods.currency()));
                add(cost, s.cost_of_goods);
            }
            let entry = postings.shipment(s.id, s.cost_of_goods, s.carrier_charge, id, at);
            if let Err(reason) = expected.post(entry) {
                problems.push(Violation::ShipmentInconsistent {
                    shipment: s.id,
                    reason,
                });
            }
        })?;
        for ((shipment, sku), out) in sorted(shipped_out.drain()) {
            problems.push(Violation::ShipmentInconsistent {
                shipment,
                reason: format!("{out} units of {sku} left stock for it, but it carries none"),
            });
        }
        self.report.violations.extend(problems);
        Ok(())
    }

    /// Each return: its received units counted against the order lines, its
    /// restocked units against the stock that came back, and the cost of goods it
    /// reversed (restocked or written off).
    pub(super) fn returns(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut problems = Vec::new();
        let (lines, tally) = (&mut self.lines, &mut self.stock);
        let (expected, postings) = (&mut self.expected, self.postings);
        let (id, at) = scratch();
        each::<ReturnAuthorization>(snapshot, |rma| {
            let legacy = rma
                .lines
                .iter()
                .any(|l| !l.received.is_zero() && l.cost_returned.is_none());
            let mut restocked: BTreeMap<&Sku, i64> = BTreeMap::new();
            for line in &rma.lines {
                let t = lines.entry((rma.order, line.line_no)).or_default();
                t.returned = t.returned.saturating_add(line.received.units());
                orders::note(&mut t.moved_sku, orders::sku_fingerprint(&line.sku));
                let written_off_too_much = line
                    .cost_written_off
                    .zip(line.cost_returned)
                    .is_some_and(|(lost, cost)| lost.cmp_amount(cost).is_ok_and(|o| o.is_gt()));
                if written_off_too_much {
                    problems.push(Violation::ReturnInconsistent {
                        rma: rma.id,
                        reason: format!(
                            "line {}: wrote off {:?} of a reversed cost of {:?}",
                            line.line_no, line.cost_written_off, line.cost_returned
                        ),
                    });
                }
                if line.restocked > line.received || line.received > line.quantity {
                    problems.push(Violation::ReturnInconsistent {
                        rma: rma.id,
                        reason: format!(
                            "line {}: restocked {} of received {} of authorised {}",
                            line.line_no, line.restocked, line.received, line.quantity
                        ),
                    });
                }
                let n = restocked.entry(&line.sku).or_default();
                *n = n.saturating_add(line.restocked.as_i64());
                if let Some(cost) = line.cost_returned {
                    // Reversed cost of goods: back on the shelf, or written off.
                    let lost = line
                        .cost_written_off
                        .unwrap_or(Money::zero(cost.currency()));
                    let entries = [
                        cost.checked_sub(lost)
                            .map_err(Into::into)
                            .and_then(|kept| postings.returned(&line.sku, kept, true, id, at)),
                        postings.returned(&line.sku, lost, false, id, at),
                    ];
                    for entry in entries {
                        if let Err(reason) = expected.post(entry) {
                            problems.push(Violation::ReturnInconsistent {
                                rma: rma.id,
                                reason,
                            });
                        }
                    }
                }
            }
            if legacy {
                // Its restocked units were not recorded: the stock that came back
                // for it cannot be matched.
                tally.legacy_returns.push(rma.id);
                return;
            }
            for (sku, n) in restocked {
                let back = tally
                    .restocked_in
                    .remove(&(rma.id, sku.clone()))
                    .unwrap_or(0);
                if back != n {
                    problems.push(Violation::ReturnInconsistent {
                        rma: rma.id,
                        reason: format!(
                            "restocked {n} units of {sku}, but {back} came back into stock"
                        ),
                    });
                }
            }
        })?;
        let stock = &mut self.stock;
        let legacy: std::collections::HashSet<ReturnId> =
            stock.legacy_returns.iter().copied().collect();
        let unmatched = stock
            .restocked_in
            .drain()
            .filter(|((rma, _), _)| !legacy.contains(rma));
        for ((rma, sku), back) in sorted(unmatched) {
            problems.push(Violation::ReturnInconsistent {
                rma,
                reason: format!(
                    "{back} units of {sku} came back into stock for it, but it restocked none"
                ),
            });
        }
        self.report.violations.extend(problems);
        Ok(())
    }

    /// Each purchase order's received units against the stock received for it.
    pub(super) fn purchase_orders(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut problems = Vec::new();
        let tally = &mut self.stock;
        each::<PurchaseOrder>(snapshot, |po| {
            // Units received and what they cost, per SKU (an order may buy a SKU
            // on more than one line).
            let mut received: BTreeMap<&Sku, (i64, Option<Money>)> = BTreeMap::new();
            for line in &po.lines {
                let (n, worth) = received.entry(&line.sku).or_default();
                *n = n.saturating_add(line.received.as_i64());
                if let Ok(cost) = line
                    .unit_cost
                    .checked_mul_qty(u64::from(line.received.units()))
                {
                    add(worth.get_or_insert(Money::zero(cost.currency())), cost);
                }
            }
            for (sku, (n, worth)) in received {
                let key = (po.id, sku.clone());
                let before_0_2 = tally.received_before_0_2.remove(&key).unwrap_or(0);
                let got = tally
                    .received_in
                    .remove(&key)
                    .unwrap_or(0)
                    .saturating_add(before_0_2);
                if got != n {
                    problems.push(Violation::PurchaseOrderInconsistent {
                        purchase_order: po.id,
                        reason: format!(
                            "received {n} units of {sku}, but {got} came into stock for it"
                        ),
                    });
                }
                // Receipts before 0.2 carry no value to compare.
                let valued = tally.received_value.remove(&key);
                if before_0_2 == 0 && worth.is_some_and(|w| !w.is_zero()) && valued != worth {
                    problems.push(Violation::PurchaseOrderInconsistent {
                        purchase_order: po.id,
                        reason: format!(
                            "received {sku} worth {worth:?} at its unit costs, but its receipts were valued {valued:?}"
                        ),
                    });
                }
            }
        })?;
        for ((purchase_order, sku), got) in sorted(self.stock.received_in.drain()) {
            problems.push(Violation::PurchaseOrderInconsistent {
                purchase_order,
                reason: format!(
                    "{got} units of {sku} came into stock for it, but it has no such line"
                ),
            });
        }
        self.report.violations.extend(problems);
        Ok(())
    }

    /// Per level: on-hand = Σ movements, reserved = Σ open reservations, and
    /// `0 ≤ reserved ≤ on_hand`.
    pub(super) fn stock_levels(&mut self) {
        let tally = &mut self.stock;
        let mut problems = Vec::new();
        let mut keys: Vec<(Sku, LocationId)> = tally.levels.keys().cloned().collect();
        keys.sort();
        for key in keys {
            let (on_hand, reserved) = tally.levels.get(&key).copied().unwrap_or((0, 0));
            let moved = tally.moved.remove(&key).unwrap_or(0);
            let (sku, location) = key.clone();
            if moved != on_hand {
                problems.push(Violation::OnHandNotSumOfMovements {
                    sku: sku.clone(),
                    location: location.clone(),
                    on_hand,
                    movements: moved,
                });
            }
            let reservations = tally.reserved.remove(&key).unwrap_or(0);
            if reservations != reserved {
                problems.push(Violation::ReservedNotSumOfReservations {
                    sku: sku.clone(),
                    location: location.clone(),
                    reserved,
                    reservations,
                });
            }
            if reserved < 0 || reserved > on_hand {
                problems.push(Violation::Oversold {
                    sku,
                    location,
                    on_hand,
                    reserved,
                });
            }
        }
        for ((sku, location), movements) in sorted(tally.moved.drain().filter(|(_, m)| *m != 0)) {
            problems.push(Violation::OnHandNotSumOfMovements {
                sku,
                location,
                on_hand: 0,
                movements,
            });
        }
        for ((sku, location), reservations) in sorted(tally.reserved.drain()) {
            problems.push(Violation::ReservedNotSumOfReservations {
                sku,
                location,
                reserved: 0,
                reservations,
            });
        }
        self.report.violations.extend(problems);
    }
}

/// Drained map entries in key order, so two audits of one store report alike.
fn sorted<K: Ord, V>(entries: impl Iterator<Item = (K, V)>) -> Vec<(K, V)> {
    let mut all: Vec<(K, V)> = entries.collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}
