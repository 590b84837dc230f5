//! Reconciliation: check every invariant of the books and the stock over a whole store.
//!
//! Run it in production as a nightly reconciliation, or after every step in tests. It
//! only reads, and it reports what it finds instead of stopping at the first problem.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::Product;
use crate::customer::{Customer, PaymentMethod};
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{CustomerId, InvoiceId, LocationId, OrderId, PaymentId, Sku};
use crate::ledger::{AccountCode, CreditNote, Invoice, InvoiceStatus, Payment};
use crate::money::{Currency, Money};
use crate::order::{Order, OrderStatus};
use crate::purchasing::BackOrderQueue;
use crate::store::Store;
use crate::{Oms, ledger::TrialBalance};

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        /// Its position in the journal.
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
        /// Σ [`Order::unbilled_value`] over their orders not cancelled.
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
}

impl AuditReport {
    /// True when nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Page size for scanning the journal and the event log.
const PAGE: usize = 1024;

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Checks every invariant over the whole store: stock conservation and no
    /// overselling per SKU × location; every journal entry balanced; the trial balance
    /// zero; receivables = Σ customer balances = Σ open invoice amounts (invoiced −
    /// credited − paid); each invoice's paid and credited amounts = Σ its payments and
    /// credit notes, and no payment refunded beyond what was paid; each
    /// customer's expected billing = what their orders have still to invoice; each
    /// customer's credit = what their documents gave less what they spent and had
    /// refunded, and the customer-credit account = Σ customer credits; inventory = Σ on-hand × cost; order quantities and
    /// invoice totals consistent; the event log gapless.
    ///
    /// It reads everything, so it costs O(store); run it off-peak on big stores.
    ///
    /// # Errors
    /// [`Error::Store`] if reading fails; violations are reported, not raised.
    pub async fn audit(&self) -> Result<AuditReport, Error> {
        let mut report = AuditReport::default();
        let orders: Vec<Order> = self
            .store()
            .list::<Order>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        let invoices: Vec<Invoice> = self
            .store()
            .list::<Invoice>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        let customers: Vec<Customer> = self
            .store()
            .list::<Customer>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        let products: HashMap<Sku, Product> = self
            .store()
            .list::<Product>()
            .await?
            .into_iter()
            .map(|v| (v.value.sku.clone(), v.value))
            .collect();
        report.orders = orders.len();

        self.audit_stock(&orders, &products, &mut report).await?;
        self.audit_journal(&mut report).await?;
        let trial = self.trial_balance().await?;
        audit_receivables(&trial, self, &invoices, &customers, &mut report);
        audit_orders(&orders, &invoices, &mut report);
        audit_expected_billing(&orders, &customers, &mut report);
        let payments: Vec<Payment> = self
            .store()
            .list::<Payment>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        let credit_notes: Vec<CreditNote> = self
            .store()
            .list::<CreditNote>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        audit_payments_and_credits(&invoices, &payments, &credit_notes, &mut report);
        audit_customer_credit(&customers, &invoices, &payments, &credit_notes, &mut report);
        let queues: Vec<BackOrderQueue> = self
            .store()
            .list::<BackOrderQueue>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect();
        audit_back_orders(&orders, &queues, &mut report);
        self.audit_events(&mut report).await?;
        Ok(report)
    }

