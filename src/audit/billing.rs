//! Invoices, credit notes, payments and customers: each document consistent with
//! itself, with the others, and with the customer figures kept beside them.

use std::collections::BTreeMap;

use super::{Audit, Map, Sums, Violation, add, add_to, differences, scratch};
use crate::customer::{Customer, PaymentMethod};
use crate::ids::{CustomerId, InvoiceId, OrderId};
use crate::ledger::{AccountCode, CreditNote, Invoice, InvoiceStatus, Payment};
use crate::money::{Currency, Money};
use crate::store::{ReadResult, Snapshot, each};

/// A customer's stored figures.
#[derive(Debug, Clone, Copy)]
struct CustomerFigures {
    balance: Money,
    credit: Money,
    uninvoiced: Money,
}

/// What an invoice says of itself, kept to check its payments and credit notes.
#[derive(Debug, Clone, Copy)]
struct InvoiceFacts {
    /// Its stored paid amount.
    paid: Money,
    /// Its stored credited amount.
    credited: Money,
    /// The order it bills, which its payments and credit notes must name too.
    order: OrderId,
    /// The customer it bills, likewise.
    customer: CustomerId,
}

/// What the audit has added up about billing.
#[derive(Debug, Default)]
pub(super) struct BillingTally {
    customers: BTreeMap<CustomerId, CustomerFigures>,
    /// Per invoice: what it says of itself.
    invoices: Map<InvoiceId, InvoiceFacts>,
    /// Per order: the customer its invoices bill (the first, and whether another
    /// differs), which must be the order's.
    pub(super) billed_to: Map<OrderId, (CustomerId, bool)>,
    /// Per invoice: what its payments applied, less what credit notes moved on to
    /// customer credit.
    paid: Map<InvoiceId, Money>,
    /// Per invoice: Σ its credit notes.
    credited: Map<InvoiceId, Money>,
    /// Per customer: Σ what their invoices still ask.
    owed: BTreeMap<CustomerId, Money>,
    /// Σ what invoices still ask, per currency.
    receivables: BTreeMap<Currency, Money>,
    /// Per customer: the credit their documents gave, less what they took.
    credit: BTreeMap<CustomerId, Money>,
    /// Per order: (invoiced, paid, credited) over its invoices that stand.
    pub(super) order_sums: Map<OrderId, (Money, Money, Money)>,
    /// Per customer: what their orders not cancelled have still to invoice.
    pub(super) unbilled: BTreeMap<CustomerId, Money>,
}

