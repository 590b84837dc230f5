//! Shipping: quote, book, and follow tracking to delivery.

use super::{Applied, Fingerprint, Oms, fingerprint};
use crate::catalog::{Product, Products};
use crate::customer::Customer;
use crate::decide::Context;
use crate::error::Error;
use crate::fulfilment::ship::Pick;
use crate::fulfilment::ship::{
    self, Tracked, best_quote, deliver, finish_shipping, plan_shipments, record_shipment, track,
};
use crate::fulfilment::{
    BookingRequest, Carrier, RateQuote, Shipment, TrackingEvent, TrackingNumber,
};
use crate::ids::{IdempotencyKey, OrderId, ShipmentId};
use crate::ledger::{InvoicePolicy, PaymentError};
use crate::money::Money;
use crate::order::{Order, OrderStatus};
use crate::payment::PaymentProvider;
use crate::stock::Location;
use crate::store::{
    Changeset, Entity, Fetched, IdempotencyScope, IdempotentOutcome, Prefetch, RecordKey, Store,
    Versioned,
};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Ships everything reserved and unshipped on an order: one shipment per location,
    /// each quoted and booked with the carrier (cheapest quote, then fastest), then
    /// committed together: stock leaves on-hand and reserved, cost of goods sold and
    /// the carrier's charge are posted, and under [`InvoicePolicy::OnShipment`] the
    /// shipped goods are invoiced.
    ///
    /// Retrying with the same `key` returns the shipments the first call made (as
    /// they are now) as a replay, rather than `NothingToShip`. Use a new key for
    /// each shipping run of an order: one that ships what arrived since is a new
    /// command.
    ///
    /// Each call books under keys of its own (order, location and a fresh id for the
    /// call), which its retries of a lost race reuse, so a retry gets the same
    /// bookings back. A call that fails for good cancels the bookings it made that
    /// no committed shipment uses; the next call never sees them, so goods never
    /// leave on a label the service cancelled, even when two calls race. A booking
    /// whose reply never arrived is not used; the carrier (or its operator) voids it.
    ///
    /// # Errors
    /// [`Error::Order`] with `OnHold` while a hold is in force (a prepaid order that is
    /// not yet paid), `NothingToShip`, or `InvalidTransition` for a cancelled or
    /// completed order; [`Error::Payment`] with `NotAuthorised` or
    /// `ExceedsAuthorisation` for an order paid through the payment provider
    /// whose authorisation cannot pay for what would ship (authorise it again
    /// first, [`Oms::authorise_order`]); [`Error::Carrier`] when no carrier can take it;
    /// [`Error::NotFound`] for an unknown order; [`Error::IdempotencyKeyReused`]
    /// for a key used for another command.
    pub async fn ship(
        &self,
        id: OrderId,
        key: IdempotencyKey,
    ) -> Result<Applied<Vec<Shipment>>, Error> {
        let scope = IdempotencyScope::Ship;
        let print = fingerprint(&id)?;
        let mut booked = Vec::new();
        let call = self.new_id(|uuid| uuid);
        let shipped = super::retrying!(
            self,
            "ship",
            key = &key,
            id = &id,
            self.try_ship(id, call, &mut booked, &key, &print).await,
            twin = self.twin_all::<Shipment>(scope, &key, &print)
        );
        // A call that failed, or that a twin with its key beat to the commit (it
        // answers with the twin's shipments), leaves the bookings it made unused.
        if shipped.as_ref().map_or(true, |applied| applied.replayed) {
            self.cancel_uncommitted(id, &booked).await;
        }
        if shipped.is_ok() && self.has_provider() {
            // The captures this shipment recorded; any the provider does not
            // answer now stay open for `run_due`, so shipping has succeeded.
            let _captured = self.settle_payments(id).await;
        }
        shipped
    }

    /// After a `ship` that failed for good (the order was cancelled or held while we
    /// booked, say) or lost to a twin with its key, cancels the bookings it made that
    /// no committed shipment uses, so
    /// the carrier does not collect goods that never left. Best effort: a carrier that
    /// fails to cancel leaves a booking its operator must void by hand.
    async fn cancel_uncommitted(&self, id: OrderId, booked: &[Booked]) {
        if booked.is_empty() {
            return;
        }
        let mut committed = Vec::new();
        if let Ok(order) = self.order(id).await {
            for shipment in order.shipments {
                if let Ok(s) = self.shipment(shipment).await {
                    committed.push(s.booking_key);
                }
            }
        }
        for b in booked.iter().filter(|b| !committed.contains(&b.key)) {
            // Nothing more to do if this fails: the command's own error is what the
            // caller needs to see.
            let _cancelled = self.carrier.cancel(&b.tracking).await;
        }
    }

    async fn try_ship(
        &self,
        id: OrderId,
        call: uuid::Uuid,
        booked: &mut Vec<Booked>,
        key: &IdempotencyKey,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<Vec<Shipment>>, Error> {
        // One read: the key, the order, and the products, locations and (when
        // invoicing on shipment) the customer it names.
        let scope = IdempotencyScope::Ship;
        // An order paid through the provider is invoiced as it ships too.
        let on_shipment =
            self.config.invoice_policy == InvoicePolicy::OnShipment || self.has_provider();
        let kinds: &[&'static str] = match on_shipment {
            true => &[Product::kind(), Location::kind(), Customer::kind()],
            false => &[Product::kind(), Location::kind()],
        };
        let request = Prefetch::new().key(scope, key).follow::<Order>(&id, kinds);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(fetched.idempotency.as_ref(), scope, key, print)? {
            return self.replayed_all(&outcome).await;
        }
        // The order changes, so it is taken; the sites and products are only
        // read, so they are lent, as they come (each was named once).
        let stored = super::found::<Order>(&mut fetched, &id)?;
        let mut order = stored.value;
        let sites: Vec<&Location> = fetched.lend_each().map(|site| site.value).collect();
        let mut changes = Changeset::new(self.now());
        let products = products_at_cost(fetched.lend_each(), order.lines.len(), &mut changes);
        let (picks, status) =
            plan_shipments(&order, &sites, &products, self.config.freight.as_ref())?;
        let mut quotes = Vec::with_capacity(picks.len());
        for pick in &picks {
            let offered = self.carrier.quote(&pick.request).await?;
            quotes.push(best_quote(offered, &pick.request, self.carrier.name())?);
        }

        let ctx = self.context(changes.at);
        let mut shipments = Vec::with_capacity(picks.len());
        for (pick, quote) in picks.iter().zip(quotes) {
            // The freight half of a split location books under a key of its own,
            // marked after the call's fresh id (a location's code may hold '/').
            let key = match pick.split_freight {
                false => format!("{}/{}/{call}", order.id, pick.location.id),
                true => format!("{}/{}/{call}/freight", order.id, pick.location.id),
            };
            // A retry books with the same key and gets the same booking back, so it
            // must also reuse the shipment id and the quote that booking was made
            // for (quoting again may offer another service by now).
            let (shipment, quote) = match booked.iter().find(|b| b.key == key) {
                Some(b) => (b.shipment, b.quote.clone()),
                None => (self.new_id(ShipmentId::from_uuid), quote),
            };
            let booking = self
                .carrier
                .book(&BookingRequest {
                    key: key.clone(),
                    shipment,
                    quote: quote.clone(),
                    request: pick.request.clone(),
                })
                .await?;
            if !booked.iter().any(|b| b.key == key) {
                booked.push(Booked {
                    key: key.clone(),
                    shipment,
                    tracking: booking.tracking.clone(),
                    quote: quote.clone(),
                });
            }
            let booked = ship::Booked {
                pick,
                quote,
                booking,
                shipment,
                key,
            };
            shipments.push(record_shipment(&mut order, booked, &ctx, &mut changes)?);
        }
        self.invoice_shipped(
            &mut order,
            status,
            &picks,
            &fetched,
            true,
            &ctx,
            &mut changes,
        )?;
        changes.update(order, stored.version);
        // Let go of what was read before committing: a record no reader holds
        // is written over where it lies.
        drop(fetched);
        let outcome = IdempotentOutcome::Shipments(shipments.iter().map(|s| s.id).collect());
        self.commit_keyed(changes, scope, key, print, outcome)
            .await?;
        Ok(Applied::fresh(shipments))
    }

    /// Records a tracking event reported by the carrier (a webhook, say). Duplicates
    /// and out-of-order events are absorbed; delivery of the last shipment of a paid
    /// order completes it.
    ///
    /// The event is its own key: recording one the shipment already has changes
    /// nothing and says so ([`Applied::replayed`]), so a webhook delivered twice is
    /// safe to take twice.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown shipment.
    pub async fn record_tracking(
        &self,
        shipment: ShipmentId,
        event: TrackingEvent,
    ) -> Result<Applied<Shipment>, Error> {
        super::retrying!(
            self,
            "record_tracking",
            id = &shipment,
            self.try_record_tracking(shipment, std::slice::from_ref(&event))
                .await
        )
    }

    /// Asks the carrier for the shipment's tracking events and records them.
    ///
    /// Safe to repeat: what the shipment already has is absorbed, and a refresh
    /// that brought nothing new says so ([`Applied::replayed`]).
    ///
    /// # Errors
    /// [`Error::Carrier`] if the carrier fails; [`Error::NotFound`].
    pub async fn refresh_tracking(&self, shipment: ShipmentId) -> Result<Applied<Shipment>, Error> {
        super::retrying!(self, "refresh_tracking", id = &shipment, {
            let tracking = self.must::<Shipment>(&shipment).await?.value.tracking;
            let events = self.carrier.track(&tracking).await?;
            self.try_record_tracking(shipment, &events).await
        })
    }

    async fn try_record_tracking(
        &self,
        id: ShipmentId,
        events: &[TrackingEvent],
    ) -> Result<Applied<Shipment>, Error> {
        // One read: the shipment and the order it delivers to.
        let request = Prefetch::new().follow::<Shipment>(&id, &[Order::kind()]);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        let stored = super::found::<Shipment>(&mut fetched, &id)?;
        let mut shipment = stored.value;
        let mut changes = Changeset::new(self.now());
        match track(&mut shipment, events, &mut changes) {
            Tracked::Unchanged => return Ok(Applied::replay(shipment)),
            Tracked::Moved => {}
            Tracked::Delivered => {
                let stored_order = super::found::<Order>(&mut fetched, &shipment.order)
                    .map_err(Error::into_dangling)?;
                let mut order = stored_order.value;
                deliver(&mut order, &shipment, changes.at, &mut changes)?;
                changes.update(order, stored_order.version);
            }
        }
        changes.update(shipment.clone(), stored.version);
        super::trace::store("commit", self.store.commit(changes)).await?;
        Ok(Applied::fresh(shipment))
    }

    /// A shipment.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn shipment(&self, id: ShipmentId) -> Result<Shipment, Error> {
        Ok(self.must::<Shipment>(&id).await?.value)
    }
}

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// After the picks are recorded: the order moves to `status` and, when
    /// invoicing on shipment or for an order paid through the payment provider,
    /// what shipped is invoiced to its customer (read in `fetched`) — and, for
    /// the latter, a capture of that invoice is recorded against the order's
    /// authorisation, to be sent once this commits ([`Oms::settle_payments`]).
    /// The customer's figures move by a merge: what was read is only compared
    /// with what the invoice makes of them, so it is lent. With `refuse_unpaid`
    /// (goods still on our shelves), a shipment its authorisation cannot pay
    /// for is refused; without (a warehouse reports goods already gone), it is
    /// recorded and the order held.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn invoice_shipped(
        &self,
        order: &mut Order,
        status: OrderStatus,
        picks: &[Pick<'_>],
        fetched: &Fetched,
        refuse_unpaid: bool,
        ctx: &Context<'_>,
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        let bills =
            self.config.invoice_policy == InvoicePolicy::OnShipment || order.through_provider;
        let customer = match bills {
            true => Some(
                super::lent::<Customer>(fetched, &order.customer).map_err(Error::into_dangling)?,
            ),
            false => None,
        };
        let mut buyer = customer.cloned();
        let invoice = finish_shipping(order, status, picks, buyer.as_mut(), ctx, changes)?;
        if let (Some(before), Some(after)) = (customer, &buyer) {
            changes.move_customer(before, after)?;
        }
        if let Some(invoice) = invoice.filter(|_| order.through_provider) {
            let total = invoice.total()?;
            let available = match crate::payment::active(order) {
                Some(auth) => auth.available()?,
                None => Money::zero(order.currency),
            };
            if refuse_unpaid && !available.is_positive() && total.is_positive() {
                return Err(PaymentError::NotAuthorised(order.id).into());
            }
            if refuse_unpaid && total.cmp_amount(available)?.is_gt() {
                return Err(PaymentError::ExceedsAuthorisation {
                    available,
                    requested: total,
                }
                .into());
            }
            let key = format!("{}/capture/{}", order.id, invoice.id);
            crate::payment::request_capture(order, invoice.id, total, key, changes)?;
            // Goods a warehouse already shipped are recorded whatever the card
            // says: what the authorisation could not cover stays owed, and the
            // order is held until the card is authorised again.
            let short = total.cmp_amount(available)?.is_gt();
            if short && matches!(order.status, OrderStatus::Open | OrderStatus::OnHold) {
                crate::order::place_hold(order, crate::order::Hold::PaymentDeclined, changes)?;
            }
        }
        Ok(())
    }
}

/// The products a shipping command read, lent, each checked at commit: cost of
/// goods is posted at this cost, so a cost change committing first must send the
/// command back.
pub(super) fn products_at_cost<'f>(
    lent: impl IntoIterator<Item = Versioned<&'f Product>>,
    lines: usize,
    changes: &mut Changeset,
) -> Products<'f> {
    let mut products = Products::with_capacity(lines);
    changes.checks.reserve(lines);
    for product in lent {
        changes.check_version(
            RecordKey::Product(product.value.sku.clone()),
            product.version,
        );
        products.lend(product.value);
    }
    products
}

/// A booking made by one `ship` call, remembered across its retries.
#[derive(Debug)]
struct Booked {
    key: String,
    shipment: ShipmentId,
    tracking: TrackingNumber,
    /// The quote it was booked on: a retry records the shipment on it, whatever
    /// quoting again offers now.
    quote: RateQuote,
}
