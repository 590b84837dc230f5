//! Customers changing their minds after ordering: amending their open orders (a
//! line added, a line's quantity set, a line's unshipped part removed, a new
//! ship-to), now and then with a change the service must refuse; and exchanging
//! delivered goods for the same SKU or another, dearer or cheaper.
//!
//! Only an order's own customer amends it, one command at a time, so nothing else
//! changes what its lines are for (ordered less cancelled) or where it ships while
//! an amendment is in flight: after every amendment the order must look exactly as
//! before (not applied) or exactly as the changes say (applied once), and which of
//! the two must agree with whether the store kept the amendment's key.

use std::collections::{BTreeMap, BTreeSet};

use o2c::Error;
use o2c::RequestReturn;
use o2c::catalog::Product;
use o2c::customer::Address;
use o2c::ids::{CustomerId, Sku};
use o2c::order::{
    AmendOrder, Amendment, Delivery, LineRequest, Order, OrderError, OrderLine, OrderStatus,
};
use o2c::quantity::Quantity;
use o2c::returns::{ReturnAuthorization, ReturnReason};
use o2c::store::{IdempotencyScope, Store};

use crate::actors::orders_of;
use crate::common::{key, sku, us_address};
use crate::delivery::{deliver_all, only_a_fault};
use crate::sim::Sim;
use crate::world::{SKUS, tax_rate};

/// What a command must come to, known before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Valid as the world stood: it may apply, or be refused for stock, because
    /// the order moved on (shipped, completed) meanwhile, or because its changes
    /// leave the order as it was (`NothingToAmend`).
    MayApply,
    /// Invalid whatever happens meanwhile: must be refused with `Error::Order`
    /// (or, for an exchange, `Error::Return`) and change nothing.
    Refused(&'static str),
}

/// Units a line is for from now on: ordered less cancelled.
fn wanted(line: &OrderLine) -> u32 {
    line.wanted().units()
}

/// What an amendment can change, and nothing else can while it is in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    /// Units wanted per SKU, over all lines.
    wanted: BTreeMap<Sku, u32>,
    lines: usize,
    ship_to: Option<Address>,
}

fn ship_to(order: &Order) -> Option<Address> {
    match &order.delivery {
        Delivery::Ship { address, .. } => Some(Address::clone(address)),
        Delivery::Pickup { .. } => None,
    }
}

fn shape(order: &Order) -> Shape {
    let mut wanted_per_sku: BTreeMap<Sku, u32> = BTreeMap::new();
    for line in &order.lines {
        *wanted_per_sku.entry(line.sku.clone()).or_default() += wanted(line);
    }
    Shape {
        wanted: wanted_per_sku,
        lines: order.lines.len(),
        ship_to: ship_to(order),
    }
}

