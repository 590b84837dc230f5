//! The races a busy shop runs every minute, run through [`Oms`] on the store under
//! test: many callers placing invoiced orders at once, back-ordering one SKU, and
//! buying and paying as one customer. None may end in [`Error::Contention`], and no
//! commit may even lose a race: the store contract leaves no record every such
//! command must rewrite (document numbers come from the commit; customer figures
//! and back-order queues change by merges the store applies).

use crate::customer::{Customer, PaymentMethod, PaymentTerms};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Error;
use crate::fulfilment::PickupCarrier;
use crate::ids::{IdempotencyKey, LocationId};
use crate::money::{Currency, Money};
use crate::order::{Channel, Delivery, Order, PlaceOrder};
use crate::purchasing::BackOrderPolicy;
use crate::store::Store;
use crate::{Applied, Oms, ReceiveStock, RecordPayment};

use super::{CaseResult, Counting, Failure, OrFail, block_on, code, open_shop, usd};

/// Runs `work(caller, n)` for `n` in `0..per_caller` on `callers` threads at once and
/// collects what went wrong, as `(caller, n, error)`.
pub(super) fn on_threads<F>(
    callers: usize,
    per_caller: usize,
    work: F,
) -> Vec<(usize, usize, Error)>
where
    F: Fn(usize, usize) -> Result<(), Error> + Sync,
{
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..callers)
            .map(|caller| {
                let work = &work;
                scope.spawn(move || {
                    (0..per_caller)
                        .filter_map(|n| work(caller, n).err().map(|e| (caller, n, e)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join().unwrap_or_else(|_| {
                    vec![(usize::MAX, 0, Error::invalid("thread", "a caller panicked"))]
                })
            })
            .collect()
    })
}

/// Fails `case` if any call failed, naming the first failures, or if any commit
/// lost a race: the commands these cases run concurrently share no record they
/// write or check, so a lost race means the store (or the service) made a hot spot.
pub(super) fn none_failed<S: Store>(
    case: &'static str,
    counted: &Counting<S>,
    failed: &[(usize, usize, Error)],
) -> CaseResult {
    let calls = counted.take();
    if failed.is_empty() {
        ensure!(
            case,
            calls.lost_races == 0,
            "{} of {} commits lost a race to another caller",
            calls.lost_races,
            calls.commits
        );
        return Ok(());
    }
    let contended = failed
        .iter()
        .filter(|(_, _, e)| matches!(e, Error::Contention { .. }))
        .count();
    let first: Vec<String> = failed
        .iter()
        .take(3)
        .map(|(caller, n, e)| format!("caller {caller} call {n}: {e}"))
        .collect();
    Err(Failure {
        case,
        message: format!(
            "{} calls failed ({contended} with Contention), first: {}",
            failed.len(),
            first.join("; ")
        ),
    })
}

fn order_key(case: &'static str, caller: usize, n: usize) -> Result<IdempotencyKey, Failure> {
    code(case, &format!("order-{caller}-{n}"))
}

fn failure_error(f: Failure) -> Error {
    Error::invalid("case", f.to_string())
}

/// Sixteen callers placing 2,000 orders invoiced on placement, with plenty of stock,
/// while the reports' read models fold the log beside them (a live dashboard):
/// every order is placed, no commit loses a race, the invoices are numbered 1 to
/// 2,000 without a gap, and the fill-rate report counts every order.
pub async fn checkouts_never_contend<S: Store>(store: &S) -> CaseResult {
    let case = "checkouts_never_contend";
    const CALLERS: usize = 16;
    const PER_CALLER: usize = 125;
    let counted = Counting::new(store);
    let oms = Oms::new(&counted, PickupCarrier::new());
    let shop = open_shop(case, &oms, 1_000_000, PaymentTerms::Net { days: 30 }).await?;
    let mut buyers = vec![shop.customer.clone()];
    for n in 1..CALLERS {
        let mut profile = (*shop.customer.profile).clone();
        profile.email = format!("buyer{n}@example.com");
        buyers.push(
            oms.register_customer(profile, code(case, &format!("buyer-{n}"))?)
                .await
                .or_fail(case, "registering")?
                .into_inner(),
        );
    }
    let place = |caller: usize, n: usize| -> Result<Order, Error> {
        let buyer: &Customer = buyers
            .get(caller)
            .ok_or_else(|| Error::invalid("caller", "no buyer"))?;
        let key = order_key(case, caller, n).map_err(failure_error)?;
        let units = i64::try_from(n % 3 + 1).unwrap_or(1);
        block_on(
            oms.place_order(
                PlaceOrder::new(key, buyer.id, Channel::Web, Currency::USD)
                    .line(shop.product.sku.clone(), units)
                    .deliver(Delivery::Pickup {
                        location: shop.location.id.clone(),
                    }),
            ),
        )
        .map(Applied::into_inner)
    };
    counted.take();
    let placing = AtomicBool::new(true);
    let (failed, folded) = std::thread::scope(|scope| {
        let follower = scope.spawn(|| {
            let mut folds = 0u64;
            while placing.load(Ordering::Relaxed) {
                block_on(oms.refresh_reports())?;
                folds += 1;
                std::thread::yield_now();
            }
            Ok::<u64, Error>(folds)
        });
        let failed = on_threads(CALLERS, PER_CALLER, |caller, n| place(caller, n).map(drop));
        placing.store(false, Ordering::Relaxed);
        (failed, follower.join())
    });
    none_failed(case, &counted, &failed)?;
    match folded {
        Ok(result) => {
            result.or_fail(case, "folding the log beside the callers")?;
        }
        Err(_) => {
            return Err(Failure {
                case,
                message: "the read models' follower panicked".into(),
            });
        }
    }
    let today = chrono::Utc::now().date_naive();
    let fill = oms
        .fill_rate(
            crate::reports::DateRange::days_up_to(today, 2),
            &crate::reports::PageRequest::first(100),
        )
        .await
        .or_fail(case, "the fill-rate report")?;
    let placed: u64 = fill.items.iter().map(|row| row.orders).sum();
    ensure!(
        case,
        placed == u64::try_from(CALLERS * PER_CALLER).unwrap_or(0),
        "the fill-rate report counts {placed} orders"
    );
    let mut numbers = Vec::new();
    for caller in 0..CALLERS {
        for n in 0..PER_CALLER {
            // A replay of the same key returns the order it placed.
            let order = place(caller, n).or_fail(case, "replaying an order")?;
            for invoice in &order.invoices {
                let invoice = oms.invoice(*invoice).await.or_fail(case, "invoice")?;
                numbers.push(invoice.number.value());
            }
        }
    }
    numbers.sort_unstable();
    let expected: Vec<u64> = (1..=u64::try_from(CALLERS * PER_CALLER).unwrap_or(0)).collect();
    ensure!(
        case,
        numbers == expected,
        "invoice numbers are not 1..={}: {} numbers, first {:?}",
        expected.len(),
        numbers.len(),
        numbers.iter().take(5).collect::<Vec<_>>()
    );
    let report = oms.audit().await.or_fail(case, "auditing")?;
    ensure!(case, report.is_clean(), "audit: {:?}", report.violations);
    Ok(())
}

/// Eight callers back-ordering one out-of-stock SKU fifty times each: every order is
/// placed and queued, and a receipt of exactly the units waiting fills every one.
pub async fn back_orders_on_one_sku_never_contend<S: Store>(store: &S) -> CaseResult {
    let case = "back_orders_on_one_sku_never_contend";
    const CALLERS: usize = 8;
    const PER_CALLER: usize = 50;
    let counted = Counting::new(store);
    let oms = Oms::new(&counted, PickupCarrier::new());
    let shop = open_shop(case, &oms, 0, PaymentTerms::Net { days: 30 }).await?;
    let place = |caller: usize, n: usize| -> Result<Order, Error> {
        let key = order_key(case, caller, n).map_err(failure_error)?;
        block_on(
            oms.place_order(
                PlaceOrder::new(key, shop.customer.id, Channel::Phone, Currency::USD)
                    .line(shop.product.sku.clone(), 1)
                    .back_order(BackOrderPolicy::BackOrder)
                    .deliver(Delivery::Pickup {
                        location: shop.location.id.clone(),
                    }),
            ),
        )
        .map(Applied::into_inner)
    };
    counted.take();
    let failed = on_threads(CALLERS, PER_CALLER, |caller, n| place(caller, n).map(drop));
    none_failed(case, &counted, &failed)?;
    let waiting = CALLERS * PER_CALLER;
    let receipt = ReceiveStock {
        idempotency_key: code(case, "grn-2")?,
        sku: shop.product.sku.clone(),
        location: shop.location.id.clone(),
        quantity: i64::try_from(waiting).unwrap_or(0),
        reference: "the awaited delivery".into(),
    };
    oms.receive_stock(receipt)
        .await
        .or_fail(case, "receiving")?;
    let mut still_waiting = 0;
    for caller in 0..CALLERS {
        for n in 0..PER_CALLER {
            let order = place(caller, n).or_fail(case, "replaying an order")?;
            let order = oms.order(order.id).await.or_fail(case, "reading")?;
            still_waiting += order.backordered_units();
        }
    }
    ensure!(
        case,
        still_waiting == 0,
        "{still_waiting} units still back-ordered after {waiting} arrived for {waiting} waiting"
    );
    let level = oms
        .stock_level(&shop.product.sku, &shop.location.id)
        .await
        .or_fail(case, "stock")?;
    ensure!(
        case,
        level.reserved == level.on_hand,
        "{} on hand but {} reserved: every unit should be promised",
        level.on_hand,
        level.reserved
    );
    let report = oms.audit().await.or_fail(case, "auditing")?;
    ensure!(case, report.is_clean(), "audit: {:?}", report.violations);
    Ok(())
}

/// Sixteen callers each placing and paying 25 orders for one customer (a guest
/// account, an EDI batch): every call succeeds, and the customer's figures add up.
pub async fn one_busy_customer_never_contends<S: Store>(store: &S) -> CaseResult {
    let case = "one_busy_customer_never_contends";
    const CALLERS: usize = 16;
    const PER_CALLER: usize = 25;
    let counted = Counting::new(store);
    let oms = Oms::new(&counted, PickupCarrier::new());
    let shop = open_shop(case, &oms, 1_000_000, PaymentTerms::Prepaid).await?;
    let buyer = shop.customer.id;
    let pickup: LocationId = shop.location.id.clone();
    let buy_and_pay = |caller: usize, n: usize| -> Result<(), Error> {
        let key = order_key(case, caller, n).map_err(failure_error)?;
        let order = block_on(
            oms.place_order(
                PlaceOrder::new(key, buyer, Channel::Store, Currency::USD)
                    .line(shop.product.sku.clone(), 1)
                    .deliver(Delivery::Pickup {
                        location: pickup.clone(),
                    }),
            ),
        )?;
        for invoice in &order.invoices {
            let due = block_on(oms.invoice(*invoice))?.total()?;
            let key = code(case, &format!("pay-{caller}-{n}")).map_err(failure_error)?;
            block_on(oms.record_payment(RecordPayment::new(
                key,
                *invoice,
                due,
                PaymentMethod::Card,
            )))?;
        }
        Ok(())
    };
    counted.take();
    let failed = on_threads(CALLERS, PER_CALLER, buy_and_pay);
    none_failed(case, &counted, &failed)?;
    let customer = oms.customer(buyer).await.or_fail(case, "reading")?;
    let orders = u32::try_from(CALLERS * PER_CALLER).unwrap_or(0);
    let each: Money = {
        let order = oms
            .customer_orders(buyer)
            .await
            .or_fail(case, "orders")?
            .into_iter()
            .next()
            .ok_or_else(|| Failure {
                case,
                message: "no orders".into(),
            })?;
        order.total().or_fail(case, "total")?
    };
    let history = &customer.history;
    ensure!(
        case,
        history.orders_placed == orders,
        "{} orders counted, {orders} placed",
        history.orders_placed
    );
    ensure!(
        case,
        history.balance == usd(0),
        "balance {} after paying everything",
        history.balance
    );
    let lifetime = each
        .checked_mul_qty(u64::from(orders))
        .or_fail(case, "lifetime value")?;
    ensure!(
        case,
        history.lifetime_value == lifetime,
        "lifetime value {} after {orders} orders of {each}",
        history.lifetime_value
    );
    let report = oms.audit().await.or_fail(case, "auditing")?;
    ensure!(case, report.is_clean(), "audit: {:?}", report.violations);
    Ok(())
}

/// Eight callers submitting the very same order (one idempotency key) at once — a
/// double-clicked checkout, a retried request: one order is placed, stock is
/// reserved once, and every caller gets that order back.
pub async fn one_key_from_many_callers_places_one_order<S: Store>(store: &S) -> CaseResult {
    let case = "one_key_from_many_callers_places_one_order";
    let oms = Oms::new(store, PickupCarrier::new());
    let shop = open_shop(case, &oms, 100, PaymentTerms::Prepaid).await?;
    let cmd = PlaceOrder::new(
        code(case, "double-click")?,
        shop.customer.id,
        Channel::Web,
        Currency::USD,
    )
    .line(shop.product.sku.clone(), 3)
    .deliver(Delivery::Pickup {
        location: shop.location.id.clone(),
    });
    let placed: Vec<Result<Order, Error>> = std::thread::scope(|scope| {
        let callers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| block_on(oms.place_order(cmd.clone())).map(Applied::into_inner))
            })
            .collect();
        callers
            .into_iter()
            .map(|c| {
                c.join()
                    .unwrap_or_else(|_| Err(Error::invalid("thread", "a caller panicked")))
            })
            .collect()
    });
    let mut ids = Vec::new();
    for order in placed {
        ids.push(order.or_fail(case, "a submission of the same order")?.id);
    }
    ensure!(
        case,
        ids.windows(2).all(|w| w.first() == w.last()),
        "callers got different orders: {ids:?}"
    );
    let orders = oms
        .customer_orders(shop.customer.id)
        .await
        .or_fail(case, "orders")?;
    let level = oms
        .stock_level(&shop.product.sku, &shop.location.id)
        .await
        .or_fail(case, "stock")?;
    ensure!(
        case,
        orders.len() == 1 && level.reserved == 3,
        "{} orders placed, {} units reserved for one order of 3",
        orders.len(),
        level.reserved
    );
    let report = oms.audit().await.or_fail(case, "auditing")?;
    ensure!(case, report.is_clean(), "audit: {:?}", report.violations);
    Ok(())
}

