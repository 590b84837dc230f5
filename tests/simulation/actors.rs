//! The people and systems around the company, each an async task: customers,
//! warehouse staff, the carriers' networks and the back office. Each turn claims a
//! command from the budget, looks at the store as a screen would show it, picks
//! something plausible to do, and sends it through [`deliver`].

use std::sync::Arc;

use o2c::clock::Clock;
use o2c::customer::{Customer, PaymentMethod};
use o2c::fulfilment::{
    Shipment, ShipmentStatus, ThirdPartyOutcome, ThirdPartyWarehouse, TrackingEvent,
};
use o2c::ids::CustomerId;
use o2c::ledger::{Invoice, InvoiceStatus, OverpaymentPolicy, Payment};
use o2c::money::{Currency, Money, Rounding};
use o2c::order::{Channel, Delivery, Hold, Order, OrderStatus, PlaceOrder, ServiceLevel};
use o2c::purchasing::{BackOrderPolicy, PurchaseOrder, PurchaseOrderStatus};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnAuthorization, ReturnReason, ReturnStatus};
use o2c::store::Store;
use o2c::{
    AdjustStock, IssueCreditNote, ReceivePurchaseOrder, ReceiveReturn, ReceiveStock, RecordPayment,
    RecordRefund, RequestReturn,
};
use rust_decimal_macros::dec;

use crate::changes;
use crate::common::{EAST, STORE, WEST, key, loc, sku, us_address};
use crate::delivery::deliver;
use crate::executor::pause;
use crate::sim::Sim;
use crate::world::{SKUS, THIRD_PARTY};

const CHANNELS: [Channel; 5] = [
    Channel::Web,
    Channel::Store,
    Channel::Phone,
    Channel::B2b,
    Channel::Marketplace,
];
const POLICIES: [Option<BackOrderPolicy>; 4] = [
    None,
    Some(BackOrderPolicy::Reject),
    Some(BackOrderPolicy::BackOrder),
    Some(BackOrderPolicy::ShipAvailable),
];
const LOCATIONS: [&str; 3] = [EAST, WEST, STORE];

/// A customer: orders, pays, changes their mind (cancels, amends), sends things back
/// or exchanges them.
pub async fn customer<S: Store>(sim: &Sim<'_, S>, who: CustomerId) {
    while let Some(step) = next_turn(sim).await {
        match sim.plan().choose(|r| r.below(100)) {
            0..45 => place_order(sim, step, who).await,
            45..72 => pay(sim, step, who).await,
            72..78 => cancel(sim, step, who).await,
            78..88 => changes::amend_order(sim, step, who).await,
            88..94 => request_return(sim, step, who).await,
            _ => changes::request_exchange(sim, step, who).await,
        }
    }
}

/// Warehouse staff: ship, receive and count stock, handle returns and purchase orders.
pub async fn warehouse<S: Store>(sim: &Sim<'_, S>) {
    while let Some(step) = next_turn(sim).await {
        match sim.plan().choose(|r| r.below(100)) {
            0..40 => ship(sim, step).await,
            40..52 => receive_stock(sim, step).await,
            52..60 => adjust_stock(sim, step).await,
            60..80 => handle_return(sim, step).await,
            _ => purchase(sim, step).await,
        }
    }
}

/// The carriers' networks: parcels move, the news reaches us by webhook or by polling.
pub async fn carrier_network<S: Store>(sim: &Sim<'_, S>) {
    while let Some(step) = next_turn(sim).await {
        move_a_parcel(sim, step).await;
    }
}

/// The back office: credit notes, refunds, manual holds.
pub async fn back_office<S: Store>(sim: &Sim<'_, S>) {
    while let Some(step) = next_turn(sim).await {
        match sim.plan().choose(|r| r.below(100)) {
            0..35 => credit_note(sim, step).await,
            35..60 => refund(sim, step).await,
            _ => hold_or_release(sim, step).await,
        }
    }
}