/// What `before` must look like once `changes` applied, told by `after` (the order
/// as stored) only what a removal left: the units shipped by then. Also the range
/// of line counts: a quantity raised on a line already invoiced or shipped grows a
/// new line, and so may each line when the order moves to another country. A line counts with the lines grown from it (same SKU), so setting it
/// sets their total.
fn expected_shape(before: &Order, changes: &[Amendment], after: &Order) -> (Shape, usize, usize) {
    // (line number, SKU, units wanted, grown from)
    let mut lines: Vec<(u16, Sku, u32, Option<u16>)> = before
        .lines
        .iter()
        .map(|l| (l.line_no, l.sku.clone(), wanted(l), l.grown_from))
        .collect();
    let mut address = ship_to(before);
    let (mut added, mut raised) = (0, 0);
    // Gives line `line_no`'s family `units` in all (on the line itself: only the
    // per-SKU total is checked).
    let set = |lines: &mut Vec<(u16, Sku, u32, Option<u16>)>, line_no: u16, units: u32| {
        let before: u32 = lines
            .iter()
            .filter(|l| l.0 == line_no || l.3 == Some(line_no))
            .map(|l| l.2)
            .sum();
        for l in lines.iter_mut() {
            if l.3 == Some(line_no) {
                l.2 = 0;
            }
        }
        if let Some(l) = lines.iter_mut().find(|l| l.0 == line_no) {
            l.2 = units;
        }
        units > before
    };
    for change in changes {
        match change {
            Amendment::AddLine(req) => {
                added += 1;
                lines.push((
                    0,
                    req.sku.clone(),
                    u32::try_from(req.quantity).unwrap_or(0),
                    None,
                ));
            }
            Amendment::SetQuantity { line_no, quantity } => {
                if lines.iter().any(|l| l.0 == *line_no) {
                    let q = u32::try_from(*quantity).unwrap_or(0);
                    if set(&mut lines, *line_no, q) {
                        raised += 1;
                    }
                }
            }
            Amendment::RemoveLine { line_no } => {
                let shipped = after
                    .lines
                    .iter()
                    .filter(|l| l.line_no == *line_no || l.grown_from == Some(*line_no))
                    .map(|l| l.shipped.units())
                    .sum();
                if lines.iter().any(|l| l.0 == *line_no) {
                    set(&mut lines, *line_no, shipped);
                }
            }
            Amendment::ShipTo { address: a } => {
                // Another country re-taxes: each line with units to ship may move
                // them to a new line at the new rate.
                let country = address.as_ref().map(|b| &*b.country);
                if country != Some(&*a.country) {
                    raised += lines.len();
                }
                address = Some(a.clone());
            }
        }
    }
    let mut per_sku: BTreeMap<Sku, u32> = BTreeMap::new();
    for (_, s, units, _) in lines {
        *per_sku.entry(s).or_default() += units;
    }
    let least = before.lines.len() + added;
    (
        Shape {
            wanted: per_sku,
            lines: after.lines.len(),
            ship_to: address,
        },
        least,
        least + raised,
    )
}

fn an_address<S: Store>(sim: &Sim<'_, S>, step: u64) -> Address {
    match sim.plan().choose(|r| r.below(3)) {
        0 => Address::new(
            format!("Moved {step}"),
            "9 Rue Ouest",
            "Montreal",
            "H2X 1Y4",
            "CA",
        ),
        _ => us_address(&format!("Moved {step}")),
    }
}

