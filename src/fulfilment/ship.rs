//! Shipping an order, decided in two halves around the carrier calls: what to ship
//! from where (one pick per location, its rate request and cost of goods), then —
//! once the carrier has quoted and booked — the shipments, stock movements,
//! postings and, under invoicing on shipment, the invoice.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use super::split::FreightRule;
use super::{
    Booking, CarrierError, Parcel, RateQuote, RateRequest, RequestedService, Shipment,
    ShipmentLine, ShipmentStatus,
};
use crate::catalog::Products;
use crate::customer::{Address, Customer};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{EntryId, LocationId, ShipmentId};
use crate::ledger::issue_invoice;
use crate::money::Money;
use crate::order::{
    Delivery, Order, OrderAction, OrderError, OrderLine, OrderStatus, ServiceLevel, transition,
};
use crate::purchasing::BackOrderPolicy;
use crate::quantity::Quantity;
use crate::stock::{Location, LocationKind, MovementReason, ReservationChange, StockMovement};
use crate::store::{Changeset, Entity};

/// One location's part of a shipment being prepared: what the carrier is asked to
/// price, and what the goods cost.
#[derive(Debug, Clone)]
pub(crate) struct Pick<'a> {
    /// Where the goods leave from: lent from the locations the command read.
    pub location: &'a Location,
    /// (line index, units)
    pub lines: Vec<(usize, Quantity)>,
    /// From the location to the customer: one parcel of the whole weight, or as
    /// freight each unit with its size.
    pub request: RateRequest,
    /// The goods at each product's standard cost.
    pub cost_of_goods: Money,
    /// Each of `lines` at its product's standard cost: what `cost_of_goods` sums,
    /// and what each order line remembers for returns.
    pub line_costs: Vec<Money>,
    /// Whether it is the freight half of a location split by the [`FreightRule`]
    /// (its booking takes a key of its own).
    pub split_freight: bool,
}

/// What shipping `order` takes: one pick per location holding its reservations
/// (but a third-party warehouse's, which ships what is released to it), in
/// location-code order — two when `freight` splits the location's goods into
/// parcels and freight (parcels first) — and the status the order moves to.
/// `sites` must hold every location it reserves at, `products` every SKU it
/// orders. Decided before the first booking, so a refusal never leaves a carrier
/// holding a booking for goods that will not ship.
///
/// # Errors
/// [`Error::Order`] with `OnHold` while a hold is in force, `AwaitingBackOrder`
/// while an order that ships whole waits for units, `NothingToShip`, or
/// `InvalidTransition`; [`Error::NotFound`] for a location or product not given;
/// [`Error::Money`] if the goods' costs are in different currencies.
pub(crate) fn plan_shipments<'a, L: Borrow<Location>>(
    order: &Order,
    sites: &'a [L],
    products: &Products,
    freight: Option<&FreightRule>,
) -> Result<(Vec<Pick<'a>>, OrderStatus), Error> {
    order.ensure_not_held()?;
    let status = transition(order.status, OrderAction::Ship)?;
    if order.back_order == BackOrderPolicy::BackOrder && order.backordered_units() > 0 {
        return Err(OrderError::AwaitingBackOrder {
            units: order.backordered_units(),
        }
        .into());
    }
    for line in &order.lines {
        if !products.contains_key(&line.sku) {
            return Err(Error::dangling(crate::catalog::Product::kind(), &line.sku));
        }
    }
    // A third-party warehouse ships what o2c releases to it, never by o2c's
    // carrier: its units are left to `release_to_third_party` (and released
    // units are never o2c's to ship, wherever they are).
    let third_party = |at: &LocationId| {
        sites
            .iter()
            .map(Borrow::borrow)
            .any(|l: &Location| &l.id == at && l.kind == LocationKind::ThirdParty)
    };
    let mut by_location: BTreeMap<&LocationId, Vec<(usize, Quantity)>> = BTreeMap::new();
    for (index, line) in order.lines.iter().enumerate() {
        for r in line
            .reservations
            .iter()
            .filter(|r| !r.unreleased().is_zero() && !third_party(&r.location))
        {
            by_location
                .entry(&r.location)
                .or_default()
                .push((index, r.unreleased()));
        }
    }
    if by_location.is_empty() {
        return Err(OrderError::NothingToShip.into());
    }
    // Split only what goes to an address at a parcel service level.
    let splitting = match (&order.delivery, freight) {
        (Delivery::Ship { service, .. }, Some(rule)) if *service != ServiceLevel::Freight => {
            Some(rule)
        }
        _ => None,
    };
    let mut picks = Vec::with_capacity(by_location.len());
    for (id, lines) in by_location {
        let location = sites
            .iter()
            .map(Borrow::borrow)
            .find(|l: &&Location| &l.id == id)
            .ok_or_else(|| Error::dangling(Location::kind(), id))?;
        let (parcels, freight) = match splitting {
            Some(rule) => rule.split(order, lines, products),
            None => (lines, Vec::new()),
        };
        for (lines, split_freight) in [(parcels, false), (freight, true)] {
            if lines.is_empty() {
                continue;
            }
            let request = rate_request(order, location, &lines, products, split_freight);
            let (cost_of_goods, line_costs) = cost_of_goods(order, &lines, products)?;
            picks.push(Pick {
                location,
                lines,
                request,
                cost_of_goods,
                line_costs,
                split_freight,
            });
        }
    }
    Ok((picks, status))
}

