//! Receiving returned goods, decided, in one commit per receipt: resellable units
//! back into stock (waiting back-orders take them first), damaged ones written off,
//! cost of goods reversed at what it shipped at, the order's invoices credited,
//! and — once an exchange's goods are all back — its replacement placed and paid
//! from the credit.

use serde::{Deserialize, Serialize};

use super::exchange::place_replacement;
use super::request::price_replacement;
use super::{Condition, ReturnAuthorization, ReturnError, ReturnStatus};
use crate::catalog::{Product, Products, TaxTable};
use crate::customer::Customer;
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{EntryId, IdempotencyKey, OrderId, ReturnId, Sku};
use crate::ledger::{Invoice, credit_order_lines};
use crate::money::{Money, MoneyError};
use crate::order::{Order, OrderInputs, OrderLine, Placing};
use crate::purchasing::{BackOrderQueue, Backlog, PurchaseOrder, Supplier};
use crate::quantity::Quantity;
use crate::stock::{Location, MovementReason, StockMovement};
use crate::store::{Changeset, Entity, Fetched, Prefetch, Put, RecordKey, Versioned};

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

/// A back-order queue as read: `None` when the SKU has none yet.
pub(crate) type QueueRead = (Sku, Option<Versioned<BackOrderQueue>>);

/// What a receipt rests on, read before deciding: the return, then in one
/// dependent read what it names (see [`ReceiptReads::prefetch`]), and — only if
/// needed — a last read of the orders waiting in the restocked SKUs' queues, the
/// invoices issued since the return was asked for, and a replacement's supply
/// ([`ReceiptReads::still_to_read`]).
pub(crate) struct ReceiptReads {
    /// The return.
    pub rma: Versioned<ReturnAuthorization>,
    /// Its order.
    pub order: Versioned<Order>,
    /// Its customer.
    pub customer: Versioned<Customer>,
    /// The order's invoices.
    pub invoices: Vec<Versioned<Invoice>>,
    /// The products, stock and tax a receipt and a replacement are decided on,
    /// and every location.
    pub catalogue: OrderInputs,
    /// The queues of the SKUs restocked.
    pub queues: Vec<QueueRead>,
    /// The orders waiting in them (the return's own order aside).
    pub waiting: Vec<Versioned<Order>>,
    /// Where a replacement short of stock is promised a date from.
    pub supply: Option<ReplacementSupply>,
}

/// Where an exchange's replacement short of stock is promised a date from, and the
/// queues it joins.
pub(crate) struct ReplacementSupply {
    /// Every supplier, with its offers.
    pub suppliers: Vec<Supplier>,
    /// The purchase orders sent and not yet fully received.
    pub sent: Vec<PurchaseOrder>,
    /// The queues of the replacement's SKUs.
    pub queues: Vec<QueueRead>,
}

/// What a receipt decided, besides the changes.
#[derive(Debug)]
pub(crate) struct Received {
    /// The return as the receipt leaves it.
    pub rma: ReturnAuthorization,
    /// Units restocked and their cost, per SKU (each SKU once): what the SKU's
    /// moving-average cost takes in.
    pub restocked: Vec<(Sku, u32, Money)>,
}

impl ReceiptReads {
    /// What to read, once `rma` is read, to receive `cmd`: its order, customer and
    /// invoices, the products and stock of the SKUs coming back, every location
    /// and the queues of the SKUs restocked; for the receipt that completes an
    /// exchange, also the replacement's products and stock and the tax table.
    ///
    /// # Errors
    /// [`ReturnError::Empty`] for a receipt of no lines: nothing to read.
    pub(crate) fn prefetch(
        rma: &ReturnAuthorization,
        cmd: &ReceiveReturn,
    ) -> Result<Prefetch, Error> {
        if cmd.lines.is_empty() {
            return Err(ReturnError::Empty.into());
        }
        let mut request = Prefetch::new()
            .record::<Order>(&rma.order)
            .record::<Customer>(&rma.customer)
            .every::<Location>();
        for id in &rma.invoices {
            request = request.record::<Invoice>(id);
        }
        for line in &rma.lines {
            request = request.record::<Product>(&line.sku).stock(&line.sku);
        }
        for sku in restocking(rma, cmd) {
            request = request.record::<BackOrderQueue>(&sku);
        }
        if completes_exchange(rma, cmd) {
            request = request.record::<TaxTable>(&());
            for line in &rma.replacement {
                request = request.record::<Product>(&line.sku).stock(&line.sku);
            }
        }
        Ok(request)
    }

