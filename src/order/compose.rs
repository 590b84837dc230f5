//! Placing an order, decided: pricing, allocating or back-ordering each line, holds
//! and the invoice — from what the command read, with no store.

use std::borrow::Cow;

use super::{
    Delivery, Hold, LineReservation, Order, OrderAction, OrderError, OrderStatus, PlaceOrder,
    ServiceLevel, price_lines, transition,
};
use crate::catalog::{Product, Products, TaxTable};
use crate::customer::{Customer, PaymentTerms};
use crate::decide::Context;
use crate::error::Error;
use crate::event::{Event, ReservedStock};
use crate::ids::{OrderId, Sku};
use crate::ledger::{Invoice, InvoicePolicy, issue_invoice};
use crate::money::{Money, MoneyError};
use crate::purchasing::{BackOrderPolicy, Backlog, Supply};
use crate::quantity::Quantity;
use crate::stock::{
    AllocationStrategy, LineDemand, Location, ReservationChange, StockError, StockLevel, allocate,
    allocate_available,
};
use crate::store::{Changeset, Check, Fetched, Prefetch, RecordKey};

/// The service's rules a placement follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placing {
    /// How lines are spread over locations.
    pub allocation: AllocationStrategy,
    /// When invoices are issued.
    pub invoice_policy: InvoicePolicy,
    /// Invoice now whatever the policy (an exchange's replacement).
    pub invoice_now: bool,
    /// The buyer pays through the payment provider: the card authorisation the
    /// service makes after this decision stands in for prepayment (no
    /// [`Hold::AwaitingPayment`]), and the order is invoiced as it ships, each
    /// invoice captured ([`crate::payment`]).
    pub through_provider: bool,
}

