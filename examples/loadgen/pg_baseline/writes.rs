//! The statements of one command's transaction, built from what the in-memory
//! decision ([`Plain`]) just did, while the caller holds it.

use rust_decimal::Decimal;
use serde_json::json;

use super::ids::{CUSTOMER, INVOICE, ORDER, PAYMENT, SHIPMENT, uid};
use super::statements::{Param, Stmt, Write};
use crate::baseline::Plain;
use crate::baseline::records::{Event, PlainOrder};

/// Where one command's journal lines and events start in [`Plain`]'s logs.
#[derive(Clone, Copy)]
pub(super) struct Marks {
    events: usize,
    journal: usize,
}

pub(super) fn marks(plain: &Plain) -> Marks {
    Marks {
        events: plain.events.len(),
        journal: plain.journal.len(),
    }
}

fn text(value: impl Into<String>) -> Param {
    Box::new(value.into())
}

fn int(value: i64) -> Param {
    Box::new(value)
}

fn ints(values: Vec<i32>) -> Param {
    Box::new(values)
}

fn texts(values: Vec<String>) -> Param {
    Box::new(values)
}

/// Milliseconds of the run's clock as a column holds them.
fn ms(at: u64) -> Param {
    int(i64::try_from(at).unwrap_or(i64::MAX))
}

fn location(plain: &Plain, index: usize) -> Result<&str, String> {
    plain
        .location_codes
        .get(index)
        .map(String::as_str)
        .ok_or_else(|| "unknown location".to_owned())
}

/// Units moved per SKU × location, merged and in key order, so that concurrent
/// transactions lock stock rows in one order.
fn stock_deltas(
    moves: impl IntoIterator<Item = (String, String, i64)>,
) -> Vec<(String, String, i64)> {
    let mut deltas: Vec<(String, String, i64)> = Vec::new();
    for (sku, at, units) in moves {
        match deltas.iter_mut().find(|d| d.0 == sku && d.1 == at) {
            Some(d) => d.2 += units,
            None => deltas.push((sku, at, units)),
        }
    }
    deltas.sort();
    deltas
}

/// A line's open reservations as stored: `[{"location": .., "quantity": ..}]`.
fn reservations(plain: &Plain, reserved: &[(usize, u32)]) -> Result<String, String> {
    let mut list = Vec::with_capacity(reserved.len());
    for &(at, quantity) in reserved {
        list.push(json!({ "location": location(plain, at)?, "quantity": quantity }));
    }
    Ok(serde_json::Value::Array(list).to_string())
}

