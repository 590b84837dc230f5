//! One commit per command, writing what o2c's `SqliteStore` writes for it:
//! place order, record payment, ship an order.

use std::hash::{DefaultHasher, Hash, Hasher};

use std::sync::Arc;

use rusqlite::{Transaction, TransactionBehavior};

use super::json::{self, CUSTOMER, INVOICE, ORDER, PAYMENT, SHIPMENT, at, uid, usd};
use super::setup::order_ids;
use super::system::{Marks, SqlPlain};
use super::writes;
use crate::Res;
use crate::mix::NewOrder;

impl SqlPlain {
    /// Writes order `id` as an update from its last version, re-deciding readiness.
    fn update_order(&mut self, tx: &Transaction<'_>, id: usize) -> Res<()> {
        let order = self.plain.orders.get(id).ok_or("unknown order")?;
        let ready =
            order.status == crate::baseline::records::Status::Open && order.has_open_reservations();
        let ids = order_ids(
            id,
            self.customer_ids
                .get(order.customer)
                .ok_or("unknown customer")?,
        );
        let placed = placed(order.placed_ms);
        let body = writes::to_json(&self.order_json(id, &ids)?)?;
        let version = self.order_versions.get_mut(id).ok_or("unknown order")?;
        *version = writes::update_record(tx, &format!("order/{}", ids.0), *version, &body)?;
        writes::index_order(tx, None, &ids.0, placed, ready)
    }

    fn update_customer(&mut self, tx: &Transaction<'_>, customer: usize) -> Res<()> {
        let body = writes::to_json(&self.customer_json(customer)?)?;
        let key = format!(
            "customer/{}",
            self.customer_ids.get(customer).ok_or("unknown customer")?
        );
        let version = self
            .customer_versions
            .get_mut(customer)
            .ok_or("unknown customer")?;
        *version = writes::update_record(tx, &key, *version, &body)?;
        Ok(())
    }