/// The changes a customer asks for, and whether they must be refused.
fn amendments<S: Store>(sim: &Sim<'_, S>, step: u64, order: &Order) -> (Vec<Amendment>, Verdict) {
    let plan = sim.plan();
    let mut changes = Vec::new();
    let mut verdict = Verdict::MayApply;
    if matches!(
        order.status,
        OrderStatus::Completed | OrderStatus::Cancelled
    ) {
        verdict = Verdict::Refused("the order is closed");
        plan.exercised("amend (invalid): a closed order");
    }
    // Lines already changed, by the line their family grew from: one change per
    // family, since which member a second change lands on is the library's call.
    let mut used: BTreeSet<u16> = BTreeSet::new();
    let root = |l: &OrderLine| l.grown_from.unwrap_or(l.line_no);
    for _ in 0..plan.choose(|r| r.between(1, 2)) {
        let free: Vec<&OrderLine> = order
            .lines
            .iter()
            .filter(|l| !used.contains(&root(l)))
            .collect();
        let line = plan.choose(|r| r.pick(&free).copied());
        let roll = plan.choose(|r| r.below(100));
        match (roll, line) {
            (0..30, _) | (_, None) => {
                let code = SKUS[plan.choose(|r| r.below(SKUS.len()))];
                let quantity = plan.choose(|r| r.between(1, 3));
                changes.push(Amendment::AddLine(LineRequest::new(sku(code), quantity)));
                plan.exercised("amend: add a line");
            }
            (30..55, Some(line)) => {
                used.insert(root(line));
                let low = i64::from(line.shipped.units());
                let high = i64::from(wanted(line)) + 2;
                let quantity = plan.choose(|r| r.between(low, high));
                changes.push(Amendment::SetQuantity {
                    line_no: line.line_no,
                    quantity,
                });
                plan.exercised("amend: set a quantity");
            }
            (55..75, Some(line)) => {
                used.insert(root(line));
                changes.push(Amendment::RemoveLine {
                    line_no: line.line_no,
                });
                plan.exercised("amend: remove a line");
            }
            (_, Some(_)) => {
                if matches!(order.delivery, Delivery::Pickup { .. }) {
                    verdict = Verdict::Refused("a pickup order has no ship-to");
                }
                changes.push(Amendment::ShipTo {
                    address: an_address(sim, step),
                });
                plan.exercised("amend: change the ship-to");
            }
        }
    }
    if changes.is_empty()
        && let Some(line) = order.lines.first()
    {
        changes.push(Amendment::RemoveLine {
            line_no: line.line_no,
        });
        plan.exercised("amend: remove a line");
    }
    if plan.choose(|r| r.chance(70)) {
        return (changes, verdict);
    }
    // Something no service may accept, wherever it falls among the changes.
    let last_line = order.lines.iter().map(|l| l.line_no).max().unwrap_or(0);
    let any_line = plan
        .choose(|r| r.pick(&order.lines).map(|l| l.line_no))
        .unwrap_or(1);
    let shipped: Vec<&OrderLine> = order
        .lines
        .iter()
        .filter(|l| !l.shipped.is_zero())
        .collect();
    let (bad, why) = match plan.choose(|r| r.below(6)) {
        0 => (
            // Past any line the changes themselves could add.
            Some(Amendment::SetQuantity {
                line_no: last_line + 50,
                quantity: 1,
            }),
            "an unknown line",
        ),
        1 => (
            Some(Amendment::RemoveLine {
                line_no: last_line + 50,
            }),
            "an unknown line",
        ),
        2 => (
            Some(Amendment::SetQuantity {
                line_no: any_line,
                quantity: -plan.choose(|r| r.between(1, 3)),
            }),
            "a negative quantity",
        ),
        3 => match plan.choose(|r| r.pick(&shipped).copied()) {
            // Shipped units only grow: still below them when it arrives.
            Some(line) => (
                Some(Amendment::SetQuantity {
                    line_no: line.line_no,
                    quantity: i64::from(line.shipped.units()) - 1,
                }),
                "below the shipped units",
            ),
            None => {
                // Every line to nothing: empties the order, or goes below what
                // shipped meanwhile.
                changes = order
                    .lines
                    .iter()
                    .map(|l| Amendment::SetQuantity {
                        line_no: l.line_no,
                        quantity: 0,
                    })
                    .collect();
                (None, "emptying the order")
            }
        },
        4 => (
            Some(Amendment::ShipTo {
                address: Address::new("Nowhere", "1 Road", "Town", "00000", "USA"),
            }),
            "a ship-to country that is not ISO",
        ),
        _ => {
            changes.clear();
            (None, "no changes")
        }
    };
    if let Some(bad) = bad {
        let at = plan.choose(|r| r.below(changes.len() + 1));
        changes.insert(at, bad);
    }
    plan.exercised(match why {
        "an unknown line" => "amend (invalid): an unknown line",
        "a negative quantity" => "amend (invalid): a negative quantity",
        "below the shipped units" => "amend (invalid): below the shipped units",
        "emptying the order" => "amend (invalid): emptying the order",
        "a ship-to country that is not ISO" => "amend (invalid): a bad ship-to country",
        _ => "amend (invalid): no changes",
    });
    (changes, Verdict::Refused(why))
}