/// The third party's warehouse and o2c's side of it: orders released to it, its
/// staff shipping what the shelves hold, losing a unit now and then, counting;
/// its feed delivering reports late, twice, out of order — each applied.
pub async fn third_party<S: Store>(sim: &Sim<'_, S>) {
    while let Some(step) = next_turn(sim).await {
        let warehouse = &sim.outside.third_party;
        let now = sim.outside.clock.now();
        match sim.plan().choose(|r| r.below(100)) {
            0..35 => release(sim, step).await,
            35..55 => {
                let shipped = warehouse.work(now);
                sim.plan().note(format!("#{step} the 3PL ships {shipped}"));
            }
            55..62 => {
                let code = SKUS[sim.plan().choose(|r| r.below(SKUS.len()))];
                let lost = warehouse.lose(&sku(code), 1);
                sim.plan()
                    .note(format!("#{step} the 3PL loses {lost} {code}"));
            }
            62..72 => {
                warehouse.count(now);
                sim.plan().note(format!("#{step} the 3PL counts"));
            }
            72..76 => {
                let rejected = warehouse.reject_open("out of stock");
                sim.plan()
                    .note(format!("#{step} the 3PL gives back {rejected} releases"));
            }
            _ => {
                for message in warehouse.deliver() {
                    let applied = deliver(
                        sim,
                        step,
                        format!("3PL message {}", message.id),
                        None,
                        || sim.oms.apply_third_party_message(&message),
                    )
                    .await;
                    sim.plan().exercised(match applied {
                        Some(ThirdPartyOutcome::Shipped(_)) => "3PL: shipment applied",
                        Some(ThirdPartyOutcome::Rejected(_)) => "3PL: rejection applied",
                        Some(ThirdPartyOutcome::Counted(c)) if !c.applied => "3PL: stale count",
                        Some(ThirdPartyOutcome::Counted(c)) if c.differences.is_empty() => {
                            "3PL: count agreed"
                        }
                        Some(ThirdPartyOutcome::Counted(_)) => "3PL: count adjusted stock",
                        _ => "3PL: message not applied (faults)",
                    });
                }
            }
        }
    }
}

/// Releases an order holding units at the third party's warehouse.
async fn release<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let site = loc(THIRD_PARTY);
    let waiting: Vec<Order> = sim
        .all::<Order>()
        .into_iter()
        .filter(|o| {
            o.holds.is_empty()
                && o.lines.iter().any(|l| {
                    l.reservations
                        .iter()
                        .any(|r| r.location == site && !r.unreleased().is_zero())
                })
        })
        .collect();
    let Some(order) = sim.plan().choose(|r| r.pick(&waiting).cloned()) else {
        return;
    };
    let releasing = key(&format!("release-{step}"));
    deliver(
        sim,
        step,
        format!("release {} to the 3PL", order.idempotency_key),
        Some(|r: &o2c::fulfilment::Release| format!("{:?}", r.lines)),
        || {
            sim.oms.release_to_third_party(
                sim.outside.third_party.as_ref(),
                order.id,
                &site,
                releasing.clone(),
            )
        },
    )
    .await;
}

/// The host's scheduler: `run_due` as of some days ahead (the simulation's
/// clock moves by minutes), now and then from two instances at once.
pub async fn scheduler<S: Store>(sim: &Sim<'_, S>) {
    while let Some(step) = next_turn(sim).await {
        let ahead = sim.plan().choose(|r| r.below(40));
        let now =
            sim.outside.clock.now() + chrono::Duration::days(i64::try_from(ahead).unwrap_or(0));
        let twice = sim.plan().choose(|r| r.below(3)) == 0;
        sim.plan().note(format!(
            "#{step} run_due {ahead} days ahead{}",
            if twice { ", twice at once" } else { "" }
        ));
        sim.plan().count_command();
        let reports = match twice {
            true => {
                let (a, b) =
                    crate::executor::both(sim.plan(), sim.oms.run_due(now), sim.oms.run_due(now))
                        .await;
                vec![a, b]
            }
            false => vec![sim.oms.run_due(now).await],
        };
        for report in reports {
            match report {
                Ok(report) => {
                    sim.plan().note(format!("#{step}   -> {report:?}"));
                    let plan = sim.plan();
                    for (done, what) in [
                        (report.cancelled.len(), "run_due: unpaid order cancelled"),
                        (report.reminded.len(), "run_due: payment reminder"),
                        (report.released.len(), "run_due: credit hold released"),
                        (
                            report.rescheduled.len(),
                            "run_due: late purchase order re-promised",
                        ),
                        (
                            report.taken_by_others,
                            "run_due: action taken by the other instance",
                        ),
                        (
                            report.payments_resolved,
                            "run_due: card request resolved by asking the provider",
                        ),
                        (
                            report.authorisations_lapsed.len(),
                            "run_due: lapsed card authorisation renewed or held",
                        ),
                    ] {
                        if done > 0 {
                            plan.exercised(what);
                        }
                    }
                }
                Err(e) if crate::delivery::only_a_fault(&e) => {
                    sim.plan().note(format!("#{step}   -> fault: {e}"));
                }
                Err(e) => sim.fail(&format!("#{step} run_due failed: {e:?}")),
            }
        }
        crate::invariants::check_everything(sim, &format!("#{step} run_due"));
    }
}