    async fn audit_stock(
        &self,
        orders: &[Order],
        products: &HashMap<Sku, Product>,
        report: &mut AuditReport,
    ) -> Result<(), Error> {
        let mut reservations: HashMap<(&Sku, &LocationId), i64> = HashMap::new();
        for order in orders
            .iter()
            .filter(|o| matches!(o.status, OrderStatus::Open | OrderStatus::OnHold))
        {
            for line in &order.lines {
                for r in &line.reservations {
                    *reservations.entry((&line.sku, &r.location)).or_default() +=
                        r.quantity.as_i64();
                }
            }
        }
        let mut inventory: BTreeMap<Currency, Money> = BTreeMap::new();
        let levels = self.store().all_stock_levels().await?;
        report.stock_levels = levels.len();
        for level in &levels {
            let (sku, location) = (&level.sku, &level.location);
            let movements: i64 = self
                .store()
                .stock_movements(sku, location)
                .await?
                .iter()
                .map(|m| m.quantity)
                .sum();
            if movements != level.on_hand {
                report.violations.push(Violation::OnHandNotSumOfMovements {
                    sku: sku.clone(),
                    location: location.clone(),
                    on_hand: level.on_hand,
                    movements,
                });
            }
            let reserved = reservations.remove(&(sku, location)).unwrap_or(0);
            if reserved != level.reserved {
                report
                    .violations
                    .push(Violation::ReservedNotSumOfReservations {
                        sku: sku.clone(),
                        location: location.clone(),
                        reserved: level.reserved,
                        reservations: reserved,
                    });
            }
            if level.reserved < 0 || level.reserved > level.on_hand {
                report.violations.push(Violation::Oversold {
                    sku: sku.clone(),
                    location: location.clone(),
                    on_hand: level.on_hand,
                    reserved: level.reserved,
                });
            }
            if let Some(product) = products.get(sku) {
                let value = product
                    .cost
                    .checked_mul(rust_decimal::Decimal::from(level.on_hand))?;
                let c = value.currency();
                let sum = inventory.entry(c).or_insert(Money::zero(c));
                *sum = sum.checked_add(value)?;
            }
        }
        for ((sku, location), reserved) in reservations {
            report
                .violations
                .push(Violation::ReservedNotSumOfReservations {
                    sku: sku.clone(),
                    location: location.clone(),
                    reserved: 0,
                    reservations: reserved,
                });
        }
        let trial = self.trial_balance().await?;
        check_control(
            &trial,
            &self.config().accounts.inventory,
            &inventory,
            report,
        );
        Ok(())
    }

    async fn audit_journal(&self, report: &mut AuditReport) -> Result<(), Error> {
        let mut offset = 0;
        loop {
            let page = self.store().journal(offset, PAGE).await?;
            for (i, entry) in page.iter().enumerate() {
                if let Err(e) = entry.validate() {
                    report.violations.push(Violation::UnbalancedEntry {
                        index: offset + i,
                        reason: e.to_string(),
                    });
                }
            }
            offset += page.len();
            if page.len() < PAGE {
                break;
            }
        }
        report.journal_entries = offset;
        let trial = self.trial_balance().await?;
        for total in trial.totals()?.into_values().filter(|t| !t.is_zero()) {
            report
                .violations
                .push(Violation::TrialBalanceNotZero { total });
        }
        Ok(())
    }

    async fn audit_events(&self, report: &mut AuditReport) -> Result<(), Error> {
        let mut cursor = 0;
        loop {
            let page = self.store().events_after(cursor, PAGE).await?;
            for event in &page {
                if event.sequence != cursor + 1 {
                    report.violations.push(Violation::EventGap {
                        expected: cursor + 1,
                        found: event.sequence,
                    });
                }
                cursor = event.sequence;
            }
            if page.len() < PAGE {
                break;
            }
        }
        report.events = cursor;
        Ok(())
    }
}

/// Receivables = Σ open invoice amounts = Σ customer balances; customer credit account
/// = Σ customer credits; each invoice's paid ≤ total.
fn audit_receivables<S: Store, C: Carrier>(
    trial: &TrialBalance,
    oms: &Oms<S, C>,
    invoices: &[Invoice],
    customers: &[Customer],
    report: &mut AuditReport,
) {
    let mut owed: HashMap<CustomerId, Money> = HashMap::new();
    let mut by_currency: BTreeMap<Currency, Money> = BTreeMap::new();
    for invoice in invoices {
        let Ok(total) = invoice.total() else {
            report.violations.push(Violation::InvoiceInconsistent {
                invoice: invoice.id,
                reason: "total overflows".to_owned(),
            });
            continue;
        };
        let settled = invoice
            .paid
            .checked_add(invoice.credit_total())
            .unwrap_or(invoice.paid);
        let outstanding = match invoice.status {
            InvoiceStatus::Void => Money::zero(total.currency()),
            _ => total.checked_sub(settled).unwrap_or(total),
        };
        let paid_too_much =
            settled.cmp_amount(total).is_ok_and(|o| o.is_gt()) || invoice.paid.is_negative();
        let wrong_status = (invoice.status == InvoiceStatus::Paid)
            != (outstanding.is_zero() && invoice.status != InvoiceStatus::Void);
        if paid_too_much || wrong_status {
            report.violations.push(Violation::InvoiceInconsistent {
                invoice: invoice.id,
                reason: format!(
                    "total {total}, paid {}, credited {}, status {:?}",
                    invoice.paid,
                    invoice.credit_total(),
                    invoice.status
                ),
            });
        }
        add(
            owed.entry(invoice.customer)
                .or_insert(Money::zero(total.currency())),
            outstanding,
        );
        add(
            by_currency
                .entry(total.currency())
                .or_insert(Money::zero(total.currency())),
            outstanding,
        );
    }

    let accounts = &oms.config().accounts;
    let mut credit: BTreeMap<Currency, Money> = BTreeMap::new();
    let mut balances: BTreeMap<Currency, Money> = BTreeMap::new();
    for customer in customers {
        let h = &customer.history;
        let expected = owed
            .get(&customer.id)
            .copied()
            .unwrap_or(Money::zero(h.balance.currency()));
        if expected != h.balance {
            report.violations.push(Violation::CustomerBalanceMismatch {
                customer: customer.id,
                balance: h.balance,
                expected,
            });
        }
        add(
            balances
                .entry(h.balance.currency())
                .or_insert(Money::zero(h.balance.currency())),
            h.balance,
        );
        // Customer credit is a liability: its balance is credit-side, so negative.
        add(
            credit
                .entry(h.credit.currency())
                .or_insert(Money::zero(h.credit.currency())),
            h.credit.checked_neg(),
        );
    }

    check_control(trial, &accounts.receivables, &by_currency, report);
    check_control(trial, &accounts.receivables, &balances, report);
    check_control(trial, &accounts.customer_credit, &credit, report);
}

