//! Returns on the service: authorising a return of delivered goods, and receiving
//! it — back into stock or written off, cost of goods reversed at what it shipped
//! at, the invoice credited — in one commit.

use serde::{Deserialize, Serialize};

use super::Oms;
use super::fingerprint;
use crate::customer::{Customer, PaymentMethod};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{EntryId, IdempotencyKey, OrderId, ReturnId, Sku};
use crate::ledger::RecordPayment;
use crate::money::Money;
use crate::order::{Hold, LineRequest, Order, OrderLine, PlaceOrder};
use crate::purchasing::{BackOrderPolicy, BackOrderQueue, Backlog};
use crate::quantity::Quantity;
use crate::returns::{
    Condition, ReturnAuthorization, ReturnError, ReturnLine, ReturnReason, ReturnStatus,
};
use crate::stock::{Location, MovementReason, StockMovement};
use crate::store::{
    Changeset, IdempotencyScope, IdempotentOutcome, Prefetch, Put, RecordKey, Store,
};

/// The command to ask for a return of delivered goods.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestReturn {
    /// Same key, same return.
    pub idempotency_key: IdempotencyKey,
    /// The order the goods came on.
    pub order: OrderId,
    /// Units per order line, and why.
    pub lines: Vec<(u16, u32, ReturnReason)>,
}

/// The command to exchange delivered goods: a return whose replacement is placed
/// as a new order once everything asked back is received.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestExchange {
    /// The return: same key, same exchange.
    pub goods_back: RequestReturn,
    /// What to send instead (the same SKU or another), priced like a new order's
    /// lines when the replacement is placed.
    pub replacement: Vec<LineRequest>,
}