impl Audit<'_> {
    /// The customers' stored figures.
    pub(super) fn customers(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let customers = &mut self.billing.customers;
        each::<Customer>(snapshot, |c| {
            let h = &c.history;
            customers.insert(
                c.id,
                CustomerFigures {
                    balance: h.balance,
                    credit: h.credit,
                    uninvoiced: h.uninvoiced,
                },
            );
        })?;
        Ok(())
    }

    /// Each invoice: its lines add up, its status fits what it was paid and
    /// credited; what it still asks, its postings, and what it bills each order line.
    pub(super) fn invoices(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut problems = Vec::new();
        let (tally, lines) = (&mut self.billing, &mut self.lines);
        let (expected, postings) = (&mut self.expected, self.postings);
        let (id, at) = scratch();
        each::<Invoice>(snapshot, |invoice| {
            let Ok(total) = invoice.total() else {
                problems.push(Violation::InvoiceInconsistent {
                    invoice: invoice.id,
                    reason: "total overflows".to_owned(),
                });
                return;
            };
            let c = total.currency();
            for l in &invoice.lines {
                if l.gross.checked_sub(l.discount).ok() != Some(l.net) {
                    problems.push(Violation::InvoiceInconsistent {
                        invoice: invoice.id,
                        reason: format!(
                            "line {}: gross {} − discount {} ≠ net {}",
                            l.line_no, l.gross, l.discount, l.net
                        ),
                    });
                }
                if l.credited > l.quantity {
                    problems.push(Violation::InvoiceInconsistent {
                        invoice: invoice.id,
                        reason: format!(
                            "line {}: {} units credited of {} billed",
                            l.line_no, l.credited, l.quantity
                        ),
                    });
                }
            }
            let stands = invoice.status != InvoiceStatus::Void;
            let settled = invoice
                .paid
                .checked_add(invoice.credit_total())
                .unwrap_or(invoice.paid);
            let outstanding = if stands {
                total.checked_sub(settled).unwrap_or(total)
            } else {
                Money::zero(c)
            };
            let paid_too_much =
                settled.cmp_amount(total).is_ok_and(|o| o.is_gt()) || invoice.paid.is_negative();
            let wrong_status =
                (invoice.status == InvoiceStatus::Paid) != (outstanding.is_zero() && stands);
            if paid_too_much || wrong_status {
                problems.push(Violation::InvoiceInconsistent {
                    invoice: invoice.id,
                    reason: format!(
                        "total {total}, paid {}, credited {}, status {:?}",
                        invoice.paid,
                        invoice.credit_total(),
                        invoice.status
                    ),
                });
            }
            add_to(&mut tally.owed, invoice.customer, outstanding);
            add_to(&mut tally.receivables, c, outstanding);
            tally.invoices.insert(
                invoice.id,
                InvoiceFacts {
                    paid: invoice.paid,
                    credited: invoice.credit_total(),
                    order: invoice.order,
                    customer: invoice.customer,
                },
            );
            super::orders::note_in(&mut tally.billed_to, invoice.order, invoice.customer);
            if stands {
                let zero = Money::zero(c);
                let (invoiced, paid, credited) = tally
                    .order_sums
                    .entry(invoice.order)
                    .or_insert((zero, zero, zero));
                add(invoiced, total);
                add(paid, invoice.paid);
                add(credited, invoice.credit_total());
            } else {
                // Voiding an invoice gave back what had been paid on it as credit.
                add_to(&mut tally.credit, invoice.customer, invoice.paid);
            }
            for l in &invoice.lines {
                lines
                    .entry((invoice.order, l.line_no))
                    .or_default()
                    .bill(l, stands);
            }
            let mut entries = vec![postings.invoice(invoice, id, at)];
            if !stands {
                entries.push(postings.void(invoice, id, at));
                if invoice.paid.is_positive() {
                    entries.push(postings.credit_on_cancel(invoice.order, invoice.paid, id, at));
                }
            }
            for entry in entries {
                if let Err(reason) = expected.post(entry) {
                    problems.push(Violation::InvoiceInconsistent {
                        invoice: invoice.id,
                        reason,
                    });
                }
            }
        })?;
        self.report.violations.extend(problems);
        Ok(())
    }

    /// Each credit note: its lines and parts add up; what it takes off its invoice
    /// and gives the customer; its postings.
    pub(super) fn credit_notes(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut problems = Vec::new();
        let (tally, expected, postings) = (&mut self.billing, &mut self.expected, self.postings);
        let (id, at) = scratch();
        each::<CreditNote>(snapshot, |note| {
            let wrong = |reason| Violation::CreditNoteInconsistent {
                credit_note: note.id,
                reason,
            };
            if let Some(problem) =
                other_parties(&tally.invoices, note.invoice, note.order, note.customer)
            {
                problems.push(wrong(problem));
            }
            for l in &note.lines {
                if l.gross.checked_sub(l.discount).ok() != Some(l.net) {
                    problems.push(wrong(format!(
                        "line {}: gross {} − discount {} ≠ net {}",
                        l.line_no, l.gross, l.discount, l.net
                    )));
                }
            }
            let zero = Money::zero(note.to_customer_credit.currency());
            match note.total() {
                Ok(total) => {
                    if note.applied.checked_add(note.to_customer_credit) != Ok(total) {
                        problems.push(wrong(format!(
                            "applied {} + to customer credit {} ≠ total {total}",
                            note.applied, note.to_customer_credit
                        )));
                    }
                    add(tally.credited.entry(note.invoice).or_insert(zero), total);
                }
                Err(_) => problems.push(wrong("total overflows".to_owned())),
            }
            add(
                tally.paid.entry(note.invoice).or_insert(zero),
                -note.to_customer_credit,
            );
            add_to(&mut tally.credit, note.customer, note.to_customer_credit);
            if let Err(reason) = expected.post(postings.credit_note(note, id, at)) {
                problems.push(wrong(reason));
            }
        })?;
        self.report.violations.extend(problems);
        Ok(())
    }

    /// Each payment: its parts add up and it was not refunded beyond what came in;
    /// what it paid on its invoice and gave or took of customer credit; its
    /// postings and its refunds'.
    pub(super) fn payments(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut problems = Vec::new();
        let (tally, expected, postings) = (&mut self.billing, &mut self.expected, self.postings);
        let (id, at) = scratch();
        each::<Payment>(snapshot, |p| {
            let refunded = p.refund_total();
            let problem = if p.applied.checked_add(p.credited) != Ok(p.amount) {
                Some(format!(
                    "applied {} + credited {} is not the amount {}",
                    p.applied, p.credited, p.amount
                ))
            } else if p.applied.is_negative() || p.credited.is_negative() || refunded.is_negative()
            {
                Some("a negative part".to_owned())
            } else if refunded.cmp_amount(p.amount).is_ok_and(|o| o.is_gt()) {
                Some(format!("refunded {refunded} of {}", p.amount))
            } else {
                None
            };
            let problem =
                problem.or_else(|| other_parties(&tally.invoices, p.invoice, p.order, p.customer));
            if let Some(reason) = problem {
                problems.push(Violation::PaymentInconsistent {
                    payment: p.id,
                    reason,
                });
            }
            add(
                tally
                    .paid
                    .entry(p.invoice)
                    .or_insert(Money::zero(p.amount.currency())),
                p.applied,
            );
            add_to(&mut tally.credit, p.customer, p.credited);
            add_to(&mut tally.credit, p.customer, -refunded);
            if p.method == PaymentMethod::CustomerCredit {
                add_to(&mut tally.credit, p.customer, -p.amount);
            }
            for entry in [
                postings.payment(p, id, at),
                postings.refund(p, refunded, id, at),
            ] {
                if let Err(reason) = expected.post(entry) {
                    problems.push(Violation::PaymentInconsistent {
                        payment: p.id,
                        reason,
                    });
                }
            }
        })?;
        self.report.violations.extend(problems);
        Ok(())
    }

    /// Each invoice's paid and credited amounts against its payments and credit notes.
    pub(super) fn invoices_against_payments_and_notes(&mut self) {
        let tally = &mut self.billing;
        let mut problems = Vec::new();
        let mut invoices: Vec<(&InvoiceId, &InvoiceFacts)> = tally.invoices.iter().collect();
        invoices.sort_by_key(|(id, _)| **id);
        for (id, InvoiceFacts { paid, credited, .. }) in invoices {
            let zero = Money::zero(paid.currency());
            let by_payments = tally.paid.remove(id).unwrap_or(zero);
            let by_notes = tally.credited.remove(id).unwrap_or(zero);
            if by_payments != *paid || by_notes != *credited {
                problems.push(Violation::InvoiceInconsistent {
                    invoice: *id,
                    reason: format!(
                        "paid {paid} but its payments less credit moved on make {by_payments}; credited {credited} but its credit notes total {by_notes}"
                    ),
                });
            }
        }
        let mut orphans: Vec<InvoiceId> = tally
            .paid
            .keys()
            .chain(tally.credited.keys())
            .copied()
            .collect();
        orphans.sort();
        orphans.dedup();
        for invoice in orphans {
            problems.push(Violation::InvoiceInconsistent {
                invoice,
                reason: "payments or credit notes name it, but it does not exist".to_owned(),
            });
        }
        self.report.violations.extend(problems);
    }

    /// Each customer's balance, credit and expected billing against their
    /// documents; receivables and customer credit against the customers.
    pub(super) fn customer_figures(&mut self, balances: &Sums) {
        let tally = &self.billing;
        let mut problems = Vec::new();
        let mut balance_total: BTreeMap<Currency, Money> = BTreeMap::new();
        let mut credit_total: BTreeMap<Currency, Money> = BTreeMap::new();
        for (id, figures) in &tally.customers {
            // (what the documents say, what is stored, how to report a difference)
            type Mismatch = fn(CustomerId, Money, Money) -> Violation;
            let checks: [(&BTreeMap<CustomerId, Money>, Money, Mismatch); 3] = [
                (
                    &tally.owed,
                    figures.balance,
                    |customer, balance, expected| Violation::CustomerBalanceMismatch {
                        customer,
                        balance,
                        expected,
                    },
                ),
                (
                    &tally.credit,
                    figures.credit,
                    |customer, credit, expected| Violation::CustomerCreditMismatch {
                        customer,
                        credit,
                        expected,
                    },
                ),
                (
                    &tally.unbilled,
                    figures.uninvoiced,
                    |customer, uninvoiced, expected| Violation::ExpectedBillingMismatch {
                        customer,
                        uninvoiced,
                        expected,
                    },
                ),
            ];
            for (documents, stored, mismatch) in checks {
                let expected = documents
                    .get(id)
                    .copied()
                    .unwrap_or(Money::zero(stored.currency()));
                if expected != stored {
                    problems.push(mismatch(*id, stored, expected));
                }
            }
            add_to(
                &mut balance_total,
                figures.balance.currency(),
                figures.balance,
            );
            // Customer credit is a liability: its balance is credit-side, so negative.
            add_to(
                &mut credit_total,
                figures.credit.currency(),
                -figures.credit,
            );
        }
        let receivables = &self.accounts.receivables;
        problems.extend(control(balances, receivables, &tally.receivables));
        problems.extend(control(balances, receivables, &balance_total));
        problems.extend(control(
            balances,
            &self.accounts.customer_credit,
            &credit_total,
        ));
        self.report.violations.extend(problems);
    }
}