/// A customer amends one of their orders, mostly an open one.
pub async fn amend_order<S: Store>(sim: &Sim<'_, S>, step: u64, who: CustomerId) {
    let mine = orders_of(sim, who);
    let open: Vec<&Order> = mine
        .iter()
        .filter(|o| matches!(o.status, OrderStatus::Open | OrderStatus::OnHold))
        .collect();
    let any: Vec<&Order> = mine.iter().collect();
    let pool = if sim.plan().choose(|r| r.chance(90)) {
        open
    } else {
        any
    };
    let Some(before) = sim.plan().choose(|r| r.pick(&pool).copied()).cloned() else {
        return;
    };
    let (changes, verdict) = amendments(sim, step, &before);
    if changes.is_empty() && verdict == Verdict::MayApply {
        // Every change the customer thought of was left out.
        return;
    }
    let cmd = AmendOrder::new(key(&format!("amend-{step}")), before.id).with_changes(changes);
    let what = format!(
        "amend {} ({:?}): {:?}{}",
        before.idempotency_key,
        before.status,
        cmd.changes,
        match verdict {
            Verdict::MayApply => String::new(),
            Verdict::Refused(why) => format!(" — must be refused: {why}"),
        }
    );
    if verdict == Verdict::MayApply {
        sim.plan().amendment_sent(before.id.to_string());
    }
    let results = deliver_all(sim, step, what, Some(|o: &Order| o.id.to_string()), || {
        sim.oms.amend_order(cmd.clone())
    })
    .await;

    let name = &before.idempotency_key;
    let applied = sim
        .read(
            sim.direct
                .idempotency(IdempotencyScope::AmendOrder, &cmd.idempotency_key),
        )
        .is_some();
    let Some(after) = sim
        .read(sim.direct.load::<Order>(&before.id))
        .map(|v| v.value)
    else {
        sim.fail(&format!("#{step}: order {name} vanished"));
    };
    for ok in results.iter().filter_map(|r| r.as_ref().ok()) {
        if ok.id != before.id {
            sim.fail(&format!(
                "#{step}: amending {name} returned another order {}",
                ok.id
            ));
        }
    }
    let any_ok = results.iter().any(Result::is_ok);
    // The scheduler's `run_due` may have cancelled it (or what is left of it)
    // meanwhile, unpaid for too long: what it is now says nothing of the
    // amendment.
    if cancelled_by_the_scheduler(sim, before.id) {
        sim.plan()
            .exercised("amend: the order was cancelled meanwhile");
        return;
    }
    match verdict {
        Verdict::Refused(why) => {
            if any_ok || applied {
                sim.fail(&format!(
                    "#{step}: an amendment of {name} that must be refused ({why}) was applied: {results:?}"
                ));
            }
            let mut refused = false;
            for e in results.iter().filter_map(|r| r.as_ref().err()) {
                match e {
                    Error::Order(_) => refused = true,
                    e if only_a_fault(e) => {}
                    e => sim.fail(&format!(
                        "#{step}: an amendment of {name} that must be refused ({why}) failed with {e:?}, not Error::Order"
                    )),
                }
            }
            if shape(&after) != shape(&before) {
                sim.fail(&format!(
                    "#{step}: a refused amendment of {name} ({why}) changed it:\nbefore {:?}\nafter  {:?}",
                    shape(&before),
                    shape(&after)
                ));
            }
            sim.plan().exercised(if refused {
                "amend (invalid): refused with Error::Order"
            } else {
                "amend (invalid): only faults came back"
            });
        }
        Verdict::MayApply if applied => {
            sim.plan().amendment_applied(before.id.to_string());
            let (expected, least, most) = expected_shape(&before, &cmd.changes, &after);
            let got = shape(&after);
            if got != expected || got.lines < least || got.lines > most {
                sim.fail(&format!(
                    "#{step}: the amendment of {name} did not apply exactly once:\nbefore   {:?}\nexpected {expected:?} with {least}..={most} lines\nafter    {got:?}",
                    shape(&before)
                ));
            }
            if let Delivery::Ship { address, .. } = &after.delivery {
                for line in after.lines.iter().filter(|l| l.shipped.units() < wanted(l)) {
                    let rate = tax_rate(line.sku.as_str(), &address.country);
                    if line.tax_rate != rate {
                        sim.fail(&format!(
                            "#{step}: after amending {name}, line {} ships to {} taxed at {}, not {rate}",
                            line.line_no, address.country, line.tax_rate
                        ));
                    }
                }
                if ship_to(&before).is_some_and(|b| b.country != address.country) {
                    sim.plan().exercised("amend: re-taxed for another country");
                }
            }
            sim.plan().exercised(if any_ok {
                "amend: applied"
            } else {
                "amend: applied, every reply lost"
            });
        }
        Verdict::MayApply => {
            if any_ok {
                sim.fail(&format!(
                    "#{step}: amending {name} answered ok, but the store holds no amendment with its key"
                ));
            }
            if shape(&after) != shape(&before) {
                sim.fail(&format!(
                    "#{step}: an amendment of {name} that did not apply changed it:\nbefore {:?}\nafter  {:?}",
                    shape(&before),
                    shape(&after)
                ));
            }
            let why = results.iter().find_map(|r| match r {
                // A quantity set to what the line is for already, say.
                Err(Error::Order(OrderError::NothingToAmend)) => {
                    Some("amend: refused (changes nothing)")
                }
                Err(Error::Order(_)) => Some("amend: refused (order moved on)"),
                Err(Error::Stock(_)) => Some("amend: refused (stock)"),
                _ => None,
            });
            sim.plan()
                .exercised(why.unwrap_or("amend: not applied (faults only)"));
        }
    }
}