    /// The reads in `fetched`, asked for by [`ReceiptReads::prefetch`].
    ///
    /// # Errors
    /// [`Error::NotFound`] for the return's order or customer.
    pub(crate) fn from_fetched(
        rma: Versioned<ReturnAuthorization>,
        cmd: &ReceiveReturn,
        mut fetched: Fetched,
    ) -> Result<Self, Error> {
        let order = take::<Order>(&mut fetched, &rma.value.order)?;
        let customer = take::<Customer>(&mut fetched, &rma.value.customer)?;
        let invoices = rma
            .value
            .invoices
            .iter()
            .filter_map(|id| fetched.take::<Invoice>(id))
            .collect();
        let queues = restocking(&rma.value, cmd)
            .into_iter()
            .map(|sku| {
                let queue = fetched.take::<BackOrderQueue>(&sku);
                (sku, queue)
            })
            .collect();
        let mut products = Products::default();
        for sku in rma
            .value
            .lines
            .iter()
            .map(|l| &l.sku)
            .chain(rma.value.replacement.iter().map(|l| &l.sku))
        {
            if let Some(p) = fetched.take::<Product>(sku) {
                products.insert(sku.clone(), p.value);
            }
        }
        let catalogue = OrderInputs {
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
        };
        Ok(Self {
            rma,
            order,
            customer,
            invoices,
            catalogue,
            queues,
            waiting: Vec::new(),
            supply: None,
        })
    }

    /// What is left to read before deciding `cmd`, in one last read (`None`:
    /// nothing): the orders waiting in the restocked SKUs' queues, the order's
    /// invoices issued since the return was asked for — and, on that read, the
    /// supply of an exchange's replacement in case it is short, so that it needs
    /// no read of its own (the flag says whether it is asked for).
    pub(crate) fn still_to_read(&self, cmd: &ReceiveReturn) -> Option<(Prefetch, bool)> {
        let mut request = Prefetch::new();
        for id in self.waiting_to_read() {
            request = request.record::<Order>(&id);
        }
        for id in &self.order.value.invoices {
            if !self.invoices.iter().any(|i| i.value.id == *id) {
                request = request.record::<Invoice>(id);
            }
        }
        if request.records.is_empty() {
            return None;
        }
        if completes_exchange(&self.rma.value, cmd) {
            return Some((self.supply_to_read(request), true));
        }
        Some((request, false))
    }

    /// Adds to `request` what a replacement short of stock needs: the suppliers,
    /// the purchase orders and the queues of its SKUs.
    pub(crate) fn supply_to_read(&self, request: Prefetch) -> Prefetch {
        let request = request.every::<Supplier>().every::<PurchaseOrder>();
        self.rma
            .value
            .replacement
            .iter()
            .fold(request, |request, line| {
                request.record::<BackOrderQueue>(&line.sku)
            })
    }

    /// Takes in what [`ReceiptReads::still_to_read`] or
    /// [`ReceiptReads::supply_to_read`] asked for (`with_supply`: the supply too).
    pub(crate) fn add(&mut self, mut fetched: Fetched, with_supply: bool) {
        for id in self.waiting_to_read() {
            if let Some(order) = fetched.take::<Order>(&id) {
                self.waiting.push(order);
            }
        }
        for id in &self.order.value.invoices {
            if !self.invoices.iter().any(|i| i.value.id == *id) {
                if let Some(invoice) = fetched.take::<Invoice>(id) {
                    self.invoices.push(invoice);
                }
            }
        }
        if !with_supply {
            return;
        }
        let mut queues: Vec<QueueRead> = Vec::new();
        for line in &self.rma.value.replacement {
            if !queues.iter().any(|(sku, _)| sku == &line.sku) {
                let queue = fetched.take::<BackOrderQueue>(&line.sku);
                queues.push((line.sku.clone(), queue));
            }
        }
        self.supply = Some(ReplacementSupply {
            suppliers: fetched.take_every().into_iter().map(|v| v.value).collect(),
            sent: fetched
                .take_every()
                .into_iter()
                .map(|v: Versioned<PurchaseOrder>| v.value)
                .filter(PurchaseOrder::is_sent)
                .collect(),
            queues,
        });
    }