/// The best of a carrier's `quotes` for `request`: the cheapest in the order's
/// currency, then the fastest.
///
/// # Errors
/// [`Error::Carrier`] with `NoService` when none is in the order's currency.
pub(crate) fn best_quote(
    quotes: Vec<RateQuote>,
    request: &RateRequest,
    carrier: &str,
) -> Result<RateQuote, Error> {
    quotes
        .into_iter()
        .filter(|q| q.price.currency() == request.currency)
        .min_by(|a, b| (a.price.amount(), a.transit_days).cmp(&(b.price.amount(), b.transit_days)))
        .ok_or_else(|| {
            Error::Carrier(CarrierError::NoService {
                carrier: carrier.to_owned(),
                reason: format!("no quote in {}", request.currency),
            })
        })
}

/// A pick the carrier booked, ready to record.
#[derive(Debug)]
pub(crate) struct Booked<'a> {
    /// The pick.
    pub pick: &'a Pick<'a>,
    /// The quote it was booked on.
    pub quote: RateQuote,
    /// The carrier's booking.
    pub booking: Booking,
    /// The shipment the booking was made for.
    pub shipment: ShipmentId,
    /// The key it was booked under.
    pub key: String,
}

/// Records a booked pick as a shipment of `order`: its units leave on-hand and
/// reserved, its cost of goods and the carrier's charge are posted, and the order
/// remembers what shipped (and what it cost, for returns). Returns the shipment,
/// already put, and the (line index, units) it carried.
///
/// # Errors
/// [`Error::Order`] with `UnitsOverflow`; [`Error::Money`]; [`Error::Ledger`].
pub(crate) fn record_shipment(
    order: &mut Order,
    booked: Booked<'_>,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Shipment, Error> {
    let Booked {
        pick,
        quote,
        booking,
        shipment: id,
        key,
    } = booked;
    let now = ctx.now;
    let location = &pick.location.id;
    let mut lines = Vec::with_capacity(pick.lines.len());
    // Sized once: a movement and a reservation change per line picked.
    changes.movements.reserve(pick.lines.len());
    changes.reservations.reserve(pick.lines.len());
    // The order's own lines once (a copy if another version shares them), not a
    // check per line.
    let order_lines = order.lines.to_mut();
    for ((index, units), cost) in pick.lines.iter().zip(&pick.line_costs) {
        let Some(line) = order_lines.get_mut(*index) else {
            continue;
        };
        take_reservation(line, location, *units);
        line.shipped = line
            .shipped
            .checked_add(*units)
            .ok_or(OrderError::UnitsOverflow {
                line: line.line_no,
                what: "shipped",
            })?;
        // Remembered for returns: cost of goods is reversed at what it was, the
        // very figure the pick posts.
        line.shipped_cost = Some(match line.shipped_cost {
            Some(before) => before.checked_add(*cost)?,
            None => *cost,
        });
        changes.movements.push(StockMovement {
            sku: line.sku.clone(),
            location: location.clone(),
            quantity: -units.as_i64(),
            reason: MovementReason::Shipment { shipment: id },
            at: now,
            value: None,
        });
        changes.reservations.push(ReservationChange {
            sku: line.sku.clone(),
            location: location.clone(),
            order: order.id,
            quantity: -units.as_i64(),
        });
        lines.push(ShipmentLine {
            line_no: line.line_no,
            sku: line.sku.clone(),
            quantity: *units,
            cost: Some(*cost),
        });
    }
    changes.journal.extend(ctx.postings.shipment(
        id,
        pick.cost_of_goods,
        booking.price,
        ctx.id(EntryId::from_uuid),
        now,
    )?);
    let shipment = Shipment {
        id,
        order: order.id,
        location: location.clone(),
        lines,
        carrier: quote.carrier,
        service: quote.service,
        tracking: booking.tracking,
        label: booking.label,
        carrier_charge: booking.price,
        cost_of_goods: pick.cost_of_goods,
        status: ShipmentStatus::Booked,
        tracking_events: Vec::new(),
        booked_at: now,
        delivered_at: None,
        booking_key: key,
    };
    changes.events.push(Event::ShipmentBooked {
        shipment: id,
        order: order.id,
        location: shipment.location.clone(),
        carrier: shipment.carrier.clone(),
        tracking: shipment.tracking.clone(),
    });
    order.shipments.push(id);
    changes.insert(shipment.clone());
    Ok(shipment)
}

