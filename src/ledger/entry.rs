use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AccountCode, ChartOfAccounts, LedgerError};
use crate::ids::{EntryId, InvoiceId, OrderId, PaymentId, ShipmentId};
use crate::money::{Currency, Money};

/// What caused an entry: the document an auditor follows back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntrySource {
    /// An invoice was issued.
    Invoice {
        /// The invoice.
        invoice: InvoiceId,
    },
    /// An invoice was voided (the order was cancelled).
    InvoiceVoid {
        /// The invoice.
        invoice: InvoiceId,
    },
    /// A payment was received.
    Payment {
        /// The payment.
        payment: PaymentId,
    },
    /// A credit note was issued.
    CreditNote {
        /// The credit note.
        credit_note: crate::ids::CreditNoteId,
    },
    /// Money was refunded against a payment.
    Refund {
        /// The payment refunded.
        payment: PaymentId,
    },
    /// Goods shipped (cost of goods sold, carrier charge).
    Shipment {
        /// The shipment.
        shipment: ShipmentId,
    },
    /// Money moved to a customer's credit when their order was cancelled.
    Cancellation {
        /// The order.
        order: OrderId,
    },
    /// Goods received into stock.
    StockReceipt {
        /// The host's reference.
        reference: String,
    },
    /// A stock count correction.
    StockAdjustment {
        /// The reason given.
        reason: String,
    },
    /// A payment provider's payout: card clearing to the bank, less its fee.
    Settlement {
        /// The provider's id for the payout.
        payout: String,
    },
    /// A refund the payment provider would not make, taken back into the
    /// customer's credit.
    RefundReversed {
        /// The payment refunded.
        payment: PaymentId,
    },
}

/// One side of an entry: a signed amount on one account (positive debits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JournalLine {
    /// The account.
    pub account: AccountCode,
    /// Debit when positive, credit when negative.
    pub amount: Money,
}

/// A balanced journal entry. Build one with [`EntryBuilder`], which refuses anything
/// unbalanced. (Deserialising is the only other way in; stores re-check such entries
/// with [`JournalEntry::validate`] before accepting them.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JournalEntry {
    id: EntryId,
    posted_at: DateTime<Utc>,
    memo: String,
    source: EntrySource,
    lines: Vec<JournalLine>,
}

impl JournalEntry {
    /// The entry's id.
    pub fn id(&self) -> EntryId {
        self.id
    }
    /// When it was posted.
    pub fn posted_at(&self) -> DateTime<Utc> {
        self.posted_at
    }
    /// A human description.
    pub fn memo(&self) -> &str {
        &self.memo
    }
    /// What caused it.
    pub fn source(&self) -> &EntrySource {
        &self.source
    }
    /// Its lines, debits positive.
    pub fn lines(&self) -> &[JournalLine] {
        &self.lines
    }

    /// Gives the document `key` its number in the memo, if this entry is the one
    /// issuing it: the store numbers documents in the commit (see
    /// [`crate::store::Series`]).
    pub(crate) fn set_document_number(&mut self, key: &crate::store::RecordKey, n: u64) {
        use crate::store::RecordKey;
        match (&self.source, key) {
            (EntrySource::Invoice { invoice }, RecordKey::Invoice(id)) if invoice == id => {
                self.memo = super::postings::invoice_memo(super::InvoiceNumber::new(n));
            }
            (EntrySource::CreditNote { credit_note }, RecordKey::CreditNote(id))
                if credit_note == id =>
            {
                self.memo = super::postings::credit_note_memo(super::CreditNoteNumber::new(n));
            }
            _ => {}
        }
    }

    /// Re-checks the entry (for stores that deserialise entries they did not build).
    ///
    /// # Errors
    /// As [`EntryBuilder::build`].
    pub fn validate(&self) -> Result<(), LedgerError> {
        check_lines(&self.lines)
    }
}

/// Builds a [`JournalEntry`], refusing anything that does not balance.
#[derive(Debug, Clone)]
pub struct EntryBuilder {
    memo: String,
    source: EntrySource,
    lines: Vec<JournalLine>,
}

impl EntryBuilder {
    /// Starts an entry.
    pub fn new(memo: impl Into<String>, source: EntrySource) -> Self {
        Self {
            memo: memo.into(),
            source,
            lines: Vec::new(),
        }
    }