/// Placing order `order` with its invoice: the key, the reservations, the
/// customer, the order and its lines, the invoice, the indexes, then the logs.
pub(super) fn placed(
    plain: &Plain,
    n: u64,
    order: usize,
    invoice: usize,
    m: Marks,
) -> Result<Vec<Write>, String> {
    let o: &PlainOrder = plain.orders.get(order).ok_or("unknown order")?;
    let inv = plain.invoices.get(invoice).ok_or("unknown invoice")?;
    let (order_id, customer_id, invoice_id) = (
        uid(ORDER, order),
        uid(CUSTOMER, o.customer),
        uid(INVOICE, invoice),
    );
    let mut w: Vec<Write> = vec![(
        Stmt::Key,
        vec![
            text("place_order"),
            text(format!("order-{n}")),
            text(order_id.clone()),
        ],
    )];
    let mut moves = Vec::new();
    for l in &o.lines {
        for &(at, units) in &l.reservations {
            moves.push((
                l.sku.clone(),
                location(plain, at)?.to_owned(),
                i64::from(units),
            ));
        }
    }
    for (sku, at, units) in stock_deltas(moves) {
        w.push((Stmt::Reserve, vec![text(sku), text(at), int(units)]));
    }
    w.push((
        Stmt::Buyer,
        vec![
            text(customer_id.clone()),
            text(o.total.to_string()),
            ms(o.placed_ms),
        ],
    ));
    w.push((
        Stmt::Order,
        vec![
            text(order_id.clone()),
            text(customer_id.clone()),
            text(o.total.to_string()),
            ms(o.placed_ms),
            text(o.key.clone()),
        ],
    ));
    let mut reserved = Vec::with_capacity(o.lines.len());
    for l in &o.lines {
        reserved.push(reservations(plain, &l.reservations)?);
    }
    let column = |f: fn(&crate::baseline::records::PlainLine) -> String| -> Vec<String> {
        o.lines.iter().map(f).collect()
    };
    w.push((
        Stmt::Lines,
        vec![
            text(order_id.clone()),
            ints(o.lines.iter().map(|l| i32::from(l.line_no)).collect()),
            texts(column(|l| l.sku.clone())),
            ints(
                o.lines
                    .iter()
                    .map(|l| i32::try_from(l.quantity).unwrap_or(i32::MAX))
                    .collect(),
            ),
            texts(column(|l| l.unit_price.to_string())),
            texts(column(|l| l.amounts.net.to_string())),
            texts(column(|l| l.amounts.tax.to_string())),
            texts(column(|l| l.tax_rate.to_string())),
            texts(reserved),
        ],
    ));
    let invoice_lines: Vec<serde_json::Value> = inv
        .lines
        .iter()
        .map(|l| {
            json!({
                "line_no": l.line_no, "sku": l.sku, "quantity": l.quantity,
                "net": l.amounts.net.to_string(), "tax": l.amounts.tax.to_string(),
                "tax_rate": l.tax_rate.to_string(),
            })
        })
        .collect();
    let tax: Decimal = inv.lines.iter().map(|l| l.amounts.tax).sum();
    w.push((
        Stmt::Invoice,
        vec![
            text(invoice_id.clone()),
            text(order_id.clone()),
            text(customer_id.clone()),
            ms(inv.issued_ms),
            ms(inv.due_ms),
            text(inv.total.to_string()),
            text(tax.to_string()),
            text(serde_json::Value::Array(invoice_lines).to_string()),
        ],
    ));
    w.push((
        Stmt::CustomerOrder,
        vec![text(customer_id), text(order_id.clone())],
    ));
    if o.has_open_reservations() {
        w.push((Stmt::Ready, vec![ms(o.placed_ms), text(order_id)]));
    }
    logs(
        plain,
        m,
        &[format!("invoice {invoice_id}")],
        &invoice_id,
        &mut w,
    )?;
    Ok(w)
}

/// The payment [`Plain`] just recorded (its last): the key, the customer, the
/// order, the invoice (never past its total), the payment row, then the logs.
pub(super) fn payment(plain: &Plain, n: u64, m: Marks) -> Result<Vec<Write>, String> {
    let id = plain.payments.len().checked_sub(1).ok_or("no payment")?;
    let p = plain.payments.get(id).ok_or("no payment")?;
    let order = plain.orders.get(p.order).ok_or("unknown order")?;
    let (payment_id, invoice_id, order_id, customer_id) = (
        uid(PAYMENT, id),
        uid(INVOICE, p.invoice),
        uid(ORDER, p.order),
        uid(CUSTOMER, p.customer),
    );
    let applied = p.applied.to_string();
    let status = if order.status == crate::baseline::records::Status::Open {
        "open"
    } else {
        "completed"
    };
    let mut w: Vec<Write> = vec![
        (
            Stmt::Key,
            vec![
                text("record_payment"),
                text(format!("pay-{n}")),
                text(payment_id.clone()),
            ],
        ),
        (
            Stmt::PayBuyer,
            vec![text(customer_id.clone()), text(applied.clone())],
        ),
        (
            Stmt::PayOrder,
            vec![text(order_id.clone()), text(applied.clone()), text(status)],
        ),
        (
            Stmt::PayInvoice,
            vec![text(invoice_id.clone()), text(applied.clone())],
        ),
        (
            Stmt::Payment,
            vec![
                text(payment_id.clone()),
                text(invoice_id),
                text(order_id),
                text(customer_id),
                text(p.amount.to_string()),
                text(applied),
                ms(p.received_ms),
                text(p.key.clone()),
            ],
        ),
    ];
    logs(plain, m, &[format!("payment {payment_id}")], "", &mut w)?;
    Ok(w)
}

