//! The baseline's file before the pass (o2c's master data, stock and opening
//! movements), and its in-memory records rendered as o2c's JSON.

use std::path::Path;

use std::sync::{Arc, Mutex};

use rusqlite::{Transaction, TransactionBehavior};
use rust_decimal::Decimal;

use super::json::{self, CUSTOMER, INVOICE, ORDER, PRODUCT, SHIPMENT, at, uid, usd};
use super::system::SqlPlain;
use super::{schema, writes};
use crate::Res;
use crate::args::Durability;
use crate::baseline::Plain;
use crate::baseline::records::{PlainInvoice, PlainOrder, Status};
use crate::world::World;

impl SqlPlain {
    /// A new file at `path` loaded with `world`, and the in-memory state beside it.
    pub(super) fn setup(path: &Path, durability: Durability, world: &World) -> Res<Self> {
        let conn = Arc::new(Mutex::new(schema::create(path, durability)?));
        let plain = Plain::setup(world);
        let names = (0..world.customers)
            .map(|i| (format!("Customer {i}"), format!("customer{i}@example.com")))
            .collect();
        let mut system = SqlPlain::new(Arc::clone(&conn), plain, names);
        let conn = super::system::lock(&conn)?;
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        for (i, code) in world.locations.iter().enumerate() {
            let body = format!(
                r#"{{"kind":"location","value":{{"id":"{code}","name":"{code}","kind":"Warehouse","address":{{"name":"{code}","lines":["1 Dock Rd"],"city":"Reno","postal_code":"89501","country":"US"}},"priority":{},"fulfils_orders":true}}}}"#,
                i + 1
            );
            writes::insert_record(&tx, &format!("location/{code}"), "location", &body)?;
        }
        for (i, spec) in world.products.iter().enumerate() {
            let body = format!(
                r#"{{"kind":"product","value":{{"sku":"{}","name":"{}","id":"{}","price":{{"amount":"{}","currency":"USD"}},"cost":{{"amount":"{}","currency":"USD"}},"weight_grams":{},"reorder_point":{},"reduced":{}}}}}"#,
                spec.code,
                spec.name,
                uid(PRODUCT, i),
                Decimal::new(spec.price_cents, 2),
                Decimal::new(spec.cost_cents, 2),
                spec.weight_grams,
                spec.reorder_point,
                spec.reduced_tax
            );
            writes::insert_record(&tx, &format!("product/{}", spec.code), "product", &body)?;
            for location in &world.locations {
                tx.prepare_cached(
                    "INSERT INTO stock (sku, location, on_hand, reserved) VALUES (?1, ?2, ?3, 0)",
                )?
                .execute(rusqlite::params![spec.code, location, world.stock])?;
                let body = format!(
                    r#"{{"sku":"{}","location":"{location}","quantity":{},"reason":{{"kind":"receipt","reference":"opening stock"}},"at":"2026-01-01T00:00:00Z"}}"#,
                    spec.code, world.stock
                );
                writes::movement(&tx, &spec.code, location, i64::from(world.stock), &body)?;
                let key = format!("opening-{}-{location}", spec.code);
                let body = format!(
                    r#"{{"scope":"ReceiveStock","key":"{key}","fingerprint":0,"outcome":"Stock"}}"#
                );
                writes::idempotency(&tx, "receive_stock", &key, &body)?;
            }
        }
        for i in 0..world.customers {
            let body = writes::to_json(&system.customer_json(i)?)?;
            writes::insert_record(&tx, &uid_key("customer", CUSTOMER, i), "customer", &body)?;
        }
        tx.commit()?;
        system.customer_versions = vec![1; world.customers];
        Ok(system)
    }

