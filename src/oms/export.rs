//! The journal exported for an accountant: hledger or beancount.

use std::collections::HashMap;
use std::io::Write;

use super::Oms;
use crate::error::Error;
use crate::fulfilment::{Carrier, Shipment};
use crate::ids::{CreditNoteId, InvoiceId, OrderId, OrderNumber, PaymentId, ShipmentId};
use crate::ledger::{
    CreditNote, CreditNoteNumber, DocumentNumbers, EntrySource, ExportOptions, ExportSummary,
    Invoice, InvoiceNumber, JournalEntry, JournalWriter, Payment,
};
use crate::order::Order;
use crate::payment::PaymentProvider;
use crate::store::{Prefetch, Record, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// How many journal entries [`Oms::export_journal`] reads at a time.
    pub const EXPORT_PAGE: usize = 1_000;

    /// Writes the journal — every entry, or those posted in the options' range —
    /// to `out` as an hledger journal or a beancount file, for the accountant's
    /// own tools: the chart's accounts, then each entry described by its
    /// documents' numbers (invoice, credit note, order) and tagged with its id.
    /// See [`crate::ledger::JournalWriter`] for what the file holds.
    ///
    /// The journal is read in pages of [`Oms::EXPORT_PAGE`] entries, each page's
    /// documents in one batched read, and written as it is read (buffered), so a
    /// large ledger is never held whole. The entries come in posting order; a
    /// range still reads every page, as posting order need not be date order.
    /// Writing is blocking I/O on `out`: a host on an async runtime exports to a
    /// `Vec<u8>` or from a blocking task.
    ///
    /// ```
    /// # use o2c::prelude::*;
    /// use o2c::ledger::{ExportOptions, JournalFormat};
    /// # pollster::block_on(async {
    /// let oms = Oms::new(MemoryStore::new(), PickupCarrier::new());
    /// let mut books = Vec::new();
    /// let summary = oms.export_journal(&mut books, &ExportOptions::new(JournalFormat::Hledger)).await?;
    /// assert_eq!(summary.written, 0);
    /// assert!(String::from_utf8_lossy(&books).contains("account Assets:1100-Accounts-receivable"));
    /// // Saved as books.journal, the accountant runs: hledger -f books.journal balance
    /// // (or, as JournalFormat::Beancount in books.beancount: bean-check books.beancount)
    /// # Ok::<(), o2c::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Export`] with [`ExportError::BadRange`](crate::ledger::ExportError::BadRange)
    /// if the range starts after it ends (nothing is read or written),
    /// [`ExportError::Write`](crate::ledger::ExportError::Write) if `out` fails, or
    /// [`ExportError::UnknownAccount`](crate::ledger::ExportError::UnknownAccount)
    /// for an entry on an account the chart no longer has; [`Error::Read`] if the
    /// store fails. After an error, what was written is incomplete.
    pub async fn export_journal<W: Write + Send>(
        &self,
        out: W,
        options: &ExportOptions,
    ) -> Result<ExportSummary, Error> {
        let mut writer = JournalWriter::new(out, &self.config.chart, options)?;
        let mut read: u64 = 0;
        let mut offset = 0;
        loop {
            let page = self.store.journal(offset, Self::EXPORT_PAGE).await?;
            if page.is_empty() {
                break;
            }
            offset = offset.saturating_add(page.len());
            read = read.saturating_add(page.len() as u64);
            let wanted: Vec<&JournalEntry> = page
                .iter()
                .filter(|e| options.includes(e.posted_at().date_naive()))
                .collect();
            let numbers = self.document_numbers(&wanted).await?;
            for (entry, numbers) in wanted.into_iter().zip(numbers) {
                writer.write(entry, &numbers)?;
            }
            if page.len() < Self::EXPORT_PAGE {
                break;
            }
        }
        let written = writer.written();
        writer.finish()?;
        Ok(ExportSummary { read, written })
    }

    /// The numbers of the documents behind each of `entries`, from one read: the
    /// invoices, payments, credit notes, shipments and orders the entries' sources
    /// name, with the invoices and orders those name in turn.
    async fn document_numbers(
        &self,
        entries: &[&JournalEntry],
    ) -> Result<Vec<DocumentNumbers>, Error> {
        const ORDER: &[&str] = &["order"];
        const INVOICE_AND_ORDER: &[&str] = &["invoice", "order"];
        let mut ask = Prefetch::new();
        for entry in entries {
            ask = match entry.source() {
                EntrySource::Invoice { invoice } | EntrySource::InvoiceVoid { invoice } => {
                    ask.follow::<Invoice>(invoice, ORDER)
                }
                EntrySource::Payment { payment }
                | EntrySource::Refund { payment }
                | EntrySource::RefundReversed { payment } => {
                    ask.follow::<Payment>(payment, INVOICE_AND_ORDER)
                }
                EntrySource::CreditNote { credit_note } => {
                    ask.follow::<CreditNote>(credit_note, INVOICE_AND_ORDER)
                }
                EntrySource::Shipment { shipment } => ask.follow::<Shipment>(shipment, ORDER),
                EntrySource::Cancellation { order } => ask.record::<Order>(order),
                EntrySource::StockReceipt { .. }
                | EntrySource::StockAdjustment { .. }
                | EntrySource::Settlement { .. } => ask,
            };
        }
        let found = if ask.records.is_empty() {
            Documents::default()
        } else {
            let fetched = super::trace::store("fetch", self.store.fetch(&ask)).await?;
            Documents::index(fetched.records.iter().map(|(_, record)| &**record))
        };
        Ok(entries.iter().map(|e| found.numbers(e.source())).collect())
    }
}