/// Checks every payment (its parts add up; refunded ≤ paid) and that each invoice's
/// credited amount is the sum of its credit notes, and its paid amount what its
/// payments applied less what credit notes moved on to customer credit.
fn audit_payments_and_credits(
    invoices: &[Invoice],
    payments: &[Payment],
    credit_notes: &[CreditNote],
    report: &mut AuditReport,
) {
    let mut paid: HashMap<InvoiceId, Money> = HashMap::new();
    for p in payments {
        let parts = p.applied.checked_add(p.credited);
        let refunded = p.refund_total();
        let problem = if parts != Ok(p.amount) {
            Some(format!(
                "applied {} + credited {} is not the amount {}",
                p.applied, p.credited, p.amount
            ))
        } else if p.applied.is_negative() || p.credited.is_negative() || refunded.is_negative() {
            Some("a negative part".to_owned())
        } else if refunded.cmp_amount(p.amount).is_ok_and(|o| o.is_gt()) {
            Some(format!("refunded {refunded} of {}", p.amount))
        } else {
            None
        };
        if let Some(reason) = problem {
            report.violations.push(Violation::PaymentInconsistent {
                payment: p.id,
                reason,
            });
        }
        add(
            paid.entry(p.invoice)
                .or_insert(Money::zero(p.amount.currency())),
            p.applied,
        );
    }
    let mut credited: HashMap<InvoiceId, Money> = HashMap::new();
    for note in credit_notes {
        let zero = Money::zero(note.to_customer_credit.currency());
        add(
            paid.entry(note.invoice).or_insert(zero),
            note.to_customer_credit.checked_neg(),
        );
        match note.total() {
            Ok(total) => add(credited.entry(note.invoice).or_insert(zero), total),
            Err(_) => report.violations.push(Violation::InvoiceInconsistent {
                invoice: note.invoice,
                reason: format!("credit note {} total overflows", note.number),
            }),
        }
    }
    for invoice in invoices {
        let zero = Money::zero(invoice.paid.currency());
        let by_payments = paid.get(&invoice.id).copied().unwrap_or(zero);
        let by_notes = credited.get(&invoice.id).copied().unwrap_or(zero);
        if by_payments != invoice.paid || by_notes != invoice.credit_total() {
            report.violations.push(Violation::InvoiceInconsistent {
                invoice: invoice.id,
                reason: format!(
                    "paid {} but its payments less credit moved on make {by_payments}; credited {} but its credit notes total {by_notes}",
                    invoice.paid,
                    invoice.credit_total()
                ),
            });
        }
    }
}

/// Checks each customer's credit against the documents that move it: a payment
/// adds what it paid beyond its invoice and, drawn from credit, takes its amount;
/// a credit note adds what it gave back of money already paid; voiding an invoice
/// adds what had been paid on it; a refund takes what it paid out.
fn audit_customer_credit(
    customers: &[Customer],
    invoices: &[Invoice],
    payments: &[Payment],
    credit_notes: &[CreditNote],
    report: &mut AuditReport,
) {
    let mut expected: HashMap<CustomerId, Money> = HashMap::new();
    let mut give = |customer: CustomerId, amount: Money| {
        add(
            expected
                .entry(customer)
                .or_insert(Money::zero(amount.currency())),
            amount,
        );
    };
    for p in payments {
        give(p.customer, p.credited);
        give(p.customer, p.refund_total().checked_neg());
        if p.method == PaymentMethod::CustomerCredit {
            give(p.customer, p.amount.checked_neg());
        }
    }
    for note in credit_notes {
        give(note.customer, note.to_customer_credit);
    }
    for invoice in invoices.iter().filter(|i| i.status == InvoiceStatus::Void) {
        give(invoice.customer, invoice.paid);
    }
    for customer in customers {
        let credit = customer.history.credit;
        let want = expected
            .get(&customer.id)
            .copied()
            .unwrap_or(Money::zero(credit.currency()));
        if want != credit {
            report.violations.push(Violation::CustomerCreditMismatch {
                customer: customer.id,
                credit,
                expected: want,
            });
        }
    }
}

