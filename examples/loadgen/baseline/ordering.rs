//! Placing an order in the baseline: pricing, allocation over locations, the stock
//! guard, reservations and the order record.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::Plain;
use super::money::{add, overflow, round, sum};
use super::records::{Amounts, Event, Level, PlainLine, PlainOrder, Status};
use crate::workload::Refusal;

/// Units of one line promised from one location.
struct Allocation {
    line: usize,
    location: usize,
    quantity: u32,
}

/// One SKU of an order: its code, the units all its lines want, and its levels by
/// location.
type Demand<'a> = (&'a str, u64, &'a [Level]);

/// Units available at `location` (none where there is no record).
fn available_at(levels: &[Level], location: usize) -> u64 {
    levels
        .get(location)
        .map_or(0, |l| u64::try_from(l.available()).unwrap_or(0))
}

impl Plain {
    pub(super) fn place(
        &mut self,
        key: String,
        customer: usize,
        requested: Vec<(String, u32)>,
    ) -> Result<(usize, usize), Refusal> {
        if let Some(&id) = self.order_keys.get(&key) {
            let invoice = self
                .orders
                .get(id)
                .and_then(|o| o.invoices.first().copied());
            return invoice
                .map(|i| (id, i))
                .ok_or_else(|| Refusal::Failed("replayed order has no invoice".into()));
        }
        if customer >= self.customers.len() {
            return Err(Refusal::Failed("unknown customer".into()));
        }
        let mut lines = self.price(requested)?;
        let allocations = self.allocate(&lines)?;
        self.check_reservations(&lines, &allocations)?;
        // Everything is checked: from here on the order is written.
        let id = self.orders.len();
        let mut events = Vec::with_capacity(3);
        let mut reserved = Vec::with_capacity(allocations.len());
        for a in &allocations {
            let line = lines
                .get_mut(a.line)
                .ok_or_else(|| Refusal::Failed("bad allocation".into()))?;
            line.reservations.push((a.location, a.quantity));
            self.level_mut(&line.sku, a.location)
                .map_err(Refusal::Failed)?
                .reserved += i64::from(a.quantity);
            reserved.push((line.sku.clone(), a.location, a.quantity));
        }
        // One event for all of them, as o2c records.
        if !reserved.is_empty() {
            events.push(Event::StockReservedForOrder {
                order: id,
                reservations: reserved,
            });
        }
        self.record_order(id, key, customer, lines, events)
            .map_err(Refusal::Failed)
    }

    fn record_order(
        &mut self,
        id: usize,
        key: String,
        customer: usize,
        lines: Vec<PlainLine>,
        mut events: Vec<Event>,
    ) -> Result<(usize, usize), String> {
        let now = self.now_ms;
        let net = sum(lines.iter().map(|l| l.amounts.net))?;
        let total = add(net, sum(lines.iter().map(|l| l.amounts.tax))?)?;
        events.insert(
            0,
            Event::OrderPlaced {
                order: id,
                customer,
                total,
            },
        );
        let buyer = self.customers.get_mut(customer).ok_or("unknown customer")?;
        buyer.orders_placed += 1;
        buyer.lifetime_value = add(buyer.lifetime_value, total)?;
        buyer.uninvoiced = add(buyer.uninvoiced, total)?;
        buyer.last_order_ms = Some(now);
        let mut order = PlainOrder {
            customer,
            key: key.clone(),
            lines,
            status: Status::Open,
            invoices: Vec::new(),
            shipments: Vec::new(),
            total,
            invoiced: Decimal::ZERO,
            paid: Decimal::ZERO,
            placed_ms: now,
            closed_ms: None,
        };
        let invoice = self.issue_invoice(id, &mut order, &mut events)?;
        if order.has_open_reservations() {
            self.ready_to_ship.insert((now, id));
        }
        self.orders.push(order);
        self.orders_by_customer
            .entry(customer)
            .or_default()
            .push(id);
        self.order_keys.insert(key, id);
        self.emit(events);
        Ok((id, invoice))
    }

