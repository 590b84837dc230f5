//! Due work: what a record falls due for, and when — an order still unpaid, an
//! invoice to remind the customer of, a purchase order that did not arrive — so
//! that [`Oms::run_due`](crate::Oms::run_due) finds what is due by an index, in
//! time order and in bounded batches, instead of reading every record.

use chrono::{DateTime, Days, Utc};
use serde::{Deserialize, Serialize};
use smallvec::{SmallVec, smallvec};

use super::{Entity, Record, RecordKey, Versioned};
use crate::order::Hold;

/// A kind of work a record can fall due for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DueKind {
    /// An order held waiting for the customer's money
    /// ([`Hold::waits_for_payment`]: prepayment, or a declined card), from
    /// when it was so held
    /// ([`Order::awaiting_payment_since`](crate::order::Order::awaiting_payment_since),
    /// else its placement).
    AwaitingPayment,
    /// An order held [`Hold::CreditLimit`], from its placement.
    CreditHold,
    /// An order held [`Hold::Overdue`], from its placement.
    OverdueHold,
    /// An open invoice, at its next payment reminder
    /// ([`Invoice::reminder_due_at`](crate::ledger::Invoice::reminder_due_at)).
    Reminder,
    /// A sent purchase order, from the day after it was expected.
    Delivery,
    /// An order paid through the payment provider with a request whose answer
    /// is not known (from when it was made), or else with an authorisation that
    /// may lapse before everything is captured (at its expiry).
    Payment,
}

impl DueKind {
    /// Every kind.
    pub const ALL: [DueKind; 6] = [
        DueKind::AwaitingPayment,
        DueKind::CreditHold,
        DueKind::OverdueHold,
        DueKind::Reminder,
        DueKind::Delivery,
        DueKind::Payment,
    ];

    /// The kind as text, as a store keeps it in a column. Files keep it, so it
    /// never changes.
    pub fn describe(self) -> &'static str {
        match self {
            DueKind::AwaitingPayment => "awaiting_payment",
            DueKind::CreditHold => "credit_hold",
            DueKind::OverdueHold => "overdue_hold",
            DueKind::Reminder => "reminder",
            DueKind::Delivery => "delivery",
            DueKind::Payment => "payment",
        }
    }
}

/// A record that falls due for some work at a time: what [`Store::due`](super::Store::due)
/// lists. Times are kept to the second.
#[derive(Debug, Clone, PartialEq)]
pub struct DueWork {
    /// What is due.
    pub kind: DueKind,
    /// When, in whole seconds since the Unix epoch.
    pub at: i64,
    /// The record, as stored.
    pub record: Versioned<Record>,
}

/// Where a listing of due work goes on from: after this time and record key
/// ([`RecordKey::describe`]), in that order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DueCursor {
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// The record's key as text.
    pub key: String,
}

impl DueWork {
    /// The cursor that lists what comes after this.
    pub fn cursor(&self) -> DueCursor {
        DueCursor {
            at: self.at,
            key: self.record.value.key().describe(),
        }
    }
}

impl Record {
    /// The work this record falls due for, each kind once, at the second it
    /// falls due: what a store keeps beside the record and rewrites with every
    /// put, as it does its index terms ([`Record::index_terms`]).
    pub fn due_work(&self) -> Vec<(DueKind, i64)> {
        self.due_entries().into_vec()
    }

    /// [`Record::due_work`] without a heap allocation: a record falls due for
    /// two kinds of work at most in practice (an order with two holds), and
    /// every put of an order or invoice asks.
    pub(crate) fn due_entries(&self) -> SmallVec<[(DueKind, i64); 2]> {
        match self {
            Record::Order(order) => {
                let placed = order.placed_at.timestamp();
                let unpaid = order
                    .awaiting_payment_since
                    .map_or(placed, |since| since.timestamp());
                let mut due = SmallVec::new();
                if order.holds.iter().any(|h| h.waits_for_payment()) {
                    due.push((DueKind::AwaitingPayment, unpaid));
                }
                for (hold, kind, at) in [
                    (Hold::CreditLimit, DueKind::CreditHold, placed),
                    (Hold::Overdue, DueKind::OverdueHold, placed),
                ] {
                    if order.holds.contains(&hold) {
                        due.push((kind, at));
                    }
                }
                if let Some(at) = crate::payment::due_at(order) {
                    due.push((DueKind::Payment, at.timestamp()));
                }
                due
            }
            Record::Invoice(invoice) => invoice
                .reminder_due_at()
                .map(|at| smallvec![(DueKind::Reminder, at.timestamp())])
                .unwrap_or_default(),
            Record::PurchaseOrder(po) if po.is_sent() => {
                let late = po
                    .expected_on
                    .checked_add_days(Days::new(1))
                    .and_then(|day| day.and_hms_opt(0, 0, 0))
                    .map_or(i64::MAX, |midnight| midnight.and_utc().timestamp());
                smallvec![(DueKind::Delivery, late)]
            }
            _ => SmallVec::new(),
        }
    }
}

impl RecordKey {
    /// Whether records of this key's kind may fall due for work: a store skips
    /// every other kind at commit without looking.
    pub(crate) fn may_fall_due(&self) -> bool {
        matches!(
            self,
            RecordKey::Order(_) | RecordKey::Invoice(_) | RecordKey::PurchaseOrder(_)
        )
    }
}

/// `at` seconds as a time (the far future for one out of range).
pub fn due_time(at: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(at, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A stored entity as a stored record.
pub(crate) fn boxed<E: Entity>(stored: Versioned<E>) -> Versioned<Record> {
    Versioned {
        value: stored.value.into_record(),
        version: stored.version,
    }
}

/// Of `records`, up to `limit` that fall due for `kind` at or before `until`
/// and after `after`, in due order: what [`Store::due`](super::Store::due)
/// answers, for a store that has no index of its own.
pub(crate) fn select(
    records: Vec<Versioned<Record>>,
    kind: DueKind,
    until: i64,
    after: Option<&DueCursor>,
    limit: usize,
) -> Vec<DueWork> {
    let mut due: Vec<(DueCursor, DueWork)> = records
        .into_iter()
        .filter_map(|record| {
            let at = record
                .value
                .due_work()
                .into_iter()
                .find(|(k, _)| *k == kind)?
                .1;
            let work = DueWork { kind, at, record };
            Some((work.cursor(), work))
        })
        .filter(|(cursor, _)| cursor.at <= until && after.is_none_or(|after| cursor > after))
        .collect();
    due.sort_by(|a, b| a.0.cmp(&b.0));
    due.into_iter().take(limit).map(|(_, work)| work).collect()
}
