//! Reconciliation: check every invariant of the books and the stock over a whole store.
//!
//! Run it in production as a nightly reconciliation, or after every step in tests. It
//! only reads, and it reports what it finds instead of stopping at the first problem.
//!
//! # What it trusts
//! Nothing that a document can be checked against. It reads one [`Snapshot`] of the
//! store, so records written by concurrent commands never look inconsistent with
//! each other, and walks each kind of record once, keeping only what the checks
//! need (per order line, per customer, per account), never a whole table:
//! - **the ledger** against itself: journal positions gapless, every entry balanced,
//!   the stored balances equal to the sum of the journal, the trial balance zero;
//! - **every account against its documents**: the posting rules applied to every
//!   invoice (and its void), credit note, payment and refund, shipment, receipt and
//!   return give each account's expected balance, computed from the documents and
//!   not from the ledger. Inventory is Σ on-hand × cost; inventory adjustments are
//!   what is left of inventory's change once receipts, shipments and returns are
//!   accounted for (revaluations, roundings and counts have no document of their
//!   own). The documents are posted with the [`AccountMap`](crate::ledger::AccountMap)
//!   of the `Oms` that audits, so audit with the map the store was written with;
//! - **documents against themselves and each other**: gross − discount = net on
//!   every invoice and credit-note line; what an order line's invoices bill equals
//!   its share for the units invoiced, at its tax rate; shipments against the order
//!   lines' shipped units and the stock that left for them; returns against the
//!   lines' returned units and the stock that came back; purchase orders against
//!   the stock received for them;
//! - **sub-ledgers against control accounts**: receivables = Σ customer balances =
//!   Σ open invoice amounts; customer credit = Σ customer credits, each customer's
//!   credit what their documents gave and took; inventory = Σ on-hand × cost;
//! - **stock**: on-hand = Σ movements, reserved = Σ open reservations, never
//!   oversold; back-order queues hold exactly the back-ordered units;
//! - **the own fleet's runs**: each run's booked pallets and kilograms are what its
//!   bookings not cancelled add up to, and its capacity is what its opening set;
//! - **events**: sequence numbers gapless.
//!
//! Stores written before 0.2 did not record what a receipt or a returned unit was
//! worth; while such documents exist, the accounts that need their value are listed
//! in [`AuditReport::not_checked`] instead of being compared.

mod accounts;
mod billing;
mod freight;
mod fulfilment;
mod ledger;
mod orders;
mod payments;

use crate::payment::PaymentProvider;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Oms;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{
    CreditNoteId, CustomerId, InvoiceId, LocationId, OrderId, PaymentId, PurchaseOrderId, ReturnId,
    ShipmentId, Sku,
};
use crate::ledger::{AccountCode, JournalEntry, LedgerError, Postings, TrialBalance};
use crate::money::{Currency, Money};
use crate::store::{ReadResult, Snapshot, Store};