    /// The orders the restocked SKUs' queues name that are not read yet, the
    /// return's own order aside (a fill works on the receipt's copy of it).
    fn waiting_to_read(&self) -> Vec<OrderId> {
        let own = self.order.value.id;
        let mut ids: Vec<OrderId> = Vec::new();
        for (_, queue) in &self.queues {
            for w in queue.iter().flat_map(|q| q.value.waiting.iter()) {
                if w.order != own
                    && !ids.contains(&w.order)
                    && !self.waiting.iter().any(|o| o.value.id == w.order)
                {
                    ids.push(w.order);
                }
            }
        }
        ids
    }

    /// The queue of `sku` as read.
    fn queue(&self, sku: &Sku) -> Result<Option<Versioned<BackOrderQueue>>, Error> {
        self.queues
            .iter()
            .find(|(s, _)| s == sku)
            .map(|(_, q)| q.clone())
            .ok_or_else(|| Error::NotPrefetched {
                key: RecordKey::BackOrderQueue(sku.clone()),
            })
    }
}

/// Takes a record that must exist out of `fetched`.
fn take<E: Entity>(fetched: &mut Fetched, key: &E::Key) -> Result<Versioned<E>, Error>
where
    E::Key: std::fmt::Display,
{
    fetched
        .take::<E>(key)
        .ok_or_else(|| Error::not_found(E::kind(), key))
}

/// The SKUs `cmd` puts back on the shelf, each once.
fn restocking(rma: &ReturnAuthorization, cmd: &ReceiveReturn) -> Vec<Sku> {
    let mut skus: Vec<Sku> = Vec::new();
    for (line_no, _, condition) in &cmd.lines {
        let sku = rma
            .lines
            .iter()
            .find(|l| l.line_no == *line_no)
            .map(|l| &l.sku);
        if let (Some(sku), Condition::Resellable { .. }) = (sku, condition) {
            if !skus.contains(sku) {
                skus.push(sku.clone());
            }
        }
    }
    skus
}

/// True if receiving `cmd` completes an exchange whose replacement is still to
/// place (as far as `rma` allows the receipt at all).
fn completes_exchange(rma: &ReturnAuthorization, cmd: &ReceiveReturn) -> bool {
    if rma.replacement.is_empty() || rma.replacement_order.is_some() {
        return false;
    }
    let mut after = rma.clone();
    cmd.lines
        .iter()
        .all(|(line_no, units, _)| after.receive(*line_no, *units).is_ok())
        && after.status == ReturnStatus::Received
}