/// The command to receive returned goods.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReceiveReturn {
    /// Same key, same receipt.
    pub idempotency_key: IdempotencyKey,
    /// The return authorisation.
    pub rma: ReturnId,
    /// Units per order line, and the state they arrived in.
    pub lines: Vec<(u16, u32, Condition)>,
}

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Asks for a return. Only delivered units can come back, and never more than
    /// were delivered less those already on a return that was not rejected.
    ///
    /// # Errors
    /// [`Error::Return`] with `Empty`, `NotOnOrder` or `NotReturnable`;
    /// [`Error::NotFound`]; [`Error::IdempotencyKeyReused`].
    pub async fn request_return(&self, cmd: RequestReturn) -> Result<ReturnAuthorization, Error> {
        self.request_return_or_exchange(cmd, Vec::new()).await
    }

    /// Asks for an exchange: a return (as [`Oms::request_return`]) that, once
    /// authorised and received in full, places the replacement as a new order in
    /// the same commit as the last receipt. The replacement ships the way the
    /// original did, is invoiced at once, and is paid from the credit the return
    /// gave: a dearer replacement leaves the difference to pay on its invoice (a
    /// prepaid one is held until paid), a cheaper one leaves the difference as
    /// customer credit, refundable with [`Oms::record_refund`]. The replacement
    /// may take the very units the receipt restocked; one short of stock is
    /// back-ordered rather than refused, and one that can no longer be priced (its
    /// product withdrawn since) is not placed — [`Event::ExchangeNotPlaced`] says
    /// why and the credit stays with the customer — so the receipt is never
    /// blocked by it. A credit-limit hold is judged after the credit has paid.
    /// Closing a partly received exchange places no replacement: what came back
    /// stays credited.
    ///
    /// The replacement lines are priced now to check them, and again when placed.
    ///
    /// # Errors
    /// As [`Oms::request_return`], plus [`Error::Return`] with `NoReplacement`, and
    /// [`Error::Order`] for a replacement line that could not be priced (unknown or
    /// inactive SKU, bad quantity, another currency, ...).
    pub async fn request_exchange(
        &self,
        cmd: RequestExchange,
    ) -> Result<ReturnAuthorization, Error> {
        if cmd.replacement.is_empty() {
            return Err(ReturnError::NoReplacement.into());
        }
        self.request_return_or_exchange(cmd.goods_back, cmd.replacement)
            .await
    }

    async fn request_return_or_exchange(
        &self,
        cmd: RequestReturn,
        replacement: Vec<LineRequest>,
    ) -> Result<ReturnAuthorization, Error> {
        let print = if replacement.is_empty() {
            fingerprint(&cmd)?
        } else {
            fingerprint(&(&cmd, super::amend::canonical_requests(&replacement)))?
        };
        let scope = IdempotencyScope::RequestReturn;
        let asked = super::retrying!(
            self,
            self.try_request_return(&cmd, &replacement, print).await
        );
        if asked.is_err() {
            if let Some(IdempotentOutcome::Return(id)) =
                self.replay(scope, &cmd.idempotency_key, print).await?
            {
                return self.return_authorization(id).await;
            }
        }
        asked
    }

    async fn try_request_return(
        &self,
        cmd: &RequestReturn,
        replacement: &[LineRequest],
        print: u64,
    ) -> Result<ReturnAuthorization, Error> {
        let scope = IdempotencyScope::RequestReturn;
        if let Some(IdempotentOutcome::Return(id)) =
            self.replay(scope, &cmd.idempotency_key, print).await?
        {
            return self.return_authorization(id).await;
        }
        let stored = self.must::<Order>(&cmd.order).await?;
        let mut order = stored.value;
        if cmd.lines.is_empty() {
            return Err(ReturnError::Empty.into());
        }
        let mut lines = Vec::with_capacity(cmd.lines.len());
        for (n, (line_no, units, reason)) in cmd.lines.iter().enumerate() {
            if *units == 0 || cmd.lines.iter().take(n).any(|(l, _, _)| l == line_no) {
                return Err(ReturnError::Empty.into());
            }
            let line = order
                .lines
                .iter_mut()
                .find(|l| l.line_no == *line_no)
                .ok_or(ReturnError::NotOnOrder { line_no: *line_no })?;
            let returnable = line.delivered.saturating_sub(line.return_requested).units();
            if *units > returnable {
                return Err(ReturnError::NotReturnable {
                    line_no: *line_no,
                    returnable,
                    requested: *units,
                }
                .into());
            }
            line.return_requested = Quantity::new(line.return_requested.units() + units);
            lines.push(ReturnLine {
                line_no: *line_no,
                sku: line.sku.clone(),
                quantity: *units,
                received: 0,
                reason: *reason,
                restocked: 0,
                cost_returned: None,
                cost_written_off: None,
            });
        }
        if !replacement.is_empty() {
            self.price_requests(&order, replacement).await?;
        }
        let now = self.now();
        let rma = ReturnAuthorization {
            id: self.new_id(ReturnId::from_uuid),
            number: None,
            order: order.id,
            customer: order.customer,
            lines,
            status: ReturnStatus::Requested,
            requested_at: now,
            replacement: replacement.to_vec(),
            replacement_order: None,
            credit_given: None,
        };
        let mut changes = Changeset::new(now);
        changes.events.push(Event::ReturnRequested {
            rma: rma.id,
            // The store numbers it in the commit, here too.
            number: None,
            order: order.id,
        });
        changes.puts.push(Put::insert(rma.clone()));
        changes.number(RecordKey::Return(rma.id));
        changes.puts.push(Put::update(order, stored.version));
        let committed = self
            .commit_keyed(
                changes,
                scope,
                &cmd.idempotency_key,
                print,
                IdempotentOutcome::Return(rma.id),
            )
            .await?;
        Ok(committed.numbered(rma)?)
    }

    /// Authorises a requested return: the customer may send the goods.
    ///
    /// # Errors
    /// [`Error::Return`] unless it is requested; [`Error::NotFound`].
    pub async fn authorise_return(&self, id: ReturnId) -> Result<ReturnAuthorization, Error> {
        super::retrying!(self, {
            let stored = self.must::<ReturnAuthorization>(&id).await?;
            let mut rma = stored.value;
            rma.authorise()?;
            let mut changes = Changeset::new(self.now());
            changes.events.push(Event::ReturnAuthorised { rma: id });
            changes.puts.push(Put::update(rma.clone(), stored.version));
            self.store.commit(changes).await?;
            Ok::<_, Error>(rma)
        })
    }

    /// Rejects a return before anything arrived; its units can be asked back again.
    ///
    /// # Errors
    /// [`Error::Return`] once goods arrived; [`Error::NotFound`].
    pub async fn reject_return(&self, id: ReturnId) -> Result<ReturnAuthorization, Error> {
        self.end_return(id, ReturnAuthorization::reject, |rma| {
            Event::ReturnRejected { rma }
        })
        .await
    }

    /// Receives returned goods, in one commit per receipt:
    /// - resellable units go back into stock at the chosen location, at the cost of
    ///   goods they shipped at (the SKU's cost moves to the moving average, as on any
    ///   receipt), and waiting back-orders take them first;
    /// - damaged units are written off (inventory adjustments);
    /// - either way cost of goods sold is reversed at what it was posted at;
    /// - the returned units are credited on the order's invoices (a credit note per
    ///   invoice, exact; what was paid for them becomes customer credit, refundable
    ///   with [`Oms::record_refund`]).
    ///
    /// # Errors
    /// [`Error::Return`] for a return not authorised, or units beyond what is
    /// expected; [`Error::NotFound`] for an unknown return or location;
    /// [`Error::IdempotencyKeyReused`].
    pub async fn receive_return(&self, cmd: ReceiveReturn) -> Result<ReturnAuthorization, Error> {
        let print = fingerprint(&cmd)?;
        let received = super::retrying!(self, self.try_receive_return(&cmd, print).await);
        if received.is_err()
            && self
                .replay(IdempotencyScope::ReceiveReturn, &cmd.idempotency_key, print)
                .await?
                .is_some()
        {
            return self.return_authorization(cmd.rma).await;
        }
        received
    }

    async fn try_receive_return(
        &self,
        cmd: &ReceiveReturn,
        print: u64,
    ) -> Result<ReturnAuthorization, Error> {
        let scope = IdempotencyScope::ReceiveReturn;
        if self
            .replay(scope, &cmd.idempotency_key, print)
            .await?
            .is_some()
        {
            return self.return_authorization(cmd.rma).await;
        }
        let stored = self.must::<ReturnAuthorization>(&cmd.rma).await?;
        let mut rma = stored.value;
        if cmd.lines.is_empty() {
            return Err(ReturnError::Empty.into());
        }
        let order_stored = self.must::<Order>(&rma.order).await?;
        let mut order = order_stored.value;
        let customer_stored = self.must::<Customer>(&order.customer).await?;
        let mut customer = customer_stored.value.clone();
        let now = self.now();
        let mut changes = Changeset::new(now);
        // The queues restocked units may fill, with the orders waiting in them (this
        // order aside: the fills work on our copy of it).
        let mut restocking: Vec<Sku> = Vec::new();
        for (line_no, _, condition) in &cmd.lines {
            let sku = order
                .lines
                .iter()
                .find(|l| l.line_no == *line_no)
                .map(|l| &l.sku);
            if let (Some(sku), Condition::Resellable { .. }) = (sku, condition) {
                if !restocking.contains(sku) {
                    restocking.push(sku.clone());
                }
            }
        }
        let mut touched = Backlog::default();
        if !restocking.is_empty() {
            let mut request = Prefetch::new();
            for sku in &restocking {
                request = request.record::<BackOrderQueue>(sku);
            }
            let mut fetched = self.store.fetch(&request).await?;
            super::backorders::adopt_queues(&mut touched, &restocking, &mut fetched);
            touched.adopt(order.clone(), order_stored.version);
            self.read_waiting(&mut touched).await?;
            touched.release(order.id);
        }
        // Resellable value per SKU, so each SKU's average moves once.
        let mut restocked: Vec<(Sku, u32, Money)> = Vec::new();
        let mut credited: Vec<(u16, u32)> = Vec::new();
        for (line_no, units, condition) in &cmd.lines {
            rma.receive(*line_no, *units)?;
            let line = order
                .lines
                .iter_mut()
                .find(|l| l.line_no == *line_no)
                .ok_or(ReturnError::NotOnOrder { line_no: *line_no })?;
            let cost = returned_cost(line, *units, self).await?;
            line.returned = Quantity::new(line.returned.units() + units);
            let sku = line.sku.clone();
            let restock_at = match condition {
                Condition::Resellable { location } => Some(location),
                Condition::Damaged => None,
            };
            if let Some(booked) = rma.lines.iter_mut().find(|l| l.line_no == *line_no) {
                booked.book_cost(*units, cost, restock_at.is_some())?;
            }
            changes.journal.extend(self.postings().returned(
                &sku,
                cost,
                restock_at.is_some(),
                self.new_id(EntryId::from_uuid),
                now,
            )?);
            if let Some(location) = restock_at {
                self.must::<Location>(location).await?;
                changes.movements.push(StockMovement {
                    sku: sku.clone(),
                    location: location.clone(),
                    quantity: i64::from(*units),
                    reason: MovementReason::Return { rma: rma.id },
                    at: now,
                    value: None,
                });
                match restocked.iter_mut().find(|(s, _, _)| *s == sku) {
                    Some((_, n, value)) => {
                        *n += units;
                        *value = value.checked_add(cost)?;
                    }
                    None => restocked.push((sku.clone(), *units, cost)),
                }
                // The order may itself wait for this SKU: the fill works on our copy.
                let id = order.id;
                touched.adopt(order, order_stored.version);
                self.fill_at(&mut touched, &sku, location, *units, &mut changes)
                    .await?;
                order = touched
                    .release(id)
                    .ok_or_else(|| Error::invalid("return", "lost its order"))?;
            }
            changes.events.push(Event::ReturnReceived {
                rma: rma.id,
                order: order.id,
                sku,
                quantity: *units,
                restocked_at: restock_at.cloned(),
            });
            match credited.iter_mut().find(|(l, _)| l == line_no) {
                Some((_, n)) => *n += units,
                None => credited.push((*line_no, *units)),
            }
        }
        for (sku, units, value) in &restocked {
            self.average_in(sku, *units, *value, &mut changes).await?;
        }
        let credit_before = customer.history.credit;
        self.credit_order_lines(
            &mut order,
            &mut customer,
            &credited,
            false,
            &format!("returned on {}", rma.id),
            &mut changes,
        )
        .await?;
        crate::order::settle::settle(&mut order, now, &mut changes)?;
        let gained = customer.history.credit.checked_sub(credit_before)?;
        if gained.is_positive() {
            let given = rma.credit_given.unwrap_or(Money::zero(order.currency));
            rma.credit_given = Some(given.checked_add(gained)?);
        }
        let exchange_due = rma.status == ReturnStatus::Received
            && !rma.replacement.is_empty()
            && rma.replacement_order.is_none();
        if exchange_due {
            let credit = rma
                .credit_given
                .unwrap_or(Money::zero(order.currency))
                .min(customer.history.credit)?;
            // The goods are back whatever happens to the replacement: one that can
            // no longer be priced (its product withdrawn since) leaves the credit
            // with the customer, and the receipt stands.
            match self.price_requests(&order, &rma.replacement).await {
                Ok(_) => {
                    let replacement = self
                        .place_replacement(
                            &rma,
                            &order,
                            &mut customer,
                            credit,
                            &mut touched,
                            &mut changes,
                        )
                        .await?;
                    rma.replacement_order = Some(replacement);
                }
                Err(Error::Order(why)) => changes.events.push(Event::ExchangeNotPlaced {
                    rma: rma.id,
                    order: order.id,
                    reason: why.to_string(),
                }),
                Err(other) => return Err(other),
            }
        }
        touched.put_into(&mut changes);
        changes.puts.push(Put::update(rma.clone(), stored.version));
        changes.puts.push(Put::update(order, order_stored.version));
        changes.move_customer(&customer_stored.value, &customer)?;
        self.commit_keyed(
            changes,
            scope,
            &cmd.idempotency_key,
            print,
            IdempotentOutcome::Return(rma.id),
        )
        .await?;
        Ok(rma)
    }

    /// Places an exchange's replacement order into `changes`, invoiced at once and
    /// paid from `credit` (what the return gave) as far as it goes; returns its id.
    async fn place_replacement(
        &self,
        rma: &ReturnAuthorization,
        original: &Order,
        customer: &mut Customer,
        credit: Money,
        touched: &mut Backlog,
        changes: &mut Changeset,
    ) -> Result<OrderId, Error> {
        let key = IdempotencyKey::new(format!("exchange-{}", rma.id))
            .map_err(|e| Error::invalid("exchange", e.to_string()))?;
        let mut cmd = PlaceOrder::new(
            key.clone(),
            original.customer,
            original.channel,
            original.currency,
        )
        .back_order(BackOrderPolicy::BackOrder)
        .deliver(original.delivery.clone());
        cmd.lines = rma.replacement.clone();
        cmd.note = Some(format!("exchange for return {}", rma.id));
        let inputs = self.order_inputs(&cmd).await?;
        let (mut order, invoice) = self
            .place_into(&cmd, customer, true, &inputs, touched, changes)
            .await?;
        let mut paid = Money::zero(order.currency);
        if let Some(mut invoice) = invoice {
            let outstanding = invoice.outstanding()?;
            paid = credit.min(outstanding)?;
            if paid.is_positive() {
                let mut payment =
                    RecordPayment::new(key, invoice.id, paid, PaymentMethod::CustomerCredit);
                payment.reference = Some(format!("credit from return {}", rma.id));
                let ctx = self.context(changes.at);
                crate::ledger::record_payment(
                    &payment,
                    &mut invoice,
                    &mut order,
                    customer,
                    &ctx,
                    changes,
                )?;
                if !changes.restate(invoice) {
                    return Err(Error::invalid(
                        "exchange",
                        "its invoice was not in the commit",
                    ));
                }
            }
        }
        // Judged before the return's credit paid it: judge again.
        if order.holds.contains(&Hold::CreditLimit) && !customer.over_credit_limit()? {
            crate::order::settle::release(&mut order, Hold::CreditLimit, changes)?;
        }
        changes.events.push(Event::ExchangePlaced {
            rma: rma.id,
            order: original.id,
            replacement: order.id,
            paid_from_credit: paid,
        });
        let id = order.id;
        changes.puts.push(Put::insert(order));
        Ok(id)
    }

    /// Closes a partly received return: what did not arrive will not be taken, and
    /// can be asked back again. An exchange closed this way places no replacement
    /// (its goods never all came back): the credit its receipts gave stays with the
    /// customer, to refund with [`Oms::record_refund`] or spend on the next order.
    ///
    /// # Errors
    /// [`Error::Return`] unless partly received; [`Error::NotFound`].
    pub async fn close_return(&self, id: ReturnId) -> Result<ReturnAuthorization, Error> {
        self.end_return(id, ReturnAuthorization::close, |rma| Event::ReturnClosed {
            rma,
        })
        .await
    }

    /// Ends a return short (rejected, or closed with goods missing), in one commit:
    /// the step, its event, and the order no longer counting as asked back the
    /// units that will not come.
    async fn end_return(
        &self,
        id: ReturnId,
        step: fn(&mut ReturnAuthorization) -> Result<(), ReturnError>,
        event: fn(ReturnId) -> Event,
    ) -> Result<ReturnAuthorization, Error> {
        super::retrying!(self, {
            let stored = self.must::<ReturnAuthorization>(&id).await?;
            let mut rma = stored.value;
            step(&mut rma)?;
            let order = self.must::<Order>(&rma.order).await?;
            let mut changes = Changeset::new(self.now());
            let order_now = give_back(order.value, &rma);
            changes.events.push(event(id));
            changes.puts.push(Put::update(rma.clone(), stored.version));
            changes.puts.push(Put::update(order_now, order.version));
            self.store.commit(changes).await?;
            Ok::<_, Error>(rma)
        })
    }

    /// A return authorisation.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn return_authorization(&self, id: ReturnId) -> Result<ReturnAuthorization, Error> {
        Ok(self.must::<ReturnAuthorization>(&id).await?.value)
    }
}