/// The audit's working maps: foldhash, as the memory store uses, several times
/// faster than SipHash on these short keys.
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Violation {
    /// On-hand differs from the sum of its movements.
    OnHandNotSumOfMovements {
        /// SKU.
        sku: Sku,
        /// Location.
        location: LocationId,
        /// Stored on-hand.
        on_hand: i64,
        /// Σ movements.
        movements: i64,
    },
    /// Reserved differs from the open reservations of open orders.
    ReservedNotSumOfReservations {
        /// SKU.
        sku: Sku,
        /// Location.
        location: LocationId,
        /// Stored reserved.
        reserved: i64,
        /// Σ open reservations.
        reservations: i64,
    },
    /// `0 ≤ reserved ≤ on_hand` does not hold.
    Oversold {
        /// SKU.
        sku: Sku,
        /// Location.
        location: LocationId,
        /// On-hand.
        on_hand: i64,
        /// Reserved.
        reserved: i64,
    },
    /// A stored journal entry does not balance.
    UnbalancedEntry {
        /// Its position in the journal (1 for the first entry).
        index: usize,
        /// The problem.
        reason: String,
    },
    /// The balances do not sum to zero in a currency.
    TrialBalanceNotZero {
        /// The sum.
        total: Money,
    },
    /// A control account differs from its sub-ledger.
    ControlAccountMismatch {
        /// The account.
        account: AccountCode,
        /// Its balance.
        balance: Money,
        /// What the documents add up to.
        expected: Money,
    },
    /// A customer's stored balance differs from their invoices.
    CustomerBalanceMismatch {
        /// The customer.
        customer: CustomerId,
        /// Stored balance.
        balance: Money,
        /// Σ open invoice amounts.
        expected: Money,
    },
    /// A customer's expected billing (`history.uninvoiced`) differs from what their
    /// orders still have to invoice.
    ExpectedBillingMismatch {
        /// The customer.
        customer: CustomerId,
        /// Stored expected billing.
        uninvoiced: Money,
        /// Σ [`Order::unbilled_value`](crate::order::Order::unbilled_value) over their orders not cancelled.
        expected: Money,
    },
    /// A customer's stored credit differs from what their documents gave and took.
    CustomerCreditMismatch {
        /// The customer.
        customer: CustomerId,
        /// Stored credit (`history.credit`).
        credit: Money,
        /// Overpayments credited + credit notes to customer credit + payments of
        /// voided invoices − payments drawn from credit − refunds.
        expected: Money,
    },
    /// An invoice's paid amount exceeds its total, or its status disagrees with it.
    InvoiceInconsistent {
        /// The invoice.
        invoice: InvoiceId,
        /// The problem.
        reason: String,
    },
    /// A payment's parts do not add up (applied + credited ≠ amount, a negative
    /// part) or more of it was refunded than was paid.
    PaymentInconsistent {
        /// The payment.
        payment: PaymentId,
        /// The problem.
        reason: String,
    },
    /// An order's line quantities or money do not add up.
    OrderInconsistent {
        /// The order.
        order: OrderId,
        /// The problem.
        reason: String,
    },
    /// A back-order queue disagrees with the order lines it serves: the units
    /// waiting for a line differ from the line's back-ordered units, a line waits
    /// in no queue, or a queue names a line the order does not have (or one of
    /// another SKU).
    BackOrderMismatch {
        /// The order.
        order: OrderId,
        /// The SKU.
        sku: Sku,
        /// The order line.
        line: u16,
        /// Units the queue holds for the order's lines of this SKU.
        queued: u64,
        /// Units the order's lines of this SKU say are back-ordered.
        backordered: u64,
    },
    /// Journal positions are not 1, 2, 3, ...: an entry is missing.
    JournalGap {
        /// Expected position.
        expected: u64,
        /// Found.
        found: u64,
    },
    /// An account's stored balance differs from the sum of its journal lines.
    BalanceNotJournal {
        /// The account.
        account: AccountCode,
        /// Its stored balance.
        balance: Money,
        /// Σ of its journal lines.
        journal: Money,
    },
    /// An account's balance differs from what the documents imply: the posting
    /// rules applied to every invoice, credit note, payment, refund, shipment,
    /// receipt and return (and, for inventory, on-hand × cost).
    AccountMismatch {
        /// The account.
        account: AccountCode,
        /// Its balance.
        balance: Money,
        /// What the documents imply.
        expected: Money,
    },
    /// A credit note's lines or parts do not add up.
    CreditNoteInconsistent {
        /// The credit note.
        credit_note: CreditNoteId,
        /// The problem.
        reason: String,
    },
    /// A shipment disagrees with itself, its order or the stock that left for it.
    ShipmentInconsistent {
        /// The shipment.
        shipment: ShipmentId,
        /// The problem.
        reason: String,
    },
    /// A return disagrees with itself, its order or the stock that came back.
    ReturnInconsistent {
        /// The return.
        rma: ReturnId,
        /// The problem.
        reason: String,
    },
    /// A purchase order's received units differ from the stock received against it.
    PurchaseOrderInconsistent {
        /// The purchase order.
        purchase_order: PurchaseOrderId,
        /// The problem.
        reason: String,
    },
    /// A document the posting rules cannot post (an amount that overflows, an
    /// account missing from the chart).
    DocumentUnpostable {
        /// The document.
        document: String,
        /// Why.
        reason: String,
    },
    /// A run of the own fleet whose stored counter is not what its bookings and
    /// its opening say.
    FreightRunMismatch {
        /// The counter (`run_capacity/ROUTE@DATE` or `run_weight/ROUTE@DATE`).
        counter: String,
        /// What the store holds as used.
        used: i64,
        /// What the bookings not cancelled add up to.
        booked: i64,
        /// The capacity the store holds.
        limit: i64,
        /// The capacity the run's opening set (0: never opened).
        opened: i64,
    },
    /// An order's card payment breaks a bound: captured beyond what was
    /// authorised, refunded beyond what was captured, or an authorisation's
    /// counter not where its requests put it.
    CardPaymentInconsistent {
        /// The order.
        order: OrderId,
        /// What is wrong.
        reason: String,
    },
    /// A payment-authorisation counter no order's authorisation accounts for.
    OrphanCounter {
        /// The counter (`payment_authorisation/ORDER/N`).
        counter: String,
    },
    /// Event sequence numbers are not 1, 2, 3, ...
    EventGap {
        /// Expected sequence.
        expected: u64,
        /// Found.
        found: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(json) => f.write_str(&json),
            Err(_) => write!(f, "{self:?}"),
        }
    }
}

/// What [`Oms::audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditReport {
    /// Every broken invariant; empty on a healthy store.
    pub violations: Vec<Violation>,
    /// Stock levels checked.
    pub stock_levels: usize,
    /// Journal entries checked.
    pub journal_entries: usize,
    /// Orders checked.
    pub orders: usize,
    /// Events checked.
    pub events: u64,
    /// Accounts the audit could not compare with their documents, and why (the
    /// documents behind them were written before 0.2 and carry no value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
}