    pub(super) fn write_placed(
        &mut self,
        n: u64,
        id: usize,
        invoice: usize,
        m: Marks,
        order: &NewOrder,
    ) -> Res<()> {
        let conn = Arc::clone(&self.conn);
        let conn = super::system::lock(&conn)?;
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        let o = self.plain.orders.get(id).ok_or("unknown order")?;
        let mut deltas: Vec<(&str, usize, i64)> = Vec::new();
        for l in &o.lines {
            for &(location, q) in &l.reservations {
                match deltas.iter_mut().find(|d| d.0 == l.sku && d.1 == location) {
                    Some(d) => d.2 += i64::from(q),
                    None => deltas.push((&l.sku, location, i64::from(q))),
                }
            }
        }
        for (sku, location, q) in deltas {
            writes::stock_delta(&tx, sku, self.location(location)?, 0, q)?;
        }
        let counter = writes::to_json(&json::Rec {
            kind: "counter",
            value: json::Counter {
                name: "invoice",
                value: self.plain.invoice_counter,
            },
        })?;
        self.counter_version = Some(match self.counter_version {
            None => {
                writes::insert_record(&tx, "counter/invoice", "counter", &counter).map(|()| 1)?
            }
            Some(v) => writes::update_record(&tx, "counter/invoice", v, &counter)?,
        });
        let customer = o.customer;
        let ids = order_ids(
            id,
            self.customer_ids.get(customer).ok_or("unknown customer")?,
        );
        let inv_ids = (uid(INVOICE, invoice), ids.0.clone(), ids.1.clone());
        let body = writes::to_json(&self.invoice_json(invoice, &inv_ids)?)?;
        writes::insert_record(&tx, &format!("invoice/{}", inv_ids.0), "invoice", &body)?;
        self.invoice_versions.push(1);
        let body = writes::to_json(&self.order_json(id, &ids)?)?;
        writes::insert_record(&tx, &format!("order/{}", ids.0), "order", &body)?;
        self.order_versions.push(1);
        let placed_at = placed(self.plain.orders.get(id).map_or(0, |o| o.placed_ms));
        writes::index_order(&tx, Some(&ids.1), &ids.0, placed_at, true)?;
        self.update_customer(&tx, customer)?;
        self.append_logs(&tx, m, &[("invoice", &inv_ids.0)])?;
        let key = format!("order-{n}");
        let mut h = DefaultHasher::new();
        (
            order.customer,
            order
                .lines
                .iter()
                .map(|l| (l.sku, l.quantity))
                .collect::<Vec<_>>(),
        )
            .hash(&mut h);
        let body = writes::to_json(&json::Idempotency {
            scope: "PlaceOrder",
            key: &key,
            fingerprint: h.finish(),
            outcome: json::Outcome::Order(&ids.0),
        })?;
        writes::idempotency(&tx, "place_order", &key, &body)?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn write_payment(&mut self, n: u64, m: Marks) -> Res<()> {
        let conn = Arc::clone(&self.conn);
        let conn = super::system::lock(&conn)?;
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        let id = self
            .plain
            .payments
            .len()
            .checked_sub(1)
            .ok_or("no payment")?;
        let p = self.plain.payments.get(id).ok_or("no payment")?;
        let (invoice, order, customer) = (p.invoice, p.order, p.customer);
        let ids = (
            uid(PAYMENT, id),
            uid(INVOICE, invoice),
            uid(ORDER, order),
            uid(CUSTOMER, customer),
        );
        let body = writes::to_json(&json::Rec {
            kind: "payment",
            value: json::Payment {
                id: &ids.0,
                invoice: &ids.1,
                order: &ids.2,
                customer: &ids.3,
                method: "BankTransfer",
                amount: usd(p.amount),
                applied: usd(p.applied),
                credited: usd(p.credited),
                received_at: at(p.received_ms),
                reference: None,
            },
        })?;
        writes::insert_record(&tx, &format!("payment/{}", ids.0), "payment", &body)?;
        let inv_ids = (ids.1.clone(), ids.2.clone(), ids.3.clone());
        let body = writes::to_json(&self.invoice_json(invoice, &inv_ids)?)?;
        let version = self
            .invoice_versions
            .get_mut(invoice)
            .ok_or("unknown invoice")?;
        *version = writes::update_record(&tx, &format!("invoice/{}", ids.1), *version, &body)?;
        self.update_order(&tx, order)?;
        self.update_customer(&tx, customer)?;
        self.append_logs(&tx, m, &[("payment", &ids.0)])?;
        let key = format!("pay-{n}");
        let body = writes::to_json(&json::Idempotency {
            scope: "RecordPayment",
            key: &key,
            fingerprint: n,
            outcome: json::Outcome::Payment(&ids.0),
        })?;
        writes::idempotency(&tx, "record_payment", &key, &body)?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn write_shipped(&mut self, order: usize, first: usize, m: Marks) -> Res<()> {
        let conn = Arc::clone(&self.conn);
        let conn = super::system::lock(&conn)?;
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        let shipments = self.plain.shipments.get(first..).unwrap_or_default();
        let mut deltas: Vec<(&str, usize, i64)> = Vec::new();
        for s in shipments {
            for (_, sku, units) in &s.lines {
                match deltas.iter_mut().find(|d| d.0 == sku && d.1 == s.location) {
                    Some(d) => d.2 += i64::from(*units),
                    None => deltas.push((sku, s.location, i64::from(*units))),
                }
            }
        }
        for (sku, location, q) in deltas {
            writes::stock_delta(&tx, sku, self.location(location)?, -q, -q)?;
        }
        let order_id = uid(ORDER, order);
        let mut sources = Vec::with_capacity(shipments.len());
        for (k, s) in shipments.iter().enumerate() {
            let id = uid(SHIPMENT, first + k);
            let location = self.location(s.location)?;
            let body = writes::to_json(&json::Rec {
                kind: "shipment",
                value: json::Shipment {
                    id: &id,
                    order: &order_id,
                    location,
                    lines: s
                        .lines
                        .iter()
                        .map(|(line_no, sku, quantity)| json::ShipmentLine {
                            line_no: *line_no,
                            sku,
                            quantity: *quantity,
                        })
                        .collect(),
                    carrier: &s.carrier,
                    service: "parcel-standard",
                    tracking: &s.tracking,
                    label: &s.label,
                    carrier_charge: usd(s.carrier_charge),
                    cost_of_goods: usd(s.cost_of_goods),
                    status: "Booked",
                    tracking_events: [],
                    booked_at: at(s.booked_ms),
                    delivered_at: None,
                    booking_key: &s.booking_key,
                },
            })?;
            writes::insert_record(&tx, &format!("shipment/{id}"), "shipment", &body)?;
            sources.push(id);
        }
        self.update_order(&tx, order)?;
        let stamp = at(self.plain.now_ms);
        for (s, id) in self
            .plain
            .shipments
            .get(first..)
            .unwrap_or_default()
            .iter()
            .zip(&sources)
        {
            let location = self.location(s.location)?;
            for (_, sku, units) in &s.lines {
                let q = -i64::from(*units);
                let body = writes::to_json(&json::Movement {
                    sku,
                    location,
                    quantity: q,
                    reason: json::MovementReason {
                        kind: "shipment",
                        shipment: id,
                    },
                    at: stamp,
                })?;
                writes::movement(&tx, sku, location, q, &body)?;
            }
        }
        let source: Vec<(&'static str, &str)> =
            sources.iter().map(|s| ("shipment", s.as_str())).collect();
        self.append_logs(&tx, m, &source)?;
        tx.commit()?;
        Ok(())
    }
}

/// `placed_at` as o2c's ready-to-ship index keys it: seconds, nanoseconds.
fn placed(ms: u64) -> (i64, i64) {
    let t = at(ms);
    (t.timestamp(), i64::from(t.timestamp_subsec_nanos()))
}