/// Builds a new order for `buyer` into `changes`: prices it, reserves or
/// back-orders its lines, applies holds and, as the policy says (or always with
/// `rules.invoice_now`), invoices it. Returns the order, which the caller puts, and
/// its invoice if one was issued (already put) — or `None`, with nothing changed,
/// when a line is short and `supply` was not given: the caller then reads the
/// queues of the order's SKUs into `backlog`, and the supply, and asks again.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compose(
    cmd: &PlaceOrder,
    buyer: &mut Customer,
    inputs: &OrderInputs,
    rules: Placing,
    backlog: &mut Backlog,
    supply: Option<Supply<'_>>,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Option<(Order, Option<Invoice>)>, Error> {
    if cmd.currency != buyer.profile.currency {
        return Err(OrderError::CurrencyMismatch {
            expected: buyer.profile.currency,
            found: cmd.currency,
        }
        .into());
    }

    let OrderInputs {
        products,
        tax,
        locations,
        levels: stored_levels,
    } = inputs;
    let (delivery, candidates) = delivery_and_sites(cmd, buyer, locations.iter().map(|l| &**l))?;
    let country = match &delivery {
        Delivery::Ship { address, .. } => address.country.clone(),
        Delivery::Pickup { .. } => candidates
            .first()
            .map(|l| l.address.country.clone())
            .unwrap_or_default(),
    };
    let shipping_charge = cmd.shipping_charge.unwrap_or(Money::zero(cmd.currency));
    if shipping_charge.currency() != cmd.currency {
        return Err(OrderError::CurrencyMismatch {
            expected: cmd.currency,
            found: shipping_charge.currency(),
        }
        .into());
    }
    if shipping_charge.is_negative() {
        return Err(OrderError::NegativeShipping.into());
    }
    if !shipping_charge.is_in_minor_units() {
        return Err(OrderError::Money(MoneyError::NotInMinorUnits {
            amount: shipping_charge.amount(),
            currency: shipping_charge.currency(),
        })
        .into());
    }

    let skus = distinct_skus(cmd);
    let mut lines = price_lines(cmd, |sku| products.get(sku), tax, &country)?;

    let demand: Vec<LineDemand> = lines
        .iter()
        .map(|l| LineDemand {
            sku: l.sku.clone(),
            quantity: l.quantity,
        })
        .collect();
    let mut back_order = cmd.back_order.unwrap_or_default();
    // Stock as the commit this order joins leaves it (an exchange's returned
    // units, restocked in the same commit, may serve its replacement).
    let levels = pending_levels(&skus, stored_levels, changes)?;
    let (allocations, shortfalls) = match allocate(&demand, &levels, &candidates, rules.allocation)
    {
        Ok(allocations) => (allocations, Vec::new()),
        Err(short @ StockError::Insufficient { .. }) => {
            let (allocations, shortfalls) =
                allocate_available(&demand, &levels, &candidates, rules.allocation)?;
            let short_lines = lines.iter().map(|l| &l.sku).zip(&shortfalls);
            let policy = back_order_policy(cmd.back_order, short_lines, products);
            if policy == BackOrderPolicy::Reject {
                return Err(short.into());
            }
            back_order = policy;
            (allocations, shortfalls)
        }
        Err(e) => return Err(e.into()),
    };

    // A short line waits in its SKU's queue, promised a date from the supply: the
    // caller reads both and asks again.
    let supply = match supply {
        Some(supply) => supply,
        None if shortfalls.iter().any(|short| !short.is_zero()) => return Ok(None),
        None => Supply::NONE,
    };
    let now = changes.at;
    let id = ctx.id(OrderId::from_uuid);
    let first_event = changes.events.len();
    // Sized once: a line's reservation and its change each, and the order's own
    // events; growing them line by line copied them several times.
    changes.reservations.reserve(allocations.len());
    changes.events.reserve(4);
    let mut reserved = Vec::with_capacity(allocations.len());
    for a in &allocations {
        let Some(line) = lines.get_mut(a.line) else {
            continue;
        };
        line.reservations
            .push(LineReservation::new(a.location.clone(), a.quantity));
        changes.reservations.push(ReservationChange {
            sku: line.sku.clone(),
            location: a.location.clone(),
            order: id,
            quantity: a.quantity.as_i64(),
        });
        reserved.push(ReservedStock {
            sku: line.sku.clone(),
            location: a.location.clone(),
            quantity: a.quantity,
        });
    }
    changes.events.extend(Event::stock_reserved(id, reserved));

    let mut order = Order {
        id,
        number: None,
        customer: buyer.id,
        channel: cmd.channel,
        currency: cmd.currency,
        lines: lines.into(),
        delivery,
        shipping_charge,
        status: OrderStatus::Open,
        holds: Vec::new(),
        awaiting_payment_since: None,
        invoices: Vec::new(),
        shipments: Vec::new(),
        invoiced: Money::zero(cmd.currency),
        paid: Money::zero(cmd.currency),
        placed_at: now,
        closed_at: None,
        idempotency_key: cmd.idempotency_key.clone(),
        note: cmd.note.clone(),
        back_order,
        back_order_requested: cmd.back_order,
        credited: None,
        authorisations: Vec::new(),
        through_provider: rules.through_provider,
    };
    let pin = match &order.delivery {
        Delivery::Pickup { location } => Some(location.clone()),
        Delivery::Ship { .. } => None,
    };
    backlog.queue_shortfalls(
        &mut order,
        &shortfalls,
        products,
        supply,
        pin.as_ref(),
        cmd.back_order_priority,
        changes,
    )?;
    // Back-ordered on the stock as read: units arriving meanwhile must send this
    // order back to take them instead of waiting.
    for (line, short) in order.lines.iter().zip(&shortfalls) {
        let on_hand = stored_levels
            .iter()
            .filter(|l| l.sku == line.sku)
            .map(|l| l.on_hand)
            .fold(0, i64::saturating_add);
        let check = Check::SkuOnHand {
            sku: line.sku.clone(),
            on_hand,
        };
        if !short.is_zero() && !changes.checks.contains(&check) {
            changes.checks.push(check);
        }
    }
    let total = order.total()?;
    // The caller inserts the order; the store numbers it in the commit.
    changes.number(RecordKey::Order(id));
    changes.events.insert(
        first_event,
        Event::OrderPlaced {
            order: id,
            // The store numbers the order in the commit, here too.
            number: None,
            customer: buyer.id,
            channel: cmd.channel,
            total,
        },
    );

    let history = &mut buyer.history;
    history.orders_placed = history.orders_placed.saturating_add(1);
    history.lifetime_value = history.lifetime_value.checked_add(total)?;
    history.uninvoiced = history.uninvoiced.checked_add(total)?;
    history.last_order_at = Some(now);

    let mut holds = Vec::new();
    match buyer.profile.terms {
        // The card authorisation made after this decision is the prepayment.
        PaymentTerms::Prepaid if rules.through_provider => {}
        // A free order has nothing to wait for: its invoice is issued paid.
        PaymentTerms::Prepaid if !total.is_zero() => holds.push(Hold::AwaitingPayment),
        PaymentTerms::Prepaid => {}
        // Judged with this order counted as expected billing.
        PaymentTerms::Net { .. } if buyer.over_credit_limit()? => {
            holds.push(Hold::CreditLimit);
        }
        PaymentTerms::Net { .. } => {}
    }
    // A customer whose invoices are long overdue gets nothing more shipped.
    if buyer.overdue_since.is_some() && matches!(buyer.profile.terms, PaymentTerms::Net { .. }) {
        holds.push(Hold::Overdue);
    }
    for hold in holds {
        place_hold(&mut order, hold, changes)?;
    }

    let prepaid = buyer.profile.terms == PaymentTerms::Prepaid;
    let up_front =
        (rules.invoice_policy == InvoicePolicy::OnOrder || prepaid) && !rules.through_provider;
    let mut invoice = None;
    if up_front || rules.invoice_now {
        let everything: Vec<(usize, Quantity)> = order
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.quantity))
            .collect();
        invoice = issue_invoice(&mut order, buyer, &everything, true, ctx, changes)?;
    }
    Ok(Some((order, invoice)))
}