    /// A customer as o2c stores it.
    pub(super) fn customer_json(&self, i: usize) -> Res<json::Rec<json::Customer<'_>>> {
        let c = self.plain.customers.get(i).ok_or("unknown customer")?;
        let (name, email) = self.names.get(i).ok_or("unknown customer")?;
        let id = self.customer_ids.get(i).ok_or("unknown customer")?;
        Ok(json::Rec {
            kind: "customer",
            value: json::Customer {
                id,
                profile: json::Profile {
                    name,
                    email,
                    phone: None,
                    addresses: [address(name)],
                    currency: "USD",
                    payment_method: "BankTransfer",
                    terms: json::Terms::Net { days: 30 },
                    credit_limit: None,
                },
                history: json::History {
                    orders_placed: c.orders_placed,
                    orders_cancelled: 0,
                    lifetime_value: usd(c.lifetime_value),
                    last_order_at: c.last_order_ms.map(at),
                    balance: usd(c.balance),
                    credit: usd(c.credit),
                    uninvoiced: usd(c.uninvoiced),
                },
                registered_at: at(0),
            },
        })
    }

    /// Order `id` as o2c stores it.
    pub(super) fn order_json<'a>(
        &'a self,
        id: usize,
        ids: &'a (String, String),
    ) -> Res<json::Rec<json::Order<'a>>> {
        let o: &PlainOrder = self.plain.orders.get(id).ok_or("unknown order")?;
        let (order_id, customer_id) = (&ids.0, &ids.1);
        let (name, _) = self.names.get(o.customer).ok_or("unknown customer")?;
        let mut lines = Vec::with_capacity(o.lines.len());
        for l in &o.lines {
            let mut reservations = Vec::with_capacity(l.reservations.len());
            for &(location, quantity) in &l.reservations {
                let location = self.location(location)?;
                reservations.push(json::Reservation { location, quantity });
            }
            lines.push(json::OrderLine {
                line_no: l.line_no,
                sku: &l.sku,
                description: &l.description,
                quantity: l.quantity,
                unit_price: usd(l.unit_price),
                amounts: json::Amounts {
                    gross: usd(l.amounts.gross),
                    discount: usd(l.amounts.discount),
                    net: usd(l.amounts.net),
                    tax: usd(l.amounts.tax),
                },
                tax_rate: l.tax_rate,
                reservations,
                shipped: l.shipped,
                delivered: l.delivered,
                cancelled: 0,
                invoiced: l.invoiced,
            });
        }
        Ok(json::Rec {
            kind: "order",
            value: json::Order {
                id: order_id,
                customer: customer_id,
                channel: "Web",
                currency: "USD",
                lines,
                delivery: json::Delivery {
                    kind: "ship",
                    address: address(name),
                    service: "Standard",
                },
                shipping_charge: usd(Decimal::ZERO),
                status: if o.status == Status::Open {
                    "Open"
                } else {
                    "Completed"
                },
                holds: [],
                invoices: o.invoices.iter().map(|&i| uid(INVOICE, i)).collect(),
                shipments: o.shipments.iter().map(|&s| uid(SHIPMENT, s)).collect(),
                invoiced: usd(o.invoiced),
                paid: usd(o.paid),
                placed_at: at(o.placed_ms),
                closed_at: o.closed_ms.map(at),
                idempotency_key: &o.key,
                note: None,
            },
        })
    }

    /// Invoice `id` as o2c stores it.
    pub(super) fn invoice_json<'a>(
        &'a self,
        id: usize,
        ids: &'a (String, String, String),
    ) -> Res<json::Rec<json::Invoice<'a>>> {
        let i: &PlainInvoice = self.plain.invoices.get(id).ok_or("unknown invoice")?;
        let lines = i
            .lines
            .iter()
            .map(|l| json::InvoiceLine {
                line_no: l.line_no,
                sku: &l.sku,
                description: &l.description,
                quantity: l.quantity,
                gross: usd(l.amounts.gross),
                discount: usd(l.amounts.discount),
                net: usd(l.amounts.net),
                tax_rate: l.tax_rate,
                tax: usd(l.amounts.tax),
            })
            .collect();
        let paid = i.paid == i.total;
        Ok(json::Rec {
            kind: "invoice",
            value: json::Invoice {
                id: &ids.0,
                number: i.number,
                order: &ids.1,
                customer: &ids.2,
                issued_at: at(i.issued_ms),
                due_at: at(i.due_ms),
                lines,
                shipping: usd(i.shipping),
                paid: usd(i.paid),
                status: if paid { "Paid" } else { "Open" },
            },
        })
    }

    pub(super) fn location(&self, index: usize) -> Res<&str> {
        Ok(self
            .plain
            .location_codes
            .get(index)
            .ok_or("unknown location")?)
    }
}

/// `kind/<uid>`.
pub(super) fn uid_key(kind: &str, tag: u16, n: usize) -> String {
    format!("{kind}/{}", uid(tag, n))
}

/// The key of order `id`, its customer's id, with `ORDER`'s tag.
pub(super) fn order_ids(id: usize, customer: &str) -> (String, String) {
    (uid(ORDER, id), customer.to_owned())
}

fn address(name: &str) -> json::Address<'_> {
    json::Address {
        name,
        lines: ["12 Main St"],
        city: "Boston",
        postal_code: "02108",
        country: "US",
    }
}