/// After every pick is recorded: the order moves to `status`, and — when invoicing
/// on shipment (`buyer` given) — what shipped is invoiced, with the shipping charge
/// if it is not billed yet. Returns that invoice, if one was issued.
///
/// # Errors
/// As [`issue_invoice`].
pub(crate) fn finish_shipping(
    order: &mut Order,
    status: OrderStatus,
    shipped: &[Pick],
    buyer: Option<&mut Customer>,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Option<crate::ledger::Invoice>, Error> {
    order.status = status;
    let Some(buyer) = buyer else {
        return Ok(None);
    };
    let portions: Vec<(usize, Quantity)> = shipped
        .iter()
        .flat_map(|p| p.lines.iter().copied())
        .collect();
    let with_shipping = order.shipping_unbilled();
    issue_invoice(order, buyer, &portions, with_shipping, ctx, changes)
}

/// The goods of one pick at each product's standard cost.
///
/// # Errors
/// [`Error::Money`] if the goods' costs are in different currencies (one shipment is
/// posted in one currency) or the sum overflows.
pub(crate) fn cost_of_goods(
    order: &Order,
    lines: &[(usize, Quantity)],
    products: &Products,
) -> Result<(Money, Vec<Money>), Error> {
    let mut each = Vec::with_capacity(lines.len());
    for (index, units) in lines {
        let line = order
            .lines
            .get(*index)
            .ok_or_else(|| Error::inconsistent("pick", "names a line the order does not have"))?;
        let product = products
            .get(&line.sku)
            .ok_or_else(|| Error::dangling(crate::catalog::Product::kind(), &line.sku))?;
        each.push(product.cost.checked_mul_qty(u64::from(units.units()))?);
    }
    // Costs may be kept in another currency than the order's: the first sets it.
    let mut sum: Option<Money> = None;
    for value in &each {
        sum = Some(match sum {
            Some(before) => before.checked_add(*value)?,
            None => *value,
        });
    }
    Ok((sum.unwrap_or_else(|| Money::zero(order.currency)), each))
}

/// Reduces the line's reservation at `location` by `units`.
fn take_reservation(line: &mut OrderLine, location: &LocationId, units: Quantity) {
    if let Some(r) = line
        .reservations
        .iter_mut()
        .find(|r| &r.location == location)
    {
        r.quantity = r.quantity.saturating_sub(units);
    }
    line.reservations.retain(|r| !r.quantity.is_zero());
}

/// Units a freight request lists one by one, at most; past it they are stacked.
const MAX_FREIGHT_PARCELS: u64 = 10_000;

/// What the carrier needs to price one location's part: as parcels, one parcel
/// of the whole weight; as freight (`split_freight`, or an order asking for
/// freight), each unit with its weight and size, for the carrier to load (past
/// [`MAX_FREIGHT_PARCELS`] units, stacks of units, so the request stays small).
pub(crate) fn rate_request(
    order: &Order,
    location: &Location,
    lines: &[(usize, Quantity)],
    products: &Products,
    split_freight: bool,
) -> RateRequest {
    let (destination, service) = match &order.delivery {
        Delivery::Ship { address, service } => (
            Address::clone(address),
            RequestedService::Delivery(match split_freight {
                true => ServiceLevel::Freight,
                false => *service,
            }),
        ),
        Delivery::Pickup { .. } => (Address::clone(&location.address), RequestedService::Pickup),
    };
    let units = lines.iter().filter_map(|(index, units)| {
        let product = order.lines.get(*index).and_then(|l| products.get(&l.sku));
        product.map(|p| (p, units.units()))
    });
    let parcels = if service == RequestedService::Delivery(ServiceLevel::Freight) {
        let units: Vec<_> = units.collect();
        // Past MAX_FREIGHT_PARCELS units, units are stacked k high (k the same for
        // every line) so the request stays bounded whatever the order's size.
        let total: u64 = units.iter().map(|(_, count)| u64::from(*count)).sum();
        let k = total.div_ceil(MAX_FREIGHT_PARCELS).max(1);
        let mut parcels =
            Vec::with_capacity(usize::try_from(total.min(MAX_FREIGHT_PARCELS)).unwrap_or(0));
        for (product, count) in units {
            let mut left = u64::from(count);
            while left > 0 {
                let stacked = left.min(k);
                left -= stacked;
                let high = u32::try_from(stacked).unwrap_or(u32::MAX);
                let mut dimensions = product.dimensions;
                dimensions.height_mm = dimensions.height_mm.saturating_mul(high);
                parcels.push(Parcel {
                    weight_grams: u64::from(product.weight_grams).saturating_mul(stacked),
                    dimensions,
                });
            }
        }
        parcels
    } else {
        let weight_grams = units.fold(0_u64, |sum, (product, count)| {
            sum.saturating_add(u64::from(product.weight_grams).saturating_mul(u64::from(count)))
        });
        vec![Parcel {
            weight_grams,
            dimensions: Default::default(),
        }]
    };
    RateRequest {
        origin: Address::clone(&location.address),
        destination,
        parcels,
        service,
        currency: order.currency,
    }
}

/// What tracking events did to a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tracked {
    /// Nothing new: duplicates, or events older than what it knows.
    Unchanged,
    /// Its events (and maybe its status) moved on.
    Moved,
    /// It was delivered just now: its order must hear of it ([`deliver`]).
    Delivered,
}