/// The card provider's side: its webhooks (some twice, some late), its payouts,
/// and authorisations lapsing on its clock.
pub async fn card_network<S: Store>(sim: &Sim<'_, S>) {
    while let Some(step) = next_turn(sim).await {
        let cards = &sim.outside.cards;
        match sim.plan().choose(|r| r.below(100)) {
            0..60 => {
                for note in cards.notifications() {
                    // An authorisation made for a placement that never committed
                    // (its lapse, its void) names an order no one has: the
                    // service answers "not found", and the host drops it.
                    let named = match &note.event {
                        o2c::payment::ProviderEvent::AuthorisationExpired { order, .. }
                        | o2c::payment::ProviderEvent::RequestDone { order, .. }
                        | o2c::payment::ProviderEvent::RequestFailed { order, .. } => Some(*order),
                        o2c::payment::ProviderEvent::Settled { .. } => None,
                    };
                    if let Some(order) = named
                        && sim.read(sim.direct.load::<Order>(&order)).is_none()
                    {
                        let refused = sim.oms.apply_payment_event(&note).await;
                        if !matches!(refused, Err(o2c::Error::NotFound { .. })) {
                            sim.fail(&format!("a webhook for no order gave {refused:?}"));
                        }
                        sim.plan()
                            .exercised("cards: webhook for an unplaced order refused");
                        continue;
                    }
                    let applied = deliver(
                        sim,
                        step,
                        format!("card webhook {} {:?}", note.id, note.event),
                        None,
                        || sim.oms.apply_payment_event(&note),
                    )
                    .await;
                    sim.plan().exercised(match applied {
                        Some(()) => "cards: webhook applied",
                        None => "cards: webhook refused or faulted",
                    });
                }
            }
            60..80 => {
                cards.pay_out();
                sim.plan()
                    .note(format!("#{step} the card provider pays out"));
            }
            _ => {
                cards.expire();
                sim.plan()
                    .note(format!("#{step} the card provider lets lapsed holds go"));
            }
        }
    }
}

/// Lets the others act (people take time between actions), then claims a turn.
async fn next_turn<S: Store>(sim: &Sim<'_, S>) -> Option<u64> {
    pause(1).await;
    sim.plan().take_step()
}

// --- customers -------------------------------------------------------------