impl AuditReport {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Checks every invariant over one consistent snapshot of the whole store (see
    /// the [module docs](crate::audit) for the list).
    ///
    /// It reads everything, so it costs O(store); its memory grows with the number
    /// of order lines, customers and invoices, not with whole records. On the memory
    /// store, commits wait while it runs (and other reads, once a commit waits:
    /// under a minute at a million orders); on SQLite they go on.
    ///
    /// # Errors
    /// [`Error::Read`] if reading fails; violations are reported, not raised.
    pub async fn audit(&self) -> Result<AuditReport, Error> {
        let config = self.config();
        let postings = self.postings();
        let report = self
            .store()
            .read_snapshot(|snapshot| Audit::new(postings, &config.accounts).run(snapshot))
            .await??;
        Ok(report)
    }
}

/// The audit's working state: what it has added up so far, and what it found.
struct Audit<'a> {
    postings: Postings<'a>,
    accounts: &'a crate::ledger::AccountMap,
    report: AuditReport,
    expected: Expected,
    stock: fulfilment::StockTally,
    billing: billing::BillingTally,
    /// What the documents said of each order line, until the order is read.
    lines: Map<(OrderId, u16), orders::LineTally>,
    /// Units waiting in the back-order queues, per order line.
    queued: Map<(OrderId, Sku, u16), u64>,
}

impl<'a> Audit<'a> {
    fn new(postings: Postings<'a>, accounts: &'a crate::ledger::AccountMap) -> Self {
        Self {
            postings,
            accounts,
            report: AuditReport::default(),
            expected: Expected::default(),
            stock: fulfilment::StockTally::default(),
            billing: billing::BillingTally::default(),
            lines: Map::default(),
            queued: Map::default(),
        }
    }

    fn run(mut self, snapshot: &dyn Snapshot) -> ReadResult<AuditReport> {
        self.products_and_stock(snapshot)?;
        self.movements(snapshot)?;
        let journal = self.journal(snapshot)?;
        let trial = TrialBalance {
            balances: snapshot.account_balances()?,
        };
        let balances: Sums = trial
            .balances
            .iter()
            .map(|b| ((b.account.clone(), b.balance.currency()), b.balance))
            .collect();
        self.balances_against_journal(&trial, &balances, &journal);
        self.customers(snapshot)?;
        self.invoices(snapshot)?;
        self.credit_notes(snapshot)?;
        self.payments(snapshot)?;
        self.card_payments(snapshot)?;
        self.invoices_against_payments_and_notes();
        self.shipments(snapshot)?;
        self.returns(snapshot)?;
        self.purchase_orders(snapshot)?;
        self.back_order_queues(snapshot)?;
        self.orders(snapshot)?;
        self.lines_without_orders();
        self.stock_levels();
        self.customer_figures(&balances);
        self.accounts_against_documents(&balances);
        self.freight_runs(snapshot)?;
        self.events(snapshot)?;
        Ok(self.report)
    }

    fn violation(&mut self, violation: Violation) {
        self.report.violations.push(violation);
    }
}

/// Amounts per account and currency: stored balances, journal sums, expectations.
type Sums = BTreeMap<(AccountCode, Currency), Money>;

/// Every (account, found, wanted) where `found` and `wanted` differ, in account
/// order; an account and currency missing on one side counts as zero there.
fn differences(found: &Sums, wanted: &Sums) -> Vec<(AccountCode, Money, Money)> {
    let mut keys: Vec<&(AccountCode, Currency)> = found.keys().chain(wanted.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let zero = Money::zero(key.1);
            let (f, w) = (
                found.get(key).copied().unwrap_or(zero),
                wanted.get(key).copied().unwrap_or(zero),
            );
            (f != w).then(|| (key.0.clone(), f, w))
        })
        .collect()
}

/// Each account's balance as the documents imply it: the posting rules applied to
/// every document.
#[derive(Debug, Default)]
struct Expected(Sums);

impl Expected {
    /// Adds the lines of the entry the posting rules made of one document.
    ///
    /// # Errors
    /// Why the document could not be posted (an overflowing total), in words.
    fn post(&mut self, entry: Result<Option<JournalEntry>, LedgerError>) -> Result<(), String> {
        for line in entry
            .map_err(|e| e.to_string())?
            .iter()
            .flat_map(|e| e.lines())
        {
            add_to(
                &mut self.0,
                (line.account.clone(), line.amount.currency()),
                line.amount,
            );
        }
        Ok(())
    }
}

/// Adds `value` to `sum`, leaving it as it was on overflow (the audit reports what
/// it can instead of failing).
fn add(sum: &mut Money, value: Money) {
    if let Ok(s) = sum.checked_add(value) {
        *sum = s;
    }
}

/// Adds `value` to `key`'s sum in `map`.
fn add_to<K: Ord>(map: &mut BTreeMap<K, Money>, key: K, value: Money) {
    add(
        map.entry(key).or_insert(Money::zero(value.currency())),
        value,
    );
}

/// An id and a time for entries the audit builds only to read their lines.
fn scratch() -> (crate::ids::EntryId, chrono::DateTime<chrono::Utc>) {
    (
        crate::ids::EntryId::from_uuid(uuid::Uuid::nil()),
        chrono::DateTime::UNIX_EPOCH,
    )
}
