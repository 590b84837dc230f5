//! Placing, holding and cancelling orders.

use super::backorders::Touched;
use super::{Oms, Products, fingerprint};
use crate::catalog::{Product, TaxTable};
use crate::customer::{Customer, PaymentTerms};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{CustomerId, EntryId, OrderId, Sku};
use crate::ledger::{Invoice, InvoicePolicy, InvoiceStatus};
use crate::money::{Money, MoneyError};
use crate::order::settle::release;
use crate::order::{
    Delivery, Hold, LineReservation, Order, OrderAction, OrderError, OrderStatus, PlaceOrder,
    ServiceLevel, price_lines, transition,
};
use crate::purchasing::{BackOrderPolicy, BackOrderQueue};
use crate::quantity::Quantity;
use crate::stock::{
    LineDemand, Location, ReservationChange, StockError, StockLevel, allocate, allocate_available,
};
use crate::store::{
    Changeset, Check, Fetched, IdempotencyScope, IdempotentOutcome, Prefetch, Put, RecordKey,
    Store, Versioned,
};

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Places an order: prices it, reserves every line atomically, applies holds,
    /// invoices it if the policy says so, and records it all in one commit.
    ///
    /// Retrying with the same idempotency key returns the order the first call placed.
    /// Prepaid customers get [`Hold::AwaitingPayment`] (unless the order is free: its
    /// zero invoice is issued paid); customers on terms whose
    /// receivable balance plus uninvoiced orders plus this order exceed their credit
    /// limit get [`Hold::CreditLimit`].
    ///
    /// # Errors
    /// [`Error::Order`] for anything wrong with the order itself (see [`OrderError`]);
    /// [`Error::Stock`] when stock cannot cover it; [`Error::NotFound`] for an unknown
    /// customer or pickup location; [`Error::IdempotencyKeyReused`] when the key was
    /// used for a different order; [`Error::Contention`] if other writers kept winning.
    pub async fn place_order(&self, cmd: PlaceOrder) -> Result<Order, Error> {
        let print = fingerprint(&super::canonical_order(&cmd))?;
        let placed = super::retrying!(self, self.try_place_order(&cmd, print).await);
        if placed.is_err() {
            // A twin submission may have committed after this one checked its key,
            // making this one fail on the twin's effects (its stock, its invoice):
            // the caller must still get the order, not that error.
            let key = &cmd.idempotency_key;
            if let Some(IdempotentOutcome::Order(id)) = self
                .replay(IdempotencyScope::PlaceOrder, key, print)
                .await?
            {
                return self.order(id).await;
            }
        }
        placed
    }

    async fn try_place_order(&self, cmd: &PlaceOrder, print: u64) -> Result<Order, Error> {
        let scope = IdempotencyScope::PlaceOrder;
        let request = OrderInputs::prefetch(cmd)
            .key(scope, &cmd.idempotency_key)
            .record::<Customer>(&cmd.customer);
        let mut fetched = self.store.fetch(&request).await?;
        if let Some(IdempotentOutcome::Order(id)) = super::replayed(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )? {
            return self.order(id).await;
        }
        let customer = super::found::<Customer>(&mut fetched, &cmd.customer)?;
        let inputs = OrderInputs::from_fetched(cmd, fetched);
        let mut buyer = customer.value.clone();
        let mut changes = Changeset::new(self.now());
        let mut touched = Touched::default();
        let (order, _) = self
            .compose_order(cmd, &mut buyer, false, inputs, &mut touched, &mut changes)
            .await?;
        touched.put_into(&mut changes);
        changes.puts.push(Put::insert(order.clone()));
        changes.move_customer(&customer.value, &buyer)?;
        let committed = self
            .commit_keyed(
                changes,
                IdempotencyScope::PlaceOrder,
                &cmd.idempotency_key,
                print,
                IdempotentOutcome::Order(order.id),
            )
            .await?;
        Ok(committed.numbered(order)?)
    }

    /// Builds a new order for `buyer` into `changes`: prices it, reserves or
    /// back-orders its lines, applies holds and, as the policy says (or always with
    /// `invoice_now`), invoices it. Returns the order, which the caller puts, and
    /// its invoice if one was issued (already put).
    pub(super) async fn compose_order(
        &self,
        cmd: &PlaceOrder,
        buyer: &mut Customer,
        invoice_now: bool,
        inputs: OrderInputs,
        touched: &mut Touched,
        changes: &mut Changeset,
    ) -> Result<(Order, Option<Invoice>), Error> {
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
        let (delivery, candidates) = delivery_and_sites(cmd, buyer, locations)?;
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
        let mut lines = price_lines(cmd, |sku| products.get(sku), &tax, &country)?;

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
        let levels = pending_levels(&skus, &stored_levels, changes)?;
        let (allocations, shortfalls) =
            match allocate(&demand, &levels, &candidates, self.config.allocation) {
                Ok(allocations) => (allocations, Vec::new()),
                Err(short @ StockError::Insufficient { .. }) => {
                    let (allocations, shortfalls) =
                        allocate_available(&demand, &levels, &candidates, self.config.allocation)?;
                    let short_lines = lines.iter().map(|l| &l.sku).zip(&shortfalls);
                    let policy = back_order_policy(cmd.back_order, short_lines, &products);
                    if policy == BackOrderPolicy::Reject {
                        return Err(short.into());
                    }
                    back_order = policy;
                    (allocations, shortfalls)
                }
                Err(e) => return Err(e.into()),
            };

        let now = changes.at;
        let id = self.new_id(OrderId::from_uuid);
        let first_event = changes.events.len();
        for a in &allocations {
            let Some(line) = lines.get_mut(a.line) else {
                continue;
            };
            line.reservations.push(LineReservation {
                location: a.location.clone(),
                quantity: a.quantity,
            });
            changes.reservations.push(ReservationChange {
                sku: line.sku.clone(),
                location: a.location.clone(),
                order: id,
                quantity: a.quantity.as_i64(),
            });
            changes.events.push(Event::StockReserved {
                order: id,
                sku: line.sku.clone(),
                location: a.location.clone(),
                quantity: a.quantity.units(),
            });
        }

        let mut order = Order {
            id,
            number: None,
            customer: buyer.id,
            channel: cmd.channel,
            currency: cmd.currency,
            lines,
            delivery,
            shipping_charge,
            status: OrderStatus::Open,
            holds: Vec::new(),
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
        };
        let pin = match &order.delivery {
            Delivery::Pickup { location } => Some(location.clone()),
            Delivery::Ship { .. } => None,
        };
        self.queue_shortfalls(
            &mut order,
            &shortfalls,
            &products,
            pin,
            cmd.back_order_priority,
            touched,
            changes,
        )
        .await?;
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
            if *short > 0 && !changes.checks.contains(&check) {
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
            // A free order has nothing to wait for: its invoice is issued paid.
            PaymentTerms::Prepaid if !total.is_zero() => holds.push(Hold::AwaitingPayment),
            PaymentTerms::Prepaid => {}
            // Judged with this order counted as expected billing.
            PaymentTerms::Net { .. } if buyer.over_credit_limit()? => {
                holds.push(Hold::CreditLimit);
            }
            PaymentTerms::Net { .. } => {}
        }
        for hold in holds {
            place_hold(&mut order, hold, changes)?;
        }

        let prepaid = buyer.profile.terms == PaymentTerms::Prepaid;
        let mut invoice = None;
        if self.config.invoice_policy == InvoicePolicy::OnOrder || prepaid || invoice_now {
            let everything: Vec<(usize, Quantity)> = order
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| (i, l.quantity))
                .collect();
            invoice = crate::ledger::issue_invoice(
                &mut order,
                buyer,
                &everything,
                true,
                &self.context(now),
                changes,
            )?;
        }
        Ok((order, invoice))
    }

    /// The locations that may serve `delivery`: every location that fulfils orders
    /// for a shipment (whose country must be valid), the store for a pickup.
    pub(super) async fn sites_for(&self, delivery: &Delivery) -> Result<Vec<Location>, Error> {
        let locations = match delivery {
            Delivery::Ship { .. } => self.store.list::<Location>().await?,
            Delivery::Pickup { location } => self
                .store
                .load::<Location>(location)
                .await?
                .into_iter()
                .collect(),
        };
        sites_among(delivery, locations.into_iter().map(|v| v.value).collect())
    }

    /// What [`Oms::compose_order`] rests on for `cmd`, read in one fetch (an
    /// exchange's replacement, whose customer the caller holds).
    pub(super) async fn order_inputs(&self, cmd: &PlaceOrder) -> Result<OrderInputs, Error> {
        let fetched = self.store.fetch(&OrderInputs::prefetch(cmd)).await?;
        Ok(OrderInputs::from_fetched(cmd, fetched))
    }

    /// Puts an order on hold; it cannot ship until every hold is released. Placing a
    /// hold the order already has changes nothing.
    ///
    /// # Errors
    /// [`Error::Order`] with `InvalidTransition` for a completed or cancelled order;
    /// [`Error::NotFound`] for an unknown order.
    pub async fn hold_order(&self, id: OrderId, hold: Hold) -> Result<Order, Error> {
        super::retrying!(self, {
            let stored = self.must::<Order>(&id).await?;
            let mut order = stored.value;
            let mut changes = Changeset::new(self.now());
            place_hold(&mut order, hold, &mut changes)?;
            if changes.events.is_empty() {
                // Already held for this reason: nothing to record.
                return Ok(order);
            }
            changes
                .puts
                .push(Put::update(order.clone(), stored.version));
            self.store
                .commit(changes)
                .await
                .map(|_| order)
                .map_err(Error::from)
        })
    }

    /// Releases a hold (a person approving a credit limit or a review, or overriding
    /// a prepayment requirement).
    ///
    /// # Errors
    /// [`Error::Order`] with `HoldNotFound` if the order does not have that hold;
    /// [`Error::NotFound`] for an unknown order.
    pub async fn release_hold(&self, id: OrderId, hold: Hold) -> Result<Order, Error> {
        super::retrying!(self, {
            let stored = self.must::<Order>(&id).await?;
            let mut order = stored.value;
            if !order.holds.contains(&hold) {
                return Err(OrderError::HoldNotFound(hold).into());
            }
            let now = self.now();
            let mut changes = Changeset::new(now);
            release(&mut order, hold, &mut changes)?;
            crate::order::settle::complete_if_done(&mut order, now, &mut changes)?;
            changes
                .puts
                .push(Put::update(order.clone(), stored.version));
            self.store
                .commit(changes)
                .await
                .map(|_| order)
                .map_err(Error::from)
        })
    }

    /// Cancels an order. One that has not shipped is cancelled whole: its
    /// reservations released, its invoices voided (reversing their postings) and
    /// anything paid moved to the customer's credit. One that has shipped in part
    /// keeps what shipped and cancels the rest, in one commit: its reservations are
    /// released (to waiting back-orders first), back-ordered units leave their
    /// queues, units invoiced but not shipped are credited (a credit note per
    /// invoice, exact to the cent; what was paid for them becomes customer credit),
    /// and shipping stays charged. It stays open for what shipped, and completes
    /// once that is delivered and settled.
    ///
    /// # Errors
    /// [`Error::Order`] with `InvalidTransition` for a completed or cancelled order,
    /// or `NothingToCancel` when everything has shipped; [`Error::NotFound`].
    pub async fn cancel_order(&self, id: OrderId, reason: &str) -> Result<Order, Error> {
        super::retrying!(self, self.try_cancel_order(id, reason).await)
    }

    async fn try_cancel_order(&self, id: OrderId, reason: &str) -> Result<Order, Error> {
        let stored = self.must::<Order>(&id).await?;
        let mut order = stored.value;
        let status = transition(order.status, OrderAction::Cancel)?;
        // Once goods shipped, or credit notes stand against its invoices (voiding
        // would reverse the credited part twice), cancelling goes by credit notes.
        if order.lines.iter().any(|l| !l.shipped.is_zero()) || order.credit_total().is_positive() {
            return self
                .cancel_remainder(
                    Versioned {
                        value: order,
                        version: stored.version,
                    },
                    reason,
                )
                .await;
        }
        // The one read that depends on another: everything the order names — its
        // customer, its invoices, and the queues its units leave or go back to.
        let mut request = Prefetch::new().record::<Customer>(&order.customer);
        for invoice in &order.invoices {
            request = request.record::<Invoice>(invoice);
        }
        for line in &order.lines {
            if !line.backordered.is_zero() || !line.reservations.is_empty() {
                request = request.record::<BackOrderQueue>(&line.sku);
            }
        }
        let mut fetched = self.store.fetch(&request).await?;
        let customer = super::found::<Customer>(&mut fetched, &order.customer)?;
        let mut touched = Touched::default();
        for key in &request.records {
            if let RecordKey::BackOrderQueue(sku) = key {
                touched.adopt_queue(sku, fetched.take::<BackOrderQueue>(sku));
            }
        }
        let mut buyer = customer.value.clone();
        let now = self.now();
        let mut changes = Changeset::new(now);
        changes.events.push(Event::OrderCancelled {
            order: id,
            reason: reason.to_owned(),
        });

        // Worked out before the release marks every unshipped unit cancelled.
        let value = order.value()?;
        let unbilled = order.unbilled_value()?;
        self.release_unshipped(&mut order, touched, &mut changes)
            .await?;

        let history = &mut buyer.history;
        history.uninvoiced = history.uninvoiced.checked_sub(unbilled)?;
        history.lifetime_value = history.lifetime_value.checked_sub(value)?;
        history.orders_cancelled = history.orders_cancelled.saturating_add(1);

        let mut refunded_to_credit = Money::zero(order.currency);
        for invoice_id in order.invoices.clone() {
            let stored_invoice = super::found::<Invoice>(&mut fetched, &invoice_id)?;
            let mut invoice = stored_invoice.value;
            if invoice.status == InvoiceStatus::Void {
                continue;
            }
            let invoice_total = invoice.total()?;
            changes.journal.extend(self.postings().void(
                &invoice,
                self.new_id(EntryId::from_uuid),
                now,
            )?);
            history.balance = history
                .balance
                .checked_sub(invoice_total.checked_sub(invoice.paid)?)?;
            refunded_to_credit = refunded_to_credit.checked_add(invoice.paid)?;
            order.invoiced = order.invoiced.checked_sub(invoice_total)?;
            order.paid = order.paid.checked_sub(invoice.paid)?;
            invoice.status = InvoiceStatus::Void;
            changes.events.push(Event::InvoiceVoided {
                invoice: invoice.id,
                order: id,
            });
            changes
                .puts
                .push(Put::update(invoice, stored_invoice.version));
        }
        if refunded_to_credit.is_positive() {
            changes.journal.extend(self.postings().credit_on_cancel(
                id,
                refunded_to_credit,
                self.new_id(EntryId::from_uuid),
                now,
            )?);
            history.credit = history.credit.checked_add(refunded_to_credit)?;
            changes.events.push(Event::CustomerCredited {
                customer: buyer.id,
                amount: refunded_to_credit,
            });
        }

        order.status = status;
        order.holds.clear();
        order.closed_at = Some(now);
        changes
            .puts
            .push(Put::update(order.clone(), stored.version));
        changes.move_customer(&customer.value, &buyer)?;
        self.store.commit(changes).await?;
        Ok(order)
    }

    /// An order.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn order(&self, id: OrderId) -> Result<Order, Error> {
        Ok(self.must::<Order>(&id).await?.value)
    }

    /// A customer's orders, oldest first.
    ///
    /// # Errors
    /// [`Error::Store`] if the store fails.
    pub async fn customer_orders(&self, customer: CustomerId) -> Result<Vec<Order>, Error> {
        let mut orders = Vec::new();
        for id in self.store.orders_of_customer(customer).await? {
            orders.push(self.order(id).await?);
        }
        Ok(orders)
    }
}

