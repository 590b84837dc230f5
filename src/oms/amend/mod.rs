//! Amending an order before it ships: lines added, re-priced or cut, a new ship-to.

mod billing;
mod retax;
mod stock;
mod unchanged;

use retax::{final_country, tax_rate};
use unchanged::changes_nothing;

use super::backorders::Touched;
use super::{Oms, Products, canonical_discount, canonical_money, fingerprint};
use crate::catalog::TaxTable;
use crate::customer::{Customer, PaymentTerms};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{LocationId, Sku};
use crate::ledger::InvoicePolicy;
use crate::order::settle::settle;
use crate::order::{
    AmendOrder, Amendment, Delivery, LineRequest, Order, OrderAction, OrderError, OrderLine,
    transition,
};
use crate::quantity::Quantity;
use crate::stock::StockLevel;
use crate::store::{Changeset, IdempotencyScope, IdempotentOutcome, Put, Store};

/// Where line `line_no` and the lines grown from it are, oldest first.
fn family(order: &Order, line_no: u16) -> Vec<usize> {
    order
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.line_no == line_no || l.grown_from == Some(line_no))
        .map(|(at, _)| at)
        .collect()
}

/// Σ `units` over the lines at `family`.
fn sum_of(order: &Order, family: &[usize], units: fn(&OrderLine) -> Quantity) -> u32 {
    family
        .iter()
        .filter_map(|at| order.lines.get(*at))
        .map(|l| units(l).units())
        .fold(0, u32::saturating_add)
}

/// True while nothing of a line is invoiced, shipped or cancelled: its price may
/// still change in place.
fn untouched(line: &OrderLine) -> bool {
    line.invoiced.is_zero() && line.shipped.is_zero() && line.cancelled.is_zero()
}