/// The documents a page's entries name, indexed by id: each found once, however
/// many entries name it.
#[derive(Debug, Default)]
struct Documents {
    orders: HashMap<OrderId, Option<OrderNumber>>,
    invoices: HashMap<InvoiceId, (InvoiceNumber, OrderId)>,
    payments: HashMap<PaymentId, (InvoiceId, OrderId)>,
    credit_notes: HashMap<CreditNoteId, (CreditNoteNumber, InvoiceId, OrderId)>,
    shipments: HashMap<ShipmentId, OrderId>,
}

impl Documents {
    fn index<'a>(records: impl Iterator<Item = &'a Record>) -> Self {
        let mut found = Self::default();
        for record in records {
            match record {
                Record::Order(o) => {
                    found.orders.insert(o.id, o.number);
                }
                Record::Invoice(i) => {
                    found.invoices.insert(i.id, (i.number, i.order));
                }
                Record::Payment(p) => {
                    found.payments.insert(p.id, (p.invoice, p.order));
                }
                Record::CreditNote(c) => {
                    found
                        .credit_notes
                        .insert(c.id, (c.number, c.invoice, c.order));
                }
                Record::Shipment(s) => {
                    found.shipments.insert(s.id, s.order);
                }
                _ => {}
            }
        }
        found
    }

    /// The numbers behind `source`, as far as they were found.
    fn numbers(&self, source: &EntrySource) -> DocumentNumbers {
        let (invoice, order, note) = match source {
            EntrySource::Invoice { invoice } | EntrySource::InvoiceVoid { invoice } => {
                (Some(*invoice), None, None)
            }
            EntrySource::Payment { payment }
            | EntrySource::Refund { payment }
            | EntrySource::RefundReversed { payment } => match self.payments.get(payment) {
                Some((invoice, order)) => (Some(*invoice), Some(*order), None),
                None => (None, None, None),
            },
            EntrySource::CreditNote { credit_note } => match self.credit_notes.get(credit_note) {
                Some((number, invoice, order)) => (Some(*invoice), Some(*order), Some(*number)),
                None => (None, None, None),
            },
            EntrySource::Shipment { shipment } => {
                (None, self.shipments.get(shipment).copied(), None)
            }
            EntrySource::Cancellation { order } => (None, Some(*order), None),
            EntrySource::StockReceipt { .. }
            | EntrySource::StockAdjustment { .. }
            | EntrySource::Settlement { .. } => (None, None, None),
        };
        let invoice = invoice.and_then(|id| self.invoices.get(&id));
        // An invoice names its order; a payment or credit note does too.
        let order = order.or(invoice.map(|(_, order)| *order));
        DocumentNumbers {
            order: order.and_then(|id| self.orders.get(&id).copied().flatten()),
            invoice: invoice.map(|(number, _)| *number),
            credit_note: note,
        }
    }
}