/// Four callers back-ordering one SKU while four others receive it, a unit at a
/// time: no received unit is given twice or lost — every unit that arrived is
/// reserved for a waiting line or free, and the waiting units are what was ordered
/// less what was reserved.
pub async fn back_orders_racing_receipts_give_each_unit_once<S: Store>(store: &S) -> CaseResult {
    let case = "back_orders_racing_receipts_give_each_unit_once";
    const ORDERS: usize = 4 * 15;
    const RECEIPTS: usize = 4 * 10;
    let oms = Oms::new(store, PickupCarrier::new());
    let shop = open_shop(case, &oms, 0, PaymentTerms::Net { days: 30 }).await?;
    let failed = on_threads(8, 15, |caller, n| {
        if caller < 4 {
            let key = order_key(case, caller, n).map_err(failure_error)?;
            block_on(
                oms.place_order(
                    PlaceOrder::new(key, shop.customer.id, Channel::Phone, Currency::USD)
                        .line(shop.product.sku.clone(), 1)
                        .back_order(BackOrderPolicy::BackOrder)
                        .deliver(Delivery::Pickup {
                            location: shop.location.id.clone(),
                        }),
                ),
            )
            .map(drop)
        } else if n < 10 {
            let key = code(case, &format!("grn-{caller}-{n}")).map_err(failure_error)?;
            block_on(oms.receive_stock(ReceiveStock {
                idempotency_key: key,
                sku: shop.product.sku.clone(),
                location: shop.location.id.clone(),
                quantity: 1,
                reference: "a unit at a time".into(),
            }))
            .map(drop)
        } else {
            Ok(())
        }
    });
    if let Some((caller, n, e)) = failed.first() {
        return Err(Failure {
            case,
            message: format!("caller {caller} call {n}: {e}"),
        });
    }
    let level = oms
        .stock_level(&shop.product.sku, &shop.location.id)
        .await
        .or_fail(case, "stock")?;
    let mut waiting = 0;
    for order in oms
        .customer_orders(shop.customer.id)
        .await
        .or_fail(case, "orders")?
    {
        waiting += order.backordered_units();
    }
    let (ordered, received) = (ORDERS as i64, RECEIPTS as i64);
    ensure!(
        case,
        level.on_hand == received
            && level.reserved == received.min(ordered)
            && i64::try_from(waiting).unwrap_or(i64::MAX) == ordered - level.reserved,
        "{received} received and {ordered} ordered, but {} on hand, {} reserved, {waiting} waiting",
        level.on_hand,
        level.reserved
    );
    let report = oms.audit().await.or_fail(case, "auditing")?;
    ensure!(case, report.is_clean(), "audit: {:?}", report.violations);
    Ok(())
}