async fn place_order<S: Store>(sim: &Sim<'_, S>, step: u64, who: CustomerId) {
    let plan = sim.plan();
    let channel = *plan
        .choose(|r| r.pick(&CHANNELS).copied())
        .as_ref()
        .unwrap_or(&Channel::Web);
    let mut cmd = PlaceOrder::new(key(&format!("order-{step}")), who, channel, Currency::USD);
    let lines = plan.choose(|r| r.between(1, 3));
    let first = plan.choose(|r| r.below(SKUS.len()));
    for n in 0..usize::try_from(lines).unwrap_or(1) {
        let code = SKUS[(first + n) % SKUS.len()];
        cmd = cmd.line(sku(code), plan.choose(|r| r.between(1, 4)));
    }
    match plan.choose(|r| r.below(100)) {
        0..15 => {
            cmd = cmd.deliver(Delivery::Pickup {
                location: loc(STORE),
            })
        }
        15..25 => {
            cmd = cmd.deliver(Delivery::Ship {
                address: Arc::new(us_address("Express")),
                service: ServiceLevel::Express,
            });
        }
        _ => {}
    }
    if let Some(policy) = plan.choose(|r| r.pick(&POLICIES).copied()).flatten() {
        cmd = cmd.back_order(policy);
    }
    let what = format!(
        "place {} via {channel:?}: {}{}",
        cmd.idempotency_key,
        cmd.lines
            .iter()
            .map(|l| format!("{}×{} ", l.quantity, l.sku))
            .collect::<String>(),
        cmd.back_order
            .map(|p| format!("({p:?})"))
            .unwrap_or_default()
    );
    deliver(sim, step, what, Some(|o: &Order| o.id.to_string()), || {
        sim.oms.place_order(cmd.clone())
    })
    .await;
}

async fn pay<S: Store>(sim: &Sim<'_, S>, step: u64, who: CustomerId) {
    let open: Vec<Invoice> = invoices_of(sim, who)
        .into_iter()
        .filter(|i| i.status == InvoiceStatus::Open)
        .collect();
    let Some(invoice) = sim.plan().choose(|r| r.pick(&open).cloned()) else {
        return;
    };
    let Ok(outstanding) = invoice.outstanding() else {
        return;
    };
    let credit = sim
        .read(sim.direct.load::<Customer>(&who))
        .map_or(Money::zero(Currency::USD), |c| c.value.history.credit);
    let key = key(&format!("pay-{step}"));
    // Card money comes in through the provider's captures: what a customer
    // pays by hand comes by bank or at the counter.
    let mut cmd = RecordPayment::new(
        key.clone(),
        invoice.id,
        outstanding,
        PaymentMethod::BankTransfer,
    );
    match sim.plan().choose(|r| r.below(100)) {
        0..20 => {
            cmd.amount = outstanding
                .checked_mul(dec!(0.5))
                .map_or(outstanding, |m| m.round(Rounding::Floor))
        }
        20..30 => {
            cmd.amount = outstanding
                .checked_add(Money::new(dec!(5.00), Currency::USD))
                .unwrap_or(outstanding);
            cmd.overpayment = OverpaymentPolicy::CreditCustomer;
        }
        30..40 if credit.is_positive() => {
            cmd.amount = credit.min(outstanding).unwrap_or(credit);
            cmd.method = PaymentMethod::CustomerCredit;
        }
        40..60 => cmd.method = PaymentMethod::Cash,
        _ => {}
    }
    cmd.reference = Some(key.to_string());
    let what = format!(
        "pay {} on invoice {} ({:?})",
        cmd.amount, invoice.number, cmd.method
    );
    deliver(
        sim,
        step,
        what,
        Some(|p: &Payment| p.id.to_string()),
        || sim.oms.record_payment(cmd.clone()),
    )
    .await;
}

async fn cancel<S: Store>(sim: &Sim<'_, S>, step: u64, who: CustomerId) {
    let open: Vec<Order> = orders_of(sim, who)
        .into_iter()
        .filter(|o| matches!(o.status, OrderStatus::Open | OrderStatus::OnHold))
        .collect();
    let Some(order) = sim.plan().choose(|r| r.pick(&open).cloned()) else {
        return;
    };
    let cancelling = key(&format!("cancel-{step}"));
    deliver(
        sim,
        step,
        format!("cancel {}", order.idempotency_key),
        Some(|o: &Order| o.id.to_string()),
        || {
            sim.oms
                .cancel_order(order.id, "changed my mind", cancelling.clone())
        },
    )
    .await;
}