/// A customer exchanges units of a delivered line for the same SKU or another.
pub async fn request_exchange<S: Store>(sim: &Sim<'_, S>, step: u64, who: CustomerId) {
    let plan = sim.plan();
    let mut candidates = Vec::new();
    for order in orders_of(sim, who) {
        for line in &order.lines {
            let returnable = line.delivered.saturating_sub(line.return_requested).units();
            if returnable > 0 {
                candidates.push((order.id, order.idempotency_key.clone(), line.clone()));
            }
        }
    }
    let Some((order, name, line)) = plan.choose(|r| r.pick(&candidates).cloned()) else {
        return;
    };
    let returnable = line.delivered.saturating_sub(line.return_requested).units();
    let units = u32::try_from(plan.choose(|r| r.between(1, i64::from(returnable)))).unwrap_or(1);
    let request = |code: Sku, quantity: i64| LineRequest::new(code, quantity);
    let mut verdict = Verdict::MayApply;
    let replacement = match plan.choose(|r| r.below(100)) {
        0..40 => vec![request(line.sku.clone(), i64::from(units))],
        40..90 => {
            let mut lines = Vec::new();
            for _ in 0..plan.choose(|r| r.between(1, 2)) {
                let code = SKUS[plan.choose(|r| r.below(SKUS.len()))];
                lines.push(request(sku(code), plan.choose(|r| r.between(1, 3))));
            }
            lines
        }
        90..94 => {
            verdict = Verdict::Refused("no replacement");
            Vec::new()
        }
        94..97 => {
            verdict = Verdict::Refused("an unknown SKU");
            vec![request(sku("GONE"), 1)]
        }
        _ => {
            verdict = Verdict::Refused("a replacement of no units");
            vec![request(line.sku.clone(), 0)]
        }
    };
    // Dearer or cheaper at list prices, before tax.
    let back = line.unit_price.amount() * rust_decimal::Decimal::from(units);
    let mut instead = rust_decimal::Decimal::ZERO;
    for r in &replacement {
        if let Some(p) = sim.read(sim.direct.load::<Product>(&r.sku)) {
            instead += p.value.price.amount() * rust_decimal::Decimal::from(r.quantity);
        }
    }
    let kind = match verdict {
        Verdict::Refused(_) => "exchange (invalid): asked",
        Verdict::MayApply if instead > back => "exchange: asked, dearer",
        Verdict::MayApply if instead < back => "exchange: asked, cheaper",
        Verdict::MayApply => "exchange: asked, same price",
    };
    plan.exercised(kind);
    let reason = if plan.choose(|r| r.chance(50)) {
        ReturnReason::WrongItem
    } else {
        ReturnReason::NotAsDescribed
    };
    let cmd = RequestReturn::new(key(&format!("xchg-{step}")), order)
        .with_lines(vec![(line.line_no, Quantity::new(units), reason)])
        .exchange()
        .with_replacement(replacement);
    let what = format!(
        "exchange {units} of line {} ({}) of {name} for {}{}",
        line.line_no,
        line.sku,
        cmd.replacement
            .iter()
            .map(|l| format!("{}×{} ", l.quantity, l.sku))
            .collect::<String>(),
        match verdict {
            Verdict::MayApply => String::new(),
            Verdict::Refused(why) => format!("— must be refused: {why}"),
        }
    );
    let results = deliver_all(
        sim,
        step,
        what,
        Some(|r: &ReturnAuthorization| r.id.to_string()),
        || sim.oms.request_exchange(cmd.clone()),
    )
    .await;
    let applied = sim
        .read(sim.direct.idempotency(
            IdempotencyScope::RequestReturn,
            &cmd.goods_back.idempotency_key,
        ))
        .is_some();
    let any_ok = results.iter().any(Result::is_ok);
    match verdict {
        Verdict::Refused(why) => {
            if any_ok || applied {
                sim.fail(&format!(
                    "#{step}: an exchange that must be refused ({why}) was accepted: {results:?}"
                ));
            }
            for e in results.iter().filter_map(|r| r.as_ref().err()) {
                let expected = match why {
                    "no replacement" => matches!(e, Error::Return(_)),
                    _ => matches!(e, Error::Order(_)),
                };
                if !expected && !only_a_fault(e) {
                    sim.fail(&format!(
                        "#{step}: an exchange that must be refused ({why}) failed with {e:?}"
                    ));
                }
            }
            plan.exercised("exchange (invalid): refused");
        }
        Verdict::MayApply => {
            if any_ok && !applied {
                sim.fail(&format!(
                    "#{step}: an exchange answered ok, but the store holds no return with its key"
                ));
            }
            for rma in results.iter().filter_map(|r| r.as_ref().ok()) {
                if rma.replacement != cmd.replacement || rma.lines.len() != 1 {
                    sim.fail(&format!(
                        "#{step}: the exchange's return is not what was asked: {rma:?}"
                    ));
                }
            }
            if applied {
                plan.exercised("exchange: return opened");
            }
        }
    }
}