/// Records a carrier's tracking `events` on `shipment`, duplicates and
/// out-of-order events absorbed; a change of status is an event in `changes`.
pub(crate) fn track(
    shipment: &mut Shipment,
    events: &[super::TrackingEvent],
    changes: &mut Changeset,
) -> Tracked {
    let before = shipment.status;
    let mut changed = false;
    for event in events {
        changed |= shipment.record_tracking(event.clone());
    }
    if !changed {
        return Tracked::Unchanged;
    }
    if shipment.status != before {
        changes.events.push(Event::TrackingUpdated {
            shipment: shipment.id,
            status: shipment.status,
        });
    }
    if shipment.status == ShipmentStatus::Delivered && before != ShipmentStatus::Delivered {
        Tracked::Delivered
    } else {
        Tracked::Moved
    }
}

/// `shipment` reached the customer: its units count as delivered on `order`, which
/// completes if that was the last of it and it is settled.
///
/// # Errors
/// [`Error::Order`] with `InvalidTransition` (a cancelled order) or `UnitsOverflow`.
pub(crate) fn deliver(
    order: &mut Order,
    shipment: &Shipment,
    now: chrono::DateTime<chrono::Utc>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    order.status = transition(order.status, OrderAction::Deliver)?;
    for s in &shipment.lines {
        if let Some(line) = order.lines.iter_mut().find(|l| l.line_no == s.line_no) {
            line.delivered =
                line.delivered
                    .checked_add(s.quantity)
                    .ok_or(OrderError::UnitsOverflow {
                        line: line.line_no,
                        what: "delivered",
                    })?;
        }
    }
    changes.events.push(Event::ShipmentDelivered {
        shipment: shipment.id,
        order: order.id,
    });
    crate::order::settle::complete_if_done(order, now, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Product, TaxClass};
    use crate::fulfilment::{TrackingEvent, TrackingNumber};
    use crate::ledger::fixtures::{Books, at, given_order, usd};
    use crate::money::Currency;
    use crate::order::{Hold, LineReservation};
    use crate::stock::LocationKind;

    /// The two warehouses the tests ship from, `WH-A` and `WH-B`.
    fn sites() -> [Location; 2] {
        [site("WH-A"), site("WH-B")]
    }

    fn site(code: &str) -> Location {
        let address = Address::new(code, "1 Dock Rd", "Leeds", "LS2 2BB", "GB");
        Location::new(
            LocationId::new(code).unwrap(),
            code,
            LocationKind::Warehouse,
            address,
            1,
        )
    }

    /// The mugs and cups, 500 g and 200 g, costing 4.00 and 2.00.
    fn products() -> Products<'static> {
        heavy_mugs(500, 0)
    }

    /// Ada's order with its two mugs reserved at `WH-B` and its two cups at `WH-A`.
    fn reserved() -> Order {
        let (_, mut order) = given_order();
        for (line, at) in order.lines.iter_mut().zip(["WH-B", "WH-A"]) {
            line.reservations.push(LineReservation::new(
                LocationId::new(at).unwrap(),
                Quantity::new(2),
            ));
        }
        order
    }

    fn quote(price: i64, days: u16) -> RateQuote {
        RateQuote {
            carrier: "parcels".into(),
            service: format!("{days}-day"),
            price: usd(price),
            transit_days: days,
        }
    }

    #[test]
    fn each_location_ships_its_own_reservations_weighed_and_costed() {
        let order = reserved();
        let sites = sites();
        let (picks, status) = plan_shipments(&order, &sites, &products(), None).unwrap();
        assert_eq!(status, OrderStatus::Open, "open until delivered and paid");
        let from: Vec<&str> = picks.iter().map(|p| p.location.id.as_str()).collect();
        assert_eq!(from, ["WH-A", "WH-B"], "in location-code order");
        assert_eq!(picks[0].request.parcels[0].weight_grams, 400);
        assert_eq!(picks[0].cost_of_goods, usd(400));
        assert_eq!(picks[1].request.parcels[0].weight_grams, 1000);
        assert_eq!(picks[1].cost_of_goods, usd(800));
    }

    #[test]
    fn nothing_reserved_or_a_hold_means_nothing_ships() {
        let (_, order) = given_order();
        let refused = plan_shipments::<Location>(&order, &[], &products(), None);
        assert!(matches!(
            refused,
            Err(Error::Order(OrderError::NothingToShip))
        ));
        let mut held = reserved();
        held.holds.push(Hold::AwaitingPayment);
        held.status = OrderStatus::OnHold;
        let sites = sites();
        let refused = plan_shipments(&held, &sites, &products(), None);
        assert!(matches!(
            refused,
            Err(Error::Order(OrderError::OnHold { .. }))
        ));
    }

    #[test]
    fn a_location_not_read_is_reported_not_skipped() {
        let only_a = [site("WH-A")];
        let refused = plan_shipments(&reserved(), &only_a, &products(), None);
        assert!(matches!(
            refused,
            Err(Error::DanglingReference {
                entity: "location",
                ..
            })
        ));
    }

    #[test]
    fn the_cheapest_quote_in_the_orders_currency_wins_then_the_fastest() {
        let order = reserved();
        let sites = sites();
        let (picks, _) = plan_shipments(&order, &sites, &products(), None).unwrap();
        let request = &picks[0].request;
        let mut euro = quote(100, 1);
        euro.price = Money::from_minor(100, crate::money::Currency::EUR);
        let best = best_quote(
            vec![quote(900, 1), euro, quote(500, 3), quote(500, 2)],
            request,
            "parcels",
        )
        .unwrap();
        assert_eq!((best.price, best.transit_days), (usd(500), 2));
        let none = best_quote(Vec::new(), request, "parcels");
        assert!(matches!(
            none,
            Err(Error::Carrier(CarrierError::NoService { .. }))
        ));
    }

    #[test]
    fn a_booked_pick_moves_stock_posts_its_costs_and_remembers_them() {
        let mut order = reserved();
        let products = products();
        let sites = sites();
        let (picks, status) = plan_shipments(&order, &sites, &products, None).unwrap();
        let books = Books::new();
        let ctx = books.ctx();
        let mut changes = Changeset::new(at());
        let mut posted = usd(0);
        for (n, pick) in picks.iter().enumerate() {
            posted = posted.checked_add(pick.cost_of_goods).unwrap();
            let booked = Booked {
                pick,
                quote: quote(500, 2),
                booking: Booking {
                    tracking: TrackingNumber::new(format!("T{n}")),
                    label: "label".into(),
                    price: usd(500),
                },
                shipment: ctx.id(ShipmentId::from_uuid),
                key: format!("k{n}"),
            };
            let shipment = record_shipment(&mut order, booked, &ctx, &mut changes).unwrap();
            assert_eq!(shipment.status, ShipmentStatus::Booked);
        }
        finish_shipping(&mut order, status, &picks, None, &ctx, &mut changes).unwrap();
        assert_eq!(order.status, OrderStatus::Open);
        assert!(order.lines.iter().all(|l| l.reservations.is_empty()));
        assert_eq!(order.lines[0].shipped.units(), 2);
        assert_eq!(order.lines[0].shipped_cost, Some(usd(800)));
        // What the lines remember for returns is what the shipments posted.
        let remembered = order.lines.iter().filter_map(|l| l.shipped_cost);
        assert_eq!(Money::sum(posted.currency(), remembered).unwrap(), posted);
        assert_eq!(order.shipments.len(), 2);
        assert_eq!(changes.movements.len(), 2);
        assert!(changes.movements.iter().all(|m| m.quantity == -2));
        assert!(changes.reservations.iter().all(|r| r.quantity == -2));
        assert_eq!(
            changes.journal.len(),
            2,
            "cost of goods and carriage per shipment"
        );
    }

    #[test]
    fn delivery_is_recorded_once_and_reaches_the_order() {
        let mut order = reserved();
        let products = products();
        let sites = sites();
        let (picks, status) = plan_shipments(&order, &sites, &products, None).unwrap();
        let books = Books::new();
        let ctx = books.ctx();
        let mut changes = Changeset::new(at());
        let booked = Booked {
            pick: &picks[0],
            quote: quote(500, 2),
            booking: Booking {
                tracking: TrackingNumber::new("T1"),
                label: "label".into(),
                price: usd(500),
            },
            shipment: ctx.id(ShipmentId::from_uuid),
            key: "k".into(),
        };
        let mut shipment = record_shipment(&mut order, booked, &ctx, &mut changes).unwrap();
        order.status = status;
        let delivered = TrackingEvent {
            at: at(),
            status: ShipmentStatus::Delivered,
            description: "handed over".into(),
        };
        let mut changes = Changeset::new(at());
        let twice = [delivered.clone(), delivered.clone()];
        assert_eq!(
            track(&mut shipment, &twice, &mut changes),
            Tracked::Delivered
        );
        deliver(&mut order, &shipment, at(), &mut changes).unwrap();
        assert_eq!(order.lines[1].delivered.units(), 2);
        assert!(
            changes
                .events
                .iter()
                .any(|e| matches!(e, Event::ShipmentDelivered { .. }))
        );
        let mut again = Changeset::new(at());
        assert_eq!(
            track(&mut shipment, &[delivered], &mut again),
            Tracked::Unchanged
        );
        assert!(again.events.is_empty());
    }

    /// `order` shipped to Ada's door at `service`.
    fn shipped_at(mut order: Order, service: ServiceLevel) -> Order {
        let address = Address::new("Ada", "1 High St", "Leeds", "LS1 1AA", "GB");
        order.delivery = Delivery::Ship {
            address: std::sync::Arc::new(address),
            service,
        };
        order
    }

    /// Mugs of `mug_grams` and `mug_size`, costing 4.00, and cups of 200 g
    /// costing 2.00.
    fn mugs_and_cups(mug_grams: u32, mug_size: crate::catalog::Dimensions) -> Products<'static> {
        let mut mug = Product::new(
            crate::ids::Sku::new("MUG").unwrap(),
            "Mug",
            usd(1000),
            usd(400),
            TaxClass::standard(),
        );
        mug.weight_grams = mug_grams;
        mug.dimensions = mug_size;
        let mut cup = Product::new(
            crate::ids::Sku::new("CUP").unwrap(),
            "Cup",
            usd(500),
            usd(200),
            TaxClass::standard(),
        );
        cup.weight_grams = 200;
        [mug, cup].into_iter().collect()
    }

    /// Mugs of `mug_grams`, `mug_side_mm` long and flat, and the usual cups.
    fn heavy_mugs(mug_grams: u32, mug_side_mm: u32) -> Products<'static> {
        let size = crate::catalog::Dimensions {
            length_mm: mug_side_mm,
            ..Default::default()
        };
        mugs_and_cups(mug_grams, size)
    }

    /// (location, freight half, service, line indexes, parcels) of each pick.
    fn shape(picks: &[Pick<'_>]) -> Vec<(String, bool, RequestedService, Vec<usize>, usize)> {
        picks
            .iter()
            .map(|p| {
                (
                    p.location.id.to_string(),
                    p.split_freight,
                    p.request.service,
                    p.lines.iter().map(|(i, _)| *i).collect(),
                    p.request.parcels.len(),
                )
            })
            .collect()
    }

    const STANDARD: RequestedService = RequestedService::Delivery(ServiceLevel::Standard);
    const FREIGHT: RequestedService = RequestedService::Delivery(ServiceLevel::Freight);

    #[test]
    fn a_freight_rule_sends_heavy_or_long_units_as_freight_and_the_rest_as_parcels() {
        let rule = FreightRule::default();
        let sites = sites();
        // Both lines at WH-A: 40 kg mugs and 200 g cups.
        let mut order = shipped_at(reserved(), ServiceLevel::Standard);
        order.lines[0].reservations[0].location = LocationId::new("WH-A").unwrap();
        let heavy = heavy_mugs(40_000, 300);
        let (picks, _) = plan_shipments(&order, &sites, &heavy, Some(&rule)).unwrap();
        assert_eq!(
            shape(&picks),
            [
                ("WH-A".into(), false, STANDARD, vec![1], 1),
                ("WH-A".into(), true, FREIGHT, vec![0], 2),
            ],
            "parcels first, then each heavy unit as freight"
        );
        assert_eq!(picks[1].request.parcels[0].weight_grams, 40_000);
        assert_eq!(
            picks[0].cost_of_goods.checked_add(picks[1].cost_of_goods),
            Ok(usd(1200))
        );

        // A long but light mug goes as freight too.
        let long = heavy_mugs(500, 1_500);
        let (picks, _) = plan_shipments(&order, &sites, &long, Some(&rule)).unwrap();
        assert_eq!(shape(&picks)[1], ("WH-A".into(), true, FREIGHT, vec![0], 2));

        // Without the rule: one parcel shipment, as before.
        let (picks, _) = plan_shipments(&order, &sites, &heavy, None).unwrap();
        assert_eq!(
            shape(&picks),
            [("WH-A".into(), false, STANDARD, vec![0, 1], 1)]
        );
    }

    #[test]
    fn parcels_too_heavy_together_go_as_freight_with_the_rest() {
        let order = shipped_at(reserved(), ServiceLevel::Standard);
        let sites = sites();
        // Two cups (400 g) at WH-A, two mugs (1 kg) at WH-B; parcels up to 500 g.
        let rule = FreightRule {
            parcels_grams: 500,
            ..FreightRule::default()
        };
        let (picks, _) = plan_shipments(&order, &sites, &products(), Some(&rule)).unwrap();
        assert_eq!(
            shape(&picks),
            [
                ("WH-A".into(), false, STANDARD, vec![1], 1),
                ("WH-B".into(), true, FREIGHT, vec![0], 2),
            ]
        );
    }

    #[test]
    fn parcels_too_bulky_together_go_as_freight_with_the_rest() {
        let order = shipped_at(reserved(), ServiceLevel::Standard);
        let sites = sites();
        // Two mugs of a litre each (100 mm cubes) at WH-B: over 1.5 litres in all.
        let cube = crate::catalog::Dimensions {
            length_mm: 100,
            width_mm: 100,
            height_mm: 100,
        };
        let products = mugs_and_cups(500, cube);
        let rule = FreightRule {
            parcels_mm3: 1_500_000,
            ..FreightRule::default()
        };
        let (picks, _) = plan_shipments(&order, &sites, &products, Some(&rule)).unwrap();
        assert_eq!(
            shape(&picks),
            [
                ("WH-A".into(), false, STANDARD, vec![1], 1),
                ("WH-B".into(), true, FREIGHT, vec![0], 2),
            ]
        );
    }

    #[test]
    fn an_order_asking_for_freight_or_a_pickup_is_never_split() {
        let sites = sites();
        let rule = FreightRule::default();
        let heavy = heavy_mugs(40_000, 300);
        let freight = shipped_at(reserved(), ServiceLevel::Freight);
        let (picks, _) = plan_shipments(&freight, &sites, &heavy, Some(&rule)).unwrap();
        assert_eq!(
            shape(&picks),
            [
                ("WH-A".into(), false, FREIGHT, vec![1], 2),
                ("WH-B".into(), false, FREIGHT, vec![0], 2),
            ],
            "freight throughout, each unit a parcel for the carrier to load"
        );
        let (picks, _) = plan_shipments(&reserved(), &sites, &heavy, Some(&rule)).unwrap();
        assert!(picks.iter().all(|p| !p.split_freight));
        assert!(
            picks
                .iter()
                .all(|p| p.request.service == RequestedService::Pickup)
        );
    }

    #[test]
    fn a_huge_freight_order_is_listed_in_bounded_stacks() {
        let mut order = shipped_at(reserved(), ServiceLevel::Freight);
        order.lines[0].reservations[0].quantity = Quantity::new(25_000);
        let sites = sites();
        let (picks, _) = plan_shipments(&order, &sites, &products(), None).unwrap();
        let wh_b = &picks[1].request.parcels;
        assert!(wh_b.len() <= 10_001, "{} parcels", wh_b.len());
        let grams: u64 = wh_b.iter().map(|p| p.weight_grams).sum();
        assert_eq!(grams, 25_000 * 500, "every unit's weight is listed");
    }

    proptest::proptest! {
        /// Whatever the rule and the goods, the picks ship every reserved unit
        /// exactly once, at its cost: a split moves lines between shipments,
        /// never units in or out of the order.
        #[test]
        fn a_split_ships_every_reserved_unit_once(
            mug_grams in 0_u32..100_000,
            mug_side in 0_u32..3_000,
            together in proptest::prelude::any::<bool>(),
            unit_grams in 0_u32..60_000,
            unit_side_mm in 0_u32..2_000,
            parcels_grams in 0_u64..2_000,
            parcels_mm3 in 0_u64..100_000_000,
        ) {
            let mut order = shipped_at(reserved(), ServiceLevel::Standard);
            if together {
                order.lines[0].reservations[0].location = LocationId::new("WH-A").unwrap();
            }
            let rule = FreightRule { unit_grams, unit_side_mm, parcels_grams, parcels_mm3 };
            let size = crate::catalog::Dimensions {
                length_mm: mug_side,
                width_mm: 100,
                height_mm: 100,
            };
            let products = mugs_and_cups(mug_grams, size);
            let sites = sites();
            let (split, _) = plan_shipments(&order, &sites, &products, Some(&rule)).unwrap();
            let (whole, _) = plan_shipments(&order, &sites, &products, None).unwrap();
            let units = |picks: &[Pick<'_>]| {
                let mut all: Vec<(String, usize, u32)> = picks
                    .iter()
                    .flat_map(|p| p.lines.iter().map(|(i, q)| (p.location.id.to_string(), *i, q.units())))
                    .collect();
                all.sort();
                all
            };
            proptest::prop_assert_eq!(units(&split), units(&whole));
            let cost = |picks: &[Pick<'_>]| {
                Money::sum(Currency::USD, picks.iter().map(|p| p.cost_of_goods)).unwrap()
            };
            proptest::prop_assert_eq!(cost(&split), cost(&whole));
            proptest::prop_assert!(split.len() <= 2 * whole.len());
        }
    }
}
