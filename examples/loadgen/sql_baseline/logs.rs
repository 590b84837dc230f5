//! The logs one commit appends, as o2c appends them: journal entries (numbered on),
//! the balances they touch (upserted as decimal text) and events (numbered on).

use rusqlite::Transaction;

use super::json::{self, CUSTOMER, ENTRY, INVOICE, ORDER, PAYMENT, SHIPMENT, at, uid, usd};
use super::system::{Marks, SqlPlain};
use super::writes;
use crate::Res;
use crate::baseline::records::Event;

impl SqlPlain {
    /// Appends the journal entries, balances and events made since `m`.
    pub(super) fn append_logs(
        &mut self,
        tx: &Transaction<'_>,
        m: Marks,
        source: &[(&'static str, &str)],
    ) -> Res<()> {
        let lines = self.plain.journal.get(m.journal..).unwrap_or_default();
        let mut accounts: Vec<&str> = Vec::new();
        for (n, (kind, of)) in source.iter().enumerate() {
            let entry = self.plain.entries - (source.len() - 1 - n) as u64;
            let entry_lines: Vec<json::EntryLine<'_>> = lines
                .iter()
                .filter(|l| l.entry == entry)
                .map(|l| json::EntryLine {
                    account: l.account,
                    amount: usd(l.amount),
                })
                .collect();
            for l in &entry_lines {
                if !accounts.contains(&l.account) {
                    accounts.push(l.account);
                }
            }
            let of = match *kind {
                "invoice" => json::SourceOf::Invoice(of),
                "payment" => json::SourceOf::Payment(of),
                _ => json::SourceOf::Shipment(of),
            };
            self.last_entry += 1;
            let id = uid(ENTRY, self.last_entry as usize);
            let body = writes::to_json(&json::Entry {
                id: &id,
                posted_at: at(self.plain.now_ms),
                memo: format!("{kind} {}", source.get(n).map_or("", |s| s.1)),
                source: json::Source { kind, of },
                lines: entry_lines,
            })?;
            writes::journal(tx, self.last_entry, &body)?;
        }
        for account in accounts {
            let balance = self
                .plain
                .balances
                .get(account)
                .copied()
                .unwrap_or_default();
            writes::balance(tx, account, &balance.to_string())?;
        }
        let stamp = writes::to_json(&at(self.plain.now_ms))?;
        let stamp = stamp.trim_matches('"');
        for e in self.plain.events.get(m.events..).unwrap_or_default() {
            self.last_event += 1;
            let body = self.event_json(&e.event)?;
            writes::event(tx, self.last_event, stamp, &body)?;
        }
        Ok(())
    }

    fn event_json(&self, event: &Event) -> Res<String> {
        let id = |tag, n| uid(tag, n);
        match event {
            Event::OrderPlaced {
                order,
                customer,
                total,
            } => {
                let (o, c) = (id(ORDER, *order), id(CUSTOMER, *customer));
                writes::to_json(&json::Event::OrderPlaced {
                    order: &o,
                    customer: &c,
                    channel: "Web",
                    total: usd(*total),
                })
            }
            Event::StockReservedForOrder {
                order,
                reservations,
            } => {
                let o = id(ORDER, *order);
                let mut lines = Vec::with_capacity(reservations.len());
                for (sku, location, quantity) in reservations {
                    lines.push(json::Reserved {
                        sku,
                        location: self.location(*location)?,
                        quantity: *quantity,
                    });
                }
                writes::to_json(&json::Event::StockReservedForOrder {
                    order: &o,
                    reservations: lines,
                })
            }
            Event::InvoiceIssued {
                invoice,
                number,
                order,
                total,
            } => {
                let (i, o) = (id(INVOICE, *invoice), id(ORDER, *order));
                writes::to_json(&json::Event::InvoiceIssued {
                    invoice: &i,
                    number: *number,
                    order: &o,
                    total: usd(*total),
                })
            }
            Event::PaymentRecorded {
                payment,
                invoice,
                order,
                amount,
                applied,
            } => {
                let (p, i, o) = (
                    id(PAYMENT, *payment),
                    id(INVOICE, *invoice),
                    id(ORDER, *order),
                );
                writes::to_json(&json::Event::PaymentRecorded {
                    payment: &p,
                    invoice: &i,
                    order: &o,
                    amount: usd(*amount),
                    applied: usd(*applied),
                })
            }
            Event::ShipmentBooked {
                shipment,
                order,
                location,
                carrier,
                tracking,
            } => {
                let (s, o) = (id(SHIPMENT, *shipment), id(ORDER, *order));
                let location = self.location(*location)?;
                writes::to_json(&json::Event::ShipmentBooked {
                    shipment: &s,
                    order: &o,
                    location,
                    carrier,
                    tracking,
                })
            }
        }
    }
}