/// `levels` of `skus` with the stock changes `changes` already holds applied
/// ([`Changeset::stock_deltas`]); borrowed, without a copy, when it holds none (a
/// plain placement).
fn pending_levels<'a>(
    skus: &[Sku],
    levels: &'a [StockLevel],
    changes: &Changeset,
) -> Result<std::borrow::Cow<'a, [StockLevel]>, Error> {
    let deltas = changes.stock_deltas()?;
    if deltas.is_empty() {
        return Ok(std::borrow::Cow::Borrowed(levels));
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
    Ok(std::borrow::Cow::Owned(levels))
}

/// What to do with units short of stock: the policy the order names, else the
/// strictest among the products of the lines that are short.
pub(super) fn back_order_policy<'a>(
    requested: Option<BackOrderPolicy>,
    lines: impl Iterator<Item = (&'a Sku, &'a u32)>,
    products: &super::Products,
) -> BackOrderPolicy {
    requested.unwrap_or_else(|| {
        lines
            .filter(|(_, short)| **short > 0)
            .filter_map(|(sku, _)| products.get(sku))
            .map(|p| p.back_order)
            .max_by_key(|p| p.strictness())
            .unwrap_or_default()
    })
}

/// Adds a hold (once) and moves the order to `OnHold`.
pub(super) fn place_hold(
    order: &mut Order,
    hold: Hold,
    changes: &mut Changeset,
) -> Result<(), Error> {
    order.status = transition(order.status, OrderAction::Hold)?;
    if !order.holds.contains(&hold) {
        order.holds.push(hold);
        changes.events.push(Event::OrderHeld {
            order: order.id,
            hold,
        });
    }
    Ok(())
}

