//! What must hold after every command, whatever faults hit it: the library's own
//! audit, plus checks written independently of it against the raw store.

use std::collections::{BTreeMap, BTreeSet};

use o2c::fulfilment::Shipment;
use o2c::ids::{LocationId, Sku};
use o2c::ledger::{CreditNote, Payment};
use o2c::order::Order;
use o2c::stock::MovementReason;
use o2c::store::Store;

use crate::sim::Sim;

/// Fails the simulation, with its trace, on the first broken invariant.
pub fn check_everything<S: Store>(sim: &Sim<'_, S>, after: &str) {
    let audit = sim.plan().quietly(|| pollster::block_on(sim.oms.audit()));
    match audit {
        Ok(report) if report.is_clean() => {}
        Ok(report) => {
            let found: Vec<String> = report.violations.iter().map(ToString::to_string).collect();
            sim.fail(&format!("audit after {after}:\n  {}", found.join("\n  ")));
        }
        Err(e) => sim.fail(&format!("audit failed to run after {after}: {e}")),
    }
    let problems = [
        stock_is_conserved_and_never_oversold(sim),
        nothing_happened_twice(sim),
        shipments_match_stock_and_bookings(sim),
    ]
    .concat();
    if !problems.is_empty() {
        sim.fail(&format!("after {after}:\n  {}", problems.join("\n  ")));
    }
}

/// `0 ≤ reserved ≤ on_hand`, and on-hand is the sum of its movements.
fn stock_is_conserved_and_never_oversold<S: Store>(sim: &Sim<'_, S>) -> Vec<String> {
    let mut problems = Vec::new();
    for level in sim.read(sim.direct.all_stock_levels()) {
        if level.reserved < 0 || level.reserved > level.on_hand {
            problems.push(format!(
                "oversold {} at {}: on hand {}, reserved {}",
                level.sku, level.location, level.on_hand, level.reserved
            ));
        }
        let moved: i64 = sim
            .read(sim.direct.stock_movements(&level.sku, &level.location))
            .iter()
            .map(|m| m.quantity)
            .sum();
        if moved != level.on_hand {
            problems.push(format!(
                "{} at {}: on hand {} but movements add up to {moved}",
                level.sku, level.location, level.on_hand
            ));
        }
    }
    problems
}

/// Every keyed command the simulation sends carries its key in a reference, a
/// reason or the order itself: each may appear at most once in the store.
fn nothing_happened_twice<S: Store>(sim: &Sim<'_, S>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    let mut once = |what: String| {
        if !seen.insert(what.clone()) {
            problems.push(format!("applied twice: {what}"));
        }
    };
    for order in sim.read(sim.direct.list::<Order>()) {
        once(format!("order {}", order.value.idempotency_key));
    }
    for payment in sim.read(sim.direct.list::<Payment>()) {
        if let Some(reference) = &payment.value.reference {
            once(format!("payment {reference}"));
        }
    }
    // Credit notes the service raises itself (on cancellations, returns) share a
    // reason; only the back office's carry their key.
    for note in sim.read(sim.direct.list::<CreditNote>()) {
        if note.value.reason.starts_with("goodwill-") {
            once(format!("credit note {}", note.value.reason));
        }
    }
    for level in sim.read(sim.direct.all_stock_levels()) {
        for m in sim.read(sim.direct.stock_movements(&level.sku, &level.location)) {
            match m.reason {
                // Purchase-order receipts reference the order, once per delivery.
                MovementReason::Receipt { reference } if !reference.starts_with("PO") => {
                    once(format!("receipt {reference}"));
                }
                MovementReason::Adjustment { reason } => once(format!("adjustment {reason}")),
                _ => {}
            }
        }
    }
    problems
}

/// Units on shipments are exactly the units that left stock for them; no booking
/// carries two shipments; no shipment rides on a booking we cancelled.
fn shipments_match_stock_and_bookings<S: Store>(sim: &Sim<'_, S>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut on_shipments: BTreeMap<(Sku, LocationId), i64> = BTreeMap::new();
    let mut bookings = BTreeSet::new();
    for shipment in sim.read(sim.direct.list::<Shipment>()) {
        let s = shipment.value;
        for line in &s.lines {
            *on_shipments
                .entry((line.sku.clone(), s.location.clone()))
                .or_default() += line.quantity.as_i64();
        }
        if !bookings.insert(s.tracking.clone()) {
            problems.push(format!("booking {} carries two shipments", s.tracking));
        }
        if sim.outside.carriers.is_cancelled(&s.tracking) {
            problems.push(format!(
                "shipment {} of order {} is committed on booking {}, which was cancelled at the carrier",
                s.id, s.order, s.tracking
            ));
        }
    }
    let mut left_stock: BTreeMap<(Sku, LocationId), i64> = BTreeMap::new();
    for level in sim.read(sim.direct.all_stock_levels()) {
        for m in sim.read(sim.direct.stock_movements(&level.sku, &level.location)) {
            if let MovementReason::Shipment { .. } = m.reason {
                *left_stock.entry((m.sku, m.location)).or_default() -= m.quantity;
            }
        }
    }
    if on_shipments != left_stock {
        problems.push(format!(
            "units on shipments {on_shipments:?} differ from units shipped out of stock {left_stock:?}"
        ));
    }
    problems
}
