//! `run_due`: the time-driven steps, each found by the store's due-work index.

use crate::payment::PaymentProvider;
use chrono::{DateTime, Duration, Utc};

use super::{Applied, Oms, fingerprint};
use crate::automation::{DueReport, days_overdue, remind};
use crate::customer::Customer;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{IdempotencyKey, InvoiceId, OrderId, PurchaseOrderId};
use crate::ledger::{Invoice, InvoiceStatus};
use crate::order::settle::lift_hold;
use crate::order::{Hold, Order, OrderStatus};
use crate::purchasing::PurchaseOrder;
use crate::store::{
    Changeset, DueCursor, DueKind, DueWork, Entity, IdempotencyScope, Prefetch, Record, RecordKey,
    Store,
};

/// A key `run_due` takes for one action on one record: the same for every
/// instance that finds the same work, so the action is taken once (a digest of
/// it when it is too long for a key).
fn action_key(action: &str, record: impl std::fmt::Display) -> Result<IdempotencyKey, Error> {
    let text = format!("run-due/{action}/{record}");
    Ok(IdempotencyKey::new(text.as_str()).or_else(|_| {
        IdempotencyKey::new(format!(
            "run-due/{action}/{:016x}",
            crate::fingerprint::fnv1a(text.as_bytes())
        ))
    })?)
}

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Runs the time-driven steps of [`OmsConfig::automation`](crate::OmsConfig::automation)
    /// that are due at `now`, for a host to call from its scheduler (every few
    /// minutes, say). Each step finds its work through the store's due-work
    /// index ([`Store::due`]), earliest first, in batches of at most
    /// [`AutomationPolicy::batch`](crate::AutomationPolicy::batch) records —
    /// never by reading every order — and each action is an event:
    /// - an order still held awaiting prepayment
    ///   [`cancel_unpaid_after`](crate::AutomationPolicy::cancel_unpaid_after)
    ///   its placement is cancelled (its stock going to waiting back-orders
    ///   first): `OrderCancelled`;
    /// - an open invoice past due by a reminder level gets that level's
    ///   reminder, each level once per invoice however often this runs (a call
    ///   that missed a level sends the highest reached): `PaymentReminder`; at
    ///   [`hold_at_reminder`](crate::AutomationPolicy::hold_at_reminder) its
    ///   customer is marked overdue and their orders with something left to
    ///   ship are held [`Hold::Overdue`] (as are the orders they place until
    ///   then): `CustomerOverdue`, `OrderHeld`;
    /// - holds whose cause has gone are released: a credit-limit hold once the
    ///   customer is back within the limit, an overdue hold once no invoice of
    ///   the customer at that level is left open (the customer's mark cleared
    ///   with it): `HoldReleased`, `CustomerOverdueCleared`;
    /// - a sent purchase order not received the day after it was expected is
    ///   expected some days out, and its waiting lines re-promised:
    ///   `PurchaseOrderLate`, and `PromiseDateChanged` for each line whose
    ///   date moves;
    /// - with [`replenish_to`](crate::AutomationPolicy::replenish_to),
    ///   replenishment raises what back-orders and reorder points call for:
    ///   `PurchaseOrderRaised`;
    /// - with a payment provider and
    ///   [`card_payments`](crate::AutomationPolicy::card_payments), card
    ///   requests whose reply was lost are resolved by asking the provider
    ///   (`PaymentRecorded`, `CaptureFailed`, `RefundFailed`), what finished
    ///   orders still hold is voided, and lapsed authorisations are renewed or
    ///   their orders held (`AuthorisationReleased`, `PaymentAuthorised`,
    ///   `OrderHeld`).
    ///
    /// Instances calling it at the same time take each action once: every
    /// action is a keyed command or a versioned change of the one record it
    /// concerns, and an instance that finds another's key used counts it in
    /// [`DueReport::taken_by_others`]. `now` decides what is due; the records
    /// are stamped with the service's clock, as every command's are. An action
    /// refused for good (an order that can no longer be cancelled) is left and
    /// the rest go on; an outage ends the call with its error, and the next call
    /// takes up what is left.
    ///
    /// # Errors
    /// [`Error::Read`] or [`Error::Store`] when the store fails;
    /// [`Error::Contention`] when a record kept changing under an action.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<DueReport, Error> {
        let policy = self.config.automation.clone();
        let mut report = DueReport::default();
        // A delay reaching past the calendar's start cancels nothing.
        let cutoff = policy
            .cancel_unpaid_after
            .and_then(|after| Some((after, now.checked_sub_signed(after)?)));
        if let Some((after, cutoff)) = cutoff {
            let mut pages = Pages::new(DueKind::AwaitingPayment, cutoff);
            while let Some(work) = self.next_page(&mut pages, &mut report).await? {
                for order in orders_of(&work) {
                    let done = self
                        .cancel_unpaid(order, cutoff, after, &mut report)
                        .await?;
                    pages.acted(done);
                }
            }
        }
        // Days past due at which an invoice holds its customer's orders.
        let hold_days = policy
            .hold_at_reminder
            .and_then(|level| policy.reminder_days.get(usize::from(level).checked_sub(1)?))
            .map(|days| i64::from(*days));
        if !policy.reminder_days.is_empty() {
            let mut pages = Pages::new(DueKind::Reminder, now);
            while let Some(work) = self.next_page(&mut pages, &mut report).await? {
                for work in &work {
                    let Record::Invoice(invoice) = &work.record.value else {
                        continue;
                    };
                    // The customer is held before the reminder that holds them is
                    // recorded: a call that fails between the two holds again
                    // (each hold keyed) when the reminder is retried.
                    if hold_days.is_some_and(|days| days_overdue(invoice, now) >= days) {
                        self.hold_overdue(invoice, &mut report).await?;
                    }
                    let sent = self.remind(invoice.id, &policy.reminder_days, now).await?;
                    if let Some(level) = sent {
                        report.reminded.push((invoice.id, level));
                    }
                    pages.acted(sent.is_some());
                }
            }
        }
        if policy.release_holds {
            let mut pages = Pages::new(DueKind::CreditHold, now);
            while let Some(work) = self.next_page(&mut pages, &mut report).await? {
                for order in orders_of(&work) {
                    let released = self.release_credit_hold(order).await?;
                    if released {
                        report.released.push(order);
                    }
                    pages.acted(released);
                }
            }
            let mut pages = Pages::new(DueKind::OverdueHold, now);
            while let Some(work) = self.next_page(&mut pages, &mut report).await? {
                for order in orders_of(&work) {
                    let released = self.release_overdue_hold(order, hold_days, now).await?;
                    if released {
                        report.released.push(order);
                    }
                    pages.acted(released);
                }
            }
        }
        if let Some(days) = policy.late_delivery_slip_days {
            let to = now.date_naive() + Duration::days(i64::from(days));
            let mut pages = Pages::new(DueKind::Delivery, now);
            while let Some(work) = self.next_page(&mut pages, &mut report).await? {
                for work in &work {
                    if let Record::PurchaseOrder(po) = &work.record.value {
                        let done = self.slip(po, to, &mut report).await?;
                        pages.acted(done);
                    }
                }
            }
        }
        if let Some(ship_to) = &policy.replenish_to {
            // One run an hour per location: instances calling in the same hour
            // share it, and the keys kept stay few.
            let hour = now.timestamp().div_euclid(3600);
            let key = action_key("replenish", format_args!("{ship_to}/{hour}"))?;
            match self.replenish(ship_to, key).await {
                Ok(raised) if raised.replayed => report.taken_by_others += 1,
                Ok(raised) => report
                    .raised
                    .extend(raised.value.iter().map(|po: &PurchaseOrder| po.id)),
                Err(e) if is_outage(&e) => return Err(e),
                // A SKU with no valid offer, say: left for a buyer.
                Err(_) => report.refused += 1,
            }
        }
        if policy.card_payments && self.has_provider() {
            let mut pages = Pages::new(DueKind::Payment, now);
            while let Some(work) = self.next_page(&mut pages, &mut report).await? {
                for order in orders_of(&work) {
                    let acted = match self.due_payment(order, now, &mut report).await {
                        Ok(acted) => acted,
                        Err(e) if is_outage(&e) => return Err(e),
                        Err(_) => {
                            report.refused += 1;
                            false
                        }
                    };
                    pages.acted(acted);
                }
            }
        }
        Ok(report)
    }

    /// The next page of `pages`' due work, or `None` once it is read to the end
    /// or a batch of actions is taken (then `report` says there is more).
    async fn next_page(
        &self,
        pages: &mut Pages,
        report: &mut DueReport,
    ) -> Result<Option<Vec<DueWork>>, Error> {
        let batch = self.config.automation.batch;
        if pages.done {
            return Ok(None);
        }
        if pages.actions >= batch {
            report.more = true;
            return Ok(None);
        }
        // No more records than actions left to take, so a call never takes
        // more than a batch of them.
        let wanted = batch - pages.actions;
        let work = super::trace::store(
            "due",
            self.store
                .due(pages.kind, pages.until, pages.after.as_ref(), wanted),
        )
        .await?;
        // Work left as it was (a customer still over their limit) is passed
        // over, not read again: the next page starts after this one.
        pages.done = work.len() < wanted;
        pages.after = work.last().map(DueWork::cursor);
        Ok((!work.is_empty()).then_some(work))
    }

    /// Cancels `order` if it still awaits prepayment and was placed by `cutoff`.
    async fn cancel_unpaid(
        &self,
        id: OrderId,
        cutoff: DateTime<Utc>,
        after: Duration,
        report: &mut DueReport,
    ) -> Result<bool, Error> {
        let key = action_key("cancel", id)?;
        let reason = match after.num_days() {
            0 => format!("not paid within {} hours", after.num_hours()),
            days => format!("not paid within {days} days"),
        };
        let command = (id, reason.as_str());
        let print = fingerprint(&command)?;
        let scope = IdempotencyScope::CancelOrder;
        let cancelled = super::retrying!(
            self,
            "cancel_unpaid",
            key = &key,
            id = &id,
            self.try_cancel_order(id, &reason, &key, &print, Some(cutoff))
                .await,
            twin = self.twin::<Order>(scope, &key, &print)
        );
        match cancelled {
            Ok(Applied {
                replayed: false, ..
            }) => {
                report.cancelled.push(id);
                Ok(true)
            }
            Ok(order) if order.value.status == OrderStatus::Cancelled => {
                report.taken_by_others += 1;
                Ok(false)
            }
            // Paid meanwhile: no longer due.
            Ok(_) => Ok(false),
            Err(e) if is_outage(&e) => Err(e),
            // Refused for good (its units are at a third-party warehouse, say):
            // left for a person.
            Err(_) => {
                report.refused += 1;
                Ok(false)
            }
        }
    }

    /// Sends `invoice` the reminder it is due at `now`, if any; moves its next
    /// look on either way. Returns the level sent.
    async fn remind(
        &self,
        id: InvoiceId,
        levels: &[u16],
        now: DateTime<Utc>,
    ) -> Result<Option<u8>, Error> {
        super::retrying!(self, "remind", id = &id, {
            let request = Prefetch::new().record::<Invoice>(&id);
            let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
            let Some(stored) = fetched.take::<Invoice>(&id) else {
                return Ok(None);
            };
            let mut invoice = stored.value;
            if invoice.status != InvoiceStatus::Open {
                return Ok(None);
            }
            let before = (invoice.reminders, invoice.next_reminder_at);
            let mut changes = Changeset::new(self.now());
            let sent = remind(&mut invoice, levels, now, &mut changes)?;
            if (invoice.reminders, invoice.next_reminder_at) != before {
                // A second instance that read the same version conflicts here,
                // reads the reminder this one sent, and sends none.
                changes.update(invoice, stored.version);
                super::trace::store("commit", self.store.commit(changes)).await?;
            }
            Ok::<_, Error>(sent)
        })
    }

    /// Releases `order`'s credit-limit hold if its customer is within their
    /// limit now. Returns whether it did.
    async fn release_credit_hold(&self, id: OrderId) -> Result<bool, Error> {
        super::retrying!(self, "release_credit_hold", id = &id, {
            let request = Prefetch::new().follow::<Order>(&id, &[Customer::kind()]);
            let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
            let Some(stored) = fetched.take::<Order>(&id) else {
                return Ok(false);
            };
            let mut order = stored.value;
            if !order.holds.contains(&Hold::CreditLimit) {
                return Ok(false);
            }
            let customer =
                super::lent::<Customer>(&fetched, &order.customer).map_err(Error::into_dangling)?;
            if customer.over_credit_limit()? {
                return Ok(false);
            }
            let mut changes = Changeset::new(self.now());
            lift_hold(&mut order, Hold::CreditLimit, changes.at, &mut changes)?;
            // Decided on the customer's figures as read: an order placed or
            // amended meanwhile moves them, and this commit conflicts.
            let version = fetched
                .lend::<Customer>(&order.customer)
                .map_or(0, |c| c.version);
            changes.check_version(RecordKey::Customer(order.customer), version);
            changes.update(order, stored.version);
            drop(fetched);
            super::trace::store("commit", self.store.commit(changes)).await?;
            Ok::<_, Error>(true)
        })
    }

    /// `invoice` passed the reminder level that stops shipping: its customer is
    /// marked overdue (what they order next is held), and each of their orders
    /// with something left to ship is held.
    async fn hold_overdue(&self, invoice: &Invoice, report: &mut DueReport) -> Result<(), Error> {
        let customer = invoice.customer;
        super::retrying!(self, "mark_overdue", id = &customer, {
            let request = Prefetch::new().record::<Customer>(&customer);
            let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
            let stored =
                super::found::<Customer>(&mut fetched, &customer).map_err(Error::into_dangling)?;
            if stored.value.overdue_since.is_some() {
                return Ok(());
            }
            let mut marked = stored.value;
            let mut changes = Changeset::new(self.now());
            marked.overdue_since = Some(changes.at);
            changes.events.push(crate::event::Event::CustomerOverdue {
                customer,
                invoice: invoice.id,
            });
            changes.update(marked, stored.version);
            super::trace::store("commit", self.store.commit(changes)).await?;
            Ok::<_, Error>(())
        })?;
        for order in self.customer_orders(customer).await? {
            let shipping = order
                .lines
                .iter()
                .any(|l| !l.reservations.is_empty() || !l.backordered.is_zero());
            if !shipping
                || order.holds.contains(&Hold::Overdue)
                || !matches!(order.status, OrderStatus::Open | OrderStatus::OnHold)
            {
                continue;
            }
            let key = action_key("overdue", format_args!("{}/{}", order.id, invoice.number))?;
            match self.hold_order(order.id, Hold::Overdue, key).await {
                Ok(held) if !held.replayed => report.held.push(order.id),
                Ok(_) => report.taken_by_others += 1,
                Err(e) if is_outage(&e) => return Err(e),
                // Shipped, completed or cancelled meanwhile.
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Releases `order`'s overdue hold if its customer has no open invoice
    /// `hold_days` or more past due at `now` (none does without a hold level);
    /// clears the customer's mark with it. Returns whether it did.
    async fn release_overdue_hold(
        &self,
        id: OrderId,
        hold_days: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        super::retrying!(self, "release_overdue_hold", id = &id, {
            let request = Prefetch::new().follow::<Order>(&id, &[Customer::kind()]);
            let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
            let Some(stored) = fetched.take::<Order>(&id) else {
                return Ok(false);
            };
            let mut order = stored.value;
            if !order.holds.contains(&Hold::Overdue) {
                return Ok(false);
            }
            let customer = super::found::<Customer>(&mut fetched, &order.customer)
                .map_err(Error::into_dangling)?;
            if let Some(days) = hold_days
                && self.still_overdue(customer.value.id, days, now).await?
            {
                return Ok(false);
            }
            let mut changes = Changeset::new(self.now());
            lift_hold(&mut order, Hold::Overdue, changes.at, &mut changes)?;
            // Decided on the customer's invoices as read: marking the customer
            // overdue again meanwhile moves its record, and this commit conflicts.
            match customer.value.overdue_since {
                Some(_) => {
                    let mut cleared = customer.value;
                    cleared.overdue_since = None;
                    changes
                        .events
                        .push(crate::event::Event::CustomerOverdueCleared {
                            customer: cleared.id,
                        });
                    changes.update(cleared, customer.version);
                }
                None => {
                    changes.check_version(RecordKey::Customer(customer.value.id), customer.version)
                }
            }
            changes.update(order, stored.version);
            super::trace::store("commit", self.store.commit(changes)).await?;
            Ok::<_, Error>(true)
        })
    }

    /// Whether `customer` has an open invoice `days` or more past due at `now`
    /// (by the clock, not by the reminders recorded, so a reminder not yet
    /// committed counts): read through their orders (the customer's own index),
    /// never every invoice.
    async fn still_overdue(
        &self,
        customer: crate::ids::CustomerId,
        days: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let invoices: Vec<InvoiceId> = self
            .customer_orders(customer)
            .await?
            .into_iter()
            .flat_map(|o| o.invoices)
            .collect();
        let invoices =
            super::trace::store("load_many", self.store.load_many::<Invoice>(&invoices)).await?;
        Ok(invoices
            .into_iter()
            .flatten()
            .any(|i| i.value.status == InvoiceStatus::Open && days_overdue(&i.value, now) >= days))
    }

    /// Expects the late purchase order `po` on `to`, once per day it was due.
    async fn slip(
        &self,
        po: &PurchaseOrder,
        to: chrono::NaiveDate,
        report: &mut DueReport,
    ) -> Result<bool, Error> {
        let id: PurchaseOrderId = po.id;
        let key = action_key("late", format_args!("{id}/{}", po.expected_on))?;
        match self.reschedule_purchase_order(id, to, key).await {
            Ok(done) if done.replayed => {
                report.taken_by_others += 1;
                Ok(false)
            }
            Ok(_) => {
                report.rescheduled.push(id);
                Ok(true)
            }
            Err(e) if is_outage(&e) => Err(e),
            // Received or closed meanwhile, or expected on that day already.
            Err(_) => Ok(false),
        }
    }
}

/// Where `run_due` is in one kind of due work.
struct Pages {
    kind: DueKind,
    /// Seconds since the Unix epoch: what is due by then.
    until: i64,
    after: Option<DueCursor>,
    /// Actions taken (work passed over does not count).
    actions: usize,
    /// The last page was short: nothing more is due.
    done: bool,
}

impl Pages {
    fn new(kind: DueKind, until: DateTime<Utc>) -> Self {
        Self {
            kind,
            until: until.timestamp(),
            after: None,
            actions: 0,
            done: false,
        }
    }

    fn acted(&mut self, done: bool) {
        self.actions += usize::from(done);
    }
}

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Resolves an order's card payment that fell due: its requests whose
    /// answer was lost, or else its authorisation, lapsed by `now`. True if
    /// something was done.
    async fn due_payment(
        &self,
        id: OrderId,
        now: DateTime<Utc>,
        report: &mut DueReport,
    ) -> Result<bool, Error> {
        let order = self.order(id).await?;
        let finished = crate::payment::nothing_left_to_ship(&order)
            || order.status == crate::order::OrderStatus::Cancelled;
        if crate::payment::open_requests(&order).next().is_some()
            || (finished && crate::payment::active(&order).is_some())
        {
            let settled = self.settle_payments(id).await?;
            let answered = usize::try_from(settled.answered).unwrap_or(usize::MAX);
            report.payments_resolved = report.payments_resolved.saturating_add(answered);
            return Ok(answered > 0);
        }
        // Lapsed by the provider's clock, which runs with ours: a call looking
        // ahead renews nothing early.
        let lapsed = crate::payment::active(&order)
            .filter(|a| a.expires_at <= now && a.expires_at <= self.now());
        if let Some(auth) = lapsed
            && self.lapse(id, &auth.id).await?
        {
            report.authorisations_lapsed.push(id);
            return Ok(true);
        }
        Ok(false)
    }
}

/// Whether `e` ends the run: the store failing, or a race lost too often —
/// anything else refuses one action for good, and the run goes on.
fn is_outage(e: &Error) -> bool {
    e.is_retryable() || matches!(e, Error::Read(_) | Error::Store(_))
}

/// The orders among `work`.
fn orders_of(work: &[DueWork]) -> Vec<OrderId> {
    work.iter()
        .filter_map(|w| match &w.record.value {
            Record::Order(o) => Some(o.id),
            _ => None,
        })
        .collect()
}