async fn request_return<S: Store>(sim: &Sim<'_, S>, step: u64, who: CustomerId) {
    let mut candidates = Vec::new();
    for order in orders_of(sim, who) {
        for line in &order.lines {
            let returnable = line.delivered.saturating_sub(line.return_requested).units();
            if returnable > 0 {
                candidates.push((
                    order.id,
                    order.idempotency_key.clone(),
                    line.line_no,
                    returnable,
                ));
            }
        }
    }
    let Some((order, name, line_no, returnable)) =
        sim.plan().choose(|r| r.pick(&candidates).cloned())
    else {
        return;
    };
    let units =
        u32::try_from(sim.plan().choose(|r| r.between(1, i64::from(returnable)))).unwrap_or(1);
    let reason = if sim.plan().choose(|r| r.chance(50)) {
        ReturnReason::Damaged
    } else {
        ReturnReason::NoLongerWanted
    };
    let cmd = RequestReturn::new(key(&format!("rma-{step}")), order).with_lines(vec![(
        line_no,
        Quantity::new(units),
        reason,
    )]);
    let what = format!("ask to return {units} of line {line_no} of {name}");
    deliver(
        sim,
        step,
        what,
        Some(|r: &ReturnAuthorization| r.id.to_string()),
        || sim.oms.request_return(cmd.clone()),
    )
    .await;
}

// --- warehouse -------------------------------------------------------------

async fn ship<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let ready = sim.read(sim.direct.orders_ready_to_ship(100));
    let Some(order) = sim.plan().choose(|r| r.pick(&ready).copied()) else {
        return;
    };
    // Sent twice with one key, the second gets the first's shipments back.
    let shipping = key(&format!("ship-{step}"));
    deliver(
        sim,
        step,
        format!("ship order {order}"),
        Some(shipment_ids),
        || sim.oms.ship(order, shipping.clone()),
    )
    .await;
}

async fn receive_stock<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let plan = sim.plan();
    let code = SKUS[plan.choose(|r| r.below(SKUS.len()))];
    let at = LOCATIONS[plan.choose(|r| r.below(LOCATIONS.len()))];
    let reference = format!("grn-{step}");
    let cmd = ReceiveStock::new(
        key(&reference),
        sku(code),
        loc(at),
        plan.choose(|r| r.between(1, 8)),
    )
    .with_reference(reference);
    let what = format!("receive {} {code} at {at}", cmd.quantity);
    deliver(
        sim,
        step,
        what,
        Some(|l: &o2c::stock::StockLevel| format!("{}@{}", l.sku, l.location)),
        || sim.oms.receive_stock(cmd.clone()),
    )
    .await;
}

async fn adjust_stock<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let plan = sim.plan();
    let code = SKUS[plan.choose(|r| r.below(SKUS.len()))];
    let at = LOCATIONS[plan.choose(|r| r.below(LOCATIONS.len()))];
    let delta = match plan.choose(|r| r.between(-3, 2)) {
        0 => 3,
        d => d,
    };
    let reason = format!("count-{step}");
    let cmd = AdjustStock::new(key(&reason), sku(code), loc(at), delta, reason);
    deliver(
        sim,
        step,
        format!("adjust {code} at {at} by {delta:+}"),
        None,
        || sim.oms.adjust_stock(cmd.clone()),
    )
    .await;
}