/// Tallies what a receipt did to an exchange; the invariants check it.
pub fn received_exchange<S: Store>(sim: &Sim<'_, S>, step: u64, rma: Option<&ReturnAuthorization>) {
    let Some(rma) = rma else {
        sim.plan().exercised("exchange: receipt not applied");
        return;
    };
    match (rma.status, rma.replacement_order) {
        (o2c::returns::ReturnStatus::Received, Some(_)) => sim
            .plan()
            .exercised("exchange: received in full, replacement placed"),
        (o2c::returns::ReturnStatus::Received, None) => sim.fail(&format!(
            "#{step}: exchange {} received in full without a replacement order",
            rma.id
        )),
        (_, None) => sim.plan().exercised("exchange: received in part"),
        (_, Some(_)) => sim.fail(&format!(
            "#{step}: exchange {} is {:?} yet has a replacement order",
            rma.id, rma.status
        )),
    }
}

/// Whether `run_due` cancelled `order` (whole or its remainder) at any time.
fn cancelled_by_the_scheduler<S: Store>(sim: &Sim<'_, S>, order: o2c::ids::OrderId) -> bool {
    let mut cursor = 0;
    loop {
        let page = sim.read(sim.direct.events_after(cursor, 1024));
        let Some(last) = page.last() else {
            return false;
        };
        cursor = last.sequence;
        if page.iter().any(|e| {
            matches!(&e.event, o2c::event::Event::OrderCancelled { order: o, reason }
                | o2c::event::Event::OrderRemainderCancelled { order: o, reason, .. }
                if *o == order && reason.starts_with("not paid within"))
        }) {
            return true;
        }
    }
}
