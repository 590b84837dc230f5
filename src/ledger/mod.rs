//! The double-entry ledger: accounts, journal entries, invoices and payments.
//!
//! Amounts on journal lines are signed: positive is a debit, negative a credit, so an
//! entry balances when its lines sum to zero per currency, and an account's balance is
//! the plain sum of its lines (debit-positive). Every entry is checked when built;
//! an unbalanced entry cannot exist.

mod account;
mod entry;
mod invoice;
mod payment;
mod postings;

pub use account::{Account, AccountCode, AccountKind, AccountMap, ChartOfAccounts};
pub use entry::{
    AccountBalance, EntryBuilder, EntrySource, JournalEntry, JournalLine, TrialBalance,
};
pub use invoice::{Invoice, InvoiceLine, InvoiceNumber, InvoicePolicy, InvoiceStatus};
pub use payment::{OverpaymentPolicy, Payment};
pub use postings::Postings;

use crate::money::{Currency, Money, MoneyError};

/// Why a ledger operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Debits and credits differ in some currency.
    #[error("journal entry does not balance in {currency}: off by {imbalance}")]
    Unbalanced {
        /// The currency that does not balance.
        currency: Currency,
        /// Sum of debits minus credits.
        imbalance: Money,
    },
    /// An entry needs at least one debit and one credit.
    #[error("a journal entry needs at least two non-zero lines")]
    TooFewLines,
    /// An amount has more decimals than its currency allows.
    #[error("journal amount {0} is not in minor units")]
    NotInMinorUnits(Money),
    /// A line names an account missing from the chart.
    #[error("unknown account {0}")]
    UnknownAccount(AccountCode),
    /// Amount arithmetic failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Why a payment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentError {
    /// Zero or negative.
    #[error("a payment must be positive, got {0}")]
    NotPositive(Money),
    /// More than the invoice still owes, and the policy refuses overpayments.
    #[error("payment of {offered} exceeds the {outstanding} outstanding")]
    Overpayment {
        /// What the invoice still owes.
        outstanding: Money,
        /// What was offered.
        offered: Money,
    },
    /// The invoice was voided.
    #[error("invoice {0} is void")]
    InvoiceVoid(crate::ids::InvoiceId),
    /// The invoice is already paid in full.
    #[error("invoice {0} is already paid")]
    AlreadyPaid(crate::ids::InvoiceId),
    /// The payment's currency differs from the invoice's.
    #[error("the invoice is in {expected}, the payment in {found}")]
    CurrencyMismatch {
        /// The invoice's currency.
        expected: Currency,
        /// The payment's.
        found: Currency,
    },
    /// The amount has more decimals than the currency has minor units.
    #[error("{0} is not a whole number of minor units")]
    NotInMinorUnits(Money),
}
