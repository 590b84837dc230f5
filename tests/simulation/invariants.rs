//! What must hold after every command, whatever faults hit it: the library's own
//! audit, plus checks written independently of it against the raw store.

use std::collections::{BTreeMap, BTreeSet};

use o2c::event::Event;
use o2c::fulfilment::Shipment;
use o2c::ids::{LocationId, OrderId, ReturnId, Sku};
use o2c::ledger::{CreditNote, Payment};
use o2c::order::Order;
use o2c::returns::{ReturnAuthorization, ReturnStatus};
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
            // Name the orders involved: the trace knows them by key.
            let named: Vec<String> = sim
                .all::<Order>()
                .into_iter()
                .filter(|o| found.iter().any(|f| f.contains(&o.id.to_string())))
                .map(|o| format!("{} is {}: {:?}", o.id, o.idempotency_key, o.lines))
                .collect();
            sim.fail(&format!(
                "audit after {after}:\n  {}\n  {}",
                found.join("\n  "),
                named.join("\n  ")
            ));
        }
        Err(e) => sim.fail(&format!("audit failed to run after {after}: {e}")),
    }
    crate::reports::fold_a_little(sim);
    let events = all_events(sim);
    let problems = [
        stock_is_conserved_and_never_oversold(sim),
        nothing_happened_twice(sim),
        shipments_match_stock_and_bookings(sim),
        order_lines_add_up(sim),
        amendments_applied_at_most_once(sim, &events),
        exchanges_place_one_replacement(sim, &events),
        due_work_done_once(&events),
    ]
    .concat();
    if !problems.is_empty() {
        sim.fail(&format!("after {after}:\n  {}", problems.join("\n  ")));
    }
}

/// What must hold once every task is done, on top of [`check_everything`]: every
/// amendment seen applied left its event.
pub fn check_at_the_end<S: Store>(sim: &Sim<'_, S>) {
    check_everything(sim, "the last command");
    let amended = amended_events(&all_events(sim));
    let mut problems = Vec::new();
    for (order, (_, applied)) in sim.plan().amendments() {
        let events = amended.get(&order).copied().unwrap_or(0);
        if events < applied {
            problems.push(format!(
                "order {order}: {applied} amendments applied but {events} OrderAmended events"
            ));
        }
    }
    problems.extend(the_third_party_ends_where_its_shelves_are(sim));
    problems.extend(crate::reports::read_models_agree(sim));
    if !problems.is_empty() {
        sim.fail(&format!("at the end:\n  {}", problems.join("\n  ")));
    }
}

/// Once every report of the third party's warehouse is in, what it could not
/// ship given back and its shelves counted, o2c holds there what its shelves
/// hold — but for units orders still hold reserved that the count found
/// missing, which it may not write off.
fn the_third_party_ends_where_its_shelves_are<S: Store>(sim: &Sim<'_, S>) -> Vec<String> {
    use o2c::clock::Clock;
    use o2c::fulfilment::{ThirdPartyFeed, ThirdPartyWarehouse};
    let warehouse = &sim.outside.third_party;
    let now = sim.outside.clock.now();
    let settle = |messages: Vec<o2c::fulfilment::ThirdPartyMessage>| {
        for message in messages {
            let applied = sim
                .plan()
                .quietly(|| pollster::block_on(sim.oms.apply_third_party_message(&message)));
            if let Err(e) = applied {
                sim.fail(&format!(
                    "at the end, 3PL message {} failed: {e}",
                    message.id
                ));
            }
        }
    };
    settle(warehouse.deliver_all());
    warehouse.reject_open("the end of the run");
    settle(warehouse.deliver_all());
    warehouse.count(now);
    settle(warehouse.deliver_all());
    let site = crate::common::loc(crate::world::THIRD_PARTY);
    let feed = sim
        .read(sim.direct.load::<ThirdPartyFeed>(&site))
        .map(|f| f.value);
    let mut problems = Vec::new();
    for code in crate::world::SKUS {
        let sku = crate::common::sku(code);
        let level = sim
            .read(sim.direct.stock_levels(&sku))
            .into_iter()
            .find(|l| l.location == site);
        let on_hand = level.map_or(0, |l| l.on_hand);
        let unresolved = feed
            .as_ref()
            .and_then(|f| f.unresolved.iter().find(|s| s.sku == sku))
            .map_or(0, |s| i64::try_from(s.units).unwrap_or(i64::MAX));
        let shelves = i64::from(warehouse.on_hand(&sku));
        if on_hand - unresolved != shelves {
            problems.push(format!(
                "{} at {}: o2c holds {on_hand} ({unresolved} missing but reserved), the shelves {shelves}",
                code,
                warehouse.name()
            ));
        }
    }
    problems
}

