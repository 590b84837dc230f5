//! What an entry says besides its postings — its description and tags — and
//! how amounts and text are written so both tools read them back exactly.

use std::fmt;

use crate::ids::OrderNumber;
use crate::ledger::{CreditNoteNumber, EntrySource, InvoiceNumber, JournalEntry};
use crate::money::{Currency, Money};

/// The human-facing numbers of the documents behind an entry, for its
/// description: what [`Oms::export_journal`](crate::Oms::export_journal) reads
/// for each entry's [`EntrySource`]. Any left out are left out of the description,
/// which falls back to the entry's memo when the source's own number is missing.
///
/// ```
/// use o2c::ids::OrderNumber;
/// use o2c::ledger::{DocumentNumbers, InvoiceNumber};
///
/// let numbers = DocumentNumbers::new().invoice(InvoiceNumber::new(42)).order(OrderNumber::new(7));
/// assert_eq!(numbers.invoice, Some(InvoiceNumber::new(42)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DocumentNumbers {
    /// The order the entry belongs to.
    pub order: Option<OrderNumber>,
    /// The invoice issued, voided, paid or credited.
    pub invoice: Option<InvoiceNumber>,
    /// The credit note issued.
    pub credit_note: Option<CreditNoteNumber>,
}

impl DocumentNumbers {
    /// No numbers.
    pub fn new() -> Self {
        Self::default()
    }

    /// With the order's number.
    #[must_use]
    pub fn order(mut self, number: OrderNumber) -> Self {
        self.order = Some(number);
        self
    }

    /// With the invoice's number.
    #[must_use]
    pub fn invoice(mut self, number: InvoiceNumber) -> Self {
        self.invoice = Some(number);
        self
    }

    /// With the credit note's number.
    #[must_use]
    pub fn credit_note(mut self, number: CreditNoteNumber) -> Self {
        self.credit_note = Some(number);
        self
    }
}

/// What the entry's source is, as its serde name.
pub(super) fn source_kind(source: &EntrySource) -> &'static str {
    match source {
        EntrySource::Invoice { .. } => "invoice",
        EntrySource::InvoiceVoid { .. } => "invoice_void",
        EntrySource::Payment { .. } => "payment",
        EntrySource::CreditNote { .. } => "credit_note",
        EntrySource::Refund { .. } => "refund",
        EntrySource::Shipment { .. } => "shipment",
        EntrySource::Cancellation { .. } => "cancellation",
        EntrySource::StockReceipt { .. } => "stock_receipt",
        EntrySource::StockAdjustment { .. } => "stock_adjustment",
        EntrySource::Settlement { .. } => "settlement",
        EntrySource::RefundReversed { .. } => "refund_reversed",
    }
}

/// The entry's description: what happened, by the numbers of its documents; the
/// memo when the source's own number is not known (or it has none: a stock
/// receipt, a payout).
pub(super) fn description(entry: &JournalEntry, numbers: &DocumentNumbers) -> String {
    let order = numbers
        .order
        .map(|n| format!(", order {n}"))
        .unwrap_or_default();
    let (invoice, note) = (numbers.invoice, numbers.credit_note);
    match (entry.source(), invoice, note, numbers.order) {
        (EntrySource::Invoice { .. }, Some(n), ..) => format!("invoice {n}{order}"),
        (EntrySource::InvoiceVoid { .. }, Some(n), ..) => format!("void invoice {n}{order}"),
        (EntrySource::Payment { .. }, Some(n), ..) => format!("payment on invoice {n}{order}"),
        (EntrySource::Refund { .. }, Some(n), ..) => {
            format!("refund of a payment on invoice {n}{order}")
        }
        (EntrySource::RefundReversed { .. }, Some(n), ..) => {
            format!("refund not made, of a payment on invoice {n}{order}")
        }
        (EntrySource::CreditNote { .. }, _, Some(n), _) => {
            let on = invoice
                .map(|i| format!(" on invoice {i}"))
                .unwrap_or_default();
            format!("credit note {n}{on}{order}")
        }
        (EntrySource::Shipment { .. }, .., Some(n)) => format!("shipment of order {n}"),
        (EntrySource::Cancellation { .. }, .., Some(n)) => {
            format!("order {n} cancelled: what was paid to customer credit")
        }
        _ => entry.memo().to_owned(),
    }
}

/// The entry's id, its source's kind and its documents' numbers: tags in
/// hledger, metadata in beancount.
pub(super) fn tags(entry: &JournalEntry, numbers: &DocumentNumbers) -> Vec<(&'static str, String)> {
    let mut tags = vec![
        ("entry", entry.id().to_string()),
        ("source", source_kind(entry.source()).to_owned()),
    ];
    if let Some(n) = numbers.credit_note {
        tags.push(("credit_note", n.to_string()));
    }
    if let Some(n) = numbers.invoice {
        tags.push(("invoice", n.to_string()));
    }
    if let Some(n) = numbers.order {
        tags.push(("order", n.to_string()));
    }
    tags
}

/// An amount as both tools read it: the exact decimal with at least the
/// currency's minor units (more only if the amount has more, never rounded),
/// right-aligned, then the ISO code.
pub(super) struct Amount(pub(super) Money);

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let amount = self.0.amount().normalize();
        let places = self.0.currency().minor_units().max(amount.scale()) as usize;
        let number = format!("{amount:.places$}");
        write!(f, "{number:>14} {}", self.0.currency().code())
    }
}

/// The sample number of an hledger `commodity` directive, which sets how many
/// decimals the currency shows: `1000.00` for cents, `1000.` for none.
pub(super) struct Sample(pub(super) Currency);

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("1000.")?;
        for _ in 0..self.0.minor_units() {
            f.write_str("0")?;
        }
        Ok(())
    }
}

/// `text` on one line: control characters (a newline) become spaces.
pub(super) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// `text` as an hledger description: on one line, with no `;` (which would start
/// a comment there).
pub(super) fn hledger_text(text: &str) -> String {
    one_line(text).replace(';', ",")
}

/// `text` inside a beancount string: on one line, `"` and `\` escaped.
pub(super) fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text).chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