async fn handle_return<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let open: Vec<ReturnAuthorization> = sim
        .all::<ReturnAuthorization>()
        .into_iter()
        .filter(|r| {
            matches!(
                r.status,
                ReturnStatus::Requested
                    | ReturnStatus::Authorised
                    | ReturnStatus::PartiallyReceived
            )
        })
        .collect();
    let Some(rma) = sim.plan().choose(|r| r.pick(&open).cloned()) else {
        return;
    };
    let roll = sim.plan().choose(|r| r.below(100));
    let step_key = key(&format!("rma-step-{step}"));
    // Each step is keyed: sent twice, the second gets the first's result back.
    match (rma.status, roll) {
        (ReturnStatus::Requested, 0..80) => {
            if !rma.replacement.is_empty() {
                sim.plan().exercised("exchange: asked to authorise");
            }
            deliver(
                sim,
                step,
                format!("authorise return {}", rma.id),
                None,
                || sim.oms.authorise_return(rma.id, step_key.clone()),
            )
            .await;
        }
        (ReturnStatus::Requested, _) => {
            if !rma.replacement.is_empty() {
                sim.plan().exercised("exchange: asked to reject");
            }
            deliver(sim, step, format!("reject return {}", rma.id), None, || {
                sim.oms.reject_return(rma.id, step_key.clone())
            })
            .await;
        }
        (_, 0..85) => {
            // Now and then a parcel arrives short: one unit fewer on one line.
            let short = sim.plan().choose(|r| r.chance(25));
            let mut lines: Vec<(u16, Quantity, Condition)> = rma
                .lines
                .iter()
                .filter(|l| l.quantity > l.received)
                .map(|l| {
                    let condition = if sim.plan().choose(|r| r.chance(70)) {
                        Condition::Resellable {
                            location: loc(EAST),
                        }
                    } else {
                        Condition::Damaged
                    };
                    (l.line_no, l.quantity.saturating_sub(l.received), condition)
                })
                .collect();
            if short && let Some(line) = lines.iter_mut().find(|l| l.1 > Quantity::new(1)) {
                line.1 = line.1.saturating_sub(Quantity::new(1));
            }
            let exchange = !rma.replacement.is_empty();
            let cmd = ReceiveReturn::new(key(&format!("rcv-{step}")), rma.id).with_lines(lines);
            let received = deliver(
                sim,
                step,
                format!(
                    "receive {}return {}: {:?}",
                    if exchange { "exchange " } else { "" },
                    rma.id,
                    cmd.lines
                ),
                Some(|r: &ReturnAuthorization| r.id.to_string()),
                || sim.oms.receive_return(cmd.clone()),
            )
            .await;
            if exchange {
                changes::received_exchange(sim, step, received.as_ref());
            }
        }
        _ => {
            if !rma.replacement.is_empty() {
                sim.plan().exercised("exchange: asked to close short");
            }
            deliver(sim, step, format!("close return {}", rma.id), None, || {
                sim.oms.close_return(rma.id, step_key.clone())
            })
            .await;
        }
    }
}

async fn purchase<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let expected: Vec<PurchaseOrder> = sim
        .all::<PurchaseOrder>()
        .into_iter()
        .filter(|po| {
            matches!(
                po.status,
                PurchaseOrderStatus::Approved | PurchaseOrderStatus::PartiallyReceived
            )
        })
        .collect();
    let roll = sim.plan().choose(|r| r.below(100));
    if let (Some(po), 0..60) = (sim.plan().choose(|r| r.pick(&expected).cloned()), roll) {
        let lines: Vec<_> = po
            .lines
            .iter()
            .filter(|l| l.outstanding() > Quantity::new(0))
            .map(|l| (l.sku.clone(), l.outstanding()))
            .collect();
        let cmd = ReceivePurchaseOrder::new(key(&format!("po-in-{step}")), po.id).with_lines(lines);
        deliver(
            sim,
            step,
            format!("receive purchase order {}", po.id),
            Some(|p: &PurchaseOrder| p.id.to_string()),
            || sim.oms.receive_purchase_order(cmd.clone()),
        )
        .await;
        return;
    }
    if roll < 80 {
        // Replenishing raises what the back-orders and reorder points need now;
        // sent twice with one key, the second gets the first's orders back.
        let (east, run) = (loc(EAST), key(&format!("replenish-{step}")));
        let raised = deliver(
            sim,
            step,
            "replenish WH-EAST".into(),
            Some(purchase_order_ids),
            || sim.oms.replenish(&east, run.clone()),
        )
        .await;
        for po in raised.unwrap_or_default() {
            approve(sim, step, &po).await;
        }
        return;
    }
    let code = SKUS[sim.plan().choose(|r| r.below(SKUS.len()))];
    let units = u32::try_from(sim.plan().choose(|r| r.between(2, 12))).unwrap_or(2);
    let supplier = sim.cast.supplier;
    let (east, needs) = (loc(EAST), [(sku(code), Quantity::new(units))]);
    // Sent twice with one key, the second gets the first's order back.
    let raising = key(&format!("raise-{step}"));
    let raised = deliver(
        sim,
        step,
        format!("raise purchase order for {units} {code}"),
        Some(|po: &PurchaseOrder| po.id.to_string()),
        || {
            sim.oms
                .raise_purchase_order(supplier, &east, &needs, raising.clone())
        },
    )
    .await;
    if let Some(po) = raised {
        approve(sim, step, &po).await;
    }
}

