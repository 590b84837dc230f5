//! Shipping: quote, book, and follow tracking to delivery.

use std::collections::BTreeMap;

use super::{Oms, Products};
use crate::catalog::Product;
use crate::customer::{Address, Customer};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::{
    BookingRequest, Carrier, CarrierError, Parcel, RateQuote, RateRequest, RequestedService,
    Shipment, ShipmentLine, ShipmentStatus, TrackingEvent, TrackingNumber,
};
use crate::ids::{EntryId, LocationId, OrderId, ShipmentId};
use crate::ledger::InvoicePolicy;
use crate::money::Money;
use crate::order::settle::complete_if_done;
use crate::order::{Delivery, Order, OrderAction, OrderError, transition};
use crate::purchasing::BackOrderPolicy;
use crate::quantity::Quantity;
use crate::stock::{Location, MovementReason, ReservationChange, StockMovement};
use crate::store::{Changeset, Check, Fetched, Prefetch, Put, RecordKey, Store};

/// One location's part of a shipment being prepared.
struct Pick {
    location: Location,
    /// (line index, units)
    lines: Vec<(usize, Quantity)>,
}

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Ships everything reserved and unshipped on an order: one shipment per location,
    /// each quoted and booked with the carrier (cheapest quote, then fastest), then
    /// committed together: stock leaves on-hand and reserved, cost of goods sold and
    /// the carrier's charge are posted, and under [`InvoicePolicy::OnShipment`] the
    /// shipped goods are invoiced.
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
    /// completed order; [`Error::Carrier`] when no carrier can take it;
    /// [`Error::NotFound`] for an unknown order.
    pub async fn ship(&self, id: OrderId) -> Result<Vec<Shipment>, Error> {
        let mut booked = Vec::new();
        let call = self.new_id(|uuid| uuid);
        let shipped = super::retrying!(self, self.try_ship(id, call, &mut booked).await);
        if shipped.is_err() {
            self.cancel_uncommitted(id, &booked).await;
        }
        shipped
    }

    /// After a `ship` that failed for good (the order was cancelled or held while we
    /// booked, say), cancels the bookings it made that no committed shipment uses, so
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
    ) -> Result<Vec<Shipment>, Error> {
        let stored = self.must::<Order>(&id).await?;
        let mut order = stored.value;
        order.ensure_not_held()?;
        let status = transition(order.status, OrderAction::Ship)?;
        if order.back_order == BackOrderPolicy::BackOrder && order.backordered_units() > 0 {
            return Err(OrderError::AwaitingBackOrder {
                units: order.backordered_units(),
            }
            .into());
        }
        // The one read that depends on another: everything the order names.
        let on_shipment = self.config.invoice_policy == InvoicePolicy::OnShipment;
        let mut request = Prefetch::new();
        for line in &order.lines {
            request = request.record::<Product>(&line.sku);
            for r in &line.reservations {
                request = request.record::<Location>(&r.location);
            }
        }
        if on_shipment {
            request = request.record::<Customer>(&order.customer);
        }
        let mut fetched = self.store.fetch(&request).await?;
        let picks = picks(&order, &mut fetched)?;
        if picks.is_empty() {
            return Err(OrderError::NothingToShip.into());
        }
        let mut products = Products::default();
        let mut checks = Vec::new();
        for line in &order.lines {
            if !products.contains_key(&line.sku) {
                let stored = super::found::<Product>(&mut fetched, &line.sku)?;
                // Cost of goods is posted at this cost: a cost change committing
                // first must send us back.
                checks.push(Check::Version {
                    key: RecordKey::Product(line.sku.clone()),
                    version: stored.version,
                });
                products.insert(line.sku.clone(), stored.value);
            }
        }

        // Everything that can fail is decided before the first booking, so a refusal
        // never leaves a carrier holding a booking for goods that will not ship.
        let mut plans = Vec::with_capacity(picks.len());
        for pick in &picks {
            let request = rate_request(&order, pick, &products);
            let quote = self.best_quote(&request).await?;
            let cost_of_goods = cost_of_goods(&order, pick, &products)?;
            let key = format!("{}/{}/{call}", order.id, pick.location.id);
            plans.push((pick, request, quote, cost_of_goods, key));
        }

        let now = self.now();
        let mut changes = Changeset::new(now);
        changes.checks = checks;
        let mut shipments = Vec::new();
        let mut shipped_portions = Vec::new();
        for (pick, request, quote, cost_of_goods, key) in plans {
            // A retry books with the same key and gets the same booking back, so it
            // must also reuse the shipment id that booking was made for.
            let shipment_id = match booked.iter().find(|b| b.key == key) {
                Some(b) => b.shipment,
                None => self.new_id(ShipmentId::from_uuid),
            };
            let booking = self
                .carrier
                .book(&BookingRequest {
                    key: key.clone(),
                    shipment: shipment_id,
                    quote: quote.clone(),
                    request,
                })
                .await?;
            if !booked.iter().any(|b| b.key == key) {
                booked.push(Booked {
                    key: key.clone(),
                    shipment: shipment_id,
                    tracking: booking.tracking.clone(),
                });
            }

            let mut lines = Vec::new();
            for (index, units) in &pick.lines {
                let Some(line) = order.lines.get_mut(*index) else {
                    continue;
                };
                take_reservation(line, &pick.location.id, *units);
                line.shipped =
                    line.shipped
                        .checked_add(*units)
                        .ok_or(OrderError::UnitsOverflow {
                            line: line.line_no,
                            what: "shipped",
                        })?;
                // Remembered for returns: cost of goods is reversed at what it was.
                if let Some(product) = products.get(&line.sku) {
                    let cost = product.cost.checked_mul_qty(u64::from(units.units()))?;
                    line.shipped_cost = Some(match line.shipped_cost {
                        Some(before) => before.checked_add(cost)?,
                        None => cost,
                    });
                }
                changes.movements.push(StockMovement {
                    sku: line.sku.clone(),
                    location: pick.location.id.clone(),
                    quantity: -units.as_i64(),
                    reason: MovementReason::Shipment {
                        shipment: shipment_id,
                    },
                    at: now,
                    value: None,
                });
                changes.reservations.push(ReservationChange {
                    sku: line.sku.clone(),
                    location: pick.location.id.clone(),
                    order: id,
                    quantity: -units.as_i64(),
                });
                lines.push(ShipmentLine {
                    line_no: line.line_no,
                    sku: line.sku.clone(),
                    quantity: *units,
                });
                shipped_portions.push((*index, *units));
            }
            changes.journal.extend(self.postings().shipment(
                shipment_id,
                cost_of_goods,
                booking.price,
                self.new_id(EntryId::from_uuid),
                now,
            )?);
            let shipment = Shipment {
                id: shipment_id,
                order: id,
                location: pick.location.id.clone(),
                lines,
                carrier: quote.carrier,
                service: quote.service,
                tracking: booking.tracking,
                label: booking.label,
                carrier_charge: booking.price,
                cost_of_goods,
                status: ShipmentStatus::Booked,
                tracking_events: Vec::new(),
                booked_at: now,
                delivered_at: None,
                booking_key: key,
            };
            changes.events.push(Event::ShipmentBooked {
                shipment: shipment_id,
                order: id,
                location: shipment.location.clone(),
                carrier: shipment.carrier.clone(),
                tracking: shipment.tracking.clone(),
            });
            order.shipments.push(shipment_id);
            changes.puts.push(Put::insert(shipment.clone()));
            shipments.push(shipment);
        }
        order.status = status;

        if on_shipment {
            let customer = super::found::<Customer>(&mut fetched, &order.customer)?;
            let mut buyer = customer.value.clone();
            let with_shipping = order.shipping_unbilled();
            let issued = crate::ledger::issue_invoice(
                &mut order,
                &mut buyer,
                &shipped_portions,
                with_shipping,
                &self.context(now),
                &mut changes,
            )?;
            if issued.is_some() {
                changes.move_customer(&customer.value, &buyer)?;
            }
        }
        changes.puts.push(Put::update(order, stored.version));
        self.store.commit(changes).await?;
        Ok(shipments)
    }

    /// Groups the order's open reservations by location, in location-code order.
    async fn best_quote(&self, request: &RateRequest) -> Result<RateQuote, Error> {
        let quotes = self.carrier.quote(request).await?;
        let mut best: Option<RateQuote> = None;
        for quote in quotes
            .into_iter()
            .filter(|q| q.price.currency() == request.currency)
        {
            let better = match &best {
                None => true,
                Some(b) => {
                    (quote.price.amount(), quote.transit_days) < (b.price.amount(), b.transit_days)
                }
            };
            if better {
                best = Some(quote);
            }
        }
        best.ok_or_else(|| {
            Error::Carrier(CarrierError::NoService {
                carrier: self.carrier.name().to_owned(),
                reason: format!("no quote in {}", request.currency),
            })
        })
    }

    /// Records a tracking event reported by the carrier (a webhook, say). Duplicates
    /// and out-of-order events are absorbed; delivery of the last shipment of a paid
    /// order completes it.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown shipment.
    pub async fn record_tracking(
        &self,
        shipment: ShipmentId,
        event: TrackingEvent,
    ) -> Result<Shipment, Error> {
        super::retrying!(
            self,
            self.try_record_tracking(shipment, std::slice::from_ref(&event))
                .await
        )
    }

    /// Asks the carrier for the shipment's tracking events and records them.
    ///
    /// # Errors
    /// [`Error::Carrier`] if the carrier fails; [`Error::NotFound`].
    pub async fn refresh_tracking(&self, shipment: ShipmentId) -> Result<Shipment, Error> {
        super::retrying!(self, {
            let tracking = self.must::<Shipment>(&shipment).await?.value.tracking;
            let events = self.carrier.track(&tracking).await?;
            self.try_record_tracking(shipment, &events).await
        })
    }

    async fn try_record_tracking(
        &self,
        id: ShipmentId,
        events: &[TrackingEvent],
    ) -> Result<Shipment, Error> {
        let stored = self.must::<Shipment>(&id).await?;
        let mut shipment = stored.value;
        let was_delivered = shipment.status == ShipmentStatus::Delivered;
        let before = shipment.status;
        let mut changed = false;
        for event in events {
            changed |= shipment.record_tracking(event.clone());
        }
        if !changed {
            return Ok(shipment);
        }
        let now = self.now();
        let mut changes = Changeset::new(now);
        if shipment.status != before {
            changes.events.push(Event::TrackingUpdated {
                shipment: id,
                status: shipment.status,
            });
        }
        if shipment.status == ShipmentStatus::Delivered && !was_delivered {
            let stored_order = self.must::<Order>(&shipment.order).await?;
            let mut order = stored_order.value;
            order.status = transition(order.status, OrderAction::Deliver)?;
            for s in &shipment.lines {
                if let Some(line) = order.lines.iter_mut().find(|l| l.line_no == s.line_no) {
                    line.delivered = line.delivered.checked_add(s.quantity).ok_or(
                        OrderError::UnitsOverflow {
                            line: line.line_no,
                            what: "delivered",
                        },
                    )?;
                }
            }
            changes.events.push(Event::ShipmentDelivered {
                shipment: id,
                order: order.id,
            });
            complete_if_done(&mut order, now, &mut changes)?;
            changes.puts.push(Put::update(order, stored_order.version));
        }
        changes
            .puts
            .push(Put::update(shipment.clone(), stored.version));
        self.store.commit(changes).await?;
        Ok(shipment)
    }

    /// A shipment.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn shipment(&self, id: ShipmentId) -> Result<Shipment, Error> {
        Ok(self.must::<Shipment>(&id).await?.value)
    }
}

