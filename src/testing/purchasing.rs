//! Purchasing under concurrency, run through [`Oms`] on the store under test.
//! Replenishment decides on the set of purchase orders open for a SKU, so a
//! purchase order raised for that SKU meanwhile — by hand or by another
//! replenishment — must send it back to decide again: the units a shortfall calls
//! for are ordered once. And no purchasing command takes a turn on a record the
//! others share: commands on different SKUs never lose a race to each other.

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Days, Utc};

use crate::customer::PaymentTerms;
use crate::error::Error;
use crate::fulfilment::PickupCarrier;
use crate::ids::{PurchaseOrderId, Sku, SupplierId};
use crate::money::Currency;
use crate::order::{Channel, Delivery, PlaceOrder};
use crate::purchasing::BackOrderPolicy;
use crate::purchasing::{Offer, PurchaseOrder, ReorderRule, Supplier};
use crate::quantity::Quantity;
use crate::store::{Changeset, Committed, Store, StoreResult, StoreWrapper};
use crate::{Oms, ReceivePurchaseOrder};

use super::contention::{none_failed, on_threads};
use super::{CaseResult, Counting, Failure, OrFail, block_on, code, open_shop, usd};

/// A store whose first `callers` commits wait for each other: every caller has
/// read before any of them commits, so they all decide on the same state and
/// then race to commit — the interleaving a race condition needs, every run.
struct Rendezvous<'a, S> {
    inner: &'a S,
    barrier: Barrier,
    waiting: AtomicUsize,
}

impl<'a, S: Store> Rendezvous<'a, S> {
    fn new(inner: &'a S, callers: usize) -> Self {
        Self {
            inner,
            barrier: Barrier::new(callers),
            waiting: AtomicUsize::new(callers),
        }
    }
}

impl<S: Store> StoreWrapper for Rendezvous<'_, S> {
    type Inner = S;

    fn inner(&self) -> &S {
        self.inner
    }

    async fn commit(&self, changes: Changeset) -> StoreResult<Committed> {
        let first = self
            .waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if first {
            // Each caller runs on its own thread (`on_threads`), so blocking here
            // holds up only that caller.
            self.barrier.wait();
        }
        self.inner.commit(changes).await
    }
}

/// A supplier of `skus` at 2.00 a unit, a unit at a time, valid for years around
/// today.
fn mills(case: &'static str, skus: &[Sku]) -> Result<Supplier, Failure> {
    let today = Utc::now().date_naive();
    let from = today.checked_sub_days(Days::new(30));
    let until = today.checked_add_days(Days::new(3650));
    let (Some(from), Some(until)) = (from, until) else {
        return Err(Failure {
            case,
            message: "no calendar around today".into(),
        });
    };
    let mut supplier = Supplier::new(
        SupplierId::from_uuid(uuid::Uuid::from_u128(77)),
        "Mills",
        Currency::USD,
    );
    for sku in skus {
        supplier = supplier.offer(Offer::new(sku.clone(), usd(200), 5, from, until));
    }
    Ok(supplier)
}

/// Units of `sku` still expected on every open purchase order, and how many
/// purchase orders are open for it.
async fn on_order<S: Store>(
    case: &'static str,
    oms: &Oms<S, PickupCarrier>,
    sku: &Sku,
) -> Result<(u32, usize), Failure> {
    let open: Vec<PurchaseOrder> = oms
        .store()
        .list::<PurchaseOrder>()
        .await
        .or_fail(case, "listing purchase orders")?
        .into_iter()
        .map(|v| v.value)
        .filter(|po| !po.outstanding(sku).is_zero())
        .collect();
    let units = open
        .iter()
        .map(|po| po.outstanding(sku))
        .fold(Quantity::ZERO, Quantity::saturating_add);
    Ok((units.units(), open.len()))
}

/// Five callers replenishing a store where a customer waits for 3 units of one
/// SKU and its reorder rule (min 10, max 40, nothing on hand) calls for 40 more,
/// while another caller raises a purchase order of 5 by hand, all having read
/// before any commits: replenishment orders the shortfall once. Run one after
/// another, either the hand-raised 5 came first and replenishment tops up with 38
/// (43 on order), or replenishment ordered 43 and the 5 came on top (48); never
/// more, and never two replenishment orders.
pub async fn replenishing_one_sku_orders_it_once<S: Store>(store: &S) -> CaseResult {
    let case = "replenishing_one_sku_orders_it_once";
    const REPLENISHERS: usize = 5;
    let oms = Oms::new(store, PickupCarrier::new());
    let shop = open_shop(case, &oms, 0, PaymentTerms::Net { days: 30 }).await?;
    let (sku, site) = (shop.product.sku.clone(), shop.location.id.clone());
    // The queue exists: an absent one is written whenever it is read, which would
    // hide a missing claim.
    oms.place_order(
        PlaceOrder::new(
            code(case, "waiting")?,
            shop.customer.id,
            Channel::Phone,
            Currency::USD,
        )
        .line(sku.clone(), 3)
        .back_order(BackOrderPolicy::BackOrder)
        .deliver(Delivery::Pickup {
            location: site.clone(),
        }),
    )
    .await
    .or_fail(case, "back-ordering")?;
    let supplier = mills(case, std::slice::from_ref(&sku))?;
    oms.save_supplier(supplier.clone())
        .await
        .or_fail(case, "saving the supplier")?;
    oms.set_reorder_rule(ReorderRule {
        sku: sku.clone(),
        location: site.clone(),
        min: Quantity::new(10),
        max: Quantity::new(40),
    })
    .await
    .or_fail(case, "setting the rule")?;
    let racing = Rendezvous::new(store, REPLENISHERS + 1);
    let racers = Oms::new(&racing, PickupCarrier::new());
    let raised_by_hand = std::sync::Mutex::new(None::<PurchaseOrderId>);
    let failed = on_threads(REPLENISHERS + 1, 1, |caller, _| {
        if caller == REPLENISHERS {
            let po = block_on(racers.raise_purchase_order(
                supplier.id,
                &site,
                &[(sku.clone(), Quantity::new(5))],
                keyed(case, "by-hand")?,
            ))?;
            if let Ok(mut id) = raised_by_hand.lock() {
                *id = Some(po.id);
            }
            Ok(())
        } else {
            block_on(racers.replenish(&site, keyed(case, &format!("run-{caller}"))?)).map(drop)
        }
    });
    if let Some((caller, n, e)) = failed.first() {
        return Err(Failure {
            case,
            message: format!("caller {caller} call {n}: {e}"),
        });
    }
    let (units, orders) = on_order(case, &oms, &sku).await?;
    ensure!(
        case,
        orders == 2 && (units == 43 || units == 48),
        "{units} units on {orders} purchase orders: one replenishment (38 or 43) and one of 5 by hand expected"
    );
    let left = oms
        .requisitions(&site)
        .await
        .or_fail(case, "requisitions")?;
    ensure!(
        case,
        left.is_empty(),
        "replenishment still asks for {left:?}"
    );
    ensure!(
        case,
        raised_by_hand
            .lock()
            .map(|id| id.is_some())
            .unwrap_or(false),
        "the hand-raised purchase order is missing"
    );
    Ok(())
}