/// The whole event log, a page at a time.
fn all_events<S: Store>(sim: &Sim<'_, S>) -> Vec<Event> {
    const PAGE: usize = 1024;
    let mut events = Vec::new();
    let mut cursor = 0;
    loop {
        let page = sim.read(sim.direct.events_after(cursor, PAGE));
        let Some(last) = page.last() else {
            return events;
        };
        cursor = last.sequence;
        let full = page.len() == PAGE;
        events.extend(page.into_iter().map(|e| e.event));
        if !full {
            return events;
        }
    }
}

/// `OrderAmended` events per order (by its id).
fn amended_events(events: &[Event]) -> BTreeMap<String, u64> {
    let mut per_order: BTreeMap<String, u64> = BTreeMap::new();
    for event in events {
        if let Event::OrderAmended { order, .. } = event {
            *per_order.entry(order.to_string()).or_default() += 1;
        }
    }
    per_order
}

/// Every line of every order — amended ones grow, shrink and split — has
/// `quantity = shipped + reserved + back-ordered + cancelled`, its own line number,
/// and never more delivered than shipped.
fn order_lines_add_up<S: Store>(sim: &Sim<'_, S>) -> Vec<String> {
    let mut problems = Vec::new();
    for o in sim.all::<Order>() {
        let mut numbers = BTreeSet::new();
        for line in &o.lines {
            if !numbers.insert(line.line_no) {
                problems.push(format!(
                    "order {}: line {} twice",
                    o.idempotency_key, line.line_no
                ));
            }
            if !line.quantities_add_up() {
                problems.push(format!(
                    "order {} line {}: ordered {} ≠ shipped {} + reserved {} + back-ordered {} + cancelled {}",
                    o.idempotency_key,
                    line.line_no,
                    line.quantity,
                    line.shipped,
                    line.open(),
                    line.backordered,
                    line.cancelled
                ));
            }
            if line.delivered > line.shipped || line.shipped > line.quantity {
                problems.push(format!(
                    "order {} line {}: delivered {} / shipped {} beyond ordered {}",
                    o.idempotency_key, line.line_no, line.delivered, line.shipped, line.quantity
                ));
            }
        }
    }
    problems
}

/// However many instances ran `run_due` at once: each reminder level went out
/// once per invoice, and rising, and no order was cancelled twice.
fn due_work_done_once(events: &[Event]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut sent: BTreeMap<o2c::ids::InvoiceId, u8> = BTreeMap::new();
    let mut cancelled = BTreeSet::new();
    for event in events {
        match event {
            Event::PaymentReminder { invoice, level, .. } => {
                let last = sent.entry(*invoice).or_default();
                if *level <= *last {
                    problems.push(format!(
                        "invoice {invoice} reminded at level {level} after {last}"
                    ));
                }
                *last = *level;
            }
            Event::OrderCancelled { order, .. } if !cancelled.insert(*order) => {
                problems.push(format!("order {order} cancelled twice"));
            }
            _ => {}
        }
    }
    problems
}

/// No order carries more `OrderAmended` events than amendments that might have
/// applied were sent to it: a retried or twin amendment applies once.
fn amendments_applied_at_most_once<S: Store>(sim: &Sim<'_, S>, events: &[Event]) -> Vec<String> {
    let sent = sim.plan().amendments();
    let mut problems = Vec::new();
    for (order, events) in amended_events(events) {
        let might = sent.get(&order).map_or(0, |(sent, _)| *sent);
        if events > might {
            problems.push(format!(
                "order {order}: {events} OrderAmended events from {might} amendments sent"
            ));
        }
    }
    problems
}