/// What pricing and allocating a new order rests on, read in one fetch before
/// deciding: the products and stock of its SKUs, the tax table, and the locations
/// that may serve it.
pub(super) struct OrderInputs {
    products: Products,
    tax: TaxTable,
    /// Every location for a shipment; the pickup store (if it exists) for a pickup.
    locations: Vec<Location>,
    /// The stored stock of the order's SKUs.
    levels: Vec<StockLevel>,
}

impl OrderInputs {
    /// What to read for `cmd`.
    fn prefetch(cmd: &PlaceOrder) -> Prefetch {
        let mut request = Prefetch::new().record::<TaxTable>(&());
        for sku in distinct_skus(cmd) {
            request = request.record::<Product>(&sku).stock(&sku);
        }
        match &cmd.delivery {
            Some(Delivery::Pickup { location }) => request.record::<Location>(location),
            _ => request.every::<Location>(),
        }
    }

    /// The inputs in `fetched`, read for `cmd`'s [`OrderInputs::prefetch`].
    fn from_fetched(cmd: &PlaceOrder, mut fetched: Fetched) -> Self {
        let mut products = Products::default();
        for sku in distinct_skus(cmd) {
            // Unknown SKUs are left out: pricing reports them.
            if let Some(p) = fetched.take::<Product>(&sku) {
                products.insert(sku, p.value);
            }
        }
        Self {
            products,
            tax: fetched
                .take::<TaxTable>(&())
                .map(|v| v.value)
                .unwrap_or_default(),
            locations: fetched
                .take_every::<Location>()
                .into_iter()
                .map(|v| v.value)
                .collect(),
            levels: fetched.stock,
        }
    }
}