/// Shipping order `order`, whose shipments start at `first` in [`Plain`]'s list:
/// the key, the stock picked, the order and its lines, the ready index, the
/// shipments and their movements, then the logs.
pub(super) fn shipped(
    plain: &Plain,
    order: usize,
    first: usize,
    m: Marks,
) -> Result<Vec<Write>, String> {
    let o = plain.orders.get(order).ok_or("unknown order")?;
    let shipments = plain.shipments.get(first..).unwrap_or_default();
    let order_id = uid(ORDER, order);
    let booking = shipments.first().map_or("", |s| s.booking_key.as_str());
    let mut w: Vec<Write> = vec![(
        Stmt::Key,
        vec![text("ship"), text(booking), text(order_id.clone())],
    )];
    let mut moves = Vec::new();
    for s in shipments {
        for (_, sku, units) in &s.lines {
            moves.push((
                sku.clone(),
                location(plain, s.location)?.to_owned(),
                i64::from(*units),
            ));
        }
    }
    for (sku, at, units) in stock_deltas(moves) {
        w.push((Stmt::Pick, vec![text(sku), text(at), int(units)]));
    }
    w.push((
        Stmt::ShipOrder,
        vec![text(order_id.clone()), int(shipments.len() as i64)],
    ));
    let (mut line_nos, mut units, mut reserved) = (Vec::new(), Vec::new(), Vec::new());
    for l in &o.lines {
        let shipped: u32 = shipments
            .iter()
            .flat_map(|s| &s.lines)
            .filter(|(line_no, _, _)| *line_no == l.line_no)
            .map(|(_, _, u)| *u)
            .sum();
        if shipped > 0 {
            line_nos.push(i32::from(l.line_no));
            units.push(i32::try_from(shipped).unwrap_or(i32::MAX));
            reserved.push(reservations(plain, &l.reservations)?);
        }
    }
    w.push((
        Stmt::ShipLines,
        vec![
            text(order_id.clone()),
            ints(line_nos),
            ints(units),
            texts(reserved),
        ],
    ));
    if !o.has_open_reservations() {
        w.push((Stmt::Unready, vec![ms(o.placed_ms), text(order_id.clone())]));
    }
    let mut rows: [Vec<String>; 8] = Default::default();
    let (mut skus, mut at, mut quantities, mut reasons) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut sources = Vec::with_capacity(shipments.len());
    for (k, s) in shipments.iter().enumerate() {
        let id = uid(SHIPMENT, first + k);
        let code = location(plain, s.location)?.to_owned();
        let lines: Vec<serde_json::Value> = s
            .lines
            .iter()
            .map(|(line_no, sku, units)| json!({"line_no": line_no, "sku": sku, "quantity": units}))
            .collect();
        for (_, sku, units) in &s.lines {
            skus.push(sku.clone());
            at.push(code.clone());
            quantities.push(-i64::from(*units));
            reasons.push(format!("shipment {id}"));
        }
        let row = [
            id.clone(),
            code,
            s.carrier.clone(),
            s.tracking.clone(),
            s.label.clone(),
            s.carrier_charge.to_string(),
            s.cost_of_goods.to_string(),
            serde_json::Value::Array(lines).to_string(),
        ];
        for (column, value) in rows.iter_mut().zip(row) {
            column.push(value);
        }
        sources.push(format!("shipment {id}"));
    }
    let booked = shipments.first().map_or(plain.now_ms, |s| s.booked_ms);
    let mut params = vec![text(order_id), ms(booked)];
    params.extend(rows.into_iter().map(texts));
    w.push((Stmt::Shipments, params));
    w.push((
        Stmt::Movements,
        vec![
            ms(plain.now_ms),
            texts(skus),
            texts(at),
            Box::new(quantities),
            texts(reasons),
        ],
    ));
    logs(plain, m, &sources, "", &mut w)?;
    Ok(w)
}