/// An amendment in progress: the order as changed so far and what the changes
/// did to stock, held in memory until the one commit.
struct Amending<'a> {
    order: Order,
    /// Stock as read, kept in step with the reservations released and made here,
    /// so a later change sees the units an earlier one freed.
    levels: Vec<StockLevel>,
    /// Units released, by SKU and location, for the back-order queues.
    released: Vec<(Sku, LocationId, u32)>,
    /// Units to reserve: (line index, units).
    demand: Vec<(usize, u32)>,
    /// Invoiced units cut, to credit: (line, units).
    credits: Vec<(u16, u32)>,
    /// Lines whose open units moved to a line at another tax rate: (from, to,
    /// invoiced units moved).
    moved: Vec<(u16, u16, u32)>,
    /// Where the order goes once every change applies, and the tax table: new
    /// units are taxed for there, whatever ship-to the changes pass through.
    country: String,
    tax: TaxTable,
    /// Lines added or changed, for the event.
    lines: Vec<u16>,
    ship_to_changed: bool,
    touched: &'a mut Touched,
    changes: &'a mut Changeset,
}

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Amends an order that has not fully shipped, in one commit: adds lines,
    /// changes a line's quantity, removes what has not shipped of a line, or
    /// changes the ship-to address. Changes apply in the order given.
    ///
    /// - **Stock** follows: units taken off a line leave its back-order queue
    ///   first, then its reservations, and freed units go to waiting back-orders;
    ///   units added are reserved like a new order's, and back-ordered when short
    ///   if the order's (or, for an order placed without one, the products')
    ///   back-order policy allows, else refused.
    /// - **Price**: a line nothing of which is invoiced or shipped is re-priced in
    ///   place, at its unit price and discount per unit (a fixed discount scales
    ///   with the units). Once part of it is invoiced or shipped, units taken off
    ///   are cancelled and units added become a line grown from it
    ///   ([`OrderLine::grown_from`]) at the same unit price and discount per unit,
    ///   so every invoice already issued stays exact; `SetQuantity` and
    ///   `RemoveLine` count a line together with the lines grown from it, cutting
    ///   the newest first. Added lines are priced from the catalogue (or their own
    ///   price); new units, added or grown, are taxed for where the order goes
    ///   once every change applies.
    /// - **A new ship-to in another country** re-taxes what has not shipped at that
    ///   country's rate (refused with `NoTaxRate` if it has none): a line nothing
    ///   of which is invoiced or shipped in place; any other line's open units move,
    ///   with their reservations and their place in the back-order queue, to a line
    ///   grown from it at the new rate, crediting those already invoiced (units a
    ///   credit note had already taken back are credited on the new line's
    ///   invoice instead, so no credit is lost). The shipping charge stays as
    ///   agreed, and reservations stay where they are (warehouses are chosen by
    ///   priority, not by distance). Each move adds a line per billed line with
    ///   units to ship, and those count towards the order's line limit.
    /// - **Billing**: an order invoiced when placed (invoice policy `OnOrder`, or a
    ///   prepaid customer) gets an invoice for what was added; invoiced units taken
    ///   off are credited, one credit note per invoice, and anything already paid
    ///   for them pays the amendment's new invoice (a `CustomerCredit` payment),
    ///   the rest becoming customer credit. A prepaid order with a new invoice
    ///   still to pay is held [`AwaitingPayment`](crate::order::Hold::AwaitingPayment);
    ///   an order on terms the amendment made dearer, whose customer is then over
    ///   their credit limit, is held [`CreditLimit`](crate::order::Hold::CreditLimit).
    /// - Only the unshipped part changes: a line never goes below what shipped.
    ///
    /// Retrying with the same key applies nothing again and returns the order as it
    /// is now. An amendment whose changes leave the order as it was is refused, not
    /// recorded, and its key stays free.
    ///
    /// # Errors
    /// [`Error::Order`]: `InvalidTransition` for a completed or cancelled order,
    /// `NothingToAmend` for no changes or changes that change nothing (a quantity
    /// set to what it is, a line removed whose units have all shipped, a cut added
    /// back, the ship-to the order already has), `UnknownLine`, `InvalidQuantity`,
    /// `AmendsShippedUnits`, `AmendmentEmptiesOrder` (cancel it instead),
    /// `PickupHasNoAddress`, `EverythingShipped`, `InvalidCountry`, `NoTaxRate`
    /// (the new country has none for a line's tax class), and the pricing errors
    /// of a new line (`UnknownSku`, `CurrencyMismatch`, ...); [`Error::Stock`]
    /// when added units cannot be reserved or back-ordered; [`Error::NotFound`]
    /// for an unknown order; [`Error::IdempotencyKeyReused`]. Nothing is written
    /// on any error.
    pub async fn amend_order(&self, cmd: AmendOrder) -> Result<Order, Error> {
        let print = fingerprint(&canonical_amendment(&cmd))?;
        let amended = super::retrying!(self, self.try_amend_order(&cmd, print).await);
        if amended.is_err() {
            // A twin submission may have committed first: return its result.
            if let Some(IdempotentOutcome::Order(id)) = self
                .replay(IdempotencyScope::AmendOrder, &cmd.idempotency_key, print)
                .await?
            {
                return self.order(id).await;
            }
        }
        amended
    }

    async fn try_amend_order(&self, cmd: &AmendOrder, print: u64) -> Result<Order, Error> {
        if let Some(IdempotentOutcome::Order(id)) = self
            .replay(IdempotencyScope::AmendOrder, &cmd.idempotency_key, print)
            .await?
        {
            return self.order(id).await;
        }
        if cmd.changes.is_empty() {
            return Err(OrderError::NothingToAmend.into());
        }
        let stored = self.must::<Order>(&cmd.order).await?;
        transition(stored.value.status, OrderAction::Amend)?;
        let customer = self.must::<Customer>(&stored.value.customer).await?;
        let mut buyer = customer.value.clone();
        let unbilled_before = stored.value.unbilled_value()?;
        let stored_value = stored.value.value()?;

        let mut skus: Vec<Sku> = Vec::new();
        let added = cmd.changes.iter().filter_map(|c| match c {
            Amendment::AddLine(req) => Some(&req.sku),
            _ => None,
        });
        for sku in stored.value.lines.iter().map(|l| &l.sku).chain(added) {
            if !skus.contains(sku) {
                skus.push(sku.clone());
            }
        }
        let products = self.products_of(&skus).await?;
        let country_before = self.destination_country(&stored.value.delivery).await?;
        let country = final_country(&stored.value.delivery, &cmd.changes)?
            .unwrap_or_else(|| country_before.clone());

        let now = self.now();
        let mut changes = Changeset::new(now);
        let mut touched = Touched::default();
        let mut work = Amending {
            order: stored.value.clone(),
            levels: self.store.stock_levels_of(&skus).await?,
            released: Vec::new(),
            demand: Vec::new(),
            credits: Vec::new(),
            moved: Vec::new(),
            country,
            tax: self.tax_table().await?,
            lines: Vec::new(),
            ship_to_changed: false,
            touched: &mut touched,
            changes: &mut changes,
        };
        for change in &cmd.changes {
            match change {
                Amendment::AddLine(req) => self.add_line(&mut work, req, &products).await?,
                Amendment::SetQuantity { line_no, quantity } => {
                    self.set_quantity(&mut work, *line_no, *quantity, &products)
                        .await?;
                }
                Amendment::RemoveLine { line_no } => {
                    let family = family(&work.order, *line_no);
                    let shipped = sum_of(&work.order, &family, |l| l.shipped);
                    self.set_quantity(&mut work, *line_no, i64::from(shipped), &products)
                        .await?;
                }
                Amendment::ShipTo { address } => ship_to(&mut work, address)?,
            }
        }
        if work.order.lines.iter().all(|l| l.wanted().is_zero()) {
            return Err(OrderError::AmendmentEmptiesOrder.into());
        }
        if work.country != country_before {
            self.retax(&mut work, &products).await?;
        }
        self.reserve_added(&mut work, &products).await?;
        self.free_released(&mut work).await?;
        let Amending {
            mut order,
            credits,
            moved,
            lines,
            ship_to_changed,
            ..
        } = work;
        // Judged on the outcome, not on the request, so no list of special cases
        // can miss one: a quantity set to what it is, a line removed whose units
        // all shipped, a cut then undone, the ship-to the order already has.
        // Recording it would spend the caller's key on an event that says nothing
        // happened, and nothing billing does below (an invoice, a hold) may come
        // from an amendment that changed nothing.
        if changes_nothing(&order, &stored.value, &changes)? {
            return Err(OrderError::NothingToAmend.into());
        }
        touched.put_into(&mut changes);

        // What was added or re-priced and is not invoiced joins the expected
        // billing; invoiced units cut are credited below (which takes them off the
        // customer's lifetime value itself).
        let unbilled_change = order.unbilled_value()?.checked_sub(unbilled_before)?;
        let history = &mut buyer.history;
        history.uninvoiced = history.uninvoiced.checked_add(unbilled_change)?;
        history.lifetime_value = history.lifetime_value.checked_add(unbilled_change)?;

        let credit_before = buyer.history.credit;
        let credited = if credits.is_empty() {
            Vec::new()
        } else {
            self.credit_order_lines(
                &mut order,
                &mut buyer,
                &credits,
                false,
                "order amended",
                &mut changes,
            )
            .await?
        };
        let prepaid = buyer.profile.terms == PaymentTerms::Prepaid;
        let bills_on_order = self.config.invoice_policy == InvoicePolicy::OnOrder || prepaid;
        let invoiced_now = bills_on_order && !order.fully_billed();
        let mut new_invoice = None;
        if invoiced_now {
            let unbilled: Vec<(usize, Quantity)> = order
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| (i, l.wanted().saturating_sub(l.invoiced)))
                .filter(|(_, units)| !units.is_zero())
                .collect();
            let with_shipping = order.shipping_unbilled();
            new_invoice = crate::ledger::issue_invoice(
                &mut order,
                &mut buyer,
                &unbilled,
                with_shipping,
                &self.context(now),
                &mut changes,
            )?
            .map(|invoice| invoice.id);
        }
        self.carry_credit_over(
            &mut order,
            &mut buyer,
            &moved,
            &credits,
            &credited,
            &mut changes,
        )
        .await?;
        let new_invoice_owes = match new_invoice {
            Some(invoice) => {
                let freed = buyer.history.credit.checked_sub(credit_before)?;
                self.pay_from_freed_credit(
                    &mut order,
                    &mut buyer,
                    invoice,
                    freed,
                    &cmd.idempotency_key,
                    &mut changes,
                )?
            }
            None => false,
        };
        let dearer = order.value()?.cmp_amount(stored_value)?.is_gt();
        self.hold_if_needed(&mut order, &buyer, dearer, new_invoice_owes, &mut changes)?;
        settle(&mut order, now, &mut changes)?;

        changes.events.insert(
            0,
            Event::OrderAmended {
                order: order.id,
                lines,
                ship_to_changed,
                value: order.value()?,
            },
        );
        changes
            .puts
            .push(Put::update(order.clone(), stored.version));
        changes.move_customer(&customer.value, &buyer)?;
        self.commit_keyed(
            changes,
            IdempotencyScope::AmendOrder,
            &cmd.idempotency_key,
            print,
            IdempotentOutcome::Order(order.id),
        )
        .await?;
        Ok(order)
    }

    /// Adds a line, priced like a new order's line.
    async fn add_line(
        &self,
        work: &mut Amending<'_>,
        req: &LineRequest,
        products: &Products,
    ) -> Result<(), Error> {
        let line_no = next_line_no(&work.order)?;
        let priced = self
            .price_with(
                &work.order,
                std::slice::from_ref(req),
                products,
                &work.tax,
                &work.country,
            )
            .map_err(|e| match e {
                Error::Order(e) => Error::Order(renumber(e, line_no)),
                other => other,
            })?;
        let mut line = priced.into_iter().next().ok_or(OrderError::Empty)?;
        line.line_no = line_no;
        let units = line.quantity.units();
        work.order.lines.push(line);
        work.demand.push((work.order.lines.len() - 1, units));
        work.lines.push(line_no);
        Ok(())
    }

    /// Sets the units a line is for, counting the lines grown from it (see
    /// [`OrderLine::grown_from`]): never below what they shipped. A line nothing of
    /// which is invoiced or shipped is re-priced in place; units cut from one that is
    /// are cancelled (and credited if invoiced), newest line first; units added to
    /// one that is go to a line grown from it.
    async fn set_quantity(
        &self,
        work: &mut Amending<'_>,
        line_no: u16,
        quantity: i64,
        products: &Products,
    ) -> Result<(), Error> {
        if !work.order.lines.iter().any(|l| l.line_no == line_no) {
            return Err(OrderError::UnknownLine(line_no).into());
        }
        let asked = u32::try_from(quantity).map(Quantity::new).map_err(|_| {
            OrderError::InvalidQuantity {
                line: line_no,
                quantity,
            }
        })?;
        let family = family(&work.order, line_no);
        let shipped = sum_of(&work.order, &family, |l| l.shipped);
        if asked.units() < shipped {
            return Err(OrderError::AmendsShippedUnits {
                line: line_no,
                shipped,
                asked: quantity,
            }
            .into());
        }
        let before = sum_of(&work.order, &family, OrderLine::wanted);
        if asked.units() > before {
            self.grow(work, line_no, &family, asked.units() - before, products)?;
        } else {
            for at in family.iter().rev() {
                let Some(line) = work.order.lines.get(*at) else {
                    continue;
                };
                let kept = sum_of(&work.order, &family, OrderLine::wanted);
                let cut = kept
                    .saturating_sub(asked.units())
                    .min(line.wanted().saturating_sub(line.shipped).units());
                if cut > 0 {
                    self.cut(work, *at, cut).await?;
                }
            }
        }
        if !work.lines.contains(&line_no) {
            work.lines.push(line_no);
        }
        Ok(())
    }

    /// Adds `extra` units to line `line_no`'s family: in place on its newest member
    /// nothing of which is invoiced or shipped, else on a new line grown from it,
    /// at the same unit price and discount per unit, taxed for where it goes now.
    fn grow(
        &self,
        work: &mut Amending<'_>,
        line_no: u16,
        family: &[usize],
        extra: u32,
        products: &Products,
    ) -> Result<(), Error> {
        let open = family.iter().rev().copied().find(|at| {
            work.order
                .lines
                .get(*at)
                .is_some_and(|l| untouched(l) && !l.quantity.is_zero())
        });
        if let Some(at) = open {
            if let Some(line) = work.order.lines.get_mut(at) {
                let grown = line.quantity.saturating_add(Quantity::new(extra));
                line.reprice(grown)?;
                work.demand.push((at, extra));
            }
            return Ok(());
        }
        let Some(first) = family.first().and_then(|at| work.order.lines.get(*at)) else {
            return Err(OrderError::UnknownLine(line_no).into());
        };
        let rate = tax_rate(&work.tax, products, &first.sku, &work.country)?;
        let extra = Quantity::new(extra);
        let grown = OrderLine {
            grown_from: Some(line_no),
            unit_discount: Some(first.discount_per_unit()),
            ..OrderLine::new(
                next_line_no(&work.order)?,
                first.sku.clone(),
                first.description.clone(),
                extra,
                first.unit_price,
                first.retaxed(rate)?.repriced(extra)?,
                rate,
            )
        };
        work.lines.push(grown.line_no);
        work.order.lines.push(grown);
        work.demand
            .push((work.order.lines.len() - 1, extra.units()));
        Ok(())
    }

    /// Takes `units` unshipped units off line `at`: in place while nothing of it is
    /// invoiced or shipped and some remains; otherwise by cancelling them, crediting
    /// those invoiced (the line's last wanted units).
    async fn cut(&self, work: &mut Amending<'_>, at: usize, units: u32) -> Result<(), Error> {
        self.take_units(work, at, units).await?;
        let Some(line) = work.order.lines.get_mut(at) else {
            return Ok(());
        };
        let before = line.wanted();
        let after = before.saturating_sub(Quantity::new(units));
        if untouched(line) && !after.is_zero() {
            line.reprice(after)?;
            return Ok(());
        }
        let invoiced_cut = line.invoiced.min(before).saturating_sub(after).units();
        line.cancelled = line.cancelled.saturating_add(Quantity::new(units));
        let line_no = line.line_no;
        credit(work, line_no, invoiced_cut);
        Ok(())
    }
}