/// The SKUs of `cmd`'s lines, each once, in order of first appearance.
fn distinct_skus(cmd: &PlaceOrder) -> Vec<Sku> {
    let mut skus: Vec<Sku> = Vec::with_capacity(cmd.lines.len());
    for line in &cmd.lines {
        if !skus.contains(&line.sku) {
            skus.push(line.sku.clone());
        }
    }
    skus
}

/// How the order is delivered (the buyer's default address when it does not say)
/// and which of `locations` may serve it.
fn delivery_and_sites(
    cmd: &PlaceOrder,
    buyer: &Customer,
    locations: Vec<Location>,
) -> Result<(Delivery, Vec<Location>), Error> {
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
fn sites_among(delivery: &Delivery, locations: Vec<Location>) -> Result<Vec<Location>, Error> {
    match delivery {
        Delivery::Ship { address, .. } => {
            if !address.has_valid_country() {
                return Err(OrderError::InvalidCountry(address.country.clone()).into());
            }
            Ok(locations.into_iter().filter(|l| l.fulfils_orders).collect())
        }
        Delivery::Pickup { location } => {
            let store = locations
                .into_iter()
                .find(|l| &l.id == location)
                .ok_or_else(|| {
                    Error::not_found(<Location as crate::store::Entity>::kind(), location)
                })?;
            Ok(vec![store])
        }
    }
}