/// A booking made by one `ship` call, remembered across its retries.
#[derive(Debug)]
struct Booked {
    key: String,
    shipment: ShipmentId,
    tracking: TrackingNumber,
}

/// The cost of the goods in one pick, at each product's standard cost.
///
/// # Errors
/// [`Error::Money`] if the goods' costs are in different currencies (one shipment is
/// posted in one currency) or the sum overflows.
fn cost_of_goods(order: &Order, pick: &Pick, products: &Products) -> Result<Money, Error> {
    let mut sum: Option<Money> = None;
    for (index, units) in &pick.lines {
        let Some(cost) = order
            .lines
            .get(*index)
            .and_then(|l| products.get(&l.sku))
            .map(|p| p.cost)
        else {
            continue;
        };
        let value = cost.checked_mul_qty(u64::from(units.units()))?;
        sum = Some(match sum {
            Some(s) => s.checked_add(value)?,
            None => value,
        });
    }
    Ok(sum.unwrap_or(Money::zero(order.currency)))
}

/// Reduces the line's reservation at `location` by `units`.
fn take_reservation(line: &mut crate::order::OrderLine, location: &LocationId, units: Quantity) {
    if let Some(r) = line
        .reservations
        .iter_mut()
        .find(|r| &r.location == location)
    {
        r.quantity = r.quantity.saturating_sub(units);
    }
    line.reservations.retain(|r| !r.quantity.is_zero());
}