/// Every currency in which `account`'s balance differs from `expected` (a currency
/// missing on either side counts as zero).
fn control(
    balances: &Sums,
    account: &AccountCode,
    expected: &BTreeMap<Currency, Money>,
) -> Vec<Violation> {
    let found: Sums = balances
        .iter()
        .filter(|((a, _), _)| a == account)
        .map(|(key, balance)| (key.clone(), *balance))
        .collect();
    let wanted: Sums = expected
        .iter()
        .map(|(c, amount)| ((account.clone(), *c), *amount))
        .collect();
    differences(&found, &wanted)
        .into_iter()
        .map(
            |(account, balance, expected)| Violation::ControlAccountMismatch {
                account,
                balance,
                expected,
            },
        )
        .collect()
}

/// What is wrong when a payment or credit note names another order or customer
/// than the invoice it settles (`None` when they agree, or the invoice does not
/// exist, which is reported on its own).
fn other_parties(
    invoices: &Map<InvoiceId, InvoiceFacts>,
    invoice: InvoiceId,
    order: OrderId,
    customer: CustomerId,
) -> Option<String> {
    let billed = invoices.get(&invoice)?;
    (billed.order != order || billed.customer != customer).then(|| {
        format!(
            "names order {order} and customer {customer}, but invoice {invoice} bills order {} and customer {}",
            billed.order, billed.customer
        )
    })
}