    /// Prices every line from the catalogue: gross rounded, tax per line rounded.
    fn price(&self, requested: Vec<(String, u32)>) -> Result<Vec<PlainLine>, Refusal> {
        if requested.is_empty() {
            return Err(Refusal::Failed("an order needs at least one line".into()));
        }
        let mut lines = Vec::with_capacity(requested.len());
        for ((sku, quantity), line_no) in requested.into_iter().zip(1u16..) {
            if quantity == 0 {
                return Err(Refusal::Failed(format!("line {line_no}: zero quantity")));
            }
            let product = self.products.get(&sku).ok_or(Refusal::UnknownSku)?;
            let gross = product
                .price
                .checked_mul(Decimal::from(quantity))
                .map(round)
                .ok_or_else(|| Refusal::Failed(overflow()))?;
            let tax = gross
                .checked_mul(product.tax_rate)
                .map(round)
                .ok_or_else(|| Refusal::Failed(overflow()))?;
            lines.push(PlainLine {
                line_no,
                description: product.name.clone(),
                sku,
                quantity,
                unit_price: product.price,
                amounts: Amounts {
                    gross,
                    discount: Decimal::ZERO,
                    net: gross,
                    tax,
                },
                tax_rate: product.tax_rate,
                reservations: Vec::new(),
                shipped: 0,
                delivered: 0,
                invoiced: 0,
                invoiced_amounts: Amounts::default(),
            });
        }
        Ok(lines)
    }

    /// One location if one covers every line (by priority), otherwise each line
    /// takes what it can from locations in priority order.
    fn allocate(&self, lines: &[PlainLine]) -> Result<Vec<Allocation>, Refusal> {
        // Each SKU's levels are read once, with its total demand over the lines.
        let mut demand: Vec<Demand<'_>> = Vec::new();
        for l in lines {
            match demand.iter_mut().find(|(sku, ..)| *sku == l.sku) {
                Some((_, total, _)) => *total += u64::from(l.quantity),
                None => {
                    let levels = self.stock.get(&l.sku).map_or(&[][..], Vec::as_slice);
                    demand.push((&l.sku, u64::from(l.quantity), levels));
                }
            }
        }
        for (_, wanted, levels) in &demand {
            let total: u64 = self
                .by_priority
                .iter()
                .map(|&at| available_at(levels, at))
                .sum();
            if total < *wanted {
                return Err(Refusal::OutOfStock);
            }
        }
        let single = self.by_priority.iter().find(|&&at| {
            demand
                .iter()
                .all(|(_, wanted, levels)| available_at(levels, at) >= *wanted)
        });
        if let Some(&location) = single {
            return Ok(lines
                .iter()
                .enumerate()
                .map(|(line, l)| Allocation {
                    line,
                    location,
                    quantity: l.quantity,
                })
                .collect());
        }
        Ok(self.split(lines, &demand))
    }

    /// Each line takes what it can from locations in priority order; lines of the
    /// same SKU draw on the same availability.
    fn split(&self, lines: &[PlainLine], demand: &[Demand<'_>]) -> Vec<Allocation> {
        let mut left: HashMap<(&str, usize), u64> = HashMap::new();
        let mut allocations = Vec::new();
        for (line, l) in lines.iter().enumerate() {
            let levels = demand
                .iter()
                .find(|(sku, ..)| *sku == l.sku)
                .map_or(&[][..], |d| d.2);
            let mut needed = u64::from(l.quantity);
            for &location in &self.by_priority {
                if needed == 0 {
                    break;
                }
                let units = left
                    .entry((l.sku.as_str(), location))
                    .or_insert_with(|| available_at(levels, location));
                let take = needed.min(*units);
                if take == 0 {
                    continue;
                }
                *units -= take;
                needed -= take;
                allocations.push(Allocation {
                    line,
                    location,
                    quantity: u32::try_from(take).unwrap_or(u32::MAX),
                });
            }
        }
        allocations
    }

    /// The stock guard: after the reservations, `reserved ≤ on_hand` everywhere.
    fn check_reservations(
        &self,
        lines: &[PlainLine],
        allocations: &[Allocation],
    ) -> Result<(), Refusal> {
        let mut pending: HashMap<(&str, usize), i64> = HashMap::new();
        for a in allocations {
            let sku = lines
                .get(a.line)
                .map(|l| l.sku.as_str())
                .ok_or_else(|| Refusal::Failed("bad allocation".into()))?;
            let level = self.level(sku, a.location).ok_or(Refusal::OutOfStock)?;
            let extra = pending.entry((sku, a.location)).or_insert(0);
            *extra += i64::from(a.quantity);
            if level.reserved + *extra > level.on_hand {
                return Err(Refusal::OutOfStock);
            }
        }
        Ok(())
    }
}