async fn approve<S: Store>(sim: &Sim<'_, S>, step: u64, po: &PurchaseOrder) {
    if po.status != PurchaseOrderStatus::Draft {
        return;
    }
    let approving = key(&format!("approve-{step}-{}", po.id));
    deliver(
        sim,
        step,
        format!("approve purchase order {}", po.id),
        Some(|po: &PurchaseOrder| po.id.to_string()),
        || sim.oms.approve_purchase_order(po.id, approving.clone()),
    )
    .await;
}

// --- carriers --------------------------------------------------------------

async fn move_a_parcel<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let moving: Vec<Shipment> = sim
        .all::<Shipment>()
        .into_iter()
        .filter(|s| s.status != ShipmentStatus::Delivered)
        .collect();
    let Some(shipment) = sim.plan().choose(|r| r.pick(&moving).cloned()) else {
        return;
    };
    let next = match shipment.status {
        ShipmentStatus::Booked | ShipmentStatus::Exception => ShipmentStatus::InTransit,
        ShipmentStatus::InTransit => ShipmentStatus::OutForDelivery,
        _ if sim.plan().choose(|r| r.chance(10)) => ShipmentStatus::Exception,
        _ => ShipmentStatus::Delivered,
    };
    // Scanned a little while ago: events reach us late and out of order.
    let minutes = sim.plan().choose(|r| r.between(0, 120));
    let event = TrackingEvent {
        at: sim.outside.clock.now() - chrono::Duration::minutes(minutes),
        status: next,
        description: format!("scan {step}"),
    };
    let carriers = &sim.outside.carriers;
    // The third party's carrier is not ours to ask: its news comes by webhook.
    let theirs = shipment.carrier == sim.outside.third_party.name();
    let scanned = if theirs {
        Ok(())
    } else if shipment.carrier == "pickup" {
        match next {
            ShipmentStatus::Delivered => carriers.pickup.collect(&shipment.tracking, event.at),
            _ => carriers.pickup.ready(&shipment.tracking, event.at),
        }
    } else {
        carriers
            .parcel
            .scan(&shipment.tracking, next, event.at, &event.description)
    };
    if let Err(e) = scanned {
        sim.fail(&format!(
            "the carrier does not know its own booking {}: {e}",
            shipment.tracking
        ));
    }
    sim.plan().note(format!(
        "    carrier scanned {} {next:?}",
        shipment.tracking
    ));
    let id = shipment.id;
    if !theirs && sim.plan().choose(|r| r.chance(50)) {
        deliver(
            sim,
            step,
            format!("refresh tracking of {}", shipment.tracking),
            None,
            || sim.oms.refresh_tracking(id),
        )
        .await;
    } else {
        // A webhook: duplicates and stale events are absorbed by the shipment.
        let stale = sim
            .plan()
            .choose(|r| r.pick(&shipment.tracking_events).cloned());
        let event = match stale {
            Some(old) if sim.plan().choose(|r| r.chance(20)) => old,
            _ => event,
        };
        let what = format!("webhook {:?} for {}", event.status, shipment.tracking);
        deliver(sim, step, what, None, || {
            sim.oms.record_tracking(id, event.clone())
        })
        .await;
    }
}

// --- back office -----------------------------------------------------------

async fn credit_note<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let invoices: Vec<Invoice> = sim
        .all::<Invoice>()
        .into_iter()
        .filter(|i| i.status != InvoiceStatus::Void && !i.lines.is_empty())
        .collect();
    let Some(invoice) = sim.plan().choose(|r| r.pick(&invoices).cloned()) else {
        return;
    };
    let Some(line) = sim.plan().choose(|r| r.pick(&invoice.lines).cloned()) else {
        return;
    };
    let reason = format!("goodwill-{step}");
    let cmd = IssueCreditNote::new(key(&reason), invoice.id, reason)
        .with_lines(vec![(line.line_no, Quantity::new(1))]);
    let what = format!(
        "credit 1 of line {} on invoice {}",
        line.line_no, invoice.number
    );
    deliver(
        sim,
        step,
        what,
        Some(|n: &o2c::ledger::CreditNote| n.id.to_string()),
        || sim.oms.issue_credit_note(cmd.clone()),
    )
    .await;
}