    /// Debits `account` (a negative amount credits it). Zero amounts are dropped so
    /// callers need not special-case an order without tax or shipping.
    #[must_use]
    pub fn debit(mut self, account: &AccountCode, amount: Money) -> Self {
        if !amount.is_zero() {
            self.lines.push(JournalLine {
                account: account.clone(),
                amount,
            });
        }
        self
    }

    /// Credits `account`.
    #[must_use]
    pub fn credit(self, account: &AccountCode, amount: Money) -> Self {
        self.debit(account, -amount)
    }

    /// True if no non-zero line was added.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Checks and seals the entry.
    ///
    /// # Errors
    /// [`LedgerError::TooFewLines`] with fewer than two lines,
    /// [`LedgerError::NotInMinorUnits`] for an amount with sub-cent digits,
    /// [`LedgerError::UnknownAccount`] for an account missing from `chart`,
    /// [`LedgerError::Unbalanced`] when debits and credits differ in some currency.
    pub fn build(
        self,
        id: EntryId,
        posted_at: DateTime<Utc>,
        chart: &ChartOfAccounts,
    ) -> Result<JournalEntry, LedgerError> {
        if let Some(line) = self.lines.iter().find(|l| !chart.contains(&l.account)) {
            return Err(LedgerError::UnknownAccount(line.account.clone()));
        }
        check_lines(&self.lines)?;
        Ok(JournalEntry {
            id,
            posted_at,
            memo: self.memo,
            source: self.source,
            lines: self.lines,
        })
    }
}

impl EntryBuilder {
    /// Like [`EntryBuilder::build`], but `Ok(None)` when no non-zero line was added.
    ///
    /// # Errors
    /// As [`EntryBuilder::build`].
    pub fn build_if_any(
        self,
        id: EntryId,
        posted_at: DateTime<Utc>,
        chart: &ChartOfAccounts,
    ) -> Result<Option<JournalEntry>, LedgerError> {
        if self.is_empty() {
            return Ok(None);
        }
        self.build(id, posted_at, chart).map(Some)
    }
}

fn check_lines(lines: &[JournalLine]) -> Result<(), LedgerError> {
    if lines.len() < 2 {
        return Err(LedgerError::TooFewLines);
    }
    // Nearly every entry is in one currency: its sum is kept apart, without
    // allocating; any other currency's goes to a list.
    let Some(first) = lines.first().map(|l| l.amount.currency()) else {
        return Err(LedgerError::TooFewLines);
    };
    let mut sum = Money::zero(first);
    let mut others: Vec<Money> = Vec::new();
    for line in lines {
        if !line.amount.is_in_minor_units() {
            return Err(LedgerError::NotInMinorUnits(line.amount));
        }
        let currency = line.amount.currency();
        if currency == first {
            sum = sum.checked_add(line.amount)?;
        } else if let Some(other) = others.iter_mut().find(|m| m.currency() == currency) {
            *other = other.checked_add(line.amount)?;
        } else {
            others.push(line.amount);
        }
    }
    // The first unbalanced currency in currency order, as before.
    match std::iter::once(sum)
        .chain(others)
        .filter(|sum| !sum.is_zero())
        .min_by_key(|sum| sum.currency())
    {
        Some(imbalance) => Err(LedgerError::Unbalanced {
            currency: imbalance.currency(),
            imbalance,
        }),
        None => Ok(()),
    }
}

/// The balance of one account in one currency (debit-positive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccountBalance {
    /// The account.
    pub account: AccountCode,
    /// The balance; its currency is the key's other half.
    pub balance: Money,
}

/// Every account's balance; sums to zero per currency in a healthy ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TrialBalance {
    /// Balances by account then currency.
    pub balances: Vec<AccountBalance>,
}

impl TrialBalance {
    /// The sum of all balances per currency (zero when the books balance).
    ///
    /// # Errors
    /// [`LedgerError::Money`] if a sum overflows.
    pub fn totals(&self) -> Result<BTreeMap<Currency, Money>, LedgerError> {
        let mut sums: BTreeMap<Currency, Money> = BTreeMap::new();
        for b in &self.balances {
            let c = b.balance.currency();
            let sum = sums.entry(c).or_insert(Money::zero(c));
            *sum = sum.checked_add(b.balance)?;
        }
        Ok(sums)
    }

    /// True when every currency sums to zero.
    pub fn is_balanced(&self) -> bool {
        self.totals().is_ok_and(|t| t.values().all(|m| m.is_zero()))
    }

