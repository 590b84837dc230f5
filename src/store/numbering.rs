//! Document numbers: gapless per series, handed out by the store inside the commit
//! that creates the document, so no command reads and rewrites a shared counter.

use serde::{Deserialize, Serialize};

use super::{Changeset, Entity, Record, RecordKey, StoreError, StoreResult};
use crate::ids::{OrderNumber, PurchaseOrderNumber, ReturnNumber};
use crate::ledger::{CreditNoteNumber, InvoiceNumber};

/// A series of document numbers. Each runs 1, 2, 3, … without a gap, in commit
/// order: a store takes the next numbers of a series inside the commit, after every
/// check has passed, and a commit that fails gives its numbers back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // each variant is the document of the same name
pub enum Series {
    Invoice,
    CreditNote,
    Order,
    PurchaseOrder,
    Return,
}

impl Series {
    /// The series's name, for tables and errors.
    pub fn name(self) -> &'static str {
        match self {
            Series::Invoice => "invoice",
            Series::CreditNote => "credit_note",
            Series::Order => "order",
            Series::PurchaseOrder => "purchase_order",
            Series::Return => "return",
        }
    }

    /// Number `n` of this series as people see it (`INV-000042`): what a journal
    /// memo or a listing prints.
    pub fn display(self, n: u64) -> String {
        match self {
            Series::Invoice => InvoiceNumber::new(n).to_string(),
            Series::CreditNote => CreditNoteNumber::new(n).to_string(),
            Series::Order => OrderNumber::new(n).to_string(),
            Series::PurchaseOrder => PurchaseOrderNumber::new(n).to_string(),
            Series::Return => ReturnNumber::new(n).to_string(),
        }
    }

    /// The series numbering documents with `key`'s kind, if they are numbered.
    pub fn of(key: &RecordKey) -> Option<Series> {
        match key {
            RecordKey::Invoice(_) => Some(Series::Invoice),
            RecordKey::CreditNote(_) => Some(Series::CreditNote),
            RecordKey::Order(_) => Some(Series::Order),
            RecordKey::PurchaseOrder(_) => Some(Series::PurchaseOrder),
            RecordKey::Return(_) => Some(Series::Return),
            _ => None,
        }
    }
}

/// What a commit did, for the command that asked for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Committed {
    /// The sequence of the commit's last event (the last one before it, if it had none).
    pub last_event: u64,
    /// The number each document of [`Changeset::numbered`] got, in that order.
    pub numbers: Vec<(RecordKey, u64)>,
}

impl Committed {
    /// A commit's outcome.
    pub fn new(last_event: u64, numbers: Vec<(RecordKey, u64)>) -> Self {
        Self {
            last_event,
            numbers,
        }
    }

    /// The number `document` got.
    pub fn number_of(&self, document: &RecordKey) -> Option<u64> {
        self.numbers
            .iter()
            .find(|(key, _)| key == document)
            .map(|(_, n)| *n)
    }
    /// `document` with the number it got: a command keeps its own copy of what it
    /// inserted, and gives that back numbered.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if the commit did not number it.
    pub fn numbered<E: Entity>(&self, document: E) -> StoreResult<E> {
        let mut record = document.into_record();
        let key = record.key();
        let not_numbered = || StoreError::Invalid {
            reason: format!("the store did not number {}", key.describe()),
        };
        let n = self.number_of(&key).ok_or_else(not_numbered)?;
        if !record.set_number(n) {
            return Err(not_numbered());
        }
        E::from_record(record).ok_or_else(not_numbered)
    }
}

impl Record {
    /// Gives a numbered document its number; `false` for a kind that has none.
    fn set_number(&mut self, n: u64) -> bool {
        match self {
            Record::Invoice(invoice) => invoice.number = InvoiceNumber::new(n),
            Record::CreditNote(note) => note.number = CreditNoteNumber::new(n),
            Record::Order(order) => order.number = Some(OrderNumber::new(n)),
            Record::PurchaseOrder(po) => po.number = Some(PurchaseOrderNumber::new(n)),
            Record::Return(rma) => rma.number = Some(ReturnNumber::new(n)),
            _ => return false,
        }
        true
    }
}

impl Changeset {
    /// Numbers the documents of [`Changeset::numbered`]: `next(series)` gives the
    /// next number of a series (a store takes it inside the commit, after its checks),
    /// and the document's insert, the events about it and the journal entries it
    /// caused all get it. Assigning again (a commit retried inside the store)
    /// overwrites, never adds.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if a numbered key is not a numbered kind or not
    /// inserted by this changeset; whatever `next` fails with.
    pub fn assign_numbers(
        &mut self,
        mut next: impl FnMut(Series) -> StoreResult<u64>,
    ) -> StoreResult<Vec<(RecordKey, u64)>> {
        let mut numbers = Vec::with_capacity(self.numbered.len());
        for key in &self.numbered {
            let series = Series::of(key).ok_or_else(|| StoreError::Invalid {
                reason: format!("{} is not a numbered document", key.describe()),
            })?;
            let put = self
                .puts
                .iter_mut()
                .find(|p| p.expected.is_none() && p.record.has_key(key))
                .ok_or_else(|| StoreError::Invalid {
                    reason: format!(
                        "{} is numbered but not inserted by the commit",
                        key.describe()
                    ),
                })?;
            let n = next(series)?;
            put.record.set_number(n);
            for event in &mut self.events {
                event.set_document_number(key, n);
            }
            for entry in &mut self.journal {
                entry.set_document_number(key, n);
            }
            numbers.push((key.clone(), n));
        }
        Ok(numbers)
    }

    /// Asks the store to number `document`, which this changeset inserts.
    pub fn number(&mut self, document: RecordKey) {
        self.numbered.push(document);
    }
}