/// What the carrier needs to price one location's part: one parcel of the whole weight.
fn rate_request(order: &Order, pick: &Pick, products: &Products) -> RateRequest {
    let mut weight_grams: u64 = 0;
    for (index, units) in &pick.lines {
        let grams = order
            .lines
            .get(*index)
            .and_then(|l| products.get(&l.sku))
            .map_or(0, |p| u64::from(p.weight_grams));
        weight_grams = weight_grams.saturating_add(grams.saturating_mul(u64::from(units.units())));
    }
    let (destination, service) = match &order.delivery {
        Delivery::Ship { address, service } => (
            Address::clone(address),
            RequestedService::Delivery(*service),
        ),
        Delivery::Pickup { .. } => (
            Address::clone(&pick.location.address),
            RequestedService::Pickup,
        ),
    };
    RateRequest {
        origin: Address::clone(&pick.location.address),
        destination,
        parcels: vec![Parcel {
            weight_grams,
            dimensions: Default::default(),
        }],
        service,
        currency: order.currency,
    }
}

/// What `order` has reserved, grouped by location: one pick per location, its
/// lines (index, units) in order, the locations taken from `fetched`.
fn picks(order: &Order, fetched: &mut Fetched) -> Result<Vec<Pick>, Error> {
    let mut by_location: BTreeMap<&LocationId, Vec<(usize, Quantity)>> = BTreeMap::new();
    for (index, line) in order.lines.iter().enumerate() {
        for r in line.reservations.iter().filter(|r| !r.quantity.is_zero()) {
            by_location
                .entry(&r.location)
                .or_default()
                .push((index, r.quantity));
        }
    }
    let mut picks = Vec::new();
    for (location, lines) in by_location {
        let location = super::found::<Location>(fetched, location)?.value;
        picks.push(Pick { location, lines });
    }
    Ok(picks)
}