/// An exchange has its replacement order exactly when its return is received in
/// full: one order, keyed by the return, for the return's customer, with the lines
/// asked for (unless amended since), and one `ExchangePlaced` event. A plain return has none, and every
/// replacement order belongs to a received exchange.
fn exchanges_place_one_replacement<S: Store>(sim: &Sim<'_, S>, events: &[Event]) -> Vec<String> {
    let mut problems = Vec::new();
    let orders: BTreeMap<OrderId, Order> = sim
        .read(sim.direct.list::<Order>())
        .into_iter()
        .map(|v| (v.value.id, v.value))
        .collect();
    let mut placed: BTreeMap<ReturnId, Vec<OrderId>> = BTreeMap::new();
    for event in events {
        if let Event::ExchangePlaced {
            rma, replacement, ..
        } = event
        {
            placed.entry(*rma).or_default().push(*replacement);
        }
    }
    // A customer may amend a replacement like any order: its lines are then theirs.
    let amended = amended_events(events);
    let mut replacements = BTreeSet::new();
    for rma in sim.all::<ReturnAuthorization>() {
        let due = !rma.replacement.is_empty() && rma.status == ReturnStatus::Received;
        let announced = placed.remove(&rma.id).unwrap_or_default();
        match (due, rma.replacement_order) {
            (false, None) if announced.is_empty() => {}
            (false, _) => problems.push(format!(
                "return {} ({:?}, {} replacement lines) has replacement order {:?} and ExchangePlaced events for {announced:?}",
                rma.id,
                rma.status,
                rma.replacement.len(),
                rma.replacement_order
            )),
            (true, None) => problems.push(format!(
                "exchange {} is received in full but has no replacement order",
                rma.id
            )),
            (true, Some(id)) => {
                replacements.insert(id);
                if announced != [id] {
                    problems.push(format!(
                        "exchange {} placed {id}, but ExchangePlaced events name {announced:?}",
                        rma.id
                    ));
                }
                match orders.get(&id) {
                    None => problems.push(format!(
                        "exchange {}: replacement order {id} does not exist",
                        rma.id
                    )),
                    Some(o) => {
                        let asked: Vec<(Sku, i64)> = rma
                            .replacement
                            .iter()
                            .map(|l| (l.sku.clone(), l.quantity))
                            .collect();
                        let got: Vec<(Sku, i64)> = o
                            .lines
                            .iter()
                            .map(|l| (l.sku.clone(), l.quantity.as_i64()))
                            .collect();
                        let as_placed = amended.contains_key(&o.id.to_string()) || asked == got;
                        if o.customer != rma.customer
                            || o.idempotency_key.as_str() != format!("exchange-{}", rma.id)
                            || !as_placed
                        {
                            problems.push(format!(
                                "exchange {}: replacement order {} ({}) for {asked:?} has {got:?}",
                                rma.id, o.idempotency_key, o.customer
                            ));
                        }
                    }
                }
            }
        }
    }
    for (rma, orders) in placed {
        problems.push(format!(
            "ExchangePlaced for return {rma} (orders {orders:?}), which does not exist"
        ));
    }
    for o in orders.values() {
        if o.idempotency_key.as_str().starts_with("exchange-") && !replacements.contains(&o.id) {
            problems.push(format!(
                "order {} ({}) is no received exchange's replacement",
                o.idempotency_key, o.id
            ));
        }
    }
    problems
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
                // Purchase-order receipts name their order, once per delivery.
                MovementReason::Receipt { reference } => {
                    once(format!("receipt {reference}"));
                }
                // A third party's count or report adjusts several SKUs under
                // one reason: once per SKU and location.
                MovementReason::Adjustment { reason } => {
                    once(format!(
                        "adjustment {reason} of {} at {}",
                        m.sku, m.location
                    ));
                }
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
    for s in sim.all::<Shipment>() {
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