/// Notes `units` invoiced units of line `line_no` to credit.
fn credit(work: &mut Amending<'_>, line_no: u16, units: u32) {
    if units == 0 {
        return;
    }
    match work.credits.iter_mut().find(|(l, _)| *l == line_no) {
        Some((_, sum)) => *sum = sum.saturating_add(units),
        None => work.credits.push((line_no, units)),
    }
}

/// Points a new ship-to address at what has not shipped yet (re-taxed by
/// `Oms::retax` once every change is applied).
fn ship_to(work: &mut Amending<'_>, address: &crate::customer::Address) -> Result<(), Error> {
    let Delivery::Ship { service, .. } = &work.order.delivery else {
        return Err(OrderError::PickupHasNoAddress.into());
    };
    // Its country was checked with every other ship-to (`final_country`).
    if work.order.lines.iter().all(|l| l.shipped >= l.wanted()) {
        return Err(OrderError::EverythingShipped.into());
    }
    work.order.delivery = Delivery::Ship {
        address: std::sync::Arc::new(address.clone()),
        service: *service,
    };
    work.ship_to_changed = true;
    Ok(())
}

/// The number the next line of `order` gets.
fn next_line_no(order: &Order) -> Result<u16, OrderError> {
    let last = order.lines.iter().map(|l| l.line_no).max().unwrap_or(0);
    let next = last
        .checked_add(1)
        .filter(|n| usize::from(*n) <= crate::order::MAX_LINES);
    next.ok_or(OrderError::TooManyLines {
        max: crate::order::MAX_LINES,
        got: order.lines.len().saturating_add(1),
    })
}