    /// The balance of `account` in `currency` (zero if it has none).
    pub fn balance(&self, account: &AccountCode, currency: Currency) -> Money {
        self.balances
            .iter()
            .find(|b| &b.account == account && b.balance.currency() == currency)
            .map_or(Money::zero(currency), |b| b.balance)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use uuid::Uuid;

    fn usd(x: rust_decimal::Decimal) -> Money {
        Money::new(x, Currency::USD)
    }
    fn code(c: &str) -> AccountCode {
        AccountCode::new(c)
    }
    fn source() -> EntrySource {
        EntrySource::StockAdjustment {
            reason: "test".into(),
        }
    }

    #[test]
    fn balanced_entry_builds() {
        let chart = ChartOfAccounts::default();
        let entry = EntryBuilder::new("sale", source())
            .debit(&code("1100"), usd(dec!(12.00)))
            .credit(&code("4000"), usd(dec!(10.00)))
            .credit(&code("2100"), usd(dec!(2.00)))
            .credit(&code("4100"), usd(dec!(0)))
            .build(EntryId::from_uuid(Uuid::nil()), Utc::now(), &chart)
            .unwrap();
        assert_eq!(entry.lines().len(), 3);
        assert!(entry.validate().is_ok());
    }

    #[test]
    fn unbalanced_and_malformed_entries_are_refused() {
        let chart = ChartOfAccounts::default();
        let id = EntryId::from_uuid(Uuid::nil());
        let err = EntryBuilder::new("x", source())
            .debit(&code("1100"), usd(dec!(12.00)))
            .credit(&code("4000"), usd(dec!(11.99)))
            .build(id, Utc::now(), &chart)
            .unwrap_err();
        assert_eq!(
            err,
            LedgerError::Unbalanced {
                currency: Currency::USD,
                imbalance: usd(dec!(0.01))
            }
        );
        let err = EntryBuilder::new("x", source())
            .debit(&code("1100"), usd(dec!(1)))
            .build(id, Utc::now(), &chart)
            .unwrap_err();
        assert_eq!(err, LedgerError::TooFewLines);
        let err = EntryBuilder::new("x", source())
            .debit(&code("9999"), usd(dec!(1)))
            .credit(&code("4000"), usd(dec!(1)))
            .build(id, Utc::now(), &chart)
            .unwrap_err();
        assert_eq!(err, LedgerError::UnknownAccount(code("9999")));
        let err = EntryBuilder::new("x", source())
            .debit(&code("1100"), usd(dec!(1.001)))
            .credit(&code("4000"), usd(dec!(1.001)))
            .build(id, Utc::now(), &chart)
            .unwrap_err();
        assert!(matches!(err, LedgerError::NotInMinorUnits(_)));
    }

    #[test]
    fn balances_per_currency() {
        let chart = ChartOfAccounts::default();
        let id = EntryId::from_uuid(Uuid::nil());
        let err = EntryBuilder::new("x", source())
            .debit(&code("1100"), usd(dec!(1)))
            .credit(&code("4000"), Money::new(dec!(1), Currency::EUR))
            .build(id, Utc::now(), &chart)
            .unwrap_err();
        assert!(matches!(err, LedgerError::Unbalanced { .. }));
    }

    /// With several currencies off, the first in currency order is reported,
    /// whichever line came first.
    #[test]
    fn the_first_unbalanced_currency_is_reported() {
        let chart = ChartOfAccounts::default();
        let id = EntryId::from_uuid(Uuid::nil());
        let gbp = |x| Money::new(x, Currency::GBP);
        let eur = |x| Money::new(x, Currency::EUR);
        let (first, second) = if Currency::EUR < Currency::GBP {
            (eur(dec!(2)), gbp(dec!(1)))
        } else {
            (gbp(dec!(1)), eur(dec!(2)))
        };
        for lines in [
            [usd(dec!(1)), gbp(dec!(1)), eur(dec!(2)), usd(dec!(-1))],
            [gbp(dec!(1)), usd(dec!(1)), usd(dec!(-1)), eur(dec!(2))],
            [eur(dec!(2)), gbp(dec!(1)), usd(dec!(1)), usd(dec!(-1))],
        ] {
            let entry = lines.iter().fold(EntryBuilder::new("x", source()), |e, m| {
                e.debit(&code("1100"), *m)
            });
            let err = entry.build(id, Utc::now(), &chart).unwrap_err();
            assert_eq!(
                err,
                LedgerError::Unbalanced {
                    currency: first.currency(),
                    imbalance: first
                },
                "{lines:?}"
            );
            assert_ne!(first.currency(), second.currency());
        }
    }
}