/// Decides the receipt of `cmd` from `reads`, into `changes`:
/// - resellable units go back into stock at the chosen location (which must
///   exist) at the cost of goods they shipped at, and waiting back-orders take
///   them first;
/// - damaged units are written off (inventory adjustments);
/// - either way cost of goods sold is reversed at what it was posted at
///   ([`returned_cost`]);
/// - the returned units are credited on the order's invoices (what was paid for
///   them becomes customer credit);
/// - the receipt that brings an exchange's goods all back places its
///   replacement ([`place_replacement`]), or, if the replacement can no longer be
///   priced, records [`Event::ExchangeNotPlaced`] and leaves the credit with the
///   customer.
///
/// Returns `None`, having decided nothing worth keeping, when the replacement is
/// short of stock and `reads` holds no supply: read it and decide again with a
/// fresh changeset. The moving-average cost of the SKUs restocked is left to the
/// caller ([`Received::restocked`]).
///
/// # Errors
/// [`ReturnError::Empty`]; [`ReturnError::InvalidTransition`] for a return not
/// authorised; [`ReturnError::BeyondAuthorised`] for units beyond what is
/// expected; [`Error::NotFound`] for an unknown location or a product the cost
/// must come from; [`Error::NotPrefetched`] for a queue `reads` lacks; as
/// [`credit_order_lines`] and [`place_replacement`].
pub(crate) fn receive(
    cmd: &ReceiveReturn,
    reads: &ReceiptReads,
    rules: Placing,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Option<Received>, Error> {
    let mut rma = reads.rma.value.clone();
    if cmd.lines.is_empty() {
        return Err(ReturnError::Empty.into());
    }
    let (mut order, version) = (reads.order.value.clone(), reads.order.version);
    let mut customer = reads.customer.value.clone();
    let now = changes.at;
    // The queues restocked units may fill, with the orders waiting in them (this
    // order aside: the fills work on our copy of it).
    let mut backlog = Backlog::default();
    for sku in restocking(&rma, cmd) {
        backlog.adopt_queue(&sku, reads.queue(&sku)?);
    }
    for waiting in reads.waiting.iter().filter(|w| w.value.id != order.id) {
        backlog.adopt(waiting.value.clone(), waiting.version);
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
        let cost = returned_cost(line, *units, &reads.catalogue.products)?;
        line.returned = Quantity::new(line.returned.units() + units);
        let sku = line.sku.clone();
        let restock_at = match condition {
            Condition::Resellable { location } => Some(location),
            Condition::Damaged => None,
        };
        rma.lines
            .iter_mut()
            .find(|l| l.line_no == *line_no)
            .ok_or(ReturnError::BeyondAuthorised {
                line_no: *line_no,
                outstanding: 0,
                received: *units,
            })?
            .book_cost(*units, cost, restock_at.is_some())?;
        changes.journal.extend(ctx.postings.returned(
            &sku,
            cost,
            restock_at.is_some(),
            ctx.id(EntryId::from_uuid),
            now,
        )?);
        if let Some(location) = restock_at {
            let site = reads
                .catalogue
                .locations
                .iter()
                .find(|l| &l.id == location)
                .ok_or_else(|| Error::not_found(Location::kind(), location))?;
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
            backlog.adopt(order, version);
            backlog.fill(&sku, location, site.fulfils_orders, *units, changes)?;
            order = backlog
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
    let credit_before = customer.history.credit;
    credit_order_lines(
        (&mut order, &mut customer),
        reads.invoices.clone(),
        &credited,
        false,
        &format!("returned on {}", rma.id),
        ctx,
        changes,
    )?;
    crate::order::settle::settle(&mut order, now, changes)?;
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
        // The goods are back whatever happens to the replacement: one that can no
        // longer be priced (its product withdrawn since) leaves the credit with
        // the customer, and the receipt stands.
        match price_replacement(&order, &rma.replacement, &reads.catalogue) {
            Ok(_) => {
                let placed = place_replacement(
                    &rma,
                    &order,
                    &mut customer,
                    credit,
                    reads,
                    rules,
                    &mut backlog,
                    ctx,
                    changes,
                )?;
                let Some(replacement) = placed else {
                    return Ok(None);
                };
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
    backlog.put_into(changes);
    changes
        .puts
        .push(Put::update(rma.clone(), reads.rma.version));
    changes.puts.push(Put::update(order, version));
    changes.move_customer(&reads.customer.value, &customer)?;
    Ok(Some(Received { rma, restocked }))
}

/// What `units` more returned units of `line` cost when they shipped: the exact
/// share of the line's posted cost of goods, so returning every shipped unit, in
/// any steps, reverses it to the cent. Lines shipped before costs were recorded
/// cost what their product costs now.
///
/// # Errors
/// [`Error::NotFound`] for a line with no recorded cost whose product `products`
/// lacks; [`Error::Money`] on overflow.
pub(crate) fn returned_cost(
    line: &OrderLine,
    units: u32,
    products: &Products,
) -> Result<Money, Error> {
    let shipped = line.shipped.units();
    let Some(total) = line.shipped_cost.filter(|_| shipped > 0) else {
        let product = products
            .get(&line.sku)
            .ok_or_else(|| Error::not_found(Product::kind(), &line.sku))?;
        return Ok(product.cost.checked_mul_qty(u64::from(units))?);
    };
    let share = |n: u32| -> Result<Money, MoneyError> {
        let n = n.min(shipped);
        let weights = [
            rust_decimal::Decimal::from(n),
            rust_decimal::Decimal::from(shipped - n),
        ];
        total
            .allocate(&weights)?
            .into_iter()
            .next()
            .ok_or(MoneyError::EmptyAllocation)
    };
    let before = line.returned.units();
    Ok(share(before + units)?.checked_sub(share(before)?)?)
}