/// `levels` of `skus` with the stock changes `changes` already holds applied
/// ([`Changeset::stock_deltas`]); borrowed, without a copy, when it holds none (a
/// plain placement).
fn pending_levels<'a>(
    skus: &[Sku],
    levels: &'a [StockLevel],
    changes: &Changeset,
) -> Result<Cow<'a, [StockLevel]>, Error> {
    let deltas = changes.stock_deltas()?;
    if deltas.is_empty() {
        return Ok(Cow::Borrowed(levels));
    }
    let mut levels = levels.to_vec();
    // Only the SKUs this order wants were read; others do not matter to it.
    for d in deltas.into_iter().filter(|d| skus.contains(&d.sku)) {
        match levels
            .iter_mut()
            .find(|l| l.sku == d.sku && l.location == d.location)
        {
            Some(level) => {
                level.on_hand = level.on_hand.saturating_add(d.on_hand);
                level.reserved = level.reserved.saturating_add(d.reserved);
            }
            None => levels.push(StockLevel {
                on_hand: d.on_hand,
                reserved: d.reserved,
                ..StockLevel::empty(d.sku, d.location)
            }),
        }
    }
    Ok(Cow::Owned(levels))
}

/// What to do with units short of stock: the policy the order names, else the
/// strictest among the products of the lines that are short.
pub(crate) fn back_order_policy<'a>(
    requested: Option<BackOrderPolicy>,
    lines: impl Iterator<Item = (&'a Sku, &'a Quantity)>,
    products: &Products,
) -> BackOrderPolicy {
    requested.unwrap_or_else(|| {
        lines
            .filter(|(_, short)| !short.is_zero())
            .filter_map(|(sku, _)| products.get(sku))
            .map(|p| p.back_order)
            .max_by_key(|p| p.strictness())
            .unwrap_or_default()
    })
}

/// Adds a hold (once) and moves the order to `OnHold`.
pub(crate) fn place_hold(
    order: &mut Order,
    hold: Hold,
    changes: &mut Changeset,
) -> Result<(), Error> {
    order.status = transition(order.status, OrderAction::Hold)?;
    if !order.holds.contains(&hold) {
        order.holds.push(hold);
        if hold.waits_for_payment() && order.awaiting_payment_since.is_none() {
            order.awaiting_payment_since = Some(changes.at);
        }
        changes.events.push(Event::OrderHeld {
            order: order.id,
            hold,
        });
    }
    Ok(())
}

/// What pricing and allocating a new order rests on, read in one fetch before
/// deciding: the products and stock of its SKUs, the tax table, and the locations
/// that may serve it. Placing only reads them, so they are lent from the fetch
/// ([`OrderInputs::lent`]); a command that keeps them past its fetch takes them
/// ([`OrderInputs::taking`]).
pub(crate) struct OrderInputs<'a> {
    pub(crate) products: Products<'a>,
    pub(crate) tax: Cow<'a, TaxTable>,
    /// Every location for a shipment; the pickup store (if it exists) for a pickup.
    pub(crate) locations: Vec<Cow<'a, Location>>,
    /// The stored stock of the order's SKUs.
    pub(crate) levels: Cow<'a, [StockLevel]>,
}