async fn refund<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let in_credit: Vec<Customer> = sim
        .all::<Customer>()
        .into_iter()
        .filter(|c| c.history.credit.is_positive())
        .collect();
    let Some(customer) = sim.plan().choose(|r| r.pick(&in_credit).cloned()) else {
        return;
    };
    let payments: Vec<Payment> = sim
        .all::<Payment>()
        .into_iter()
        .filter(|p| p.customer == customer.id && p.method != PaymentMethod::CustomerCredit)
        .filter(|p| {
            p.amount
                .checked_sub(p.refund_total())
                .is_ok_and(|left| left.is_positive())
        })
        .collect();
    let Some(payment) = sim.plan().choose(|r| r.pick(&payments).cloned()) else {
        return;
    };
    let Ok(left) = payment.amount.checked_sub(payment.refund_total()) else {
        return;
    };
    let cmd = RecordRefund::new(
        key(&format!("refund-{step}")),
        payment.id,
        customer.history.credit.min(left).unwrap_or(left),
    );
    let what = format!("refund {} of payment {}", cmd.amount, payment.id);
    deliver(
        sim,
        step,
        what,
        Some(|p: &Payment| p.id.to_string()),
        || sim.oms.record_refund(cmd.clone()),
    )
    .await;
}

async fn hold_or_release<S: Store>(sim: &Sim<'_, S>, step: u64) {
    let orders: Vec<Order> = sim
        .all::<Order>()
        .into_iter()
        .filter(|o| matches!(o.status, OrderStatus::Open | OrderStatus::OnHold))
        .collect();
    let Some(order) = sim.plan().choose(|r| r.pick(&orders).cloned()) else {
        return;
    };
    let name = &order.idempotency_key;
    let holding = key(&format!("hold-{step}"));
    let releasable = order
        .holds
        .iter()
        .copied()
        .find(|h| *h != Hold::AwaitingPayment);
    match releasable {
        Some(hold) => {
            deliver(
                sim,
                step,
                format!("release {hold:?} on {name}"),
                None,
                || sim.oms.release_hold(order.id, hold, holding.clone()),
            )
            .await;
        }
        None => {
            deliver(sim, step, format!("hold {name} for review"), None, || {
                sim.oms
                    .hold_order(order.id, Hold::ManualReview, holding.clone())
            })
            .await;
        }
    }
}

// --- screens ---------------------------------------------------------------

// Identities of answers that are vectors: `deliver` passes `&T` itself.
#[allow(clippy::ptr_arg)]
fn shipment_ids(shipments: &Vec<Shipment>) -> String {
    shipments.iter().map(|s| format!("{} ", s.id)).collect()
}

#[allow(clippy::ptr_arg)]
fn purchase_order_ids(raised: &Vec<PurchaseOrder>) -> String {
    raised.iter().map(|po| format!("{} ", po.id)).collect()
}

pub fn orders_of<S: Store>(sim: &Sim<'_, S>, who: CustomerId) -> Vec<Order> {
    let ids = sim.read(sim.direct.orders_of_customer(who));
    let found = sim.read(sim.direct.load_many::<Order>(&ids));
    found.into_iter().flatten().map(|v| v.value).collect()
}

fn invoices_of<S: Store>(sim: &Sim<'_, S>, who: CustomerId) -> Vec<Invoice> {
    let ids: Vec<_> = orders_of(sim, who)
        .into_iter()
        .flat_map(|o| o.invoices)
        .collect();
    let found = sim.read(sim.direct.load_many::<Invoice>(&ids));
    found.into_iter().flatten().map(|v| v.value).collect()
}
