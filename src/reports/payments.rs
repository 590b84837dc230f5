//! Payments by day and currency: authorised, captured, received, refunded,
//! settled, declined.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{DateRange, Page, PageRequest, add, paged};
use crate::customer::PaymentMethod;
use crate::error::Error;
use crate::ledger::Payment;
use crate::money::{Currency, Money};

/// One day's payments in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PaymentRow {
    /// The day.
    pub day: NaiveDate,
    /// The currency.
    pub currency: Currency,
    /// Card authorisations granted, and their sum.
    pub authorisations: u64,
    /// What they hold.
    pub authorised: Money,
    /// Authorisations the provider declined.
    pub declines: u64,
    /// Card captures recorded as payments, and their sum.
    pub captures: u64,
    /// What they took.
    pub captured: Money,
    /// Captures the provider turned down.
    pub failed_captures: u64,
    /// Other payments (transfer, cash, …) recorded.
    pub other_payments: u64,
    /// What they brought.
    pub other_received: Money,
    /// Customers' credit applied to their invoices (no money came in).
    pub credit_applied: Money,
    /// Money paid back to customers.
    pub refunded: Money,
    /// Refunds the provider refused (reversed).
    pub refunds_failed: Money,
    /// Payouts' gross.
    pub settled: Money,
    /// The provider's fees on them.
    pub fees: Money,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Day {
    authorisations: u64,
    authorised: Decimal,
    declines: u64,
    captures: u64,
    captured: Decimal,
    failed_captures: u64,
    other_payments: u64,
    other_received: Decimal,
    credit_applied: Decimal,
    refunded: Decimal,
    refunds_failed: Decimal,
    settled: Decimal,
    fees: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Payments {
    days: BTreeMap<(NaiveDate, Currency), Day>,
}

impl Payments {
    fn day(&mut self, at: DateTime<Utc>, currency: Currency) -> &mut Day {
        self.days.entry((at.date_naive(), currency)).or_default()
    }

    pub fn recorded(&mut self, payment: &Payment, at: DateTime<Utc>) {
        let day = self.day(at, payment.amount.currency());
        if payment.method == PaymentMethod::Card {
            day.captures += 1;
            add(&mut day.captured, payment.amount.amount());
        } else if payment.method == PaymentMethod::CustomerCredit {
            // The customer's own credit moving onto an invoice: no money came in.
            add(&mut day.credit_applied, payment.amount.amount());
        } else {
            day.other_payments += 1;
            add(&mut day.other_received, payment.amount.amount());
        }
    }

    pub fn authorised(&mut self, amount: Money, at: DateTime<Utc>) {
        let day = self.day(at, amount.currency());
        day.authorisations += 1;
        add(&mut day.authorised, amount.amount());
    }

    /// A decline of an order in `currency` (`None`: an order the models never saw
    /// placed, counted under the first currency).
    pub fn declined(&mut self, currency: Option<Currency>, at: DateTime<Utc>) {
        self.day(at, currency.unwrap_or(Currency::USD)).declines += 1;
    }

    pub fn capture_failed(&mut self, amount: Money, at: DateTime<Utc>) {
        self.day(at, amount.currency()).failed_captures += 1;
    }

    pub fn refunded(&mut self, amount: Money, at: DateTime<Utc>) {
        add(
            &mut self.day(at, amount.currency()).refunded,
            amount.amount(),
        );
    }

    pub fn refund_failed(&mut self, amount: Money, at: DateTime<Utc>) {
        add(
            &mut self.day(at, amount.currency()).refunds_failed,
            amount.amount(),
        );
    }

    pub fn settled(&mut self, gross: Money, fee: Money, at: DateTime<Utc>) {
        let day = self.day(at, gross.currency());
        add(&mut day.settled, gross.amount());
        add(&mut day.fees, fee.amount());
    }

    pub fn query(&self, range: DateRange, page: &PageRequest) -> Result<Page<PaymentRow>, Error> {
        range.check()?;
        paged(
            page,
            self.days
                .range((range.from, Currency::USD)..)
                .take_while(|((day, _), _)| *day <= range.to)
                .map(|((day, currency), d)| {
                    let m = |amount: Decimal| Money::new(amount, *currency);
                    let row = PaymentRow {
                        day: *day,
                        currency: *currency,
                        authorisations: d.authorisations,
                        authorised: m(d.authorised),
                        declines: d.declines,
                        captures: d.captures,
                        captured: m(d.captured),
                        failed_captures: d.failed_captures,
                        other_payments: d.other_payments,
                        other_received: m(d.other_received),
                        credit_applied: m(d.credit_applied),
                        refunded: m(d.refunded),
                        refunds_failed: m(d.refunds_failed),
                        settled: m(d.settled),
                        fees: m(d.fees),
                    };
                    ((*day, *currency), row)
                }),
        )
    }
}
