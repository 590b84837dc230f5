//! Shipping in the baseline: one shipment per location, booked with an idempotent
//! table-rate carrier, moving stock and posting its costs.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;

use super::Plain;
use super::ledger::{CARRIER_PAYABLE, COGS, INVENTORY, SHIPPING_COSTS};
use super::money::{add, overflow};
use super::records::{Event, Movement, MovementReason, PlainShipment, Status};
use crate::workload::Batch;
use crate::world::{CARRIER, RATE_BANDS};

/// What the carrier returns for a booking.
#[derive(Clone)]
pub(super) struct Booking {
    tracking: String,
    label: String,
    price: Decimal,
}

impl Plain {
    pub(super) fn ship_ready(&mut self, limit: usize) -> Batch {
        let ready: Vec<usize> = self
            .ready_to_ship
            .iter()
            .take(limit)
            .map(|&(_, id)| id)
            .collect();
        let mut batch = Batch::default();
        for id in ready {
            match self.ship(id) {
                Ok(shipments) => {
                    batch.orders += 1;
                    batch.shipments += shipments;
                }
                Err(e) => batch.failed.push(e),
            }
        }
        batch
    }

    /// Ships everything reserved on the order: one shipment per location, each
    /// quoted and booked, moving stock and posting COGS and the carrier's charge.
    pub(crate) fn ship(&mut self, id: usize) -> Result<u64, String> {
        let order = self.orders.get(id).ok_or("unknown order")?;
        if order.status != Status::Open {
            return Err("order is closed".to_owned());
        }
        let mut picks: BTreeMap<usize, Vec<(usize, u32)>> = BTreeMap::new();
        for (index, line) in order.lines.iter().enumerate() {
            for &(location, units) in line.reservations.iter().filter(|r| r.1 > 0) {
                picks.entry(location).or_default().push((index, units));
            }
        }
        if picks.is_empty() {
            return Err("nothing to ship".to_owned());
        }
        self.check_shipment_stock(id, &picks)?;
        let shipped_before = order.shipments.len();
        for (n, (location, lines)) in picks.into_iter().enumerate() {
            self.ship_pick(id, location, &lines, shipped_before + n)?;
        }
        let order = self.orders.get(id).ok_or("unknown order")?;
        if !order.has_open_reservations() {
            let slot = (order.placed_ms, id);
            self.ready_to_ship.remove(&slot);
        }
        Ok(self
            .orders
            .get(id)
            .map_or(0, |o| (o.shipments.len() - shipped_before) as u64))
    }

    /// The stock guard for a shipment: every unit leaving is on hand and reserved.
    fn check_shipment_stock(
        &self,
        id: usize,
        picks: &BTreeMap<usize, Vec<(usize, u32)>>,
    ) -> Result<(), String> {
        let order = self.orders.get(id).ok_or("unknown order")?;
        let mut pending: HashMap<(&str, usize), i64> = HashMap::new();
        for (&location, lines) in picks {
            for &(index, units) in lines {
                let sku = order
                    .lines
                    .get(index)
                    .map(|l| l.sku.as_str())
                    .ok_or("bad line")?;
                let level = self.level(sku, location).ok_or("no stock record")?;
                let out = pending.entry((sku, location)).or_insert(0);
                *out += i64::from(units);
                if level.reserved < *out || level.on_hand < *out {
                    return Err(format!("insufficient stock of {sku} at {location}"));
                }
            }
        }
        Ok(())
    }

    fn ship_pick(
        &mut self,
        id: usize,
        location: usize,
        lines: &[(usize, u32)],
        n: usize,
    ) -> Result<(), String> {
        let now = self.now_ms;
        let shipment_id = self.shipments.len();
        let order = self.orders.get(id).ok_or("unknown order")?;
        let mut weight: u64 = 0;
        let mut cost_of_goods = Decimal::ZERO;
        let mut shipped = Vec::with_capacity(lines.len());
        for &(index, units) in lines {
            let line = order.lines.get(index).ok_or("bad line")?;
            let product = self.products.get(&line.sku).ok_or("unknown product")?;
            weight = weight.saturating_add(u64::from(product.weight_grams) * u64::from(units));
            let value = product
                .cost
                .checked_mul(Decimal::from(units))
                .ok_or_else(overflow)?;
            cost_of_goods = add(cost_of_goods, value)?;
            shipped.push((line.line_no, line.sku.clone(), units));
        }
        let location_code = self
            .location_codes
            .get(location)
            .ok_or("unknown location")?;
        let key = format!("{id}/{location_code}/{n}");
        let booking = self.book(&key, quote(weight)?);
        for ((index, units), (_, sku, _)) in lines.iter().zip(&shipped) {
            let level = self.level_mut(sku, location)?;
            level.on_hand -= i64::from(*units);
            level.reserved -= i64::from(*units);
            self.movements
                .entry((sku.clone(), location))
                .or_default()
                .push(Movement {
                    quantity: -i64::from(*units),
                    reason: MovementReason::Shipment(shipment_id),
                    at_ms: now,
                });
            let line = self
                .orders
                .get_mut(id)
                .and_then(|o| o.lines.get_mut(*index))
                .ok_or("bad line")?;
            if let Some(r) = line.reservations.iter_mut().find(|r| r.0 == location) {
                r.1 = r.1.saturating_sub(*units);
            }
            line.reservations.retain(|r| r.1 > 0);
            line.shipped += units;
        }
        self.post(&[
            (COGS, cost_of_goods),
            (INVENTORY, -cost_of_goods),
            (SHIPPING_COSTS, booking.price),
            (CARRIER_PAYABLE, -booking.price),
        ])?;
        self.emit(vec![Event::ShipmentBooked {
            shipment: shipment_id,
            order: id,
            location,
            carrier: CARRIER.to_owned(),
            tracking: booking.tracking.clone(),
        }]);
        if let Some(order) = self.orders.get_mut(id) {
            order.shipments.push(shipment_id);
        }
        self.shipments.push(PlainShipment {
            order: id,
            location,
            lines: shipped,
            carrier: CARRIER.to_owned(),
            tracking: booking.tracking,
            label: booking.label,
            carrier_charge: booking.price,
            cost_of_goods,
            booked_ms: now,
            booking_key: key,
        });
        Ok(())
    }

    /// The carrier's idempotent booking: the same key returns the same booking.
    fn book(&mut self, key: &str, price: Decimal) -> Booking {
        if let Some(existing) = self.bookings.get(key) {
            return existing.clone();
        }
        self.booking_serial += 1;
        let tracking = format!("PARCELLY{:010}", self.booking_serial);
        let booking = Booking {
            label: format!("label://{CARRIER}/{tracking}"),
            tracking: tracking.clone(),
            price,
        };
        self.tracking_events.insert(tracking, Vec::new());
        self.bookings.insert(key.to_owned(), booking.clone());
        booking
    }
}

/// The table-rate price of one standard parcel of `grams`.
fn quote(grams: u64) -> Result<Decimal, String> {
    RATE_BANDS
        .iter()
        .find(|(max, _)| grams <= *max)
        .map(|(_, cents)| Decimal::new(*cents, 2))
        .ok_or_else(|| format!("parcel of {grams} g is too heavy"))
}