/// Eight callers each buying their own SKU three times over — raising a purchase
/// order, approving, receiving and closing it, and setting its reorder rule — at
/// once, their first commits (eight raises) held until all eight are ready:
/// every call succeeds and no commit loses a race, since purchasing commands on
/// different SKUs share no record they write or check.
pub async fn purchasing_different_skus_never_contends<S: Store>(store: &S) -> CaseResult {
    let case = "purchasing_different_skus_never_contends";
    const CALLERS: usize = 8;
    const ROUNDS: usize = 3;
    let racing = Rendezvous::new(store, CALLERS);
    let counted = Counting::new(&racing);
    let oms = Oms::new(store, PickupCarrier::new());
    let shop = open_shop(case, &oms, 0, PaymentTerms::Prepaid).await?;
    let site = shop.location.id.clone();
    let mut skus: Vec<Sku> = Vec::new();
    for caller in 0..CALLERS {
        let sku: Sku = code(case, &format!("SKU-P{caller}"))?;
        let mut product = shop.product.clone();
        product.sku = sku.clone();
        oms.save_product(product)
            .await
            .or_fail(case, "saving a product")?;
        skus.push(sku);
    }
    let supplier = mills(case, &skus)?;
    oms.save_supplier(supplier.clone())
        .await
        .or_fail(case, "saving the supplier")?;
    let racers = Oms::new(&counted, PickupCarrier::new());
    let buy = |caller: usize, n: usize| -> Result<(), Error> {
        let sku = skus
            .get(caller)
            .ok_or_else(|| Error::invalid("caller", "no SKU"))?;
        // The first commits, held until all eight are ready: eight raises at once.
        let po = block_on(racers.raise_purchase_order(
            supplier.id,
            &site,
            &[(sku.clone(), Quantity::new(10))],
            keyed(case, &format!("po-{caller}-{n}"))?,
        ))?;
        block_on(racers.approve_purchase_order(po.id, keyed(case, &format!("ok-{caller}-{n}"))?))?;
        let key = code(case, &format!("grn-{caller}-{n}"))
            .map_err(|f| Error::invalid("case", f.to_string()))?;
        block_on(racers.receive_purchase_order(ReceivePurchaseOrder {
            idempotency_key: key,
            purchase_order: po.id,
            lines: vec![(sku.clone(), Quantity::new(6))],
        }))?;
        block_on(racers.close_purchase_order(po.id, keyed(case, &format!("end-{caller}-{n}"))?))?;
        if n == 0 {
            block_on(racers.set_reorder_rule(ReorderRule {
                sku: sku.clone(),
                location: site.clone(),
                min: Quantity::ZERO,
                max: Quantity::new(5),
            }))?;
        }
        Ok(())
    };
    counted.take();
    let failed = on_threads(CALLERS, ROUNDS, buy);
    none_failed(case, &counted, &failed)?;
    for sku in &skus {
        let level = oms.stock_level(sku, &site).await.or_fail(case, "stock")?;
        let received = i64::try_from(ROUNDS * 6).unwrap_or(i64::MAX);
        ensure!(
            case,
            level.on_hand == received,
            "{sku}: {} on hand after receiving {received}",
            level.on_hand
        );
        let (units, orders) = on_order(case, &oms, sku).await?;
        ensure!(
            case,
            units == 0 && orders == 0,
            "{sku}: {units} units still on order on {orders} closed purchase orders"
        );
    }
    let report = oms.audit().await.or_fail(case, "auditing")?;
    ensure!(case, report.is_clean(), "audit: {:?}", report.violations);
    Ok(())
}

/// An idempotency key for a caller on a thread, whose errors are the service's.
fn keyed(case: &'static str, text: &str) -> Result<crate::ids::IdempotencyKey, Error> {
    code(case, text).map_err(|f| Error::invalid("case", f.to_string()))
}