/// Checks each customer's expected billing against their orders: what the orders
/// are worth now, less what is on invoices (cancelled orders owe nothing more).
fn audit_expected_billing(orders: &[Order], customers: &[Customer], report: &mut AuditReport) {
    let mut expected: HashMap<CustomerId, Money> = HashMap::new();
    for order in orders.iter().filter(|o| o.status != OrderStatus::Cancelled) {
        let Ok(unbilled) = order.unbilled_value() else {
            report.violations.push(Violation::OrderInconsistent {
                order: order.id,
                reason: "unbilled value overflows".to_owned(),
            });
            continue;
        };
        add(
            expected
                .entry(order.customer)
                .or_insert(Money::zero(order.currency)),
            unbilled,
        );
    }
    for customer in customers {
        let uninvoiced = customer.history.uninvoiced;
        let owed = expected
            .get(&customer.id)
            .copied()
            .unwrap_or(Money::zero(uninvoiced.currency()));
        if owed != uninvoiced {
            report.violations.push(Violation::ExpectedBillingMismatch {
                customer: customer.id,
                uninvoiced,
                expected: owed,
            });
        }
    }
}

/// Reports every currency in which `account`'s balance differs from `expected`
/// (a currency missing on either side counts as zero).
fn check_control(
    trial: &TrialBalance,
    account: &AccountCode,
    expected: &BTreeMap<Currency, Money>,
    report: &mut AuditReport,
) {
    let mut currencies: Vec<Currency> = expected.keys().copied().collect();
    currencies.extend(
        trial
            .balances
            .iter()
            .filter(|b| &b.account == account)
            .map(|b| b.balance.currency()),
    );
    currencies.sort();
    currencies.dedup();
    for c in currencies {
        let want = expected.get(&c).copied().unwrap_or(Money::zero(c));
        let balance = trial.balance(account, c);
        if balance != want {
            report.violations.push(Violation::ControlAccountMismatch {
                account: account.clone(),
                balance,
                expected: want,
            });
        }
    }
}

/// Every back-ordered unit waits in its SKU's queue exactly once, and the queues
/// hold nothing else: so no received unit can be given twice, or to nobody.
fn audit_back_orders(orders: &[Order], queues: &[BackOrderQueue], report: &mut AuditReport) {
    // Per line, not per SKU: an order may have several lines of a SKU (a line and
    // the lines grown from it), and a fill serves the line its entry names.
    let mut queued: HashMap<(OrderId, &Sku, u16), u64> = HashMap::new();
    for queue in queues {
        for waiting in &queue.waiting {
            *queued
                .entry((waiting.order, &queue.sku, waiting.line_no))
                .or_default() += u64::from(waiting.quantity);
        }
    }
    let mut owed: HashMap<(OrderId, &Sku, u16), u64> = HashMap::new();
    for order in orders {
        for line in order.lines.iter().filter(|l| !l.backordered.is_zero()) {
            *owed.entry((order.id, &line.sku, line.line_no)).or_default() +=
                u64::from(line.backordered.units());
        }
    }
    let mut keys: Vec<(OrderId, &Sku, u16)> = queued.keys().chain(owed.keys()).copied().collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (q, b) = (
            queued.get(&key).copied().unwrap_or(0),
            owed.get(&key).copied().unwrap_or(0),
        );
        if q != b {
            report.violations.push(Violation::BackOrderMismatch {
                order: key.0,
                sku: key.1.clone(),
                line: key.2,
                queued: q,
                backordered: b,
            });
        }
    }
}