impl OrderInputs<'static> {
    /// Inputs owned whole: what a test or a fixture decides from.
    #[cfg(test)]
    pub(crate) fn owned(
        products: Products<'static>,
        tax: TaxTable,
        locations: Vec<Location>,
        levels: Vec<StockLevel>,
    ) -> Self {
        Self {
            products,
            tax: Cow::Owned(tax),
            locations: locations.into_iter().map(Cow::Owned).collect(),
            levels: Cow::Owned(levels),
        }
    }

    /// `products`, with the tax table (the default if none is stored), the
    /// locations and the stock levels taken out of `fetched`: what every command
    /// that prices or allocates reads beside its products, for one that keeps
    /// them past its fetch.
    pub(crate) fn taking(products: Products<'static>, fetched: &mut Fetched) -> Self {
        Self {
            products,
            tax: Cow::Owned(
                fetched
                    .take::<TaxTable>(&())
                    .map(|v| v.value)
                    .unwrap_or_default(),
            ),
            locations: fetched
                .take_every::<Location>()
                .into_iter()
                .map(|v| Cow::Owned(v.value))
                .collect(),
            levels: Cow::Owned(std::mem::take(&mut fetched.stock)),
        }
    }
}

impl<'a> OrderInputs<'a> {
    /// What to read for `cmd`.
    pub(crate) fn prefetch(cmd: &PlaceOrder) -> Prefetch {
        let mut request = Prefetch::new().record::<TaxTable>(&());
        // The SKUs are distinct already: pushed straight in, not looked for
        // among those asked so far as `Prefetch::record` would.
        let skus = distinct_skus(cmd);
        request.records.reserve(skus.len() + 2);
        request
            .records
            .extend(skus.iter().map(|sku| RecordKey::Product(sku.clone())));
        request.stock_of = skus;
        match &cmd.delivery {
            Some(Delivery::Pickup { location }) => request.record::<Location>(location),
            _ => request.every::<Location>(),
        }
    }

    /// The inputs in `fetched`, read for `cmd`'s [`OrderInputs::prefetch`],
    /// lent: placing copies none of them.
    pub(crate) fn lent(fetched: &'a Fetched) -> Self {
        // Every product read is one of the order's (unknown SKUs are missing:
        // pricing reports them), so they are lent in one pass.
        Self {
            products: fetched.lend_each::<Product>().map(|p| p.value).collect(),
            tax: fetched.lend::<TaxTable>(&()).map_or_else(
                || Cow::Owned(TaxTable::default()),
                |tax| Cow::Borrowed(tax.value),
            ),
            // As the store answered, unsorted: each was read once (by key for a
            // pickup, with the whole kind for a shipment), and allocation ranks
            // them by priority, then code, itself.
            locations: fetched
                .lend_each::<Location>()
                .map(|site| Cow::Borrowed(site.value))
                .collect(),
            levels: Cow::Borrowed(&fetched.stock),
        }
    }
}

/// The SKUs of `cmd`'s lines, each once, in order of first appearance.
pub(crate) fn distinct_skus(cmd: &PlaceOrder) -> Vec<Sku> {
    crate::ids::distinct(cmd.lines.iter().map(|line| &line.sku))
}

/// How the order is delivered (the buyer's default address when it does not say)
/// and which of `locations` may serve it.
fn delivery_and_sites<'l>(
    cmd: &PlaceOrder,
    buyer: &Customer,
    locations: impl IntoIterator<Item = &'l Location>,
) -> Result<(Delivery, Vec<&'l Location>), Error> {
    let delivery = match &cmd.delivery {
        Some(d) => d.clone(),
        None => Delivery::Ship {
            address: buyer
                .default_address()
                .cloned()
                .ok_or(OrderError::NoShipToAddress)?
                .into(),
            service: ServiceLevel::Standard,
        },
    };
    let sites = sites_among(&delivery, locations)?;
    Ok((delivery, sites))
}