/// A pricing error for a one-line order, told about the line it will become.
fn renumber(error: OrderError, line_no: u16) -> OrderError {
    match error {
        OrderError::InvalidQuantity { quantity, .. } => OrderError::InvalidQuantity {
            line: line_no,
            quantity,
        },
        OrderError::NegativePrice { .. } => OrderError::NegativePrice { line: line_no },
        OrderError::InvalidDiscount {
            line: Some(_),
            reason,
        } => OrderError::InvalidDiscount {
            line: Some(line_no),
            reason,
        },
        other => other,
    }
}

/// The amendment with every amount in canonical form, for its fingerprint.
fn canonical_amendment(cmd: &AmendOrder) -> AmendOrder {
    let mut cmd = cmd.clone();
    for change in &mut cmd.changes {
        if let Amendment::AddLine(line) = change {
            *line = canonical_request(line);
        }
    }
    cmd
}

/// A line request with its amounts in canonical form, for a fingerprint.
fn canonical_request(line: &LineRequest) -> LineRequest {
    LineRequest {
        unit_price: line.unit_price.map(canonical_money),
        discount: line.discount.map(canonical_discount),
        ..line.clone()
    }
}

/// Line requests with their amounts in canonical form, for a fingerprint.
pub(super) fn canonical_requests(lines: &[LineRequest]) -> Vec<LineRequest> {
    lines.iter().map(canonical_request).collect()
}