fn audit_orders(orders: &[Order], invoices: &[Invoice], report: &mut AuditReport) {
    // Units each order line is still billed for: invoiced less credited, over its
    // invoices that stand.
    let mut billed: HashMap<(OrderId, u16), u32> = HashMap::new();
    // (invoiced, paid, credited) over each order's invoices that stand.
    let mut sums: HashMap<OrderId, (Money, Money, Money)> = HashMap::new();
    // Net + tax invoiced for each order line, void invoices included (a voided
    // order keeps its invoiced units).
    let mut line_money: HashMap<(OrderId, u16), Money> = HashMap::new();
    for invoice in invoices {
        let zero = Money::zero(invoice.paid.currency());
        for l in &invoice.lines {
            let money = line_money.entry((invoice.order, l.line_no)).or_insert(zero);
            add(money, l.net.checked_add(l.tax).unwrap_or(zero));
        }
    }
    for invoice in invoices.iter().filter(|i| i.status != InvoiceStatus::Void) {
        let zero = Money::zero(invoice.paid.currency());
        let (invoiced, paid, credited) = sums.entry(invoice.order).or_insert((zero, zero, zero));
        add(invoiced, invoice.total().unwrap_or(zero));
        add(paid, invoice.paid);
        add(credited, invoice.credit_total());
        for l in &invoice.lines {
            let still = l.quantity.saturating_sub(l.credited).units();
            let units = billed.entry((invoice.order, l.line_no)).or_default();
            *units = units.saturating_add(still);
        }
    }
    for order in orders {
        let mut problems = Vec::new();
        for line in &order.lines {
            // Never billed for what was cancelled or came back.
            let kept = line.wanted().saturating_sub(line.returned).units();
            let still = billed.get(&(order.id, line.line_no)).copied().unwrap_or(0);
            if still > kept {
                problems.push(format!(
                    "line {}: still billed for {still} units, but only {kept} were kept (ordered {} − cancelled {} − returned {})",
                    line.line_no, line.quantity, line.cancelled, line.returned
                ));
            }
            // However a line was split over invoices, they bill exactly its share
            // for the units invoiced (so its price never changed once invoiced).
            let zero = Money::zero(order.currency);
            let invoiced = line_money
                .get(&(order.id, line.line_no))
                .copied()
                .unwrap_or(zero);
            let share = line.billed(line.invoiced).and_then(|b| b.total());
            if share.as_ref().ok() != Some(&invoiced) {
                problems.push(format!(
                    "line {}: its invoices bill {invoiced} for {} units, its share is {share:?}",
                    line.line_no, line.invoiced
                ));
            }
            if !line.quantities_add_up() {
                problems.push(format!(
                    "line {}: ordered {} ≠ shipped {} + open {} + back-ordered {} + cancelled {}",
                    line.line_no,
                    line.quantity,
                    line.shipped,
                    line.open(),
                    line.backordered,
                    line.cancelled
                ));
            }
            if line.returned > line.return_requested || line.return_requested > line.delivered {
                problems.push(format!(
                    "line {}: returned {} / asked back {} beyond delivered {}",
                    line.line_no, line.returned, line.return_requested, line.delivered
                ));
            }
            if line.delivered > line.shipped || line.invoiced > line.quantity {
                problems.push(format!(
                    "line {}: delivered or invoiced beyond what exists",
                    line.line_no
                ));
            }
            if line.amounts.gross.checked_sub(line.amounts.discount).ok() != Some(line.amounts.net)
            {
                problems.push(format!("line {}: gross − discount ≠ net", line.line_no));
            }
        }
        if order
            .paid
            .cmp_amount(order.invoiced)
            .is_ok_and(|o| o.is_gt())
        {
            problems.push(format!(
                "paid {} exceeds invoiced {}",
                order.paid, order.invoiced
            ));
        }
        let zero = Money::zero(order.currency);
        let (invoiced, paid, credited) = sums.get(&order.id).copied().unwrap_or((zero, zero, zero));
        if (invoiced, paid, credited) != (order.invoiced, order.paid, order.credit_total()) {
            problems.push(format!(
                "invoiced {}, paid {}, credited {}, but its invoices say {invoiced}, {paid}, {credited}",
                order.invoiced,
                order.paid,
                order.credit_total()
            ));
        }
        if (order.status == OrderStatus::OnHold) == order.holds.is_empty() {
            problems.push(format!(
                "status {:?} with holds {:?}",
                order.status, order.holds
            ));
        }
        for reason in problems {
            report.violations.push(Violation::OrderInconsistent {
                order: order.id,
                reason,
            });
        }
    }
}

fn add(sum: &mut Money, value: Money) {
    if let Ok(s) = sum.checked_add(value) {
        *sum = s;
    }
}