/// Which of `locations` may serve `delivery`: those that fulfil orders for a
/// shipment (whose country must be valid), the store for a pickup.
pub(crate) fn sites_among<'l>(
    delivery: &Delivery,
    locations: impl IntoIterator<Item = &'l Location>,
) -> Result<Vec<&'l Location>, Error> {
    let mut locations = locations.into_iter();
    match delivery {
        Delivery::Ship { address, .. } => {
            if !address.has_valid_country() {
                return Err(OrderError::InvalidCountry(address.country.to_string()).into());
            }
            Ok(locations.filter(|l| l.fulfils_orders).collect())
        }
        Delivery::Pickup { location } => {
            let store = locations.find(|l| &l.id == location).ok_or_else(|| {
                Error::unknown_reference(<Location as crate::store::Entity>::kind(), location)
            })?;
            Ok(vec![store])
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::catalog::TaxClass;
    use crate::customer::Address;
    use crate::ids::{IdempotencyKey, LocationId};
    use crate::ledger::fixtures::{Books, at, given_order, usd};
    use crate::money::Currency;
    use crate::order::Channel;
    use crate::stock::LocationKind;
    use crate::store::Merge;

    fn sku(code: &str) -> Sku {
        Sku::new(code).unwrap()
    }

    /// Ada (on terms) and what placing rests on: mugs and cups at 10 % tax, one
    /// warehouse holding `mugs` mugs and 50 cups.
    fn given(mugs: i64) -> (Customer, OrderInputs<'static>) {
        let (mut customer, _) = given_order();
        customer.history = crate::customer::CustomerHistory::new(Currency::USD);
        let products: Products = [
            Product::new(sku("MUG"), "Mug", usd(1000), usd(400), TaxClass::standard()),
            Product::new(sku("CUP"), "Cup", usd(500), usd(200), TaxClass::standard()),
        ]
        .into_iter()
        .collect();
        let tax = TaxTable::new().with_rate(
            TaxClass::standard(),
            None,
            rust_decimal::Decimal::new(10, 2),
        );
        let address = Address::new("WH", "1 Dock Rd", "Leeds", "LS2 2BB", "GB");
        let wh = LocationId::new("WH").unwrap();
        let warehouse = Location::new(wh.clone(), "WH", LocationKind::Warehouse, address, 1);
        let level = |code: &str, on_hand: i64| StockLevel {
            on_hand,
            ..StockLevel::empty(sku(code), wh.clone())
        };
        let inputs = OrderInputs::owned(
            products,
            tax,
            vec![warehouse],
            vec![level("MUG", mugs), level("CUP", 50)],
        );
        (customer, inputs)
    }

    fn two_mugs(customer: &Customer) -> PlaceOrder {
        PlaceOrder::new(
            IdempotencyKey::new("o-1").unwrap(),
            customer.id,
            Channel::Web,
            Currency::USD,
        )
        .line(sku("MUG"), 2)
    }

    const RULES: Placing = Placing {
        allocation: AllocationStrategy::PriorityOrder,
        invoice_policy: InvoicePolicy::OnShipment,
        invoice_now: false,
        through_provider: false,
    };

    #[test]
    fn an_order_in_stock_is_reserved_and_counted_as_expected_billing() {
        let (mut ada, inputs) = given(10);
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let mut backlog = Backlog::default();
        let (order, invoice) = compose(
            &two_mugs(&ada),
            &mut ada,
            &inputs,
            RULES,
            &mut backlog,
            None,
            &books.ctx(),
            &mut changes,
        )
        .unwrap()
        .expect("nothing is short");
        assert!(invoice.is_none(), "invoiced on shipment");
        assert_eq!(order.status, OrderStatus::Open);
        assert_eq!(
            order.lines[0]
                .reservations
                .iter()
                .map(|r| r.quantity.units())
                .sum::<u32>(),
            2
        );
        assert_eq!(changes.reservations.len(), 1);
        assert_eq!(changes.reservations[0].quantity, 2);
        assert!(matches!(changes.events[0], Event::OrderPlaced { .. }));
        // 2 × 10.00 + 10 % tax.
        assert_eq!(ada.history.uninvoiced, usd(2200));
        assert_eq!(ada.history.orders_placed, 1);
        assert!(changes.checks.is_empty(), "nothing back-ordered");
    }

    #[test]
    fn a_short_line_asks_for_the_supply_first_and_then_waits_in_its_queue() {
        let (mut ada, inputs) = given(1);
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let mut backlog = Backlog::default();
        let cmd = two_mugs(&ada).back_order(BackOrderPolicy::BackOrder);
        let before = ada.clone();
        let asked = compose(
            &cmd,
            &mut ada,
            &inputs,
            RULES,
            &mut backlog,
            None,
            &books.ctx(),
            &mut changes,
        )
        .unwrap();
        assert!(asked.is_none(), "the supply is needed");
        assert_eq!(changes, Changeset::new(at()), "nothing decided yet");
        assert_eq!(ada, before);

        backlog.adopt_queue(&sku("MUG"), None);
        let (order, _) = compose(
            &cmd,
            &mut ada,
            &inputs,
            RULES,
            &mut backlog,
            Some(Supply::NONE),
            &books.ctx(),
            &mut changes,
        )
        .unwrap()
        .expect("the supply was given");
        assert_eq!(
            order.lines[0]
                .reservations
                .iter()
                .map(|r| r.quantity.units())
                .sum::<u32>(),
            1
        );
        assert_eq!(order.lines[0].backordered.units(), 1);
        assert!(
            changes
                .events
                .iter()
                .any(|e| matches!(e, Event::BackOrderCreated { quantity, .. } if *quantity == Quantity::new(1)))
        );
        // Decided on the stock as read: a receipt meanwhile sends it back.
        assert!(changes.checks.contains(&Check::SkuOnHand {
            sku: sku("MUG"),
            on_hand: 1
        }));
        backlog.put_into(&mut changes);
        assert!(matches!(
            changes.merges.as_slice(),
            [Merge::BackOrder(entry)]
                if entry.line.quantity == Quantity::new(1) && entry.line.order == order.id
        ));
    }

    #[test]
    fn a_placement_touches_only_the_queues_of_its_short_lines() {
        // Mugs are short, cups are not: both queues are read, only the mugs' joined.
        let (mut ada, inputs) = given(1);
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let mut backlog = Backlog::default();
        backlog.adopt_queue(&sku("MUG"), None);
        backlog.adopt_queue(&sku("CUP"), None);
        let cmd = two_mugs(&ada)
            .line(sku("CUP"), 1)
            .back_order(BackOrderPolicy::BackOrder);
        compose(
            &cmd,
            &mut ada,
            &inputs,
            RULES,
            &mut backlog,
            Some(Supply::NONE),
            &books.ctx(),
            &mut changes,
        )
        .unwrap()
        .expect("the supply was given");
        backlog.put_into(&mut changes);
        // The cups' queue is neither written nor checked, so back-orders on cups
        // placed meanwhile never send this placement back.
        assert!(
            changes
                .puts
                .iter()
                .all(|p| !matches!(p.record.key(), crate::store::RecordKey::BackOrderQueue(_)))
        );
        assert!(changes.checks.iter().all(|c| !matches!(
            c,
            Check::Version {
                key: crate::store::RecordKey::BackOrderQueue(_),
                ..
            }
        )));
        assert_eq!(
            changes.merges.len(),
            1,
            "the mugs' back-order joins its queue"
        );
    }

    #[test]
    fn a_short_line_the_policy_refuses_changes_nothing() {
        let (mut ada, inputs) = given(1);
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let refused = compose(
            &two_mugs(&ada),
            &mut ada,
            &inputs,
            RULES,
            &mut Backlog::default(),
            None,
            &books.ctx(),
            &mut changes,
        );
        assert!(matches!(
            refused,
            Err(Error::Stock(StockError::Insufficient { .. }))
        ));
        assert_eq!(changes, Changeset::new(at()));
    }

    #[test]
    fn a_prepaid_order_is_invoiced_at_once_and_held_for_payment() {
        let (mut ada, inputs) = given(10);
        Arc::make_mut(&mut ada.profile).terms = PaymentTerms::Prepaid;
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let (order, invoice) = compose(
            &two_mugs(&ada),
            &mut ada,
            &inputs,
            RULES,
            &mut Backlog::default(),
            None,
            &books.ctx(),
            &mut changes,
        )
        .unwrap()
        .unwrap();
        assert_eq!(order.holds, vec![Hold::AwaitingPayment]);
        assert_eq!(order.status, OrderStatus::OnHold);
        let invoice = invoice.expect("prepaid customers pay first");
        assert_eq!(invoice.total().unwrap(), usd(2200));
        assert_eq!(ada.history.balance, usd(2200));
        assert_eq!(ada.history.uninvoiced, usd(0));
        assert!(!changes.journal.is_empty(), "the invoice is posted");
    }

    #[test]
    fn an_order_in_another_currency_than_the_customers_is_refused() {
        let (mut ada, inputs) = given(10);
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let mut cmd = two_mugs(&ada);
        cmd.currency = Currency::EUR;
        let refused = compose(
            &cmd,
            &mut ada,
            &inputs,
            RULES,
            &mut Backlog::default(),
            None,
            &books.ctx(),
            &mut changes,
        );
        assert!(matches!(
            refused,
            Err(Error::Order(OrderError::CurrencyMismatch { .. }))
        ));
        assert_eq!(changes, Changeset::new(at()));
    }
}