/// The balances, journal lines and events made since `m`: entry `k` of the
/// command is sourced by `sources[k]`; `invoice` is the id whose number the
/// events carry, if any.
fn logs(
    plain: &Plain,
    m: Marks,
    sources: &[String],
    invoice: &str,
    w: &mut Vec<Write>,
) -> Result<(), String> {
    let lines = plain.journal.get(m.journal..).unwrap_or_default();
    let mut sums: Vec<(&str, Decimal)> = Vec::new();
    for l in lines {
        match sums.iter_mut().find(|s| s.0 == l.account) {
            Some(s) => s.1 += l.amount,
            None => sums.push((l.account, l.amount)),
        }
    }
    sums.sort_by(|a, b| a.0.cmp(b.0));
    if !sums.is_empty() {
        w.push((
            Stmt::Balances,
            vec![
                texts(sums.iter().map(|s| s.0.to_owned()).collect()),
                texts(sums.iter().map(|s| s.1.to_string()).collect()),
            ],
        ));
    }
    if !lines.is_empty() {
        let mut entries: Vec<u64> = Vec::new();
        let (mut offsets, mut line_nos, mut from) = (Vec::new(), Vec::new(), Vec::new());
        for l in lines {
            if entries.last() != Some(&l.entry) {
                entries.push(l.entry);
                line_nos.push(1);
            } else {
                let next = line_nos.last().map_or(1, |n| n + 1);
                line_nos.push(next);
            }
            let k = entries.len();
            offsets.push(k as i64);
            let source = sources.get(k - 1).or(sources.last());
            from.push(source.cloned().unwrap_or_default());
        }
        w.push((
            Stmt::Journal,
            vec![
                int(entries.len() as i64),
                ms(plain.now_ms),
                Box::new(offsets),
                ints(line_nos),
                texts(lines.iter().map(|l| l.account.to_owned()).collect()),
                texts(lines.iter().map(|l| l.amount.to_string()).collect()),
                texts(from),
            ],
        ));
    }
    let events = plain.events.get(m.events..).unwrap_or_default();
    if !events.is_empty() {
        let (mut kinds, mut bodies) = (Vec::new(), Vec::new());
        for e in events {
            let (kind, body) = event(plain, &e.event)?;
            kinds.push(kind.to_owned());
            bodies.push(body);
        }
        w.push((
            Stmt::Events,
            vec![
                int(events.len() as i64),
                ms(plain.now_ms),
                texts(kinds),
                texts(bodies),
                text(invoice),
            ],
        ));
    }
    Ok(())
}

/// An event's kind and JSON body. An invoice's number is written `0` here: the
/// statement that appends the events puts the number the database gave in.
fn event(plain: &Plain, event: &Event) -> Result<(&'static str, String), String> {
    let (kind, body) = match event {
        Event::OrderPlaced {
            order,
            customer,
            total,
        } => (
            "OrderPlaced",
            json!({"order": uid(ORDER, *order), "customer": uid(CUSTOMER, *customer),
                   "channel": "Web", "total": total.to_string()}),
        ),
        Event::StockReservedForOrder {
            order,
            reservations,
        } => {
            let mut lines = Vec::with_capacity(reservations.len());
            for (sku, at, quantity) in reservations {
                lines.push(
                    json!({"sku": sku, "location": location(plain, *at)?, "quantity": quantity}),
                );
            }
            (
                "StockReservedForOrder",
                json!({"order": uid(ORDER, *order), "reservations": lines}),
            )
        }
        Event::InvoiceIssued {
            invoice,
            order,
            total,
            ..
        } => (
            "InvoiceIssued",
            json!({"invoice": uid(INVOICE, *invoice), "number": 0,
                   "order": uid(ORDER, *order), "total": total.to_string()}),
        ),
        Event::PaymentRecorded {
            payment,
            invoice,
            order,
            amount,
            applied,
        } => (
            "PaymentRecorded",
            json!({"payment": uid(PAYMENT, *payment), "invoice": uid(INVOICE, *invoice),
                   "order": uid(ORDER, *order), "amount": amount.to_string(),
                   "applied": applied.to_string()}),
        ),
        Event::ShipmentBooked {
            shipment,
            order,
            location: at,
            carrier,
            tracking,
        } => (
            "ShipmentBooked",
            json!({"shipment": uid(SHIPMENT, *shipment), "order": uid(ORDER, *order),
                   "location": location(plain, *at)?, "carrier": carrier, "tracking": tracking}),
        ),
    };
    Ok((kind, body.to_string()))
}