/// The order with the units `rma` asked for but will not receive (rejected, or
/// closed short) no longer counted as asked back.
fn give_back(mut order: Order, rma: &ReturnAuthorization) -> Order {
    for r in &rma.lines {
        if let Some(line) = order.lines.iter_mut().find(|l| l.line_no == r.line_no) {
            let not_coming = r.quantity.saturating_sub(r.received);
            line.return_requested = line
                .return_requested
                .saturating_sub(Quantity::new(not_coming));
        }
    }
    order
}

/// What `units` more returned units of `line` cost when they shipped: the exact
/// share of the line's posted cost of goods, so returning every shipped unit, in
/// any steps, reverses it to the cent. Lines shipped before costs were recorded
/// fall back to the product's cost now.
async fn returned_cost<S: Store, C: Carrier>(
    line: &OrderLine,
    units: u32,
    oms: &Oms<S, C>,
) -> Result<Money, Error> {
    let shipped = line.shipped.units();
    let Some(total) = line.shipped_cost.filter(|_| shipped > 0) else {
        let product = oms.product(&line.sku).await?;
        return Ok(product.cost.checked_mul_qty(u64::from(units))?);
    };
    let share = |n: u32| -> Result<Money, Error> {
        let n = n.min(shipped);
        let weights = [
            rust_decimal::Decimal::from(n),
            rust_decimal::Decimal::from(shipped - n),
        ];
        Ok(total
            .allocate(&weights)?
            .into_iter()
            .next()
            .unwrap_or(Money::zero(total.currency())))
    };
    let before = line.returned.units();
    Ok(share(before + units)?.checked_sub(share(before)?)?)
}
